/* tools/troupectl/main.c — troupectl: a terminal client of troupe's HTTP
 * API (docs/TROUPECTL.md, man troupectl). Global options, then a command. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static const char usage[] =
    "usage: troupectl [--url URL] [--token TOKEN] [--json] COMMAND [ARGS]\n"
    "commands:\n"
    "  tree                                  the supervision tree\n"
    "  actors [--type T] [--sort msgs|mailbox|restarts]\n"
    "  actor NAME                            state, mailbox, latency, health, restarts\n"
    "  top [--once] [--interval S]           a live view (q quits)\n"
    "  restart NAME | stop NAME              (need the token)\n"
    "  flags [set NAME VALUE]\n"
    "  trace NAME [--count N] [--wait S]     the next N messages NAME handles\n"
    "  nodes                                 the cluster's nodes\n"
    "URL defaults to $TROUPECTL_URL or http://127.0.0.1:8090, TOKEN to $TROUPECTL_TOKEN.\n"
    "exit: 0 ok, 1 usage, 2 cannot connect, 3 not found, 4 unauthorized,\n"
    "      5 server refused or failed, 6 bad reply\n";

typedef struct command {
    const char *name;
    int (*fn)(ctl *c, int argc, char **argv);
} command;

static const command commands[] = {
    {"tree", cmd_tree},       {"actors", cmd_actors}, {"actor", cmd_actor},
    {"top", cmd_top},         {"restart", cmd_restart}, {"stop", cmd_stop},
    {"flags", cmd_flags},     {"trace", cmd_trace},   {"nodes", cmd_nodes},
};

int main(int argc, char **argv)
{
    ctl c = {.interval_ms = 1000, .timeout_ms = 10000};
    const char *url = getenv("TROUPECTL_URL");
    c.token = getenv("TROUPECTL_TOKEN");
    if (c.token && !*c.token)
        c.token = NULL;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--url") == 0 && i + 1 < argc)
            url = argv[++i];
        else if (strcmp(argv[i], "--token") == 0 && i + 1 < argc)
            c.token = argv[++i];
        else if (strcmp(argv[i], "--json") == 0)
            c.json = 1;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return EX_OK;
        } else {
            fputs(usage, stderr);
            return EX_USAGE;
        }
    }
    if (ctl_set_url(&c, url && *url ? url : "http://127.0.0.1:8090") < 0) {
        fprintf(stderr, "troupectl: bad URL \"%s\" (http://HOST[:PORT])\n", url);
        return EX_USAGE;
    }
    if (i >= argc) {
        fputs(usage, stderr);
        return EX_USAGE;
    }
    for (size_t k = 0; k < sizeof commands / sizeof *commands; k++)
        if (strcmp(argv[i], commands[k].name) == 0)
            return commands[k].fn(&c, argc - i - 1, argv + i + 1);
    fprintf(stderr, "troupectl: unknown command \"%s\"\n%s", argv[i], usage);
    return EX_USAGE;
}
