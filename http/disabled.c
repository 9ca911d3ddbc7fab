/* http/disabled.c — the HTTP API when the library is built without it
 * (-Dhttp=disabled: libmicrohttpd is neither looked up nor linked). The
 * public symbols stay, so a program links against either build:
 * troupe_http_start answers TROUPE_ENOTSUP (include/troupe/http.h). */
#include "core/common.h"
#include "troupe/http.h"

TROUPE_API void troupe_http_config_defaults(troupe_http_config *cfg)
{
    if (cfg)
        *cfg = (troupe_http_config){
            .bind_addr = "127.0.0.1",
            .max_connections = 32,
            .max_request_bytes = 16u << 10,
            .timeout_s = 10,
            .request_timeout_s = 30,
        };
}

TROUPE_API int troupe_http_start(troupe_system *sys, const troupe_http_config *cfg,
                                 troupe_http **out)
{
    (void)cfg;
    if (!sys || !out)
        return TROUPE_EINVAL;
    *out = NULL;
    return TROUPE_ENOTSUP;
}

/* No server can exist: any handle is invalid. */
TROUPE_API int troupe_http_port(const troupe_http *srv)
{
    (void)srv;
    return TROUPE_EINVAL;
}

TROUPE_API void troupe_http_stop(troupe_http *srv) { (void)srv; }
