/* core/fanout.c — one message to many actors (send_fanout; process groups'
 * publish, group/publish.c).
 *
 * From a plain thread a tell that makes its actor runnable takes the
 * injector's lock and looks for a parked worker to wake: per member, that
 * is most of a publish's cost when the members are idle. Here the members
 * made runnable are linked into a local list and handed to the injector in
 * one go at the end (sched_inject_list). Anything off that plain path — a
 * full mailbox (its overflow policy), an actor of another node, a worker's
 * or a traced send, a shutting-down system — goes through send_msg, one
 * member at a time, exactly as troupe_tell would. */
#include "core/message.h"
#include "core/system.h"

typedef struct runnable {
    actor *head, *tail;
    uint32_t n;
} runnable;

/* One member by the plain path: 1 if its mailbox took m (then m is its),
 * 0 if it must go through send_msg. */
static int push_plain(troupe_system *sys, troupe_ref to, tmsg *m, runnable *r)
{
    actor *a = actor_lookup(sys, to);
    if (!a)
        return 0;
    m->sender = 0; /* a plain thread */
    bool sched;
    if (mb_push_mpsc(sys, &a->mb, ref_gen(to), m, &sched) != MB_OK)
        return 0; /* nothing written: send_msg decides (overflow, gone) */
    if (sched) {
        a->next = NULL;
        if (r->tail)
            r->tail->next = a;
        else
            r->head = a;
        r->tail = a;
        r->n++;
    }
    return 1;
}

static bool plain_thread(troupe_system *sys)
{
    /* relaxed: send_gate is a hint, as in send_msg */
    return !troupei_tls.ctx && !troupei_tls.w &&
           !atomic_load_explicit(&sys->send_gate, memory_order_relaxed);
}

int send_fanout(troupe_system *sys, const troupe_ref *to, uint32_t n, uint32_t type,
                const void *data, size_t len, size_t *ok)
{
    runnable r = {0};
    bool plain = plain_thread(sys);
    int rc = 0;
    *ok = 0;
    for (uint32_t i = 0; i < n && rc != TROUPE_ESHUTDOWN && rc != TROUPE_ENOMEM; i++) {
        tmsg m;
        if ((rc = tmsg_copy(sys, &m, type, data, len)))
            break;
        if (plain && push_plain(sys, to[i], &m, &r)) {
            ++*ok;
            continue;
        }
        /* first hand on what we made runnable: send_msg may wait (BLOCK)
         * for a mailbox that only an actor still in our list would drain */
        sched_inject_list(sys, r.head, r.tail, r.n);
        r = (runnable){0};
        if ((rc = send_msg(sys, to[i], &m)))
            tmsg_destroy(sys, &m);
        else
            ++*ok;
    }
    sched_inject_list(sys, r.head, r.tail, r.n);
    return rc == TROUPE_ESHUTDOWN || rc == TROUPE_ENOMEM ? rc : 0;
}
