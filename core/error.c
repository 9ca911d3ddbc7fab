/* core/error.c — troupe_strerror and the other name tables. */
#include "troupe/troupe.h"

TROUPE_API const char *troupe_strerror(int err)
{
    switch (err) {
#define TROUPE_X_TEXT(name, val, text) \
    case (val):                        \
        return text;
        TROUPE_ERRNO_MAP(TROUPE_X_TEXT)
#undef TROUPE_X_TEXT
    }
    return "unknown error";
}

TROUPE_API const char *troupe_errname(int err)
{
    switch (err) {
#define TROUPE_X_NAME(name, val, text) \
    case (val):                        \
        return "TROUPE_" #name;
        TROUPE_ERRNO_MAP(TROUPE_X_NAME)
#undef TROUPE_X_NAME
    }
    return "TROUPE_EUNKNOWN";
}

TROUPE_API const char *troupe_overflow_name(troupe_overflow policy)
{
    static const char *const names[] = {"block", "reject", "drop_newest", "drop_oldest",
                                        "redirect"};
    if ((unsigned)policy < sizeof names / sizeof names[0])
        return names[policy];
    return "unknown";
}

TROUPE_API const char *troupe_failure_kind_name(troupe_failure_kind kind)
{
    static const char *const names[] = {"normal",  "shutdown", "error",  "panic",    "init",
                                         "health",  "killed",   "noproc", "escalated", "persistence"};
    if ((unsigned)kind < sizeof names / sizeof names[0])
        return names[kind];
    return "unknown";
}
