/* tests/fuzz/fuzz_journal.c — journal rows and snapshots as recovery reads
 * them back from storage: the SQLite backend's decoder (persistence/
 * sqlite_rows.c: column types, seq and schema ranges, the CRC-32C of
 * persistence/checksum.c) over tables whose rows the input writes, any
 * type in any column, checksums right or wrong. What a damaged or forged
 * file can hold, the reader must refuse with TROUPE_ECORRUPT (or deliver
 * intact), never crash or hand out a row that fails its check.
 *
 * Checked: every event delivered has seq > after, in increasing order,
 * and is byte for byte a row the input stored with the right checksum;
 * when every stored row of the id is well-formed and no seq is stored
 * twice, the read delivers them all (the roundtrip), and the snapshot
 * likewise. crc32c itself: split at any point, the continued CRC equals
 * the whole one, and it matches a bitwise reference.
 *
 * Input: after u8, then rows until it ends, each:
 *   flags u8 (bit 0 snapshot, bit 1 the other pid, bit 2 checksum right),
 *   types u8 (2 bits per column seq, schema, data, crc: integer, blob, text,
 *   real), seq i64, schema i64, data len u8 + bytes, crc i64. */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "persistence/backend.h"
#include "persistence/checksum.h"
#include "persistence/sqlite_int.h"

#define ROWS_MAX 64
static const char *const pids[2] = {"fuzz-actor", "other"};

typedef struct row {
    int snap, pid, good; /* good: well-typed, seq >= 1, schema in range, right crc */
    int64_t seq, schema;
    const uint8_t *data;
    size_t len;
    /* what the table holds after SQLite's type affinity, when every column
     * ends up of the type the reader wants (ints: seq, schema, crc; blob) */
    int stored_ok;
    int64_t seq_st, schema_st, crc_st;
} row;

typedef struct model {
    row r[ROWS_MAX];
    int n;
    uint64_t after;
    uint64_t last; /* last seq delivered */
    int delivered;
} model;

static backend *be;
static sqlite3 *db;

static char path[] = "/tmp/troupe-fuzz-journal-XXXXXX";

/* At exit (libFuzzer's time is up): the database and its WAL files go. */
static void cleanup(void)
{
    be->ops->close(be);
    char p[sizeof path + 8];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path), unlink(p);
    snprintf(p, sizeof p, "%s-shm", path), unlink(p);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    int fd = mkstemp(path);
    if (fd < 0)
        abort();
    close(fd);
    sqlite_opts o = {.path = path, .sync_full = 0};
    char err[BACKEND_ERR_MAX];
    if (backend_sqlite_open(&o, &be, err) < 0) {
        fprintf(stderr, "fuzz-journal: %s\n", err);
        abort();
    }
    atexit(cleanup);
    db = ((sqb *)be)->db;
    sqlite3_exec(db, "PRAGMA synchronous=OFF", NULL, NULL, NULL);
    return 0;
}

static int take(const uint8_t **p, size_t *n, void *out, size_t k)
{
    if (*n < k)
        return 0;
    memcpy(out, *p, k);
    *p += k, *n -= k;
    return 1;
}

/* Bind column i as the type the input chose (0 integer, 1 blob, 2 text,
 * 3 real): a damaged file may hold any of them. */
static void bind_as(sqlite3_stmt *q, int i, int type, int64_t v, const uint8_t *b, size_t len)
{
    char t[24];
    switch (type) {
    case 0: sqlite3_bind_int64(q, i, v); break;
    case 1: b ? sqlite3_bind_blob(q, i, b, (int)len, SQLITE_STATIC)
              : sqlite3_bind_blob(q, i, &v, sizeof v, SQLITE_STATIC); break;
    case 2: snprintf(t, sizeof t, "%lld", (long long)v);
            b ? sqlite3_bind_text(q, i, (const char *)b, (int)len, SQLITE_STATIC)
              : sqlite3_bind_text(q, i, t, -1, SQLITE_TRANSIENT); break;
    default: sqlite3_bind_double(q, i, (double)v); break;
    }
}

static int parse_row(const uint8_t **p, size_t *n, row *r, uint8_t *types, int64_t *crc)
{
    uint8_t flags, len = 0;
    if (!take(p, n, &flags, 1) || !take(p, n, types, 1) || !take(p, n, &r->seq, 8) ||
        !take(p, n, &r->schema, 8) || !take(p, n, &len, 1))
        return 0;
    r->len = len < *n ? len : *n;
    r->data = *p;
    *p += r->len, *n -= r->len;
    take(p, n, crc, 8);
    r->snap = flags & 1, r->pid = flags >> 1 & 1;
    int typed = *types == 0x10; /* integer, integer, blob, integer */
    int ranged = r->seq > 0 && r->schema >= 0 && r->schema <= UINT32_MAX;
    if (flags & 4 && ranged)
        *crc = backend_crc(pids[r->pid], (uint64_t)r->seq, (uint32_t)r->schema, r->data, r->len);
    r->good = typed && ranged && (flags & 4);
    return 1;
}

/* The integer an INTEGER-affinity column holds for a value bound as
 * `type`; 0 when it stays a blob or a real (the reader refuses those). */
static int int_stored(int type, int64_t v, int64_t *out)
{
    if (type == 0 || type == 2) /* an integer, or its decimal text: converted */
        return *out = v, 1;
    /* a real with an integral value strictly inside the int64 range, as
     * SQLite's sqlite3VdbeIntegerAffinity decides (d is integral: it came
     * from an int64); the bound used to be 9.2e18, and a row at 9.2229e18
     * that SQLite stored as an integer was then not "stored" for the model */
    double d = (double)v;
    if (type == 3 && d > -9223372036854775808.0 && d < 9223372036854775808.0)
        return *out = (int64_t)d, 1;
    return 0;
}

static void stored_form(row *r, uint8_t types, int64_t crc)
{
    r->stored_ok = int_stored(types & 3, r->seq, &r->seq_st) &&
                   int_stored(types >> 2 & 3, r->schema, &r->schema_st) &&
                   (types >> 4 & 3) == 1 && int_stored(types >> 6 & 3, crc, &r->crc_st);
}

/* Store the rows; a row the table refuses (a duplicate snapshot key) is
 * dropped from the model. The events table has no key: two event rows of
 * one seq are both stored, and the reader must refuse the second. */
static void store(model *m, const uint8_t *p, size_t n)
{
    sqlite3_exec(db, "BEGIN; DELETE FROM events; DELETE FROM snapshots;", NULL, NULL, NULL);
    sqlite3_stmt *ins[2];
    sqlite3_prepare_v2(db, "INSERT INTO events VALUES(?1, ?2, ?3, ?4, ?5)", -1, &ins[0], NULL);
    sqlite3_prepare_v2(db, "INSERT INTO snapshots VALUES(?1, ?2, ?3, ?4, ?5)", -1, &ins[1], NULL);
    uint8_t types;
    int64_t crc = 0;
    while (m->n < ROWS_MAX && parse_row(&p, &n, &m->r[m->n], &types, &crc)) {
        row *r = &m->r[m->n];
        sqlite3_stmt *q = ins[r->snap];
        sqlite3_bind_text(q, 1, pids[r->pid], -1, SQLITE_STATIC);
        bind_as(q, 2, types & 3, r->seq, NULL, 0);
        bind_as(q, 3, types >> 2 & 3, r->schema, NULL, 0);
        bind_as(q, 4, types >> 4 & 3, 0, r->data, r->len);
        bind_as(q, 5, types >> 6 & 3, crc, NULL, 0);
        stored_form(r, types, crc);
        m->n += sqlite3_step(q) == SQLITE_DONE;
        sqlite3_reset(q);
        sqlite3_clear_bindings(q);
    }
    sqlite3_finalize(ins[0]);
    sqlite3_finalize(ins[1]);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
}

static void fail(const char *what, int rc, const char *err)
{
    fprintf(stderr, "fuzz-journal: %s: rc %d (%s): %s\n", what, rc, troupe_strerror(rc), err);
    abort();
}

/* A row delivered must be one stored, intact: same id and table, seq,
 * schema and bytes, and a stored checksum that is theirs. */
static int stored(const model *m, int snap, uint64_t seq, uint32_t schema, const void *data,
                  size_t len)
{
    for (int i = 0; i < m->n; i++) {
        const row *r = &m->r[i];
        if (r->snap == snap && r->pid == 0 && r->stored_ok && (uint64_t)r->seq_st == seq &&
            (uint64_t)r->schema_st == schema && r->len == len &&
            (len == 0 || memcmp(r->data, data, len) == 0) &&
            (uint32_t)backend_crc(pids[0], seq, schema, data, len) == (uint64_t)r->crc_st)
            return 1;
    }
    return 0;
}

static int on_event(void *ud, uint64_t seq, uint32_t schema, const void *data, size_t len)
{
    model *m = ud;
    if (seq <= m->after || seq < 1 || (m->delivered && seq <= m->last) ||
        !stored(m, 0, seq, schema, data, len))
        abort(); /* out of order, or a row that is not what was stored */
    m->last = seq;
    m->delivered++;
    return 0;
}

/* Does an earlier event row of pid 0 have row i's seq? */
static int seq_twice(const model *m, int i)
{
    for (int k = 0; k < i; k++)
        if (!m->r[k].snap && m->r[k].pid == 0 && m->r[k].seq == m->r[i].seq)
            return 1;
    return 0;
}

/* Are all of pid 0's rows of a table well-formed? How many are there past
 * `after`, and which has the highest seq? */
static int all_good(const model *m, int snap, uint64_t after, int *count, const row **top)
{
    int good = 1;
    *count = 0, *top = NULL;
    for (int i = 0; i < m->n; i++) {
        const row *r = &m->r[i];
        if (r->snap != snap || r->pid != 0)
            continue;
        good &= r->good && !(snap == 0 && seq_twice(m, i));
        if ((uint64_t)r->seq > after)
            ++*count;
        if (!*top || r->seq > (*top)->seq)
            *top = r;
    }
    return good;
}

static void check_events(model *m)
{
    char err[BACKEND_ERR_MAX] = "";
    int rc = be->ops->read(be, pids[0], m->after, on_event, m, err);
    int count;
    const row *top;
    if (rc < 0 && (rc != TROUPE_ECORRUPT || !err[0]))
        fail("read", rc, err);
    if (all_good(m, 0, m->after, &count, &top) && (rc != 0 || m->delivered != count))
        fail("read: well-formed rows not all read back", rc, err);
}

static void check_snapshot(model *m)
{
    char err[BACKEND_ERR_MAX] = "";
    int found = 0;
    uint64_t seq = 0;
    uint32_t schema = 0;
    void *data = NULL;
    size_t len = 0;
    int rc = be->ops->load_snapshot(be, pids[0], &found, &seq, &schema, &data, &len, err);
    if (rc < 0 && (rc != TROUPE_ECORRUPT || !err[0]))
        fail("load_snapshot", rc, err);
    if (rc == 0 && found && !stored(m, 1, seq, schema, data, len))
        abort();
    int count;
    const row *top;
    if (all_good(m, 1, 0, &count, &top) &&
        (rc != 0 || found != (count > 0) || (found && (uint64_t)top->seq != seq)))
        fail("load_snapshot: the well-formed latest snapshot not read back", rc, err);
    free(data);
}

/* crc32c over data: continued at any split, and against a bitwise one. */
static void check_crc(const uint8_t *data, size_t size)
{
    uint32_t whole = crc32c(0, data, size);
    size_t cut = size ? data[0] % (size + 1) : 0;
    if (crc32c(crc32c(0, data, cut), data + cut, size - cut) != whole)
        abort();
    uint32_t c = ~0u;
    for (size_t i = 0; i < size; i++) {
        c ^= data[i];
        for (int k = 0; k < 8; k++)
            c = c >> 1 ^ (0x82F63B78u & -(c & 1));
    }
    if (~c != whole)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static model m;
    check_crc(data, size);
    if (size < 1)
        return 0;
    m.n = 0, m.after = data[0] % 4, m.last = 0, m.delivered = 0;
    store(&m, data + 1, size - 1);
    check_events(&m);
    check_snapshot(&m);
    return 0;
}
