/* Detections in original-image pixels: what decoders produce and what evaluation consumes. */
#ifndef VB_DETECTION_H
#define VB_DETECTION_H

#include <stddef.h>
#include <stdint.h>

#include "visionbench/status.h"

/* One detection, COCO results convention: bbox x, y (top-left), w, h in
 * original-image pixels, category id in the dataset's label space. */
typedef struct VbDetection {
    int64_t image_id;
    int64_t category_id;
    double x, y, w, h;
    double score;
} VbDetection;

/* A growable list of detections with a hard cap on its length. */
typedef struct VbDetectionList {
    VbDetection *items;
    size_t count;
    size_t capacity;
} VbDetectionList;

#define VB_DETECTIONS_MAX ((size_t)50 * 1000 * 1000)

/* Appends d. Errors: VB_ERR_LIMIT past VB_DETECTIONS_MAX, VB_ERR_NO_MEMORY. */
vb_status vbDetectionListPush(VbDetectionList *list, const VbDetection *d, vb_error *err);
/* Frees the items and zeroes the list. Accepts NULL. */
void vbDetectionListFree(VbDetectionList *list);

#endif /* VB_DETECTION_H */
