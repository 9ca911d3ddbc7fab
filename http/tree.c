/* http/tree.c — /api/tree (the supervision tree with its actors) and
 * /api/system (counters, workers, worker pools, circuit breakers).
 *
 * The tree is walked from the root through troupe_sup_children, one
 * supervisor at a time; it can change under the walk (children start and
 * end), so each node is a snapshot of its own, and a child that ended
 * between the listing and its read is written as {"kind":"actor","gone":true}.
 * Bounds keep one reply finite whatever the tree: at most TREE_DEPTH
 * levels of supervisors below the root (a supervisor at that depth is
 * written with "truncated": true instead of its children, and the document
 * ends with "truncated" and "max_depth" so a client can tell without
 * searching) and TREE_FANOUT children per supervisor (with
 * "children_total" telling how many there were). */
#include "core/alloc.h"
#include "http/internal.h"
#include "observe/cpuset.h"

#include <stdlib.h>

#define TREE_DEPTH 24
#define TREE_FANOUT 1000
#define BREAKERS_MAX 256 /* circuits listed by /api/system ("breakers_total": all) */

/* JSON levels: the document, then per supervisor level an object and its
 * children array, then an actor and its inner objects (mailbox, health,
 * child): 3 + 2 * TREE_DEPTH at the deepest. The writer must never be the
 * one to cut the tree. */
_Static_assert(3 + 2 * TREE_DEPTH <= JW_DEPTH, "the tree's bound must be below the writer's");

typedef struct walk {
    jw *w;
    troupe_system *sys;
    int truncated; /* some supervisor was cut at TREE_DEPTH */
} walk;

static const char *strategy_name(troupe_sup_strategy s)
{
    static const char *const names[] = {"one_for_one", "one_for_all", "rest_for_one"};
    return (unsigned)s < 3 ? names[s] : "unknown";
}

static void write_sup(walk *k, troupe_sup sup, int depth);

static void write_tree_actor(walk *k, troupe_ref ref)
{
    troupe_actor_info ai;
    if (troupe_actor_info_get(k->sys, ref, &ai) == 0) {
        api_write_actor(k->w, k->sys, &ai);
        return;
    }
    jw_obj(k->w);
    jw_key(k->w, "ref"), jw_id(k->w, ref.id);
    jw_key(k->w, "gone"), jw_bool(k->w, 1);
    jw_obj_end(k->w);
}

static void write_children(walk *k, troupe_sup sup, int depth)
{
    jw *w = k->w;
    size_t total = 0;
    troupe_sup_child *kids = sys_calloc(TREE_FANOUT, sizeof *kids);
    if (!kids)
        w->b.oom = 1; /* the request fails with 500 */
    else if (troupe_sup_children(k->sys, sup, kids, TREE_FANOUT, &total) < 0)
        total = 0; /* the supervisor ended during the walk */
    size_t n = total < TREE_FANOUT ? total : TREE_FANOUT;
    jw_key(w, "children_total"), jw_u64(w, total);
    jw_key(w, "children");
    jw_arr(w);
    for (size_t i = 0; i < n; i++) {
        if (kids[i].sup.id)
            write_sup(k, kids[i].sup, depth + 1);
        else
            write_tree_actor(k, kids[i].ref);
    }
    jw_arr_end(w);
    free(kids);
}

static void write_sup_fields(jw *w, const troupe_sup_info *si)
{
    jw_key(w, "name"), jw_str(w, si->name[0] ? si->name : NULL);
    jw_key(w, "strategy"), jw_str(w, strategy_name(si->strategy));
    jw_key(w, "restarts"), jw_u64(w, si->restarts);
    jw_key(w, "escalations"), jw_u64(w, si->escalations);
    jw_key(w, "shutting_down"), jw_bool(w, si->shutting_down);
}

static void write_sup(walk *k, troupe_sup sup, int depth)
{
    jw *w = k->w;
    troupe_sup_info si;
    int rc = troupe_sup_info_get(k->sys, sup, &si);
    jw_obj(w);
    jw_key(w, "kind"), jw_str(w, "supervisor");
    jw_key(w, "id"), jw_id(w, sup.id);
    if (rc < 0) { /* ended during the walk */
        jw_key(w, "gone"), jw_bool(w, 1);
    } else {
        write_sup_fields(w, &si);
        if (depth < TREE_DEPTH) {
            write_children(k, sup, depth);
        } else {
            jw_key(w, "truncated"), jw_bool(w, 1);
            k->truncated = 1;
        }
    }
    jw_obj_end(w);
}

void api_tree(hreq *r)
{
    troupe_sup root;
    int rc = troupe_sup_root(r->srv->sys, &root);
    if (rc < 0) {
        http_error_code(r, rc);
        return;
    }
    walk k = {.w = &r->out.w, .sys = r->srv->sys};
    jw_obj(k.w);
    jw_key(k.w, "root");
    write_sup(&k, root, 0);
    jw_key(k.w, "truncated"), jw_bool(k.w, k.truncated);
    jw_key(k.w, "max_depth"), jw_u64(k.w, TREE_DEPTH);
    jw_obj_end(k.w);
}

/* ---- /api/system ------------------------------------------------------------------- */

static void write_stats(jw *w, const troupe_system_stats *s)
{
    jw_key(w, "actors_live"), jw_u64(w, s->actors_live);
    jw_key(w, "actors_spawned"), jw_u64(w, s->actors_spawned);
    jw_key(w, "actors_failed"), jw_u64(w, s->actors_failed);
    jw_key(w, "messages_destroyed"), jw_u64(w, s->messages_destroyed);
    jw_key(w, "late_replies"), jw_u64(w, s->late_replies);
    jw_key(w, "dead_letters"), jw_u64(w, s->dead_letters);
    jw_key(w, "steals"), jw_u64(w, s->steals);
    jw_key(w, "parks"), jw_u64(w, s->parks);
}

static void write_worker(jw *w, const troupe_worker_info *wi)
{
    jw_obj(w);
    jw_key(w, "index"), jw_u64(w, wi->index);
    jw_key(w, "cpu"), jw_i64(w, wi->cpu);
    jw_key(w, "runs"), jw_u64(w, wi->runs);
    jw_key(w, "steals"), jw_u64(w, wi->steals);
    jw_key(w, "parks"), jw_u64(w, wi->parks);
    jw_key(w, "runq_length"), jw_u64(w, wi->runq_length);
    jw_key(w, "stalled"), jw_bool(w, wi->stalled);
    jw_key(w, "stalled_actor"), wi->stalled ? jw_id(w, wi->stalled_actor.id) : jw_null(w);
    jw_key(w, "stalls"), jw_u64(w, wi->stalls);
    jw_obj_end(w);
}

static void write_workers(jw *w, troupe_system *sys)
{
    uint32_t n = troupe_system_workers(sys);
    jw_key(w, "workers"), jw_u64(w, n);
    jw_key(w, "worker_info");
    jw_arr(w);
    for (uint32_t i = 0; i < n; i++) {
        troupe_worker_info wi;
        if (troupe_worker_info_get(sys, i, &wi) == 0)
            write_worker(w, &wi);
    }
    jw_arr_end(w);
}

/* One worker pool (troupe/pool.h): its workers, CPU set, queue, and the
 * workers inside a handler — in a blocking pool, the handlers that may be
 * blocked. cpu_set is the text the Prometheus page's cpus label carries. */
static void write_pool(jw *w, const troupe_pool_info *pi)
{
    char set[256];
    cpuset_format(pi->cpus, pi->ncpus, set, sizeof set);
    jw_obj(w);
    jw_key(w, "name"), jw_str(w, pi->name);
    jw_key(w, "blocking"), jw_bool(w, pi->blocking);
    jw_key(w, "workers"), jw_u64(w, pi->workers);
    jw_key(w, "configured"), jw_u64(w, pi->configured);
    jw_key(w, "max_workers"), jw_u64(w, pi->max_workers);
    jw_key(w, "first_worker"), jw_u64(w, pi->first_worker);
    jw_key(w, "cpu_set"), jw_str(w, set);
    jw_key(w, "parked"), jw_u64(w, pi->parked);
    jw_key(w, "spinning"), jw_u64(w, pi->spinning);
    jw_key(w, "runq_length"), jw_u64(w, pi->runq_length);
    jw_key(w, "blocked"), jw_u64(w, pi->blocked);
    jw_obj_end(w);
}

static void write_pools(jw *w, troupe_system *sys)
{
    const char *names[TROUPE_MAX_POOLS];
    int n = troupe_system_pools(sys, names, TROUPE_MAX_POOLS);
    jw_key(w, "pools");
    jw_arr(w);
    for (int i = 0; i < n && i < TROUPE_MAX_POOLS; i++) {
        troupe_pool_info pi;
        if (troupe_pool_info_get(sys, names[i], &pi) == 0)
            write_pool(w, &pi);
    }
    jw_arr_end(w);
}

/* The supervisor thread's heartbeat (troupe/observe.h): "stalled" true
 * means nothing restarts until it moves (docs/OPERATIONS.md). */
static void write_supervisor(jw *w, troupe_system *sys)
{
    troupe_supervisor_health h;
    if (troupe_supervisor_health_get(sys, &h) < 0)
        return;
    jw_key(w, "supervisor");
    jw_obj(w);
    jw_key(w, "stalled"), jw_bool(w, h.stalled);
    jw_key(w, "busy"), jw_bool(w, h.busy);
    jw_key(w, "stalls"), jw_u64(w, h.stalls);
    jw_key(w, "heartbeats"), jw_u64(w, h.heartbeats);
    jw_obj_end(w);
}

static void write_breaker(jw *w, const troupe_breaker_info *b)
{
    jw_obj(w);
    jw_key(w, "name"), jw_str(w, b->name);
    jw_key(w, "key"), jw_id(w, b->key);
    jw_key(w, "state"), jw_str(w, troupe_breaker_state_name(b->state));
    jw_key(w, "consecutive_failures"), jw_u64(w, b->consecutive_failures);
    jw_key(w, "calls"), jw_u64(w, b->calls);
    jw_key(w, "failures"), jw_u64(w, b->failures);
    jw_key(w, "rejected"), jw_u64(w, b->rejected);
    jw_key(w, "opened"), jw_u64(w, b->opened);
    jw_key(w, "half_opened"), jw_u64(w, b->half_opened);
    jw_key(w, "closed"), jw_u64(w, b->closed);
    jw_key(w, "trips"), jw_u64(w, b->trips);
    jw_key(w, "open_timeout_ns"), jw_u64(w, b->open_timeout_ns);
    jw_obj_end(w);
}

static void write_breakers(jw *w, troupe_system *sys)
{
    size_t total = 0;
    troupe_breaker_info *bi = sys_calloc(BREAKERS_MAX, sizeof *bi);
    if (!bi)
        w->b.oom = 1;
    else if (troupe_breaker_list(sys, bi, BREAKERS_MAX, &total) < 0)
        total = 0;
    size_t n = total < BREAKERS_MAX ? total : BREAKERS_MAX;
    jw_key(w, "breakers_total"), jw_u64(w, total);
    jw_key(w, "breakers");
    jw_arr(w);
    for (size_t i = 0; i < n; i++)
        write_breaker(w, &bi[i]);
    jw_arr_end(w);
    free(bi);
}

void api_system(hreq *r)
{
    troupe_system_stats st;
    int rc = troupe_system_stats_get(r->srv->sys, &st);
    if (rc < 0) {
        http_error_code(r, rc);
        return;
    }
    jw *w = &r->out.w;
    jw_obj(w);
    write_stats(w, &st);
    jw_key(w, "registry_size"), jw_u64(w, troupe_registry_size(r->srv->sys));
    jw_key(w, "metrics_enabled"), jw_bool(w, troupe_metrics_enabled());
    jw_key(w, "mutations_enabled"), jw_bool(w, r->srv->token != NULL);
    write_workers(w, r->srv->sys);
    write_pools(w, r->srv->sys);
    write_supervisor(w, r->srv->sys);
    write_breakers(w, r->srv->sys);
    jw_obj_end(w);
}
