/* examples/serve.h — what the examples with a dashboard share: their
 * common options, and serving the dashboard on 127.0.0.1 the same way (the
 * tests read the URL line they print). */
#ifndef TROUPE_EXAMPLES_SERVE_H
#define TROUPE_EXAMPLES_SERVE_H

#include <troupe/troupe.h>

#define EXAMPLE_HTTP_PORT 8090

typedef struct example_opts {
    double seconds;     /* set the default before parsing; 0: until SIGINT (--forever) */
    double min_seconds; /* the least --seconds accepted */
    int http;           /* serve the dashboard (--no-http clears it) */
    long port;          /* --http-port N; -1: EXAMPLE_HTTP_PORT, or any free one if taken */
    const char *token;  /* --token T: enables restart / stop over HTTP */
} example_opts;

/* Another option of one example: how many arguments it took from a and
 * next (1 or 2), 0 if a is not one. */
typedef int (*example_opt_fn)(const char *a, const char *next, void *ud);

/* Parse --seconds N, --forever, --http-port N, --token T, --no-http and
 * what extra takes (may be NULL). Anything else prints `usage` (after
 * "usage: argv0 ") and exits 2. */
void example_parse(int argc, char **argv, example_opts *o, const char *usage,
                   example_opt_fn extra, void *ud);

/* Serve the dashboard and the API on 127.0.0.1:port; port < 0 means
 * EXAMPLE_HTTP_PORT, or any free port when that one is taken (said on
 * stdout). Prints "dashboard: http://127.0.0.1:PORT/  (note)". token NULL:
 * restart and stop are off. Returns troupe_http_start's code. */
int example_serve(troupe_system *sys, long port, const char *token, const char *note,
                  troupe_http **out);

#endif
