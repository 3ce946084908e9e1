/* visionbench eval: COCO bbox evaluation of a results file, with P/R/F1 and bootstrap intervals. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/core.h"
#include "dataset/dataset.h"
#include "metrics/bootstrap.h"
#include "metrics/coco_eval.h"
#include "metrics/prf.h"

typedef struct EvalOptions {
    const char *gt_path;
    const char *dets_path;
    const char *compare_path;   /* second results file for the paired bootstrap */
    const char *json_path;
    double conf;
    size_t samples;
    uint64_t seed;
} EvalOptions;

static void printEvalUsage(FILE *out)
{
    fprintf(out,
            "usage: visionbench eval --gt GT.json --dets DETS.json [options]\n"
            "\n"
            "Evaluates COCO results (a JSON list of image_id, category_id, bbox, score)\n"
            "against COCO ground truth with the rules of pycocotools COCOeval (bbox).\n"
            "\n"
            "options:\n"
            "  --gt FILE          COCO ground-truth JSON (images, annotations, categories)\n"
            "  --dets FILE        COCO results JSON to evaluate\n"
            "  --json FILE        also write the results as JSON to FILE\n"
            "  --conf X           confidence threshold for precision/recall/F1 (default 0.25)\n"
            "  --bootstrap N      bootstrap samples for the 95%% intervals (default %d, 0 = none)\n"
            "  --seed S           bootstrap seed (default %u)\n"
            "  --compare FILE     a second results file: paired bootstrap of DETS minus FILE\n",
            VB_BOOTSTRAP_DEFAULT_SAMPLES, VB_BOOTSTRAP_DEFAULT_SEED);
}

/* Parses a non-negative decimal integer option value; returns 0 on success. */
static int parseCount(const char *text, uint64_t *out)
{
    if (text[0] < '0' || text[0] > '9')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

/* Fills o from argv. Returns 0, or 2 after printing a usage error (or 3
 * after printing the help). */
static int parseEvalOptions(int argc, char **argv, EvalOptions *o)
{
    o->conf = 0.25;
    o->samples = VB_BOOTSTRAP_DEFAULT_SAMPLES;
    o->seed = VB_BOOTSTRAP_DEFAULT_SEED;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) {
            printEvalUsage(stdout);
            return 3;
        }
        if (i + 1 >= argc) {
            vbCliError("eval: option '%s' is unknown or needs a value; run 'visionbench eval --help'",
                       opt);
            return 2;
        }
        const char *value = argv[++i];
        uint64_t count;
        if (strcmp(opt, "--gt") == 0) {
            o->gt_path = value;
        } else if (strcmp(opt, "--dets") == 0) {
            o->dets_path = value;
        } else if (strcmp(opt, "--json") == 0) {
            o->json_path = value;
        } else if (strcmp(opt, "--compare") == 0) {
            o->compare_path = value;
        } else if (strcmp(opt, "--conf") == 0) {
            char *end;
            o->conf = strtod(value, &end);
            if (end == value || *end != '\0' || !(o->conf >= 0 && o->conf <= 1)) {
                vbCliError("eval: --conf '%s' is not a number in [0, 1]", value);
                return 2;
            }
        } else if (strcmp(opt, "--bootstrap") == 0) {
            if (parseCount(value, &count) != 0 || count > 1000000) {
                vbCliError("eval: --bootstrap '%s' is not a sample count in 0..1000000", value);
                return 2;
            }
            o->samples = (size_t)count;
        } else if (strcmp(opt, "--seed") == 0) {
            if (parseCount(value, &count) != 0) {
                vbCliError("eval: --seed '%s' is not a non-negative integer", value);
                return 2;
            }
            o->seed = count;
        } else {
            vbCliError("eval: unknown option '%s'; run 'visionbench eval --help'", opt);
            return 2;
        }
    }
    if (o->gt_path == NULL || o->dets_path == NULL) {
        vbCliError("eval: --gt and --dets are required; run 'visionbench eval --help'");
        return 2;
    }
    return 0;
}

/* Returns nonzero when the first non-blank byte of the file at path is '{'
 * or '[', so that a CSV file gets an error about its format rather than
 * about invalid JSON. */
static int startsLikeJson(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return 1;
    int c;
    while ((c = fgetc(f)) == ' ' || c == '\t' || c == '\r' || c == '\n')
        ;
    fclose(f);
    return c == '{' || c == '[';
}

/* Loads a results file and evaluates it against gt. Prints the error and
 * returns NULL on failure. */
static VbCocoEval *evaluateFile(const VbDataset *gt, const char *path)
{
    VbDetectionList dets = {0};
    VbCocoEval *ev = NULL;
    vb_error err = {0};
    if (vbCocoResultsLoad(path, &dets, &err) != VB_OK) {
        vbCliError("%s", err.message);
        goto done;
    }
    if (vbCocoEvaluate(gt, dets.items, dets.count, NULL, &ev, &err) != VB_OK) {
        vbCliError("%s: %s", path, err.message);
        goto done;
    }
    if (ev->dropped_unknown_category > 0)
        fprintf(stderr,
                "visionbench: warning: %s: %zu detections have a category_id that is not a "
                "ground-truth category and were not evaluated\n",
                path, ev->dropped_unknown_category);

done:
    vbDetectionListFree(&dets);
    return ev;
}

/* Prints an estimate and, when samples were drawn, its interval. */
static void printCi(const char *label, const VbBootstrapCi *ci)
{
    if (isnan(ci->lo))
        printf("%s %.4f\n", label, ci->estimate);
    else
        printf("%s %.4f  95%% CI [%.4f, %.4f]\n", label, ci->estimate, ci->lo, ci->hi);
}

/* Prints the summary, the per-category table, P/R/F1 and the intervals. */
static void printReport(const VbCocoEval *ev, const VbPrfResult *prf, const VbBootstrapResult *boot,
                        const VbBootstrapPaired *paired)
{
    for (int i = 0; i < VB_COCO_STATS; i++)
        printf("%s = %0.3f\n", vbCocoStatLabel(i), ev->stats[i]);

    printf("\n%-20s %8s %8s %8s %8s\n", "category", "AP", "AP50", "AP75", "R50");
    for (size_t k = 0; k < ev->category_count; k++) {
        const VbCocoCategoryResult *c = &ev->per_category[k];
        printf("%-20.20s %8.3f %8.3f %8.3f %8.3f\n", c->name, c->ap, c->ap50, c->ap75, c->recall50);
    }

    const VbPrfPoint *points[2] = {&prf->at_threshold, &prf->best};
    const char *names[2] = {"conf", "best-F1 conf"};
    printf("\n");
    for (int i = 0; i < 2; i++)
        printf("IoU=0.50 %s %.4g: precision %.4f  recall %.4f  F1 %.4f  (TP %llu, FP %llu, GT %llu)\n",
               names[i], points[i]->threshold, points[i]->micro.precision, points[i]->micro.recall,
               points[i]->micro.f1, (unsigned long long)points[i]->micro.tp,
               (unsigned long long)points[i]->micro.fp, (unsigned long long)points[i]->micro.npos);

    if (boot->samples > 0) {
        printf("\nbootstrap: %zu samples over images, seed %llu\n", boot->samples,
               (unsigned long long)boot->seed);
        printCi("mAP@[.50:.95]", &boot->map);
        printCi("mAP@.50      ", &boot->map50);
    }
    if (paired != NULL) {
        printf("\nDETS minus the compared file:\n");
        printCi("difference mAP@[.50:.95]", &paired->diff_map);
        printCi("difference mAP@.50      ", &paired->diff_map50);
        if (paired->samples > 0)
            printf("fraction of samples where DETS beats the compared file: mAP %.3f, mAP50 %.3f\n",
                   paired->a_better_map, paired->a_better_map50);
    }
}

/* Returns a JSON real, or null for NaN (bootstrap intervals without samples). */
static json_t *jsonReal(double v)
{
    return isnan(v) ? json_null() : json_real(v);
}

static json_t *jsonCi(const VbBootstrapCi *ci)
{
    return json_pack("{s:o, s:o, s:o}", "estimate", jsonReal(ci->estimate), "lo", jsonReal(ci->lo),
                     "hi", jsonReal(ci->hi));
}

static json_t *jsonPrf(const VbPrf *p)
{
    return json_pack("{s:f, s:f, s:f, s:I, s:I, s:I}", "precision", p->precision, "recall",
                     p->recall, "f1", p->f1, "tp", (json_int_t)p->tp, "fp", (json_int_t)p->fp,
                     "gt", (json_int_t)p->npos);
}

static json_t *jsonPrfPoint(const VbCocoEval *ev, const VbPrfPoint *pt)
{
    json_t *classes = json_array();
    for (size_t k = 0; k < ev->category_count; k++) {
        json_t *c = jsonPrf(&pt->per_class[k]);
        json_object_set_new(c, "id", json_integer(ev->category_ids[k]));
        json_array_append_new(classes, c);
    }
    return json_pack("{s:f, s:o, s:f, s:f, s:f, s:o}", "conf", pt->threshold, "micro",
                     jsonPrf(&pt->micro), "macro_precision", pt->macro_precision, "macro_recall",
                     pt->macro_recall, "macro_f1", pt->macro_f1, "per_class", classes);
}

/* Builds the JSON report. Returns NULL when out of memory. */
static json_t *buildJson(const EvalOptions *o, const VbCocoEval *ev, const VbPrfResult *prf,
                         const VbBootstrapResult *boot, const VbBootstrapPaired *paired)
{
    json_t *stats = json_array();
    for (int i = 0; i < VB_COCO_STATS; i++)
        json_array_append_new(stats, json_real(ev->stats[i]));

    json_t *cats = json_array();
    for (size_t k = 0; k < ev->category_count; k++) {
        const VbCocoCategoryResult *c = &ev->per_category[k];
        json_t *curve = json_array();
        for (int r = 0; r < VB_COCO_REC_THRS; r++)
            json_array_append_new(curve, json_real(c->pr50[r]));
        json_array_append_new(cats, json_pack("{s:I, s:s, s:f, s:f, s:f, s:f, s:o}", "id",
                                              (json_int_t)c->id, "name", c->name, "ap", c->ap,
                                              "ap50", c->ap50, "ap75", c->ap75, "recall50",
                                              c->recall50, "precision50", curve));
    }

    json_t *root = json_pack("{s:s, s:s, s:o, s:o, s:I, s:{s:o, s:o}}", "gt", o->gt_path, "dets",
                             o->dets_path, "stats", stats, "per_category", cats,
                             "dropped_unknown_category", (json_int_t)ev->dropped_unknown_category,
                             "prf", "at_conf", jsonPrfPoint(ev, &prf->at_threshold), "best_f1",
                             jsonPrfPoint(ev, &prf->best));
    if (root == NULL)
        return NULL;
    if (boot->samples > 0)
        json_object_set_new(root, "bootstrap",
                            json_pack("{s:I, s:I, s:o, s:o}", "samples", (json_int_t)boot->samples,
                                      "seed", (json_int_t)boot->seed, "map", jsonCi(&boot->map),
                                      "map50", jsonCi(&boot->map50)));
    if (paired != NULL)
        json_object_set_new(root, "compare",
                            json_pack("{s:s, s:I, s:o, s:o, s:o, s:o}", "dets_b", o->compare_path,
                                      "samples", (json_int_t)paired->samples, "diff_map",
                                      jsonCi(&paired->diff_map), "diff_map50",
                                      jsonCi(&paired->diff_map50), "a_better_map",
                                      jsonReal(paired->a_better_map), "a_better_map50",
                                      jsonReal(paired->a_better_map50)));
    return root;
}

int vbCmdEval(int argc, char **argv)
{
    EvalOptions o = {0};
    int rc = parseEvalOptions(argc, argv, &o);
    if (rc != 0)
        return rc == 3 ? 0 : rc;

    rc = 1;
    vb_error err = {0};
    VbDataset *gt = NULL;
    VbCocoEval *ev = NULL, *ev_b = NULL;
    VbPrfResult prf = {0};
    VbBootstrapResult boot = {0};
    VbBootstrapPaired paired = {0};
    json_t *root = NULL;

    /* Load and evaluate, then derive P/R/F1 and the bootstrap intervals. */
    if (vbDatasetLoadCoco(o.gt_path, NULL, NULL, &gt, &err) != VB_OK) {
        if (err.status == VB_ERR_PARSE && !startsLikeJson(o.gt_path))
            vbCliError("%s: not COCO JSON; eval needs COCO JSON ground truth (images, "
                       "annotations, categories). For CSV, YOLO or VOC ground truth use "
                       "'visionbench run'", o.gt_path);
        else
            vbCliError("%s", err.message);
        goto done;
    }
    if ((ev = evaluateFile(gt, o.dets_path)) == NULL)
        goto done;
    if (o.compare_path != NULL && (ev_b = evaluateFile(gt, o.compare_path)) == NULL)
        goto done;
    if (vbPrfCompute(ev, o.conf, &prf, &err) != VB_OK ||
        vbBootstrapMap(ev, o.samples, o.seed, &boot, &err) != VB_OK ||
        (ev_b != NULL && vbBootstrapCompare(ev, ev_b, o.samples, o.seed, &paired, &err) != VB_OK)) {
        vbCliError("%s: %s", o.dets_path, err.message);
        goto done;
    }

    printReport(ev, &prf, &boot, ev_b ? &paired : NULL);

    if (o.json_path != NULL) {
        root = buildJson(&o, ev, &prf, &boot, ev_b ? &paired : NULL);
        if (root == NULL || json_dump_file(root, o.json_path, JSON_INDENT(1) | JSON_REAL_PRECISION(17)) != 0) {
            vbCliError("%s: cannot write the JSON report; check that the folder exists and is writable",
                       o.json_path);
            goto done;
        }
    }
    rc = 0;

done:
    json_decref(root);
    vbPrfResultClear(&prf);
    vbCocoEvalFree(ev);
    vbCocoEvalFree(ev_b);
    vbDatasetFree(gt);
    return rc;
}
