/* Gemm (opset 7+, C optional from 11) and MatMul (numpy batched semantics) on float32, built on the packed SGEMM core. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "engine/op.h"
#include "kernels/parallel.h"
#include "kernels/sgemm.h"

typedef struct GemmParams {
    char node[96];
    float alpha, beta;
    int trans_a, trans_b;
    VbActivation act;
    float act_alpha, act_beta;
} GemmParams;

static vb_status gemmPrepare(const VbOnnxNode *node, int opset, void **params, vb_error *err)
{
    GemmParams *p = calloc(1, sizeof *p);
    if (p == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "%s node '%s': out of memory", node->op_type, node->name);
    snprintf(p->node, sizeof p->node, "%s", node->name ? node->name : "");
    int bad = 0;
    p->alpha = vbOnnxAttrFloat(node, "alpha", 1.0f, &bad);
    p->beta = vbOnnxAttrFloat(node, "beta", 1.0f, &bad);
    int64_t ta = vbOnnxAttrInt(node, "transA", 0, &bad);
    int64_t tb = vbOnnxAttrInt(node, "transB", 0, &bad);
    if (bad || (ta != 0 && ta != 1) || (tb != 0 && tb != 1)) {
        free(p);
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                          "Gemm node '%s': alpha and beta must be floats, transA and transB 0 or 1", node->name);
    }
    p->trans_a = (int)ta;
    p->trans_b = (int)tb;
    *params = p;
    return VB_OK;
}

static vb_status matMulPrepare(const VbOnnxNode *node, int opset, void **params, vb_error *err)
{
    GemmParams *p = calloc(1, sizeof *p);
    if (p == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "MatMul node '%s': out of memory", node->name);
    snprintf(p->node, sizeof p->node, "%s", node->name ? node->name : "");
    p->alpha = 1.0f;
    *params = p;
    return VB_OK;
}

static void gemmRelease(void *params)
{
    free(params);
}

static int gemmFuse(void *params, VbActivation act, float alpha, float beta)
{
    GemmParams *p = params;
    if (p->act != VB_ACT_NONE)
        return 0;
    p->act = act;
    p->act_alpha = alpha;
    p->act_beta = beta;
    return 1;
}

/* Returns the workspace one GEMM of M x N x K needs: packed A plus B tiles
 * for every core. */
static size_t gemmWorkspace(int64_t m, int64_t n, int64_t k)
{
    size_t packed = (vbSgemmPackedASize((int)m, (int)k) * sizeof(float) + 63) & ~(size_t)63;
    return packed + vbSgemmThreadWorkspace((int)n, (int)k) * (size_t)vbCpuCount();
}

static vb_status checkFloat(const char *op, const char *node, const vb_tensor *t, vb_error *err)
{
    if (t->dtype != VB_DTYPE_FLOAT32)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED, "%s node '%s': input type %s is not supported; only float32 is",
                          op, node, vb_dtype_to_string(t->dtype));
    return VB_OK;
}

/* Checks that every dim fits the int sizes the SGEMM core takes. */
static vb_status checkGemmSize(const char *op, const char *node, int64_t m, int64_t n, int64_t k,
                               vb_error *err)
{
    if (m > INT32_MAX / 2 || n > INT32_MAX / 2 || k > INT32_MAX / 2)
        return vbErrorSet(err, VB_ERR_LIMIT, "%s node '%s': a matrix dim (%lld x %lld x %lld) is too large",
                          op, node, (long long)m, (long long)n, (long long)k);
    return VB_OK;
}

/* ---- Gemm ---- */

/* Arguments of one gemvRun call for gemvTask. */
typedef struct GemvJob {
    const float *a, *b;
    int trans_b, use_simd;
    int64_t n, k;
    float *y;
} GemvJob;

/* Computes y[j] for the block of 64 columns blk (fewer in the last block). */
static void gemvTask(void *arg, int64_t blk, int worker)
{
    const GemvJob *job = arg;
    const float *a = job->a, *b = job->b;
    int64_t n = job->n, k = job->k;
    float *y = job->y;
    int64_t j0 = blk * 64, j1 = j0 + 64 < n ? j0 + 64 : n;
    (void)worker;
    if (job->trans_b) {
        vbSgemvRows(b + (size_t)j0 * (size_t)k, (size_t)k, a, k, j1 - j0, y + j0, job->use_simd);
        return;
    }

    /* y[j0..j1) accumulates row by row of B, which is K x N. */
    for (int64_t j = j0; j < j1; j++)
        y[j] = 0.0f;
    for (int64_t i = 0; i < k; i++) {
        const float *brow = b + (size_t)i * (size_t)n;
        float ai = a[i];
        for (int64_t j = j0; j < j1; j++)
            y[j] += ai * brow[j];
    }
}

/* Computes y[1][N] = a[1][K] * B for a single row of A (a classifier head),
 * reading B once in place instead of packing it: B is N x K with trans_b,
 * else K x N. Columns go to threads in blocks of 64, so each writes whole
 * cache lines, and each y[j] sums over k in the same order on any thread. */
static void gemvRun(const float *a, const float *b, int trans_b, int64_t n, int64_t k, float *y,
                    int threads, int use_simd)
{
    GemvJob job = {a, b, trans_b, use_simd, n, k, y};
    vbParallelFor(threads, (n + 63) / 64, gemvTask, &job);
}

typedef struct GemmShape {
    int64_t m, n, k;
    int64_t c_rows, c_cols;  /* C broadcast: 1 or m rows, 1 or n columns; 0 rows without C */
} GemmShape;

static vb_status gemmShape(const GemmParams *p, const vb_tensor *const *in, int n_in, GemmShape *s,
                           vb_error *err)
{
    if (n_in < 2 || in[0] == NULL || in[1] == NULL)
        return vbErrorSet(err, VB_ERR_SHAPE, "Gemm node '%s': inputs A and B are required", p->node);
    const vb_tensor *a = in[0], *b = in[1], *c = n_in > 2 ? in[2] : NULL;
    vb_status st = checkFloat("Gemm", p->node, a, err);
    if (st == VB_OK)
        st = checkFloat("Gemm", p->node, b, err);
    if (st == VB_OK && c)
        st = checkFloat("Gemm", p->node, c, err);
    if (st != VB_OK)
        return st;
    char sa[96], sb[96];
    if (a->rank != 2 || b->rank != 2)
        return vbErrorSet(err, VB_ERR_SHAPE, "Gemm node '%s': A %s and B %s must be matrices", p->node,
                          vbShapeString(a, sa, sizeof sa), vbShapeString(b, sb, sizeof sb));
    s->m = p->trans_a ? a->dims[1] : a->dims[0];
    s->k = p->trans_a ? a->dims[0] : a->dims[1];
    int64_t kb = p->trans_b ? b->dims[1] : b->dims[0];
    s->n = p->trans_b ? b->dims[0] : b->dims[1];
    if (kb != s->k)
        return vbErrorSet(err, VB_ERR_SHAPE, "Gemm node '%s': A %s and B %s do not agree on K (transA %d, transB %d)",
                          p->node, vbShapeString(a, sa, sizeof sa), vbShapeString(b, sb, sizeof sb),
                          p->trans_a, p->trans_b);

    /* C broadcasts one way to (M, N). */
    s->c_rows = 0;
    s->c_cols = 0;
    if (c) {
        int64_t rows = c->rank == 2 ? c->dims[0] : 1;
        int64_t cols = c->rank >= 1 ? c->dims[c->rank - 1] : 1;
        if (c->rank > 2 || (rows != 1 && rows != s->m) || (cols != 1 && cols != s->n))
            return vbErrorSet(err, VB_ERR_SHAPE, "Gemm node '%s': C %s does not broadcast to %lldx%lld",
                              p->node, vbShapeString(c, sa, sizeof sa), (long long)s->m, (long long)s->n);
        s->c_rows = rows;
        s->c_cols = cols;
    }
    return checkGemmSize("Gemm", p->node, s->m, s->n, s->k, err);
}

static vb_status gemmInfer(const void *params, const vb_tensor *const *in, int n_in,
                           vb_tensor *const *out, int n_out, VbOpInferInfo *info, vb_error *err)
{
    GemmShape s = {0, 0, 0, 0, 0};
    vb_status st = gemmShape(params, in, n_in, &s, err);
    if (st != VB_OK)
        return st;
    out[0]->dtype = VB_DTYPE_FLOAT32;
    out[0]->rank = 2;
    out[0]->dims[0] = s.m;
    out[0]->dims[1] = s.n;
    info->workspace_bytes = gemmWorkspace(s.m, s.n, s.k);
    info->flops = 2ull * (uint64_t)s.m * (uint64_t)s.n * (uint64_t)s.k;
    return VB_OK;
}

static vb_status gemmRun(const void *params, const vb_tensor *const *in, int n_in,
                         vb_tensor *const *out, int n_out, const VbOpRunContext *ctx, vb_error *err)
{
    const GemmParams *p = params;
    GemmShape s = {0, 0, 0, 0, 0};
    vb_status st = gemmShape(p, in, n_in, &s, err);
    if (st != VB_OK)
        return st;
    if (ctx->workspace_bytes < gemmWorkspace(s.m, s.n, s.k) && s.m > 0 && s.n > 0)
        return vbErrorSet(err, VB_ERR_INTERNAL, "Gemm node '%s': workspace of %zu bytes is smaller than infer reported",
                          p->node, ctx->workspace_bytes);
    const float *a = in[0]->data, *b = in[1]->data;
    const float *c = s.c_rows ? in[2]->data : NULL;
    float *y = out[0]->data;
    if (s.m == 0 || s.n == 0)
        return VB_OK;

    /* Y = A' * B' with A' packed into the start of the workspace, except for
     * one row of A, which reads B in place. A 1 x K row is contiguous with or
     * without transA. */
    if (s.m == 1) {
        gemvRun(a, b, p->trans_b, s.n, s.k, y, ctx->threads < 1 ? 1 : ctx->threads,
                !ctx->disable_simd);
        goto epilogue;
    }
    size_t packed_bytes = (vbSgemmPackedASize((int)s.m, (int)s.k) * sizeof(float) + 63) & ~(size_t)63;
    float *packed = ctx->workspace;
    size_t a_rows = p->trans_a ? 1 : (size_t)s.k, a_cols = p->trans_a ? (size_t)s.m : 1;
    vbSgemmPackA((int)s.m, (int)s.k, a, a_rows, a_cols, packed);
    VbSgemmMatrix bsrc = {b, p->trans_b ? 1 : (size_t)s.n, p->trans_b ? (size_t)s.k : 1,
                          NULL};
    vbSgemm((int)s.m, (int)s.n, (int)s.k, packed, vbSgemmPackMatrix, &bsrc, y, (size_t)s.n, NULL,
            ctx, (char *)ctx->workspace + packed_bytes, ctx->workspace_bytes - packed_bytes);

    /* Y = alpha * Y + beta * C, then the fused activation, row by row. */
epilogue:;
    int use_simd = !ctx->disable_simd;
    for (int64_t i = 0; i < s.m; i++) {
        float *row = y + (size_t)(i * s.n);
        const float *crow = NULL;
        if (c)
            crow = s.c_rows == 1 ? c : c + (size_t)i * (size_t)s.c_cols;
        if (p->alpha != 1.0f) {
            for (int64_t j = 0; j < s.n; j++)
                row[j] *= p->alpha;
        }
        if (crow && s.c_cols == 1) {
            for (int64_t j = 0; j < s.n; j++)
                row[j] += p->beta * crow[0];
        } else if (crow) {
            for (int64_t j = 0; j < s.n; j++)
                row[j] += p->beta * crow[j];
        }
        if (p->act != VB_ACT_NONE)
            vbActivationApply(row, (size_t)s.n, 0.0f, p->act, p->act_alpha, p->act_beta, use_simd);
    }
    return VB_OK;
}

/* ---- MatMul ---- */

typedef struct MatMulShape {
    int64_t m, n, k;
    int out_rank;
    int64_t out_dims[VB_MAX_RANK];
    int batch_rank;                      /* leading dims of the output before M, N */
    int64_t batch[VB_MAX_RANK];          /* output batch dims */
    int64_t a_step[VB_MAX_RANK];         /* A matrices to skip per batch index (0: broadcast) */
    int64_t b_step[VB_MAX_RANK];
    int64_t batches;
    int fold;                            /* B is one matrix and A's batch folds into M */
} MatMulShape;

static vb_status matMulShape(const GemmParams *p, const vb_tensor *const *in, int n_in,
                             MatMulShape *s, vb_error *err)
{
    if (n_in < 2 || in[0] == NULL || in[1] == NULL)
        return vbErrorSet(err, VB_ERR_SHAPE, "MatMul node '%s': inputs A and B are required", p->node);
    const vb_tensor *a = in[0], *b = in[1];
    vb_status st = checkFloat("MatMul", p->node, a, err);
    if (st == VB_OK)
        st = checkFloat("MatMul", p->node, b, err);
    if (st != VB_OK)
        return st;
    char sa[96], sb[96];
    if (a->rank < 1 || b->rank < 1)
        return vbErrorSet(err, VB_ERR_SHAPE, "MatMul node '%s': A %s and B %s must have rank >= 1", p->node,
                          vbShapeString(a, sa, sizeof sa), vbShapeString(b, sb, sizeof sb));

    /* A 1-D A is a 1 x K row, a 1-D B a K x 1 column; the added dim is
     * dropped from the output. */
    int a_rank = a->rank, b_rank = b->rank;
    s->m = a_rank == 1 ? 1 : a->dims[a_rank - 2];
    s->k = a->dims[a_rank - 1];
    int64_t kb = b_rank == 1 ? b->dims[0] : b->dims[b_rank - 2];
    s->n = b_rank == 1 ? 1 : b->dims[b_rank - 1];
    if (kb != s->k)
        return vbErrorSet(err, VB_ERR_SHAPE, "MatMul node '%s': A %s and B %s do not agree on K", p->node,
                          vbShapeString(a, sa, sizeof sa), vbShapeString(b, sb, sizeof sb));

    /* Batch dims broadcast numpy-style; steps count whole matrices. */
    int a_batch = a_rank > 2 ? a_rank - 2 : 0, b_batch = b_rank > 2 ? b_rank - 2 : 0;
    s->batch_rank = a_batch > b_batch ? a_batch : b_batch;
    s->batches = 1;
    for (int i = 0; i < s->batch_rank; i++) {
        int ia = i - (s->batch_rank - a_batch), ib = i - (s->batch_rank - b_batch);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da != db && da != 1 && db != 1)
            return vbErrorSet(err, VB_ERR_SHAPE, "MatMul node '%s': batch dims of A %s and B %s do not broadcast",
                              p->node, vbShapeString(a, sa, sizeof sa), vbShapeString(b, sb, sizeof sb));
        s->batch[i] = da > db ? da : db;
        if (da == 0 || db == 0)
            s->batch[i] = 0;
        s->batches *= s->batch[i];
    }
    int64_t astep = 1, bstep = 1;
    for (int i = s->batch_rank - 1; i >= 0; i--) {
        int ia = i - (s->batch_rank - a_batch), ib = i - (s->batch_rank - b_batch);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        s->a_step[i] = da == 1 ? 0 : astep;
        s->b_step[i] = db == 1 ? 0 : bstep;
        astep *= da;
        bstep *= db;
    }

    s->out_rank = 0;
    for (int i = 0; i < s->batch_rank; i++)
        s->out_dims[s->out_rank++] = s->batch[i];
    if (a_rank > 1)
        s->out_dims[s->out_rank++] = s->m;
    if (b_rank > 1)
        s->out_dims[s->out_rank++] = s->n;
    s->fold = b_batch == 0 && s->batch_rank > 0;
    int64_t rows = s->fold ? s->batches * s->m : s->m;
    return checkGemmSize("MatMul", p->node, rows, s->n, s->k, err);
}

static vb_status matMulInfer(const void *params, const vb_tensor *const *in, int n_in,
                             vb_tensor *const *out, int n_out, VbOpInferInfo *info, vb_error *err)
{
    MatMulShape s;
    vb_status st = matMulShape(params, in, n_in, &s, err);
    if (st != VB_OK)
        return st;
    out[0]->dtype = VB_DTYPE_FLOAT32;
    out[0]->rank = s.out_rank;
    memcpy(out[0]->dims, s.out_dims, sizeof(int64_t) * (size_t)s.out_rank);
    int64_t rows = s.fold ? s.batches * s.m : s.m;
    info->workspace_bytes = gemmWorkspace(rows, s.n, s.k);
    info->flops = 2ull * (uint64_t)s.batches * (uint64_t)s.m * (uint64_t)s.n * (uint64_t)s.k;
    return VB_OK;
}

static vb_status matMulRun(const void *params, const vb_tensor *const *in, int n_in,
                           vb_tensor *const *out, int n_out, const VbOpRunContext *ctx, vb_error *err)
{
    const GemmParams *p = params;
    MatMulShape s;
    vb_status st = matMulShape(p, in, n_in, &s, err);
    if (st != VB_OK)
        return st;
    int64_t rows = s.fold ? s.batches * s.m : s.m;
    if (s.batches == 0 || rows == 0 || s.n == 0)
        return VB_OK;
    if (ctx->workspace_bytes < gemmWorkspace(rows, s.n, s.k))
        return vbErrorSet(err, VB_ERR_INTERNAL, "MatMul node '%s': workspace of %zu bytes is smaller than infer reported",
                          p->node, ctx->workspace_bytes);
    const float *a = in[0]->data, *b = in[1]->data;
    float *y = out[0]->data;
    size_t packed_bytes = (vbSgemmPackedASize((int)rows, (int)s.k) * sizeof(float) + 63) & ~(size_t)63;
    float *packed = ctx->workspace;
    void *tiles = (char *)ctx->workspace + packed_bytes;
    size_t tile_bytes = ctx->workspace_bytes - packed_bytes;
    VbSgemmEpilogue ep = {NULL, p->act, p->act_alpha, p->act_beta};
    size_t a_matrix = (size_t)(s.m * s.k), b_matrix = (size_t)(s.k * s.n), y_matrix = (size_t)(s.m * s.n);

    /* One B: all of A's rows form one tall GEMM. */
    if (s.fold || s.batch_rank == 0) {
        vbSgemmPackA((int)rows, (int)s.k, a, (size_t)s.k, 1, packed);
        VbSgemmMatrix bsrc = {b, (size_t)s.n, 1, NULL};
        vbSgemm((int)rows, (int)s.n, (int)s.k, packed, vbSgemmPackMatrix, &bsrc, y, (size_t)s.n, &ep,
                ctx, tiles, tile_bytes);
        return VB_OK;
    }

    /* Otherwise one GEMM per output batch index, walking the broadcast. */
    int64_t index[VB_MAX_RANK] = {0};
    for (int64_t t = 0; t < s.batches; t++) {
        int64_t ai = 0, bi = 0;
        for (int i = 0; i < s.batch_rank; i++) {
            ai += index[i] * s.a_step[i];
            bi += index[i] * s.b_step[i];
        }
        vbSgemmPackA((int)s.m, (int)s.k, a + (size_t)ai * a_matrix, (size_t)s.k, 1, packed);
        VbSgemmMatrix bsrc = {b + (size_t)bi * b_matrix, (size_t)s.n, 1, NULL};
        vbSgemm((int)s.m, (int)s.n, (int)s.k, packed, vbSgemmPackMatrix, &bsrc,
                y + (size_t)t * y_matrix, (size_t)s.n, &ep, ctx, tiles, tile_bytes);
        for (int i = s.batch_rank - 1; i >= 0; i--) {
            if (++index[i] < s.batch[i])
                break;
            index[i] = 0;
        }
    }
    return VB_OK;
}

static const VbOpDef gemmOp = {
    .op_type = "Gemm", .min_opset = 7, .prepare = gemmPrepare, .infer = gemmInfer,
    .run = gemmRun, .release = gemmRelease, .fuse_activation = gemmFuse,
};

static const VbOpDef matMulOp = {
    .op_type = "MatMul", .min_opset = 1, .prepare = matMulPrepare, .infer = matMulInfer,
    .run = matMulRun, .release = gemmRelease, .fuse_activation = gemmFuse,
};

const VbOpDef *const vbOpsGemm[] = {&gemmOp, &matMulOp, NULL};
