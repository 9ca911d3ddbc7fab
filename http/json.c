/* http/json.c — a growable buffer and a small JSON writer.
 *
 * Actor and behaviour names are arbitrary bytes, so strings are escaped
 * byte by byte: quotes, backslashes and control characters get escapes,
 * well-formed UTF-8 is copied, and any other byte becomes U+FFFD
 * (observe/utf8.h, shared with the Prometheus page). The result is valid
 * JSON whatever the input; a name that was not UTF-8 is shown with
 * replacement characters (lossy, but never broken). */
#include "core/alloc.h"
#include "http/internal.h"
#include "observe/utf8.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- buffer --------------------------------------------------------------- */

static int hbuf_reserve(hbuf *b, size_t n)
{
    if (b->oom)
        return -1;
    /* sys_realloc is libc's: libmicrohttpd frees the buffer (MUST_FREE) */
    if (n > SIZE_MAX - 1 - b->len || tr_grow((void **)&b->p, &b->cap, b->len + n + 1, 1, 1024))
        return b->oom = 1, -1;
    return 0;
}

/* Keeps the buffer NUL-terminated (one spare byte), for the tests' sake
 * and for anyone who prints it. */
void hbuf_put(hbuf *b, const void *data, size_t n)
{
    if (hbuf_reserve(b, n) < 0)
        return;
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void hbuf_puts(hbuf *b, const char *s) { hbuf_put(b, s, strlen(s)); }

void hbuf_free(hbuf *b)
{
    free(b->p);
    *b = (hbuf){0};
}

int hbuf_write_fn(void *ud, const char *data, size_t len)
{
    hbuf *b = ud;
    hbuf_put(b, data, len);
    return b->oom ? TROUPE_ENOMEM : 0;
}

/* ---- structure: commas and nesting ---------------------------------------- */

/* Called before every value and every key: a comma unless it is the first
 * member of its level, or the value that follows a key. */
static void jw_sep(jw *w)
{
    if (w->after_key) {
        w->after_key = 0;
        return;
    }
    if (w->depth > 0 && w->has_item[w->depth - 1])
        hbuf_put(&w->b, ",", 1);
    if (w->depth > 0)
        w->has_item[w->depth - 1] = 1;
}

static void jw_open(jw *w, char c)
{
    jw_sep(w);
    if (w->depth == JW_DEPTH) {
        w->too_deep = 1; /* a bug of the caller's bounds: http_reply_error says so */
        return;
    }
    hbuf_put(&w->b, &c, 1);
    w->has_item[w->depth++] = 0;
}

static void jw_close(jw *w, char c)
{
    if (w->depth > 0)
        w->depth--;
    hbuf_put(&w->b, &c, 1);
}

const char *http_reply_error(const jw *w)
{
    if (w->too_deep)
        return "reply nested too deep for the JSON writer";
    return w->b.oom ? "out of memory" : NULL;
}

void jw_obj(jw *w) { jw_open(w, '{'); }
void jw_obj_end(jw *w) { jw_close(w, '}'); }
void jw_arr(jw *w) { jw_open(w, '['); }
void jw_arr_end(jw *w) { jw_close(w, ']'); }

void jw_key(jw *w, const char *key)
{
    jw_str(w, key);
    hbuf_put(&w->b, ":", 1);
    w->after_key = 1;
}

/* ---- strings ----------------------------------------------------------------- */

/* Escape for one ASCII byte, or NULL when it goes as it is. `tmp` holds
 * the \u00XX form of other control characters. */
static const char *ascii_escape(unsigned char c, char tmp[8])
{
    switch (c) {
    case '"': return "\\\"";
    case '\\': return "\\\\";
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\t': return "\\t";
    case '\b': return "\\b";
    case '\f': return "\\f";
    default: break;
    }
    if (c >= 0x20 && c != 0x7F)
        return NULL;
    snprintf(tmp, 8, "\\u%04x", c);
    return tmp;
}

void jw_strn(jw *w, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    jw_sep(w);
    hbuf_put(&w->b, "\"", 1);
    for (size_t i = 0; i < n;) {
        char tmp[8];
        const char *esc = u[i] < 0x80 ? ascii_escape(u[i], tmp) : NULL;
        size_t len = utf8_seq_len(u + i, n - i);
        if (esc)
            hbuf_puts(&w->b, esc);
        else if (len)
            hbuf_put(&w->b, u + i, len);
        else
            hbuf_puts(&w->b, "\\ufffd");
        i += len ? len : 1;
    }
    hbuf_put(&w->b, "\"", 1);
}

void jw_str(jw *w, const char *s)
{
    if (!s)
        jw_null(w);
    else
        jw_strn(w, s, strlen(s));
}

/* ---- numbers and literals ---------------------------------------------------- */

static void jw_raw(jw *w, const char *text)
{
    jw_sep(w);
    hbuf_puts(&w->b, text);
}

void jw_u64(jw *w, uint64_t v)
{
    char t[24];
    snprintf(t, sizeof t, "%llu", (unsigned long long)v);
    jw_raw(w, t);
}

void jw_i64(jw *w, int64_t v)
{
    char t[24];
    snprintf(t, sizeof t, "%lld", (long long)v);
    jw_raw(w, t);
}

void jw_double(jw *w, double v)
{
    char t[32];
    if (!isfinite(v)) {
        jw_null(w);
        return;
    }
    snprintf(t, sizeof t, "%.6g", v);
    jw_raw(w, t);
}

void jw_bool(jw *w, int v) { jw_raw(w, v ? "true" : "false"); }
void jw_null(jw *w) { jw_raw(w, "null"); }

void jw_id(jw *w, uint64_t id)
{
    char t[24];
    snprintf(t, sizeof t, "0x%llx", (unsigned long long)id);
    jw_str(w, t);
}
