/* troupe/flags.h — feature flags: named switches and percentage rollouts.
 *
 * Every system has one set of flags. A flag has a name (1..TROUPE_FLAG_NAME_MAX
 * bytes of [A-Za-z0-9_.-]) and a value:
 *
 *   off, on             a boolean;
 *   NN%                 a rollout to NN percent of keys (0..100, an integer);
 *   legacy, shadow,     the path of a legacy adapter (troupe/adapter.h); only
 *   actor, canary NN%   for flags named "adapter.<name>".
 *
 * A flag nobody set reads as off. troupe_flag_on(flag, key) answers for one
 * key: a rollout of NN% is on for the keys whose bucket — a hash of the key
 * and of the flag's name, in 0..99 — is below NN. So a key always gets the
 * same answer for a given percentage, raising the percentage only adds
 * keys, and two flags at 10% do not pick the same 10% of keys. As a
 * boolean, legacy and shadow read as off, actor as on, canary NN% as NN%.
 *
 * Where a value comes from, strongest first:
 *   1. the environment: TROUPE_FLAG_<NAME> (the name upper-cased, every
 *      character that is not a letter or digit turned into '_'), read when a
 *      flag is first named and at every load and reload — the operator's
 *      pin, so a deploy can force a flag whatever the file or the API say;
 *   2. a run-time set (troupe_flags_set, POST /api/flags/{name}) until
 *      troupe_flags_clear — a live decision survives an unrelated edit of
 *      the file; a set of a flag pinned by the environment fails with
 *      TROUPE_ESTATE and changes nothing;
 *   3. the flags file.
 *
 * The file (troupe_flags_load): UTF-8 text, one flag per line,
 *
 *   # a comment; blank lines are ignored
 *   new_parser   = on
 *   fast_path    = 25%      # a comment may follow a value
 *   adapter.chain = shadow
 *   adapter.engine = canary 10%
 *
 * name, '=', value, with spaces or tabs anywhere between the tokens; a name
 * may appear once. A file that breaks any rule is rejected as a whole with
 * TROUPE_EINVAL and a text naming the line ("flags.conf:7: percentage
 * outside 0-100"), kept for troupe_flags_error; the flags in force before
 * stay in force. At most TROUPE_FLAGS_MAX flags per system, 64 KiB of file.
 * The path must name a regular file (or a symbolic link to one): a FIFO,
 * a directory or a device is refused with TROUPE_EINVAL ("...: not a
 * regular file (a FIFO)") without being opened for reading, so a load or
 * the watcher never waits on it.
 *
 * Names come and go: a flag left with no value — gone from the file, its
 * run-time value cleared, no environment value — reads as off at once, and
 * unless troupe_flag_find bound it, it is forgotten at the next load or
 * reload (or when a new name finds the table full): troupe_flags_get then
 * answers TROUPE_ENOTFOUND, it is no longer listed and no longer counts
 * toward TROUPE_FLAGS_MAX. So a file whose names change from version to
 * version never fills the table. A flag bound by troupe_flag_find stays
 * (unset, off) until troupe_system_destroy.
 *
 * Live reload: with a poll interval, a timer of the system's clock (so a
 * manual clock drives it in tests) checks the file's modification time,
 * size and inode, and reloads it when one of them changed. A rename over
 * the file (what editors and `mv` do) always shows; so does an in-place
 * write that changes the size or the mtime.
 *
 * Built without them (-Dmigrate=disabled), the library keeps every
 * function of this header and of troupe/adapter.h: those that configure or
 * create answer TROUPE_ENOTSUP (NULL arguments still TROUPE_EINVAL), reads
 * answer as for a flag nobody set (off, generation 0), and
 * troupe_adapter_serve finds no adapter message (0).
 *
 * Reads never lock: troupe_flag_find resolves a name once to a flag that
 * lives as long as the system, and troupe_flag_read is one atomic load
 * (wait-free). troupe_flag_enabled looks the name up without a lock; it
 * tries again when a load reuses, at that moment, the memory of a
 * forgotten flag (a few stores, under a sequence counter). Writers (load,
 * reload, set, clear) are serialised by a mutex no reader takes, and
 * publish each flag's new value with one atomic store: a reader sees the
 * old or the new value of a flag, never a mix; a reload that changes
 * several flags publishes them one by one. The file is read and parsed
 * before that mutex is taken: troupe_flags_list, _get, _error and the HTTP
 * API never wait for the file, whatever it is.
 *
 * Thread safety: every call from any thread, handlers included.
 * Ownership: names, values, the path and the prefix are copied in; a
 * troupe_flag pointer belongs to the system (valid until
 * troupe_system_destroy, never freed by the caller); infos and buffers are
 * the caller's.
 */
#ifndef TROUPE_FLAGS_H
#define TROUPE_FLAGS_H

#include <stddef.h>
#include <stdint.h>

#include "troupe/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct troupe_system troupe_system;
typedef struct troupe_flag troupe_flag;

/* Longest flag name, in bytes (without the NUL). */
#define TROUPE_FLAG_NAME_MAX 63
/* Most flags one system holds. */
#define TROUPE_FLAGS_MAX 1024
/* Longest text a value formats to, with its NUL. */
#define TROUPE_FLAG_TEXT_MAX 16

typedef enum troupe_flag_kind {
    TROUPE_FLAG_OFF = 0,
    TROUPE_FLAG_ON = 1,
    TROUPE_FLAG_PERCENT = 2,
    TROUPE_FLAG_LEGACY = 3, /* adapter flags only, from here on */
    TROUPE_FLAG_SHADOW = 4,
    TROUPE_FLAG_CANARY = 5,
    TROUPE_FLAG_ACTOR = 6,
} troupe_flag_kind;

/* A value: percent is 0..100 for PERCENT and CANARY, 100 for ON and
 * ACTOR, 0 for the others. */
typedef struct troupe_flag_value {
    troupe_flag_kind kind;
    uint32_t percent;
} troupe_flag_value;

typedef enum troupe_flag_source {
    TROUPE_FLAG_FROM_NONE = 0, /* nobody set it: off */
    TROUPE_FLAG_FROM_FILE = 1,
    TROUPE_FLAG_FROM_RUNTIME = 2,
    TROUPE_FLAG_FROM_ENV = 3,
} troupe_flag_source;

typedef struct troupe_flag_info {
    char name[TROUPE_FLAG_NAME_MAX + 1];
    troupe_flag_value value;   /* in force */
    troupe_flag_source source; /* where `value` comes from */
    int has_file, has_runtime, has_env; /* which layers hold a value */
    troupe_flag_value file, runtime, env;
} troupe_flag_info;

typedef struct troupe_flags_config {
    const char *path;      /* the flags file (copied); NULL = none */
    /* How often the file is checked for changes, on the system's clock;
     * 0 = never (troupe_flags_reload only). Default 1 s. */
    uint64_t poll_ns;
    /* Prefix of the environment overrides (copied, at most 32 bytes);
     * NULL = "TROUPE_FLAG_", "" = no overrides. */
    const char *env_prefix;
    uint8_t reserved[32];  /* zero */
} troupe_flags_config;

/* No file, poll every second, prefix "TROUPE_FLAG_". NULL is ignored. */
TROUPE_API void troupe_flags_config_defaults(troupe_flags_config *cfg);

/* Configure the system's flags from cfg (NULL = defaults): read the file,
 * apply the environment, and watch the file when poll_ns > 0. May be
 * called again (another file replaces the first: its values, its watch).
 * Errors, after which the previous configuration and values stay:
 * TROUPE_EINVAL (NULL sys, a bad config, a malformed file or environment
 * value, a path that is not a regular file, more than TROUPE_FLAGS_MAX
 * flags: troupe_flags_error says where), TROUPE_ENOTFOUND (no such file),
 * TROUPE_EIO (unreadable), TROUPE_ENOMEM, TROUPE_ESHUTDOWN. */
TROUPE_API int troupe_flags_load(troupe_system *sys, const troupe_flags_config *cfg);

/* Read the file (if any) and the environment again now. Errors as
 * troupe_flags_load; the values in force stay when it fails. */
TROUPE_API int troupe_flags_reload(troupe_system *sys);

/* The text of the last failed load or reload ("" when the last one
 * succeeded), copied into buf (truncated to cap - 1 bytes). Returns its
 * full length, or TROUPE_EINVAL (NULL sys, NULL buf with cap > 0). */
TROUPE_API int troupe_flags_error(troupe_system *sys, char *buf, size_t cap);

/* Set a flag at run time from a value's text ("on", "25%", "canary 5%").
 * Errors: TROUPE_EINVAL (a bad name or value, a mode for a flag not named
 * adapter.*, a percentage outside 0..100), TROUPE_ENOTFOUND (an
 * "adapter.<name>" flag and no adapter of that name), TROUPE_ESTATE (the
 * environment pins it), TROUPE_ENOMEM (TROUPE_FLAGS_MAX reached). */
TROUPE_API int troupe_flags_set(troupe_system *sys, const char *name, const char *value);

/* Drop the run-time value: the file's (or none) is in force again.
 * TROUPE_ENOTFOUND if the flag has no run-time value; as set otherwise. */
TROUPE_API int troupe_flags_clear(troupe_system *sys, const char *name);

/* One flag. TROUPE_ENOTFOUND if it was never named or was forgotten;
 * TROUPE_EINVAL (NULL sys or out, a bad name). */
TROUPE_API int troupe_flags_get(troupe_system *sys, const char *name, troupe_flag_info *out);

/* Every flag in the table (holding a value, or bound by troupe_flag_find),
 * in the order they were first named: the first min(cap, *total) into
 * out[], *total = how many. Errors: TROUPE_EINVAL (NULL sys or total,
 * NULL out with cap > 0). */
TROUPE_API int troupe_flags_list(troupe_system *sys, troupe_flag_info *out, size_t cap,
                                 size_t *total);

/* Counts every change published (a load or reload that succeeded, a set,
 * a clear): tests wait for it to move. 0 for NULL. */
TROUPE_API uint64_t troupe_flags_generation(troupe_system *sys);

/* The flag `name`, created unset (off) if it does not exist yet, so code
 * can bind to a flag the file defines later. *out lives until
 * troupe_system_destroy. Errors: TROUPE_EINVAL, TROUPE_ENOMEM (full). */
TROUPE_API int troupe_flag_find(troupe_system *sys, const char *name, const troupe_flag **out);

/* The value in force: one atomic load. NULL reads as off. */
TROUPE_API troupe_flag_value troupe_flag_read(const troupe_flag *f);

/* 1 if the flag is on for `key` (see above), else 0. Never fails: NULL
 * reads as off. */
TROUPE_API int troupe_flag_on(const troupe_flag *f, uint64_t key);

/* troupe_flag_on by name, lock-free; 0 for a flag never named (and for a
 * NULL sys or name): never fails. */
TROUPE_API int troupe_flag_enabled(troupe_system *sys, const char *name, uint64_t key);

/* Parse a value's text; TROUPE_EINVAL if it is not one of the forms above. */
TROUPE_API int troupe_flag_parse(const char *text, troupe_flag_value *out);

/* Write a value as text ("25%", "canary 5%") into buf; returns its length
 * or TROUPE_EINVAL (an invalid value, or cap < TROUPE_FLAG_TEXT_MAX). */
TROUPE_API int troupe_flag_format(troupe_flag_value v, char *buf, size_t cap);

/* "none", "file", "runtime", "env"; static. */
TROUPE_API const char *troupe_flag_source_name(troupe_flag_source s);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_FLAGS_H */
