/* tests/tsan_criterion.c — lets Criterion start under ThreadSanitizer.
 *
 * Linked into the test executables of TSan builds only (tests/meson.build).
 *
 * The problem: at start-up Criterion (its BoxFort sandbox layer) maps an
 * "inheritable arena" at an address it draws at random, rand_r() scaled to
 * 16 MiB steps from 0x200000000000, and gives up after 10 draws that land
 * on mapped memory. TSan reserves nearly all of that range for its shadow,
 * so almost every draw fails and the runner aborts with "Could not
 * initialize inheritable arena: Resource temporarily unavailable" (known
 * upstream: Criterion issue #274).
 *
 * The fix: this rand_r() hands Criterion's calls (recognized by the
 * caller's shared object) successive draws that put the arena at
 * 0x550000000000 and up, a range TSan leaves to the application on
 * x86_64 Linux. Every other caller gets the C library's rand_r().
 */
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

int rand_r(unsigned *seed);

int rand_r(unsigned *seed)
{
    static atomic_uint next_slot;
    Dl_info info;
    void *caller = __builtin_return_address(0);
    if (dladdr(caller, &info) && info.dli_fname && strstr(info.dli_fname, "libcriterion")) {
        /* base = 0x200000000000 + draw * 16 MiB; draw 0x350000 is
         * 0x550000000000. Successive draws step 16 MiB up. */
        return (int)(0x350000u + atomic_fetch_add(&next_slot, 1u) % 0x4000u);
    }
    static int (*libc_rand_r)(unsigned *);
    if (!libc_rand_r) {
        libc_rand_r = (int (*)(unsigned *))dlsym(RTLD_NEXT, "rand_r");
        if (!libc_rand_r)
            abort();
    }
    return libc_rand_r(seed);
}
