/* Tests of the graph engine on small models built in C: ordering, folding, fusion, limits, errors. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "engine/engine_internal.h"
#include "engine/op.h"
#include "vbtest.h"

/* A model assembled in memory. Arrays the nodes point to must outlive it. */
typedef struct TestModel {
    VbOnnxNode nodes[8];
    VbOnnxTensor inits[8];
    VbOnnxValueInfo inputs[4];
    VbOnnxValueInfo outputs[4];
    VbOnnxGraph graph;
    VbOnnxOpset opset;
    VbOnnxModel model;
} TestModel;

static void modelInit(TestModel *m, int opset)
{
    memset(m, 0, sizeof *m);
    m->opset.domain = "";
    m->opset.version = opset;
    m->model.ir_version = 8;
    m->model.opset_count = 1;
    m->model.opsets = &m->opset;
    m->graph.name = "test";
    m->graph.nodes = m->nodes;
    m->graph.initializers = m->inits;
    m->graph.inputs = m->inputs;
    m->graph.outputs = m->outputs;
    m->model.graph = &m->graph;
}

static void addNode(TestModel *m, const char *name, const char *op_type, int in_count,
                    const char *const *inputs, int out_count, const char *const *outputs)
{
    VbOnnxNode *n = &m->nodes[m->graph.node_count++];
    n->name = name;
    n->op_type = op_type;
    n->domain = "";
    n->input_count = in_count;
    n->inputs = inputs;
    n->output_count = out_count;
    n->outputs = outputs;
}

static void addInit(TestModel *m, const char *name, vb_dtype dtype, int rank,
                    const int64_t *dims, const void *data)
{
    VbOnnxTensor *t = &m->inits[m->graph.initializer_count++];
    t->name = name;
    t->dtype = dtype;
    t->rank = rank;
    t->count = 1;
    for (int i = 0; i < rank; i++) {
        t->dims[i] = dims[i];
        t->count *= (size_t)dims[i];
    }
    t->nbytes = t->count * vb_dtype_size(dtype);
    t->data = data;
}

static void addValueInfo(VbOnnxValueInfo *vi, int *count, const char *name, int rank,
                         const int64_t *dims)
{
    VbOnnxValueInfo *v = &vi[(*count)++];
    v->name = name;
    v->dtype = VB_DTYPE_FLOAT32;
    v->rank = rank;
    for (int i = 0; i < rank; i++)
        v->dims[i] = dims[i];
}

static void addInput(TestModel *m, const char *name, int rank, const int64_t *dims)
{
    addValueInfo(m->inputs, &m->graph.input_count, name, rank, dims);
}

static void addOutput(TestModel *m, const char *name)
{
    addValueInfo(m->outputs, &m->graph.output_count, name, -1, NULL);
}

static vb_tensor makeTensor(int rank, const int64_t *dims, float *data)
{
    vb_tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = VB_DTYPE_FLOAT32;
    t.rank = rank;
    for (int i = 0; i < rank; i++)
        t.dims[i] = dims[i];
    t.data = data;
    return t;
}

static vb_engine *createEngine(const TestModel *m, const vb_engine_options *options,
                               int no_fusion, vb_status expect, vb_error *err)
{
    VbEngineConfig config = {no_fusion, no_fusion, 0};
    vb_engine *engine = NULL;
    vb_status status = vbEngineCreate(&m->model, options, &config, &engine, err);
    CHECK_MSG(status == expect, "status %d, expected %d: %s", (int)status, (int)expect,
              status != VB_OK ? err->message : "(ok)");
    return engine;
}

static void testAddRelu(void)
{
    static const char *const add_in[] = {"x", "b"}, *const add_out[] = {"s"};
    static const char *const relu_in[] = {"s"}, *const relu_out[] = {"y"};
    static const float bias[3] = {-1.0f, 0.0f, 1.0f};
    const int64_t xdims[] = {2, 3}, bdims[] = {3};
    TestModel m;
    modelInit(&m, 17);
    /* File order is reversed on purpose: the engine must sort. */
    addNode(&m, "relu", "Relu", 1, relu_in, 1, relu_out);
    addNode(&m, "add", "Add", 2, add_in, 1, add_out);
    addInit(&m, "b", VB_DTYPE_FLOAT32, 1, bdims, bias);
    addInput(&m, "x", 2, xdims);
    addOutput(&m, "y");

    vb_error err = {0};
    vb_engine *engine = createEngine(&m, NULL, 0, VB_OK, &err);
    if (engine == NULL)
        return;
    CHECK_EQ_INT(vb_engine_input_count(engine), 1);
    CHECK_EQ_INT(vb_engine_output_count(engine), 1);
    CHECK_STR(vb_engine_output_info(engine, 0)->name, "y");
    CHECK_EQ_INT(vb_engine_output_info(engine, 0)->rank, 2);
    CHECK(vb_engine_output(engine, 0) == NULL);  /* no run yet */

    float x[6] = {0.5f, -3.0f, -2.0f, 2.0f, 0.25f, -0.5f};
    vb_tensor in = makeTensor(2, xdims, x);
    CHECK_EQ_INT(vb_engine_run(engine, &in, 1, &err), VB_OK);
    const vb_tensor *y = vb_engine_output(engine, 0);
    CHECK(y != NULL);
    if (y != NULL) {
        const float *out = y->data;
        const float expect[6] = {0.0f, 0.0f, 0.0f, 1.0f, 0.25f, 0.5f};
        for (int i = 0; i < 6; i++)
            CHECK_NEAR(out[i], expect[i], 0.0);
    }

    vb_engine_stats stats;
    vb_engine_get_stats(engine, &stats);
    CHECK_EQ_INT(stats.weight_bytes, 12);
    CHECK_EQ_INT(stats.parameter_count, 3);
    CHECK(stats.arena_bytes >= 2 * 64);
    CHECK(stats.threads >= 1);

    /* A wrong input shape or count is rejected before anything runs. */
    const int64_t wrong[] = {3, 2};
    vb_tensor bad = makeTensor(2, wrong, x);
    CHECK_EQ_INT(vb_engine_run(engine, &bad, 1, &err), VB_ERR_SHAPE);
    CHECK(strstr(err.message, "3x2") != NULL);
    CHECK(vb_engine_output(engine, 0) == NULL);
    CHECK_EQ_INT(vb_engine_run(engine, &in, 0, &err), VB_ERR_INVALID_ARGUMENT);
    vb_engine_free(engine);
}

static void testShapeChainFolds(void)
{
    /* Reshape(x, Concat(Gather(Shape(x), [0]), [-1])) folds to one Reshape. */
    static const char *const shape_in[] = {"x"}, *const shape_out[] = {"shape"};
    static const char *const gather_in[] = {"shape", "idx"}, *const gather_out[] = {"batch"};
    static const char *const concat_in[] = {"batch", "minus1"}, *const concat_out[] = {"target"};
    static const char *const reshape_in[] = {"x", "target"}, *const reshape_out[] = {"y"};
    static const int64_t idx[1] = {0}, minus1[1] = {-1};
    static const VbOnnxAttr concat_axis = {.name = "axis", .type = VB_ONNX_ATTR_INT, .i = 0};
    const int64_t xdims[] = {2, 3, 4}, one[] = {1};
    TestModel m;
    modelInit(&m, 17);
    addNode(&m, "shape", "Shape", 1, shape_in, 1, shape_out);
    addNode(&m, "gather", "Gather", 2, gather_in, 1, gather_out);
    addNode(&m, "concat", "Concat", 2, concat_in, 1, concat_out);
    m.nodes[2].attr_count = 1;
    m.nodes[2].attrs = &concat_axis;
    addNode(&m, "reshape", "Reshape", 2, reshape_in, 1, reshape_out);
    addInit(&m, "idx", VB_DTYPE_INT64, 1, one, idx);
    addInit(&m, "minus1", VB_DTYPE_INT64, 1, one, minus1);
    addInput(&m, "x", 3, xdims);
    addOutput(&m, "y");

    vb_error err = {0};
    vb_engine *engine = createEngine(&m, NULL, 0, VB_OK, &err);
    if (engine == NULL)
        return;
    vb_engine_stats stats;
    vb_engine_get_stats(engine, &stats);
    CHECK_EQ_INT(stats.node_count, 1);
    const vb_tensor_info *info = vb_engine_output_info(engine, 0);
    CHECK_EQ_INT(info->rank, 2);
    CHECK_EQ_INT(info->dims[0], 2);
    CHECK_EQ_INT(info->dims[1], 12);

    float x[24];
    for (int i = 0; i < 24; i++)
        x[i] = (float)i;
    vb_tensor in = makeTensor(3, xdims, x);
    CHECK_EQ_INT(vb_engine_run(engine, &in, 1, &err), VB_OK);
    const vb_tensor *y = vb_engine_output(engine, 0);
    if (y != NULL)
        CHECK_NEAR(((const float *)y->data)[23], 23.0, 0.0);
    vb_engine_free(engine);
}

static void testOutputsThatAreInputsOrConstants(void)
{
    /* No nodes at all: output 0 is the input, output 1 an initializer. */
    static const float c[2] = {7.0f, 8.0f};
    const int64_t xdims[] = {3}, cdims[] = {2};
    TestModel m;
    modelInit(&m, 17);
    addInit(&m, "c", VB_DTYPE_FLOAT32, 1, cdims, c);
    addInput(&m, "x", 1, xdims);
    addOutput(&m, "x");
    addOutput(&m, "c");

    vb_error err = {0};
    vb_engine *engine = createEngine(&m, NULL, 0, VB_OK, &err);
    if (engine == NULL)
        return;
    float x[3] = {1.0f, 2.0f, 3.0f};
    vb_tensor in = makeTensor(1, xdims, x);
    CHECK_EQ_INT(vb_engine_run(engine, &in, 1, &err), VB_OK);
    const vb_tensor *out0 = vb_engine_output(engine, 0), *out1 = vb_engine_output(engine, 1);
    CHECK(out0 != NULL && out1 != NULL);
    if (out0 != NULL && out1 != NULL) {
        CHECK_NEAR(((const float *)out0->data)[2], 3.0, 0.0);
        CHECK(out0->data != x);  /* copied: the caller's buffer is only read during the run */
        CHECK_NEAR(((const float *)out1->data)[1], 8.0, 0.0);
    }
    vb_engine_stats stats;
    vb_engine_get_stats(engine, &stats);
    CHECK_EQ_INT(stats.node_count, 0);
    vb_engine_free(engine);
}

static void testUnsupportedOp(void)
{
    static const char *const in[] = {"x"}, *const out[] = {"y"};
    const int64_t xdims[] = {1};
    TestModel m;
    modelInit(&m, 17);
    addNode(&m, "bar", "Foo", 1, in, 1, out);
    addInput(&m, "x", 1, xdims);
    addOutput(&m, "y");
    vb_error err = {0};
    createEngine(&m, NULL, 0, VB_ERR_UNSUPPORTED, &err);
    CHECK(strstr(err.message, "op 'Foo' (node 'bar', opset 17) is not supported") != NULL);

    /* An op that exists only from a later opset names that opset. */
    m.nodes[0].op_type = "HardSwish";
    m.opset.version = 11;
    createEngine(&m, NULL, 0, VB_ERR_UNSUPPORTED, &err);
    CHECK(strstr(err.message, "opset 11") != NULL);
    CHECK(strstr(err.message, "from opset 14") != NULL);

    /* Other domains are not implemented. */
    m.nodes[0].op_type = "Relu";
    m.nodes[0].domain = "com.microsoft";
    createEngine(&m, NULL, 0, VB_ERR_PARSE, &err);  /* the domain is not even imported */
}

static void testUnknownValueAndCycle(void)
{
    static const char *const in1[] = {"nowhere"}, *const out1[] = {"y"};
    const int64_t xdims[] = {1};
    TestModel m;
    modelInit(&m, 17);
    addNode(&m, "r", "Relu", 1, in1, 1, out1);
    addInput(&m, "x", 1, xdims);
    addOutput(&m, "y");
    vb_error err = {0};
    createEngine(&m, NULL, 0, VB_ERR_PARSE, &err);
    CHECK(strstr(err.message, "'nowhere'") != NULL);

    /* a reads b's output and b reads a's. */
    static const char *const a_in[] = {"vb"}, *const a_out[] = {"va"};
    static const char *const b_in[] = {"va"}, *const b_out[] = {"vb"};
    modelInit(&m, 17);
    addNode(&m, "a", "Relu", 1, a_in, 1, a_out);
    addNode(&m, "b", "Relu", 1, b_in, 1, b_out);
    addInput(&m, "x", 1, xdims);
    addOutput(&m, "va");
    createEngine(&m, NULL, 0, VB_ERR_PARSE, &err);
    CHECK(strstr(err.message, "cycle") != NULL);
    CHECK(strstr(err.message, "node 'a'") != NULL || strstr(err.message, "node 'b'") != NULL);

    /* A graph output nobody defines. */
    modelInit(&m, 17);
    addInput(&m, "x", 1, xdims);
    addOutput(&m, "ghost");
    createEngine(&m, NULL, 0, VB_ERR_PARSE, &err);
    CHECK(strstr(err.message, "'ghost'") != NULL);
}

static void testInputShapes(void)
{
    static const char *const in[] = {"x"}, *const out[] = {"y"};
    const int64_t xdims[] = {-1, 3};
    TestModel m;
    modelInit(&m, 17);
    addNode(&m, "r", "Relu", 1, in, 1, out);
    addInput(&m, "x", 2, xdims);
    m.inputs[0].dim_params[0] = "batch";
    addOutput(&m, "y");

    /* An open dimension needs an override. */
    vb_error err = {0};
    createEngine(&m, NULL, 0, VB_ERR_SHAPE, &err);
    CHECK(strstr(err.message, "--shape") != NULL);
    CHECK(strstr(err.message, "batch") != NULL);

    vb_engine_options options;
    vb_engine_options_init(&options);
    vb_input_shape shape = {NULL, 2, {4, 3}};
    options.input_shape_count = 1;
    options.input_shapes = &shape;
    vb_engine *engine = createEngine(&m, &options, 0, VB_OK, &err);
    if (engine != NULL) {
        CHECK_EQ_INT(vb_engine_input_info(engine, 0)->dims[0], 4);
        CHECK_EQ_INT(vb_engine_output_info(engine, 0)->dims[0], 4);
        vb_engine_free(engine);
    }

    /* Rank and fixed-dimension mismatches, unknown names. */
    vb_input_shape rank3 = {NULL, 3, {1, 4, 3}};
    options.input_shapes = &rank3;
    createEngine(&m, &options, 0, VB_ERR_SHAPE, &err);
    CHECK(strstr(err.message, "rank 3") != NULL);
    vb_input_shape fixed = {"x", 2, {4, 5}};
    options.input_shapes = &fixed;
    createEngine(&m, &options, 0, VB_ERR_SHAPE, &err);
    CHECK(strstr(err.message, "fixed at 3") != NULL);
    vb_input_shape unknown = {"images", 2, {4, 3}};
    options.input_shapes = &unknown;
    createEngine(&m, &options, 0, VB_ERR_NOT_FOUND, &err);
    CHECK(strstr(err.message, "'images'") != NULL);

    /* A dimension of 2^40 is over the size limit, never allocated. */
    vb_input_shape huge = {"x", 2, {(int64_t)1 << 40, 3}};
    options.input_shapes = &huge;
    createEngine(&m, &options, 0, VB_ERR_LIMIT, &err);
    CHECK(strstr(err.message, "'x'") != NULL);
    vb_input_shape overflow = {"x", 2, {INT64_MAX, 3}};
    options.input_shapes = &overflow;
    createEngine(&m, &options, 0, VB_ERR_LIMIT, &err);
}

/* Builds Conv(x, w) followed by SiLU written as x * Sigmoid(x). */
static void buildConvSilu(TestModel *m, int mul_sigmoid_first)
{
    static const char *const conv_in[] = {"x", "w"}, *const conv_out[] = {"c"};
    static const char *const sig_in[] = {"c"}, *const sig_out[] = {"s"};
    static const char *const mul_in_a[] = {"c", "s"}, *const mul_in_b[] = {"s", "c"};
    static const char *const mul_out[] = {"y"};
    static const char *const dead_in[] = {"x"}, *const dead_out[] = {"unused"};
    static const float w[2] = {2.0f, -1.0f};
    const int64_t xdims[] = {1, 1, 2, 2}, wdims[] = {2, 1, 1, 1};
    modelInit(m, 17);
    addNode(m, "conv", "Conv", 2, conv_in, 1, conv_out);
    addNode(m, "sig", "Sigmoid", 1, sig_in, 1, sig_out);
    addNode(m, "mul", "Mul", 2, mul_sigmoid_first ? mul_in_b : mul_in_a, 1, mul_out);
    addNode(m, "dead", "Relu", 1, dead_in, 1, dead_out);
    addInit(m, "w", VB_DTYPE_FLOAT32, 4, wdims, w);
    addInput(m, "x", 4, xdims);
    addOutput(m, "y");
}

static void testSiluFusion(void)
{
    float x[4] = {-2.0f, -0.5f, 0.5f, 3.0f};
    const int64_t xdims[] = {1, 1, 2, 2};
    vb_tensor in = makeTensor(4, xdims, x);
    vb_error err = {0};

    for (int order = 0; order < 2; order++) {
        TestModel m;
        buildConvSilu(&m, order);
        vb_engine *fused = createEngine(&m, NULL, 0, VB_OK, &err);
        vb_engine *plain = createEngine(&m, NULL, 1, VB_OK, &err);
        if (fused == NULL || plain == NULL) {
            vb_engine_free(fused);
            vb_engine_free(plain);
            continue;
        }

        /* The dead Relu is dropped; fusion leaves only the Conv. */
        vb_engine_stats stats;
        vb_engine_get_stats(fused, &stats);
        CHECK_EQ_INT(stats.node_count, 1);
        vb_engine_get_stats(plain, &stats);
        CHECK_EQ_INT(stats.node_count, 3);
        VbNodeProfile profile;
        CHECK(vbEngineNodeProfile(fused, 0, &profile));
        CHECK_STR(profile.fused, "SiLU");
        CHECK(profile.output != NULL);
        CHECK(!vbEngineNodeProfile(fused, 1, &profile));

        CHECK_EQ_INT(vb_engine_run(fused, &in, 1, &err), VB_OK);
        CHECK_EQ_INT(vb_engine_run(plain, &in, 1, &err), VB_OK);
        const vb_tensor *a = vb_engine_output(fused, 0), *b = vb_engine_output(plain, 0);
        if (a != NULL && b != NULL) {
            CHECK_EQ_INT(vbTensorCount(a), 8);
            for (int i = 0; i < 8; i++) {
                float conv = (i < 4 ? 2.0f : -1.0f) * x[i % 4];
                float silu = conv / (1.0f + expf(-conv));
                CHECK_NEAR(((const float *)a->data)[i], silu, 1e-6);
                CHECK_NEAR(((const float *)b->data)[i], silu, 1e-6);
            }
        }
        vb_engine_free(fused);
        vb_engine_free(plain);
    }
}

/* Builds a squeeze-excitation scale, y = Conv(x * Sigmoid(GlobalAveragePool(x))),
 * on an 8x9 image: 72 columns, so several full panels and a partial one.
 * Variant 0 has Mul(x, s) and a 1x1 Conv with 8 filters and bias. Its
 * second row panel reads the panels that the first one packed. Variant 1
 * has Mul(s, x) and no bias. Variant 2 has a 3x3 Conv with 2 filters and
 * pads, which takes no fused scale. */
static void buildChannelScale(TestModel *m, int variant)
{
    static const char *const gap_in[] = {"x"}, *const gap_out[] = {"g"};
    static const char *const sig_in[] = {"g"}, *const sig_out[] = {"s"};
    static const char *const mul_in_a[] = {"x", "s"}, *const mul_in_b[] = {"s", "x"};
    static const char *const mul_out[] = {"m"};
    static const char *const conv_in_bias[] = {"m", "w", "b"}, *const conv_in[] = {"m", "w"};
    static const char *const conv_out[] = {"y"};
    static float w1[24], w3[54], b[8];
    static const int64_t pads[4] = {1, 1, 1, 1};
    static VbOnnxAttr conv_attrs[1];
    const int64_t xdims[] = {1, 3, 8, 9}, w1dims[] = {8, 3, 1, 1}, w3dims[] = {2, 3, 3, 3};
    const int64_t bdims1[] = {8}, bdims3[] = {2};
    for (int i = 0; i < 24; i++)
        w1[i] = 0.25f * (float)(i % 9) - 1.0f;
    for (int i = 0; i < 54; i++)
        w3[i] = 0.1f * (float)(i % 7) - 0.3f;
    for (int i = 0; i < 8; i++)
        b[i] = 0.1f * (float)i - 0.35f;
    conv_attrs[0] = (VbOnnxAttr){.name = "pads", .type = VB_ONNX_ATTR_INTS, .int_count = 4,
                                 .ints = pads};
    modelInit(m, 17);
    addNode(m, "gap", "GlobalAveragePool", 1, gap_in, 1, gap_out);
    addNode(m, "sig", "Sigmoid", 1, sig_in, 1, sig_out);
    addNode(m, "mul", "Mul", 2, variant == 1 ? mul_in_b : mul_in_a, 1, mul_out);
    addNode(m, "conv", "Conv", variant == 1 ? 2 : 3, variant == 1 ? conv_in : conv_in_bias, 1,
            conv_out);
    if (variant == 2) {
        m->nodes[3].attr_count = 1;
        m->nodes[3].attrs = conv_attrs;
    }
    addInit(m, "w", VB_DTYPE_FLOAT32, 4, variant == 2 ? w3dims : w1dims, variant == 2 ? w3 : w1);
    addInit(m, "b", VB_DTYPE_FLOAT32, 1, variant == 2 ? bdims3 : bdims1, b);
    addInput(m, "x", 4, xdims);
    addOutput(m, "y");
}

/* A Mul by a per-channel scale before a 1x1 Conv runs inside the Conv and
 * gives the same output bits as the separate Mul. Before a 3x3 Conv the
 * Mul stays. */
static void testChannelScaleFusion(void)
{
    float x[216];
    for (int i = 0; i < 216; i++)
        x[i] = 0.37f * (float)(i % 11) - 1.3f;
    const int64_t xdims[] = {1, 3, 8, 9};
    vb_tensor in = makeTensor(4, xdims, x);
    vb_error err = {0};

    for (int variant = 0; variant < 3; variant++) {
        TestModel m;
        buildChannelScale(&m, variant);
        vb_engine *fused = createEngine(&m, NULL, 0, VB_OK, &err);
        vb_engine *plain = createEngine(&m, NULL, 1, VB_OK, &err);
        if (fused == NULL || plain == NULL) {
            vb_engine_free(fused);
            vb_engine_free(plain);
            continue;
        }
        vb_engine_stats stats;
        vb_engine_get_stats(fused, &stats);
        CHECK_EQ_INT(stats.node_count, variant == 2 ? 4 : 3);
        vb_engine_get_stats(plain, &stats);
        CHECK_EQ_INT(stats.node_count, 4);
        VbNodeProfile profile;
        CHECK(vbEngineNodeProfile(fused, variant == 2 ? 3 : 2, &profile));
        CHECK_STR(profile.op_type, "Conv");
        if (variant == 2)
            CHECK(profile.fused_input == NULL);
        else
            CHECK_STR(profile.fused_input, "Mul");

        /* twice, so a second run reads the scale of its own run */
        size_t count = variant == 2 ? 2 * 72 : 8 * 72;
        for (int run = 0; run < 2; run++) {
            x[0] = run == 0 ? -1.3f : 2.5f;
            CHECK_EQ_INT(vb_engine_run(fused, &in, 1, &err), VB_OK);
            CHECK_EQ_INT(vb_engine_run(plain, &in, 1, &err), VB_OK);
            const vb_tensor *a = vb_engine_output(fused, 0), *b = vb_engine_output(plain, 0);
            CHECK(a != NULL);
            CHECK(b != NULL);
            if (a == NULL || b == NULL)
                continue;
            CHECK_EQ_INT(vbTensorCount(a), (int64_t)count);
            CHECK_MSG(memcmp(a->data, b->data, sizeof(float) * count) == 0,
                      "variant %d run %d: fused and separate Mul differ", variant, run);
        }
        vb_engine_free(fused);
        vb_engine_free(plain);
    }
}

/* Builds x [1, C, S, S] -> depthwise 3x3 Conv (pads 1) -> Relu -> d;
 * GlobalAveragePool(d) -> Sigmoid -> s; Mul(d, s) -> m. The outputs are m,
 * and g (the pool's output) as well when pool_out is set. */
static void buildPoolAfterDepthwise(TestModel *m, int channels, int size, int pool_out)
{
    static const char *const conv_in[] = {"x", "w", "b"}, *const conv_out[] = {"c"};
    static const char *const relu_in[] = {"c"}, *const relu_out[] = {"d"};
    static const char *const gap_in[] = {"d"}, *const gap_out[] = {"g"};
    static const char *const sig_in[] = {"g"}, *const sig_out[] = {"s"};
    static const char *const mul_in[] = {"d", "s"}, *const mul_out[] = {"m"};
    static float w[16 * 9], b[16];
    static const int64_t pads[4] = {1, 1, 1, 1};
    static int64_t group;
    static VbOnnxAttr conv_attrs[2];
    static int64_t xdims[4], wdims[4], bdims[1];
    for (int i = 0; i < 16 * 9; i++)
        w[i] = 0.13f * (float)(i % 7) - 0.31f;
    for (int i = 0; i < 16; i++)
        b[i] = 0.05f * (float)i - 0.2f;
    group = channels;
    conv_attrs[0] = (VbOnnxAttr){.name = "pads", .type = VB_ONNX_ATTR_INTS, .int_count = 4,
                                 .ints = pads};
    conv_attrs[1] = (VbOnnxAttr){.name = "group", .type = VB_ONNX_ATTR_INT, .i = group};
    int64_t x4[4] = {1, channels, size, size}, w4[4] = {channels, 1, 3, 3};
    memcpy(xdims, x4, sizeof x4);
    memcpy(wdims, w4, sizeof w4);
    bdims[0] = channels;
    modelInit(m, 17);
    addNode(m, "conv", "Conv", 3, conv_in, 1, conv_out);
    m->nodes[0].attr_count = 2;
    m->nodes[0].attrs = conv_attrs;
    addNode(m, "relu", "Relu", 1, relu_in, 1, relu_out);
    addNode(m, "gap", "GlobalAveragePool", 1, gap_in, 1, gap_out);
    addNode(m, "sig", "Sigmoid", 1, sig_in, 1, sig_out);
    addNode(m, "mul", "Mul", 2, mul_in, 1, mul_out);
    addInit(m, "w", VB_DTYPE_FLOAT32, 4, wdims, w);
    addInit(m, "b", VB_DTYPE_FLOAT32, 1, bdims, b);
    addInput(m, "x", 4, xdims);
    addOutput(m, "m");
    if (pool_out)
        addOutput(m, "g");
}

/* A GlobalAveragePool of a depthwise Conv's output runs inside the Conv
 * and gives the same bits as the separate pool. The cases: 16 channels of
 * 9x9 (the blocked path), 3 channels of 40x40 (one plane per task), and
 * the pool's output as a graph output, at 1 and 2 threads. */
static void testGlobalPoolFusion(void)
{
    static const int cases[3][4] = {
        /* channels, size, pool output, threads */
        {16, 9, 0, 1},
        {3, 40, 0, 2},
        {16, 9, 1, 2},
    };
    static float x[16 * 9 * 9 > 3 * 40 * 40 ? 16 * 9 * 9 : 3 * 40 * 40];
    vb_error err = {0};
    for (int k = 0; k < 3; k++) {
        int channels = cases[k][0], size = cases[k][1], pool_out = cases[k][2];
        size_t count = (size_t)channels * (size_t)size * (size_t)size;
        for (size_t i = 0; i < count; i++)
            x[i] = 0.37f * (float)(i % 11) - 1.3f + 0.001f * (float)(i % 97);
        const int64_t xdims[] = {1, channels, size, size};
        vb_tensor in = makeTensor(4, xdims, x);
        TestModel m;
        buildPoolAfterDepthwise(&m, channels, size, pool_out);
        vb_engine_options options;
        vb_engine_options_init(&options);
        options.threads = cases[k][3];
        options.profile = 1;
        vb_engine *fused = createEngine(&m, &options, 0, VB_OK, &err);
        vb_engine *plain = createEngine(&m, &options, 1, VB_OK, &err);
        if (fused == NULL || plain == NULL) {
            vb_engine_free(fused);
            vb_engine_free(plain);
            continue;
        }

        /* Conv+Relu+GlobalAveragePool, Sigmoid and Mul run */
        CHECK_EQ_INT(vbEngineNodeCount(fused), 3);
        CHECK_EQ_INT(vbEngineNodeCount(plain), 5);
        VbNodeProfile profile;
        CHECK(vbEngineNodeProfile(fused, 0, &profile));
        CHECK_STR(profile.op_type, "Conv");
        CHECK_STR(profile.fused, "Relu");
        CHECK_STR(profile.fused_output, "GlobalAveragePool");

        CHECK_EQ_INT(vb_engine_run(fused, &in, 1, &err), VB_OK);
        CHECK_EQ_INT(vb_engine_run(plain, &in, 1, &err), VB_OK);
        for (int o = 0; o <= pool_out; o++) {
            const vb_tensor *a = vb_engine_output(fused, o), *b = vb_engine_output(plain, o);
            CHECK(a != NULL);
            CHECK(b != NULL);
            if (a == NULL || b == NULL)
                continue;
            size_t n = o == 0 ? count : (size_t)channels;
            CHECK_EQ_INT(vbTensorCount(a), (int64_t)n);
            CHECK_MSG(memcmp(a->data, b->data, sizeof(float) * n) == 0,
                      "case %d output %d: fused and separate pool differ", k, o);
        }
        vb_engine_free(fused);
        vb_engine_free(plain);
    }
}

static void testReluFusionAndGraphOutput(void)
{
    /* Conv -> Relu fuses; when the Conv output is also a graph output it must not. */
    static const char *const conv_in[] = {"x", "w"}, *const conv_out[] = {"c"};
    static const char *const relu_in[] = {"c"}, *const relu_out[] = {"y"};
    static const float w[1] = {-1.0f};
    const int64_t xdims[] = {1, 1, 1, 2}, wdims[] = {1, 1, 1, 1};
    TestModel m;
    modelInit(&m, 17);
    addNode(&m, "conv", "Conv", 2, conv_in, 1, conv_out);
    addNode(&m, "relu", "Relu", 1, relu_in, 1, relu_out);
    addInit(&m, "w", VB_DTYPE_FLOAT32, 4, wdims, w);
    addInput(&m, "x", 4, xdims);
    addOutput(&m, "y");

    vb_error err = {0};
    vb_engine_stats stats;
    vb_engine *engine = createEngine(&m, NULL, 0, VB_OK, &err);
    if (engine != NULL) {
        vb_engine_get_stats(engine, &stats);
        CHECK_EQ_INT(stats.node_count, 1);
        vb_engine_free(engine);
    }
    addOutput(&m, "c");
    engine = createEngine(&m, NULL, 0, VB_OK, &err);
    if (engine == NULL)
        return;
    vb_engine_get_stats(engine, &stats);
    CHECK_EQ_INT(stats.node_count, 2);
    float x[2] = {1.0f, -1.0f};
    vb_tensor in = makeTensor(4, xdims, x);
    CHECK_EQ_INT(vb_engine_run(engine, &in, 1, &err), VB_OK);
    const vb_tensor *y = vb_engine_output(engine, 0), *c = vb_engine_output(engine, 1);
    if (y != NULL && c != NULL) {
        CHECK_NEAR(((const float *)y->data)[0], 0.0, 0.0);
        CHECK_NEAR(((const float *)y->data)[1], 1.0, 0.0);
        CHECK_NEAR(((const float *)c->data)[0], -1.0, 0.0);
    }
    vb_engine_free(engine);
}

/* One activation case: op, opset, attributes and constant bound inputs. */
typedef struct ActCase {
    const char *op_type;
    int opset;
    int attr_count;
    VbOnnxAttr attrs[2];
    int bound_count;  /* Clip from opset 11: min and max as constant inputs */
    float bounds[2];
} ActCase;

static void testActivationFusion(void)
{
    static const ActCase cases[] = {
        {"Relu", 17, 0, {{0}}, 0, {0}},
        {"Sigmoid", 17, 0, {{0}}, 0, {0}},
        {"LeakyRelu", 17, 1, {{.name = "alpha", .type = VB_ONNX_ATTR_FLOAT, .f = 0.2f}}, 0, {0}},
        {"HardSigmoid", 17, 2,
         {{.name = "alpha", .type = VB_ONNX_ATTR_FLOAT, .f = 0.3f},
          {.name = "beta", .type = VB_ONNX_ATTR_FLOAT, .f = 0.4f}}, 0, {0}},
        {"HardSwish", 17, 0, {{0}}, 0, {0}},
        {"Clip", 17, 0, {{0}}, 2, {-0.5f, 1.5f}},
        {"Clip", 6, 2,
         {{.name = "min", .type = VB_ONNX_ATTR_FLOAT, .f = -0.25f},
          {.name = "max", .type = VB_ONNX_ATTR_FLOAT, .f = 0.75f}}, 0, {0}},
    };
    static const char *const conv_in[] = {"x", "w"}, *const conv_out[] = {"c"};
    static const char *const act_in[] = {"c", "lo", "hi"}, *const act_out[] = {"y"};
    static const float w[1] = {1.5f};
    const int64_t xdims[] = {1, 1, 2, 3}, wdims[] = {1, 1, 1, 1};
    float x[6] = {-3.0f, -1.0f, -0.2f, 0.1f, 0.6f, 4.0f};
    vb_tensor in = makeTensor(4, xdims, x);

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const ActCase *c = &cases[i];
        TestModel m;
        modelInit(&m, c->opset);
        addNode(&m, "conv", "Conv", 2, conv_in, 1, conv_out);
        addNode(&m, "act", c->op_type, 1 + c->bound_count, act_in, 1, act_out);
        m.nodes[1].attr_count = c->attr_count;
        m.nodes[1].attrs = c->attrs;
        addInit(&m, "w", VB_DTYPE_FLOAT32, 4, wdims, w);
        addInit(&m, "lo", VB_DTYPE_FLOAT32, 0, NULL, &c->bounds[0]);
        addInit(&m, "hi", VB_DTYPE_FLOAT32, 0, NULL, &c->bounds[1]);
        addInput(&m, "x", 4, xdims);
        addOutput(&m, "y");

        /* The fused engine runs one node and matches the unfused one. */
        vb_error err = {0};
        vb_engine *fused = createEngine(&m, NULL, 0, VB_OK, &err);
        vb_engine *plain = createEngine(&m, NULL, 1, VB_OK, &err);
        if (fused != NULL && plain != NULL) {
            vb_engine_stats stats;
            vb_engine_get_stats(fused, &stats);
            CHECK_MSG(stats.node_count == 1, "%s opset %d: %d nodes after fusion", c->op_type,
                      c->opset, stats.node_count);
            CHECK_EQ_INT(vb_engine_run(fused, &in, 1, &err), VB_OK);
            CHECK_EQ_INT(vb_engine_run(plain, &in, 1, &err), VB_OK);
            const vb_tensor *a = vb_engine_output(fused, 0), *b = vb_engine_output(plain, 0);
            for (int k = 0; a != NULL && b != NULL && k < 6; k++)
                CHECK_MSG(fabsf(((const float *)a->data)[k] - ((const float *)b->data)[k]) <= 1e-6f,
                          "%s opset %d element %d: fused %g, unfused %g", c->op_type, c->opset,
                          k, ((const float *)a->data)[k], ((const float *)b->data)[k]);
        }
        vb_engine_free(fused);
        vb_engine_free(plain);
    }
}

static void testClipRuntimeBoundNotFused(void)
{
    /* A Clip bound known only at run time keeps the Clip node. */
    static const char *const conv_in[] = {"x", "w"}, *const conv_out[] = {"c"};
    static const char *const clip_in[] = {"c", "lo"}, *const clip_out[] = {"y"};
    static const float w[1] = {1.0f};
    const int64_t xdims[] = {1, 1, 1, 1}, wdims[] = {1, 1, 1, 1};
    TestModel m;
    modelInit(&m, 17);
    addNode(&m, "conv", "Conv", 2, conv_in, 1, conv_out);
    addNode(&m, "clip", "Clip", 2, clip_in, 1, clip_out);
    addInit(&m, "w", VB_DTYPE_FLOAT32, 4, wdims, w);
    addInput(&m, "x", 4, xdims);
    addInput(&m, "lo", 0, NULL);
    addOutput(&m, "y");
    vb_error err = {0};
    vb_engine *engine = createEngine(&m, NULL, 0, VB_OK, &err);
    if (engine == NULL)
        return;
    vb_engine_stats stats;
    vb_engine_get_stats(engine, &stats);
    CHECK_EQ_INT(stats.node_count, 2);
    vb_engine_free(engine);
}

static void testConcatInPlace(void)
{
    /* y = Concat(Concat(Conv(x, w1), Conv(x, w2)), Conv(x, w3)) on axis 1:
     * every Conv writes its slice of y directly and no Concat runs. */
    static const char *const c1_in[] = {"x", "w1"}, *const c1_out[] = {"a"};
    static const char *const c2_in[] = {"x", "w2"}, *const c2_out[] = {"b"};
    static const char *const c3_in[] = {"x", "w3"}, *const c3_out[] = {"c"};
    static const char *const cat1_in[] = {"a", "b"}, *const cat1_out[] = {"ab"};
    static const char *const cat2_in[] = {"ab", "c"}, *const cat2_out[] = {"y"};
    static const VbOnnxAttr axis1 = {.name = "axis", .type = VB_ONNX_ATTR_INT, .i = 1};
    static const float w1[1] = {1.0f}, w2[1] = {2.0f}, w3[1] = {-3.0f};
    const int64_t xdims[] = {1, 1, 4, 4}, wdims[] = {1, 1, 1, 1};
    TestModel m;
    modelInit(&m, 17);
    addNode(&m, "c1", "Conv", 2, c1_in, 1, c1_out);
    addNode(&m, "c2", "Conv", 2, c2_in, 1, c2_out);
    addNode(&m, "cat1", "Concat", 2, cat1_in, 1, cat1_out);
    addNode(&m, "c3", "Conv", 2, c3_in, 1, c3_out);
    addNode(&m, "cat2", "Concat", 2, cat2_in, 1, cat2_out);
    m.nodes[2].attr_count = 1;
    m.nodes[2].attrs = &axis1;
    m.nodes[4].attr_count = 1;
    m.nodes[4].attrs = &axis1;
    addInit(&m, "w1", VB_DTYPE_FLOAT32, 4, wdims, w1);
    addInit(&m, "w2", VB_DTYPE_FLOAT32, 4, wdims, w2);
    addInit(&m, "w3", VB_DTYPE_FLOAT32, 4, wdims, w3);
    addInput(&m, "x", 4, xdims);
    addOutput(&m, "y");

    float x[16];
    for (int i = 0; i < 16; i++)
        x[i] = (float)i - 7.5f;
    vb_tensor in = makeTensor(4, xdims, x);
    vb_error err = {0};
    vb_engine *engine = createEngine(&m, NULL, 0, VB_OK, &err);
    if (engine == NULL)
        return;
    vb_engine_stats stats;
    vb_engine_get_stats(engine, &stats);
    CHECK_EQ_INT(stats.node_count, 3);
    CHECK_EQ_INT(vb_engine_run(engine, &in, 1, &err), VB_OK);
    const vb_tensor *y = vb_engine_output(engine, 0);
    CHECK(y != NULL);
    if (y != NULL) {
        CHECK_EQ_INT(y->dims[1], 3);
        const float scale[3] = {1.0f, 2.0f, -3.0f};
        for (int i = 0; i < 48; i++)
            CHECK_NEAR(((const float *)y->data)[i], scale[i / 16] * x[i % 16], 0.0);
    }
    vb_engine_free(engine);

    /* A Concat input that is also a graph output keeps the copy. */
    addOutput(&m, "a");
    engine = createEngine(&m, NULL, 0, VB_OK, &err);
    if (engine == NULL)
        return;
    vb_engine_get_stats(engine, &stats);
    CHECK_EQ_INT(stats.node_count, 4);
    CHECK_EQ_INT(vb_engine_run(engine, &in, 1, &err), VB_OK);
    y = vb_engine_output(engine, 0);
    if (y != NULL)
        CHECK_NEAR(((const float *)y->data)[47], -3.0f * x[15], 0.0);
    vb_engine_free(engine);
}

static void testIdentityBypass(void)
{
    /* x -> Identity -> Relu -> y: the Identity never runs. As a graph output it stays. */
    static const char *const id_in[] = {"x"}, *const id_out[] = {"i"};
    static const char *const relu_in[] = {"i"}, *const relu_out[] = {"y"};
    const int64_t xdims[] = {2};
    TestModel m;
    modelInit(&m, 17);
    addNode(&m, "id", "Identity", 1, id_in, 1, id_out);
    addNode(&m, "relu", "Relu", 1, relu_in, 1, relu_out);
    addInput(&m, "x", 1, xdims);
    addOutput(&m, "y");

    vb_error err = {0};
    vb_engine_stats stats;
    float x[2] = {-1.0f, 2.0f};
    vb_tensor in = makeTensor(1, xdims, x);
    vb_engine *engine = createEngine(&m, NULL, 0, VB_OK, &err);
    if (engine != NULL) {
        vb_engine_get_stats(engine, &stats);
        CHECK_EQ_INT(stats.node_count, 1);
        CHECK_EQ_INT(vb_engine_run(engine, &in, 1, &err), VB_OK);
        const vb_tensor *y = vb_engine_output(engine, 0);
        if (y != NULL)
            CHECK_NEAR(((const float *)y->data)[1], 2.0, 0.0);
        vb_engine_free(engine);
    }

    addOutput(&m, "i");
    engine = createEngine(&m, NULL, 0, VB_OK, &err);
    if (engine == NULL)
        return;
    vb_engine_get_stats(engine, &stats);
    CHECK_EQ_INT(stats.node_count, 2);
    CHECK_EQ_INT(vb_engine_run(engine, &in, 1, &err), VB_OK);
    const vb_tensor *i_out = vb_engine_output(engine, 1);
    if (i_out != NULL)
        CHECK_NEAR(((const float *)i_out->data)[0], -1.0, 0.0);
    vb_engine_free(engine);
}

static void testProfileCounts(void)
{
    static const char *const in[] = {"x"}, *const out[] = {"y"};
    const int64_t xdims[] = {4};
    TestModel m;
    modelInit(&m, 17);
    addNode(&m, "", "Relu", 1, in, 1, out);
    addInput(&m, "x", 1, xdims);
    addOutput(&m, "y");
    vb_engine_options options;
    vb_engine_options_init(&options);
    options.profile = 1;
    options.threads = 2;
    vb_error err = {0};
    vb_engine *engine = createEngine(&m, &options, 0, VB_OK, &err);
    if (engine == NULL)
        return;
    float x[4] = {1, 2, 3, 4};
    vb_tensor t = makeTensor(1, xdims, x);
    CHECK_EQ_INT(vb_engine_run(engine, &t, 1, &err), VB_OK);
    CHECK_EQ_INT(vb_engine_run(engine, &t, 1, &err), VB_OK);
    CHECK_EQ_INT(vbEngineProfileRuns(engine), 2);
    CHECK_EQ_INT(vbEngineNodeCount(engine), 1);
    VbNodeProfile p;
    CHECK(vbEngineNodeProfile(engine, 0, &p));
    CHECK_STR(p.op_type, "Relu");
    CHECK_STR(p.name, "");
    vbEngineProfileReset(engine);
    CHECK_EQ_INT(vbEngineProfileRuns(engine), 0);
    vb_engine_stats stats;
    vb_engine_get_stats(engine, &stats);
    CHECK_EQ_INT(stats.threads, 2);
    vb_engine_free(engine);
    vb_engine_free(NULL);
}

int main(void)
{
    testAddRelu();
    testShapeChainFolds();
    testOutputsThatAreInputsOrConstants();
    testUnsupportedOp();
    testUnknownValueAndCycle();
    testInputShapes();
    testSiluFusion();
    testChannelScaleFusion();
    testGlobalPoolFusion();
    testReluFusionAndGraphOutput();
    testActivationFusion();
    testClipRuntimeBoundNotFused();
    testConcatInPlace();
    testIdentityBypass();
    testProfileCounts();
    TEST_END();
}
