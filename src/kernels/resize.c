/* Resize (opsets 10 to 19) and Upsample (7, 9) on float32: nearest, linear and cubic, any rank, as separable per-axis passes. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "engine/op.h"
#include "kernels/parallel.h"

enum { MODE_NEAREST, MODE_LINEAR, MODE_CUBIC };
enum {
    COORD_HALF_PIXEL,
    COORD_HALF_PIXEL_SYMMETRIC,
    COORD_PYTORCH_HALF_PIXEL,
    COORD_ALIGN_CORNERS,
    COORD_ASYMMETRIC,
    COORD_TF_HALF_PIXEL_FOR_NN,
    COORD_TF_CROP_AND_RESIZE
};
/* NEAREST_SIMPLE is the rule before Resize-11 (Resize-10, Upsample): floor
 * when an axis grows, ceil when it shrinks, as ONNX Runtime does. */
enum { NEAREST_ROUND_PREFER_FLOOR, NEAREST_ROUND_PREFER_CEIL, NEAREST_FLOOR, NEAREST_CEIL, NEAREST_SIMPLE };
enum { KEEP_STRETCH, KEEP_NOT_LARGER, KEEP_NOT_SMALLER };

typedef struct ResizeParams {
    char node[96];
    int opset;
    int upsample;             /* the op is Upsample */
    int mode, coord, nearest, keep_aspect;
    float cubic_a;
    int exclude_outside;
    float extrapolation;
    int axis_count;           /* 0: scales and sizes cover every axis */
    int64_t axes[VB_MAX_RANK];
    int attr_scale_count;     /* Upsample-7: scales given as an attribute */
    float attr_scales[VB_MAX_RANK];
} ResizeParams;

/* One axis of a resolved resize. */
typedef struct ResizeAxis {
    int64_t in, out;
    double scale;             /* out / in as the coordinate formulas use it */
    double out_length;        /* length_resized: scale * in, or the size given */
    double roi_start, roi_end;
} ResizeAxis;

/* Per-axis sampling table: output index j reads taps input indices
 * idx[j*taps ..] with weights w[j*taps ..]; outside[j] nonzero means the
 * extrapolation value (tf_crop_and_resize). */
typedef struct AxisTable {
    int taps;
    int32_t *idx;
    float *w;
    uint8_t *outside;
    int identity;             /* every output j copies input j */
} AxisTable;

static int matchString(const char *s, const char *const *names, int count)
{
    for (int i = 0; i < count; i++) {
        if (strcmp(s, names[i]) == 0)
            return i;
    }
    return -1;
}

/* Reads a string attribute that must be one of names; stores its index. */
static vb_status readChoice(const VbOnnxNode *node, const char *attr, const char *fallback,
                            const char *const *names, int count, int *out, vb_error *err)
{
    int bad = 0;
    const char *s = vbOnnxAttrString(node, attr, fallback, &bad);
    int i = bad || s == NULL ? -1 : matchString(s, names, count);
    if (i < 0)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED, "%s node '%s': %s '%s' is not supported", node->op_type,
                          node->name, attr, bad || s == NULL ? "(not a string)" : s);
    *out = i;
    return VB_OK;
}

static vb_status resizePrepareCommon(const VbOnnxNode *node, int opset, int upsample, void **params,
                                     vb_error *err)
{
    static const char *const modes[] = {"nearest", "linear", "cubic", "bilinear"};
    static const char *const coords[] = {"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel",
                                         "align_corners", "asymmetric", "tf_half_pixel_for_nn",
                                         "tf_crop_and_resize"};
    static const char *const nearests[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    static const char *const policies[] = {"stretch", "not_larger", "not_smaller"};
    ResizeParams *p = calloc(1, sizeof *p);
    if (p == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "%s node '%s': out of memory", node->op_type, node->name);
    snprintf(p->node, sizeof p->node, "%s", node->name ? node->name : "");
    p->opset = opset;
    p->upsample = upsample;
    int bad = 0;

    /* mode; "bilinear" is Upsample-7's spelling of linear */
    vb_status st = readChoice(node, "mode", "nearest", modes, 4, &p->mode, err);
    if (st != VB_OK)
        goto done;
    if (p->mode == 3)
        p->mode = MODE_LINEAR;
    if (p->mode == MODE_CUBIC && (upsample || opset < 11)) {
        st = vbErrorSet(err, VB_ERR_INVALID_ARGUMENT, "%s node '%s': mode 'cubic' needs Resize opset 11 or later",
                        node->op_type, node->name);
        goto done;
    }

    if (upsample || opset < 11) {
        p->coord = COORD_ASYMMETRIC;
        p->nearest = NEAREST_SIMPLE;
    } else {
        st = readChoice(node, "coordinate_transformation_mode", "half_pixel", coords, 7, &p->coord, err);
        if (st == VB_OK)
            st = readChoice(node, "nearest_mode", "round_prefer_floor", nearests, 4, &p->nearest, err);
        if (st == VB_OK)
            st = readChoice(node, "keep_aspect_ratio_policy", "stretch", policies, 3, &p->keep_aspect, err);
        if (st != VB_OK)
            goto done;
        if (p->coord == COORD_HALF_PIXEL_SYMMETRIC && opset < 19) {
            st = vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                            "Resize node '%s': half_pixel_symmetric needs opset 19 (the model imports %d)",
                            node->name, opset);
            goto done;
        }
        p->cubic_a = vbOnnxAttrFloat(node, "cubic_coeff_a", -0.75f, &bad);
        p->exclude_outside = (int)vbOnnxAttrInt(node, "exclude_outside", 0, &bad);
        p->extrapolation = vbOnnxAttrFloat(node, "extrapolation_value", 0.0f, &bad);
        if (vbOnnxAttrInt(node, "antialias", 0, &bad) != 0) {
            st = vbErrorSet(err, VB_ERR_UNSUPPORTED, "Resize node '%s': antialias=1 is not supported; only 0 is",
                            node->name);
            goto done;
        }
        int count = 0;
        const int64_t *axes = vbOnnxAttrInts(node, "axes", &count, &bad);
        if (count > VB_MAX_RANK) {
            st = vbErrorSet(err, VB_ERR_UNSUPPORTED, "Resize node '%s': %d axes exceed the maximum rank %d",
                            node->name, count, VB_MAX_RANK);
            goto done;
        }
        p->axis_count = count;
        if (count)
            memcpy(p->axes, axes, sizeof(int64_t) * (size_t)count);
    }
    if (upsample && opset < 9) {
        int count = 0;
        const float *scales = vbOnnxAttrFloats(node, "scales", &count, &bad);
        if (count < 1 || count > VB_MAX_RANK) {
            st = vbErrorSet(err, VB_ERR_INVALID_ARGUMENT, "Upsample node '%s': attribute scales is missing",
                            node->name);
            goto done;
        }
        p->attr_scale_count = count;
        memcpy(p->attr_scales, scales, sizeof(float) * (size_t)count);
    }
    if (bad) {
        st = vbErrorSet(err, VB_ERR_INVALID_ARGUMENT, "%s node '%s': an attribute has the wrong type",
                        node->op_type, node->name);
        goto done;
    }
    *params = p;
    p = NULL;
done:
    free(p);
    return st;
}

static vb_status resizePrepare(const VbOnnxNode *node, int opset, void **params, vb_error *err)
{
    return resizePrepareCommon(node, opset, 0, params, err);
}

static vb_status upsamplePrepare(const VbOnnxNode *node, int opset, void **params, vb_error *err)
{
    return resizePrepareCommon(node, opset, 1, params, err);
}

static void resizeRelease(void *params)
{
    free(params);
}

/* Returns the input at index i when it is present and not empty, else NULL. */
static const vb_tensor *optionalInput(const vb_tensor *const *in, int n_in, int i)
{
    if (i >= n_in || in[i] == NULL || vbTensorCount(in[i]) == 0)
        return NULL;
    return in[i];
}

/* Resolves every axis from X and the scales/sizes/roi inputs. Fails with
 * VB_ERR_UNSUPPORTED when one of those is not a constant. */
static vb_status resizeResolve(const ResizeParams *p, const vb_tensor *const *in, int n_in,
                               ResizeAxis *ax, vb_error *err)
{
    const char *op = p->upsample ? "Upsample" : "Resize";
    if (n_in < 1 || in[0] == NULL)
        return vbErrorSet(err, VB_ERR_SHAPE, "%s node '%s': input X is required", op, p->node);
    const vb_tensor *x = in[0];
    if (x->dtype != VB_DTYPE_FLOAT32)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED, "%s node '%s': input type %s is not supported; only float32 is",
                          op, p->node, vb_dtype_to_string(x->dtype));
    int rank = x->rank;
    if (rank < 1)
        return vbErrorSet(err, VB_ERR_SHAPE, "%s node '%s': input X must have rank >= 1", op, p->node);

    /* Which inputs carry what, by op and opset. */
    const vb_tensor *roi = NULL, *scales = NULL, *sizes = NULL;
    if (p->upsample || p->opset < 11) {
        scales = optionalInput(in, n_in, 1);
        if (p->attr_scale_count == 0 && scales == NULL)
            return vbErrorSet(err, VB_ERR_SHAPE, "%s node '%s': input scales is missing", op, p->node);
    } else {
        roi = optionalInput(in, n_in, 1);
        scales = optionalInput(in, n_in, 2);
        sizes = optionalInput(in, n_in, 3);
        if ((scales == NULL) == (sizes == NULL))
            return vbErrorSet(err, VB_ERR_SHAPE, "Resize node '%s': give exactly one of scales and sizes", p->node);
    }
    const vb_tensor *target = scales ? scales : sizes;
    const char *missing = NULL;
    if (roi && p->coord == COORD_TF_CROP_AND_RESIZE && roi->data == NULL)
        missing = "roi";
    if (target && target->data == NULL)
        missing = scales ? "scales" : "sizes";
    if (missing)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED,
                          "%s node '%s' requires a constant %s input",
                          op, p->node, missing);
    if ((scales && scales->dtype != VB_DTYPE_FLOAT32) || (sizes && sizes->dtype != VB_DTYPE_INT64) ||
        (roi && p->coord == COORD_TF_CROP_AND_RESIZE && roi->dtype != VB_DTYPE_FLOAT32))
        return vbErrorSet(err, VB_ERR_UNSUPPORTED, "%s node '%s': scales and roi must be float32, sizes int64",
                          op, p->node);

    /* axes: the resized axes, in the order scales, sizes and roi list them */
    int axis_count = p->axis_count ? p->axis_count : rank;
    int axes[VB_MAX_RANK];
    int seen[VB_MAX_RANK] = {0};
    for (int i = 0; i < axis_count; i++) {
        int64_t a = p->axis_count ? p->axes[i] : i;
        if (a < 0)
            a += rank;
        if (a < 0 || a >= rank || seen[a])
            return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT, "Resize node '%s': axes[%d] is out of range or repeated for rank %d",
                              p->node, i, rank);
        seen[a] = 1;
        axes[i] = (int)a;
    }
    size_t want = (size_t)axis_count;
    size_t have = p->attr_scale_count ? (size_t)p->attr_scale_count : vbTensorCount(target);
    if (have != want)
        return vbErrorSet(err, VB_ERR_SHAPE, "%s node '%s': %s has %zu values but %zu axes are resized",
                          op, p->node, sizes ? "sizes" : "scales", have, want);
    if (roi && p->coord == COORD_TF_CROP_AND_RESIZE && vbTensorCount(roi) != 2 * want)
        return vbErrorSet(err, VB_ERR_SHAPE, "Resize node '%s': roi has %zu values; it needs %zu",
                          p->node, vbTensorCount(roi), 2 * want);

    for (int a = 0; a < rank; a++) {
        ax[a].in = x->dims[a];
        ax[a].out = x->dims[a];
        ax[a].scale = 1.0;
        ax[a].out_length = (double)x->dims[a];
        ax[a].roi_start = 0.0;
        ax[a].roi_end = 1.0;
    }

    /* keep_aspect_ratio_policy picks one scale for every resized axis. */
    double policy_scale = 0.0;
    if (sizes && p->keep_aspect != KEEP_STRETCH) {
        for (int i = 0; i < axis_count; i++) {
            double s = (double)((const int64_t *)sizes->data)[i] / (double)x->dims[axes[i]];
            if (i == 0 || (p->keep_aspect == KEEP_NOT_LARGER ? s < policy_scale : s > policy_scale))
                policy_scale = s;
        }
    }
    for (int i = 0; i < axis_count; i++) {
        ResizeAxis *r = &ax[axes[i]];
        if (sizes && p->keep_aspect != KEEP_STRETCH) {
            r->scale = policy_scale;
            r->out = (int64_t)(policy_scale * (double)r->in + 0.5);
            r->out_length = policy_scale * (double)r->in;
        } else if (sizes) {
            r->out = ((const int64_t *)sizes->data)[i];
            r->scale = r->in > 0 ? (double)r->out / (double)r->in : 1.0;
            r->out_length = (double)r->out;
        } else {
            double s = p->attr_scale_count ? p->attr_scales[i] : ((const float *)scales->data)[i];
            if (!(s > 0.0) || s > 1e6)
                return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT, "%s node '%s': scale %g for axis %d is invalid; it must be > 0",
                                  op, p->node, s, axes[i]);
            r->scale = s;
            r->out = (int64_t)floor(s * (double)r->in);
            r->out_length = s * (double)r->in;
        }
        if (r->out < 0 || (r->in == 0 && r->out > 0))
            return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                              "Resize node '%s': size %lld for axis %d is invalid for an input of %lld",
                              p->node, (long long)r->out, axes[i], (long long)r->in);
        if (roi && p->coord == COORD_TF_CROP_AND_RESIZE) {
            r->roi_start = ((const float *)roi->data)[i];
            r->roi_end = ((const float *)roi->data)[axis_count + i];
        }
    }

    /* The output and the intermediate buffers must stay addressable. */
    size_t total = 1, larger = 1;
    for (int a = 0; a < rank; a++) {
        size_t side = (size_t)(ax[a].in > ax[a].out ? ax[a].in : ax[a].out);
        if (ax[a].out > INT32_MAX || vbMulSize(total, (size_t)ax[a].out, &total) ||
            vbMulSize(larger, side, &larger) || larger > SIZE_MAX / 64)
            return vbErrorSet(err, VB_ERR_LIMIT, "%s node '%s': the output is too large", op, p->node);
    }
    return VB_OK;
}

/* Maps output coordinate x of axis r to the input coordinate (the ONNX
 * coordinate_transformation_mode formulas, computed in double). */
static double originalCoordinate(int coord, double x, const ResizeAxis *r)
{
    double in = (double)r->in;
    switch (coord) {
    case COORD_HALF_PIXEL:
        return (x + 0.5) / r->scale - 0.5;
    case COORD_HALF_PIXEL_SYMMETRIC: {
        double adjustment = (double)r->out / r->out_length;
        double offset = in / 2.0 * (1.0 - adjustment);
        return offset + (x + 0.5) / r->scale - 0.5;
    }
    case COORD_PYTORCH_HALF_PIXEL:
        return r->out > 1 ? (x + 0.5) / r->scale - 0.5 : 0.0;
    case COORD_ALIGN_CORNERS:
        return r->out_length == 1.0 ? 0.0 : x * (in - 1.0) / (r->out_length - 1.0);
    case COORD_ASYMMETRIC:
        return x / r->scale;
    case COORD_TF_HALF_PIXEL_FOR_NN:
        return (x + 0.5) / r->scale;
    case COORD_TF_CROP_AND_RESIZE:
        if (r->out_length == 1.0)
            return (r->roi_end - r->roi_start) * (in - 1.0) / 2.0 + r->roi_start * (in - 1.0);
        return x * (r->roi_end - r->roi_start) * (in - 1.0) / (r->out_length - 1.0) +
               r->roi_start * (in - 1.0);
    }
    return x;
}

static int64_t clampIndex(int64_t i, int64_t in)
{
    if (i < 0)
        return 0;
    if (i >= in)
        return in - 1;
    return i;
}

/* Returns the samples each output reads per axis: 1, 2 or 4. */
static int tapCount(int mode)
{
    if (mode == MODE_NEAREST)
        return 1;
    if (mode == MODE_LINEAR)
        return 2;
    return 4;
}

/* Returns the input index nearest to coordinate c under the nearest mode. */
static int64_t nearestIndex(const ResizeParams *p, double c, const ResizeAxis *r)
{
    double f = floor(c), frac = c - f;
    int64_t i = (int64_t)f;
    if (frac == 0.0)
        return i;
    switch (p->nearest) {
    case NEAREST_ROUND_PREFER_FLOOR: return frac <= 0.5 ? i : i + 1;
    case NEAREST_ROUND_PREFER_CEIL: return frac < 0.5 ? i : i + 1;
    case NEAREST_FLOOR: return i;
    case NEAREST_CEIL: return i + 1;
    default: return r->scale < 1.0 ? i + 1 : i;
    }
}

/* Fills weights w[4] for cubic interpolation at fraction t in (0, 1] between
 * taps 1 and 2 (Keys' kernel with coefficient a). */
static void cubicWeights(double t, double a, double *w)
{
    double s = t + 1.0, u = 1.0 - t, v = 2.0 - t;
    w[0] = ((a * s - 5.0 * a) * s + 8.0 * a) * s - 4.0 * a;
    w[1] = ((a + 2.0) * t - (a + 3.0)) * t * t + 1.0;
    w[2] = ((a + 2.0) * u - (a + 3.0)) * u * u + 1.0;
    w[3] = ((a * v - 5.0 * a) * v + 8.0 * a) * v - 4.0 * a;
}

/* Fills table t for axis r. Linear and cubic taps around coordinate c start
 * at floor(c), or c - 1 when c is a whole number, so the fraction lies in
 * (0, 1]. Taps past the edges repeat the edge sample (exclude_outside
 * instead drops them and renormalizes the rest).
 * NOTE: repeating the edge matches the ONNX reference only for coordinates
 * within two samples of the input. Every mode but tf_crop_and_resize keeps
 * to that range, and tf_crop_and_resize returns the extrapolation value
 * outside it. */
static void buildTable(const ResizeParams *p, const ResizeAxis *r, AxisTable *t)
{
    t->taps = tapCount(p->mode);
    t->identity = r->in == r->out;
    for (int64_t j = 0; j < r->out; j++) {
        double c = originalCoordinate(p->coord, (double)j, r);
        int32_t *idx = t->idx + j * t->taps;
        float *w = t->w + j * t->taps;
        t->outside[j] = p->coord == COORD_TF_CROP_AND_RESIZE && (c < 0.0 || c > (double)(r->in - 1));

        if (p->mode == MODE_NEAREST) {
            idx[0] = (int32_t)clampIndex(nearestIndex(p, c, r), r->in);
            w[0] = 1.0f;
            if (idx[0] != j || t->outside[j])
                t->identity = 0;
            continue;
        }

        double base = floor(c);
        if (base == c)
            base -= 1.0;
        double frac = c - base;
        double weights[4];
        int64_t first;
        if (p->mode == MODE_LINEAR) {
            weights[0] = 1.0 - frac;
            weights[1] = frac;
            first = (int64_t)base;
        } else {
            cubicWeights(frac, p->cubic_a, weights);
            first = (int64_t)base - 1;
        }
        double sum = 0.0;
        for (int k = 0; k < t->taps; k++) {
            int64_t i = first + k;
            if (p->exclude_outside && (i < 0 || i >= r->in))
                weights[k] = 0.0;
            sum += weights[k];
        }
        int copies_j = 0, mixes = 0;
        for (int k = 0; k < t->taps; k++) {
            idx[k] = (int32_t)clampIndex(first + k, r->in);
            w[k] = (float)(p->exclude_outside && sum != 0.0 ? weights[k] / sum : weights[k]);
            if (w[k] == 1.0f && idx[k] == j)
                copies_j = 1;
            else if (w[k] != 0.0f)
                mixes = 1;
        }
        if (!copies_j || mixes || t->outside[j])
            t->identity = 0;
    }
}

/* Byte size of the tables for every axis, each part 64-byte aligned. */
static size_t tableBytes(const ResizeParams *p, const ResizeAxis *ax, int rank)
{
    int taps = tapCount(p->mode);
    size_t bytes = 0;
    for (int a = 0; a < rank; a++) {
        size_t n = (size_t)ax[a].out * (size_t)taps;
        bytes += ((n * 4 + 63) & ~(size_t)63) * 2 + (((size_t)ax[a].out + 63) & ~(size_t)63);
    }
    return bytes;
}

/* Float count of the largest intermediate tensor of the separable passes. */
static size_t bufferFloats(const ResizeAxis *ax, int rank)
{
    size_t n = 1;
    for (int a = 0; a < rank; a++)
        n *= (size_t)(ax[a].in > ax[a].out ? ax[a].in : ax[a].out);
    return (n + 15) & ~(size_t)15;
}

static vb_status resizeInfer(const void *params, const vb_tensor *const *in, int n_in,
                             vb_tensor *const *out, int n_out, VbOpInferInfo *info, vb_error *err)
{
    const ResizeParams *p = params;
    ResizeAxis ax[VB_MAX_RANK];
    vb_status st = resizeResolve(p, in, n_in, ax, err);
    if (st != VB_OK)
        return st;
    int rank = in[0]->rank;
    out[0]->dtype = VB_DTYPE_FLOAT32;
    out[0]->rank = rank;
    for (int a = 0; a < rank; a++)
        out[0]->dims[a] = ax[a].out;
    info->workspace_bytes = tableBytes(p, ax, rank);
    if (p->mode != MODE_NEAREST)
        info->workspace_bytes += 2 * bufferFloats(ax, rank) * sizeof(float);
    int taps = p->mode == MODE_NEAREST ? 0 : tapCount(p->mode);
    info->flops = (uint64_t)vbTensorCount(out[0]) * (uint64_t)(2 * taps * rank);
    return VB_OK;
}

/* Arguments of one nearestGather call for nearestTask. */
typedef struct NearestJob {
    const float *x;
    float *y;
    const ResizeAxis *ax;
    const AxisTable *tables;
    int rank;
    float extrapolation;
    const int64_t *in_stride;
    int64_t width;
    int doubled;   /* the last axis reads source j / 2 at every output j, none outside */
} NearestJob;

/* Gathers output rows [begin, end). */
static void nearestTask(void *arg, size_t begin, size_t end)
{
    const NearestJob *job = arg;
    const ResizeAxis *ax = job->ax;
    const AxisTable *tables = job->tables, *last = &job->tables[job->rank - 1];
    int64_t width = job->width;

    /* An upsampled row that reads the same source row as the row before it
     * (rows 2i and 2i+1 of a 2x upsample) is a copy of that row. */
    int64_t prev_offset = -1;
    for (int64_t row = (int64_t)begin; row < (int64_t)end; row++) {
        /* source row offset from this row's output index on every outer axis */
        int64_t rest = row, offset = 0;
        int outside = 0;
        for (int a = job->rank - 2; a >= 0; a--) {
            int64_t j = rest % ax[a].out;
            rest /= ax[a].out;
            offset += tables[a].idx[j] * job->in_stride[a];
            outside |= tables[a].outside[j];
        }
        float *dst = job->y + row * width;
        if (outside) {
            for (int64_t j = 0; j < width; j++)
                dst[j] = job->extrapolation;
            prev_offset = -1;
            continue;
        }
        if (offset == prev_offset) {
            memcpy(dst, dst - width, (size_t)width * sizeof *dst);
            continue;
        }
        const float *src = job->x + offset;
        if (job->doubled) {
            /* each source value twice: a loop the compiler vectorizes */
            for (int64_t j = 0; j < width / 2; j++) {
                dst[2 * j] = src[j];
                dst[2 * j + 1] = src[j];
            }
        } else {
            for (int64_t j = 0; j < width; j++)
                dst[j] = last->outside[j] ? job->extrapolation : src[last->idx[j]];
        }
        prev_offset = offset;
    }
}

/* Gathers the nearest samples of every axis in one pass over output rows. */
static void nearestGather(const float *x, float *y, const ResizeAxis *ax, const AxisTable *tables,
                          int rank, float extrapolation, int threads)
{
    int64_t in_stride[VB_MAX_RANK];
    in_stride[rank - 1] = 1;
    for (int a = rank - 2; a >= 0; a--)
        in_stride[a] = in_stride[a + 1] * ax[a + 1].in;
    int64_t rows = 1;
    for (int a = 0; a < rank - 1; a++)
        rows *= ax[a].out;
    int64_t width = ax[rank - 1].out;

    NearestJob job = {x, y, ax, tables, rank, extrapolation, in_stride, width, width % 2 == 0};
    for (int64_t j = 0; j < width && job.doubled; j++) {
        if (tables[rank - 1].idx[j] != j / 2 || tables[rank - 1].outside[j])
            job.doubled = 0;
    }
    vbParallelRanges(threads, (size_t)rows, nearestTask, &job);
}

/* Arguments of one resamplePass call for resampleTask. */
typedef struct ResampleJob {
    const float *src;
    float *dst;
    int64_t in_len, out_len, inner;
    const AxisTable *t;
    float extrapolation;
} ResampleJob;

/* Computes output lines [begin, end) of index o * out_len + j, each inner long. */
static void resampleTask(void *arg, size_t begin, size_t end)
{
    const ResampleJob *job = arg;
    const AxisTable *t = job->t;
    int taps = t->taps;
    int64_t in_len = job->in_len, out_len = job->out_len, inner = job->inner;
    for (int64_t line = (int64_t)begin; line < (int64_t)end; line++) {
        int64_t o = line / out_len, j = line % out_len;
        float *d = job->dst + line * inner;
        if (t->outside[j]) {
            for (int64_t i = 0; i < inner; i++)
                d[i] = job->extrapolation;
            continue;
        }
        const float *base = job->src + o * in_len * inner;
        const int32_t *idx = t->idx + j * taps;
        const float *w = t->w + j * taps;
        const float *s0 = base + idx[0] * inner;
        for (int64_t i = 0; i < inner; i++)
            d[i] = w[0] * s0[i];
        for (int k = 1; k < taps; k++) {
            const float *sk = base + idx[k] * inner;
            float wk = w[k];
            for (int64_t i = 0; i < inner; i++)
                d[i] += wk * sk[i];
        }
    }
}

/* Resamples one axis: src [outer][in_len][inner] to dst [outer][out_len][inner]. */
static void resamplePass(const float *src, float *dst, int64_t outer, int64_t in_len,
                         int64_t out_len, int64_t inner, const AxisTable *t, float extrapolation,
                         int threads)
{
    ResampleJob job = {src, dst, in_len, out_len, inner, t, extrapolation};
    vbParallelRanges(threads, (size_t)(outer * out_len), resampleTask, &job);
}

static vb_status resizeRun(const void *params, const vb_tensor *const *in, int n_in,
                           vb_tensor *const *out, int n_out, const VbOpRunContext *ctx,
                           vb_error *err)
{
    const ResizeParams *p = params;
    ResizeAxis ax[VB_MAX_RANK];
    vb_status st = resizeResolve(p, in, n_in, ax, err);
    if (st != VB_OK)
        return st;
    int rank = in[0]->rank;
    size_t need = tableBytes(p, ax, rank) +
                  (p->mode != MODE_NEAREST ? 2 * bufferFloats(ax, rank) * sizeof(float) : 0);
    if (ctx->workspace_bytes < need)
        return vbErrorSet(err, VB_ERR_INTERNAL, "Resize node '%s': workspace of %zu bytes is below the %zu bytes needed",
                          p->node, ctx->workspace_bytes, need);
    if (vbTensorCount(out[0]) == 0)
        return VB_OK;
    const float *x = in[0]->data;
    float *y = out[0]->data;
    int threads = ctx->threads < 1 ? 1 : ctx->threads;

    /* Tables for every axis, carved from the workspace. */
    AxisTable tables[VB_MAX_RANK];
    char *cursor = ctx->workspace;
    int taps = tapCount(p->mode);
    for (int a = 0; a < rank; a++) {
        size_t n = (size_t)ax[a].out * (size_t)taps;
        tables[a].idx = (int32_t *)cursor;
        cursor += (n * 4 + 63) & ~(size_t)63;
        tables[a].w = (float *)cursor;
        cursor += (n * 4 + 63) & ~(size_t)63;
        tables[a].outside = (uint8_t *)cursor;
        cursor += ((size_t)ax[a].out + 63) & ~(size_t)63;
        buildTable(p, &ax[a], &tables[a]);
    }

    if (p->mode == MODE_NEAREST) {
        nearestGather(x, y, ax, tables, rank, p->extrapolation, threads);
        return VB_OK;
    }

    /* Linear and cubic: one pass per axis that changes, last axis first
     * (the order the ONNX reference nests them), ping-ponging between two
     * buffers and ending in y. */
    int passes = 0;
    for (int a = 0; a < rank; a++)
        passes += !tables[a].identity;
    if (passes == 0) {
        memcpy(y, x, vbTensorBytes(in[0]));
        return VB_OK;
    }
    float *buffers[2] = {(float *)cursor, (float *)cursor + bufferFloats(ax, rank)};
    int64_t dims[VB_MAX_RANK];
    for (int a = 0; a < rank; a++)
        dims[a] = ax[a].in;
    const float *src = x;
    int done = 0;
    for (int a = rank - 1; a >= 0; a--) {
        if (tables[a].identity)
            continue;
        int64_t outer = 1, inner = 1;
        for (int b = 0; b < a; b++)
            outer *= dims[b];
        for (int b = a + 1; b < rank; b++)
            inner *= dims[b];
        float *dst = ++done == passes ? y : buffers[done % 2];
        resamplePass(src, dst, outer, ax[a].in, ax[a].out, inner, &tables[a], p->extrapolation, threads);
        dims[a] = ax[a].out;
        src = dst;
    }
    return VB_OK;
}

static const VbOpDef resizeOp = {
    .op_type = "Resize", .min_opset = 10, .prepare = resizePrepare, .infer = resizeInfer,
    .run = resizeRun, .release = resizeRelease,
};

static const VbOpDef upsampleOp = {
    .op_type = "Upsample", .min_opset = 7, .prepare = upsamplePrepare, .infer = resizeInfer,
    .run = resizeRun, .release = resizeRelease,
};

const VbOpDef *const vbOpsResize[] = {&resizeOp, &upsampleOp, NULL};
