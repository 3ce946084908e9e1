/* Declarations shared by the server's files: request validation, base64, the worker pool. */
#ifndef VB_SERVER_INTERNAL_H
#define VB_SERVER_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "server/server.h"
#include "store/store.h"

/* Decodes standard base64 (RFC 4648 section 4, '=' padding required when
 * the length is not a multiple of 4; CR and LF are skipped) into a new
 * buffer of at most max_bytes that the caller frees. An empty input
 * decodes to an empty buffer. Returns 0 on success, -1 for an invalid
 * character or length (or out of memory), -2 when the output would pass
 * max_bytes. */
int vbServerBase64Decode(const char *text, size_t len, size_t max_bytes, uint8_t **out,
                         size_t *out_len);

/* A rejected request: the HTTP status, the message and the field at fault. */
typedef struct VbRequestError {
    int http_status;             /* 400 or 413 */
    char field[96];              /* "input.images[3]", "body", ... */
    char message[VB_ERROR_MESSAGE_MAX];
} VbRequestError;

/* Validates a /run or /runsync body against the model registry in
 * models_dir and returns the job input to store as a new JSON object (the
 * caller owns it): images as [{"name","data"}], one ground truth, models
 * and options. Decodes every image and parses the ground truth, so a job
 * that is queued does not fail on its inputs. Returns NULL and fills *rerr
 * otherwise. */
json_t *vbServerValidateRequest(const char *body, size_t len, const char *models_dir,
                                VbRequestError *rerr);

/* Returns 1 when name is a model in models_dir: [A-Za-z0-9._-], at most
 * 64 bytes, not starting with '.', and NAME.onnx a regular file there. */
int vbServerModelExists(const char *models_dir, const char *name);

/* Writes the private folder of job id, /tmp/visionbench-job-ID, into out
 * (at least 64 bytes). The id is a random UUID, so the name is not known
 * before the job exists. */
void vbServerJobDir(const char *id, char *out, size_t size);

/* Returns a copy of text (the caller frees it; NULL when text is NULL or
 * out of memory) in which each path under the job folder dir names the
 * request field it came from: DIR/gt.csv becomes input.ground_truth_csv,
 * DIR/gt.json input.ground_truth_coco, DIR/images/NAME input.images[i]
 * (i: the index of NAME in images, the stored [{"name","data"}] array),
 * DIR/images input.images, and any other DIR "the job folder". */
char *vbServerHideJobPaths(const char *text, const char *dir, const json_t *images);

/* Removes the job folder and everything in it. Returns 0 on success or
 * when it does not exist, -1 otherwise (errno set). */
int vbServerJobDirRemove(const char *dir);

/* One worker process as the server tracks it. */
typedef struct VbWorker {
    pid_t pid;                   /* also its process group id */
    int in_fd;                   /* its stdin: a byte wakes it, closing it stops it */
    int out_fd;                  /* its stdout: claim, event and end lines */
    VbBuf line;                  /* a partial line read from out_fd */
    char job_id[VB_STORE_ID_SIZE]; /* the job it runs, "" when idle */
    uint64_t job_started_ns;
    uint64_t idle_since_ns;
    int killed;                  /* SIGKILL sent; waiting to reap it */
    int stopping;                /* stdin closed; it exits when idle */
} VbWorker;

/* Progress events of one job, kept in memory for /stream. */
typedef struct VbJobEvents {
    char id[VB_STORE_ID_SIZE];
    char **events;               /* JSON texts, oldest first */
    size_t count;
    int ended;                   /* the worker sent its end line, or the job was stopped */
    uint64_t touched_ns;
} VbJobEvents;

#define VB_SERVER_EVENT_JOBS 1024     /* jobs whose events are kept; the oldest go first */
#define VB_SERVER_EVENTS_PER_JOB 4096 /* events kept per job; later ones are dropped */

/* The running server: the store, the workers and the event log. lock
 * guards workers, events and the counters; store_lock guards store (one
 * connection shared by every request thread). changed is broadcast on any
 * worker line, worker exit or job state change. */
typedef struct VbServer {
    const VbServerConfig *config;
    VbStore *store;
    pthread_mutex_t store_lock;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    VbWorker workers[VB_SERVER_MAX_WORKERS];
    int worker_count;
    VbJobEvents jobs[VB_SERVER_EVENT_JOBS];
    int64_t retried;             /* /retry calls applied since start */
    volatile sig_atomic_t *stop;
} VbServer;

/* Starts the workers up to config->workers_min. Called once before the
 * supervisor loop. */
void vbServerPoolStart(VbServer *server);

/* Runs one round of supervision (at most timeout_ms of waiting): reads
 * worker lines, reaps exited workers, times out jobs, starts workers for
 * queued jobs and stops idle ones. */
void vbServerPoolTick(VbServer *server, int timeout_ms);

/* Wakes idle workers after an enqueue. */
void vbServerPoolNudge(VbServer *server);

/* Kills the worker running job_id, if one does. Returns 1 when one did. */
int vbServerPoolKillJob(VbServer *server, const char *job_id);

/* Kills every worker and waits for them. */
void vbServerPoolStop(VbServer *server);

/* Counts idle and running workers. */
void vbServerPoolCounts(VbServer *server, int *idle, int *running);

/* Copies event index of job id into a new string (caller frees) and sets
 * *ended when the job's events are complete. Returns NULL when index is
 * past the last event. Call with server->lock held. */
char *vbServerEventGet(VbServer *server, const char *id, size_t index, int *ended);

/* Marks the events of job id complete (cancel, timeout) and wakes readers. */
void vbServerEventsEnd(VbServer *server, const char *id);

/* Runs fn on the store under store_lock. */
#define VB_STORE_LOCKED(server, expr)                   \
    do {                                                \
        pthread_mutex_lock(&(server)->store_lock);      \
        expr;                                           \
        pthread_mutex_unlock(&(server)->store_lock);    \
    } while (0)

#endif /* VB_SERVER_INTERNAL_H */
