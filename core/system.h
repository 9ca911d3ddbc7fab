/* core/system.h — the internal shape of a system, an actor, a worker.
 * Nothing here is API; tests may include it (white-box suites). */
#ifndef TROUPE_CORE_SYSTEM_H
#define TROUPE_CORE_SYSTEM_H

#include <pthread.h>
#include <setjmp.h>

#include "core/adapt.h"
#include "core/common.h"
#include "core/hooks.h"
#include "core/message.h"
#include "core/runq.h"
#include "core/table.h"
#include "mailbox/mailbox.h"

#define ACTOR_INLINE_STATE 8
#define LAT_BUCKETS 12 /* observe/prom.c: 11 bounds and +Inf */
/* one run in LAT_SAMPLE has its first message timed (core/run.c) */
#define LAT_SAMPLE 64u
/* the latency histogram's bounds, in ns (core/run.c; observe/prom.c reads them) */
extern const uint64_t obs_lat_bounds[LAT_BUCKETS - 1];

/* mute word: low 32 bits count this actor's messages parked at full
 * receivers; bit 63 is SUSPENDED once its worker let it wait for them;
 * bits 32..62 count suspensions (an epoch), so that a suspender's undo
 * cannot clear a later suspension (ABA). */
#define MUTE_COUNT 0xFFFFFFFFull
#define MUTE_SUSPENDED (1ull << 63)
#define MUTE_EPOCH_ONE (1ull << 32)
#define MUTE_EPOCH_MASK (0x7FFFFFFFull << 32)

/* actor flags (owner-only) */
#define AF_STOP_REQ 1u
#define AF_FAILED 2u
#define AF_SYSTEM 4u /* a runtime actor (dead letters): not counted live */
#define AF_PARK_ALL 8u /* muted but kept running: every BLOCK send parks */
#define AF_REINIT 16u  /* supervised restart: run init before anything else */
#define AF_TRAP_STOP 32u /* the behaviour handles stop signals itself */
#define AF_HELD 64u    /* supervised, ended, waiting for its supervisor (no state) */
#define AF_KILL 128u   /* killed: end without the stop callback */
#define AF_LIVE 256u   /* counted in sys->live */
#define AF_PWAIT 512u  /* persisted events not yet applied: no user messages */
#define AF_PBUF 1024u  /* the running handler called troupe_persist */
#define AF_PROBE 2048u /* traced: every message timed and recorded (core/probe.h) */
#define AF_FAULT 4096u /* message faults injected: each run starts in fault_run (core/fault.h) */
/* AF_FAULT and no drawn message heads the ring: this run takes no user
 * message (one pushed after fault_run looked would be handled undrawn);
 * the next run draws it */
#define AF_FHOLD 8192u
/* Not the default pool's, or pinned (core/pool.c): a worker checks that
 * the actor is its own before running it (run_special). Set at spawn. */
#define AF_PLACED 16384u
/* What makes run_actor take run_special on a default pool's worker; every
 * other pool's workers check every actor (worker.run_mask). */
#define AF_RUN_SPECIAL (AF_REINIT | AF_PROBE | AF_FAULT | AF_PLACED)

typedef struct actor {
    mailbox mb; /* two cache lines */
    /* --- line 2: the owner's, plus the mute word --- */
    const troupe_behaviour *beh;
    void *state;
    struct actor *next; /* injector link */
    _Atomic uint64_t mute;
    uint32_t index;
    uint32_t gen; /* current generation; published through mb.tail */
    uint32_t batch;
    uint16_t flags;
    uint8_t stop_kind; /* a troupe_failure_kind */
    /* the actor's pool (an index of sys->pools), set at spawn before the
     * mailbox opens (its release publishes it), constant after */
    uint8_t home;
    struct actor_ext *_Atomic ext; /* rare parts (core/ext.h), type-stable */
    unsigned char inl_state[ACTOR_INLINE_STATE];
} actor;

_Static_assert(sizeof(actor) == 3 * CACHELINE, "an actor is three cache lines");

/* The handler's context; lives on the worker's stack for one run. */
struct troupe_ctx {
    troupe_system *sys;
    struct worker *w; /* NULL during init on a plain thread */
    actor *a;
    tmsg *msg; /* the message being handled, NULL in init/stop */
    bool replied;
    uint8_t nmuted;   /* receivers this handler is parked on */
    bool muted_all;   /* more than fit in muted_on: park every BLOCK send */
    uint32_t muted_on[8];
};

/* A worker's open reservation: slots claimed in one receiver's ring by the
 * handler running now, filled by its next sends there (no atomic each),
 * released at the end of the handler (send_flush). */
typedef struct sendres {
    actor *a;
    uint32_t gen;
    uint32_t chunk; /* size of the last claim; doubles while sends repeat */
    uint32_t sent;  /* messages this handler sent into reservations of a */
    bool sched;     /* a claim found the receiver idle: schedule at flush */
    uint64_t pos, end;
    actor *hint_a;   /* the last receiver flushed ... */
    uint32_t hint_n; /* ... and how many it got: the next burst's size */
} sendres;

/* Runnable actors under a mutex: a pool's injector (from plain threads,
 * other pools and overflow), a worker's pinned inbox (core/pool.c). */
typedef struct injq {
    pthread_mutex_t lock;
    actor *head, *tail;
    /* relaxed: a hint for the lock-free emptiness checks; the mutex orders
     * the list itself */
    alignas(CACHELINE) _Atomic uint32_t len;
} injq;

struct pool;

typedef struct worker {
    runq q; /* stealable FIFO */
    /* the current run (kept here, not in locals, so that it survives the
     * longjmp of troupe_panic) */
    troupe_ctx ctx;
    tmsg cur;      /* a copied message (system lane, DROP_OLDEST) */
    tmsg *msg;     /* the message being handled: &cur or a ring slot */
    bool in_msg;
    sendres res;
    pblock *pb; /* park block being filled by the running handler */
    actor *pb_a; /* ... for this receiver, of this generation */
    uint32_t pb_gen;
    tjmp_buf jb;
    troupe_system *sys;
    /* next to run, not stealable: the owner's alone (relaxed loads and
     * stores, plain moves); the stall watchdog samples it to report what
     * waits behind a stuck handler (observe/health.c) */
    _Atomic(actor *) lifo;
    uint32_t lifo_streak;
    uint32_t index;
    uint32_t tick;
    int cpu;
    uint32_t *victims; /* steal order, nearest first */
    uint32_t nvictims;
    pthread_t thread;
    bool started;
    /* a plain thread running an actor for its own ask (core/call.c): a
     * stand-in on that thread's stack, with no run queue of its own */
    bool caller;
    struct pool *pool; /* the pool it belongs to (constant) */
    /* the actor flags that send a run through run_special: AF_RUN_SPECIAL
     * on the default pool's workers, every flag on the others' (every
     * actor has AF_LIVE or AF_SYSTEM: each is checked to be theirs) */
    uint16_t run_mask;
    injq pin; /* actors pinned here (core/pool.c), this worker's alone to run */
    alignas(CACHELINE) _Atomic uint32_t parked; /* futex word */
    _Atomic uint64_t steals, parks, runs;
    /* the ref id of the actor being run, 0 between runs (relaxed stores by
     * the owner, read by the stall watchdog: observe/health.c) */
    _Atomic uint64_t running;
    /* handling latency, sampled one run in LAT_SAMPLE (core/run.c):
     * written by the owner only (relaxed), summed by readers */
    uint32_t lat_tick;
    _Atomic uint64_t lat_bucket[LAT_BUCKETS];
    _Atomic uint64_t lat_sum_ns;
    adapt ad; /* starved of its core? (core/adapt.h) the owner's alone */
} worker;

/* A worker pool (include/troupe/pool.h): its workers are
 * sys->workers[first .. first + n), of which nstarted run (a blocking pool
 * starts more, up to n, as it needs them: core/pool.c). */
typedef struct pool {
    injq inj;
    alignas(CACHELINE) _Atomic uint32_t n_parked;
    _Atomic uint32_t n_spinning;
    /* threads running: release store by the grower (under grow_lock),
     * acquire loads by whoever walks the pool's workers */
    _Atomic uint32_t nstarted;
    troupe_system *sys;
    uint32_t first, n, index;
    uint32_t initial; /* threads started with the system (n but for a blocking pool) */
    uint64_t spin_ns;
    uint32_t batch;
    int pin;
    bool blocking;
    pthread_mutex_t grow_lock;
    int *cpus; /* a copy of the config's set; NULL = the default placement */
    uint32_t ncpus;
    char name[TROUPE_POOL_NAME_MAX + 1];
} pool;

typedef struct timers timers;
typedef struct asks asks;

enum { SYS_RUNNING = 0, SYS_SHUTTING = 1, SYS_DOWN = 2 };
enum { SEND_GATE_DOWN = 1u, SEND_GATE_TRACE = 2u };

struct troupe_system {
    troupe_config cfg;
    int alloc_mode;
    uint32_t nworkers;
    worker *workers;
    table actors;
    /* this system's tag, in place (REF_TAG_MASK bits, never 0): in every
     * ref it makes, checked by every lookup; constant after create */
    uint64_t ref_tag;
    /* the worker pools (core/pool.c), the default first; each has its
     * injector, parked and searching counts */
    pool *pools;
    uint32_t npools;
    alignas(CACHELINE) _Atomic int state;
    /* What a send must look at before its plain path (send_msg, call_send),
     * one load instead of two: SEND_GATE_DOWN once state leaves SYS_RUNNING
     * (system_begin_shutdown), SEND_GATE_TRACE once a trace context was
     * ever current on a thread (send_gate_trace; sticky). 0 keeps the
     * thread-local trace check off a send's path while tracing is off. */
    _Atomic uint32_t send_gate;
    _Atomic bool stopping;
    /* the futex word BLOCK senders on plain threads wait on for room, and
     * a consumer bumps to wake them (core/space.c): a line of its own */
    alignas(CACHELINE) _Atomic uint32_t space_seq;
    alignas(CACHELINE) _Atomic uint64_t live, spawned, failed, destroyed, late_replies,
        dead_letters;
    pthread_mutex_t live_lock;
    pthread_cond_t live_cond;
    troupe_ref dead_letter;
    timers *tm;
    asks *ak;
    troupe_clock *clock;
    /* what core calls upward (core/hooks.h): set while the system is
     * created, read-only once an actor runs */
    core_hooks hooks;
    struct registry *reg;   /* registry/ */
    struct groups *grp;     /* group/ */
    struct sv *sv;          /* supervisor/ */
    struct obs *obs;        /* observe/ */
    struct breakers *brk;   /* breaker/ */
    struct migrate *mig;    /* migrate/ */
    struct probe_tab *probe; /* core/probe.c: per-type latency, traces armed */
    struct tracer *tr;      /* trace/ */
    /* the environment's deployment the pools came from (runtime/system.c
     * frees it after core_free), or NULL */
    struct troupe_deploy *deploy;
    struct fault_sys *_Atomic fault; /* core/fault.c: delayed messages, on first use */
    /* the cluster's port while one is attached (core/hooks.h): release
     * store in remote_attach, acquire load in send_other; remote_busy
     * counts sends inside the port, so that remote_detach can wait them
     * out (seq_cst, both: a Dekker pair with the port's store) */
    alignas(CACHELINE) _Atomic(remote_port *) remote;
    _Atomic uint32_t remote_busy;
    /* test mode (runtime/testkit.c, include/troupe/testkit.h): no worker
     * and no supervisor thread; the kit's thread runs everything. Set
     * before any subsystem's create, constant after. */
    bool manual;
};

/* Per-thread: what this thread is running. */
typedef struct tls_state {
    /* the system whose actors this thread's scheduling may put in its
     * worker's LIFO slot whatever their pool: set on a default pool's
     * worker only (core/sched.c); another pool's sends go by placement */
    troupe_system *sys;
    worker *w;
    troupe_ctx *ctx;   /* set while a callback runs */
    tjmp_buf *panic_jb; /* where troupe_panic unwinds to */
    bool no_block;     /* timer firing: BLOCK parks instead of waiting */
    void *trace;       /* the current trace context (trace/); NULL: none */
    char panic_reason[TROUPE_REASON_MAX];
} tls_state;

extern TROUPE_TLS tls_state troupei_tls;

/* refs (include/troupe/types.h): bits 0..31 the table index (TABLE_MAX
 * bounds it: the bits above 26 are always 0), 32..53 the generation
 * (TW_GEN_BITS), 54..63 the system's tag (core/system.c: never 0, and two
 * live systems never share one). */
#define REF_TAG_SHIFT (32 + TW_GEN_BITS)
#define REF_TAG_BITS (64 - REF_TAG_SHIFT)
#define REF_TAG_MASK (((1ull << REF_TAG_BITS) - 1) << REF_TAG_SHIFT)
_Static_assert(REF_TAG_BITS == 10, "the ref's layout (types.h) changed");

static inline troupe_ref ref_make(const troupe_system *sys, uint32_t index, uint32_t gen)
{
    return (troupe_ref){sys->ref_tag | ((uint64_t)gen << 32) | index};
}
static inline uint32_t ref_index(troupe_ref r) { return (uint32_t)r.id; }
static inline uint32_t ref_gen(troupe_ref r) { return (uint32_t)(r.id >> 32) & GEN_MASK; }

/* The actor a ref names if it is this system's (its tag; a ref of another
 * system, or with bits no ref has, names nothing here) and its generation
 * is still current (the memory is always valid; the generation is
 * re-checked by every operation). */
static inline actor *actor_lookup(troupe_system *sys, troupe_ref r)
{
    if (unlikely((r.id & REF_TAG_MASK) != sys->ref_tag))
        return NULL;
    actor *a = table_get(&sys->actors, ref_index(r));
    if (unlikely(!a || ref_gen(r) == 0))
        return NULL;
    return a;
}

/* core/sched.c */
void sched_actor(troupe_system *sys, actor *a);
void sched_inject(troupe_system *sys, actor *a);
/* n actors linked by next, head to tail, in one go: one lock, then up to
 * n parked workers woken (send_fanout). */
void sched_inject_list(troupe_system *sys, actor *head, actor *tail, uint32_t n);
/* core/fanout.c: one copy of (type, data, len) to each of n refs, as n
 * troupe_tell would; from a plain thread the actors it makes runnable go to
 * the injector together. *ok: how many mailboxes took it. 0, or
 * TROUPE_ENOMEM / TROUPE_ESHUTDOWN (the rest is not sent). */
int send_fanout(troupe_system *sys, const troupe_ref *to, uint32_t n, uint32_t type,
                const void *data, size_t len, size_t *ok);
void sched_notify(troupe_system *sys);
void sched_requeue(worker *w, actor *a);
void sched_actor_spread(troupe_system *sys, actor *a);
/* core/pool.c: where a runnable actor goes when the caller cannot run it:
 * its pinned worker's inbox, or its pool's injector, with a wake-up. */
void sched_place(troupe_system *sys, actor *a);
void injq_push(injq *q, actor *head, actor *tail, uint32_t n);
actor *injq_pop(injq *q);
/* Wake one of p's parked workers for new work (a blocking pool may start
 * one more instead). */
void pool_notify(pool *p);
/* The pools from cfg (validated), their workers' slots counted in
 * sys->nworkers; then each worker's pool (init_pool_workers). */
int pools_init(troupe_system *sys);
void pools_init_workers(troupe_system *sys);
void pools_free(troupe_system *sys);
/* The pool config check: names, CPU sets, counts. 0 or TROUPE_EINVAL. */
int pools_config_check(const troupe_config *cfg);
/* Start the first threads of every pool; a blocking pool's others later. */
int pools_start(troupe_system *sys);
/* core/sched.c: a worker thread's body */
void *sched_worker_main(void *arg);
/* A blocking pool whose workers are all in a handler while work waits
 * starts one more (up to its bound). */
void pool_maybe_grow(pool *p);
/* The system's own copy of a pool's name (lives with the system), or NULL
 * when it has no pool of that name. */
const char *pool_name_of(troupe_system *sys, const char *name);
/* The worker a is pinned to, + 1; 0 when it is not pinned. */
uint32_t sched_pinned(const actor *a);
/* true when a may run on w (its pool; its pinned worker). */
bool placed_here(const worker *w, const actor *a);
/* The pool index and pin (global worker + 1, 0 = none) for a spawn. */
int pool_resolve(troupe_system *sys, const troupe_spawn_opts *o, uint8_t *home, uint32_t *pin);
int sched_start(troupe_system *sys);
void sched_stop(troupe_system *sys);

/* core/run.c */
void run_actor(worker *w, actor *a);
void actor_finish(troupe_system *sys, actor *a, troupe_failure_kind why);
/* The end for good: stop callback (if stop_cb), drop what is queued, close,
 * tell monitors and the registry (with `reason`, may be NULL), free. */
void actor_end(troupe_system *sys, actor *a, troupe_failure_kind why, bool stop_cb,
               const char *reason);

/* core/send.c */
int send_msg(troupe_system *sys, troupe_ref to, tmsg *m);
/* A traced send may box its context for `to`: a local actor, or another
 * node's while the cluster's port is attached. */
bool send_traceable(troupe_system *sys, troupe_ref to);
int send_sys(troupe_system *sys, troupe_ref to, const tmsg *m);
/* send_sys with an envelope allocated beforehand (talloc(sys->alloc_mode)),
 * for a message that must not be lost to a failed allocation (the
 * journal's acks: an actor waits for them). 0: the envelope is the
 * receiver's; TROUPE_ENOACTOR: it stays the caller's. */
struct envelope;
int send_sys_env(troupe_system *sys, troupe_ref to, struct envelope *e);
struct troupe_ctx;
void note_muted(struct troupe_ctx *c, actor *a);
#define PUSH_FULL 1 /* send_push_one: the ring is full (not an error code) */
/* One slot, one message: 0 (scheduling the receiver if this made it
 * runnable), PUSH_FULL, TROUPE_ENOACTOR or TROUPE_ENOMEM. */
int send_push_one(troupe_system *sys, actor *a, uint32_t gen, const tmsg *m);

/* core/space.c: BLOCK from a plain thread. Wait for room in a's ring up
 * to the system's block timeout, then push m (send_push_one's codes,
 * TROUPE_ETIMEDOUT or TROUPE_ESHUTDOWN). */
int space_wait_blocking(troupe_system *sys, actor *a, uint32_t gen, tmsg *m);
/* The consumer, at the end of a's run, when a->mb.space_wait is set: wake
 * a's waiting senders once its ring is half free (or a has ended). */
void space_wake(troupe_system *sys, actor *a);

/* core/park.c */
int park_msg(troupe_system *sys, actor *a, uint32_t gen, tmsg *m);
void park_flush(worker *w);
void park_move_in(troupe_system *sys, actor *a);
void park_drop(troupe_system *sys, actor *a);
void unmute_sender(troupe_system *sys, uint64_t sender_ref, uint32_t n);
bool mute_take_suspended(actor *a);
void send_flush(worker *w);

/* core/ask.c */
int asks_create(troupe_system *sys);
/* core/call.c: troupe_ask's send from a plain thread. As send_msg, but when
 * this send makes the receiver runnable the calling thread runs it (one
 * run, as a worker would) instead of handing it to a worker. */
int call_send(troupe_system *sys, troupe_ref to, tmsg *m);
/* troupe_ask's body; caller_runs: troupe_call's (send through call_send). */
int ask_plain(troupe_system *sys, troupe_ref to, uint32_t type, const void *data, size_t len,
              uint64_t timeout_ns, uint32_t *reply_type, void *reply_buf, size_t reply_cap,
              size_t *reply_len, bool caller_runs);
void asks_destroy(troupe_system *sys);
/* Fail fast: m is dropped unanswered (its actor ended, or failed handling
 * it): an ask fails at once with `code` instead of at its timeout. */
void ask_abandon(troupe_system *sys, const tmsg *m, int code);
/* An incarnation of a ends (its state goes): the asks it holds (deferred
 * replies) fail, its published view is retired. */
void ask_on_exit(troupe_system *sys, actor *a);

struct sv_child;

/* core/system.c — core's own part of a system's life. The composition root
 * (runtime/system.c) calls these in this order, around its subsystems'
 * create, start, drain, stop and destroy. */
/* The config's core fields (workers, mailbox, batch, ...): 0 or TROUPE_EINVAL. */
int core_config_check(const troupe_config *cfg);
/* A zeroed system with core's default hooks; NULL on ENOMEM. */
troupe_system *core_new(void);
/* Its actor table, workers, asks and timers (cfg validated). */
int core_init(troupe_system *sys, const troupe_config *cfg);
/* The dead-letter actor, then the workers. */
int core_start(troupe_system *sys);
/* Refuse new work and send every actor its stop (no wait). */
void system_begin_shutdown(troupe_system *sys);
/* Before a trace context first becomes current on any thread: sends look
 * for it from then on (send_gate). */
void send_gate_trace(troupe_system *sys);
/* system_begin_shutdown, then wait up to timeout_ns for no live actor. */
int core_shutdown(troupe_system *sys, uint64_t timeout_ns);
/* The system is down: the workers stop and are joined. */
void core_halt(troupe_system *sys);
/* The timers stop, every actor still open ends, asks and timers go. */
void core_finish(troupe_system *sys);
/* The actor table, the workers, the system itself. */
void core_free(troupe_system *sys);

/* core/actor.c */
int dead_letter_spawn(troupe_system *sys);
bool dead_letter_beh_is(const troupe_behaviour *beh);
/* A runtime actor (AF_SYSTEM: not counted live, runs through shutdown). */
int spawn_system(troupe_system *sys, const troupe_behaviour *beh, troupe_ref *out);
/* troupe_spawn without letting the actor go: on success the caller holds it
 * (sends queue, nothing runs it) until actor_release. child (may be NULL)
 * is set in its ext, and name (may be NULL) registered for it, before init
 * runs: a taken name fails with TROUPE_EEXIST and no callback run. */
int spawn_held(troupe_system *sys, const troupe_behaviour *beh, const void *arg,
               const troupe_spawn_opts *opts, struct sv_child *child, const char *name,
               troupe_ref *out);
void actor_release(troupe_system *sys, actor *a);
int actor_alloc_state(troupe_system *sys, actor *a);
void actor_free_state(troupe_system *sys, actor *a);
int actor_run_init(troupe_system *sys, actor *a, const void *arg);
void actor_stop_cb(troupe_system *sys, actor *a, troupe_failure_kind why);
void actor_drop_msg(troupe_system *sys, tmsg *m); /* destroy + count */
/* Hand-over and re-init of a supervised actor (supervisor/child.c asks):
 * actor_hold frees the state and holds the actor (sends queue, nothing
 * runs it), returning its mailbox's claim position; actor_reinit, on the
 * worker the held actor was scheduled on (AF_REINIT), drops the stop
 * signals of earlier incarnations and optionally the messages queued
 * before the hold, allocates a fresh state, runs init (panics caught) and
 * lets the actor go. On failure it returns the code and the actor stays
 * held, its reason in troupei_tls.panic_reason after a panic or a
 * recovery's failure. Ref, generation, mailbox and name are unchanged.
 * The caller owns the held actor throughout (its supervisor's thread, or
 * the worker running the re-init). */
typedef struct actor_reinit_spec {
    const void *arg; /* init's argument */
    uint64_t epoch;  /* the new incarnation: stops (STOP_FROM_SV) of older ones go */
    bool drop_queued; /* drop the user messages accepted before held_at */
    uint64_t held_at; /* actor_hold's answer */
} actor_reinit_spec;
uint64_t actor_hold(troupe_system *sys, actor *a);
int actor_reinit(troupe_system *sys, actor *a, const actor_reinit_spec *r);
/* Have a held actor re-initialised: the worker that runs it next calls
 * its supervisor's re-init (AF_REINIT), which calls actor_reinit. */
void actor_reinit_schedule(troupe_system *sys, actor *a);

/* internal system message types (system lane) */
#define SYSMSG_FIRST (TROUPE_MSG_SYSTEM + 0x100u) /* internal from here on */
#define SYSMSG_STOP (TROUPE_MSG_SYSTEM + 0x100u) /* corr = troupe_failure_kind */
#define SYSMSG_KILL (TROUPE_MSG_SYSTEM + 0x101u) /* not trappable */
/* health (observe/health.c): sender = the monitor, corr = the ping's
 * number; the pong's sender is the pinged actor, its payload the verdict */
#define SYSMSG_PING (TROUPE_MSG_SYSTEM + 0x102u)
#define SYSMSG_PONG (TROUPE_MSG_SYSTEM + 0x103u)
#define SYSMSG_HTICK (TROUPE_MSG_SYSTEM + 0x106u) /* the health monitor's tick */
#define SYSMSG_PROBE (TROUPE_MSG_SYSTEM + 0x10Cu) /* a trace was armed (core/probe.c) */
#define SYSMSG_FAULT (TROUPE_MSG_SYSTEM + 0x10Eu) /* message faults set or cleared (core/fault.c) */
/* persistence: the journal writer's answer, ptr = the request (jreq) */
#define SYSMSG_PERSISTED (TROUPE_MSG_SYSTEM + 0x104u)
#define SYSMSG_PERSIST_FAILED (TROUPE_MSG_SYSTEM + 0x105u)
/* A stop or kill's corr: the kind in the low byte; a supervisor's also
 * carries its child's restart count (the incarnation it was meant for). */
#define STOP_KIND(corr) ((uint16_t)((corr) & 0xFFu))
#define STOP_FROM_SV (1ull << 8)
#define STOP_EPOCH_SHIFT 16

#endif
