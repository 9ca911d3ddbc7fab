/* base/assert.h — TR_ASSERT, for internal invariants that are otherwise
 * only comments. On in debug and sanitizer builds (meson.build defines
 * TROUPE_DEBUG_ASSERT there), where a broken invariant should stop the
 * test at its cause; in release it compiles to nothing, so the generated
 * code (and the instruction gate) is unchanged. The condition is still
 * type-checked (sizeof does not evaluate it): keep it free of side
 * effects. Never use it to validate input: public entries return
 * TROUPE_E* codes. */
#ifndef TROUPE_BASE_ASSERT_H
#define TROUPE_BASE_ASSERT_H

#ifdef TROUPE_DEBUG_ASSERT
#define TR_ASSERT_ON 1
#include <stdio.h>
#include <stdlib.h>
#define TR_ASSERT(cond)                                                                            \
    (__builtin_expect(!!(cond), 1)                                                                 \
         ? (void)0                                                                                 \
         : (fprintf(stderr, "%s:%d: TR_ASSERT(%s) failed\n", __FILE__, __LINE__, #cond), abort()))
#else
#define TR_ASSERT_ON 0
#define TR_ASSERT(cond) ((void)sizeof(!(cond)))
#endif

#endif
