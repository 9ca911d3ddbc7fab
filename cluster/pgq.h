/* cluster/pgq.h — a libpq query bounded by a deadline (cluster/pgq.c). */
#ifndef TROUPE_CLUSTER_PGQ_H
#define TROUPE_CLUSTER_PGQ_H

#include "base/namespace.h"

#include <libpq-fe.h>
#include <stdint.h>

/* Run sql with n text params; *out gets the result (PQclear it). 0,
 * TROUPE_ETIMEDOUT at the deadline (mono_ns; the connection is then
 * unusable: close it), TROUPE_EIO on a failed query or a lost server. */
int pgq_exec(PGconn *c, const char *sql, int n, const char *const *params, uint64_t deadline_ns,
             PGresult **out);

/* Drop the server's notices instead of printing them on stderr. */
void pgq_quiet(PGconn *c);
/* pgq_exec on *pc, connecting first when *pc is NULL (conninfo should
 * carry a connect_timeout) and closing it (*pc = NULL) after a timeout or
 * a lost connection, so the next call starts afresh. */
int pgq_run(PGconn **pc, const char *conninfo, const char *sql, int n, const char *const *params,
            uint64_t deadline_ns, PGresult **out);

#endif /* TROUPE_CLUSTER_PGQ_H */
