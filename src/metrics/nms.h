/* Greedy non-maximum suppression with a deterministic order and caps on input and output. */
#ifndef VB_METRICS_NMS_H
#define VB_METRICS_NMS_H

#include <stddef.h>

#include "visionbench/status.h"

/* One candidate box: corners in any pixel space (x1 <= x2, y1 <= y2 expected;
 * inverted boxes have zero area), a score and a class index. */
typedef struct VbNmsBox {
    float x1, y1, x2, y2;
    float score;
    int class_id;
} VbNmsBox;

typedef struct VbNmsOptions {
    float iou_threshold;   /* a box is suppressed when its IoU with a kept box is > this */
    int class_agnostic;    /* 0: only boxes of the same class suppress each other */
    size_t max_output;     /* keep at most this many boxes (0: no cap) */
    size_t max_input;      /* consider only the top this many by score (0: no cap) */
} VbNmsOptions;

/* Sets the defaults used for mAP evaluation: IoU 0.7, per class, 300 kept,
 * 30000 considered (the Ultralytics validation settings). */
void vbNmsOptionsInit(VbNmsOptions *options);

/* Runs greedy NMS over boxes[0..count-1]. Candidates are visited by score,
 * highest first, ties broken by lower index, so the result never depends on
 * the sort implementation. A candidate is kept unless a kept box (of the
 * same class unless class_agnostic) overlaps it with IoU > iou_threshold.
 * IoU is computed in float as torchvision.ops.nms does. NaN scores are
 * dropped. Writes the kept indexes, in visiting order, to keep (room for
 * min(count, max_output) entries, or count when max_output is 0) and their
 * number to *keep_count. Work is O(n log n) for the sort plus O(n * kept)
 * for suppression, so max_output bounds it.
 * Errors: VB_ERR_INVALID_ARGUMENT (NULL with count > 0), VB_ERR_NO_MEMORY. */
vb_status vbNms(const VbNmsBox *boxes, size_t count, const VbNmsOptions *options, size_t *keep,
                size_t *keep_count, vb_error *err);

/* Returns the IoU of two boxes in float, 0 when the union is empty. */
float vbNmsIou(const VbNmsBox *a, const VbNmsBox *b);

#endif /* VB_METRICS_NMS_H */
