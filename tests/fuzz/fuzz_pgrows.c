/* tests/fuzz/fuzz_pgrows.c — the PostgreSQL backend's row decoder
 * (persistence/pg_rows.c: pg_decode, and pg_page_rows over a page) on
 * result sets the input makes with libpq's own constructors
 * (PQmakeEmptyPGresult, PQsetResultAttrs, PQsetvalue): what a damaged or
 * forged table can send back, with no server. Each column NULL or of any
 * length, the checksum right or wrong.
 *
 * pg_decode is static: this file includes pg_rows.c, its exported names
 * renamed so that they do not collide with the library's copy.
 *
 * Checked: a row delivered has the right column sizes, its own checksum
 * and a seq of 1..INT64_MAX (a bigint is signed: a stored seq <= 0 is never
 * one the journal wrote, and the SQLite decoder refuses it too); the rows
 * up to the first bad one are delivered, a well-formed row with its exact
 * bytes; the read stops at a bad one with TROUPE_ECORRUPT and a text. (The
 * order of seqs is the server's ORDER BY, not the decoder's to check.)
 *
 * Input: rows until it ends, each: flags u8 (bit 0 checksum right, bits
 * 1..4 column i NULL), then per column a length u8 and that many bytes
 * (seq int8, schema int4, data bytea, crc int8; binary, network order). */
#include "base/namespace.h"
#undef pg_prepare_all
#undef pg_read
#undef pg_last_seq
#undef pg_save_snapshot
#undef pg_load_snapshot
#undef pg_delete_upto
#undef pg_high_water
#define pg_prepare_all fuzz_copy_pg_prepare_all
#define pg_read fuzz_copy_pg_read
#define pg_last_seq fuzz_copy_pg_last_seq
#define pg_save_snapshot fuzz_copy_pg_save_snapshot
#define pg_load_snapshot fuzz_copy_pg_load_snapshot
#define pg_delete_upto fuzz_copy_pg_delete_upto
#define pg_high_water fuzz_copy_pg_high_water
#include "../../persistence/pg_rows.c"

#include <stdio.h>

#define ROWS_MAX 32
static const char pid[] = "fuzz-actor";

typedef struct prow_in {
    int good, has_crc;
    uint64_t crc_st; /* the crc column's value as stored */
    uint64_t seq;
    uint32_t schema;
    const uint8_t *data;
    size_t len;
} prow_in;

typedef struct page {
    prow_in in[ROWS_MAX];
    int n, delivered;
    uint64_t last;
} page;

static size_t column(const uint8_t **p, size_t *n, const uint8_t **b)
{
    uint8_t len = 0;
    if (*n)
        len = **p, (*p)++, (*n)--;
    size_t k = len < *n ? len : *n;
    *b = *p;
    *p += k, *n -= k;
    return k;
}

/* One row into res at index i; its model into *m. */
static void add_row(PGresult *res, int i, const uint8_t **p, size_t *n, prow_in *m)
{
    uint8_t flags = **p;
    (*p)++, (*n)--;
    const uint8_t *v[4];
    size_t len[4];
    for (int c = 0; c < 4; c++)
        len[c] = column(p, n, &v[c]);
    unsigned char crc[8];
    int sized = len[0] == 8 && len[1] == 4 && len[3] == 8 && !(flags & 0x1E);
    m->seq = sized ? pg_get(v[0], 8) : 0;
    m->schema = sized ? (uint32_t)pg_get(v[1], 4) : 0;
    m->data = v[2], m->len = len[2];
    if (sized && (flags & 1)) {
        pg_put64(crc, backend_crc(pid, m->seq, m->schema, m->data, m->len));
        v[3] = crc;
    }
    m->good = sized && (flags & 1) && m->seq >= 1 && m->seq <= INT64_MAX;
    m->has_crc = len[3] == 8 && !(flags & 0x10);
    m->crc_st = m->has_crc ? pg_get(v[3], 8) : 0;
    for (int c = 0; c < 4; c++)
        if (!PQsetvalue(res, i, c, flags >> (c + 1) & 1 ? NULL : (char *)v[c],
                        flags >> (c + 1) & 1 ? -1 : (int)len[c]))
            abort();
}

static int on_row(void *ud, uint64_t seq, uint32_t schema, const void *data, size_t len)
{
    page *pg = ud;
    const prow_in *m = &pg->in[pg->delivered];
    if (seq < 1 || seq > INT64_MAX || !m->has_crc ||
        backend_crc(pid, seq, schema, data, len) != m->crc_st) {
        fprintf(stderr, "fuzz-pgrows: row %d delivered: seq %llu, crc %s\n", pg->delivered,
                (unsigned long long)seq, m->has_crc ? "stored" : "absent");
        abort();
    }
    if (m->good && (m->seq != seq || m->schema != schema || m->len != len ||
                    (len && memcmp(m->data, data, len) != 0)))
        abort(); /* a well-formed row changed on its way */
    pg->last = seq;
    pg->delivered++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static page pg;
    PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    PGresAttDesc att[4] = {
        {.name = "seq", .format = 1, .typid = OID_INT8, .typlen = 8, .atttypmod = -1},
        {.name = "schema", .format = 1, .typid = OID_INT4, .typlen = 4, .atttypmod = -1},
        {.name = "data", .format = 1, .typid = OID_BYTEA, .typlen = -1, .atttypmod = -1},
        {.name = "crc", .format = 1, .typid = OID_INT8, .typlen = 8, .atttypmod = -1},
    };
    if (!res || !PQsetResultAttrs(res, 4, att))
        abort();
    pg.n = 0, pg.delivered = 0, pg.last = 0;
    while (size > 0 && pg.n < ROWS_MAX) {
        add_row(res, pg.n, &data, &size, &pg.in[pg.n]);
        pg.n++;
    }
    uint64_t after = 0;
    size_t bytes = 0;
    char err[BACKEND_ERR_MAX] = "";
    int rc = pg_page_rows(res, pid, &after, &bytes, on_row, &pg, err);
    int good_prefix = 0;
    while (good_prefix < pg.n && pg.in[good_prefix].good)
        good_prefix++;
    if ((rc < 0 && (rc != TROUPE_ECORRUPT || !err[0])) || (rc == 0 && pg.delivered != pg.n) ||
        pg.delivered < good_prefix || (pg.delivered && after != pg.last))
        abort();
    PQclear(res);
    return 0;
}
