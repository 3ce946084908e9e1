/* Reading and resolving sliding-window attributes for Conv, MaxPool and AveragePool. */
#include "kernels/window.h"

#include <stdio.h>
#include <string.h>

#include "core/core.h"

/* Copies an INTS attribute of at most VB_WINDOW_MAX_RANK * per_axis values
 * into dst and stores its length in *count; an absent attribute gives 0. */
static vb_status readInts(const VbOnnxNode *node, const VbWindow *w, const char *name,
                          int per_axis, int64_t min_value, int64_t *dst, int *count, vb_error *err)
{
    int bad = 0, n = 0;
    const int64_t *values = vbOnnxAttrInts(node, name, &n, &bad);
    if (bad)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT, "%s node '%s': attribute %s must be a list of ints",
                          w->op, w->node, name);
    if (n > per_axis * VB_WINDOW_MAX_RANK)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED,
                          "%s node '%s': %s has %d values; only 1-D and 2-D windows are supported",
                          w->op, w->node, name, n);
    for (int i = 0; i < n; i++) {
        if (values[i] > VB_WINDOW_MAX_VALUE)
            return vbErrorSet(err, VB_ERR_LIMIT, "%s node '%s': %s[%d] is %lld, above the limit of %d",
                              w->op, w->node, name, i, (long long)values[i], VB_WINDOW_MAX_VALUE);
        if (values[i] < min_value)
            return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                              "%s node '%s': %s[%d] is %lld; it must be at least %lld", w->op,
                              w->node, name, i, (long long)values[i], (long long)min_value);
        dst[i] = values[i];
    }
    *count = n;
    return VB_OK;
}

vb_status vbWindowRead(const VbOnnxNode *node, int read_ceil, VbWindow *w, vb_error *err)
{
    memset(w, 0, sizeof *w);
    snprintf(w->node, sizeof w->node, "%s", node->name ? node->name : "");
    snprintf(w->op, sizeof w->op, "%s", node->op_type ? node->op_type : "");

    vb_status st = readInts(node, w, "kernel_shape", 1, 1, w->kernel, &w->kernel_count, err);
    if (st == VB_OK)
        st = readInts(node, w, "strides", 1, 1, w->strides, &w->stride_count, err);
    if (st == VB_OK)
        st = readInts(node, w, "dilations", 1, 1, w->dilations, &w->dilation_count, err);
    if (st == VB_OK)
        st = readInts(node, w, "pads", 2, 0, w->pads, &w->pad_count, err);
    if (st != VB_OK)
        return st;

    int bad = 0;
    const char *pad = vbOnnxAttrString(node, "auto_pad", "NOTSET", &bad);
    if (bad || pad == NULL)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT, "%s node '%s': auto_pad must be a string",
                          w->op, w->node);
    if (strcmp(pad, "NOTSET") == 0)
        w->auto_pad = VB_AUTO_PAD_NOTSET;
    else if (strcmp(pad, "SAME_UPPER") == 0)
        w->auto_pad = VB_AUTO_PAD_SAME_UPPER;
    else if (strcmp(pad, "SAME_LOWER") == 0)
        w->auto_pad = VB_AUTO_PAD_SAME_LOWER;
    else if (strcmp(pad, "VALID") == 0)
        w->auto_pad = VB_AUTO_PAD_VALID;
    else
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                          "%s node '%s': auto_pad '%s' is invalid; use NOTSET, SAME_UPPER, SAME_LOWER or VALID",
                          w->op, w->node, pad);
    if (w->auto_pad != VB_AUTO_PAD_NOTSET && w->pad_count > 0) {
        for (int i = 0; i < w->pad_count; i++) {
            if (w->pads[i] != 0)
                return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                                  "%s node '%s': pads and auto_pad '%s' are both set; keep one",
                                  w->op, w->node, pad);
        }
    }

    if (read_ceil) {
        int64_t ceil_mode = vbOnnxAttrInt(node, "ceil_mode", 0, &bad);
        if (bad || (ceil_mode != 0 && ceil_mode != 1))
            return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT, "%s node '%s': ceil_mode must be 0 or 1",
                              w->op, w->node);
        w->ceil_mode = (int)ceil_mode;
    }
    return VB_OK;
}

/* Checks that an attribute list is absent or has one value per spatial axis
 * (times per_axis). */
static vb_status checkCount(const VbWindow *w, const char *name, int count, int per_axis,
                            int spatial_rank, vb_error *err)
{
    if (count != 0 && count != per_axis * spatial_rank)
        return vbErrorSet(err, VB_ERR_SHAPE, "%s node '%s': %s has %d values but the input has %d spatial dims",
                          w->op, w->node, name, count, spatial_rank);
    return VB_OK;
}

vb_status vbWindowResolve(const VbWindow *w, int spatial_rank, const int64_t *in_dims,
                          const int64_t *kernel, VbWindowGeometry *g, vb_error *err)
{
    if (spatial_rank < 1 || spatial_rank > VB_WINDOW_MAX_RANK)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED,
                          "%s node '%s': %d spatial dims are not supported; only 1-D and 2-D inputs are",
                          w->op, w->node, spatial_rank);
    vb_status st = checkCount(w, "kernel_shape", w->kernel_count, 1, spatial_rank, err);
    if (st == VB_OK)
        st = checkCount(w, "strides", w->stride_count, 1, spatial_rank, err);
    if (st == VB_OK)
        st = checkCount(w, "dilations", w->dilation_count, 1, spatial_rank, err);
    if (st == VB_OK)
        st = checkCount(w, "pads", w->pad_count, 2, spatial_rank, err);
    if (st != VB_OK)
        return st;
    if (kernel == NULL && w->kernel_count == 0)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT, "%s node '%s': kernel_shape is missing",
                          w->op, w->node);

    /* A 1-D window is a 2-D window of height 1 (axis 0 is the unit axis). */
    int first = VB_WINDOW_MAX_RANK - spatial_rank;
    for (int a = 0; a < VB_WINDOW_MAX_RANK; a++) {
        g->in[a] = 1;
        g->kernel[a] = 1;
        g->stride[a] = 1;
        g->dilation[a] = 1;
        g->pad_begin[a] = 0;
        g->pad_end[a] = 0;
    }
    for (int i = 0; i < spatial_rank; i++) {
        int a = first + i;
        g->in[a] = in_dims[i];
        g->kernel[a] = kernel ? kernel[i] : w->kernel[i];
        if (kernel && w->kernel_count && w->kernel[i] != kernel[i])
            return vbErrorSet(err, VB_ERR_SHAPE,
                              "%s node '%s': kernel_shape[%d] is %lld but the weights have %lld",
                              w->op, w->node, i, (long long)w->kernel[i], (long long)kernel[i]);
        if (w->stride_count)
            g->stride[a] = w->strides[i];
        if (w->dilation_count)
            g->dilation[a] = w->dilations[i];
        if (w->pad_count) {
            g->pad_begin[a] = w->pads[i];
            g->pad_end[a] = w->pads[spatial_rank + i];
        }
    }

    /* Output size per axis; SAME and VALID compute their own pads. */
    for (int a = 0; a < VB_WINDOW_MAX_RANK; a++) {
        int64_t in = g->in[a], s = g->stride[a];
        int64_t span = (g->kernel[a] - 1) * g->dilation[a] + 1;
        if (w->auto_pad == VB_AUTO_PAD_SAME_UPPER || w->auto_pad == VB_AUTO_PAD_SAME_LOWER) {
            int64_t out = (in + s - 1) / s;
            int64_t total = (out - 1) * s + span - in;
            if (total < 0)
                total = 0;
            g->pad_begin[a] = w->auto_pad == VB_AUTO_PAD_SAME_UPPER ? total / 2 : total - total / 2;
            g->pad_end[a] = total - g->pad_begin[a];
            g->out[a] = out;
            continue;
        }
        if (w->auto_pad == VB_AUTO_PAD_VALID) {
            g->pad_begin[a] = 0;
            g->pad_end[a] = 0;
        }
        int64_t padded = in + g->pad_begin[a] + g->pad_end[a];
        if (padded < span)
            return vbErrorSet(err, VB_ERR_SHAPE,
                              "%s node '%s': spatial dim %d is %lld (%lld with pads), smaller than the dilated kernel %lld",
                              w->op, w->node, a - first, (long long)in, (long long)padded, (long long)span);
        int64_t out = (padded - span) / s + 1;
        /* ceil_mode adds a last partial window only when it starts inside
         * the input or the begin padding. */
        if (w->ceil_mode && (padded - span) % s != 0 && (out * s) < in + g->pad_begin[a])
            out++;
        g->out[a] = out;
    }
    return VB_OK;
}

void vbWindowValidRange(int64_t out, int64_t in, int64_t stride, int64_t offset, int64_t *lo,
                        int64_t *hi)
{
    /* o * stride + offset >= 0  <=>  o >= ceil(-offset / stride) */
    int64_t first = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
    /* o * stride + offset <= in - 1  <=>  o <= floor((in - 1 - offset) / stride) */
    int64_t last = in - 1 - offset < 0 ? -1 : (in - 1 - offset) / stride;
    if (last >= out)
        last = out - 1;
    *lo = first;
    *hi = last + 1 > first ? last + 1 : first;
}
