/* http/conn.c — open connections: the whole-request deadline and room for
 * new clients (slowloris).
 *
 * libmicrohttpd's connection timeout is an idle timeout: a client sending
 * one byte every few seconds never meets it, and a few dozen such clients
 * hold every connection slot. So each connection is tracked here from
 * MHD_OPTION_NOTIFY_CONNECTION with the start of its current request (the
 * connection's start, then the end of each request on it):
 *  - a watcher thread shuts down the socket of a request older than the
 *    deadline; libmicrohttpd then reads end-of-file and closes the
 *    connection as if the client had;
 *  - a connection accepted beyond the cap (libmicrohttpd's own limit is one
 *    higher) shuts down the oldest connection still waiting for its request
 *    — a slow client's, or an idle keep-alive one — so a new request always
 *    gets in, while connections serving a request are never evicted.
 *
 * Locking: every field of every entry is under `lock`, taken by
 * libmicrohttpd's thread (the callbacks) and by the watcher. An entry is
 * unlinked under the lock by the CLOSED notification, which libmicrohttpd
 * makes before it closes the socket: the watcher never shuts down a file
 * descriptor that could already belong to something else. */
#include "core/alloc.h"
#include "http/internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

typedef struct hconn {
    struct hconn *prev, *next; /* oldest request start first */
    int fd;
    uint64_t since_ns;         /* start of the current request */
    int busy;                  /* its headers are in: being served */
    int cut;                   /* shut down here; closing */
} hconn;

struct hconns {
    pthread_mutex_t lock;
    pthread_cond_t wake;       /* the watcher's: a first connection, or stop */
    hconn list;                /* sentinel of a circular list */
    uint32_t live, cap;        /* live: entries not cut */
    uint64_t deadline_ns;
    int stop;
    pthread_t watcher;
};

static uint64_t mono_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- the list (caller holds lock) ------------------------------------------------- */

static void unlink_conn(hconn *e)
{
    e->prev->next = e->next;
    e->next->prev = e->prev;
}

static void append_conn(hconns *c, hconn *e)
{
    e->prev = c->list.prev;
    e->next = &c->list;
    c->list.prev->next = e;
    c->list.prev = e;
}

/* Shut the socket down both ways: the client sees the end, libmicrohttpd
 * reads end-of-file (or fails to write) and closes the connection. */
static void cut_conn(hconns *c, hconn *e)
{
    shutdown(e->fd, SHUT_RDWR);
    e->cut = 1;
    c->live--;
}

/* The oldest connection still waiting for its request, other than `not`. */
static hconn *oldest_waiting(hconns *c, const hconn *not)
{
    for (hconn *e = c->list.next; e != &c->list; e = e->next)
        if (!e->busy && !e->cut && e != not)
            return e;
    return NULL;
}

/* Cut every request past the deadline; the next deadline, or 0 if none.
 * The list is in start order, so the first one not late is the next. */
static uint64_t cut_late(hconns *c, uint64_t now)
{
    for (hconn *e = c->list.next; e != &c->list; e = e->next) {
        if (e->cut)
            continue;
        uint64_t due = e->since_ns + c->deadline_ns;
        if (due > now)
            return due;
        cut_conn(c, e);
    }
    return 0;
}

/* ---- the watcher ------------------------------------------------------------------ */

static void *watch(void *arg)
{
    hconns *c = arg;
    pthread_mutex_lock(&c->lock);
    while (!c->stop) {
        uint64_t due = cut_late(c, mono_now_ns());
        if (due == 0) {
            pthread_cond_wait(&c->wake, &c->lock);
        } else {
            struct timespec ts = {.tv_sec = (time_t)(due / 1000000000u),
                                  .tv_nsec = (long)(due % 1000000000u)};
            pthread_cond_timedwait(&c->wake, &c->lock, &ts);
        }
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

static int init_sync(hconns *c)
{
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0)
        return -1;
    int rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(&c->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (rc == 0 && pthread_mutex_init(&c->lock, NULL) != 0) {
        pthread_cond_destroy(&c->wake);
        rc = -1;
    }
    return rc == 0 ? 0 : -1;
}

int hconns_create(hconns **out, uint32_t cap, uint32_t deadline_s)
{
    hconns *c = sys_calloc(1, sizeof *c);
    if (!c)
        return TROUPE_ENOMEM;
    c->list.next = c->list.prev = &c->list;
    c->cap = cap;
    c->deadline_ns = (uint64_t)deadline_s * 1000000000u;
    if (init_sync(c) < 0) {
        free(c);
        return TROUPE_ESYS;
    }
    if (pthread_create(&c->watcher, NULL, watch, c) != 0) {
        pthread_cond_destroy(&c->wake);
        pthread_mutex_destroy(&c->lock);
        free(c);
        return TROUPE_ESYS;
    }
    *out = c;
    return 0;
}

void hconns_destroy(hconns *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    c->stop = 1;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->watcher, NULL);
    /* the daemon has stopped: every CLOSED notification has come */
    pthread_cond_destroy(&c->wake);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* ---- libmicrohttpd's callbacks ------------------------------------------------------ */

static void conn_started(hconns *c, struct MHD_Connection *conn, void **socket_ctx)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    hconn *e = ci ? sys_calloc(1, sizeof *e) : NULL;
    if (!e) { /* untracked, it would escape the deadline: refuse it */
        if (ci)
            shutdown(ci->connect_fd, SHUT_RDWR);
        return;
    }
    e->fd = ci->connect_fd;
    pthread_mutex_lock(&c->lock);
    e->since_ns = mono_now_ns();
    if (c->list.next == &c->list)
        pthread_cond_signal(&c->wake); /* the watcher may sleep with no deadline */
    append_conn(c, e);
    c->live++;
    hconn *old = c->live > c->cap ? oldest_waiting(c, e) : NULL;
    if (old)
        cut_conn(c, old);
    pthread_mutex_unlock(&c->lock);
    *socket_ctx = e;
}

static void conn_closed(hconns *c, void **socket_ctx)
{
    hconn *e = *socket_ctx;
    if (!e)
        return;
    pthread_mutex_lock(&c->lock);
    unlink_conn(e);
    if (!e->cut)
        c->live--;
    pthread_mutex_unlock(&c->lock);
    free(e);
    *socket_ctx = NULL;
}

void hconns_notify(void *cls, struct MHD_Connection *conn, void **socket_ctx,
                   enum MHD_ConnectionNotificationCode code)
{
    if (code == MHD_CONNECTION_NOTIFY_STARTED)
        conn_started(cls, conn, socket_ctx);
    else if (code == MHD_CONNECTION_NOTIFY_CLOSED)
        conn_closed(cls, socket_ctx);
}

static hconn *entry_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

void hconns_request_started(hconns *c, struct MHD_Connection *conn)
{
    hconn *e = entry_of(conn);
    if (!e)
        return;
    pthread_mutex_lock(&c->lock);
    e->busy = 1;
    pthread_mutex_unlock(&c->lock);
}

/* The next request's clock starts now: the entry moves to the young end,
 * keeping the list in start order. */
void hconns_request_done(hconns *c, struct MHD_Connection *conn)
{
    hconn *e = entry_of(conn);
    if (!e)
        return;
    pthread_mutex_lock(&c->lock);
    e->busy = 0;
    e->since_ns = mono_now_ns();
    unlink_conn(e);
    append_conn(c, e);
    pthread_mutex_unlock(&c->lock);
}
