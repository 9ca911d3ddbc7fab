/* tools/troupectl/cmd_more.c — flags, trace and nodes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"

/* A JSON string literal of s (quotes and control bytes escaped). */
static void json_quote(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    out[o++] = '"';
    for (; *s && o + 8 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            out[o++] = '\\', out[o++] = (char)ch;
        else if (ch < 0x20)
            o += (size_t)snprintf(out + o, cap - o, "\\u%04x", ch);
        else
            out[o++] = (char)ch;
    }
    out[o++] = '"';
    out[o] = '\0';
}

int cmd_flags(ctl *c, int argc, char **argv)
{
    reply r;
    int rc;
    if (argc == 3 && strcmp(argv[0], "set") == 0) {
        char path[512], esc[256], body[1100], q[1024];
        ctl_escape(argv[1], esc, sizeof esc);
        snprintf(path, sizeof path, "/api/flags/%s", esc);
        json_quote(argv[2], q, sizeof q);
        snprintf(body, sizeof body, "{\"value\": %s}", q);
        rc = ctl_call(c, "POST", path, body, &r);
        if (rc == EX_OK && c->json)
            printf("%s\n", r.body);
        else if (rc == EX_OK)
            printf("%s = %s\n", argv[1], argv[2]);
        reply_free(&r);
        return rc;
    }
    if (argc != 0) {
        fprintf(stderr, "troupectl flags [set NAME VALUE]\n");
        return EX_USAGE;
    }
    rc = ctl_call(c, "GET", "/api/flags", NULL, &r);
    if (rc == EX_OK && c->json) {
        printf("%s\n", r.body);
    } else if (rc == EX_OK) {
        const jv *fl = jv_get(r.doc, "flags");
        printf("%-32s %-12s %s\n", "FLAG", "VALUE", "SOURCE");
        for (size_t i = 0; i < jv_len(fl); i++) {
            const jv *f = jv_at(fl, i);
            printf("%-32s %-12s %s\n", jv_str(f, "name", "?"), jv_str(f, "value", "-"),
                   jv_str(f, "source", "?"));
        }
    }
    reply_free(&r);
    return rc;
}

/* ---- trace NAME [--count N] [--wait S] ----------------------------------------------- */

static void print_records(const jv *doc)
{
    const jv *recs = jv_get(doc, "records");
    printf("%-5s %-8s %-20s %-10s %-10s %s\n", "#", "TYPE", "SENDER", "MAILBOX", "HANDLING",
           "OUTCOME");
    for (size_t i = 0; i < jv_len(recs); i++) {
        const jv *t = jv_at(recs, i);
        char w[32], h[32];
        const jv *wait = jv_get(t, "wait_ns");
        fmt_ns(w, sizeof w, wait && wait->kind == JV_NUM ? wait->num : -1);
        fmt_ns(h, sizeof h, jv_num(t, "handle_ns", -1));
        printf("%-5zu %-8.0f %-20s %-10s %-10s %s\n", i + 1, jv_num(t, "type", 0),
               jv_str(t, "sender", "-"), w, h, jv_str(t, "outcome", "?"));
    }
    printf("%zu messages traced, %.0f still awaited\n", jv_len(recs), jv_num(doc, "left", 0));
}

static void nap_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int cmd_trace(ctl *c, int argc, char **argv)
{
    const char *name = NULL;
    long count = 10;
    double wait_s = 10;
    for (int i = 0; i < argc; i++) {
        char *end = NULL;
        if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
            count = strtol(argv[++i], &end, 10);
        else if (strcmp(argv[i], "--wait") == 0 && i + 1 < argc)
            wait_s = strtod(argv[++i], &end);
        else if (!name && argv[i][0] != '-')
            name = argv[i];
        else
            count = -1;
        if ((end && *end) || count < 1 || count > 1000 || wait_s < 0 || wait_s > 3600)
            count = -1;
        if (count < 0)
            break;
    }
    if (!name || count < 0) {
        fprintf(stderr, "troupectl trace NAME [--count N (1..1000)] [--wait SECONDS]\n");
        return EX_USAGE;
    }
    char path[512], esc[256], body[64];
    ctl_escape(name, esc, sizeof esc);
    snprintf(path, sizeof path, "/api/actors/%s/trace", esc);
    snprintf(body, sizeof body, "{\"count\": %ld}", count);
    reply r;
    int rc = ctl_call(c, "POST", path, body, &r);
    reply_free(&r);
    if (rc != EX_OK)
        return rc;
    /* poll until the N messages are in or the wait is over (bounded) */
    long rounds = (long)(wait_s * 10) + 1;
    for (long k = 0; k < rounds; k++) {
        rc = ctl_call(c, "GET", path, NULL, &r);
        if (rc != EX_OK || jv_num(r.doc, "left", 0) == 0 || k + 1 == rounds)
            break;
        reply_free(&r);
        nap_ms(100);
    }
    if (rc == EX_OK) {
        if (c->json)
            printf("%s\n", r.body);
        else
            print_records(r.doc);
    }
    reply_free(&r);
    return rc;
}

/* ---- nodes -------------------------------------------------------------------------------- */

int cmd_nodes(ctl *c, int argc, char **argv)
{
    (void)argv;
    if (argc) {
        fprintf(stderr, "troupectl nodes: no arguments\n");
        return EX_USAGE;
    }
    reply r;
    int rc = ctl_request(c, "GET", "/api/cluster/nodes", NULL, &r);
    if (rc == EX_CONNECT)
        fprintf(stderr, "troupectl: cannot connect to http://%s:%s/\n", c->host, c->port);
    if (rc == EX_OK && r.status == 404) { /* not in a cluster: nothing wrong */
        if (c->json)
            printf("{\"cluster\":null,\"nodes\":[]}\n");
        else
            printf("no cluster: this system has not joined one\n");
        reply_free(&r);
        return EX_OK;
    }
    reply_free(&r);
    if (rc != EX_OK)
        return rc;
    rc = ctl_call(c, "GET", "/api/cluster/nodes", NULL, &r);
    if (rc == EX_OK && c->json) {
        printf("%s\n", r.body);
    } else if (rc == EX_OK) {
        printf("cluster %s (this node: %s)\n", jv_str(r.doc, "cluster", "?"),
               jv_str(r.doc, "self", "?"));
        printf("%-24s %-10s %8s %8s\n", "NODE", "STATE", "ACTORS", "LEASE");
        const jv *nodes = jv_get(r.doc, "nodes");
        for (size_t i = 0; i < jv_len(nodes); i++) {
            const jv *n = jv_at(nodes, i);
            printf("%-24s %-10s %8.0f %6.0fms%s\n", jv_str(n, "name", "?"),
                   jv_str(n, "state", "?"), jv_num(n, "actors_owned", 0),
                   jv_num(n, "lease_remaining_ms", 0), jv_num(n, "self", 0) ? "  *" : "");
        }
    }
    reply_free(&r);
    return rc;
}
