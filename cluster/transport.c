/* cluster/transport.c — one NATS connection per node: connect with
 * SendAsap and endless reconnects, the inbox subscription, open and close
 * (transport.h); the queues and the flusher are transport_queue.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster/transport_int.h"
#include "core/alloc.h"
#include "core/common.h"
#include "troupe/message.h"

/* ---- the connection ---- */

static void on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)nc;
    (void)sub;
    transport *t = closure;
    const char *reply = natsMsg_GetReply(msg);
    t->rx(t->rx_arg, reply ? reply : "", (const uint8_t *)natsMsg_GetData(msg),
          (size_t)natsMsg_GetDataLength(msg));
    natsMsg_Destroy(msg);
}

static void on_sub_done(void *closure)
{
    transport *t = closure;
    pthread_mutex_lock(&t->fmu);
    t->sub_done = true;
    pthread_cond_broadcast(&t->fcv);
    pthread_mutex_unlock(&t->fmu);
}

/* Unsubscribe and wait (bounded) until no rx call runs or will run. */
static void unsubscribe(transport *t)
{
    if (!t->sub)
        return;
    if (natsSubscription_Unsubscribe(t->sub) != NATS_OK)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 5;
    pthread_mutex_lock(&t->fmu);
    while (!t->sub_done && pthread_cond_timedwait(&t->fcv, &t->fmu, &ts) == 0)
        ;
    pthread_mutex_unlock(&t->fmu);
}

#define MAX_URLS 16

/* The comma-separated list as nats.c's server pool, in its order (no
 * shuffling: the nearest server first, as the configuration lists them).
 * natsOptions_SetURL takes one URL only: a list there failed the join. */
static int set_servers(natsOptions *o, const char *urls)
{
    char *copy = sys_strdup(urls);
    if (!copy)
        return TROUPE_ENOMEM;
    const char *list[MAX_URLS];
    int n = 0;
    for (char *save = NULL, *u = strtok_r(copy, ",", &save); u && n < MAX_URLS;
         u = strtok_r(NULL, ",", &save))
        list[n++] = u;
    int rc = n && natsOptions_SetServers(o, list, n) == NATS_OK &&
                     natsOptions_SetNoRandomize(o, true) == NATS_OK
                 ? 0
                 : TROUPE_EINVAL;
    free(copy);
    return rc;
}

static int connect_nats(transport *t, const char *urls)
{
    if (natsOptions_Create(&t->opts) != NATS_OK)
        return TROUPE_ENOMEM;
    int rc = set_servers(t->opts, urls);
    if (rc)
        return rc;
    /* SendAsap: nats.c 3.4.1 otherwise waits 1 ms before each write */
    if (
        natsOptions_SetSendAsap(t->opts, true) != NATS_OK ||
        natsOptions_SetAllowReconnect(t->opts, true) != NATS_OK ||
        natsOptions_SetMaxReconnect(t->opts, -1) != NATS_OK ||
        natsOptions_SetReconnectWait(t->opts, 100) != NATS_OK ||
        natsOptions_SetTimeout(t->opts, 2000) != NATS_OK)
        return TROUPE_EINVAL;
    if (natsConnection_Connect(&t->nc, t->opts) != NATS_OK)
        return TROUPE_EIO;
    if (natsConnection_Subscribe(&t->sub, t->nc, t->inbox, on_msg, t) != NATS_OK)
        return TROUPE_EIO;
    natsSubscription_SetOnCompleteCB(t->sub, on_sub_done, t);
    /* no limit on what waits for the reader: frames are bounded upstream */
    natsSubscription_SetPendingLimits(t->sub, -1, 256 * 1024 * 1024);
    /* the subscription is on the server before join returns */
    if (natsConnection_FlushTimeout(t->nc, 5000) != NATS_OK)
        return TROUPE_EIO;
    return 0;
}

static uint32_t payload_limit(natsConnection *nc)
{
    int64_t max = natsConnection_GetMaxPayload(nc) - FRAME_HDR - FRAME_ENV_HDR;
    if (max <= 0)
        return 0;
    return max > TROUPE_COPY_MAX ? TROUPE_COPY_MAX : (uint32_t)max;
}

void transport_set_incarnation(transport *t, uint64_t incarnation)
{
    atomic_store_explicit(&t->incarnation, incarnation, memory_order_relaxed); /* see the field */
}

int transport_open(const char *urls, const char *inbox, uint64_t incarnation, transport_rx rx,
                   void *arg, transport **out)
{
    *out = NULL;
    transport *t = sys_calloc(1, sizeof *t);
    if (!t)
        return TROUPE_ENOMEM;
    snprintf(t->inbox, sizeof t->inbox, "%s", inbox);
    atomic_init(&t->incarnation, incarnation);
    t->rx = rx;
    t->rx_arg = arg;
    pthread_mutex_init(&t->fmu, NULL);
    pthread_cond_init(&t->fcv, NULL);
    int rc = connect_nats(t, urls);
    if (!rc) {
        t->max_payload = payload_limit(t->nc);
        rc = pthread_create(&t->flusher, NULL, transport_flusher, t) ? TROUPE_ESYS : 0;
        t->started = rc == 0;
    }
    if (rc) {
        transport_close(t);
        return rc;
    }
    *out = t;
    return 0;
}


void transport_close(transport *t)
{
    if (!t)
        return;
    unsubscribe(t); /* no more rx calls once this returns */
    if (t->started) {
        pthread_mutex_lock(&t->fmu);
        t->stop = true;
        pthread_cond_signal(&t->fcv);
        pthread_mutex_unlock(&t->fmu);
        pthread_join(t->flusher, NULL);
    }
    if (t->nc)
        natsConnection_FlushTimeout(t->nc, 1000); /* the last frames reach the server */
    natsSubscription_Destroy(t->sub);
    natsConnection_Destroy(t->nc);
    natsOptions_Destroy(t->opts);
    for (uint32_t i = 0; i < TRANSPORT_SLOTS; i++) {
        dest *d = atomic_load_explicit(&t->dests[i], memory_order_relaxed); /* no sender left */
        if (d)
            transport_dest_free(d);
    }
    pthread_cond_destroy(&t->fcv);
    pthread_mutex_destroy(&t->fmu);
    free(t);
}

uint32_t transport_max_payload(const transport *t)
{
    return t->max_payload;
}

int transport_publish_raw(transport *t, const char *subject, const char *reply, const void *data,
                          size_t len)
{
    natsStatus s = natsConnection_PublishRequest(t->nc, subject, reply, data, (int)len);
    if (s == NATS_OK)
        s = natsConnection_FlushTimeout(t->nc, 5000);
    return s == NATS_OK ? 0 : TROUPE_EIO;
}

void transport_count_in(transport *t, size_t bytes)
{
    count(&t->frames_in, 1);
    count(&t->bytes_in, bytes);
}

void transport_stats_get(transport *t, transport_stats *out)
{
#define LD(f) atomic_load_explicit(&t->f, memory_order_relaxed) /* counters alone */
    *out = (transport_stats){LD(envs_out),     LD(frames_out),   LD(bytes_out),
                             LD(frames_in),    LD(bytes_in),     LD(dropped_full),
                             LD(dropped_down), LD(publish_errors), {0}};
    for (int k = 0; k < TRANSPORT_BATCH_BUCKETS; k++)
        out->batch_bucket[k] = LD(batch_bucket[k]);
#undef LD
}
