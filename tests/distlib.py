"""distlib.py - running the distributed chapter's client programs in tests: their shared
flags, starting one, and ending it with a bounded wait (the protocol itself and the broker
process are in taskqwire.py)."""
import subprocess
from testlib import dies_with_test, program, finish as testlib_finish
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
    """testlib.finish() with the distributed tests' deadline T."""
    return testlib_finish(p, sig, T)
