/* persistence/guard.h — append guards: a journal's events of a persistence
 * id stored only while the writer still holds its ownership epoch.
 *
 * The layer above (cluster/, which owns actors across nodes) names a guard
 * table — columns pid text and epoch bigint, in the journal's own database
 * — and sets, per persistence id, the epoch this process owns it at. The
 * journal's writer then appends that id's events with backend_ops.
 * append_guarded: the epoch is checked in the same transaction as the
 * append. Events refused fail their actor with TROUPE_EFENCED (kind
 * TROUPE_EXIT_PERSISTENCE) and count in troupe_journal_stats.fenced.
 * Persistence knows nothing of nodes or leases: only "this id, this epoch,
 * that table" (persistence/README.md, "Guards").
 */
#ifndef TROUPE_PERSISTENCE_GUARD_H
#define TROUPE_PERSISTENCE_GUARD_H

#include "base/namespace.h"

#include <stdint.h>

#include "troupe/persist.h"

/* Name the guard table (1..63 bytes of [a-z0-9_], not starting with a
 * digit). TROUPE_ENOTSUP for a journal whose backend cannot guard (memory,
 * SQLite), TROUPE_EINVAL for a bad name, TROUPE_ENOMEM. May be called
 * again with the same name. */
int journal_guard_table(troupe_journal *j, const char *table);
/* Guard pid's events from now on with epoch (0: unguarded again). Events
 * already queued are checked against the epoch set when they are written.
 * TROUPE_ESTATE before journal_guard_table, TROUPE_EINVAL, TROUPE_ENOMEM. */
int journal_guard_set(troupe_journal *j, const char *pid, uint64_t epoch);

#endif
