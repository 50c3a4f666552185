/* test_shmring.c - the shared-memory ring and its doorbell, driven where a pool rarely goes
 *
 * The ring: empty and full are told apart (room 0 when cap records wait, ready 0 when none
 * does), put fails when full, records come out in order across many wrap-arounds, with
 * positions far beyond cap; a consumer in another process (fork) reads every record once,
 * in order, while the producer keeps the ring full. The doorbell: ringing a consumer that
 * did not announce a sleep makes no system call; a consumer that armed and then found work
 * is not woken for nothing; a bounded wait with nobody to ring ends with ETIMEDOUT.
 */
#include "shmring.h"
#include "shared.h"
#include "unit.h"

#include <errno.h>
#include <string.h>

enum { CAP = 8 };

struct rec { uint64_t n, check; };

static void test_full_and_empty(void)
{
    struct shmring *r = shared_map(shmring_bytes(CAP, sizeof(struct rec)));
    shmring_init(r, CAP, sizeof(struct rec));
    EXPECT(shmring_ready(r) == 0 && shmring_room(r) == CAP);
    for (uint64_t i = 0; i < CAP; i++)
        EXPECT(shmring_put(r, &(struct rec){ i, ~i }) == 0);
    EXPECT(shmring_room(r) == 0 && shmring_ready(r) == CAP);
    EXPECT(shmring_put(r, &(struct rec){ 99, 0 }) == -1);     /* full: refused */
    struct rec got;
    memcpy(&got, shmring_cell(r, shmring_head(r)), sizeof got);
    EXPECT(got.n == 0 && got.check == ~0ull);
    shmring_consume(r, 1);
    EXPECT(shmring_room(r) == 1 && shmring_ready(r) == CAP - 1);
    shmring_consume(r, CAP - 1);
    EXPECT(shmring_ready(r) == 0 && shmring_room(r) == CAP);
    shared_unmap(r, shmring_bytes(CAP, sizeof(struct rec)));
}

/* 1000 x cap records through in uneven steps: every one in order, positions past cap. */
static void test_wrap_around(void)
{
    struct shmring *r = shared_map(shmring_bytes(CAP, sizeof(struct rec)));
    shmring_init(r, CAP, sizeof(struct rec));
    uint64_t sent = 0, seen = 0, bad = 0;
    while (seen < 1000 * CAP) {
        for (int k = 0; k < (int)(sent % 5) + 1; k++)
            if (shmring_put(r, &(struct rec){ sent, ~sent }) == 0)
                sent++;
        uint64_t n = shmring_ready(r);
        for (uint64_t i = 0; i < n && i < 3; i++, seen++) {
            const struct rec *c = shmring_cell(r, shmring_head(r));
            bad += c->n != seen || c->check != ~seen;
            shmring_consume(r, 1);
        }
    }
    EXPECT(bad == 0);
    EXPECT(atomic_load(&r->head) == seen && seen > (uint64_t)100 * CAP);
    shared_unmap(r, shmring_bytes(CAP, sizeof(struct rec)));
}

/* A consumer in a child process, asleep on the doorbell whenever the ring is empty; the
 * parent puts N records, ringing after each. The child checks order and exits 0 only if
 * it saw 0 .. N-1, each once. */
static void test_across_fork(void)
{
    enum { N = 200000 };
    size_t bytes = sizeof(struct doorbell) + shmring_bytes(CAP, sizeof(struct rec));
    char *m = shared_map(bytes);
    struct doorbell *bell = (struct doorbell *)m;
    struct shmring *r = (struct shmring *)(m + sizeof *bell);
    shmring_init(r, CAP, sizeof(struct rec));
    pid_t pid = xfork();
    if (pid == 0) {
        uint64_t next = 0;
        while (next < N) {
            uint64_t n = shmring_ready(r);
            if (n == 0) {
                unsigned seq = doorbell_arm(bell);
                if (shmring_ready_sc(r) == 0)
                    doorbell_wait(bell, seq, 1000000000);   /* 1 s: a hang guard */
                else
                    doorbell_disarm(bell);
                continue;
            }
            for (uint64_t i = 0; i < n; i++, next++) {
                const struct rec *c = shmring_cell(r, shmring_head(r));
                if (c->n != next || c->check != ~next)
                    _exit(1);
                shmring_consume(r, 1);
            }
        }
        _exit(0);
    }
    for (uint64_t i = 0; i < N;) {
        if (shmring_put(r, &(struct rec){ i, ~i }) == 0) {
            doorbell_ring(bell);
            i++;
        }
    }
    int status;
    xwaitpid(pid, &status, 0);
    EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    shared_unmap(m, bytes);
}

static void test_doorbell(void)
{
    struct doorbell *d = shared_map(sizeof *d);
    EXPECT(doorbell_ring(d) == 0);                   /* nobody sleeps: no system call */
    unsigned seq = doorbell_arm(d);
    doorbell_disarm(d);                              /* found work after all */
    EXPECT(doorbell_ring(d) == 0 && atomic_load(&d->seq) == seq);
    seq = doorbell_arm(d);
    EXPECT(doorbell_wait(d, seq, 1000000) == ETIMEDOUT);   /* 1 ms, nobody rings */
    EXPECT(atomic_load(&d->sleeping) == 0);
    seq = doorbell_arm(d);
    EXPECT(doorbell_ring(d) == 1);                   /* announced: the wake is made */
    EXPECT(doorbell_wait(d, seq, 1000000000) == 0);  /* and the wait returns at once */
    /* Records published before the sleeper runs again: one FUTEX_WAKE for all of them,
     * from whichever producer looked first (here the two-step form, as a worker rings). */
    seq = doorbell_arm(d);
    EXPECT(doorbell_ring(d) == 1);
    EXPECT(doorbell_ring(d) == 0 && doorbell_asleep(d) == 0);
    EXPECT(doorbell_wake(d) == 0 && atomic_load(&d->seq) == seq + 1);
    EXPECT(doorbell_wait(d, seq, 1000000000) == 0);  /* still returns at once */
    shared_unmap(d, sizeof *d);
}

int main(void)
{
    test_full_and_empty();
    test_wrap_around();
    test_across_fork();
    test_doorbell();
    return unit_done();
}
