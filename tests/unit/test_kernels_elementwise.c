/* Unit tests for the elementwise kernels: broadcasting arithmetic, comparisons, variadic ops, activations, Clip and Cast. */
#include <float.h>
#include <math.h>

#include "kernels/sgemm.h"
#include "kernels_light.h"

/* Add over every broadcast pattern, against a naive index computation. */
static void testAddBroadcastPatterns(void)
{
    static const struct {
        int ra, rb;
        int64_t da[4], db[4];
    } cases[] = {
        {4, 4, {1, 3, 2, 2}, {1, 3, 2, 2}},  /* same shape */
        {4, 0, {1, 3, 2, 2}, {0}},           /* scalar b */
        {0, 4, {0}, {1, 3, 2, 2}},           /* scalar a */
        {4, 4, {1, 3, 2, 2}, {1, 3, 1, 1}},  /* per-channel b */
        {3, 2, {2, 1, 3}, {4, 1}},           /* both sides broadcast */
        {2, 3, {4, 1}, {2, 1, 3}},
        {3, 1, {2, 3, 5}, {5}},              /* per-row b */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        float a[64], b[64];
        vb_tensor ta = tensorOf(VB_DTYPE_FLOAT32, cases[c].ra, cases[c].da, a);
        vb_tensor tb = tensorOf(VB_DTYPE_FLOAT32, cases[c].rb, cases[c].db, b);
        for (size_t i = 0; i < vbTensorCount(&ta); i++)
            a[i] = (float)i;
        for (size_t i = 0; i < vbTensorCount(&tb); i++)
            b[i] = 100.0f * (float)(i + 1);
        const vb_tensor *in[] = {&ta, &tb};
        OpResult r = runOp("Add", 14, NULL, 0, in, 2, 1);
        CHECK_EQ_INT(r.status, VB_OK);
        if (r.status != VB_OK)
            continue;

        /* Naive: for every output index, find both source elements. */
        vb_tensor *y = &r.out[0];
        size_t n = vbTensorCount(y);
        for (size_t i = 0; i < n; i++) {
            size_t rem = i, ia = 0, ib = 0, sa = 1, sb = 1;
            for (int d = y->rank - 1; d >= 0; d--) {
                size_t idx = rem % (size_t)y->dims[d];
                rem /= (size_t)y->dims[d];
                int dda = d - (y->rank - ta.rank), ddb = d - (y->rank - tb.rank);
                if (dda >= 0) {
                    ia += (ta.dims[dda] == 1 ? 0 : idx) * sa;
                    sa *= (size_t)ta.dims[dda];
                }
                if (ddb >= 0) {
                    ib += (tb.dims[ddb] == 1 ? 0 : idx) * sb;
                    sb *= (size_t)tb.dims[ddb];
                }
            }
            CHECK_NEAR(((float *)y->data)[i], a[ia] + b[ib], 0);
        }
        opResultFree(&r);
    }
}

static void testBroadcastMismatch(void)
{
    float a[6] = {0}, b[4] = {0};
    vb_tensor ta = tensorOf(VB_DTYPE_FLOAT32, 2, (int64_t[]){2, 3}, a);
    vb_tensor tb = tensorOf(VB_DTYPE_FLOAT32, 2, (int64_t[]){2, 2}, b);
    const vb_tensor *in[] = {&ta, &tb};
    OpResult r = runOp("Mul", 14, NULL, 0, in, 2, 1);
    CHECK_EQ_INT(r.status, VB_ERR_SHAPE);
    CHECK(strstr(r.err.message, "2x3") != NULL);
    opResultFree(&r);
}

/* Shape arithmetic runs on int64: Div truncates toward zero, by zero gives 0. */
static void testInt64Arithmetic(void)
{
    int64_t a[4] = {7, -7, INT64_MAX, 5}, b[4] = {2, 2, 1, 0};
    vb_tensor ta = tensorOf(VB_DTYPE_INT64, 1, (int64_t[]){4}, a);
    vb_tensor tb = tensorOf(VB_DTYPE_INT64, 1, (int64_t[]){4}, b);
    const vb_tensor *in[] = {&ta, &tb};

    OpResult r = runOp("Div", 14, NULL, 0, in, 2, 1);
    CHECK_EQ_INT(r.status, VB_OK);
    CHECK_EQ_INT(r.out[0].dtype, VB_DTYPE_INT64);
    const int64_t *y = r.out[0].data;
    CHECK_EQ_INT(y[0], 3);
    CHECK_EQ_INT(y[1], -3);
    CHECK_EQ_INT(y[2], INT64_MAX);
    CHECK_EQ_INT(y[3], 0);
    opResultFree(&r);

    r = runOp("Mul", 14, NULL, 0, in, 2, 1);
    CHECK_EQ_INT(((int64_t *)r.out[0].data)[0], 14);
    CHECK_EQ_INT(((int64_t *)r.out[0].data)[1], -14);
    opResultFree(&r);

    int32_t c[2] = {5, -5}, d[1] = {3};
    vb_tensor tc = tensorOf(VB_DTYPE_INT32, 1, (int64_t[]){2}, c);
    vb_tensor td = tensorOf(VB_DTYPE_INT32, 0, NULL, d);
    const vb_tensor *in32[] = {&tc, &td};
    r = runOp("Sub", 14, NULL, 0, in32, 2, 1);
    CHECK_EQ_INT(r.out[0].dtype, VB_DTYPE_INT32);
    CHECK_EQ_INT(((int32_t *)r.out[0].data)[0], 2);
    CHECK_EQ_INT(((int32_t *)r.out[0].data)[1], -8);
    opResultFree(&r);
}

static void testModSigns(void)
{
    int64_t a[4] = {7, -7, 7, -7}, b[4] = {3, 3, -3, -3};
    vb_tensor ta = tensorOf(VB_DTYPE_INT64, 1, (int64_t[]){4}, a);
    vb_tensor tb = tensorOf(VB_DTYPE_INT64, 1, (int64_t[]){4}, b);
    const vb_tensor *in[] = {&ta, &tb};

    OpResult r = runOp("Mod", 13, NULL, 0, in, 2, 1);
    const int64_t want_mod[4] = {1, 2, -2, -1};
    for (int i = 0; i < 4; i++)
        CHECK_EQ_INT(((int64_t *)r.out[0].data)[i], want_mod[i]);
    opResultFree(&r);

    VbOnnxAttr fmod = attrInt("fmod", 1);
    r = runOp("Mod", 13, &fmod, 1, in, 2, 1);
    const int64_t want_fmod[4] = {1, -1, 1, -1};
    for (int i = 0; i < 4; i++)
        CHECK_EQ_INT(((int64_t *)r.out[0].data)[i], want_fmod[i]);
    opResultFree(&r);
}

static void testComparisonsAndLogic(void)
{
    float a[3] = {1, 2, NAN}, b[1] = {2};
    vb_tensor ta = tensorOf(VB_DTYPE_FLOAT32, 1, (int64_t[]){3}, a);
    vb_tensor tb = tensorOf(VB_DTYPE_FLOAT32, 0, NULL, b);
    const vb_tensor *in[] = {&ta, &tb};
    static const struct {
        const char *op;
        uint8_t want[3];
    } cases[] = {
        {"Equal", {0, 1, 0}}, {"Less", {1, 0, 0}}, {"Greater", {0, 0, 0}},
        {"LessOrEqual", {1, 1, 0}}, {"GreaterOrEqual", {0, 1, 0}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        OpResult r = runOp(cases[c].op, 16, NULL, 0, in, 2, 1);
        CHECK_EQ_INT(r.status, VB_OK);
        CHECK_EQ_INT(r.out[0].dtype, VB_DTYPE_BOOL);
        for (int i = 0; i < 3 && r.status == VB_OK; i++)
            CHECK_MSG(((uint8_t *)r.out[0].data)[i] == cases[c].want[i], "%s element %d",
                      cases[c].op, i);
        opResultFree(&r);
    }

    uint8_t p[4] = {0, 0, 1, 1}, q[4] = {0, 1, 0, 1};
    vb_tensor tp = tensorOf(VB_DTYPE_BOOL, 1, (int64_t[]){4}, p);
    vb_tensor tq = tensorOf(VB_DTYPE_BOOL, 1, (int64_t[]){4}, q);
    const vb_tensor *bools[] = {&tp, &tq};
    OpResult r = runOp("And", 7, NULL, 0, bools, 2, 1);
    CHECK(memcmp(r.out[0].data, (uint8_t[]){0, 0, 0, 1}, 4) == 0);
    opResultFree(&r);
    r = runOp("Or", 7, NULL, 0, bools, 2, 1);
    CHECK(memcmp(r.out[0].data, (uint8_t[]){0, 1, 1, 1}, 4) == 0);
    opResultFree(&r);
    r = runOp("Not", 1, NULL, 0, bools, 1, 1);
    CHECK(memcmp(r.out[0].data, (uint8_t[]){1, 1, 0, 0}, 4) == 0);
    opResultFree(&r);

    /* A float input to And is a type error. */
    const vb_tensor *wrong[] = {&ta, &ta};
    r = runOp("And", 7, NULL, 0, wrong, 2, 1);
    CHECK_EQ_INT(r.status, VB_ERR_UNSUPPORTED);
    opResultFree(&r);
}

static void testWhereBroadcast(void)
{
    uint8_t cond[2] = {1, 0};
    float x[3] = {1, 2, 3}, y[1] = {-1};
    vb_tensor tc = tensorOf(VB_DTYPE_BOOL, 2, (int64_t[]){2, 1}, cond);
    vb_tensor tx = tensorOf(VB_DTYPE_FLOAT32, 1, (int64_t[]){3}, x);
    vb_tensor ty = tensorOf(VB_DTYPE_FLOAT32, 0, NULL, y);
    const vb_tensor *in[] = {&tc, &tx, &ty};
    OpResult r = runOp("Where", 16, NULL, 0, in, 3, 1);
    CHECK_EQ_INT(r.status, VB_OK);
    CHECK_SHAPE(r.out[0], 2, 2, 3);
    const float want[6] = {1, 2, 3, -1, -1, -1};
    for (int i = 0; i < 6; i++)
        CHECK_NEAR(((float *)r.out[0].data)[i], want[i], 0);
    opResultFree(&r);
}

static void testVariadicOps(void)
{
    float a[2] = {1, 5}, b[1] = {3}, c[2] = {4, -2};
    vb_tensor ta = tensorOf(VB_DTYPE_FLOAT32, 2, (int64_t[]){2, 1}, a);
    vb_tensor tb = tensorOf(VB_DTYPE_FLOAT32, 0, NULL, b);
    vb_tensor tc = tensorOf(VB_DTYPE_FLOAT32, 1, (int64_t[]){2}, c);
    const vb_tensor *in[] = {&ta, &tb, &tc};
    static const struct {
        const char *op;
        float want[4];
    } cases[] = {
        {"Max", {4, 3, 5, 5}},
        {"Min", {1, -2, 3, -2}},
        {"Sum", {8, 2, 12, 6}},
        {"Mean", {8 / 3.0f, 2 / 3.0f, 4, 2}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        OpResult r = runOp(cases[k].op, 13, NULL, 0, in, 3, 1);
        CHECK_EQ_INT(r.status, VB_OK);
        CHECK_SHAPE(r.out[0], 2, 2, 2);
        for (int i = 0; i < 4 && r.status == VB_OK; i++)
            CHECK_NEAR(((float *)r.out[0].data)[i], cases[k].want[i], 1e-6);
        opResultFree(&r);
    }

    /* One input: a copy. */
    OpResult r = runOp("Max", 13, NULL, 0, in, 1, 1);
    CHECK_SHAPE(r.out[0], 2, 2, 1);
    CHECK_NEAR(((float *)r.out[0].data)[1], 5, 0);
    opResultFree(&r);
}

static void testPowMixedTypes(void)
{
    float base[3] = {2, 3, 4};
    int64_t exponent[1] = {2};
    vb_tensor tb = tensorOf(VB_DTYPE_FLOAT32, 1, (int64_t[]){3}, base);
    vb_tensor te = tensorOf(VB_DTYPE_INT64, 0, NULL, exponent);
    const vb_tensor *in[] = {&tb, &te};
    OpResult r = runOp("Pow", 15, NULL, 0, in, 2, 1);
    CHECK_EQ_INT(r.status, VB_OK);
    CHECK_EQ_INT(r.out[0].dtype, VB_DTYPE_FLOAT32);
    CHECK_NEAR(((float *)r.out[0].data)[2], 16, 0);
    opResultFree(&r);

    int64_t ibase[2] = {3, -2};
    float fexp[1] = {3};
    vb_tensor tib = tensorOf(VB_DTYPE_INT64, 1, (int64_t[]){2}, ibase);
    vb_tensor tfe = tensorOf(VB_DTYPE_FLOAT32, 0, NULL, fexp);
    const vb_tensor *in2[] = {&tib, &tfe};
    r = runOp("Pow", 15, NULL, 0, in2, 2, 1);
    CHECK_EQ_INT(r.out[0].dtype, VB_DTYPE_INT64);
    CHECK_EQ_INT(((int64_t *)r.out[0].data)[0], 27);
    CHECK_EQ_INT(((int64_t *)r.out[0].data)[1], -8);
    opResultFree(&r);
}

/* Pow with a constant float exponent of 2 takes the squaring path: it
 * must give powf's results, signed zeros, infinities and NaN included. A
 * per-element exponent of 2 still goes through powf. */
static void testPowSquare(void)
{
    float base[7] = {1.5f, -2.25f, -0.0f, 1e-20f, -INFINITY, NAN, 3e19f};
    float two[1] = {2}, twos[7] = {2, 2, 2, 2, 2, 2, 2};
    vb_tensor tb = tensorOf(VB_DTYPE_FLOAT32, 1, (int64_t[]){7}, base);
    vb_tensor tscalar = tensorOf(VB_DTYPE_FLOAT32, 0, NULL, two);
    vb_tensor tfull = tensorOf(VB_DTYPE_FLOAT32, 1, (int64_t[]){7}, twos);
    for (int variant = 0; variant < 2; variant++) {
        const vb_tensor *in[] = {&tb, variant == 0 ? &tscalar : &tfull};
        OpResult r = runOp("Pow", 15, NULL, 0, in, 2, 1);
        CHECK_EQ_INT(r.status, VB_OK);
        if (r.status != VB_OK)
            continue;
        const float *y = r.out[0].data;
        for (int i = 0; i < 7; i++) {
            float want = powf(base[i], 2.0f);
            if (isnan(want))
                CHECK_MSG(isnan(y[i]), "variant %d, element %d: %g is not NaN", variant, i, y[i]);
            else
                CHECK_MSG(y[i] == want && signbit(y[i]) == signbit(want),
                          "variant %d, element %d: %g, expected %g", variant, i, y[i], want);
        }
        opResultFree(&r);
    }
}

/* Activations against their formulas at a few points. */
static void testActivations(void)
{
    float x[5] = {-3, -0.5f, 0, 0.5f, 3};
    vb_tensor tx = tensorOf(VB_DTYPE_FLOAT32, 1, (int64_t[]){5}, x);
    const vb_tensor *in[] = {&tx};
    VbOnnxAttr alpha = attrFloat("alpha", 0.1f);
    for (int i = 0; i < 5; i++) {
        float v = x[i];
        struct {
            const char *op;
            const VbOnnxAttr *attr;
            float want;
        } cases[] = {
            {"Sigmoid", NULL, 1.0f / (1.0f + expf(-v))},
            {"Relu", NULL, v > 0 ? v : 0},
            {"LeakyRelu", &alpha, v >= 0 ? v : 0.1f * v},
            {"HardSigmoid", NULL, fmaxf(0, fminf(1, 0.2f * v + 0.5f))},
            {"HardSwish", NULL, v * fmaxf(0, fminf(1, v / 6 + 0.5f))},
            {"Elu", NULL, v >= 0 ? v : expf(v) - 1},
            {"Selu", NULL, v > 0 ? 1.0507009873554805f * v
                                 : 1.0507009873554805f * 1.6732632423543772f * (expf(v) - 1)},
            {"Softplus", NULL, logf(1 + expf(v))},
            {"Tanh", NULL, tanhf(v)},
            {"Erf", NULL, erff(v)},
            {"Neg", NULL, -v},
            {"Abs", NULL, fabsf(v)},
            {"Floor", NULL, floorf(v)},
            {"Ceil", NULL, ceilf(v)},
            {"Exp", NULL, expf(v)},
        };
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            OpResult r = runOp(cases[c].op, 14, cases[c].attr, cases[c].attr ? 1 : 0, in, 1, 1);
            CHECK_EQ_INT(r.status, VB_OK);
            if (r.status == VB_OK)
                CHECK_MSG(fabsf(((float *)r.out[0].data)[i] - cases[c].want) <= 1e-6f,
                          "%s(%g) = %g, expected %g", cases[c].op, v,
                          ((float *)r.out[0].data)[i], cases[c].want);
            opResultFree(&r);
        }
    }
}

static void testPReluPerChannel(void)
{
    float x[4] = {-1, 2, -3, 4}, slope[2] = {0.5f, 0.25f};
    vb_tensor tx = tensorOf(VB_DTYPE_FLOAT32, 3, (int64_t[]){1, 2, 2}, x);
    vb_tensor ts = tensorOf(VB_DTYPE_FLOAT32, 2, (int64_t[]){2, 1}, slope);
    const vb_tensor *in[] = {&tx, &ts};
    OpResult r = runOp("PRelu", 16, NULL, 0, in, 2, 1);
    CHECK_EQ_INT(r.status, VB_OK);
    const float want[4] = {-0.5f, 2, -0.75f, 4};
    for (int i = 0; i < 4 && r.status == VB_OK; i++)
        CHECK_NEAR(((float *)r.out[0].data)[i], want[i], 0);
    opResultFree(&r);

    /* A slope that would grow X is rejected. */
    vb_tensor wide = tensorOf(VB_DTYPE_FLOAT32, 3, (int64_t[]){2, 1, 1}, slope);
    const vb_tensor *bad[] = {&tx, &wide};
    r = runOp("PRelu", 16, NULL, 0, bad, 2, 1);
    CHECK_EQ_INT(r.status, VB_ERR_SHAPE);
    opResultFree(&r);
}

static void testClipAttributesAndInputs(void)
{
    float x[4] = {-5, -1, 1, 5};
    vb_tensor tx = tensorOf(VB_DTYPE_FLOAT32, 1, (int64_t[]){4}, x);
    const vb_tensor *in[] = {&tx};
    VbOnnxAttr bounds[2] = {attrFloat("min", -2), attrFloat("max", 2)};
    OpResult r = runOp("Clip", 6, bounds, 2, in, 1, 1);
    CHECK_NEAR(((float *)r.out[0].data)[0], -2, 0);
    CHECK_NEAR(((float *)r.out[0].data)[3], 2, 0);
    opResultFree(&r);

    /* Opset 11+: min omitted, max given as an input. */
    float hi[1] = {0};
    vb_tensor thi = tensorOf(VB_DTYPE_FLOAT32, 0, NULL, hi);
    const vb_tensor *in13[] = {&tx, NULL, &thi};
    r = runOp("Clip", 13, NULL, 0, in13, 3, 1);
    CHECK_MSG(r.status == VB_OK, "%s", r.err.message);
    CHECK_NEAR(((float *)r.out[0].data)[0], -5, 0);
    CHECK_NEAR(((float *)r.out[0].data)[2], 0, 0);
    opResultFree(&r);

    int64_t xi[3] = {-9, 0, 9}, lo[1] = {-1};
    vb_tensor txi = tensorOf(VB_DTYPE_INT64, 1, (int64_t[]){3}, xi);
    vb_tensor tlo = tensorOf(VB_DTYPE_INT64, 0, NULL, lo);
    const vb_tensor *inint[] = {&txi, &tlo};
    r = runOp("Clip", 13, NULL, 0, inint, 2, 1);
    CHECK_EQ_INT(((int64_t *)r.out[0].data)[0], -1);
    CHECK_EQ_INT(((int64_t *)r.out[0].data)[2], 9);
    opResultFree(&r);
}

static void testCastConversions(void)
{
    float x[6] = {1.9f, -1.9f, NAN, 0.0f, 300.0f, 65520.0f};
    vb_tensor tx = tensorOf(VB_DTYPE_FLOAT32, 1, (int64_t[]){6}, x);
    const vb_tensor *in[] = {&tx};

    VbOnnxAttr to = attrInt("to", VB_DTYPE_INT32);
    OpResult r = runOp("Cast", 13, &to, 1, in, 1, 1);
    CHECK_EQ_INT(r.out[0].dtype, VB_DTYPE_INT32);
    CHECK_EQ_INT(((int32_t *)r.out[0].data)[0], 1);
    CHECK_EQ_INT(((int32_t *)r.out[0].data)[1], -1);
    opResultFree(&r);

    to = attrInt("to", VB_DTYPE_BOOL);
    r = runOp("Cast", 13, &to, 1, in, 1, 1);
    CHECK(memcmp(r.out[0].data, (uint8_t[]){1, 1, 1, 0, 1, 1}, 6) == 0);
    opResultFree(&r);

    to = attrInt("to", VB_DTYPE_FLOAT16);
    r = runOp("Cast", 13, &to, 1, in, 1, 1);
    const uint16_t *h = r.out[0].data;
    CHECK_EQ_INT(h[3], 0x0000);
    CHECK_EQ_INT(h[4], 0x5cb0);       /* 300 */
    CHECK_EQ_INT(h[5], 0x7c00);       /* 65520 rounds to infinity */
    CHECK_EQ_INT(h[2] & 0x7c00, 0x7c00);
    CHECK(h[2] & 0x3ff);              /* NaN stays NaN */
    opResultFree(&r);

    int64_t big[2] = {INT64_MAX, -3};
    vb_tensor tbig = tensorOf(VB_DTYPE_INT64, 1, (int64_t[]){2}, big);
    const vb_tensor *inbig[] = {&tbig};
    to = attrInt("to", VB_DTYPE_FLOAT64);
    r = runOp("Cast", 13, &to, 1, inbig, 1, 1);
    CHECK_NEAR(((double *)r.out[0].data)[0], 9223372036854775807.0, 0);
    CHECK_NEAR(((double *)r.out[0].data)[1], -3, 0);
    opResultFree(&r);

    to = attrInt("to", VB_DTYPE_STRING);
    r = runOp("Cast", 13, &to, 1, in, 1, 1);
    CHECK_EQ_INT(r.status, VB_ERR_UNSUPPORTED);
    opResultFree(&r);
}

/* Large tensors take the threaded path; results equal the one-thread run. */
static void testThreadsAgree(void)
{
    enum { N = 3 * 256 * 256 };
    float *a = malloc(sizeof(float) * N), b[3] = {0.5f, -1, 2};
    for (int i = 0; i < N; i++)
        a[i] = (float)((i * 7919) % 1000) / 100.0f - 5.0f;
    vb_tensor ta = tensorOf(VB_DTYPE_FLOAT32, 4, (int64_t[]){1, 3, 256, 256}, a);
    vb_tensor tb = tensorOf(VB_DTYPE_FLOAT32, 4, (int64_t[]){1, 3, 1, 1}, b);
    const vb_tensor *in[] = {&ta, &tb};
    OpResult one = runOpEx("Mul", 14, NULL, 0, in, 2, 1, 1, 0);
    OpResult two = runOpEx("Mul", 14, NULL, 0, in, 2, 1, 2, 0);
    CHECK(memcmp(one.out[0].data, two.out[0].data, sizeof(float) * N) == 0);
    CHECK_NEAR(((float *)one.out[0].data)[N - 1], a[N - 1] * 2, 0);
    opResultFree(&one);
    opResultFree(&two);

    const vb_tensor *unary[] = {&ta};
    one = runOpEx("Sigmoid", 13, NULL, 0, unary, 1, 1, 1, 0);
    two = runOpEx("Sigmoid", 13, NULL, 0, unary, 1, 1, 2, 0);
    CHECK(memcmp(one.out[0].data, two.out[0].data, sizeof(float) * N) == 0);
    opResultFree(&one);
    opResultFree(&two);
    free(a);
}

/* Float Add, Sub, Mul and Div on rows of 37 values, longer than one
 * AVX-512 vector and not a multiple of it, for the stride patterns the
 * vector row loop takes: same shape, per-channel b, scalar b and scalar a.
 * Every value must equal the operation done in C. */
static void testFloatArithmeticRows(void)
{
    static const char *const ops[] = {"Add", "Sub", "Mul", "Div"};
    static const struct {
        int ra, rb;
        int64_t da[3], db[3];
    } cases[] = {
        {3, 3, {1, 3, 37}, {1, 3, 37}},
        {3, 3, {1, 3, 37}, {1, 3, 1}},
        {3, 0, {1, 3, 37}, {0}},
        {0, 3, {0}, {1, 3, 37}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        float a[111], b[111];
        vb_tensor ta = tensorOf(VB_DTYPE_FLOAT32, cases[c].ra, cases[c].da, a);
        vb_tensor tb = tensorOf(VB_DTYPE_FLOAT32, cases[c].rb, cases[c].db, b);
        size_t na = vbTensorCount(&ta), nb = vbTensorCount(&tb);
        for (size_t i = 0; i < na; i++)
            a[i] = 0.37f * (float)i - 11.0f;
        for (size_t i = 0; i < nb; i++)
            b[i] = 1.0f + 0.13f * (float)i;
        const vb_tensor *in[] = {&ta, &tb};
        for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++) {
            OpResult r = runOp(ops[o], 14, NULL, 0, in, 2, 1);
            CHECK_EQ_INT(r.status, VB_OK);
            if (r.status != VB_OK)
                continue;
            const float *y = r.out[0].data;
            CHECK_EQ_INT((int)vbTensorCount(&r.out[0]), 111);
            for (size_t i = 0; i < 111; i++) {
                float x = na == 1 ? a[0] : a[i];
                float v = b[i];
                if (nb == 1)
                    v = b[0];
                else if (nb == 3)
                    v = b[i / 37];
                float want = x / v;
                if (o == 0)
                    want = x + v;
                else if (o == 1)
                    want = x - v;
                else if (o == 2)
                    want = x * v;
                CHECK_MSG(y[i] == want, "%s case %zu value %zu: %g, expected %g", ops[o], c, i,
                          (double)y[i], (double)want);
            }
            opResultFree(&r);
        }
    }
}

/* The vector activation loop (vbActivationApply with SIMD) against the
 * scalar one: NaN in gives the same NaN or number out, and finite inputs
 * agree to rounding, for every fused activation. */
static void testActivationLoopSpecialValues(void)
{
    static const VbActivation acts[] = {VB_ACT_NONE, VB_ACT_RELU, VB_ACT_SIGMOID, VB_ACT_SILU,
                                        VB_ACT_HARDSWISH, VB_ACT_HARDSIGMOID, VB_ACT_LEAKYRELU,
                                        VB_ACT_CLIP};
    enum { COUNT = 37 };
    for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++) {
        float simd[COUNT], scalar[COUNT];
        for (int i = 0; i < COUNT; i++)
            simd[i] = scalar[i] = i % 5 == 0 ? NAN : (float)(i - 18) * 5.5f;
        vbActivationApply(simd, COUNT, 0.25f, acts[a], 0.2f, 0.6f, 1);
        vbActivationApply(scalar, COUNT, 0.25f, acts[a], 0.2f, 0.6f, 0);
        for (int i = 0; i < COUNT; i++) {
            CHECK_MSG(isnan(simd[i]) == isnan(scalar[i]), "%s: value %d is %g with SIMD, %g without",
                      vbActivationName(acts[a]), i, simd[i], scalar[i]);
            if (!isnan(scalar[i]))
                CHECK_NEAR(simd[i], scalar[i], 1e-6 * (1.0 + fabs(scalar[i])));
        }
    }
}

int main(void)
{
    testAddBroadcastPatterns();
    testBroadcastMismatch();
    testInt64Arithmetic();
    testModSigns();
    testComparisonsAndLogic();
    testWhereBroadcast();
    testVariadicOps();
    testPowMixedTypes();
    testPowSquare();
    testActivations();
    testPReluPerChannel();
    testClipAttributesAndInputs();
    testCastConversions();
    testThreadsAgree();
    testActivationLoopSpecialValues();
    testFloatArithmeticRows();
    TEST_END();
}
