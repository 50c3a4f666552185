"""The sample outputs the pages show still match what the programs print, in shape: each
text block after <!-- output: COMMAND --> is compared, line by line, with a new run of
COMMAND (in the scratch tree tests/doccmds.py lays out, bounded): every line it shows must
be printed again, once numbers, units, hex digits, paths and column widths are taken out
(doccmds.shape: they depend on timing, pids and the machine). Lines shown as … are trims.

A server's page (an output of build/bin/server_* --port 0): the test starts the server,
reads its port from "listening on 127.0.0.1:PORT", runs the page's client outputs (curl,
nc: PORT replaced) against it in page order, stops it with SIGTERM as the page does, and
compares every one of those outputs, the server's included. A page whose block starts
the broker in the background (build/bin/broker &): the test plays that block in a fresh
scratch tree, the broker on port 0 and each client given --backend tcp://127.0.0.1:PORT,
and compares the outputs of the lines it shows. Outputs that need another peer (Redis,
strace -p <pid>, several terminals) are named and not run here: tests/test_servers.py,
test_broker.py and the distributed tests check those replies.

Usage: test_doc_outputs.py [--self-test] [--sanitized]
  --self-test  shapes that must differ do
  --sanitized  a sanitizer build: run every output's command, compare no lines
"""
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading

from doccmds import Block, blocks, compare, missing_tools, pages, run_script, scratch
from testlib import check, dies_with_test, done, wait_for

PEER = re.compile(r"PORT|--port|--listen|--backend|<pid>|redis|^curl|^strace|\| nc|"
                  r"^build/bin/(?:broker|master|worker|producer|consumer|jobs)\b")
SERVER = re.compile(r"^build/bin/server_\w+ .*--port 0\b")


# In a sanitizer build (tests/CMakeLists.txt passes --sanitized) every command still runs and
# must end well, but its lines are not compared: the pages show the plain build, and an
# instrumented one prints what depends on the instrumentation (ASan's own allocator in
# fork_threads' malloc case, other stack offsets in the signals page's backtrace).
SANITIZED = "--sanitized" in sys.argv[1:]


def compare_block(b, out, ok=True):
    if not check(ok, f"{b.where}: {b.output_of} ends", out[-2000:]) or SANITIZED:
        return
    missing = compare(b.body, out)
    check(not missing, f"{b.where}: {b.output_of} prints the lines shown",
          "not printed any more (shape):\n       " + "\n       ".join(missing) +
          "\n     it printed:\n       " + "\n       ".join(out.splitlines()[:40]))


LISTEN = re.compile(r"listening on 127\.0\.0\.1:(\d+)")
CLIENTS = ("build/bin/master", "build/bin/worker", "build/bin/producer", "build/bin/consumer",
           "build/bin/jobs")


def start(args, cwd, out=subprocess.PIPE):
    return subprocess.Popen(args, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, text=True, preexec_fn=dies_with_test())


def stop(p):
    """SIGTERM, as the page's reader would (kill -TERM <pid>); SIGKILL after a hang guard.
    Returns the exit status."""
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
    try:
        return p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        return p.wait()


class Listening:
    """A server or the broker started on port 0, its output read as it comes; .port is
    the port from its "listening on 127.0.0.1:PORT" line (None if it never said so)."""
    def __init__(self, args, cwd):
        self.lines = []
        self.p = start(args, cwd)
        self.reader = threading.Thread(
            target=lambda: self.lines.extend(iter(self.p.stdout.readline, "")), daemon=True)
        self.reader.start()
        port = wait_for(lambda: next((m.group(1) for m in map(LISTEN.search, list(self.lines))
                                      if m), None) or self.p.poll() is not None, deadline=60)
        self.port = port if isinstance(port, str) else None

    def stop(self):
        """Stop it; returns (exit status, everything it printed)."""
        rc = stop(self.p)
        self.reader.join(timeout=60)
        return rc, "".join(self.lines)


def server_page(server, clients, cwd):
    """Start the server of a page's output, run its client outputs against it, stop it
    with SIGTERM; compare each. Returns the number of outputs compared."""
    srv = Listening(shlex.split(server.output_of), cwd)
    if srv.port is None:
        rc, out = srv.stop()
        check(False, f"{server.where}: {server.output_of} listens", out[-2000:])
        return 0
    n = 1                                      # the server's own output
    for c in clients:
        lacking = missing_tools(Block(c.page, c.line, "sh", "run", None, [c.output_of]))
        if lacking:
            print(f"--   {c.where}: not run: {', '.join(lacking)} missing")
            continue
        rc, out, _ = run_script(c.output_of.replace("PORT", srv.port), cwd, timeout=60,
                                preexec=dies_with_test())
        compare_block(c, out, rc == 0)
        n += 1
    rc, out = srv.stop()
    # A clean stop: exit 0, or the signal re-raised after the clean-up (lib/shared.c
    # die_of_signal: the parent's status tells the truth).
    compare_block(server, out + f"(exit status {rc})", rc in (0, -signal.SIGTERM))
    return n


def broker_page(block, outs):
    """Play a block that starts the broker in the background and its clients after it;
    compare the outputs the page shows for its lines. Returns the outputs compared."""
    cwd = scratch()                            # a fresh one: the broker makes its key here
    shown = {shlex.join(shlex.split(b.output_of)): b for b in outs}
    broker = Listening(["build/bin/broker", "--listen", "127.0.0.1:0"], cwd)
    background, n = [], 0
    try:
        if broker.port is None:
            check(False, f"{block.where}: the broker listens", broker.stop()[1][-2000:])
            return 0
        for raw in block.body[1:]:
            words = shlex.split(raw, comments=True)
            if not words:
                continue
            bg = words[-1] == "&"
            words = [w for w in words if w != "&"]
            key = shlex.join(words)
            if words[0] in CLIENTS and "--backend" not in words:
                words += ["--backend", f"tcp://127.0.0.1:{broker.port}"]
            if bg:
                background.append(start(words, cwd, out=subprocess.DEVNULL))
                continue
            rc, out, _ = run_script(shlex.join(words), cwd, timeout=120,
                                    preexec=dies_with_test())
            if key in shown:
                compare_block(shown[key], out, rc == 0)
                n += 1
            else:
                check(rc == 0, f"{block.where}: {key} runs", out[-2000:])
    finally:
        for p in background:
            stop(p)
        broker.stop()
        shutil.rmtree(cwd, ignore_errors=True)
    return n


def self_test():
    """The shape keeps what a run cannot change: a word, a label, an expected value."""
    shown = ["parent: counter = 1 (expected 1: the child changed its own copy)",
             "[   1.7 ms] 1. file read: 160752 bytes of /a/b/build/bin/loop",
             "stats: accepted 1, closed 1, open now 0 (expected 0), requests 1"]
    same = ("parent: counter = 7 (expected 1: the child changed its own copy)\n"
            "[ 12.25 s] 1. file read: 9 bytes of /x/y/z/loop\n"
            "stats: accepted 12, closed 12, open now 0 (expected 0), requests 340")
    check(compare(shown, same) == [], "self-test: numbers, units and paths are not the shape")
    for i, changed in enumerate(["parent: counter = 1 (expected 1: the child changed its copy)",
                                 "[ 1.7 ms] 1. read: 160752 bytes of /a/b/build/bin/loop",
                                 "stats: accepted 1, closed 1, requests 1"]):
        lines = same.split("\n")
        lines[i] = changed
        check(compare(shown, "\n".join(lines)) == [shown[i]],
              f"self-test: a changed line is reported: {changed}")
    check(compare(["…", "  "], "") == [], "self-test: trims and blank lines are not compared")


def main():
    compared = skipped = 0
    cwd = scratch()
    try:
        for page in pages():
            outs = [b for b in blocks(page) if b.output_of is not None]
            servers = [b for b in outs if SERVER.match(b.output_of)]
            clients = [b for b in outs if servers and "PORT" in b.output_of
                       and re.match(r"^(curl|printf)\b", b.output_of)]
            if len(servers) == 1:
                compared += server_page(servers[0], clients, cwd)
            for b in blocks(page):
                if b.lang == "sh" and b.body and re.match(r"^build/bin/broker\s+&", b.body[0]):
                    played = [o for o in outs if o.output_of.startswith(CLIENTS)]
                    compared += broker_page(b, played)
                    clients += played
            for b in outs:
                if b in servers[:1] or b in clients:
                    continue
                if PEER.search(b.output_of) or not b.output_of.startswith("build/bin/"):
                    skipped += 1
                    print(f"--   {b.where}: {b.output_of} (needs a peer: not run here)")
                    continue
                compared += 1
                rc, out, _ = run_script(b.output_of, cwd, timeout=120,
                                        preexec=dies_with_test())
                compare_block(b, out, rc is not None)
    finally:
        shutil.rmtree(cwd, ignore_errors=True)
    print(f"\n{compared} outputs compared, {skipped} need another peer (not run here)")
    check(compared > 0, "some outputs were compared")


if "--self-test" in sys.argv[1:]:
    self_test()
else:
    main()
done()
