/* runtime/deploy.c — deployments (include/troupe/deploy.h): the handle, and
 * where the text comes from (a buffer, a file, the environment). The
 * parser is deploy_parse.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "runtime/deploy_int.h"

void troupe_deploy_destroy(troupe_deploy *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++)
        free(d->p[i].cpus);
    free(d);
}

/* The public view of each pool, pointing into d's own storage. */
static void make_view(troupe_deploy *d)
{
    for (size_t i = 0; i < d->n; i++) {
        const dpool *p = &d->p[i];
        d->cfg[i] = (troupe_pool_config){
            .name = p->name, .workers = p->workers, .cpus = p->ncpus ? p->cpus : NULL,
            .ncpus = p->ncpus, .pin = p->pin, .spin_ns = p->spin_ns, .batch = p->batch,
            .blocking = p->blocking, .max_workers = p->max_workers,
        };
    }
}

static int parse_with(const troupe_topology *t, const char *text, size_t len, troupe_deploy **out,
                      char *err, size_t errlen)
{
    dctx c = {.topo = t, .err = err, .errlen = errlen};
    c.d = sys_calloc(1, sizeof *c.d);
    if (!c.d)
        return deploy_fail(&c, TROUPE_ENOMEM, "out of memory");
    int rc = deploy_parse_text(&c, text, len);
    if (rc != 0) {
        troupe_deploy_destroy(c.d);
        return rc;
    }
    make_view(c.d);
    *out = c.d;
    return 0;
}

int troupe_deploy_parse_on(const troupe_topology *t, const char *text, size_t len,
                           troupe_deploy **out, char *err, size_t errlen)
{
    if (err && errlen > 0)
        err[0] = '\0';
    if (!out || (!text && len > 0))
        return TROUPE_EINVAL;
    *out = NULL;
    if (t)
        return parse_with(t, text, len, out, err, errlen);
    troupe_topology *own;
    int rc = troupe_topology_open(NULL, NULL, &own);
    if (rc != 0) {
        if (err && errlen > 0)
            snprintf(err, errlen, "the machine's topology: %s", troupe_strerror(rc));
        return rc;
    }
    rc = parse_with(own, text, len, out, err, errlen);
    troupe_topology_destroy(own);
    return rc;
}

int troupe_deploy_parse(const char *text, size_t len, troupe_deploy **out, char *err, size_t errlen)
{
    return troupe_deploy_parse_on(NULL, text, len, out, err, errlen);
}

/* The whole file, at most TROUPE_DEPLOY_TEXT_MAX + 1 bytes (one more says
 * it is too long), into a sys_malloc'ed buffer. */
static int read_all(const char *path, char **text, size_t *len, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return TROUPE_EIO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        snprintf(err, errlen, "%s: not a regular file", path);
        return TROUPE_EIO;
    }
    size_t cap = TROUPE_DEPLOY_TEXT_MAX + 1, n = 0;
    char *buf = sys_malloc(cap);
    ssize_t k = 1;
    while (buf && n < cap && (k = read(fd, buf + n, cap - n)) != 0) {
        if (k < 0 && errno != EINTR)
            break;
        n += k > 0 ? (size_t)k : 0;
    }
    close(fd);
    if (!buf || k < 0) {
        free(buf);
        snprintf(err, errlen, "%s: %s", path, buf ? "read failed" : "out of memory");
        return buf ? TROUPE_EIO : TROUPE_ENOMEM;
    }
    *text = buf, *len = n;
    return 0;
}

/* Prefixes err's text with "prefix: ". */
static void prefix_err(char *err, size_t errlen, const char *prefix)
{
    size_t pn = strlen(prefix), en = strnlen(err, errlen);
    if (errlen == 0 || pn + 2 >= errlen)
        return;
    if (en > errlen - pn - 3)
        en = errlen - pn - 3;
    memmove(err + pn + 2, err, en);
    memcpy(err, prefix, pn);
    memcpy(err + pn, ": ", 2);
    err[pn + 2 + en] = '\0';
}

int troupe_deploy_load_file(const char *path, troupe_deploy **out, char *err, size_t errlen)
{
    char dummy[1];
    if (!err || errlen == 0)
        err = dummy, errlen = sizeof dummy;
    err[0] = '\0';
    if (!path || !out)
        return TROUPE_EINVAL;
    *out = NULL;
    char *text;
    size_t len;
    int rc = read_all(path, &text, &len, err, errlen);
    if (rc != 0)
        return rc;
    rc = troupe_deploy_parse(text, len, out, err, errlen);
    free(text);
    if (rc != 0)
        prefix_err(err, errlen, path);
    return rc;
}

int troupe_deploy_from_env(troupe_deploy **out, char *err, size_t errlen)
{
    char dummy[1];
    if (!err || errlen == 0)
        err = dummy, errlen = sizeof dummy;
    err[0] = '\0';
    if (!out)
        return TROUPE_EINVAL;
    *out = NULL;
    const char *text = getenv("TROUPE_DEPLOY"), *path = getenv("TROUPE_DEPLOY_FILE");
    text = text && *text ? text : NULL;
    path = path && *path ? path : NULL;
    if (text && path) {
        snprintf(err, errlen, "TROUPE_DEPLOY and TROUPE_DEPLOY_FILE are both set (one of them)");
        return TROUPE_EINVAL;
    }
    int rc = text ? troupe_deploy_parse(text, strlen(text), out, err, errlen)
                  : path ? troupe_deploy_load_file(path, out, err, errlen) : 0;
    if (rc != 0)
        prefix_err(err, errlen, text ? "TROUPE_DEPLOY" : "TROUPE_DEPLOY_FILE");
    return rc;
}

int troupe_deploy_pools(const troupe_deploy *d, const troupe_pool_config **pools, size_t *n)
{
    if (!d || !pools || !n)
        return TROUPE_EINVAL;
    *pools = d->cfg;
    *n = d->n;
    return 0;
}
