/* core/fault.h — message faults, the runtime's side (troupe/fault.h). */
#ifndef TROUPE_CORE_FAULT_H
#define TROUPE_CORE_FAULT_H

#include "core/system.h"

typedef struct fault_actor fault_actor;
typedef struct fault_sys fault_sys;

/* AF_FAULT: the start of a run (core/run.c, run_special). */
void fault_run(worker *w, actor *a);
/* SYSMSG_FAULT (core/hooks.c): set or clear AF_FAULT on the owner. */
int fault_serve(worker *w, actor *a, troupe_failure_kind *kind, const char **reason);
/* The actor is held for a restart: its faults end (core/actor.c). */
void fault_hold(actor *a);
/* The slot's ext goes (core/ext.c). */
void fault_actor_free(fault_actor *f);
/* After the timers stopped: the delayed messages that never fired. */
void fault_sys_free(troupe_system *sys);

#endif
