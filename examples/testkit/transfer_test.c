/* examples/testkit/transfer_test.c — a test of your own actors with the
 * deterministic test kit (docs/TESTKIT.md). Copy it and put your
 * behaviours in place of the two below.
 *
 * Two accounts and a teller: the teller moves money from one account to
 * the other by asking the first to withdraw (troupe_ask_async) and, when
 * the reply says yes, telling the second to deposit. A timer audits the
 * total. The test runs the same workload under many seeds — each seed is
 * one order of the handlers — and checks the invariant (no money made or
 * lost) after each. A failing seed is printed; run it again alone with
 *     TROUPE_TESTKIT_SEED=<seed> ./testkit-transfer
 * and it fails the same way, step for step.
 *
 * A plain program (exit status 0 = pass) so that it fits any test runner.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <troupe/troupe.h>

enum { WITHDRAW = 1, DEPOSIT, TRANSFER, OK, NO, BALANCE };

/* ---- the actors under test ---- */

static int account_handle(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    long *balance = state, amount = 0;
    if (m->size == sizeof amount)
        memcpy(&amount, m->data, sizeof amount);
    if (m->type == WITHDRAW) {
        int ok = *balance >= amount;
        if (ok)
            *balance -= amount;
        return troupe_reply(ctx, ok ? OK : NO, NULL, 0);
    }
    if (m->type == DEPOSIT)
        *balance += amount;
    if (m->type == BALANCE)
        return troupe_reply(ctx, BALANCE, balance, sizeof *balance);
    return 0;
}

static int account_init(troupe_ctx *ctx, void *state, const void *arg)
{
    (void)ctx;
    *(long *)state = *(const long *)arg;
    return 0;
}

static const troupe_behaviour account = {
    .name = "account", .state_size = sizeof(long), .init = account_init, .handle = account_handle};

/* The teller: TRANSFER {from, to, amount}; remembers the one in flight
 * per ask id (a tiny table: this example sends few at a time). */
typedef struct transfer {
    troupe_ref from, to;
    long amount;
} transfer;

typedef struct teller {
    uint64_t ids[8];
    transfer pending[8];
} teller;

static int teller_handle(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    teller *t = state;
    if (m->type == TRANSFER) {
        transfer x;
        memcpy(&x, m->data, sizeof x);
        for (int i = 0; i < 8; i++)
            if (!t->ids[i]) {
                t->pending[i] = x;
                return troupe_ask_async(ctx, x.from, WITHDRAW, &x.amount, sizeof x.amount,
                                        1000000000ull, &t->ids[i]);
            }
        return 0; /* busy: dropped (a test would count it) */
    }
    for (int i = 0; i < 8; i++) /* a reply: OK or NO, corr = the ask's id */
        if (t->ids[i] && t->ids[i] == m->corr) {
            t->ids[i] = 0;
            if (m->type == OK)
                troupe_tell(troupe_ctx_system(ctx), t->pending[i].to, DEPOSIT,
                            &t->pending[i].amount, sizeof(long));
        }
    return 0;
}

static const troupe_behaviour teller_beh = {
    .name = "teller", .state_size = sizeof(teller), .handle = teller_handle};

/* ---- the test: one seed ---- */

static long balance_of(troupe_testkit *kit, troupe_ref acct)
{
    long b = -1;
    troupe_testkit_ask(kit, acct, BALANCE, NULL, 0, 0, NULL, &b, sizeof b, NULL);
    return b;
}

/* 0: the invariant held. *hash: the steps' hash (equal for equal seeds). */
static int run_seed(uint64_t seed, uint64_t *hash)
{
    troupe_testkit_config cfg;
    troupe_testkit_config_defaults(&cfg);
    cfg.seed = seed;
    troupe_testkit *kit;
    if (troupe_testkit_create(&kit, &cfg) != 0)
        return -1;
    troupe_system *sys = troupe_testkit_system(kit);
    long start = 100;
    troupe_ref a, b, t;
    troupe_spawn(sys, &account, &start, NULL, &a);
    troupe_spawn(sys, &account, &start, NULL, &b);
    troupe_spawn(sys, &teller_beh, NULL, NULL, &t);
    for (long i = 1; i <= 6; i++) { /* transfers both ways, racing */
        transfer x = {i % 2 ? a : b, i % 2 ? b : a, 30 * i};
        troupe_tell(sys, t, TRANSFER, &x, sizeof x);
    }
    int rc = troupe_testkit_run_until_idle(kit, 10000, NULL);
    long total = balance_of(kit, a) + balance_of(kit, b);
    troupe_testkit_trace_hash(kit, hash, NULL);
    troupe_testkit_destroy(kit);
    return rc == 0 && total == 2 * start ? 0 : 1;
}

int main(void)
{
    const char *only = getenv("TROUPE_TESTKIT_SEED");
    uint64_t first = only ? strtoull(only, NULL, 0) : 1, last = only ? first : 100;
    uint64_t hash, again, first_hash = 0;
    int differs = 0;
    for (uint64_t seed = first; seed <= last; seed++) {
        if (run_seed(seed, &hash) != 0) {
            fprintf(stderr, "FAIL: seed %llu (TROUPE_TESTKIT_SEED=%llu replays it)\n",
                    (unsigned long long)seed, (unsigned long long)seed);
            return 1;
        }
        if (run_seed(seed, &again) != 0 || again != hash) { /* replay: the same steps */
            fprintf(stderr, "FAIL: seed %llu did not replay\n", (unsigned long long)seed);
            return 1;
        }
        if (seed == first)
            first_hash = hash;
        differs |= hash != first_hash;
    }
    printf("%llu seeds: the total held in every order%s\n",
           (unsigned long long)(last - first + 1), differs ? " (the seeds ran different orders)" : "");
    return 0;
}
