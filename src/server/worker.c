/* A worker process of `visionbench serve`: claims jobs from the store and runs them with the run library. */
#define _GNU_SOURCE /* nftw */
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "report/progress.h"
#include "report/run_json.h"
#include "run/run.h"
#include "server/server_internal.h"

/* How long an idle worker sleeps between queue polls when nothing wakes it. */
#define WORKER_POLL_MS 250

/* Writes one protocol line to stdout (the server's pipe) at once. */
static void sendLine(const char *kind, const char *id, const char *payload)
{
    if (payload != NULL)
        printf("%s %s %s\n", kind, id, payload);
    else
        printf("%s %s\n", kind, id);
    fflush(stdout);
}

typedef struct ProgressContext {
    const char *job_id;
    int last_tenth;
    char last_phase[16];
    int last_model;
} ProgressContext;

/* Forwards milestones of the run's progress (phase starts and ends, each
 * tenth of decoding and of the timed pass) to the server as event lines. */
static void forwardProgress(const VbRunProgress *p, void *user)
{
    ProgressContext *ctx = user;
    if (strcmp(p->phase, ctx->last_phase) != 0 || p->model_index != ctx->last_model) {
        snprintf(ctx->last_phase, sizeof ctx->last_phase, "%s", p->phase);
        ctx->last_model = p->model_index;
        ctx->last_tenth = -1;
    }
    if (!vbReportProgressIsMilestone(p, &ctx->last_tenth))
        return;
    json_t *event = json_pack("{s:s, s:i, s:i, s:s?, s:I, s:I, s:f}", "phase", p->phase, "model_index",
                              p->model_index, "model_count", p->model_count, "model",
                              p->model_name, "done", (json_int_t)p->done, "total",
                              (json_int_t)p->total, "elapsed_s", p->elapsed_s);
    char *text = event != NULL ? json_dumps(event, JSON_COMPACT) : NULL;
    if (text != NULL)
        sendLine("event", ctx->job_id, text);
    free(text);
    json_decref(event);
}

/* Decodes a base64 field of the stored input into path. */
static vb_status writeBase64(const json_t *value, const char *path, size_t max_bytes, vb_error *err)
{
    uint8_t *bytes = NULL;
    size_t size = 0;
    const char *text = json_string_value(value);
    if (text == NULL || vbServerBase64Decode(text, strlen(text), max_bytes, &bytes, &size) != 0)
        return vbErrorSet(err, VB_ERR_PARSE, "stored job input has invalid base64 for %s", path);
    vb_status st = vbFileWrite(path, bytes, size, err);
    free(bytes);
    return st;
}

static int removeEntry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

void vbServerJobDir(const char *id, char *out, size_t size)
{
    snprintf(out, size, "/tmp/visionbench-job-%s", id);
}

int vbServerJobDirRemove(const char *dir)
{
    struct stat sb;
    if (lstat(dir, &sb) != 0)
        return errno == ENOENT ? 0 : -1;
    return nftw(dir, removeEntry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Returns 1 when c may appear in an image name ([A-Za-z0-9._-]). */
static int isNameChar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

/* Appends the name of the request field that the job-folder path at rest
 * came from (rest is the text after the folder name), and returns how many
 * bytes of rest that path takes. */
static size_t appendFieldName(VbBuf *out, const char *rest, const json_t *images)
{
    static const struct {
        const char *suffix;
        const char *field;
    } files[] = {{"/gt.csv", "input.ground_truth_csv"}, {"/gt.json", "input.ground_truth_coco"}};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        size_t n = strlen(files[i].suffix);
        if (strncmp(rest, files[i].suffix, n) == 0 && !isNameChar(rest[n])) {
            vbBufAppend(out, files[i].field, strlen(files[i].field), NULL);
            return n;
        }
    }
    if (strncmp(rest, "/images/", 8) == 0) {
        for (size_t i = 0; i < json_array_size(images); i++) {
            const char *name = json_string_value(json_object_get(json_array_get(images, i), "name"));
            size_t n = name != NULL ? strlen(name) : 0;
            if (n > 0 && strncmp(rest + 8, name, n) == 0 && !isNameChar(rest[8 + n])) {
                vbBufPrintf(out, NULL, "input.images[%zu]", i);
                return 8 + n;
            }
        }
    }
    if (strncmp(rest, "/images", 7) == 0 && !isNameChar(rest[7]) && rest[7] != '/') {
        vbBufAppend(out, "input.images", 12, NULL);
        return 7;
    }
    vbBufAppend(out, "the job folder", 14, NULL);
    return 0;
}

char *vbServerHideJobPaths(const char *text, const char *dir, const json_t *images)
{
    if (text == NULL)
        return NULL;
    size_t dir_len = strlen(dir), len = strlen(text);
    VbBuf out;

    /* A replacement writes at most 23 bytes for at least dir_len + 7, or 14
     * ("the job folder") for dir_len, so the text grows at most 14-fold
     * (for a 1-byte dir). A real job folder name has 57 bytes, so the text
     * shrinks. */
    vbBufInit(&out, len > SIZE_MAX / 16 ? SIZE_MAX : len * 14 + 64);
    const char *rest = text;
    const char *found;
    while (dir_len > 0 && (found = strstr(rest, dir)) != NULL) {
        vbBufAppend(&out, rest, (size_t)(found - rest), NULL);
        rest = found + dir_len;
        rest += appendFieldName(&out, rest, images);
    }
    vb_status st = vbBufAppend(&out, rest, strlen(rest), NULL);
    char *result = st == VB_OK ? vbBufDetach(&out, NULL) : NULL;
    vbBufFree(&out);
    return result;
}

/* Writes the job's images and ground truth under dir and fills options
 * with the job's settings. */
static vb_status prepareJob(const VbServerConfig *config, const json_t *input, const char *dir,
                            VbRunOptions *options, vb_error *err)
{
    /* Images. */
    options->images_dir = vbPathJoin(dir, "images");
    if (options->images_dir == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory preparing the job folder");
    if (mkdir(options->images_dir, 0700) != 0)
        return vbErrorSet(err, VB_ERR_IO, "cannot create %s: %s", options->images_dir,
                          strerror(errno));
    const json_t *images = json_object_get(input, "images");
    for (size_t i = 0; i < json_array_size(images); i++) {
        const json_t *item = json_array_get(images, i);
        char *path = vbPathJoin(options->images_dir,
                                json_string_value(json_object_get(item, "name")));
        vb_status st = path != NULL ? writeBase64(json_object_get(item, "data"), path, (size_t)256 << 20, err)
                                    : vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory");
        free(path);
        if (st != VB_OK)
            return st;
    }

    /* Ground truth: CSV, COCO as base64, or COCO given inline. */
    const json_t *csv = json_object_get(input, "ground_truth_csv");
    const json_t *coco = json_object_get(input, "ground_truth_coco");
    const json_t *coco_text = json_object_get(input, "ground_truth_coco_json");
    options->gt_path = vbPathJoin(dir, csv != NULL ? "gt.csv" : "gt.json");
    if (options->gt_path == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory preparing the job folder");
    vb_status st;
    if (coco_text != NULL)
        st = vbFileWrite(options->gt_path, json_string_value(coco_text),
                         json_string_length(coco_text), err);
    else
        st = writeBase64(csv != NULL ? csv : coco, options->gt_path, (size_t)64 << 20, err);
    if (st != VB_OK)
        return st;

    /* Models, by registry name only. */
    const json_t *models = json_object_get(input, "models");
    size_t count = json_array_size(models);
    if (count == 0 || count > VB_SERVER_MAX_MODELS)
        return vbErrorSet(err, VB_ERR_PARSE, "stored job input has %zu models", count);
    options->models = calloc(count, sizeof *options->models);
    if (options->models == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory preparing the job");
    for (size_t i = 0; i < count; i++) {
        const char *name = json_string_value(json_array_get(models, i));
        if (name == NULL || !vbServerModelExists(config->models_dir, name))
            return vbErrorSet(err, VB_ERR_NOT_FOUND,
                              "model \"%s\" is no longer in the models folder %s",
                              name != NULL ? name : "?", config->models_dir);
        char file[VB_RUN_NAME_MAX + 8];
        snprintf(file, sizeof file, "%s.onnx", name);
        options->models[i].name = vbStrdup(name);
        options->models[i].path = vbPathJoin(config->models_dir, file);
        options->model_count = (int)i + 1;
        if (options->models[i].name == NULL || options->models[i].path == NULL)
            return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory preparing the job");
    }

    /* Options, checked at the request already. */
    const json_t *opts = json_object_get(input, "options");
    const json_t *v;
    if ((v = json_object_get(opts, "conf")) != NULL)
        options->conf = json_number_value(v);
    if ((v = json_object_get(opts, "iou")) != NULL)
        options->iou = json_number_value(v);
    if ((v = json_object_get(opts, "threads")) != NULL)
        options->threads = (int)json_integer_value(v);
    if ((v = json_object_get(opts, "warmup")) != NULL)
        options->warmup = (int)json_integer_value(v);
    if ((v = json_object_get(opts, "repeat")) != NULL)
        options->repeat = (int)json_integer_value(v);
    if ((v = json_object_get(opts, "classes")) != NULL) {
        /* The classes to evaluate, joined as --classes takes them. */
        VbBuf list;
        vbBufInit(&list, 1 << 20);
        for (size_t i = 0; i < json_array_size(v) && st == VB_OK; i++)
            st = vbBufPrintf(&list, err, "%s%s", i ? "," : "",
                             json_string_value(json_array_get(v, i)));
        if (st == VB_OK && json_array_size(v) > 0)
            options->classes = vbBufDetach(&list, NULL);
        vbBufFree(&list);
        if (st != VB_OK)
            return st;
    }
    options->timeout_s = config->job_timeout_s;
    options->progress = 1;
    return VB_OK;
}

/* Runs one claimed job to its end and records the outcome in the store. */
static void runJob(const VbServerConfig *config, VbStore *store, VbJob *job)
{
    vb_error err;
    memset(&err, 0, sizeof err);
    VbRunOptions options;
    vbRunOptionsInit(&options);
    VbRunResult result;
    memset(&result, 0, sizeof result);
    int have_result = 0;
    json_t *input = NULL, *report = NULL;
    char *output = NULL;
    char dir[96];
    vbServerJobDir(job->id, dir, sizeof dir);
    int have_dir = 0;
    vb_status st = VB_OK;

    /* A private folder with the job's files. */
    json_error_t jerr;
    input = json_loads(job->input != NULL ? job->input : "", 0, &jerr);
    if (input == NULL) {
        st = vbErrorSet(&err, VB_ERR_PARSE, "stored job input is not JSON: %s", jerr.text);
        goto done;
    }
    /* A folder left by an attempt whose worker was killed with its server
     * is removed first. */
    if (mkdir(dir, 0700) != 0 && (errno != EEXIST || vbServerJobDirRemove(dir) != 0 ||
                                  mkdir(dir, 0700) != 0)) {
        st = vbErrorSet(&err, VB_ERR_IO, "cannot create the job folder %s: %s", dir,
                        strerror(errno));
        goto done;
    }
    have_dir = 1;
    st = prepareJob(config, input, dir, &options, &err);
    if (st != VB_OK)
        goto done;

    /* The run itself, with progress forwarded to the server. */
    ProgressContext ctx = {job->id, -1, "", -2};
    vbInfo("job %s: running %d model(s) on %zu image(s)", job->id, options.model_count,
           json_array_size(json_object_get(input, "images")));
    st = vbRun(&options, forwardProgress, &ctx, &result, &err);
    if (st != VB_OK)
        goto done;
    have_result = 1;

    /* The output is exactly the run JSON, with the job folder's paths
     * replaced by the request fields they came from. Its rows go to the
     * run history. */
    report = vbReportRunJson(&result, &options);
    char *text = report != NULL ? json_dumps(report, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    output = vbServerHideJobPaths(text, dir, json_object_get(input, "images"));
    free(text);
    json_decref(report);
    report = output != NULL ? json_loads(output, 0, NULL) : NULL;
    if (report == NULL) {
        st = vbErrorSet(&err, VB_ERR_NO_MEMORY, "out of memory building the run JSON");
        goto done;
    }
    char run_id[VB_STORE_ID_SIZE];
    st = vbStoreRunSave(store, report, job->id, run_id, &err);
    if (st != VB_OK)
        goto done;

done:;
    /* C11 allows no declaration right after a label, hence the empty statement. */
    int applied = 0;
    vb_error ferr;
    memset(&ferr, 0, sizeof ferr);
    if (st != VB_OK) {
        /* Clients know the job's files by their request fields. */
        char *message = vbServerHideJobPaths(err.message, dir, json_object_get(input, "images"));
        if (message != NULL)
            snprintf(err.message, sizeof err.message, "%s", message);
        free(message);
    }
    vb_status fst = st == VB_OK
                        ? vbStoreJobFinish(store, job->id, VB_JOB_COMPLETED, output, NULL, &applied,
                                           &ferr)
                        : vbStoreJobFinish(store, job->id, VB_JOB_FAILED, NULL, err.message,
                                           &applied, &ferr);
    if (st != VB_OK)
        vbWarn("job %s: failed: %s", job->id, err.message);
    else
        vbInfo("job %s: completed, run status %s", job->id, vbReportRunStatus(&result));
    if (fst != VB_OK)
        vbLogError("job %s: cannot store the outcome: %s", job->id, ferr.message);
    else if (!applied)
        vbInfo("job %s: outcome not stored because the job was cancelled or timed out meanwhile",
               job->id);
    if (have_dir && vbServerJobDirRemove(dir) != 0)
        vbWarn("job %s: cannot remove the job folder %s: %s", job->id, dir, strerror(errno));
    if (have_result)
        vbRunResultFree(&result);
    vbRunOptionsFree(&options);
    json_decref(report);
    json_decref(input);
    free(output);
}

vb_status vbServerWorkerMain(const VbServerConfig *config, vb_error *err)
{
    VbStore *store = NULL;
    vb_status st = vbStoreOpen(config->db_url, &store, err);
    if (st != VB_OK)
        return st;
    char worker_id[32];
    snprintf(worker_id, sizeof worker_id, "pid-%ld", (long)getpid());

    /* Claim until the server closes stdin; poll it while the queue is empty. */
    for (;;) {
        VbJob job;
        memset(&job, 0, sizeof job);
        int found = 0;
        st = vbStoreJobClaim(store, worker_id, &job, &found, err);
        if (st != VB_OK) {
            vbLogError("worker %s: cannot claim a job: %s", worker_id, err->message);
            break;
        }
        if (found) {
            sendLine("claim", job.id, NULL);
            runJob(config, store, &job);
            sendLine("end", job.id, NULL);
            vbJobFree(&job);
            continue;
        }

        struct pollfd pfd = {STDIN_FILENO, POLLIN, 0};
        int rc = poll(&pfd, 1, WORKER_POLL_MS);
        if (rc > 0) {
            char bytes[64];
            ssize_t n = read(STDIN_FILENO, bytes, sizeof bytes);
            if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
                break;
        }
    }
    vbStoreClose(store);
    return st;
}
