"""cdp.py - drive headless Chromium through its DevTools protocol, standard library only.

The browser is started with --remote-debugging-pipe: it reads the protocol's JSON messages
on its fd 3 and writes them on its fd 4, each message ended by a NUL byte. That needs no
WebSocket client and no port (nothing to find, nothing another process can connect to).
One Browser holds one tab (a target attached in "flat" mode: commands carry its sessionId).

    b = Browser(binary)              # raises OSError when it cannot start
    b.navigate("file:///...")        # -> (error text or None, the events the load caused)
    b.evaluate("document.title")     # -> the value (returnByValue)
    b.screenshot("map.png")
    b.close()                        # always: kills the browser's process group by pid

Every wait is bounded (a hang guard): a command that gets no reply within its timeout
raises TimeoutError, and so does a page whose load event never comes.
"""
import base64
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time


def find_binary():
    """The headless shell (Debian's chromium-headless-shell), or None."""
    for name in ("chromium-headless-shell", "/usr/lib/chromium/chromium-headless-shell"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    def __init__(self, binary, width=1280, height=900, preexec=None, timeout=30):
        self.profile = tempfile.mkdtemp(prefix="cdp-profile-")
        to_browser_r, self._w = os.pipe()
        self._r, from_browser_w = os.pipe()

        def child():
            # The browser expects the pipe on fds 3 (its input) and 4 (its output). Copy
            # both above every open fd first so the second dup2 cannot overwrite the first.
            a, b = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(a, 3)
            os.dup2(b, 4)
            if preexec:
                preexec()
        args = [binary, "--headless", "--remote-debugging-pipe",
                f"--user-data-dir={self.profile}", "--no-first-run", "--no-default-browser-check",
                "--disable-gpu", "--disable-extensions", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                "--mute-audio", f"--window-size={width},{height}", "about:blank"]
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")     # Chromium refuses to run as root with it
        self.stderr = tempfile.TemporaryFile()
        # A session of its own: the browser's zygote, GPU and renderer processes share its
        # process group, so close() can end them all by the group's id (the browser's pid).
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.stderr,
                                     stderr=self.stderr, pass_fds=(3, 4),
                                     preexec_fn=child, start_new_session=True)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buf = b""
        self._next_id = 0
        self._replies = {}
        self.events = []
        self.session = None
        try:
            target = self.call("Target.createTarget", {"url": "about:blank"},
                               timeout=timeout)["targetId"]
            self.session = self.call("Target.attachToTarget",
                                     {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Network", "Log"):
                self.call(f"{domain}.enable")
        except Exception:
            self.close()
            raise

    # -- the protocol -------------------------------------------------------------------
    def _pump(self, deadline):
        """Read what the browser sent until `deadline` (monotonic); file each message as
        a reply (by id) or an event. Returns False when the deadline passed first."""
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        ready, _, _ = select.select([self._r], [], [], left)
        if not ready:
            return False
        chunk = os.read(self._r, 1 << 20)
        if not chunk:
            raise OSError(f"the browser closed its pipe (exit {self.proc.poll()}): "
                          f"{self.log_tail()}")
        self._buf += chunk
        *messages, self._buf = self._buf.split(b"\0")
        for raw in messages:
            msg = json.loads(raw)
            if "id" in msg:
                self._replies[msg["id"]] = msg
            else:
                self.events.append(msg)
        return True

    def call(self, method, params=None, timeout=30):
        """Send one command (to the tab once attached) and return its result; raise
        RuntimeError on a protocol error, TimeoutError when no reply comes in time."""
        self._next_id += 1
        msg = {"id": self._next_id, "method": method, "params": params or {}}
        if self.session and not method.startswith("Target."):
            msg["sessionId"] = self.session
        data = json.dumps(msg).encode() + b"\0"
        while data:
            data = data[os.write(self._w, data):]
        deadline = time.monotonic() + timeout
        while self._next_id not in self._replies:
            if not self._pump(deadline):
                raise TimeoutError(f"{method}: no reply within {timeout} s")
        reply = self._replies.pop(self._next_id)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error'].get('message')}")
        return reply.get("result", {})

    def wait_event(self, method, since, timeout):
        """Wait for event `method` at index >= since in self.events; return it or None."""
        deadline = time.monotonic() + timeout
        while True:
            for ev in self.events[since:]:
                if ev.get("method") == method:
                    return ev
            if not self._pump(deadline):
                return None

    # -- what the check uses ------------------------------------------------------------
    def block(self, patterns):
        """Requests whose URL matches one of the wildcard patterns fail at once (reported
        by Network.loadingFailed) instead of waiting on a network that is not there."""
        self.call("Network.setBlockedURLs", {"urls": patterns})

    def navigate(self, url, timeout=15):
        """Load url in the tab and wait for its load event. Returns (error, events): error
        is None, the browser's errorText, or a timeout message; events are those that
        arrived from the navigation on (requests, failures, console, exceptions)."""
        since = len(self.events)
        try:
            result = self.call("Page.navigate", {"url": url}, timeout=timeout)
        except TimeoutError as e:
            return str(e), self.events[since:]
        if result.get("errorText"):
            return result["errorText"], self.events[since:]
        if self.wait_event("Page.loadEventFired", since, timeout) is None:
            return f"no load event within {timeout} s", self.events[since:]
        # A round trip after the load: events the page raised while loading are in.
        self.evaluate("0")
        return None, self.events[since:]

    def evaluate(self, expression, timeout=15):
        r = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                           "awaitPromise": True}, timeout=timeout)
        if "exceptionDetails" in r:
            raise RuntimeError(f"evaluate: {r['exceptionDetails'].get('text')}")
        return r["result"].get("value")

    def screenshot(self, path, timeout=30):
        data = self.call("Page.captureScreenshot", {"format": "png"}, timeout=timeout)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def log_tail(self, n=2000):
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")[-n:]

    def close(self):
        """Ask the browser to quit, then kill its process group by id whatever it did."""
        try:
            if self.proc.poll() is None:
                try:
                    self.call("Browser.close", timeout=5)
                except (OSError, RuntimeError, TimeoutError, ValueError):
                    pass
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)   # helpers left in its group
            except OSError:
                pass
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
        finally:
            for fd in (self._r, self._w):
                try:
                    os.close(fd)
                except OSError:
                    pass
            shutil.rmtree(self.profile, ignore_errors=True)
