/* Checks one COCO reference case folder (gt.json, dets.json, expected.json) against vbCocoEvaluate, or against the JSON report of `visionbench eval`, to 1e-9. */
#include <jansson.h>
#include <stdio.h>

#include "core/core.h"
#include "dataset/dataset.h"
#include "metrics/coco_eval.h"
#include "vbtest.h"

#ifndef TOLERANCE
#define TOLERANCE 1e-9
#endif

/* Compares the 12 stats and the per-category ap, ap50, ap75 and recall50
 * (got[k][0..3], category ids got_ids) with expected.json. */
static void compareExpected(const double *stats, const int64_t *got_ids, double (*got)[4],
                            size_t category_count, const json_t *expected, const char *name)
{
    const json_t *want_stats = json_object_get(expected, "stats");
    CHECK_EQ_INT(json_array_size(want_stats), VB_COCO_STATS);
    for (size_t i = 0; i < json_array_size(want_stats) && i < VB_COCO_STATS; i++) {
        double want = json_number_value(json_array_get(want_stats, i));
        CHECK_MSG(fabs(stats[i] - want) <= TOLERANCE, "%s: stats[%zu] = %.17g, expected %.17g", name,
                  i, stats[i], want);
    }

    const json_t *cats = json_object_get(expected, "per_category");
    CHECK_EQ_INT(json_array_size(cats), category_count);
    static const char *const fields[] = {"ap", "ap50", "ap75", "recall50"};
    for (size_t k = 0; k < json_array_size(cats) && k < category_count; k++) {
        const json_t *c = json_array_get(cats, k);
        CHECK_EQ_INT(json_integer_value(json_object_get(c, "category_id")), got_ids[k]);
        for (int f = 0; f < 4; f++) {
            double want = json_number_value(json_object_get(c, fields[f]));
            CHECK_MSG(fabs(got[k][f] - want) <= TOLERANCE,
                      "%s: category %lld %s = %.17g, expected %.17g", name, (long long)got_ids[k],
                      fields[f], got[k][f], want);
        }
    }
}

/* Evaluates the case in-process, loading the GT with the dataset module. */
static void checkLibrary(const char *dir, const json_t *expected)
{
    char *gt_path = vbPathJoin(dir, "gt.json");
    char *dets_path = vbPathJoin(dir, "dets.json");
    VbDataset *gt = NULL;
    VbDetectionList dets = {0};
    VbCocoEval *ev = NULL;
    vb_error err = {0};

    vb_status st = vbDatasetLoadCoco(gt_path, NULL, NULL, &gt, &err);
    CHECK_MSG(st == VB_OK, "%s", err.message);
    if (st == VB_OK) {
        st = vbCocoResultsLoad(dets_path, &dets, &err);
        CHECK_MSG(st == VB_OK, "%s", err.message);
    }
    if (st == VB_OK) {
        st = vbCocoEvaluate(gt, dets.items, dets.count, NULL, &ev, &err);
        CHECK_MSG(st == VB_OK, "%s", err.message);
    }
    if (ev != NULL) {
        int64_t *ids = calloc(ev->category_count + 1, sizeof *ids);
        double(*got)[4] = calloc(ev->category_count + 1, sizeof *got);
        for (size_t k = 0; k < ev->category_count; k++) {
            const VbCocoCategoryResult *r = &ev->per_category[k];
            ids[k] = r->id;
            got[k][0] = r->ap;
            got[k][1] = r->ap50;
            got[k][2] = r->ap75;
            got[k][3] = r->recall50;
        }
        compareExpected(ev->stats, ids, got, ev->category_count, expected, dir);
        free(ids);
        free(got);
    }

    vbCocoEvalFree(ev);
    vbDetectionListFree(&dets);
    vbDatasetFree(gt);
    free(gt_path);
    free(dets_path);
}

/* Compares the JSON report that `visionbench eval --json` wrote. */
static void checkReport(const char *dir, const char *report_path, const json_t *expected)
{
    json_error_t jerr;
    json_t *report = json_load_file(report_path, 0, &jerr);
    CHECK_MSG(report != NULL, "%s: %s", report_path, jerr.text);
    if (report == NULL)
        return;
    double stats[VB_COCO_STATS] = {0};
    const json_t *report_stats = json_object_get(report, "stats");
    CHECK_EQ_INT(json_array_size(report_stats), VB_COCO_STATS);
    for (size_t i = 0; i < VB_COCO_STATS; i++)
        stats[i] = json_number_value(json_array_get(report_stats, i));

    const json_t *cats = json_object_get(report, "per_category");
    size_t n = json_array_size(cats);
    int64_t *ids = calloc(n + 1, sizeof *ids);
    double(*got)[4] = calloc(n + 1, sizeof *got);
    static const char *const fields[] = {"ap", "ap50", "ap75", "recall50"};
    for (size_t k = 0; k < n; k++) {
        const json_t *c = json_array_get(cats, k);
        ids[k] = json_integer_value(json_object_get(c, "id"));
        for (int f = 0; f < 4; f++)
            got[k][f] = json_number_value(json_object_get(c, fields[f]));
    }
    compareExpected(stats, ids, got, n, expected, dir);
    free(ids);
    free(got);
    json_decref(report);
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: coco_case CASE_DIR [REPORT.json]\n");
        return 2;
    }
    struct stat sb;
    if (stat(argv[1], &sb) != 0) {
        printf("skipped: %s not found\n", argv[1]);
        return VB_TEST_SKIP;
    }

    char *expected_path = vbPathJoin(argv[1], "expected.json");
    json_error_t jerr;
    json_t *expected = json_load_file(expected_path, 0, &jerr);
    CHECK_MSG(expected != NULL, "%s: %s", expected_path, jerr.text);
    if (expected != NULL && argc == 3)
        checkReport(argv[1], argv[2], expected);
    else if (expected != NULL)
        checkLibrary(argv[1], expected);

    json_decref(expected);
    free(expected_path);
    TEST_END();
}
