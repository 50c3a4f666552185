"""lifeline.py - a Python peer and its processes end with the bench that started them.

The C side asks the kernel, in each child it forks, to be signalled when its parent dies
(PR_SET_PDEATHSIG, lib/shared.c end_with_parent); the bench runs the peer that way. The
peers do the same for the processes multiprocessing starts for them:
  stop_with_parent(parent)  first thing in a child forked from `parent` (the pid saved
                            before the fork): SIGKILL when the parent dies, at once if it
                            already has. Fires when the forking THREAD ends: multiprocessing
                            forks these from the peer's main thread.
  default_stop_signals()    SIGINT and SIGTERM end the peer at once, as they end a C
                            program (no KeyboardInterrupt that waits to join children that
                            go on working); the children then follow by their PDEATHSIG.
"""
import ctypes
import os
import signal

PR_SET_PDEATHSIG = 1        # from <linux/prctl.h>


def stop_with_parent(parent):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_PDEATHSIG): {os.strerror(err)}")
    if os.getppid() != parent:  # it died before prctl() took effect: we were adopted
        os.kill(os.getpid(), signal.SIGKILL)


def default_stop_signals():
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
