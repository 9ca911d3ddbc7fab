/* troupe/deploy.h — deployments without recompiling: worker pools, their
 * CPU sets and worker counts read from a text (a file, an environment
 * variable), checked against the machine's topology (or a simulated one).
 *
 * The format (docs/DEPLOY.md): one pool a line, `#` starts a comment, and
 * a line ends at a newline or a `;` (so TROUPE_DEPLOY can hold several):
 *
 *   # name     settings (key=value, any order, each at most once)
 *   pool default workers=2 cpus=0-1 pin=yes
 *   pool io      blocking=yes workers=1 max=8
 *   pool shard1  numa=1 workers=0 spin_us=20 batch=64
 *
 * Keys: workers (0 = one per CPU of the set), cpus (a list: 0-3,8,10-11),
 * numa (a NUMA node's logical index: its cores), pin (yes/no), spin_us,
 * spin_ns, batch, blocking (yes/no), max (a blocking pool's bound on
 * workers). Errors name the line: "line 3: unknown key 'wrokers'". The
 * limits are the pools' (troupe/pool.h): names of [a-z0-9_.-], at most
 * TROUPE_MAX_POOLS pools, TROUPE_MAX_WORKERS workers or CPUs a pool.
 *
 * troupe_system_create reads the environment's deployment itself when its
 * configuration names no pools (troupe_config.no_env_deploy opts out).
 *
 * A topology (troupe_topology) is the machine as hwloc sees it, or one
 * simulated from a synthetic description ("package:2 numa:2 core:16 pu:1")
 * or an XML file exported by lstopo: placement and steal order can be
 * planned and tested on a machine one does not have. A simulated topology
 * is never bound to. Without hwloc (-Dhwloc=disabled) the machine is the
 * process's affinity mask as one NUMA node, and simulation is refused.
 *
 * Thread safety: a handle is used by one thread at a time; distinct
 * handles are independent. The results of troupe_deploy_pools live as
 * long as the handle.
 */
#ifndef TROUPE_DEPLOY_H
#define TROUPE_DEPLOY_H

#include <stddef.h>
#include <stdint.h>

#include "troupe/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One pool's settings (also in troupe/pool.h; defined once, whichever
 * header comes first). cpus = NULL, ncpus = 0: the runtime chooses. */
#ifndef TROUPE_POOL_CONFIG_DEFINED
#define TROUPE_POOL_CONFIG_DEFINED
#define TROUPE_POOL_NAME_MAX 31
typedef struct troupe_pool_config {
    const char *name;     /* [a-z0-9_.-], 1..TROUPE_POOL_NAME_MAX bytes */
    uint32_t workers;     /* 0: one per CPU of cpus (or the default count) */
    const int *cpus;      /* OS indexes of the CPUs, or NULL */
    size_t ncpus;
    int pin;              /* bind each worker to its CPU */
    uint64_t spin_ns;     /* spinning before an idle worker parks; 0: default */
    uint32_t batch;       /* messages per actor per run; 0: default */
    int blocking;         /* handlers may block: grows up to max_workers */
    uint32_t max_workers; /* a blocking pool's bound; 0: default */
    uint8_t reserved[32];
} troupe_pool_config;
#endif

/* Limits of the format. */
#define TROUPE_DEPLOY_LINE_MAX 1024 /* bytes in one line, its end excluded */
#define TROUPE_DEPLOY_POOLS_MAX 16 /* TROUPE_MAX_POOLS: what a system takes */
#define TROUPE_DEPLOY_TEXT_MAX (1u << 20) /* bytes in a whole deployment */

typedef struct troupe_deploy troupe_deploy;
typedef struct troupe_topology troupe_topology;

/* The topology of this machine (synthetic and xml_path NULL), or one
 * simulated from hwloc's synthetic description ("package:2 numa:2 core:16
 * pu:1") or from an XML file (lstopo's export). Errors: TROUPE_EINVAL
 * (NULL out, both synthetic and xml_path given, a synthetic description
 * or XML file hwloc refuses), TROUPE_ENOTSUP (a simulated topology
 * without hwloc), TROUPE_ESYS (hwloc could not read this machine),
 * TROUPE_ENOMEM. */
TROUPE_API int troupe_topology_open(const char *synthetic, const char *xml_path,
                                    troupe_topology **out);

/* Free a topology (NULL is ignored). */
TROUPE_API void troupe_topology_destroy(troupe_topology *t);

/* 1 when t is simulated (never bound to), 0 when it is this machine's,
 * TROUPE_EINVAL for NULL t. */
TROUPE_API int troupe_topology_simulated(const troupe_topology *t);

/* Parse a deployment of len bytes (no NUL byte; no terminator needed)
 * against this machine's topology. On failure *out is NULL and err (when
 * errlen > 0) holds one line of text naming the line: "line 3: unknown
 * key 'wrokers'". Errors: TROUPE_EINVAL (NULL text with len > 0, NULL out,
 * a syntax error: unknown key, bad number or value, bad name, a line too
 * long, a NUL byte, a CPU list's syntax, too many pools, a text over
 * TROUPE_DEPLOY_TEXT_MAX), TROUPE_EEXIST (a pool or a key given twice),
 * TROUPE_ENOTFOUND (a CPU the machine lacks, an empty CPU set, a NUMA node
 * the machine lacks or that has no CPU), and as troupe_topology_open. */
TROUPE_API int troupe_deploy_parse(const char *text, size_t len, troupe_deploy **out, char *err,
                                   size_t errlen);

/* troupe_deploy_parse against the topology t (NULL: this machine), e.g. a
 * simulated one. Errors: as troupe_deploy_parse. */
TROUPE_API int troupe_deploy_parse_on(const troupe_topology *t, const char *text, size_t len,
                                      troupe_deploy **out, char *err, size_t errlen);

/* Read and parse the file at path (this machine's topology). Errors:
 * TROUPE_EINVAL (NULL path or out), TROUPE_EIO (the file cannot be read;
 * err names it and the reason), and as troupe_deploy_parse. */
TROUPE_API int troupe_deploy_load_file(const char *path, troupe_deploy **out, char *err,
                                       size_t errlen);

/* The deployment of the environment: TROUPE_DEPLOY (the text itself, `;`
 * between lines) or else TROUPE_DEPLOY_FILE (a path). Neither set (or both
 * empty): 0 with *out NULL — the defaults. Errors: TROUPE_EINVAL (NULL
 * out; both variables set), and as troupe_deploy_parse and
 * troupe_deploy_load_file; err starts with the variable's name. */
TROUPE_API int troupe_deploy_from_env(troupe_deploy **out, char *err, size_t errlen);

/* Why the calling thread's last troupe_system_create failed on the
 * environment's deployment, e.g. "TROUPE_DEPLOY: line 2: unknown key
 * 'wrokers'", copied into buf (truncated to cap - 1 bytes); "" when that
 * create did not fail on it (each create on the thread clears it). The
 * same text goes to stderr. 0, or TROUPE_EINVAL (NULL buf, cap 0). */
TROUPE_API int troupe_deploy_last_error(char *buf, size_t cap);

/* The pools in the order of the text, CPU sets resolved (numa=N becomes
 * the node's CPUs, one per core). The array and its strings belong to d.
 * Errors: TROUPE_EINVAL (NULL d, pools or n). */
TROUPE_API int troupe_deploy_pools(const troupe_deploy *d, const troupe_pool_config **pools,
                                   size_t *n);

/* Free a deployment (NULL is ignored). */
TROUPE_API void troupe_deploy_destroy(troupe_deploy *d);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_DEPLOY_H */
