/* tools/troupectl/json.h — a small JSON reader for troupectl: the whole
 * reply parsed into a tree of nodes (RFC 8259; strings decoded to UTF-8,
 * \u escapes included). Any bytes are safe input: a reply that is not one
 * JSON value (or nests deeper than JV_DEPTH) gives NULL, never a crash. */
#ifndef TROUPECTL_JSON_H
#define TROUPECTL_JSON_H

#include <stddef.h>

#define JV_DEPTH 64

typedef enum { JV_NULL, JV_BOOL, JV_NUM, JV_STR, JV_ARR, JV_OBJ } jv_kind;

typedef struct jv {
    jv_kind kind;
    double num;        /* JV_NUM; JV_BOOL: 0 or 1 */
    char *str;         /* JV_STR (NUL-terminated; may hold NULs: see len) */
    size_t len;        /* JV_STR: bytes; JV_ARR, JV_OBJ: items */
    char **keys;       /* JV_OBJ: len keys */
    struct jv **items; /* JV_ARR, JV_OBJ: len values */
} jv;

/* Parse text[0..n); NULL when it is not exactly one JSON value (or on
 * ENOMEM). Free with jv_free. */
jv *jv_parse(const char *text, size_t n);
void jv_free(jv *v);

/* obj[key], or NULL (not an object, or no such key). */
const jv *jv_get(const jv *obj, const char *key);
/* A number member (def when absent or not a number). */
double jv_num(const jv *obj, const char *key, double def);
/* A string member (def when absent or not a string). */
const char *jv_str(const jv *obj, const char *key, const char *def);
/* arr[i], or NULL. */
const jv *jv_at(const jv *arr, size_t i);
/* Items of an array (0 when v is not one). */
size_t jv_len(const jv *v);

#endif
