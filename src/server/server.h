/* The HTTP job service behind `visionbench serve`: configuration and entry points. */
#ifndef VB_SERVER_H
#define VB_SERVER_H

#include <signal.h>
#include <stddef.h>

#include "core/core.h"

/* Hard caps on what one request may carry. */
#define VB_SERVER_MAX_IMAGES 1000            /* images per job */
#define VB_SERVER_MAX_MODELS 8               /* models per job */
#define VB_SERVER_MAX_PIXELS 40000000u       /* pixels per image (40 megapixels) */
#define VB_SERVER_MAX_BODY_MB 1024           /* the largest --max-body-mb accepted */
#define VB_SERVER_NAME_MAX 128               /* bytes of an image name */
#define VB_SERVER_MAX_WORKERS 64             /* the largest --workers-max accepted */
#define VB_SERVER_RUNSYNC_DEFAULT_MS 90000   /* /runsync wait without ?wait= */
#define VB_SERVER_RUNSYNC_MAX_MS 300000      /* the largest ?wait= accepted */

/* Settings of a server or of one of its workers; strings are owned by the
 * caller and must outlive the server. */
typedef struct VbServerConfig {
    const char *listen;          /* "HOST:PORT"; port 0 picks a free one (logged) */
    const char *db_url;          /* store URL (store/store.h), NULL for the default */
    int workers_min;             /* workers kept running while idle */
    int workers_max;             /* workers running at most */
    int idle_timeout_s;          /* an idle worker above workers_min stops after this */
    int job_timeout_s;           /* a job running longer becomes TIMED_OUT */
    const char *api_key;         /* required Bearer key, or NULL for none */
    const char *models_dir;      /* folder whose *.onnx files are the model registry */
    size_t max_body_bytes;       /* request bodies above this get 413 */
    const char *exe_path;        /* the visionbench executable that workers run */
} VbServerConfig;

/* Runs the server until *stop becomes nonzero: recovers jobs left
 * IN_PROGRESS by an earlier server, listens on config->listen, serves the
 * HTTP API (docs/api.md) and starts and stops worker processes. On return
 * every worker has been killed; jobs they ran are recovered at the next
 * start. Errors: VB_ERR_INVALID_ARGUMENT for a bad listen address or a
 * non-loopback address without an API key, VB_ERR_IO when the port cannot be
 * bound, the store's errors at open. */
vb_status vbServerRun(const VbServerConfig *config, volatile sig_atomic_t *stop, vb_error *err);

/* Runs one worker process (the hidden `serve --worker` mode): claims jobs
 * from the store, runs each with the run library, stores its report and
 * writes claim, progress and end lines to stdout for the server. Returns
 * when stdin reaches end of file while no job runs. */
vb_status vbServerWorkerMain(const VbServerConfig *config, vb_error *err);

#endif /* VB_SERVER_H */
