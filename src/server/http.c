/* The HTTP API of `visionbench serve` on libmicrohttpd: routes, auth, JSON replies, /runsync and /stream. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "server/server_internal.h"
#include "server/static.h"

/* Jobs left IN_PROGRESS by a server that died are queued again until they
 * have been claimed this many times, then FAILED. */
#define RECOVER_MAX_ATTEMPTS 2

/* The supervisor's round: worker lines are read at least this often. */
#define TICK_MS 100

/* An idle /stream sends an SSE comment this often, so a client that left
 * is noticed. */
#define STREAM_KEEPALIVE_NS (15ull * 1000000000ull)

/* Per-request state while the body arrives. */
typedef struct Request {
    VbBuf body;
    int too_large;
} Request;

/* Waits until a job changes (server->changed is signalled) or timeout_ms
 * pass, whichever comes first. Callers re-read the job state afterwards. */
static void waitForChange(VbServer *server, long timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += timeout_ms * 1000000L;
    while (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&server->lock);
    pthread_cond_timedwait(&server->changed, &server->lock, &ts);
    pthread_mutex_unlock(&server->lock);
}

/* Replies with text (JSON, ownership taken; NULL means out of memory) and,
 * when allow is not NULL, an Allow header with that method list. */
static enum MHD_Result sendJsonTextAllow(struct MHD_Connection *conn, unsigned int status,
                                         char *text, const char *allow)
{
    if (text == NULL)
        text = vbStrdup("{\"error\":\"out of memory building the reply\"}");
    if (text == NULL)
        return MHD_NO;
    size_t len = strlen(text);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (allow != NULL)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result sendJsonText(struct MHD_Connection *conn, unsigned int status, char *text)
{
    return sendJsonTextAllow(conn, status, text, NULL);
}

/* Replies with doc (reference taken; NULL means out of memory). */
static enum MHD_Result sendJson(struct MHD_Connection *conn, unsigned int status, json_t *doc)
{
    char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    return sendJsonText(conn, status, text);
}

/* Replies {"error": message, "field": field} and logs it. */
static enum MHD_Result sendError(struct MHD_Connection *conn, unsigned int status,
                                 const char *method, const char *url, const char *field,
                                 const char *message)
{
    vbWarn("%s %s: %u %s (field %s)", method, url, status, message, field != NULL ? field : "none");
    json_t *doc = json_pack("{s:s}", "error", message);
    if (doc != NULL && field != NULL)
        json_object_set_new(doc, "field", json_string(field));
    return sendJson(conn, status, doc);
}

/* Compares the request's bearer token with key in time independent of
 * where they differ. */
static int authorized(struct MHD_Connection *conn, const char *key)
{
    if (key == NULL)
        return 1;
    const char *header = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_AUTHORIZATION);
    if (header == NULL || strncmp(header, "Bearer ", 7) != 0)
        return 0;
    const char *token = header + 7;
    size_t token_len = strlen(token), key_len = strlen(key);
    unsigned char diff = token_len != key_len;
    for (size_t i = 0; i < key_len; i++)
        diff |= (unsigned char)key[i] ^ (unsigned char)token[i < token_len ? i : 0];
    return diff == 0 && token_len > 0;
}

/* Returns the status document of job as new JSON text (the caller frees
 * it), or NULL when out of memory: id, status, delayTime and executionTime
 * in milliseconds, retries, and output (the run JSON) or error. The output
 * text is copied in as stored, without parsing it again, because the store
 * checked it at completion. */
static char *jobDocumentText(const VbJob *job)
{
    json_t *doc = json_pack("{s:s, s:s, s:I, s:I, s:i}", "id", job->id, "status",
                            vbJobStatusName(job->status), "delayTime", (json_int_t)job->delay_ms,
                            "executionTime", (json_int_t)job->execution_ms, "retries",
                            job->retried);
    if (doc != NULL && job->error != NULL)
        json_object_set_new(doc, "error", json_string(job->error));
    char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    if (text == NULL || job->output == NULL)
        return text;

    /* Replace the closing brace with ,"output":OUTPUT}. */
    VbBuf buf;
    vbBufInit(&buf, VB_STORE_RESULT_MAX);
    size_t len = strlen(text);
    vb_status st = vbBufAppend(&buf, text, len - 1, NULL);
    if (st == VB_OK)
        st = vbBufAppend(&buf, ",\"output\":", 10, NULL);
    if (st == VB_OK)
        st = vbBufAppend(&buf, job->output, strlen(job->output), NULL);
    if (st == VB_OK)
        st = vbBufAppend(&buf, "}", 1, NULL);
    free(text);
    if (st != VB_OK) {
        vbBufFree(&buf);
        return NULL;
    }
    return vbBufDetach(&buf, NULL);
}

static int isFinal(VbJobStatus status)
{
    return status == VB_JOB_COMPLETED || status == VB_JOB_FAILED || status == VB_JOB_CANCELLED ||
           status == VB_JOB_TIMED_OUT;
}

/* Fetches job id; on failure replies 404 or 500 and returns the reply's
 * result through *reply. */
static int fetchJob(VbServer *server, struct MHD_Connection *conn, const char *method,
                    const char *url, const char *id, VbJob *job, enum MHD_Result *reply)
{
    vb_error err;
    memset(&err, 0, sizeof err);
    memset(job, 0, sizeof *job);
    vb_status st = VB_ERR_NOT_FOUND;
    if (strlen(id) < VB_STORE_ID_SIZE && id[0] != '\0')
        VB_STORE_LOCKED(server, st = vbStoreJobGet(server->store, id, job, &err));
    else
        snprintf(err.message, sizeof err.message, "job id is not a UUID");
    if (st == VB_OK)
        return 1;
    char message[VB_ERROR_MESSAGE_MAX + 64];
    if (st == VB_ERR_NOT_FOUND)
        snprintf(message, sizeof message, "job %.40s not found: check the id that /run returned", id);
    else
        snprintf(message, sizeof message, "cannot read job %.40s: %s", id, err.message);
    *reply = sendError(conn, st == VB_ERR_NOT_FOUND ? MHD_HTTP_NOT_FOUND
                                                    : MHD_HTTP_INTERNAL_SERVER_ERROR,
                       method, url, "id", message);
    return 0;
}

/* POST /run and /runsync: validates the body and queues the job. */
static enum MHD_Result handleRun(VbServer *server, struct MHD_Connection *conn, const char *url,
                                 Request *req, int sync)
{
    /* ?wait=MS for /runsync. */
    long wait_ms = VB_SERVER_RUNSYNC_DEFAULT_MS;
    const char *wait = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "wait");
    if (sync && wait != NULL) {
        char *end = NULL;
        errno = 0;
        wait_ms = strtol(wait, &end, 10);
        if (errno != 0 || end == wait || *end != '\0' || wait_ms < 0 ||
            wait_ms > VB_SERVER_RUNSYNC_MAX_MS) {
            char message[160];
            snprintf(message, sizeof message,
                     "wait must be milliseconds from 0 to %d, got \"%.32s\"",
                     VB_SERVER_RUNSYNC_MAX_MS, wait);
            return sendError(conn, MHD_HTTP_BAD_REQUEST, "POST", url, "wait", message);
        }
    }

    /* Validate, then queue. */
    VbRequestError rerr;
    json_t *input = vbServerValidateRequest(req->body.data != NULL ? req->body.data : "",
                                            req->body.len, server->config->models_dir, &rerr);
    if (input == NULL)
        return sendError(conn, (unsigned int)rerr.http_status, "POST", url, rerr.field,
                         rerr.message);
    char *text = json_dumps(input, JSON_COMPACT);
    json_decref(input);
    if (text == NULL)
        return sendError(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "POST", url, NULL,
                         "out of memory storing the job input");
    char id[VB_STORE_ID_SIZE];
    vb_error err;
    memset(&err, 0, sizeof err);
    vb_status st;
    VB_STORE_LOCKED(server, st = vbStoreJobEnqueue(server->store, text, id, &err));
    free(text);
    if (st != VB_OK) {
        char message[VB_ERROR_MESSAGE_MAX + 32];
        snprintf(message, sizeof message, "cannot queue the job: %s", err.message);
        return sendError(conn, st == VB_ERR_LIMIT ? MHD_HTTP_CONTENT_TOO_LARGE
                                                  : MHD_HTTP_INTERNAL_SERVER_ERROR,
                         "POST", url, st == VB_ERR_LIMIT ? "input" : NULL, message);
    }
    vbInfo("job %s: queued by %s", id, url);
    vbServerPoolNudge(server);
    if (!sync)
        return sendJson(conn, MHD_HTTP_OK, json_pack("{s:s, s:s}", "id", id, "status", "IN_QUEUE"));

    /* /runsync: wait for a final state or the deadline. */
    uint64_t deadline = vbNowNs() + (uint64_t)wait_ms * 1000000u;
    for (;;) {
        VbJob job;
        enum MHD_Result reply;
        if (!fetchJob(server, conn, "POST", url, id, &job, &reply))
            return reply;
        if (isFinal(job.status)) {
            char *document = jobDocumentText(&job);
            vbJobFree(&job);
            return sendJsonText(conn, MHD_HTTP_OK, document);
        }
        if (vbNowNs() >= deadline || *server->stop) {
            json_t *doc = json_pack("{s:s, s:s}", "id", id, "status", vbJobStatusName(job.status));
            vbJobFree(&job);
            return sendJson(conn, MHD_HTTP_OK, doc);
        }
        vbJobFree(&job);
        waitForChange(server, 250);
    }
}

/* POST /cancel/{id}: a queued job is cancelled at once, a running one
 * after its worker is killed. */
static enum MHD_Result handleCancel(VbServer *server, struct MHD_Connection *conn,
                                    const char *url, const char *id)
{
    VbJob job;
    enum MHD_Result reply;
    if (!fetchJob(server, conn, "POST", url, id, &job, &reply))
        return reply;
    vbJobFree(&job);
    vb_error err;
    memset(&err, 0, sizeof err);
    int applied = 0;
    vb_status st;
    VB_STORE_LOCKED(server, st = vbStoreJobCancel(server->store, id, &applied, &err));
    if (st != VB_OK)
        return sendError(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "POST", url, "id", err.message);
    if (applied) {
        int killed = vbServerPoolKillJob(server, id);
        vbInfo("job %s: cancelled%s", id, killed ? " and its worker killed" : " while queued");
        vbServerEventsEnd(server, id);
    }
    if (!fetchJob(server, conn, "POST", url, id, &job, &reply))
        return reply;
    json_t *doc = json_pack("{s:s, s:s}", "id", id, "status", vbJobStatusName(job.status));
    vbJobFree(&job);
    return sendJson(conn, MHD_HTTP_OK, doc);
}

/* POST /retry/{id}: only a FAILED or TIMED_OUT job goes back in the queue. */
static enum MHD_Result handleRetry(VbServer *server, struct MHD_Connection *conn,
                                   const char *url, const char *id)
{
    VbJob job;
    enum MHD_Result reply;
    if (!fetchJob(server, conn, "POST", url, id, &job, &reply))
        return reply;
    VbJobStatus before = job.status;
    vbJobFree(&job);
    vb_error err;
    memset(&err, 0, sizeof err);
    int applied = 0;
    vb_status st;
    VB_STORE_LOCKED(server, st = vbStoreJobRetry(server->store, id, &applied, &err));
    if (st != VB_OK)
        return sendError(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "POST", url, "id", err.message);
    if (!applied) {
        char message[160];
        snprintf(message, sizeof message,
                 "job %s is %s; only a FAILED or TIMED_OUT job can be retried", id,
                 vbJobStatusName(before));
        return sendError(conn, MHD_HTTP_CONFLICT, "POST", url, "id", message);
    }
    pthread_mutex_lock(&server->lock);
    server->retried++;
    pthread_mutex_unlock(&server->lock);

    /* Events of the earlier attempt are dropped with a fresh slot. */
    pthread_mutex_lock(&server->lock);
    for (int i = 0; i < VB_SERVER_EVENT_JOBS; i++) {
        VbJobEvents *e = &server->jobs[i];
        if (strcmp(e->id, id) != 0)
            continue;
        for (size_t j = 0; j < e->count; j++)
            free(e->events[j]);
        free(e->events);
        memset(e, 0, sizeof *e);
    }
    pthread_mutex_unlock(&server->lock);
    vbInfo("job %s: retried after %s", id, vbJobStatusName(before));
    vbServerPoolNudge(server);
    return sendJson(conn, MHD_HTTP_OK, json_pack("{s:s, s:s}", "id", id, "status", "IN_QUEUE"));
}

static enum MHD_Result handleHealth(VbServer *server, struct MHD_Connection *conn, const char *url)
{
    int64_t counts[VB_JOB_STATUS_COUNT] = {0};
    vb_error err;
    memset(&err, 0, sizeof err);
    vb_status st;
    VB_STORE_LOCKED(server, st = vbStoreJobCounts(server->store, counts, &err));
    if (st != VB_OK)
        return sendError(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "GET", url, NULL, err.message);
    int idle, running;
    vbServerPoolCounts(server, &idle, &running);
    pthread_mutex_lock(&server->lock);
    json_int_t retried = server->retried;
    pthread_mutex_unlock(&server->lock);
    return sendJson(
        conn, MHD_HTTP_OK,
        json_pack("{s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I}, s:{s:i, s:i}}", "jobs", "completed",
                  (json_int_t)counts[VB_JOB_COMPLETED], "failed",
                  (json_int_t)counts[VB_JOB_FAILED], "inProgress",
                  (json_int_t)counts[VB_JOB_IN_PROGRESS], "inQueue",
                  (json_int_t)counts[VB_JOB_IN_QUEUE], "retried", retried, "cancelled",
                  (json_int_t)counts[VB_JOB_CANCELLED], "timedOut",
                  (json_int_t)counts[VB_JOB_TIMED_OUT], "workers", "idle", idle, "running",
                  running));
}

/* GET /models: the registry, the *.onnx files of --models-dir by stem. */
static enum MHD_Result handleModels(VbServer *server, struct MHD_Connection *conn, const char *url)
{
    json_t *names = json_array();
    DIR *dir = opendir(server->config->models_dir);
    if (dir == NULL) {
        json_decref(names);
        return sendError(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "GET", url, NULL,
                         "cannot list the models folder");
    }
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        size_t n = strlen(entry->d_name);
        if (n <= 5 || strcmp(entry->d_name + n - 5, ".onnx") != 0)
            continue;
        char stem[256];
        snprintf(stem, sizeof stem, "%.*s", (int)(n - 5), entry->d_name);
        if (vbServerModelExists(server->config->models_dir, stem))
            json_array_append_new(names, json_string(stem));
    }
    closedir(dir);
    return sendJson(conn, MHD_HTTP_OK, json_pack("{s:o}", "models", names));
}

/* /stream state: the next event to send and unsent bytes. */
typedef struct Stream {
    VbServer *server;
    char id[VB_STORE_ID_SIZE];
    size_t next;
    char *pending;
    size_t pending_len, pending_off;
    int finished;
    uint64_t last_send_ns;
} Stream;

static void streamFree(void *cls)
{
    Stream *s = cls;
    free(s->pending);
    free(s);
}

/* Makes "event: NAME\ndata: DATA\n\n" the pending bytes. */
static void streamSet(Stream *s, const char *name, const char *data)
{
    free(s->pending);
    size_t n = strlen(name) + strlen(data) + 32;
    s->pending = malloc(n);
    s->pending_off = 0;
    s->pending_len = 0;
    if (s->pending != NULL)
        s->pending_len = (size_t)snprintf(s->pending, n, "event: %s\ndata: %s\n\n", name, data);
}

/* Produces the SSE bytes: each progress event, then one result event with
 * the status document once the job is final. Blocks while there is
 * nothing to send, which the thread-per-connection mode allows. */
static ssize_t streamRead(void *cls, uint64_t pos, char *buf, size_t max)
{
    Stream *s = cls;
    VbServer *server = s->server;
    while (s->pending == NULL || s->pending_off >= s->pending_len) {
        if (s->finished || *server->stop)
            return MHD_CONTENT_READER_END_OF_STREAM;

        /* The next progress event, if the worker sent one. */
        int ended = 0;
        pthread_mutex_lock(&server->lock);
        char *event = vbServerEventGet(server, s->id, s->next, &ended);
        pthread_mutex_unlock(&server->lock);
        if (event != NULL) {
            s->next++;
            streamSet(s, "progress", event);
            free(event);
            continue;
        }

        /* The result, once the job is final and its events are all sent. */
        VbJob job;
        memset(&job, 0, sizeof job);
        vb_error err;
        memset(&err, 0, sizeof err);
        vb_status st;
        VB_STORE_LOCKED(server, st = vbStoreJobGet(server->store, s->id, &job, &err));
        if (st != VB_OK) {
            vbWarn("GET /stream/%s: %s", s->id, err.message);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        if (isFinal(job.status) && ended) {
            char *text = jobDocumentText(&job);
            vbJobFree(&job);
            streamSet(s, "result", text != NULL ? text : "{}");
            free(text);
            s->finished = 1;
            continue;
        }
        vbJobFree(&job);

        /* Nothing yet: wait, with a comment now and then. */
        if (vbNowNs() - s->last_send_ns > STREAM_KEEPALIVE_NS) {
            free(s->pending);
            s->pending = vbStrdup(": keep-alive\n\n");
            s->pending_off = 0;
            s->pending_len = s->pending != NULL ? strlen(s->pending) : 0;
            continue;
        }
        waitForChange(server, 200);
    }
    size_t n = s->pending_len - s->pending_off;
    if (n > max)
        n = max;
    memcpy(buf, s->pending + s->pending_off, n);
    s->pending_off += n;
    s->last_send_ns = vbNowNs();
    return (ssize_t)n;
}

static enum MHD_Result handleStream(VbServer *server, struct MHD_Connection *conn,
                                    const char *url, const char *id)
{
    VbJob job;
    enum MHD_Result reply;
    if (!fetchJob(server, conn, "GET", url, id, &job, &reply))
        return reply;
    vbJobFree(&job);
    Stream *s = calloc(1, sizeof *s);
    if (s == NULL)
        return sendError(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "GET", url, NULL, "out of memory");
    s->server = server;
    snprintf(s->id, sizeof s->id, "%s", id);
    s->last_send_ns = vbNowNs();
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, streamRead, s, streamFree);
    if (r == NULL) {
        free(s);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/* Returns the id after prefix in url, or NULL when url does not start
 * with prefix. */
static const char *routeId(const char *url, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(url, prefix, n) == 0 ? url + n : NULL;
}

/* Dispatches a complete request. */
static enum MHD_Result route(VbServer *server, struct MHD_Connection *conn, const char *url,
                             const char *method, Request *req)
{
    int get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
    const char *id;
    if (strcmp(url, "/health") == 0 && get)
        return handleHealth(server, conn, url);
    if (strcmp(url, "/models") == 0 && get)
        return handleModels(server, conn, url);
    if (strcmp(url, "/run") == 0 && post)
        return handleRun(server, conn, url, req, 0);
    if (strcmp(url, "/runsync") == 0 && post)
        return handleRun(server, conn, url, req, 1);
    if (strcmp(url, "/purge-queue") == 0 && post) {
        size_t removed = 0;
        vb_error err;
        memset(&err, 0, sizeof err);
        vb_status st;
        VB_STORE_LOCKED(server, st = vbStoreJobPurge(server->store, &removed, &err));
        if (st != VB_OK)
            return sendError(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, method, url, NULL, err.message);
        vbInfo("purge-queue: %zu queued job(s) removed", removed);
        return sendJson(conn, MHD_HTTP_OK, json_pack("{s:I, s:s}", "removed", (json_int_t)removed,
                                                     "status", "completed"));
    }
    if ((id = routeId(url, "/status/")) != NULL && get) {
        VbJob job;
        enum MHD_Result reply;
        if (!fetchJob(server, conn, method, url, id, &job, &reply))
            return reply;
        char *text = jobDocumentText(&job);
        vbJobFree(&job);
        return sendJsonText(conn, MHD_HTTP_OK, text);
    }
    if ((id = routeId(url, "/stream/")) != NULL && get)
        return handleStream(server, conn, url, id);
    if ((id = routeId(url, "/cancel/")) != NULL && post)
        return handleCancel(server, conn, url, id);
    if ((id = routeId(url, "/retry/")) != NULL && post)
        return handleRetry(server, conn, url, id);

    /* A known path with another method is 405 with an Allow header,
     * anything else 404. */
    static const struct {
        const char *path;
        const char *allow;
    } routes[] = {{"/health", "GET"},   {"/models", "GET"},      {"/run", "POST"},
                  {"/runsync", "POST"}, {"/purge-queue", "POST"}, {"/status/", "GET"},
                  {"/stream/", "GET"},  {"/cancel/", "POST"},    {"/retry/", "POST"}};
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        const char *path = routes[i].path;
        size_t n = strlen(path);
        if (path[n - 1] == '/' ? strncmp(url, path, n) != 0 : strcmp(url, path) != 0)
            continue;
        char message[128];
        snprintf(message, sizeof message, "method %.16s is not allowed for this path; use %s",
                 method, routes[i].allow);
        vbWarn("%s %s: 405 %s", method, url, message);
        json_t *doc = json_pack("{s:s, s:s}", "error", message, "field", "method");
        char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(doc);
        return sendJsonTextAllow(conn, MHD_HTTP_METHOD_NOT_ALLOWED, text, routes[i].allow);
    }
    return sendError(conn, MHD_HTTP_NOT_FOUND, method, url, "path",
                     "no such route; the API has /run, /runsync, /status/{id}, /stream/{id}, "
                     "/cancel/{id}, /retry/{id}, /purge-queue, /health and /models");
}

static enum MHD_Result onRequest(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    VbServer *server = cls;
    Request *req = *con_cls;

    /* First call: headers only. Reject early on auth and Content-Length. */
    if (req == NULL) {
        /* The dashboard's page and assets need no key; its history routes do. */
        enum MHD_Result served;
        if (vbDashboardServe(conn, method, url, &served))
            return served;
        if (!authorized(conn, server->config->api_key))
            return sendError(conn, MHD_HTTP_UNAUTHORIZED, method, url, "Authorization",
                             "missing or wrong API key: send the header "
                             "\"Authorization: Bearer KEY\" with the server's key");
        if (vbHistoryServe(server, conn, method, url, &served))
            return served;
        const char *length = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                         MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (length != NULL && strtoull(length, NULL, 10) > server->config->max_body_bytes) {
            char message[160];
            snprintf(message, sizeof message,
                     "request body of %.20s bytes is above the limit of %zu bytes (--max-body-mb)",
                     length, server->config->max_body_bytes);
            return sendError(conn, MHD_HTTP_CONTENT_TOO_LARGE, method, url, "body", message);
        }
        req = calloc(1, sizeof *req);
        if (req == NULL)
            return MHD_NO;
        vbBufInit(&req->body, server->config->max_body_bytes);
        *con_cls = req;
        return MHD_YES;
    }

    /* Body chunks, capped. */
    if (*upload_data_size > 0) {
        if (!req->too_large &&
            vbBufAppend(&req->body, upload_data, *upload_data_size, NULL) != VB_OK) {
            req->too_large = 1;
            vbBufFree(&req->body);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (req->too_large) {
        char message[128];
        snprintf(message, sizeof message,
                 "request body is above the limit of %zu bytes (--max-body-mb)",
                 server->config->max_body_bytes);
        return sendError(conn, MHD_HTTP_CONTENT_TOO_LARGE, method, url, "body", message);
    }
    return route(server, conn, url, method, req);
}

static void onCompleted(void *cls, struct MHD_Connection *conn, void **con_cls,
                        enum MHD_RequestTerminationCode code)
{
    Request *req = *con_cls;
    if (req != NULL) {
        vbBufFree(&req->body);
        free(req);
        *con_cls = NULL;
    }
}

/* Parses "HOST:PORT" (HOST an IPv4 address, "localhost" or "[IPv6]") into
 * addr and sets *loopback. */
static vb_status parseListen(const char *listen, struct sockaddr_storage *addr, int *loopback,
                             vb_error *err)
{
    const char *colon = strrchr(listen, ':');
    if (colon == NULL || colon == listen)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                          "--listen \"%s\" is invalid: use HOST:PORT such as 127.0.0.1:8080",
                          listen);
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end != '\0' || port < 0 || port > 65535)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                          "--listen \"%s\": the port must be 0..65535", listen);
    char host[64];
    size_t host_len = (size_t)(colon - listen);
    if (host_len >= sizeof host)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT, "--listen \"%s\": host too long", listen);
    memcpy(host, listen, host_len);
    host[host_len] = '\0';
    memset(addr, 0, sizeof *addr);
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    struct sockaddr_in *v4 = (struct sockaddr_in *)addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)addr;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        *loopback = (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
        return VB_OK;
    }
    if (host_len > 2 && host[0] == '[' && host[host_len - 1] == ']') {
        host[host_len - 1] = '\0';
        if (inet_pton(AF_INET6, host + 1, &v6->sin6_addr) == 1) {
            v6->sin6_family = AF_INET6;
            v6->sin6_port = htons((uint16_t)port);
            *loopback = IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr);
            return VB_OK;
        }
    }
    return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                      "--listen \"%s\": the host must be an IPv4 address, localhost or [IPv6]",
                      listen);
}

vb_status vbServerRun(const VbServerConfig *config, volatile sig_atomic_t *stop, vb_error *err)
{
    struct sockaddr_storage addr;
    int loopback = 0;
    vb_status st = parseListen(config->listen, &addr, &loopback, err);
    if (st != VB_OK)
        return st;
    if (!loopback && config->api_key == NULL)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                          "--listen %s is not a loopback address: give --api-key-file so that "
                          "clients must authenticate, or listen on 127.0.0.1",
                          config->listen);

    VbServer *server = calloc(1, sizeof *server);
    if (server == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory starting the server");
    server->config = config;
    server->stop = stop;
    pthread_mutex_init(&server->store_lock, NULL);
    pthread_mutex_init(&server->lock, NULL);
    pthread_cond_init(&server->changed, NULL);
    struct MHD_Daemon *daemon = NULL;

    /* The store, and recovery of jobs an earlier server left running. */
    st = vbStoreOpen(config->db_url, &server->store, err);
    if (st != VB_OK)
        goto done;
    size_t requeued = 0, failed = 0;
    st = vbStoreJobRecover(server->store, RECOVER_MAX_ATTEMPTS, &requeued, &failed, err);
    if (st != VB_OK)
        goto done;
    vbInfo("database %s (%s): %zu interrupted job(s) queued again, %zu failed after %d attempts",
           vbStoreName(server->store), vbStoreKind(server->store), requeued, failed,
           RECOVER_MAX_ATTEMPTS);

    /* The HTTP daemon: one thread per connection, so /runsync and /stream
     * may block. */
    unsigned int flags = MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD |
                         MHD_USE_THREAD_PER_CONNECTION;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    daemon = MHD_start_daemon(flags, 0, NULL, NULL, onRequest, server, MHD_OPTION_SOCK_ADDR,
                              (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED, onCompleted,
                              server, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)60,
                              MHD_OPTION_CONNECTION_LIMIT, (unsigned int)1000, MHD_OPTION_END);
    if (daemon == NULL) {
        st = vbErrorSet(err, VB_ERR_IO,
                        "cannot listen on %s: the port may be in use or the address not local",
                        config->listen);
        goto done;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    vbInfo("listening on %.*s:%u, models from %s, workers %d..%d, job timeout %d s",
           (int)(strrchr(config->listen, ':') - config->listen), config->listen,
           info != NULL ? (unsigned int)info->port : 0u, config->models_dir, config->workers_min,
           config->workers_max, config->job_timeout_s);

    /* Supervise the workers until asked to stop. */
    vbServerPoolStart(server);
    while (!*stop)
        vbServerPoolTick(server, TICK_MS);
    vbInfo("stopping: closing connections and killing workers");

done:
    if (daemon != NULL) {
        pthread_mutex_lock(&server->lock);
        pthread_cond_broadcast(&server->changed);
        pthread_mutex_unlock(&server->lock);
        MHD_stop_daemon(daemon);
    }
    vbServerPoolStop(server);
    vbStoreClose(server->store);
    pthread_cond_destroy(&server->changed);
    pthread_mutex_destroy(&server->lock);
    pthread_mutex_destroy(&server->store_lock);
    free(server);
    return st;
}
