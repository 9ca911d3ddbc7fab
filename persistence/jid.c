/* persistence/jid.c — a journal's identity and its sidecar file (jid.h),
 * shared by the SQLite and PostgreSQL backends. */
#include "persistence/jid.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "persistence/backend.h"

int jid_new(const char *who, char id[JID_HEX + 1], char *err)
{
    unsigned char r[JID_HEX / 2];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
        backend_errf(err, "%s: no random bytes for the journal id: %s", who, strerror(errno));
        return TROUPE_EIO;
    }
    for (size_t i = 0; i < sizeof r; i++)
        snprintf(id + 2 * i, 3, "%02x", r[i]);
    return 0;
}

int jid_read(const char *who, const char *path, char id[JID_HEX + 1], char *err)
{
    FILE *f = fopen(path, "r");
    if (!f && errno == ENOENT)
        return 0;
    char line[JID_HEX + 8] = "";
    bool ok = f && fgets(line, sizeof line, f) && strspn(line, "0123456789abcdef") == JID_HEX;
    if (f)
        fclose(f);
    if (!ok) {
        backend_errf(err, "%s: the journal's identity file %s is unreadable or not an id", who,
                     path);
        return TROUPE_ECORRUPT;
    }
    memcpy(id, line, JID_HEX);
    id[JID_HEX] = '\0';
    return 1;
}

/* The directory of path ("." for a bare name, "/" for "/x"). */
static void dir_of(const char *path, char *dir, size_t cap)
{
    snprintf(dir, cap, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, cap, ".");
    else
        slash[slash == dir] = '\0';
}

int jid_sync_dir(const char *path)
{
    char dir[4096];
    dir_of(path, dir, sizeof dir);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = fd >= 0 ? fsync(fd) : -1;
    if (fd >= 0)
        close(fd);
    return rc;
}

int jid_write(const char *who, const char *path, const char *id, char *err)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    bool ok = fd >= 0 && dprintf(fd, "%s\n", id) == JID_HEX + 1 && fsync(fd) == 0;
    if (fd >= 0)
        close(fd);
    ok = ok && rename(tmp, path) == 0 && jid_sync_dir(path) == 0;
    if (!ok) {
        backend_errf(err, "%s: cannot write the journal's identity file %s: %s", who, path,
                     strerror(errno));
        return TROUPE_EIO;
    }
    return 0;
}
