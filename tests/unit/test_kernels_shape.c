/* Unit tests for the shape and data-movement kernels: Reshape, Squeeze, Gather, Concat, Split, Slice, Transpose, Pad and friends. */
#include "kernels_light.h"

static float seq[256];

static void fillSequence(void)
{
    for (int i = 0; i < 256; i++)
        seq[i] = (float)i;
}

static void testReshapeRules(void)
{
    vb_tensor x = tensorOf(VB_DTYPE_FLOAT32, 3, (int64_t[]){2, 3, 4}, seq);
    int64_t shape[3] = {0, -1, 2};
    vb_tensor ts = tensorOf(VB_DTYPE_INT64, 1, (int64_t[]){3}, shape);
    const vb_tensor *in[] = {&x, &ts};
    OpResult r = runOp("Reshape", 14, NULL, 0, in, 2, 1);
    CHECK_EQ_INT(r.status, VB_OK);
    CHECK_SHAPE(r.out[0], 3, 2, 6, 2);
    CHECK_NEAR(((float *)r.out[0].data)[23], 23, 0);
    opResultFree(&r);

    /* allowzero=1 keeps the 0, so the element counts no longer match. */
    VbOnnxAttr allowzero = attrInt("allowzero", 1);
    r = runOp("Reshape", 14, &allowzero, 1, in, 2, 1);
    CHECK_EQ_INT(r.status, VB_ERR_SHAPE);
    opResultFree(&r);

    int64_t two_unknown[2] = {-1, -1};
    vb_tensor tu = tensorOf(VB_DTYPE_INT64, 1, (int64_t[]){2}, two_unknown);
    const vb_tensor *in2[] = {&x, &tu};
    r = runOp("Reshape", 14, NULL, 0, in2, 2, 1);
    CHECK_EQ_INT(r.status, VB_ERR_SHAPE);
    opResultFree(&r);

    int64_t wrong[2] = {5, 5};
    vb_tensor tw = tensorOf(VB_DTYPE_INT64, 1, (int64_t[]){2}, wrong);
    const vb_tensor *in3[] = {&x, &tw};
    r = runOp("Reshape", 14, NULL, 0, in3, 2, 1);
    CHECK_EQ_INT(r.status, VB_ERR_SHAPE);
    CHECK(strstr(r.err.message, "2x3x4") != NULL);
    opResultFree(&r);

    /* A shape computed at run time is reported as needing a constant. */
    r = runOpEx("Reshape", 14, NULL, 0, in, 2, 1, 1, 0);
    CHECK_EQ_INT(r.status, VB_ERR_UNSUPPORTED);
    CHECK(strstr(r.err.message, "requires a constant") != NULL);
    opResultFree(&r);
}

static void testFlattenAndShape(void)
{
    vb_tensor x = tensorOf(VB_DTYPE_FLOAT32, 4, (int64_t[]){2, 3, 4, 5}, seq);
    const vb_tensor *in[] = {&x};
    VbOnnxAttr axis = attrInt("axis", -1);
    OpResult r = runOp("Flatten", 13, &axis, 1, in, 1, 1);
    CHECK_SHAPE(r.out[0], 2, 24, 5);
    opResultFree(&r);
    axis = attrInt("axis", 0);
    r = runOp("Flatten", 13, &axis, 1, in, 1, 1);
    CHECK_SHAPE(r.out[0], 2, 1, 120);
    opResultFree(&r);

    VbOnnxAttr range[2] = {attrInt("start", 1), attrInt("end", -1)};
    r = runOpEx("Shape", 15, range, 2, in, 1, 1, 1, 0);
    CHECK_EQ_INT(r.status, VB_OK);
    CHECK_SHAPE(r.out[0], 1, 2);
    CHECK_EQ_INT(((int64_t *)r.out[0].data)[0], 3);
    CHECK_EQ_INT(((int64_t *)r.out[0].data)[1], 4);
    opResultFree(&r);

    VbOnnxAttr past_end = attrInt("start", 10);
    r = runOp("Shape", 15, &past_end, 1, in, 1, 1);
    CHECK_SHAPE(r.out[0], 1, 0);
    opResultFree(&r);
}

static void testSqueezeUnsqueeze(void)
{
    vb_tensor x = tensorOf(VB_DTYPE_FLOAT32, 4, (int64_t[]){1, 3, 1, 2}, seq);
    const vb_tensor *in[] = {&x};
    OpResult r = runOp("Squeeze", 13, NULL, 0, in, 1, 1);
    CHECK_SHAPE(r.out[0], 2, 3, 2);
    opResultFree(&r);

    int64_t axes_attr[1] = {-2};
    VbOnnxAttr axes = attrInts("axes", axes_attr, 1);
    r = runOp("Squeeze", 11, &axes, 1, in, 1, 1);
    CHECK_SHAPE(r.out[0], 3, 1, 3, 2);
    opResultFree(&r);

    int64_t bad_axis[1] = {1};
    vb_tensor tb = tensorOf(VB_DTYPE_INT64, 1, (int64_t[]){1}, bad_axis);
    const vb_tensor *in_bad[] = {&x, &tb};
    r = runOp("Squeeze", 13, NULL, 0, in_bad, 2, 1);
    CHECK_EQ_INT(r.status, VB_ERR_SHAPE);
    opResultFree(&r);

    int64_t unsq[2] = {0, -1};
    vb_tensor tu = tensorOf(VB_DTYPE_INT64, 1, (int64_t[]){2}, unsq);
    const vb_tensor *in_u[] = {&x, &tu};
    r = runOp("Unsqueeze", 13, NULL, 0, in_u, 2, 1);
    CHECK_SHAPE(r.out[0], 6, 1, 1, 3, 1, 2, 1);
    opResultFree(&r);
    VbOnnxAttr uaxes = attrInts("axes", unsq, 2);
    r = runOp("Unsqueeze", 11, &uaxes, 1, in, 1, 1);
    CHECK_SHAPE(r.out[0], 6, 1, 1, 3, 1, 2, 1);
    opResultFree(&r);
}

static void testGatherAxes(void)
{
    vb_tensor x = tensorOf(VB_DTYPE_FLOAT32, 3, (int64_t[]){2, 3, 4}, seq);
    int32_t idx[2] = {-1, 0};
    vb_tensor ti = tensorOf(VB_DTYPE_INT32, 1, (int64_t[]){2}, idx);
    const vb_tensor *in[] = {&x, &ti};
    VbOnnxAttr axis = attrInt("axis", 1);
    OpResult r = runOp("Gather", 13, &axis, 1, in, 2, 1);
    CHECK_EQ_INT(r.status, VB_OK);
    CHECK_SHAPE(r.out[0], 3, 2, 2, 4);
    const float *y = r.out[0].data;
    CHECK_NEAR(y[0], 8, 0);   /* x[0][2][0] */
    CHECK_NEAR(y[4], 0, 0);   /* x[0][0][0] */
    CHECK_NEAR(y[8], 20, 0);  /* x[1][2][0] */
    opResultFree(&r);

    /* A scalar int64 index drops the axis. */
    int64_t one[1] = {1};
    vb_tensor ts = tensorOf(VB_DTYPE_INT64, 0, NULL, one);
    const vb_tensor *in_s[] = {&x, &ts};
    axis = attrInt("axis", -1);
    r = runOp("Gather", 13, &axis, 1, in_s, 2, 1);
    CHECK_SHAPE(r.out[0], 2, 2, 3);
    CHECK_NEAR(((float *)r.out[0].data)[5], 21, 0);
    opResultFree(&r);

    int64_t out_of_range[1] = {3};
    vb_tensor to = tensorOf(VB_DTYPE_INT64, 1, (int64_t[]){1}, out_of_range);
    const vb_tensor *in_o[] = {&x, &to};
    axis = attrInt("axis", 1);
    r = runOp("Gather", 13, &axis, 1, in_o, 2, 1);
    CHECK_EQ_INT(r.status, VB_ERR_INVALID_ARGUMENT);
    CHECK(strstr(r.err.message, "index 3") != NULL);
    opResultFree(&r);
}

static void testConcatSplit(void)
{
    vb_tensor a = tensorOf(VB_DTYPE_FLOAT32, 2, (int64_t[]){2, 1}, seq);
    vb_tensor b = tensorOf(VB_DTYPE_FLOAT32, 2, (int64_t[]){2, 2}, seq + 10);
    const vb_tensor *in[] = {&a, &b};
    VbOnnxAttr axis = attrInt("axis", -1);
    OpResult r = runOp("Concat", 13, &axis, 1, in, 2, 1);
    CHECK_SHAPE(r.out[0], 2, 2, 3);
    const float want[6] = {0, 10, 11, 1, 12, 13};
    for (int i = 0; i < 6; i++)
        CHECK_NEAR(((float *)r.out[0].data)[i], want[i], 0);
    opResultFree(&r);

    const vb_tensor *mismatch[] = {&a, &b};
    axis = attrInt("axis", 0);
    r = runOp("Concat", 13, &axis, 1, mismatch, 2, 1);
    CHECK_EQ_INT(r.status, VB_ERR_SHAPE);
    opResultFree(&r);

    /* Split: attribute (opset 11), input (13), num_outputs with an uneven tail (18). */
    vb_tensor x = tensorOf(VB_DTYPE_FLOAT32, 2, (int64_t[]){2, 7}, seq);
    const vb_tensor *sx[] = {&x};
    int64_t parts[2] = {3, 4};
    VbOnnxAttr split_attrs[2] = {attrInt("axis", 1), attrInts("split", parts, 2)};
    r = runOp("Split", 11, split_attrs, 2, sx, 1, 2);
    CHECK_SHAPE(r.out[0], 2, 2, 3);
    CHECK_SHAPE(r.out[1], 2, 2, 4);
    CHECK_NEAR(((float *)r.out[1].data)[4], 10, 0);
    opResultFree(&r);

    vb_tensor tparts = tensorOf(VB_DTYPE_INT64, 1, (int64_t[]){2}, parts);
    const vb_tensor *sx13[] = {&x, &tparts};
    r = runOp("Split", 13, split_attrs, 1, sx13, 2, 2);
    CHECK_SHAPE(r.out[1], 2, 2, 4);
    opResultFree(&r);

    r = runOp("Split", 13, split_attrs, 1, sx, 1, 2);
    CHECK_EQ_INT(r.status, VB_ERR_SHAPE); /* 7 does not divide in 2 before opset 18 */
    opResultFree(&r);

    VbOnnxAttr num[2] = {attrInt("axis", 1), attrInt("num_outputs", 3)};
    r = runOp("Split", 18, num, 2, sx, 1, 3);
    CHECK_EQ_INT(r.status, VB_OK);
    CHECK_SHAPE(r.out[0], 2, 2, 3);
    CHECK_SHAPE(r.out[2], 2, 2, 1);
    CHECK_NEAR(((float *)r.out[2].data)[1], 13, 0);
    opResultFree(&r);
}

/* Slice against a few hand-computed cases in the opset 10+ form. */
static void testSliceClamping(void)
{
    vb_tensor x = tensorOf(VB_DTYPE_FLOAT32, 2, (int64_t[]){3, 5}, seq);
    static const struct {
        int n;
        int64_t starts[2], ends[2], axes[2], steps[2];
        int rank;
        int64_t dims[2];
        float first, last;
    } cases[] = {
        {1, {1}, {INT64_MAX}, {1}, {1}, 2, {3, 4}, 1, 14},
        {1, {-1}, {INT64_MIN}, {-1}, {-1}, 2, {3, 5}, 4, 10},   /* reversed last axis */
        {2, {2, -2}, {-INT64_MAX, 100}, {0, 1}, {-2, 1}, 2, {2, 2}, 13, 4},
        {1, {10}, {20}, {1}, {1}, 2, {3, 0}, 0, 0},              /* empty */
        {1, {-100}, {2}, {0}, {1}, 2, {2, 5}, 0, 9},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int64_t n = cases[c].n;
        vb_tensor ts = tensorOf(VB_DTYPE_INT64, 1, &n, cases[c].starts);
        vb_tensor te = tensorOf(VB_DTYPE_INT64, 1, &n, cases[c].ends);
        vb_tensor ta = tensorOf(VB_DTYPE_INT64, 1, &n, cases[c].axes);
        vb_tensor tp = tensorOf(VB_DTYPE_INT64, 1, &n, cases[c].steps);
        const vb_tensor *in[] = {&x, &ts, &te, &ta, &tp};
        OpResult r = runOp("Slice", 13, NULL, 0, in, 5, 1);
        CHECK_MSG(r.status == VB_OK, "case %zu: %s", c, r.err.message);
        CHECK_SHAPE(r.out[0], cases[c].rank, cases[c].dims[0], cases[c].dims[1]);
        size_t count = vbTensorCount(&r.out[0]);
        if (r.status == VB_OK && count > 0) {
            CHECK_MSG(((float *)r.out[0].data)[0] == cases[c].first, "case %zu first", c);
            CHECK_MSG(((float *)r.out[0].data)[count - 1] == cases[c].last, "case %zu last", c);
        }
        opResultFree(&r);
    }

    /* Opset 1: attributes, axes omitted. */
    int64_t starts[2] = {1, 1}, ends[2] = {2, -1};
    VbOnnxAttr attrs[2] = {attrInts("starts", starts, 2), attrInts("ends", ends, 2)};
    const vb_tensor *in1[] = {&x};
    OpResult r = runOp("Slice", 1, attrs, 2, in1, 1, 1);
    CHECK_SHAPE(r.out[0], 2, 1, 3);
    CHECK_NEAR(((float *)r.out[0].data)[0], 6, 0);
    opResultFree(&r);
}

static void testTransposePerm(void)
{
    vb_tensor x = tensorOf(VB_DTYPE_FLOAT32, 3, (int64_t[]){2, 3, 4}, seq);
    const vb_tensor *in[] = {&x};
    OpResult r = runOp("Transpose", 13, NULL, 0, in, 1, 1);
    CHECK_SHAPE(r.out[0], 3, 4, 3, 2);
    CHECK_NEAR(((float *)r.out[0].data)[1], 12, 0);  /* y[0][0][1] = x[1][0][0] */
    opResultFree(&r);

    int64_t perm[3] = {0, 2, 1};
    VbOnnxAttr p = attrInts("perm", perm, 3);
    r = runOp("Transpose", 13, &p, 1, in, 1, 1);
    CHECK_SHAPE(r.out[0], 3, 2, 4, 3);
    const float *y = r.out[0].data;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 4; j++)
            for (int k = 0; k < 3; k++)
                CHECK_NEAR(y[(i * 4 + j) * 3 + k], seq[(i * 3 + k) * 4 + j], 0);
    opResultFree(&r);

    int64_t bad[3] = {0, 0, 1};
    p = attrInts("perm", bad, 3);
    r = runOp("Transpose", 13, &p, 1, in, 1, 1);
    CHECK_EQ_INT(r.status, VB_ERR_SHAPE);
    opResultFree(&r);
}

/* Transpose of a YOLO head, [2, 85, 1000] with perm (0, 2, 1): whole
 * 16x16 (AVX-512) or 8x8 (AVX2) blocks, partial tiles at both edges and
 * several bands per image,
 * at 1 and 2 threads, for float and for int32. */
static void testTransposeLarge(void)
{
    enum { B = 2, C = 85, N = 1000, COUNT = B * C * N };
    float *x = malloc(sizeof(float) * COUNT);
    int32_t *xi = malloc(sizeof(int32_t) * COUNT);
    CHECK(x != NULL);
    CHECK(xi != NULL);
    if (x == NULL || xi == NULL) {
        free(x);
        free(xi);
        return;
    }
    for (int i = 0; i < COUNT; i++) {
        x[i] = (float)i * 0.5f;
        xi[i] = i * 7 - 3;
    }
    int64_t perm[3] = {0, 2, 1};
    VbOnnxAttr p = attrInts("perm", perm, 3);
    for (int type = 0; type < 2; type++) {
        vb_tensor t = tensorOf(type == 0 ? VB_DTYPE_FLOAT32 : VB_DTYPE_INT32, 3,
                               (int64_t[]){B, C, N}, type == 0 ? (void *)x : (void *)xi);
        const vb_tensor *in[] = {&t};
        for (int threads = 1; threads <= 2; threads++) {
            OpResult r = runOpEx("Transpose", 13, &p, 1, in, 1, 1, threads, 1);
            CHECK_EQ_INT(r.status, VB_OK);
            if (r.status != VB_OK)
                continue;
            CHECK_SHAPE(r.out[0], 3, B, N, C);
            int bad = 0;
            for (int b = 0; b < B; b++) {
                for (int n = 0; n < N; n++) {
                    for (int c = 0; c < C; c++) {
                        size_t to = ((size_t)b * N + n) * C + c, from = ((size_t)b * C + c) * N + n;
                        if (type == 0)
                            bad += ((const float *)r.out[0].data)[to] != x[from];
                        else
                            bad += ((const int32_t *)r.out[0].data)[to] != xi[from];
                    }
                }
            }
            CHECK_MSG(bad == 0, "type %d, %d threads: %d values misplaced", type, threads, bad);
            opResultFree(&r);
        }
    }
    free(x);
    free(xi);
}

static void testPadModes(void)
{
    vb_tensor x = tensorOf(VB_DTYPE_FLOAT32, 2, (int64_t[]){1, 3}, seq);  /* {0, 1, 2} */
    int64_t pads[4] = {0, 2, 0, 3};
    vb_tensor tp = tensorOf(VB_DTYPE_INT64, 1, (int64_t[]){4}, pads);
    float value[1] = {-1};
    vb_tensor tv = tensorOf(VB_DTYPE_FLOAT32, 0, NULL, value);
    static const struct {
        const char *mode;
        float want[8];
    } cases[] = {
        {"constant", {-1, -1, 0, 1, 2, -1, -1, -1}},
        {"reflect", {2, 1, 0, 1, 2, 1, 0, 1}},
        {"edge", {0, 0, 0, 1, 2, 2, 2, 2}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        VbOnnxAttr mode = attrString("mode", cases[c].mode);
        const vb_tensor *in[] = {&x, &tp, &tv};
        OpResult r = runOp("Pad", 13, &mode, 1, in, 3, 1);
        CHECK_MSG(r.status == VB_OK, "%s: %s", cases[c].mode, r.err.message);
        CHECK_SHAPE(r.out[0], 2, 1, 8);
        for (int i = 0; i < 8 && r.status == VB_OK; i++)
            CHECK_MSG(((float *)r.out[0].data)[i] == cases[c].want[i], "%s element %d",
                      cases[c].mode, i);
        opResultFree(&r);
    }

    /* Opset 18: pads for the listed axes only. */
    int64_t axis_pads[2] = {1, 1};
    int64_t axes[1] = {-1};
    vb_tensor tap = tensorOf(VB_DTYPE_INT64, 1, (int64_t[]){2}, axis_pads);
    vb_tensor tax = tensorOf(VB_DTYPE_INT64, 1, (int64_t[]){1}, axes);
    const vb_tensor *in18[] = {&x, &tap, NULL, &tax};
    OpResult r18 = runOp("Pad", 18, NULL, 0, in18, 4, 1);
    CHECK_MSG(r18.status == VB_OK, "%s", r18.err.message);
    CHECK_SHAPE(r18.out[0], 2, 1, 5);
    const float want18[5] = {0, 0, 1, 2, 0};
    for (int i = 0; i < 5 && r18.status == VB_OK; i++)
        CHECK_NEAR(((float *)r18.out[0].data)[i], want18[i], 0);
    opResultFree(&r18);

    /* Opset 2 attributes, and negative pads that crop. */
    int64_t attr_pads[4] = {1, -1, 0, 0};
    VbOnnxAttr attrs[2] = {attrInts("pads", attr_pads, 4), attrFloat("value", 7)};
    const vb_tensor *in2[] = {&x};
    OpResult r = runOp("Pad", 2, attrs, 2, in2, 1, 1);
    CHECK_SHAPE(r.out[0], 2, 2, 2);
    const float want[4] = {7, 7, 1, 2};
    for (int i = 0; i < 4; i++)
        CHECK_NEAR(((float *)r.out[0].data)[i], want[i], 0);
    opResultFree(&r);
}

static void testConstantsAndRanges(void)
{
    int64_t shape[2] = {2, 3};
    vb_tensor ts = tensorOf(VB_DTYPE_INT64, 1, (int64_t[]){2}, shape);
    const vb_tensor *in[] = {&ts};
    OpResult r = runOp("ConstantOfShape", 9, NULL, 0, in, 1, 1);
    CHECK_EQ_INT(r.out[0].dtype, VB_DTYPE_FLOAT32);
    CHECK_SHAPE(r.out[0], 2, 2, 3);
    opResultFree(&r);

    int64_t values[3] = {4, 5, 6};
    VbOnnxAttr ints = attrInts("value_ints", values, 3);
    r = runOp("Constant", 13, &ints, 1, NULL, 0, 1);
    CHECK_EQ_INT(r.out[0].dtype, VB_DTYPE_INT64);
    CHECK_SHAPE(r.out[0], 1, 3);
    CHECK_EQ_INT(((int64_t *)r.out[0].data)[2], 6);
    opResultFree(&r);

    int64_t start[1] = {10}, limit[1] = {1}, delta[1] = {-3};
    vb_tensor a = tensorOf(VB_DTYPE_INT64, 0, NULL, start);
    vb_tensor b = tensorOf(VB_DTYPE_INT64, 0, NULL, limit);
    vb_tensor c = tensorOf(VB_DTYPE_INT64, 0, NULL, delta);
    const vb_tensor *rin[] = {&a, &b, &c};
    r = runOp("Range", 11, NULL, 0, rin, 3, 1);
    CHECK_SHAPE(r.out[0], 1, 3);
    CHECK_EQ_INT(((int64_t *)r.out[0].data)[2], 4);
    opResultFree(&r);

    float fx[2] = {1, 2};
    vb_tensor x = tensorOf(VB_DTYPE_FLOAT32, 2, (int64_t[]){2, 1}, fx);
    int64_t target[3] = {2, 1, 3};
    vb_tensor tt = tensorOf(VB_DTYPE_INT64, 1, (int64_t[]){3}, target);
    const vb_tensor *ein[] = {&x, &tt};
    r = runOp("Expand", 13, NULL, 0, ein, 2, 1);
    CHECK_SHAPE(r.out[0], 3, 2, 2, 3);
    CHECK_NEAR(((float *)r.out[0].data)[3], 2, 0);
    CHECK_NEAR(((float *)r.out[0].data)[11], 2, 0);
    opResultFree(&r);
}

static void testIndexOps(void)
{
    /* GatherElements along axis 1 with a negative index. */
    vb_tensor x = tensorOf(VB_DTYPE_FLOAT32, 2, (int64_t[]){2, 3}, seq);
    int64_t idx[4] = {2, -3, 1, 1};
    vb_tensor ti = tensorOf(VB_DTYPE_INT64, 2, (int64_t[]){2, 2}, idx);
    const vb_tensor *in[] = {&x, &ti};
    VbOnnxAttr axis = attrInt("axis", 1);
    OpResult r = runOp("GatherElements", 13, &axis, 1, in, 2, 1);
    CHECK_SHAPE(r.out[0], 2, 2, 2);
    const float want[4] = {2, 0, 4, 4};
    for (int i = 0; i < 4 && r.status == VB_OK; i++)
        CHECK_NEAR(((float *)r.out[0].data)[i], want[i], 0);
    opResultFree(&r);

    /* TopK keeps the lower index among equal values. */
    float values[5] = {1, 3, 3, 0, 2};
    vb_tensor tv = tensorOf(VB_DTYPE_FLOAT32, 1, (int64_t[]){5}, values);
    int64_t k[1] = {3};
    vb_tensor tk = tensorOf(VB_DTYPE_INT64, 1, (int64_t[]){1}, k);
    const vb_tensor *topk_in[] = {&tv, &tk};
    r = runOp("TopK", 11, NULL, 0, topk_in, 2, 2);
    CHECK_EQ_INT(r.status, VB_OK);
    CHECK_SHAPE(r.out[1], 1, 3);
    const int64_t want_idx[3] = {1, 2, 4};
    for (int i = 0; i < 3 && r.status == VB_OK; i++)
        CHECK_EQ_INT(((int64_t *)r.out[1].data)[i], want_idx[i]);
    opResultFree(&r);

    /* CumSum, exclusive and reversed. */
    int64_t cum_axis[1] = {0};
    vb_tensor ta = tensorOf(VB_DTYPE_INT64, 0, NULL, cum_axis);
    const vb_tensor *cum_in[] = {&tv, &ta};
    VbOnnxAttr flags[2] = {attrInt("exclusive", 1), attrInt("reverse", 1)};
    r = runOp("CumSum", 14, flags, 2, cum_in, 2, 1);
    const float want_cum[5] = {8, 5, 2, 2, 0};
    for (int i = 0; i < 5 && r.status == VB_OK; i++)
        CHECK_NEAR(((float *)r.out[0].data)[i], want_cum[i], 0);
    opResultFree(&r);

    /* OneHot with a negative index and one out of range. */
    int64_t hot[3] = {0, -1, 7};
    vb_tensor th = tensorOf(VB_DTYPE_INT64, 1, (int64_t[]){3}, hot);
    float depth[1] = {3}, off_on[2] = {-1, 5};
    vb_tensor td = tensorOf(VB_DTYPE_FLOAT32, 0, NULL, depth);
    vb_tensor to = tensorOf(VB_DTYPE_FLOAT32, 1, (int64_t[]){2}, off_on);
    const vb_tensor *hot_in[] = {&th, &td, &to};
    r = runOp("OneHot", 11, NULL, 0, hot_in, 3, 1);
    CHECK_SHAPE(r.out[0], 2, 3, 3);
    const float want_hot[9] = {5, -1, -1, -1, -1, 5, -1, -1, -1};
    for (int i = 0; i < 9 && r.status == VB_OK; i++)
        CHECK_NEAR(((float *)r.out[0].data)[i], want_hot[i], 0);
    opResultFree(&r);
}

static void testSpaceDepthAndTile(void)
{
    /* DepthToSpace (DCR) then SpaceToDepth restores the input. */
    vb_tensor x = tensorOf(VB_DTYPE_FLOAT32, 4, (int64_t[]){1, 8, 2, 3}, seq);
    const vb_tensor *in[] = {&x};
    VbOnnxAttr block = attrInt("blocksize", 2);
    OpResult up = runOp("DepthToSpace", 13, &block, 1, in, 1, 1);
    CHECK_SHAPE(up.out[0], 4, 1, 2, 4, 6);
    /* y[0][0][0][1] comes from block offset (0, 1), which DCR stores in
     * channel (0 * 2 + 1) * 2 + 0 = 2: x[0][2][0][0] = 12. */
    CHECK_NEAR(((float *)up.out[0].data)[1], 12, 0);
    const vb_tensor *back_in[] = {&up.out[0]};
    OpResult back = runOp("SpaceToDepth", 13, &block, 1, back_in, 1, 1);
    CHECK_SHAPE(back.out[0], 4, 1, 8, 2, 3);
    CHECK_EQ_INT(back.status, VB_OK);
    if (back.status == VB_OK)
        CHECK(memcmp(back.out[0].data, seq, 48 * sizeof(float)) == 0);
    opResultFree(&up);
    opResultFree(&back);

    vb_tensor small = tensorOf(VB_DTYPE_FLOAT32, 2, (int64_t[]){1, 2}, seq);
    int64_t repeats[2] = {2, 3};
    vb_tensor tr = tensorOf(VB_DTYPE_INT64, 1, (int64_t[]){2}, repeats);
    const vb_tensor *tile_in[] = {&small, &tr};
    OpResult r = runOp("Tile", 13, NULL, 0, tile_in, 2, 1);
    CHECK_SHAPE(r.out[0], 2, 2, 6);
    const float want[12] = {0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1};
    for (int i = 0; i < 12 && r.status == VB_OK; i++)
        CHECK_NEAR(((float *)r.out[0].data)[i], want[i], 0);
    opResultFree(&r);
}

int main(void)
{
    fillSequence();
    testReshapeRules();
    testFlattenAndShape();
    testSqueezeUnsqueeze();
    testGatherAxes();
    testConcatSplit();
    testSliceClamping();
    testTransposePerm();
    testTransposeLarge();
    testPadModes();
    testConstantsAndRanges();
    testIndexOps();
    testSpaceDepthAndTile();
    TEST_END();
}
