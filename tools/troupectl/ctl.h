/* tools/troupectl/ctl.h — troupectl's pieces: the HTTP client (http.c),
 * the commands (cmd.c, top.c) and their shared options. */
#ifndef TROUPECTL_CTL_H
#define TROUPECTL_CTL_H

#include <stddef.h>

#include "json.h"

/* Exit codes (docs/TROUPECTL.md, man/troupectl.1). */
enum {
    EX_OK = 0,
    EX_USAGE = 1,
    EX_CONNECT = 2,  /* cannot connect to the API */
    EX_NOTFOUND = 3, /* no such actor (404) */
    EX_AUTH = 4,     /* no token, or a wrong one (401, 403) */
    EX_SERVER = 5,   /* the server refused or failed (another 4xx, 5xx) */
    EX_REPLY = 6,    /* a reply that is not HTTP or not JSON */
};

typedef struct ctl {
    char host[256];
    char port[8];
    const char *token; /* NULL: none */
    int json;          /* --json: print the API's JSON */
    int interval_ms;   /* top */
    int once;          /* top --once */
    int timeout_ms;    /* per request */
} ctl;

typedef struct reply {
    int status;  /* 0: no HTTP reply */
    char *body;  /* NUL-terminated (may be "") */
    size_t len;
    jv *doc;     /* the body parsed, or NULL */
} reply;

/* Parse "http://host[:port]" into c; -1 when it is not one. */
int ctl_set_url(ctl *c, const char *url);
/* One request; body may be NULL. EX_OK with *out filled (status may be
 * any), or EX_CONNECT / EX_REPLY. */
int ctl_request(const ctl *c, const char *method, const char *path, const char *body, reply *out);
void reply_free(reply *r);
/* The exit code a status maps to (2xx: EX_OK). */
int ctl_status_code(int status);
/* Request, then map: prints the server's error to stderr when not 2xx,
 * and checks the body is JSON. */
int ctl_call(const ctl *c, const char *method, const char *path, const char *body, reply *out);
/* Percent-encode s (a path segment or a query value) into out. */
void ctl_escape(const char *s, char *out, size_t cap);

/* cmd.c: each command; argv after the command name. */
int cmd_tree(ctl *c, int argc, char **argv);
int cmd_actors(ctl *c, int argc, char **argv);
int cmd_actor(ctl *c, int argc, char **argv);
int cmd_restart(ctl *c, int argc, char **argv);
int cmd_stop(ctl *c, int argc, char **argv);
int cmd_flags(ctl *c, int argc, char **argv);
int cmd_trace(ctl *c, int argc, char **argv);
int cmd_nodes(ctl *c, int argc, char **argv);
/* top.c */
int cmd_top(ctl *c, int argc, char **argv);

/* Formatting helpers (cmd.c). */
void fmt_ns(char *out, size_t cap, double ns);
/* The actor's name, or its ref when it has none. */
const char *actor_label(const jv *a);

#endif
