/* observe/utf8.h — the one UTF-8 check shared by every text the runtime
 * writes for others to parse: the JSON of the HTTP API (http/json.c) and
 * the Prometheus page (observe/prom.c).
 *
 * Names (registered names, behaviour names, breaker and adapter names) are
 * arbitrary bytes; both formats must be UTF-8. Writers copy each
 * well-formed sequence and put U+FFFD in place of each byte that does not
 * start one, so a page is always valid whatever a name holds (lossy for
 * such names, never broken). Header-only: nothing to link. */
#ifndef TROUPE_OBSERVE_UTF8_H
#define TROUPE_OBSERVE_UTF8_H

#include <stddef.h>

/* U+FFFD in UTF-8: what a byte outside any well-formed sequence becomes. */
#define UTF8_REPLACEMENT "\xEF\xBF\xBD"

/* Length (1..4) of the well-formed UTF-8 sequence at s[0..n), or 0 if
 * there is none there (n == 0, a stray continuation byte, a truncated
 * sequence, an overlong form, a surrogate or a code point past U+10FFFF:
 * RFC 3629). ASCII, control characters included, is 1. */
static inline size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    if (n == 0)
        return 0;
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    if (c < 0xC2 || c > 0xF4 || n < len)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    /* the second byte's range rules out overlongs, surrogates, > U+10FFFF */
    if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F) ||
        (c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] > 0x8F))
        return 0;
    return len;
}

#endif /* TROUPE_OBSERVE_UTF8_H */
