#!/usr/bin/env python3
"""snippets.py - keep the code quoted in docs/ identical to the source.

Usage: scripts/snippets.py [--check]

A docs page quotes code by name, never by line number:

    <!-- snippet: demos/processes/fork.c fork -->
    (the code, filled in by this script)
    <!-- /snippet -->

and the source marks the lines with a comment on a line of its own:

    /* [snippet:fork] */
    ... quoted lines ...
    /* [/snippet:fork] */

Without --check the pages are rewritten in place; with --check nothing is written and the
exit status is 1 if any page is out of date or names a snippet that does not exist.
"""
import glob
import os
import re
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BLOCK = re.compile(r"(<!-- snippet: (\S+) (\S+) -->\n)(.*?)(<!-- /snippet -->)", re.S)


def extract(path, name):
    with open(os.path.join(ROOT, path)) as f:
        lines = f.read().split("\n")
    start = [i for i, l in enumerate(lines) if l.strip() in (f"/* [snippet:{name}] */", f"# [snippet:{name}]")]
    end = [i for i, l in enumerate(lines) if l.strip() in (f"/* [/snippet:{name}] */", f"# [/snippet:{name}]")]
    if len(start) != 1 or len(end) != 1 or end[0] <= start[0]:
        raise KeyError(f"{path}: snippet '{name}' is not marked exactly once")
    body = textwrap.dedent("\n".join(lines[start[0] + 1:end[0]]))
    lang = "python" if path.endswith(".py") else "c"
    return f"```{lang}\n{body}\n```\n"


def main(argv):
    check = "--check" in argv[1:]
    stale, errors = [], []
    for page in sorted(glob.glob(os.path.join(ROOT, "docs", "**", "*.md"), recursive=True)):
        with open(page) as f:
            text = f.read()

        def fill(m):
            try:
                return m.group(1) + extract(m.group(2), m.group(3)) + m.group(5)
            except (OSError, KeyError) as e:
                errors.append(f"{os.path.relpath(page, ROOT)}: {e}")
                return m.group(0)

        new = BLOCK.sub(fill, text)
        if new != text:
            stale.append(os.path.relpath(page, ROOT))
            if not check:
                with open(page, "w") as f:
                    f.write(new)
    for e in errors:
        print(f"snippets: {e}", file=sys.stderr)
    if check and stale:
        print("snippets: out of date (run make docs): " + ", ".join(stale), file=sys.stderr)
    elif stale:
        print("snippets: updated " + ", ".join(stale))
    return 1 if errors or (check and stale) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
