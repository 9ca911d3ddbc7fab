/* base/common.h — small internal helpers shared by every subsystem.
 * Internal names carry no public prefix (or troupei_ when exported for
 * tests); nothing here is part of the API. */
#ifndef TROUPE_BASE_COMMON_H
#define TROUPE_BASE_COMMON_H

#include "base/namespace.h"

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/assert.h"
#include "troupe/troupe.h"

#define CACHELINE 64
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#if defined(__SANITIZE_THREAD__)
#define TROUPE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TROUPE_TSAN 1
#endif
#endif

/* Unwinding for troupe_panic. GCC's builtin setjmp saves three words
 * instead of the whole register file and signal-mask flag; the run loop
 * takes it once per run. Sanitizer builds keep libc's setjmp/longjmp, which
 * ASan and TSan intercept to keep their shadow stacks right. */
#if defined(__GNUC__) && !defined(__SANITIZE_ADDRESS__) && !defined(TROUPE_TSAN)
typedef void *tjmp_buf[5];
#define TJMP_SET(b) __builtin_setjmp(b)
#define TJMP_JUMP(b) __builtin_longjmp(b, 1)
#else
#include <setjmp.h>
typedef jmp_buf tjmp_buf;
#define TJMP_SET(b) setjmp(b)
#define TJMP_JUMP(b) longjmp(b, 1)
#endif

/* Thread-locals of a shared library: initial-exec avoids a
 * __tls_get_addr call on every access (libtroupe is linked, not
 * dlopen'ed late). */
#define TROUPE_TLS _Thread_local __attribute__((tls_model("initial-exec")))

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

static inline uint32_t next_pow2_u32(uint32_t v)
{
    if (v <= 1)
        return 1;
    return 1u << (32 - __builtin_clz(v - 1));
}

/* A deadline `delta` ns after `now`, saturating: a sum that does not fit
 * is DEADLINE_NEVER, which no clock reading reaches in practice and which
 * timers and waits treat as "forever" (never fired, never timed out). */
#define DEADLINE_NEVER UINT64_MAX
static inline uint64_t deadline_add(uint64_t now, uint64_t delta)
{
    uint64_t d;
    return __builtin_add_overflow(now, delta, &d) ? DEADLINE_NEVER : d;
}

/* Monotonic time in ns (the real clock, for spinning and blocking). */
uint64_t mono_ns(void);

/* Linux futex wait/wake on a 32-bit word. wait returns when *addr != val,
 * on a wake, a signal, or after timeout_ns (0 = no timeout). */
void futex_wait_u32(_Atomic uint32_t *addr, uint32_t val, uint64_t timeout_ns);
void futex_wake_u32(_Atomic uint32_t *addr, int n);

#endif
