/* Run history and the job queue in a database: one interface over SQLite and PostgreSQL. */
#ifndef VB_STORE_H
#define VB_STORE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

/* The schema version this build creates and understands. A database with a
 * higher version is rejected at open. */
#define VB_STORE_SCHEMA_VERSION 1

/* Text form of a job or run id: a random UUID (version 4) plus the NUL. */
#define VB_STORE_ID_SIZE 37

/* Hard caps on what the store accepts or returns. */
#define VB_STORE_URL_MAX 4096                   /* bytes of a database URL */
#define VB_STORE_JSON_MAX ((size_t)64 << 20)    /* bytes of one JSON document stored */
#define VB_STORE_RESULT_MAX ((size_t)256 << 20) /* bytes of one query result */
#define VB_STORE_HISTORY_MAX 10000              /* runs one history listing returns */

/* One database connection. Use it from one thread at a time, and open a new
 * one in a forked child instead of sharing the parent's. */
typedef struct VbStore VbStore;

/* Job states; the names are the strings stored in jobs.status. */
typedef enum VbJobStatus {
    VB_JOB_IN_QUEUE = 0,
    VB_JOB_IN_PROGRESS,
    VB_JOB_COMPLETED,
    VB_JOB_FAILED,
    VB_JOB_CANCELLED,
    VB_JOB_TIMED_OUT,
    VB_JOB_STATUS_COUNT
} VbJobStatus;

/* Returns "IN_QUEUE", "IN_PROGRESS", ... ; "UNKNOWN" for a value out of range. */
const char *vbJobStatusName(VbJobStatus status);

/* Parses a status name into *out. Returns 0 on success, -1 for an unknown name. */
int vbJobStatusParse(const char *name, VbJobStatus *out);

/* One row of the jobs table. Times are Unix milliseconds (UTC), 0 when not
 * reached yet; strings are owned by the struct (vbJobFree) and NULL when the
 * column is NULL. */
typedef struct VbJob {
    char id[VB_STORE_ID_SIZE];
    VbJobStatus status;
    char *input;             /* JSON text given at enqueue */
    char *output;            /* JSON text given at completion */
    char *error;
    char *worker_id;         /* the worker that claimed it last */
    int64_t created_ms;
    int64_t started_ms;
    int64_t finished_ms;
    int attempts;            /* claims since the job was last queued by enqueue or retry */
    int retried;             /* retries of a FAILED or TIMED_OUT job */
    int64_t delay_ms;        /* queue wait: started - created */
    int64_t execution_ms;    /* finished - started */
} VbJob;

void vbJobFree(VbJob *job);

/* Opens the database that url names and brings its schema up to
 * VB_STORE_SCHEMA_VERSION (migrations run in one transaction).
 *   NULL or ""                 the default SQLite file (vbStoreDefaultPath)
 *   sqlite:PATH, sqlite://PATH a SQLite file, created with its folder when missing;
 *                               a folder is rejected, and so is a bare PATH
 *   postgresql://..., postgres://...  a PostgreSQL 15+ server through libpq;
 *                               sslmode and other parameters come from the URL
 * *out is freed with vbStoreClose. Errors name the database with any password
 * replaced by "***": VB_ERR_INVALID_ARGUMENT for a malformed URL,
 * VB_ERR_IO for an unreachable server, a locked or corrupt file,
 * VB_ERR_UNSUPPORTED for a schema newer than this build. */
vb_status vbStoreOpen(const char *url, VbStore **out, vb_error *err);

/* Opens the database as vbStoreOpen does, but a SQLite file (or the
 * default file) that does not exist is VB_ERR_NOT_FOUND instead of being
 * created; for readers such as `visionbench history`. The schema of an
 * existing file is still migrated. */
vb_status vbStoreOpenExisting(const char *url, VbStore **out, vb_error *err);

/* Closes the connection. Accepts NULL. */
void vbStoreClose(VbStore *store);

/* Returns the database's name for messages: the URL with its password
 * replaced by "***". Valid until vbStoreClose. */
const char *vbStoreName(const VbStore *store);

/* Returns "sqlite" or "postgresql". */
const char *vbStoreKind(const VbStore *store);

/* Writes the default SQLite path into out: $XDG_DATA_HOME/visionbench/
 * visionbench.db, or $HOME/.local/share/visionbench/visionbench.db when
 * XDG_DATA_HOME is unset or empty. Errors: VB_ERR_NOT_FOUND when neither
 * variable is set, VB_ERR_LIMIT when out is too small. */
vb_status vbStoreDefaultPath(char *out, size_t size, vb_error *err);

/* Writes url into out (truncated to size) with each password replaced by
 * "***": the PASSWORD of SCHEME://USER:PASSWORD@HOST and the value of a
 * password= query parameter. A URL without "://" is copied unchanged. */
void vbStoreRedactUrl(const char *url, char *out, size_t size);

/* Returns the schema version recorded in the database. */
vb_status vbStoreSchemaVersion(VbStore *store, int *version, vb_error *err);

/* ---- Job queue. Every operation is one transaction, safe with several
 * worker processes on the same database. ---- */

/* Adds a job in IN_QUEUE with input_json (a JSON document, checked) and
 * writes its new id into id. Errors: VB_ERR_PARSE for invalid JSON,
 * VB_ERR_LIMIT above VB_STORE_JSON_MAX, VB_ERR_IO from the database. */
vb_status vbStoreJobEnqueue(VbStore *store, const char *input_json, char id[VB_STORE_ID_SIZE],
                            vb_error *err);

/* Moves the oldest IN_QUEUE job to IN_PROGRESS for worker_id (may be NULL),
 * counting the attempt and its queue delay, and fills *job (freed with
 * vbJobFree). *found is 0 and *job untouched when the queue is empty. Two
 * callers never claim the same job. */
vb_status vbStoreJobClaim(VbStore *store, const char *worker_id, VbJob *job, int *found,
                          vb_error *err);

/* Ends an IN_PROGRESS job with final (COMPLETED, FAILED or TIMED_OUT),
 * its output JSON and error text (either may be NULL), and the execution
 * time. *applied is 1 when the job was IN_PROGRESS, 0 when it was in
 * another state (a job already CANCELLED or finished is never
 * overwritten). Errors: VB_ERR_INVALID_ARGUMENT for another final state,
 * VB_ERR_NOT_FOUND for an unknown id, VB_ERR_PARSE for invalid output. */
vb_status vbStoreJobFinish(VbStore *store, const char *id, VbJobStatus final,
                           const char *output_json, const char *error, int *applied,
                           vb_error *err);

/* Cancels a job that is IN_QUEUE or IN_PROGRESS; *applied is 0 when it was
 * already in a final state. Errors: VB_ERR_NOT_FOUND for an unknown id. */
vb_status vbStoreJobCancel(VbStore *store, const char *id, int *applied, vb_error *err);

/* Puts a FAILED or TIMED_OUT job back in the queue: retried + 1, attempts,
 * output, error and times cleared. *applied is 0 for a job in any other
 * state. Errors: VB_ERR_NOT_FOUND for an unknown id. */
vb_status vbStoreJobRetry(VbStore *store, const char *id, int *applied, vb_error *err);

/* Deletes every IN_QUEUE job and stores how many in *removed (may be NULL). */
vb_status vbStoreJobPurge(VbStore *store, size_t *removed, vb_error *err);

/* Fills counts[status] with the number of jobs in each state. */
vb_status vbStoreJobCounts(VbStore *store, int64_t counts[VB_JOB_STATUS_COUNT], vb_error *err);

/* Fills *job (freed with vbJobFree) with the job id. Errors:
 * VB_ERR_NOT_FOUND for an unknown id. */
vb_status vbStoreJobGet(VbStore *store, const char *id, VbJob *job, vb_error *err);

/* Startup recovery, for a server that starts while no worker runs: every
 * IN_PROGRESS job with fewer than max_attempts attempts goes back to
 * IN_QUEUE; the others become FAILED with the reason in error. Counts go to
 * *requeued and *failed (either may be NULL). */
vb_status vbStoreJobRecover(VbStore *store, int max_attempts, size_t *requeued, size_t *failed,
                            vb_error *err);

/* ---- Run history. ---- */

/* Stores a run report (the JSON of docs/run-json.md) in one transaction:
 * one runs row, one model_results row per entry of "results", and an
 * upsert of each model file with a SHA-256 into models. job_id links the
 * run to a job (NULL for none). Writes the new run id into run_id. On
 * PostgreSQL it then sends NOTIFY visionbench_runs with the run id as
 * payload. Errors: VB_ERR_PARSE when a required key (timestamp, status,
 * results) is missing or has the wrong type; VB_ERR_IO from the database,
 * in which case nothing is stored. */
vb_status vbStoreRunSave(VbStore *store, const json_t *report, const char *job_id,
                         char run_id[VB_STORE_ID_SIZE], vb_error *err);

/* Filters of a history listing; NULL or 0 fields do not filter. */
typedef struct VbRunFilter {
    const char *model_name;      /* runs with a model of this name */
    const char *dataset_sha256;  /* runs whose dataset fingerprint starts with this */
    int limit;                   /* at most this many runs; 0 means 20 */
} VbRunFilter;

/* Lists runs, newest first, as a new JSON array (the caller owns it) of
 * objects: id, job_id, started_at and finished_at (ISO 8601 UTC), status,
 * dataset_sha256, visionbench_version, models (array of {name, status,
 * map}) and best_map (the highest mAP, or null). Errors:
 * VB_ERR_INVALID_ARGUMENT for a limit outside 0..VB_STORE_HISTORY_MAX. */
vb_status vbStoreRunList(VbStore *store, const VbRunFilter *filter, json_t **out, vb_error *err);

/* Reads the run run_id into a new JSON object: the fields of vbStoreRunList,
 * plus options, machine, report (the stored run JSON) and models with every
 * metric column and the model's JSON. Errors: VB_ERR_NOT_FOUND. */
vb_status vbStoreRunGet(VbStore *store, const char *run_id, json_t **out, vb_error *err);

/* ---- Notifications (PostgreSQL only). ---- */

/* Starts listening on the visionbench_runs channel on this connection.
 * Errors: VB_ERR_UNSUPPORTED on SQLite. */
vb_status vbStoreListenRuns(VbStore *store, vb_error *err);

/* Waits up to timeout_ms for a notification on a listening connection and
 * copies its payload (a run id) into payload. *received is 0 on timeout. */
vb_status vbStoreWaitNotification(VbStore *store, int timeout_ms, char *payload, size_t size,
                                  int *received, vb_error *err);

#endif /* VB_STORE_H */
