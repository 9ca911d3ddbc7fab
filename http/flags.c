/* http/flags.c — the feature flags and the legacy adapters: GET /api/flags,
 * POST /api/flags/{name} (behind the token), GET /api/adapters.
 *
 * Like the other endpoints these read and write through the public API
 * only (troupe/flags.h, troupe/adapter.h). A POST body is either JSON,
 * {"value": "25%"} ({"value": null} drops the run-time value), or a form,
 * value=25%25 (value= with nothing drops it). */
#include "core/alloc.h"
#include "http/internal.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VALUE_MAX 64

/* ---- GET /api/flags --------------------------------------------------------------- */

static void write_value(jw *w, int has, troupe_flag_value v)
{
    char text[TROUPE_FLAG_TEXT_MAX];
    if (has && troupe_flag_format(v, text, sizeof text) > 0)
        jw_str(w, text);
    else
        jw_null(w);
}

static void write_flag(jw *w, const troupe_flag_info *f)
{
    jw_obj(w);
    jw_key(w, "name"), jw_str(w, f->name);
    jw_key(w, "value"), write_value(w, 1, f->value);
    jw_key(w, "percent"), jw_u64(w, f->value.percent);
    jw_key(w, "source"), jw_str(w, troupe_flag_source_name(f->source));
    jw_key(w, "file"), write_value(w, f->has_file, f->file);
    jw_key(w, "runtime"), write_value(w, f->has_runtime, f->runtime);
    jw_key(w, "env"), write_value(w, f->has_env, f->env);
    jw_obj_end(w);
}

void api_flags(hreq *r)
{
    troupe_system *sys = r->srv->sys;
    troupe_flag_info *v = sys_calloc(TROUPE_FLAGS_MAX, sizeof *v);
    size_t n = 0;
    char err[320];
    int rc = v ? troupe_flags_list(sys, v, TROUPE_FLAGS_MAX, &n) : TROUPE_ENOMEM;
    if (rc == 0 && troupe_flags_error(sys, err, sizeof err) < 0)
        err[0] = '\0';
    if (rc < 0) {
        free(v);
        http_error_code(r, rc);
        return;
    }
    jw *w = &r->out.w;
    jw_obj(w);
    jw_key(w, "generation"), jw_u64(w, troupe_flags_generation(sys));
    jw_key(w, "error"), jw_str(w, err[0] ? err : NULL);
    jw_key(w, "flags"), jw_arr(w);
    for (size_t i = 0; i < n && i < TROUPE_FLAGS_MAX; i++)
        write_flag(w, &v[i]);
    jw_arr_end(w), jw_obj_end(w);
    free(v);
}

/* ---- POST /api/flags/{name} --------------------------------------------------------- */

static const char *ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    return p;
}

/* A JSON string of printable ASCII (\" and \\ escapes) into out. */
static const char *json_str(const char *p, char *out, size_t cap)
{
    size_t o = 0;
    if (*p++ != '"')
        return NULL;
    for (; *p != '"'; p++) {
        if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
            p++;
        else if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7E || *p == '\\')
            return NULL;
        if (o + 1 >= cap)
            return NULL;
        out[o++] = *p;
    }
    out[o] = '\0';
    return p + 1;
}

/* {"value": "text"} or {"value": null}: 1 = a value, 0 = null, -1 = bad. */
static int parse_json(const char *p, char *out, size_t cap)
{
    char key[16];
    if (*(p = ws(p)) != '{' || !(p = json_str(ws(p + 1), key, sizeof key)) ||
        strcmp(key, "value") != 0 || *(p = ws(p)) != ':')
        return -1;
    p = ws(p + 1);
    int has = 1;
    if (strncmp(p, "null", 4) == 0)
        has = 0, p += 4;
    else if (!(p = json_str(p, out, cap)))
        return -1;
    p = ws(p);
    return *p == '}' && *ws(p + 1) == '\0' ? has : -1;
}

/* value=<percent-encoded, '+' for space>: 1 = a value, 0 = empty, -1 = bad. */
static int parse_form(const char *p, char *out, size_t cap)
{
    char raw[3 * VALUE_MAX];
    size_t n = strlen(p);
    while (n && (p[n - 1] == '\n' || p[n - 1] == '\r'))
        n--;
    if (strncmp(p, "value=", 6) != 0 || n - 6 >= sizeof raw)
        return -1;
    memcpy(raw, p + 6, n - 6);
    raw[n - 6] = '\0';
    for (char *c = raw; *c; c++)
        if (*c == '+')
            *c = ' ';
    int k = http_unescape(out, cap, raw, strlen(raw));
    return k < 0 ? -1 : k > 0;
}

static void set_failed(hreq *r, int rc, const char *value)
{
    char msg[TROUPE_NAME_MAX + VALUE_MAX + 160];
    if (rc == TROUPE_EINVAL) {
        snprintf(msg, sizeof msg, "bad flag name or value \"%s\" (on, off, NN%% with NN in 0..100; "
                 "legacy, shadow, canary NN%%, actor for adapter.* flags)", value);
        http_error(r, MHD_HTTP_BAD_REQUEST, msg);
    } else if (rc == TROUPE_ENOTFOUND && strncmp(r->name, "adapter.", 8) == 0 && value) {
        snprintf(msg, sizeof msg, "no adapter named \"%s\"", r->name + 8);
        http_error(r, MHD_HTTP_NOT_FOUND, msg);
    } else if (rc == TROUPE_ENOTFOUND) {
        http_error_name(r, MHD_HTTP_NOT_FOUND, "no run-time value to drop for flag");
    } else if (rc == TROUPE_ESTATE) {
        http_error_name(r, MHD_HTTP_CONFLICT, "pinned by the environment: flag");
    } else {
        http_error_code(r, rc);
    }
}

static void write_set(hreq *r)
{
    troupe_flag_info fi;
    if (troupe_flags_get(r->srv->sys, r->name, &fi) < 0) {
        http_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "flag vanished");
        return;
    }
    jw *w = &r->out.w;
    jw_obj(w);
    jw_key(w, "ok"), jw_bool(w, 1);
    jw_key(w, "flag"), write_flag(w, &fi);
    jw_obj_end(w);
}

void api_flag_set(hreq *r)
{
    char value[VALUE_MAX];
    const char *b = r->body ? ws(r->body) : "";
    int has = *b == '{' ? parse_json(b, value, sizeof value) : parse_form(b, value, sizeof value);
    if (has < 0) {
        http_error(r, MHD_HTTP_BAD_REQUEST,
                   "body: {\"value\": \"on|off|NN%|...\"} or {\"value\": null}, or value=...");
        return;
    }
    int rc = has ? troupe_flags_set(r->srv->sys, r->name, value)
                 : troupe_flags_clear(r->srv->sys, r->name);
    if (rc < 0)
        set_failed(r, rc, has ? value : NULL);
    else
        write_set(r);
}

/* ---- GET /api/adapters -------------------------------------------------------------- */

static void write_latency(jw *w, const troupe_adapter_latency *l)
{
    jw_obj(w);
    jw_key(w, "count"), jw_u64(w, l->count);
    jw_key(w, "mean_ns"), jw_u64(w, l->count ? l->sum_ns / l->count : 0);
    jw_key(w, "p50_ns"), jw_u64(w, l->p50_ns);
    jw_key(w, "p99_ns"), jw_u64(w, l->p99_ns);
    jw_obj_end(w);
}

static void write_adapter(jw *w, const troupe_adapter_info *a)
{
    jw_obj(w);
    jw_key(w, "name"), jw_str(w, a->name);
    jw_key(w, "mode"), jw_str(w, troupe_adapter_mode_name(a->mode));
    jw_key(w, "percent"), jw_u64(w, a->percent);
    jw_key(w, "copies"), jw_str(w, a->copies);
    jw_key(w, "served_legacy"), jw_u64(w, a->served_legacy);
    jw_key(w, "served_actor"), jw_u64(w, a->served_actor);
    jw_key(w, "actor_share"), jw_double(w, a->actor_share);
    jw_key(w, "compared"), jw_u64(w, a->compared);
    jw_key(w, "mismatches"), jw_u64(w, a->mismatches);
    jw_key(w, "errors"), jw_u64(w, a->errors);
    jw_key(w, "switches"), jw_u64(w, a->switches);
    jw_key(w, "switch_failures"), jw_u64(w, a->switch_failures);
    jw_key(w, "legacy"), write_latency(w, &a->legacy);
    jw_key(w, "actor"), write_latency(w, &a->actor);
    jw_key(w, "last_mismatch"), jw_str(w, a->last_mismatch[0] ? a->last_mismatch : NULL);
    jw_obj_end(w);
}

void api_adapters(hreq *r)
{
    troupe_adapter_info *v = sys_calloc(TROUPE_ADAPTERS_MAX, sizeof *v);
    size_t n = 0;
    int rc = v ? troupe_adapter_list(r->srv->sys, v, TROUPE_ADAPTERS_MAX, &n) : TROUPE_ENOMEM;
    if (rc < 0) {
        free(v);
        http_error_code(r, rc);
        return;
    }
    jw *w = &r->out.w;
    jw_obj(w);
    jw_key(w, "adapters"), jw_arr(w);
    for (size_t i = 0; i < n && i < TROUPE_ADAPTERS_MAX; i++)
        write_adapter(w, &v[i]);
    jw_arr_end(w), jw_obj_end(w);
    free(v);
}
