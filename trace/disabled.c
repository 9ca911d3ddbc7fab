/* trace/disabled.c — tracing when the library is built without it
 * (-Dtrace=disabled, or libcurl missing: not looked up nor linked). The
 * public symbols stay, so a program links against either build; every
 * call answers TROUPE_ENOTSUP (include/troupe/trace.h). No hook is
 * registered: no message ever carries a context. */
#include "core/common.h"
#include "trace/trace_sub.h"
#include "troupe/trace.h"

int trace_create(troupe_system *sys)
{
    (void)sys;
    return 0;
}

void trace_stop(troupe_system *sys) { (void)sys; }

void trace_destroy(troupe_system *sys) { (void)sys; }

TROUPE_API void troupe_trace_config_defaults(troupe_trace_config *cfg)
{
    if (cfg)
        *cfg = (troupe_trace_config){.sample_ratio = 1.0,
                                     .batch_size = 512,
                                     .batch_ms = 1000,
                                     .queue = 8192,
                                     .max_retries = 4,
                                     .timeout_ms = 5000};
}

TROUPE_API int troupe_trace_enable(troupe_system *sys, const troupe_trace_config *cfg)
{
    return sys && cfg ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}

TROUPE_API int troupe_trace_set_ratio(troupe_system *sys, double ratio)
{
    return sys && ratio >= 0 && ratio <= 1 ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}

TROUPE_API int troupe_trace_start(troupe_system *sys, const char *name)
{
    return sys && name ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}

TROUPE_API int troupe_trace_continue(troupe_system *sys, const char *name, const char *traceparent)
{
    return sys && name && traceparent ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}

TROUPE_API int troupe_trace_end(troupe_system *sys) { return sys ? TROUPE_ENOTSUP : TROUPE_EINVAL; }

TROUPE_API int troupe_trace_traceparent(char *buf, size_t cap)
{
    return buf && cap >= TROUPE_TRACEPARENT_SIZE ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}

TROUPE_API int troupe_trace_parse(const char *traceparent, uint8_t trace_id[16],
                                  uint8_t span_id[8], uint8_t *flags)
{
    return traceparent && trace_id && span_id && flags ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}

TROUPE_API int troupe_trace_stats_get(troupe_system *sys, troupe_trace_stats *out)
{
    return sys && out ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}

TROUPE_API int troupe_trace_flush(troupe_system *sys, uint32_t timeout_ms)
{
    (void)timeout_ms;
    return sys ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}
