/* troupe/export.h — the one symbol-visibility macro.
 *
 * The library is built with -fvisibility=hidden; only declarations marked
 * TROUPE_API are exported from libtroupe.so.
 */
#ifndef TROUPE_EXPORT_H
#define TROUPE_EXPORT_H

#if defined(TROUPE_BUILDING) && defined(__GNUC__)
#define TROUPE_API __attribute__((visibility("default")))
#else
#define TROUPE_API
#endif

#if defined(__GNUC__)
#define TROUPE_NORETURN __attribute__((noreturn))
#else
#define TROUPE_NORETURN
#endif

#endif /* TROUPE_EXPORT_H */
