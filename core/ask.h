/* core/ask.h — the ask record, shared by core/ask.c (asks, replies,
 * deferred replies, failing asks fast), core/callq.c (calls from plain
 * threads: callbacks and call queues) and core/view.c.
 *
 * A record lives in a type-stable table (core/table.h); its id (gen << 32
 * | index) travels in the request's corr field. The state word (gen << 32 |
 * state) is the single point of decision: whoever completes the ask — the
 * replier, the timeout, a failure of the target, a cancel, the system's
 * destroy — first moves WAIT -> BUSY with one CAS (ask_claim). Exactly one
 * wins; the losers know they are late.
 */
#ifndef TROUPE_CORE_ASK_H
#define TROUPE_CORE_ASK_H

#include "core/system.h"
#include "troupe/async.h"

enum { A_FREE = 0, A_WAIT = 1, A_BUSY = 2, A_DONE = 3 };

/* Who waits for the outcome. */
enum {
    AM_SYNC = 0,  /* troupe_ask: a plain thread blocked on `fut` */
    AM_ACTOR = 1, /* troupe_ask_async: a message to `asker` */
    AM_CB = 2,    /* troupe_ask_cb: fn(ud, ...) on the completing thread */
    AM_CALLQ = 3, /* troupe_ask_start: kept in the record for its queue */
};

/* callq records: qf bits */
#define QF_LISTED 1u   /* on its queue's completion list */
#define QF_RELEASED 2u /* released while listed: the list's taker frees it */

typedef struct ask_rec {
    _Atomic uint64_t st;     /* gen << 32 | state */
    _Atomic uint32_t fut;    /* 1 once completed; 2 while a waiter sleeps */
    _Atomic uint32_t qf;     /* QF_*: under its queue's lock, but for LISTED */
    /* the actor holding the reply (a deferred token, or persistence's
     * reply after apply), 0 none; relaxed: the exit scan validates with
     * the claim */
    _Atomic uint64_t holder;
    /* the queue of an AM_CALLQ record (atomic: callq_destroy's scan reads
     * records that are not its own; validated by st) */
    struct troupe_callq *_Atomic q;
    uint8_t mode;
    /* trace/ holds this ask's CLIENT span open until its outcome
     * (hooks.trace_reply). Relaxed: set by the asker's thread before the
     * request leaves; the completer that claimed the ask after the request
     * reached it sees it (a timeout that beats the send may not: the
     * span then ends when trace/'s table evicts it). */
    _Atomic uint8_t traced;
    int rc;              /* the outcome, written by the claim's winner */
    troupe_ref asker;    /* AM_ACTOR */
    troupe_timer timer;  /* its timeout (not AM_SYNC); id 0 = none */
    tmsg reply;          /* AM_SYNC, AM_CALLQ: the reply (rc 0) */
    troupe_call_fn fn;   /* AM_CB */
    void *ud;            /* AM_CB, AM_CALLQ */
    uint32_t next;       /* the completion list's link (an index) */
} ask_rec;

struct asks {
    table recs;
    pthread_mutex_t qlock;      /* qs */
    struct troupe_callq *qs;    /* live call queues (core/callq.c) */
    _Atomic bool views;         /* a view was published: a barrier at destroy */
    uint64_t serial;            /* this system's, unique in the process (ask.c's cache) */
};

static inline uint64_t st_make(uint32_t gen, uint32_t s) { return ((uint64_t)gen << 32) | s; }
static inline uint32_t st_state(uint64_t st) { return (uint32_t)st; }
static inline uint32_t st_gen(uint64_t st) { return (uint32_t)(st >> 32); }

/* A fresh record in WAIT for `mode`; 0 or TROUPE_ENOMEM. */
int ask_new(troupe_system *sys, uint8_t mode, ask_rec **out, uint64_t *id);
void ask_free(troupe_system *sys, ask_rec *r, uint64_t id);
/* The record an id names (any generation), or NULL. */
ask_rec *ask_lookup(troupe_system *sys, uint64_t id);
/* A plain-thread record's futex word (fut). */
enum { F_WAIT = 0, F_DONE = 1, F_SLEEP = 2 };
/* A fresh record's fields and its id (generation << 32 | idx). */
void ask_init(ask_rec *r, uint32_t idx, uint8_t mode, uint64_t *id);
/* Send a request carrying ask id `id`; caller_runs: a plain thread's
 * troupe_call, which may run the receiver here (call_send). */
int ask_send(troupe_system *sys, troupe_ref to, uint32_t type, const void *data, size_t len,
             uint64_t id, bool caller_runs);
/* WAIT -> BUSY for this generation: true for the one winner. */
bool ask_claim(ask_rec *r, uint64_t id);
/* Send the request carrying ask id `id`. */
int ask_request(troupe_system *sys, troupe_ref to, uint32_t type, const void *data, size_t len,
                uint64_t id);
/* Arm the record's timeout on the system clock (none for a deadline that
 * does not fit). */
int ask_arm(troupe_system *sys, ask_rec *r, uint64_t id, uint64_t timeout_ns);
/* The claim's winner completes the ask: rc, and on 0 the reply (owned by
 * the record from here; its sender already set). from_timer: called by the
 * ask's own timeout (its timer is not canceled). */
void ask_finish(troupe_system *sys, ask_rec *r, uint64_t id, int rc, tmsg *reply,
                bool from_timer);
/* Copy a reply out (type, payload, full size; each may be NULL):
 * TROUPE_ETRUNC when a buffer was given and the payload is larger than
 * cap (its first cap bytes are copied). */
int ask_copy_reply(const tmsg *m, uint32_t *type, void *buf, size_t cap, size_t *len);
/* Payload check shared by every ask. */
int ask_valid_payload(uint32_t type, const void *data, size_t len);

/* A traced ask's outcome is in (rc): its CLIENT span ends. A plain
 * thread's (AM_SYNC) when the thread has it, after the wait; the others'
 * in ask_finish. One relaxed load on the untraced path. */
static inline void ask_trace_end(troupe_system *sys, ask_rec *r, uint64_t id, int rc)
{
    if (unlikely(atomic_load_explicit(&r->traced, memory_order_relaxed)))
        sys->hooks.trace_reply(sys, id, rc);
}

/* core/callq.c: an AM_CALLQ record completed (DONE, fut set): list it. */
void callq_done(ask_rec *r, uint64_t id);
/* core/callq.c: system destroy: every queue is told the system is gone. */
void callq_detach_all(troupe_system *sys);

/* core/view.c */
void view_on_exit(troupe_system *sys, actor *a);
void views_destroy(troupe_system *sys);

/* Mark the ask being handled as held by the running actor (a deferred
 * reply, or persistence's reply after apply): it fails with the actor. */
int ask_hold(troupe_ctx *ctx);

#endif
