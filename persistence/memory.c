/* persistence/memory.c — the in-memory backend, for tests of the layers
 * above: a store (a hash of streams, one per persistence id, under one
 * mutex) that every backend opened on it shares, so that what the writer
 * appended a recovery reader sees, as with a database. It keeps the
 * checksums as the others do and verifies them on read, and tests can
 * corrupt a row (backend_memory_corrupt) to see recovery refuse it. */
#include "core/alloc.h"
#include "persistence/backend.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "persistence/checksum.h"

/* A fixed bucket count: tests keep at most thousands of ids, so chains
 * stay short without the code of a resize. */
#define MEM_BUCKETS 1024

typedef struct mrow {
    uint64_t seq;
    uint32_t schema, crc;
    size_t len;
    unsigned char *data; /* malloc'ed, never NULL */
} mrow;

/* One id's events, ev[head..n) in seq order (delete_upto advances head),
 * and its latest snapshot. */
typedef struct mstream {
    struct mstream *next;
    char pid[TROUPE_PERSIST_ID_MAX + 1];
    mrow *ev;
    size_t head, n, cap;
    int has_snap;
    mrow snap;
} mstream;

typedef struct mstore {
    pthread_mutex_t mu;
    mstream *bucket[MEM_BUCKETS];
} mstore;

typedef struct mbackend {
    backend base;
    mstore *s;
    unsigned char *buf; /* read's copy of one row, reused */
    size_t buf_cap;
} mbackend;

static const backend_ops memory_ops;

static size_t hash_pid(const char *pid)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *pid; pid++)
        h = (h ^ (unsigned char)*pid) * 16777619u;
    return h % MEM_BUCKETS;
}

static mstream *stream_find(mstore *s, const char *pid, int create)
{
    mstream **head = &s->bucket[hash_pid(pid)];
    for (mstream *m = *head; m; m = m->next)
        if (strcmp(m->pid, pid) == 0)
            return m;
    mstream *m = create ? sys_calloc(1, sizeof *m) : NULL;
    if (m) {
        strcpy(m->pid, pid); /* checked: at most TROUPE_PERSIST_ID_MAX bytes */
        m->next = *head;
        *head = m;
    }
    return m;
}

/* The first index in ev[head..n) whose seq is >= seq. */
static size_t lower_bound(const mstream *m, uint64_t seq)
{
    size_t lo = m->head, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->ev[mid].seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int row_fill(mrow *r, const char *pid, uint64_t seq, uint32_t schema, const void *data,
                    size_t len)
{
    if (!(r->data = sys_malloc(len ? len : 1)))
        return TROUPE_ENOMEM;
    if (len)
        memcpy(r->data, data, len);
    r->seq = seq;
    r->schema = schema;
    r->len = len;
    r->crc = backend_crc(pid, seq, schema, data, len);
    return 0;
}

static int stream_reserve(mstream *m)
{
    if (m->head > 0 && m->head >= m->n / 2) { /* reclaim deleted rows first */
        memmove(m->ev, m->ev + m->head, (m->n - m->head) * sizeof *m->ev);
        m->n -= m->head;
        m->head = 0;
    }
    return tr_grow((void **)&m->ev, &m->cap, m->n + 1, sizeof *m->ev, 16);
}

static int insert_one(mstore *s, const pevent *e, char *err)
{
    mstream *m = stream_find(s, e->pid, 1);
    if (!m || stream_reserve(m) < 0) {
        backend_errf(err, "memory: out of memory appending %s seq %llu", e->pid,
                     (unsigned long long)e->seq);
        return TROUPE_ENOMEM;
    }
    size_t at = lower_bound(m, e->seq);
    if (at < m->n && m->ev[at].seq == e->seq) {
        backend_errf(err, "memory: %s seq %llu is stored already", e->pid,
                     (unsigned long long)e->seq);
        return TROUPE_EEXIST;
    }
    mrow r;
    if (row_fill(&r, e->pid, e->seq, e->schema, e->data, e->len) < 0) {
        backend_errf(err, "memory: out of memory copying %s seq %llu", e->pid,
                     (unsigned long long)e->seq);
        return TROUPE_ENOMEM;
    }
    memmove(m->ev + at + 1, m->ev + at, (m->n - at) * sizeof r);
    m->ev[at] = r;
    m->n++;
    return 0;
}

/* Undo insert_one of an event it stored (the rollback of a batch). */
static void remove_one(mstore *s, const pevent *e)
{
    mstream *m = stream_find(s, e->pid, 0);
    size_t at = lower_bound(m, e->seq);
    free(m->ev[at].data);
    memmove(m->ev + at, m->ev + at + 1, (m->n - at - 1) * sizeof *m->ev);
    m->n--;
}

static int mem_append(backend *b, const pevent *ev, size_t n, char *err)
{
    int rc = backend_check_events(b, ev, n, err);
    if (rc < 0)
        return rc;
    mstore *s = ((mbackend *)b)->s;
    size_t i = 0;
    pthread_mutex_lock(&s->mu);
    while (i < n && (rc = insert_one(s, &ev[i], err)) == 0)
        i++;
    if (rc < 0) /* all or nothing: take back what this batch stored */
        while (i-- > 0)
            remove_one(s, &ev[i]);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int buf_copy(mbackend *mb, const mrow *r)
{
    if (tr_grow((void **)&mb->buf, &mb->buf_cap, r->len, 1, r->len) < 0)
        return TROUPE_ENOMEM;
    if (r->len)
        memcpy(mb->buf, r->data, r->len);
    return 0;
}

/* Copy the first event of pid with seq > after into *out and mb->buf:
 * 1 when there is one, 0 at the end, < 0 on failure. */
static int next_row(mbackend *mb, const char *pid, uint64_t after, mrow *out)
{
    int rc = 0;
    pthread_mutex_lock(&mb->s->mu);
    mstream *m = stream_find(mb->s, pid, 0);
    size_t at = m ? lower_bound(m, after + 1) : 0;
    if (m && at < m->n) {
        *out = m->ev[at];
        rc = buf_copy(mb, out) < 0 ? TROUPE_ENOMEM : 1;
    }
    pthread_mutex_unlock(&mb->s->mu);
    return rc;
}

static int check_row(const char *pid, const mrow *r, const void *data, const char *what, char *err)
{
    if (backend_crc(pid, r->seq, r->schema, data, r->len) == r->crc)
        return 0;
    backend_errf(err, "memory: %s %s seq %llu: checksum mismatch", what, pid,
                 (unsigned long long)r->seq);
    return TROUPE_ECORRUPT;
}

/* One row at a time, the lock released around fn: fn may be slow or call
 * into the store, and rows it has not seen yet may be appended meanwhile. */
static int mem_read(backend *b, const char *pid, uint64_t after, pevent_fn fn, void *ud,
                    char *err)
{
    int rc = backend_check_pid(b, pid, err);
    if (rc == 0 && !fn) {
        backend_errf(err, "memory: read: fn is NULL");
        rc = TROUPE_EINVAL;
    }
    mbackend *mb = (mbackend *)b;
    mrow r;
    while (rc == 0 && after < (uint64_t)INT64_MAX && (rc = next_row(mb, pid, after, &r)) == 1) {
        rc = check_row(pid, &r, mb->buf, "event", err);
        if (rc == 0 && (rc = fn(ud, r.seq, r.schema, mb->buf ? (void *)mb->buf : "", r.len)) > 0)
            rc = 0; /* only a negative return stops the read */
        after = r.seq;
    }
    if (rc == TROUPE_ENOMEM)
        backend_errf(err, "memory: out of memory reading %s", pid);
    return rc > 0 ? 0 : rc;
}

static int mem_last_seq(backend *b, const char *pid, uint64_t *seq, char *err)
{
    int rc = backend_check_pid(b, pid, err);
    if (rc < 0 || !seq)
        return rc < 0 ? rc : TROUPE_EINVAL;
    mstore *s = ((mbackend *)b)->s;
    pthread_mutex_lock(&s->mu);
    mstream *m = stream_find(s, pid, 0);
    *seq = m && m->n > m->head ? m->ev[m->n - 1].seq : 0;
    if (m && m->has_snap && m->snap.seq > *seq)
        *seq = m->snap.seq;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static int mem_save_snapshot(backend *b, const char *pid, uint64_t seq, uint32_t schema,
                             const void *data, size_t len, char *err)
{
    int rc = backend_check_row(b, pid, seq, data, len, err);
    if (rc < 0)
        return rc;
    mstore *s = ((mbackend *)b)->s;
    mrow r;
    if (row_fill(&r, pid, seq, schema, data, len) < 0) {
        backend_errf(err, "memory: out of memory saving the snapshot of %s", pid);
        return TROUPE_ENOMEM;
    }
    pthread_mutex_lock(&s->mu);
    mstream *m = stream_find(s, pid, 1);
    if (m && m->has_snap && m->snap.seq > seq) /* keep the latest */
        free(r.data);
    else if (m) {
        if (m->has_snap)
            free(m->snap.data);
        m->snap = r;
        m->has_snap = 1;
    }
    pthread_mutex_unlock(&s->mu);
    if (!m) {
        free(r.data);
        backend_errf(err, "memory: out of memory saving the snapshot of %s", pid);
        return TROUPE_ENOMEM;
    }
    return 0;
}

/* Copy pid's snapshot out under the lock: 1 found, 0 none, < 0 ENOMEM. */
static int snap_copy(mstore *s, const char *pid, mrow *out)
{
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    mstream *m = stream_find(s, pid, 0);
    if (m && m->has_snap) {
        const mrow *r = &m->snap;
        prow p = {.seq = r->seq, .schema = r->schema, .data = r->data, .len = r->len};
        void *d;
        rc = backend_take(&p, &out->seq, &out->schema, &d, &out->len) < 0 ? TROUPE_ENOMEM : 1;
        out->data = d;
        out->crc = r->crc;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int mem_load_snapshot(backend *b, const char *pid, int *found, uint64_t *seq,
                             uint32_t *schema, void **data, size_t *len, char *err)
{
    int rc = backend_check_pid(b, pid, err);
    if (rc < 0 || !found || !seq || !schema || !data || !len)
        return rc < 0 ? rc : TROUPE_EINVAL;
    mrow r;
    *found = 0;
    if ((rc = snap_copy(((mbackend *)b)->s, pid, &r)) <= 0) {
        if (rc < 0)
            backend_errf(err, "memory: out of memory loading the snapshot of %s", pid);
        return rc;
    }
    if ((rc = check_row(pid, &r, r.data, "snapshot of", err)) < 0) {
        free(r.data);
        return rc;
    }
    *found = 1;
    *seq = r.seq;
    *schema = r.schema;
    *data = r.data;
    *len = r.len;
    return 0;
}

static int mem_delete_upto(backend *b, const char *pid, uint64_t upto, char *err)
{
    int rc = backend_check_pid(b, pid, err);
    if (rc < 0)
        return rc;
    mstore *s = ((mbackend *)b)->s;
    pthread_mutex_lock(&s->mu);
    mstream *m = stream_find(s, pid, 0);
    size_t end = m && upto < UINT64_MAX ? lower_bound(m, upto + 1) : m ? m->n : 0;
    for (size_t i = m ? m->head : 0; i < end; i++)
        free(m->ev[i].data);
    if (m)
        m->head = end;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static void mem_close(backend *b)
{
    mbackend *mb = (mbackend *)b;
    if (!mb)
        return;
    free(mb->buf);
    free(mb);
}

static const backend_ops memory_ops = {
    .name = "memory",
    .append = mem_append,
    .read = mem_read,
    .last_seq = mem_last_seq,
    .save_snapshot = mem_save_snapshot,
    .load_snapshot = mem_load_snapshot,
    .delete_upto = mem_delete_upto,
    .close = mem_close,
};

int backend_memory_open(void *store, backend **out, char *err)
{
    if (!store || !out) {
        backend_errf(err, "memory: open: %s is NULL", store ? "out" : "store");
        return TROUPE_EINVAL;
    }
    mbackend *mb = sys_calloc(1, sizeof *mb);
    if (!mb) {
        backend_errf(err, "memory: out of memory opening a backend");
        return TROUPE_ENOMEM;
    }
    mb->base.ops = &memory_ops;
    mb->s = store;
    *out = &mb->base;
    return 0;
}

void *backend_memory_store_new(void)
{
    mstore *s = sys_calloc(1, sizeof *s);
    if (s && pthread_mutex_init(&s->mu, NULL) != 0) {
        free(s);
        s = NULL;
    }
    return s;
}

static void stream_free(mstream *m)
{
    for (size_t i = m->head; i < m->n; i++)
        free(m->ev[i].data);
    if (m->has_snap)
        free(m->snap.data);
    free(m->ev);
    free(m);
}

void backend_memory_store_free(void *store)
{
    mstore *s = store;
    if (!s)
        return;
    for (size_t i = 0; i < MEM_BUCKETS; i++)
        for (mstream *m = s->bucket[i], *next; m; m = next) {
            next = m->next;
            stream_free(m);
        }
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* Flip one bit: of the first data byte, or of the checksum when empty. */
static void row_corrupt(mrow *r)
{
    if (r->len)
        r->data[0] ^= 0x01;
    else
        r->crc ^= 0x01;
}

/* The row to damage: the event (pid, seq), or pid's snapshot. */
static mrow *row_find(mstore *s, const char *pid, uint64_t seq, int snapshot)
{
    mstream *m = stream_find(s, pid, 0);
    if (!m)
        return NULL;
    if (snapshot)
        return m->has_snap ? &m->snap : NULL;
    size_t at = lower_bound(m, seq);
    return at < m->n && m->ev[at].seq == seq ? &m->ev[at] : NULL;
}

static int corrupt(mstore *s, const char *pid, uint64_t seq, int snapshot)
{
    /* any backend will do: only the id is checked */
    if (!s || backend_check_pid(&(backend){.ops = &memory_ops}, pid, NULL) < 0)
        return TROUPE_EINVAL;
    pthread_mutex_lock(&s->mu);
    mrow *r = row_find(s, pid, seq, snapshot);
    if (r)
        row_corrupt(r);
    pthread_mutex_unlock(&s->mu);
    return r ? 0 : TROUPE_ENOTFOUND;
}

int backend_memory_corrupt(void *store, const char *pid, uint64_t seq)
{
    return corrupt(store, pid, seq, 0);
}

int backend_memory_corrupt_snapshot(void *store, const char *pid)
{
    return corrupt(store, pid, 0, 1);
}
