/* tests/fuzz/json_check.h — a small strict JSON validator (RFC 8259) for
 * the harnesses: what the HTTP API writes must parse for any client, so
 * the check is stricter than most parsers are lenient: one value and only
 * whitespace around it, no control character or invalid escape in a
 * string, strings UTF-8 (no overlong form, no surrogate encoded as UTF-8,
 * nothing past U+10FFFF), a \uD800-\uDBFF escape followed by its low half,
 * numbers in JSON's grammar (no leading zero, no "+", no bare "."). Our
 * own code (never copied): header-only, static functions. */
#ifndef TROUPE_FUZZ_JSON_CHECK_H
#define TROUPE_FUZZ_JSON_CHECK_H

#include <stddef.h>

typedef struct jcheck {
    const unsigned char *p, *end;
    int depth;
} jcheck;

#define JCHECK_DEPTH 1000

static int jc_value(jcheck *c);

static void jc_ws(jcheck *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int jc_lit(jcheck *c, const char *w)
{
    for (; *w; w++, c->p++)
        if (c->p >= c->end || *c->p != (unsigned char)*w)
            return 0;
    return 1;
}

static int jc_digits(jcheck *c)
{
    const unsigned char *s = c->p;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
        c->p++;
    return c->p > s;
}

static int jc_number(jcheck *c)
{
    if (c->p < c->end && *c->p == '-')
        c->p++;
    if (c->p < c->end && *c->p == '0')
        c->p++;
    else if (!(c->p < c->end && *c->p >= '1' && *c->p <= '9') || !jc_digits(c))
        return 0;
    if (c->p < c->end && *c->p == '.' && (c->p++, !jc_digits(c)))
        return 0;
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
        c->p++;
        if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
            c->p++;
        if (!jc_digits(c))
            return 0;
    }
    return 1;
}

/* Four hex digits after \u; -1 if not. */
static long jc_hex4(jcheck *c)
{
    long v = 0;
    for (int i = 0; i < 4; i++, c->p++) {
        if (c->p >= c->end)
            return -1;
        unsigned char h = *c->p;
        int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10
              : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = v << 4 | d;
    }
    return v;
}

static int jc_escape(jcheck *c)
{
    if (c->p >= c->end)
        return 0;
    unsigned char e = *c->p++;
    if (e != 'u')
        return e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' ||
               e == 't';
    long u = jc_hex4(c);
    if (u < 0 || (u >= 0xDC00 && u <= 0xDFFF))
        return 0; /* a lone low surrogate */
    if (u >= 0xD800 && u <= 0xDBFF) {
        if (!jc_lit(c, "\\u"))
            return 0;
        long lo = jc_hex4(c);
        return lo >= 0xDC00 && lo <= 0xDFFF;
    }
    return 1;
}

/* One UTF-8 sequence of 2..4 bytes, strictly (RFC 3629). */
static int jc_utf8(jcheck *c)
{
    unsigned b = *c->p;
    size_t len = b >= 0xC2 && b <= 0xDF ? 2 : b >= 0xE0 && b <= 0xEF ? 3 : b >= 0xF0 && b <= 0xF4 ? 4 : 0;
    if (!len || (size_t)(c->end - c->p) < len)
        return 0;
    unsigned s = c->p[1];
    unsigned lo = b == 0xE0 ? 0xA0 : b == 0xF0 ? 0x90 : 0x80;
    unsigned hi = b == 0xED ? 0x9F : b == 0xF4 ? 0x8F : 0xBF;
    if (s < lo || s > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((c->p[i] & 0xC0) != 0x80)
            return 0;
    c->p += len;
    return 1;
}

static int jc_string(jcheck *c)
{
    if (!jc_lit(c, "\""))
        return 0;
    while (c->p < c->end) {
        unsigned char b = *c->p;
        if (b == '"')
            return c->p++, 1;
        if (b < 0x20)
            return 0;
        if (b == '\\') {
            c->p++;
            if (!jc_escape(c))
                return 0;
        } else if (b < 0x80) {
            c->p++;
        } else if (!jc_utf8(c)) {
            return 0;
        }
    }
    return 0;
}

/* Members or elements up to `close`, after the opening byte. */
static int jc_items(jcheck *c, int object, unsigned char close)
{
    jc_ws(c);
    if (c->p < c->end && *c->p == close)
        return c->p++, 1;
    for (;;) {
        jc_ws(c);
        if (object) {
            if (!jc_string(c))
                return 0;
            jc_ws(c);
            if (!jc_lit(c, ":"))
                return 0;
        }
        if (!jc_value(c))
            return 0;
        jc_ws(c);
        if (c->p >= c->end)
            return 0;
        unsigned char b = *c->p++;
        if (b == close)
            return 1;
        if (b != ',')
            return 0;
    }
}

static int jc_value(jcheck *c)
{
    jc_ws(c);
    if (c->p >= c->end)
        return 0;
    switch (*c->p) {
    case '{':
    case '[': {
        if (++c->depth > JCHECK_DEPTH)
            return 0;
        int obj = *c->p++ == '{';
        int ok = jc_items(c, obj, obj ? '}' : ']');
        c->depth--;
        return ok;
    }
    case '"': return jc_string(c);
    case 't': return jc_lit(c, "true");
    case 'f': return jc_lit(c, "false");
    case 'n': return jc_lit(c, "null");
    default: return jc_number(c);
    }
}

/* 1 when s[0..n) is exactly one valid JSON text. */
static inline int json_valid(const char *s, size_t n)
{
    jcheck c = {(const unsigned char *)s, (const unsigned char *)s + n, 0};
    if (!jc_value(&c))
        return 0;
    jc_ws(&c);
    return c.p == c.end;
}

#endif
