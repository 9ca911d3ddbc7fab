/* tests/fuzz/fuzz_flags.c — the flags file's parser (migrate/flags_parse.c,
 * what migrate/flags_file.c hands every version of the file to): any
 * bytes, at most the 64 KiB the reader accepts. On success every entry
 * must be a valid name, unique, with a value in range that formats
 * (troupe_flag_format) to text the parser reads back as the same value;
 * on failure the error text must be a NUL-terminated line naming the
 * label. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "migrate/mig.h"

#define FILE_MAX (64u << 10) /* flags_file.c's limit */

static void check_entry(const parsed *p, size_t i)
{
    const fentry *e = &p->e[i];
    size_t n = strnlen(e->name, sizeof e->name);
    if (n == sizeof e->name || !flag_name_ok(e->name, n) || e->line < 1)
        abort();
    for (size_t j = 0; j < i; j++)
        if (strcmp(p->e[j].name, e->name) == 0)
            abort(); /* a duplicate got through */
    char text[TROUPE_FLAG_TEXT_MAX];
    troupe_flag_value back;
    if (troupe_flag_format(e->v, text, sizeof text) < 0 ||
        value_parse(text, strlen(text), &back) != VAL_OK || back.kind != e->v.kind ||
        back.percent != e->v.percent)
        abort(); /* a value accepted that does not read back */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FILE_MAX)
        return 0;
    char err[256];
    memset(err, 'x', sizeof err);
    parsed p = {.err = err, .errcap = sizeof err, .label = "fuzz.conf"};
    int rc = parse_text(&p, (const char *)data, size);
    if (rc == 0) {
        for (size_t i = 0; i < p.n; i++)
            check_entry(&p, i);
    } else if (rc != TROUPE_EINVAL || !memchr(err, '\0', sizeof err) ||
               strncmp(err, "fuzz.conf:", 10) != 0) {
        if (rc != TROUPE_ENOMEM)
            abort();
    }
    free(p.e);
    return 0;
}
