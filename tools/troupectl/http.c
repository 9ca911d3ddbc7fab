/* tools/troupectl/http.c — one HTTP/1.1 request on a plain socket
 * ("Connection: close": the reply ends when the server closes; a chunked
 * body is decoded). No TLS: the API listens on loopback or behind a proxy. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctl.h"

#define REPLY_MAX (64u << 20) /* a bigger reply is not the API's */

int ctl_set_url(ctl *c, const char *url)
{
    if (strncmp(url, "http://", 7) != 0)
        return -1;
    const char *h = url + 7;
    size_t hl = strcspn(h, ":/");
    if (hl == 0 || hl >= sizeof c->host)
        return -1;
    memcpy(c->host, h, hl);
    c->host[hl] = '\0';
    snprintf(c->port, sizeof c->port, "80");
    if (h[hl] == ':') {
        const char *p = h + hl + 1;
        size_t pl = strspn(p, "0123456789");
        if (pl == 0 || pl >= sizeof c->port || (p[pl] && strcmp(p + pl, "/") != 0))
            return -1;
        memcpy(c->port, p, pl);
        c->port[pl] = '\0';
    } else if (h[hl] && strcmp(h + hl, "/") != 0) {
        return -1;
    }
    return 0;
}

static int dial(const ctl *c)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res, *ai;
    if (getaddrinfo(c->host, c->port, &hints, &res) != 0)
        return -1;
    int fd = -1;
    for (ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0)
            return -1;
        p += k, n -= (size_t)k;
    }
    return 0;
}

/* Read to EOF within the timeout into a fresh buffer; -1 on error. */
static int read_all(int fd, int timeout_ms, char **out, size_t *len)
{
    size_t cap = 8192, n = 0;
    char *b = malloc(cap);
    while (b) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, timeout_ms) <= 0)
            break;
        if (cap - n < 4096 && (cap > REPLY_MAX || !(b = realloc(b, cap *= 2))))
            break;
        ssize_t k = recv(fd, b + n, cap - n - 1, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            b[n] = '\0';
            *out = b, *len = n;
            return k == 0 ? 0 : -1;
        }
        n += (size_t)k;
    }
    free(b);
    return -1;
}

/* Decode a chunked body in place; -1 when malformed. */
static int unchunk(char *b, size_t *len)
{
    size_t in = 0, out = 0, n = *len;
    for (;;) {
        char *end;
        if (in >= n)
            return -1;
        unsigned long sz = strtoul(b + in, &end, 16);
        char *crlf = strstr(b + in, "\r\n");
        if (end == b + in || !crlf)
            return -1;
        in = (size_t)(crlf - b) + 2;
        if (sz == 0)
            break;
        if (sz > n - in || n - in - sz < 2)
            return -1;
        memmove(b + out, b + in, sz);
        out += sz, in += sz + 2;
    }
    b[out] = '\0';
    *len = out;
    return 0;
}

static int parse_reply(char *raw, size_t n, reply *r)
{
    int st;
    if (sscanf(raw, "HTTP/1.%*[01] %3d", &st) != 1 || st < 100)
        return EX_REPLY;
    char *sep = strstr(raw, "\r\n\r\n");
    if (!sep)
        return EX_REPLY;
    *sep = '\0';
    int chunked = 0;
    for (char *h = strstr(raw, "\r\n"); h; h = strstr(h + 2, "\r\n"))
        if (strncasecmp(h + 2, "transfer-encoding:", 18) == 0 && strstr(h + 20, "chunked"))
            chunked = 1;
    size_t off = (size_t)(sep + 4 - raw), blen = n - off;
    memmove(raw, raw + off, blen + 1);
    if (chunked && unchunk(raw, &blen) < 0)
        return EX_REPLY;
    r->status = st;
    r->body = raw;
    r->len = blen;
    r->doc = jv_parse(raw, blen);
    return EX_OK;
}

int ctl_request(const ctl *c, const char *method, const char *path, const char *body, reply *out)
{
    *out = (reply){0};
    int fd = dial(c);
    if (fd < 0)
        return EX_CONNECT;
    size_t blen = body ? strlen(body) : 0;
    size_t cap = strlen(path) + (c->token ? strlen(c->token) : 0) + blen + 512;
    char *req = malloc(cap);
    if (!req) {
        close(fd);
        return EX_REPLY;
    }
    int n = snprintf(req, cap,
                     "%s %s HTTP/1.1\r\nHost: %s:%s\r\nConnection: close\r\nAccept: application/json\r\n"
                     "%s%s%sContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     method, path, c->host, c->port, c->token ? "Authorization: Bearer " : "",
                     c->token ? c->token : "", c->token ? "\r\n" : "", blen, body ? body : "");
    char *raw = NULL;
    size_t rn = 0;
    int rc = send_all(fd, req, (size_t)n) < 0 || read_all(fd, c->timeout_ms, &raw, &rn) < 0
                 ? EX_CONNECT
                 : EX_OK;
    free(req);
    close(fd);
    if (rc == EX_OK && (rc = parse_reply(raw, rn, out)) != EX_OK)
        free(raw);
    if (rc == EX_CONNECT)
        free(raw);
    return rc;
}

void reply_free(reply *r)
{
    jv_free(r->doc);
    free(r->body);
    *r = (reply){0};
}

int ctl_status_code(int status)
{
    if (status >= 200 && status < 300)
        return EX_OK;
    if (status == 404)
        return EX_NOTFOUND;
    if (status == 401 || status == 403)
        return EX_AUTH;
    return EX_SERVER;
}

int ctl_call(const ctl *c, const char *method, const char *path, const char *body, reply *out)
{
    int rc = ctl_request(c, method, path, body, out);
    if (rc == EX_CONNECT) {
        fprintf(stderr, "troupectl: cannot connect to http://%s:%s/\n", c->host, c->port);
        return rc;
    }
    if (rc != EX_OK) {
        fprintf(stderr, "troupectl: the reply to %s %s is not HTTP\n", method, path);
        return rc;
    }
    if (!out->doc) {
        fprintf(stderr, "troupectl: the reply to %s %s (%d) is not JSON\n", method, path,
                out->status);
        return out->status >= 200 && out->status < 300 ? EX_REPLY : ctl_status_code(out->status);
    }
    rc = ctl_status_code(out->status);
    if (rc != EX_OK)
        fprintf(stderr, "troupectl: %s (HTTP %d)\n", jv_str(out->doc, "error", "error"),
                out->status);
    return rc;
}

void ctl_escape(const char *s, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *s && o + 4 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '~')
            out[o++] = (char)ch;
        else
            out[o++] = '%', out[o++] = hex[ch >> 4], out[o++] = hex[ch & 15];
    }
    out[o] = '\0';
}
