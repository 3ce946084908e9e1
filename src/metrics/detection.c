/* A growable, capped list of detections. */
#include <stdlib.h>

#include "core/core.h"
#include "metrics/detection.h"

vb_status vbDetectionListPush(VbDetectionList *list, const VbDetection *d, vb_error *err)
{
    if (list->count == list->capacity) {
        if (list->capacity >= VB_DETECTIONS_MAX)
            return vbErrorSet(err, VB_ERR_LIMIT, "more than %zu detections", VB_DETECTIONS_MAX);
        size_t cap = list->capacity ? list->capacity * 2 : 256;
        if (cap > VB_DETECTIONS_MAX)
            cap = VB_DETECTIONS_MAX;
        VbDetection *p = realloc(list->items, cap * sizeof *p);
        if (p == NULL)
            return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for %zu detections", cap);
        list->items = p;
        list->capacity = cap;
    }
    list->items[list->count++] = *d;
    return VB_OK;
}

void vbDetectionListFree(VbDetectionList *list)
{
    if (list == NULL)
        return;
    free(list->items);
    list->items = NULL;
    list->count = 0;
    list->capacity = 0;
}
