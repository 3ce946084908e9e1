/* Tests of graphs whose shapes are known only at run time: data-dependent ops, If subgraphs, size limits. */
#include <stdint.h>
#include <string.h>

#include "engine/engine_impl.h"
#include "engine/engine_internal.h"
#include "kernels_ref.h"
#include "vbtest.h"

/* A graph assembled in memory; the node arrays it points to are static. */
typedef struct Graph {
    VbOnnxNode nodes[6];
    VbOnnxTensor inits[4];
    VbOnnxValueInfo inputs[3];
    VbOnnxValueInfo outputs[2];
    VbOnnxGraph graph;
} Graph;

typedef struct Model {
    Graph main;
    VbOnnxOpset opset;
    VbOnnxModel model;
} Model;

static void graphInit(Graph *g, const char *name)
{
    memset(g, 0, sizeof *g);
    g->graph.name = name;
    g->graph.nodes = g->nodes;
    g->graph.initializers = g->inits;
    g->graph.inputs = g->inputs;
    g->graph.outputs = g->outputs;
}

static void modelInit(Model *m)
{
    memset(m, 0, sizeof *m);
    graphInit(&m->main, "main");
    m->opset.domain = "";
    m->opset.version = 16;
    m->model.ir_version = 8;
    m->model.opset_count = 1;
    m->model.opsets = &m->opset;
    m->model.graph = &m->main.graph;
}

static VbOnnxNode *graphNode(Graph *g, const char *op_type, int in_count, const char *const *in,
                             const char *out)
{
    VbOnnxNode *n = &g->nodes[g->graph.node_count++];
    n->name = out;
    n->op_type = op_type;
    n->domain = "";
    n->input_count = in_count;
    n->inputs = in;
    n->output_count = 1;
    n->outputs = &n->name;  /* the node is named after its one output */
    return n;
}

static void graphValue(VbOnnxValueInfo *list, int *count, const char *name, vb_dtype dtype, int rank,
                       const int64_t *dims)
{
    VbOnnxValueInfo *v = &list[(*count)++];
    v->name = name;
    v->dtype = dtype;
    v->rank = rank;
    for (int i = 0; i < rank; i++)
        v->dims[i] = dims != NULL ? dims[i] : -1;
}

static vb_engine *load(const Model *m, vb_error *err)
{
    vb_engine *engine = NULL;
    vb_status status = vbEngineCreate(&m->model, NULL, NULL, &engine, err);
    CHECK_MSG(status == VB_OK, "load failed: %s", err->message);
    return engine;
}

/* NonZero's output length follows the data of each run, and a node that
 * reads it (Relu after a Cast) follows too. */
static void testNonZeroChangesPerRun(void)
{
    static const char *const nz_in[] = {"x"}, *const cast_in[] = {"idx"},
                             *const relu_in[] = {"f"};
    const int64_t xdims[] = {2, 3};
    Model m;
    modelInit(&m);
    graphNode(&m.main, "NonZero", 1, nz_in, "idx");
    VbOnnxNode *cast = graphNode(&m.main, "Cast", 1, cast_in, "f");
    static VbOnnxAttr to;
    to.name = "to";
    to.type = VB_ONNX_ATTR_INT;
    to.i = VB_DTYPE_FLOAT32;
    cast->attr_count = 1;
    cast->attrs = &to;
    graphNode(&m.main, "Relu", 1, relu_in, "y");
    graphValue(m.main.inputs, &m.main.graph.input_count, "x", VB_DTYPE_FLOAT32, 2, xdims);
    graphValue(m.main.outputs, &m.main.graph.output_count, "idx", VB_DTYPE_INT64, 2, NULL);
    graphValue(m.main.outputs, &m.main.graph.output_count, "y", VB_DTYPE_FLOAT32, 2, NULL);

    vb_error err = {0};
    vb_engine *engine = load(&m, &err);
    if (engine == NULL)
        return;
    CHECK(engine->dynamic);
    CHECK_EQ_INT(vb_engine_output_info(engine, 0)->dtype, VB_DTYPE_INT64);
    CHECK_EQ_INT(vb_engine_output_info(engine, 0)->dims[1], -1);

    /* Two nonzero elements, then five: the outputs grow between runs. */
    float first[6] = {0, 2, 0, 0, 0, -1}, second[6] = {1, 1, 0, 1, 1, 1};
    const int64_t want_first[4] = {0, 1, 1, 2};
    vb_tensor x = refTensor(VB_DTYPE_FLOAT32, 2, xdims, first);
    CHECK_EQ_INT(vb_engine_run(engine, &x, 1, &err), VB_OK);
    const vb_tensor *idx = vb_engine_output(engine, 0);
    CHECK_EQ_INT(idx->rank, 2);
    CHECK_EQ_INT(idx->dims[0], 2);
    CHECK_EQ_INT(idx->dims[1], 2);
    for (int i = 0; i < 4; i++)
        CHECK_EQ_INT(((const int64_t *)idx->data)[i], want_first[i]);

    x.data = second;
    CHECK_EQ_INT(vb_engine_run(engine, &x, 1, &err), VB_OK);
    idx = vb_engine_output(engine, 0);
    const vb_tensor *y = vb_engine_output(engine, 1);
    CHECK_EQ_INT(idx->dims[1], 5);
    CHECK_EQ_INT(y->dims[1], 5);
    CHECK_EQ_INT(y->dtype, VB_DTYPE_FLOAT32);
    const float want_cols[5] = {0, 1, 0, 1, 2};
    for (int i = 0; i < 5; i++)
        CHECK_NEAR(((const float *)y->data)[5 + i], want_cols[i], 0);
    vb_engine_free(engine);
}

/* A static graph stays on the load-time plan: no node infers at run time. */
static void testStaticGraphStaysPlanned(void)
{
    static const char *const relu_in[] = {"x"};
    const int64_t xdims[] = {4};
    Model m;
    modelInit(&m);
    graphNode(&m.main, "Relu", 1, relu_in, "y");
    graphValue(m.main.inputs, &m.main.graph.input_count, "x", VB_DTYPE_FLOAT32, 1, xdims);
    graphValue(m.main.outputs, &m.main.graph.output_count, "y", VB_DTYPE_FLOAT32, 1, xdims);

    vb_error err = {0};
    vb_engine *engine = load(&m, &err);
    if (engine == NULL)
        return;
    CHECK(!engine->dynamic);
    CHECK_EQ_INT(vb_engine_output_info(engine, 0)->dims[0], 4);
    vb_engine_free(engine);
}

/* If reads x from the enclosing graph in both branches; the branches give
 * outputs of different lengths. */
static void testIfReadsOuterValues(void)
{
    static const char *const concat_in[] = {"x", "x"}, *const mul_in[] = {"x", "x"};
    static const char *const if_in[] = {"cond"};
    const int64_t xdims[] = {3}, cdims[] = {1};
    static Graph then_branch, else_branch;
    graphInit(&then_branch, "then");
    graphInit(&else_branch, "else");
    VbOnnxNode *concat = graphNode(&then_branch, "Concat", 2, concat_in, "t");
    static VbOnnxAttr axis;
    axis.name = "axis";
    axis.type = VB_ONNX_ATTR_INT;
    axis.i = 0;
    concat->attr_count = 1;
    concat->attrs = &axis;
    graphValue(then_branch.outputs, &then_branch.graph.output_count, "t", VB_DTYPE_FLOAT32, 1, NULL);
    graphNode(&else_branch, "Mul", 2, mul_in, "e");
    graphValue(else_branch.outputs, &else_branch.graph.output_count, "e", VB_DTYPE_FLOAT32, 1, NULL);

    Model m;
    modelInit(&m);
    VbOnnxNode *node = graphNode(&m.main, "If", 1, if_in, "y");
    static VbOnnxAttr branches[2];
    branches[0].name = "then_branch";
    branches[0].type = VB_ONNX_ATTR_GRAPH;
    branches[0].g = &then_branch.graph;
    branches[1].name = "else_branch";
    branches[1].type = VB_ONNX_ATTR_GRAPH;
    branches[1].g = &else_branch.graph;
    node->attr_count = 2;
    node->attrs = branches;
    graphValue(m.main.inputs, &m.main.graph.input_count, "cond", VB_DTYPE_BOOL, 1, cdims);
    graphValue(m.main.inputs, &m.main.graph.input_count, "x", VB_DTYPE_FLOAT32, 1, xdims);
    graphValue(m.main.outputs, &m.main.graph.output_count, "y", VB_DTYPE_FLOAT32, 1, NULL);

    vb_error err = {0};
    vb_engine *engine = load(&m, &err);
    if (engine == NULL)
        return;
    float xs[3] = {1, 2, 3};
    unsigned char yes = 1, no = 0;
    vb_tensor in[2] = {refTensor(VB_DTYPE_BOOL, 1, cdims, &yes),
                       refTensor(VB_DTYPE_FLOAT32, 1, xdims, xs)};
    for (int round = 0; round < 3; round++) {
        in[0].data = round == 1 ? &no : &yes;
        CHECK_MSG(vb_engine_run(engine, in, 2, &err) == VB_OK, "run %d: %s", round, err.message);
        const vb_tensor *y = vb_engine_output(engine, 0);
        if (y == NULL)
            continue;
        const float *v = y->data;
        if (round == 1) {
            CHECK_EQ_INT(y->dims[0], 3);
            CHECK_NEAR(v[2], 9.0f, 0);
        } else {
            CHECK_EQ_INT(y->dims[0], 6);
            CHECK_NEAR(v[3], 1.0f, 0);
            CHECK_NEAR(v[5], 3.0f, 0);
        }
    }
    vb_engine_free(engine);
}

/* A run-time shape above the engine's size limit fails the run with
 * VB_ERR_LIMIT instead of allocating. */
static void testRunTimeShapeLimit(void)
{
    static const char *const cos_in[] = {"shape"};
    const int64_t sdims[] = {2};
    Model m;
    modelInit(&m);
    graphNode(&m.main, "ConstantOfShape", 1, cos_in, "y");
    graphValue(m.main.inputs, &m.main.graph.input_count, "shape", VB_DTYPE_INT64, 1, sdims);
    graphValue(m.main.outputs, &m.main.graph.output_count, "y", VB_DTYPE_FLOAT32, 2, NULL);

    vb_error err = {0};
    vb_engine *engine = load(&m, &err);
    if (engine == NULL)
        return;
    int64_t small[2] = {2, 3}, huge[2] = {(int64_t)1 << 20, (int64_t)1 << 20};
    vb_tensor shape = refTensor(VB_DTYPE_INT64, 1, sdims, small);
    CHECK_EQ_INT(vb_engine_run(engine, &shape, 1, &err), VB_OK);
    CHECK_EQ_INT(vb_engine_output(engine, 0)->dims[1], 3);
    shape.data = huge;
    CHECK_EQ_INT(vb_engine_run(engine, &shape, 1, &err), VB_ERR_LIMIT);
    CHECK(strstr(err.message, "ConstantOfShape") != NULL);

    /* The engine still runs after the failed run. */
    shape.data = small;
    CHECK_EQ_INT(vb_engine_run(engine, &shape, 1, &err), VB_OK);
    vb_engine_free(engine);
}

int main(void)
{
    testNonZeroChangesPerRun();
    testStaticGraphStaysPlanned();
    testIfReadsOuterValues();
    testRunTimeShapeLimit();
    return vbTestFailures == 0 ? 0 : 1;
}
