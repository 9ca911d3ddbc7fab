/* cluster/owner_metrics.c — cluster actors on the system's /metrics:
 * claims, failovers, failed starts, parked and dropped actors, the actors
 * owned here now (troupe_cluster_owner_stats), and the journal's writes
 * refused for a stale epoch (troupe_journal_stats.fenced).
 *
 * observe has no unregistration and hands a writer the system only, so a
 * joined node's `own` is found in a small table of this file: attached at
 * join, detached at leave — before the handle can be freed (own_destroy
 * comes after own_leave). The writer holds the table's mutex while it
 * reads, so a leave waits for a scrape in progress and a scrape never sees
 * a freed `own`. The counters are atomics (own.h), so no scrape waits for
 * an ownership pass. */
#include <pthread.h>
#include <stdatomic.h>

#include "cluster/own.h"
#include "observe/prom.h"
#include "troupe/persist.h"

/* Systems joined at once in one process (tests run several). */
#define OWN_METRICS_MAX 64

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static own *reg[OWN_METRICS_MAX]; /* under reg_mu */

void own_stats_read(const own *o, troupe_cluster_owner_stats *out)
{
    own *w = (own *)o; /* atomic loads of counters only */
    *out = (troupe_cluster_owner_stats){
        .claims = atomic_load(&w->st.claims), /* seq_cst: see own_counters */
        .failovers = atomic_load(&w->st.failovers),
        .start_failures = atomic_load(&w->st.start_failures),
        .parked = atomic_load(&w->st.parked),
        .dropped = atomic_load(&w->st.dropped),
        .owned = atomic_load(&w->st.owned),
    };
}

static void counter(pw *p, const char *name, const char *help, uint64_t v)
{
    pw_head(p, name, "counter", help);
    pw_sample(p, name, (double)v);
}

static void write_own(pw *p, const own *o)
{
    troupe_cluster_owner_stats s;
    own_stats_read(o, &s);
    counter(p, "troupe_cluster_claims_total",
            "Ownership claims won by this node (epoch compare-and-set).", s.claims);
    counter(p, "troupe_cluster_failovers_total",
            "Claims of actors whose owner's lease had expired (failovers to this node).",
            s.failovers);
    counter(p, "troupe_cluster_start_failures_total",
            "Cluster actor starts (init or recovery) that failed here.", s.start_failures);
    counter(p, "troupe_cluster_parked_total",
            "Cluster actors this node parked after repeated failed starts.", s.parked);
    counter(p, "troupe_cluster_actors_dropped_total",
            "Local cluster actors stopped: ownership lost or the node fenced.", s.dropped);
    pw_head(p, "troupe_cluster_actors_owned", "gauge", "Cluster actors owned and running here.");
    pw_sample(p, "troupe_cluster_actors_owned", (double)s.owned);
    troupe_journal_stats js = {0};
    if (o->journal && troupe_journal_stats_get(o->journal, &js) == 0)
        counter(p, "troupe_cluster_fenced_writes_total",
                "Journal events refused: their writer's ownership epoch was stale.", js.fenced);
}

static void write_metrics(pw *p, troupe_system *sys, void *ud)
{
    (void)ud;
    pthread_mutex_lock(&reg_mu);
    for (int i = 0; i < OWN_METRICS_MAX; i++)
        if (reg[i] && reg[i]->sys == sys) {
            write_own(p, reg[i]);
            break;
        }
    pthread_mutex_unlock(&reg_mu);
}

int owner_metrics_attach(own *o)
{
    int rc = TROUPE_ENOMEM;
    pthread_mutex_lock(&reg_mu);
    for (int i = 0; i < OWN_METRICS_MAX && rc; i++)
        if (!reg[i] || reg[i] == o) {
            reg[i] = o;
            rc = 0;
        }
    pthread_mutex_unlock(&reg_mu);
    if (rc)
        return rc;
    rc = obs_metrics_register(o->sys, "cluster_owner", write_metrics, NULL);
    return rc == TROUPE_EEXIST ? 0 : rc; /* a second join: registered already */
}

void owner_metrics_detach(own *o)
{
    pthread_mutex_lock(&reg_mu);
    for (int i = 0; i < OWN_METRICS_MAX; i++)
        if (reg[i] == o)
            reg[i] = NULL;
    pthread_mutex_unlock(&reg_mu);
}
