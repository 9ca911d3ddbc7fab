/* persistence/jid.h — a journal's identity (a random 128-bit id in hex) and
 * the sidecar file that keeps it outside the database: what lets the
 * SQLite (sqlite_meta.c) and PostgreSQL (pg_meta.c) backends notice a
 * database emptied, recreated or replaced. `who` prefixes the error texts
 * ("sqlite open", "postgres open"). (Link names here rather than in
 * base/namespace.h: only the two backends use them.) */
#ifndef TROUPE_PERSISTENCE_JID_H
#define TROUPE_PERSISTENCE_JID_H

#define jid_new troupei_jid_new
#define jid_read troupei_jid_read
#define jid_write troupei_jid_write
#define jid_sync_dir troupei_jid_sync_dir

#define JID_HEX 32 /* 128 random bits */

/* A new id from the kernel's random bytes: 0 or TROUPE_EIO. */
int jid_new(const char *who, char id[JID_HEX + 1], char *err);
/* The sidecar's id: 1 read, 0 no file, TROUPE_ECORRUPT unreadable. */
int jid_read(const char *who, const char *path, char id[JID_HEX + 1], char *err);
/* The sidecar written whole or not at all (a temporary file, fsynced,
 * renamed over, the directory fsynced): 0 or TROUPE_EIO. */
int jid_write(const char *who, const char *path, const char *id, char *err);
/* fsync the directory that holds path, so that a file's new name survives
 * a power loss (also the SQLite writer's new WAL): 0, or -1 with errno. */
int jid_sync_dir(const char *path);

#endif
