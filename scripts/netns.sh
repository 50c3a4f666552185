#!/bin/bash
# netns.sh - several "machines" on one: network namespaces joined by veth pairs and a bridge
#
# Usage: scripts/netns.sh up PREFIX N       make hosts PREFIX-0 .. PREFIX-(N-1), N in 1..200
#        scripts/netns.sh exec PREFIX I CMD...   run CMD on host PREFIX-I
#        scripts/netns.sh down PREFIX       remove them all (safe to repeat)
#        scripts/netns.sh list PREFIX       the hosts and their addresses
#
# Each host is a network namespace of its own: its own loopback, its own ports, and one
# interface eth0 with the address 198.18.0.(I+1)/24. Every eth0 is one end of a veth pair
# (a virtual cable); the other ends are plugged into a bridge (a virtual switch) that lives
# in one more namespace, PREFIX-hub, so nothing is added to this machine's own network and
# its firewall never sees the traffic. 198.18.0.0/15 is set aside for exactly this (RFC
# 2544, benchmarking networks): it is routed nowhere, so it cannot clash with a real one.
#
#   PREFIX-0 [eth0 198.18.0.1] ---+
#   PREFIX-1 [eth0 198.18.0.2] ---+--- PREFIX-hub [br0]
#   PREFIX-2 [eth0 198.18.0.3] ---+
#
# down first stops any process still running in the hosts (by pid, from `ip netns pids`),
# since a namespace whose name is removed lives on for as long as a process is in it, then
# deletes the namespaces: the veth pairs and the bridge go with them.
#
# Needs root and iproute2 (`ip`). Without them it says why and exits 77, which CTest reads
# as "skipped" (tests/test_netns.py).
# Try:  sudo scripts/netns.sh up lab 3
#       sudo scripts/netns.sh exec lab 1 ping -c 2 198.18.0.3
#       sudo scripts/netns.sh exec lab 0 ip addr      (one interface and lo, nothing else)
#       sudo scripts/netns.sh down lab
# See also: docs/distributed/many_machines.md
set -u
SKIP=77

usage() {
    echo "usage: scripts/netns.sh up PREFIX N | exec PREFIX I CMD... | down PREFIX | list PREFIX" >&2
    exit 2
}
skip() { echo "netns: $*" >&2; exit $SKIP; }
fail() { echo "netns: $*" >&2; exit 1; }

# A prefix names files in /run/netns and, with "-hub", must stay a short plain word.
check_prefix() {
    [[ $1 =~ ^[A-Za-z][A-Za-z0-9_]{0,15}$ ]] ||
        { echo "netns: prefix '$1' must be a letter then up to 15 letters, digits or _" >&2; exit 2; }
}

need_tools() {
    command -v ip >/dev/null 2>&1 || skip "ip not found (apt-get install iproute2)"
    [ "$(id -u)" = 0 ] || skip "namespaces need root (run it with sudo)"
}

# The hosts of PREFIX that exist now, hub included, one name a line.
hosts_of() {
    ip netns list 2>/dev/null | sort -V | awk -v p="$1" '{ n = $1; if (index(n, p "-") == 1) {
        rest = substr(n, length(p) + 2); if (rest == "hub" || rest ~ /^[0-9]+$/) print n } }'
}

up() {
    local prefix=$1 n=$2 hub=$1-hub i host
    if ! [[ $n =~ ^[0-9]+$ ]] || [ "$n" -lt 1 ] || [ "$n" -gt 200 ]; then
        echo "netns: N must be 1..200, not '$n'" >&2
        exit 2
    fi
    [ -z "$(hosts_of "$prefix")" ] || fail "hosts $prefix-* exist already (netns.sh down $prefix)"
    # The first namespace tells whether this machine lets us make any (a container without
    # CAP_SYS_ADMIN does not): that is a skip, not a failure.
    local err
    err=$(ip netns add "$hub" 2>&1) || skip "cannot make a network namespace: $err"
    # Entering one is a second test: in a chroot `ip netns add` works but `ip -n` cannot
    # make / a slave mount ("mount --make-rslave / failed"), so nothing could run inside.
    if ! err=$(ip -n "$hub" link set lo up 2>&1); then
        ip netns del "$hub" 2>/dev/null
        # `ip netns add` mounted /run/netns for its files: leave no mount behind if empty.
        if [ -z "$(ls -A /run/netns 2>/dev/null)" ] && mountpoint -q /run/netns; then
            umount /run/netns 2>/dev/null
        fi
        skip "cannot enter a network namespace: $err"
    fi
    trap 'echo "netns: up failed; removing what was made" >&2; down "$prefix"' ERR
    set -e
    ip -n "$hub" link add br0 type bridge
    ip -n "$hub" link set br0 up
    for ((i = 0; i < n; i++)); do
        host=$prefix-$i
        ip netns add "$host"
        # One cable: end "p$i" stays in the hub and joins the bridge, end eth0 is the host's.
        ip -n "$hub" link add "p$i" type veth peer name eth0 netns "$host"
        ip -n "$hub" link set "p$i" master br0 up
        ip -n "$host" addr add "198.18.0.$((i + 1))/24" dev eth0
        ip -n "$host" link set eth0 up
        ip -n "$host" link set lo up
    done
    set +e
    trap - ERR
    echo "netns: $n hosts $prefix-0..$prefix-$((n - 1)) at 198.18.0.1..198.18.0.$n, bridge in $hub"
}

down() {
    local prefix=$1 host pids left=0
    for host in $(hosts_of "$prefix"); do
        pids=$(ip netns pids "$host" 2>/dev/null)
        if [ -n "$pids" ]; then
            echo "netns: $host: stopping processes still in it: ${pids//$'\n'/ }" >&2
            # shellcheck disable=SC2086   # one pid a word
            kill -KILL $pids 2>/dev/null
        fi
    done
    for host in $(hosts_of "$prefix"); do
        ip netns del "$host" || left=1
    done
    [ $left = 0 ] || fail "could not remove every namespace of $prefix"
}

[ $# -ge 2 ] || usage
cmd=$1 prefix=$2
check_prefix "$prefix"
case $cmd in
    up)   [ $# = 3 ] || usage; need_tools; up "$prefix" "$3" ;;
    down) [ $# = 2 ] || usage; need_tools; down "$prefix" ;;
    list) [ $# = 2 ] || usage; need_tools
          for host in $(hosts_of "$prefix"); do
              printf '%s\t%s\n' "$host" \
                  "$(ip -n "$host" -4 -o addr show dev eth0 2>/dev/null | awk '{print $4}')"
          done ;;
    exec) [ $# -ge 4 ] || usage; need_tools
          [[ $3 =~ ^[0-9]+$ ]] || { echo "netns: host number must be a number, not '$3'" >&2; exit 2; }
          host=$prefix-$3
          ip netns list | awk '{print $1}' | grep -qx "$host" || fail "no host $host (netns.sh up $prefix N)"
          shift 3
          exec ip netns exec "$host" "$@" ;;
    *) usage ;;
esac
