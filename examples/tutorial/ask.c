/* examples/tutorial/ask.c — docs/TUTORIAL.md, step 1: an actor, tell and ask.
 *
 * An account actor keeps a balance. Deposits are told (fire and forget);
 * withdrawals and the balance are asked (the caller waits for the reply).
 * The state belongs to the actor and one worker at a time runs it: no lock.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <troupe/troupe.h>

enum { DEPOSIT = 1, WITHDRAW = 2, BALANCE = 3 };

typedef struct account {
    int64_t balance;
} account;

/* The amount a DEPOSIT or WITHDRAW carries (0 for BALANCE). */
static int64_t amount_of(const troupe_msg *msg)
{
    int64_t amount = 0;
    if (msg->size == sizeof amount)
        memcpy(&amount, msg->data, sizeof amount);
    return amount;
}

static int account_handle(troupe_ctx *ctx, void *state, const troupe_msg *msg)
{
    account *a = state;
    int64_t amount = amount_of(msg);
    switch (msg->type) {
    case DEPOSIT:
        a->balance += amount;
        return 0;
    case WITHDRAW: {
        int32_t ok = amount > 0 && amount <= a->balance; /* the reply says if it went through */
        if (ok)
            a->balance -= amount;
        return troupe_reply(ctx, WITHDRAW, &ok, sizeof ok);
    }
    case BALANCE:
        return troupe_reply(ctx, BALANCE, &a->balance, sizeof a->balance);
    default:
        return TROUPE_EINVAL; /* an unknown message fails this actor, nothing else */
    }
}

static const troupe_behaviour account_behaviour = {
    .name = "account",
    .state_size = sizeof(account),
    .handle = account_handle,
};

#define SECOND 1000000000ull

/* Ask the account to withdraw `amount`: 1 if it did, 0 if the funds were
 * short, or a negative TROUPE_E* code. */
static int withdraw(troupe_system *sys, troupe_ref acct, int64_t amount)
{
    int32_t ok = 0;
    int rc = troupe_ask(sys, acct, WITHDRAW, &amount, sizeof amount, SECOND, NULL, &ok,
                        sizeof ok, NULL);
    return rc < 0 ? rc : ok;
}

int main(void)
{
    troupe_system *sys;
    int rc = troupe_system_create(&sys, NULL); /* one worker per core */
    if (rc < 0) {
        fprintf(stderr, "troupe_system_create: %s\n", troupe_strerror(rc));
        return 1;
    }
    troupe_ref acct;
    rc = troupe_spawn(sys, &account_behaviour, NULL, NULL, &acct);
    for (int64_t amount = 50; rc == 0 && amount <= 100; amount += 50)
        rc = troupe_tell(sys, acct, DEPOSIT, &amount, sizeof amount);
    int took = rc < 0 ? rc : withdraw(sys, acct, 120);
    int refused = took < 0 ? took : withdraw(sys, acct, 1000);
    int64_t balance = 0;
    rc = refused < 0 ? refused
                     : troupe_ask(sys, acct, BALANCE, NULL, 0, SECOND, NULL, &balance,
                                  sizeof balance, NULL);
    if (rc < 0) {
        fprintf(stderr, "ask: %s\n", troupe_strerror(rc));
        troupe_system_destroy(sys);
        return 1;
    }
    printf("withdraw 120: %s\n", took ? "done" : "refused");
    printf("withdraw 1000: %s\n", refused ? "done" : "refused");
    printf("balance: %lld\n", (long long)balance);
    troupe_system_destroy(sys);
    return balance == 30 ? 0 : 1;
}
