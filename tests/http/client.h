/* tests/http/client.h — a tiny HTTP/1.1 client on a plain socket, and a
 * JSON validator, for the http suite.
 *
 * The client sends one request with "Connection: close" and reads until
 * the server closes, so a response is complete when read() returns 0 — no
 * Content-Length or chunked parsing needed. The validator checks that a
 * body is one JSON value (RFC 8259 grammar, strings as the writer makes
 * them); it decodes nothing. */
#ifndef TROUPE_TESTS_HTTP_CLIENT_H
#define TROUPE_TESTS_HTTP_CLIENT_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

typedef struct hc_resp {
    int status;   /* 0: the server closed without a status line */
    char *raw;    /* everything received, NUL-terminated */
    size_t len;
    char *body;   /* into raw, after the blank line ("" if none) */
} hc_resp;

static inline void hc_free(hc_resp *r)
{
    free(r->raw);
    memset(r, 0, sizeof *r);
}

/* A hang guard on every read: a server that never answers makes a read
 * fail after this long (status 0) instead of blocking the test forever. */
#define HC_RECV_TIMEOUT_S 30

static inline int hc_connect(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        fd = -1;
    }
    struct timeval tv = {.tv_sec = HC_RECV_TIMEOUT_S};
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static inline int hc_send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Read until EOF (or an error such as a reset) into r. */
static inline void hc_read_all(int fd, hc_resp *r)
{
    size_t cap = 4096;
    r->raw = malloc(cap);
    r->len = 0;
    for (;;) {
        if (cap - r->len < 1024)
            r->raw = realloc(r->raw, cap *= 2);
        ssize_t k = recv(fd, r->raw + r->len, cap - r->len - 1, 0);
        if (k <= 0)
            break;
        r->len += (size_t)k;
    }
    r->raw[r->len] = '\0';
    if (sscanf(r->raw, "HTTP/1.%*d %d", &r->status) != 1)
        r->status = 0;
    char *sep = strstr(r->raw, "\r\n\r\n");
    r->body = sep ? sep + 4 : r->raw + r->len;
}

/* Send raw bytes as the request and read the whole response. */
static inline hc_resp hc_raw(int port, const char *req, size_t len)
{
    hc_resp r = {0};
    int fd = hc_connect(port);
    if (fd < 0) {
        r.raw = calloc(1, 1);
        r.body = r.raw;
        return r;
    }
    hc_send_all(fd, req, len);
    shutdown(fd, SHUT_WR);
    hc_read_all(fd, &r);
    close(fd);
    return r;
}

/* One request; `headers` are extra lines, each ending in \r\n (or NULL). */
static inline hc_resp hc_request(int port, const char *method, const char *path,
                                 const char *headers)
{
    char req[8192];
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s\r\n", method,
                     path, headers ? headers : "");
    return hc_raw(port, req, (size_t)n);
}

static inline hc_resp hc_get(int port, const char *path) { return hc_request(port, "GET", path, NULL); }

/* The value of a response header (case-insensitive name), copied into buf;
 * NULL when absent. */
static inline const char *hc_header(const hc_resp *r, const char *name, char *buf, size_t cap)
{
    size_t n = strlen(name);
    for (const char *p = strstr(r->raw, "\r\n"); p && p + 2 < r->body; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':') {
            const char *v = p + 3 + n;
            while (*v == ' ')
                v++;
            size_t len = strcspn(v, "\r");
            snprintf(buf, cap, "%.*s", (int)(len < cap ? len : cap - 1), v);
            return buf;
        }
    }
    return NULL;
}

/* The unsigned number after the first `"key":` at or after `from`; -1 when
 * there is none. */
static inline long long hc_num(const char *from, const char *key)
{
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = from ? strstr(from, pat) : NULL;
    return p ? strtoll(p + strlen(pat), NULL, 10) : -1;
}

/* ---- JSON validation ---------------------------------------------------------- */

static inline const char *jv_value(const char *p, int depth);

static inline const char *jv_ws(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
        p++;
    return p;
}

static inline const char *jv_string(const char *p)
{
    if (*p++ != '"')
        return NULL;
    while (*p != '"') {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20)
            return NULL; /* raw control characters are not allowed */
        if (c == '\\') {
            p++;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!p[i] || !strchr("0123456789abcdefABCDEF", p[i]))
                        return NULL;
                p += 4;
            } else if (!*p || !strchr("\"\\/bfnrt", *p)) {
                return NULL;
            }
        }
        p++;
    }
    return p + 1;
}

static inline const char *jv_number(const char *p)
{
    char *end;
    if (*p != '-' && (*p < '0' || *p > '9'))
        return NULL;
    strtod(p, &end);
    return end > p ? end : NULL;
}

static inline const char *jv_items(const char *p, char close, int depth, int keyed)
{
    p = jv_ws(p + 1);
    if (*p == close)
        return p + 1;
    for (;;) {
        if (keyed) {
            if (!(p = jv_string(jv_ws(p))) || *(p = jv_ws(p)) != ':')
                return NULL;
            p++;
        }
        if (!(p = jv_value(p, depth + 1)))
            return NULL;
        p = jv_ws(p);
        if (*p == close)
            return p + 1;
        if (*p++ != ',')
            return NULL;
    }
}

static inline const char *jv_value(const char *p, int depth)
{
    p = jv_ws(p);
    if (depth > 100)
        return NULL;
    switch (*p) {
    case '{': return jv_items(p, '}', depth, 1);
    case '[': return jv_items(p, ']', depth, 0);
    case '"': return jv_string(p);
    case 't': return strncmp(p, "true", 4) ? NULL : p + 4;
    case 'f': return strncmp(p, "false", 5) ? NULL : p + 5;
    case 'n': return strncmp(p, "null", 4) ? NULL : p + 4;
    default: return jv_number(p);
    }
}

/* 1 when s is exactly one JSON value (surrounding whitespace allowed). */
static inline int json_valid(const char *s)
{
    const char *end = s ? jv_value(s, 0) : NULL;
    return end && *jv_ws(end) == '\0';
}

#endif /* TROUPE_TESTS_HTTP_CLIENT_H */
