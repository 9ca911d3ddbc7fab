/* examples/hello.c — the smallest troupe program: spawn, tell, ask.
 *
 * A counter actor adds the numbers it is told and answers "get" asks.
 * Its state lives in the runtime and is touched by one worker at a time,
 * so the handler needs no lock. The README shows this same program.
 *
 * It is C11 and C++17 at once (tests/meson.build builds both, with
 * -std=c11 -pedantic and no _GNU_SOURCE, and with -std=c++17): hence the
 * cast of state, which C++ does not make implicitly. The designated
 * initializers are C++20; g++ takes them in C++17 as an extension.
 */
#include <stdint.h>
#include <stdio.h>

#include <troupe/troupe.h>

enum { MSG_ADD = 1, MSG_GET = 2 };

typedef struct counter {
    int64_t total;
} counter;

static int counter_handle(troupe_ctx *ctx, void *state, const troupe_msg *msg)
{
    counter *c = (counter *)state;
    switch (msg->type) {
    case MSG_ADD:
        c->total += *(const int64_t *)msg->data;
        return 0;
    case MSG_GET:
        return troupe_reply(ctx, MSG_GET, &c->total, sizeof c->total);
    default:
        return -1; /* an unknown message fails this actor, nothing else */
    }
}

static const troupe_behaviour counter_behaviour = {
    .name = "counter",
    .state_size = sizeof(counter),
    .handle = counter_handle,
};

int main(void)
{
    troupe_system *sys;
    int rc = troupe_system_create(&sys, NULL); /* one worker per core */
    if (rc < 0) {
        fprintf(stderr, "troupe_system_create: %s\n", troupe_strerror(rc));
        return 1;
    }
    troupe_ref counter_ref;
    rc = troupe_spawn(sys, &counter_behaviour, NULL, NULL, &counter_ref);
    for (int64_t n = 1; rc == 0 && n <= 10; n++)
        rc = troupe_tell(sys, counter_ref, MSG_ADD, &n, sizeof n);

    /* Messages from one sender arrive in order: the ask sees all ten adds. */
    int64_t total = 0;
    if (rc == 0)
        rc = troupe_ask(sys, counter_ref, MSG_GET, NULL, 0, 1000000000u /* 1 s */, NULL, &total,
                        sizeof total, NULL);
    if (rc < 0) {
        fprintf(stderr, "hello: %s\n", troupe_strerror(rc));
        troupe_system_destroy(sys);
        return 1;
    }
    printf("hello, troupe: 1 + 2 + ... + 10 = %lld\n", (long long)total);
    troupe_system_destroy(sys);
    return total == 55 ? 0 : 1;
}
