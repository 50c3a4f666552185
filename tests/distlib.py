"""distlib.py - running the distributed chapter's client programs in tests: their shared
flags, starting one, and ending it with a bounded wait (the protocol itself and the broker
process are in taskqwire.py)."""
import subprocess
from testlib import dies_with_test, program
from taskqwire import T


def client_args(port, key_file, *extra):
    """--backend and --key for a broker on 127.0.0.1:port, then extra."""
    return ["--backend", f"tcp://127.0.0.1:{port}", "--key", key_file] + list(extra)


def start(name, port, key_file, *extra):
    """Start build/bin/<name> against the broker, its output captured as text."""
    return subprocess.Popen([program(name)] + client_args(port, key_file, *extra),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=dies_with_test())


def finish(p, sig=None):
    """Send sig (if given and p still runs), then wait at most T seconds (SIGKILL after
    that, and say so in stderr); returns (returncode, stdout, stderr)."""
    if sig is not None and p.poll() is None:
        p.send_signal(sig)
    try:
        out, err = p.communicate(timeout=T)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        err += "\n(killed: no exit within the timeout)"
    return p.returncode, out, err
