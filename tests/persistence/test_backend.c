/* tests/persistence/test_backend.c — the storage backends' contract
 * (persistence/backend.h), one suite run against each backend: order,
 * batches that are all or nothing, last_seq, snapshots, retention, blobs
 * of every size and byte, checksums that catch a damaged row, bad input.
 * The failure conditions of the real stores are in test_backend_fail.c. */
#include "backend_support.h"

#include "persistence/checksum.h"

TestSuite(backend, .init = bk_setup, .fini = bk_teardown);

static got g; /* big: static, one test per process */

/* ---- CRC-32C -------------------------------------------------------------------- */

Test(backend, crc32c_test_vectors)
{
    cr_assert_eq(crc32c(0, "123456789", 9), 0xE3069283u);
    unsigned char z[32] = {0}, f[32], inc[32];
    memset(f, 0xff, sizeof f);
    for (int i = 0; i < 32; i++)
        inc[i] = (unsigned char)i;
    /* RFC 3720, B.4 (iSCSI) */
    cr_assert_eq(crc32c(0, z, 32), 0x8A9136AAu);
    cr_assert_eq(crc32c(0, f, 32), 0x62A8AB43u);
    cr_assert_eq(crc32c(0, inc, 32), 0x46DD794Eu);
    cr_assert_eq(crc32c(0, NULL, 0), 0);
    /* any split gives the CRC of the whole (the 8-byte steps and the tail) */
    for (size_t cut = 0; cut <= 9; cut++)
        cr_assert_eq(crc32c(crc32c(0, "123456789", cut), "123456789" + cut, 9 - cut), 0xE3069283u);
}

Test(backend, row_checksum_covers_id_seq_schema_and_bytes)
{
    uint32_t c = backend_crc("a", 1, 1, "x", 1);
    cr_assert_neq(c, backend_crc("b", 1, 1, "x", 1));
    cr_assert_neq(c, backend_crc("a", 2, 1, "x", 1));
    cr_assert_neq(c, backend_crc("a", 1, 2, "x", 1));
    cr_assert_neq(c, backend_crc("a", 1, 1, "y", 1));
    cr_assert_eq(c, backend_crc("a", 1, 1, "x", 1));
}

/* ---- append and read ---------------------------------------------------------- */

Test(backend, append_then_read_in_order)
{
    const char *a = bk_id("order-a"), *b = bk_id("order-b");
    pevent ev[6];
    char buf[6][200];
    for (int i = 0; i < 6; i++) { /* a1 b1 a2 b2 a3 b3: ids mixed in one batch */
        const char *pid = i % 2 ? b : a;
        ev[i] = (pevent){.pid = pid, .seq = (uint64_t)i / 2 + 1, .schema = 1, .data = buf[i]};
        ev[i].len = bk_payload(pid, ev[i].seq, buf[i], sizeof buf[i]);
    }
    cr_assert_eq(bk->ops->append(bk, ev, 6, bk_err), 0, "%s", bk_err);
    cr_assert_eq(bk_append_range(bk, a, 4, 50), 0, "%s", bk_err);
    cr_assert_eq(bk_read(bk, a, 0, &g), 0, "%s", bk_err);
    bk_expect_range(&g, a, 1, 50);
    cr_assert_eq(bk_read(bk, b, 0, &g), 0, "%s", bk_err);
    bk_expect_range(&g, b, 1, 3);
    cr_assert_eq(bk_read(bk, bk_id("nobody"), 0, &g), 0);
    cr_assert_eq(g.n, 0);
}

Test(backend, read_after_n)
{
    const char *a = bk_id("after");
    cr_assert_eq(bk_append_range(bk, a, 1, 20), 0, "%s", bk_err);
    cr_assert_eq(bk_read(bk, a, 7, &g), 0, "%s", bk_err);
    bk_expect_range(&g, a, 8, 20);
    cr_assert_eq(bk_read(bk, a, 19, &g), 0);
    bk_expect_range(&g, a, 20, 20);
    cr_assert_eq(bk_read(bk, a, 20, &g), 0);
    cr_assert_eq(g.n, 0);
    cr_assert_eq(bk_read(bk, a, UINT64_MAX, &g), 0);
    cr_assert_eq(g.n, 0);
}

Test(backend, a_negative_return_stops_the_read)
{
    const char *a = bk_id("stop");
    cr_assert_eq(bk_append_range(bk, a, 1, 10), 0, "%s", bk_err);
    g.stop_at = 4;
    cr_assert_eq(bk_read(bk, a, 0, &g), -42);
    bk_expect_range(&g, a, 1, 3);
}

/* Seq numbering is the caller's (backend.h): a gap is stored as given and
 * rows come back in seq order whatever order the batch had. */
Test(backend, gaps_are_stored_as_given_and_read_in_order)
{
    const char *a = bk_id("gaps");
    pevent ev[3] = {{.pid = a, .seq = 9, .data = "9", .len = 1},
                    {.pid = a, .seq = 2, .data = "2", .len = 1},
                    {.pid = a, .seq = 5, .data = "5", .len = 1}};
    cr_assert_eq(bk->ops->append(bk, ev, 3, bk_err), 0, "%s", bk_err);
    cr_assert_eq(bk_read(bk, a, 0, &g), 0, "%s", bk_err);
    cr_assert_eq(g.n, 3);
    cr_assert(g.seq[0] == 2 && g.seq[1] == 5 && g.seq[2] == 9);
    cr_assert_eq(g.hash[1], tt_fnv("5", 1));
    cr_assert_eq(bk_last(bk, a), 9);
}

/* ---- a batch is all or nothing ---------------------------------------------------- */

static void expect_eexist_names(const char *pid, const char *seq)
{
    cr_log_info("%s", bk_err);
    cr_assert(strstr(bk_err, pid), "error text without the id: %s", bk_err);
    cr_assert(strstr(bk_err, seq), "error text without the seq: %s", bk_err);
}

Test(backend, a_duplicate_in_a_batch_stores_none_of_it)
{
    const char *a = bk_id("dup-a"), *b = bk_id("dup-b");
    cr_assert_eq(bk_append_range(bk, a, 1, 3), 0, "%s", bk_err);
    /* b1 b2 (new) a4 (new) a2 (stored already) a5 (new) */
    pevent ev[5] = {{.pid = b, .seq = 1, .data = "b1", .len = 2},
                    {.pid = b, .seq = 2, .data = "b2", .len = 2},
                    {.pid = a, .seq = 4, .data = "a4", .len = 2},
                    {.pid = a, .seq = 2, .data = "a2", .len = 2},
                    {.pid = a, .seq = 5, .data = "a5", .len = 2}};
    cr_assert_eq(bk->ops->append(bk, ev, 5, bk_err), TROUPE_EEXIST, "%s", bk_err);
    expect_eexist_names(a, "2");
    cr_assert_eq(bk_read(bk, a, 0, &g), 0, "%s", bk_err);
    bk_expect_range(&g, a, 1, 3);
    cr_assert_eq(bk_read(bk, b, 0, &g), 0, "%s", bk_err);
    cr_assert_eq(g.n, 0);
    cr_assert_eq(bk_last(bk, b), 0);
    /* the backend is usable after: the same events without the duplicate */
    cr_assert_eq(bk_append_range(bk, a, 4, 5), 0, "%s", bk_err);
    cr_assert_eq(bk_read(bk, a, 0, &g), 0);
    bk_expect_range(&g, a, 1, 5);
}

Test(backend, a_duplicate_within_the_batch_stores_none_of_it)
{
    const char *a = bk_id("dup-self");
    pevent ev[3] = {{.pid = a, .seq = 1, .data = "x", .len = 1},
                    {.pid = a, .seq = 2, .data = "y", .len = 1},
                    {.pid = a, .seq = 1, .data = "z", .len = 1}};
    cr_assert_eq(bk->ops->append(bk, ev, 3, bk_err), TROUPE_EEXIST, "%s", bk_err);
    cr_assert_eq(bk_read(bk, a, 0, &g), 0, "%s", bk_err);
    cr_assert_eq(g.n, 0);
}

Test(backend, an_invalid_event_in_a_batch_stores_none_of_it)
{
    const char *a = bk_id("inval");
    pevent ev[3] = {{.pid = a, .seq = 1, .data = "x", .len = 1},
                    {.pid = a, .seq = 2, .data = NULL, .len = 3},
                    {.pid = a, .seq = 3, .data = "z", .len = 1}};
    cr_assert_eq(bk->ops->append(bk, ev, 3, bk_err), TROUPE_EINVAL);
    cr_assert(strstr(bk_err, a) && strstr(bk_err, "seq 2"), "%s", bk_err);
    cr_assert_eq(bk_read(bk, a, 0, &g), 0);
    cr_assert_eq(g.n, 0);
    cr_assert_eq(bk->ops->append(bk, ev, 0, bk_err), 0); /* an empty batch */
}

/* ---- last_seq, snapshots, retention ------------------------------------------------ */

Test(backend, last_seq)
{
    const char *a = bk_id("last"), *b = bk_id("last-other");
    cr_assert_eq(bk_last(bk, a), 0);
    cr_assert_eq(bk_append_range(bk, a, 1, 7), 0, "%s", bk_err);
    cr_assert_eq(bk_append_range(bk, b, 1, 30), 0, "%s", bk_err);
    cr_assert_eq(bk_last(bk, a), 7);
    cr_assert_eq(bk_append_range(bk, a, 8, 8), 0, "%s", bk_err);
    cr_assert_eq(bk_last(bk, a), 8);
    cr_assert_eq(bk_last(bk, b), 30);
}

static void snap_save(const char *pid, uint64_t seq, uint32_t schema, const char *data)
{
    cr_assert_eq(bk->ops->save_snapshot(bk, pid, seq, schema, data, strlen(data), bk_err), 0,
                 "%s", bk_err);
}

static void snap_expect(const char *pid, uint64_t seq, uint32_t schema, const char *data)
{
    int found = -1;
    uint64_t s = 0;
    uint32_t v = 0;
    void *d = NULL;
    size_t len = 99;
    cr_assert_eq(bk->ops->load_snapshot(bk, pid, &found, &s, &v, &d, &len, bk_err), 0, "%s",
                 bk_err);
    cr_assert_eq(found, 1);
    cr_assert_not_null(d);
    cr_assert(s == seq && v == schema && len == strlen(data), "seq %llu schema %u len %zu",
              (unsigned long long)s, v, len);
    cr_assert_eq(memcmp(d, data, len), 0);
    free(d);
}

Test(backend, snapshots_latest_wins)
{
    const char *a = bk_id("snap");
    int found = -1;
    uint64_t s;
    uint32_t v;
    void *d = NULL;
    size_t len;
    cr_assert_eq(bk->ops->load_snapshot(bk, a, &found, &s, &v, &d, &len, bk_err), 0, "%s", bk_err);
    cr_assert_eq(found, 0);
    snap_save(a, 10, 1, "ten");
    snap_expect(a, 10, 1, "ten");
    snap_save(a, 20, 2, "twenty");
    snap_save(a, 15, 1, "fifteen"); /* older than the latest: load ignores it */
    snap_expect(a, 20, 2, "twenty");
    snap_save(a, 20, 3, "twenty again"); /* the same seq: replaced */
    snap_expect(a, 20, 3, "twenty again");
    snap_save(a, 21, 3, "");
    snap_expect(a, 21, 3, "");
    snap_expect(a, 21, 3, ""); /* load does not consume it */
}

Test(backend, delete_upto_keeps_the_rest_and_the_snapshot)
{
    const char *a = bk_id("retention"), *b = bk_id("retention-b");
    cr_assert_eq(bk_append_range(bk, a, 1, 10), 0, "%s", bk_err);
    cr_assert_eq(bk_append_range(bk, b, 1, 10), 0, "%s", bk_err);
    cr_assert_eq(bk->ops->delete_upto(bk, a, 0, bk_err), 0, "%s", bk_err);
    cr_assert_eq(bk->ops->delete_upto(bk, a, 4, bk_err), 0, "%s", bk_err);
    cr_assert_eq(bk_read(bk, a, 0, &g), 0, "%s", bk_err);
    bk_expect_range(&g, a, 5, 10);
    cr_assert_eq(bk_last(bk, a), 10);
    snap_save(a, 10, 1, "state at 10");
    cr_assert_eq(bk->ops->delete_upto(bk, a, UINT64_MAX, bk_err), 0, "%s", bk_err);
    cr_assert_eq(bk_read(bk, a, 0, &g), 0);
    cr_assert_eq(g.n, 0);
    /* every event gone: last_seq is the snapshot's, so numbering goes on */
    cr_assert_eq(bk_last(bk, a), 10);
    snap_expect(a, 10, 1, "state at 10");
    cr_assert_eq(bk_append_range(bk, a, 11, 12), 0, "%s", bk_err);
    cr_assert_eq(bk_read(bk, a, 10, &g), 0);
    bk_expect_range(&g, a, 11, 12);
    cr_assert_eq(bk_read(bk, b, 0, &g), 0); /* another id untouched */
    bk_expect_range(&g, b, 1, 10);
    cr_assert_eq(bk->ops->delete_upto(bk, b, 10, bk_err), 0);
    cr_assert_eq(bk_last(bk, b), 0); /* no snapshot: nothing left */
}

/* ---- bytes ------------------------------------------------------------------------ */

Test(backend, large_blobs_of_one_mib)
{
    const char *a = bk_id("large");
    size_t n = 1u << 20;
    unsigned char *big = malloc(n);
    cr_assert_not_null(big);
    for (size_t i = 0; i < n; i++)
        big[i] = (unsigned char)(i * 2654435761u >> 13);
    pevent ev[2] = {{.pid = a, .seq = 1, .schema = 1, .data = big, .len = n},
                    {.pid = a, .seq = 2, .schema = 1, .data = big + 1, .len = n - 1}};
    cr_assert_eq(bk->ops->append(bk, ev, 2, bk_err), 0, "%s", bk_err);
    cr_assert_eq(bk_read(bk, a, 0, &g), 0, "%s", bk_err);
    cr_assert(g.n == 2 && g.len[0] == n && g.len[1] == n - 1);
    cr_assert_eq(g.hash[0], tt_fnv(big, n));
    cr_assert_eq(g.hash[1], tt_fnv(big + 1, n - 1));
    cr_assert_eq(bk->ops->save_snapshot(bk, a, 2, 1, big, n, bk_err), 0, "%s", bk_err);
    int found;
    uint64_t s;
    uint32_t v;
    void *d;
    size_t len;
    cr_assert_eq(bk->ops->load_snapshot(bk, a, &found, &s, &v, &d, &len, bk_err), 0, "%s", bk_err);
    cr_assert(found && len == n && memcmp(d, big, n) == 0);
    free(d);
    free(big);
}

Test(backend, binary_bytes_nul_and_empty_events_and_schemas)
{
    const char *a = bk_id("binary");
    unsigned char all[512];
    for (size_t i = 0; i < sizeof all; i++)
        all[i] = (unsigned char)(i % 2 ? 0 : 255 - i % 256); /* every other byte NUL */
    pevent ev[4] = {{.pid = a, .seq = 1, .schema = 0, .data = all, .len = sizeof all},
                    {.pid = a, .seq = 2, .schema = 7, .data = "", .len = 0},
                    {.pid = a, .seq = 3, .schema = UINT32_MAX, .data = NULL, .len = 0},
                    {.pid = a, .seq = 4, .schema = 1, .data = "\0\0\0", .len = 3}};
    cr_assert_eq(bk->ops->append(bk, ev, 4, bk_err), 0, "%s", bk_err);
    cr_assert_eq(bk_read(bk, a, 0, &g), 0, "%s", bk_err);
    cr_assert_eq(g.n, 4);
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(g.len[i], ev[i].len, "seq %d", i + 1);
        cr_assert_eq(g.schema[i], ev[i].schema, "seq %d", i + 1);
        cr_assert_eq(g.hash[i], tt_fnv(ev[i].data, ev[i].len), "seq %d", i + 1);
    }
}

/* ---- what every open of the same storage sees ---------------------------------------- */

Test(backend, a_second_open_sees_what_the_first_wrote)
{
    const char *a = bk_id("shared");
    backend *other;
    cr_assert_eq(bk_open(&other), 0, "%s", bk_err);
    cr_assert_eq(bk_append_range(bk, a, 1, 5), 0, "%s", bk_err);
    snap_save(a, 5, 1, "five");
    cr_assert_eq(bk_read(other, a, 0, &g), 0, "%s", bk_err);
    bk_expect_range(&g, a, 1, 5);
    cr_assert_eq(bk_append_range(other, a, 6, 6), 0, "%s", bk_err);
    cr_assert_eq(bk_last(bk, a), 6);
    other->ops->close(other);
    bk->ops->close(bk); /* closed and opened again: still there */
    bk = NULL;
    cr_assert_eq(bk_open(&bk), 0, "%s", bk_err);
    cr_assert_eq(bk_read(bk, a, 0, &g), 0, "%s", bk_err);
    bk_expect_range(&g, a, 1, 6);
    snap_expect(a, 5, 1, "five");
}
