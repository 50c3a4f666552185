"""The course stays whole: every demo opens with its explaining header, has a docs page
that names it, a row in the README's catalogue and in its chapter README; the code quoted
in docs/ matches the source; every bench is in the README and has a chart with a reading."""
import glob
import os
import subprocess
from testlib import SRC, check, done

readme = open(os.path.join(SRC, "README.md")).read()
for path in sorted(glob.glob(os.path.join(SRC, "demos", "*", "*.c"))):
    name = os.path.basename(path)[:-2]
    chapter = os.path.basename(os.path.dirname(path))
    head = open(path).read(3000)
    check(head.startswith("/* ") and "Usage:" in head and "Observe:" in head,
          f"{chapter}/{name}.c opens with a header giving Usage and Observe")
    page = os.path.join(SRC, "docs", chapter, f"{name}.md")
    check(os.path.exists(page), f"docs/{chapter}/{name}.md exists")
    check(f"`{name}`" in readme, f"README's catalogue lists {name}")
    chapter_readme = open(os.path.join(SRC, "demos", chapter, "README.md")).read()
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

r = subprocess.run(["python3", os.path.join(SRC, "scripts", "snippets.py"), "--check"],
                   capture_output=True, text=True)
check(r.returncode == 0, "the code quoted in docs/ matches the source (make docs)", r.stderr)
done()
