/* supervisor/evlog.h — the system's event log (troupe_events_read,
 * include/troupe/supervisor.h): a ring of the last TROUPE_EVENTS_KEPT
 * failures, restarts, stops, escalations and flag changes.
 *
 * Writers: the supervisor thread (restarts, stops, escalations, tree lock
 * held), workers (a failure, through core's `failed` hook, registered by
 * observe/, which knows the actor's registered name) and migrate/ (a
 * flag's new value). All of them are rare, so one mutex guards the ring:
 * it is held for a copy of one entry, never while calling out, and never
 * taken on the message path. */
#ifndef TROUPE_SUPERVISOR_EVLOG_H
#define TROUPE_SUPERVISOR_EVLOG_H

#include "base/namespace.h"
#include "core/system.h"
#include "troupe/supervisor.h"

#define evlog_create troupei_evlog_create
#define evlog_destroy troupei_evlog_destroy
#define evlog_add troupei_evlog_add

typedef struct evlog evlog;

/* TROUPE_ENOMEM, or 0 (sys->sv->log set). */
int evlog_create(troupe_system *sys);
void evlog_destroy(troupe_system *sys);
/* Append one event: name, behaviour and detail may be NULL (written ""),
 * and are truncated to their fields. Any thread; a system without a log
 * (its create failed) writes nothing. */
void evlog_add(troupe_system *sys, troupe_event_kind kind, troupe_ref actor, const char *name,
               const char *behaviour, const char *detail);

#endif
