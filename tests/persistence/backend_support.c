/* tests/persistence/backend_support.c — see backend_support.h. */
#include "backend_support.h"

#include <ftw.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

const char *bk_kind;
backend *bk;
char bk_err[BACKEND_ERR_MAX];

static void *store;            /* memory */
static char dir[256];          /* sqlite: the temporary directory */
static char path[300];         /* sqlite: the database file in it */
static const char *conninfo;   /* postgres */
static char *ids[64];          /* bk_id's strings, freed at teardown */
static size_t nids;

int bk_is(const char *kind)
{
    return strcmp(bk_kind, kind) == 0;
}

const char *bk_sqlite_path(void)
{
    return path;
}

const char *bk_conninfo(void)
{
    return conninfo;
}

int bk_open(backend **out)
{
    bk_err[0] = 0;
    if (bk_is("memory"))
        return backend_memory_open(store, out, bk_err);
    if (bk_is("sqlite"))
        return backend_sqlite_open(&(sqlite_opts){.path = path, .sync_full = 1}, out, bk_err);
    return backend_pg_open(conninfo, out, bk_err);
}

void bk_setup(void)
{
    bk_kind = getenv("TROUPE_TEST_BACKEND");
    if (!bk_kind || !*bk_kind)
        bk_kind = "memory";
    if (bk_is("memory"))
        cr_assert_not_null(store = backend_memory_store_new());
    else if (bk_is("sqlite")) {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/troupe-sqlite.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        cr_assert_not_null(mkdtemp(dir), "mkdtemp %s: %s", dir, strerror(errno));
        snprintf(path, sizeof path, "%s/journal.db", dir);
    } else if (bk_is("postgres")) {
        conninfo = getenv("TROUPE_PG_CONNINFO");
        cr_assert(conninfo && *conninfo, "TROUPE_PG_CONNINFO is not set (run_pg.sh sets it)");
    } else
        cr_assert_fail("TROUPE_TEST_BACKEND=%s: not memory, sqlite or postgres", bk_kind);
    cr_assert_eq(bk_open(&bk), 0, "open %s: %s", bk_kind, bk_err);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(p);
}

void bk_teardown(void)
{
    if (bk)
        bk->ops->close(bk);
    bk = NULL;
    backend_memory_store_free(store);
    store = NULL;
    if (dir[0])
        nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    dir[0] = 0; /* idempotent: a skipped test runs it itself */
    for (size_t i = 0; i < nids; i++)
        free(ids[i]);
    nids = 0;
}

const char *bk_id(const char *name)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char buf[TROUPE_PERSIST_ID_MAX + 1];
    snprintf(buf, sizeof buf, "%s-%ld-%lld", name, (long)getpid(),
             (long long)ts.tv_sec * 1000000000ll + ts.tv_nsec);
    cr_assert_lt(nids, sizeof ids / sizeof ids[0]);
    cr_assert_not_null(ids[nids] = strdup(buf));
    return ids[nids++];
}

/* ---- raw SQL on the test's own connection ------------------------------------- */

static void sql_sqlite(const char *sql, const char *pid, uint64_t seq)
{
    sqlite3 *db;
    sqlite3_stmt *q;
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, HANG_LIMIT_S * 1000);
    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK, "%s: %s", sql,
                 sqlite3_errmsg(db));
    if (sqlite3_bind_parameter_count(q) >= 1)
        sqlite3_bind_text(q, 1, pid, -1, SQLITE_STATIC);
    if (sqlite3_bind_parameter_count(q) >= 2)
        sqlite3_bind_int64(q, 2, (sqlite3_int64)seq);
    int rc = sqlite3_step(q);
    cr_assert(rc == SQLITE_DONE || rc == SQLITE_ROW, "%s: %s", sql, sqlite3_errmsg(db));
    sqlite3_finalize(q);
    cr_assert_eq(sqlite3_close(db), SQLITE_OK);
}

static void sql_pg(const char *sql, const char *pid, uint64_t seq)
{
    PGconn *c = PQconnectdb(conninfo);
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
    char s[32];
    snprintf(s, sizeof s, "%llu", (unsigned long long)seq);
    const char *vals[2] = {pid, s};
    int n = strstr(sql, "$2") ? 2 : strstr(sql, "$1") ? 1 : 0;
    PGresult *r = PQexecParams(c, sql, n, NULL, vals, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    cr_assert(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", sql,
              PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
}

void bk_sql(const char *sql, const char *pid, uint64_t seq)
{
    if (bk_is("sqlite"))
        sql_sqlite(sql, pid, seq);
    else if (bk_is("postgres"))
        sql_pg(sql, pid, seq);
    else
        cr_assert_fail("bk_sql on the %s backend", bk_kind);
}

/* A bit flipped in the stored bytes: what bit rot on a disk does. SQLite
 * has no set_byte: the blob becomes zeros (payloads are never all zero). */
void bk_corrupt_event(const char *pid, uint64_t seq)
{
    if (bk_is("memory"))
        cr_assert_eq(backend_memory_corrupt(store, pid, seq), 0);
    else if (bk_is("sqlite"))
        bk_sql("UPDATE events SET data = zeroblob(length(data)) WHERE pid = ?1 AND seq = ?2",
               pid, seq);
    else
        bk_sql("UPDATE troupe_events SET data = set_byte(data, 0, get_byte(data, 0) # 1)"
               " WHERE pid = $1 AND seq = $2", pid, seq);
}

void bk_corrupt_snapshot(const char *pid)
{
    if (bk_is("memory"))
        cr_assert_eq(backend_memory_corrupt_snapshot(store, pid), 0);
    else if (bk_is("sqlite"))
        bk_sql("UPDATE snapshots SET data = zeroblob(length(data)) WHERE pid = ?1", pid, 0);
    else
        bk_sql("UPDATE troupe_snapshots SET data = set_byte(data, 0, get_byte(data, 0) # 1)"
               " WHERE pid = $1", pid, 0);
}

/* ---- events and what reads hand back ------------------------------------------- */

size_t bk_payload(const char *pid, uint64_t seq, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "event %llu of %s", (unsigned long long)seq, pid);
    return (size_t)n < cap ? (size_t)n : cap - 1;
}

int bk_append_range(backend *b, const char *pid, uint64_t from, uint64_t to)
{
    size_t n = (size_t)(to - from + 1);
    pevent *ev = calloc(n, sizeof *ev);
    char (*buf)[200] = calloc(n, sizeof *buf);
    cr_assert(ev && buf);
    for (size_t i = 0; i < n; i++) {
        ev[i] = (pevent){.pid = pid, .seq = from + i, .schema = 1, .data = buf[i]};
        ev[i].len = bk_payload(pid, from + i, buf[i], sizeof buf[i]);
    }
    bk_err[0] = 0;
    int rc = b->ops->append(b, ev, n, bk_err);
    free(ev);
    free(buf);
    return rc;
}

int bk_collect(void *ud, uint64_t seq, uint32_t schema, const void *data, size_t len)
{
    got *g = ud;
    if (g->stop_at && seq == g->stop_at)
        return -42;
    if (g->n >= sizeof g->seq / sizeof g->seq[0] || !data)
        return -43;
    g->seq[g->n] = seq;
    g->schema[g->n] = schema;
    g->len[g->n] = len;
    g->hash[g->n++] = tt_fnv(data, len);
    return 0;
}

int bk_read(backend *b, const char *pid, uint64_t after, got *g)
{
    uint64_t stop = g->stop_at;
    memset(g, 0, sizeof *g);
    g->stop_at = stop;
    bk_err[0] = 0;
    return b->ops->read(b, pid, after, bk_collect, g, bk_err);
}

void bk_expect_range(const got *g, const char *pid, uint64_t from, uint64_t to)
{
    cr_assert_eq(g->n, to >= from ? to - from + 1 : 0, "%s: %zu events read", pid, g->n);
    for (size_t i = 0; i < g->n; i++) {
        char buf[200];
        size_t len = bk_payload(pid, from + i, buf, sizeof buf);
        cr_assert_eq(g->seq[i], from + i, "%s: event %zu has seq %llu", pid, i,
                     (unsigned long long)g->seq[i]);
        cr_assert_eq(g->len[i], len);
        cr_assert_eq(g->hash[i], tt_fnv(buf, len), "%s seq %llu: other bytes", pid,
                     (unsigned long long)g->seq[i]);
    }
}

uint64_t bk_last(backend *b, const char *pid)
{
    uint64_t seq = 12345;
    cr_assert_eq(b->ops->last_seq(b, pid, &seq, bk_err), 0, "last_seq: %s", bk_err);
    return seq;
}
