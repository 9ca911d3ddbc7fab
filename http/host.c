/* http/host.c — the Host check: which names the server answers to.
 *
 * A page from any site, open in the operator's browser, can make its own
 * DNS name resolve to 127.0.0.1 (DNS rebinding) and then read this API as
 * if it were same-origin. Such a request still carries the page's name in
 * its Host header, so the server answers only to names it was told about:
 * "localhost", the loopback literals 127.0.0.1 and [::1], the address it
 * is bound to, and troupe_http_config.allowed_hosts. When bound to every
 * address (0.0.0.0 or ::) any IP literal is accepted, since the machine is
 * then reached by any of its addresses and a rebinding page always sends a
 * DNS name, never a literal. The port is not compared: a tunnel or a proxy
 * may put the server behind another one. A request without Host (HTTP/1.0;
 * libmicrohttpd refuses an HTTP/1.1 one) is accepted: browsers always send
 * it. */
#include "core/alloc.h"
#include "http/internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define HOST_PART_MAX 256 /* a DNS name is at most 253 bytes */

/* ---- the configured list ------------------------------------------------------- */

static int host_char_ok(char c)
{
    return isalnum((unsigned char)c) || c == '.' || c == '-' || c == '_' || c == ':' ||
           c == '[' || c == ']';
}

/* Copy one entry of the list into dst, lower case, brackets and one
 * trailing dot dropped, as host_part() normalises a request's. */
static size_t put_entry(char *dst, const char *src, size_t n)
{
    if (n >= 2 && src[0] == '[' && src[n - 1] == ']')
        src++, n -= 2;
    if (n > 1 && src[n - 1] == '.')
        n--;
    for (size_t i = 0; i < n; i++)
        dst[i] = (char)tolower((unsigned char)src[i]);
    dst[n] = '\0';
    return n;
}

/* The list becomes "a\0b\0\0": each entry checked, normalised, copied. */
static int parse_list(hhosts *h, const char *list)
{
    size_t len = strlen(list);
    if (len == 0 || len > TROUPE_HTTP_HOSTS_MAX)
        return TROUPE_EINVAL;
    char *out = sys_malloc(len + 2), *o = out;
    if (!out)
        return TROUPE_ENOMEM;
    for (const char *p = list;; p++) {
        size_t n = strcspn(p, ",");
        for (size_t i = 0; i < n; i++)
            if (!host_char_ok(p[i]))
                n = 0; /* refused below */
        size_t k = n ? put_entry(o, p, n) : 0;
        if (k == 0 || k >= HOST_PART_MAX) {
            free(out);
            return TROUPE_EINVAL;
        }
        o += k + 1;
        p += n;
        if (*p == '\0')
            break;
    }
    *o = '\0';
    h->names = out;
    return 0;
}

int http_hosts_init(hhosts *h, const char *bind_addr, const char *allowed)
{
    *h = (hhosts){0};
    if (inet_pton(AF_INET, bind_addr, h->bind) == 1)
        h->bind_family = AF_INET;
    else if (inet_pton(AF_INET6, bind_addr, h->bind) == 1)
        h->bind_family = AF_INET6;
    else
        return TROUPE_EINVAL;
    static const unsigned char any[16];
    h->bind_any = memcmp(h->bind, any, h->bind_family == AF_INET ? 4 : 16) == 0;
    return allowed ? parse_list(h, allowed) : 0;
}

void http_hosts_free(hhosts *h)
{
    free(h->names);
    h->names = NULL;
}

/* ---- one request's Host --------------------------------------------------------- */

/* "host", "host:port", "[v6]" or "[v6]:port" -> the host part in out,
 * lower case, without brackets or a trailing dot. -1 when malformed. */
static int host_part(const char *h, char *out, int *bracketed)
{
    const char *end, *rest;
    *bracketed = h[0] == '[';
    if (*bracketed) {
        if (!(end = strchr(++h, ']')))
            return -1;
        rest = end + 1;
    } else {
        end = rest = h + strcspn(h, ":");
    }
    if (*rest == ':') /* a port: digits only, possibly none (RFC 7230) */
        for (const char *d = rest + 1; *d; d++)
            if (*d < '0' || *d > '9' || d - rest > 5)
                return -1;
    if (*rest != ':' && *rest != '\0')
        return -1;
    size_t n = (size_t)(end - h);
    if (n == 0 || n >= HOST_PART_MAX)
        return -1;
    return put_entry(out, h, n) ? 0 : -1;
}

static int listed(const hhosts *h, const char *part)
{
    for (const char *e = h->names; e && *e; e += strlen(e) + 1)
        if (strcmp(e, part) == 0)
            return 1;
    return 0;
}

/* An IP literal: loopback, the bound address, or any when bound to all. */
static int literal_ok(const hhosts *h, int family, const unsigned char *a)
{
    static const unsigned char v4_loop[4] = {127, 0, 0, 1};
    static const unsigned char v6_loop[16] = {[15] = 1};
    if (h->bind_any)
        return 1;
    if (memcmp(a, family == AF_INET ? v4_loop : v6_loop, family == AF_INET ? 4 : 16) == 0)
        return 1;
    return family == h->bind_family && memcmp(a, h->bind, family == AF_INET ? 4 : 16) == 0;
}

int http_host_ok(const hhosts *h, const char *host)
{
    char part[HOST_PART_MAX];
    unsigned char addr[16];
    int bracketed;
    if (!host)
        return 1;
    if (host_part(host, part, &bracketed) < 0)
        return 0;
    if (listed(h, part))
        return 1;
    if (bracketed)
        return inet_pton(AF_INET6, part, addr) == 1 && literal_ok(h, AF_INET6, addr);
    if (inet_pton(AF_INET, part, addr) == 1)
        return literal_ok(h, AF_INET, addr);
    return strcmp(part, "localhost") == 0;
}
