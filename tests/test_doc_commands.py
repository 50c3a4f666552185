"""Every command the course shows works: each shell block in docs/ and README.md is marked
<!-- run --> or <!-- norun: REASON --> (docs/README.md, "Commands and outputs"); the test
runs every runnable block (tests/doccmds.py: sh -e, in a scratch tree whose build/ is this
build, PORT a free port, bounded, every process it started stopped by process group) and
fails with the page and line on a non-zero exit, a hang, or a process left running; every
block, run or not, is parsed: each program it names exists and each flag it gives is in
that program's --help.

Usage: test_doc_commands.py             every page
       test_doc_commands.py --self-test  blocks that must fail, each for its reason
"""
import os
import shutil
import sys

import doccmds
from doccmds import (Block, blocks, check_names, free_port, missing_tools, pages, run_script,
                     scratch)
from testlib import check, dies_with_test, done

TIMEOUT = 120          # per block: a hang guard, not a timing


def run_block(b, cwd):
    """Run one runnable block; return a problem (str) or None."""
    script = "\n".join(b.body).replace("PORT", str(free_port()))
    rc, out, left = run_script(script, cwd, TIMEOUT, preexec=dies_with_test())
    tail = "\n       ".join(out.splitlines()[-15:])
    if rc is None:
        return f"hung (killed after {TIMEOUT} s):\n       {tail}"
    if rc != 0:
        return f"exit status {rc}:\n       {tail}"
    if left:
        return f"left {len(left)} process(es) running (pids {left}): a block stops what it starts"
    return None


def check_pages():
    cwd = scratch()
    ran = parsed = 0
    try:
        for page in pages():
            for b in blocks(page):
                if b.lang not in ("sh", "shell", "bash", "console"):
                    continue
                if not check(b.mark is not None, f"{b.where}: shell block marked run or norun"):
                    continue
                parsed += 1
                for n, msg in check_names(b):
                    check(False, f"{os.path.relpath(page, doccmds.SRC)}:{n}: {msg}")
                if b.mark == "run" and missing_tools(b):
                    print(f"--   {b.where}: not run: {', '.join(missing_tools(b))} missing "
                          "(scripts/deps.sh installs it)")
                elif b.mark == "run":
                    ran += 1
                    problem = run_block(b, cwd)
                    check(problem is None, f"{b.where}: the block runs", problem or "")
    finally:
        shutil.rmtree(cwd, ignore_errors=True)
    print(f"\n{parsed} shell blocks parsed, {ran} run")
    check(ran > 0, "some blocks were run")


def self_test():
    """Blocks that must fail: a failing command, a hang, a process left behind, an unknown
    program, an unknown flag; and a good one that must pass."""
    cwd = scratch()
    page = os.path.join(doccmds.SRC, "docs", "README.md")
    try:
        def block(mark, *lines):
            return Block(page, 1, "sh", mark, None, list(lines))
        check(run_block(block("run", "build/bin/fork", "build/bin/fork --no-flush | cat"),
                        cwd) is None, "self-test: a good block runs")
        check(check_names(block("run", "build/bin/fork --no-flush | cat")) == [],
              "self-test: a good block names real programs and flags")
        bad = run_block(block("run", "build/bin/fork", "false", "echo not reached"), cwd)
        check(bad is not None and "exit status 1" in bad, "self-test: a failing line fails",
              bad)
        global TIMEOUT
        saved, TIMEOUT = TIMEOUT, 3
        hung = run_block(block("run", "sleep 600"), cwd)
        TIMEOUT = saved
        check(hung is not None and hung.startswith("hung"), "self-test: a hang is cut", hung)
        left = run_block(block("run", "sleep 600 &"), cwd)
        check(left is not None and "left 1 process" in left,
              "self-test: a background process left running fails", left)
        check(missing_tools(block("run", "X=1 nosuchtool --x | build/bin/fork", "echo $?"))
              == ["nosuchtool"], "self-test: a block needing a missing tool is named")
        port = run_block(block("run", "test PORT -gt 0"), cwd)
        check(port is None, "self-test: PORT becomes a port number", port)
        names = check_names(block("norun", "build/bin/nosuch --x",
                                  "build/bin/measure --csv -o x.csv -- build/bin/spin --nosuch 2",
                                  "scripts/nosuch.sh up", "curl localhost:PORT/"))
        msgs = [m for _, m in names]
        check(msgs == ["no program build/bin/nosuch in the build",
                       "build/bin/spin --nosuch: not in its --help",
                       "no file scripts/nosuch.sh in the source tree"],
              "self-test: a missing program, an unknown flag, a missing script", msgs)
    finally:
        shutil.rmtree(cwd, ignore_errors=True)


if sys.argv[1:] == ["--self-test"]:
    self_test()
else:
    check_pages()
done()
