/* runtime/deploy_env.c — the environment's deployment at system creation
 * (docs/DEPLOY.md, "At creation"): troupe_system_create reads
 * TROUPE_DEPLOY / TROUPE_DEPLOY_FILE when its configuration names no
 * pools, so a deployed binary takes its pools without a line of code. A
 * bad deployment fails the create; its line-numbered text goes to stderr
 * (an operator starting the program sees it) and stays with the thread
 * for troupe_deploy_last_error (a program that reports errors its way). */
#include <stdio.h>
#include <stdlib.h>

#include "runtime/runtime.h"
#include "troupe/deploy.h"

#define ERR_MAX 512

/* This thread's last create's deployment error; "" when it had none. A
 * thread's own: no other thread reads it. Plain _Thread_local, not
 * TROUPE_TLS's initial-exec: off every hot path, and 512 bytes of static
 * TLS would eat the surplus a dlopen'ed libtroupe needs. */
static _Thread_local char last_err[ERR_MAX];

static void keep_error(int rc, const char *text)
{
    snprintf(last_err, sizeof last_err, "%s", text);
    fprintf(stderr, "troupe: %s (%s)\n", text, troupe_errname(rc));
}

void system_env_forget(void)
{
    last_err[0] = '\0';
}

int system_env_deploy(const troupe_config *cfg, troupe_config *use, struct troupe_deploy **dep)
{
    *dep = NULL;
    *use = *cfg;
    if (cfg->pools || cfg->npools || cfg->no_env_deploy)
        return 0; /* the program's pools win; or it opted out */
    char err[ERR_MAX];
    int rc = troupe_deploy_from_env(dep, err, sizeof err);
    if (rc != 0) {
        keep_error(rc, err);
        return rc;
    }
    if (*dep)
        troupe_deploy_pools(*dep, &use->pools, &use->npools);
    return 0;
}

void system_env_refused(int rc)
{
    const char *t = getenv("TROUPE_DEPLOY");
    char text[ERR_MAX];
    /* each pool passed the parser's checks, which are the pools' own: what
     * is left is their sum */
    snprintf(text, sizeof text,
             "%s: the system refuses the deployment's pools (more than %d workers in all, "
             "a blocking pool counting its max)",
             t && *t ? "TROUPE_DEPLOY" : "TROUPE_DEPLOY_FILE", TROUPE_MAX_WORKERS);
    keep_error(rc, text);
}

TROUPE_API int troupe_deploy_last_error(char *buf, size_t cap)
{
    if (!buf || cap == 0)
        return TROUPE_EINVAL;
    snprintf(buf, cap, "%s", last_err);
    return 0;
}
