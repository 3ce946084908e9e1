/* Greedy-by-size best-fit offset planner for the activation arena. */
#include <stdlib.h>

#include "core/core.h"
#include "engine/plan.h"

/* An item index with its sort key: the aligned size or the offset. */
typedef struct SortEntry {
    size_t key;
    int index;
} SortEntry;

/* Larger first, then lower index first, so the plan is deterministic. */
static int compareBySizeDesc(const void *a, const void *b)
{
    const SortEntry *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? 1 : -1;
    return x->index - y->index;
}

/* Lower offset first. */
static int compareByOffset(const void *a, const void *b)
{
    const SortEntry *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->index - y->index;
}

static int roundUp(size_t value, size_t alignment, size_t *out)
{
    size_t sum;
    if (vbAddSize(value, alignment - 1, &sum))
        return 1;
    *out = sum & ~(alignment - 1);
    return 0;
}

vb_status vbGraphPlanArena(VbPlanItem *items, int count, size_t alignment, size_t max_bytes,
                           size_t *arena_bytes, vb_error *err)
{
    vb_status status = VB_OK;
    SortEntry *by_size = NULL;  /* [count] items in placement order */
    SortEntry *overlap = NULL;  /* [count] placed items whose lifetime overlaps the current one */
    size_t *sizes = NULL;       /* [count] aligned sizes */
    size_t total = 0;

    *arena_bytes = 0;
    if (alignment == 0 || (alignment & (alignment - 1)) != 0)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT, "alignment %zu is not a power of two",
                          alignment);
    if (count <= 0)
        return VB_OK;

    by_size = malloc((size_t)count * sizeof *by_size);
    overlap = malloc((size_t)count * sizeof *overlap);
    sizes = malloc((size_t)count * sizeof *sizes);
    if (by_size == NULL || overlap == NULL || sizes == NULL) {
        status = vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory planning %d tensors", count);
        goto done;
    }

    /* Align every size and sort the items largest first. */
    for (int i = 0; i < count; i++) {
        if (items[i].first > items[i].last) {
            status = vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                                "tensor %d is first used at step %d but last used at step %d", i,
                                items[i].first, items[i].last);
            goto done;
        }
        if (roundUp(items[i].size, alignment, &sizes[i]) || sizes[i] > max_bytes) {
            status = vbErrorSet(err, VB_ERR_LIMIT, "tensor %d needs %zu bytes, above the limit of %zu",
                                i, items[i].size, max_bytes);
            goto done;
        }
        by_size[i].key = sizes[i];
        by_size[i].index = i;
    }
    qsort(by_size, (size_t)count, sizeof *by_size, compareBySizeDesc);

    /* Place each item in the tightest gap among the placed items it overlaps in time. */
    for (int k = 0; k < count; k++) {
        int item = by_size[k].index;
        int overlap_count = 0;
        for (int j = 0; j < k; j++) {
            int other = by_size[j].index;
            if (items[other].first <= items[item].last && items[item].first <= items[other].last) {
                overlap[overlap_count].key = items[other].offset;
                overlap[overlap_count].index = other;
                overlap_count++;
            }
        }
        qsort(overlap, (size_t)overlap_count, sizeof *overlap, compareByOffset);

        size_t need = sizes[item];
        size_t best_offset = 0, best_gap = SIZE_MAX;
        int found = 0;
        size_t cursor = 0;  /* lowest free byte above the overlapping items seen so far */
        for (int j = 0; j < overlap_count; j++) {
            size_t start = overlap[j].key;
            size_t end = start + sizes[overlap[j].index];  /* fits: checked when it was placed */
            if (start >= cursor && start - cursor >= need && start - cursor < best_gap) {
                best_gap = start - cursor;
                best_offset = cursor;
                found = 1;
            }
            if (end > cursor)
                cursor = end;
        }
        if (!found)
            best_offset = cursor;

        size_t end;
        if (vbAddSize(best_offset, need, &end) || end > max_bytes) {
            status = vbErrorSet(err, VB_ERR_LIMIT,
                                "activation arena needs more than %zu bytes (tensor %d of %zu bytes)",
                                max_bytes, item, items[item].size);
            goto done;
        }
        items[item].offset = best_offset;
        if (end > total)
            total = end;
    }
    *arena_bytes = total;

done:
    free(by_size);
    free(overlap);
    free(sizes);
    return status;
}
