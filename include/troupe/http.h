/* troupe/http.h — the HTTP API and the live dashboard (libmicrohttpd).
 *
 *   troupe_http_config cfg;
 *   troupe_http_config_defaults(&cfg);       // 127.0.0.1, ephemeral port
 *   cfg.token = "s3cret";                    // enables restart / stop
 *   troupe_http *srv;
 *   troupe_http_start(sys, &cfg, &srv);
 *   printf("http://127.0.0.1:%d/\n", troupe_http_port(srv));
 *   ...
 *   troupe_http_stop(srv);                   // before troupe_system_destroy
 *
 * Endpoints (every error has the JSON body {"error": "...", "status": N}):
 *   GET  /                            the dashboard (one self-contained page)
 *   GET  /metrics                     Prometheus text (troupe_metrics_write)
 *   GET  /api/system                  counters, workers, breakers
 *   GET  /api/tree                    the supervision tree with its actors
 *   GET  /api/actors?type=T&limit=N   live user actors (limit 1..10000, 100)
 *   GET  /api/actors/{name}           one registered actor
 *   POST /api/actors/{name}/restart   troupe_actor_restart
 *   POST /api/actors/{name}/stop      for good: troupe_sup_terminate_child
 *                                     when supervised, else troupe_stop
 *   POST /api/actors/{name}/trace     {"count": N}: trace the next N (1..1000)
 *                                     messages (troupe_trace_arm; 409 when 16
 *                                     actors are traced already)
 *   GET  /api/actors/{name}/trace     its records (troupe_trace_read; 404 if
 *                                     never armed)
 *   DELETE /api/actors/{name}/trace   disarm, forget the records
 *   GET  /api/actor?name=N            the same three with the name in the
 *   POST /api/actor/restart?name=N    query: a browser resolves "." and ".."
 *   POST /api/actor/stop?name=N       path segments (%2E%2E too) before
 *                                     sending; the dashboard uses these
 *   GET  /api/flags                   the feature flags (troupe/flags.h)
 *   POST /api/flags/{name}            set one: {"value": "25%"} or value=25%25;
 *                                     {"value": null} drops the run-time value
 *                                     (400 bad value, 404 unknown adapter,
 *                                     409 pinned by the environment)
 *   GET  /api/adapters                the legacy adapters (troupe/adapter.h)
 *   GET  /api/events?since=S&limit=N&actor=A
 *                                     the event log: failures, restarts,
 *                                     stops, escalations, flag changes
 *                                     (troupe_events_read; limit 1..512,
 *                                     100; poll again with since=next)
 *   GET  /api/journal                 the system journal's metrics
 *                                     (troupe_journal_metrics_get)
 *   GET  /api/cluster/nodes           the nodes of the system's cluster
 *                                     (troupe_cluster_nodes; 404 when the
 *                                     system has not joined one, 503 when
 *                                     the membership database does not answer)
 * The POSTs and the DELETE need "Authorization: Bearer <token>": 403
 * when no token is configured (they are off), 401 when the header is
 * missing or wrong.
 * Path segments and query values are percent-decoded; a name is any bytes
 * but NUL, 1..TROUPE_NAME_MAX of them. Statuses: 400 bad parameter, 404
 * unknown path or actor, 405 wrong method (with Allow), 409 restart of an
 * actor that is not supervised, 413 body over max_request_bytes, 414
 * request target over 4096 bytes or 32 query parameters, 421 Host not
 * allowed, 503 the system is shutting down. /api/tree shows 24 levels of
 * supervisors below the root: a deeper one is written {"truncated": true}
 * and the document ends with "truncated" and "max_depth".
 *
 * Host check (DNS rebinding: a page from any site can make its own name
 * resolve to this machine, but its requests still carry that name): a
 * request is served only when its Host header, port aside, is localhost,
 * 127.0.0.1, [::1], the bind address (any IP literal when bound to 0.0.0.0
 * or ::) or listed in allowed_hosts; a request without Host (HTTP/1.0) is
 * served.
 *
 * Slow clients: timeout_s closes an idle connection, request_timeout_s one
 * whose request is not done in time however steadily it trickles in, and a
 * connection arriving when max_connections are open is accepted in place of
 * the oldest one still waiting for its request (a slow client's or an idle
 * keep-alive one), so it is served; connections serving a request are not
 * evicted, so up to max_connections + 1 are open at once.
 *
 * The server runs two threads of its own (libmicrohttpd's polling thread
 * and a watcher of request deadlines); handlers only read snapshots and
 * never wait for an actor.
 *
 * Thread safety: start and stop of one server must not race each other;
 * troupe_http_port may be called from any thread while the server runs.
 * Ownership: the config's strings are copied; the system is borrowed and
 * must outlive the server (stop the server before troupe_system_destroy).
 */
#ifndef TROUPE_HTTP_H
#define TROUPE_HTTP_H

#include <stdint.h>

#include "troupe/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct troupe_system troupe_system;
typedef struct troupe_http troupe_http;

/* Token length bound: it travels in a request header. */
#define TROUPE_HTTP_TOKEN_MAX 256
/* Length bound of troupe_http_config.allowed_hosts. */
#define TROUPE_HTTP_HOSTS_MAX 4096

typedef struct troupe_http_config {
    /* IPv4 or IPv6 literal to listen on (copied). NULL = "127.0.0.1": the
     * API shows every actor, so it is not exposed beyond the host unless
     * asked for. */
    const char *bind_addr;
    uint16_t port;              /* 0 = an ephemeral port (troupe_http_port) */
    /* Bearer token for the mutating endpoints (copied), 1..TROUPE_HTTP_TOKEN_MAX
     * visible ASCII characters. NULL = those endpoints are off. */
    const char *token;
    uint32_t max_connections;   /* served at once, 1..65536 (default 32) */
    /* Largest request body, 1..16 MiB (default 16 KiB): more is refused with
     * 413. Request line and headers are bounded by the per-connection memory
     * of libmicrohttpd, set to this plus 16 KiB. */
    uint32_t max_request_bytes;
    uint32_t timeout_s;         /* idle connection closed after, 1..3600 (10) */
    /* /metrics also exports per-named-actor series (troupe_metrics_opts). */
    int metrics_per_name;
    /* Host names the server answers to besides its default ones (copied): a
     * comma-separated list such as "dash.example.org,10.0.0.5", at most
     * TROUPE_HTTP_HOSTS_MAX bytes of letters, digits and ".-_:[]", each name
     * compared without case and without a port. NULL = none. See "Host
     * check" above. */
    const char *allowed_hosts;
    /* A whole request — from the connection's start, or the end of the
     * previous request on it, to the last byte of its reply — must be done
     * within this many seconds, 1..3600, or its connection is closed
     * (timeout_s alone is an idle timeout: a client sending one byte at a
     * time would never meet it). 0 = the default, 30. */
    uint32_t request_timeout_s;
    uint8_t reserved[20];
} troupe_http_config;

/* Fill *cfg with the defaults above. */
TROUPE_API void troupe_http_config_defaults(troupe_http_config *cfg);

/* Listen and serve. cfg NULL = defaults. On success *out is the caller's,
 * released with troupe_http_stop. Errors: TROUPE_EINVAL (NULL sys or out, a
 * field out of range, a bad allowed_hosts list, a bind address that is not
 * an IP literal or not an address of this machine, a bad token),
 * TROUPE_EBUSY (the port is taken),
 * TROUPE_ENOMEM, TROUPE_ESYS (another socket or thread failure),
 * TROUPE_ENOTSUP (the library was built with -Dhttp=disabled: the other
 * functions keep their contract, no server ever exists). */
TROUPE_API int troupe_http_start(troupe_system *sys, const troupe_http_config *cfg,
                                 troupe_http **out);

/* The port it listens on (the chosen one when cfg.port was 0), or
 * TROUPE_EINVAL for NULL. */
TROUPE_API int troupe_http_port(const troupe_http *srv);

/* Stop listening, finish the requests in progress, join the server's thread
 * and free it. NULL is accepted. */
TROUPE_API void troupe_http_stop(troupe_http *srv);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_HTTP_H */
