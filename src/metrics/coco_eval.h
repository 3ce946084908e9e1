/* COCO bbox evaluation that reproduces pycocotools COCOeval (cocoapi 2.0) number for number. */
#ifndef VB_COCO_EVAL_H
#define VB_COCO_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "dataset/dataset.h"
#include "metrics/detection.h"
#include "visionbench/status.h"

#define VB_COCO_IOU_THRS_MAX 16
#define VB_COCO_REC_THRS 101 /* recall thresholds 0, 0.01, ..., 1 */
#define VB_COCO_AREAS 4      /* all, small, medium, large */
#define VB_COCO_MAX_DETS 3   /* 1, 10, 100 by default */
#define VB_COCO_STATS 12

/* Status of one kept detection at one (area range, IoU threshold). */
enum {
    VB_COCO_FP = 0,      /* unmatched, or matched to a GT whose id is 0 */
    VB_COCO_TP = 1,      /* matched to a non-ignored GT with a nonzero id */
    VB_COCO_IGNORED = 2  /* matched to an ignored GT, or unmatched and outside the area range */
};

/* Evaluation parameters, as pycocotools' Params for iouType "bbox". */
typedef struct VbCocoParams {
    double iou_thrs[VB_COCO_IOU_THRS_MAX]; /* ascending */
    int iou_thr_count;
    double rec_thrs[VB_COCO_REC_THRS];
    int max_dets[VB_COCO_MAX_DETS];          /* ascending; the last is the per-(image, category) cut */
    double area_rng[VB_COCO_AREAS][2];       /* inclusive [lo, hi] in square pixels */
} VbCocoParams;

/* Fills p with pycocotools' defaults: iouThrs = linspace(.5, .95, 10) and
 * recThrs = linspace(0, 1, 101) computed as numpy does (i * step + start,
 * last value set to the end point), maxDets 1/10/100, area ranges all
 * [0, 1e10], small [0, 1024], medium [1024, 9216], large [9216, 1e10]. */
void vbCocoParamsDefault(VbCocoParams *p);

/* Results for one GT category at area "all" and the last maxDets. Each AP is
 * the mean of the precision entries that are not -1, or -1 when none is. */
typedef struct VbCocoCategoryResult {
    int64_t id;
    const char *name;                    /* owned by the VbCocoEval */
    double ap;                           /* over every IoU threshold */
    double ap50;                         /* at IoU 0.5; -1 when 0.5 is not a threshold */
    double ap75;                         /* at IoU 0.75; -1 when 0.75 is not a threshold */
    double recall50;                     /* recall at IoU 0.5 */
    double pr50[VB_COCO_REC_THRS];       /* precision at each recall threshold, IoU 0.5 */
} VbCocoCategoryResult;

/* The detections of one (image, category) pair that has GT or detections. */
typedef struct VbCocoPair {
    uint32_t image;                  /* index into image_ids */
    uint32_t category;               /* index into category_ids */
    uint32_t det_start;              /* first kept detection in the det_* arrays */
    uint32_t det_count;              /* kept detections, at most the last maxDets */
    uint32_t npig[VB_COCO_AREAS];    /* non-ignored GT count per area range */
} VbCocoPair;

/* A finished evaluation: the inputs' index, the per-pair matches (kept so that
 * bootstrap and P/R/F1 can re-accumulate without matching again) and the
 * accumulated arrays in pycocotools' layout. */
typedef struct VbCocoEval {
    VbCocoParams params;
    size_t image_count;
    int64_t *image_ids;              /* sorted, unique */
    size_t category_count;
    int64_t *category_ids;           /* sorted, unique */
    char **category_names;

    VbCocoPair *pairs;               /* sorted by (category, image) */
    size_t pair_count;
    size_t *category_pair_start;     /* category_count + 1 offsets into pairs */

    /* Kept detections, grouped by pair, each pair in score order. */
    size_t det_count;
    double *det_score;
    uint32_t *det_pair;              /* index into pairs */
    uint32_t *det_rank;              /* position in its pair's score order */
    uint8_t *det_status;             /* [det][area][iou], VB_COCO_FP/TP/IGNORED */
    /* Per category, its kept detections in accumulate order: score
     * descending, ties by image id, then by rank. */
    uint32_t *det_order;             /* det_count entries */
    size_t *category_det_start;      /* category_count + 1 offsets into det_order */

    double *precision;               /* [T][R][K][A][M], -1 where undefined */
    double *recall;                  /* [T][K][A][M], -1 where undefined */
    double stats[VB_COCO_STATS];     /* COCOeval.stats order */
    VbCocoCategoryResult *per_category;
    size_t dropped_unknown_category; /* detections whose category is not in the GT */
} VbCocoEval;

/* Evaluates n detections against gt as pycocotools' COCOeval evaluate(),
 * accumulate() and summarize() do, with params (NULL: defaults). Images are
 * the GT images, categories the GT categories. GT annotations on other images
 * or categories are not used. Detections whose category is not a GT category
 * are dropped and counted in dropped_unknown_category; n == 0 is valid and
 * gives 0 for every category with GT. *out is set only on success and freed
 * with vbCocoEvalFree.
 * Errors: VB_ERR_INVALID_ARGUMENT for a detection on an image id not in the
 * GT (names the id and the detection index) or bad params, VB_ERR_LIMIT when
 * a count does not fit in 32 bits, VB_ERR_NO_MEMORY. */
vb_status vbCocoEvaluate(const VbDataset *gt, const VbDetection *dets, size_t n,
                         const VbCocoParams *params, VbCocoEval **out, vb_error *err);

/* Frees an evaluation. Accepts NULL. */
void vbCocoEvalFree(VbCocoEval *ev);

/* Allocates and fills ev->precision and ev->recall from the stored matches,
 * as COCOeval.accumulate does. Cells without GT stay -1. vbCocoEvaluate
 * runs this and vbCocoSummarize after matching. Errors: VB_ERR_LIMIT,
 * VB_ERR_NO_MEMORY. */
vb_status vbCocoAccumulate(VbCocoEval *ev, vb_error *err);
/* Fills ev->stats as COCOeval.summarize does and allocates
 * ev->per_category. Errors: VB_ERR_LIMIT, VB_ERR_NO_MEMORY. */
vb_status vbCocoSummarize(VbCocoEval *ev, vb_error *err);

/* Returns the label pycocotools prints for stats[i] (0 <= i < 12), such as
 * " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]". */
const char *vbCocoStatLabel(int i);

/* Reusable buffers for vbCocoResampleMap; zero-initialise, free with
 * vbCocoScratchFree. */
typedef struct VbCocoScratch {
    double *pr;                      /* precision after each TP, per IoU threshold */
    size_t pr_cap;
    double *precision;               /* [T][R][K] */
    double *values;
    size_t values_cap;
} VbCocoScratch;

void vbCocoScratchFree(VbCocoScratch *s);

/* Re-accumulates ev at area "all" and the last maxDets as if image i appeared
 * weight[i] times, and stores mAP@[.50:.95] in *map and mAP@.50 in *map50
 * (-1 when undefined). weight has image_count entries, and all ones
 * reproduces stats[0] and stats[1]. A repeated image's detections follow
 * each other in the score order. Errors: VB_ERR_NO_MEMORY, VB_ERR_LIMIT. */
vb_status vbCocoResampleMap(const VbCocoEval *ev, const uint32_t *weight, VbCocoScratch *s,
                            double *map, double *map50, vb_error *err);

/* Returns the mean of v[0..n) as numpy 1.24's np.mean computes it for a
 * contiguous float64 array (pairwise summation within chunks of 8192
 * elements, chunks added in order), or NaN for n == 0. */
double vbCocoMean(const double *v, size_t n);

/* Sorts idx[0..n) stably by score[idx[i]] descending, as numpy's
 * argsort(-score, kind="mergesort") orders. tmp has room for n entries. */
void vbCocoSortByScore(uint32_t *idx, uint32_t *tmp, size_t n, const double *score);

/* Parses a COCO results file: a JSON list of objects with image_id and
 * category_id (integers), bbox ([x, y, w, h] numbers) and score (a number).
 * Other keys are ignored. Appends to out. Errors: VB_ERR_NOT_FOUND or
 * VB_ERR_IO for the file, VB_ERR_PARSE naming the line and column of invalid
 * JSON, or the index and field of a malformed entry, VB_ERR_LIMIT past
 * VB_DETECTIONS_MAX entries. */
vb_status vbCocoResultsLoad(const char *path, VbDetectionList *out, vb_error *err);

/* Same as vbCocoResultsLoad for text already in memory; name labels errors. */
vb_status vbCocoResultsParse(const char *text, size_t len, const char *name, VbDetectionList *out,
                             vb_error *err);

#endif /* VB_COCO_EVAL_H */
