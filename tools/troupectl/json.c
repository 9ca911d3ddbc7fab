/* tools/troupectl/json.c — see json.h. A recursive-descent parser with a
 * depth bound; every read is checked against the end of the input. */
#include "json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct rd {
    const char *p, *end;
    int depth;
} rd;

static jv *parse_value(rd *r);

static void ws(rd *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

static int lit(rd *r, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
        return 0;
    r->p += n;
    return 1;
}

static jv *node(jv_kind k)
{
    jv *v = calloc(1, sizeof *v);
    if (v)
        v->kind = k;
    return v;
}

static int hex4(rd *r, unsigned *out)
{
    if (r->end - r->p < 4)
        return 0;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = r->p[i];
        int d = c >= '0' && c <= '9' ? c - '0'
                : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10
                                                          : -1;
        if (d < 0)
            return 0;
        v = v << 4 | (unsigned)d;
    }
    r->p += 4;
    *out = v;
    return 1;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80)
        return o[0] = (char)cp, 1;
    if (cp < 0x800)
        return o[0] = (char)(0xC0 | cp >> 6), o[1] = (char)(0x80 | (cp & 0x3F)), 2;
    if (cp < 0x10000)
        return o[0] = (char)(0xE0 | cp >> 12), o[1] = (char)(0x80 | (cp >> 6 & 0x3F)),
               o[2] = (char)(0x80 | (cp & 0x3F)), 3;
    return o[0] = (char)(0xF0 | cp >> 18), o[1] = (char)(0x80 | (cp >> 12 & 0x3F)),
           o[2] = (char)(0x80 | (cp >> 6 & 0x3F)), o[3] = (char)(0x80 | (cp & 0x3F)), 4;
}

/* One escape after the backslash into o; bytes written, 0 when bad. */
static size_t escape(rd *r, char *o)
{
    if (r->p >= r->end)
        return 0;
    char c = *r->p++;
    const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
    const char *k = strchr(from, c);
    if (c && k)
        return o[0] = to[k - from], 1;
    unsigned cp;
    if (c != 'u' || !hex4(r, &cp))
        return 0;
    if (cp >= 0xD800 && cp < 0xDC00) { /* a surrogate pair, or U+FFFD */
        unsigned lo;
        const char *save = r->p;
        if (r->end - r->p >= 6 && r->p[0] == '\\' && r->p[1] == 'u' && (r->p += 2, hex4(r, &lo)) &&
            lo >= 0xDC00 && lo < 0xE000)
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        else
            r->p = save, cp = 0xFFFD;
    } else if (cp >= 0xDC00 && cp < 0xE000) {
        cp = 0xFFFD;
    }
    return put_utf8(o, cp);
}

/* A string (the opening quote consumed) into a fresh buffer. */
static char *parse_chars(rd *r, size_t *len)
{
    /* decoded text is never longer than the raw text */
    const char *q = r->p;
    while (q < r->end && *q != '"')
        q += *q == '\\' && q + 1 < r->end ? 2 : 1;
    if (q >= r->end)
        return NULL;
    char *s = malloc((size_t)(q - r->p) + 4 + 1), *o = s;
    if (!s)
        return NULL;
    while (r->p < r->end && *r->p != '"') {
        unsigned char c = (unsigned char)*r->p;
        if (c < 0x20) {
            free(s);
            return NULL;
        }
        if (c != '\\') {
            *o++ = (char)c, r->p++;
            continue;
        }
        r->p++;
        size_t k = escape(r, o);
        if (!k) {
            free(s);
            return NULL;
        }
        o += k;
    }
    if (r->p >= r->end) {
        free(s);
        return NULL;
    }
    r->p++; /* the closing quote */
    *o = '\0';
    *len = (size_t)(o - s);
    return s;
}

static jv *parse_number(rd *r)
{
    const char *s = r->p;
    if (r->p < r->end && *r->p == '-')
        r->p++;
    if (r->p >= r->end || *r->p < '0' || *r->p > '9')
        return NULL;
    if (*r->p == '0')
        r->p++;
    else
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
            r->p++;
    if (r->p < r->end && *r->p == '.') {
        if (++r->p >= r->end || *r->p < '0' || *r->p > '9')
            return NULL;
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
            r->p++;
    }
    if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
        r->p++;
        if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
            r->p++;
        if (r->p >= r->end || *r->p < '0' || *r->p > '9')
            return NULL;
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
            r->p++;
    }
    char buf[64];
    size_t n = (size_t)(r->p - s);
    if (n >= sizeof buf)
        n = sizeof buf - 1; /* a longer number loses digits, not bounds */
    memcpy(buf, s, n);
    buf[n] = '\0';
    jv *v = node(JV_NUM);
    if (v)
        v->num = strtod(buf, NULL);
    return v;
}

/* Append (key, item) to an array or object; 0 on ENOMEM. */
static int push(jv *v, char *key, jv *item)
{
    jv **items = realloc(v->items, (v->len + 1) * sizeof *items);
    if (!items)
        return 0;
    v->items = items;
    if (v->kind == JV_OBJ) {
        char **keys = realloc(v->keys, (v->len + 1) * sizeof *keys);
        if (!keys)
            return 0;
        v->keys = keys;
        keys[v->len] = key;
    }
    items[v->len++] = item;
    return 1;
}

static jv *parse_container(rd *r, int obj)
{
    char close = obj ? '}' : ']';
    jv *v = node(obj ? JV_OBJ : JV_ARR);
    if (!v)
        return NULL;
    ws(r);
    if (r->p < r->end && *r->p == close) {
        r->p++;
        return v;
    }
    for (;;) {
        char *key = NULL;
        size_t klen;
        ws(r);
        if (obj) {
            if (r->p >= r->end || *r->p != '"' || (r->p++, !(key = parse_chars(r, &klen))))
                break;
            ws(r);
            if (r->p >= r->end || *r->p != ':') {
                free(key);
                break;
            }
            r->p++;
        }
        jv *item = parse_value(r);
        if (!item || !push(v, key, item)) {
            free(key);
            jv_free(item);
            break;
        }
        ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        if (r->p < r->end && *r->p == close) {
            r->p++;
            return v;
        }
        break;
    }
    jv_free(v);
    return NULL;
}

static jv *parse_value(rd *r)
{
    ws(r);
    if (r->p >= r->end || r->depth >= JV_DEPTH)
        return NULL;
    char c = *r->p;
    jv *v = NULL;
    if (c == '{' || c == '[') {
        r->p++, r->depth++;
        v = parse_container(r, c == '{');
        r->depth--;
    } else if (c == '"') {
        r->p++;
        size_t len;
        char *s = parse_chars(r, &len);
        if (s && (v = node(JV_STR)))
            v->str = s, v->len = len;
        else
            free(s);
    } else if (lit(r, "null")) {
        v = node(JV_NULL);
    } else if (lit(r, "true") || lit(r, "false")) {
        if ((v = node(JV_BOOL)))
            v->num = r->p[-1] == 'e' && r->p[-2] == 'u';
    } else {
        v = parse_number(r);
    }
    return v;
}

jv *jv_parse(const char *text, size_t n)
{
    if (!text)
        return NULL;
    rd r = {text, text + n, 0};
    jv *v = parse_value(&r);
    ws(&r);
    if (v && r.p != r.end) {
        jv_free(v);
        return NULL;
    }
    return v;
}

void jv_free(jv *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->len && v->items; i++) {
        jv_free(v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
    free(v);
}

const jv *jv_get(const jv *obj, const char *key)
{
    if (!obj || obj->kind != JV_OBJ)
        return NULL;
    for (size_t i = 0; i < obj->len; i++)
        if (strcmp(obj->keys[i], key) == 0)
            return obj->items[i];
    return NULL;
}

double jv_num(const jv *obj, const char *key, double def)
{
    const jv *v = jv_get(obj, key);
    return v && (v->kind == JV_NUM || v->kind == JV_BOOL) ? v->num : def;
}

const char *jv_str(const jv *obj, const char *key, const char *def)
{
    const jv *v = jv_get(obj, key);
    return v && v->kind == JV_STR ? v->str : def;
}

const jv *jv_at(const jv *arr, size_t i)
{
    return arr && (arr->kind == JV_ARR || arr->kind == JV_OBJ) && i < arr->len ? arr->items[i] : NULL;
}

size_t jv_len(const jv *v) { return v && (v->kind == JV_ARR || v->kind == JV_OBJ) ? v->len : 0; }
