"""fork: fork() returns the child's pid in the parent and 0 in the child; the child's
getppid() is the parent; the child's change to its copy of memory stays in the child;
without a flush, piped output buffered before fork() is printed twice."""
import re
from testlib import check, done, program, run

r = run([program("fork")])
out = r.stdout
check(r.returncode == 0, "fork exits 0", r.stderr)
before = re.search(r"before fork: pid (\d+)", out)
parent = re.search(r"parent: fork\(\) returned (\d+), the child's pid; my pid is (\d+)", out)
child = re.search(r"child:  fork\(\) returned 0; my pid is (\d+), my parent \(getppid\) is (\d+)",
                  out)
check(before and parent and child, "fork prints the before, parent and child lines", out)
if before and parent and child:
    check(parent.group(1) == child.group(1), "the parent's fork() return is the child's pid", out)
    check(child.group(2) == parent.group(2) == before.group(1),
          "the child's getppid() is the parent's pid", out)
    check(parent.group(1) != parent.group(2), "parent and child are different processes", out)
check(re.search(r"parent: child \d+ exited with status 0", out) is not None,
      "the parent reaps the child and reports exit status 0", out)
check("counter = 101" in out and "parent: counter = 1 " in out,
      "the child's change to counter does not reach the parent", out)
check(out.count("before fork") == 1, "with the flush, 'before fork' is printed once", out)

# stdout is a pipe here, so it is fully buffered: without fflush() the child inherits the
# unprinted line and both processes print it.
r = run([program("fork"), "--no-flush"])
check(r.returncode == 0, "fork --no-flush exits 0", r.stderr)
check(r.stdout.count("before fork") == 2,
      "without the flush, the buffered 'before fork' line is printed twice", r.stdout)
done()
