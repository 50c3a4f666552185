"""The course's site as a reader's browser sees it: headless Chromium (driven through its
DevTools protocol, tests/cdp.py) opens every page of the site from disk and each page fails
on: not loading; a request that failed or was not for a local file (the site must work
offline: no CDN, no web font); a console error or an uncaught exception; an image that did
not render; a link to a missing page or to a missing #anchor; a link that leaves the site.
Saves PNGs of the course map and of one annotated source page, prints
"N pages, N passed, N failed".

Usage: test_site_browser.py            build the site (scripts/site.py --out BUILD/docs), check it
       test_site_browser.py --site DIR check an already built site
       test_site_browser.py --self-test  a fixture site with one fault per page: each must fail
Exits 77 (skipped) without chromium-headless-shell, without scripts/site.py or without the
Debian packages it needs.
"""
import html.parser
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cdp  # noqa: E402
from testlib import (BIN, SRC, become_subreaper, check, dies_with_test, done,  # noqa: E402
                     group_processes, reap_orphans, wait_for)

# What a page may ask for: its own files and inline data. Everything else is the network.
LOCAL = ("file:", "data:", "about:", "blob:", "chrome-error:")

# What the page reports about itself once loaded: images that did not render (an <img>,
# SVG included, that is not complete or has no natural width), the files its <object>s show
# (a file:// page cannot look inside them: the test reads them), its links (resolved by the
# browser) and the anchors (ids, named a) other pages may link to.
PROBE = """JSON.stringify({
  broken: [...document.images].filter(i => !i.complete || i.naturalWidth === 0)
                              .map(i => i.currentSrc || i.src || i.outerHTML.slice(0, 80)),
  objects: [...document.querySelectorAll('object[data]')].map(o => o.data),
  links: [...document.querySelectorAll('a[href]')].map(a => a.href),
  ids: [...document.querySelectorAll('[id]')].map(e => e.id)
       .concat([...document.querySelectorAll('a[name]')].map(a => a.name)),
  title: document.title
})"""


class Ids(html.parser.HTMLParser):
    """The anchors of an HTML file the browser did not open (outside the page list)."""
    def __init__(self):
        super().__init__()
        self.ids = set()

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k == "id" or (tag == "a" and k == "name"):
                self.ids.add(v)


def file_path(url):
    return urllib.parse.unquote(urllib.parse.urlparse(url).path)


def renders(url):
    """Whether an <object>'s file is there and, for an SVG, is well-formed XML (what the
    browser needs to draw it)."""
    if not url.startswith("file:"):
        return False                 # reported as a non-local request too
    path = file_path(url)
    if not os.path.isfile(path):
        return False
    if path.endswith(".svg"):
        import xml.etree.ElementTree as ET
        try:
            ET.parse(path)
        except ET.ParseError:
            return False
    return True


def problems_of(events):
    """Failed and non-local requests, console errors and uncaught exceptions, from the
    events a page's load raised."""
    found = []
    for ev in events:
        m, p = ev.get("method"), ev.get("params", {})
        if m == "Network.requestWillBeSent":
            url = p["request"]["url"]
            if not url.startswith(LOCAL):
                found.append(f"non-local request: {url}")
        elif m == "Network.loadingFailed":
            if not p.get("canceled"):
                found.append(f"failed request: {p.get('errorText')} "
                             f"{p.get('blockedReason') or ''}".rstrip()
                             + f" ({request_url(events, p.get('requestId'))})")
        elif m == "Runtime.exceptionThrown":
            d = p["exceptionDetails"]
            text = (d.get("exception") or {}).get("description") or d.get("text")
            found.append(f"uncaught exception: {text.splitlines()[0] if text else '?'}")
        elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            args = " ".join(str(a.get("value", a.get("description", ""))) for a in p["args"])
            found.append(f"console.{p['type']}: {args}")
        elif m == "Log.entryAdded" and p["entry"].get("level") == "error":
            e = p["entry"]
            found.append(f"console error ({e.get('source')}): {e.get('text')} {e.get('url', '')}"
                         .rstrip())
    return sorted(set(found))


def request_url(events, rid):
    for ev in events:
        if ev.get("method") == "Network.requestWillBeSent" and \
                ev["params"].get("requestId") == rid:
            return ev["params"]["request"]["url"]
    return "?"


def check_site(site, shots):
    """Open every page of `site` in one browser tab; return {page: [problems]}."""
    site = os.path.realpath(site)
    pages = sorted(os.path.relpath(os.path.join(d, f), site)
                   for d, _, files in os.walk(site) for f in files if f.endswith(".html"))
    binary = cdp.find_binary()
    # The browser's helpers, killed with its process group at the end, are re-parented to
    # this process (a subreaper) and reaped here: the check counts that none is left.
    become_subreaper()
    browser = cdp.Browser(binary, preexec=dies_with_test())
    seen = {}                      # page -> (problems, links, ids)
    try:
        browser.block(["http:*", "https:*", "ws:*", "wss:*", "ftp:*"])
        for page in pages:
            url = "file://" + urllib.parse.quote(os.path.join(site, page))
            since = len(browser.events)
            err, _ = browser.navigate(url)
            problems = [f"did not load: {err}"] if err else []
            info = {"broken": [], "links": [], "ids": []}
            if not err:
                try:
                    info = json.loads(browser.evaluate(PROBE))
                except (RuntimeError, TimeoutError) as e:
                    problems.append(f"probe failed: {e}")
            problems += problems_of(browser.events[since:])
            problems += [f"image did not render: {src}" for src in info["broken"]]
            problems += [f"object did not render: {src}" for src in info.get("objects", [])
                         if not renders(src)]
            seen[page] = (problems, info["links"], set(info["ids"]))
            for name, shot in shots.items():
                if shot["page"] == page:
                    browser.screenshot(shot["path"])
    finally:
        browser.close()
        left = wait_for(lambda: (reap_orphans(), group_processes(browser.proc.pid))[1] == [])
        check(left, "no process of the browser is left", group_processes(browser.proc.pid))

    # Links: the file exists inside the site; an #anchor is an id of the page it names.
    others = {}
    for page, (problems, links, _) in seen.items():
        for link in sorted(set(links)):
            parsed = urllib.parse.urlparse(link)
            if parsed.scheme != "file":
                continue              # http(s) links are for a reader online; mailto etc.
            path = os.path.realpath(file_path(link))
            shown = os.path.relpath(path, site)
            if not (path == site or path.startswith(site + os.sep)):
                problems.append(f"link leaves the site: {link}")
                continue
            if os.path.isdir(path):
                path = os.path.join(path, "index.html")
            if not os.path.isfile(path):
                problems.append(f"link to a missing file: {shown}")
                continue
            frag = urllib.parse.unquote(parsed.fragment)
            if frag and path.endswith(".html"):
                rel = os.path.relpath(path, site)
                if rel in seen:
                    ids = seen[rel][2]
                else:
                    if rel not in others:
                        parser = Ids()
                        parser.feed(open(path, errors="replace").read())
                        others[rel] = parser.ids
                    ids = others[rel]
                if frag not in ids:
                    problems.append(f"link to a missing anchor: {shown}#{frag}")
    return {page: v[0] for page, v in seen.items()}


def report(results):
    failed = [p for p, probs in results.items() if probs]
    for page in sorted(results):
        check(not results[page], f"page {page}", "\n     ".join(results[page]))
    print(f"\n{len(results)} pages, {len(results) - len(failed)} passed, {len(failed)} failed")
    return failed


FIXTURE = {
    "index.html": """<!doctype html><html><head><title>map</title>
<link rel="stylesheet" href="style.css"></head><body><h1 id="top">Course</h1>
<img src="pic.svg" alt="ok"><a href="good.html#here">good</a> <a href="#top">top</a>
<a href="https://example.org/">an outside link is not a request</a></body></html>""",
    "style.css": "body { font-family: sans-serif; }",
    "pic.svg": '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
               '<rect width="10" height="10" fill="red"/></svg>',
    "good.html": """<!doctype html><html><head><title>good</title></head><body>
<h2 id="here">here</h2><script>console.log("fine");</script>
<a href="index.html">back</a></body></html>""",
    "bad_link.html": '<!doctype html><title>x</title><a href="nowhere.html">dead</a>',
    "bad_anchor.html": '<!doctype html><title>x</title><a href="good.html#gone">dead</a>',
    "bad_image.html": '<!doctype html><title>x</title><img src="missing.png" alt="x">',
    "bad_svg.html": '<!doctype html><title>x</title><img src="broken.svg" alt="x">',
    "broken.svg": "<svg this is not xml",
    "bad_object.html": '<!doctype html><title>x</title><object data="broken.svg" '
                       'type="image/svg+xml"></object><object data="pic.svg" '
                       'type="image/svg+xml"></object>',
    "bad_js.html": '<!doctype html><title>x</title><script>undefined_function();</script>',
    "bad_console.html": '<!doctype html><title>x</title><script>console.error("no")</script>',
    "bad_http.html": '<!doctype html><title>x</title>'
                     '<img src="http://example.org/a.png" alt="x">',
    "bad_font.html": '<!doctype html><title>x</title><link rel="stylesheet" '
                     'href="https://fonts.example.org/css?family=X"><p>x</p>',
    "bad_leaves.html": '<!doctype html><title>x</title><a href="../outside.html">out</a>',
}


def self_test(out):
    """The check can fail: each bad_* page of a fixture site must fail with the fault it
    holds, and the good pages must pass."""
    with tempfile.TemporaryDirectory() as tmp:
        site = os.path.join(tmp, "site")
        os.mkdir(site)
        open(os.path.join(tmp, "outside.html"), "w").write("<title>outside</title>")
        for name, text in FIXTURE.items():
            with open(os.path.join(site, name), "w") as f:
                f.write(text)
        shot = os.path.join(out, "selftest-index.png")
        results = check_site(site, {"map": {"page": "index.html", "path": shot}})
    print("\n".join(f"{p}: {r}" for p, r in sorted(results.items())))
    expect = {"bad_link.html": "missing file: nowhere.html",
              "bad_anchor.html": "missing anchor: good.html#gone",
              "bad_image.html": "image did not render",
              "bad_svg.html": "image did not render",
              "bad_object.html": "object did not render: file:",
              "bad_js.html": "uncaught exception",
              "bad_console.html": "console.error",
              "bad_http.html": "non-local request: http://example.org/a.png",
              "bad_font.html": "non-local request: https://fonts.example.org",
              "bad_leaves.html": "link leaves the site"}
    for page in ("index.html", "good.html"):
        check(results.get(page) == [], f"fixture {page} passes", results.get(page))
    for page, what in expect.items():
        got = results.get(page, [])
        check(any(what in p for p in got), f"fixture {page} fails with '{what}'", got)
    # A page that does not load (the site's pages are files found on disk, so this one is
    # opened by hand): the navigation reports the browser's error.
    browser = cdp.Browser(cdp.find_binary(), preexec=dies_with_test())
    try:
        err, _ = browser.navigate("file:///nonexistent/page.html")
    finally:
        browser.close()
    check(err is not None and "ERR_FILE_NOT_FOUND" in err, "a missing page does not load", err)
    check(os.path.getsize(shot) > 1000 and open(shot, "rb").read(8) == b"\x89PNG\r\n\x1a\n",
          "the fixture's screenshot is a PNG")


def annotated_page(pages):
    """One annotated source page to photograph: fork.c's if the site has one."""
    code = [p for p in pages if p.endswith((".c.html", ".h.html"))]
    fork = [p for p in code if os.path.basename(p).startswith("fork.c")]
    return (fork or code or [p for p in pages if p != "index.html"] or [None])[0]


def main():
    args = sys.argv[1:]
    if not cdp.find_binary():
        print("SKIP: chromium-headless-shell is not installed (scripts/deps.sh installs it)")
        sys.exit(77)
    build = os.path.dirname(os.path.abspath(BIN))
    out = os.path.join(build, "docs-check")
    os.makedirs(out, exist_ok=True)
    if args == ["--self-test"]:
        self_test(out)
        done()
    if args[:1] == ["--site"] and len(args) == 2:
        site = args[1]
    elif not args:
        site_py = os.path.join(SRC, "scripts", "site.py")
        if not os.path.exists(site_py):
            print("SKIP: scripts/site.py, the site generator, is not in this tree")
            sys.exit(77)
        probe = subprocess.run(["/usr/bin/python3", "-c",
                                "import markdown_it, mdit_py_plugins, pygments"],
                               capture_output=True, text=True)
        if probe.returncode != 0:
            print("SKIP: /usr/bin/python3 lacks markdown_it, mdit_py_plugins or pygments, "
                  "which scripts/site.py needs (scripts/deps.sh docs installs them)")
            sys.exit(77)
        site = os.path.join(build, "docs")
        t = time.monotonic()
        r = subprocess.run(["/usr/bin/python3", site_py, "--out", site], capture_output=True,
                           text=True, timeout=300, cwd=SRC)
        print(f"site built in {time.monotonic() - t:.1f} s")
        if not check(r.returncode == 0, "scripts/site.py builds the site",
                     (r.stdout + r.stderr)[-3000:]):
            done()
    else:
        print(__doc__)
        sys.exit(2)
    pages = sorted(os.path.relpath(os.path.join(d, f), site)
                   for d, _, files in os.walk(site) for f in files if f.endswith(".html"))
    check("index.html" in pages, "the site has a course map (index.html)")
    shots = {"map": {"page": "index.html", "path": os.path.join(out, "course-map.png")},
             "annotated": {"page": annotated_page(pages),
                           "path": os.path.join(out, "annotated-source.png")}}
    t = time.monotonic()
    results = check_site(site, shots)
    print(f"browser check took {time.monotonic() - t:.1f} s")
    report(results)
    for shot in shots.values():
        check(os.path.exists(shot["path"]), f"screenshot of {shot['page']}: {shot['path']}")
    done()


if __name__ == "__main__":
    main()
