/* Run history in the store: saving a run report with its model rows, listing and reading runs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store_internal.h"

/* The runs columns that runSummary reads, in its order. */
#define RUN_COLUMNS                                                                          \
    "id, job_id, started_ms, finished_ms, status, dataset_sha256, visionbench_version"

/* The model_results columns after the first three (name, status, map) that
 * vbStoreRunGet reads, with their JSON keys. */
static const char *const modelMetricKeys[] = {
    "map50", "precision", "recall", "f1", "inference_time_s", "throughput", "latency_p95_ms",
    "ram_mb", "peak_mb", "gpu_mb", "energy_kwh", "co2_kg",
};

/* Returns the Unix milliseconds of "YYYY-MM-DDTHH:MM:SS[.fff]Z", or -1 when
 * text has another form. */
static int64_t parseUtcMs(const char *text)
{
    int y, mo, d, h, mi;
    double s;
    char z = 0;
    if (text == NULL || sscanf(text, "%4d-%2d-%2dT%2d:%2d:%lf%c", &y, &mo, &d, &h, &mi, &s, &z) != 7 ||
        z != 'Z' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s < 0 || s >= 61)
        return -1;

    /* Days since 1970-01-01 in the proleptic Gregorian calendar (the
     * days-from-civil algorithm: years start in March). */
    int64_t yy = y - (mo <= 2);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;
    int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    return ((days * 24 + h) * 60 + mi) * 60000 + (int64_t)llround(s * 1000.0);
}

/* Writes Unix milliseconds as "YYYY-MM-DDTHH:MM:SSZ" into out. */
static void formatUtc(int64_t ms, char *out, size_t size)
{
    time_t seconds = (time_t)(ms / 1000);
    struct tm tm;
    if (gmtime_r(&seconds, &tm) == NULL || strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, size, "%lld", (long long)ms);
}

/* A parameter for a JSON number at obj.key1.key2 (key2 may be NULL); SQL
 * NULL when the value is missing, null or not a number. */
static VbStoreParam numberParam(const json_t *obj, const char *key1, const char *key2)
{
    VbStoreParam p = {.type = VB_PARAM_NULL};
    const json_t *v = json_object_get(obj, key1);
    if (key2 != NULL)
        v = json_object_get(v, key2);
    if (json_is_number(v) && isfinite(json_number_value(v))) {
        p.type = VB_PARAM_REAL;
        p.r = json_number_value(v);
    }
    return p;
}

/* A parameter for a JSON string at obj.key1.key2 (key2 may be NULL). */
static VbStoreParam textParam(const json_t *obj, const char *key1, const char *key2)
{
    const json_t *v = json_object_get(obj, key1);
    if (key2 != NULL)
        v = json_object_get(v, key2);
    VbStoreParam p = {.type = json_is_string(v) ? VB_PARAM_TEXT : VB_PARAM_NULL,
                      .text = json_string_value(v)};
    return p;
}

/* Serialises value compactly (the caller frees), or returns NULL for a
 * missing value. Sets *st on failure or when the text exceeds
 * VB_STORE_JSON_MAX. */
static char *dumpJson(VbStore *store, const json_t *value, const char *what, vb_status *st,
                      vb_error *err)
{
    if (value == NULL || *st != VB_OK)
        return NULL;
    char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
    if (text == NULL) {
        *st = vbStoreError(store, err, VB_ERR_NO_MEMORY, "out of memory serialising the %s", what);
        return NULL;
    }
    if (strlen(text) > VB_STORE_JSON_MAX) {
        *st = vbStoreError(store, err, VB_ERR_LIMIT, "the %s is larger than %zu MiB", what,
                           VB_STORE_JSON_MAX >> 20);
        free(text);
        return NULL;
    }
    return text;
}

/* Inserts one model_results row and, when the model file has a SHA-256,
 * upserts it into models. */
static vb_status saveModel(VbStore *store, const char *run_id, int position, const char *name,
                           const json_t *model, int64_t now_ms, vb_error *err)
{
    vb_status st = VB_OK;
    char *result = dumpJson(store, model, "model result", &st, err);
    if (st != VB_OK)
        return st;

    const json_t *green = json_object_get(json_object_get(model, "carbon"), "green_score");
    VbStoreParam params[22] = {
        {.type = VB_PARAM_TEXT, .text = run_id},
        {.type = VB_PARAM_INT, .i = position},
        {.type = VB_PARAM_TEXT, .text = name},
        textParam(model, "model", "sha256"),
        textParam(model, "model", "family"),
        textParam(model, "status", NULL),
        textParam(model, "error", NULL),
        numberParam(model, "accuracy", "map"),
        numberParam(model, "accuracy", "map50"),
        numberParam(model, "accuracy", "precision"),
        numberParam(model, "accuracy", "recall"),
        numberParam(model, "accuracy", "f1"),
        numberParam(model, "speed", "inference_time"),
        numberParam(model, "speed", "throughput"),
        numberParam(model, "speed", "latency_p95"),
        numberParam(model, "memory", "ram_mb"),
        numberParam(model, "memory", "peak_mb"),
        numberParam(model, "memory", "gpu_mb"),
        numberParam(model, "carbon", "energy_kwh"),
        numberParam(model, "carbon", "co2_kg"),
        {.type = json_integer_value(green) > 0 ? VB_PARAM_INT : VB_PARAM_NULL,
         .i = json_integer_value(green)},
        {.type = VB_PARAM_TEXT, .text = result},
    };
    if (params[5].text == NULL)
        params[5] = (VbStoreParam){.type = VB_PARAM_TEXT, .text = "unknown"};
    st = store->backend->query(
        store,
        "INSERT INTO model_results (run_id, position, model_name, model_sha256, family, status, "
        "error, map, map50, \"precision\", recall, f1, inference_time_s, throughput, "
        "latency_p95_ms, ram_mb, peak_mb, gpu_mb, energy_kwh, co2_kg, green_score, result) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, "
        "$18, $19, $20, $21, $22)",
        params, 22, NULL, err);
    free(result);
    if (st != VB_OK || params[3].text == NULL || params[3].text[0] == '\0')
        return st;

    VbStoreParam model_params[6] = {
        {.type = VB_PARAM_TEXT, .text = name},
        params[3],
        textParam(model, "model", "path"),
        params[4],
        textParam(model, "model", "task"),
        {.type = VB_PARAM_INT, .i = now_ms},
    };
    return store->backend->query(
        store,
        "INSERT INTO models (name, sha256, path, family, task, first_seen_ms, last_seen_ms) "
        "VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (name, sha256) DO UPDATE SET "
        "path = excluded.path, family = COALESCE(excluded.family, models.family), "
        "task = COALESCE(excluded.task, models.task), last_seen_ms = excluded.last_seen_ms",
        model_params, 6, NULL, err);
}

vb_status vbStoreRunSave(VbStore *store, const json_t *report, const char *job_id,
                         char run_id[VB_STORE_ID_SIZE], vb_error *err)
{
    vb_status st = VB_OK;
    char *report_text = NULL, *options_text = NULL, *machine_text = NULL;
    json_t *options = NULL;
    int in_transaction = 0;

    /* Check the keys that every stored run needs. */
    const json_t *results = json_object_get(report, "results");
    const char *status = json_string_value(json_object_get(report, "status"));
    int64_t started_ms = parseUtcMs(json_string_value(json_object_get(report, "timestamp")));
    if (!json_is_object(report) || !json_is_object(results) || status == NULL || started_ms < 0)
        return vbStoreError(store, err, VB_ERR_PARSE,
                            "the run report lacks a \"results\" object, a \"status\" string or "
                            "a \"timestamp\" in the form 2026-12-04T20:16:31Z; pass the JSON "
                            "that visionbench run writes");
    const json_t *duration = json_object_get(report, "execution_time");
    VbStoreParam finished = {.type = VB_PARAM_NULL};
    if (json_is_number(duration) && isfinite(json_number_value(duration))) {
        finished.type = VB_PARAM_INT;
        finished.i = started_ms + (int64_t)llround(json_number_value(duration) * 1000.0);
    }

    /* The options are the inputs and settings from the metadata. */
    const json_t *metadata = json_object_get(report, "metadata");
    const json_t *dataset = json_object_get(metadata, "dataset");
    options = json_object();
    if (options == NULL)
        return vbStoreError(store, err, VB_ERR_NO_MEMORY, "out of memory building run options");
    const char *option_keys[4][2] = {{"images_dir", "images_dir"}, {"ground_truth", "ground_truth"},
                                     {"settings", NULL}, {"carbon_settings", NULL}};
    for (int i = 0; i < 4; i++) {
        json_t *v = option_keys[i][1] != NULL ? json_object_get(dataset, option_keys[i][1])
                                              : json_object_get(metadata, option_keys[i][0]);
        if (v != NULL)
            json_object_set(options, option_keys[i][0], v);
    }
    report_text = dumpJson(store, report, "run report", &st, err);
    options_text = dumpJson(store, options, "run options", &st, err);
    machine_text = dumpJson(store, json_object_get(metadata, "machine"), "machine", &st, err);
    if (st == VB_OK)
        st = vbStoreNewId(run_id, err);
    if (st != VB_OK)
        goto done;

    /* The run row, then one row per model, in one transaction. */
    int64_t now_ms = vbStoreNowMs();
    VbStoreParam params[11] = {
        {.type = VB_PARAM_TEXT, .text = run_id},
        {.type = VB_PARAM_TEXT, .text = job_id},
        {.type = VB_PARAM_INT, .i = started_ms},
        finished,
        {.type = VB_PARAM_TEXT, .text = status},
        {.type = VB_PARAM_TEXT, .text = options_text},
        textParam(dataset, "sha256", NULL),
        {.type = VB_PARAM_TEXT, .text = machine_text},
        textParam(metadata, "visionbench_version", NULL),
        {.type = VB_PARAM_TEXT, .text = report_text},
        {.type = VB_PARAM_INT, .i = now_ms},
    };
    st = vbStoreBegin(store, err);
    if (st != VB_OK)
        goto done;
    in_transaction = 1;
    st = store->backend->query(
        store,
        "INSERT INTO runs (id, job_id, started_ms, finished_ms, status, options, dataset_sha256, "
        "machine, visionbench_version, report, stored_ms) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        params, 11, NULL, err);
    int position = 0;
    const char *name;
    json_t *model;
    json_object_foreach((json_t *)results, name, model) {
        if (st != VB_OK)
            break;
        st = saveModel(store, run_id, position++, name, model, now_ms, err);
    }
    if (st != VB_OK)
        goto done;
    in_transaction = 0;
    st = vbStoreCommit(store, err);
    if (st != VB_OK)
        goto done;

    /* Listeners learn of the run only once it is committed. */
    if (strcmp(store->backend->kind, "postgresql") == 0) {
        VbStoreParam note[1] = {{.type = VB_PARAM_TEXT, .text = run_id}};
        st = store->backend->query(store, "SELECT pg_notify('" VB_STORE_RUNS_CHANNEL "', $1)",
                                   note, 1, NULL, err);
        if (st != VB_OK)
            vbErrorPrefix(err, "run %s is stored, but its notification failed: ", run_id);
    }

done:
    if (in_transaction)
        vbStoreRollback(store);
    json_decref(options);
    free(report_text);
    free(options_text);
    free(machine_text);
    return st;
}

/* Sets obj[key] to the number in cell, or null for NULL. */
static void setNumber(json_t *obj, const char *key, const char *cell)
{
    json_object_set_new(obj, key, cell != NULL ? json_real(strtod(cell, NULL)) : json_null());
}

static void setText(json_t *obj, const char *key, const char *cell)
{
    json_object_set_new(obj, key, cell != NULL ? json_string(cell) : json_null());
}

/* Sets obj[key] to the JSON document in cell, or null. */
static void setDocument(json_t *obj, const char *key, const char *cell)
{
    json_t *doc = cell != NULL ? json_loads(cell, JSON_DECODE_ANY, NULL) : NULL;
    json_object_set_new(obj, key, doc != NULL ? doc : json_null());
}

/* Builds the summary object of a RUN_COLUMNS row. */
static json_t *runSummary(const VbStoreRows *rows, size_t r)
{
    json_t *run = json_object();
    if (run == NULL)
        return NULL;
    char when[40];
    setText(run, "id", vbStoreCell(rows, r, 0));
    setText(run, "job_id", vbStoreCell(rows, r, 1));
    for (int c = 2; c <= 3; c++) {
        const char *cell = vbStoreCell(rows, r, (size_t)c);
        if (cell != NULL)
            formatUtc(strtoll(cell, NULL, 10), when, sizeof when);
        setText(run, c == 2 ? "started_at" : "finished_at", cell != NULL ? when : NULL);
    }
    setText(run, "status", vbStoreCell(rows, r, 4));
    setText(run, "dataset_sha256", vbStoreCell(rows, r, 5));
    setText(run, "visionbench_version", vbStoreCell(rows, r, 6));
    return run;
}

/* Adds "models" (one object per model row, in run order) and "best_map" to
 * run. With detail, each model carries every metric and its JSON. */
static vb_status addModels(VbStore *store, json_t *run, const char *run_id, int detail,
                           vb_error *err)
{
    VbStoreRows rows;
    VbStoreParam params[1] = {{.type = VB_PARAM_TEXT, .text = run_id}};
    vb_status st = store->backend->query(
        store,
        detail ? "SELECT model_name, status, map, map50, \"precision\", recall, f1, "
                 "inference_time_s, throughput, latency_p95_ms, ram_mb, peak_mb, gpu_mb, "
                 "energy_kwh, co2_kg, green_score, model_sha256, family, error, result "
                 "FROM model_results WHERE run_id = $1 ORDER BY position"
               : "SELECT model_name, status, map FROM model_results WHERE run_id = $1 "
                 "ORDER BY position",
        params, 1, &rows, err);
    if (st != VB_OK)
        return st;

    json_t *models = json_array();
    double best = NAN;
    for (size_t r = 0; models != NULL && r < rows.rows; r++) {
        json_t *m = json_object();
        if (m == NULL)
            break;
        setText(m, "name", vbStoreCell(&rows, r, 0));
        setText(m, "status", vbStoreCell(&rows, r, 1));
        setNumber(m, "map", vbStoreCell(&rows, r, 2));
        if (vbStoreCell(&rows, r, 2) != NULL) {
            double map = strtod(vbStoreCell(&rows, r, 2), NULL);
            if (isnan(best) || map > best)
                best = map;
        }
        if (detail) {
            size_t n = sizeof modelMetricKeys / sizeof modelMetricKeys[0];
            for (size_t k = 0; k < n; k++)
                setNumber(m, modelMetricKeys[k], vbStoreCell(&rows, r, 3 + k));
            const char *green = vbStoreCell(&rows, r, 3 + n);
            json_object_set_new(m, "green_score",
                                green != NULL ? json_integer(strtoll(green, NULL, 10)) : json_null());
            setText(m, "sha256", vbStoreCell(&rows, r, 4 + n));
            setText(m, "family", vbStoreCell(&rows, r, 5 + n));
            setText(m, "error", vbStoreCell(&rows, r, 6 + n));
            setDocument(m, "result", vbStoreCell(&rows, r, 7 + n));
        }
        json_array_append_new(models, m);
    }
    vbStoreRowsFree(&rows);
    if (models == NULL)
        return vbStoreError(store, err, VB_ERR_NO_MEMORY, "out of memory listing models");
    json_object_set_new(run, "models", models);
    json_object_set_new(run, "best_map", isnan(best) ? json_null() : json_real(best));
    return VB_OK;
}

vb_status vbStoreRunList(VbStore *store, const VbRunFilter *filter, json_t **out, vb_error *err)
{
    VbRunFilter none = {0};
    if (filter == NULL)
        filter = &none;
    *out = NULL;
    if (filter->limit < 0 || filter->limit > VB_STORE_HISTORY_MAX)
        return vbStoreError(store, err, VB_ERR_INVALID_ARGUMENT,
                            "history limit %d is out of range; use 1 to %d", filter->limit,
                            VB_STORE_HISTORY_MAX);

    /* The runs, newest first; CAST gives PostgreSQL the type of a
     * parameter that may be NULL. */
    VbStoreRows rows;
    VbStoreParam params[3] = {
        {.type = filter->model_name ? VB_PARAM_TEXT : VB_PARAM_NULL, .text = filter->model_name},
        {.type = filter->dataset_sha256 ? VB_PARAM_TEXT : VB_PARAM_NULL,
         .text = filter->dataset_sha256},
        {.type = VB_PARAM_INT, .i = filter->limit > 0 ? filter->limit : 20},
    };
    vb_status st = store->backend->query(
        store,
        "SELECT " RUN_COLUMNS " FROM runs r "
        "WHERE (CAST($1 AS TEXT) IS NULL OR EXISTS (SELECT 1 FROM model_results m "
        "WHERE m.run_id = r.id AND m.model_name = $1)) "
        "AND (CAST($2 AS TEXT) IS NULL OR substr(r.dataset_sha256, 1, length($2)) = $2) "
        "ORDER BY r.started_ms DESC, r.seq DESC LIMIT $3",
        params, 3, &rows, err);
    if (st != VB_OK)
        return st;

    /* Each run with its models. */
    json_t *list = json_array();
    for (size_t r = 0; st == VB_OK && r < rows.rows; r++) {
        json_t *run = list != NULL ? runSummary(&rows, r) : NULL;
        if (run == NULL) {
            st = vbStoreError(store, err, VB_ERR_NO_MEMORY, "out of memory listing runs");
            break;
        }
        json_array_append_new(list, run);
        st = addModels(store, run, vbStoreCell(&rows, r, 0), 0, err);
    }
    vbStoreRowsFree(&rows);
    if (st != VB_OK) {
        json_decref(list);
        return st;
    }
    *out = list;
    return VB_OK;
}

vb_status vbStoreRunGet(VbStore *store, const char *run_id, json_t **out, vb_error *err)
{
    VbStoreRows rows;
    VbStoreParam params[1] = {{.type = VB_PARAM_TEXT, .text = run_id}};
    *out = NULL;
    vb_status st = store->backend->query(
        store, "SELECT " RUN_COLUMNS ", options, machine, report FROM runs WHERE id = $1", params,
        1, &rows, err);
    if (st != VB_OK)
        return st;
    if (rows.rows == 0) {
        vbStoreRowsFree(&rows);
        return vbStoreError(store, err, VB_ERR_NOT_FOUND,
                            "run %s not found; 'visionbench history' lists the stored runs", run_id);
    }

    json_t *run = runSummary(&rows, 0);
    if (run == NULL) {
        vbStoreRowsFree(&rows);
        return vbStoreError(store, err, VB_ERR_NO_MEMORY, "out of memory reading run %s", run_id);
    }
    setDocument(run, "options", vbStoreCell(&rows, 0, 7));
    setDocument(run, "machine", vbStoreCell(&rows, 0, 8));
    setDocument(run, "report", vbStoreCell(&rows, 0, 9));
    vbStoreRowsFree(&rows);
    st = addModels(store, run, run_id, 1, err);
    if (st != VB_OK) {
        json_decref(run);
        return st;
    }
    *out = run;
    return VB_OK;
}
