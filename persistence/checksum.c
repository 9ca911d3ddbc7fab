/* persistence/checksum.c — CRC-32C, table-driven, eight bytes per step
 * ("slicing-by-8"): table[k][b] is the CRC of byte b followed by k zero
 * bytes, so eight table lookups fold eight input bytes at once. About
 * 1.5 GB/s here, against ~400 MB/s one byte at a time; recovery reads
 * every byte it replays through it. */
#include "persistence/checksum.h"

#include <pthread.h>
#include <string.h>

#define CRC32C_POLY 0x82F63B78u /* 0x1EDC6F41 bit-reversed */

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_build(void)
{
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = b;
        for (int i = 0; i < 8; i++)
            c = (c >> 1) ^ (CRC32C_POLY & (0u - (c & 1)));
        table[0][b] = c;
    }
    for (int k = 1; k < 8; k++)
        for (uint32_t b = 0; b < 256; b++)
            table[k][b] = (table[k - 1][b] >> 8) ^ table[0][table[k - 1][b] & 0xff];
}

/* Eight bytes little-endian, whatever the host's order. */
static uint64_t load_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint32_t fold8(uint32_t c, const unsigned char *p)
{
    uint64_t v = load_le64(p) ^ c;
    return table[7][v & 0xff] ^ table[6][(v >> 8) & 0xff] ^ table[5][(v >> 16) & 0xff] ^
           table[4][(v >> 24) & 0xff] ^ table[3][(v >> 32) & 0xff] ^
           table[2][(v >> 40) & 0xff] ^ table[1][(v >> 48) & 0xff] ^ table[0][v >> 56];
}

uint32_t crc32c(uint32_t crc, const void *data, size_t len)
{
    const unsigned char *p = data;
    uint32_t c = ~crc;
    pthread_once(&table_once, table_build);
    for (; len >= 8; len -= 8, p += 8)
        c = fold8(c, p);
    while (len--)
        c = (c >> 8) ^ table[0][(c ^ *p++) & 0xff];
    return ~c;
}

uint32_t backend_crc(const char *pid, uint64_t seq, uint32_t schema, const void *data,
                     size_t len)
{
    unsigned char head[1 + 8 + 4];
    size_t n = strlen(pid);
    head[0] = (unsigned char)n;
    for (int i = 0; i < 8; i++)
        head[1 + i] = (unsigned char)(seq >> (8 * i));
    for (int i = 0; i < 4; i++)
        head[9 + i] = (unsigned char)(schema >> (8 * i));
    uint32_t c = crc32c(0, head, 1);
    c = crc32c(c, pid, n);
    c = crc32c(c, head + 1, sizeof head - 1);
    return crc32c(c, data, len);
}
