/* The history API the dashboard reads: stored runs (GET /runs, /runs/{id}). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "server/static.h"

#define HISTORY_DEFAULT_LIMIT 100
#define HISTORY_DETAIL_MAX 500   /* runs that one ?detail=1 listing reads in full */
#define MODEL_NAME_CHARS \
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"

/* Queues value (a JSON object or array, reference taken over) with status;
 * a 405 reply gets "Allow: GET, HEAD", the methods of every history route. */
static enum MHD_Result queueJson(struct MHD_Connection *conn, unsigned int http_status,
                                 json_t *value)
{
    char *text = value != NULL ? json_dumps(value, JSON_COMPACT) : NULL;
    json_decref(value);
    if (text == NULL)
        return MHD_NO;
    struct MHD_Response *response =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (response == NULL) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (http_status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result result = MHD_queue_response(conn, http_status, response);
    MHD_destroy_response(response);
    return result;
}

/* Queues {"error": message, "field": field} with status. */
static enum MHD_Result queueError(struct MHD_Connection *conn, unsigned int http_status,
                                  const char *field, const char *message)
{
    return queueJson(conn, http_status, json_pack("{s:s, s:s}", "error", message, "field", field));
}

/* Returns 1 when text is a lowercase UUID as the store writes ids. */
static int runIdValid(const char *text)
{
    if (strlen(text) != VB_STORE_ID_SIZE - 1)
        return 0;
    for (size_t i = 0; text[i] != '\0'; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        char c = text[i];
        if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
    }
    return 1;
}

/* Replaces each listed run by its full record without the bulky JSON
 * documents (report, options, machine, each model's result), so the
 * dashboard can chart any metric over time. Call with store_lock held. */
static vb_status addDetail(VbStore *store, json_t *runs, vb_error *err)
{
    size_t i;
    json_t *run;
    json_array_foreach(runs, i, run) {
        const char *id = json_string_value(json_object_get(run, "id"));
        json_t *full = NULL;
        vb_status st = vbStoreRunGet(store, id, &full, err);
        if (st != VB_OK)
            return st;
        json_object_del(full, "report");
        json_object_del(full, "options");
        json_object_del(full, "machine");
        size_t k;
        json_t *model;
        json_array_foreach(json_object_get(full, "models"), k, model)
            json_object_del(model, "result");
        json_array_set_new(runs, i, full);
    }
    return VB_OK;
}

/* GET /runs with the query parameters of vbHistoryServe. */
static enum MHD_Result serveRunList(VbServer *server, struct MHD_Connection *conn)
{
    /* Step 1: read and check the parameters. */
    const char *model = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "model");
    const char *dataset = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "dataset");
    const char *limit_text = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "limit");
    const char *detail_text = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "detail");
    if (model != NULL && model[0] == '\0')
        model = NULL;
    if (dataset != NULL && dataset[0] == '\0')
        dataset = NULL;
    /* Model names are at most 64 bytes of [A-Za-z0-9._-], the rule of
     * vbServerModelExists. The store binds the filter as a parameter, so
     * this check is for a clear error, not for escaping. */
    if (model != NULL && (strlen(model) > 64 || model[0] == '.' ||
                          strspn(model, MODEL_NAME_CHARS) != strlen(model)))
        return queueError(conn, MHD_HTTP_BAD_REQUEST, "model",
                          "invalid model name: use at most 64 bytes of [A-Za-z0-9._-]");
    if (dataset != NULL && (strlen(dataset) != 64 || strspn(dataset, "0123456789abcdef") != 64))
        return queueError(conn, MHD_HTTP_BAD_REQUEST, "dataset",
                          "invalid dataset fingerprint: use the 64 lowercase hex digits of "
                          "metadata.dataset.sha256");
    long limit = HISTORY_DEFAULT_LIMIT;
    if (limit_text != NULL) {
        char *end = NULL;
        limit = strtol(limit_text, &end, 10);
        if (end == limit_text || *end != '\0' || limit < 1 || limit > VB_STORE_HISTORY_MAX) {
            char message[128];
            snprintf(message, sizeof message, "invalid limit: use a whole number from 1 to %d",
                     VB_STORE_HISTORY_MAX);
            return queueError(conn, MHD_HTTP_BAD_REQUEST, "limit", message);
        }
    }
    int detail = detail_text != NULL && strcmp(detail_text, "1") == 0;
    if (detail && limit > HISTORY_DETAIL_MAX) {
        char message[128];
        snprintf(message, sizeof message, "invalid limit with detail=1: use at most %d",
                 HISTORY_DETAIL_MAX);
        return queueError(conn, MHD_HTTP_BAD_REQUEST, "limit", message);
    }

    /* Step 2: query the store. */
    VbRunFilter filter = {.model_name = model, .dataset_sha256 = dataset, .limit = (int)limit};
    json_t *runs = NULL;
    vb_error err = {0};
    vb_status st;
    pthread_mutex_lock(&server->store_lock);
    st = vbStoreRunList(server->store, &filter, &runs, &err);
    if (st == VB_OK && detail)
        st = addDetail(server->store, runs, &err);
    pthread_mutex_unlock(&server->store_lock);
    if (st != VB_OK) {
        json_decref(runs);
        vbLogError("GET /runs: %s", err.message);
        return queueError(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "store", err.message);
    }
    return queueJson(conn, MHD_HTTP_OK, json_pack("{s:o}", "runs", runs));
}

/* GET /runs/{id}: the store's record of one run. */
static enum MHD_Result serveRun(VbServer *server, struct MHD_Connection *conn, const char *id)
{
    if (!runIdValid(id))
        return queueError(conn, MHD_HTTP_BAD_REQUEST, "id",
                          "invalid run id: use the UUID that GET /runs lists");
    json_t *run = NULL;
    vb_error err = {0};
    vb_status st;
    VB_STORE_LOCKED(server, st = vbStoreRunGet(server->store, id, &run, &err));
    if (st == VB_ERR_NOT_FOUND)
        return queueError(conn, MHD_HTTP_NOT_FOUND, "id", err.message);
    if (st != VB_OK) {
        vbLogError("GET /runs/%s: %s", id, err.message);
        return queueError(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "store", err.message);
    }
    return queueJson(conn, MHD_HTTP_OK, run);
}

int vbHistoryServe(VbServer *server, struct MHD_Connection *conn, const char *method,
                   const char *url, enum MHD_Result *result)
{
    int is_list = strcmp(url, "/runs") == 0;
    int is_run = strncmp(url, "/runs/", 6) == 0;
    if (!is_list && !is_run)
        return 0;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        *result = queueError(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method",
                             "method not allowed: the history routes accept GET and HEAD only");
        return 1;
    }
    if (is_list)
        *result = serveRunList(server, conn);
    else
        *result = serveRun(server, conn, url + 6);
    return 1;
}
