/* tests/fuzz/seed_frame.c — writes the frame harness's seed corpus with
 * the encoder itself (frame_add): real frames of every kind, as nodes send
 * them. Run once by hand (docs/FUZZING.md); its output is committed in
 * tests/fuzz/corpus/frame/. Usage: seed-frame DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/frame.h"

static void save(const char *dir, const char *name, const frame_buf *fb)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(fb->data, 1, fb->len, f) != fb->len || fclose(f) != 0)
        exit(1);
}

static void add(frame_buf *fb, uint8_t kind, uint32_t type, uint64_t from, uint64_t to,
                uint64_t ask, const void *payload, uint32_t len)
{
    frame_env e = {.kind = kind, .type = type, .from = from, .to = to, .ask_id = ask,
                   .len = len, .payload = payload};
    if (frame_add(fb, &e, 1u << 16) != 0)
        exit(1);
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    frame_buf fb;
    frame_init(&fb, 0x1122334455667788ull);
    add(&fb, FRAME_TELL, 7, 0x100000001ull, 0x200000002ull, 0, "hello", 5);
    save(argv[1], "tell.bin", &fb);
    frame_reset(&fb);
    add(&fb, FRAME_ASK, 9, 1, 2, 77, "question", 8);
    add(&fb, FRAME_REPLY, 9, 2, 1, 77, "answer", 6);
    add(&fb, FRAME_DOWN, 0, 3, 4, 0, NULL, 0);
    save(argv[1], "ask_reply_down.bin", &fb);
    frame_reset(&fb);
    /* a cluster send: pid length u8, the pid, then the message's bytes */
    static const char csend[] = "\x05" "chain" "payload";
    add(&fb, FRAME_CSEND, 3, 5, 0xABCDEFull, 12, csend, sizeof csend - 1);
    add(&fb, FRAME_MOVED, 3, 5, 0xABCDEFull, 12, csend, sizeof csend - 1);
    save(argv[1], "csend_moved.bin", &fb);
    frame_reset(&fb);
    for (uint32_t i = 0; i < 40; i++)
        add(&fb, FRAME_TELL, i, i, i + 1, 0, &i, sizeof i);
    save(argv[1], "batch40.bin", &fb);
    frame_free(&fb);
    return 0;
}
