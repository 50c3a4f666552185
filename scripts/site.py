#!/usr/bin/python3
"""site.py - render the course as a static site that opens from disk (file://), offline.

Usage: /usr/bin/python3 scripts/site.py [--out DIR]     (default build/docs; `make docs`)

What it writes under DIR, every link relative, nothing fetched from a network (no CDN, no
web font; the Pygments CSS is generated into style.css):
  index.html              the course map: docs/README.md, each step with its lesson, its
                          annotated source and its charts
  <chapter>/<page>.html   one page per docs/**/*.md, .md links rewritten to .html, headings
                          with the same ids GitHub gives them (so #anchors keep working)
  src/<path>.html         one annotated page per demo, bench and lib/ file: the prose of its
                          block comments on the left, the code they explain on the right
                          (docco's layout); its header fields and the snippet markers of
                          scripts/snippets.py are anchors (#usage, #snippet-NAME) that the
                          lessons' quoted snippets link to; any other file a page links
                          (a script, a test) gets a highlighted page there too
  results/<machine>/      each report.md rendered beside its charts (SVG) and data, each
                          chart linked back to the lessons that discuss it
  readme.html, glossary.html, seeds.html, <chapter>/answers.html, style.css
Lesson pages link the first use of each glossary term to its entry.

Debian's python3-markdown-it, python3-mdit-py-plugins and python3-pygments: run it with
/usr/bin/python3 (scripts/deps.sh docs installs them).
"""
import argparse
import functools
import glob
import html
import multiprocessing
import os
import re
import shutil
import sys
import textwrap
import time

try:
    from markdown_it import MarkdownIt
    from mdit_py_plugins.anchors import anchors_plugin
    from markdown_it.token import Token
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import CLexer, TextLexer, get_lexer_by_name, get_lexer_for_filename
    from pygments.util import ClassNotFound
except ImportError as e:
    sys.exit(f"site.py: {e}: install python3-markdown-it python3-mdit-py-plugins "
             "python3-pygments (scripts/deps.sh docs) and run with /usr/bin/python3")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHAPTERS = ("processes", "threads", "async", "distributed")
LICENCE = ("Code: MIT licence ({code}). Lesson text: CC BY 4.0 ({docs}). "
           "Built by <code>make docs</code> from the sources; works offline.")

# The charts each lesson discusses (names of results/<machine>/<chart>.svg). The course map
# and the lesson pages link them; each chart in a report links back to these lessons.
LESSON_CHARTS = {
    "docs/processes/fork.md": ["create"],
    "docs/processes/spawn.md": ["create"],
    "docs/processes/pool.md": ["pool", "pool_syscalls"],
    "docs/processes/shmring.md": ["pool", "pool_syscalls"],
    "docs/processes/procpool.md": ["pool"],
    "docs/processes/procpool_ring.md": ["pool"],
    "docs/processes/queue.md": ["ipc-latency", "ipc-bandwidth"],
    "docs/processes/shared_heap.md": ["heap"],
    "docs/processes/shheap.md": ["heap"],
    "docs/threads/threads.md": ["create"],
    "docs/threads/race.md": ["race", "locks", "locks-lost"],
    "docs/threads/counters.md": ["locks", "locks-lost"],
    "docs/threads/spin.md": ["spin", "timeline"],
    "docs/threads/switching.md": ["switching", "switching-switches", "ctxswitch", "ctxswitch-wss"],
    "docs/threads/switching_model.md": ["switching", "switching-switches"],
    "docs/async/loop.md": ["create", "ctxswitch"],
    "docs/async/fileio.md": ["fileio", "fileio_size"],
    "docs/async/fileio_model.md": ["fileio", "fileio_size"],
    "docs/async/servers.md": ["server", "server_io", "server_mem", "slowloris", "syscalls"],
    "docs/async/server_uv.md": ["server", "server_io", "server_mem"],
    "docs/async/server_uv_multi.md": ["server", "server_io"],
    "docs/async/server_epoll.md": ["server", "syscalls"],
    "docs/async/server_uring.md": ["server", "syscalls"],
    "docs/async/server_threads.md": ["server_io", "server_mem"],
    "docs/async/server_pool.md": ["server_io", "slowloris"],
    "docs/async/server_fork.md": ["server", "server_mem"],
    "docs/async/server_prefork.md": ["server", "slowloris"],
    "docs/async/libuv.md": ["syscalls", "create"],
    "docs/distributed/broker.md": ["tasks"],
    "docs/distributed/master_worker.md": ["tasks", "tasks_latency"],
    "docs/distributed/producer_consumer.md": ["tasks"],
    "docs/distributed/journal.md": ["tasks_journal"],
    "docs/distributed/redis.md": ["tasks", "tasks_latency"],
    "docs/distributed/many_machines.md": ["tasks"],
    "docs/measure.md": ["timeline"],
    "docs/threads/bounded_buffer.md": ["buffer", "buffer-skew"],
    "docs/threads/ring_buffer.md": ["buffer", "buffer-skew"],
    "docs/processes/cow.md": ["cow", "cow_write"],
    "docs/processes/cow_model.md": ["cow", "cow_write"],
    "docs/threads/false_sharing.md": ["false_sharing", "false_sharing-cpu"],
    "docs/threads/false_sharing_model.md": ["false_sharing", "false_sharing-cpu"],
}

# Other words for a glossary entry (its heading, lower-cased, is always one). A word with a
# capital letter matches case-sensitively.
GLOSSARY_ALIASES = {
    "at-least-once-delivery": ["at least once", "at-least-once"],
    "context-switch": ["context switches", "context-switch"],
    "dead-letter-queue": ["dead-letter queue", "dead letters", "dead-lettered", "dead letter"],
    "futex": ["futexes"],
    "lease": ["leases"],
    "orphan": ["orphans", "orphaned"],
    "pdeathsig": ["PR_SET_PDEATHSIG", "PDEATHSIG"],
    "pidfd": ["pidfds", "pidfd_open"],
    "pss-and-rss": ["PSS", "RSS"],
    "robust-mutex": ["robust mutexes", "robust lock", "robust locks"],
    "so_reuseport": ["SO_REUSEPORT"],
    "zombie": ["zombies"],
}


def slug(heading):
    """GitHub's heading id, as tests/test_docs.py computes it: lower case, punctuation
    dropped, spaces to -."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def esc(s):
    return html.escape(s, quote=True)


@functools.lru_cache(maxsize=None)
def read(rel):
    with open(os.path.join(ROOT, rel), encoding="utf-8", errors="replace") as f:
        return f.read()


FORMATTER = HtmlFormatter(nowrap=True)


def hl(code, lexer):
    return highlight(code, lexer, FORMATTER)


def lexer_for(lang="", filename=""):
    try:
        if lang:
            return get_lexer_by_name({"sh": "bash", "text": "text"}.get(lang, lang))
        if filename:
            # The usual kinds by name (get_lexer_for_filename scans every plugin: slow).
            known = {".c": "c", ".h": "c", ".py": "python", ".sh": "bash", ".gp": "gnuplot",
                     ".txt": "text", ".csv": "text", ".json": "json", ".md": "markdown",
                     ".conf": "ini", ".x": "c"}
            ext = os.path.splitext(filename)[1]
            if ext in known:
                return get_lexer_by_name(known[ext])
            if os.path.basename(filename) in ("LICENSE", "Makefile", "CMakeLists.txt"):
                return get_lexer_by_name({"Makefile": "make", "CMakeLists.txt": "cmake"}
                                         .get(os.path.basename(filename), "text"))
            return get_lexer_for_filename(filename)
    except ClassNotFound:
        pass
    return TextLexer()


class Site:
    def __init__(self, out):
        self.out = out
        self.queue = []           # repo paths (files, or folders ending in /) still to render
        self.wanted = {}          # repo path -> site path
        self.backlinks = {}       # repo path of a source -> [(title, docs page)]
        self.titles = {}          # repo path of a page -> its title
        self.pages = 0
        self.missing = []
        self.chart_anchor = {}    # chart name -> [(machine, site path#id)]
        self._charts = {}         # docs page -> the charts it discusses
        self.term_uses = {}       # glossary anchor -> the docs pages that link it
        self.current = None       # the page being rendered
        self.glossary = self.glossary_terms()
        md = MarkdownIt("commonmark", {"html": True, "highlight": self.fence})
        md.enable(["table", "strikethrough"])
        md.use(anchors_plugin, min_level=1, max_level=6, slug_func=slug)
        self.md = md

    # -- where each repo file lands in the site --------------------------------------------
    @staticmethod
    def site_path(rel):
        if rel.endswith("/"):                          # a folder: its README, or a listing
            d = rel.rstrip("/")
            if d in ("docs", ""):
                return "index.html" if d == "docs" else "readme.html"
            if os.path.exists(os.path.join(ROOT, d, "README.md")):
                return Site.site_path(d + "/README.md")
            if d.startswith("docs/"):
                return d[5:] + "/index.html"
            if d == "results" or d.startswith("results/"):
                return d + "/index.html"
            return "src/" + d + "/index.html"
        if rel == "docs/README.md":
            return "index.html"
        if rel == "README.md":
            return "readme.html"
        if rel.startswith("docs/") and rel.endswith(".md"):
            return rel[5:-3] + ".html"
        if rel.startswith("results/"):
            return rel[:-3] + ".html" if rel.endswith(".md") else rel
        if rel.endswith("/README.md"):
            return "src/" + rel[:-len("README.md")] + "index.html"
        if rel.endswith(".md"):
            return "src/" + rel[:-3] + ".html"
        if rel.endswith((".svg", ".png")):
            return "src/" + rel
        return "src/" + rel + ".html"

    def want(self, rel):
        """The site path of repo path rel (a folder ends in /); queue it to be rendered."""
        if rel.endswith("/"):
            readme = "docs/README.md" if rel == "docs/" else rel + "README.md"
            if os.path.exists(os.path.join(ROOT, readme)):
                rel = readme
        if rel not in self.wanted:
            self.wanted[rel] = self.site_path(rel)
            self.queue.append(rel)
        return self.wanted[rel]

    def href(self, rel, frag, here):
        """A relative href from site page `here` to repo path rel (#frag kept)."""
        target = self.want(rel)
        h = os.path.relpath(target, os.path.dirname(here) or ".")
        return h + ("#" + frag if frag else "")

    def resolve(self, target, page_rel, here):
        """Rewrite a link target written in repo file page_rel; None if it is external."""
        if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            return None
        path, _, frag = target.partition("#")
        rel = os.path.normpath(os.path.join(os.path.dirname(page_rel), path))
        full = os.path.join(ROOT, rel)
        if rel.startswith("..") or not os.path.exists(full):
            self.missing.append(f"{page_rel}: {target}")
            return None
        if os.path.isdir(full):
            rel = "" if rel == "." else rel + "/"
        return self.href(rel, frag, here)

    # -- page frame ------------------------------------------------------------------------
    def frame(self, here, title, body, kind="page"):
        up = os.path.relpath(".", os.path.dirname(here) or ".")
        u = lambda p: esc(os.path.normpath(os.path.join(up, p)))  # noqa: E731
        nav = " · ".join(f'<a href="{u(p)}">{t}</a>' for p, t in (
            ("index.html", "Course map"), ("glossary.html", "Glossary"), ("seeds.html", "Seeds"),
            ("results/index.html", "Results"), ("readme.html", "README")))
        foot = LICENCE.format(code=f'<a href="{esc(self.href("LICENSE", "", here))}">LICENSE</a>',
                              docs=f'<a href="{esc(self.href("docs/LICENSE", "", here))}">docs/LICENSE</a>')
        self.pages += 1
        return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
                f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
                f'<title>{esc(title)}</title>\n'
                f'<link rel="stylesheet" href="{u("style.css")}">\n</head>\n'
                f'<body class="{kind}">\n<nav class="top">{nav}</nav>\n'
                f'<main>\n{body}\n</main>\n<footer>{foot}</footer>\n</body>\n</html>\n')

    def write(self, here, text):
        path = os.path.join(self.out, here)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)

    # -- Markdown pages --------------------------------------------------------------------
    def fence(self, code, lang, attrs):
        lang = (lang or "").split()[0] if lang else ""
        return (f'<pre class="highlight lang-{esc(lang or "text")}"><code>'
                f'{hl(code, lexer_for(lang=lang))}</code></pre>\n')

    def glossary_terms(self):
        terms = []
        text = read("docs/glossary.md")
        for head in re.findall(r"^## (.+)$", text, re.M):
            anchor = slug(head)
            words = sorted({head.lower(), *GLOSSARY_ALIASES.get(anchor, [])}, key=len, reverse=True)
            for w in words:
                flags = 0 if re.search(r"[A-Z]", w) else re.I
                terms.append((anchor, re.compile(rf"(?<![\w-]){re.escape(w)}(?![\w-])", flags)))
        return terms

    def link_glossary(self, tokens, here):
        """Link each glossary term's first use on the page (outside headings, links and
        code blocks) to its entry."""
        done = set()
        gloss = os.path.relpath("glossary.html", os.path.dirname(here) or ".")
        in_heading = False
        for tok in tokens:
            if tok.type == "heading_open":
                in_heading = True
            elif tok.type == "heading_close":
                in_heading = False
            if tok.type != "inline" or in_heading or not tok.children:
                continue
            out, depth = [], 0
            for child in tok.children:
                if child.type == "link_open":
                    depth += 1
                elif child.type == "link_close":
                    depth -= 1
                if depth or child.type not in ("text", "code_inline"):
                    out.append(child)
                    continue
                pieces = [child]
                for anchor, rx in self.glossary:
                    if anchor in done:
                        continue
                    new = []
                    for p in pieces:
                        if anchor in done or p.type not in ("text", "code_inline"):
                            new.append(p)
                            continue
                        m = rx.search(p.content)
                        if not m or (p.type == "code_inline" and m.group(0) != p.content):
                            new.append(p)
                            continue
                        done.add(anchor)
                        self.term_uses.setdefault(anchor, []).append(self.current)
                        a = Token("link_open", "a", 1)
                        a.attrs = {"href": f"{gloss}#{anchor}", "class": "gloss",
                                   "title": "glossary"}
                        if p.type == "code_inline":
                            new += [a, p, Token("link_close", "a", -1)]
                            continue
                        before, mid, after = (p.content[:m.start()], m.group(0),
                                              p.content[m.end():])
                        for part, kind in ((before, "text"), (None, "open"), (mid, "text"),
                                           (None, "close"), (after, "text")):
                            if kind == "open":
                                new.append(a)
                            elif kind == "close":
                                new.append(Token("link_close", "a", -1))
                            elif part:
                                t = Token("text", "", 0)
                                t.content = part
                                new.append(t)
                    pieces = new
                out += pieces
            tok.children = out

    def preprocess(self, rel, text, here):
        """The page's Markdown before rendering: a quoted snippet gets a line linking its
        place in the annotated source; a report's chart, the lessons that discuss it."""
        def snip(m):
            src, name = m.group(1), m.group(2)
            if not os.path.exists(os.path.join(ROOT, src)):
                return m.group(0)
            page = self.href(src, "", here)
            return (f'<p class="snippet-from">from <a href="{esc(page)}">{esc(src)}</a>, '
                    f'<a href="{esc(page)}#snippet-{esc(name)}">snippet <code>{esc(name)}'
                    f'</code> in the annotated source</a></p>\n\n{m.group(0)}')
        text = re.sub(r"^<!-- snippet: (\S+) (\S+) -->$", snip, text, flags=re.M)
        if rel == "docs/glossary.md":
            parts = re.split(r"(?m)^(## .+)$", text)
            for k in range(1, len(parts), 2):
                uses = self.term_uses.get(slug(parts[k][3:]), [])
                if uses:
                    links = ", ".join(f"[{os.path.basename(u)[:-3]}]"
                                      f"({os.path.relpath(u, 'docs')})" for u in uses)
                    parts[k + 1] = parts[k + 1].rstrip("\n") + \
                        f"\n\nLinked from: {links}.\n\n"
            text = "".join(parts)
        if rel.startswith("results/") and rel.endswith("report.md"):
            def chart(m):
                name = os.path.splitext(os.path.basename(m.group(2)))[0]
                lessons = [p for p in self.reading_order() + sorted(LESSON_CHARTS)
                           if os.path.exists(os.path.join(ROOT, p)) and name in self.charts_of(p)]
                lessons = list(dict.fromkeys(lessons))
                if not lessons:
                    return m.group(0)
                links = ", ".join(f"[{self.title_of(p)}]({os.path.relpath(p, os.path.dirname(rel))})"
                                  for p in lessons)
                return m.group(0) + f"\n\nDiscussed in: {links}."
            text = re.sub(r"^(!\[[^\]]*\]\(([^)\s]+\.svg)\))$", chart, text, flags=re.M)
        return text

    def title_of(self, rel):
        if rel not in self.titles:
            m = re.search(r"^# (.+)$", read(rel), re.M)
            self.titles[rel] = m.group(1).strip().replace("`", "") if m else os.path.basename(rel)
        return self.titles[rel]

    def render_md(self, rel):
        here = self.wanted[rel]
        self.current = rel
        text = self.preprocess(rel, read(rel), here)
        env = {}
        tokens = self.md.parse(text, env)
        for tok in tokens:
            for child in (tok.children or []):
                attr = {"link_open": "href", "image": "src"}.get(child.type)
                if not attr:
                    continue
                new = self.resolve(child.attrs.get(attr, ""), rel, here)
                if new is not None:
                    child.attrs[attr] = new
        # Backlinks: which lesson links which source file (for the annotated pages).
        if rel.startswith("docs/"):
            for target in re.findall(r"\]\(([^)#\s]+\.[ch])\)", text):
                src = os.path.normpath(os.path.join(os.path.dirname(rel), target))
                self.backlinks.setdefault(src, [])
                if rel not in self.backlinks[src]:
                    self.backlinks[src].append(rel)
            for src, _ in re.findall(r"^<!-- snippet: (\S+) (\S+) -->$", text, re.M):
                self.backlinks.setdefault(src, [])
                if rel not in self.backlinks[src]:
                    self.backlinks[src].append(rel)
        if re.match(r"docs/(\w+/)?\w+\.md$", rel) and rel not in (
                "docs/glossary.md", "docs/README.md", "docs/seeds.md") \
                and not rel.endswith("answers.md"):
            self.link_glossary(tokens, here)
        body = self.md.renderer.render(tokens, self.md.options, env)
        if rel == "docs/README.md":
            body = self.course_map(body, here)
        body = self.aside(rel, here) + body + self.prev_next(rel, here)
        title = self.title_of(rel)
        self.write(here, self.frame(here, title, body, "course" if rel == "docs/README.md"
                                    else "lesson"))

    def reading_order(self):
        """The pages of docs/ in the course map's order (each once, first place kept)."""
        if not hasattr(self, "_order"):
            order = []
            steps = read("docs/README.md").split("\n## ", 1)[-1]    # past the introduction
            for target in re.findall(r"\]\(([^)#\s]+\.md)\)", steps):
                page = os.path.normpath(os.path.join("docs", target))
                if page.startswith("docs/") and page not in order and \
                        os.path.exists(os.path.join(ROOT, page)):
                    order.append(page)
            self._order = order
        return self._order

    def prev_next(self, rel, here):
        order = self.reading_order()
        if rel not in order:
            return ""
        i = order.index(rel)
        links = []
        if i > 0:
            links.append(f'← <a href="{esc(self.href(order[i - 1], "", here))}">'
                         f'{esc(self.title_of(order[i - 1]))}</a>')
        links.append(f'<a href="{esc(self.href("docs/README.md", "", here))}">course map</a>')
        if i + 1 < len(order):
            links.append(f'<a href="{esc(self.href(order[i + 1], "", here))}">'
                         f'{esc(self.title_of(order[i + 1]))}</a> →')
        return '\n<nav class="prev-next">' + " · ".join(links) + "</nav>\n"

    def lesson_sources(self, rel):
        """The source files a lesson names in its opening lines (before the first ##)."""
        head = read(rel).split("\n## ")[0]
        srcs = []
        for target in re.findall(r"\]\(([^)#\s]+\.[ch])\)", head):
            src = os.path.normpath(os.path.join(os.path.dirname(rel), target))
            if os.path.exists(os.path.join(ROOT, src)) and src not in srcs:
                srcs.append(src)
        if not srcs:
            name = os.path.basename(rel)[:-3]
            for cand in (f"demos/{rel.split('/')[1]}/{name}.c" if rel.count("/") == 2 else "",
                         f"bench/{name}_main.c", f"lib/{name}.c"):
                if cand and os.path.exists(os.path.join(ROOT, cand)):
                    srcs.append(cand)
        return srcs

    def charts_of(self, rel):
        """The charts a lesson discusses: LESSON_CHARTS, and any chart the page names as
        `NAME` bench, bench_NAME, NAME.svg or the *NAME* chart."""
        if rel in self._charts:
            return self._charts[rel]
        names = self._charts[rel] = list(LESSON_CHARTS.get(rel, []))
        text = read(rel)
        for name in sorted(self.chart_anchor):
            if name not in names and re.search(
                    rf"`{re.escape(name)}` (bench|chart)|bench_{re.escape(name)}\b|"
                    rf"\b{re.escape(name)}\.svg|\*{re.escape(name)}\* chart", text):
                names.append(name)
        return names

    def chart_links(self, rel, here):
        links = []
        for name in self.charts_of(rel):
            for machine, target in self.chart_anchor.get(name, []):
                h = os.path.relpath(target.split("#")[0], os.path.dirname(here) or ".")
                label = name if len(self.machines) == 1 else f"{name} ({machine})"
                links.append(f'<a href="{esc(h)}#{esc(target.split("#")[1])}">{esc(label)}</a>')
        return links

    def aside(self, rel, here):
        """A lesson's box: its annotated source, its charts, its chapter's answers."""
        if not rel.startswith("docs/") or rel == "docs/README.md" or rel.endswith("answers.md"):
            return ""
        parts = []
        srcs = self.lesson_sources(rel)
        if srcs:
            parts.append("Annotated source: " + ", ".join(
                f'<a href="{esc(self.href(s, "", here))}">{esc(s)}</a>' for s in srcs))
        charts = self.chart_links(rel, here)
        if charts:
            parts.append("Charts: " + ", ".join(charts))
        chapter = rel.split("/")[1] if rel.count("/") == 2 else None
        ans = f"docs/{chapter}/answers.md" if chapter else None
        if ans and os.path.exists(os.path.join(ROOT, ans)):
            name = os.path.basename(rel)[:-3]
            frag = name if re.search(rf"^## {re.escape(name)}$", read(ans), re.M) else ""
            parts.append(f'<a href="{esc(self.href(ans, frag, here))}">Answers to the '
                         f'exercises</a> (for teachers)')
        if not parts:
            return ""
        return '<aside class="lesson-links">' + " · ".join(parts) + "</aside>\n"

    def course_map(self, body, here):
        """Give each step of the course map its annotated source and charts."""
        def step(m):
            href = html.unescape(m.group(1))
            target = os.path.normpath(os.path.join(os.path.dirname(here), href))
            rel = "docs/" + target[:-5] + ".md" if target.endswith(".html") else None
            if not rel or not os.path.exists(os.path.join(ROOT, rel)) \
                    or rel in ("docs/glossary.md", "docs/seeds.md"):
                return m.group(0)
            extra = []
            srcs = self.lesson_sources(rel)
            if srcs:
                extra.append("source " + ", ".join(
                    f'<a href="{esc(self.href(s, "", here))}">{esc(os.path.basename(s))}</a>'
                    for s in srcs))
            charts = self.chart_links(rel, here)
            if charts:
                extra.append("chart " + ", ".join(charts))
            tail = f' <span class="step-links">[{"; ".join(extra)}]</span>' if extra else ""
            return m.group(0) + tail
        # The first link of each list item is its lesson; the extras go after the item's
        # first line of text.
        return re.sub(r'<li><a href="([^"]+)">.*?(?=\n|<ul>|</li>)', step, body)

    # -- annotated source ------------------------------------------------------------------
    MARK = re.compile(r"^\s*(?:/\*|#) \[(/?)snippet:([\w.-]+)\](?: \*/)?\s*$")
    FIELD = re.compile(r"^([A-Z][A-Za-z ]{1,14}):(\s+)(\S.*)?$")

    def sections(self, text):
        """Split C source into docco sections: (prose lines, [(anchors, code)])."""
        lines = text.split("\n")
        secs = [([], [])]
        pending = []

        def add_code(line):
            prose, chunks = secs[-1]
            if pending or not chunks:
                chunks.append((list(pending), []))
                pending.clear()
            chunks[-1][1].append(line)

        i = 0
        while i < len(lines):
            line = lines[i]
            s = line.strip()
            m = self.MARK.match(line)
            if m:
                if not m.group(1):
                    pending.append("snippet-" + m.group(2))
                i += 1
                continue
            if s.startswith("/*"):
                j = i
                while "*/" not in (lines[j] if j > i else lines[j][lines[j].index("/*") + 2:]) \
                        and j + 1 < len(lines):
                    j += 1
                tail = lines[j].split("*/", 1)[1].strip() if "*/" in lines[j] else ""
                if not tail:
                    body = "\n".join(lines[i:j + 1])
                    body = body.strip()[2:]
                    body = body[:body.rindex("*/")] if "*/" in body else body
                    plines = [re.sub(r"^\s*\* ?", "", l) if k else l.strip()
                              for k, l in enumerate(body.split("\n"))]
                    prose, chunks = secs[-1]
                    if any(l.strip() for _, c in chunks for l in c):
                        secs.append(([], []))
                    prose, chunks = secs[-1]
                    if pending:
                        prose.append(("anchor", list(pending)))
                        pending.clear()
                    if prose and prose[-1] != "":
                        prose.append("")
                    prose.extend(p.rstrip() for p in plines)
                    i = j + 1
                    continue
            add_code(line)
            i += 1
        return secs

    def prose_html(self, items, ids, first, here, rel):
        anchors = "".join(f'<span id="{esc(a)}" class="anchor"></span>'
                          for it in items if isinstance(it, tuple) for a in it[1])
        lines = [it for it in items if not isinstance(it, tuple)]
        text = textwrap.dedent("\n".join(lines)).strip("\n")
        out = []
        for para in re.split(r"\n\s*\n", text):
            if not para.strip():
                continue
            plines = para.split("\n")
            if first and self.FIELD.match(plines[0]) and self.FIELD.match(plines[0]).group(3):
                # The header's fields (Usage:, Observe:, ...): a definition list.
                dl, cur = [], None
                for l in plines:
                    m = self.FIELD.match(l)
                    if m and m.group(3) is not None and not l.startswith(" "):
                        cur = [m.group(1), [m.group(3)], len(m.group(1)) + 1 + len(m.group(2))]
                        dl.append(cur)
                    elif cur:
                        cur[1].append(l[cur[2]:] if l[:cur[2]].strip() == "" else l.strip())
                    else:
                        cur = ["", [l], 0]
                        dl.append(cur)
                items_html = []
                for name, vals, _ in dl:
                    fid = slug(name)
                    attr = ""
                    if fid and fid not in ids:
                        ids.add(fid)
                        attr = f' id="{esc(fid)}"'
                    # Commands keep their lines; sentences flow.
                    keep = name in ("Usage", "Try", "Run", "Example", "Examples")
                    val = "\n".join(vals) if keep else " ".join(v.strip() for v in vals)
                    kind = "cmd" if name == "Usage" else "lines" if keep else "text"
                    items_html.append(f'<dt{attr}>{esc(name)}</dt><dd class="{kind}">'
                                      f"{self.inline(val, here, rel)}</dd>")
                out.append('<dl class="fields">' + "".join(items_html) + "</dl>")
            elif any(l.startswith((" ", "\t")) for l in plines[1:]) and not \
                    all(l.lstrip().startswith(("- ", "* ")) or l.startswith("  ") for l in plines):
                out.append(f'<pre class="prose">{self.inline(para, here, rel)}</pre>')
            elif plines[0].lstrip().startswith(("- ", "* ")):
                lis, cur = [], []
                for l in plines:
                    if l.lstrip().startswith(("- ", "* ")) and not l.startswith("   "):
                        if cur:
                            lis.append(" ".join(cur))
                        cur = [l.lstrip()[2:]]
                    else:
                        cur.append(l.strip())
                if cur:
                    lis.append(" ".join(cur))
                out.append("<ul>" + "".join(f"<li>{self.inline(x, here, rel)}</li>"
                                            for x in lis) + "</ul>")
            elif all(l.startswith(" ") for l in plines):
                out.append(f'<pre class="prose">{self.inline(para, here, rel)}</pre>')
            else:
                out.append(f"<p>{self.inline(' '.join(l.strip() for l in plines), here, rel)}</p>")
        return anchors + "\n".join(out)

    REPO_PATH = re.compile(r"\b((?:demos|lib|bench|docs|tests|scripts|results)/[\w./<>-]*[\w])"
                           r"(#[\w-]+)?")

    BARE = re.compile(r"(?<![\w/.-])[a-z_][\w]*\.[ch](?![\w])")

    def bare(self, s, near):
        out, pos = [], 0
        for m in self.BARE.finditer(s):
            out.append(esc(s[pos:m.start()]))
            out.append(near(m))
            pos = m.end()
        out.append(esc(s[pos:]))
        return "".join(out)

    def inline(self, s, here, rel):
        """Prose from a comment: `code` spans, and the repo paths it names made links."""
        out = []
        for k, part in enumerate(re.split(r"(`[^`\n]+`)", s)):
            if k % 2:
                out.append(f"<code>{esc(part[1:-1])}</code>")
                continue

            def link(m):
                path, frag = m.group(1), (m.group(2) or "")[1:]
                full = os.path.join(ROOT, path)
                if "<" in path or not os.path.exists(full) or os.path.isdir(full):
                    return esc(m.group(0))
                if path.endswith(".md") and frag and frag not in {
                        slug(h) for h in re.findall(r"^#+ (.+)$", read(path), re.M)}:
                    frag = ""
                return f'<a href="{esc(self.href(path, frag, here))}">{esc(m.group(0))}</a>'
            def near(m):
                for d in (os.path.dirname(rel), "lib"):
                    cand = os.path.join(d, m.group(0))
                    if os.path.isfile(os.path.join(ROOT, cand)) and cand != rel:
                        return f'<a href="{esc(self.href(cand, "", here))}">{esc(m.group(0))}</a>'
                return esc(m.group(0))
            pos = 0
            for m in self.REPO_PATH.finditer(part):
                out.append(self.bare(part[pos:m.start()], near))
                out.append(link(m))
                pos = m.end()
            out.append(self.bare(part[pos:], near))
        return "".join(out)

    def code_links(self, code, ids, here, rel):
        """In highlighted C: #include "x.h" links x.h's annotated page; a function defined
        at the start of a line gets an anchor, #fn-NAME."""
        def include(m):
            name = html.unescape(m.group(1))
            for d in (os.path.dirname(rel), "lib"):
                cand = os.path.normpath(os.path.join(d, name))
                if os.path.isfile(os.path.join(ROOT, cand)):
                    return (f'<span class="cpf"><a href="{esc(self.href(cand, "", here))}">'
                            f'{m.group(0)[18:-7]}</a></span>')
            return m.group(0)
        code = re.sub(r'<span class="cpf">&quot;([\w./-]+)&quot;</span>', include, code)
        out = []
        for line in code.split("\n"):
            m = re.search(r'<span class="nf">(\w+)</span>', line)
            if m and not line.startswith('<span class="w">') and f"fn-{m.group(1)}" not in ids \
                    and not line.rstrip().endswith(";"):
                ids.add(f"fn-{m.group(1)}")
                line = (line[:m.start()] + f'<span class="nf" id="fn-{m.group(1)}">'
                        + line[m.start() + 17:])
            out.append(line)
        return "\n".join(out)

    def render_source(self, rel):
        here = self.wanted[rel]
        text = read(rel)
        secs = self.sections(text)
        ids, rows = set(), []
        lexer = CLexer(stripnl=False) if rel.endswith((".c", ".h")) else \
            type(lexer_for(filename=rel))(stripnl=False)
        for n, (prose, chunks) in enumerate(secs):
            code_html = []
            # Blank lines at the section's ends go; those between chunks (around a snippet
            # marker) stay.
            bodies = ["\n".join(code) + "\n" for _, code in chunks]
            if bodies:
                bodies[0] = bodies[0].lstrip("\n")
                bodies[-1] = bodies[-1].rstrip("\n") + "\n"
            for (anchors, code), body in zip(chunks, bodies):
                for a in anchors:
                    ids.add(a)
                code_html.append("".join(f'<span id="{esc(a)}" class="anchor"></span>'
                                         for a in anchors))
                if body.strip():
                    code_html.append(self.code_links(hl(body, lexer), ids, here, rel))
                elif body:
                    code_html.append(body)
            for it in prose:
                if isinstance(it, tuple):
                    ids.update(it[1])
            p = self.prose_html(prose, ids, n == 0, here, rel)
            sid = "header" if n == 0 else f"s{n}"
            code = "".join(code_html)
            code_cell = (f'<pre class="highlight"><code>{code}</code></pre>'
                         if code.strip() else "")
            rows.append(f'<section class="docco" id="{sid}"><div class="prose">'
                        f'<a class="pilcrow" href="#{sid}">¶</a>{p}</div>'
                        f'<div class="code">{code_cell}</div></section>')
        links = []
        for page in self.backlinks.get(rel, []):
            links.append(f'<a href="{esc(self.href(page, "", here))}">{esc(self.title_of(page))}</a>')
        base, ext = os.path.splitext(rel)
        pair = base + (".h" if ext == ".c" else ".c")
        if os.path.exists(os.path.join(ROOT, pair)):
            links.append(f'<a href="{esc(self.href(pair, "", here))}">{esc(os.path.basename(pair))}</a>')
        folder = os.path.dirname(rel) + "/"
        links.append(f'<a href="{esc(self.href(folder, "", here))}">{esc(folder)}</a>')
        head = (f'<h1><code>{esc(rel)}</code></h1>\n<aside class="lesson-links">'
                f'{"Lessons and neighbours: " + " · ".join(links)}</aside>\n')
        self.write(here, self.frame(here, rel, head + "\n".join(rows), "annotated"))

    # -- everything else -------------------------------------------------------------------
    def render_plain(self, rel):
        here = self.wanted[rel]
        text = read(rel)
        body = (f'<h1><code>{esc(rel)}</code></h1>\n<pre class="highlight"><code>'
                f'{hl(text, lexer_for(filename=rel))}</code></pre>')
        self.write(here, self.frame(here, rel, body, "plain"))

    def render_listing(self, rel):
        here = self.wanted[rel]
        d = rel.rstrip("/")
        entries = []
        for name in sorted(os.listdir(os.path.join(ROOT, d))):
            full = os.path.join(ROOT, d, name)
            sub = f"{d}/{name}"
            if name.startswith(".") or name.endswith((".csv", ".log", ".png", ".json")):
                continue
            if d == "results" and os.path.isdir(full):
                if os.path.exists(os.path.join(full, "report.md")):
                    entries.append((f"{sub}/report.md", f"{name}: report and charts"))
            elif os.path.isfile(full):
                entries.append((sub, name))
        lis = "".join(f'<li><a href="{esc(self.href(p, "", here))}">{esc(t)}</a></li>'
                      for p, t in entries)
        body = f"<h1><code>{esc(d)}/</code></h1>\n<ul>{lis}</ul>"
        self.write(here, self.frame(here, d + "/", body, "listing"))

    def copy(self, rel):
        dest = os.path.join(self.out, self.wanted[rel])
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copyfile(os.path.join(ROOT, rel), dest)

    def render(self, rel):
        if rel.endswith(".md"):
            self.render_md(rel)
        elif rel.endswith("/"):
            self.render_listing(rel)
        elif rel.endswith((".c", ".h")) or (os.path.isfile(os.path.join(ROOT, rel))
                                            and "[snippet:" in read(rel)):
            self.render_source(rel)       # a quoted file of another language: its anchors
        elif rel.startswith("results/") or rel.endswith((".svg", ".png")):
            self.copy(rel)
        else:
            self.render_plain(rel)

    @staticmethod
    def cost(rel):
        try:
            return os.path.getsize(os.path.join(ROOT, rel)) * (4 if rel.endswith((".c", ".h")) else 1)
        except OSError:
            return 0

    def scan_reports(self):
        """Where each chart sits in each machine's report: the heading above it."""
        self.machines = []
        for report in sorted(glob.glob(os.path.join(ROOT, "results", "*", "report.md"))):
            rel = os.path.relpath(report, ROOT)
            machine = rel.split("/")[1]
            self.machines.append(machine)
            heading = None
            used = {}
            for line in read(rel).split("\n"):
                m = re.match(r"^#+ (.+)$", line)
                if m:
                    s = slug(re.sub(r"`", "", m.group(1)))
                    n = used.get(s, 0)
                    used[s] = n + 1
                    heading = s if n == 0 else f"{s}-{n}"
                m = re.match(r"^!\[[^\]]*\]\(([^)\s]+)\.svg\)", line)
                if m and heading:
                    self.chart_anchor.setdefault(os.path.basename(m.group(1)), []).append(
                        (machine, f"{self.site_path(rel)}#{heading}"))

    def build(self):
        t0 = time.monotonic()
        if os.path.isdir(self.out):
            shutil.rmtree(self.out)
        os.makedirs(self.out)
        self.scan_reports()
        for p in sorted(glob.glob(os.path.join(ROOT, "docs", "**", "*.md"), recursive=True)):
            self.want(os.path.relpath(p, ROOT))
        self.want("README.md")
        self.want("results/")
        for m in self.machines:
            self.want(f"results/{m}/report.md")
        for pattern in ("demos/**/*.[ch]", "bench/*.[ch]", "lib/*.[ch]"):
            for p in sorted(glob.glob(os.path.join(ROOT, pattern), recursive=True)):
                self.want(os.path.relpath(p, ROOT))
        # Markdown first, in this process: the annotated pages list the lessons that link
        # them. Then the rest (highlighting C is most of the time) on every core; a page
        # that links a file not yet wanted hands it back for the next round.
        while any(r.endswith(".md") for r in self.queue):
            mds = [r for r in self.queue if r.endswith(".md")]
            # The glossary last: each entry lists the pages that link it.
            rel = next((r for r in mds if r != "docs/glossary.md"), mds[0])
            self.queue.remove(rel)
            self.render(rel)
        global SITE
        SITE = self
        jobs = min(os.cpu_count() or 1, 8)
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            while self.queue:
                batch = sorted(self.queue, key=self.cost, reverse=True)
                self.queue = []
                for wanted, pages, missing in pool.imap_unordered(render_elsewhere, batch):
                    self.pages += pages
                    self.missing += missing
                    for rel in wanted:
                        self.want(rel)
        css = STYLE + HtmlFormatter(style="friendly").get_style_defs(".highlight")
        with open(os.path.join(self.out, "style.css"), "w") as f:
            f.write(css)
        return time.monotonic() - t0


SITE = None


def render_elsewhere(rel):
    """Render one page in a worker process (a fork of the one that rendered the Markdown);
    return what it newly wants, how many pages it wrote and its broken links."""
    site = SITE
    site.wanted.setdefault(rel, site.site_path(rel))     # wanted by another worker
    before = set(site.wanted)
    site.pages, site.missing, site.queue = 0, [], []
    site.render(rel)
    return [r for r in site.wanted if r not in before], site.pages, site.missing


STYLE = """\
:root { --fg: #1d1f21; --muted: #5c6370; --line: #e3e3e3; --link: #0b5cad; --bg: #fff; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: var(--bg); line-height: 1.5;
       font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
a { color: var(--link); }
nav.top { padding: .5rem 1rem; border-bottom: 1px solid var(--line); background: #f7f7f7; }
main { max-width: 52rem; margin: 0 auto; padding: 1rem 1.25rem 2rem; }
body.annotated main { max-width: 100rem; }
footer { border-top: 1px solid var(--line); color: var(--muted); font-size: .85rem;
         padding: .75rem 1rem; text-align: center; }
code, pre { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace;
            font-size: .88em; }
pre { overflow-x: auto; padding: .6rem .8rem; background: #f6f8fa; border-radius: 4px; }
table { border-collapse: collapse; display: block; overflow-x: auto; }
th, td { border: 1px solid var(--line); padding: .25rem .5rem; vertical-align: top; }
img { max-width: 100%; height: auto; }
aside.lesson-links { font-size: .9rem; background: #f2f6fb; border-left: 3px solid var(--link);
                     padding: .4rem .7rem; margin: .5rem 0 1rem; }
nav.prev-next { margin-top: 2rem; padding-top: .5rem; border-top: 1px solid var(--line);
                font-size: .9rem; }
p.snippet-from { font-size: .8rem; color: var(--muted); margin: .8rem 0 -.6rem; }
span.step-links { font-size: .85rem; color: var(--muted); }
a.gloss { text-decoration: underline dotted; color: inherit; }
section.docco { display: grid; grid-template-columns: minmax(0, 2fr) minmax(0, 3fr);
                gap: 1.25rem; border-bottom: 1px solid #f0f0f0; position: relative; }
section.docco .prose { padding: .4rem 0; font-size: .95rem; }
section.docco .code pre { margin: .3rem 0; background: #fafafa; }
section.docco:target { background: #fffbe6; }
a.pilcrow { position: absolute; left: -1rem; opacity: .2; text-decoration: none; }
dl.fields dt { font-weight: 600; }
dl.fields dd { margin: 0 0 .4rem 1.5rem; }
dl.fields dd.lines { white-space: pre-wrap; }
dl.fields dd.cmd { white-space: pre-wrap; font-family: ui-monospace, "DejaVu Sans Mono", monospace;
                   font-size: .85em; }
pre.prose { background: none; padding: 0; white-space: pre-wrap; }
span.anchor { display: inline; }
@media (max-width: 60rem) { section.docco { grid-template-columns: 1fr; } }
"""


def main():
    ap = argparse.ArgumentParser(description="Render the course into a static site.")
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "docs"),
                    help="output folder (default build/docs)")
    args = ap.parse_args()
    site = Site(os.path.abspath(args.out))
    took = site.build()
    for m in site.missing:
        print(f"site: broken link: {m}", file=sys.stderr)
    print(f"site: {site.pages} pages in {os.path.relpath(site.out)} in {took:.1f} s")
    return 1 if site.missing else 0


if __name__ == "__main__":
    sys.exit(main())
