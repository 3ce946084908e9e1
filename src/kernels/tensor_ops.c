/* Ops that move data between positions: Gather, Concat, Split, Slice, Transpose, Pad, Tile, DepthToSpace and SpaceToDepth. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernel_util.h"
#include "kernels/parallel.h"
#include "kernels/shuffle_avx2.h"
#include "kernels/transpose16.h"

/* Most outputs Split may have; a node with more is rejected at load. */
#define MAX_SPLIT_OUTPUTS 65536

typedef struct TensorParams {
    char op_type[16];
    int opset;
    int64_t axis;                    /* Gather, Concat, Split */
    int64_t num_outputs;             /* Split (opset 18); 0 when absent */
    char mode[16];                   /* Pad: constant, reflect, edge, wrap; DepthToSpace: DCR, CRD */
    int64_t blocksize;               /* DepthToSpace, SpaceToDepth */
    float value;                     /* Pad (opset < 11) */
    int count;                       /* entries used in ints[] (perm, pads, starts) */
    int count2;                      /* entries used in ints2[] (Slice ends) */
    int count3;                      /* entries used in ints3[] (Slice axes) */
    int has_ints;
    int64_t ints[2 * VB_MAX_RANK];
    int64_t ints2[VB_MAX_RANK];
    int64_t ints3[VB_MAX_RANK];
    int split_count;                 /* Split's attribute (opset < 13), -1 when absent */
    int64_t split[];
} TensorParams;

/* Copies the INTS attribute name into dst (at most max values). */
static vb_status copyInts(const VbOnnxNode *node, const char *name, int64_t *dst, int max,
                          int *count, int *present, vb_error *err)
{
    int bad = 0, n = 0;
    const int64_t *v = vbOnnxAttrInts(node, name, &n, &bad);
    if (bad)
        return vbErrorSet(err, VB_ERR_PARSE, "%s '%s': attribute '%s' must be a list of ints",
                          node->op_type, node->name, name);
    if (n > max)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED, "%s '%s': attribute '%s' has %d values, at most %d "
                          "are supported", node->op_type, node->name, name, n, max);
    if (n)
        memcpy(dst, v, sizeof(int64_t) * (size_t)n);
    *count = n;
    if (present)
        *present = v != NULL;
    return VB_OK;
}

static vb_status tensorPrepare(const VbOnnxNode *node, int opset, void **params, vb_error *err)
{
    int bad = 0, split_count = 0;
    const int64_t *split = NULL;
    if (strcmp(node->op_type, "Split") == 0 && opset < 13)
        split = vbOnnxAttrInts(node, "split", &split_count, &bad);
    if (split_count > MAX_SPLIT_OUTPUTS)
        return vbErrorSet(err, VB_ERR_LIMIT, "Split '%s': %d parts, at most %d are supported",
                          node->name, split_count, MAX_SPLIT_OUTPUTS);

    TensorParams *p = calloc(1, sizeof *p + sizeof(int64_t) * (size_t)split_count);
    if (p == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory preparing %s", node->op_type);
    snprintf(p->op_type, sizeof p->op_type, "%s", node->op_type);
    p->opset = opset;
    p->split_count = split ? split_count : -1;
    if (split)
        memcpy(p->split, split, sizeof(int64_t) * (size_t)split_count);

    vb_status st = VB_OK;
    p->axis = vbOnnxAttrInt(node, "axis", strcmp(node->op_type, "Concat") == 0 ? INT64_MIN : 0,
                            &bad);
    p->num_outputs = vbOnnxAttrInt(node, "num_outputs", 0, &bad);
    const char *mode_default = strcmp(node->op_type, "DepthToSpace") == 0 ? "DCR" : "constant";
    snprintf(p->mode, sizeof p->mode, "%s", vbOnnxAttrString(node, "mode", mode_default, &bad));
    p->blocksize = vbOnnxAttrInt(node, "blocksize", 0, &bad);
    p->value = vbOnnxAttrFloat(node, "value", 0.0f, &bad);
    if (strcmp(node->op_type, "Transpose") == 0) {
        st = copyInts(node, "perm", p->ints, VB_MAX_RANK, &p->count, &p->has_ints, err);
    } else if (strcmp(node->op_type, "Pad") == 0 && opset < 11) {
        st = copyInts(node, "pads", p->ints, 2 * VB_MAX_RANK, &p->count, &p->has_ints, err);
    } else if (strcmp(node->op_type, "Slice") == 0 && opset < 10) {
        st = copyInts(node, "starts", p->ints, VB_MAX_RANK, &p->count, NULL, err);
        if (st == VB_OK)
            st = copyInts(node, "ends", p->ints2, VB_MAX_RANK, &p->count2, NULL, err);
        if (st == VB_OK)
            st = copyInts(node, "axes", p->ints3, VB_MAX_RANK, &p->count3, &p->has_ints, err);
    }
    if (st == VB_OK && bad)
        st = vbErrorSet(err, VB_ERR_PARSE, "%s '%s': an attribute has the wrong type",
                        node->op_type, node->name);
    if (st == VB_OK && strcmp(node->op_type, "Concat") == 0 && p->axis == INT64_MIN)
        st = vbErrorSet(err, VB_ERR_PARSE, "Concat '%s' has no axis attribute", node->name);
    if (st == VB_OK && strcmp(node->op_type, "Pad") == 0 && strcmp(p->mode, "constant") != 0 &&
        strcmp(p->mode, "reflect") != 0 && strcmp(p->mode, "edge") != 0 &&
        strcmp(p->mode, "wrap") != 0)
        st = vbErrorSet(err, VB_ERR_UNSUPPORTED, "Pad '%s': mode '%s' is not supported (constant, "
                        "reflect, edge and wrap are)", node->name, p->mode);
    if (st == VB_OK && strcmp(node->op_type, "DepthToSpace") == 0 && strcmp(p->mode, "DCR") != 0 &&
        strcmp(p->mode, "CRD") != 0)
        st = vbErrorSet(err, VB_ERR_UNSUPPORTED, "DepthToSpace '%s': mode '%s' is not DCR or CRD",
                        node->name, p->mode);
    if (st == VB_OK && strstr(node->op_type, "ToSpace") == NULL &&
        strstr(node->op_type, "ToDepth") == NULL)
        p->blocksize = 0;
    if (st == VB_OK && strstr(node->op_type, "To") != NULL && p->blocksize <= 0)
        st = vbErrorSet(err, VB_ERR_PARSE, "%s '%s' needs a positive blocksize", node->op_type,
                        node->name);
    if (st != VB_OK) {
        free(p);
        return st;
    }
    *params = p;
    return VB_OK;
}

static int64_t product(const int64_t *dims, int begin, int end)
{
    int64_t n = 1;
    for (int i = begin; i < end; i++)
        n *= dims[i];
    return n;
}

/* ---- Gather ------------------------------------------------------------------ */

static vb_status gatherInfer(const TensorParams *p, const vb_tensor *const *in, vb_tensor *out,
                             vb_error *err)
{
    const vb_tensor *data = in[0], *idx = in[1];
    int axis;
    vb_status st = vbKernelAxis("Gather", p->axis, data->rank, &axis, err);
    if (st != VB_OK)
        return st;
    if (idx->dtype != VB_DTYPE_INT32 && idx->dtype != VB_DTYPE_INT64)
        return vbErrorSet(err, VB_ERR_SHAPE, "Gather: indices must be int32 or int64, got %s",
                          vb_dtype_to_string(idx->dtype));
    int rank = data->rank - 1 + idx->rank;
    if (rank > VB_MAX_RANK)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED, "Gather: output rank %d exceeds %d", rank,
                          VB_MAX_RANK);
    int64_t dims[VB_MAX_RANK];
    int r = 0;
    for (int i = 0; i < axis; i++)
        dims[r++] = data->dims[i];
    for (int i = 0; i < idx->rank; i++)
        dims[r++] = idx->dims[i];
    for (int i = axis + 1; i < data->rank; i++)
        dims[r++] = data->dims[i];
    vbKernelSetShape(out, data->dtype, rank, dims);
    return VB_OK;
}

static vb_status gatherRun(const TensorParams *p, const vb_tensor *const *in, vb_tensor *out,
                           vb_error *err)
{
    const vb_tensor *data = in[0], *idx = in[1];
    int axis = (int)(p->axis < 0 ? p->axis + data->rank : p->axis);
    size_t es = vb_dtype_size(data->dtype);
    int64_t outer = product(data->dims, 0, axis), extent = data->dims[axis];
    size_t inner = (size_t)product(data->dims, axis + 1, data->rank) * es;
    size_t n_idx = vbTensorCount(idx);
    const char *src = data->data;
    char *dst = out->data;

    /* data [outer, extent, inner] -> out [outer, n_idx, inner] */
    for (int64_t o = 0; o < outer; o++) {
        for (size_t k = 0; k < n_idx; k++) {
            int64_t i = vbTensorGetInt(idx, k);
            if (i < -extent || i >= extent)
                return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                                  "Gather: index %lld is out of range for axis %d of size %lld",
                                  (long long)i, axis, (long long)extent);
            if (i < 0)
                i += extent;
            memcpy(dst, src + ((size_t)o * (size_t)extent + (size_t)i) * inner, inner);
            dst += inner;
        }
    }
    return VB_OK;
}

/* ---- Concat and Split ---------------------------------------------------- */

static vb_status concatInfer(const TensorParams *p, const vb_tensor *const *in, int n_in,
                             vb_tensor *out, vb_error *err)
{
    const vb_tensor *first = in[0];
    int axis;
    vb_status st = vbKernelAxis("Concat", p->axis, first->rank, &axis, err);
    if (st != VB_OK)
        return st;
    int64_t dims[VB_MAX_RANK];
    memcpy(dims, first->dims, sizeof(int64_t) * (size_t)first->rank);
    dims[axis] = 0;
    for (int i = 0; i < n_in; i++) {
        const vb_tensor *t = in[i];
        if (t == NULL || t->dtype != first->dtype || t->rank != first->rank)
            return vbErrorSet(err, VB_ERR_SHAPE, "Concat: input %d differs from input 0 in type or "
                              "rank", i);
        for (int d = 0; d < t->rank; d++) {
            if (d != axis && t->dims[d] != dims[d]) {
                char s0[96], s1[96];
                return vbErrorSet(err, VB_ERR_SHAPE, "Concat: input %d has shape %s, input 0 has %s "
                                  "(only axis %d may differ)", i, vbShapeString(t, s1, sizeof s1),
                                  vbShapeString(first, s0, sizeof s0), axis);
            }
        }
        dims[axis] += t->dims[axis];
    }
    vbKernelSetShape(out, first->dtype, first->rank, dims);
    return VB_OK;
}

static void concatRun(const TensorParams *p, const vb_tensor *const *in, int n_in, vb_tensor *out,
                      int threads)
{
    int rank = out->rank;
    int axis = (int)(p->axis < 0 ? p->axis + rank : p->axis);
    size_t es = vb_dtype_size(out->dtype);
    int64_t outer = product(out->dims, 0, axis);
    size_t inner = (size_t)product(out->dims, axis + 1, rank) * es;
    char *dst = out->data;

    /* each input [outer, dims_i[axis], inner] -> its slab of each out row */
    for (int64_t o = 0; o < outer; o++) {
        for (int i = 0; i < n_in; i++) {
            size_t chunk = (size_t)in[i]->dims[axis] * inner;
            vbKernelCopy(dst, (const char *)in[i]->data + (size_t)o * chunk, chunk, threads);
            dst += chunk;
        }
    }
}

static vb_status splitInfer(const TensorParams *p, const vb_tensor *const *in, int n_in,
                            vb_tensor *const *out, int n_out, vb_error *err)
{
    const vb_tensor *data = in[0];
    const vb_tensor *sizes = n_in > 1 ? in[1] : NULL;
    int axis;
    vb_status st = vbKernelAxis("Split", p->axis, data->rank, &axis, err);
    if (st != VB_OK)
        return st;
    int64_t extent = data->dims[axis];
    if (sizes != NULL && sizes->data == NULL)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED, "Split requires a constant 'split' input");
    int listed = sizes ? (int)vbTensorCount(sizes) : p->split_count;
    if (listed >= 0 && listed != n_out)
        return vbErrorSet(err, VB_ERR_SHAPE, "Split: %d sizes given for %d outputs", listed, n_out);
    if (p->num_outputs > 0 && p->num_outputs != n_out)
        return vbErrorSet(err, VB_ERR_SHAPE, "Split: num_outputs is %lld but the node has %d outputs",
                          (long long)p->num_outputs, n_out);

    /* Without sizes: equal parts; from opset 18 the last part may be smaller. */
    int64_t chunk = n_out > 0 ? extent / n_out : 0;
    if (listed < 0 && n_out > 0 && extent % n_out != 0) {
        if (p->opset < 18)
            return vbErrorSet(err, VB_ERR_SHAPE, "Split: axis %d of size %lld does not divide into %d "
                              "equal parts", axis, (long long)extent, n_out);
        chunk = (extent + n_out - 1) / n_out;
    }
    int64_t total = 0;
    for (int i = 0; i < n_out; i++) {
        int64_t size = chunk;
        if (listed >= 0)
            size = sizes ? vbTensorGetInt(sizes, (size_t)i) : p->split[i];
        else if (i == n_out - 1)
            size = extent - total;
        if (size < 0 || size > extent - total)
            return vbErrorSet(err, VB_ERR_SHAPE, "Split: part %d has size %lld, which is negative "
                              "or passes the end of axis %d (size %lld)", i, (long long)size, axis,
                              (long long)extent);
        vbKernelSetShape(out[i], data->dtype, data->rank, data->dims);
        out[i]->dims[axis] = size;
        total += size;
    }
    if (total != extent)
        return vbErrorSet(err, VB_ERR_SHAPE, "Split: part sizes add up to %lld, axis %d has %lld",
                          (long long)total, axis, (long long)extent);
    return VB_OK;
}

static void splitRun(const TensorParams *p, const vb_tensor *data, vb_tensor *const *out, int n_out,
                     int threads)
{
    int rank = data->rank;
    int axis = (int)(p->axis < 0 ? p->axis + rank : p->axis);
    size_t es = vb_dtype_size(data->dtype);
    int64_t outer = product(data->dims, 0, axis);
    size_t inner = (size_t)product(data->dims, axis + 1, rank) * es;
    const char *src = data->data;

    /* data rows [outer, extent * inner] -> each output's slab of the row */
    for (int64_t o = 0; o < outer; o++) {
        for (int i = 0; i < n_out; i++) {
            size_t chunk = (size_t)out[i]->dims[axis] * inner;
            vbKernelCopy((char *)out[i]->data + (size_t)o * chunk, src, chunk, threads);
            src += chunk;
        }
    }
}

/* ---- Slice ------------------------------------------------------------------- */

/* Computes, for every dim of data, the first index, the step and the element
 * count that Slice selects, from the attributes (opset < 10) or inputs. */
static vb_status sliceRanges(const TensorParams *p, const vb_tensor *const *in, int n_in,
                             int64_t *first, int64_t *step, int64_t *count, vb_error *err)
{
    const vb_tensor *data = in[0];
    int64_t starts[VB_MAX_RANK], ends[VB_MAX_RANK], axes[VB_MAX_RANK], steps[VB_MAX_RANK];
    int n_starts = p->count, n_ends = p->count2, n_axes = p->count3, n_steps = 0;
    int has_axes = p->has_ints;
    vb_status st = VB_OK;

    /* Read the four lists. */
    if (p->opset < 10) {
        memcpy(starts, p->ints, sizeof(int64_t) * (size_t)n_starts);
        memcpy(ends, p->ints2, sizeof(int64_t) * (size_t)n_ends);
        memcpy(axes, p->ints3, sizeof(int64_t) * (size_t)n_axes);
    } else {
        if (n_in < 3 || in[1] == NULL || in[2] == NULL)
            return vbErrorSet(err, VB_ERR_SHAPE, "Slice needs the starts and ends inputs");
        st = vbKernelReadInts("Slice", "starts", in[1], starts, VB_MAX_RANK, &n_starts, err);
        if (st == VB_OK)
            st = vbKernelReadInts("Slice", "ends", in[2], ends, VB_MAX_RANK, &n_ends, err);
        has_axes = n_in > 3 && in[3] != NULL;
        if (st == VB_OK && has_axes)
            st = vbKernelReadInts("Slice", "axes", in[3], axes, VB_MAX_RANK, &n_axes, err);
        if (st == VB_OK && n_in > 4 && in[4] != NULL)
            st = vbKernelReadInts("Slice", "steps", in[4], steps, VB_MAX_RANK, &n_steps, err);
        if (st != VB_OK)
            return st;
    }
    if (n_ends != n_starts || (has_axes && n_axes != n_starts) || (n_steps && n_steps != n_starts))
        return vbErrorSet(err, VB_ERR_SHAPE, "Slice: starts, ends, axes and steps differ in length");

    /* Default: the whole of every dim. */
    for (int d = 0; d < data->rank; d++) {
        first[d] = 0;
        step[d] = 1;
        count[d] = data->dims[d];
    }

    /* Clamp each sliced axis as the ONNX specification describes. */
    int seen[VB_MAX_RANK] = {0};
    for (int i = 0; i < n_starts; i++) {
        int axis = i;
        if (has_axes && (st = vbKernelAxis("Slice", axes[i], data->rank, &axis, err)) != VB_OK)
            return st;
        if (axis >= data->rank || seen[axis])
            return vbErrorSet(err, VB_ERR_SHAPE, "Slice: axis %d is out of range or repeated", axis);
        seen[axis] = 1;
        int64_t dim = data->dims[axis], s = n_steps ? steps[i] : 1;
        int64_t start = starts[i], end = ends[i];
        if (s == 0)
            return vbErrorSet(err, VB_ERR_SHAPE, "Slice: step for axis %d is 0", axis);
        if (start < 0)
            start += dim;
        if (end < 0)
            end += dim;
        int64_t n;
        if (s > 0) {
            start = vbKernelClamp(start, 0, dim);
            end = vbKernelClamp(end, 0, dim);
            n = end > start ? (end - start + s - 1) / s : 0;
        } else {
            start = vbKernelClamp(start, 0, dim - 1);
            end = vbKernelClamp(end, -1, dim - 1);
            n = start > end ? (start - end - s - 1) / -s : 0;
        }
        if (dim == 0)
            n = 0;
        first[axis] = start;
        step[axis] = s;
        count[axis] = n;
    }
    return VB_OK;
}

static vb_status sliceInfer(const TensorParams *p, const vb_tensor *const *in, int n_in,
                            vb_tensor *out, vb_error *err)
{
    int64_t first[VB_MAX_RANK], step[VB_MAX_RANK], count[VB_MAX_RANK];
    vb_status st = sliceRanges(p, in, n_in, first, step, count, err);
    if (st == VB_OK)
        vbKernelSetShape(out, in[0]->dtype, in[0]->rank, count);
    return st;
}

/* Side of the square tiles in which copyTiled transposes. */
#define TILE 32
/* Most rows of dim j in one work item of copyTiled: TILE-row tiles
 * stacked, so each input row of a tile is read as one long run. */
#define MAX_BAND 1024

#if defined(__x86_64__)
/* Transposes one 16x16 block of 4-byte elements: dst[a * out_row_stride + b]
 * = src[a + b * in_col_stride], through sixteen loads, an in-register
 * transpose and sixteen stores. */
__attribute__((target("avx512f"))) static void copyBlock16Avx512(uint32_t *dst,
                                                                 const uint32_t *src,
                                                                 int64_t out_row_stride,
                                                                 int64_t in_col_stride)
{
    __m512 v[16];
    for (int b = 0; b < 16; b++)
        v[b] = _mm512_loadu_ps(src + b * in_col_stride);
    vbTranspose16(v);
    for (int a = 0; a < 16; a++)
        _mm512_storeu_ps(dst + a * out_row_stride, v[a]);
}

/* Transposes one 8x8 block of 4-byte elements, as copyBlock16Avx512 does
 * a 16x16 one. */
__attribute__((target("avx2"))) static void copyBlock8Avx2(uint32_t *dst, const uint32_t *src,
                                                           int64_t out_row_stride,
                                                           int64_t in_col_stride)
{
    __m256 v[8];
    for (int b = 0; b < 8; b++)
        v[b] = _mm256_loadu_ps((const float *)(src + b * in_col_stride));
    vbTranspose8(v);
    for (int a = 0; a < 8; a++)
        _mm256_storeu_ps((float *)(dst + a * out_row_stride), v[a]);
}
#endif

/* Copies one TILE x TILE (or smaller) tile: rows a of the tile are output
 * dim j (input stride 1), columns b the last output dim (output stride 1).
 * use_avx512 moves the whole 16x16 blocks of 4-byte elements with
 * copyBlock16Avx512, or else use_avx2 the whole 8x8 blocks with
 * copyBlock8Avx2, and the rest goes element by element. */
static void copyTile(char *dst, const char *src, size_t es, int64_t rows, int64_t cols,
                     int64_t out_row_stride, int64_t in_col_stride, int use_avx512,
                     int use_avx2)
{
    int64_t block_rows = 0, block_cols = 0;
#if defined(__x86_64__)
    /* the block size and its register transpose, if any */
    int64_t block = 0;
    void (*copy_block)(uint32_t *, const uint32_t *, int64_t, int64_t) = NULL;
    if (es == 4 && use_avx512) {
        block = 16;
        copy_block = copyBlock16Avx512;
    } else if (es == 4 && use_avx2) {
        block = 8;
        copy_block = copyBlock8Avx2;
    }
    if (copy_block != NULL) {
        block_rows = rows / block * block;
        block_cols = cols / block * block;
        for (int64_t a = 0; a < block_rows; a += block) {
            for (int64_t b = 0; b < block_cols; b += block)
                copy_block((uint32_t *)dst + a * out_row_stride + b,
                           (const uint32_t *)src + a + b * in_col_stride, out_row_stride,
                           in_col_stride);
        }
    }
#else
    (void)use_avx512;
    (void)use_avx2;
#endif

    /* what the blocks left: columns past block_cols of their rows, then
     * whole rows past block_rows */
    for (int64_t a = 0; a < rows; a++) {
        int64_t b0 = a < block_rows ? block_cols : 0;
        if (es == 4) {
            uint32_t *o = (uint32_t *)dst + a * out_row_stride;
            const uint32_t *i = (const uint32_t *)src + a;
            for (int64_t b = b0; b < cols; b++)
                o[b] = i[b * in_col_stride];
            continue;
        }
        for (int64_t b = b0; b < cols; b++)
            memcpy(dst + (size_t)(a * out_row_stride + b) * es,
                   src + (size_t)(a + b * in_col_stride) * es, es);
    }
}

/* Arguments of one copyTiled call for tiledTask. */
typedef struct TiledJob {
    const VbKernelWalk *w;
    int j;
    char *dst;
    const char *src;
    size_t es;
    int64_t nj, nl, band, tiles_j, tiles_l;
    int use_avx512, use_avx2;
} TiledJob;

/* Copies work items [begin, end): one outer position and one band of TILE
 * rows of dim j each. */
static void tiledTask(void *arg, size_t begin, size_t end)
{
    const TiledJob *job = arg;
    const VbKernelWalk *w = job->w;
    int j = job->j, last = w->rank - 1;
    char *dst = job->dst;
    const char *src = job->src;
    size_t es = job->es;
    int64_t nj = job->nj, nl = job->nl, band = job->band, tiles_j = job->tiles_j;
    int64_t tiles_l = job->tiles_l;
    for (int64_t item = (int64_t)begin; item < (int64_t)end; item++) {
        int64_t rest = item / tiles_j, a0 = item % tiles_j * band;
        int64_t out_off = a0 * w->strides[0][j], in_off = a0;
        for (int d = last - 1; d >= 0; d--) {
            if (d == j)
                continue;
            int64_t idx = rest % w->dims[d];
            rest /= w->dims[d];
            out_off += idx * w->strides[0][d];
            in_off += idx * w->strides[1][d];
        }
        int64_t rows = nj - a0 < band ? nj - a0 : band;

        /* Column tile by column tile, and down the band within each, so
         * every input row of the tile is read as one run of up to band
         * elements. */
        for (int64_t t = 0; t < tiles_l; t++) {
            int64_t b0 = t * TILE, cols = nl - b0 < TILE ? nl - b0 : TILE;
            for (int64_t r0 = 0; r0 < rows; r0 += TILE) {
                int64_t sub = rows - r0 < TILE ? rows - r0 : TILE;
                copyTile(dst + (size_t)(out_off + r0 * w->strides[0][j] + b0) * es,
                         src + (in_off + r0 + b0 * w->strides[1][last]) * (int64_t)es, es, sub,
                         cols, w->strides[0][j], w->strides[1][last], job->use_avx512,
                         job->use_avx2);
            }
        }
    }
}

/* Copies a coalesced walk (operand 0 the contiguous output, operand 1 the
 * input) in tiles, for the transpose case: the last output dim reads the
 * input with a large stride while output dim j reads it contiguously.
 * Row-by-row copying would touch one input cache line per element. */
static void copyTiled(const VbKernelWalk *w, int j, char *dst, const char *src, size_t es,
                      int threads, int use_simd)
{
    int64_t nj = w->dims[j], nl = w->dims[w->rank - 1];
    int64_t outer = (int64_t)(w->count / (size_t)(nj * nl));
    if (w->count < VB_KERNEL_PARALLEL_MIN)
        threads = 1;

    /* The widest band that still leaves four work items per thread. */
    int64_t tiles = (nj + TILE - 1) / TILE, wanted = 4 * (int64_t)(threads < 1 ? 1 : threads);
    int64_t band_tiles = tiles * outer / wanted;
    if (band_tiles > MAX_BAND / TILE)
        band_tiles = MAX_BAND / TILE;
    if (band_tiles < 1)
        band_tiles = 1;
    int64_t band = band_tiles * TILE;
    int64_t tiles_j = (nj + band - 1) / band, tiles_l = (nl + TILE - 1) / TILE;
    int64_t items = outer * tiles_j;

    TiledJob job = {w, j, dst, src, es, nj, nl, band, tiles_j, tiles_l, 0, 0};
#if defined(__x86_64__)
    job.use_avx512 = use_simd && __builtin_cpu_supports("avx512f");
    job.use_avx2 = use_simd && __builtin_cpu_supports("avx2");
#else
    (void)use_simd;
#endif
    vbParallelRanges(threads, (size_t)items, tiledTask, &job);
}

/* Copies a strided view of src (element strides in_strides, starting at
 * element offset) into the contiguous out. */
static void copyView(const vb_tensor *src, int64_t offset, const int64_t *in_strides,
                     vb_tensor *out, int threads, int use_simd)
{
    size_t es = vb_dtype_size(out->dtype);
    VbKernelWalk walk;
    vbKernelWalkInit(&walk, out->rank, out->dims, 2);
    vbKernelWalkBroadcast(&walk, 0, out->rank, out->dims);
    for (int d = 0; d < out->rank; d++)
        walk.strides[1][d] = in_strides[d];
    vbKernelWalkCoalesce(&walk);
    char *base[2] = {out->data, (char *)src->data + offset * (int64_t)es};

    /* A transpose: some earlier dim is the input's contiguous one. */
    int last = walk.rank - 1;
    if (walk.strides[1][last] > 1 || walk.strides[1][last] < -1) {
        for (int j = last - 1; j >= 0; j--) {
            if (walk.strides[1][j] == 1 && walk.dims[last] >= 4) {
                copyTiled(&walk, j, base[0], base[1], es, threads, use_simd);
                return;
            }
        }
    }
    size_t esize[2] = {es, es};
    vbKernelWalkRun(&walk, vbKernelCopyRow, &es, base, esize, threads);
}

static vb_status sliceRun(const TensorParams *p, const vb_tensor *const *in, int n_in,
                          vb_tensor *out, int threads, int use_simd, vb_error *err)
{
    const vb_tensor *data = in[0];
    int64_t first[VB_MAX_RANK], step[VB_MAX_RANK], count[VB_MAX_RANK], strides[VB_MAX_RANK];
    vb_status st = sliceRanges(p, in, n_in, first, step, count, err);
    if (st != VB_OK)
        return st;
    int64_t offset = 0, stride = 1;
    for (int d = data->rank - 1; d >= 0; d--) {
        offset += first[d] * stride;
        strides[d] = step[d] * stride;
        stride *= data->dims[d];
    }
    if (vbTensorCount(out) > 0)
        copyView(data, offset, strides, out, threads, use_simd);
    return VB_OK;
}

/* ---- Transpose --------------------------------------------------------------- */

static vb_status transposePerm(const TensorParams *p, int rank, int *perm, vb_error *err)
{
    if (!p->has_ints) {
        for (int i = 0; i < rank; i++)
            perm[i] = rank - 1 - i;
        return VB_OK;
    }
    if (p->count != rank)
        return vbErrorSet(err, VB_ERR_SHAPE, "Transpose: perm has %d entries for rank %d", p->count,
                          rank);
    int used[VB_MAX_RANK] = {0};
    for (int i = 0; i < rank; i++) {
        int64_t v = p->ints[i] < 0 ? p->ints[i] + rank : p->ints[i];
        if (v < 0 || v >= rank || used[v])
            return vbErrorSet(err, VB_ERR_SHAPE, "Transpose: perm is not a permutation of 0..%d",
                              rank - 1);
        used[v] = 1;
        perm[i] = (int)v;
    }
    return VB_OK;
}

static vb_status transposeInfer(const TensorParams *p, const vb_tensor *data, vb_tensor *out,
                                vb_error *err)
{
    int perm[VB_MAX_RANK];
    vb_status st = transposePerm(p, data->rank, perm, err);
    if (st != VB_OK)
        return st;
    int64_t dims[VB_MAX_RANK];
    for (int i = 0; i < data->rank; i++)
        dims[i] = data->dims[perm[i]];
    vbKernelSetShape(out, data->dtype, data->rank, dims);
    return VB_OK;
}

static void transposeRun(const TensorParams *p, const vb_tensor *data, vb_tensor *out, int threads,
                         int use_simd)
{
    int perm[VB_MAX_RANK];
    int64_t in_strides[VB_MAX_RANK], strides[VB_MAX_RANK], stride = 1;
    transposePerm(p, data->rank, perm, NULL);
    for (int d = data->rank - 1; d >= 0; d--) {
        in_strides[d] = stride;
        stride *= data->dims[d];
    }
    for (int d = 0; d < data->rank; d++)
        strides[d] = in_strides[perm[d]];
    if (vbTensorCount(out) > 0)
        copyView(data, 0, strides, out, threads, use_simd);
}

/* ---- Pad --------------------------------------------------------------------- */

/* Reads the pads for every dim into begin/end from the attribute (opset < 11)
 * or the pads and axes inputs. */
static vb_status padAmounts(const TensorParams *p, const vb_tensor *const *in, int n_in,
                            int64_t *begin, int64_t *end, vb_error *err)
{
    int rank = in[0]->rank;
    int64_t pads[2 * VB_MAX_RANK], axes[VB_MAX_RANK];
    int n_pads = p->count, n_axes = rank;
    vb_status st;
    if (p->opset < 11) {
        memcpy(pads, p->ints, sizeof(int64_t) * (size_t)n_pads);
    } else {
        if (n_in < 2 || in[1] == NULL)
            return vbErrorSet(err, VB_ERR_SHAPE, "Pad needs the pads input");
        st = vbKernelReadInts("Pad", "pads", in[1], pads, 2 * VB_MAX_RANK, &n_pads, err);
        if (st != VB_OK)
            return st;
    }
    if (n_in > 3 && in[3] != NULL) {
        st = vbKernelReadInts("Pad", "axes", in[3], axes, VB_MAX_RANK, &n_axes, err);
        if (st != VB_OK)
            return st;
    } else {
        for (int i = 0; i < rank; i++)
            axes[i] = i;
    }
    if (n_pads != 2 * n_axes)
        return vbErrorSet(err, VB_ERR_SHAPE, "Pad: %d pads for %d axes (need 2 per axis)", n_pads,
                          n_axes);
    for (int d = 0; d < rank; d++)
        begin[d] = end[d] = 0;
    for (int i = 0; i < n_axes; i++) {
        int axis;
        if ((st = vbKernelAxis("Pad", axes[i], rank, &axis, err)) != VB_OK)
            return st;
        begin[axis] = pads[i];
        end[axis] = pads[i + n_axes];
    }
    return VB_OK;
}

static vb_status padInfer(const TensorParams *p, const vb_tensor *const *in, int n_in,
                          vb_tensor *out, vb_error *err)
{
    const vb_tensor *data = in[0];
    int64_t begin[VB_MAX_RANK], end[VB_MAX_RANK], dims[VB_MAX_RANK];
    vb_status st = padAmounts(p, in, n_in, begin, end, err);
    if (st != VB_OK)
        return st;
    int constant = strcmp(p->mode, "constant") == 0;
    for (int d = 0; d < data->rank; d++) {
        dims[d] = data->dims[d] + begin[d] + end[d];
        if (dims[d] < 0)
            return vbErrorSet(err, VB_ERR_SHAPE, "Pad: pads remove more than axis %d has", d);
        if (!constant && data->dims[d] == 0 && dims[d] > 0)
            return vbErrorSet(err, VB_ERR_SHAPE, "Pad: mode '%s' cannot pad the empty axis %d",
                              p->mode, d);
    }
    vbKernelSetShape(out, data->dtype, data->rank, dims);
    if (n_in > 2 && in[2] != NULL && (in[2]->dtype != data->dtype || vbTensorCount(in[2]) != 1))
        return vbErrorSet(err, VB_ERR_SHAPE, "Pad: constant_value must be a %s scalar",
                          vb_dtype_to_string(data->dtype));
    return vbKernelCheckSize("Pad", out, err);
}

/* Maps output coordinate c, already shifted by the begin pad, to an input
 * coordinate in [0, dim) for the reflect, edge and wrap modes. In constant
 * mode a c outside the input returns -1. */
static int64_t padSource(char mode, int64_t c, int64_t dim)
{
    if (c >= 0 && c < dim)
        return c;
    switch (mode) {
    case 'r': {
        if (dim == 1)
            return 0;
        int64_t period = 2 * (dim - 1);
        c = c < 0 ? -c : c;
        c %= period;
        return c >= dim ? period - c : c;
    }
    case 'e': return c < 0 ? 0 : dim - 1;
    case 'w': return ((c % dim) + dim) % dim;
    default: return -1;
    }
}

/* Writes the constant pad value, converted to the data's type, into bytes. */
static void padValue(const TensorParams *p, const vb_tensor *const *in, int n_in, vb_dtype dt,
                     unsigned char *bytes)
{
    memset(bytes, 0, 8);
    if (n_in > 2 && in[2] != NULL) {
        memcpy(bytes, in[2]->data, vb_dtype_size(dt));
        return;
    }
    double v = p->opset < 11 ? p->value : 0.0;
    switch (dt) {
    case VB_DTYPE_FLOAT32: { float f = (float)v; memcpy(bytes, &f, 4); break; }
    case VB_DTYPE_FLOAT64: memcpy(bytes, &v, 8); break;
    case VB_DTYPE_INT32: {
        int32_t i = (int32_t)vbKernelClamp(vbKernelToInt64(v), INT32_MIN, INT32_MAX);
        memcpy(bytes, &i, 4);
        break;
    }
    case VB_DTYPE_INT64: {
        int64_t i = vbKernelToInt64(v);
        memcpy(bytes, &i, 8);
        break;
    }
    default: bytes[0] = (unsigned char)v; break;
    }
}

static vb_status padRun(const TensorParams *p, const vb_tensor *const *in, int n_in, vb_tensor *out,
                        vb_error *err)
{
    const vb_tensor *data = in[0];
    int64_t begin[VB_MAX_RANK], end[VB_MAX_RANK], in_strides[VB_MAX_RANK];
    vb_status st = padAmounts(p, in, n_in, begin, end, err);
    if (st != VB_OK)
        return st;
    int rank = data->rank;
    size_t es = vb_dtype_size(data->dtype), total = vbTensorCount(out);
    unsigned char value[8];
    padValue(p, in, n_in, data->dtype, value);
    char mode = p->mode[0];
    int64_t stride = 1;
    for (int d = rank - 1; d >= 0; d--) {
        in_strides[d] = stride;
        stride *= data->dims[d];
    }
    if (total == 0)
        return VB_OK;
    if (rank == 0) {
        memcpy(out->data, data->data, es);
        return VB_OK;
    }

    /* Walk the output row by row (last dim); map the outer coordinates once
     * per row and the last coordinate per element. */
    int last = rank - 1;
    int64_t width = out->dims[last], idx[VB_MAX_RANK] = {0};
    const char *src = data->data;
    char *dst = out->data;
    for (size_t row = 0; row < total / (size_t)width; row++) {
        int64_t base = 0;
        int outside = 0;
        for (int d = 0; d < last; d++) {
            int64_t s = padSource(mode, idx[d] - begin[d], data->dims[d]);
            if (s < 0)
                outside = 1;
            base += s * in_strides[d];
        }
        if (mode == 'c' && begin[last] >= 0 && end[last] >= 0) {
            /* constant pads around the last dim: fill, copy the row, fill */
            int64_t inner = outside ? 0 : data->dims[last];
            int64_t lead = outside ? width : begin[last];
            for (int64_t j = 0; j < lead; j++, dst += es)
                memcpy(dst, value, es);
            memcpy(dst, src + base * (int64_t)es, (size_t)inner * es);
            dst += (size_t)inner * es;
            for (int64_t j = lead + inner; j < width; j++, dst += es)
                memcpy(dst, value, es);
        } else {
            for (int64_t j = 0; j < width; j++) {
                int64_t s = outside ? -1 : padSource(mode, j - begin[last], data->dims[last]);
                memcpy(dst, s < 0 ? (const char *)value : src + (base + s) * (int64_t)es, es);
                dst += es;
            }
        }
        for (int d = last - 1; d >= 0; d--) {
            if (++idx[d] < out->dims[d])
                break;
            idx[d] = 0;
        }
    }
    return VB_OK;
}

/* ---- Tile ------------------------------------------------------------------- */

static vb_status tileInfer(const vb_tensor *const *in, int n_in, vb_tensor *out, vb_error *err)
{
    const vb_tensor *data = in[0];
    int64_t repeats[VB_MAX_RANK];
    int count = 0;
    if (n_in < 2 || in[1] == NULL)
        return vbErrorSet(err, VB_ERR_SHAPE, "Tile needs the repeats input");
    vb_status st = vbKernelReadInts("Tile", "repeats", in[1], repeats, VB_MAX_RANK, &count, err);
    if (st != VB_OK)
        return st;
    if (count != data->rank)
        return vbErrorSet(err, VB_ERR_SHAPE, "Tile: %d repeats for rank %d", count, data->rank);
    vbKernelSetShape(out, data->dtype, data->rank, data->dims);
    for (int d = 0; d < data->rank; d++) {
        if (repeats[d] < 0 || vbMulI64(data->dims[d], repeats[d], &out->dims[d]))
            return vbErrorSet(err, VB_ERR_SHAPE, "Tile: repeats[%d] = %lld is invalid", d,
                              (long long)repeats[d]);
    }
    return vbKernelCheckSize("Tile", out, err);
}

static void tileRun(const vb_tensor *data, vb_tensor *out)
{
    int rank = data->rank;
    size_t es = vb_dtype_size(data->dtype), total = vbTensorCount(out);
    if (total == 0)
        return;
    if (rank == 0) {
        memcpy(out->data, data->data, es);
        return;
    }

    /* Copy each output row from its source row, wrapping every coordinate. */
    int64_t in_strides[VB_MAX_RANK], idx[VB_MAX_RANK] = {0}, stride = 1;
    for (int d = rank - 1; d >= 0; d--) {
        in_strides[d] = stride;
        stride *= data->dims[d];
    }
    int last = rank - 1;
    int64_t width = out->dims[last], src_width = data->dims[last];
    char *dst = out->data;
    for (size_t row = 0; row < total / (size_t)width; row++) {
        int64_t base = 0;
        for (int d = 0; d < last; d++)
            base += (idx[d] % data->dims[d]) * in_strides[d];
        const char *src = (const char *)data->data + base * (int64_t)es;
        for (int64_t j = 0; j < width; j += src_width) {
            memcpy(dst, src, (size_t)src_width * es);
            dst += (size_t)src_width * es;
        }
        for (int d = last - 1; d >= 0; d--) {
            if (++idx[d] < out->dims[d])
                break;
            idx[d] = 0;
        }
    }
}

/* ---- DepthToSpace and SpaceToDepth ------------------------------------------ */

/* Describes the op as a 6-D transpose of a reshaped input: fills the output
 * view dims (6), the input's element strides for each view dim, and the
 * final 4-D output shape. */
static vb_status spaceDepthView(const TensorParams *p, const vb_tensor *x, int64_t *view,
                                int64_t *strides, int64_t *out_dims, vb_error *err)
{
    if (x->rank != 4)
        return vbErrorSet(err, VB_ERR_SHAPE, "%s needs a 4-D input, got rank %d", p->op_type,
                          x->rank);
    int64_t n = x->dims[0], c = x->dims[1], h = x->dims[2], w = x->dims[3], b = p->blocksize;
    int64_t in6[6], perm[6];
    if (strcmp(p->op_type, "SpaceToDepth") == 0) {
        if (h % b || w % b)
            return vbErrorSet(err, VB_ERR_SHAPE, "SpaceToDepth: %lldx%lld is not divisible by "
                              "blocksize %lld", (long long)h, (long long)w, (long long)b);
        int64_t shape[6] = {n, c, h / b, b, w / b, b}, order[6] = {0, 3, 5, 1, 2, 4};
        memcpy(in6, shape, sizeof in6);
        memcpy(perm, order, sizeof perm);
        int64_t dims[4] = {n, c * b * b, h / b, w / b};
        memcpy(out_dims, dims, sizeof dims);
    } else {
        if (c % (b * b))
            return vbErrorSet(err, VB_ERR_SHAPE, "DepthToSpace: %lld channels are not divisible "
                              "by blocksize^2 = %lld", (long long)c, (long long)(b * b));
        int crd = strcmp(p->mode, "CRD") == 0;
        int64_t dcr_shape[6] = {n, b, b, c / (b * b), h, w}, dcr_order[6] = {0, 3, 4, 1, 5, 2};
        int64_t crd_shape[6] = {n, c / (b * b), b, b, h, w}, crd_order[6] = {0, 1, 4, 2, 5, 3};
        memcpy(in6, crd ? crd_shape : dcr_shape, sizeof in6);
        memcpy(perm, crd ? crd_order : dcr_order, sizeof perm);
        int64_t dims[4] = {n, c / (b * b), h * b, w * b};
        memcpy(out_dims, dims, sizeof dims);
    }
    int64_t in_strides[6], stride = 1;
    for (int d = 5; d >= 0; d--) {
        in_strides[d] = stride;
        stride *= in6[d];
    }
    for (int d = 0; d < 6; d++) {
        view[d] = in6[perm[d]];
        strides[d] = in_strides[perm[d]];
    }
    return VB_OK;
}

/* ---- Dispatch ---------------------------------------------------------------- */

static vb_status tensorInfer(const void *params, const vb_tensor *const *in, int n_in,
                             vb_tensor *const *out, int n_out, VbOpInferInfo *info, vb_error *err)
{
    const TensorParams *p = params;
    const char *op = p->op_type;
    int needed = strcmp(op, "Gather") == 0 ? 2 : 1;
    for (int i = 0; i < needed; i++) {
        if (n_in <= i || in[i] == NULL)
            return vbErrorSet(err, VB_ERR_SHAPE, "%s: input %d is missing", op, i);
    }
    if (vb_dtype_size(in[0]->dtype) == 0)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED, "%s does not support %s tensors", op,
                          vb_dtype_to_string(in[0]->dtype));

    vb_status st;
    if (strcmp(op, "Gather") == 0)
        st = gatherInfer(p, in, out[0], err);
    else if (strcmp(op, "Concat") == 0)
        st = concatInfer(p, in, n_in, out[0], err);
    else if (strcmp(op, "Split") == 0)
        return splitInfer(p, in, n_in, out, n_out, err);
    else if (strcmp(op, "Slice") == 0)
        st = sliceInfer(p, in, n_in, out[0], err);
    else if (strcmp(op, "Transpose") == 0)
        st = transposeInfer(p, in[0], out[0], err);
    else if (strcmp(op, "Tile") == 0)
        st = tileInfer(in, n_in, out[0], err);
    else if (p->blocksize > 0) {
        int64_t view[6], strides[6], dims[4];
        st = spaceDepthView(p, in[0], view, strides, dims, err);
        if (st == VB_OK)
            vbKernelSetShape(out[0], in[0]->dtype, 4, dims);
    } else
        st = padInfer(p, in, n_in, out[0], err);
    return st;
}

static vb_status tensorRun(const void *params, const vb_tensor *const *in, int n_in,
                           vb_tensor *const *out, int n_out, const VbOpRunContext *ctx, vb_error *err)
{
    const TensorParams *p = params;
    const char *op = p->op_type;
    if (strcmp(op, "Gather") == 0)
        return gatherRun(p, in, out[0], err);
    if (strcmp(op, "Concat") == 0) {
        concatRun(p, in, n_in, out[0], ctx->threads);
        return VB_OK;
    }
    if (strcmp(op, "Split") == 0) {
        splitRun(p, in[0], out, n_out, ctx->threads);
        return VB_OK;
    }
    if (strcmp(op, "Slice") == 0)
        return sliceRun(p, in, n_in, out[0], ctx->threads, !ctx->disable_simd, err);
    if (strcmp(op, "Transpose") == 0) {
        transposeRun(p, in[0], out[0], ctx->threads, !ctx->disable_simd);
        return VB_OK;
    }
    if (strcmp(op, "Tile") == 0) {
        tileRun(in[0], out[0]);
        return VB_OK;
    }
    if (p->blocksize > 0) {
        int64_t view[6], strides[6], dims[4];
        vb_status st = spaceDepthView(p, in[0], view, strides, dims, err);
        if (st != VB_OK || vbTensorCount(out[0]) == 0)
            return st;
        vb_tensor view_out = *out[0];
        vbKernelSetShape(&view_out, out[0]->dtype, 6, view);
        copyView(in[0], 0, strides, &view_out, ctx->threads, !ctx->disable_simd);
        return VB_OK;
    }
    return padRun(p, in, n_in, out[0], err);
}

#define TENSOR_OP(name, type, opset)                                                               \
    static const VbOpDef name = {type, opset, tensorPrepare, tensorInfer, tensorRun,               \
                                 vbKernelFreeParams, NULL, NULL}

TENSOR_OP(opGather, "Gather", 1);
TENSOR_OP(opConcat, "Concat", 4);
TENSOR_OP(opSplit, "Split", 2);
TENSOR_OP(opSlice, "Slice", 1);
TENSOR_OP(opTranspose, "Transpose", 1);
TENSOR_OP(opPad, "Pad", 2);
TENSOR_OP(opTile, "Tile", 6);
TENSOR_OP(opDepthToSpace, "DepthToSpace", 1);
TENSOR_OP(opSpaceToDepth, "SpaceToDepth", 1);

const VbOpDef *const vbOpsTensor[] = {
    &opGather, &opConcat, &opSplit, &opSlice, &opTranspose, &opPad, &opTile, &opDepthToSpace,
    &opSpaceToDepth, NULL,
};
