/* examples/chain/show.h — the showcase's wiring, shared by main.c (setup,
 * the schedule of flags and faults), load.c (the calling threads and the
 * audit of every accepted block) and report.c (the checks and the
 * summary). */
#ifndef TROUPE_EXAMPLES_CHAIN_SHOW_H
#define TROUPE_EXAMPLES_CHAIN_SHOW_H

#include <stdatomic.h>
#include <stdio.h>

#include "chain.h"

#define NPRODUCERS 2
#define NIMPORTERS 2
#define NTHREADS (NPRODUCERS + NIMPORTERS)

/* The phases of a run, in order: the flags' value in each. */
enum { PH_LEGACY, PH_SHADOW, PH_CANARY, PH_ACTOR, NPHASES };

/* One calling thread's counts: written by it (relaxed), summed by main. */
typedef struct tcount {
    _Atomic uint64_t calls, errors;
    _Atomic uint64_t produced, imported, stale, forged_refused, forged_accepted;
    _Atomic uint64_t payloads, transfers_rejected, reads;
    char first_error[160]; /* written once, before errors goes 0 -> 1 */
} tcount;

/* Every block a caller was told was accepted, by height: the chain as the
 * callers saw it, kept outside both copies. Chunks are allocated on first
 * use; a height recorded twice means two blocks won the same height. */
#define AUDIT_CHUNK (1u << 16)
#define AUDIT_CHUNKS 1024 /* 64 M blocks; above that a run is not audited */

typedef struct audit_entry {
    uint64_t parent;
    _Atomic uint64_t hash; /* 0: not recorded */
} audit_entry;

typedef struct audit {
    uint64_t base; /* the height the run started from */
    _Atomic(audit_entry *) chunks[AUDIT_CHUNKS];
    _Atomic uint64_t twice, beyond, nomem;
} audit;

typedef struct audit_report {
    uint64_t blocks, missing, bad_links, twice, beyond;
    int tip_matches;
} audit_report;

/* Call latencies of one thread (compare.c): every LAT_EVERY-th call is
 * timed, and a uniform sample of those kept (reservoir, LAT_CAP). */
#define LAT_EVERY 8
#define LAT_CAP 32768

typedef struct lat_sample {
    uint64_t *v;   /* LAT_CAP slots; NULL: not sampling */
    uint64_t seen; /* timed calls so far */
    uint64_t rng;
} lat_sample;

typedef struct show {
    troupe_system *sys;
    troupe_journal *journal;
    troupe_http *http;
    troupe_ref chain_ref, engine_ref;
    troupe_adapter chain_ad, engine_ad;
    legacy_chain lchain; /* the objects being migrated */
    legacy_engine lengine;
    audit audit;
    head_result base;       /* the chain when the run started */
    uint64_t base_payloads;
    _Atomic int running;
    _Atomic uint64_t top;   /* highest height a caller saw accepted */
    _Atomic uint64_t faults, failures; /* injected; seen by on_failure */
    tcount counts[NTHREADS];
    lat_sample lat[NTHREADS]; /* each written by its thread, read after the join */
    pthread_t threads[NTHREADS];
    int started;
    uint64_t t0;
    double phase_secs[NPHASES];
    uint64_t phase_calls[NPHASES];
    int phases_seen;        /* bit per phase whose flags were set */
} show;

uint64_t now_ns(void);

/* load.c */
int load_start(show *s);
void load_stop(show *s);
uint64_t load_calls(show *s);
void audit_init(audit *a, uint64_t base);
void audit_free(audit *a);
audit_report audit_check(const audit *a, uint64_t base_tip, uint64_t height, uint64_t tip);

/* compare.c: the same load, path by path, each on fresh copies in a
 * system of its own, for `window` seconds: the legacy structs and the
 * in-memory actors (like with like), then the persistent actors on the
 * scratch SQLite journal (durability, apart), which compare_open_journal
 * opens under data_dir at start-up and compare_close_journal removes. */
enum { CMP_LEGACY, CMP_ACTOR_MEM, CMP_ACTOR_DURABLE, NCMP };

typedef struct path_figure {
    int ran;           /* 0: failed (err says why) */
    double calls_s;
    uint64_t calls, timed, p50_ns, p99_ns; /* p50/p99: of the sorted timed calls */
    char err[120];
} path_figure;

typedef struct compare_result {
    double window; /* seconds per path */
    path_figure path[NCMP];
} compare_result;

troupe_journal *compare_open_journal(const char *data_dir);
void compare_close_journal(const char *data_dir, troupe_journal *j);
void compare_run(troupe_journal *scratch, double window, compare_result *out);
extern const char *const compare_label[NCMP];

/* report.c: 0 if every check held. SUMMARY lines go to `summary` (NULL:
 * none). */
int report(show *s, double secs, const char *data_dir, const compare_result *cmp, FILE *summary);

#endif
