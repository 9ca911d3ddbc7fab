/* persistence/backend.c — what every backend checks before it touches its
 * store, and how it words an error: one place, so that the three answer
 * the same bad input with the same code and text. */
#include "core/alloc.h"
#include "persistence/backend.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void backend_errf(char *err, const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, BACKEND_ERR_MAX, fmt, ap);
    va_end(ap);
}

int backend_check_pid(const backend *b, const char *pid, char *err)
{
    if (!b) {
        backend_errf(err, "backend is NULL");
        return TROUPE_EINVAL;
    }
    if (!pid) {
        backend_errf(err, "persistence id is NULL");
        return TROUPE_EINVAL;
    }
    size_t n = strnlen(pid, TROUPE_PERSIST_ID_MAX + 1);
    if (n == 0 || n > TROUPE_PERSIST_ID_MAX) {
        backend_errf(err, "persistence id must be 1..%d bytes (got %s)", TROUPE_PERSIST_ID_MAX,
                     n ? "more" : "an empty one");
        return TROUPE_EINVAL;
    }
    return 0;
}

int backend_check_row(const backend *b, const char *pid, uint64_t seq, const void *data,
                      size_t len, char *err)
{
    int rc = backend_check_pid(b, pid, err);
    if (rc < 0)
        return rc;
    if (seq == 0 || seq > (uint64_t)INT64_MAX) {
        backend_errf(err, "%s: seq %llu outside 1..INT64_MAX", pid, (unsigned long long)seq);
        return TROUPE_EINVAL;
    }
    if ((!data && len > 0) || len > BACKEND_DATA_MAX) {
        backend_errf(err, "%s seq %llu: %s (%zu bytes)", pid, (unsigned long long)seq,
                     data ? "data larger than BACKEND_DATA_MAX" : "data NULL", len);
        return TROUPE_EINVAL;
    }
    return 0;
}

int backend_check_events(const backend *b, const pevent *ev, size_t n, char *err)
{
    if (!b || (!ev && n > 0)) {
        backend_errf(err, "append: %s NULL, n = %zu", b ? "events" : "backend", n);
        return TROUPE_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        int rc = backend_check_row(b, ev[i].pid, ev[i].seq, ev[i].data, ev[i].len, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int backend_take(const prow *r, uint64_t *seq, uint32_t *schema, void **data, size_t *len)
{
    void *d = sys_malloc(r->len ? r->len : 1); /* never NULL, also for 0 bytes */
    if (!d)
        return TROUPE_ENOMEM;
    if (r->len)
        memcpy(d, r->data, r->len);
    *seq = r->seq;
    *schema = r->schema;
    *data = d;
    *len = r->len;
    return 0;
}
