/* persistence/jfault.h — injected journal failures (troupe/fault.h). */
#ifndef TROUPE_PERSISTENCE_JFAULT_H
#define TROUPE_PERSISTENCE_JFAULT_H

#include "persistence/backend.h"

/* Before an append: 0, or TROUPE_EIO (err says so) when writes fail. */
int jfault_write(const backend *b, char *err);
/* After an append that succeeded: 0, or TROUPE_EIO when syncs fail (the
 * events were stored; the commit is reported failed). */
int jfault_sync(const backend *b, char *err);

#endif
