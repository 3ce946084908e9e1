/* Softmax, LogSoftmax and Hardmax over one axis (opset 13+) or the flattened tail (opsets before 13). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernel_util.h"
#include "kernels/parallel.h"

typedef enum SoftmaxKind { KIND_SOFTMAX, KIND_LOGSOFTMAX, KIND_HARDMAX } SoftmaxKind;

typedef struct SoftmaxParams {
    SoftmaxKind kind;
    int opset;
    int64_t axis;
} SoftmaxParams;

static vb_status softmaxPrepare(const VbOnnxNode *node, int opset, void **params, vb_error *err)
{
    SoftmaxParams *p = calloc(1, sizeof *p);
    if (p == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory preparing %s", node->op_type);
    p->kind = strcmp(node->op_type, "LogSoftmax") == 0 ? KIND_LOGSOFTMAX
              : strcmp(node->op_type, "Hardmax") == 0  ? KIND_HARDMAX
                                                       : KIND_SOFTMAX;
    p->opset = opset;
    int bad = 0;
    p->axis = vbOnnxAttrInt(node, "axis", opset >= 13 ? -1 : 1, &bad);
    if (bad) {
        free(p);
        return vbErrorSet(err, VB_ERR_PARSE, "%s '%s': attribute 'axis' must be an int",
                          node->op_type, node->name);
    }
    *params = p;
    return VB_OK;
}

static vb_status softmaxInfer(const void *params, const vb_tensor *const *in, int n_in,
                              vb_tensor *const *out, int n_out, VbOpInferInfo *info, vb_error *err)
{
    const SoftmaxParams *p = params;
    const vb_tensor *x = in[0];
    if (x->dtype != VB_DTYPE_FLOAT32)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED, "Softmax: only float32 is supported, got %s",
                          vb_dtype_to_string(x->dtype));
    int axis;
    int rank = x->rank == 0 ? 1 : x->rank;
    vb_status st = vbKernelAxis("Softmax", p->axis, rank, &axis, err);
    if (st != VB_OK)
        return st;
    vbKernelSetShape(out[0], x->dtype, x->rank, x->dims);
    info->flops = 4 * (uint64_t)vbTensorCount(x);
    return VB_OK;
}

/* Columns one block of the strided Softmax handles; its per-column max and
 * sum live on the stack. */
#define SOFTMAX_BLOCK 256

/* Hardmax of n values spaced stride apart: 1 at the first maximum. */
static void hardmaxLine(const float *x, float *y, int64_t n, int64_t stride)
{
    int64_t arg = 0;
    for (int64_t i = 1; i < n; i++) {
        if (x[i * stride] > x[arg * stride])
            arg = i;
    }
    for (int64_t i = 0; i < n; i++)
        y[i * stride] = i == arg ? 1.0f : 0.0f;
}

/* Softmax or LogSoftmax of one contiguous line of n values. */
VB_KERNEL_CLONES static void softmaxLine(SoftmaxKind kind, const float *x, float *y, int64_t n)
{
    float max = x[0];
    for (int64_t i = 1; i < n; i++)
        max = x[i] > max ? x[i] : max;
    double sum = 0.0;
    if (kind == KIND_SOFTMAX) {
        for (int64_t i = 0; i < n; i++)
            y[i] = vbKernelExpf(x[i] - max);
        for (int64_t i = 0; i < n; i++)
            sum += y[i];
        float scale = (float)(1.0 / sum);
        for (int64_t i = 0; i < n; i++)
            y[i] *= scale;
        return;
    }
    for (int64_t i = 0; i < n; i++)
        sum += vbKernelExpf(x[i] - max);
    float log_sum = (float)log(sum);
    for (int64_t i = 0; i < n; i++)
        y[i] = (x[i] - max) - log_sum;
}

/* Softmax or LogSoftmax down the columns of x [n, stride] for the cols
 * (<= SOFTMAX_BLOCK) columns starting at x; rows are the normalised axis.
 * Every loop runs along a contiguous row, so it vectorizes. */
VB_KERNEL_CLONES static void softmaxColumns(SoftmaxKind kind, const float *x, float *y, int64_t n,
                                            int64_t stride, int64_t cols)
{
    float max[SOFTMAX_BLOCK], sum[SOFTMAX_BLOCK];
    for (int64_t j = 0; j < cols; j++) {
        max[j] = x[j];
        sum[j] = 0.0f;
    }
    for (int64_t i = 1; i < n; i++) {
        const float *row = x + i * stride;
        for (int64_t j = 0; j < cols; j++)
            max[j] = row[j] > max[j] ? row[j] : max[j];
    }
    for (int64_t i = 0; i < n; i++) {
        const float *row = x + i * stride;
        float *out = y + i * stride;
        for (int64_t j = 0; j < cols; j++) {
            float e = vbKernelExpf(row[j] - max[j]);
            if (kind == KIND_SOFTMAX)
                out[j] = e;
            sum[j] += e;
        }
    }
    for (int64_t j = 0; j < cols; j++)
        sum[j] = kind == KIND_SOFTMAX ? 1.0f / sum[j] : logf(sum[j]);
    for (int64_t i = 0; i < n; i++) {
        const float *row = x + i * stride;
        float *out = y + i * stride;
        for (int64_t j = 0; j < cols; j++)
            out[j] = kind == KIND_SOFTMAX ? out[j] * sum[j] : (row[j] - max[j]) - sum[j];
    }
}

/* Arguments of one softmaxRun call for softmaxTask. */
typedef struct SoftmaxJob {
    const SoftmaxParams *p;
    const float *src;
    float *dst;
    int64_t n, inner, blocks;
} SoftmaxJob;

/* Runs work items [begin, end): one line, or one block of columns, each. */
static void softmaxTask(void *arg, size_t begin, size_t end)
{
    const SoftmaxJob *job = arg;
    const SoftmaxParams *p = job->p;
    const float *src = job->src;
    float *dst = job->dst;
    int64_t n = job->n, inner = job->inner, blocks = job->blocks;
    for (int64_t item = (int64_t)begin; item < (int64_t)end; item++) {
        int64_t o = item / blocks, j0 = item % blocks * SOFTMAX_BLOCK;
        int64_t cols = inner - j0 < SOFTMAX_BLOCK ? inner - j0 : SOFTMAX_BLOCK;
        size_t start = (size_t)(o * n * inner + j0);
        if (p->kind == KIND_HARDMAX) {
            for (int64_t j = 0; j < cols; j++)
                hardmaxLine(src + start + j, dst + start + j, n, inner);
        } else if (inner == 1) {
            softmaxLine(p->kind, src + start, dst + start, n);
        } else {
            softmaxColumns(p->kind, src + start, dst + start, n, inner, cols);
        }
    }
}

static vb_status softmaxRun(const void *params, const vb_tensor *const *in, int n_in,
                            vb_tensor *const *out, int n_out, const VbOpRunContext *ctx, vb_error *err)
{
    const SoftmaxParams *p = params;
    const vb_tensor *x = in[0];
    int rank = x->rank == 0 ? 1 : x->rank;
    int axis = (int)(p->axis < 0 ? p->axis + rank : p->axis);
    int64_t dims[VB_MAX_RANK] = {1};
    memcpy(dims, x->dims, sizeof(int64_t) * (size_t)x->rank);

    /* View x as [outer, n, inner]: before opset 13 the whole tail from axis
     * is one line (inner = 1), from opset 13 only the axis is. */
    int64_t outer = 1, n = 1, inner = 1;
    for (int d = 0; d < rank; d++) {
        if (d < axis)
            outer *= dims[d];
        else if (d == axis || p->opset < 13)
            n *= dims[d];
        else
            inner *= dims[d];
    }
    if (n == 0 || outer == 0 || inner == 0)
        return VB_OK;

    /* Work items: one per line when inner is 1, else one per block of
     * columns; each writes its own outputs, so threads do not interact. */
    const float *src = x->data;
    float *dst = out[0]->data;
    int64_t blocks = (inner + SOFTMAX_BLOCK - 1) / SOFTMAX_BLOCK;
    int64_t items = outer * blocks;
    int threads = (size_t)(outer * n * inner) >= VB_KERNEL_PARALLEL_MIN ? ctx->threads : 1;
    SoftmaxJob job = {p, src, dst, n, inner, blocks};
    vbParallelRanges(threads, (size_t)items, softmaxTask, &job);
    return VB_OK;
}

#define SOFTMAX_OP(name, type, opset)                                                              \
    static const VbOpDef name = {type, opset, softmaxPrepare, softmaxInfer, softmaxRun,            \
                                 vbKernelFreeParams, NULL, NULL}

SOFTMAX_OP(opSoftmax, "Softmax", 1);
SOFTMAX_OP(opLogSoftmax, "LogSoftmax", 1);
SOFTMAX_OP(opHardmax, "Hardmax", 1);

const VbOpDef *const vbOpsSoftmax[] = {&opSoftmax, &opLogSoftmax, &opHardmax, NULL};
