/* runtime/deploy_parse.c — the deployment text (docs/DEPLOY.md) into pools:
 * lines, tokens, keys and their values, each error with its line number.
 * Outside input: every byte is checked, nothing is read past len, no
 * token is assumed terminated. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "runtime/deploy_int.h"
#include "troupe/pool.h"
#include "troupe/system.h"

/* The limits are the pools' (core/pool.c's checks), so that a deployment
 * that parses is one troupe_system_create takes, and what it would refuse
 * is refused here, with its line. */
#define CPU_INDEX_MAX 65535         /* the largest CPU index a list may name */
#define CPUS_MAX TROUPE_MAX_WORKERS /* CPUs in one set, ranges expanded */
#define WORKERS_MAX TROUPE_MAX_WORKERS
#define SPIN_NS_MAX 1000000000ull   /* a second, the pools' bound */
_Static_assert(TROUPE_DEPLOY_POOLS_MAX == TROUPE_MAX_POOLS, "a deployment fits a system");

enum { K_WORKERS, K_CPUS, K_NUMA, K_PIN, K_SPIN_US, K_SPIN_NS, K_BATCH, K_BLOCKING, K_MAX, K_N };
enum { T_NUM, T_BOOL, T_CPUS };

static const struct key {
    const char *name;
    int type;
    uint64_t max;
} keys[K_N] = {
    [K_WORKERS] = {"workers", T_NUM, WORKERS_MAX},
    [K_CPUS] = {"cpus", T_CPUS, 0},
    [K_NUMA] = {"numa", T_NUM, 4095},
    [K_PIN] = {"pin", T_BOOL, 1},
    [K_SPIN_US] = {"spin_us", T_NUM, SPIN_NS_MAX / 1000},
    [K_SPIN_NS] = {"spin_ns", T_NUM, SPIN_NS_MAX},
    [K_BATCH] = {"batch", T_NUM, TROUPE_MAX_BATCH},
    [K_BLOCKING] = {"blocking", T_BOOL, 1},
    [K_MAX] = {"max", T_NUM, WORKERS_MAX},
};

int deploy_fail(dctx *c, int rc, const char *fmt, ...)
{
    if (!c->err || c->errlen == 0)
        return rc;
    int k = snprintf(c->err, c->errlen, "line %u: ", c->line);
    if (k >= 0 && (size_t)k < c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err + k, c->errlen - (size_t)k, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* A token as the error text shows it: at most 40 bytes, the unprintable
 * ones as '?', "..." when cut. */
static const char *shown(const char *s, size_t n, char out[48])
{
    size_t k = n < 40 ? n : 40;
    for (size_t i = 0; i < k; i++)
        out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    strcpy(out + k, n > 40 ? "..." : "");
    return out;
}

/* A decimal number of at most `max`: no sign, no space, no overflow. */
static int parse_u64(const char *s, size_t n, uint64_t max, uint64_t *v)
{
    if (n == 0 || n > 20)
        return -1;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9' || x > (max - (uint64_t)(s[i] - '0')) / 10)
            return -1;
        x = x * 10 + (uint64_t)(s[i] - '0');
    }
    *v = x;
    return 0;
}

static int parse_bool(const char *s, size_t n, int *v)
{
    static const char *const yes[] = {"yes", "true", "on", "1"}, *const no[] = {"no", "false", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strlen(yes[i]) == n && memcmp(s, yes[i], n) == 0)
            return *v = 1, 0;
        if (strlen(no[i]) == n && memcmp(s, no[i], n) == 0)
            return *v = 0, 0;
    }
    return -1;
}

/* Adds lo..hi to p's CPUs, refusing one listed twice (seen: a bit per CPU
 * index, so a long list costs no quadratic scan) or too many. */
static int add_range(dctx *c, dpool *p, uint64_t *seen, uint64_t lo, uint64_t hi)
{
    if (hi - lo + 1 > CPUS_MAX - p->ncpus)
        return deploy_fail(c, TROUPE_EINVAL, "cpus: more than %d CPUs", CPUS_MAX);
    for (uint64_t x = lo; x <= hi; x++) {
        if (seen[x / 64] & (1ull << (x % 64)))
            return deploy_fail(c, TROUPE_EINVAL, "cpus: cpu %d listed twice", (int)x);
        seen[x / 64] |= 1ull << (x % 64);
        p->cpus[p->ncpus++] = (int)x;
    }
    return 0;
}

/* One item of a CPU list: "N" or "N-M" (N <= M). */
static int parse_item(dctx *c, dpool *p, uint64_t *seen, const char *s, size_t n)
{
    char q[48];
    const char *dash = memchr(s, '-', n);
    size_t n1 = dash ? (size_t)(dash - s) : n;
    uint64_t lo, hi;
    if (parse_u64(s, n1, CPU_INDEX_MAX, &lo) != 0 ||
        (dash && parse_u64(dash + 1, n - n1 - 1, CPU_INDEX_MAX, &hi) != 0))
        return deploy_fail(c, TROUPE_EINVAL, "cpus: bad item '%s' (a CPU number 0..%d or a range N-M)",
                           shown(s, n, q), CPU_INDEX_MAX);
    if (!dash)
        hi = lo;
    if (hi < lo)
        return deploy_fail(c, TROUPE_EINVAL, "cpus: empty CPU set '%s' (range from high to low)",
                           shown(s, n, q));
    return add_range(c, p, seen, lo, hi);
}

static int parse_cpus(dctx *c, dpool *p, const char *s, size_t n)
{
    if (n == 0)
        return deploy_fail(c, TROUPE_EINVAL, "cpus: empty CPU set");
    uint64_t seen[(CPU_INDEX_MAX + 1) / 64] = {0};
    p->cpus = sys_malloc(CPUS_MAX * sizeof *p->cpus);
    if (!p->cpus)
        return deploy_fail(c, TROUPE_ENOMEM, "out of memory");
    for (size_t at = 0; at <= n;) {
        const char *comma = memchr(s + at, ',', n - at);
        size_t end = comma ? (size_t)(comma - s) : n;
        int rc = parse_item(c, p, seen, s + at, end - at);
        if (rc != 0)
            return rc;
        at = end + 1;
    }
    return 0;
}

static int set_num(dpool *p, int k, uint64_t v)
{
    switch (k) {
    case K_WORKERS: p->workers = (uint32_t)v; break;
    case K_NUMA: p->numa = (long)v; break;
    case K_SPIN_US: p->spin_ns = v * 1000; break;
    case K_SPIN_NS: p->spin_ns = v; break;
    case K_BATCH: p->batch = (uint32_t)v; break;
    case K_MAX: p->max_workers = (uint32_t)v; break;
    default: return -1;
    }
    return 0;
}

static int apply_value(dctx *c, dpool *p, int k, const char *v, size_t vn)
{
    char q[48];
    const struct key *ky = &keys[k];
    if (ky->type == T_CPUS)
        return parse_cpus(c, p, v, vn);
    if (ky->type == T_BOOL) {
        int b;
        if (parse_bool(v, vn, &b) != 0)
            return deploy_fail(c, TROUPE_EINVAL, "%s: bad value '%s' (yes or no)", ky->name, shown(v, vn, q));
        *(k == K_PIN ? &p->pin : &p->blocking) = b;
        return 0;
    }
    uint64_t x;
    if (parse_u64(v, vn, ky->max, &x) != 0)
        return deploy_fail(c, TROUPE_EINVAL, "%s: bad number '%s' (0..%llu)", ky->name, shown(v, vn, q),
                           (unsigned long long)ky->max);
    if (k == K_BATCH && x == 0)
        return deploy_fail(c, TROUPE_EINVAL, "batch: bad number '0' (1..%llu)", (unsigned long long)ky->max);
    return set_num(p, k, x);
}

/* One key=value token. */
static int apply_key(dctx *c, dpool *p, const char *s, size_t n)
{
    char q[48];
    const char *eq = memchr(s, '=', n);
    if (!eq)
        return deploy_fail(c, TROUPE_EINVAL, "expected key=value, found '%s'", shown(s, n, q));
    size_t kn = (size_t)(eq - s);
    for (int k = 0; k < K_N; k++) {
        if (strlen(keys[k].name) != kn || memcmp(s, keys[k].name, kn) != 0)
            continue;
        /* spin_us and spin_ns set one value: the second is a duplicate */
        unsigned bit = 1u << (k == K_SPIN_NS ? K_SPIN_US : k);
        if (p->given & bit)
            return deploy_fail(c, TROUPE_EEXIST, "key '%s' given twice", keys[k].name);
        p->given |= bit;
        return apply_value(c, p, k, eq + 1, n - kn - 1);
    }
    return deploy_fail(c, TROUPE_EINVAL, "unknown key '%s'", shown(s, kn, q));
}

static int check_name(dctx *c, const char *s, size_t n)
{
    char q[48];
    if (n > TROUPE_POOL_NAME_MAX)
        return deploy_fail(c, TROUPE_EINVAL, "pool name '%s' longer than %d bytes", shown(s, n, q),
                           TROUPE_POOL_NAME_MAX);
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        /* the pools' own alphabet (core/pool.c): lowercase only, so that
         * "Default" cannot pass for a second "default" */
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' ||
              ch == '.'))
            return deploy_fail(c, TROUPE_EINVAL, "pool name '%s': bad character (a-z 0-9 _ - . only)",
                               shown(s, n, q));
    }
    for (size_t i = 0; i < c->d->n; i++)
        if (strlen(c->d->p[i].name) == n && memcmp(c->d->p[i].name, s, n) == 0)
            return deploy_fail(c, TROUPE_EEXIST, "pool '%s' defined twice (first on line %u)", shown(s, n, q),
                               c->d->p[i].line);
    return 0;
}

/* ---- one pool: the rules between its keys, its CPUs on the topology ---------------- */

static int check_pool(dctx *c, const dpool *p)
{
    if ((p->given & (1u << K_CPUS)) && (p->given & (1u << K_NUMA)))
        return deploy_fail(c, TROUPE_EINVAL, "cpus and numa both given (one CPU set a pool)");
    if ((p->given & (1u << K_MAX)) && !p->blocking)
        return deploy_fail(c, TROUPE_EINVAL, "max: only a blocking pool grows (add blocking=yes)");
    if (p->max_workers > 0 && p->max_workers < p->workers)
        return deploy_fail(c, TROUPE_EINVAL, "max=%u is below workers=%u", p->max_workers, p->workers);
    return 0;
}

/* The CPUs of the line checked against the topology, or numa=N made its
 * CPUs. */
static int resolve_pool(dctx *c, dpool *p)
{
    if (p->numa >= 0) {
        int rc = place_numa_cpus(c->topo, (unsigned)p->numa, &p->cpus, &p->ncpus);
        if (rc == TROUPE_ENOTFOUND)
            return deploy_fail(c, rc, "numa=%ld: the machine has no such NUMA node with CPUs (it has %d)",
                               p->numa, place_numa_count(c->topo));
        if (rc != 0)
            return deploy_fail(c, rc, "numa=%ld: %s", p->numa, troupe_strerror(rc));
        if (p->ncpus > CPUS_MAX)
            return deploy_fail(c, TROUPE_EINVAL, "numa=%ld: %zu cores, more than a pool's %d", p->numa,
                               p->ncpus, CPUS_MAX);
        return 0;
    }
    for (size_t i = 0; i < p->ncpus; i++)
        if (!place_has_cpu(c->topo, p->cpus[i]))
            return deploy_fail(c, TROUPE_ENOTFOUND, "cpus: the machine has no CPU %d", p->cpus[i]);
    return 0;
}

/* ---- lines and tokens --------------------------------------------------------------- */

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

/* The next token of s[*at..n): its start and length (0 at the end). */
static size_t next_token(const char *s, size_t n, size_t *at, const char **tok)
{
    while (*at < n && is_space(s[*at]))
        (*at)++;
    *tok = s + *at;
    size_t start = *at;
    while (*at < n && !is_space(s[*at]))
        (*at)++;
    return *at - start;
}

static int parse_keys(dctx *c, dpool *p, const char *s, size_t n, size_t at)
{
    const char *tok;
    size_t tn;
    while ((tn = next_token(s, n, &at, &tok)) > 0) {
        int rc = apply_key(c, p, tok, tn);
        if (rc != 0)
            return rc;
    }
    int rc = check_pool(c, p);
    return rc != 0 ? rc : resolve_pool(c, p);
}

/* One line, its comment cut: "pool NAME key=value...", or nothing. */
static int parse_line(dctx *c, const char *s, size_t n)
{
    char q[48];
    const char *hash = memchr(s, '#', n);
    n = hash ? (size_t)(hash - s) : n;
    size_t at = 0, tn;
    const char *tok;
    if ((tn = next_token(s, n, &at, &tok)) == 0)
        return 0;
    if (tn != 4 || memcmp(tok, "pool", 4) != 0)
        return deploy_fail(c, TROUPE_EINVAL, "expected 'pool NAME key=value...', found '%s'", shown(tok, tn, q));
    if ((tn = next_token(s, n, &at, &tok)) == 0)
        return deploy_fail(c, TROUPE_EINVAL, "pool without a name");
    int rc = check_name(c, tok, tn);
    if (rc != 0)
        return rc;
    troupe_deploy *d = c->d;
    if (d->n == TROUPE_DEPLOY_POOLS_MAX)
        return deploy_fail(c, TROUPE_EINVAL, "more than %d pools", TROUPE_DEPLOY_POOLS_MAX);
    dpool *p = &d->p[d->n++]; /* counted now: destroy frees its CPUs even on failure */
    memcpy(p->name, tok, tn);
    p->name[tn] = '\0';
    p->pin = 1;
    p->numa = -1;
    p->line = c->line;
    return parse_keys(c, p, s, n, at);
}

int deploy_parse_text(dctx *c, const char *text, size_t len)
{
    c->line = 1;
    if (len > TROUPE_DEPLOY_TEXT_MAX)
        return deploy_fail(c, TROUPE_EINVAL, "the deployment is longer than %u bytes", TROUPE_DEPLOY_TEXT_MAX);
    for (size_t at = 0; at < len; c->line++) {
        size_t end = at;
        while (end < len && text[end] != '\n' && text[end] != ';' && text[end] != '\0')
            end++;
        if (end < len && text[end] == '\0')
            return deploy_fail(c, TROUPE_EINVAL, "NUL byte at column %zu", end - at + 1);
        if (end - at > TROUPE_DEPLOY_LINE_MAX)
            return deploy_fail(c, TROUPE_EINVAL, "longer than %d bytes", TROUPE_DEPLOY_LINE_MAX);
        int rc = parse_line(c, text + at, end - at);
        if (rc != 0)
            return rc;
        at = end + 1;
    }
    return 0;
}
