/* Times vbCocoEvaluate on one COCO case folder and compares it with the pycocotools time in its expected.json. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/core.h"
#include "dataset/dataset.h"
#include "metrics/coco_eval.h"

/* Returns the CPU time this process has used, in nanoseconds. */
static uint64_t cpuNowNs(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int compareU64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: bench_coco CASE_DIR [RUNS]\n"
                        "Times vbCocoEvaluate (matching, accumulation and summary; file loading\n"
                        "excluded) and prints the median over RUNS runs (default 51).\n");
        return 2;
    }
    int runs = argc == 3 ? atoi(argv[2]) : 51;
    if (runs < 1 || runs > 10000) {
        fprintf(stderr, "bench_coco: RUNS '%s' is not in 1..10000\n", argv[2]);
        return 2;
    }

    /* Load the case once. */
    char *gt_path = vbPathJoin(argv[1], "gt.json");
    char *dets_path = vbPathJoin(argv[1], "dets.json");
    char *expected_path = vbPathJoin(argv[1], "expected.json");
    VbDataset *gt = NULL;
    VbDetectionList dets = {0};
    vb_error err = {0};
    if (vbDatasetLoadCoco(gt_path, NULL, NULL, &gt, &err) != VB_OK ||
        vbCocoResultsLoad(dets_path, &dets, &err) != VB_OK) {
        fprintf(stderr, "bench_coco: %s\n", err.message);
        return 1;
    }

    /* Time each full evaluation. */
    uint64_t *ns = malloc((size_t)runs * sizeof *ns);
    uint64_t *cpu_ns = malloc((size_t)runs * sizeof *cpu_ns);
    double map = 0;
    for (int i = 0; i < runs; i++) {
        VbCocoEval *ev = NULL;
        uint64_t t0 = vbNowNs(), c0 = cpuNowNs();
        vb_status st = vbCocoEvaluate(gt, dets.items, dets.count, NULL, &ev, &err);
        ns[i] = vbNowNs() - t0;
        cpu_ns[i] = cpuNowNs() - c0;
        if (st != VB_OK) {
            fprintf(stderr, "bench_coco: %s\n", err.message);
            return 1;
        }
        map = ev->stats[0];
        vbCocoEvalFree(ev);
    }
    qsort(ns, (size_t)runs, sizeof *ns, compareU64);
    qsort(cpu_ns, (size_t)runs, sizeof *cpu_ns, compareU64);
    double median_s = ns[runs / 2] * 1e-9;
    printf("case %s: %zu images, %zu GT boxes, %zu detections, mAP %.6f\n", argv[1], gt->image_count,
           gt->annotation_count, dets.count, map);
    printf("vbCocoEvaluate: median %.3f ms over %d runs (min %.3f ms, max %.3f ms)\n",
           median_s * 1e3, runs, ns[0] * 1e-6, ns[runs - 1] * 1e-6);
    printf("vbCocoEvaluate: median CPU time %.3f ms (single-threaded)\n", cpu_ns[runs / 2] * 1e-6);

    /* The pycocotools reference time, when the case records one. */
    json_error_t jerr;
    json_t *expected = json_load_file(expected_path, 0, &jerr);
    const json_t *ref = json_object_get(json_object_get(expected, "timing"), "median_of_3");
    if (json_is_number(ref))
        printf("pycocotools evaluate()+accumulate(): %.3f ms recorded; speed-up %.1fx on wall "
               "time, %.1fx on CPU time\n",
               json_number_value(ref) * 1e3, json_number_value(ref) / median_s,
               json_number_value(ref) / (cpu_ns[runs / 2] * 1e-9));

    json_decref(expected);
    free(ns);
    free(cpu_ns);
    vbDetectionListFree(&dets);
    vbDatasetFree(gt);
    free(gt_path);
    free(dets_path);
    free(expected_path);
    return 0;
}
