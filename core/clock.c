/* core/clock.c — monotonic, user and manual clocks. */
#include <stdlib.h>

#include "core/alloc.h"

#include "core/timer.h"

struct troupe_clock {
    troupe_clock_fn fn;
    void *ud;
    bool manual;
    _Atomic uint64_t now;
    pthread_mutex_t lock;
    timers **regs; /* timer services to fire on advance */
    size_t nregs, capregs;
};

static int clock_new(troupe_clock **out, troupe_clock_fn fn, void *ud, bool manual,
                     uint64_t start)
{
    if (!out)
        return TROUPE_EINVAL;
    troupe_clock *c = sys_calloc(1, sizeof *c);
    if (!c)
        return TROUPE_ENOMEM;
    c->fn = fn;
    c->ud = ud;
    c->manual = manual;
    atomic_init(&c->now, start);
    pthread_mutex_init(&c->lock, NULL);
    *out = c;
    return 0;
}

TROUPE_API int troupe_clock_create(troupe_clock **out, troupe_clock_fn now, void *ud)
{
    if (!now)
        return TROUPE_EINVAL;
    return clock_new(out, now, ud, false, 0);
}

TROUPE_API int troupe_clock_create_manual(troupe_clock **out, uint64_t start_ns)
{
    return clock_new(out, NULL, NULL, true, start_ns);
}

TROUPE_API void troupe_clock_destroy(troupe_clock *clk)
{
    if (!clk)
        return;
    pthread_mutex_destroy(&clk->lock);
    free(clk->regs);
    free(clk);
}

TROUPE_API uint64_t troupe_clock_now(const troupe_clock *clk)
{
    if (!clk)
        return mono_ns();
    if (clk->manual)
        /* acquire: pairs with troupe_clock_advance's release. */
        return atomic_load_explicit(&clk->now, memory_order_acquire);
    return clk->fn(clk->ud);
}

bool clock_is_manual(const troupe_clock *clk) { return clk && clk->manual; }

TROUPE_API int troupe_clock_advance(troupe_clock *clk, uint64_t delta_ns)
{
    if (!clk || !clk->manual)
        return TROUPE_EINVAL;
    pthread_mutex_lock(&clk->lock);
    /* saturates: a manual clock stops at the end of time, never wraps */
    uint64_t now = deadline_add(atomic_load_explicit(&clk->now, memory_order_relaxed), delta_ns);
    atomic_store_explicit(&clk->now, now, memory_order_release);
    for (size_t i = 0; i < clk->nregs; i++)
        timers_fire_due(clk->regs[i], now);
    pthread_mutex_unlock(&clk->lock);
    return 0;
}

int clock_register(troupe_clock *clk, timers *tm)
{
    if (!clk)
        return 0;
    pthread_mutex_lock(&clk->lock);
    int rc = tr_grow((void **)&clk->regs, &clk->capregs, clk->nregs + 1, sizeof *clk->regs, 4);
    if (!rc)
        clk->regs[clk->nregs++] = tm;
    pthread_mutex_unlock(&clk->lock);
    return rc;
}

void clock_unregister(troupe_clock *clk, timers *tm)
{
    if (!clk)
        return;
    pthread_mutex_lock(&clk->lock);
    for (size_t i = 0; i < clk->nregs; i++)
        if (clk->regs[i] == tm) {
            clk->regs[i] = clk->regs[--clk->nregs];
            break;
        }
    pthread_mutex_unlock(&clk->lock);
}
