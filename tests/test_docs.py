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
    chapter_readme = open(os.path.join(SRC, "demos", chapter, "README.md")).read()
    if os.path.exists(path[:-2] + ".h"):    # a model the chapter's demos and benches link
        check(f"`{name}.{{c,h}}`" in chapter_readme,
              f"demos/{chapter}/README.md lists the model {name}")
        continue
    head = open(path).read(3000)
    check(head.startswith("/* ") and "Usage:" in head and "Observe:" in head,
          f"{chapter}/{name}.c opens with a header giving Usage and Observe")
    page = os.path.join(SRC, "docs", chapter, f"{name}.md")
    check(os.path.exists(page), f"docs/{chapter}/{name}.md exists")
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

# The tools the lessons' commands call are installed (or named) by scripts/deps.sh.
deps = open(os.path.join(SRC, "scripts", "deps.sh")).read()
course = "".join(open(p).read() for p in pages)
for tool in ("curl", "strace", "nc", "ss", "wrk", "perf"):
    if re.search(rf"(^|`|\$\(|\| ){tool}[ `]", course, re.M):
        check(f"command -v {tool}" in deps, f"scripts/deps.sh provides {tool}, which a lesson runs")

r = subprocess.run(["python3", os.path.join(SRC, "scripts", "snippets.py"), "--check"],
                   capture_output=True, text=True)
check(r.returncode == 0, "the code quoted in docs/ matches the source (make docs)", r.stderr)
done()
