/* tools/troupectl/cmd.c — the one-shot commands: tree, actors, actor,
 * restart, stop, flags, trace, nodes. Each prints a table for a person, or
 * the API's JSON with --json, and returns an exit code (ctl.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

void fmt_ns(char *out, size_t cap, double ns)
{
    if (ns < 0)
        snprintf(out, cap, "-");
    else if (ns < 1e3)
        snprintf(out, cap, "%.0fns", ns);
    else if (ns < 1e6)
        snprintf(out, cap, "%.1fus", ns / 1e3);
    else if (ns < 1e9)
        snprintf(out, cap, "%.1fms", ns / 1e6);
    else
        snprintf(out, cap, "%.2fs", ns / 1e9);
}

const char *actor_label(const jv *a) { return jv_str(a, "name", jv_str(a, "ref", "?")); }

static void print_json(const reply *r) { printf("%s\n", r->body); }

/* The one argument a command needs (its NAME); usage error otherwise. */
static const char *one_name(int argc, char **argv, const char *cmd)
{
    if (argc != 1 || !argv[0][0]) {
        fprintf(stderr, "troupectl %s: one NAME expected\n", cmd);
        return NULL;
    }
    return argv[0];
}

/* ---- tree ------------------------------------------------------------------------ */

static void print_node(const jv *n, int depth)
{
    const char *kind = jv_str(n, "kind", "actor");
    printf("%*s", depth * 2, "");
    if (strcmp(kind, "supervisor") == 0) {
        printf("[%s] supervisor %s restarts=%.0f\n", jv_str(n, "strategy", "?"),
               jv_str(n, "name", jv_str(n, "id", "?")), jv_num(n, "restarts", 0));
        const jv *kids = jv_get(n, "children");
        for (size_t i = 0; i < jv_len(kids); i++)
            print_node(jv_at(kids, i), depth + 1);
    } else if (jv_num(n, "gone", 0)) {
        printf("%s (gone)\n", jv_str(n, "ref", "?"));
    } else {
        printf("%s (%s) %s restarts=%.0f mailbox=%.0f\n", actor_label(n), jv_str(n, "type", "?"),
               jv_str(n, "state", "?"), jv_num(n, "restarts", 0),
               jv_num(jv_get(n, "mailbox"), "depth", 0));
    }
}

int cmd_tree(ctl *c, int argc, char **argv)
{
    (void)argv;
    if (argc) {
        fprintf(stderr, "troupectl tree: no arguments\n");
        return EX_USAGE;
    }
    reply r;
    int rc = ctl_call(c, "GET", "/api/tree", NULL, &r);
    if (rc == EX_OK) {
        if (c->json)
            print_json(&r);
        else
            print_node(jv_get(r.doc, "root"), 0);
    }
    reply_free(&r);
    return rc;
}

/* ---- actors ----------------------------------------------------------------------- */

static const char *sort_key;

static double sort_value(const jv *a)
{
    if (strcmp(sort_key, "mailbox") == 0)
        return jv_num(jv_get(a, "mailbox"), "depth", 0);
    if (strcmp(sort_key, "restarts") == 0)
        return jv_num(a, "restarts", 0);
    return jv_num(jv_get(a, "mailbox"), "handled", 0);
}

static int by_key(const void *x, const void *y)
{
    double a = sort_value(*(const jv *const *)x), b = sort_value(*(const jv *const *)y);
    return a < b ? 1 : a > b ? -1 : 0; /* the biggest first */
}

int cmd_actors(ctl *c, int argc, char **argv)
{
    const char *type = NULL;
    sort_key = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--type") == 0 && i + 1 < argc)
            type = argv[++i];
        else if (strcmp(argv[i], "--sort") == 0 && i + 1 < argc &&
                 (!strcmp(argv[i + 1], "msgs") || !strcmp(argv[i + 1], "mailbox") ||
                  !strcmp(argv[i + 1], "restarts")))
            sort_key = argv[++i];
        else {
            fprintf(stderr, "troupectl actors: [--type T] [--sort msgs|mailbox|restarts]\n");
            return EX_USAGE;
        }
    }
    char path[1024], esc[768];
    ctl_escape(type ? type : "", esc, sizeof esc);
    snprintf(path, sizeof path, "/api/actors?limit=10000%s%s", type ? "&type=" : "", type ? esc : "");
    reply r;
    int rc = ctl_call(c, "GET", path, NULL, &r);
    if (rc != EX_OK || c->json) {
        if (rc == EX_OK)
            print_json(&r);
        reply_free(&r);
        return rc;
    }
    const jv *list = jv_get(r.doc, "actors");
    size_t n = jv_len(list);
    const jv **v = calloc(n ? n : 1, sizeof *v);
    for (size_t i = 0; v && i < n; i++)
        v[i] = jv_at(list, i);
    if (v && sort_key)
        qsort(v, n, sizeof *v, by_key);
    printf("%-24s %-16s %-10s %10s %8s %8s\n", "NAME", "TYPE", "STATE", "MSGS", "MAILBOX",
           "RESTARTS");
    for (size_t i = 0; v && i < n; i++) {
        const jv *mb = jv_get(v[i], "mailbox");
        printf("%-24s %-16s %-10s %10.0f %8.0f %8.0f\n", actor_label(v[i]),
               jv_str(v[i], "type", "?"), jv_str(v[i], "state", "?"), jv_num(mb, "handled", 0),
               jv_num(mb, "depth", 0), jv_num(v[i], "restarts", 0));
    }
    printf("%.0f actors\n", jv_num(r.doc, "total", (double)n));
    free(v);
    reply_free(&r);
    return EX_OK;
}

/* ---- actor NAME -------------------------------------------------------------------- */

/* NAME's entries of the server's event log (GET /api/events: failures,
 * restarts, stops), the last EVENTS_SHOWN of them. A server without the
 * log (404) or an unreadable reply: the section is left out. */
#define EVENTS_SHOWN 10

static void print_events(ctl *c, const char *name)
{
    reply r;
    if (ctl_request(c, "GET", "/api/events?limit=512", NULL, &r) != EX_OK || r.status != 200 ||
        !r.doc) {
        reply_free(&r);
        return;
    }
    const jv *ev = jv_get(r.doc, "events");
    size_t mine[EVENTS_SHOWN], n = 0, total = 0, failures = 0;
    for (size_t i = 0; i < jv_len(ev); i++) {
        const jv *e = jv_at(ev, i);
        if (strcmp(jv_str(e, "actor", ""), name) != 0)
            continue;
        total++;
        failures += strcmp(jv_str(e, "kind", ""), "failure") == 0;
        mine[n++ % EVENTS_SHOWN] = i;
    }
    printf("events:       %zu (%zu failures) in the server's log\n", total, failures);
    size_t first = n > EVENTS_SHOWN ? n - EVENTS_SHOWN : 0;
    for (size_t k = first; k < n; k++) {
        const jv *e = jv_at(ev, mine[k % EVENTS_SHOWN]);
        char at[32];
        fmt_ns(at, sizeof at, jv_num(r.doc, "now_ns", 0) - jv_num(e, "at_ns", 0));
        printf("  %-10s %s ago  %s\n", jv_str(e, "kind", "?"), at, jv_str(e, "detail", ""));
    }
    reply_free(&r);
}

int cmd_actor(ctl *c, int argc, char **argv)
{
    const char *name = one_name(argc, argv, "actor");
    if (!name)
        return EX_USAGE;
    char path[512], esc[256];
    ctl_escape(name, esc, sizeof esc);
    snprintf(path, sizeof path, "/api/actors/%s", esc);
    reply r;
    int rc = ctl_call(c, "GET", path, NULL, &r);
    if (rc != EX_OK || c->json) {
        if (rc == EX_OK)
            print_json(&r);
        reply_free(&r);
        return rc;
    }
    const jv *a = r.doc, *mb = jv_get(a, "mailbox"), *h = jv_get(a, "health"),
             *lat = jv_get(a, "latency"), *ch = jv_get(a, "child");
    char t1[32], t2[32], t3[32], t4[32];
    printf("name:         %s\nref:          %s\ntype:         %s\nstate:        %s\n", actor_label(a),
           jv_str(a, "ref", "?"), jv_str(a, "type", "?"), jv_str(a, "state", "?"));
    printf("mailbox:      depth %.0f / %.0f, handled %.0f, dropped %.0f, failed %.0f\n",
           jv_num(mb, "depth", 0), jv_num(mb, "capacity", 0), jv_num(mb, "handled", 0),
           jv_num(mb, "dropped", 0), jv_num(mb, "failed", 0));
    if (lat && lat->kind == JV_OBJ) {
        fmt_ns(t1, sizeof t1, jv_num(lat, "handle_p50_ns", -1));
        fmt_ns(t2, sizeof t2, jv_num(lat, "handle_p99_ns", -1));
        fmt_ns(t3, sizeof t3, jv_num(lat, "wait_p50_ns", -1));
        fmt_ns(t4, sizeof t4, jv_num(lat, "wait_p99_ns", -1));
        printf("latency:      handling p50 %s p99 %s; in mailbox p50 %s p99 %s (%.0f samples)\n",
               t1, t2, t3, t4, jv_num(lat, "samples", 0));
    } else {
        printf("latency:      no sample yet (one message in 256 is timed)\n");
    }
    fmt_ns(t1, sizeof t1, jv_num(h, "last_rtt_ns", -1));
    fmt_ns(t2, sizeof t2, jv_num(h, "p99_rtt_ns", -1));
    printf("health:       %s, round trip last %s p99 %s, missed %.0f\n", jv_str(h, "status", "?"),
           t1, t2, jv_num(h, "missed", 0));
    printf("restarts:     %.0f\n", jv_num(a, "restarts", 0));
    if (ch)
        printf("last failure: %s %s\n", jv_str(ch, "last_exit", "none"),
               jv_str(ch, "last_reason", ""));
    print_events(c, name);
    reply_free(&r);
    return EX_OK;
}

/* ---- restart, stop ------------------------------------------------------------------ */

static int act(ctl *c, int argc, char **argv, const char *what)
{
    const char *name = one_name(argc, argv, what);
    if (!name)
        return EX_USAGE;
    char path[512], esc[256];
    ctl_escape(name, esc, sizeof esc);
    snprintf(path, sizeof path, "/api/actors/%s/%s", esc, what);
    reply r;
    int rc = ctl_call(c, "POST", path, "", &r);
    if (rc == EX_OK) {
        if (c->json)
            print_json(&r);
        else
            printf("%s: %s requested\n", name, what);
    }
    reply_free(&r);
    return rc;
}

int cmd_restart(ctl *c, int argc, char **argv) { return act(c, argc, argv, "restart"); }
int cmd_stop(ctl *c, int argc, char **argv) { return act(c, argc, argv, "stop"); }
