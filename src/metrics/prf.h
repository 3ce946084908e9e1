/* Precision, recall and F1 at IoU 0.5 from the matches of a COCO evaluation. */
#ifndef VB_PRF_H
#define VB_PRF_H

#include <stddef.h>
#include <stdint.h>

#include "metrics/coco_eval.h"

/* Counts and rates for one class or for all classes together. precision is
 * 0 without detections, recall 0 without GT, f1 0 when both are 0. */
typedef struct VbPrf {
    uint64_t tp;
    uint64_t fp;
    uint64_t npos;      /* non-crowd GT boxes */
    double precision;   /* tp / (tp + fp) */
    double recall;      /* tp / npos */
    double f1;          /* 2 * precision * recall / (precision + recall) */
} VbPrf;

/* P/R/F1 at one confidence threshold. */
typedef struct VbPrfPoint {
    double threshold;   /* detections with score >= threshold count */
    VbPrf micro;        /* TP, FP and GT summed over classes */
    double macro_precision; /* means over the classes that have GT */
    double macro_recall;
    double macro_f1;
    VbPrf *per_class;   /* category_count entries, in the evaluation's category order */
} VbPrfPoint;

typedef struct VbPrfResult {
    size_t class_count;
    VbPrfPoint at_threshold; /* at the requested threshold */
    VbPrfPoint best;         /* at the threshold that maximises micro F1 */
} VbPrfResult;

/* Computes P/R/F1 from ev's matches at IoU 0.5, area "all" and the last
 * maxDets (100 by default) per image and category. A kept detection is a TP
 * when COCO matching paired it with a non-crowd GT. It is an FP when it
 * matched nothing, or a GT with id 0 as pycocotools counts it. It is left
 * out when it matched a crowd region. best.threshold is the detection score that
 * maximises micro F1 over every distinct score (the highest such score on a
 * tie), or threshold itself when there are no detections. out is filled on
 * success; free with vbPrfResultClear.
 * Errors: VB_ERR_INVALID_ARGUMENT when 0.5 is not an IoU threshold of ev,
 * VB_ERR_NO_MEMORY. */
vb_status vbPrfCompute(const VbCocoEval *ev, double threshold, VbPrfResult *out, vb_error *err);

/* Frees the per-class arrays and zeroes r. Accepts NULL. */
void vbPrfResultClear(VbPrfResult *r);

#endif /* VB_PRF_H */
