/* Reductions over axes (ReduceSum, ReduceMean, ReduceMax, ... ) and ArgMax/ArgMin. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernel_util.h"

typedef enum ReduceKind {
    RED_SUM, RED_MEAN, RED_MAX, RED_MIN, RED_PROD, RED_L1, RED_L2, RED_LOGSUM, RED_LOGSUMEXP,
    RED_SUMSQUARE, RED_ARGMAX, RED_ARGMIN
} ReduceKind;

typedef struct ReduceSpec {
    const char *op_type;
    ReduceKind kind;
    int axes_input_opset;   /* the opset from which axes is an input, not an attribute */
} ReduceSpec;

static const ReduceSpec reduceSpecs[] = {
    {"ReduceSum", RED_SUM, 13}, {"ReduceMean", RED_MEAN, 18}, {"ReduceMax", RED_MAX, 18},
    {"ReduceMin", RED_MIN, 18}, {"ReduceProd", RED_PROD, 18}, {"ReduceL1", RED_L1, 18},
    {"ReduceL2", RED_L2, 18}, {"ReduceLogSum", RED_LOGSUM, 18},
    {"ReduceLogSumExp", RED_LOGSUMEXP, 18}, {"ReduceSumSquare", RED_SUMSQUARE, 18},
    {"ArgMax", RED_ARGMAX, 0}, {"ArgMin", RED_ARGMIN, 0},
};

typedef struct ReduceParams {
    const ReduceSpec *spec;
    int opset;
    int keepdims;
    int noop_with_empty_axes;
    int select_last_index;   /* ArgMax/ArgMin */
    int64_t axis;            /* ArgMax/ArgMin */
    int axes_count;          /* from the attribute; -1 when absent */
    int64_t axes[VB_MAX_RANK];
} ReduceParams;

static vb_status reducePrepare(const VbOnnxNode *node, int opset, void **params, vb_error *err)
{
    const ReduceSpec *spec = NULL;
    for (size_t i = 0; i < sizeof reduceSpecs / sizeof reduceSpecs[0]; i++) {
        if (strcmp(reduceSpecs[i].op_type, node->op_type) == 0)
            spec = &reduceSpecs[i];
    }
    if (spec == NULL)
        return vbErrorSet(err, VB_ERR_INTERNAL, "op '%s' is not a reduction", node->op_type);

    ReduceParams *p = calloc(1, sizeof *p);
    if (p == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory preparing %s", node->op_type);
    int bad = 0, count = 0;
    p->spec = spec;
    p->opset = opset;
    p->keepdims = (int)vbOnnxAttrInt(node, "keepdims", 1, &bad);
    p->noop_with_empty_axes = (int)vbOnnxAttrInt(node, "noop_with_empty_axes", 0, &bad);
    p->select_last_index = (int)vbOnnxAttrInt(node, "select_last_index", 0, &bad);
    p->axis = vbOnnxAttrInt(node, "axis", 0, &bad);
    const int64_t *axes = vbOnnxAttrInts(node, "axes", &count, &bad);
    p->axes_count = axes ? count : -1;
    if (count > VB_MAX_RANK || bad) {
        free(p);
        return vbErrorSet(err, VB_ERR_PARSE, "%s '%s': an attribute has the wrong type or too many "
                          "axes", node->op_type, node->name);
    }
    if (axes)
        memcpy(p->axes, axes, sizeof(int64_t) * (size_t)count);
    *params = p;
    return VB_OK;
}

static int reduceTypeOk(vb_dtype t)
{
    return t == VB_DTYPE_FLOAT32 || t == VB_DTYPE_FLOAT64 || t == VB_DTYPE_INT32 ||
           t == VB_DTYPE_INT64;
}

/* Marks the reduced dims of x in reduced[]. *identity is set when
 * noop_with_empty_axes turns the op into a copy. */
static vb_status reducedAxes(const ReduceParams *p, const vb_tensor *const *in, int n_in,
                             int *reduced, int *identity, vb_error *err)
{
    const vb_tensor *x = in[0];
    int64_t axes[VB_MAX_RANK];
    int count = 0;
    *identity = 0;
    if (p->spec->kind == RED_ARGMAX || p->spec->kind == RED_ARGMIN) {
        axes[0] = p->axis;
        count = 1;
    } else if (p->opset >= p->spec->axes_input_opset) {
        if (n_in > 1 && in[1] != NULL) {
            vb_status st = vbKernelReadInts(p->spec->op_type, "axes", in[1], axes, VB_MAX_RANK,
                                            &count, err);
            if (st != VB_OK)
                return st;
        }
    } else if (p->axes_count > 0) {
        count = p->axes_count;
        memcpy(axes, p->axes, sizeof(int64_t) * (size_t)count);
    }

    /* No axes: every dim, or none with noop_with_empty_axes. */
    for (int d = 0; d < x->rank; d++)
        reduced[d] = count == 0 && !p->noop_with_empty_axes;
    if (count == 0 && p->noop_with_empty_axes)
        *identity = 1;
    for (int i = 0; i < count; i++) {
        int axis;
        vb_status st = vbKernelAxis(p->spec->op_type, axes[i], x->rank, &axis, err);
        if (st != VB_OK)
            return st;
        reduced[axis] = 1;
    }
    return VB_OK;
}

static vb_status reduceInfer(const void *params, const vb_tensor *const *in, int n_in,
                             vb_tensor *const *out, int n_out, VbOpInferInfo *info, vb_error *err)
{
    const ReduceParams *p = params;
    const vb_tensor *x = in[0];
    int arg = p->spec->kind == RED_ARGMAX || p->spec->kind == RED_ARGMIN;
    if (!reduceTypeOk(x->dtype))
        return vbErrorSet(err, VB_ERR_UNSUPPORTED, "%s does not support %s inputs (float32, "
                          "float64, int32 and int64 are supported)", p->spec->op_type,
                          vb_dtype_to_string(x->dtype));
    int reduced[VB_MAX_RANK], identity;
    vb_status st = reducedAxes(p, in, n_in, reduced, &identity, err);
    if (st != VB_OK)
        return st;

    int64_t dims[VB_MAX_RANK];
    int rank = 0;
    for (int d = 0; d < x->rank; d++) {
        if (!reduced[d])
            dims[rank++] = x->dims[d];
        else if (p->keepdims)
            dims[rank++] = 1;
    }
    vbKernelSetShape(out[0], arg ? VB_DTYPE_INT64 : x->dtype, rank, dims);

    /* The accumulators: one double per output element. */
    size_t count = vbTensorCount(out[0]);
    if (!arg && vbMulSize(count, sizeof(double), &info->workspace_bytes))
        return vbErrorSet(err, VB_ERR_LIMIT, "%s: output too large", p->spec->op_type);
    info->flops = vbTensorCount(x);
    return VB_OK;
}

/* Reads element i of a float32, float64, int32 or int64 array as double. */
static inline double loadValue(vb_dtype t, const char *base, int64_t i)
{
    switch (t) {
    case VB_DTYPE_FLOAT32: return ((const float *)base)[i];
    case VB_DTYPE_FLOAT64: return ((const double *)base)[i];
    case VB_DTYPE_INT32: return ((const int32_t *)base)[i];
    default: return (double)((const int64_t *)base)[i];
    }
}

typedef struct ReduceRow {
    ReduceKind kind;
    vb_dtype dtype;
} ReduceRow;

/* Folds one input row (operand 1) into the accumulators (operand 0, a
 * double array with step 0 when the row's dim is reduced). */
static void reduceRow(const void *user, char *const *ptr, const int64_t *step, int64_t n)
{
    const ReduceRow *r = user;
    double *acc = (double *)ptr[0];
    int64_t sa = step[0], sx = step[1];
    for (int64_t i = 0; i < n; i++) {
        double v = loadValue(r->dtype, ptr[1], i * sx);
        double *a = acc + i * sa;
        switch (r->kind) {
        case RED_PROD: *a *= v; break;
        case RED_MAX: *a = v > *a || isnan(v) ? v : *a; break;
        case RED_MIN: *a = v < *a || isnan(v) ? v : *a; break;
        case RED_L1: *a += fabs(v); break;
        case RED_L2: case RED_SUMSQUARE: *a += v * v; break;
        case RED_LOGSUMEXP: *a += exp(v); break;
        default: *a += v; break;
        }
    }
}

/* Writes the double v into element i of the output array; integer results
 * saturate. */
static void storeValue(vb_dtype t, void *base, size_t i, double v)
{
    switch (t) {
    case VB_DTYPE_FLOAT32: ((float *)base)[i] = (float)v; break;
    case VB_DTYPE_FLOAT64: ((double *)base)[i] = v; break;
    case VB_DTYPE_INT32:
        ((int32_t *)base)[i] = (int32_t)vbKernelClamp(vbKernelToInt64(v), INT32_MIN, INT32_MAX);
        break;
    default: ((int64_t *)base)[i] = vbKernelToInt64(v); break;
    }
}

static void argRun(const ReduceParams *p, const vb_tensor *x, vb_tensor *out)
{
    int axis = (int)(p->axis < 0 ? p->axis + x->rank : p->axis);
    int64_t outer = 1, n = x->dims[axis], inner = 1;
    for (int d = 0; d < x->rank; d++) {
        if (d < axis)
            outer *= x->dims[d];
        else if (d > axis)
            inner *= x->dims[d];
    }
    int64_t *dst = out->data;
    int want_max = p->spec->kind == RED_ARGMAX;

    /* x [outer, n, inner] -> out [outer, inner] */
    for (int64_t o = 0; o < outer; o++) {
        for (int64_t j = 0; j < inner; j++) {
            int64_t base = o * n * inner + j, best_i = 0;
            double best = loadValue(x->dtype, x->data, base);
            for (int64_t i = 1; i < n; i++) {
                double v = loadValue(x->dtype, x->data, base + i * inner);
                int better = want_max ? v > best : v < best;
                if (better || (p->select_last_index && v == best)) {
                    best = v;
                    best_i = i;
                }
            }
            dst[o * inner + j] = best_i;
        }
    }
}

static vb_status reduceRun(const void *params, const vb_tensor *const *in, int n_in,
                           vb_tensor *const *out, int n_out, const VbOpRunContext *ctx, vb_error *err)
{
    const ReduceParams *p = params;
    const vb_tensor *x = in[0];
    ReduceKind kind = p->spec->kind;
    if (kind == RED_ARGMAX || kind == RED_ARGMIN) {
        if (vbTensorCount(x) == 0)
            return vbErrorSet(err, VB_ERR_SHAPE, "%s of an empty tensor is undefined",
                              p->spec->op_type);
        argRun(p, x, out[0]);
        return VB_OK;
    }
    int reduced[VB_MAX_RANK], identity;
    vb_status st = reducedAxes(p, in, n_in, reduced, &identity, err);
    if (st != VB_OK)
        return st;
    if (identity) {
        vbKernelCopy(out[0]->data, x->data, vbTensorBytes(x), ctx->threads);
        return VB_OK;
    }

    /* Initialise the accumulators. */
    size_t count = vbTensorCount(out[0]);
    double *acc = ctx->workspace;
    double init = kind == RED_PROD ? 1.0 : kind == RED_MAX ? -INFINITY
                                       : kind == RED_MIN ? INFINITY : 0.0;
    for (size_t i = 0; i < count; i++)
        acc[i] = init;

    /* Walk the input; the accumulator operand has stride 0 on reduced dims.
     * One thread only, because many input rows fold into one accumulator. */
    int64_t kept[VB_MAX_RANK];
    int64_t reduced_count = 1;
    for (int d = 0; d < x->rank; d++) {
        kept[d] = reduced[d] ? 1 : x->dims[d];
        if (reduced[d])
            reduced_count *= x->dims[d];
    }
    VbKernelWalk walk;
    vbKernelWalkInit(&walk, x->rank, x->dims, 2);
    vbKernelWalkBroadcast(&walk, 0, x->rank, kept);
    vbKernelWalkBroadcast(&walk, 1, x->rank, x->dims);
    vbKernelWalkCoalesce(&walk);
    ReduceRow row = {kind, x->dtype};
    char *base[2] = {(char *)acc, x->data};
    size_t esize[2] = {sizeof(double), vb_dtype_size(x->dtype)};
    vbKernelWalkRun(&walk, reduceRow, &row, base, esize, 1);

    /* Finish and convert to the output type. */
    for (size_t i = 0; i < count; i++) {
        double v = acc[i];
        switch (kind) {
        case RED_MEAN: v = reduced_count ? v / (double)reduced_count : NAN; break;
        case RED_L2: v = sqrt(v); break;
        case RED_LOGSUM: case RED_LOGSUMEXP: v = log(v); break;
        default: break;
        }
        storeValue(out[0]->dtype, out[0]->data, i, v);
    }
    return VB_OK;
}

#define REDUCE_OP(name, type, opset)                                                               \
    static const VbOpDef name = {type, opset, reducePrepare, reduceInfer, reduceRun,               \
                                 vbKernelFreeParams, NULL, NULL}

REDUCE_OP(opReduceSum, "ReduceSum", 1);
REDUCE_OP(opReduceMean, "ReduceMean", 1);
REDUCE_OP(opReduceMax, "ReduceMax", 1);
REDUCE_OP(opReduceMin, "ReduceMin", 1);
REDUCE_OP(opReduceProd, "ReduceProd", 1);
REDUCE_OP(opReduceL1, "ReduceL1", 1);
REDUCE_OP(opReduceL2, "ReduceL2", 1);
REDUCE_OP(opReduceLogSum, "ReduceLogSum", 1);
REDUCE_OP(opReduceLogSumExp, "ReduceLogSumExp", 1);
REDUCE_OP(opReduceSumSquare, "ReduceSumSquare", 1);
REDUCE_OP(opArgMax, "ArgMax", 1);
REDUCE_OP(opArgMin, "ArgMin", 1);

const VbOpDef *const vbOpsReduce[] = {
    &opReduceSum, &opReduceMean, &opReduceMax, &opReduceMin, &opReduceProd, &opReduceL1,
    &opReduceL2, &opReduceLogSum, &opReduceLogSumExp, &opReduceSumSquare, &opArgMax, &opArgMin,
    NULL,
};
