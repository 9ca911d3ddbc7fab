/* persistence/pg_disabled.c — the PostgreSQL backend when the library is
 * built without it (-Dpersistence-postgres=disabled: libpq is neither
 * looked up nor linked). Opening it fails with TROUPE_ENOTSUP and a text
 * saying why, so troupe_journal_open_postgres answers the same and
 * troupe_journal_open_error tells the user (include/troupe/persist.h). */
#include "persistence/backend.h"

int backend_pg_open(const char *conninfo, backend **out, char *err)
{
    if (!conninfo || !out) {
        backend_errf(err, "postgres open: NULL argument");
        return TROUPE_EINVAL;
    }
    *out = NULL;
    backend_errf(err, "postgres: not built into this library (-Dpersistence-postgres=disabled)");
    return TROUPE_ENOTSUP;
}

int backend_pg_open_id(const char *conninfo, const char *idfile, backend **out, char *err)
{
    (void)idfile;
    return backend_pg_open(conninfo, out, err);
}
