/* Normalization ops: BatchNormalization (inference form), InstanceNormalization, LayerNormalization, MeanVarianceNormalization and LRN. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernel_util.h"

typedef enum NormKind { NORM_BATCH, NORM_INSTANCE, NORM_LAYER } NormKind;

typedef struct NormParams {
    NormKind kind;
    float epsilon;
    int64_t axis;   /* LayerNormalization */
} NormParams;

static vb_status normPrepare(const VbOnnxNode *node, int opset, void **params, vb_error *err)
{
    int bad = 0;
    NormKind kind = NORM_LAYER;
    if (strcmp(node->op_type, "BatchNormalization") == 0)
        kind = NORM_BATCH;
    else if (strcmp(node->op_type, "InstanceNormalization") == 0)
        kind = NORM_INSTANCE;

    /* Only inference: training mode updates running statistics. */
    if (kind == NORM_BATCH && (vbOnnxAttrInt(node, "training_mode", 0, &bad) != 0 ||
                               node->output_count > 1))
        return vbErrorSet(err, VB_ERR_UNSUPPORTED,
                          "BatchNormalization '%s': training mode (training_mode=1 or the "
                          "running mean/var outputs) is not supported; export the model for "
                          "inference", node->name);
    if (kind == NORM_BATCH && vbOnnxAttrInt(node, "spatial", 1, &bad) != 1)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED,
                          "BatchNormalization '%s': spatial=0 is not supported", node->name);
    if (kind == NORM_LAYER && vbOnnxAttrInt(node, "stash_type", 1, &bad) != 1)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED,
                          "LayerNormalization '%s': only stash_type=1 (float32) is supported",
                          node->name);

    NormParams *p = calloc(1, sizeof *p);
    if (p == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory preparing %s", node->op_type);
    p->kind = kind;
    p->epsilon = vbOnnxAttrFloat(node, "epsilon", 1e-5f, &bad);
    p->axis = vbOnnxAttrInt(node, "axis", -1, &bad);
    if (bad) {
        free(p);
        return vbErrorSet(err, VB_ERR_PARSE, "%s '%s': an attribute has the wrong type",
                          node->op_type, node->name);
    }
    *params = p;
    return VB_OK;
}

static vb_status normInfer(const void *params, const vb_tensor *const *in, int n_in,
                           vb_tensor *const *out, int n_out, VbOpInferInfo *info, vb_error *err)
{
    const NormParams *p = params;
    static const char *const names[] = {"BatchNormalization", "InstanceNormalization",
                                         "LayerNormalization"};
    const char *op = names[p->kind];
    const vb_tensor *x = in[0];
    int needed = 2; /* LayerNormalization: X, Scale */
    if (p->kind == NORM_BATCH)
        needed = 5;
    else if (p->kind == NORM_INSTANCE)
        needed = 3;
    if (n_in < needed)
        return vbErrorSet(err, VB_ERR_SHAPE, "%s needs %d inputs, the node has %d", op, needed, n_in);
    for (int i = 0; i < n_in; i++) {
        if (in[i] != NULL && in[i]->dtype != VB_DTYPE_FLOAT32)
            return vbErrorSet(err, VB_ERR_UNSUPPORTED, "%s supports float32 only, input %d is %s",
                              op, i, vb_dtype_to_string(in[i]->dtype));
    }

    if (p->kind == NORM_LAYER) {
        int axis;
        vb_status st = vbKernelAxis(op, p->axis, x->rank, &axis, err);
        if (st != VB_OK)
            return st;
        size_t n = 1;
        for (int d = axis; d < x->rank; d++)
            n *= (size_t)x->dims[d];
        for (int i = 1; i < n_in; i++) {
            size_t count = in[i] ? vbTensorCount(in[i]) : 1;
            if (count != n && count != 1)
                return vbErrorSet(err, VB_ERR_SHAPE, "%s: input %d has %zu elements, the "
                                  "normalized axes have %zu", op, i, count, n);
        }

        /* Y, then the optional Mean and InvStdDev with the axes kept as 1. */
        vbKernelSetShape(out[0], x->dtype, x->rank, x->dims);
        for (int o = 1; o < n_out; o++) {
            vbKernelSetShape(out[o], x->dtype, x->rank, x->dims);
            for (int d = axis; d < x->rank; d++)
                out[o]->dims[d] = 1;
        }
        return VB_OK;
    }

    if (x->rank < 2)
        return vbErrorSet(err, VB_ERR_SHAPE, "%s needs an input of rank 2 or more", op);
    for (int i = 1; i < needed; i++) {
        if (in[i] == NULL || vbTensorCount(in[i]) != (size_t)x->dims[1])
            return vbErrorSet(err, VB_ERR_SHAPE, "%s: input %d must have %lld (channel) elements",
                              op, i, (long long)x->dims[1]);
    }
    vbKernelSetShape(out[0], x->dtype, x->rank, x->dims);
    info->flops = 2 * (uint64_t)vbTensorCount(x);
    return VB_OK;
}

/* Normalises rows of n floats: y = (x - mean) * inv_std * scale + bias, with
 * the statistics of each row (scale and bias per element, or one value). */
static void layerRows(const float *x, float *y, size_t rows, size_t n, const vb_tensor *scale,
                      const vb_tensor *bias, float epsilon, float *mean_out, float *inv_out)
{
    const float *s = scale->data, *b = bias ? bias->data : NULL;
    size_t s_step = vbTensorCount(scale) == 1 ? 0 : 1;
    size_t b_step = bias && vbTensorCount(bias) == 1 ? 0 : 1;
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * n;
        float *yr = y + r * n;
        double sum = 0, sq = 0;
        for (size_t j = 0; j < n; j++)
            sum += xr[j];
        double mean = sum / (double)n;
        for (size_t j = 0; j < n; j++)
            sq += (xr[j] - mean) * (xr[j] - mean);
        float inv = (float)(1.0 / sqrt(sq / (double)n + epsilon));
        for (size_t j = 0; j < n; j++) {
            float v = ((float)(xr[j] - mean)) * inv * s[j * s_step];
            yr[j] = b ? v + b[j * b_step] : v;
        }
        if (mean_out)
            mean_out[r] = (float)mean;
        if (inv_out)
            inv_out[r] = inv;
    }
}

static vb_status normRun(const void *params, const vb_tensor *const *in, int n_in,
                         vb_tensor *const *out, int n_out, const VbOpRunContext *ctx, vb_error *err)
{
    const NormParams *p = params;
    const vb_tensor *x = in[0];
    const float *src = x->data;
    float *dst = out[0]->data;

    if (p->kind == NORM_LAYER) {
        int axis = (int)(p->axis < 0 ? p->axis + x->rank : p->axis);
        size_t rows = 1, n = 1;
        for (int d = 0; d < x->rank; d++) {
            if (d < axis)
                rows *= (size_t)x->dims[d];
            else
                n *= (size_t)x->dims[d];
        }
        if (n == 0)
            return VB_OK;
        layerRows(src, dst, rows, n, in[1], n_in > 2 ? in[2] : NULL, p->epsilon,
                  n_out > 1 && out[1] ? out[1]->data : NULL,
                  n_out > 2 && out[2] ? out[2]->data : NULL);
        return VB_OK;
    }

    /* x [batch, channels, spatial] */
    int64_t batch = x->dims[0], channels = x->dims[1], spatial = 1;
    for (int d = 2; d < x->rank; d++)
        spatial *= x->dims[d];
    const float *scale = in[1]->data, *bias = in[2]->data;
    for (int64_t b = 0; b < batch; b++) {
        for (int64_t c = 0; c < channels; c++) {
            const float *xp = src + (b * channels + c) * spatial;
            float *yp = dst + (b * channels + c) * spatial;
            double mean, var;
            if (p->kind == NORM_BATCH) {
                mean = ((const float *)in[3]->data)[c];
                var = ((const float *)in[4]->data)[c];
            } else {
                double sum = 0, sq = 0;
                for (int64_t i = 0; i < spatial; i++)
                    sum += xp[i];
                mean = spatial ? sum / (double)spatial : 0;
                for (int64_t i = 0; i < spatial; i++)
                    sq += (xp[i] - mean) * (xp[i] - mean);
                var = spatial ? sq / (double)spatial : 0;
            }
            float k = (float)(scale[c] / sqrt(var + p->epsilon));
            float shift = (float)(bias[c] - mean * k);
            for (int64_t i = 0; i < spatial; i++)
                yp[i] = xp[i] * k + shift;
        }
    }
    return VB_OK;
}

/* ---- LRN (local response normalization across channels) --------------------- */

typedef struct LrnParams {
    float alpha, beta, bias;
    int64_t size;
} LrnParams;

static vb_status lrnPrepare(const VbOnnxNode *node, int opset, void **params, vb_error *err)
{
    int bad = 0;
    LrnParams *p = calloc(1, sizeof *p);
    if (p == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory preparing LRN");
    p->alpha = vbOnnxAttrFloat(node, "alpha", 1e-4f, &bad);
    p->beta = vbOnnxAttrFloat(node, "beta", 0.75f, &bad);
    p->bias = vbOnnxAttrFloat(node, "bias", 1.0f, &bad);
    p->size = vbOnnxAttrInt(node, "size", 0, &bad);
    if (bad || p->size < 1) {
        free(p);
        return vbErrorSet(err, VB_ERR_PARSE, "LRN '%s': 'size' must be a positive int and alpha, "
                          "beta, bias floats", node->name);
    }
    *params = p;
    return VB_OK;
}

static vb_status lrnInfer(const void *params, const vb_tensor *const *in, int n_in,
                          vb_tensor *const *out, int n_out, VbOpInferInfo *info, vb_error *err)
{
    const vb_tensor *x = in[0];
    if (x->dtype != VB_DTYPE_FLOAT32 || x->rank < 3)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED, "LRN supports float32 inputs of rank 3 or more, "
                          "got %s of rank %d", vb_dtype_to_string(x->dtype), x->rank);
    vbKernelSetShape(out[0], x->dtype, x->rank, x->dims);
    return VB_OK;
}

/* y = x / (bias + alpha / size * sum of x^2 over the channel window)^beta,
 * the window running from c - floor((size - 1) / 2) to c + ceil((size - 1) / 2). */
static vb_status lrnRun(const void *params, const vb_tensor *const *in, int n_in,
                        vb_tensor *const *out, int n_out, const VbOpRunContext *ctx, vb_error *err)
{
    const LrnParams *p = params;
    const vb_tensor *x = in[0];
    int64_t batch = x->dims[0], channels = x->dims[1], spatial = 1;
    for (int d = 2; d < x->rank; d++)
        spatial *= x->dims[d];
    int64_t before = (p->size - 1) / 2, after = p->size - 1 - before;
    const float *src = x->data;
    float *dst = out[0]->data;
    float scale = p->alpha / (float)p->size;
    for (int64_t b = 0; b < batch; b++) {
        for (int64_t c = 0; c < channels; c++) {
            int64_t lo = c - before < 0 ? 0 : c - before;
            int64_t hi = c + after >= channels ? channels - 1 : c + after;
            const float *xc = src + (b * channels + c) * spatial;
            float *yc = dst + (b * channels + c) * spatial;
            for (int64_t i = 0; i < spatial; i++) {
                float sum = 0.0f;
                for (int64_t k = lo; k <= hi; k++) {
                    float v = src[(b * channels + k) * spatial + i];
                    sum += v * v;
                }
                yc[i] = xc[i] / powf(p->bias + scale * sum, p->beta);
            }
        }
    }
    return VB_OK;
}

/* ---- MeanVarianceNormalization ------------------------------------------- */

typedef struct MvnParams {
    int axes_count;
    int64_t axes[VB_MAX_RANK];
} MvnParams;

static vb_status mvnPrepare(const VbOnnxNode *node, int opset, void **params, vb_error *err)
{
    int bad = 0, count = 0;
    const int64_t *axes = vbOnnxAttrInts(node, "axes", &count, &bad);
    if (bad || count > VB_MAX_RANK)
        return vbErrorSet(err, VB_ERR_PARSE, "MeanVarianceNormalization '%s': 'axes' must be a "
                          "list of at most %d ints", node->name, VB_MAX_RANK);
    MvnParams *p = calloc(1, sizeof *p);
    if (p == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory preparing MeanVarianceNormalization");
    static const int64_t default_axes[3] = {0, 2, 3};
    p->axes_count = axes ? count : 3;
    memcpy(p->axes, axes ? axes : default_axes, sizeof(int64_t) * (size_t)p->axes_count);
    *params = p;
    return VB_OK;
}

/* Marks the normalised dims; fails on an axis outside the rank. */
static vb_status mvnMask(const MvnParams *p, int rank, int *reduced, vb_error *err)
{
    for (int d = 0; d < rank; d++)
        reduced[d] = 0;
    for (int i = 0; i < p->axes_count; i++) {
        int axis;
        vb_status st = vbKernelAxis("MeanVarianceNormalization", p->axes[i], rank, &axis, err);
        if (st != VB_OK)
            return st;
        reduced[axis] = 1;
    }
    return VB_OK;
}

static vb_status mvnInfer(const void *params, const vb_tensor *const *in, int n_in,
                          vb_tensor *const *out, int n_out, VbOpInferInfo *info, vb_error *err)
{
    const vb_tensor *x = in[0];
    int reduced[VB_MAX_RANK];
    if (x->dtype != VB_DTYPE_FLOAT32)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED, "MeanVarianceNormalization supports float32 "
                          "only, got %s", vb_dtype_to_string(x->dtype));
    vb_status st = mvnMask(params, x->rank, reduced, err);
    if (st != VB_OK)
        return st;

    /* Workspace: a sum and a sum of squares per kept position. */
    size_t kept = 1;
    for (int d = 0; d < x->rank; d++)
        kept *= reduced[d] ? 1 : (size_t)x->dims[d];
    info->workspace_bytes = 2 * kept * sizeof(double);
    vbKernelSetShape(out[0], x->dtype, x->rank, x->dims);
    return VB_OK;
}

/* Adds each x of the row into sum and sum of squares (operands 0 and 1,
 * step 0 where the dim is normalised). */
static void mvnAccumulateRow(const void *user, char *const *ptr, const int64_t *step, int64_t n)
{
    double *sum = (double *)ptr[0], *sq = (double *)ptr[1];
    const float *x = (const float *)ptr[2];
    for (int64_t i = 0; i < n; i++) {
        double v = x[i * step[2]];
        sum[i * step[0]] += v;
        sq[i * step[1]] += v * v;
    }
}

/* y = (x - mean) * inv_std with mean in operand 0 and inv_std in operand 1. */
static void mvnApplyRow(const void *user, char *const *ptr, const int64_t *step, int64_t n)
{
    const double *mean = (const double *)ptr[0], *inv = (const double *)ptr[1];
    const float *x = (const float *)ptr[2];
    float *y = (float *)ptr[3];
    for (int64_t i = 0; i < n; i++)
        y[i * step[3]] = (float)((x[i * step[2]] - mean[i * step[0]]) * inv[i * step[1]]);
}

/* Y = (X - E[X]) / sqrt(E[X^2] - E[X]^2) over the axes, with 1e-9 added to
 * the deviation so that constant slices give 0. */
static vb_status mvnRun(const void *params, const vb_tensor *const *in, int n_in,
                        vb_tensor *const *out, int n_out, const VbOpRunContext *ctx, vb_error *err)
{
    const vb_tensor *x = in[0];
    int reduced[VB_MAX_RANK];
    vb_status st = mvnMask(params, x->rank, reduced, err);
    if (st != VB_OK)
        return st;
    int64_t kept_dims[VB_MAX_RANK];
    size_t kept = 1, count = 1;
    for (int d = 0; d < x->rank; d++) {
        kept_dims[d] = reduced[d] ? 1 : x->dims[d];
        kept *= (size_t)kept_dims[d];
        count *= reduced[d] ? (size_t)x->dims[d] : 1;
    }
    if (vbTensorCount(x) == 0)
        return VB_OK;
    double *sum = ctx->workspace, *sq = sum + kept;
    memset(sum, 0, 2 * kept * sizeof(double));

    /* Pass 1: sums; the statistics operands have stride 0 on normalised dims. */
    VbKernelWalk walk;
    vbKernelWalkInit(&walk, x->rank, x->dims, 4);
    vbKernelWalkBroadcast(&walk, 0, x->rank, kept_dims);
    vbKernelWalkBroadcast(&walk, 1, x->rank, kept_dims);
    vbKernelWalkBroadcast(&walk, 2, x->rank, x->dims);
    vbKernelWalkBroadcast(&walk, 3, x->rank, x->dims);
    vbKernelWalkCoalesce(&walk);
    char *base[4] = {(char *)sum, (char *)sq, x->data, out[0]->data};
    size_t esize[4] = {sizeof(double), sizeof(double), sizeof(float), sizeof(float)};
    vbKernelWalkRun(&walk, mvnAccumulateRow, NULL, base, esize, 1);

    /* Turn the sums into mean and 1 / (deviation + 1e-9), then normalise. */
    for (size_t i = 0; i < kept; i++) {
        double mean = sum[i] / (double)count;
        double var = sq[i] / (double)count - mean * mean;
        sum[i] = mean;
        sq[i] = 1.0 / (sqrt(var > 0 ? var : 0) + 1e-9);
    }
    vbKernelWalkRun(&walk, mvnApplyRow, NULL, base, esize, 1);
    return VB_OK;
}

static const VbOpDef opMeanVarianceNormalization = {"MeanVarianceNormalization", 9, mvnPrepare,
                                                    mvnInfer, mvnRun, vbKernelFreeParams, NULL,
                                                    NULL};

static const VbOpDef opLrn = {"LRN", 1, lrnPrepare, lrnInfer, lrnRun, vbKernelFreeParams, NULL,
                              NULL};

static const VbOpDef opBatchNormalization = {"BatchNormalization", 7, normPrepare, normInfer,
                                             normRun, vbKernelFreeParams, NULL, NULL};
static const VbOpDef opInstanceNormalization = {"InstanceNormalization", 6, normPrepare,
                                                normInfer, normRun, vbKernelFreeParams, NULL,
                                                NULL};
static const VbOpDef opLayerNormalization = {"LayerNormalization", 17, normPrepare, normInfer,
                                             normRun, vbKernelFreeParams, NULL, NULL};

const VbOpDef *const vbOpsNormalization[] = {
    &opBatchNormalization, &opInstanceNormalization, &opLayerNormalization, &opLrn,
    &opMeanVarianceNormalization, NULL,
};
