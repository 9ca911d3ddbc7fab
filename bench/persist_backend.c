/* bench/persist_backend.c — the storage backends on their own, below the
 * journal writer (persistence/backend.h):
 *
 *   persist_sqlite_full_b100, _b1000
 *                  append throughput (events/s) on SQLite, synchronous
 *                  FULL (an fsync per commit), batches of 100 and 1,000
 *                  64-byte events from 100 persistence ids — what group
 *                  commit hands the backend when 100 actors persist at once
 *   persist_sqlite_normal_b100
 *                  the same with synchronous NORMAL (no fsync per commit)
 *   persist_sqlite_read_1m
 *                  one id with 1 M events: the time to read them all back
 *                  in order, each checksum verified (s), through a fresh
 *                  connection (the replay of recovery, without apply);
 *                  replay_time is the first read after the writes,
 *                  replay_time_again a second one (PostgreSQL's first
 *                  read of fresh rows also sets their hint bits)
 *   persist_pg_b100, _b1000, persist_pg_read_1m
 *                  the same on PostgreSQL when TROUPE_PG_CONNINFO is set
 *
 * The SQLite file goes under $TROUPE_BENCH_DIR, else the current directory
 * (not /tmp: a tmpfs would make fsync free), and is removed afterwards.
 * Checks: every read returns exactly the events written, in seq order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "persistence/backend.h"

#define IDS 100
#define EVENT_BYTES 64
#define BASE_EVENTS 200000ull   /* per throughput case, at scale 1 */
#define BASE_REPLAY 1000000ull  /* events of the replay case */

static char err[BACKEND_ERR_MAX];

static void must(int rc, const char *what)
{
    if (rc < 0)
        bench_fail("%s: %s (%s)", what, troupe_strerror(rc), err);
}

/* Ids unique to this run: a PostgreSQL database outlives it. */
static void make_ids(char ids[IDS][48], const char *tag)
{
    for (int i = 0; i < IDS; i++)
        snprintf(ids[i], sizeof ids[i], "%s-%ld-%ld-%d", tag, (long)getpid(), (long)time(NULL), i);
}

/* Append `total` events in batches of `batch`, round robin over the ids;
 * events/s. next[] holds each id's next seq. */
static double append_rate(backend *b, char ids[IDS][48], uint64_t *next, uint64_t total,
                          size_t batch)
{
    pevent *ev = calloc(batch, sizeof *ev);
    static unsigned char payload[EVENT_BYTES];
    if (!ev)
        bench_fail("out of memory");
    memset(payload, 0xab, sizeof payload);
    uint64_t done = 0, t0 = bench_now_ns();
    while (done < total) {
        for (size_t i = 0; i < batch; i++) {
            size_t id = (done + i) % IDS;
            ev[i] = (pevent){.pid = ids[id], .seq = next[id]++, .schema = 1, .data = payload,
                             .len = sizeof payload};
        }
        must(b->ops->append(b, ev, batch, err), "append");
        done += batch;
    }
    double s = (double)(bench_now_ns() - t0) / 1e9;
    free(ev);
    return (double)done / s;
}

static void case_append(const char *name, backend *b, uint64_t total, size_t batch)
{
    char ids[IDS][48];
    uint64_t next[IDS];
    make_ids(ids, name);
    for (int i = 0; i < IDS; i++)
        next[i] = 1;
    total = (total + batch - 1) / batch * batch;
    bench_summary(name, "append_throughput", append_rate(b, ids, next, total, batch), "events/s");
    for (int i = 0; i < IDS; i++) /* keep a shared database small */
        must(b->ops->delete_upto(b, ids[i], UINT64_MAX, err), "delete_upto");
}

typedef struct replay {
    uint64_t n, expect, bytes;
} replay;

static int on_event(void *ud, uint64_t seq, uint32_t schema, const void *data, size_t len)
{
    replay *r = ud;
    (void)schema, (void)data;
    if (seq != r->expect + 1)
        return -1;
    r->expect = seq;
    r->n++;
    r->bytes += len;
    return 0;
}

/* Read pid's n events, checked; seconds. */
static double read_all(backend *r, const char *pid, uint64_t n, const char *name)
{
    replay rp = {0};
    uint64_t t0 = bench_now_ns();
    must(r->ops->read(r, pid, 0, on_event, &rp, err), "read");
    double s = (double)(bench_now_ns() - t0) / 1e9;
    if (rp.n != n || rp.bytes != n * EVENT_BYTES)
        bench_fail("%s: read %llu events (%llu bytes), wrote %llu", name,
                   (unsigned long long)rp.n, (unsigned long long)rp.bytes, (unsigned long long)n);
    return s;
}

/* Write n events of one id (batches of 10,000), then read them back
 * through a second connection; seconds. */
static void case_replay(const char *name, backend *w, backend *(*reopen)(void), uint64_t n)
{
    char ids[IDS][48];
    uint64_t next[IDS] = {0};
    make_ids(ids, name);
    next[0] = 1;
    static unsigned char payload[EVENT_BYTES];
    static pevent ev[10000];
    while (next[0] <= n) {
        size_t k = 0;
        for (; k < 10000 && next[0] <= n; k++)
            ev[k] = (pevent){.pid = ids[0], .seq = next[0]++, .schema = 1, .data = payload,
                             .len = sizeof payload};
        must(w->ops->append(w, ev, k, err), "append (replay set)");
    }
    backend *r = reopen();
    bench_summary(name, "replay_time", read_all(r, ids[0], n, name), "s");
    bench_summary(name, "replay_time_again", read_all(r, ids[0], n, name), "s");
    must(w->ops->delete_upto(w, ids[0], UINT64_MAX, err), "delete_upto");
    r->ops->close(r);
}

/* ---- SQLite -------------------------------------------------------------------- */

static char db_dir[512], db_path[600];

static backend *sqlite_open(int full)
{
    backend *b;
    must(backend_sqlite_open(&(sqlite_opts){.path = db_path, .sync_full = full}, &b, err),
         "sqlite open");
    return b;
}

static backend *sqlite_reopen(void)
{
    return sqlite_open(1);
}

static void sqlite_cleanup(void)
{
    const char *suffix[] = {"", "-wal", "-shm"};
    char p[620];
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s%s", db_path, suffix[i]);
        unlink(p);
    }
    snprintf(p, sizeof p, "%s/journal.id", db_dir); /* the journal's identity (sqlite_meta.c) */
    unlink(p);
    rmdir(db_dir);
}

static void run_sqlite(double scale)
{
    const char *base = getenv("TROUPE_BENCH_DIR");
    snprintf(db_dir, sizeof db_dir, "%s/persist-bench.XXXXXX", base && *base ? base : ".");
    if (!mkdtemp(db_dir))
        bench_fail("mkdtemp %s", db_dir);
    snprintf(db_path, sizeof db_path, "%s/journal.db", db_dir);
    uint64_t total = bench_scaled(BASE_EVENTS, scale, 1000);
    backend *b = sqlite_open(1);
    case_append("persist_sqlite_full_b100", b, total / 4, 100);
    case_append("persist_sqlite_full_b1000", b, total, 1000);
    case_replay("persist_sqlite_read_1m", b, sqlite_reopen, bench_scaled(BASE_REPLAY, scale, 1000));
    b->ops->close(b);
    b = sqlite_open(0);
    case_append("persist_sqlite_normal_b100", b, total, 100);
    b->ops->close(b);
    sqlite_cleanup();
}

/* ---- PostgreSQL ---------------------------------------------------------------- */

static const char *conninfo;

static backend *pg_reopen(void)
{
    backend *b;
    must(backend_pg_open(conninfo, &b, err), "postgres open");
    return b;
}

static void run_pg(double scale)
{
    uint64_t total = bench_scaled(BASE_EVENTS, scale, 1000);
    backend *b = pg_reopen();
    case_append("persist_pg_b100", b, total / 4, 100);
    case_append("persist_pg_b1000", b, total, 1000);
    case_replay("persist_pg_read_1m", b, pg_reopen, bench_scaled(BASE_REPLAY, scale, 1000));
    b->ops->close(b);
}

int main(int argc, char **argv)
{
    double scale = bench_scale(argc, argv);
    run_sqlite(scale);
    conninfo = getenv("TROUPE_PG_CONNINFO");
    if (conninfo && *conninfo)
        run_pg(scale);
    else
        printf("persist_backend: TROUPE_PG_CONNINFO not set, PostgreSQL skipped\n");
    return 0;
}
