/* examples/tutorial/service.c — docs/TUTORIAL.md, steps 3 and 4: a
 * supervised, persistent account with a dashboard.
 *
 *   service DATA_DIR [--http-port P] [--token T] [--seconds N]
 *
 * The account of step 2 made persistent: a deposit is an event written to a
 * SQLite journal under DATA_DIR before it changes the balance, so the
 * balance survives the audit bug's restart and a rerun of the program (each
 * run deposits 100 more). Then it serves the dashboard and the HTTP API on
 * 127.0.0.1 (P = 0: a free port) until SIGINT or SIGTERM, or N seconds.
 */
#define _POSIX_C_SOURCE 200809L /* sigtimedwait, pthread_sigmask */

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <troupe/troupe.h>

enum { DEPOSIT = 1, BALANCE = 3, AUDIT = 4 };

typedef struct account {
    int64_t balance;
} account;

/* A durable event, in order: the balance is the sum of the deposits. The
 * asker of a DEPOSIT hears back from here, once the event is on disk; in
 * recovery, and for a deposit that was told, no one waits: ignored. */
static int account_apply(troupe_ctx *ctx, void *state, const void *event, size_t len)
{
    account *a = state;
    int64_t amount;
    if (len != sizeof amount)
        return TROUPE_ECORRUPT;
    memcpy(&amount, event, sizeof amount);
    a->balance += amount;
    (void)troupe_reply(ctx, DEPOSIT, &a->balance, sizeof a->balance);
    return 0;
}

static int account_handle(troupe_ctx *ctx, void *state, const troupe_msg *msg)
{
    account *a = state;
    switch (msg->type) {
    case DEPOSIT: /* not applied here: persisted, then account_apply */
        return msg->size == sizeof(int64_t) ? troupe_persist(ctx, msg->data, msg->size)
                                            : TROUPE_EINVAL;
    case BALANCE:
        return troupe_reply(ctx, BALANCE, &a->balance, sizeof a->balance);
    case AUDIT:
        troupe_panic("audit: a bug");
        return 0;
    default:
        return TROUPE_EINVAL;
    }
}

static const troupe_persistence account_persistence = {
    .apply = account_apply,
    .schema = 1,
};

static const troupe_behaviour account_behaviour = {
    .name = "account",
    .state_size = sizeof(account),
    .handle = account_handle,
    .persist = &account_persistence, /* its persistence id: the child's name */
};

static void on_failure(const troupe_failure *f, void *ud)
{
    (void)ud;
    printf("failure: %s (%s: %s)\n", f->behaviour, troupe_failure_kind_name(f->kind), f->reason);
    fflush(stdout);
}

#define SECOND 1000000000ull

static int start_account(troupe_system *sys, troupe_ref *out)
{
    troupe_sup root;
    troupe_child_spec spec;
    troupe_child_spec_defaults(&spec);
    spec.beh = &account_behaviour;
    spec.name = "account";
    int rc = troupe_sup_root(sys, &root);
    return rc < 0 ? rc : troupe_sup_start_child(sys, root, &spec, out);
}

/* Deposit 100 (an ask: answered once durable), hit the bug, read the
 * balance back from the restarted, recovered incarnation. */
static int bank(troupe_system *sys)
{
    troupe_ref acct;
    int64_t amount = 100, after = 0, balance = 0;
    int rc = start_account(sys, &acct);
    if (rc == 0)
        rc = troupe_ask(sys, acct, DEPOSIT, &amount, sizeof amount, 5 * SECOND, NULL, &after,
                        sizeof after, NULL);
    if (rc == 0)
        rc = troupe_tell(sys, acct, AUDIT, NULL, 0);
    if (rc == 0)
        rc = troupe_ask(sys, acct, BALANCE, NULL, 0, 5 * SECOND, NULL, &balance,
                        sizeof balance, NULL);
    if (rc == 0)
        printf("deposited 100: balance %lld\nbalance after the restart: %lld\n",
               (long long)after, (long long)balance);
    return rc < 0 ? rc : balance == after ? 0 : TROUPE_ECORRUPT;
}

typedef struct options {
    const char *dir, *token;
    long port, seconds;
} options;

static int parse(int argc, char **argv, options *o)
{
    *o = (options){.port = 0, .seconds = 0};
    for (int i = 1; i < argc; i++) {
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--http-port") == 0 && next)
            o->port = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--token") == 0 && next)
            o->token = argv[++i];
        else if (strcmp(argv[i], "--seconds") == 0 && next)
            o->seconds = strtol(argv[++i], NULL, 10);
        else if (argv[i][0] != '-' && !o->dir)
            o->dir = argv[i];
        else
            return -1;
    }
    return o->dir && o->port >= 0 && o->port <= 65535 && o->seconds >= 0 ? 0 : -1;
}

/* Serve until SIGINT or SIGTERM (blocked in every thread: main takes them
 * here) or `seconds` (0: until a signal). */
static int serve(troupe_system *sys, const options *o, const sigset_t *stop)
{
    troupe_http_config c;
    troupe_http_config_defaults(&c);
    c.port = (uint16_t)o->port;
    c.token = o->token; /* NULL: restart and stop through the API are off */
    troupe_http *srv;
    int rc = troupe_http_start(sys, &c, &srv);
    if (rc < 0)
        return rc;
    printf("dashboard: http://127.0.0.1:%d/\n", troupe_http_port(srv));
    fflush(stdout);
    struct timespec limit = {.tv_sec = o->seconds ? o->seconds : 365L * 86400};
    sigtimedwait(stop, NULL, &limit);
    troupe_http_stop(srv); /* before troupe_system_destroy */
    return 0;
}

int main(int argc, char **argv)
{
    options o;
    if (parse(argc, argv, &o) < 0) {
        fprintf(stderr, "usage: %s DATA_DIR [--http-port P] [--token T] [--seconds N]\n", argv[0]);
        return 2;
    }
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL); /* before any thread starts */
    troupe_journal *j = NULL;
    troupe_system *sys = NULL;
    troupe_config cfg;
    troupe_config_defaults(&cfg);
    cfg.on_failure = on_failure;
    int rc = troupe_journal_open_sqlite(o.dir, TROUPE_SQLITE_FULL, &j);
    cfg.journal = j;
    if (rc == 0)
        rc = troupe_system_create(&sys, &cfg);
    if (rc == 0)
        rc = bank(sys);
    if (rc == 0)
        rc = serve(sys, &o, &stop);
    if (rc < 0)
        fprintf(stderr, "service: %s\n", troupe_strerror(rc));
    troupe_system_destroy(sys); /* the system first: the journal outlives it */
    troupe_journal_close(j);
    return rc == 0 ? 0 : 1;
}
