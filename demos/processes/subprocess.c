/* subprocess.c - run a command, feed its stdin, collect its stdout and stderr and its status
 *
 * Usage:    subprocess [--input TEXT | --input-file PATH | --input-bytes N] [--save PREFIX]
 *                      [--show] [--max-output BYTES] [-- COMMAND [ARG...]]
 * Observe:  the default run starts a small shell script that sorts what we send it, writes a
 *           line on stderr and exits with status 3: all of stdin, stdout, stderr and the
 *           exit status in one go, as Python's Popen(...).communicate(input) gives them.
 *           The parent never blocks on one pipe while the child blocks on another: it writes
 *           stdin and reads stdout and stderr together, in one poll() loop, so a child that
 *           writes megabytes to both streams while we are still sending input cannot jam.
 * The deadlock it avoids: write all input first, then read the output - and a child (cat,
 *           say) that answers as it reads fills the 64 KiB stdout pipe and stops, waiting
 *           for us to read, while we still wait for it to take more input. Both wait for
 *           ever. Python's docs warn about exactly this; communicate() is the way out there
 *           too (it uses threads or selectors underneath).
 * Bounded:  what comes back is kept in memory, so a command that never stops writing (`yes`)
 *           would take all of it. We keep at most --max-output bytes of stdout and stderr
 *           together (default 128 MiB); past that we kill the command (SIGKILL), reap it, say
 *           so on stderr and exit with status 3. Python's communicate() has no such cap: it
 *           keeps everything: `yes | head -c 200M` under it took 412 MiB of memory
 *           (Python 3.11, ru_maxrss) - the chunks, then one bytes object joined from them.
 * Exit:     0 the command ran (its own status is printed), 1 a system call failed,
 *           2 a bad flag, 3 the output passed --max-output and the command was killed.
 * Try:      subprocess --input-bytes 10000000 -- cat    (10 MB each way, sizes and CRC-32)
 *           subprocess --input-bytes 10000000 -- tee /dev/stderr   (both streams at once)
 *           subprocess -- sh -c 'kill -TERM $$'    (a signal, not an exit status)
 *           subprocess -- no-such-command          (the failed exec is reported)
 *           subprocess -- yes                      (killed at the cap, exit status 3)
 * Python:   docs/seeds.md#seed-000, subprocess.call() and Popen(...).communicate(input)
 * See also: docs/processes/subprocess.md
 */
#include "core.h"
#include "shared.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char usage_text[] =
    "subprocess - run a command, feed its stdin, collect stdout, stderr and exit status\n"
    "\n"
    "Usage: subprocess [--input TEXT | --input-file PATH | --input-bytes N]\n"
    "                  [--save PREFIX] [--show] [-- COMMAND [ARG...]]\n"
    "  --input TEXT       send TEXT to the command's stdin\n"
    "  --input-file PATH  send the contents of PATH ('-': our own stdin)\n"
    "  --input-bytes N    send N pseudo-random bytes (at most 1 GB)\n"
    "  --save PREFIX      also write what came back to PREFIX.stdout and PREFIX.stderr\n"
    "  --show             print what came back in full, however long\n"
    "  --max-output BYTES keep at most BYTES of stdout and stderr together (default\n"
    "                     128 MiB); past that the command is killed and we exit 3\n"
    "  --help             this text\n"
    "Without a COMMAND: a small sh script that sorts its input, writes a line on stderr\n"
    "and exits with status 3.\n"
    "Exit status: 0 the command ran (its status is printed), 1 a system call failed,\n"
    "2 a bad flag, 3 the command wrote more than --max-output and was killed.\n";

/* What the output cap defaults to: room for the 100 MB copies in the lesson, yet a
 * runaway writer stops long before it can take the machine's memory. */
#define MAX_OUTPUT_DEFAULT (128L << 20)

/* A growing byte buffer for what the child writes. */
struct buf {
    char *data;
    size_t len, cap;
};

static void buf_reserve(struct buf *b, size_t more)
{
    if (b->len + more <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 65536;
    while (cap < b->len + more)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d)
        die_errno("realloc");
    b->data = d, b->cap = cap;
}

/* Read what is there now from a non-blocking pipe into b, taking at most *left bytes (the
 * room still free under the output cap) and counting them off. Returns 1 when the pipe is
 * empty for now, 0 at end of file, -1 when the command says more than *left allows. */
static int read_some(int fd, struct buf *b, size_t *left)
{
    for (;;) {
        /* With no room left we still read one byte: it tells "more" from end of file. */
        char extra, *to = &extra;
        size_t want = 1;
        if (*left > 0) {
            buf_reserve(b, *left < 65536 ? *left : 65536);
            to = b->data + b->len;
            want = b->cap - b->len < *left ? b->cap - b->len : *left;
        }
        ssize_t r = read(fd, to, want);
        if (r > 0 && *left == 0)
            return -1;
        if (r > 0) {
            b->len += (size_t)r;
            *left -= (size_t)r;
            continue;
        }
        if (r == 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN)
            return 1;
        die_errno("read");
    }
}

/* Start argv with three pipes for its stdin, stdout and stderr: fork, set up the child,
 * exec - what posix_spawnp() does in one call, done by hand because the child must ask for
 * one thing posix_spawn() cannot run code for: to die with us. PR_SET_PDEATHSIG survives
 * exec (of anything but a set-user-ID program), so even kill -9 of this program ends the
 * command; Python's Popen forks and execs itself underneath for the same freedom. A failed
 * exec (no such command) comes back through a close-on-exec pipe: a successful exec closes
 * it unwritten, and our read sees end of file. All pipes are O_CLOEXEC, so the command
 * keeps only the three ends dup2() puts on 0, 1, 2. */
/* [snippet:spawn] */
static pid_t spawn_with_pipes(char *const argv[], int *in_w, int *out_r, int *err_r)
{
    int in[2], out[2], err[2], report[2];
    if (pipe2(in, O_CLOEXEC) == -1 || pipe2(out, O_CLOEXEC) == -1 ||
        pipe2(err, O_CLOEXEC) == -1 || pipe2(report, O_CLOEXEC) == -1)
        die_errno("pipe2");
    pid_t parent = getpid();
    fflush(NULL);                   /* the child must not inherit unwritten output */
    pid_t pid = xfork();
    if (pid == 0) {
        end_with_parent(parent, SIGKILL);
        /* We ignore SIGPIPE (below); ignored signals survive exec, so give the child the
         * default back, or `yes | head` style pipelines would stop dying quietly. */
        signal(SIGPIPE, SIG_DFL);
        if (dup2(in[0], 0) != -1 && dup2(out[1], 1) != -1 && dup2(err[1], 2) != -1)
            execvp(argv[0], argv);
        int e = errno;              /* only reached when dup2 or exec failed */
        (void)!write(report[1], &e, sizeof e);
        _exit(127);
    }
    close(report[1]);
    int e;
    ssize_t n;
    while ((n = read(report[0], &e, sizeof e)) == -1 && errno == EINTR)
        ;
    close(report[0]);
    if (n == (ssize_t)sizeof e) {
        xwaitpid(pid, NULL, 0);     /* reap it: it has already exited 127 */
        fprintf(stderr, "%s: exec %s: %s\n", prog_name, argv[0], strerror(e));
        exit(EXIT_FAILURE);
    }
    close(in[0]), close(out[1]), close(err[1]);    /* the child's ends */
    *in_w = in[1], *out_r = out[0], *err_r = err[0];
    return pid;
}
/* [/snippet:spawn] */

/* communicate(): write all of input to the child's stdin while reading both its outputs,
 * keeping at most max_output bytes of them, then wait for it. Returns its wait status;
 * *cut is 1 when the output passed max_output and we killed the child. */
/* [snippet:communicate] */
static int communicate(char *const argv[], const char *input, size_t len, size_t max_output,
                       struct buf *out, struct buf *err, int *cut)
{
    int fd_in, fd_out, fd_err;
    pid_t pid = spawn_with_pipes(argv, &fd_in, &fd_out, &fd_err);
    /* Our ends never block: poll() says which one can move, and we move only that one. */
    if (fcntl(fd_in, F_SETFL, O_NONBLOCK) == -1 || fcntl(fd_out, F_SETFL, O_NONBLOCK) == -1 ||
        fcntl(fd_err, F_SETFL, O_NONBLOCK) == -1)
        die_errno("fcntl");
    size_t sent = 0, left = max_output;            /* left: room under the output cap */
    *cut = 0;
    if (len == 0)
        close(fd_in), fd_in = -1;                  /* nothing to send: EOF at once */
    while (!*cut && (fd_in >= 0 || fd_out >= 0 || fd_err >= 0)) {
        struct pollfd p[3] = {                     /* fd -1: poll() skips the entry */
            { .fd = fd_in, .events = POLLOUT },
            { .fd = fd_out, .events = POLLIN },
            { .fd = fd_err, .events = POLLIN },
        };
        if (poll(p, 3, -1) == -1) {
            if (errno == EINTR)
                continue;
            die_errno("poll");
        }
        if (p[0].revents) {                        /* room in the stdin pipe, or it broke */
            ssize_t w = write(fd_in, input + sent, len - sent);
            if (w > 0)
                sent += (size_t)w;
            else if (w == -1 && errno != EAGAIN && errno != EINTR && errno != EPIPE)
                die_errno("write");
            if (sent == len || (w == -1 && errno == EPIPE))
                close(fd_in), fd_in = -1;          /* done, or the child stopped reading */
        }
        int r_out = p[1].revents ? read_some(fd_out, out, &left) : 1;
        int r_err = p[2].revents ? read_some(fd_err, err, &left) : 1;
        if (r_out == 0)
            close(fd_out), fd_out = -1;            /* EOF: the child closed its stdout */
        if (r_err == 0)
            close(fd_err), fd_err = -1;
        if (r_out < 0 || r_err < 0) {
            /* Over the cap: keeping more would let one command take all our memory. SIGKILL
             * ends even a writer that ignores SIGTERM and SIGPIPE; it is still our unreaped
             * child, so the pid cannot have been reused. */
            *cut = 1;
            if (kill(pid, SIGKILL) == -1)
                die_errno("kill");
        }
    }
    if (*cut) {                                    /* anyone still writing now gets EPIPE */
        if (fd_in >= 0)
            close(fd_in);
        if (fd_out >= 0)
            close(fd_out);
        if (fd_err >= 0)
            close(fd_err);
    }
    int status;
    xwaitpid(pid, &status, 0);                     /* both outputs ended: now reap it */
    if (sent < len && !*cut)
        printf("stdin:  the command stopped reading after %zu of %zu bytes\n", sent, len);
    return status;
}
/* [/snippet:communicate] */

/* CRC-32 as zlib computes it, so a reader can check a large transfer byte for byte. */
static uint32_t crc32_of(const char *p, size_t n)
{
    static uint32_t table[256];
    if (!table[1])
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++)
        c = table[(c ^ (unsigned char)p[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

static void report(const char *name, const struct buf *b, int show, const char *prefix)
{
    printf("%s: %zu bytes, crc32 %08x\n", name, b->len, (unsigned)crc32_of(b->data, b->len));
    int text = 1;                      /* print short text; never dump binary unasked */
    for (size_t i = 0; i < b->len && text; i++)
        text = (b->data[i] >= ' ' && b->data[i] < 127) || b->data[i] == '\n' ||
               b->data[i] == '\t';
    if (b->len > 0 && (show || (text && b->len <= 4096))) {   /* (data is NULL when empty) */
        fwrite(b->data, 1, b->len, stdout);
        if (b->data[b->len - 1] != '\n')
            printf("\n");
    }
    if (prefix) {
        char path[4096];
        snprintf(path, sizeof path, "%s.%s", prefix, name);
        FILE *f = fopen(path, "wb");
        if (!f || (b->len > 0 && fwrite(b->data, 1, b->len, f) != b->len) || fclose(f) != 0)
            die_errno(path);
    }
}

static char *slurp(const char *path, size_t *len)
{
    int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
    if (fd == -1)
        die_errno(path);
    struct buf b = { 0 };
    for (;;) {
        buf_reserve(&b, 65536);
        ssize_t r = read(fd, b.data + b.len, b.cap - b.len);
        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1)
            die_errno("read");
        if (r == 0)
            break;
        b.len += (size_t)r;
    }
    if (fd != STDIN_FILENO)
        close(fd);
    *len = b.len;
    return b.data;
}

int main(int argc, char **argv)
{
    prog_init(argv[0]);
    const char *text = NULL, *file = NULL, *prefix = NULL;
    long nbytes = -1, max_output = MAX_OUTPUT_DEFAULT;
    int show = 0, inputs = 0;
    static const struct option opts[] = {
        { "input", required_argument, NULL, 'i' },
        { "input-file", required_argument, NULL, 'f' },
        { "input-bytes", required_argument, NULL, 'b' },
        { "save", required_argument, NULL, 's' },
        { "show", no_argument, NULL, 'S' },
        { "max-output", required_argument, NULL, 'm' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (c) {
        case 'i': text = optarg, inputs++; break;
        case 'f': file = optarg, inputs++; break;
        case 'b': nbytes = parse_long("--input-bytes", optarg, 0, 1000000000), inputs++; break;
        case 's': prefix = optarg; break;
        case 'S': show = 1; break;
        case 'm': max_output = parse_long("--max-output", optarg, 0, 1L << 40); break;
        case 'h': usage_exit(usage_text);
        default:  usage_try_help();     /* getopt has said what was wrong */
        }
    }
    if (inputs > 1)
        usage_error("choose one of --input, --input-file and --input-bytes");

    static char *script[] = { "sh", "-c",
        "sort; echo 'sh: sorted my input; now I exit with status 3' >&2; exit 3", NULL };
    char *const *cmd = optind < argc ? argv + optind : script;
    const char *input = "pear\napple\nfig\n";
    size_t len = strlen(input);
    char *owned = NULL;
    if (text)
        input = text, len = strlen(text);
    else if (file)
        input = owned = slurp(file, &len);
    else if (nbytes >= 0) {
        owned = xmalloc((size_t)nbytes + 1);
        uint64_t x = 88172645463325252u;           /* xorshift64: bytes that are not zeros */
        for (long i = 0; i < nbytes; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            owned[i] = (char)(x >> 56);
        }
        input = owned, len = (size_t)nbytes;
    }

    /* Writing to a pipe whose reader has gone raises SIGPIPE, which would kill us; we want
     * the EPIPE error instead, and to go on reading what the child did say. */
    signal(SIGPIPE, SIG_IGN);
    printf("running:");
    for (char *const *a = cmd; *a; a++)
        printf(" %s", *a);
    printf("\nstdin:  %zu bytes, crc32 %08x\n", len, (unsigned)crc32_of(input, len));
    struct buf out = { 0 }, err = { 0 };
    int cut;
    int status = communicate(cmd, input, len, (size_t)max_output, &out, &err, &cut);
    report("stdout", &out, show, prefix);
    report("stderr", &err, show, prefix);
    char how[128];
    printf("status: %s\n", describe_status(status, how, sizeof how));
    free(out.data);
    free(err.data);
    free(owned);
    if (cut) {
        fprintf(stderr, "%s: the command wrote more than %ld bytes (--max-output): "
                "stopped reading, sent it SIGKILL and reaped it\n", prog_name, max_output);
        return 3;
    }
    return EXIT_SUCCESS;
}
