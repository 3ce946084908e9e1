/* Tests of the store on SQLite (always) and PostgreSQL (argument "postgresql", with VB_TEST_POSTGRES_URL). */
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/store.h"
#include "vbtest.h"

#define JOB_COUNT_CONCURRENT 120
#define WORKER_PROCESSES 4

/* Runs sql on the database behind url without the store (to plant a
 * schema version or drop tables). Returns 0 on success. */
static int rawExec(const char *url, const char *sql)
{
    if (strncmp(url, "sqlite:", 7) == 0) {
        sqlite3 *db = NULL;
        int rc = sqlite3_open(url + 7, &db);
        if (rc == SQLITE_OK)
            rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
        if (rc != SQLITE_OK)
            fprintf(stderr, "sqlite: %s\n", sqlite3_errmsg(db));
        sqlite3_close(db);
        return rc == SQLITE_OK ? 0 : -1;
    }
    PGconn *conn = PQconnectdb(url);
    PGresult *res = PQexec(conn, sql);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
    if (!ok)
        fprintf(stderr, "postgresql: %s\n", PQerrorMessage(conn));
    PQclear(res);
    PQfinish(conn);
    return ok ? 0 : -1;
}

static VbStore *openOrFail(const char *url)
{
    VbStore *store = NULL;
    vb_error err = {0};
    vb_status st = vbStoreOpen(url, &store, &err);
    CHECK_MSG(st == VB_OK, "open %s: %s", url, err.message);
    return store;
}

/* URL parsing, redaction and connection errors; no database needed. */
static void testUrls(void)
{
    char out[256];
    vbStoreRedactUrl("postgresql://ann:s3cret@db.example.com:5432/vb?sslmode=require", out,
                     sizeof out);
    CHECK_STR(out, "postgresql://ann:***@db.example.com:5432/vb?sslmode=require");
    vbStoreRedactUrl("postgres://ann@host/vb?sslmode=require&password=s3cret&x=1", out,
                     sizeof out);
    CHECK_STR(out, "postgres://ann@host/vb?sslmode=require&password=***&x=1");
    vbStoreRedactUrl("sqlite:/tmp/a:b@c.db", out, sizeof out);
    CHECK_STR(out, "sqlite:/tmp/a:b@c.db");

    VbStore *store = NULL;
    vb_error err = {0};
    CHECK_EQ_INT(vbStoreOpen("mysql://root:s3cret@host/db", &store, &err),
                 VB_ERR_INVALID_ARGUMENT);
    CHECK(strstr(err.message, "s3cret") == NULL);
    CHECK(strstr(err.message, "sqlite:PATH") != NULL);
    CHECK_EQ_INT(vbStoreOpen("sqlite:", &store, &err), VB_ERR_INVALID_ARGUMENT);
    CHECK_EQ_INT(vbStoreOpen("postgresql://ann:s3cret@host/db?nosuchparam=1", &store, &err),
                 VB_ERR_INVALID_ARGUMENT);
    CHECK(strstr(err.message, "s3cret") == NULL);

    /* Port 1 on loopback refuses connections at once. */
    CHECK_EQ_INT(vbStoreOpen("postgresql://ann:s3cret@127.0.0.1:1/db?connect_timeout=3", &store,
                             &err),
                 VB_ERR_IO);
    CHECK(strstr(err.message, "s3cret") == NULL);
    CHECK(strstr(err.message, "ann:***@127.0.0.1:1") != NULL);
    CHECK(strchr(err.message, '\n') == NULL);
    CHECK(store == NULL);
}

/* SQLite files that are corrupt or locked. */
static void testSqliteFileErrors(const char *dir)
{
    char path[512], url[600];
    vb_error err = {0};
    VbStore *store = NULL;

    /* A file that is not a database. */
    snprintf(path, sizeof path, "%s/corrupt.db", dir);
    char junk[4096];
    memset(junk, 'x', sizeof junk);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f != NULL) {
        CHECK_EQ_INT(fwrite(junk, 1, sizeof junk, f), sizeof junk);
        fclose(f);
    }
    snprintf(url, sizeof url, "sqlite:%s", path);
    CHECK_EQ_INT(vbStoreOpen(url, &store, &err), VB_ERR_IO);
    CHECK(strstr(err.message, "not a SQLite database") != NULL);
    CHECK(strstr(err.message, path) != NULL);

    /* A database another connection holds an exclusive lock on: open waits
     * for the busy timeout, then fails naming the lock. */
    snprintf(path, sizeof path, "%s/locked.db", dir);
    snprintf(url, sizeof url, "sqlite:%s", path);
    store = openOrFail(url);
    vbStoreClose(store);
    store = NULL;
    sqlite3 *holder = NULL;
    CHECK(sqlite3_open(path, &holder) == SQLITE_OK);
    CHECK(sqlite3_exec(holder, "BEGIN EXCLUSIVE", NULL, NULL, NULL) == SQLITE_OK);
    CHECK_EQ_INT(vbStoreOpen(url, &store, &err), VB_ERR_IO);
    CHECK(strstr(err.message, "locked") != NULL);
    sqlite3_exec(holder, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(holder);

    /* A folder that cannot be created. */
    CHECK_EQ_INT(vbStoreOpen("sqlite:/proc/visionbench/x.db", &store, &err), VB_ERR_IO);
}

static void testMigrations(const char *url)
{
    vb_error err = {0};
    VbStore *store = openOrFail(url);
    int version = -1;
    if (store != NULL)
        CHECK(vbStoreSchemaVersion(store, &version, &err) == VB_OK);
    CHECK_EQ_INT(version, VB_STORE_SCHEMA_VERSION);
    vbStoreClose(store);

    /* Reopening applies nothing and keeps the version. */
    store = openOrFail(url);
    version = -1;
    if (store != NULL)
        CHECK(vbStoreSchemaVersion(store, &version, &err) == VB_OK);
    CHECK_EQ_INT(version, VB_STORE_SCHEMA_VERSION);
    vbStoreClose(store);

    /* A newer schema is rejected. */
    CHECK(rawExec(url, "INSERT INTO schema_version (version, applied_ms) VALUES (99, 0)") == 0);
    store = NULL;
    CHECK_EQ_INT(vbStoreOpen(url, &store, &err), VB_ERR_UNSUPPORTED);
    CHECK(strstr(err.message, "99") != NULL);
    CHECK(strstr(err.message, "upgrade visionbench") != NULL);
    CHECK(store == NULL);
    CHECK(rawExec(url, "DELETE FROM schema_version WHERE version = 99") == 0);
}

static void testQueue(VbStore *store)
{
    vb_error err = {0};
    char ids[4][VB_STORE_ID_SIZE];
    VbJob job;
    int found = 0, applied = 0;

    /* Enqueue checks the JSON. */
    CHECK_EQ_INT(vbStoreJobEnqueue(store, "{not json", ids[0], &err), VB_ERR_PARSE);
    for (int i = 0; i < 4; i++) {
        char input[64];
        snprintf(input, sizeof input, "{\"n\": %d}", i);
        CHECK_MSG(vbStoreJobEnqueue(store, input, ids[i], &err) == VB_OK, "%s", err.message);
    }
    CHECK_EQ_INT(strlen(ids[0]), 36);
    CHECK(ids[0][14] == '4');

    /* Claims come oldest first. */
    CHECK(vbStoreJobClaim(store, "worker-a", &job, &found, &err) == VB_OK);
    CHECK_EQ_INT(found, 1);
    CHECK_STR(job.id, ids[0]);
    CHECK_EQ_INT(job.status, VB_JOB_IN_PROGRESS);
    CHECK_EQ_INT(job.attempts, 1);
    CHECK_STR(job.worker_id, "worker-a");
    CHECK_STR(job.input, "{\"n\": 0}");
    CHECK(job.delay_ms >= 0);
    vbJobFree(&job);

    /* Completion, then a late second completion that changes nothing. */
    CHECK(vbStoreJobFinish(store, ids[0], VB_JOB_COMPLETED, "{\"ok\": true}", NULL, &applied,
                           &err) == VB_OK);
    CHECK_EQ_INT(applied, 1);
    CHECK(vbStoreJobFinish(store, ids[0], VB_JOB_FAILED, NULL, "late", &applied, &err) == VB_OK);
    CHECK_EQ_INT(applied, 0);
    CHECK(vbStoreJobGet(store, ids[0], &job, &err) == VB_OK);
    CHECK_EQ_INT(job.status, VB_JOB_COMPLETED);
    CHECK_STR(job.output, "{\"ok\": true}");
    CHECK(job.error == NULL);
    CHECK(job.finished_ms >= job.started_ms);
    CHECK(job.execution_ms >= 0);
    vbJobFree(&job);

    /* A cancelled job is never overwritten by a late completion. */
    CHECK(vbStoreJobClaim(store, "worker-b", &job, &found, &err) == VB_OK);
    CHECK_EQ_INT(found, 1);
    CHECK_STR(job.id, ids[1]);
    vbJobFree(&job);
    CHECK(vbStoreJobCancel(store, ids[1], &applied, &err) == VB_OK);
    CHECK_EQ_INT(applied, 1);
    CHECK(vbStoreJobFinish(store, ids[1], VB_JOB_COMPLETED, "{}", NULL, &applied, &err) == VB_OK);
    CHECK_EQ_INT(applied, 0);
    CHECK(vbStoreJobGet(store, ids[1], &job, &err) == VB_OK);
    CHECK_EQ_INT(job.status, VB_JOB_CANCELLED);
    CHECK(job.output == NULL);
    vbJobFree(&job);
    CHECK(vbStoreJobCancel(store, ids[0], &applied, &err) == VB_OK);
    CHECK_EQ_INT(applied, 0);

    /* Invalid final states and unknown ids. */
    CHECK_EQ_INT(vbStoreJobFinish(store, ids[2], VB_JOB_IN_QUEUE, NULL, NULL, &applied, &err),
                 VB_ERR_INVALID_ARGUMENT);
    CHECK_EQ_INT(vbStoreJobFinish(store, "no-such-job", VB_JOB_COMPLETED, NULL, NULL, &applied,
                                  &err),
                 VB_ERR_NOT_FOUND);
    CHECK_EQ_INT(vbStoreJobGet(store, "no-such-job", &job, &err), VB_ERR_NOT_FOUND);
    CHECK_EQ_INT(vbStoreJobCancel(store, "no-such-job", &applied, &err), VB_ERR_NOT_FOUND);

    /* Retry: only FAILED and TIMED_OUT go back to the queue. */
    CHECK(vbStoreJobRetry(store, ids[0], &applied, &err) == VB_OK);
    CHECK_EQ_INT(applied, 0);
    CHECK(vbStoreJobRetry(store, ids[1], &applied, &err) == VB_OK);
    CHECK_EQ_INT(applied, 0);
    CHECK(vbStoreJobRetry(store, ids[2], &applied, &err) == VB_OK);
    CHECK_EQ_INT(applied, 0);
    CHECK(vbStoreJobClaim(store, "worker-c", &job, &found, &err) == VB_OK);
    CHECK_EQ_INT(found, 1);
    CHECK_STR(job.id, ids[2]);
    vbJobFree(&job);
    CHECK(vbStoreJobFinish(store, ids[2], VB_JOB_TIMED_OUT, NULL, "timed out after 1 s",
                           &applied, &err) == VB_OK);
    CHECK_EQ_INT(applied, 1);
    CHECK(vbStoreJobRetry(store, ids[2], &applied, &err) == VB_OK);
    CHECK_EQ_INT(applied, 1);
    CHECK(vbStoreJobGet(store, ids[2], &job, &err) == VB_OK);
    CHECK_EQ_INT(job.status, VB_JOB_IN_QUEUE);
    CHECK_EQ_INT(job.retried, 1);
    CHECK_EQ_INT(job.attempts, 0);
    CHECK(job.error == NULL);
    vbJobFree(&job);

    /* Counts per status: ids[2] and ids[3] queued. */
    int64_t counts[VB_JOB_STATUS_COUNT];
    CHECK(vbStoreJobCounts(store, counts, &err) == VB_OK);
    CHECK_EQ_INT(counts[VB_JOB_IN_QUEUE], 2);
    CHECK_EQ_INT(counts[VB_JOB_COMPLETED], 1);
    CHECK_EQ_INT(counts[VB_JOB_CANCELLED], 1);
    CHECK_EQ_INT(counts[VB_JOB_IN_PROGRESS], 0);

    /* Recovery: a first interruption re-queues, a second fails the job. */
    CHECK(vbStoreJobClaim(store, "worker-d", &job, &found, &err) == VB_OK);
    CHECK_EQ_INT(found, 1);
    char recovered[VB_STORE_ID_SIZE];
    snprintf(recovered, sizeof recovered, "%s", job.id);
    vbJobFree(&job);
    size_t requeued = 0, failed = 0;
    CHECK(vbStoreJobRecover(store, 2, &requeued, &failed, &err) == VB_OK);
    CHECK_EQ_INT(requeued, 1);
    CHECK_EQ_INT(failed, 0);
    CHECK(vbStoreJobClaim(store, "worker-e", &job, &found, &err) == VB_OK);
    CHECK_EQ_INT(found, 1);
    CHECK_STR(job.id, recovered);
    CHECK_EQ_INT(job.attempts, 2);
    vbJobFree(&job);
    CHECK(vbStoreJobRecover(store, 2, &requeued, &failed, &err) == VB_OK);
    CHECK_EQ_INT(requeued, 0);
    CHECK_EQ_INT(failed, 1);
    CHECK(vbStoreJobGet(store, recovered, &job, &err) == VB_OK);
    CHECK_EQ_INT(job.status, VB_JOB_FAILED);
    CHECK(job.error != NULL);
    CHECK(job.error == NULL || strstr(job.error, "worker stopped") != NULL);
    vbJobFree(&job);

    /* Purge removes only queued jobs. */
    size_t removed = 0;
    CHECK(vbStoreJobPurge(store, &removed, &err) == VB_OK);
    CHECK_EQ_INT(removed, 1);
    CHECK(vbStoreJobClaim(store, "worker-f", &job, &found, &err) == VB_OK);
    CHECK_EQ_INT(found, 0);
    CHECK(vbStoreJobGet(store, ids[0], &job, &err) == VB_OK);
    vbJobFree(&job);
}

/* Several processes claim from one queue; every job must be claimed once. */
static void testConcurrentClaims(const char *url, const char *dir)
{
    vb_error err = {0};
    VbStore *store = openOrFail(url);
    if (store == NULL)
        return;
    for (int i = 0; i < JOB_COUNT_CONCURRENT; i++) {
        char id[VB_STORE_ID_SIZE];
        CHECK_MSG(vbStoreJobEnqueue(store, "{}", id, &err) == VB_OK, "%s", err.message);
    }
    vbStoreClose(store);

    /* Each child opens its own connection and writes the ids it claimed to
     * its own file. */
    pid_t pids[WORKER_PROCESSES];
    for (int w = 0; w < WORKER_PROCESSES; w++) {
        pids[w] = fork();
        if (pids[w] != 0)
            continue;
        char path[600];
        snprintf(path, sizeof path, "%s/claims.%d", dir, w);
        FILE *out = fopen(path, "w");
        VbStore *mine = NULL;
        vb_error child_err = {0};
        if (out == NULL || vbStoreOpen(url, &mine, &child_err) != VB_OK) {
            fprintf(stderr, "worker %d: %s\n", w, child_err.message);
            _exit(2);
        }
        for (;;) {
            VbJob job;
            int found = 0;
            if (vbStoreJobClaim(mine, "w", &job, &found, &child_err) != VB_OK) {
                fprintf(stderr, "worker %d: %s\n", w, child_err.message);
                _exit(3);
            }
            if (!found)
                break;
            fprintf(out, "%s\n", job.id);
            vbJobFree(&job);
        }
        fclose(out);
        vbStoreClose(mine);
        _exit(0);
    }
    for (int w = 0; w < WORKER_PROCESSES; w++) {
        int status = 0;
        CHECK(pids[w] > 0);
        CHECK(pids[w] <= 0 || waitpid(pids[w], &status, 0) == pids[w]);
        CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "worker %d status %d", w, status);
    }

    /* Collect: no id twice, and as many as were queued. */
    static char seen[JOB_COUNT_CONCURRENT][VB_STORE_ID_SIZE];
    int total = 0, duplicates = 0;
    for (int w = 0; w < WORKER_PROCESSES; w++) {
        char path[600], line[64];
        snprintf(path, sizeof path, "%s/claims.%d", dir, w);
        FILE *in = fopen(path, "r");
        while (in != NULL && fgets(line, sizeof line, in) != NULL) {
            line[strcspn(line, "\n")] = '\0';
            for (int k = 0; k < total; k++)
                duplicates += strcmp(seen[k], line) == 0;
            if (total < JOB_COUNT_CONCURRENT)
                snprintf(seen[total], VB_STORE_ID_SIZE, "%.36s", line);
            total++;
        }
        if (in != NULL)
            fclose(in);
        unlink(path);
    }
    CHECK_EQ_INT(total, JOB_COUNT_CONCURRENT);
    CHECK_EQ_INT(duplicates, 0);
}

/* A run report with the keys the store reads, as visionbench run writes it. */
static json_t *sampleReport(const char *timestamp, double map_a)
{
    json_error_t jerr;
    json_t *report = json_pack_ex(
        &jerr, 0,
        "{s:s, s:f, s:s, s:{s:{s:s, s:n, s:{s:f, s:f, s:f, s:f, s:f}, s:{s:f, s:f, s:f},"
        " s:{s:f, s:f, s:n}, s:{s:f, s:f, s:i}, s:{s:s, s:s, s:s, s:s}},"
        " s:{s:s, s:s, s:{s:n, s:n}, s:{}, s:{}, s:{s:n, s:n, s:n}, s:{s:s}}},"
        " s:{s:s, s:{s:s, s:i}, s:{s:s, s:s, s:s}, s:{s:f}}}",
        "status", "partial", "execution_time", 12.5, "timestamp", timestamp, "results",
        "yolo-a", "status", "ok", "error", "accuracy", "map", map_a, "map50", 0.61, "precision",
        0.7, "recall", 0.5, "f1", 0.58, "speed", "inference_time", 0.02, "throughput", 40.0,
        "latency_p95", 31.5, "memory", "ram_mb", 80.0, "peak_mb", 120.0, "gpu_mb", "carbon",
        "energy_kwh", 1e-6, "co2_kg", 4e-7, "green_score", 8, "model", "path", "/m/a.onnx",
        "sha256", "aa11", "family", "yolov8", "task", "detect", "broken", "status", "error",
        "error", "cannot load /m/b.onnx", "accuracy", "map", "map50", "speed", "memory", "carbon",
        "co2_kg", "green_score", "energy_kwh", "model", "path", "/m/b.onnx", "metadata",
        "visionbench_version", "0.1.0", "machine", "cpu_model", "test cpu", "cores", 4,
        "dataset", "sha256", "d5e7", "images_dir", "/data/img", "ground_truth", "/data/gt.csv",
        "settings", "conf", 0.25);
    CHECK_MSG(report != NULL, "%s", jerr.text);
    return report;
}

static void testRuns(VbStore *store, const char *url, int notify)
{
    vb_error err = {0};
    char run1[VB_STORE_ID_SIZE], run2[VB_STORE_ID_SIZE], job_id[VB_STORE_ID_SIZE];

    /* A listener on a second connection, for PostgreSQL. */
    VbStore *listener = NULL;
    if (notify) {
        listener = openOrFail(url);
        CHECK(listener != NULL);
        if (listener != NULL)
            CHECK(vbStoreListenRuns(listener, &err) == VB_OK);
    } else {
        CHECK_EQ_INT(vbStoreListenRuns(store, &err), VB_ERR_UNSUPPORTED);
    }

    /* Bad reports store nothing. */
    json_t *bad = json_pack("{s:s}", "status", "ok");
    CHECK_EQ_INT(vbStoreRunSave(store, bad, NULL, run1, &err), VB_ERR_PARSE);
    json_decref(bad);

    /* A run linked to an unknown job breaks the foreign key, so the whole
     * transaction rolls back and no run is listed. */
    json_t *orphan = sampleReport("2026-11-30T10:00:00Z", 0.3);
    CHECK_EQ_INT(vbStoreRunSave(store, orphan, "no-such-job", run1, &err), VB_ERR_IO);
    json_decref(orphan);
    json_t *empty = NULL;
    CHECK(vbStoreRunList(store, NULL, &empty, &err) == VB_OK);
    CHECK_EQ_INT(json_array_size(empty), 0);
    json_decref(empty);

    /* Two runs, the second linked to a job. */
    json_t *report1 = sampleReport("2026-12-01T10:00:00Z", 0.45);
    json_t *report2 = sampleReport("2026-12-02T10:00:00Z", 0.52);
    CHECK(vbStoreJobEnqueue(store, "{}", job_id, &err) == VB_OK);
    CHECK_MSG(vbStoreRunSave(store, report1, NULL, run1, &err) == VB_OK, "%s", err.message);
    CHECK_MSG(vbStoreRunSave(store, report2, job_id, run2, &err) == VB_OK, "%s", err.message);
    json_object_set_new(json_object_get(json_object_get(report2, "metadata"), "dataset"),
                        "sha256", json_string("other"));

    if (listener != NULL) {
        char payload[64] = "";
        int received = 0;
        CHECK(vbStoreWaitNotification(listener, 5000, payload, sizeof payload, &received, &err) ==
              VB_OK);
        CHECK_EQ_INT(received, 1);
        CHECK_STR(payload, run1);
        CHECK(vbStoreWaitNotification(listener, 5000, payload, sizeof payload, &received, &err) ==
              VB_OK);
        CHECK_EQ_INT(received, 1);
        CHECK_STR(payload, run2);
        vbStoreClose(listener);
    }

    /* Listing: newest first, with models and the best mAP. */
    json_t *list = NULL;
    CHECK_MSG(vbStoreRunList(store, NULL, &list, &err) == VB_OK, "%s", err.message);
    CHECK_EQ_INT(json_array_size(list), 2);
    json_t *first = json_array_get(list, 0);
    CHECK_STR(json_string_value(json_object_get(first, "id")), run2);
    CHECK_STR(json_string_value(json_object_get(first, "job_id")), job_id);
    CHECK_STR(json_string_value(json_object_get(first, "started_at")), "2026-12-02T10:00:00Z");
    CHECK_STR(json_string_value(json_object_get(first, "finished_at")), "2026-12-02T10:00:12Z");
    CHECK_STR(json_string_value(json_object_get(first, "status")), "partial");
    CHECK_NEAR(json_number_value(json_object_get(first, "best_map")), 0.52, 1e-12);
    json_t *models = json_object_get(first, "models");
    CHECK_EQ_INT(json_array_size(models), 2);
    CHECK_STR(json_string_value(json_object_get(json_array_get(models, 0), "name")), "yolo-a");
    CHECK_STR(json_string_value(json_object_get(json_array_get(models, 1), "status")), "error");
    CHECK(json_is_null(json_object_get(json_array_get(models, 1), "map")));
    json_decref(list);

    /* Filters and limits. */
    VbRunFilter filter = {.model_name = "broken", .limit = 1};
    CHECK(vbStoreRunList(store, &filter, &list, &err) == VB_OK);
    CHECK_EQ_INT(json_array_size(list), 1);
    json_decref(list);
    filter = (VbRunFilter){.model_name = "absent"};
    CHECK(vbStoreRunList(store, &filter, &list, &err) == VB_OK);
    CHECK_EQ_INT(json_array_size(list), 0);
    json_decref(list);
    filter = (VbRunFilter){.dataset_sha256 = "d5e7"};
    CHECK(vbStoreRunList(store, &filter, &list, &err) == VB_OK);
    CHECK_EQ_INT(json_array_size(list), 2);
    json_decref(list);
    filter = (VbRunFilter){.dataset_sha256 = "d5"};
    CHECK(vbStoreRunList(store, &filter, &list, &err) == VB_OK);
    CHECK_EQ_INT(json_array_size(list), 2);
    json_decref(list);
    filter = (VbRunFilter){.dataset_sha256 = "d5e70"};
    CHECK(vbStoreRunList(store, &filter, &list, &err) == VB_OK);
    CHECK_EQ_INT(json_array_size(list), 0);
    json_decref(list);
    filter = (VbRunFilter){.limit = VB_STORE_HISTORY_MAX + 1};
    CHECK_EQ_INT(vbStoreRunList(store, &filter, &list, &err), VB_ERR_INVALID_ARGUMENT);

    /* One run in full. */
    json_t *run = NULL;
    CHECK_MSG(vbStoreRunGet(store, run1, &run, &err) == VB_OK, "%s", err.message);
    json_t *model = json_array_get(json_object_get(run, "models"), 0);
    CHECK_NEAR(json_number_value(json_object_get(model, "map")), 0.45, 1e-12);
    CHECK_NEAR(json_number_value(json_object_get(model, "latency_p95_ms")), 31.5, 1e-12);
    CHECK_NEAR(json_number_value(json_object_get(model, "energy_kwh")), 1e-6, 1e-18);
    CHECK_EQ_INT(json_integer_value(json_object_get(model, "green_score")), 8);
    CHECK(json_is_null(json_object_get(model, "gpu_mb")));
    CHECK_STR(json_string_value(json_object_get(model, "sha256")), "aa11");
    CHECK_STR(json_string_value(json_object_get(json_object_get(model, "result"), "status")),
              "ok");
    CHECK_STR(json_string_value(json_object_get(json_object_get(run, "machine"), "cpu_model")),
              "test cpu");
    CHECK_NEAR(json_number_value(json_object_get(
                   json_object_get(json_object_get(run, "options"), "settings"), "conf")),
               0.25, 1e-12);
    CHECK(json_equal(json_object_get(run, "report"), report1));
    json_decref(run);
    CHECK_EQ_INT(vbStoreRunGet(store, "no-such-run", &run, &err), VB_ERR_NOT_FOUND);
    json_decref(report1);
    json_decref(report2);
}

/* Runs command through the shell and stores its output (NUL-terminated) in
 * output. Returns its exit status, or -1 when it could not start. */
static int runCommand(const char *command, char *output, size_t size)
{
    FILE *p = popen(command, "r");
    if (p == NULL)
        return -1;
    size_t n = fread(output, 1, size - 1, p);
    output[n] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* `visionbench history` prints the stored runs as a table and as JSON. */
static void testHistoryCli(const char *url)
{
    const char *cli = getenv("VB_CLI");
    if (cli == NULL) {
        printf("history CLI checks skipped: VB_CLI is not set\n");
        return;
    }
    char command[8192];
    static char output[65536];
    snprintf(command, sizeof command, "'%s' history --db '%s' --json", cli, url);
    CHECK_EQ_INT(runCommand(command, output, sizeof output), 0);
    json_t *list = json_loads(output, 0, NULL);
    CHECK_MSG(json_is_array(list), "output: %s", output);
    CHECK_EQ_INT(json_array_size(list), 2);
    json_decref(list);

    snprintf(command, sizeof command, "'%s' history --db '%s' --model yolo-a --limit 1", cli, url);
    CHECK_EQ_INT(runCommand(command, output, sizeof output), 0);
    CHECK_MSG(strstr(output, "2026-12-02 10:00:00") != NULL, "output: %s", output);
    CHECK_MSG(strstr(output, "0.520") != NULL, "output: %s", output);
    CHECK_MSG(strstr(output, "yolo-a,broken") != NULL, "output: %s", output);
    CHECK_MSG(strstr(output, "2026-12-01") == NULL, "output: %s", output);

    /* A bad URL is a one-line error with the password hidden. */
    snprintf(command, sizeof command,
             "'%s' history --db 'postgresql://ann:s3cret@127.0.0.1:1/x' 2>&1", cli);
    CHECK_EQ_INT(runCommand(command, output, sizeof output), 1);
    CHECK_MSG(strstr(output, "s3cret") == NULL, "output: %s", output);
    CHECK_MSG(strstr(output, "visionbench: error: database postgresql://ann:***@") != NULL,
              "output: %s", output);
    CHECK_EQ_INT(strchr(output, '\n') - output + 1, strlen(output));
}

/* Counts the runs that `history --json` prints for the extra arguments and
 * returns the exit status, with the output in output. */
static int historyCount(const char *cli, const char *url, const char *args, char *output,
                        size_t size, size_t *count)
{
    char command[4096];
    snprintf(command, sizeof command, "'%s' history --db '%s' --json %s 2>&1", cli, url, args);
    int rc = runCommand(command, output, size);
    json_t *list = json_loads(output, 0, NULL);
    *count = json_array_size(list);
    json_decref(list);
    return rc;
}

/* `history` reads only an existing SQLite file and takes a unique prefix
 * of a dataset fingerprint. */
static void testHistoryCliSqlite(const char *dir)
{
    const char *cli = getenv("VB_CLI");
    if (cli == NULL)
        return;
    char url[600], command[4096];
    static char output[65536];
    size_t count = 0;

    /* A missing file is an error and is not created. */
    snprintf(url, sizeof url, "sqlite:%s/missing.db", dir);
    CHECK_EQ_INT(historyCount(cli, url, "", output, sizeof output, &count), 1);
    CHECK_MSG(strstr(output, "does not exist") != NULL, "output: %s", output);
    CHECK_MSG(strstr(output, "visionbench run --db") != NULL, "output: %s", output);
    snprintf(command, sizeof command, "%s/missing.db", dir);
    CHECK_MSG(access(command, F_OK) != 0, "history created %s", command);

    /* A folder, and a path without the sqlite: scheme. */
    snprintf(url, sizeof url, "sqlite:%s", dir);
    CHECK_EQ_INT(historyCount(cli, url, "", output, sizeof output, &count), 1);
    CHECK_MSG(strstr(output, "is a folder") != NULL, "output: %s", output);
    snprintf(url, sizeof url, "%s/runs.db", dir);
    CHECK_EQ_INT(historyCount(cli, url, "", output, sizeof output, &count), 1);
    CHECK_MSG(strstr(output, "sqlite:") != NULL, "output: %s", output);

    /* Three runs on three datasets, two of which share 8 hex digits. */
    snprintf(url, sizeof url, "sqlite:%s/prefix.db", dir);
    VbStore *store = openOrFail(url);
    if (store == NULL)
        return;
    static const char *const fingerprints[] = {"abcdef0011", "abcdef0022", "123456ff"};
    for (size_t i = 0; i < 3; i++) {
        json_t *report = sampleReport("2026-12-01T10:00:00Z", 0.4);
        json_object_set_new(json_object_get(json_object_get(report, "metadata"), "dataset"),
                            "sha256", json_string(fingerprints[i]));
        char run_id[VB_STORE_ID_SIZE];
        vb_error err = {0};
        CHECK_MSG(vbStoreRunSave(store, report, NULL, run_id, &err) == VB_OK, "%s", err.message);
        json_decref(report);
    }
    vbStoreClose(store);
    CHECK_EQ_INT(historyCount(cli, url, "--dataset 123456", output, sizeof output, &count), 0);
    CHECK_EQ_INT(count, 1);
    CHECK_EQ_INT(historyCount(cli, url, "--dataset ABCDEF0011", output, sizeof output, &count),
                 0);
    CHECK_EQ_INT(count, 1);
    CHECK_EQ_INT(historyCount(cli, url, "--dataset abcdef00", output, sizeof output, &count), 2);
    CHECK_MSG(strstr(output, "more than one dataset") != NULL, "output: %s", output);
    CHECK_EQ_INT(historyCount(cli, url, "--dataset abc", output, sizeof output, &count), 2);
    CHECK_EQ_INT(historyCount(cli, url, "--dataset 123456 --limit 1", output, sizeof output,
                              &count),
                 0);
    CHECK_EQ_INT(count, 1);
}

int main(int argc, char **argv)
{
    int postgres = argc > 1 && strcmp(argv[1], "postgresql") == 0;
    char dir[] = "/tmp/visionbench-store-XXXXXX";
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    char url[1024];

    if (postgres) {
        const char *pg = getenv("VB_TEST_POSTGRES_URL");
        if (pg == NULL || pg[0] == '\0') {
            printf("skipped: set VB_TEST_POSTGRES_URL to a PostgreSQL database the test may "
                   "empty\n");
            rmdir(dir);
            return VB_TEST_SKIP;
        }
        snprintf(url, sizeof url, "%s", pg);
        /* Start from an empty database. */
        CHECK(rawExec(url, "DROP TABLE IF EXISTS model_results, models, runs, jobs, "
                           "schema_version CASCADE") == 0);
    } else {
        testUrls();
        testSqliteFileErrors(dir);
        testHistoryCliSqlite(dir);
        snprintf(url, sizeof url, "sqlite:%s/runs.db", dir);
    }

    testMigrations(url);
    VbStore *store = openOrFail(url);
    if (store != NULL) {
        testQueue(store);
        testConcurrentClaims(url, dir);
        vb_error err = {0};
        size_t removed;
        CHECK(vbStoreJobPurge(store, &removed, &err) == VB_OK);
        testRuns(store, url, postgres);
        vbStoreClose(store);
    }
    testHistoryCli(url);

    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    TEST_END();
}
