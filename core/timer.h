/* core/timer.h — the timer service of a system (public API: troupe/timer.h). */
#ifndef TROUPE_CORE_TIMER_H
#define TROUPE_CORE_TIMER_H

#include "core/system.h"

typedef void (*timer_fn)(troupe_system *sys, uint64_t arg);

int timers_create(troupe_system *sys);
/* Stop the timer thread (pending timers never fire). */
void timers_stop(troupe_system *sys);
void timers_destroy(troupe_system *sys);
/* An internal timer: calls fn(sys, arg) on the timer thread (or inside
 * troupe_clock_advance) after delay_ns, taken modulo 2^64 (a `deadline -
 * now` that went below zero is due at once; a caller with a deadline
 * should rather use timer_add_fn_at). */
int timer_add_fn(troupe_system *sys, uint64_t delay_ns, timer_fn fn, uint64_t arg,
                 troupe_timer *out);
/* The same at an absolute deadline on the system's clock: no clock read
 * between the caller's and the deadline, so none can push it later.
 * DEADLINE_NEVER (core/common.h) never fires (the timer stays pending until
 * canceled). A time already past fires at once on the real clock, and at
 * the next advance on a manual one (the caller checks the clock after
 * adding). */
int timer_add_fn_at(troupe_system *sys, uint64_t deadline, timer_fn fn, uint64_t arg,
                    troupe_timer *out);
/* Fire every timer due at `now` (manual clocks). */
void timers_fire_due(timers *tm, uint64_t now);

/* core/clock.c */
int clock_register(troupe_clock *clk, timers *tm);
void clock_unregister(troupe_clock *clk, timers *tm);
bool clock_is_manual(const troupe_clock *clk);

#endif
