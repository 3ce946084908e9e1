/* The job queue in the store: enqueue, atomic claim, final-state guards, retry and recovery. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store_internal.h"

static const char *const jobStatusNames[VB_JOB_STATUS_COUNT] = {
    "IN_QUEUE", "IN_PROGRESS", "COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT",
};

/* The columns that fillJob reads, in its order. */
#define JOB_COLUMNS                                                                          \
    "id, status, input, output, error, worker_id, created_ms, started_ms, finished_ms, "    \
    "attempts, retried, delay_ms, execution_ms"

/* Claims the oldest queued job. SQLite runs it inside BEGIN IMMEDIATE, which
 * holds the only write lock; PostgreSQL skips rows that another claim has
 * locked, so concurrent workers each get a different job. */
static const char sqliteClaimSql[] =
    "UPDATE jobs SET status = 'IN_PROGRESS', started_ms = $1, worker_id = $2, "
    "attempts = attempts + 1, delay_ms = $1 - created_ms "
    "WHERE status = 'IN_QUEUE' AND id = (SELECT id FROM jobs WHERE status = 'IN_QUEUE' "
    "ORDER BY seq LIMIT 1) RETURNING " JOB_COLUMNS;
static const char pgClaimSql[] =
    "UPDATE jobs SET status = 'IN_PROGRESS', started_ms = $1, worker_id = $2, "
    "attempts = attempts + 1, delay_ms = $1 - created_ms "
    "WHERE status = 'IN_QUEUE' AND id = (SELECT id FROM jobs WHERE status = 'IN_QUEUE' "
    "ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING " JOB_COLUMNS;

const char *vbJobStatusName(VbJobStatus status)
{
    if ((int)status < 0 || status >= VB_JOB_STATUS_COUNT)
        return "UNKNOWN";
    return jobStatusNames[status];
}

int vbJobStatusParse(const char *name, VbJobStatus *out)
{
    for (int i = 0; name != NULL && i < VB_JOB_STATUS_COUNT; i++) {
        if (strcmp(name, jobStatusNames[i]) == 0) {
            *out = (VbJobStatus)i;
            return 0;
        }
    }
    return -1;
}

void vbJobFree(VbJob *job)
{
    if (job == NULL)
        return;
    free(job->input);
    free(job->output);
    free(job->error);
    free(job->worker_id);
    memset(job, 0, sizeof *job);
}

int64_t vbStoreNowMs(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

vb_status vbStoreNewId(char id[VB_STORE_ID_SIZE], vb_error *err)
{
    unsigned char b[16];
    FILE *f = fopen("/dev/urandom", "rb");
    size_t got = f != NULL ? fread(b, 1, sizeof b, f) : 0;
    if (f != NULL)
        fclose(f);
    if (got != sizeof b)
        return vbErrorSet(err, VB_ERR_IO, "cannot read /dev/urandom for a new id");

    /* RFC 4122 version 4: random bits with the version and variant set. */
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(id, VB_STORE_ID_SIZE,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
    return VB_OK;
}

/* Checks that text is one JSON document within VB_STORE_JSON_MAX. */
static vb_status checkJson(VbStore *store, const char *what, const char *text, vb_error *err)
{
    if (strlen(text) > VB_STORE_JSON_MAX)
        return vbStoreError(store, err, VB_ERR_LIMIT, "the job %s is larger than %zu MiB", what,
                            VB_STORE_JSON_MAX >> 20);
    json_error_t jerr;
    json_t *doc = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (doc == NULL)
        return vbStoreError(store, err, VB_ERR_PARSE,
                            "the job %s is not valid JSON (line %d, column %d: %s)", what,
                            jerr.line, jerr.column, jerr.text);
    json_decref(doc);
    return VB_OK;
}

static int64_t cellInt(const VbStoreRows *rows, size_t row, size_t col)
{
    const char *cell = vbStoreCell(rows, row, col);
    return cell != NULL ? strtoll(cell, NULL, 10) : 0;
}

/* Copies row `row` of a JOB_COLUMNS result into *job. */
static vb_status fillJob(VbStore *store, const VbStoreRows *rows, size_t row, VbJob *job,
                         vb_error *err)
{
    memset(job, 0, sizeof *job);
    snprintf(job->id, sizeof job->id, "%s", vbStoreCell(rows, row, 0) ? vbStoreCell(rows, row, 0) : "");
    if (vbJobStatusParse(vbStoreCell(rows, row, 1), &job->status) != 0)
        return vbStoreError(store, err, VB_ERR_PARSE, "job %s has an unknown status '%s'",
                            job->id, vbStoreCell(rows, row, 1) ? vbStoreCell(rows, row, 1) : "");
    const char *texts[4] = {vbStoreCell(rows, row, 2), vbStoreCell(rows, row, 3),
                            vbStoreCell(rows, row, 4), vbStoreCell(rows, row, 5)};
    char **fields[4] = {&job->input, &job->output, &job->error, &job->worker_id};
    for (int i = 0; i < 4; i++) {
        if (texts[i] == NULL)
            continue;
        *fields[i] = vbStrdup(texts[i]);
        if (*fields[i] == NULL) {
            vbJobFree(job);
            return vbStoreError(store, err, VB_ERR_NO_MEMORY, "out of memory reading job %s",
                                job->id);
        }
    }
    job->created_ms = cellInt(rows, row, 6);
    job->started_ms = cellInt(rows, row, 7);
    job->finished_ms = cellInt(rows, row, 8);
    job->attempts = (int)cellInt(rows, row, 9);
    job->retried = (int)cellInt(rows, row, 10);
    job->delay_ms = cellInt(rows, row, 11);
    job->execution_ms = cellInt(rows, row, 12);
    return VB_OK;
}

vb_status vbStoreJobEnqueue(VbStore *store, const char *input_json, char id[VB_STORE_ID_SIZE],
                            vb_error *err)
{
    if (input_json == NULL)
        return vbStoreError(store, err, VB_ERR_INVALID_ARGUMENT, "a job needs an input");
    vb_status st = checkJson(store, "input", input_json, err);
    if (st == VB_OK)
        st = vbStoreNewId(id, err);
    if (st != VB_OK)
        return st;
    VbStoreParam params[3] = {{.type = VB_PARAM_TEXT, .text = id},
                              {.type = VB_PARAM_TEXT, .text = input_json},
                              {.type = VB_PARAM_INT, .i = vbStoreNowMs()}};
    return store->backend->query(
        store, "INSERT INTO jobs (id, status, input, created_ms) VALUES ($1, 'IN_QUEUE', $2, $3)",
        params, 3, NULL, err);
}

vb_status vbStoreJobClaim(VbStore *store, const char *worker_id, VbJob *job, int *found,
                          vb_error *err)
{
    VbStoreRows rows;
    int pg = strcmp(store->backend->kind, "postgresql") == 0;
    VbStoreParam params[2] = {{.type = VB_PARAM_INT, .i = vbStoreNowMs()},
                              {.type = VB_PARAM_TEXT, .text = worker_id}};
    *found = 0;

    /* One statement in a write transaction: read the oldest and mark it. */
    vb_status st = vbStoreBegin(store, err);
    if (st != VB_OK)
        return st;
    st = store->backend->query(store, pg ? pgClaimSql : sqliteClaimSql, params, 2, &rows, err);
    if (st != VB_OK) {
        vbStoreRollback(store);
        return st;
    }
    st = vbStoreCommit(store, err);
    if (st == VB_OK && rows.rows > 0) {
        st = fillJob(store, &rows, 0, job, err);
        *found = st == VB_OK;
    }
    vbStoreRowsFree(&rows);
    return st;
}

/* Runs an UPDATE ... WHERE id = $1 AND <state guard> RETURNING id and sets
 * *applied. When no row changed, it returns VB_ERR_NOT_FOUND for an unknown
 * id and VB_OK with *applied = 0 for a job in another state. */
static vb_status updateGuarded(VbStore *store, const char *sql, const VbStoreParam *params,
                               int count, int *applied, vb_error *err)
{
    VbStoreRows rows;
    *applied = 0;
    vb_status st = store->backend->query(store, sql, params, count, &rows, err);
    if (st != VB_OK)
        return st;
    *applied = rows.rows > 0;
    vbStoreRowsFree(&rows);
    if (*applied)
        return VB_OK;

    st = store->backend->query(store, "SELECT status FROM jobs WHERE id = $1", params, 1, &rows,
                               err);
    if (st != VB_OK)
        return st;
    if (rows.rows == 0)
        st = vbStoreError(store, err, VB_ERR_NOT_FOUND, "job %s not found", params[0].text);
    vbStoreRowsFree(&rows);
    return st;
}

vb_status vbStoreJobFinish(VbStore *store, const char *id, VbJobStatus final,
                           const char *output_json, const char *error, int *applied,
                           vb_error *err)
{
    *applied = 0;
    if (final != VB_JOB_COMPLETED && final != VB_JOB_FAILED && final != VB_JOB_TIMED_OUT)
        return vbStoreError(store, err, VB_ERR_INVALID_ARGUMENT,
                            "job %s: %s is not a final state for a running job; use "
                            "COMPLETED, FAILED or TIMED_OUT", id, vbJobStatusName(final));
    if (output_json != NULL) {
        vb_status st = checkJson(store, "output", output_json, err);
        if (st != VB_OK)
            return st;
    }
    VbStoreParam params[5] = {{.type = VB_PARAM_TEXT, .text = id},
                              {.type = VB_PARAM_TEXT, .text = vbJobStatusName(final)},
                              {.type = VB_PARAM_TEXT, .text = output_json},
                              {.type = VB_PARAM_TEXT, .text = error},
                              {.type = VB_PARAM_INT, .i = vbStoreNowMs()}};
    return updateGuarded(store,
                         "UPDATE jobs SET status = $2, output = $3, error = $4, finished_ms = $5, "
                         "execution_ms = $5 - started_ms "
                         "WHERE id = $1 AND status = 'IN_PROGRESS' RETURNING id",
                         params, 5, applied, err);
}

vb_status vbStoreJobCancel(VbStore *store, const char *id, int *applied, vb_error *err)
{
    VbStoreParam params[2] = {{.type = VB_PARAM_TEXT, .text = id},
                              {.type = VB_PARAM_INT, .i = vbStoreNowMs()}};
    return updateGuarded(store,
                         "UPDATE jobs SET status = 'CANCELLED', finished_ms = $2, "
                         "execution_ms = $2 - started_ms "
                         "WHERE id = $1 AND status IN ('IN_QUEUE', 'IN_PROGRESS') RETURNING id",
                         params, 2, applied, err);
}

vb_status vbStoreJobRetry(VbStore *store, const char *id, int *applied, vb_error *err)
{
    VbStoreParam params[1] = {{.type = VB_PARAM_TEXT, .text = id}};
    return updateGuarded(store,
                         "UPDATE jobs SET status = 'IN_QUEUE', retried = retried + 1, attempts = 0, "
                         "output = NULL, error = NULL, worker_id = NULL, started_ms = NULL, "
                         "finished_ms = NULL, delay_ms = NULL, execution_ms = NULL "
                         "WHERE id = $1 AND status IN ('FAILED', 'TIMED_OUT') RETURNING id",
                         params, 1, applied, err);
}

vb_status vbStoreJobPurge(VbStore *store, size_t *removed, vb_error *err)
{
    VbStoreRows rows;
    vb_status st = store->backend->query(
        store, "DELETE FROM jobs WHERE status = 'IN_QUEUE' RETURNING id", NULL, 0, &rows, err);
    if (st != VB_OK)
        return st;
    if (removed != NULL)
        *removed = rows.rows;
    vbStoreRowsFree(&rows);
    return VB_OK;
}

vb_status vbStoreJobCounts(VbStore *store, int64_t counts[VB_JOB_STATUS_COUNT], vb_error *err)
{
    VbStoreRows rows;
    for (int i = 0; i < VB_JOB_STATUS_COUNT; i++)
        counts[i] = 0;
    vb_status st = store->backend->query(
        store, "SELECT status, COUNT(*) FROM jobs GROUP BY status", NULL, 0, &rows, err);
    if (st != VB_OK)
        return st;
    for (size_t r = 0; r < rows.rows; r++) {
        VbJobStatus status;
        if (vbJobStatusParse(vbStoreCell(&rows, r, 0), &status) == 0)
            counts[status] = cellInt(&rows, r, 1);
    }
    vbStoreRowsFree(&rows);
    return VB_OK;
}

vb_status vbStoreJobGet(VbStore *store, const char *id, VbJob *job, vb_error *err)
{
    VbStoreRows rows;
    VbStoreParam params[1] = {{.type = VB_PARAM_TEXT, .text = id}};
    vb_status st = store->backend->query(store, "SELECT " JOB_COLUMNS " FROM jobs WHERE id = $1",
                                         params, 1, &rows, err);
    if (st != VB_OK)
        return st;
    if (rows.rows == 0)
        st = vbStoreError(store, err, VB_ERR_NOT_FOUND, "job %s not found", id);
    else
        st = fillJob(store, &rows, 0, job, err);
    vbStoreRowsFree(&rows);
    return st;
}

vb_status vbStoreJobRecover(VbStore *store, int max_attempts, size_t *requeued, size_t *failed,
                            vb_error *err)
{
    VbStoreRows rows;
    char reason[200];
    snprintf(reason, sizeof reason,
             "the worker stopped while the job was running, %d time(s); the job was not "
             "queued again; retry it to run it once more", max_attempts);
    VbStoreParam requeue_params[1] = {{.type = VB_PARAM_INT, .i = max_attempts}};
    VbStoreParam fail_params[2] = {{.type = VB_PARAM_INT, .i = vbStoreNowMs()},
                                   {.type = VB_PARAM_TEXT, .text = reason}};

    /* Both updates in one transaction, so each interrupted job ends in
     * exactly one of the two states. */
    vb_status st = vbStoreBegin(store, err);
    if (st != VB_OK)
        return st;
    st = store->backend->query(store,
                               "UPDATE jobs SET status = 'IN_QUEUE', worker_id = NULL, "
                               "started_ms = NULL, delay_ms = NULL "
                               "WHERE status = 'IN_PROGRESS' AND attempts < $1 RETURNING id",
                               requeue_params, 1, &rows, err);
    if (st != VB_OK)
        goto fail;
    if (requeued != NULL)
        *requeued = rows.rows;
    vbStoreRowsFree(&rows);

    st = store->backend->query(store,
                               "UPDATE jobs SET status = 'FAILED', finished_ms = $1, "
                               "execution_ms = $1 - started_ms, error = $2 "
                               "WHERE status = 'IN_PROGRESS' RETURNING id",
                               fail_params, 2, &rows, err);
    if (st != VB_OK)
        goto fail;
    if (failed != NULL)
        *failed = rows.rows;
    vbStoreRowsFree(&rows);
    return vbStoreCommit(store, err);

fail:
    vbStoreRollback(store);
    return st;
}
