/* ConvTranspose (1-D and 2-D, float32): a GEMM per image and group followed by a col2im scatter-add. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernel_util.h"
#include "kernels/sgemm.h"

typedef struct ConvTransposeParams {
    char node[64];
    char auto_pad[16];
    int64_t group;
    int kernel_count, dilation_count, stride_count, pad_count, output_padding_count;
    int output_shape_count;
    int64_t kernel[2], dilations[2], strides[2], pads[4], output_padding[2], output_shape[2];
} ConvTransposeParams;

/* Geometry of one node: 1-D inputs are handled as 2-D with height 1. */
typedef struct Geometry {
    int64_t batch, in_channels, out_channels, group;
    int64_t in_h, in_w, out_h, out_w, k_h, k_w;
    int64_t stride_h, stride_w, dil_h, dil_w, pad_top, pad_left;
} Geometry;

/* Copies INTS attribute name into dst. Returns 0 when it has more than max
 * values, which the caller reports as an unsupported rank. */
static int readInts(const VbOnnxNode *node, const char *name, int64_t *dst, int max, int *count,
                    int *bad)
{
    int n = 0;
    const int64_t *v = vbOnnxAttrInts(node, name, &n, bad);
    if (n > max)
        return 0;
    if (v != NULL)
        memcpy(dst, v, sizeof(int64_t) * (size_t)n);
    *count = n;
    return 1;
}

static vb_status convTransposePrepare(const VbOnnxNode *node, int opset, void **params,
                                      vb_error *err)
{
    ConvTransposeParams *p = calloc(1, sizeof *p);
    if (p == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory preparing ConvTranspose");
    int bad = 0, ok = 1;
    snprintf(p->node, sizeof p->node, "%s", node->name);
    snprintf(p->auto_pad, sizeof p->auto_pad, "%s",
             vbOnnxAttrString(node, "auto_pad", "NOTSET", &bad));
    p->group = vbOnnxAttrInt(node, "group", 1, &bad);
    ok &= readInts(node, "kernel_shape", p->kernel, 2, &p->kernel_count, &bad);
    ok &= readInts(node, "dilations", p->dilations, 2, &p->dilation_count, &bad);
    ok &= readInts(node, "strides", p->strides, 2, &p->stride_count, &bad);
    ok &= readInts(node, "pads", p->pads, 4, &p->pad_count, &bad);
    ok &= readInts(node, "output_padding", p->output_padding, 2, &p->output_padding_count, &bad);
    ok &= readInts(node, "output_shape", p->output_shape, 2, &p->output_shape_count, &bad);
    vb_status st = VB_OK;
    if (!ok)
        st = vbErrorSet(err, VB_ERR_UNSUPPORTED, "ConvTranspose '%s': only 1-D and 2-D "
                        "convolutions are supported", node->name);
    else if (bad)
        st = vbErrorSet(err, VB_ERR_PARSE, "ConvTranspose '%s': an attribute has the wrong type",
                        node->name);
    else if (p->group < 1)
        st = vbErrorSet(err, VB_ERR_PARSE, "ConvTranspose '%s': group %lld must be positive",
                        node->name, (long long)p->group);
    else if (strcmp(p->auto_pad, "NOTSET") != 0 && strcmp(p->auto_pad, "VALID") != 0 &&
             strcmp(p->auto_pad, "SAME_UPPER") != 0 && strcmp(p->auto_pad, "SAME_LOWER") != 0)
        st = vbErrorSet(err, VB_ERR_UNSUPPORTED, "ConvTranspose '%s': auto_pad '%s' is not "
                        "supported", node->name, p->auto_pad);
    if (st != VB_OK) {
        free(p);
        return st;
    }
    *params = p;
    return VB_OK;
}

/* Returns attribute value i of a per-axis list, or fallback when absent. */
static int64_t axisValue(const int64_t *v, int count, int i, int64_t fallback)
{
    return count > i ? v[i] : fallback;
}

/* Works out output sizes and begin pads from the attributes, following the
 * ConvTranspose specification (output_shape and auto_pad decide the pads). */
static vb_status geometry(const ConvTransposeParams *p, const vb_tensor *x, const vb_tensor *w,
                          Geometry *g, vb_error *err)
{
    int spatial = x->rank - 2;
    if (spatial < 1 || spatial > 2 || w->rank != x->rank)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED, "ConvTranspose '%s': input rank %d is not "
                          "supported (3 or 4 with weights of the same rank)", p->node, x->rank);
    g->batch = x->dims[0];
    g->in_channels = x->dims[1];
    g->group = p->group;
    if (w->dims[0] != g->in_channels || g->in_channels % g->group != 0)
        return vbErrorSet(err, VB_ERR_SHAPE, "ConvTranspose '%s': weights have %lld input "
                          "channels, X has %lld (group %lld)", p->node, (long long)w->dims[0],
                          (long long)g->in_channels, (long long)g->group);
    g->out_channels = w->dims[1] * g->group;

    int64_t in[2] = {1, x->dims[2]}, k[2] = {1, w->dims[2]}, out[2], pad_begin[2] = {0, 0};
    int64_t stride[2] = {1, 1}, dil[2] = {1, 1};
    if (spatial == 2) {
        in[0] = x->dims[2];
        in[1] = x->dims[3];
        k[0] = w->dims[2];
        k[1] = w->dims[3];
    }
    for (int a = 0; a < spatial; a++) {
        int d = a + (2 - spatial); /* index into the 2-D arrays */
        int64_t kernel = axisValue(p->kernel, p->kernel_count, a, k[d]);
        if (kernel != k[d])
            return vbErrorSet(err, VB_ERR_SHAPE, "ConvTranspose '%s': kernel_shape does not match "
                              "the weights", p->node);
        stride[d] = axisValue(p->strides, p->stride_count, a, 1);
        dil[d] = axisValue(p->dilations, p->dilation_count, a, 1);
        int64_t out_pad = axisValue(p->output_padding, p->output_padding_count, a, 0);
        if (stride[d] < 1 || dil[d] < 1)
            return vbErrorSet(err, VB_ERR_SHAPE, "ConvTranspose '%s': strides and dilations must "
                              "be positive", p->node);
        int64_t full = stride[d] * (in[d] - 1) + out_pad + (k[d] - 1) * dil[d] + 1;

        /* Explicit output_shape or SAME padding fix the size, the pads follow. */
        int64_t target = -1;
        if (p->output_shape_count > 0)
            target = p->output_shape[p->output_shape_count - spatial + a];
        else if (strncmp(p->auto_pad, "SAME", 4) == 0)
            target = in[d] * stride[d];
        if (target >= 0) {
            /* total may be negative when the output grows past the full
             * size. Halves then round toward minus infinity, which the ONNX
             * node test convtranspose_output_shape expects. */
            int64_t total = full - target;
            int64_t half = total >= 0 ? total / 2 : -((1 - total) / 2);
            int upper = strcmp(p->auto_pad, "SAME_UPPER") == 0;
            pad_begin[d] = upper ? half : total - half;
            out[d] = target;
        } else {
            int64_t begin = 0, end = 0;
            if (strcmp(p->auto_pad, "VALID") != 0) {
                begin = axisValue(p->pads, p->pad_count, a, 0);
                end = axisValue(p->pads, p->pad_count, a + spatial, 0);
            }
            pad_begin[d] = begin;
            out[d] = full - begin - end;
        }
        if (out[d] < 0)
            return vbErrorSet(err, VB_ERR_SHAPE, "ConvTranspose '%s': pads leave a negative "
                              "output size", p->node);
    }
    g->in_h = in[0];
    g->in_w = in[1];
    g->k_h = k[0];
    g->k_w = k[1];
    g->out_h = spatial == 2 ? out[0] : 1;
    g->out_w = out[1];
    g->stride_h = stride[0];
    g->stride_w = stride[1];
    g->dil_h = dil[0];
    g->dil_w = dil[1];
    g->pad_top = pad_begin[0];
    g->pad_left = pad_begin[1];
    return VB_OK;
}

/* Workspace: packed weights for one group, the column matrix and sgemm tiles. */
static size_t workspaceBytes(const Geometry *g)
{
    int64_t m = g->out_channels / g->group * g->k_h * g->k_w, k = g->in_channels / g->group;
    int64_t n = g->in_h * g->in_w;
    size_t packed = (vbSgemmPackedASize((int)m, (int)k) * sizeof(float) + 63) & ~(size_t)63;
    size_t cols = ((size_t)(m * n) * sizeof(float) + 63) & ~(size_t)63;
    return packed + cols + vbSgemmThreadWorkspace((int)n, (int)k) * (size_t)vbCpuCount();
}

static vb_status convTransposeInfer(const void *params, const vb_tensor *const *in, int n_in,
                                    vb_tensor *const *out, int n_out, VbOpInferInfo *info,
                                    vb_error *err)
{
    const ConvTransposeParams *p = params;
    if (n_in < 2 || in[1] == NULL)
        return vbErrorSet(err, VB_ERR_SHAPE, "ConvTranspose '%s' needs X and W", p->node);
    for (int i = 0; i < n_in; i++) {
        if (in[i] != NULL && in[i]->dtype != VB_DTYPE_FLOAT32)
            return vbErrorSet(err, VB_ERR_UNSUPPORTED, "ConvTranspose '%s': input %d is %s; only "
                              "float32 is supported", p->node, i, vb_dtype_to_string(in[i]->dtype));
    }
    Geometry g;
    vb_status st = geometry(p, in[0], in[1], &g, err);
    if (st != VB_OK)
        return st;
    if (n_in > 2 && in[2] != NULL && vbTensorCount(in[2]) != (size_t)g.out_channels)
        return vbErrorSet(err, VB_ERR_SHAPE, "ConvTranspose '%s': bias has %zu values for %lld "
                          "output channels", p->node, vbTensorCount(in[2]),
                          (long long)g.out_channels);
    int64_t dims[4] = {g.batch, g.out_channels, g.out_h, g.out_w};
    if (in[0]->rank == 3)
        dims[2] = g.out_w;
    vbKernelSetShape(out[0], VB_DTYPE_FLOAT32, in[0]->rank, dims);

    /* The GEMM takes int sizes, and the column matrix must fit in memory. */
    int64_t m = g.out_channels / g.group * g.k_h * g.k_w, n = g.in_h * g.in_w;
    size_t cols;
    if (m > INT32_MAX || n > INT32_MAX || g.in_channels > INT32_MAX ||
        vbMulSize((size_t)m, (size_t)n, &cols) || vbMulSize(cols, sizeof(float), &cols))
        return vbErrorSet(err, VB_ERR_LIMIT, "ConvTranspose '%s': a %lld x %lld column matrix is "
                          "too large", p->node, (long long)m, (long long)n);
    info->workspace_bytes = workspaceBytes(&g);
    info->flops = 2 * (uint64_t)(g.batch * g.in_channels * g.in_h * g.in_w) *
                  (uint64_t)(g.out_channels / g.group * g.k_h * g.k_w);
    return vbKernelCheckSize("ConvTranspose", out[0], err);
}

/* Adds the column matrix cols [c_out * k_h * k_w, in_h * in_w] of one group
 * into y [c_out, out_h, out_w]. Input pixel (iy, ix) and tap (ky, kx) land on
 * output row iy * stride - pad + ky * dilation, and likewise for columns. */
static void col2im(const Geometry *g, int64_t c_out, const float *cols, float *y, int threads)
{
    int64_t taps = g->k_h * g->k_w, pixels = g->in_h * g->in_w;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t c = 0; c < c_out; c++) {
        float *plane = y + c * g->out_h * g->out_w;
        for (int64_t t = 0; t < taps; t++) {
            int64_t ky = t / g->k_w, kx = t % g->k_w;
            const float *row = cols + (c * taps + t) * pixels;
            for (int64_t iy = 0; iy < g->in_h; iy++) {
                int64_t oy = iy * g->stride_h - g->pad_top + ky * g->dil_h;
                if (oy < 0 || oy >= g->out_h)
                    continue;
                for (int64_t ix = 0; ix < g->in_w; ix++) {
                    int64_t ox = ix * g->stride_w - g->pad_left + kx * g->dil_w;
                    if (ox >= 0 && ox < g->out_w)
                        plane[oy * g->out_w + ox] += row[iy * g->in_w + ix];
                }
            }
        }
    }
}

static vb_status convTransposeRun(const void *params, const vb_tensor *const *in, int n_in,
                                  vb_tensor *const *out, int n_out, const VbOpRunContext *ctx,
                                  vb_error *err)
{
    const ConvTransposeParams *p = params;
    Geometry g;
    vb_status st = geometry(p, in[0], in[1], &g, err);
    if (st != VB_OK)
        return st;
    if (ctx->workspace_bytes < workspaceBytes(&g))
        return vbErrorSet(err, VB_ERR_INTERNAL, "ConvTranspose '%s': workspace of %zu bytes is too "
                          "small", p->node, ctx->workspace_bytes);
    int64_t c_in = g.in_channels / g.group, c_out = g.out_channels / g.group;
    int64_t m = c_out * g.k_h * g.k_w, n = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
    const float *x = in[0]->data, *w = in[1]->data;
    const float *bias = n_in > 2 && in[2] != NULL ? in[2]->data : NULL;
    float *y = out[0]->data;

    size_t packed_bytes = (vbSgemmPackedASize((int)m, (int)c_in) * sizeof(float) + 63) & ~(size_t)63;
    size_t cols_bytes = ((size_t)(m * n) * sizeof(float) + 63) & ~(size_t)63;
    float *packed = ctx->workspace;
    float *cols = (float *)((char *)ctx->workspace + packed_bytes);
    void *tiles = (char *)ctx->workspace + packed_bytes + cols_bytes;
    size_t tile_bytes = ctx->workspace_bytes - packed_bytes - cols_bytes;

    /* y starts as the bias (or zero); every group then adds its columns. */
    for (int64_t b = 0; b < g.batch; b++) {
        for (int64_t c = 0; c < g.out_channels; c++) {
            float v = bias ? bias[c] : 0.0f;
            float *plane = y + (b * g.out_channels + c) * out_plane;
            for (int64_t i = 0; i < out_plane; i++)
                plane[i] = v;
        }
    }
    if (m == 0 || n == 0 || c_in == 0)
        return VB_OK;

    for (int64_t grp = 0; grp < g.group; grp++) {
        /* A = W_g^T: element (row r of c_out*taps, column ci) is
         * w[(grp * c_in + ci) * m + r]. */
        vbSgemmPackA((int)m, (int)c_in, w + grp * c_in * m, 1, (size_t)m, packed);
        for (int64_t b = 0; b < g.batch; b++) {
            /* B = X of this image and group: [c_in, in_h * in_w]. */
            VbSgemmMatrix bsrc = {x + (b * g.in_channels + grp * c_in) * n, (size_t)n, 1,
                                  NULL};
            vbSgemm((int)m, (int)n, (int)c_in, packed, vbSgemmPackMatrix, &bsrc, cols, (size_t)n,
                    NULL, ctx, tiles, tile_bytes);
            col2im(&g, c_out, cols, y + (b * g.out_channels + grp * c_out) * out_plane,
                   ctx->threads);
        }
    }
    return VB_OK;
}

static const VbOpDef opConvTranspose = {"ConvTranspose", 1, convTransposePrepare,
                                        convTransposeInfer, convTransposeRun, vbKernelFreeParams,
                                        NULL, NULL};

const VbOpDef *const vbOpsConvTranspose[] = {&opConvTranspose, NULL};
