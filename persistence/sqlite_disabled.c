/* persistence/sqlite_disabled.c — the SQLite backend when the library is
 * built without it (-Dpersistence-sqlite=disabled: sqlite3 is neither
 * looked up nor linked). Opening it fails with TROUPE_ENOTSUP and a text
 * saying why, so troupe_journal_open_sqlite answers the same and
 * troupe_journal_open_error tells the user (include/troupe/persist.h). */
#include "persistence/backend.h"

int backend_sqlite_open(const sqlite_opts *o, backend **out, char *err)
{
    if (!o || !out || !o->path || !*o->path) {
        backend_errf(err, "sqlite open: %s", !o || !out ? "NULL argument" : "no path");
        return TROUPE_EINVAL;
    }
    *out = NULL;
    backend_errf(err, "sqlite: not built into this library (-Dpersistence-sqlite=disabled)");
    return TROUPE_ENOTSUP;
}
