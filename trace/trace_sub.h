/* trace/trace_sub.h — the tracer's life, for the composition root
 * (runtime/system.c); the same with or without -Dtrace (disabled.c). */
#ifndef TROUPE_TRACE_SUB_H
#define TROUPE_TRACE_SUB_H

#include "core/common.h"

/* Register the hooks (core/hooks.h) and the metrics: 0 or TROUPE_ENOMEM. */
int trace_create(troupe_system *sys);
/* The exporter sends what is queued and ends (after the workers). */
void trace_stop(troupe_system *sys);
void trace_destroy(troupe_system *sys);

#endif
