/* tests/persistence/backend_support.h — the fixture of the backend suite:
 * one suite, run against the backend TROUPE_TEST_BACKEND names (memory,
 * sqlite, postgres; memory when unset). sqlite: a database file in a fresh
 * temporary directory per test. postgres: TROUPE_PG_CONNINFO, a server
 * run_pg.sh started for this run; tests share its database, so every id a
 * test uses is made unique by bk_id. Corruption goes through the store's
 * own door: backend_memory_corrupt, or raw SQL on the test's own SQLite
 * handle or libpq connection — never through the backend under test. */
#ifndef TROUPE_TESTS_BACKEND_SUPPORT_H
#define TROUPE_TESTS_BACKEND_SUPPORT_H

#include "../support.h"
#include "persistence/backend.h"

extern const char *bk_kind;
extern backend *bk;                  /* opened by bk_setup */
extern char bk_err[BACKEND_ERR_MAX]; /* the text of the last failure */

void bk_setup(void);
void bk_teardown(void);
int bk_is(const char *kind);
/* Open another backend on the same storage (a second connection). */
int bk_open(backend **out);
/* The SQLite file (sqlite only) and the conninfo (postgres only). */
const char *bk_sqlite_path(void);
const char *bk_conninfo(void);
/* name + "-" + something unique to this test process (a static buffer
 * per call site would be overwritten: the result is strdup'ed, kept until
 * teardown). */
const char *bk_id(const char *name);

/* Damage one stored row behind the backend's back. */
void bk_corrupt_event(const char *pid, uint64_t seq);
void bk_corrupt_snapshot(const char *pid);
/* Run one SQL statement on the test's own connection (sqlite/postgres);
 * pid and seq are bound as parameters 1 and 2 (?1 ?2 / $1 $2). */
void bk_sql(const char *sql, const char *pid, uint64_t seq);

/* The event of (pid, seq) the tests write: deterministic bytes. */
size_t bk_payload(const char *pid, uint64_t seq, char *buf, size_t cap);
/* Append events from..to of pid as one batch, each bk_payload. */
int bk_append_range(backend *b, const char *pid, uint64_t from, uint64_t to);

/* What a read handed back. */
typedef struct got {
    size_t n;
    uint64_t seq[4096];
    uint32_t schema[4096];
    size_t len[4096];
    uint64_t hash[4096];
    uint64_t stop_at; /* when not 0: return -42 on this seq */
} got;

int bk_collect(void *ud, uint64_t seq, uint32_t schema, const void *data, size_t len);
/* Read pid after `after` into g (reset first); the read's return. */
int bk_read(backend *b, const char *pid, uint64_t after, got *g);
/* Assert that g holds exactly seqs from..to of pid, with their payloads. */
void bk_expect_range(const got *g, const char *pid, uint64_t from, uint64_t to);
uint64_t bk_last(backend *b, const char *pid);

#endif
