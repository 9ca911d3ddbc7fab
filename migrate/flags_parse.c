/* migrate/flags_parse.c — the flags file's text: one `name = value` per
 * line, comments, blank lines; every rule checked, the first broken one
 * reported with its line number ("flags.conf:7: percentage outside
 * 0-100"). Pure: no file, no lock. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "migrate/mig.h"

static int fail(parsed *p, int line, const char *what)
{
    snprintf(p->err, p->errcap, "%s:%d: %s", p->label, line, what);
    return TROUPE_EINVAL;
}

static void trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t' || **s == '\r'))
        (*s)++, (*n)--;
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' || (*s)[*n - 1] == '\r'))
        (*n)--;
}

static int check_entry(parsed *p, const fentry *e)
{
    if (fv_is_mode(e->v.kind) && !flag_name_is_adapter(e->name))
        return fail(p, e->line, "legacy, shadow, canary and actor are for adapter.<name> flags");
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->e[i].name, e->name) == 0) {
            char msg[TROUPE_FLAG_NAME_MAX + 48];
            snprintf(msg, sizeof msg, "\"%s\" is already set on line %d", e->name, p->e[i].line);
            return fail(p, e->line, msg);
        }
    return 0;
}

/* One line without its newline: blank, a comment, or name = value. */
static int parse_line(parsed *p, const char *s, size_t n, int line)
{
    const char *hash = memchr(s, '#', n);
    if (hash)
        n = (size_t)(hash - s);
    trim(&s, &n);
    if (n == 0)
        return 0;
    const char *eq = memchr(s, '=', n);
    if (!eq)
        return fail(p, line, "expected name = value");
    const char *name = s, *val = eq + 1;
    size_t nn = (size_t)(eq - s), vn = n - nn - 1;
    trim(&name, &nn), trim(&val, &vn);
    if (!flag_name_ok(name, nn))
        return fail(p, line, "bad flag name (1..63 of A-Z a-z 0-9 _ . -)");
    fentry e = {.line = line};
    memcpy(e.name, name, nn);
    int why = value_parse(val, vn, &e.v);
    if (why == VAL_RANGE)
        return fail(p, line, "percentage outside 0-100");
    if (why != VAL_OK)
        return fail(p, line, "bad value (on, off, NN%, legacy, shadow, canary NN%, actor)");
    int rc = check_entry(p, &e);
    if (rc == 0)
        p->e[p->n++] = e;
    return rc;
}

int parse_text(parsed *p, const char *text, size_t len)
{
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    if (!(p->e = sys_calloc(lines, sizeof *p->e)))
        return TROUPE_ENOMEM;
    if (memchr(text, '\0', len))
        return fail(p, 1, "the file holds a NUL byte");
    int line = 1, rc = 0;
    for (const char *s = text, *end = text + len; s < end && rc == 0; line++) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);
        rc = parse_line(p, s, n, line);
        s += n + 1;
    }
    return rc;
}
