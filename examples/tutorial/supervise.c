/* examples/tutorial/supervise.c — docs/TUTORIAL.md, step 2: supervision.
 *
 * The account of step 1, started as a named child of the root supervisor.
 * An AUDIT message hits a bug (troupe_panic): the actor fails, its
 * supervisor restarts it, and the ask queued behind the bad message is
 * answered by the new incarnation — same ref, same name. Its balance is
 * back to zero: the state died with the incarnation (step 3 keeps it).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <troupe/troupe.h>

enum { DEPOSIT = 1, BALANCE = 3, AUDIT = 4 };

typedef struct account {
    int64_t balance;
} account;

static int account_handle(troupe_ctx *ctx, void *state, const troupe_msg *msg)
{
    account *a = state;
    int64_t amount = 0;
    switch (msg->type) {
    case DEPOSIT:
        if (msg->size == sizeof amount)
            memcpy(&amount, msg->data, sizeof amount);
        a->balance += amount;
        return 0;
    case BALANCE:
        return troupe_reply(ctx, BALANCE, &a->balance, sizeof a->balance);
    case AUDIT:
        troupe_panic("audit: a bug"); /* does not return: the actor fails */
        return 0;
    default:
        return TROUPE_EINVAL;
    }
}

static const troupe_behaviour account_behaviour = {
    .name = "account",
    .state_size = sizeof(account),
    .handle = account_handle,
};

/* Every failure, on the worker that ran the handler (it must not block). */
static void on_failure(const troupe_failure *f, void *ud)
{
    (void)ud;
    printf("failure: %s (%s: %s)\n", f->behaviour, troupe_failure_kind_name(f->kind), f->reason);
}

#define SECOND 1000000000ull

static int start_account(troupe_system *sys, troupe_ref *out)
{
    troupe_sup root;
    troupe_child_spec spec;
    troupe_child_spec_defaults(&spec); /* PERMANENT: always restarted */
    spec.beh = &account_behaviour;
    spec.name = "account";             /* registered: troupe_whereis finds it */
    int rc = troupe_sup_root(sys, &root);
    return rc < 0 ? rc : troupe_sup_start_child(sys, root, &spec, out);
}

static int run(troupe_system *sys)
{
    troupe_ref acct;
    int64_t amount = 100, balance = -1;
    int rc = start_account(sys, &acct);
    if (rc == 0)
        rc = troupe_tell(sys, acct, DEPOSIT, &amount, sizeof amount);
    if (rc == 0)
        rc = troupe_tell(sys, acct, AUDIT, NULL, 0);
    if (rc == 0) /* waits out the restart (the first one comes after 100 ms) */
        rc = troupe_ask(sys, acct, BALANCE, NULL, 0, 5 * SECOND, NULL, &balance,
                        sizeof balance, NULL);
    troupe_ref named;
    troupe_child_info info;
    if (rc == 0)
        rc = troupe_whereis(sys, "account", &named);
    if (rc == 0)
        rc = troupe_child_info_get(sys, acct, &info);
    if (rc < 0)
        return rc;
    printf("balance after the restart: %lld\n", (long long)balance);
    printf("same actor: %s, restarts: %llu\n", troupe_ref_eq(named, acct) ? "yes" : "no",
           (unsigned long long)info.restarts);
    return balance == 0 && info.restarts == 1 && troupe_ref_eq(named, acct) ? 0 : 1;
}

int main(void)
{
    troupe_config cfg;
    troupe_config_defaults(&cfg);
    cfg.on_failure = on_failure;
    troupe_system *sys = NULL; /* destroy accepts NULL: create may fail */
    int rc = troupe_system_create(&sys, &cfg);
    if (rc == 0)
        rc = run(sys);
    if (rc < 0)
        fprintf(stderr, "supervise: %s\n", troupe_strerror(rc));
    troupe_system_destroy(sys);
    return rc == 0 ? 0 : 1;
}
