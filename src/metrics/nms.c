/* Greedy non-maximum suppression: sort by score, then keep boxes that no kept box overlaps. */
#include <math.h>
#include <stdlib.h>

#include "core/core.h"
#include "metrics/nms.h"

void vbNmsOptionsInit(VbNmsOptions *options)
{
    options->iou_threshold = 0.7f;
    options->class_agnostic = 0;
    options->max_output = 300;
    options->max_input = 30000;
}

static float boxArea(const VbNmsBox *b)
{
    float w = b->x2 - b->x1, h = b->y2 - b->y1;
    if (w <= 0 || h <= 0)
        return 0;
    return w * h;
}

float vbNmsIou(const VbNmsBox *a, const VbNmsBox *b)
{
    float ix1 = a->x1 > b->x1 ? a->x1 : b->x1;
    float iy1 = a->y1 > b->y1 ? a->y1 : b->y1;
    float ix2 = a->x2 < b->x2 ? a->x2 : b->x2;
    float iy2 = a->y2 < b->y2 ? a->y2 : b->y2;
    float iw = ix2 - ix1, ih = iy2 - iy1;
    if (iw <= 0 || ih <= 0)
        return 0;
    float inter = iw * ih;
    float uni = boxArea(a) + boxArea(b) - inter;
    if (!(uni > 0))
        return 0;
    return inter / uni;
}

/* Sort key: score descending, then index ascending. */
typedef struct ScoredIndex {
    float score;
    size_t index;
} ScoredIndex;

static int compareScored(const void *pa, const void *pb)
{
    const ScoredIndex *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    if (a->index != b->index)
        return a->index < b->index ? -1 : 1;
    return 0;
}

vb_status vbNms(const VbNmsBox *boxes, size_t count, const VbNmsOptions *options, size_t *keep,
                size_t *keep_count, vb_error *err)
{
    ScoredIndex *order = NULL;
    size_t n = 0, kept = 0;

    if (keep_count != NULL)
        *keep_count = 0;
    if (count == 0)
        return VB_OK;
    if (boxes == NULL || options == NULL || keep == NULL || keep_count == NULL)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT, "NMS: NULL argument with %zu boxes",
                          count);

    /* Step 1: order candidates (NaN scores dropped). */
    order = malloc(count * sizeof *order);
    if (order == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "NMS: out of memory for %zu boxes", count);
    for (size_t i = 0; i < count; i++) {
        if (isnan(boxes[i].score))
            continue;
        order[n].score = boxes[i].score;
        order[n].index = i;
        n++;
    }
    qsort(order, n, sizeof *order, compareScored);
    if (options->max_input > 0 && n > options->max_input)
        n = options->max_input;

    /* Step 2: keep each candidate that no kept box suppresses. */
    for (size_t i = 0; i < n; i++) {
        const VbNmsBox *cand = &boxes[order[i].index];
        int suppressed = 0;
        if (options->max_output > 0 && kept >= options->max_output)
            break;
        for (size_t k = 0; k < kept && !suppressed; k++) {
            const VbNmsBox *other = &boxes[keep[k]];
            if (!options->class_agnostic && other->class_id != cand->class_id)
                continue;
            if (vbNmsIou(cand, other) > options->iou_threshold)
                suppressed = 1;
        }
        if (!suppressed)
            keep[kept++] = order[i].index;
    }
    *keep_count = kept;
    free(order);
    return VB_OK;
}
