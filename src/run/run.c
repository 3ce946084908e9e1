/* The run orchestration: validate inputs, decode images once, one child per model, evaluate, compare. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "core/core.h"
#include "core/log.h"
#include "image/decode.h"
#include "measure/digest.h"
#include "measure/energy.h"
#include "metrics/bootstrap.h"
#include "metrics/coco_eval.h"
#include "metrics/prf.h"
#include "onnx/onnx.h"
#include "run/child.h"
#include "run/run_internal.h"

/* ---- Helpers ------------------------------------------------------------- */

static double secondsSince(uint64_t start_ns)
{
    return (double)(vbNowNs() - start_ns) * 1e-9;
}

static void report(VbRunProgressFn fn, void *user, const char *phase, int model_index,
                   int model_count, const char *name, size_t done, size_t total, double elapsed)
{
    if (fn == NULL)
        return;
    VbRunProgress p = {phase, model_index, model_count, name, done, total, elapsed};
    fn(&p, user);
}

/* Reads the 1-minute load average from /proc/loadavg. Returns -1 when it
 * cannot be read (not Linux, no /proc). */
static double readLoadAverage(void)
{
    double load = -1.0;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f == NULL)
        return -1.0;
    if (fscanf(f, "%lf", &load) != 1 || !isfinite(load) || load < 0.0)
        load = -1.0;
    fclose(f);
    return load;
}

/* Counts the elements of the floating-point initializers of the ONNX file
 * at path, the definition `visionbench inspect` uses. Returns 0 when the
 * file does not parse (the validation child reports that error). */
static uint64_t countFileParameters(const char *path)
{
    VbOnnxModel *model = NULL;
    vb_error ignored;
    if (vbOnnxModelLoad(path, &model, &ignored) != VB_OK)
        return 0;
    uint64_t count = 0;
    const VbOnnxGraph *g = model->graph;
    for (int i = 0; g != NULL && i < g->initializer_count; i++) {
        const VbOnnxTensor *t = &g->initializers[i];
        if (t->dtype == VB_DTYPE_FLOAT32 || t->dtype == VB_DTYPE_FLOAT16 ||
            t->dtype == VB_DTYPE_FLOAT64)
            count += t->count;
    }
    vbOnnxModelFree(model);
    return count;
}

/* Logs the number of ground-truth loader warnings and the first few before
 * the run starts. The JSON report lists them all. */
static void warnGroundTruth(const VbRunResult *result)
{
    enum { SHOWN_MAX = 5 };
    if (result->gt_warning_count == 0)
        return;
    vbWarn("%zu ground-truth warning%s:", result->gt_warning_count,
           result->gt_warning_count == 1 ? "" : "s");
    for (size_t i = 0; i < result->gt_warning_count && i < SHOWN_MAX; i++)
        vbWarn("  %s", result->gt_warnings[i]);
    if (result->gt_warning_count > SHOWN_MAX)
        vbWarn("  %zu more in the JSON report (metadata.dataset.warnings)",
               result->gt_warning_count - SHOWN_MAX);
}

static int isDirectory(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int isRegularFile(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* Checks that every path the options name exists, before any work. */
static vb_status checkPaths(const VbRunOptions *options, vb_error *err)
{
    if (!isDirectory(options->images_dir))
        return vbErrorSet(err, VB_ERR_NOT_FOUND, "--images: '%s' is not a folder",
                          options->images_dir);
    struct stat sb;
    if (stat(options->gt_path, &sb) != 0)
        return vbErrorSet(err, VB_ERR_NOT_FOUND, "--gt: '%s' not found", options->gt_path);
    if (options->class_map_path != NULL && !isRegularFile(options->class_map_path))
        return vbErrorSet(err, VB_ERR_NOT_FOUND, "--class-map: '%s' not found",
                          options->class_map_path);
    if (options->gt_names_path != NULL && !isRegularFile(options->gt_names_path))
        return vbErrorSet(err, VB_ERR_NOT_FOUND, "--gt-names: '%s' not found",
                          options->gt_names_path);
    return VB_OK;
}

/* Returns 1 when name is one of the comma-separated names in list (each
 * compared after trimming spaces, case-insensitively). */
static int listHasName(const char *list, const char *name)
{
    size_t name_len = strlen(name);
    const char *p = list;
    while (*p != '\0') {
        while (*p == ' ')
            p++;
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        size_t trimmed = len;
        while (trimmed > 0 && p[trimmed - 1] == ' ')
            trimmed--;
        if (trimmed == name_len && strncasecmp(p, name, name_len) == 0)
            return 1;
        if (end == NULL)
            break;
        p = end + 1;
    }
    return 0;
}

/* Keeps only the ground-truth categories named in the comma-separated list
 * (--classes) and their annotations, so mAP averages over those classes
 * only. Errors: VB_ERR_INVALID_ARGUMENT naming a listed class the ground
 * truth does not have, with the classes it has. */
static vb_status keepClasses(VbDataset *ds, const char *list, vb_error *err)
{
    /* Step 1: every listed name must be a ground-truth class. */
    char name[256];
    const char *p = list;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        while (len > 0 && *p == ' ') {
            p++;
            len--;
        }
        while (len > 0 && p[len - 1] == ' ')
            len--;
        if (len == 0 || len >= sizeof name)
            return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                              "--classes: '%s' has an empty or overlong name; "
                              "give names separated by commas, e.g. car,truck", list);
        memcpy(name, p, len);
        name[len] = '\0';
        int found = 0;
        for (size_t k = 0; k < ds->category_count && !found; k++)
            found = strcasecmp(ds->categories[k].name, name) == 0;
        if (!found) {
            char known[512] = "";
            size_t used = 0;
            for (size_t k = 0; k < ds->category_count && used < sizeof known; k++) {
                int n = snprintf(known + used, sizeof known - used, "%s%s", k ? ", " : "",
                                 ds->categories[k].name);
                if (n < 0)
                    break;
                used += (size_t)n;
            }
            return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                              "--classes: '%s' is not a class of the ground truth; its classes: %s",
                              name, ds->category_count ? known : "(none)");
        }
        if (end == NULL)
            break;
        p = end + 1;
    }

    /* Step 2: drop the other categories and their annotations. */
    size_t kept = 0;
    for (size_t k = 0; k < ds->category_count; k++) {
        if (listHasName(list, ds->categories[k].name))
            ds->categories[kept++] = ds->categories[k];
        else
            free(ds->categories[k].name);
    }
    ds->category_count = kept;
    size_t kept_annotations = 0;
    for (size_t i = 0; i < ds->annotation_count; i++) {
        int known = 0;
        for (size_t k = 0; k < ds->category_count && !known; k++)
            known = ds->categories[k].id == ds->annotations[i].category_id;
        if (known)
            ds->annotations[kept_annotations++] = ds->annotations[i];
    }
    ds->annotation_count = kept_annotations;
    return VB_OK;
}

/* Returns path without its folders. */
static const char *baseName(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash != NULL ? slash + 1 : path;
}

/* Appends one skipped image with its reason, by file name without folders.
 * A reason that starts with the image's path or name ("a/b.png: bad CRC")
 * loses that prefix. An image listed already keeps its first reason, so a
 * file the loader and the decoder both reject appears once. */
static vb_status addSkipped(VbRunResult *result, const char *file_name, const char *reason,
                            vb_error *err)
{
    file_name = baseName(file_name);
    for (size_t i = 0; i < result->skipped_count; i++)
        if (strcmp(result->skipped[i].file_name, file_name) == 0)
            return VB_OK;
    const char *colon = strstr(reason, ": ");
    if (colon != NULL) {
        size_t prefix = (size_t)(colon - reason);
        size_t name_len = strlen(file_name);
        if (prefix >= name_len && strncmp(colon - name_len, file_name, name_len) == 0 &&
            memchr(reason, ' ', prefix) == NULL)
            reason = colon + 2;
    }

    VbSkippedImage *grown =
        realloc(result->skipped, (result->skipped_count + 1) * sizeof *grown);
    if (grown == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory listing skipped images");
    result->skipped = grown;
    VbSkippedImage *s = &result->skipped[result->skipped_count];
    s->file_name = vbStrdup(file_name);
    s->reason = vbStrdup(reason);
    if (s->file_name == NULL || s->reason == NULL) {
        free(s->file_name);
        free(s->reason);
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory listing skipped images");
    }
    result->skipped_count++;
    return VB_OK;
}

static int compareStrings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds the ground truth to the dataset fingerprint: a file's bytes, or for a
 * label folder each regular file's name, a NUL and its bytes, by name. */
static vb_status hashGroundTruth(VbSha256 *sha, const char *path, vb_error *err)
{
    char *data = NULL;
    size_t len = 0;
    vb_status st = VB_OK;
    if (!isDirectory(path)) {
        st = vbFileRead(path, VB_DATASET_MAX_FILE_BYTES, &data, &len, err);
        if (st == VB_OK)
            st = vbMeasureSha256Update(sha, data, len, err);
        free(data);
        return st;
    }

    DIR *dir = opendir(path);
    if (dir == NULL)
        return vbErrorSet(err, VB_ERR_IO, "%s: cannot list: %s", path, strerror(errno));
    char **names = NULL;
    size_t count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL && st == VB_OK) {
        if (entry->d_name[0] == '.')
            continue;
        char **grown = realloc(names, (count + 1) * sizeof *grown);
        if (grown == NULL || (grown[count] = vbStrdup(entry->d_name)) == NULL) {
            if (grown != NULL)
                names = grown;
            st = vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory listing %s", path);
            break;
        }
        names = grown;
        count++;
    }
    closedir(dir);
    if (st == VB_OK)
        qsort(names, count, sizeof *names, compareStrings);
    for (size_t i = 0; i < count && st == VB_OK; i++) {
        char *file = vbPathJoin(path, names[i]);
        if (file == NULL) {
            st = vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory");
            break;
        }
        if (isRegularFile(file)) {
            st = vbMeasureSha256Update(sha, names[i], strlen(names[i]) + 1, err);
            if (st == VB_OK)
                st = vbFileRead(file, VB_DATASET_MAX_LABEL_FILE_BYTES, &data, &len, err);
            if (st == VB_OK)
                st = vbMeasureSha256Update(sha, data, len, err);
            free(data);
            data = NULL;
        }
        free(file);
    }
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
    return st;
}

/* ---- Inputs -------------------------------------------------------------- */

/* Reads and decodes every dataset image once, timing the decode, hashing the
 * bytes into the fingerprint, and lists the images that fail. images gets
 * the decoded ones; keep[i] is 1 for dataset image i when it decoded. */
static vb_status decodeImages(const VbRunOptions *options, const VbDataset *ds,
                              VbRunProgressFn progress, void *user, VbRunResult *result,
                              VbRunImages *images, unsigned char *keep, VbSha256 *sha,
                              vb_error *err)
{
    vb_status st = VB_OK;
    double *decode_s = calloc(ds->image_count + 1, sizeof *decode_s);
    images->images = calloc(ds->image_count + 1, sizeof *images->images);
    images->ids = calloc(ds->image_count + 1, sizeof *images->ids);
    images->count = 0;
    if (decode_s == NULL || images->images == NULL || images->ids == NULL) {
        st = vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for %zu images", ds->image_count);
        goto done;
    }

    uint64_t phase_start = vbNowNs();
    for (size_t i = 0; i < ds->image_count; i++) {
        const VbDatasetImage *image = &ds->images[i];
        char *path = vbPathJoin(options->images_dir, image->file_name);
        char *data = NULL;
        size_t len = 0;
        vb_error image_err;
        memset(&image_err, 0, sizeof image_err);
        if (path == NULL) {
            st = vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory");
            goto done;
        }

        /* Read and fingerprint: file name, NUL, bytes. */
        vb_status image_st = vbFileRead(path, VB_IMAGE_MAX_FILE_BYTES, &data, &len, &image_err);
        if (image_st == VB_OK) {
            st = vbMeasureSha256Update(sha, image->file_name, strlen(image->file_name) + 1, err);
            if (st == VB_OK)
                st = vbMeasureSha256Update(sha, data, len, err);
            if (st != VB_OK) {
                free(data);
                free(path);
                goto done;
            }
        }

        /* Decode, timed. */
        VbImage decoded = {0};
        if (image_st == VB_OK) {
            uint64_t t0 = vbNowNs();
            image_st = vbImageDecodeMemory((const uint8_t *)data, len, image->file_name, &decoded,
                                           NULL, NULL, &image_err);
            double seconds = secondsSince(t0);
            if (image_st == VB_OK)
                decode_s[images->count] = seconds;
        }
        free(data);
        free(path);

        if (image_st != VB_OK) {
            if (options->on_bad_image == VB_BAD_IMAGE_FAIL) {
                st = vbErrorSet(err, image_st, "%s (stopped by --on-bad-image fail; use skip to "
                                "run without it)", image_err.message);
                goto done;
            }
            st = addSkipped(result, image->file_name, image_err.message, err);
            if (st != VB_OK)
                goto done;
            vbWarn("skipping image %s", image_err.message);
            keep[i] = 0;
        } else {
            images->images[images->count] = decoded;
            images->ids[images->count] = image->id;
            images->count++;
            keep[i] = 1;
        }
        report(progress, user, "decode", -1, options->model_count, NULL, i + 1, ds->image_count,
               secondsSince(phase_start));
    }

    /* Decode statistics in milliseconds. */
    double total = 0.0;
    for (size_t i = 0; i < images->count; i++) {
        total += decode_s[i];
        decode_s[i] *= 1e3;
    }
    result->decode_total_s = total;
    st = vbMeasureSummarize(decode_s, images->count, &result->decode_ms, err);

done:
    free(decode_s);
    return st;
}

/* Lists what the loader set aside: unreadable files and names the ground
 * truth uses that the folder lacks. */
static vb_status listLoaderSkips(const VbDataset *ds, const VbRunOptions *options,
                                 VbRunResult *result, vb_error *err)
{
    for (size_t i = 0; i < ds->unreadable_image_count; i++) {
        const char *entry = ds->unreadable_images[i];
        const char *colon = strstr(entry, ": ");
        char name[1024];
        snprintf(name, sizeof name, "%.*s", colon ? (int)(colon - entry) : (int)strlen(entry), entry);
        if (options->on_bad_image == VB_BAD_IMAGE_FAIL)
            return vbErrorSet(err, VB_ERR_PARSE, "%s (stopped by --on-bad-image fail; use skip "
                              "to run without it)", entry);
        vb_status st = addSkipped(result, name, colon ? colon + 2 : "unreadable", err);
        if (st != VB_OK)
            return st;
    }
    for (size_t i = 0; i < ds->missing_image_count; i++) {
        size_t before = result->skipped_count;
        vb_status st = addSkipped(result, ds->missing_images[i],
                                  "named by the ground truth but not found in the image folder "
                                  "(its boxes are not evaluated)", err);
        if (st != VB_OK)
            return st;
        result->missing_count += result->skipped_count - before;
    }
    return VB_OK;
}

/* An image id with its position in the view, for binary search. */
typedef struct IdIndex {
    int64_t id;
    size_t index;
} IdIndex;

static int compareIdIndex(const void *a, const void *b)
{
    int64_t x = ((const IdIndex *)a)->id, y = ((const IdIndex *)b)->id;
    return (x > y) - (x < y);
}

/* Returns the view position of image id in the sorted table, or -1. */
static long findImage(const IdIndex *table, size_t n, int64_t id)
{
    IdIndex key = {id, 0};
    const IdIndex *hit = bsearch(&key, table, n, sizeof *table, compareIdIndex);
    return hit != NULL ? (long)hit->index : -1;
}

/* Returns a table of the view's image ids sorted for findImage (caller
 * frees), or NULL when out of memory. */
static IdIndex *makeIdTable(const VbDataset *view)
{
    IdIndex *table = malloc((view->image_count + 1) * sizeof *table);
    if (table == NULL)
        return NULL;
    for (size_t i = 0; i < view->image_count; i++) {
        table[i].id = view->images[i].id;
        table[i].index = i;
    }
    qsort(table, view->image_count, sizeof *table, compareIdIndex);
    return table;
}

/* Builds a view of ds with only the kept images and their annotations. The
 * view borrows ds's strings; free only its two arrays. */
static vb_status makeView(const VbDataset *ds, const unsigned char *keep, VbDataset *view,
                          vb_error *err)
{
    *view = *ds;
    view->images = calloc(ds->image_count + 1, sizeof *view->images);
    view->annotations = calloc(ds->annotation_count + 1, sizeof *view->annotations);
    IdIndex *table = NULL;
    if (view->images == NULL || view->annotations == NULL)
        goto no_memory;
    view->image_count = 0;
    view->annotation_count = 0;
    for (size_t i = 0; i < ds->image_count; i++) {
        if (keep[i])
            view->images[view->image_count++] = ds->images[i];
    }

    /* Annotations of kept images, found by binary search on the ids. */
    table = makeIdTable(view);
    if (table == NULL)
        goto no_memory;
    for (size_t i = 0; i < ds->annotation_count; i++) {
        if (findImage(table, view->image_count, ds->annotations[i].image_id) >= 0)
            view->annotations[view->annotation_count++] = ds->annotations[i];
    }
    free(table);
    return VB_OK;

no_memory:
    free(table);
    free(view->images);
    free(view->annotations);
    memset(view, 0, sizeof *view);
    return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for the evaluation image list");
}

/* ---- Per-model results ----------------------------------------------------- */

/* Fills speed, memory and energy of one model from its child's outcome. */
static vb_status fillMeasurements(const VbRunOptions *options, const VbRunResult *result,
                                  VbChildOutcome *outcome, VbModelResult *model, vb_error *err)
{
    model->m = outcome->m;
    size_t n = outcome->sample_count;
    double *e2e = malloc((n + 1) * sizeof *e2e);
    if (e2e == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for timing samples");

    /* Milliseconds per image for each stage and end to end. */
    double inference_total = 0.0, e2e_total = 0.0;
    for (size_t i = 0; i < n; i++) {
        e2e[i] = outcome->preprocess_s[i] + outcome->inference_s[i] + outcome->postprocess_s[i];
        inference_total += outcome->inference_s[i];
        e2e_total += e2e[i];
        e2e[i] *= 1e3;
        outcome->preprocess_s[i] *= 1e3;
        outcome->inference_s[i] *= 1e3;
        outcome->postprocess_s[i] *= 1e3;
    }
    vb_status st = vbMeasureSummarize(outcome->preprocess_s, n, &model->preprocess_ms, err);
    if (st == VB_OK)
        st = vbMeasureSummarize(outcome->inference_s, n, &model->inference_ms, err);
    if (st == VB_OK)
        st = vbMeasureSummarize(outcome->postprocess_s, n, &model->postprocess_ms, err);
    if (st == VB_OK)
        st = vbMeasureSummarize(e2e, n, &model->end_to_end_ms, err);
    free(e2e);
    if (st != VB_OK)
        return st;
    model->throughput = e2e_total > 0 ? (double)n / e2e_total : 0.0;
    model->throughput_inference = inference_total > 0 ? (double)n / inference_total : 0.0;

    /* Energy: the counter's joules, or CPU time x watts per core plus DRAM. */
    if (model->m.energy_source == VB_ENERGY_ESTIMATE) {
        const char *basis = NULL;
        double watts = options->cpu_watts > 0
                           ? options->cpu_watts
                           : vbMeasureCpuWattsPerCore(result->machine.cpu_vendor,
                                                      result->machine.cpu_model, &basis);
        model->watts_per_core = watts;
        model->watts_basis = options->cpu_watts > 0 ? "--cpu-watts" : basis;
        uint64_t model_bytes = model->m.peak_rss_bytes > model->m.rss_start_bytes
                                   ? model->m.peak_rss_bytes - model->m.rss_start_bytes
                                   : 0;
        model->energy_j = vbMeasureEstimateJoules(model->m.cpu_s, watts, model_bytes,
                                                  model->m.timed_wall_s);
    } else {
        model->energy_j = model->m.measured_energy_j;
    }
    model->energy_per_image_j = n > 0 ? model->energy_j / (double)n : 0.0;
    model->co2_kg = vbMeasureCo2Kg(model->energy_j, result->grid_g_per_kwh, result->pue);
    model->green_score = n > 0 ? vbMeasureGreenScore(model->energy_per_image_j) : 0;

    /* Detections move to the result. */
    model->detections = outcome->detections;
    model->detection_count = outcome->detections.count;
    memset(&outcome->detections, 0, sizeof outcome->detections);
    return VB_OK;
}

_Static_assert(sizeof(((VbClassAccuracy *)0)->pr50) / sizeof(double) == VB_COCO_REC_THRS,
               "VbClassAccuracy.pr50 holds one precision per COCO recall threshold");

/* Evaluates one finished detector against the kept ground truth: COCO mAP,
 * P/R/F1 at --conf and the bootstrap interval. */
static vb_status evaluateModel(const VbRunOptions *options, const VbDataset *view,
                               VbModelResult *model, VbCocoEval **kept, vb_error *err)
{
    VbCocoEval *ev = NULL;
    VbPrfResult prf;
    memset(&prf, 0, sizeof prf);
    vb_status st = vbCocoEvaluate(view, model->detections.items, model->detections.count, NULL,
                                  &ev, err);
    if (st != VB_OK)
        goto done;
    model->has_accuracy = 1;
    model->map = ev->stats[0];
    model->map50 = ev->stats[1];
    model->map75 = ev->stats[2];

    st = vbPrfCompute(ev, options->conf, &prf, err);
    if (st != VB_OK)
        goto done;
    model->precision = prf.at_threshold.micro.precision;
    model->recall = prf.at_threshold.micro.recall;
    model->f1 = prf.at_threshold.micro.f1;
    model->precision_best = prf.best.micro.precision;
    model->recall_best = prf.best.micro.recall;
    model->f1_best = prf.best.micro.f1;
    model->conf_best = prf.best.threshold;

    /* Per-class AP and the precision-recall curve at IoU 0.5, for the report. */
    model->per_class = calloc(ev->category_count ? ev->category_count : 1, sizeof *model->per_class);
    if (model->per_class == NULL) {
        st = vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for per-class accuracy");
        goto done;
    }
    for (size_t k = 0; k < ev->category_count; k++) {
        const VbCocoCategoryResult *c = &ev->per_category[k];
        VbClassAccuracy *out = &model->per_class[k];
        out->id = c->id;
        out->name = vbStrdup(c->name != NULL ? c->name : "");
        if (out->name == NULL) {
            st = vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for per-class accuracy");
            goto done;
        }
        out->ap = c->ap;
        out->ap50 = c->ap50;
        out->ap75 = c->ap75;
        out->recall50 = c->recall50;
        memcpy(out->pr50, c->pr50, sizeof out->pr50);
        model->class_count = k + 1;
    }

    if (options->bootstrap > 0) {
        VbBootstrapResult boot;
        st = vbBootstrapMap(ev, (size_t)options->bootstrap, options->seed, &boot, err);
        if (st != VB_OK)
            goto done;
        model->has_interval = isfinite(boot.map.lo) && isfinite(boot.map.hi);
        model->map_low = boot.map.lo;
        model->map_high = boot.map.hi;
        model->map50_low = boot.map50.lo;
        model->map50_high = boot.map50.hi;
    }

done:
    vbPrfResultClear(&prf);
    if (st == VB_OK && kept != NULL)
        *kept = ev;
    else
        vbCocoEvalFree(ev);
    return st;
}

/* Runs the paired bootstrap for every pair of evaluated detectors, so the
 * report shows whether one model really beats another on these images.
 * evals[i] is NULL for models without a COCO evaluation. */
static vb_status compareDetectorPairs(const VbRunOptions *options, VbRunResult *result,
                                      VbCocoEval *const *evals, vb_error *err)
{
    int n = result->model_count;
    size_t pairs = (size_t)n * (size_t)(n > 0 ? n - 1 : 0) / 2;
    if (options->bootstrap <= 0 || pairs == 0)
        return VB_OK;
    result->paired = calloc(pairs, sizeof *result->paired);
    if (result->paired == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for paired comparisons");
    result->paired_samples = (size_t)options->bootstrap;

    for (int a = 0; a < n; a++) {
        for (int b = a + 1; b < n; b++) {
            if (evals[a] == NULL || evals[b] == NULL)
                continue;
            VbBootstrapPaired paired;
            vb_status st = vbBootstrapCompare(evals[a], evals[b], (size_t)options->bootstrap,
                                              options->seed, &paired, err);
            if (st != VB_OK)
                return st;
            VbPairedComparison *out = &result->paired[result->paired_count++];
            out->a = a;
            out->b = b;
            out->map_diff = paired.diff_map.estimate;
            out->map_diff_low = paired.diff_map.lo;
            out->map_diff_high = paired.diff_map.hi;
            out->map50_diff = paired.diff_map50.estimate;
            out->map50_diff_low = paired.diff_map50.lo;
            out->map50_diff_high = paired.diff_map50.hi;
            out->a_better_map = paired.a_better_map;
            out->a_better_map50 = paired.a_better_map50;
        }
    }
    return VB_OK;
}

/* Scores a classifier per image: an image is positive when it has a box of
 * the category the classifier reports, predicted positive when the
 * classifier's whole-image detection scores at least --conf. Fills
 * precision, recall and F1; COCO mAP does not apply. */
static vb_status evaluateClassifier(const VbRunOptions *options, const VbDataset *view,
                                    VbModelResult *model, vb_error *err)
{
    /* Per view image: the predicted category (-1: none) and the truth. */
    IdIndex *table = makeIdTable(view);
    int64_t *predicted = malloc((view->image_count + 1) * sizeof *predicted);
    unsigned char *actual = calloc(view->image_count + 1, 1);
    if (table == NULL || predicted == NULL || actual == NULL) {
        free(table);
        free(predicted);
        free(actual);
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory scoring a classifier");
    }
    for (size_t i = 0; i < view->image_count; i++)
        predicted[i] = -1;
    for (size_t k = 0; k < model->detections.count; k++) {
        const VbDetection *d = &model->detections.items[k];
        long i = findImage(table, view->image_count, d->image_id);
        if (i >= 0 && d->score >= options->conf)
            predicted[i] = d->category_id;
    }
    for (size_t k = 0; k < view->annotation_count; k++) {
        const VbAnnotation *a = &view->annotations[k];
        long i = findImage(table, view->image_count, a->image_id);
        if (i >= 0 && !a->iscrowd && (predicted[i] < 0 || a->category_id == predicted[i]))
            actual[i] = 1;
    }

    /* A negative prediction counts a miss when the image has any box. */
    uint64_t tp = 0, fp = 0, fn = 0;
    for (size_t i = 0; i < view->image_count; i++) {
        int is_predicted = predicted[i] >= 0;
        tp += is_predicted && actual[i];
        fp += is_predicted && !actual[i];
        fn += !is_predicted && actual[i];
    }
    free(table);
    free(predicted);
    free(actual);

    model->has_accuracy = 1;
    model->map = model->map50 = model->map75 = -1.0;
    model->precision = tp + fp > 0 ? (double)tp / (double)(tp + fp) : 0.0;
    model->recall = tp + fn > 0 ? (double)tp / (double)(tp + fn) : 0.0;
    double sum = model->precision + model->recall;
    model->f1 = sum > 0 ? 2.0 * model->precision * model->recall / sum : 0.0;
    return VB_OK;
}

/* ---- The run ------------------------------------------------------------- */

typedef struct ChildProgressContext {
    int validating;          /* 1: a load-only child, reported as phase "validate" */
    VbRunProgressFn fn;
    void *user;
    int model_index;
    int model_count;
    const char *name;
    uint64_t start_ns;       /* when the current phase began */
    const char *phase;       /* the current phase, a static string from child.c */
} ChildProgressContext;

static void forwardChildProgress(const char *phase, size_t done, size_t total, void *user)
{
    ChildProgressContext *c = user;
    if (c->phase == NULL || strcmp(c->phase, phase) != 0) {
        c->phase = phase;
        c->start_ns = vbNowNs();
    }
    if (c->validating)
        phase = "validate";
    report(c->fn, c->user, phase, c->model_index, c->model_count, c->name, done, total,
           secondsSince(c->start_ns));
}

static vb_status copySpec(const VbRunModelSpec *from, VbRunModelSpec *to, vb_error *err)
{
    to->name = vbStrdup(from->name);
    to->path = vbStrdup(from->path);
    to->format = from->format != NULL ? vbStrdup(from->format) : NULL;
    if (to->name == NULL || to->path == NULL || (from->format != NULL && to->format == NULL))
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory");
    return VB_OK;
}

static void freeImages(VbRunImages *images)
{
    for (size_t i = 0; i < images->count; i++)
        vbImageFree(&images->images[i]);
    free(images->images);
    free(images->ids);
    memset(images, 0, sizeof *images);
}

vb_status vbRunWithBackend(const VbRunBackend *backend, const VbRunOptions *options,
                           VbRunProgressFn progress, void *user, VbRunResult *result,
                           vb_error *err)
{
    memset(result, 0, sizeof *result);
    uint64_t run_start = vbNowNs();
    time_t now = time(NULL);
    struct tm utc;
    gmtime_r(&now, &utc);
    strftime(result->timestamp, sizeof result->timestamp, "%Y-%m-%dT%H:%M:%SZ", &utc);
    vbMeasureMachineInfo(&result->machine);
    result->threads = options->threads > 0 ? options->threads : result->machine.cores;
    result->pue = options->pue;

    /* A machine loaded beyond its cores before the run makes timings unreliable. */
    result->load_average_start = readLoadAverage();
    result->load_average_end = -1.0;
    if (result->machine.cores > 0 && result->load_average_start > (double)result->machine.cores) {
        result->machine_busy = 1;
        vbWarn("timings are unreliable: the machine is busy (load %.1f on %d core%s)",
               result->load_average_start, result->machine.cores,
               result->machine.cores == 1 ? "" : "s");
    }

    /* Grid intensity: --grid-intensity, --country, or the world average. */
    if (options->grid_intensity >= 0.0) {
        result->grid_g_per_kwh = options->grid_intensity;
        result->grid_source = "--grid-intensity";
    } else if (options->country != NULL) {
        const VbGridIntensity *row = vbMeasureGridIntensity(options->country);
        result->grid_g_per_kwh = row != NULL ? row->g_per_kwh : VB_GRID_WORLD_G_PER_KWH;
        result->grid_source = VB_GRID_TABLE_SOURCE;
    } else {
        result->grid_g_per_kwh = VB_GRID_WORLD_G_PER_KWH;
        result->grid_source = "world average (no --country or --grid-intensity given)";
    }

    VbDataset *ds = NULL;
    VbCocoEval **evals = NULL;
    VbDataset view;
    memset(&view, 0, sizeof view);
    VbRunImages images = {0};
    unsigned char *keep = NULL;
    VbSha256 sha = {0};
    double validation_load_s = 0.0, evaluation_s = 0.0;
    vb_status st = checkPaths(options, err);
    if (st != VB_OK)
        goto done;

    /* Step 1: ground truth. */
    VbDatasetOptions ds_options;
    memset(&ds_options, 0, sizeof ds_options);
    ds_options.class_names_file = options->gt_names_path;
    st = vbDatasetLoad(options->gt_path, options->images_dir, &ds_options, &ds, err);
    if (st != VB_OK)
        goto done;
    if (options->classes != NULL) {
        st = keepClasses(ds, options->classes, err);
        if (st != VB_OK)
            goto done;
    }
    if (ds->image_count > VB_RUN_MAX_IMAGES) {
        st = vbErrorSet(err, VB_ERR_LIMIT, "%s: %zu images exceed the limit of %d per run; "
                        "split the dataset", options->gt_path, ds->image_count, VB_RUN_MAX_IMAGES);
        goto done;
    }
    result->gt_format = vbStrdup(ds->source_format ? ds->source_format : "unknown");
    result->category_count = ds->category_count;
    if (ds->warnings.count > 0) {
        result->gt_warnings = calloc((size_t)ds->warnings.count, sizeof(char *));
        if (result->gt_warnings == NULL) {
            st = vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory");
            goto done;
        }
        for (int i = 0; i < ds->warnings.count; i++) {
            char *copy = vbStrdup(ds->warnings.items[i]);
            if (copy != NULL)
                result->gt_warnings[result->gt_warning_count++] = copy;
        }
    }
    warnGroundTruth(result);
    st = listLoaderSkips(ds, options, result, err);
    if (st != VB_OK)
        goto done;

    /* Step 2: decode every image once; fingerprint images and ground truth. */
    keep = calloc(ds->image_count + 1, 1);
    if (keep == NULL) {
        st = vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory");
        goto done;
    }
    st = vbMeasureSha256Init(&sha, err);
    if (st == VB_OK)
        st = decodeImages(options, ds, progress, user, result, &images, keep, &sha, err);
    if (st == VB_OK)
        st = hashGroundTruth(&sha, options->gt_path, err);
    if (st == VB_OK)
        st = vbMeasureSha256Final(&sha, result->dataset_sha256, err);
    if (st != VB_OK)
        goto done;
    if (images.count == 0) {
        st = vbErrorSet(err, VB_ERR_NOT_FOUND, "--images: no readable image in '%s' for the "
                        "ground truth '%s'", options->images_dir, options->gt_path);
        goto done;
    }
    result->image_count = images.count;
    st = makeView(ds, keep, &view, err);
    if (st != VB_OK)
        goto done;
    result->annotation_count = view.annotation_count;
    vbInfo("inputs: %zu image%s decoded, %zu skipped, %zu box%s in %zu categor%s (%s)",
           images.count, images.count == 1 ? "" : "s", result->skipped_count,
           view.annotation_count, view.annotation_count == 1 ? "" : "es", ds->category_count,
           ds->category_count == 1 ? "y" : "ies", result->gt_format);
    report(progress, user, "inputs", -1, options->model_count, NULL, images.count,
           images.count + result->skipped_count, 0.0);

    /* Step 3: every model loads in a validation child before any timed run. */
    result->models = calloc((size_t)options->model_count, sizeof *result->models);
    if (result->models == NULL) {
        st = vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory");
        goto done;
    }
    result->model_count = options->model_count;
    for (int i = 0; i < options->model_count; i++) {
        VbModelResult *model = &result->models[i];
        st = copySpec(&options->models[i], &model->spec, err);
        if (st != VB_OK)
            goto done;
        if (isDirectory(model->spec.path)) {
            model->status = VB_MODEL_ERROR;
            snprintf(model->error, sizeof model->error,
                     "%s: is a folder, not an ONNX file; give the path of the .onnx file inside",
                     model->spec.path);
            continue;
        }
        vb_error file_err;
        if (vbMeasureSha256File(model->spec.path, model->sha256, &model->file_bytes, &file_err) !=
            VB_OK) {
            model->status = VB_MODEL_ERROR;
            snprintf(model->error, sizeof model->error, "%s", file_err.message);
            continue;
        }
        model->file_parameter_count = countFileParameters(model->spec.path);

        ChildProgressContext context = {1, progress, user, i, options->model_count,
                                        model->spec.name, vbNowNs(), NULL};
        VbChildOutcome outcome;
        uint64_t t0 = vbNowNs();
        st = vbRunChild(backend, &model->spec, options, &view, &images, 1, forwardChildProgress, &context,
                        &outcome, err);
        validation_load_s += secondsSince(t0);
        if (st != VB_OK)
            goto done;
        model->status = outcome.status;
        model->m = outcome.m;
        snprintf(model->error, sizeof model->error, "%s", outcome.error);
        vbChildOutcomeFree(&outcome);
        if (model->status != VB_MODEL_OK)
            vbWarn("model %s failed validation: %s", model->spec.name, model->error);
        else if (model->m.class_map_warning[0] != '\0')
            vbWarn("model %s: %s", model->spec.name, model->m.class_map_warning);
    }

    int loaded = 0;
    for (int i = 0; i < options->model_count; i++)
        loaded += result->models[i].status == VB_MODEL_OK;
    report(progress, user, "validated", -1, options->model_count, NULL, (size_t)loaded,
           (size_t)options->model_count, 0.0);

    /* Step 4: timed runs, one child each. */
    for (int i = 0; i < options->model_count; i++) {
        VbModelResult *model = &result->models[i];
        if (model->status != VB_MODEL_OK)
            continue;
        ChildProgressContext context = {0, progress, user, i, options->model_count,
                                        model->spec.name, vbNowNs(), NULL};
        VbChildOutcome outcome;
        st = vbRunChild(backend, &model->spec, options, &view, &images, 0, forwardChildProgress, &context,
                        &outcome, err);
        if (st != VB_OK)
            goto done;
        model->status = outcome.status;
        snprintf(model->error, sizeof model->error, "%s", outcome.error);
        if (outcome.status == VB_MODEL_OK)
            st = fillMeasurements(options, result, &outcome, model, err);
        else
            model->m = outcome.m;
        vbChildOutcomeFree(&outcome);
        if (st != VB_OK)
            goto done;
        if (model->status != VB_MODEL_OK)
            vbWarn("model %s: %s: %s", model->spec.name, vbModelStatusName(model->status),
                   model->error);
    }

    /* Step 5: accuracy, in this process, after every child has finished. */
    uint64_t eval_start = vbNowNs();
    evals = calloc((size_t)options->model_count + 1, sizeof *evals);
    if (evals == NULL) {
        st = vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for the evaluations");
        goto done;
    }
    for (int i = 0; i < options->model_count; i++) {
        VbModelResult *model = &result->models[i];
        if (model->status != VB_MODEL_OK)
            continue;
        if (strcmp(model->m.task, "classify") == 0) {
            vb_error eval_err;
            if (evaluateClassifier(options, &view, model, &eval_err) != VB_OK)
                vbWarn("model %s: evaluation failed: %s", model->spec.name, eval_err.message);
            continue;
        }
        report(progress, user, "eval", i, options->model_count, model->spec.name, 0, 1, 0.0);
        vb_error eval_err;
        if (evaluateModel(options, &view, model, &evals[i], &eval_err) != VB_OK) {
            model->has_accuracy = 0;
            vbWarn("model %s: evaluation failed: %s", model->spec.name, eval_err.message);
        }
        report(progress, user, "eval", i, options->model_count, model->spec.name, 1, 1,
               secondsSince(eval_start));
    }
    vb_error pair_err;
    if (compareDetectorPairs(options, result, evals, &pair_err) != VB_OK)
        vbWarn("paired comparison failed: %s", pair_err.message);
    evaluation_s = secondsSince(eval_start);

    /* Step 6: comparison and the overhead the orchestration added. */
    st = vbRunCompare(result, err);
    if (st != VB_OK)
        goto done;
    result->execution_time_s = secondsSince(run_start);
    double accounted = result->decode_total_s + validation_load_s + evaluation_s;
    for (int i = 0; i < result->model_count; i++) {
        const VbModelResult *model = &result->models[i];
        accounted += model->m.load_s + model->m.warmup_s + model->m.timed_wall_s;
    }
    result->validation_s = validation_load_s;
    result->evaluation_s = evaluation_s;
    result->overhead_s = result->execution_time_s - accounted;
    result->load_average_end = readLoadAverage();
    report(progress, user, "done", -1, options->model_count, NULL, 1, 1,
           result->execution_time_s);

done:
    if (evals != NULL) {
        for (int i = 0; i < options->model_count; i++)
            vbCocoEvalFree(evals[i]);
        free(evals);
    }
    vbMeasureSha256Free(&sha);
    free(view.images);
    free(view.annotations);
    freeImages(&images);
    free(keep);
    vbDatasetFree(ds);
    if (st != VB_OK) {
        vbRunResultFree(result);
        memset(result, 0, sizeof *result);
    }
    return st;
}

vb_status vbRun(const VbRunOptions *options, VbRunProgressFn progress, void *user,
                VbRunResult *result, vb_error *err)
{
    return vbRunWithBackend(vbRunDefaultBackend(), options, progress, user, result, err);
}

void vbRunResultFree(VbRunResult *result)
{
    if (result == NULL)
        return;
    for (size_t i = 0; i < result->skipped_count; i++) {
        free(result->skipped[i].file_name);
        free(result->skipped[i].reason);
    }
    free(result->skipped);
    for (size_t i = 0; i < result->gt_warning_count; i++)
        free(result->gt_warnings[i]);
    free(result->gt_warnings);
    free(result->gt_format);
    for (int i = 0; i < result->model_count; i++) {
        VbModelResult *model = &result->models[i];
        free(model->spec.name);
        free(model->spec.path);
        free(model->spec.format);
        vbDetectionListFree(&model->detections);
        for (size_t k = 0; k < model->class_count; k++)
            free(model->per_class[k].name);
        free(model->per_class);
    }
    free(result->models);
    free(result->paired);
    vbRunComparisonFree(&result->comparison);
    memset(result, 0, sizeof *result);
}
