/* tests/fuzz/fuzz_json.c — the HTTP API's JSON writer (http/json.c) fed
 * arbitrary bytes as strings and keys, and arbitrary numbers, in a
 * document whose shape the input also chooses. Whatever the bytes, the
 * output must be one valid JSON text (json_check.h, strict), unless the
 * writer itself reports it unfit to send (http_reply_error: nested past
 * JW_DEPTH).
 *
 * Input: a stream of operations, one byte each, then its operands:
 *   op % 8: 0 open object, 1 open array, 2 close, 3 string (len u8, bytes),
 *           4 number (kind u8, 8 bytes), 5 true/false/null, 6 id (8 bytes),
 *           7 string of the rest of the input.
 * In an object every value is preceded by a key (len u8, bytes) taken
 * from the input too. Whatever is open at the end is closed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/internal.h"
#include "json_check.h"

typedef struct in {
    const uint8_t *p;
    size_t n;
} in;

static int take(in *s, void *out, size_t k)
{
    if (s->n < k)
        return 0;
    memcpy(out, s->p, k);
    s->p += k, s->n -= k;
    return 1;
}

/* len u8 then that many bytes (fewer if the input ends). */
static size_t bytes(in *s, const uint8_t **b)
{
    uint8_t len = 0;
    take(s, &len, 1);
    size_t k = len < s->n ? len : s->n;
    *b = s->p;
    s->p += k, s->n -= k;
    return k;
}

/* Keys are C strings (jw_key): cut at the first NUL. */
static void key(jw *w, in *s)
{
    const uint8_t *b;
    size_t k = bytes(s, &b);
    char *z = malloc(k + 1);
    if (!z)
        abort();
    memcpy(z, b, k);
    z[k] = '\0';
    jw_key(w, z);
    free(z);
}

static void number(jw *w, in *s)
{
    uint8_t kind = 0;
    uint64_t v = 0;
    take(s, &kind, 1);
    take(s, &v, 8);
    double d;
    memcpy(&d, &v, sizeof d);
    switch (kind % 3) {
    case 0: jw_u64(w, v); break;
    case 1: jw_i64(w, (int64_t)v); break;
    default: jw_double(w, d); break;
    }
}

static void scalar(jw *w, in *s, uint8_t op)
{
    const uint8_t *b;
    uint64_t v = 0;
    switch (op) {
    case 3: {
        size_t k = bytes(s, &b);
        jw_strn(w, (const char *)b, k);
        break;
    }
    case 4: number(w, s); break;
    case 5: take(s, &v, 1), v % 3 == 2 ? jw_null(w) : jw_bool(w, (int)(v % 3)); break;
    case 6: take(s, &v, 8), jw_id(w, v); break;
    default:
        jw_strn(w, (const char *)s->p, s->n);
        s->p += s->n, s->n = 0;
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    in s = {data, size};
    jw w = {0};
    uint8_t kinds[4096]; /* 1 object, 0 array, per open level */
    int depth = 0;
    jw_arr(&w); /* the document: an array, so scalars may come first */
    uint8_t op;
    while (take(&s, &op, 1)) {
        op %= 8;
        if (op == 2) {
            if (depth > 0)
                kinds[--depth] ? jw_obj_end(&w) : jw_arr_end(&w);
            continue;
        }
        if (depth > 0 && kinds[depth - 1])
            key(&w, &s);
        if (op <= 1) {
            if (depth == (int)sizeof kinds)
                break;
            kinds[depth++] = op == 0;
            op == 0 ? jw_obj(&w) : jw_arr(&w);
        } else {
            scalar(&w, &s, op);
        }
    }
    while (depth > 0)
        kinds[--depth] ? jw_obj_end(&w) : jw_arr_end(&w);
    jw_arr_end(&w);
    if (!http_reply_error(&w) && !json_valid(w.b.p, w.b.len))
        abort(); /* the writer produced text that is not JSON */
    hbuf_free(&w.b);
    return 0;
}
