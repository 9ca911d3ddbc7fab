/* tests/mailbox/test_ring_jump.c — white-box: an empty mailbox jumps to
 * its ring's next lap when it goes idle (mailbox/ring.c, mb_try_idle), so
 * that an actor that drains what it gets reuses its first slots. What must
 * hold across a jump: FIFO order, the accepted count and the depth, one
 * latency stamp in MB_STAMP_EVERY messages, and no slot skipped long ago
 * read as published. The mailbox is driven directly from this thread (one
 * sender, its consumer); the system only lends its allocator. */
#include "../support.h"

#include "mailbox/mailbox.h"

#define GEN 5u

typedef struct fixture {
    troupe_system *sys;
    mailbox mb;
} fixture;

static void fx_open(fixture *f, uint64_t p0, uint32_t cap)
{
    cr_assert_eq(troupe_system_create(&f->sys, NULL), 0);
    memset(&f->mb, 0, sizeof f->mb);
    atomic_store(&f->mb.tail, p0 & TW_POS_MASK); /* where positions go on from */
    mb_open(&f->mb, GEN, cap, TROUPE_OVERFLOW_REJECT, true);
}

static void fx_close(fixture *f)
{
    mb_free_ring(f->sys, &f->mb);
    troupe_system_destroy(f->sys);
}

/* n messages numbered from first */
static void push_n(fixture *f, uint64_t first, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        tmsg m = {.type = 1, .corr = first + i};
        bool sched = false;
        cr_assert_eq(mb_push_mpsc(f->sys, &f->mb, GEN, &m, &sched), MB_OK);
    }
}

/* Takes n messages numbered from first, then finds the mailbox empty;
 * returns how many were stamped. */
static uint32_t pop_expect(fixture *f, uint64_t first, uint32_t n)
{
    uint32_t stamps = 0;
    for (uint32_t i = 0; i < n; i++) {
        tmsg *m = NULL;
        cr_assert_eq(mb_front(&f->mb, &m), MB_OK, "message %u of %u", i, n);
        cr_assert_eq(m->corr, first + i, "FIFO across the jump");
        stamps += (m->flags_size & MF_STAMP) != 0;
    }
    tmsg *m = NULL;
    cr_assert_eq(mb_front(&f->mb, &m), MB_EMPTY);
    return stamps;
}

static uint64_t head_of(fixture *f) { return atomic_load(&f->mb.head); }
static uint32_t mask_of(fixture *f) { return atomic_load(&f->mb.ring)->mask; }

Test(mailbox_jump, an_idle_mailbox_past_its_first_slots_restarts_at_a_lap)
{
    fixture f;
    fx_open(&f, 0, 1000);
    uint32_t n = MB_JUMP_AT + 8;
    push_n(&f, 0, n);
    pop_expect(&f, 0, n);
    cr_assert(mb_try_idle(&f.mb, GEN));
    cr_expect_eq(head_of(&f) & mask_of(&f), 0, "head at a lap start");
    cr_expect_eq(mb_accepted(&f.mb), n, "skipped positions are not accepted");
    cr_expect_eq(mb_depth(&f.mb), 0);
    bool sched = false;
    tmsg m = {.type = 1, .corr = n};
    cr_assert_eq(mb_push_mpsc(f.sys, &f.mb, GEN, &m, &sched), MB_OK);
    cr_expect(sched, "the jump left it idle: the next sender schedules it");
    push_n(&f, n + 1, 4);
    cr_expect_eq(mb_depth(&f.mb), 5);
    pop_expect(&f, n, 5);
    cr_expect_eq(mb_accepted(&f.mb), n + 5);
    fx_close(&f);
}

Test(mailbox_jump, a_mailbox_within_its_first_slots_stays_where_it_is)
{
    fixture f;
    fx_open(&f, 0, 1000);
    push_n(&f, 0, 3);
    pop_expect(&f, 0, 3);
    cr_assert(mb_try_idle(&f.mb, GEN));
    cr_expect_eq(head_of(&f), 3);
    fx_close(&f);
}

/* Runs of MB_JUMP_AT + 4 then idle: without the stamp's skew the
 * positions a stamp wants (slot 255 of a lap) would never be reached. */
Test(mailbox_jump, one_message_in_stamp_every_is_still_stamped)
{
    fixture f;
    fx_open(&f, 0, 1000);
    uint32_t stamps = 0, k = MB_JUMP_AT + 4;
    for (uint32_t r = 0; r < MB_STAMP_EVERY; r++) {
        push_n(&f, r * k, k);
        stamps += pop_expect(&f, r * k, k);
        cr_assert(mb_try_idle(&f.mb, GEN));
    }
    cr_expect_eq(stamps, k, "one in MB_STAMP_EVERY of k * MB_STAMP_EVERY messages");
    fx_close(&f);
}

/* A jump into a new quarter of the positions clears every seq: a slot last
 * written 2^39 positions ago would otherwise read as published. The stale
 * seq is planted by hand in slot 1, as that write would have left it. */
Test(mailbox_jump, a_slot_skipped_for_a_wrap_of_positions_is_not_read_as_published)
{
    fixture f;
    uint64_t boundary = 1ull << MB_REGION_SHIFT;
    fx_open(&f, boundary - 1024 + 100, 1000); /* slot 100 of the last lap before it */
    push_n(&f, 0, 10);
    pop_expect(&f, 0, 10);
    mb_ring *r = atomic_load(&f.mb.ring);
    cr_assert_eq(r->mask, 1023);
    atomic_store(&r->slots[1].seq, mb_seq(boundary + 1)); /* an alias of the next lap's */
    cr_assert(mb_try_idle(&f.mb, GEN));
    cr_assert_eq(head_of(&f), boundary, "the jump crossed into the next quarter");
    push_n(&f, 10, 1);
    pop_expect(&f, 10, 1); /* ends with MB_EMPTY: slot 1 is not taken */
    push_n(&f, 11, 2);
    pop_expect(&f, 11, 2);
    fx_close(&f);
}
