/* examples/serve.c — the options and the dashboard of an example
 * (serve.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

static void usage_exit(const char *argv0, const char *usage)
{
    fprintf(stderr, "usage: %s %s\n", argv0, usage);
    exit(2);
}

/* A number in [min, max] (an integer when whole is set), else usage. */
static double number(const char *text, double min, double max, int whole, const char *argv0,
                     const char *usage)
{
    char *end;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || !(v >= min) || v > max || (whole && v != (long)v))
        usage_exit(argv0, usage);
    return v;
}

void example_parse(int argc, char **argv, example_opts *o, const char *usage,
                   example_opt_fn extra, void *ud)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
        int took = extra ? extra(a, next, ud) : 0;
        if (took > 0)
            i += took - 1;
        else if (strcmp(a, "--forever") == 0)
            o->seconds = 0.0;
        else if (strcmp(a, "--no-http") == 0)
            o->http = 0;
        else if (strcmp(a, "--seconds") == 0 && next && ++i)
            o->seconds = number(next, o->min_seconds, 86400.0, 0, argv[0], usage);
        else if (strcmp(a, "--http-port") == 0 && next && ++i)
            o->port = (long)number(next, 0.0, 65535.0, 1, argv[0], usage);
        else if (strcmp(a, "--token") == 0 && next && ++i)
            o->token = next;
        else
            usage_exit(argv[0], usage);
    }
}

/* Per-name metrics are cheap here: an example names a handful of actors. */
int example_serve(troupe_system *sys, long port, const char *token, const char *note,
                  troupe_http **out)
{
    troupe_http_config c;
    troupe_http_config_defaults(&c);
    c.token = token;
    c.metrics_per_name = 1;
    c.port = (uint16_t)(port < 0 ? EXAMPLE_HTTP_PORT : port);
    int rc = troupe_http_start(sys, &c, out);
    if (rc == TROUPE_EBUSY && port < 0) {
        printf("(port %d is taken: using a free one)\n", EXAMPLE_HTTP_PORT);
        c.port = 0;
        rc = troupe_http_start(sys, &c, out);
    }
    if (rc == 0)
        printf("dashboard: http://127.0.0.1:%d/  (%s)\n", troupe_http_port(*out), note);
    return rc;
}
