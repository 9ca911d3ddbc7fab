/* cluster/member.c — membership on PostgreSQL (member.h). The lease is a
 * row's lease_until in the server's time; the node's own view is a local
 * deadline, the start of its last successful renewal plus the lease: the
 * server set its expiry later than that start, so when the local deadline
 * passes the node may already be expired for the others, and it fences. */
#include "cluster/member.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster/pgq.h"
#include "core/alloc.h"
#include "core/common.h"
#include "troupe/cluster.h"

#define MS 1000000ull

struct member {
    PGconn *pg;
    char *conninfo;
    char cluster[64], node[64], inc[24], lease[16];
    /* relaxed: read alone by observers; its deadline (below, release) is
     * what a reader acts on */
    _Atomic uint64_t incarnation;
    uint32_t lease_ms, renew_ms;
    /* release in renew_ok, acquire in member_state: a reader that sees the
     * new deadline sees the renewal it stands for */
    _Atomic uint64_t deadline_ns;
    /* relaxed: a flag read alone; set by a refusal, cleared by a rejoin
     * before the new deadline is published (release) */
    _Atomic bool refused;
    _Atomic bool rejoin; /* relaxed: a setting read alone (member_set_rejoin) */
    /* renewals by outcome and their latency (member_renew_stats_get):
     * relaxed, counters each read alone for metrics */
    _Atomic uint64_t rn_ok, rn_refused, rn_failed, rn_sum_ns, rn_max_ns, rejoins;
    _Atomic uint64_t rn_bucket[MEMBER_RENEW_BUCKETS];
    pthread_t thread;
    bool running, stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

/* Under an advisory lock: nodes started together would otherwise race in
 * CREATE TABLE IF NOT EXISTS (one fails on pg_type's unique index). */
static const char SCHEMA[] =
    "BEGIN; SELECT pg_advisory_xact_lock(127978031542375);"
    "CREATE TABLE IF NOT EXISTS troupe_nodes (cluster text NOT NULL, node text NOT NULL,"
    " incarnation bigint NOT NULL, state text NOT NULL, lease_until timestamptz NOT NULL,"
    " renewed_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (cluster, node));"
    "COMMIT";
/* A new incarnation, unless the row holds a live lease. */
static const char JOIN[] =
    "INSERT INTO troupe_nodes AS t VALUES ($1, $2, 1, 'up',"
    " now() + $3::bigint * interval '1 millisecond')"
    " ON CONFLICT (cluster, node) DO UPDATE SET incarnation = t.incarnation + 1, state = 'up',"
    " lease_until = excluded.lease_until, renewed_at = now()"
    " WHERE t.state <> 'up' OR t.lease_until <= now()"
    " RETURNING incarnation";
/* Only this incarnation, only while its lease runs: a late renewal of an
 * expired lease is refused, never revived. */
static const char RENEW[] =
    "UPDATE troupe_nodes SET lease_until = now() + $4::bigint * interval '1 millisecond',"
    " renewed_at = now()"
    " WHERE cluster = $1 AND node = $2 AND incarnation = $3::bigint AND state = 'up'"
    " AND lease_until > now() RETURNING 1";
static const char LEAVE[] = "UPDATE troupe_nodes SET state = 'left'"
                            " WHERE cluster = $1 AND node = $2 AND incarnation = $3::bigint";
static const char LIST[] =
    "SELECT node, incarnation, state = 'up' AND lease_until > now() FROM troupe_nodes"
    " WHERE cluster = $1 ORDER BY node";

static int run_p(member *m, const char *sql, int n, const char *const *p, uint64_t deadline,
                 PGresult **out)
{
    int rc = pgq_exec(m->pg, sql, n, p, deadline, out);
    if (rc == TROUPE_ETIMEDOUT || PQstatus(m->pg) != CONNECTION_OK) {
        PQfinish(m->pg); /* mid-query or lost: a fresh one next time */
        m->pg = NULL;
    }
    return rc;
}

/* Parameters $1..$4: cluster, node, incarnation, lease in ms. */
static int run(member *m, const char *sql, int n, uint64_t deadline, PGresult **out)
{
    const char *p[] = {m->cluster, m->node, m->inc, m->lease};
    return run_p(m, sql, n, p, deadline, out);
}

static int reconnect(member *m)
{
    if (m->pg)
        return 0;
    m->pg = PQconnectdb(m->conninfo); /* bounded by connect_timeout (member_join) */
    pgq_quiet(m->pg);
    return PQstatus(m->pg) == CONNECTION_OK ? 0 : TROUPE_EIO;
}

/* One renewal begun at start: 0, 1 (the server renewed, but the node is
 * fenced already) or a negative code. */
static int renew_once(member *m, uint64_t start)
{
    /* A fenced incarnation stays fenced (its actors may already run
     * elsewhere: only a new incarnation comes back, rejoin_once); asked
     * by hand (tests), a late renewal meets the server's refusal. */
    bool fenced = member_state(m) == TROUPE_CLUSTER_FENCED;
    uint64_t dl = fenced ? start + m->renew_ms * MS
                         : atomic_load_explicit(&m->deadline_ns, memory_order_acquire);
    if (reconnect(m) != 0)
        return TROUPE_EIO;
    PGresult *r;
    int rc = run(m, RENEW, 4, dl, &r);
    if (rc)
        return rc;
    bool ok = PQntuples(r) == 1;
    PQclear(r);
    if (!ok) {
        atomic_store_explicit(&m->refused, true, memory_order_relaxed);
        return TROUPE_EFENCED;
    }
    if (fenced)
        return 1;
    /* release: pairs with the acquire in member_state */
    atomic_store_explicit(&m->deadline_ns, start + m->lease_ms * MS, memory_order_release);
    return 0;
}

/* Upper bounds of the latency buckets, in ns; the last bucket is +Inf. */
const uint64_t member_renew_bounds_ns[MEMBER_RENEW_BUCKETS - 1] = {
    1 * MS, 2 * MS, 5 * MS, 10 * MS, 25 * MS, 50 * MS, 100 * MS, 250 * MS, 500 * MS, 1000 * MS,
    2500 * MS};

/* relaxed throughout: counters, each read alone (member_renew_stats_get) */
static void count_renewal(member *m, int rc, uint64_t ns)
{
    _Atomic uint64_t *c = rc >= 0 ? &m->rn_ok : rc == TROUPE_EFENCED ? &m->rn_refused
                                                                     : &m->rn_failed;
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->rn_sum_ns, ns, memory_order_relaxed);
    int k = 0;
    while (k < MEMBER_RENEW_BUCKETS - 1 && ns > member_renew_bounds_ns[k])
        k++;
    atomic_fetch_add_explicit(&m->rn_bucket[k], 1, memory_order_relaxed);
    /* one writer (the renewing thread, or a test calling member_renew
     * while it is stopped): load and store need no loop */
    if (ns > atomic_load_explicit(&m->rn_max_ns, memory_order_relaxed))
        atomic_store_explicit(&m->rn_max_ns, ns, memory_order_relaxed);
}

int member_renew(member *m)
{
    uint64_t start = mono_ns();
    int rc = renew_once(m, start);
    count_renewal(m, rc, mono_ns() - start);
    return rc > 0 ? TROUPE_EFENCED : rc;
}

#define LD(f) atomic_load_explicit(&m->f, memory_order_relaxed) /* counters alone */
void member_renew_stats_get(member *m, member_renew_stats *out)
{
    *out = (member_renew_stats){.ok = LD(rn_ok), .refused = LD(rn_refused),
                                .failed = LD(rn_failed), .sum_ns = LD(rn_sum_ns),
                                .max_ns = LD(rn_max_ns), .rejoins = LD(rejoins)};
    for (int k = 0; k < MEMBER_RENEW_BUCKETS; k++)
        out->bucket[k] = LD(rn_bucket[k]);
}
#undef LD

int member_state(member *m)
{
    if (atomic_load_explicit(&m->refused, memory_order_relaxed))
        return TROUPE_CLUSTER_FENCED;
    /* acquire: pairs with the release in member_renew */
    uint64_t dl = atomic_load_explicit(&m->deadline_ns, memory_order_acquire);
    return mono_ns() < dl ? TROUPE_CLUSTER_JOINED : TROUPE_CLUSTER_FENCED;
}

uint64_t member_incarnation(const member *m)
{
    /* relaxed: see the field */
    return atomic_load_explicit(&((member *)m)->incarnation, memory_order_relaxed);
}

/* A fenced node's way back (member_set_rejoin): a new incarnation once
 * the server lets it take one — its old lease expired in the server's
 * time, or was refused. TROUPE_EEXIST while the old lease runs there: it
 * is not renewed meanwhile, so that happens within a lease. */
static int take_row(member *m);
static int rejoin_once(member *m)
{
    if (reconnect(m) != 0)
        return TROUPE_EIO;
    int rc = take_row(m);
    if (rc == 0) /* relaxed: a counter read alone */
        atomic_fetch_add_explicit(&m->rejoins, 1, memory_order_relaxed);
    return rc;
}

static bool rejoining(member *m)
{
    return atomic_load_explicit(&m->rejoin, memory_order_relaxed); /* a setting alone */
}

uint64_t member_live_incarnation(member *m)
{
    if (member_state(m) != TROUPE_CLUSTER_JOINED)
        return 0;
    return member_incarnation(m); /* after member_state's acquire: see take_row */
}

/* Every renew_ms: renew while joined; once fenced, stop, or (rejoin on)
 * try for a new incarnation at the same cadence until the server answers. */
static void *renewer(void *arg)
{
    member *m = arg;
    pthread_mutex_lock(&m->mu);
    while (!m->stop && (rejoining(m) || member_state(m) == TROUPE_CLUSTER_JOINED)) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t t = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec + m->renew_ms * MS;
        ts = (struct timespec){.tv_sec = (time_t)(t / 1000000000ull), .tv_nsec = (long)(t % 1000000000ull)};
        while (!m->stop && pthread_cond_timedwait(&m->cv, &m->mu, &ts) == 0)
            ;
        if (m->stop)
            break;
        pthread_mutex_unlock(&m->mu);
        if (member_state(m) == TROUPE_CLUSTER_JOINED)
            member_renew(m); /* a failure is seen as the deadline passing */
        else if (rejoining(m))
            (void)rejoin_once(m); /* EEXIST, EIO: again next period */
        pthread_mutex_lock(&m->mu);
    }
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

void member_set_rejoin(member *m, bool on)
{
    atomic_store_explicit(&m->rejoin, on, memory_order_relaxed); /* a setting alone */
}

static int setup_thread(member *m)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int e = pthread_cond_init(&m->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (e || pthread_mutex_init(&m->mu, NULL))
        return TROUPE_ESYS;
    if (pthread_create(&m->thread, NULL, renewer, m))
        return TROUPE_ESYS;
    m->running = true;
    return 0;
}

/* The row: a new incarnation, or EEXIST. The incarnation is stored
 * before the deadline's release, so a reader that sees the node joined
 * (acquire) sees the incarnation it joined with. */
static int take_row(member *m)
{
    uint64_t start = mono_ns();
    const char *p[] = {m->cluster, m->node, m->lease};
    PGresult *r;
    int rc = run_p(m, JOIN, 3, p, start + m->lease_ms * MS, &r);
    if (rc)
        return rc;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return TROUPE_EEXIST;
    }
    uint64_t inc = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    snprintf(m->inc, sizeof m->inc, "%llu", (unsigned long long)inc);
    /* relaxed: published by the deadline's release below */
    atomic_store_explicit(&m->incarnation, inc, memory_order_relaxed);
    atomic_store_explicit(&m->refused, false, memory_order_relaxed);
    /* release: pairs with the acquire in member_state */
    atomic_store_explicit(&m->deadline_ns, start + m->lease_ms * MS, memory_order_release);
    return 0;
}

/* The schema (created if absent), then the row. */
static int first_join(member *m)
{
    PGresult *r;
    int rc = run(m, SCHEMA, 0, mono_ns() + m->lease_ms * MS, &r);
    if (rc)
        return rc;
    PQclear(r);
    return take_row(m);
}

static void member_free(member *m)
{
    if (m->pg)
        PQfinish(m->pg);
    free(m->conninfo);
    free(m);
}

int member_join(const char *conninfo, const char *cluster, const char *node, uint32_t lease_ms,
                uint32_t renew_ms, member **out)
{
    *out = NULL;
    member *m = sys_calloc(1, sizeof *m);
    if (!m)
        return TROUPE_ENOMEM;
    /* libpq takes the last value of a keyword: connecting is bounded too */
    size_t n = strlen(conninfo) + 64;
    if (!(m->conninfo = sys_malloc(n))) {
        free(m);
        return TROUPE_ENOMEM;
    }
    snprintf(m->conninfo, n, "%s connect_timeout=%u", conninfo, lease_ms / 1000 + 1);
    snprintf(m->cluster, sizeof m->cluster, "%s", cluster);
    snprintf(m->node, sizeof m->node, "%s", node);
    snprintf(m->lease, sizeof m->lease, "%u", lease_ms);
    m->lease_ms = lease_ms;
    m->renew_ms = renew_ms;
    int rc = reconnect(m);
    if (!rc)
        rc = first_join(m);
    if (!rc)
        rc = setup_thread(m);
    if (rc) {
        member_free(m);
        return rc == TROUPE_ETIMEDOUT ? TROUPE_EIO : rc;
    }
    *out = m;
    return 0;
}

void member_stop_renewing(member *m)
{
    if (!m->running)
        return;
    pthread_mutex_lock(&m->mu);
    m->stop = true;
    pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
    pthread_join(m->thread, NULL);
    m->running = false;
}

void member_leave(member *m, bool mark_left)
{
    if (!m)
        return;
    bool had_thread = m->running || m->stop;
    member_stop_renewing(m);
    if (mark_left && reconnect(m) == 0) {
        PGresult *r;
        if (run(m, LEAVE, 3, mono_ns() + m->lease_ms * MS, &r) == 0)
            PQclear(r);
    }
    if (had_thread) {
        pthread_cond_destroy(&m->cv);
        pthread_mutex_destroy(&m->mu);
    }
    member_free(m);
}

int member_list(member *m, member_node *out, int cap)
{
    if (reconnect(m) != 0)
        return TROUPE_EIO;
    PGresult *r;
    int rc = run(m, LIST, 1, mono_ns() + m->lease_ms * MS, &r);
    if (rc)
        return rc;
    int n = PQntuples(r);
    for (int i = 0; i < n && i < cap; i++) {
        snprintf(out[i].name, sizeof out[i].name, "%s", PQgetvalue(r, i, 0));
        out[i].incarnation = strtoull(PQgetvalue(r, i, 1), NULL, 10);
        out[i].live = PQgetvalue(r, i, 2)[0] == 't';
    }
    PQclear(r);
    return n < cap ? n : cap;
}
