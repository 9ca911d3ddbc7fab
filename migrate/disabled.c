/* migrate/disabled.c — feature flags and legacy adapters when the library
 * is built without them (-Dmigrate=disabled). Every public symbol of
 * troupe/flags.h and troupe/adapter.h stays, so a program links against
 * either build: what configures or creates something answers
 * TROUPE_ENOTSUP; what reads a flag reads it as a flag nobody set (off);
 * troupe_adapter_serve finds no adapter message (0). The system's hooks
 * (migrate_create, migrate_destroy) leave sys->mig NULL and register no
 * metric writer. */
#include "core/system.h"
#include "migrate/mig.h"

/* ---- the system's hooks ------------------------------------------------------- */

int migrate_create(troupe_system *sys)
{
    sys->mig = NULL;
    return 0;
}

void migrate_destroy(troupe_system *sys) { (void)sys; }

/* ---- troupe/flags.h ----------------------------------------------------------- */

TROUPE_API void troupe_flags_config_defaults(troupe_flags_config *cfg)
{
    if (cfg)
        *cfg = (troupe_flags_config){.poll_ns = 1000000000ull};
}

TROUPE_API int troupe_flags_load(troupe_system *sys, const troupe_flags_config *cfg)
{
    (void)cfg;
    return sys ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}

TROUPE_API int troupe_flags_reload(troupe_system *sys)
{
    return sys ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}

TROUPE_API int troupe_flags_error(troupe_system *sys, char *buf, size_t cap)
{
    if (!sys || (!buf && cap > 0))
        return TROUPE_EINVAL;
    return TROUPE_ENOTSUP;
}

TROUPE_API int troupe_flags_set(troupe_system *sys, const char *name, const char *value)
{
    (void)name, (void)value;
    return sys ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}

TROUPE_API int troupe_flags_clear(troupe_system *sys, const char *name)
{
    (void)name;
    return sys ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}

TROUPE_API int troupe_flags_get(troupe_system *sys, const char *name, troupe_flag_info *out)
{
    (void)name, (void)out;
    return sys ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}

TROUPE_API int troupe_flags_list(troupe_system *sys, troupe_flag_info *out, size_t cap,
                                 size_t *total)
{
    (void)out, (void)cap, (void)total;
    return sys ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}

TROUPE_API uint64_t troupe_flags_generation(troupe_system *sys)
{
    (void)sys;
    return 0;
}

TROUPE_API int troupe_flag_find(troupe_system *sys, const char *name, const troupe_flag **out)
{
    (void)name;
    if (!sys || !out)
        return TROUPE_EINVAL;
    *out = NULL;
    return TROUPE_ENOTSUP;
}

TROUPE_API troupe_flag_value troupe_flag_read(const troupe_flag *f)
{
    (void)f;
    return (troupe_flag_value){TROUPE_FLAG_OFF, 0};
}

TROUPE_API int troupe_flag_on(const troupe_flag *f, uint64_t key)
{
    (void)f, (void)key;
    return 0;
}

TROUPE_API int troupe_flag_enabled(troupe_system *sys, const char *name, uint64_t key)
{
    (void)sys, (void)name, (void)key;
    return 0;
}

TROUPE_API int troupe_flag_parse(const char *text, troupe_flag_value *out)
{
    (void)text, (void)out;
    return TROUPE_ENOTSUP;
}

TROUPE_API int troupe_flag_format(troupe_flag_value v, char *buf, size_t cap)
{
    (void)v, (void)buf, (void)cap;
    return TROUPE_ENOTSUP;
}

TROUPE_API const char *troupe_flag_source_name(troupe_flag_source s)
{
    (void)s;
    return "none";
}

/* ---- troupe/adapter.h ----------------------------------------------------------- */

TROUPE_API void troupe_adapter_config_defaults(troupe_adapter_config *cfg)
{
    if (cfg)
        *cfg = (troupe_adapter_config){.timeout_ns = 5000000000ull, .sample_every = 16};
}

TROUPE_API int troupe_adapter_create(troupe_system *sys, const troupe_adapter_def *def,
                                     const troupe_adapter_config *cfg, troupe_adapter *out)
{
    (void)def, (void)cfg, (void)out;
    return sys ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}

TROUPE_API int troupe_adapter_destroy(troupe_system *sys, troupe_adapter ad)
{
    (void)ad;
    return sys ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}

TROUPE_API int troupe_adapter_call(troupe_system *sys, troupe_adapter ad, uint32_t op,
                                   uint64_t key, const void *arg, size_t arg_len, void *res,
                                   size_t res_cap, size_t *res_len)
{
    (void)ad, (void)op, (void)key, (void)arg, (void)arg_len, (void)res, (void)res_cap;
    (void)res_len;
    return sys ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}

TROUPE_API int troupe_adapter_find(troupe_system *sys, const char *name, troupe_adapter *out)
{
    (void)name, (void)out;
    return sys ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}

TROUPE_API int troupe_adapter_op_index(troupe_system *sys, troupe_adapter ad, const char *op,
                                       uint32_t *out)
{
    (void)ad, (void)op, (void)out;
    return sys ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}

TROUPE_API int troupe_adapter_set_mode(troupe_system *sys, const char *name,
                                       troupe_adapter_mode mode, uint32_t percent)
{
    (void)name, (void)mode, (void)percent;
    return sys ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}

TROUPE_API int troupe_adapter_info_get(troupe_system *sys, troupe_adapter ad,
                                       troupe_adapter_info *out)
{
    (void)ad, (void)out;
    return sys ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}

TROUPE_API int troupe_adapter_list(troupe_system *sys, troupe_adapter_info *out, size_t cap,
                                   size_t *total)
{
    (void)out, (void)cap, (void)total;
    return sys ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}

/* No adapter exists, so no message is an adapter's: the handler goes on
 * with its own dispatch. */
TROUPE_API int troupe_adapter_serve(troupe_ctx *ctx, const troupe_adapter_def *def, void *state,
                                    const troupe_msg *msg)
{
    (void)state;
    return ctx && def && msg ? 0 : TROUPE_EINVAL;
}

TROUPE_API const char *troupe_adapter_mode_name(troupe_adapter_mode m)
{
    (void)m;
    return "unknown";
}

TROUPE_API int troupe_adapter_trace_create(troupe_adapter_trace **out)
{
    if (!out)
        return TROUPE_EINVAL;
    *out = NULL;
    return TROUPE_ENOTSUP;
}

TROUPE_API void troupe_adapter_trace_destroy(troupe_adapter_trace *t) { (void)t; }

TROUPE_API int troupe_adapter_trace_add(troupe_adapter_trace *t, uint32_t op, uint64_t key,
                                        const void *arg, size_t arg_len)
{
    (void)op, (void)key, (void)arg, (void)arg_len;
    return t ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}

TROUPE_API size_t troupe_adapter_trace_length(const troupe_adapter_trace *t)
{
    (void)t;
    return 0;
}

TROUPE_API int troupe_adapter_record(troupe_system *sys, troupe_adapter ad,
                                     troupe_adapter_trace *t)
{
    (void)ad, (void)t;
    return sys ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}

TROUPE_API int troupe_adapter_replay(troupe_system *sys, troupe_adapter ad,
                                     const troupe_adapter_trace *t, troupe_replay_report *out)
{
    (void)ad, (void)t, (void)out;
    return sys ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}
