"""The course's site builds and holds together offline: scripts/site.py renders every
lesson, every annotated source and every report into a fresh folder; every relative
href/src of every page names a file of the site and, for a #fragment, an id in it; no page
loads anything from a network; the course map links every lesson; each quoted snippet links
its anchor in the annotated source; lessons link the glossary. Prints the page count and
how long the build took. Skipped (77) where Debian's python3-markdown-it,
python3-mdit-py-plugins or python3-pygments are missing (scripts/deps.sh docs)."""
import glob
import html.parser
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
from testlib import SRC, check, done

DEBIAN_PY = "/usr/bin/python3"
probe = subprocess.run([DEBIAN_PY, "-c", "import markdown_it, mdit_py_plugins, pygments"],
                       capture_output=True, text=True) if os.path.exists(DEBIAN_PY) else None
if probe is None or probe.returncode != 0:
    print("SKIP: /usr/bin/python3 lacks markdown_it, mdit_py_plugins or pygments "
          "(install them with scripts/deps.sh docs)")
    sys.exit(77)


# The tags the site writes. Any other is text the Markdown took for HTML (a bare
# <chapter> or <pid> outside backticks), which the browser then hides.
TAGS = set("html head body meta title link nav main footer a p h1 h2 h3 h4 h5 h6 ul ol li "
           "pre code span div section aside table thead tbody tr th td img em strong dl dt "
           "dd br hr blockquote del s sup sub kbd details summary".split())


class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.refs, self.resources, self.unknown = set(), [], [], []

    def handle_starttag(self, tag, attrs):
        if tag not in TAGS:
            self.unknown.append(tag)
        a = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if a.get(key):
                self.ids.add(a[key])
        if tag == "a" and a.get("href"):
            self.refs.append((tag, a["href"]))
        for key in ("src", "srcset", "data", "poster"):
            if a.get(key):
                self.refs.append((tag, a[key]))
                self.resources.append(a[key])
        if tag == "link" and a.get("href"):
            self.refs.append((tag, a["href"]))
            self.resources.append(a["href"])

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)


with tempfile.TemporaryDirectory() as out:
    t0 = time.monotonic()
    r = subprocess.run([DEBIAN_PY, os.path.join(SRC, "scripts", "site.py"), "--out", out],
                       capture_output=True, text=True, timeout=300)
    took = time.monotonic() - t0
    check(r.returncode == 0, "scripts/site.py builds the site with no broken link",
          r.stdout + r.stderr)

    pages = sorted(glob.glob(os.path.join(out, "**", "*.html"), recursive=True))
    parsed = {}
    for p in pages:
        pg = Page()
        with open(p, encoding="utf-8") as f:
            text = f.read()
        pg.feed(text)
        parsed[p] = (pg, text)

    bad, external, css_urls = [], [], []
    for p, (pg, text) in parsed.items():
        rel = os.path.relpath(p, out)
        for res in pg.resources:
            if re.match(r"(https?:)?//", res):
                external.append(f"{rel}: {res}")
        for tag, ref in pg.refs:
            if re.match(r"[a-z][a-z0-9+.-]*:", ref):
                if tag != "a" and not ref.startswith("data:"):
                    external.append(f"{rel}: {ref}")
                continue
            path, _, frag = ref.partition("#")
            dest = os.path.normpath(os.path.join(os.path.dirname(p),
                                                 urllib.parse.unquote(path))) if path else p
            if not dest.startswith(out) or not os.path.isfile(dest):
                bad.append(f"{rel}: {ref} (no such file)")
            elif frag:
                target = parsed.get(dest)
                if target is None or urllib.parse.unquote(frag) not in target[0].ids:
                    bad.append(f"{rel}: {ref} (no #{frag} there)")
    hidden = [f"{os.path.relpath(p, out)}: <{t}>" for p, (pg, _) in parsed.items()
              for t in pg.unknown]
    check(not hidden, "no page hides text as an unknown tag (write <x> in backticks)",
          ", ".join(hidden[:20]))
    css = open(os.path.join(out, "style.css")).read()
    css_urls = re.findall(r"url\(|@import|@font-face", css)
    check(not bad, "every relative href/src names a file of the site and an id in it",
          "\n     ".join(bad[:30]) + (f"\n     ... {len(bad)} in all" if len(bad) > 30 else ""))
    check(not external, "no page loads anything from a network", "\n     ".join(external[:20]))
    check(not css_urls, "style.css loads nothing (no web font, no import)", str(css_urls))

    # Every docs page, every program and model file has its page; the course map links
    # every lesson of the chapters and its annotated source.
    for md in glob.glob(os.path.join(SRC, "docs", "**", "*.md"), recursive=True):
        rel = os.path.relpath(md, os.path.join(SRC, "docs"))
        want = "index.html" if rel == "README.md" else rel[:-3] + ".html"
        check(os.path.join(out, want) in parsed, f"docs/{rel} has its page {want}")
    sources = [os.path.relpath(f, SRC) for pat in ("demos/**/*.[ch]", "bench/*.[ch]", "lib/*.[ch]")
               for f in glob.glob(os.path.join(SRC, pat), recursive=True)]
    for src in sorted(sources):
        page = os.path.join(out, "src", src + ".html")
        ok = page in parsed
        check(ok and 'class="docco"' in parsed[page][1] and 'class="highlight"' in parsed[page][1],
              f"{src} has an annotated page, prose beside highlighted code")
    course = parsed[os.path.join(out, "index.html")]
    links = {os.path.normpath(h.partition("#")[0]) for t, h in course[0].refs}
    for chapter in ("processes", "threads", "async", "distributed"):
        for md in glob.glob(os.path.join(SRC, "docs", chapter, "*.md")):
            name = os.path.basename(md)[:-3]
            if os.path.exists(os.path.join(SRC, "demos", chapter, name + ".c")) and \
                    re.search(r"^int main\(", open(os.path.join(SRC, "demos", chapter,
                                                                name + ".c")).read(), re.M):
                check(f"{chapter}/{name}.html" in links,
                      f"the course map links the lesson {chapter}/{name}")
                check(f"src/demos/{chapter}/{name}.c.html" in links,
                      f"the course map links the annotated source of {chapter}/{name}")
    check(any(h.startswith("results/") for h in links), "the course map links a chart")
    text = course[1]
    steps = text.index("<h2")               # the reading order, past the introduction
    check(text.find('href="measure.html"', steps) < text.index('href="processes/subprocess.html"'),
          "the course map reads measure before subprocess, the first lesson that runs it")

    # Quoted snippets link their anchor; the anchor exists (checked above with every href).
    fork = parsed[os.path.join(out, "processes", "fork.html")][1]
    check('href="../src/demos/processes/fork.c.html#snippet-fork"' in fork,
          "a lesson's quoted snippet links its anchor in the annotated source")
    check('href="../glossary.html#' in fork or 'glossary.html#' in
          parsed[os.path.join(out, "threads", "race.html")][1],
          "lesson pages link the glossary")
    ann = parsed[os.path.join(out, "src", "demos", "threads", "race.c.html")][0]
    check({"header", "usage", "observe"} <= ann.ids, "an annotated page's header fields are anchors",
          str(sorted(ann.ids)[:20]))
    for p, (pg, text) in parsed.items():
        if "CC BY 4.0" not in text or "MIT" not in text:
            check(False, f"{os.path.relpath(p, out)} names the licences in its footer")
            break
    else:
        check(True, "every page names the licences in its footer")
    gloss = parsed[os.path.join(out, "glossary.html")][0].ids
    for term in ("futex", "pss-and-rss", "pidfd", "robust-mutex", "context-switch",
                 "so_reuseport", "lease", "zombie", "orphan"):
        check(term in gloss, f"the glossary has an entry #{term}")
    seeds = open(os.path.join(SRC, "docs", "seeds.md")).read().split("\n## Seed ")[1:]
    check(len(seeds) == 5 and all("got wrong" in s and "](" in s for s in seeds),
          "docs/seeds.md says for each seed what it got wrong and links the C version")
    svgs = glob.glob(os.path.join(out, "results", "*", "*.svg"))
    check(len(svgs) >= 1, "the reports' charts are in the site", str(len(svgs)))
    print(f"site: {len(pages)} pages built in {took:.1f} s "
          f"(scripts/site.py: {r.stdout.strip()})")
done()
