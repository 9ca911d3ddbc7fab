/* persistence/jguard.h — the map behind guard.h, kept by journal.c. */
#ifndef TROUPE_PERSISTENCE_JGUARD_H
#define TROUPE_PERSISTENCE_JGUARD_H

#include "base/namespace.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "persistence/backend.h"

typedef struct jguards jguards;

/* TROUPE_EINVAL for a table name that is not [a-z_][a-z0-9_]{0,62}. */
int jguards_new(const char *table, jguards **out);
void jguards_free(jguards *g);
bool jguards_same_table(const jguards *g, const char *table);
const char *jguards_table(const jguards *g);
/* epoch 0 removes pid's guard. */
int jguards_set(jguards *g, const char *pid, uint64_t epoch);
/* pid's epoch, 0 if unguarded (cheap when no guard is set). */
uint64_t jguards_of(jguards *g, const char *pid);

#endif
