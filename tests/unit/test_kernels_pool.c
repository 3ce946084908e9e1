/* Tests MaxPool, AveragePool and the global pools against a naive reference, including ceil_mode and padding edge cases. */
#include "kernels_ref.h"
#include "kernels/window.h"

static const char *const onnxCases[] = {
    "test_averagepool_1d_default",
    "test_averagepool_2d_ceil",
    "test_averagepool_2d_default",
    "test_averagepool_2d_pads",
    "test_averagepool_2d_pads_count_include_pad",
    "test_averagepool_2d_precomputed_pads",
    "test_averagepool_2d_precomputed_pads_count_include_pad",
    "test_averagepool_2d_precomputed_same_upper",
    "test_averagepool_2d_precomputed_strides",
    "test_averagepool_2d_same_lower",
    "test_averagepool_2d_same_upper",
    "test_averagepool_2d_strides",
    "test_globalaveragepool",
    "test_globalaveragepool_precomputed",
    "test_globalmaxpool",
    "test_globalmaxpool_precomputed",
    "test_maxpool_1d_default",
    "test_maxpool_2d_ceil",
    "test_maxpool_2d_default",
    "test_maxpool_2d_dilations",
    "test_maxpool_2d_pads",
    "test_maxpool_2d_precomputed_pads",
    "test_maxpool_2d_precomputed_same_upper",
    "test_maxpool_2d_precomputed_strides",
    "test_maxpool_2d_same_lower",
    "test_maxpool_2d_same_upper",
    "test_maxpool_2d_strides",
};

static int pooledSize(int in, int k, int s, int d, int pb, int pe, int ceil_mode)
{
    int span = (k - 1) * d + 1;
    int numer = in + pb + pe - span;
    int out = (ceil_mode ? (numer + s - 1) / s : numer / s) + 1;
    /* the last window must start inside the input or the begin padding */
    if (ceil_mode && (out - 1) * s >= in + pb)
        out--;
    return out;
}

typedef struct PoolCase {
    RefPool r;
    int rank;
    int ceil_mode;
} PoolCase;

static void runPoolCase(const PoolCase *pc, int threads, const char *label)
{
    const RefPool *r = &pc->r;
    size_t xn = (size_t)r->n * r->c * r->h * r->w;
    size_t yn = (size_t)r->n * r->c * r->oh * r->ow;
    float *x = refRandArray(xn), *y = calloc(yn + 1, sizeof(float)), *want = calloc(yn + 1, sizeof(float));

    RefNode node;
    refNodeInit(&node, r->is_max ? "MaxPool" : "AveragePool");
    int sp = pc->rank - 2;
    int64_t ks[2] = {r->kh, r->kw}, st[2] = {r->sh, r->sw}, dl[2] = {r->dh, r->dw};
    int64_t pads[4] = {r->pt, r->pl, r->pb, r->pr};
    if (sp == 1) {
        ks[0] = r->kw;
        st[0] = r->sw;
        dl[0] = r->dw;
        pads[0] = r->pl;
        pads[1] = r->pr;
    }
    refNodeInts(&node, "kernel_shape", sp, ks);
    refNodeInts(&node, "strides", sp, st);
    refNodeInts(&node, "dilations", sp, dl);
    refNodeInts(&node, "pads", 2 * sp, pads);
    refNodeInt(&node, "ceil_mode", pc->ceil_mode);
    if (!r->is_max)
        refNodeInt(&node, "count_include_pad", r->count_include_pad);

    int64_t xd[4] = {r->n, r->c, r->h, r->w};
    if (sp == 1)
        xd[2] = r->w;
    vb_tensor tx = refTensor(VB_DTYPE_FLOAT32, pc->rank, xd, x);
    vb_tensor ty = refTensor(VB_DTYPE_FLOAT32, 0, NULL, y);
    vb_tensor *in[1] = {&tx};
    vb_tensor *out[1] = {&ty};
    RefRun cfg = {19, threads, 0, 0, VB_ACT_NONE, 0, 0};
    vb_error err = {0};
    const VbOpDef *op = vbOpFind("", node.node.op_type, 19);
    vb_status status = refRunOp(op, &node.node, &cfg, in, 1, 0, out, 1, yn, NULL, &err);
    CHECK_MSG(status == VB_OK, "%s: %s", label, err.message);
    if (status == VB_OK) {
        CHECK_EQ_INT(ty.dims[pc->rank - 1], r->ow);
        if (pc->rank == 4)
            CHECK_EQ_INT(ty.dims[2], r->oh);
        refPool(r, x, want);
        refCompare(label, y, want, yn, 1e-6);
    }
    free(x);
    free(y);
    free(want);
}

static void testRandomPools(void)
{
    for (int i = 0; i < 300; i++) {
        refRngState = 0xABCDEFull + (uint64_t)i * 104729;
        PoolCase pc;
        memset(&pc, 0, sizeof pc);
        RefPool *r = &pc.r;
        pc.rank = i % 4 == 3 ? 3 : 4;
        r->is_max = i % 2;
        r->count_include_pad = refRandInt(0, 1);
        pc.ceil_mode = refRandInt(0, 1);
        r->n = refRandInt(1, 2);
        r->c = refRandInt(1, 5);
        r->h = pc.rank == 3 ? 1 : refRandInt(1, 12);
        /* every fifth case is wide enough for the vectorized max runs */
        r->w = i % 5 == 0 ? refRandInt(33, 140) : refRandInt(1, 15);
        r->kh = pc.rank == 3 ? 1 : refRandInt(1, 4);
        r->kw = refRandInt(1, 4);
        r->sh = pc.rank == 3 ? 1 : refRandInt(1, 3);
        r->sw = refRandInt(1, 3);
        r->dh = pc.rank == 3 ? 1 : refRandInt(1, 2);
        r->dw = refRandInt(1, 2);
        /* ONNX requires pads smaller than the kernel for pooling */
        r->pt = pc.rank == 3 ? 0 : refRandInt(0, r->kh - 1);
        r->pb = pc.rank == 3 ? 0 : refRandInt(0, r->kh - 1);
        r->pl = refRandInt(0, r->kw - 1);
        r->pr = refRandInt(0, r->kw - 1);
        while (r->h + r->pt + r->pb < (r->kh - 1) * r->dh + 1)
            r->h++;
        while (r->w + r->pl + r->pr < (r->kw - 1) * r->dw + 1)
            r->w++;
        r->oh = pooledSize(r->h, r->kh, r->sh, r->dh, r->pt, r->pb, pc.ceil_mode);
        r->ow = pooledSize(r->w, r->kw, r->sw, r->dw, r->pl, r->pr, pc.ceil_mode);
        char label[160];
        snprintf(label, sizeof label, "pool %d: %s %dx%d k%dx%d s%d,%d d%d,%d p%d,%d,%d,%d ceil %d incl %d",
                 i, r->is_max ? "max" : "avg", r->h, r->w, r->kh, r->kw, r->sh, r->sw, r->dh, r->dw,
                 r->pt, r->pl, r->pb, r->pr, pc.ceil_mode, r->count_include_pad);
        runPoolCase(&pc, 1 + i % 2, label);
    }
}

/* ONNX's ceil_mode example: 4x4 input, kernel 3, stride 2 gives 2x2 with
 * ceil_mode (the second window starts at column 2, inside the input). */
static void testCeilModeExample(void)
{
    PoolCase pc;
    memset(&pc, 0, sizeof pc);
    pc.r = (RefPool){1, 1, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, 2, 2, 1, 0};
    pc.rank = 4;
    pc.ceil_mode = 1;
    runPoolCase(&pc, 1, "ceil_mode 4x4 k3 s2");
    CHECK_EQ_INT(pooledSize(4, 3, 2, 1, 0, 0, 1), 2);
    /* with stride 2, kernel 2, pad 1 on a 2-wide input, a third window
     * would start in the end padding, so it is dropped */
    CHECK_EQ_INT(pooledSize(2, 2, 2, 1, 1, 1, 1), 2);
    pc.r = (RefPool){1, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 2, 2, 0, 1};
    runPoolCase(&pc, 2, "ceil_mode window in end padding");
}

static void testAutoPadSame(void)
{
    float x[25], y[25];
    for (int i = 0; i < 25; i++)
        x[i] = (float)i;
    RefNode node;
    refNodeInit(&node, "MaxPool");
    int64_t ks[2] = {2, 2}, st[2] = {2, 2};
    refNodeInts(&node, "kernel_shape", 2, ks);
    refNodeInts(&node, "strides", 2, st);
    refNodeString(&node, "auto_pad", "SAME_UPPER");
    int64_t xd[4] = {1, 1, 5, 5};
    vb_tensor tx = refTensor(VB_DTYPE_FLOAT32, 4, xd, x);
    vb_tensor ty = refTensor(VB_DTYPE_FLOAT32, 0, NULL, y);
    vb_tensor *in[1] = {&tx};
    vb_tensor *out[1] = {&ty};
    RefRun cfg = {12, 1, 0, 0, VB_ACT_NONE, 0, 0};
    vb_error err = {0};
    CHECK_EQ_INT(refRunOp(vbOpFind("", "MaxPool", 12), &node.node, &cfg, in, 1, 0, out, 1, 25, NULL, &err),
                 VB_OK);
    CHECK_EQ_INT(ty.dims[2], 3);
    CHECK_EQ_INT(ty.dims[3], 3);
    /* SAME_UPPER puts the extra pad at the end: windows start at 0, 2, 4 */
    CHECK_NEAR(y[0], 6.0, 0.0);
    CHECK_NEAR(y[2], 9.0, 0.0);
    CHECK_NEAR(y[8], 24.0, 0.0);

    /* SAME_LOWER puts it at the start: windows start at -1, 1, 3 */
    node.attrs[2].s = "SAME_LOWER";
    CHECK_EQ_INT(refRunOp(vbOpFind("", "MaxPool", 12), &node.node, &cfg, in, 1, 0, out, 1, 25, NULL, &err),
                 VB_OK);
    CHECK_NEAR(y[0], 0.0, 0.0);
    CHECK_NEAR(y[1], 2.0, 0.0);
    CHECK_NEAR(y[4], 12.0, 0.0);
}

static void testGlobal(void)
{
    float x[2 * 3 * 7], y[6];
    for (int i = 0; i < 42; i++)
        x[i] = (float)((i * 37) % 11) - 5.0f;
    int64_t xd[4] = {2, 3, 7, 1};
    vb_tensor tx = refTensor(VB_DTYPE_FLOAT32, 4, xd, x);
    vb_tensor ty = refTensor(VB_DTYPE_FLOAT32, 0, NULL, y);
    vb_tensor *in[1] = {&tx};
    vb_tensor *out[1] = {&ty};
    RefRun cfg = {13, 2, 0, 0, VB_ACT_NONE, 0, 0};
    vb_error err = {0};
    for (int is_max = 0; is_max <= 1; is_max++) {
        RefNode node;
        refNodeInit(&node, is_max ? "GlobalMaxPool" : "GlobalAveragePool");
        CHECK_EQ_INT(refRunOp(vbOpFind("", node.node.op_type, 13), &node.node, &cfg, in, 1, 0, out, 1, 6,
                              NULL, &err),
                     VB_OK);
        CHECK_EQ_INT(ty.rank, 4);
        CHECK_EQ_INT(ty.dims[2], 1);
        CHECK_EQ_INT(ty.dims[3], 1);
        for (int p = 0; p < 6; p++) {
            double acc = is_max ? -1e30 : 0.0;
            for (int j = 0; j < 7; j++)
                acc = is_max ? fmax(acc, x[p * 7 + j]) : acc + x[p * 7 + j];
            CHECK_NEAR(y[p], is_max ? acc : acc / 7.0, 1e-6);
        }
    }
}

/* vbGlobalPoolPlane gives the same bits with SIMD as without, for plane
 * sizes around its 32 lanes and the 7x7 to 28x28 planes of late layers,
 * with negative zeros, and for the max, NaNs in the plane. */
static void testGlobalPlaneSimd(void)
{
    static const size_t sizes[] = {0, 1, 7, 31, 32, 33, 49, 63, 64, 65, 196, 784};
    float x[784];
    uint32_t state = 12345;
    for (int i = 0; i < 784; i++) {
        /* magnitudes from 0.5 to 1000, so the order of the sums shows in the bits */
        state = state * 1664525u + 1013904223u;
        x[i] = ((float)(state >> 8) / 16777216.0f - 0.5f) * (float)(1 + (i % 7) * 333);
    }
    x[5] = -0.0f;
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        for (int is_max = 0; is_max <= 1; is_max++) {
            float plain = vbGlobalPoolPlane(x, n, is_max, 0);
            float simd = vbGlobalPoolPlane(x, n, is_max, 1);
            CHECK_MSG(memcmp(&plain, &simd, sizeof plain) == 0, "n %zu, max %d: %.9g and %.9g", n,
                      is_max, plain, simd);
            double want = is_max ? -FLT_MAX : 0.0;
            for (size_t j = 0; j < n; j++)
                want = is_max ? fmax(want, x[j]) : want + x[j];
            if (!is_max && n > 0)
                want /= (double)n;
            CHECK_NEAR(plain, want, 1e-5);
        }
    }

    /* a NaN stays where the portable test v > acc keeps it out */
    x[40] = NAN;
    for (size_t n = 33; n <= 65; n += 16) {
        float plain = vbGlobalPoolPlane(x, n, 1, 0), simd = vbGlobalPoolPlane(x, n, 1, 1);
        CHECK_MSG(memcmp(&plain, &simd, sizeof plain) == 0, "NaN, n %zu: %.9g and %.9g", n, plain,
                  simd);
    }
}

static void testRejects(void)
{
    float data[64] = {0};
    int64_t xd[4] = {1, 1, 4, 4};
    vb_tensor tx = refTensor(VB_DTYPE_FLOAT32, 4, xd, data);
    vb_tensor ty = refTensor(VB_DTYPE_FLOAT32, 0, NULL, data);
    vb_tensor *in[1] = {&tx};
    vb_tensor *out[1] = {&ty};
    RefRun cfg = {12, 1, 0, 0, VB_ACT_NONE, 0, 0};
    vb_error err = {0};

    /* the Indices output */
    RefNode node;
    refNodeInit(&node, "MaxPool");
    int64_t ks[2] = {2, 2};
    refNodeInts(&node, "kernel_shape", 2, ks);
    const char *outputs[2] = {"y", "indices"};
    node.node.outputs = outputs;
    node.node.output_count = 2;
    CHECK_EQ_INT(refRunOp(vbOpFind("", "MaxPool", 12), &node.node, &cfg, in, 1, 0, out, 1, 64, NULL, &err),
                 VB_ERR_UNSUPPORTED);
    CHECK(strstr(err.message, "Indices") != NULL);

    /* a missing kernel_shape */
    refNodeInit(&node, "AveragePool");
    CHECK_EQ_INT(refRunOp(vbOpFind("", "AveragePool", 12), &node.node, &cfg, in, 1, 0, out, 1, 64, NULL, &err),
                 VB_ERR_INVALID_ARGUMENT);

    /* a 3-D window */
    int64_t ks3[3] = {2, 2, 2};
    refNodeInts(&node, "kernel_shape", 3, ks3);
    CHECK_EQ_INT(refRunOp(vbOpFind("", "AveragePool", 12), &node.node, &cfg, in, 1, 0, out, 1, 64, NULL, &err),
                 VB_ERR_UNSUPPORTED);
}

int main(void)
{
    refRunOnnxCases(onnxCases, (int)(sizeof onnxCases / sizeof onnxCases[0]), 1e-5);
    testRandomPools();
    testCeilModeExample();
    testAutoPadSame();
    testGlobal();
    testGlobalPlaneSimd();
    testRejects();
    TEST_END();
}
