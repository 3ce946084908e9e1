/* Checks one COCO reference case folder (gt.json, dets.json, expected.json) against vbCocoEvaluate to 1e-9. */
#include <jansson.h>
#include <stdio.h>

#include "coco/coco_gt.h"
#include "metrics/coco_eval.h"
#include "vbtest.h"

#ifndef TOLERANCE
#define TOLERANCE 1e-9
#endif

/* Compares the 12 stats and the per-category ap, ap50, ap75 and recall50. */
static void compareExpected(const VbCocoEval *ev, const json_t *expected, const char *name)
{
    const json_t *stats = json_object_get(expected, "stats");
    CHECK_EQ_INT(json_array_size(stats), VB_COCO_STATS);
    for (size_t i = 0; i < json_array_size(stats) && i < VB_COCO_STATS; i++)
        CHECK_MSG(fabs(ev->stats[i] - json_number_value(json_array_get(stats, i))) <= TOLERANCE,
                  "%s: stats[%zu] = %.17g, expected %.17g", name, i, ev->stats[i],
                  json_number_value(json_array_get(stats, i)));

    const json_t *cats = json_object_get(expected, "per_category");
    CHECK_EQ_INT(json_array_size(cats), ev->category_count);
    static const char *const fields[] = {"ap", "ap50", "ap75", "recall50"};
    for (size_t k = 0; k < json_array_size(cats) && k < ev->category_count; k++) {
        const json_t *c = json_array_get(cats, k);
        const VbCocoCategoryResult *r = &ev->per_category[k];
        CHECK_EQ_INT(json_integer_value(json_object_get(c, "category_id")), r->id);
        const double got[] = {r->ap, r->ap50, r->ap75, r->recall50};
        for (int f = 0; f < 4; f++) {
            double want = json_number_value(json_object_get(c, fields[f]));
            CHECK_MSG(fabs(got[f] - want) <= TOLERANCE, "%s: category %lld %s = %.17g, expected %.17g",
                      name, (long long)r->id, fields[f], got[f], want);
        }
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: coco_case CASE_DIR\n");
        return 2;
    }
    struct stat sb;
    if (stat(argv[1], &sb) != 0) {
        printf("skipped: %s not found\n", argv[1]);
        return VB_TEST_SKIP;
    }

    char *gt_path = vbPathJoin(argv[1], "gt.json");
    char *dets_path = vbPathJoin(argv[1], "dets.json");
    char *expected_path = vbPathJoin(argv[1], "expected.json");
    VbDataset *gt = cocoGtLoad(gt_path);
    CHECK(gt != NULL);

    VbDetectionList dets = {0};
    vb_error err = {0};
    vb_status st = vbCocoResultsLoad(dets_path, &dets, &err);
    CHECK_MSG(st == VB_OK, "%s", err.message);

    json_error_t jerr;
    json_t *expected = json_load_file(expected_path, 0, &jerr);
    CHECK_MSG(expected != NULL, "%s: %s", expected_path, jerr.text);

    VbCocoEval *ev = NULL;
    if (gt != NULL && st == VB_OK && expected != NULL) {
        st = vbCocoEvaluate(gt, dets.items, dets.count, NULL, &ev, &err);
        CHECK_MSG(st == VB_OK, "%s", err.message);
        if (ev != NULL)
            compareExpected(ev, expected, argv[1]);
    }

    vbCocoEvalFree(ev);
    json_decref(expected);
    vbDetectionListFree(&dets);
    vbDatasetFree(gt);
    free(gt_path);
    free(dets_path);
    free(expected_path);
    TEST_END();
}
