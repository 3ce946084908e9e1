/* Test helpers for the compute kernels: a node builder, an op runner and naive reference implementations. */
#ifndef VB_KERNELS_REF_H
#define VB_KERNELS_REF_H

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "engine/op.h"
#include "onnx/onnx.h"
#include "vbtest.h"

/* ---- Random numbers: a fixed-seed xorshift so failures reproduce. ---- */

static uint64_t refRngState = 0x9E3779B97F4A7C15ull;

static inline uint32_t refRandU32(void)
{
    refRngState ^= refRngState << 13;
    refRngState ^= refRngState >> 7;
    refRngState ^= refRngState << 17;
    return (uint32_t)(refRngState >> 11);
}

/* Returns an int in [lo, hi]. */
static inline int refRandInt(int lo, int hi)
{
    return lo + (int)(refRandU32() % (uint32_t)(hi - lo + 1));
}

/* Returns a float in [-1, 1). */
static inline float refRandFloat(void)
{
    return (float)(refRandU32() & 0xFFFFFF) / (float)0x800000 - 1.0f;
}

static inline float *refRandArray(size_t n)
{
    float *a = malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++)
        a[i] = refRandFloat();
    return a;
}

/* ---- Building a node by hand. ---- */

#define REF_MAX_ATTRS 16

typedef struct RefNode {
    VbOnnxNode node;
    VbOnnxAttr attrs[REF_MAX_ATTRS];
    int64_t ints[REF_MAX_ATTRS][8];
    float floats[REF_MAX_ATTRS][8];
} RefNode;

static inline void refNodeInit(RefNode *n, const char *op_type)
{
    memset(n, 0, sizeof *n);
    n->node.name = "test";
    n->node.op_type = op_type;
    n->node.domain = "";
    n->node.attrs = n->attrs;
}

static inline VbOnnxAttr *refNodeAdd(RefNode *n, const char *name, VbOnnxAttrType type)
{
    VbOnnxAttr *a = &n->attrs[n->node.attr_count++];
    a->name = name;
    a->type = type;
    return a;
}

static inline void refNodeInt(RefNode *n, const char *name, int64_t v)
{
    refNodeAdd(n, name, VB_ONNX_ATTR_INT)->i = v;
}

static inline void refNodeFloat(RefNode *n, const char *name, float v)
{
    refNodeAdd(n, name, VB_ONNX_ATTR_FLOAT)->f = v;
}

static inline void refNodeString(RefNode *n, const char *name, const char *v)
{
    VbOnnxAttr *a = refNodeAdd(n, name, VB_ONNX_ATTR_STRING);
    a->s = v;
    a->s_len = strlen(v);
}

static inline void refNodeInts(RefNode *n, const char *name, int count, const int64_t *v)
{
    int slot = n->node.attr_count;
    VbOnnxAttr *a = refNodeAdd(n, name, VB_ONNX_ATTR_INTS);
    memcpy(n->ints[slot], v, sizeof(int64_t) * (size_t)count);
    a->ints = n->ints[slot];
    a->int_count = count;
}

/* ---- Tensors. ---- */

static inline vb_tensor refTensor(vb_dtype dtype, int rank, const int64_t *dims, void *data)
{
    vb_tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = dtype;
    t.rank = rank;
    for (int i = 0; i < rank; i++)
        t.dims[i] = dims[i];
    t.data = data;
    return t;
}

/* ---- Running an op the way the engine does. ---- */

typedef struct RefRun {
    int opset;
    int threads;
    int disable_simd;
    int pack;             /* call pack with the constant inputs (data is shown to infer) */
    VbActivation act;     /* fused activation, VB_ACT_NONE for none */
    float alpha, beta;
} RefRun;

/* Runs op on the inputs: prepare, infer, optional pack and fuse, run. The
 * output tensors must have data allocated for expected_count floats; their
 * shape is set by infer. Constant inputs (const_mask bit i) are shown to
 * infer and pack with data; others without. Returns the status and fills
 * err. */
static inline vb_status refRunOp(const VbOpDef *op, const VbOnnxNode *node, const RefRun *cfg,
                          vb_tensor *const *in, int n_in, uint32_t const_mask, vb_tensor *const *out,
                          int n_out, size_t out_capacity, VbOpInferInfo *info_out, vb_error *err)
{
    void *params = NULL;
    vb_status st = op->prepare(node, cfg->opset, &params, err);
    if (st != VB_OK)
        return st;

    /* infer gets data only for the constant inputs */
    vb_tensor views[8];
    const vb_tensor *view_ptrs[8];
    for (int i = 0; i < n_in; i++) {
        if (in[i] == NULL) {
            view_ptrs[i] = NULL;
            continue;
        }
        views[i] = *in[i];
        if (!(const_mask & (1u << i)))
            views[i].data = NULL;
        view_ptrs[i] = &views[i];
    }
    void *saved[8];
    for (int i = 0; i < n_out; i++) {
        saved[i] = out[i]->data;
        out[i]->data = NULL;
    }
    VbOpInferInfo info = {0, 0, 0};
    st = op->infer(params, view_ptrs, n_in, out, n_out, &info, err);
    for (int i = 0; i < n_out; i++)
        out[i]->data = saved[i];
    if (st != VB_OK)
        goto done;
    for (int i = 0; i < n_out; i++) {
        if (vbTensorCount(out[i]) > out_capacity) {
            st = vbErrorSet(err, VB_ERR_LIMIT, "test output capacity too small");
            goto done;
        }
    }
    if (cfg->pack && op->pack) {
        st = op->pack(params, view_ptrs, n_in, err);
        if (st != VB_OK)
            goto done;
        /* infer again, as the engine may: the workspace may shrink */
        st = op->infer(params, view_ptrs, n_in, out, n_out, &info, err);
        if (st != VB_OK)
            goto done;
    }
    if (cfg->act != VB_ACT_NONE) {
        if (op->fuse_activation == NULL || !op->fuse_activation(params, cfg->act, cfg->alpha, cfg->beta)) {
            st = vbErrorSet(err, VB_ERR_UNSUPPORTED, "fuse_activation refused");
            goto done;
        }
    }
    if (info_out)
        *info_out = info;

    void *workspace = NULL;
    if (info.workspace_bytes) {
        if (posix_memalign(&workspace, 64, info.workspace_bytes) != 0) {
            st = vbErrorSet(err, VB_ERR_NO_MEMORY, "workspace");
            goto done;
        }
        memset(workspace, 0xFF, info.workspace_bytes);  /* NaN garbage: catches reads of unset scratch */
    }
    VbOpRunContext ctx = {cfg->threads, cfg->disable_simd, workspace, info.workspace_bytes};
    st = op->run(params, (const vb_tensor *const *)in, n_in, out, n_out, &ctx, err);
    free(workspace);
done:
    if (op->release)
        op->release(params);
    return st;
}

/* Applies a fused activation the straightforward way, in double. */
static inline float refActivate(float v, VbActivation act, float alpha, float beta)
{
    double x = v;
    switch (act) {
    case VB_ACT_NONE: return v;
    case VB_ACT_RELU: return x > 0 ? v : 0.0f;
    case VB_ACT_SIGMOID: return (float)(1.0 / (1.0 + exp(-x)));
    case VB_ACT_SILU: return (float)(x / (1.0 + exp(-x)));
    case VB_ACT_HARDSWISH: return (float)(x * fmax(0.0, fmin(1.0, x / 6.0 + 0.5)));
    case VB_ACT_HARDSIGMOID: return (float)fmax(0.0, fmin(1.0, alpha * x + beta));
    case VB_ACT_LEAKYRELU: return x >= 0 ? v : (float)(alpha * x);
    case VB_ACT_CLIP: return (float)fmin(fmax(x, alpha), beta);
    }
    return v;
}

/* Compares n floats with a mixed tolerance; reports the first mismatch with
 * its index and counts it as one failed check. Returns 1 when all match. */
static inline int refCompare(const char *label, const float *got, const float *want, size_t n, double rel)
{
    for (size_t i = 0; i < n; i++) {
        double g = got[i], w = want[i];
        double tol = rel * (1.0 + fabs(w));
        if (!(fabs(g - w) <= tol) && !(isnan(g) && isnan(w))) {
            fprintf(stderr, "%s: element %zu is %.9g, expected %.9g\n", label, i, g, w);
            vbTestFailures++;
            return 0;
        }
    }
    return 1;
}

/* ---- Reference convolution, 2-D NCHW (1-D is height 1). ---- */

typedef struct RefConv {
    int n, c, h, w, m, kh, kw, group;
    int sh, sw, dh, dw, pt, pl, pb, pr;
    int oh, ow;
} RefConv;

static inline void refConv(const RefConv *p, const float *x, const float *wt, const float *b, float *y,
                    VbActivation act, float alpha, float beta)
{
    int cg = p->c / p->group, mg = p->m / p->group;
    for (int n = 0; n < p->n; n++)
        for (int m = 0; m < p->m; m++) {
            int g = m / mg;
            for (int oy = 0; oy < p->oh; oy++)
                for (int ox = 0; ox < p->ow; ox++) {
                    double acc = 0.0;
                    for (int c = 0; c < cg; c++)
                        for (int ky = 0; ky < p->kh; ky++)
                            for (int kx = 0; kx < p->kw; kx++) {
                                int iy = oy * p->sh - p->pt + ky * p->dh;
                                int ix = ox * p->sw - p->pl + kx * p->dw;
                                if (iy < 0 || iy >= p->h || ix < 0 || ix >= p->w)
                                    continue;
                                acc += (double)x[((size_t)(n * p->c + g * cg + c) * p->h + iy) * p->w + ix] *
                                       wt[((size_t)(m * cg + c) * p->kh + ky) * p->kw + kx];
                            }
                    if (b)
                        acc += b[m];
                    y[((size_t)(n * p->m + m) * p->oh + oy) * p->ow + ox] =
                        refActivate((float)acc, act, alpha, beta);
                }
        }
}

/* ---- Reference pooling, 2-D. ---- */

typedef struct RefPool {
    int n, c, h, w, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, oh, ow;
    int is_max, count_include_pad;
} RefPool;

static inline void refPool(const RefPool *p, const float *x, float *y)
{
    for (int i = 0; i < p->n * p->c; i++)
        for (int oy = 0; oy < p->oh; oy++)
            for (int ox = 0; ox < p->ow; ox++) {
                double acc = p->is_max ? -FLT_MAX : 0.0;
                int count = 0;
                for (int ky = 0; ky < p->kh; ky++)
                    for (int kx = 0; kx < p->kw; kx++) {
                        int iy = oy * p->sh - p->pt + ky * p->dh;
                        int ix = ox * p->sw - p->pl + kx * p->dw;
                        int inside = iy >= 0 && iy < p->h && ix >= 0 && ix < p->w;
                        int in_pad = iy >= -p->pt && iy < p->h + p->pb && ix >= -p->pl &&
                                     ix < p->w + p->pr;
                        if (inside) {
                            double v = x[((size_t)i * p->h + iy) * p->w + ix];
                            acc = p->is_max ? fmax(acc, v) : acc + v;
                        }
                        if (p->count_include_pad ? in_pad : inside)
                            count++;
                    }
                if (!p->is_max)
                    acc = count ? acc / count : 0.0;
                y[((size_t)i * p->oh + oy) * p->ow + ox] = (float)acc;
            }
}

/* ---- Reference matrix product: C (M x N) = A (M x K) * B (K x N), strided. ---- */

static inline void refMatMul(int m, int n, int k, const float *a, size_t ars, size_t acs, const float *b,
                      size_t brs, size_t bcs, double *c)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double acc = 0.0;
            for (int p = 0; p < k; p++)
                acc += (double)a[i * ars + p * acs] * b[p * brs + j * bcs];
            c[(size_t)i * n + j] = acc;
        }
}

/* ---- ONNX backend node cases (model.onnx and the test_data_set_0 tensors). ---- */

/* Returns the folder of ONNX's node test cases: $VB_ONNX_TESTDATA, else the
 * Debian libonnx-testdata location. */
static inline const char *refOnnxTestDir(void)
{
    const char *dir = getenv("VB_ONNX_TESTDATA");
    return dir ? dir : "/usr/share/libonnx-testdata/data/node";
}

static inline VbOnnxTensor *refLoadPb(const char *path)
{
    char *bytes = NULL;
    size_t len = 0;
    vb_error err = {0};
    VbOnnxTensor *t = NULL;
    if (vbFileRead(path, 64u << 20, &bytes, &len, &err) != VB_OK)
        return NULL;
    if (vbOnnxTensorDecode((const uint8_t *)bytes, len, &t, &err) != VB_OK)
        t = NULL;
    free(bytes);
    return t;
}

static inline vb_tensor refFromOnnx(const VbOnnxTensor *t)
{
    return refTensor(t->dtype, t->rank, t->dims, (void *)t->data);
}

/* Runs the single-node ONNX test case `name` through this project's op and
 * compares output 0 with the stored result within tol (relative). Returns 1
 * when it matches, 0 when it fails (counted), -1 when the case folder is
 * missing. Every input is shown to the op as a constant. */
static inline int refRunOnnxCase(const char *name, double tol, int threads, int disable_simd)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s/model.onnx", refOnnxTestDir(), name);
    struct stat sb;
    if (stat(path, &sb) != 0)
        return -1;
    vb_error err = {0};
    VbOnnxModel *model = NULL;
    VbOnnxTensor *loaded[9] = {0};
    float *y = NULL;
    int ok = 0;
    if (vbOnnxModelLoad(path, &model, &err) != VB_OK) {
        CHECK_MSG(0, "%s: %s", name, err.message);
        return 0;
    }
    const VbOnnxGraph *g = model->graph;
    const VbOnnxNode *node = &g->nodes[g->node_count - 1];
    int64_t opset = vbOnnxModelOpset(model, "");
    const VbOpDef *op = vbOpFind(node->domain, node->op_type, opset);
    CHECK_MSG(op != NULL, "%s: no op %s at opset %lld", name, node->op_type, (long long)opset);
    if (op == NULL)
        goto done;

    /* Graph input j is test_data_set_0/input_j.pb; node inputs refer to
     * them by name, or to the value of an earlier Constant node. */
    vb_tensor inputs[8];
    vb_tensor *in[8] = {0};
    int n_in = node->input_count < 8 ? node->input_count : 8;
    for (int i = 0; i < n_in; i++) {
        if (node->inputs[i][0] == '\0')
            continue;
        for (int j = 0; j < g->input_count && j < 8; j++) {
            if (strcmp(g->inputs[j].name, node->inputs[i]) != 0)
                continue;
            snprintf(path, sizeof path, "%s/%s/test_data_set_0/input_%d.pb", refOnnxTestDir(), name, j);
            loaded[i] = refLoadPb(path);
            if (loaded[i]) {
                inputs[i] = refFromOnnx(loaded[i]);
                in[i] = &inputs[i];
            }
        }
        for (int j = 0; in[i] == NULL && j < g->node_count - 1; j++) {
            const VbOnnxNode *c = &g->nodes[j];
            const VbOnnxAttr *value = vbOnnxNodeAttr(c, "value");
            if (strcmp(c->op_type, "Constant") == 0 && c->output_count == 1 &&
                strcmp(c->outputs[0], node->inputs[i]) == 0 && value && value->t) {
                inputs[i] = refFromOnnx(value->t);
                in[i] = &inputs[i];
            }
        }
        CHECK_MSG(in[i] != NULL, "%s: input %s not loaded", name, node->inputs[i]);
        if (in[i] == NULL)
            goto done;
    }
    snprintf(path, sizeof path, "%s/%s/test_data_set_0/output_0.pb", refOnnxTestDir(), name);
    loaded[8] = refLoadPb(path);
    CHECK_MSG(loaded[8] != NULL, "%s: output_0.pb not loaded", name);
    if (loaded[8] == NULL)
        goto done;
    size_t yn = loaded[8]->count;
    y = calloc(yn + 1, sizeof(float));
    vb_tensor ty = refTensor(VB_DTYPE_FLOAT32, 0, NULL, y);
    vb_tensor *out[1] = {&ty};
    RefRun cfg = {(int)opset, threads, disable_simd, 1, VB_ACT_NONE, 0, 0};
    vb_status st = refRunOp(op, node, &cfg, in, n_in, 0xFFu, out, 1, yn, NULL, &err);
    CHECK_MSG(st == VB_OK, "%s: %s", name, err.message);
    if (st != VB_OK)
        goto done;
    CHECK_EQ_INT(ty.rank, loaded[8]->rank);
    int same_shape = ty.rank == loaded[8]->rank;
    for (int i = 0; same_shape && i < ty.rank; i++)
        same_shape = ty.dims[i] == loaded[8]->dims[i];
    CHECK_MSG(same_shape, "%s: output shape differs from the stored result", name);
    if (same_shape)
        ok = refCompare(name, y, loaded[8]->data, yn, tol);
done:
    free(y);
    for (int i = 0; i < 9; i++)
        vbOnnxTensorFree(loaded[i]);
    vbOnnxModelFree(model);
    return ok;
}

/* Runs every named case; prints how many were found. */
static inline void refRunOnnxCases(const char *const *names, int count, double tol)
{
    int found = 0;
    for (int i = 0; i < count; i++) {
        int r = refRunOnnxCase(names[i], tol, 1 + i % 2, 0);
        if (r >= 0) {
            found++;
            refRunOnnxCase(names[i], tol, 1, 1);
        }
    }
    printf("ONNX node cases: %d of %d found in %s\n", found, count, refOnnxTestDir());
}

#endif /* VB_KERNELS_REF_H */
