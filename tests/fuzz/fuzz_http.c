/* tests/fuzz/fuzz_http.c — the HTTP API's request decoding without a
 * socket: the router (http/route.c: path matching, percent-decoding of
 * the {name} segment, the bearer token), the query parameters each
 * endpoint reads (?name= ?limit= ?since= ?actor= ?type= ?offset=), the
 * request bodies (a flag's value as JSON or a form, a trace's count), and
 * the Host check (http/host.c), its allowed-hosts list included — all
 * against a live system with a supervisor, two actors and a token.
 *
 * libmicrohttpd is not run: this file defines MHD_lookup_connection_value
 * (the executable's definition wins over the shared library's), answering
 * from the fuzzed request. Every JSON reply must be valid JSON
 * (json_check.h) with a status the API documents; a reply the writer
 * refuses (http_reply_error) must say why.
 *
 * Input: lines, the last running to the end of the input:
 *   method \n target (path?query) \n Authorization \n Host \n
 *   allowed hosts \n body
 * An empty Authorization or Host line means the header is absent; an
 * empty allowed-hosts line keeps the default (none). */
#include <microhttpd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/internal.h"
#include "json_check.h"

#define TOKEN "fuzz-token"
#define FIELDS 6
#define ARGS_MAX 64

typedef struct freq {
    char *field[FIELDS]; /* NUL-terminated copies */
    char *key[ARGS_MAX], *val[ARGS_MAX];
    int nargs;
} freq;

static freq *cur; /* the request being served (one thread calls the router) */
static hsrv srv;
static hhosts hosts_v4, hosts_any;

/* Called by the router and the handlers; conn is ignored, the request is
 * the one in `cur`. As libmicrohttpd with keep_escaped: values raw. */
const char *MHD_lookup_connection_value(struct MHD_Connection *conn, enum MHD_ValueKind kind,
                                        const char *key)
{
    (void)conn;
    if (!cur || !key)
        return NULL;
    if (kind == MHD_HEADER_KIND) {
        int f = strcasecmp(key, MHD_HTTP_HEADER_AUTHORIZATION) == 0 ? 2
              : strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0 ? 3 : -1;
        return f >= 0 && cur->field[f][0] ? cur->field[f] : NULL;
    }
    if (kind != MHD_GET_ARGUMENT_KIND)
        return NULL;
    for (int i = 0; i < cur->nargs; i++)
        if (strcmp(cur->key[i], key) == 0)
            return cur->val[i];
    return NULL;
}

/* Messages in flight are invisible to LeakSanitizer: a lane's head word
 * carries a generation tag beside the envelope's pointer (mailbox/lane.h),
 * so an envelope on top of a lane (a restart, the health monitor's tick)
 * looks leaked when libFuzzer checks between two inputs while the system
 * runs. Envelopes are checked by the ASan suites, which destroy their
 * systems; here only what send.c allocates is excused. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:core/send.c\n";
}

static int echo_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    (void)ctx, (void)st, (void)msg;
    return 0;
}

static const troupe_behaviour echo_beh = {.name = "echo", .handle = echo_handle};

static void must(int rc)
{
    if (rc < 0)
        abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    troupe_system *sys;
    troupe_config cfg;
    troupe_config_defaults(&cfg);
    cfg.workers = 1;
    must(troupe_system_create(&sys, &cfg));
    troupe_sup root, group;
    troupe_sup_spec ss;
    troupe_sup_spec_defaults(&ss);
    ss.name = "svc";
    must(troupe_sup_root(sys, &root));
    must(troupe_sup_start_supervisor(sys, root, &ss, &group));
    troupe_child_spec cs;
    troupe_child_spec_defaults(&cs);
    cs.beh = &echo_beh;
    cs.name = "worker-1";
    cs.policy.kind = TROUPE_RESTART_ALWAYS;
    troupe_ref ref;
    must(troupe_sup_start_child(sys, group, &cs, &ref));
    must(troupe_spawn(sys, &echo_beh, NULL, NULL, &ref));
    must(troupe_register(sys, "loner", ref));
    srv = (hsrv){.sys = sys, .token = strdup(TOKEN), .token_len = strlen(TOKEN),
                 .max_body = 1 << 16};
    must(http_hosts_init(&hosts_v4, "127.0.0.1", "dash.example.com,.svc.local"));
    must(http_hosts_init(&hosts_any, "::", NULL));
    return 0;
}

/* Split the input into its lines, and the target's query into k=v pairs
 * (the path keeps what is before '?', as libmicrohttpd hands it over). */
static int split(freq *q, const uint8_t *data, size_t size)
{
    size_t at = 0;
    for (int f = 0; f < FIELDS; f++) {
        const uint8_t *nl = f < FIELDS - 1 ? memchr(data + at, '\n', size - at) : NULL;
        size_t n = nl ? (size_t)(nl - (data + at)) : size - at;
        if (!(q->field[f] = strndup((const char *)data + at, n)))
            return -1;
        at += nl ? n + 1 : n;
    }
    char *qs = strchr(q->field[1], '?');
    if (!qs)
        return 0;
    *qs++ = '\0';
    for (char *save = NULL, *kv = strtok_r(qs, "&", &save); kv && q->nargs < ARGS_MAX;
         kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        if (eq)
            *eq++ = '\0';
        q->key[q->nargs] = kv;
        q->val[q->nargs++] = eq ? eq : kv + strlen(kv);
    }
    return 0;
}

static void check_reply(const hreq *r)
{
    const hreply *o = &r->out;
    if (http_reply_error(&o->w)) /* refused by the writer: the server answers 500 */
        return;
    if (o->status < 200 || o->status > 599 || !o->ctype)
        abort();
    if (strcmp(o->ctype, "application/json") == 0 && !o->fixed &&
        !json_valid(o->w.b.p, o->w.b.len))
        abort(); /* a JSON reply that is not JSON */
}

static void host_check(const freq *q)
{
    const char *host = q->field[3][0] ? q->field[3] : NULL;
    http_host_ok(&hosts_v4, host);
    http_host_ok(&hosts_any, host);
    if (!q->field[4][0])
        return;
    hhosts h;
    if (http_hosts_init(&h, "10.0.0.1", q->field[4]) == 0) {
        http_host_ok(&h, host);
        http_hosts_free(&h);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    freq q = {0};
    if (split(&q, data, size) == 0 && q.field[1][0] == '/') {
        cur = &q;
        host_check(&q);
        const char *body = q.field[5];
        hreq r = {.srv = &srv, .body = body[0] ? body : NULL, .body_len = strlen(body)};
        http_route(&r, q.field[0], q.field[1]);
        check_reply(&r);
        hbuf_free(&r.out.w.b);
        cur = NULL;
    }
    for (int f = 0; f < FIELDS; f++)
        free(q.field[f]);
    return 0;
}
