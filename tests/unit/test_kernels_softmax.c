/* Unit tests for Softmax, LogSoftmax, Hardmax, the reductions and the normalization ops. */
#include <math.h>

#include "kernels_light.h"

/* Before opset 13 Softmax normalises the whole tail from axis; from 13 one axis. */
static void testSoftmaxOpsets(void)
{
    float x[24];
    for (int i = 0; i < 24; i++)
        x[i] = (float)(i % 5) * 0.5f;
    vb_tensor tx = tensorOf(VB_DTYPE_FLOAT32, 3, (int64_t[]){2, 3, 4}, x);
    const vb_tensor *in[] = {&tx};

    OpResult r = runOp("Softmax", 11, NULL, 0, in, 1, 1);
    CHECK_EQ_INT(r.status, VB_OK);
    const float *y = r.out[0].data;
    double sum = 0;
    for (int i = 0; i < 12; i++)
        sum += y[i];
    CHECK_NEAR(sum, 1.0, 1e-6);
    opResultFree(&r);

    r = runOp("Softmax", 13, NULL, 0, in, 1, 1);
    y = r.out[0].data;
    for (int row = 0; row < 6; row++) {
        sum = 0;
        for (int i = 0; i < 4; i++)
            sum += y[row * 4 + i];
        CHECK_NEAR(sum, 1.0, 1e-6);
    }
    opResultFree(&r);

    /* Axis 1 at opset 13: columns of 3 with stride 4. */
    VbOnnxAttr axis = attrInt("axis", 1);
    r = runOp("Softmax", 13, &axis, 1, in, 1, 1);
    y = r.out[0].data;
    double e0 = exp(x[0]), e1 = exp(x[4]), e2 = exp(x[8]);
    CHECK_NEAR(y[4], e1 / (e0 + e1 + e2), 1e-6);
    opResultFree(&r);
}

static void testSoftmaxLargeValues(void)
{
    float x[3] = {1000, 1000, -1000};
    vb_tensor tx = tensorOf(VB_DTYPE_FLOAT32, 1, (int64_t[]){3}, x);
    const vb_tensor *in[] = {&tx};
    OpResult r = runOp("Softmax", 13, NULL, 0, in, 1, 1);
    CHECK_NEAR(((float *)r.out[0].data)[0], 0.5, 1e-7);
    CHECK_NEAR(((float *)r.out[0].data)[2], 0.0, 1e-7);
    opResultFree(&r);

    r = runOp("LogSoftmax", 13, NULL, 0, in, 1, 1);
    CHECK_NEAR(((float *)r.out[0].data)[0], -log(2.0), 1e-6);
    CHECK(isfinite(((float *)r.out[0].data)[0]));
    opResultFree(&r);

    r = runOp("Hardmax", 13, NULL, 0, in, 1, 1);
    const float want[3] = {1, 0, 0};
    for (int i = 0; i < 3; i++)
        CHECK_NEAR(((float *)r.out[0].data)[i], want[i], 0);
    opResultFree(&r);
}

static void testReduceAxesForms(void)
{
    float x[6] = {1, 2, 3, 4, 5, 6};
    vb_tensor tx = tensorOf(VB_DTYPE_FLOAT32, 2, (int64_t[]){2, 3}, x);
    const vb_tensor *in[] = {&tx};

    int64_t axes[1] = {-1};
    VbOnnxAttr attrs[2] = {attrInts("axes", axes, 1), attrInt("keepdims", 0)};
    OpResult r = runOp("ReduceMean", 13, attrs, 2, in, 1, 1);
    CHECK_EQ_INT(r.status, VB_OK);
    CHECK_SHAPE(r.out[0], 1, 2);
    CHECK_NEAR(((float *)r.out[0].data)[0], 2, 1e-6);
    CHECK_NEAR(((float *)r.out[0].data)[1], 5, 1e-6);
    opResultFree(&r);

    /* ReduceSum takes axes as an input from opset 13. */
    int64_t axis0[1] = {0};
    vb_tensor ta = tensorOf(VB_DTYPE_INT64, 1, (int64_t[]){1}, axis0);
    const vb_tensor *in13[] = {&tx, &ta};
    r = runOp("ReduceSum", 13, NULL, 0, in13, 2, 1);
    CHECK_SHAPE(r.out[0], 2, 1, 3);
    CHECK_NEAR(((float *)r.out[0].data)[2], 9, 0);
    opResultFree(&r);

    /* Opset 18 moves axes to an input for the other reductions too. */
    VbOnnxAttr no_keep = attrInt("keepdims", 0);
    r = runOp("ReduceMean", 18, &no_keep, 1, in13, 2, 1);
    CHECK_MSG(r.status == VB_OK, "%s", r.err.message);
    CHECK_SHAPE(r.out[0], 1, 3);
    CHECK_NEAR(((float *)r.out[0].data)[0], 2.5, 1e-6);
    opResultFree(&r);

    /* No axes: everything, or nothing with noop_with_empty_axes. */
    r = runOp("ReduceMax", 18, NULL, 0, in, 1, 1);
    CHECK_SHAPE(r.out[0], 2, 1, 1);
    CHECK_NEAR(((float *)r.out[0].data)[0], 6, 0);
    opResultFree(&r);
    VbOnnxAttr noop = attrInt("noop_with_empty_axes", 1);
    r = runOp("ReduceSum", 13, &noop, 1, in, 1, 1);
    CHECK_SHAPE(r.out[0], 2, 2, 3);
    CHECK_NEAR(((float *)r.out[0].data)[4], 5, 0);
    opResultFree(&r);

    static const struct {
        const char *op;
        float want;
    } all[] = {
        {"ReduceMin", 1}, {"ReduceProd", 720}, {"ReduceL1", 21}, {"ReduceSumSquare", 91},
        {"ReduceL2", 9.539392f}, {"ReduceLogSumExp", 6.456193f},
    };
    for (size_t c = 0; c < sizeof all / sizeof all[0]; c++) {
        r = runOp(all[c].op, 13, NULL, 0, in, 1, 1);
        CHECK_MSG(r.status == VB_OK && fabsf(((float *)r.out[0].data)[0] - all[c].want) < 1e-4f,
                  "%s", all[c].op);
        opResultFree(&r);
    }
}

static void testArgMaxLastIndex(void)
{
    float x[6] = {3, 1, 3, 0, 2, 2};
    vb_tensor tx = tensorOf(VB_DTYPE_FLOAT32, 2, (int64_t[]){2, 3}, x);
    const vb_tensor *in[] = {&tx};
    VbOnnxAttr attrs[2] = {attrInt("axis", 1), attrInt("select_last_index", 1)};
    OpResult r = runOp("ArgMax", 13, attrs, 2, in, 1, 1);
    CHECK_EQ_INT(r.out[0].dtype, VB_DTYPE_INT64);
    CHECK_SHAPE(r.out[0], 2, 2, 1);
    CHECK_EQ_INT(((int64_t *)r.out[0].data)[0], 2);
    CHECK_EQ_INT(((int64_t *)r.out[0].data)[1], 2);
    opResultFree(&r);

    r = runOp("ArgMin", 13, attrs, 1, in, 1, 1);
    CHECK_EQ_INT(((int64_t *)r.out[0].data)[0], 1);
    CHECK_EQ_INT(((int64_t *)r.out[0].data)[1], 0);
    opResultFree(&r);
}

static void testNormalizations(void)
{
    /* BatchNormalization: per-channel (x - mean) / sqrt(var + eps) * scale + bias. */
    float x[4] = {1, 2, 3, 4}, scale[2] = {2, 1}, bias[2] = {0, 1}, mean[2] = {1, 3}, var[2] = {4, 1};
    vb_tensor tx = tensorOf(VB_DTYPE_FLOAT32, 3, (int64_t[]){1, 2, 2}, x);
    vb_tensor ts = tensorOf(VB_DTYPE_FLOAT32, 1, (int64_t[]){2}, scale);
    vb_tensor tb = tensorOf(VB_DTYPE_FLOAT32, 1, (int64_t[]){2}, bias);
    vb_tensor tm = tensorOf(VB_DTYPE_FLOAT32, 1, (int64_t[]){2}, mean);
    vb_tensor tv = tensorOf(VB_DTYPE_FLOAT32, 1, (int64_t[]){2}, var);
    const vb_tensor *in[] = {&tx, &ts, &tb, &tm, &tv};
    VbOnnxAttr eps = attrFloat("epsilon", 0.0f);
    OpResult r = runOp("BatchNormalization", 15, &eps, 1, in, 5, 1);
    CHECK_EQ_INT(r.status, VB_OK);
    const float want[4] = {0, 1, 1, 2};
    for (int i = 0; i < 4 && r.status == VB_OK; i++)
        CHECK_NEAR(((float *)r.out[0].data)[i], want[i], 1e-6);
    opResultFree(&r);

    VbOnnxAttr training = attrInt("training_mode", 1);
    r = runOp("BatchNormalization", 15, &training, 1, in, 5, 1);
    CHECK_EQ_INT(r.status, VB_ERR_UNSUPPORTED);
    opResultFree(&r);

    /* LayerNormalization over the last axis, with Mean and InvStdDev outputs. */
    float one[2] = {1, 1};
    vb_tensor tone = tensorOf(VB_DTYPE_FLOAT32, 1, (int64_t[]){2}, one);
    const vb_tensor *ln_in[] = {&tx, &tone};
    r = runOp("LayerNormalization", 17, &eps, 1, ln_in, 2, 3);
    CHECK_EQ_INT(r.status, VB_OK);
    CHECK_SHAPE(r.out[1], 3, 1, 2, 1);
    CHECK_NEAR(((float *)r.out[0].data)[0], -1, 1e-6);
    CHECK_NEAR(((float *)r.out[0].data)[3], 1, 1e-6);
    CHECK_NEAR(((float *)r.out[1].data)[1], 3.5, 1e-6);
    CHECK_NEAR(((float *)r.out[2].data)[0], 2, 1e-5);
    opResultFree(&r);
}

int main(void)
{
    testSoftmaxOpsets();
    testSoftmaxLargeValues();
    testReduceAxesForms();
    testArgMaxLastIndex();
    testNormalizations();
    TEST_END();
}
