/* Unit tests for src/report and the run comparison: winners, rankings, Pareto front, JSON, table, progress. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "report/progress.h"
#include "report/run_json.h"
#include "run/run_internal.h"
#include "vbtest.h"

/* Fills model i of result as a finished detector. */
static void setDetector(VbModelResult *m, const char *name, double map, double p50_ms,
                        double joules_per_image)
{
    m->spec.name = vbStrdup(name);
    m->spec.path = vbStrdup("model.onnx");
    m->status = VB_MODEL_OK;
    snprintf(m->m.task, sizeof m->m.task, "detect");
    snprintf(m->m.family, sizeof m->m.family, "yolov8");
    m->has_accuracy = 1;
    m->map = map;
    m->map50 = map + 0.1;
    m->map75 = map;
    m->precision = 0.5;
    m->recall = 0.4;
    m->f1 = 0.44;
    m->end_to_end_ms.count = 10;
    m->end_to_end_ms.p50 = p50_ms;
    m->end_to_end_ms.p95 = p50_ms * 1.5;
    m->end_to_end_ms.mean = p50_ms;
    m->inference_ms = m->end_to_end_ms;
    m->throughput = 1000.0 / p50_ms;
    m->energy_per_image_j = joules_per_image;
    m->energy_j = joules_per_image * 10;
    m->co2_kg = m->energy_j / 3.6e6 * 475.0 / 1000.0;
    m->green_score = 7;
    m->m.rss_start_bytes = 100u << 20;
    m->m.rss_after_load_bytes = 120u << 20;
    m->m.peak_rss_bytes = 150u << 20;
}

/* Four detectors and a crashed model:
 *   a: mAP 0.40, 100 ms, 2 J   (most accurate)
 *   b: mAP 0.30,  50 ms, 0.5 J (fastest, greenest, most efficient)
 *   c: mAP 0.20,  80 ms, 1 J   (beaten by b on both axes)
 *   d: mAP 0.40, 120 ms, 3 J   (ties a on mAP, slower)
 *   e: crashed. */
static void buildResult(VbRunResult *r)
{
    memset(r, 0, sizeof *r);
    r->model_count = 5;
    r->models = calloc(5, sizeof *r->models);
    setDetector(&r->models[0], "a", 0.40, 100.0, 2.0);
    setDetector(&r->models[1], "b", 0.30, 50.0, 0.5);
    setDetector(&r->models[2], "c", 0.20, 80.0, 1.0);
    setDetector(&r->models[3], "d", 0.40, 120.0, 3.0);
    VbModelResult *e = &r->models[4];
    e->spec.name = vbStrdup("e");
    e->spec.path = vbStrdup("e.onnx");
    e->status = VB_MODEL_CRASHED;
    snprintf(e->error, sizeof e->error, "crashed with signal 11 (Segmentation fault)");
    snprintf(r->timestamp, sizeof r->timestamp, "2026-01-01T00:00:00Z");
    r->execution_time_s = 12.5;
    r->image_count = 10;
    r->grid_g_per_kwh = 475.0;
    r->grid_source = "world average";
    r->pue = 1.0;
    r->threads = 2;
    r->machine.cores = 2;
    snprintf(r->dataset_sha256, sizeof r->dataset_sha256, "%064d", 0);
}

static void testCompareWinners(void)
{
    VbRunResult r;
    vb_error err;
    buildResult(&r);
    CHECK(vbRunCompare(&r, &err) == VB_OK);
    const VbRunComparison *c = &r.comparison;
    CHECK_EQ_INT(c->best_accuracy, 0);     /* a beats d on the latency tie-break */
    CHECK_EQ_INT(c->fastest, 1);
    CHECK_EQ_INT(c->greenest, 1);
    CHECK_EQ_INT(c->most_efficient, 1);    /* 0.30 / 0.5 J is the highest */
    CHECK_EQ_INT(c->best_classifier, -1);

    /* Rankings leave out the crashed model. */
    CHECK_EQ_INT(c->rank_accuracy_count, 4);
    CHECK_EQ_INT(c->rank_speed_count, 4);
    CHECK_EQ_INT(c->rank_accuracy[1], 3);
    CHECK_EQ_INT(c->rank_accuracy[3], 2);
    CHECK_EQ_INT(c->rank_speed[0], 1);
    CHECK_EQ_INT(c->rank_speed[3], 3);

    /* Pareto front by latency: b (fast), a (accurate); c and d are beaten. */
    CHECK_EQ_INT(c->pareto_count, 2);
    CHECK_EQ_INT(c->pareto[0], 1);
    CHECK_EQ_INT(c->pareto[1], 0);
    vbRunResultFree(&r);
}

static void testCompareNoFinishedModel(void)
{
    VbRunResult r;
    vb_error err;
    buildResult(&r);
    for (int i = 0; i < r.model_count; i++)
        r.models[i].status = VB_MODEL_TIMEOUT;
    CHECK(vbRunCompare(&r, &err) == VB_OK);
    CHECK_EQ_INT(r.comparison.best_accuracy, -1);
    CHECK_EQ_INT(r.comparison.fastest, -1);
    CHECK_EQ_INT(r.comparison.pareto_count, 0);
    CHECK_STR(vbReportRunStatus(&r), "failed");
    vbRunResultFree(&r);
}

static void testRunJson(void)
{
    VbRunResult r;
    vb_error err;
    buildResult(&r);
    CHECK(vbRunCompare(&r, &err) == VB_OK);
    VbRunOptions options;
    vbRunOptionsInit(&options);
    options.images_dir = vbStrdup("images");
    options.gt_path = vbStrdup("gt.csv");

    json_t *root = vbReportRunJson(&r, &options);
    CHECK(root != NULL);
    if (root != NULL) {
        CHECK_STR(json_string_value(json_object_get(root, "status")), "partial");
        CHECK_STR(json_string_value(json_object_get(root, "timestamp")), "2026-01-01T00:00:00Z");
        json_t *results = json_object_get(root, "results");
        CHECK_EQ_INT(json_object_size(results), 5);
        json_t *a = json_object_get(results, "a");
        CHECK_NEAR(json_number_value(json_object_get(json_object_get(a, "accuracy"), "map")), 0.40,
                   1e-12);
        CHECK_NEAR(json_number_value(json_object_get(json_object_get(a, "speed"), "latency_p95")),
                   150.0, 1e-9);
        CHECK_NEAR(json_number_value(json_object_get(json_object_get(a, "memory"), "ram_mb")), 20.0,
                   1e-9);
        CHECK_NEAR(json_number_value(json_object_get(json_object_get(a, "memory"), "peak_mb")), 50.0,
                   1e-9);
        CHECK(json_is_null(json_object_get(json_object_get(a, "memory"), "gpu_mb")));

        /* The crashed model keeps its error and has null numbers. */
        json_t *e = json_object_get(results, "e");
        CHECK_STR(json_string_value(json_object_get(e, "status")), "crashed");
        CHECK(strstr(json_string_value(json_object_get(e, "error")), "signal 11") != NULL);
        CHECK(json_is_null(json_object_get(json_object_get(e, "accuracy"), "map")));
        CHECK(json_is_null(json_object_get(json_object_get(e, "carbon"), "co2_kg")));
        CHECK(json_is_null(json_object_get(json_object_get(e, "speed"), "throughput")));

        json_t *comparison = json_object_get(root, "comparison");
        CHECK_STR(json_string_value(json_object_get(comparison, "best_accuracy")), "a");
        CHECK_STR(json_string_value(json_object_get(comparison, "fastest")), "b");
        CHECK_EQ_INT(json_array_size(json_object_get(comparison, "pareto_front")), 2);
        CHECK(json_object_get(json_object_get(root, "metadata"), "overhead") != NULL);
        json_decref(root);
    }
    vbRunOptionsFree(&options);
    vbRunResultFree(&r);
}

static void testRunJsonNonFinite(void)
{
    VbRunResult r;
    vb_error err;
    buildResult(&r);
    r.models[0].map = -1.0;            /* undefined mAP */
    r.models[1].energy_per_image_j = NAN;
    CHECK(vbRunCompare(&r, &err) == VB_OK);
    VbRunOptions options;
    vbRunOptionsInit(&options);
    options.images_dir = vbStrdup("images");
    options.gt_path = vbStrdup("gt.csv");
    json_t *root = vbReportRunJson(&r, &options);
    CHECK(root != NULL);
    if (root != NULL) {
        json_t *results = json_object_get(root, "results");
        CHECK(json_is_null(json_object_get(json_object_get(json_object_get(results, "a"), "accuracy"),
                                           "map")));
        CHECK(json_is_null(json_object_get(
            json_object_get(json_object_get(results, "b"), "carbon"), "energy_per_image_j")));
        char *text = json_dumps(root, 0);
        CHECK(text != NULL);
        if (text != NULL)
            CHECK(strstr(text, "nan") == NULL);
        free(text);
        json_decref(root);
    }
    vbRunOptionsFree(&options);
    vbRunResultFree(&r);
}

static void testTable(void)
{
    VbRunResult r;
    vb_error err;
    buildResult(&r);
    CHECK(vbRunCompare(&r, &err) == VB_OK);
    VbBuf buf;
    vbBufInit(&buf, 1 << 16);
    CHECK(vbReportRunTable(&r, &buf, &err) == VB_OK);
    CHECK(buf.data != NULL);
    if (buf.data != NULL) {
        CHECK(strstr(buf.data, "model") != NULL);
        CHECK(strstr(buf.data, "0.4000") != NULL);
        CHECK(strstr(buf.data, "e: crashed with signal 11") != NULL);
        CHECK(strstr(buf.data, "best accuracy: a") != NULL);
        CHECK(strstr(buf.data, "fastest: b") != NULL);
        CHECK(strstr(buf.data, "Pareto front: b a") != NULL);
    }
    vbBufFree(&buf);

    /* A buffer too small for the table fails with VB_ERR_LIMIT. */
    vbBufInit(&buf, 64);
    CHECK(vbReportRunTable(&r, &buf, &err) == VB_ERR_LIMIT);
    vbBufFree(&buf);
    vbRunResultFree(&r);
}

/* Every model at mAP 0 and a classifier at F1 0: nothing to rank, so no
 * winner on accuracy, efficiency or F1. */
static void testCompareZeroAccuracy(void)
{
    VbRunResult r;
    vb_error err;
    buildResult(&r);
    for (int i = 0; i < 4; i++)
        r.models[i].map = 0.0;
    snprintf(r.models[3].m.task, sizeof r.models[3].m.task, "classify");
    r.models[3].f1 = 0.0;
    CHECK(vbRunCompare(&r, &err) == VB_OK);
    CHECK(r.comparison.best_accuracy == -1);
    CHECK(r.comparison.most_efficient == -1);
    CHECK(r.comparison.best_classifier == -1);
    CHECK(r.comparison.fastest == 1);

    VbBuf buf;
    vbBufInit(&buf, 1 << 16);
    CHECK(vbReportRunTable(&r, &buf, &err) == VB_OK);
    CHECK(buf.data != NULL && strstr(buf.data, "best accuracy: -") != NULL);
    CHECK(buf.data != NULL && strstr(buf.data, "best classifier") == NULL);
    vbBufFree(&buf);
    vbRunResultFree(&r);
}

/* The table shows CO2 per image in mg, memory in MiB, ground-truth names
 * not found apart from skipped images, and a busy machine in the footer. */
static void testTableUnitsAndFooter(void)
{
    VbRunResult r;
    vb_error err;
    buildResult(&r);
    r.machine_busy = 1;
    r.load_average_start = 7.9;
    r.skipped = calloc(1, sizeof *r.skipped);
    r.skipped[0].file_name = vbStrdup("gone.jpg");
    r.skipped[0].reason = vbStrdup("named by the ground truth but not found");
    r.skipped_count = 1;
    r.missing_count = 1;
    CHECK(vbRunCompare(&r, &err) == VB_OK);
    VbBuf buf;
    vbBufInit(&buf, 1 << 16);
    CHECK(vbReportRunTable(&r, &buf, &err) == VB_OK);
    const char *t = buf.data != NULL ? buf.data : "";
    CHECK(strstr(t, "CO2 mg/img") != NULL);
    CHECK(strstr(t, "peak MiB") != NULL);
    /* b: 0.5 J per image x 475 g/kWh = 0.0660 mg per image. */
    CHECK(strstr(t, "0.0660") != NULL);
    CHECK(strstr(t, "10 images (0 skipped; 1 ground-truth name not found)") != NULL);
    CHECK(strstr(t, "machine was busy (load 7.9 on 2 cores") != NULL);
    vbBufFree(&buf);
    vbRunResultFree(&r);
}

static void testProgressFormat(void)
{
    VbRunProgress p = {"run", 1, 3, "yolov8n", 120, 480, 10.0};
    char line[256];
    vbReportProgressFormat(&p, 1, line, sizeof line);
    CHECK(strstr(line, "[2/3 yolov8n]") != NULL);
    CHECK(strstr(line, "######------------------") != NULL);
    CHECK(strstr(line, "120/480") != NULL);
    CHECK(strstr(line, "12.0 img/s") != NULL);
    CHECK(strstr(line, "ETA 30s") != NULL);

    vbReportProgressFormat(&p, 0, line, sizeof line);
    CHECK(strstr(line, "[2/3 yolov8n] run: 120/480 12.0 img/s") != NULL);

    /* Load has no images per second; a tiny buffer is cut, not overrun. */
    VbRunProgress load = {"load", 0, 1, "m", 1, 1, 0.5};
    vbReportProgressFormat(&load, 0, line, sizeof line);
    CHECK(strstr(line, "img/s") == NULL);
    char tiny[8];
    size_t n = vbReportProgressFormat(&p, 1, tiny, sizeof tiny);
    CHECK_EQ_INT(n, 7);
    CHECK_EQ_INT(strlen(tiny), 7);
}

static void testProgressMilestones(void)
{
    int last = -1;
    VbRunProgress p = {"run", 0, 1, "m", 0, 100, 1.0};
    CHECK(vbReportProgressIsMilestone(&p, &last));   /* start */
    p.done = 5;
    CHECK(!vbReportProgressIsMilestone(&p, &last));
    p.done = 12;
    CHECK(vbReportProgressIsMilestone(&p, &last));   /* first tenth */
    p.done = 15;
    CHECK(!vbReportProgressIsMilestone(&p, &last));
    p.done = 100;
    CHECK(vbReportProgressIsMilestone(&p, &last));   /* end */
    CHECK(!vbReportProgressIsMilestone(&p, &last));  /* the end only once */
}

int main(void)
{
    testCompareWinners();
    testCompareNoFinishedModel();
    testRunJson();
    testRunJsonNonFinite();
    testTable();
    testCompareZeroAccuracy();
    testTableUnitsAndFooter();
    testProgressFormat();
    testProgressMilestones();
    TEST_END();
}
