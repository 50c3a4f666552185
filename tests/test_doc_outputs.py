"""The sample outputs the pages show still match what the programs print, in shape: each
text block after <!-- output: COMMAND --> is compared, line by line, with a new run of
COMMAND (in the scratch tree tests/doccmds.py lays out, bounded): every line it shows must
be printed again, once numbers, units, hex digits and column widths are taken out
(doccmds.shape: they depend on timing, pids and the machine). Lines shown as … are trims.

An output whose COMMAND needs a peer started first (a server's, or a client's of a server or of
the broker: PORT, --port, --listen, --backend, <pid>, the distributed chapter's programs) is not run here: the page's run block shows the
whole exchange, and tests/test_servers.py and the distributed tests check those replies.
"""
import os
import re
import shutil

from doccmds import blocks, compare, pages, run_script, scratch
from testlib import SRC, check, dies_with_test, done

PEER = re.compile(r"PORT|--port|--listen|--backend|<pid>|redis|^curl|^strace|\| nc|"
                  r"^build/bin/(?:broker|master|worker|producer|consumer|jobs)\b")

compared = skipped = 0
cwd = scratch()
try:
    for page in pages():
        for b in blocks(page):
            if b.output_of is None:
                continue
            if PEER.search(b.output_of) or not b.output_of.startswith("build/bin/"):
                skipped += 1
                print(f"--   {b.where}: {b.output_of} (needs a peer: not run here)")
                continue
            compared += 1
            rc, out, left = run_script(b.output_of, cwd, timeout=120, preexec=dies_with_test())
            if not check(rc is not None, f"{b.where}: {b.output_of} ends", out[-2000:]):
                continue
            missing = compare(b.body, out)
            check(not missing, f"{b.where}: {b.output_of} prints the lines shown",
                  "not printed any more (shape):\n       " + "\n       ".join(missing) +
                  "\n     it printed:\n       " + "\n       ".join(out.splitlines()[:40]))
finally:
    shutil.rmtree(cwd, ignore_errors=True)
print(f"\n{compared} outputs compared, {skipped} need a peer (not run here)")
check(compared > 0, "some outputs were compared")
done()
