/* tests/tsan_urcu.c — ThreadSanitizer suppressions for liburcu.
 *
 * Linked into the test executables of TSan builds only (tests/meson.build).
 *
 * liburcu (the registry's urcu-bp and cds_lfht) is not built with TSan: its
 * own synchronisation (wait-free queues, futexes, memory barriers in inline
 * assembly) is invisible to TSan, which then reports its internal hand-overs
 * as races — e.g. rcu_barrier()'s calloc in one thread and the call_rcu
 * thread's free of the same block. "called_from_lib" makes TSan ignore what
 * those libraries do through its interceptors (malloc, free, mutexes);
 * every access of troupe's own code stays checked, and the registry tells
 * TSan about the grace period itself (registry/entry.h, reg_read_unlock).
 */
const char *__tsan_default_suppressions(void);

const char *__tsan_default_suppressions(void)
{
    return "called_from_lib:liburcu-bp.so\n"
           "called_from_lib:liburcu-cds.so\n"
           "called_from_lib:liburcu-common.so\n";
}
