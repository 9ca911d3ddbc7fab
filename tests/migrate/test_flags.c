/* tests/migrate/test_flags.c — feature flags: values, the file (good and
 * malformed, with line numbers), percentages stable per key and monotone,
 * the environment's pin, run-time sets through the API and through a real
 * HTTP server, live reload driven by a manual clock, and lock-free reads
 * racing writers. Files are real files in a fresh temporary directory. */
#include "flags_support.h"
#include "../http/client.h"

#include <troupe/http.h>

#define TOKEN "flag-token"

/* ---- values ------------------------------------------------------------------------ */

Test(flags, values_parse_and_format)
{
    static const struct {
        const char *text;
        troupe_flag_kind kind;
        uint32_t pct;
        const char *back;
    } good[] = {{"on", TROUPE_FLAG_ON, 100, "on"},        {" OFF ", TROUPE_FLAG_OFF, 0, "off"},
                {"0%", TROUPE_FLAG_PERCENT, 0, "0%"},     {"100%", TROUPE_FLAG_PERCENT, 100, "100%"},
                {"37%", TROUPE_FLAG_PERCENT, 37, "37%"},  {"shadow", TROUPE_FLAG_SHADOW, 0, "shadow"},
                {"canary  5%", TROUPE_FLAG_CANARY, 5, "canary 5%"},
                {"actor", TROUPE_FLAG_ACTOR, 100, "actor"}, {"legacy", TROUPE_FLAG_LEGACY, 0, "legacy"}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        troupe_flag_value v;
        char text[TROUPE_FLAG_TEXT_MAX];
        cr_assert_eq(troupe_flag_parse(good[i].text, &v), 0, "%s", good[i].text);
        cr_expect_eq(v.kind, good[i].kind, "%s", good[i].text);
        cr_expect_eq(v.percent, good[i].pct, "%s", good[i].text);
        cr_assert_gt(troupe_flag_format(v, text, sizeof text), 0);
        cr_expect_str_eq(text, good[i].back);
    }
    const char *bad[] = {"", "101%", "-1%", "1000%", "%", "5", "yes", "canary", "canary 101%",
                         "on off", "50 %"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        troupe_flag_value v;
        cr_expect_eq(troupe_flag_parse(bad[i], &v), TROUPE_EINVAL, "\"%s\"", bad[i]);
    }
    char text[TROUPE_FLAG_TEXT_MAX];
    cr_expect_eq(troupe_flag_format((troupe_flag_value){TROUPE_FLAG_PERCENT, 101}, text, sizeof text),
                 TROUPE_EINVAL);
    cr_expect_eq(troupe_flag_format((troupe_flag_value){TROUPE_FLAG_ON, 100}, text, 4), TROUPE_EINVAL);
    cr_expect_eq(troupe_flag_parse(NULL, NULL), TROUPE_EINVAL);
}

/* ---- the file ---------------------------------------------------------------------- */

Test(flags, file_loads_with_comments_and_layers)
{
    fenv e;
    fenv_start(&e);
    write_file(&e, "# the flags\n\n new_ui = on   # trailing comment\n"
                   "fast_path=25%\r\n\tadapter.chain = canary 10%\nold = off\n");
    load(&e, 0, 0);
    cr_expect_eq(value_of(e.sys, "new_ui").kind, TROUPE_FLAG_ON);
    cr_expect_eq(value_of(e.sys, "fast_path").percent, 25);
    cr_expect_eq(value_of(e.sys, "adapter.chain").kind, TROUPE_FLAG_CANARY);
    cr_expect_eq(troupe_flag_enabled(e.sys, "new_ui", 1), 1);
    cr_expect_eq(troupe_flag_enabled(e.sys, "old", 1), 0);
    cr_expect_eq(troupe_flag_enabled(e.sys, "never_named", 1), 0);
    troupe_flag_info fi;
    cr_assert_eq(troupe_flags_get(e.sys, "new_ui", &fi), 0);
    cr_expect_eq(fi.source, TROUPE_FLAG_FROM_FILE);
    cr_expect(fi.has_file && !fi.has_runtime && !fi.has_env);
    cr_expect_str_eq(error_text(e.sys), "");
    size_t total = 0;
    troupe_flag_info list[8];
    cr_assert_eq(troupe_flags_list(e.sys, list, 8, &total), 0);
    cr_expect_eq(total, 4);
    cr_expect_str_eq(list[0].name, "new_ui"); /* the order they were named */
    cr_expect_eq(troupe_flags_get(e.sys, "nope", &fi), TROUPE_ENOTFOUND);
    fenv_stop(&e);
}

/* Each malformed file is refused with its line number; nothing changes. */
Test(flags, malformed_files_are_rejected_with_the_line)
{
    static const struct {
        const char *text, *where, *what;
    } bad[] = {
        {"a = on\nb = on\nno equals sign here\n", ":3:", "expected name = value"},
        {"a = on\n\n\nb = 150%\n", ":4:", "percentage outside 0-100"},
        {"a = on\nb = 1000%\n", ":2:", "percentage outside 0-100"},
        {"adapter.b = canary 99999999999%\n", ":1:", "percentage outside 0-100"},
        {"b = -5%\n", ":1:", "percentage outside 0-100"},
        {"# c\na = shadow\n", ":2:", "adapter.<name>"},
        {"a = on\nb = 5%\na = off\n", ":3:", "already set on line 1"},
        {"bad name = on\n", ":1:", "bad flag name"},
        {"a = sometimes\n", ":1:", "bad value"},
        {"= on\n", ":1:", "bad flag name"},
    };
    fenv e;
    fenv_start(&e);
    write_file(&e, "a = on\nkeep = 40%\n");
    load(&e, 0, 0);
    uint64_t gen = troupe_flags_generation(e.sys);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_file(&e, bad[i].text);
        cr_expect_eq(troupe_flags_reload(e.sys), TROUPE_EINVAL, "case %zu", i);
        const char *err = error_text(e.sys);
        cr_expect(strstr(err, e.path) && strstr(err, bad[i].where) && strstr(err, bad[i].what),
                  "case %zu: \"%s\"", i, err);
        cr_expect_eq(value_of(e.sys, "a").kind, TROUPE_FLAG_ON, "case %zu", i);
        cr_expect_eq(value_of(e.sys, "keep").percent, 40, "case %zu", i);
        troupe_flag_info fi;
        cr_expect_eq(troupe_flags_get(e.sys, "b", &fi), TROUPE_ENOTFOUND, "case %zu", i);
    }
    cr_expect_eq(troupe_flags_generation(e.sys), gen);
    write_file(&e, "a = off\n");
    cr_expect_eq(troupe_flags_reload(e.sys), 0);
    cr_expect_str_eq(error_text(e.sys), "");
    cr_expect_eq(value_of(e.sys, "a").kind, TROUPE_FLAG_OFF);
    troupe_flag_info fi;
    cr_expect_eq(troupe_flags_get(e.sys, "keep", &fi), TROUPE_ENOTFOUND, "gone from the file");
    cr_expect_eq(troupe_flag_enabled(e.sys, "keep", 1), 0, "gone from the file: off");
    fenv_stop(&e);
}

Test(flags, a_missing_file_or_bad_config_keeps_what_was_loaded)
{
    fenv e;
    fenv_start(&e);
    write_file(&e, "a = on\n");
    load(&e, 0, 0);
    troupe_flags_config fc;
    troupe_flags_config_defaults(&fc);
    fc.path = "/nonexistent/dir/flags.conf";
    cr_expect_eq(troupe_flags_load(e.sys, &fc), TROUPE_ENOTFOUND);
    cr_expect(strstr(error_text(e.sys), "/nonexistent/dir/flags.conf"));
    fc.path = "";
    cr_expect_eq(troupe_flags_load(e.sys, &fc), TROUPE_EINVAL);
    fc.path = e.path;
    fc.reserved[3] = 1;
    cr_expect_eq(troupe_flags_load(e.sys, &fc), TROUPE_EINVAL);
    cr_expect_eq(value_of(e.sys, "a").kind, TROUPE_FLAG_ON);
    write_file(&e, "a = off\n");
    cr_expect_eq(troupe_flags_reload(e.sys), 0, "still the first file");
    cr_expect_eq(value_of(e.sys, "a").kind, TROUPE_FLAG_OFF);
    cr_expect_eq(troupe_flags_load(NULL, NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_flags_reload(NULL), TROUPE_EINVAL);
    fenv_stop(&e);
}

/* ---- percentages -------------------------------------------------------------------- */

#define NKEYS 5000

Test(flags, percentages_are_stable_per_key_and_monotone)
{
    fenv e;
    fenv_start(&e);
    const troupe_flag *f;
    cr_assert_eq(troupe_flag_find(e.sys, "rollout", &f), 0);
    static unsigned char prev[NKEYS];
    for (uint32_t pct = 0; pct <= 100; pct++) {
        char v[8];
        snprintf(v, sizeof v, "%u%%", pct);
        cr_assert_eq(troupe_flags_set(e.sys, "rollout", v), 0);
        unsigned on = 0;
        for (uint64_t k = 0; k < NKEYS; k++) {
            int a = troupe_flag_on(f, k * 7919 + 13);
            cr_assert_eq(a, troupe_flag_on(f, k * 7919 + 13), "same key, same answer");
            cr_assert(a >= prev[k], "raising to %u%% took key %llu away", pct, (unsigned long long)k);
            prev[k] = (unsigned char)a;
            on += (unsigned)a;
        }
        if (pct == 0)
            cr_expect_eq(on, 0);
        if (pct == 100)
            cr_expect_eq(on, NKEYS);
        if (pct == 50) /* deterministic: the hash is fixed */
            cr_expect(on > NKEYS * 2 / 5 && on < NKEYS * 3 / 5, "%u of %u", on, NKEYS);
    }
    /* another flag at the same percentage picks other keys */
    cr_assert_eq(troupe_flags_set(e.sys, "rollout", "10%"), 0);
    cr_assert_eq(troupe_flags_set(e.sys, "other", "10%"), 0);
    unsigned both = 0;
    for (uint64_t k = 0; k < NKEYS; k++)
        both += troupe_flag_enabled(e.sys, "rollout", k) && troupe_flag_enabled(e.sys, "other", k);
    cr_expect_lt(both, NKEYS / 20, "%u keys on in both", both);
    fenv_stop(&e);
}

/* ---- precedence --------------------------------------------------------------------- */

Test(flags, environment_pins_over_runtime_over_file)
{
    setenv("TROUPE_FLAG_NEW_UI", "off", 1);
    setenv("TROUPE_FLAG_BROKEN", "banana", 1);
    fenv e;
    fenv_start(&e);
    write_file(&e, "new-ui = on\nplain = on\n");
    load(&e, 0, 0);
    troupe_flag_info fi;
    cr_assert_eq(troupe_flags_get(e.sys, "new-ui", &fi), 0);
    cr_expect_eq(fi.value.kind, TROUPE_FLAG_OFF);
    cr_expect_eq(fi.source, TROUPE_FLAG_FROM_ENV);
    cr_expect(fi.has_file && fi.file.kind == TROUPE_FLAG_ON);
    cr_expect_eq(troupe_flags_set(e.sys, "new-ui", "on"), TROUPE_ESTATE);
    cr_expect_eq(value_of(e.sys, "new-ui").kind, TROUPE_FLAG_OFF);
    /* run time beats the file, and survives a reload */
    cr_assert_eq(troupe_flags_set(e.sys, "plain", "off"), 0);
    cr_expect_eq(troupe_flags_reload(e.sys), 0);
    cr_assert_eq(troupe_flags_get(e.sys, "plain", &fi), 0);
    cr_expect_eq(fi.value.kind, TROUPE_FLAG_OFF);
    cr_expect_eq(fi.source, TROUPE_FLAG_FROM_RUNTIME);
    cr_expect_eq(troupe_flags_clear(e.sys, "plain"), 0);
    cr_expect_eq(value_of(e.sys, "plain").kind, TROUPE_FLAG_ON);
    cr_expect_eq(troupe_flags_clear(e.sys, "plain"), TROUPE_ENOTFOUND);
    /* a bad environment value fails a load that names the flag */
    write_file(&e, "broken = on\n");
    cr_expect_eq(troupe_flags_reload(e.sys), TROUPE_EINVAL);
    cr_expect(strstr(error_text(e.sys), "environment"));
    cr_expect_eq(value_of(e.sys, "plain").kind, TROUPE_FLAG_ON, "the old file still in force");
    /* unpinned: the next reload hands the flag back to the file */
    unsetenv("TROUPE_FLAG_NEW_UI");
    unsetenv("TROUPE_FLAG_BROKEN");
    write_file(&e, "new-ui = on\n");
    cr_expect_eq(troupe_flags_reload(e.sys), 0);
    cr_expect_eq(value_of(e.sys, "new-ui").kind, TROUPE_FLAG_ON);
    fenv_stop(&e);
}

Test(flags, runtime_set_rejects_bad_input_and_changes_nothing)
{
    fenv e;
    fenv_start(&e);
    cr_expect_eq(troupe_flags_set(e.sys, "x", "42%"), 0);
    uint64_t gen = troupe_flags_generation(e.sys);
    cr_expect_eq(troupe_flags_set(e.sys, "x", "101%"), TROUPE_EINVAL);
    cr_expect_eq(troupe_flags_set(e.sys, "x", "shadow"), TROUPE_EINVAL, "modes: adapter flags only");
    cr_expect_eq(troupe_flags_set(e.sys, "adapter.nosuch", "actor"), TROUPE_ENOTFOUND);
    cr_expect_eq(troupe_flags_set(e.sys, "bad name", "on"), TROUPE_EINVAL);
    cr_expect_eq(troupe_flags_set(e.sys, "", "on"), TROUPE_EINVAL);
    cr_expect_eq(troupe_flags_set(e.sys, NULL, "on"), TROUPE_EINVAL);
    cr_expect_eq(troupe_flags_set(e.sys, "x", NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_adapter_set_mode(e.sys, "nosuch", TROUPE_MODE_ACTOR, 0), TROUPE_ENOTFOUND);
    cr_expect_eq(troupe_adapter_set_mode(e.sys, "nosuch", TROUPE_MODE_CANARY, 101), TROUPE_EINVAL);
    cr_expect_eq(troupe_flags_generation(e.sys), gen);
    cr_expect_eq(value_of(e.sys, "x").percent, 42);
    troupe_flag_info fi;
    cr_expect_eq(troupe_flags_get(e.sys, "adapter.nosuch", &fi), TROUPE_ENOTFOUND);
    char name[80];
    memset(name, 'n', 64);
    name[64] = '\0';
    cr_expect_eq(troupe_flags_set(e.sys, name, "on"), TROUPE_EINVAL, "64 bytes is one too many");
    fenv_stop(&e);
}

Test(flags, the_table_has_a_limit)
{
    fenv e;
    fenv_start(&e);
    const troupe_flag *f;
    for (int i = 0; i < TROUPE_FLAGS_MAX; i++) {
        char n[32];
        snprintf(n, sizeof n, "f%d", i);
        cr_assert_eq(troupe_flag_find(e.sys, n, &f), 0, "%d", i);
    }
    cr_expect_eq(troupe_flag_find(e.sys, "one_more", &f), TROUPE_ENOMEM);
    cr_expect_eq(troupe_flags_set(e.sys, "one_more", "on"), TROUPE_ENOMEM);
    cr_expect_eq(troupe_flag_find(e.sys, "f7", &f), 0, "an existing one is found");
    write_file(&e, "brand_new = on\n");
    load(&e, 0, TROUPE_EINVAL);
    cr_expect(strstr(error_text(e.sys), "more than"));
    fenv_stop(&e);
}

/* ---- live reload -------------------------------------------------------------------- */

Test(flags, the_watcher_reloads_a_changed_file_on_the_clock)
{
    fenv e;
    fenv_start(&e);
    write_file(&e, "live = off\n");
    load(&e, S_NS, 0);
    const troupe_flag *f;
    cr_assert_eq(troupe_flag_find(e.sys, "live", &f), 0);
    uint64_t g0 = troupe_flags_generation(e.sys);
    write_file(&e, "live = on\n");
    cr_assert_eq(troupe_clock_advance(e.clk, S_NS), 0);
    wait_until(troupe_flags_generation(e.sys) > g0); /* hang guard */
    cr_expect_eq(troupe_flag_read(f).kind, TROUPE_FLAG_ON);
    /* a malformed version: reported, and the flags stay */
    write_file(&e, "live = off\nlive 2\n");
    cr_assert_eq(troupe_clock_advance(e.clk, S_NS), 0);
    wait_until(error_text(e.sys)[0] != '\0');
    cr_expect(strstr(error_text(e.sys), ":2:"));
    cr_expect_eq(troupe_flag_read(f).kind, TROUPE_FLAG_ON);
    uint64_t g1 = troupe_flags_generation(e.sys);
    write_file(&e, "live = 30%\n");
    cr_assert_eq(troupe_clock_advance(e.clk, S_NS), 0);
    wait_until(troupe_flags_generation(e.sys) > g1);
    cr_expect_eq(troupe_flag_read(f).percent, 30);
    cr_expect_str_eq(error_text(e.sys), "");
    fenv_stop(&e);
}

/* ---- lock-free reads ---------------------------------------------------------------- */

typedef struct racer {
    troupe_system *sys;
    const troupe_flag *f;
    _Atomic int stop;
    _Atomic uint64_t reads, bad;
} racer;

static void *reader(void *p)
{
    racer *r = p;
    while (!atomic_load(&r->stop)) {
        troupe_flag_value v = troupe_flag_read(r->f);
        bool ok = (v.kind == TROUPE_FLAG_PERCENT && (v.percent == 10 || v.percent == 90)) ||
                  (v.kind == TROUPE_FLAG_ON && v.percent == 100);
        troupe_flag_enabled(r->sys, "hot", atomic_load(&r->reads));
        troupe_flag_enabled(r->sys, "made_later_7", 1);
        atomic_fetch_add(&r->bad, !ok);
        atomic_fetch_add(&r->reads, 1);
    }
    return NULL;
}

Test(flags, reads_race_writers_without_a_lock)
{
    fenv e;
    fenv_start(&e);
    racer r = {.sys = e.sys};
    cr_assert_eq(troupe_flags_set(e.sys, "hot", "10%"), 0);
    cr_assert_eq(troupe_flag_find(e.sys, "hot", &r.f), 0);
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, reader, &r), 0);
    long n = tt_scaled(4000, 200);
    for (long i = 0; i < n; i++) {
        const char *v[] = {"10%", "90%", "on"};
        cr_assert_eq(troupe_flags_set(e.sys, "hot", v[i % 3]), 0);
        if (i < 64) { /* new names published while readers probe the table */
            char name[32];
            snprintf(name, sizeof name, "made_later_%ld", i);
            cr_assert_eq(troupe_flags_set(e.sys, name, "on"), 0);
        }
    }
    wait_until(atomic_load(&r.reads) > 1000);
    atomic_store(&r.stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    cr_expect_eq(atomic_load(&r.bad), 0);
    cr_expect_eq(troupe_flag_enabled(e.sys, "made_later_7", 1), 1);
    fenv_stop(&e);
}

/* ---- over HTTP ---------------------------------------------------------------------- */

static hc_resp post(int port, const char *path, const char *auth, const char *ctype,
                    const char *body)
{
    char req[2048];
    int n = snprintf(req, sizeof req,
                     "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s%s%s"
                     "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n%s",
                     path, auth ? "Authorization: Bearer " : "", auth ? auth : "",
                     auth ? "\r\n" : "", ctype, strlen(body), body);
    return hc_raw(port, req, (size_t)n);
}

static int status_of(hc_resp r)
{
    int s = r.status;
    hc_free(&r);
    return s;
}

static int start_http(fenv *e, const char *token, troupe_http **srv)
{
    troupe_http_config hc;
    troupe_http_config_defaults(&hc);
    hc.token = token;
    cr_assert_eq(troupe_http_start(e->sys, &hc, srv), 0);
    return troupe_http_port(*srv);
}

Test(flags, http_lists_and_sets_flags_behind_the_token)
{
    setenv("TROUPE_FLAG_PINNED", "on", 1);
    fenv e;
    fenv_start(&e);
    write_file(&e, "from_file = 20%\npinned = off\n");
    load(&e, 0, 0);
    troupe_http *srv;
    int port = start_http(&e, TOKEN, &srv);
    const char *json = "application/json", *form = "application/x-www-form-urlencoded";
    cr_expect_eq(status_of(post(port, "/api/flags/x", NULL, json, "{\"value\":\"on\"}")), 401);
    cr_expect_eq(status_of(post(port, "/api/flags/x", "nope", json, "{\"value\":\"on\"}")), 401);
    cr_expect_eq(value_of(e.sys, "from_file").percent, 20);
    hc_resp r = post(port, "/api/flags/from_file", TOKEN, json, " {\"value\": \"canary 5%\"} ");
    cr_expect_eq(r.status, 400, "modes are for adapter flags: %s", r.body);
    hc_free(&r);
    r = post(port, "/api/flags/from_file", TOKEN, json, "{\"value\": \"75%\"}");
    cr_expect_eq(r.status, 200, "%s", r.raw);
    cr_expect(json_valid(r.body) && strstr(r.body, "\"source\":\"runtime\""), "%s", r.body);
    hc_free(&r);
    cr_expect_eq(value_of(e.sys, "from_file").percent, 75);
    cr_expect_eq(status_of(post(port, "/api/flags/new_one", TOKEN, form, "value=on")), 200);
    cr_expect_eq(value_of(e.sys, "new_one").kind, TROUPE_FLAG_ON);
    cr_expect_eq(status_of(post(port, "/api/flags/new_one", TOKEN, form, "value=12%25")), 200);
    cr_expect_eq(value_of(e.sys, "new_one").percent, 12);
    cr_expect_eq(status_of(post(port, "/api/flags/new_one", TOKEN, form, "value=250%25")), 400);
    cr_expect_eq(status_of(post(port, "/api/flags/new_one", TOKEN, json, "{\"value\": 5}")), 400);
    cr_expect_eq(status_of(post(port, "/api/flags/new_one", TOKEN, json, "")), 400);
    cr_expect_eq(status_of(post(port, "/api/flags/bad%20name", TOKEN, form, "value=on")), 400);
    cr_expect_eq(status_of(post(port, "/api/flags/adapter.ghost", TOKEN, form, "value=actor")), 404);
    cr_expect_eq(status_of(post(port, "/api/flags/pinned", TOKEN, form, "value=off")), 409);
    cr_expect_eq(value_of(e.sys, "new_one").percent, 12, "nothing half-applied");
    cr_expect_eq(status_of(post(port, "/api/flags/from_file", TOKEN, json, "{\"value\": null}")), 200);
    cr_expect_eq(value_of(e.sys, "from_file").percent, 20, "back to the file's value");
    cr_expect_eq(status_of(post(port, "/api/flags/from_file", TOKEN, json, "{\"value\": null}")), 404);
    r = hc_get(port, "/api/flags");
    cr_expect_eq(r.status, 200);
    cr_expect(json_valid(r.body), "%s", r.body);
    cr_expect(strstr(r.body, "{\"name\":\"pinned\",\"value\":\"on\",\"percent\":100,\"source\":\"env\""),
              "%s", r.body);
    hc_free(&r);
    cr_expect_eq(status_of(hc_request(port, "GET", "/api/flags/x", NULL)), 405);
    r = hc_get(port, "/api/adapters");
    cr_expect(r.status == 200 && json_valid(r.body) && strstr(r.body, "\"adapters\":[]"), "%s", r.raw);
    hc_free(&r);
    troupe_http_stop(srv);
    fenv_stop(&e);
}

Test(flags, http_setting_is_off_without_a_token)
{
    fenv e;
    fenv_start(&e);
    troupe_http *srv;
    int port = start_http(&e, NULL, &srv);
    cr_expect_eq(status_of(post(port, "/api/flags/x", TOKEN, "text/plain", "value=on")), 403);
    troupe_flag_info fi;
    cr_expect_eq(troupe_flags_get(e.sys, "x", &fi), TROUPE_ENOTFOUND);
    troupe_http_stop(srv);
    fenv_stop(&e);
}

Test(flags, null_arguments)
{
    const troupe_flag *f;
    troupe_flag_info fi;
    size_t total;
    char buf[8];
    cr_expect_eq(troupe_flag_find(NULL, "a", &f), TROUPE_EINVAL);
    cr_expect_eq(troupe_flag_read(NULL).kind, TROUPE_FLAG_OFF);
    cr_expect_eq(troupe_flag_on(NULL, 1), 0);
    cr_expect_eq(troupe_flag_enabled(NULL, "a", 1), 0);
    cr_expect_eq(troupe_flags_get(NULL, "a", &fi), TROUPE_EINVAL);
    cr_expect_eq(troupe_flags_list(NULL, NULL, 0, &total), TROUPE_EINVAL);
    cr_expect_eq(troupe_flags_error(NULL, buf, sizeof buf), TROUPE_EINVAL);
    cr_expect_eq(troupe_flags_clear(NULL, "a"), TROUPE_EINVAL);
    cr_expect_eq(troupe_flags_generation(NULL), 0);
    cr_expect_str_eq(troupe_flag_source_name((troupe_flag_source)9), "unknown");
}
