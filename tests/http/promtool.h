/* tests/http/promtool.h — the real promtool's verdict on a /metrics page,
 * for every test that checks one (http, cluster). */
#ifndef TROUPE_TESTS_HTTP_PROMTOOL_H
#define TROUPE_TESTS_HTTP_PROMTOOL_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* 1 when `promtool check metrics` accepts the page's len bytes, 0 when it
 * refuses them, -1 when promtool is not installed. */
static inline int tt_promtool_ok(const char *page, size_t len)
{
    if (access("/usr/bin/promtool", X_OK) != 0)
        return -1;
    char path[] = "/tmp/troupe-prom-XXXXXX"; /* mkstemp's template */
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, page, len), (ssize_t)len);
    close(fd);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "/usr/bin/promtool check metrics < %s > /dev/null 2>&1", path);
    int st = system(cmd);
    unlink(path);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

#endif
