"""doccmds.py - the commands the course's pages show, read and run (docs/README.md,
"Commands and outputs").

A shell block (```sh) in docs/ or README.md carries one mark on the line before its fence:
    <!-- run -->            the test runs it, as one script (sh -e), in a scratch folder
                            where build/ is the build tree and the source's folders (bench/,
                            scripts/, ...) are at hand; PORT becomes a free port; bounded
    <!-- norun: REASON -->  not run in CI (a long bench, root only, several terminals,
                            other machines); still parsed: each program it names exists
                            and each flag it gives is in that program's --help
A sample output is a text block after <!-- output: COMMAND -->; the outputs test runs
COMMAND and compares the shapes (shape()).
"""
import glob
import os
import re
import shlex
import signal
import socket
import subprocess
import tempfile
import time

from testlib import BIN, SRC

# In a sanitizer build the commands run as a reader sees them: a lesson's deliberate segfault
# (crash, pool --crash segv) is the signal, not ASan's report (as tests/test_crash.py does).
for _var in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
    os.environ[_var] = (os.environ.get(_var, "") + " handle_segv=0").strip()

MARK = re.compile(r"^<!-- (run|norun: (?P<why>[^>]*\S)) -->$")
OUTPUT = re.compile(r"^<!-- output: (?P<cmd>.+?) -->$")


def pages():
    """The pages whose commands are checked: README.md and every page under docs/."""
    return [os.path.join(SRC, "README.md")] + sorted(
        glob.glob(os.path.join(SRC, "docs", "**", "*.md"), recursive=True))


class Block:
    def __init__(self, page, line, lang, mark, why, body, output_of=None):
        self.page, self.line, self.lang = page, line, lang
        self.mark, self.why, self.body = mark, why, body
        self.output_of = output_of        # for a text block: the command that printed it

    @property
    def where(self):
        return f"{os.path.relpath(self.page, SRC)}:{self.line}"


def blocks(page):
    """The fenced blocks of a page, each with the mark (run, norun or None) or the output
    comment on the line before its fence. Line numbers count from 1 (the fence's)."""
    lines = open(page).read().split("\n")
    found, i = [], 0
    while i < len(lines):
        m = re.match(r"^```(\S*)", lines[i])
        if not m:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        prev = lines[i - 1] if i else ""
        mark = MARK.match(prev)
        out = OUTPUT.match(prev)
        found.append(Block(page, i + 1, m.group(1),
                           ("norun" if mark.group("why") else "run") if mark else None,
                           mark.group("why") if mark else None, lines[i + 1:j],
                           out.group("cmd") if out else None))
        i = j + 1
    return found


def free_port():
    """A port free on 127.0.0.1 now (the kernel's pick); the command binds it next."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scratch():
    """A scratch folder laid out like the source tree: build/ is this build tree (so
    build/bin/X is the program under test), the source's top-level folders are links."""
    d = tempfile.mkdtemp(prefix="doccmd-")
    os.symlink(os.path.dirname(os.path.abspath(BIN)), os.path.join(d, "build"))
    for name in os.listdir(SRC):
        if name not in ("build", ".git") and not name.startswith("build-"):
            os.symlink(os.path.join(os.path.abspath(SRC), name), os.path.join(d, name))
    return d


BUILTIN = {"cd", "echo", "exit", "kill", "printf", "set", "test", "true", "false", "wait", "[",
           "export", "unset", "read", "sleep", "cat", "sh"}


def missing_tools(block):
    """The tools (not the suite's programs, not the shell's) a block runs that this machine
    lacks: curl, strace, taskset... scripts/deps.sh installs them as optional, so a block
    that needs one is skipped, with the reason, where it is missing."""
    import shutil
    tools = set()
    for _, words in commands(block):
        words = [w for w in words if not re.match(r"^\w+=", w)]
        if words and not words[0].startswith(("build/", "scripts/", "bench/")) \
                and words[0] not in BUILTIN and shutil.which(words[0]) is None:
            tools.add(words[0])
    return sorted(tools)


def run_script(script, cwd, timeout, preexec=None):
    """Run script with sh -e in its own process group, bounded by timeout (a hang guard).
    Returns (returncode or None if it hung, output, pids of its group still alive: the
    background processes it left; they are killed by group before returning)."""
    from testlib import group_processes
    # Output to a file, not a pipe: a background process the script leaves would hold a
    # pipe open, and reading to its end would wait for that process, not for the script.
    env = None
    if re.search(r"(^|[\s;|&(])strace\b", script):
        # LeakSanitizer cannot run under ptrace: a program that strace follows skips it.
        env = dict(os.environ, ASAN_OPTIONS=os.environ["ASAN_OPTIONS"] + " detect_leaks=0")
    with tempfile.TemporaryFile(mode="w+") as log:
        p = subprocess.Popen(["sh", "-e", "-c", script], cwd=cwd, stdout=log,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
                             start_new_session=True, preexec_fn=preexec, env=env)
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            rc = None
        log.seek(0)
        out = log.read()
    left = group_processes(p.pid)
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except OSError:
        pass
    until = time.monotonic() + 10
    while group_processes(p.pid) and time.monotonic() < until:
        time.sleep(0.01)                   # polling interval, not synchronisation
    return rc, out, left


# -- parsing what a block names ------------------------------------------------------------
SPLIT = re.compile(r"\s*(?:\|\||&&|[|;&])\s*")


def commands(block):
    """Each simple command of the block's lines as a list of words (comments, env
    assignments and the wrappers time/taskset/sudo dropped)."""
    # A line ending in a backslash goes on in the next one: join them, so that the
    # continuation's first word (a flag) is not taken for a command.
    lines, joined = [], None
    for n, raw in enumerate(block.body, start=block.line + 1):
        if joined is not None:
            joined = (joined[0], joined[1] + " " + raw.strip())
        else:
            joined = (n, raw.strip())
        if joined[1].endswith("\\"):
            joined = (joined[0], joined[1][:-1].rstrip())
            continue
        lines.append(joined)
        joined = None
    if joined is not None:
        lines.append(joined)
    for n, line in lines:
        if not line or line.startswith("#"):
            continue
        try:
            words = shlex.split(line, comments=True)
        except ValueError:
            words = line.split()
        # Split at shell operators (shlex keeps them glued to words: "x;" "&").
        cmd = []
        for w in words:
            parts = SPLIT.split(w) if w not in ("|", "||", "&&", ";", "&") else ["", ""]
            for k, part in enumerate(parts):
                if k:
                    yield n, cmd
                    cmd = []
                if part:
                    cmd.append(part)
        if cmd:
            yield n, cmd


def programs_in(words):
    """(program path as written, its arguments) for each suite program in words: a
    build/bin/X or a scripts/ or bench/ file; `measure -- build/bin/spin` names two."""
    found, cur = [], None
    for w in words:
        if w.startswith(("build/bin/", "scripts/", "bench/")):
            cur = (w, [])
            found.append(cur)
        elif cur is not None:
            cur[1].append(w)
    return found


def flags_of(args):
    """The flags an argument list gives a program: words starting with - up to a bare
    `--` (after which the words belong to the command it runs), values dropped."""
    flags = []
    for a in args:
        if a == "--":
            break
        if re.match(r"^--?[A-Za-z][\w-]*(=.*)?$", a):
            flags.append(a.split("=", 1)[0])
    return flags


_help = {}


def help_text(path):
    if path not in _help:
        try:
            r = subprocess.run([path, "--help"], capture_output=True, text=True, timeout=30)
            _help[path] = r.stdout + r.stderr
        except (OSError, subprocess.TimeoutExpired) as e:
            _help[path] = f"<{e}>"
    return _help[path]


def check_names(block):
    """Problems with the programs and flags a block names: [(line, message)]."""
    problems = []
    for n, words in commands(block):
        for prog, args in programs_in(words):
            if prog.startswith("build/bin/"):
                path = os.path.join(BIN, prog[len("build/bin/"):])
                if not os.access(path, os.X_OK):
                    problems.append((n, f"no program {prog} in the build"))
                    continue
                text = help_text(path)
                for flag in flags_of(args):
                    if flag in ("-h", "--help"):
                        continue
                    if not re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text):
                        problems.append((n, f"{prog} {flag}: not in its --help"))
            elif not os.path.exists(os.path.join(SRC, prog)):
                problems.append((n, f"no file {prog} in the source tree"))
    return problems


# -- the shape of an output ----------------------------------------------------------------
UNIT = r"(?:ns|us|µs|ms|s|min|KiB|MiB|GiB|kB|KB|MB|GB|B|k|M|G|%|x)"


def shape(line):
    """A line with what depends on the run, the pid or the machine taken out: numbers
    (with their unit: a time may print in ms or s), hex digits, lists of numbers, the
    widths of columns, paths (where the build is), host names, one-letter names (the locks A and B,
    whichever a run reached first). Two lines of the same shape print the same thing,
    measured anew."""
    s = line.strip()
    s = re.sub(r"(?<![\w.])(?:/[\w.+-]+){2,}", "P", s)
    s = re.sub(r"\b[A-Z]\b", "L", s)
    s = re.sub(r"@[A-Za-z0-9_.-]+", "@HOST", s)      # worker@vm:7203: the machine's name
    s = re.sub(r"\b0x[0-9a-fA-F]+\b|\b[0-9a-f]{8,}\b", "H", s)
    s = re.sub(r"(?<![\w.])[-+]?\d+(?:[.,:]\d+)*(?:e[-+]?\d+)?\s?" + UNIT + r"?(?![\w])", "N", s)
    s = re.sub(r"(?<![\w.])[-+]?\d+(?:\.\d+)?", "N", s)
    s = re.sub(r"N(?:[\s,/x-]+N)+", "N", s)          # "0, 1", "300 000", "2x4", "1-3"
    s = re.sub(r"\s+", " ", s)
    return s


def compare(shown, printed):
    """The shown lines (… lines skipped) whose shape no printed line has."""
    have = {shape(l) for l in printed.split("\n")}
    return [l for l in shown if l.strip() and l.strip() not in ("…", "...")
            and shape(l) not in have]
