/* Offset planning for the activation arena: tensors whose lifetimes overlap never share bytes. */
#ifndef VB_PLAN_H
#define VB_PLAN_H

#include <stddef.h>

#include "visionbench/status.h"

/* One tensor to place. first and last are the execution steps (inclusive)
 * between which the tensor must keep its bytes: its producer's step and its
 * last consumer's step. */
typedef struct VbPlanItem {
    size_t size;    /* bytes; 0 is allowed and gets a valid offset */
    int first;
    int last;
    size_t offset;  /* output: byte offset in the arena, a multiple of the alignment */
} VbPlanItem;

/* Assigns an offset to every item so that items with overlapping lifetimes do
 * not overlap in memory, and stores the arena size in *arena_bytes. Greedy
 * by size: the largest item is placed first, each at the smallest gap between
 * already placed, lifetime-overlapping items that fits it (best fit), or
 * above them all. alignment must be a power of two; offsets and sizes are
 * rounded up to it. Fails with VB_ERR_LIMIT when the arena would exceed
 * max_bytes or overflow size_t, VB_ERR_INVALID_ARGUMENT for a bad alignment
 * or first > last, VB_ERR_NO_MEMORY. count 0 gives an arena of 0 bytes.
 * NOTE: the cost is O(count^2 log count), fine for the few thousand tensors
 * of vision models. */
vb_status vbGraphPlanArena(VbPlanItem *items, int count, size_t alignment, size_t max_bytes,
                           size_t *arena_bytes, vb_error *err);

#endif /* VB_PLAN_H */
