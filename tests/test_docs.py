"""The course stays whole: every demo opens with its explaining header, has a docs page
that names it, a row in the README's catalogue and in its chapter README (a model, a .c
with its .h: a row in its chapter README); the code quoted in docs/ matches the source;
every bench is in the README and has a chart with a reading."""
import glob
import os
import re
import subprocess
from testlib import SRC, check, done

readme = open(os.path.join(SRC, "README.md")).read()
for path in sorted(glob.glob(os.path.join(SRC, "demos", "*", "*.c"))):
    name = os.path.basename(path)[:-2]
    chapter = os.path.basename(os.path.dirname(path))
    text = open(path).read()
    head = text[:3000]
    chapter_readme = open(os.path.join(SRC, "demos", chapter, "README.md")).read()
    if not re.search(r"^int main\(", text, re.M):
        # A file of the chapter's library (the models its programs link), not a program: it
        # opens with its one-line job, says its contract in its header, and the chapter's
        # README lists it.
        check(head.startswith(f"/* {name}.c - "), f"{chapter}/{name}.c opens with its job")
        hdr = os.path.join(os.path.dirname(path), f"{name}.h")
        # A backend of an interface (taskq_broker.c of taskq.h) has no header of its own:
        # the interface's header is its contract and names it.
        others = [h for h in glob.glob(os.path.join(os.path.dirname(path), "*.h"))
                  if f"{name}.c" in open(h).read()]
        check(open(hdr).read(200).startswith(f"/* {name}.h - ") if os.path.exists(hdr)
              else bool(others), f"{chapter}/{name}.h (or the interface's) states the contract")
        check(f"`{name}.c`" in chapter_readme or f"`{name}.{{c,h}}`" in chapter_readme,
              f"demos/{chapter}/README.md lists {name}.c")
        continue
    check(head.startswith("/* ") and "Usage:" in head and "Observe:" in head,
          f"{chapter}/{name}.c opens with a header giving Usage and Observe")
    # Its page: docs/<chapter>/<name>.md, or one page for programs that teach together
    # (master and worker: master_worker.md), whose title names each of them.
    page = os.path.join(SRC, "docs", chapter, f"{name}.md")
    shared = [p for p in glob.glob(os.path.join(SRC, "docs", chapter, "*.md"))
              if re.search(rf"\b{name}\b", open(p).readline())]
    check(os.path.exists(page) or bool(shared), f"docs/{chapter}/{name}.md or a shared page")
    check(f"`{name}`" in readme, f"README's catalogue lists {name}")
    check(f"`{name}`" in chapter_readme, f"demos/{chapter}/README.md lists {name}")

with open(os.path.join(SRC, "bench", "benches.txt")) as f:
    benches = [l.split()[0] for l in f if l.strip() and not l.startswith("#")]
plots = os.listdir(os.path.join(SRC, "bench", "plots"))
for b in benches:
    check(f"`{b}`" in readme, f"README lists bench {b}")
    charts = [p[:-3] for p in plots if p.endswith(".gp") and p.split("-")[0].split(".")[0] == b]
    check(len(charts) >= 1, f"bench {b} has a chart script in bench/plots/")
    for c in charts:
        check(f"{c}.py" in plots, f"chart {c} has a reading (bench/plots/{c}.py)")

# Every relative link in the course resolves: the file exists and, for a #fragment, the page
# has a heading of that name (GitHub's slug: lower case, punctuation dropped, spaces to -).
def slug(heading):
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")

pages = [os.path.join(SRC, "README.md")] + sorted(
    glob.glob(os.path.join(SRC, "docs", "**", "*.md"), recursive=True) +
    glob.glob(os.path.join(SRC, "demos", "*", "README.md")))
check(os.path.exists(os.path.join(SRC, "docs", "glossary.md")), "docs/glossary.md exists")
check("(glossary.md)" in open(os.path.join(SRC, "docs", "README.md")).read(),
      "docs/README.md links the glossary")
for page in pages:
    text = open(page).read()
    rel = os.path.relpath(page, SRC)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue                                    # http:, https:, mailto:
        path, _, frag = target.partition("#")
        dest = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
        ok = os.path.exists(dest)
        if ok and frag and dest.endswith(".md"):
            heads = re.findall(r"^#+ (.+)$", open(dest).read(), re.M)
            ok = frag in {slug(h) for h in heads}
        check(ok, f"{rel}: link {target} resolves")
    # A URL with ? in a shell command is a glob pattern to the shell (zsh stops with "no
    # matches found"): every one the lessons give is quoted.
    for line in re.findall(r"(?:curl|wrk)\b[^`\n]*", text):
        bare = re.search(r"(?<!['\"])\b(?:localhost|127\.0\.0\.1)[:\w]*/\S*\?", line)
        check(not bare, f"{rel}: URL with ? quoted in: {line.strip()}")

# Every lesson with a "What to run" shows what one real run printed: a line
# <!-- output: COMMAND --> at the start of a line, then a text fence (docs/README.md).
for page in pages:
    text = open(page).read()
    if re.search(r"^## What to run", text, re.M):
        check(re.search(r"^<!-- output: [^>]+ -->\n```text\n", text, re.M) is not None,
              f"{os.path.relpath(page, SRC)}: a sample output follows What to run")

# The tools the lessons' commands call are installed (or named) by scripts/deps.sh.
deps = open(os.path.join(SRC, "scripts", "deps.sh")).read()
course = "".join(open(p).read() for p in pages)
for tool in ("curl", "strace", "nc", "ss", "wrk", "perf"):
    if re.search(rf"(^|`|\$\(|\| ){tool}[ `]", course, re.M):
        check(f"command -v {tool}" in deps, f"scripts/deps.sh provides {tool}, which a lesson runs")

# lib/ is plumbing that knows no chapter: it does not link libuv (the programs that use it
# do), and only its header-only error check, uvcheck.h, names libuv at all.
lib_cmake = open(os.path.join(SRC, "lib", "CMakeLists.txt")).read()
check("UV" not in lib_cmake, "lib/CMakeLists.txt links no libuv")
for path in sorted(glob.glob(os.path.join(SRC, "lib", "*.[ch]"))):
    if os.path.basename(path) != "uvcheck.h":
        check("<uv.h>" not in open(path).read(), f"lib/{os.path.basename(path)} uses no libuv")

# Nothing of ours in libuv's uv_ namespace: no type or function we define is named uv_*
# (a reader would look it up in libuv's manual; a later libuv could take the name).
ours = sorted(glob.glob(os.path.join(SRC, "lib", "*.[ch]")) +
              glob.glob(os.path.join(SRC, "demos", "*", "*.[ch]")) +
              glob.glob(os.path.join(SRC, "bench", "*.[ch]")))
for path in ours:
    text = open(path).read()
    defined = re.findall(r"^(?:struct|union|enum) (uv_\w+) \{", text, re.M) + \
              re.findall(r"^[A-Za-z_][\w ]*[ *](uv_\w+)\(", text, re.M)
    check(not defined, f"{os.path.relpath(path, SRC)} defines nothing named uv_*",
          ", ".join(defined))
    # One libuv error check: die_uv()/check_uv() in lib/uvcheck.h name the call.
    if not path.endswith("uvcheck.h"):
        check("uv_strerror" not in text and "CHECK(uv_" not in text,
              f"{os.path.relpath(path, SRC)} fails through die_uv")

r = subprocess.run(["python3", os.path.join(SRC, "scripts", "snippets.py"), "--check"],
                   capture_output=True, text=True)
check(r.returncode == 0, "the code quoted in docs/ matches the source (make docs)", r.stderr)
done()
