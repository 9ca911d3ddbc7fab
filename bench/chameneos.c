/* bench/chameneos.c — Savina 6 (chameneos): 100 creatures, one mall.
 *
 * Savina's version: every creature starts by sending MEET(colour, self) to
 * the mall. The mall keeps one waiting creature; when a second one asks, it
 * forwards MEET(second's colour, second) to the waiting one and counts a
 * meeting. A creature receiving MEET takes the complement of the two
 * colours, counts the meeting, sends CHANGE(new colour) to the other one and
 * goes back to the mall; a creature receiving CHANGE takes the colour,
 * counts the meeting and goes back to the mall. After 200,000 meetings
 * (times the scale) the mall answers every further MEET with EXIT; the
 * creature then reports its meeting count to the mall and stops itself.
 * The time runs from the start until the mall has all 100 reports.
 *
 * Checks: the creatures' counts add up to twice the meetings, every
 * message was one the protocol allows (a creature in a meeting gets no
 * second MEET, a CHANGE comes from its partner), no creature took part in
 * a meeting with itself, and every creature has ended.
 * metric: meetings per second (meetings/s).
 */
#include <string.h>
#include <time.h>

#include "common.h"

#define CREATURES 100u
#define BASE_MEETINGS 200000ull

enum { MSG_START = 1, MSG_MEET = 2, MSG_CHANGE = 3, MSG_EXIT = 4, MSG_COUNT = 5 };
enum { BLUE = 0, RED = 1, YELLOW = 2, FADED = 3 };

typedef struct meet {
    troupe_ref who;
    uint64_t colour;
} meet;

typedef struct mall_state {
    uint64_t left;       /* meetings still to arrange */
    troupe_ref waiting;  /* NONE when nobody waits */
    uint32_t faded;
    uint64_t sum;        /* meetings the creatures reported */
    uint64_t wrong;
} mall_state;

typedef struct creature_state {
    troupe_ref mall;
    uint64_t colour, meetings;
} creature_state;

static atomic_int g_done;
static _Atomic uint64_t g_progress, g_wrong;
static uint64_t g_end_ns, g_sum, g_mall_wrong;

static uint64_t complement(uint64_t a, uint64_t b)
{
    if (a == b)
        return a;
    return 3 - a - b; /* the third colour */
}

static int mall_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    mall_state *s = st;
    troupe_system *sys = troupe_ctx_system(ctx);
    switch (msg->type) {
    case MSG_START:
        memcpy(&s->left, msg->data, sizeof s->left);
        return 0;
    case MSG_MEET: {
        meet m;
        memcpy(&m, msg->data, sizeof m);
        if (!troupe_ref_eq(m.who, msg->sender) || m.colour >= FADED)
            s->wrong++;
        if (s->left == 0)
            return troupe_tell(sys, m.who, MSG_EXIT, NULL, 0);
        if (troupe_ref_is_none(s->waiting)) {
            s->waiting = m.who;
            return 0;
        }
        if (troupe_ref_eq(s->waiting, m.who))
            s->wrong++;
        s->left--;
        if ((s->left & 1023) == 0)
            atomic_store_explicit(&g_progress, s->left, memory_order_relaxed);
        troupe_ref w = s->waiting;
        s->waiting = TROUPE_REF_NONE;
        return troupe_tell(sys, w, MSG_MEET, &m, sizeof m);
    }
    case MSG_COUNT: {
        uint64_t c;
        memcpy(&c, msg->data, sizeof c);
        s->sum += c;
        if (++s->faded == CREATURES) {
            g_sum = s->sum;
            g_mall_wrong = s->wrong + !troupe_ref_is_none(s->waiting) + (s->left != 0);
            g_end_ns = bench_now_ns();
            atomic_store_explicit(&g_done, 1, memory_order_release);
        }
        return 0;
    }
    default:
        return -1;
    }
}

static int go_to_mall(troupe_ctx *ctx, creature_state *s)
{
    meet m = {troupe_self(ctx), s->colour};
    return troupe_tell(troupe_ctx_system(ctx), s->mall, MSG_MEET, &m, sizeof m);
}

static int creature_init(troupe_ctx *ctx, void *st, const void *arg)
{
    (void)ctx;
    creature_state *s = st;
    memcpy(&s->mall, arg, sizeof s->mall);
    memcpy(&s->colour, (const char *)arg + sizeof s->mall, sizeof s->colour);
    return 0;
}

static int creature_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    creature_state *s = st;
    troupe_system *sys = troupe_ctx_system(ctx);
    switch (msg->type) {
    case MSG_START:
        return go_to_mall(ctx, s);
    case MSG_MEET: { /* from the mall: another creature's colour and ref */
        meet m;
        memcpy(&m, msg->data, sizeof m);
        if (!troupe_ref_eq(msg->sender, s->mall) || troupe_ref_eq(m.who, troupe_self(ctx)) ||
            s->colour == FADED)
            atomic_fetch_add(&g_wrong, 1);
        s->colour = complement(s->colour, m.colour);
        s->meetings++;
        meet back = {troupe_self(ctx), s->colour};
        int rc = troupe_tell(sys, m.who, MSG_CHANGE, &back, sizeof back);
        return rc < 0 ? rc : go_to_mall(ctx, s);
    }
    case MSG_CHANGE: { /* from the partner the mall sent us to */
        meet m;
        memcpy(&m, msg->data, sizeof m);
        if (!troupe_ref_eq(msg->sender, m.who) || s->colour == FADED)
            atomic_fetch_add(&g_wrong, 1);
        s->colour = m.colour;
        s->meetings++;
        return go_to_mall(ctx, s);
    }
    case MSG_EXIT: {
        s->colour = FADED;
        int rc = troupe_tell(sys, s->mall, MSG_COUNT, &s->meetings, sizeof s->meetings);
        return rc < 0 ? rc : troupe_stop_self(ctx);
    }
    default:
        return -1;
    }
}

static const troupe_behaviour mall_beh = {
    .name = "chameneos.mall", .state_size = sizeof(mall_state), .handle = mall_handle};
static const troupe_behaviour creature_beh = {.name = "chameneos.creature",
                                              .state_size = sizeof(creature_state),
                                              .init = creature_init,
                                              .handle = creature_handle};

typedef struct actors {
    troupe_system *sys;
    troupe_ref mall, creatures[CREATURES];
} actors;

static void diag(void *ud)
{
    actors *a = ud;
    bench_print_stats(a->sys, "mall", a->mall);
    for (uint32_t i = 0; i < CREATURES; i += 25)
        bench_print_stats(a->sys, "creature", a->creatures[i]);
}

int main(int argc, char **argv)
{
    uint64_t n = bench_scaled(BASE_MEETINGS, bench_scale(argc, argv), 1000);
    troupe_system *sys = bench_system(1);
    static actors a;
    a.sys = sys;
    bench_check(troupe_spawn(sys, &mall_beh, NULL, NULL, &a.mall), "spawn mall");
    bench_check(troupe_tell(sys, a.mall, MSG_START, &n, sizeof n), "start mall");
    for (uint32_t i = 0; i < CREATURES; i++) {
        char arg[sizeof(troupe_ref) + sizeof(uint64_t)];
        uint64_t colour = i % 3;
        memcpy(arg, &a.mall, sizeof a.mall);
        memcpy(arg + sizeof a.mall, &colour, sizeof colour);
        bench_check(troupe_spawn(sys, &creature_beh, arg, NULL, &a.creatures[i]),
                    "spawn creature");
    }

    uint64_t t0 = bench_now_ns();
    for (uint32_t i = 0; i < CREATURES; i++)
        bench_check(troupe_tell(sys, a.creatures[i], MSG_START, NULL, 0), "start creature");
    bench_wait(&g_done, &g_progress, "the creatures' reports", diag, &a);
    double secs = (double)(g_end_ns - t0) / 1e9;

    if (g_sum != 2 * n || g_mall_wrong != 0 || atomic_load(&g_wrong) != 0)
        bench_fail("creatures report %llu meetings (want %llu); %llu protocol errors at the "
                   "mall, %llu at the creatures",
                   (unsigned long long)g_sum, (unsigned long long)(2 * n),
                   (unsigned long long)g_mall_wrong, (unsigned long long)atomic_load(&g_wrong));
    uint64_t until = bench_now_ns() + (uint64_t)(BENCH_STALL_S * 1e9);
    for (uint32_t i = 0; i < CREATURES; i++)
        while (troupe_alive(sys, a.creatures[i])) {
            if (bench_now_ns() > until)
                bench_fail("creature %u still alive after its EXIT", i);
            const struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
    bench_summary("chameneos", "throughput", (double)n / secs, "meetings/s");
    troupe_system_destroy(sys);
    return 0;
}
