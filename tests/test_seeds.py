"""Citations of the Python originals resolve: a source that names a seed ("Python:
docs/seeds.md#seed-000", "#seed-002", "seed 001") finds a section of that number in
docs/seeds.md, and nothing cites a seeds/ folder, which the project does not ship."""
import glob
import os
import re
from testlib import SRC, check, done

page = os.path.join(SRC, "docs", "seeds.md")
check(os.path.exists(page), "docs/seeds.md exists")
heads = re.findall(r"^## Seed (\d{3})$", open(page).read(), re.M) if os.path.exists(page) else []

files = [f for pattern in ("README.md", "docs/**/*.md", "demos/**/*.[ch]", "lib/*.[ch]",
                           "bench/**/*.[ch]", "bench/**/*.py", "bench/**/*.gp", "tests/*.py")
         for f in glob.glob(os.path.join(SRC, pattern), recursive=True)]
cited = 0
for f in sorted(set(files)):
    rel = os.path.relpath(f, SRC)
    if rel in ("docs/seeds.md", "tests/test_seeds.py"):
        continue
    text = open(f, errors="replace").read()
    folder = re.findall(r"(?<![\w.#/-])seeds/\d+", text)
    check(not folder, f"{rel} cites no seeds/ folder", " ".join(folder))
    for n in re.findall(r"#seed-(\d+)|\bseeds? (\d{3})\b", text):
        cited += 1
        number = n[0] or n[1]
        check(number in heads, f"{rel}: seed {number} has a section in docs/seeds.md")
check(cited >= 20, "the demos and peers cite the seeds they answer", str(cited))
done()
