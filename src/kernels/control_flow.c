/* Control flow: If, which runs one of two subgraphs as a nested engine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_internal.h"
#include "kernels/kernel_util.h"

/* One branch of an If and the engine last built for it. */
typedef struct IfBranch {
    const char *attr;            /* "then_branch" or "else_branch", for messages */
    const VbOnnxGraph *graph;
    VbOnnxGraph patched;         /* graph with the outer values as its inputs */
    VbOnnxValueInfo *inputs;     /* [outer_count] declarations of those inputs */
    VbOnnxOpset opset;
    VbOnnxModel model;           /* wraps patched for vbEngineCreate */
    vb_engine *engine;           /* built for the shapes in inputs, or NULL */
    int threads;                 /* threads engine was built for */
} IfBranch;

typedef struct IfParams {
    const char **outer;          /* names of in[1..] (vbSubgraphOuterNames), owned array */
    int outer_count;
    IfBranch branch[2];          /* 0: else_branch, 1: then_branch */
    IfBranch *taken;             /* branch the last infer ran, whose outputs run copies */
} IfParams;

static void ifRelease(void *params)
{
    IfParams *p = params;
    if (p == NULL)
        return;
    for (int b = 0; b < 2; b++) {
        vb_engine_free(p->branch[b].engine);
        free(p->branch[b].inputs);
    }
    free(p->outer);
    free(p);
}

static vb_status ifPrepare(const VbOnnxNode *node, int opset, void **params, vb_error *err)
{
    IfParams *p = calloc(1, sizeof *p);
    if (p == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory preparing If");
    *params = p;
    vb_status status = vbSubgraphOuterNames(node, &p->outer, &p->outer_count, err);
    if (status != VB_OK)
        return status;

    static const char *const attrs[2] = {"else_branch", "then_branch"};
    for (int b = 0; b < 2; b++) {
        IfBranch *br = &p->branch[b];
        const VbOnnxAttr *attr = vbOnnxNodeAttr(node, attrs[b]);
        if (attr == NULL || attr->type != VB_ONNX_ATTR_GRAPH || attr->g == NULL)
            return vbErrorSet(err, VB_ERR_PARSE, "If '%s': attribute %s is missing or not a graph",
                              node->name, attrs[b]);
        br->attr = attrs[b];
        br->graph = attr->g;
        br->inputs = calloc((size_t)p->outer_count + 1, sizeof *br->inputs);
        if (br->inputs == NULL)
            return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory preparing If");

        /* The branch becomes a model of its own whose inputs are the outer values. */
        br->patched = *attr->g;
        br->patched.inputs = br->inputs;
        br->patched.input_count = p->outer_count;
        br->opset.domain = "";
        br->opset.version = opset;
        br->model.ir_version = 8;
        br->model.opset_count = 1;
        br->model.opsets = &br->opset;
        br->model.graph = &br->patched;
    }
    return VB_OK;
}

/* Returns nonzero when br's engine was built for the shapes and types of
 * the outer values in in[1..] and for threads. */
static int branchFits(const IfBranch *br, const IfParams *p, const vb_tensor *const *in,
                      int threads)
{
    if (br->engine == NULL || br->threads != threads)
        return 0;
    for (int i = 0; i < p->outer_count; i++) {
        const vb_tensor *t = in[1 + i];
        const VbOnnxValueInfo *decl = &br->inputs[i];
        if (t->dtype != decl->dtype || t->rank != decl->rank ||
            memcmp(t->dims, decl->dims, sizeof(int64_t) * (size_t)t->rank) != 0)
            return 0;
    }
    return 1;
}

/* Builds (unless it fits already) and runs the branch for this run's outer
 * values. */
static vb_status runBranch(IfBranch *br, const IfParams *p, const vb_tensor *const *in, int threads,
                           vb_error *err)
{
    if (!branchFits(br, p, in, threads)) {
        vb_engine_free(br->engine);
        br->engine = NULL;
        for (int i = 0; i < p->outer_count; i++) {
            const vb_tensor *t = in[1 + i];
            VbOnnxValueInfo *decl = &br->inputs[i];
            memset(decl, 0, sizeof *decl);
            decl->name = p->outer[i];
            decl->dtype = t->dtype;
            decl->rank = t->rank;
            memcpy(decl->dims, t->dims, sizeof decl->dims);
        }
        vb_engine_options options;
        vb_engine_options_init(&options);
        options.threads = threads;
        vb_status status = vbEngineCreate(&br->model, &options, NULL, &br->engine, err);
        if (status != VB_OK)
            return vbErrorPrefix(err, "%s: ", br->attr);
        br->threads = threads;
    }

    /* The engine's inputs are the outer values, in the order declared. */
    int n = vb_engine_input_count(br->engine);
    vb_tensor *inputs = calloc((size_t)n + 1, sizeof *inputs);
    if (inputs == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory running If %s", br->attr);
    for (int i = 0; i < n; i++) {
        const char *name = vb_engine_input_info(br->engine, i)->name;
        for (int k = 0; k < p->outer_count; k++) {
            if (strcmp(p->outer[k], name) == 0)
                inputs[i] = *in[1 + k];
        }
    }
    vb_status status = vb_engine_run(br->engine, inputs, n, err);
    free(inputs);
    if (status != VB_OK)
        return vbErrorPrefix(err, "%s: ", br->attr);
    return VB_OK;
}

/* Chooses the branch by cond and runs it, because the outputs' shapes are
 * known only then. The branch's outputs stay in its engine until run copies
 * them. params is written here although the interface passes it as const:
 * it caches the branch engine. */
static vb_status ifInfer(const void *params, const vb_tensor *const *in, int n_in,
                         vb_tensor *const *out, int n_out, VbOpInferInfo *info, vb_error *err)
{
    IfParams *p = (IfParams *)params;
    const vb_tensor *cond = in[0];
    if (n_in != 1 + p->outer_count)
        return vbErrorSet(err, VB_ERR_INTERNAL, "If has %d inputs, expected %d", n_in,
                          1 + p->outer_count);
    if (vbTensorCount(cond) != 1 || vb_dtype_size(cond->dtype) == 0 ||
        cond->dtype == VB_DTYPE_STRING)
        return vbErrorSet(err, VB_ERR_SHAPE, "If: cond must be one boolean");
    for (int i = 0; i < n_in; i++) {
        if (in[i]->data == NULL && vbTensorCount(in[i]) > 0)
            return vbErrorSet(err, VB_ERR_UNSUPPORTED, "If requires a constant cond and outer "
                              "values; it runs its branch once they are known");
    }

    /* Any nonzero byte of the element makes cond true. */
    int taken = 0;
    for (size_t b = 0; b < vb_dtype_size(cond->dtype); b++)
        taken |= ((const unsigned char *)cond->data)[b] != 0;
    IfBranch *br = &p->branch[taken];
    int threads = info->threads > 0 ? info->threads : 1;
    vb_status status = runBranch(br, p, in, threads, err);
    if (status != VB_OK)
        return status;
    p->taken = br;

    /* The node's outputs take the branch outputs' shapes. */
    if (vb_engine_output_count(br->engine) != n_out)
        return vbErrorSet(err, VB_ERR_SHAPE, "If: %s has %d outputs but the node has %d",
                          br->attr, vb_engine_output_count(br->engine), n_out);
    for (int k = 0; k < n_out; k++) {
        const vb_tensor *t = vb_engine_output(br->engine, k);
        vbKernelSetShape(out[k], t->dtype, t->rank, t->dims);
    }
    return VB_OK;
}

/* Copies the outputs of the branch that infer ran. */
static vb_status ifRun(const void *params, const vb_tensor *const *in, int n_in,
                       vb_tensor *const *out, int n_out, const VbOpRunContext *ctx, vb_error *err)
{
    (void)in;
    (void)n_in;
    const IfParams *p = params;
    if (p->taken == NULL || p->taken->engine == NULL)
        return vbErrorSet(err, VB_ERR_INTERNAL, "If ran before its infer chose a branch");
    for (int k = 0; k < n_out; k++) {
        const vb_tensor *t = vb_engine_output(p->taken->engine, k);
        if (t == NULL || vbTensorBytes(t) != vbTensorBytes(out[k]))
            return vbErrorSet(err, VB_ERR_INTERNAL, "If output %d changed size since infer", k);
        vbKernelCopy(out[k]->data, t->data, vbTensorBytes(t), ctx->threads);
    }
    return VB_OK;
}

static const VbOpDef opIf = {"If", 1, ifPrepare, ifInfer, ifRun, ifRelease, NULL, NULL};

const VbOpDef *const vbOpsControlFlow[] = {&opIf, NULL};
