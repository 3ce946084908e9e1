/* Shape and type inference over the ordered graph, with constant folding at load. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "engine/engine_impl.h"

vb_status vbGraphCheckSize(const vb_tensor *t, const char *what, size_t *bytes, vb_error *err)
{
    char shape[128];
    if (t->rank < 0 || t->rank > VB_MAX_RANK)
        return vbErrorSet(err, VB_ERR_SHAPE, "tensor '%s' has rank %d; the engine handles 0 to %d",
                          what, t->rank, VB_MAX_RANK);
    size_t n = vb_dtype_size(t->dtype);
    if (n == 0)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED,
                          "tensor '%s' has element type %s, which the engine does not support",
                          what, vb_dtype_to_string(t->dtype));
    for (int i = 0; i < t->rank; i++) {
        if (t->dims[i] < 0)
            return vbErrorSet(err, VB_ERR_SHAPE, "tensor '%s' has negative dimension %d (%lld)",
                              what, i, (long long)t->dims[i]);
        if ((uint64_t)t->dims[i] > VB_ENGINE_MAX_BYTES || vbMulSize(n, (size_t)t->dims[i], &n) ||
            n > VB_ENGINE_MAX_BYTES)
            return vbErrorSet(err, VB_ERR_LIMIT,
                              "tensor '%s' of shape %s (%s) needs more than the engine's limit "
                              "of %llu GiB; use a smaller input shape",
                              what, vbShapeString(t, shape, sizeof shape),
                              vb_dtype_to_string(t->dtype),
                              (unsigned long long)(VB_ENGINE_MAX_BYTES >> 30));
    }
    *bytes = n;
    return VB_OK;
}

/* Returns the override for input number index called name, or NULL. An
 * override without a name applies to the first input. */
static const vb_input_shape *findOverride(const vb_engine_options *options, int index,
                                          const char *name)
{
    for (int i = 0; options != NULL && i < options->input_shape_count; i++) {
        const vb_input_shape *s = &options->input_shapes[i];
        if (s->name == NULL ? index == 0 : strcmp(s->name, name) == 0)
            return s;
    }
    return NULL;
}

static const VbOnnxValueInfo *findGraphInput(const VbOnnxGraph *g, const char *name)
{
    for (int i = 0; i < g->input_count; i++) {
        if (strcmp(g->inputs[i].name, name) == 0)
            return &g->inputs[i];
    }
    return NULL;
}

/* Checks that every named override matches an input that is not an initializer. */
static vb_status checkOverrideNames(const vb_engine *engine, const vb_engine_options *options,
                                    vb_error *err)
{
    for (int i = 0; options != NULL && i < options->input_shape_count; i++) {
        const char *name = options->input_shapes[i].name;
        int found = name == NULL && engine->input_count > 0;
        for (int k = 0; !found && name != NULL && k < engine->input_count; k++)
            found = strcmp(engine->values[engine->input_ids[k]].name, name) == 0;
        if (!found)
            return vbErrorSet(err, VB_ERR_NOT_FOUND,
                              "a shape is given for input '%s', which the model does not have; "
                              "its first input is '%s'",
                              name != NULL ? name : "(first)",
                              engine->input_count > 0 ? engine->values[engine->input_ids[0]].name
                                                      : "(none)");
    }
    return VB_OK;
}

static void describeValue(const VbValue *v, vb_tensor_info *info)
{
    info->name = v->name;
    info->dtype = v->t.dtype;
    info->rank = v->t.rank;
    memcpy(info->dims, v->t.dims, sizeof info->dims);
}

/* Describes graph output i of run-time shape by its declaration: dims
 * become -1 (unknown until a run), and so does a rank the model leaves out. */
static void describeDeclared(const VbOnnxGraph *g, int i, vb_tensor_info *info)
{
    const VbOnnxValueInfo *decl = &g->outputs[i];
    info->dtype = decl->dtype;
    info->rank = decl->rank;
    for (int d = 0; d < VB_MAX_RANK; d++)
        info->dims[d] = -1;
}

/* Sets the type and shape of every graph input from the model's declaration
 * and the caller's overrides, and fills engine->input_info. */
static vb_status setInputShapes(vb_engine *engine, const vb_engine_options *options,
                                vb_error *err)
{
    const VbOnnxGraph *g = engine->model->graph;
    vb_status status = checkOverrideNames(engine, options, err);
    if (status != VB_OK)
        return status;

    engine->input_info = calloc((size_t)engine->input_count + 1, sizeof *engine->input_info);
    if (engine->input_info == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for %d inputs",
                          engine->input_count);

    for (int i = 0; i < engine->input_count; i++) {
        VbValue *v = &engine->values[engine->input_ids[i]];
        const VbOnnxValueInfo *decl = findGraphInput(g, v->name);
        const vb_input_shape *override = findOverride(options, i, v->name);

        if (decl == NULL || decl->dtype == VB_DTYPE_UNDEFINED)
            return vbErrorSet(err, VB_ERR_UNSUPPORTED,
                              "input '%s' does not declare a tensor element type", v->name);
        v->t.dtype = decl->dtype;

        /* A requested shape must agree with every dimension the model fixes. */
        if (override != NULL) {
            if (override->rank < 0 || override->rank > VB_MAX_RANK)
                return vbErrorSet(err, VB_ERR_SHAPE,
                                  "the shape given for input '%s' has rank %d; the engine "
                                  "handles 0 to %d",
                                  v->name, override->rank, VB_MAX_RANK);
            if (decl->rank >= 0 && override->rank != decl->rank)
                return vbErrorSet(err, VB_ERR_SHAPE,
                                  "the shape given for input '%s' has rank %d but the model "
                                  "declares rank %d; pass %d dimensions",
                                  v->name, override->rank, decl->rank, decl->rank);
            v->t.rank = override->rank;
            for (int d = 0; d < override->rank; d++) {
                if (override->dims[d] < 0)
                    return vbErrorSet(err, VB_ERR_SHAPE,
                                      "the shape given for input '%s' has negative dimension "
                                      "%d (%lld)",
                                      v->name, d, (long long)override->dims[d]);
                if (decl->rank >= 0 && decl->dims[d] >= 0 && decl->dims[d] != override->dims[d])
                    return vbErrorSet(err, VB_ERR_SHAPE,
                                      "input '%s' dimension %d is fixed at %lld by the model but "
                                      "the given shape has %lld",
                                      v->name, d, (long long)decl->dims[d],
                                      (long long)override->dims[d]);
                v->t.dims[d] = override->dims[d];
            }
        } else {
            if (decl->rank < 0)
                return vbErrorSet(err, VB_ERR_SHAPE,
                                  "input '%s' has no declared shape; pass one with --shape "
                                  "(vb_engine_options.input_shapes)",
                                  v->name);
            v->t.rank = decl->rank;
            for (int d = 0; d < decl->rank; d++) {
                if (decl->dims[d] < 0)
                    return vbErrorSet(err, VB_ERR_SHAPE,
                                      "input '%s' dimension %d ('%s') is not fixed by the model; "
                                      "pass the full shape with --shape "
                                      "(vb_engine_options.input_shapes)",
                                      v->name, d, decl->dim_params[d] ? decl->dim_params[d] : "?");
                v->t.dims[d] = decl->dims[d];
            }
        }

        size_t bytes;
        status = vbGraphCheckSize(&v->t, v->name, &bytes, err);
        if (status != VB_OK)
            return status;
        describeValue(v, &engine->input_info[i]);
    }
    return VB_OK;
}

static int isOp(const VbNode *node, const char *op_type)
{
    return strcmp(node->src->op_type, op_type) == 0;
}

/* Computes a Shape or Size node from its input's shape, which is known at
 * load even when its data is not. The op's infer already set the output. */
static vb_status foldShapeOf(const VbNode *node, vb_error *err)
{
    const vb_tensor *in = node->in_tensors[0];
    vb_tensor *out = node->out_tensors[0];
    int64_t *data = out->data;

    if (out->dtype != VB_DTYPE_INT64)
        return vbErrorSet(err, VB_ERR_INTERNAL, "%s output is %s, expected int64",
                          node->src->op_type, vb_dtype_to_string(out->dtype));
    if (isOp(node, "Size")) {
        int64_t count = 1;
        for (int i = 0; i < in->rank; i++)
            count *= in->dims[i];  /* fits: the input passed vbGraphCheckSize */
        if (vbTensorCount(out) != 1)
            return vbErrorSet(err, VB_ERR_INTERNAL, "Size output is not a scalar");
        data[0] = count;
        return VB_OK;
    }

    /* Shape from opset 15 takes a [start, end) slice of the dimensions. */
    int64_t rank = in->rank, start = 0, end = rank;
    if (node->opset >= 15) {
        start = vbOnnxAttrInt(node->src, "start", 0, NULL);
        end = vbOnnxAttrInt(node->src, "end", rank, NULL);
    }
    if (start < 0)
        start += rank;
    if (end < 0)
        end += rank;
    /* Clamp both ends to [0, rank], as the Shape-15 specification requires. */
    if (start < 0)
        start = 0;
    if (start > rank)
        start = rank;
    if (end < 0)
        end = 0;
    if (end > rank)
        end = rank;
    size_t count = end > start ? (size_t)(end - start) : 0;
    if (vbTensorCount(out) != count)
        return vbErrorSet(err, VB_ERR_INTERNAL, "Shape output has %zu elements, expected %zu",
                          vbTensorCount(out), count);
    for (size_t i = 0; i < count; i++)
        data[i] = in->dims[start + (int64_t)i];
    return VB_OK;
}

/* Runs a node at load and turns its outputs into constants owned by the engine. */
static vb_status foldNode(vb_engine *engine, VbNode *node, vb_error *err)
{
    vb_status status = VB_OK;
    void *workspace = NULL;

    /* Give every output its own buffer. */
    for (int k = 0; k < node->out_count; k++) {
        VbValue *v = &engine->values[node->out[k]];
        size_t bytes = vbTensorBytes(&v->t), padded;
        if (vbAddSize(bytes, VB_ENGINE_ALIGNMENT, &padded) || padded > vbEngineMaxBytes(engine))
            return vbErrorSet(err, VB_ERR_LIMIT,
                              "tensor '%s' (%zu bytes) is above the engine's limit of %llu MiB",
                              v->name, bytes, (unsigned long long)(vbEngineMaxBytes(engine) >> 20));
        padded &= ~(size_t)(VB_ENGINE_ALIGNMENT - 1);
        v->owned = aligned_alloc(VB_ENGINE_ALIGNMENT, padded);
        if (v->owned == NULL)
            return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory folding tensor '%s' (%zu bytes)",
                              v->name, bytes);
        v->t.data = v->owned;
        v->kind = VB_VALUE_CONSTANT;
    }

    /* Shape and Size only read dimensions; everything else runs its kernel. */
    if (isOp(node, "Shape") || isOp(node, "Size")) {
        status = foldShapeOf(node, err);
    } else {
        size_t ws = (node->workspace_bytes + VB_ENGINE_ALIGNMENT - 1) &
                    ~(size_t)(VB_ENGINE_ALIGNMENT - 1);
        if (ws > vbEngineMaxBytes(engine))
            return vbErrorSet(err, VB_ERR_LIMIT,
                              "folding a node needs a %zu-byte workspace, above the engine's limit",
                              ws);
        if (ws > 0) {
            workspace = aligned_alloc(VB_ENGINE_ALIGNMENT, ws);
            if (workspace == NULL) {
                status = vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for a %zu-byte workspace",
                                    ws);
                goto done;
            }
        }
        VbOpRunContext ctx = {engine->threads, engine->disable_simd, workspace,
                              node->workspace_bytes};
        status = node->op->run(node->params, node->in_tensors, node->in_count,
                               node->out_tensors, node->out_count, &ctx, err);
    }
    node->folded = 1;

done:
    free(workspace);
    return status;
}

/* Returns nonzero when every input the node reads is known at load. */
static int inputsAreConstant(const vb_engine *engine, const VbNode *node)
{
    for (int k = 0; k < node->in_count; k++) {
        if (node->in[k] >= 0 && engine->values[node->in[k]].kind != VB_VALUE_CONSTANT)
            return 0;
    }
    return 1;
}

/* Returns nonzero when the node reads a value whose shape is known only at run time. */
static int readsDynamicValue(const vb_engine *engine, const VbNode *node)
{
    for (int k = 0; k < node->in_count; k++) {
        if (node->in[k] >= 0 && engine->values[node->in[k]].dynamic)
            return 1;
    }
    return 0;
}

/* Makes the node infer its shapes before each run, and its outputs values of
 * run-time shape that live outside the arena. */
static void markDynamic(vb_engine *engine, VbNode *node)
{
    node->dynamic = 1;
    engine->dynamic = 1;
    for (int k = 0; k < node->out_count; k++) {
        VbValue *v = &engine->values[node->out[k]];
        v->dynamic = 1;
        v->t.dtype = VB_DTYPE_UNDEFINED;
        v->t.rank = 0;
        memset(v->t.dims, 0, sizeof v->t.dims);
    }
}

/* Prepares, infers and, when possible, folds one node. */
static vb_status inferNode(vb_engine *engine, VbNode *node, vb_error *err)
{
    vb_status status = VB_OK;

    /* Every op that becomes a node (Constant does not) reads a first input
     * and writes at least one output, and the kernels rely on both. */
    if (node->out_count < 1)
        return vbErrorSet(err, VB_ERR_PARSE, "the node has no outputs; the model is invalid");
    if (node->in_count < 1 || node->in_tensors[0] == NULL)
        return vbErrorSet(err, VB_ERR_PARSE, "the node has no first input; the model is invalid");

    if (node->op->prepare != NULL) {
        status = node->op->prepare(node->src, node->opset, &node->params, err);
        if (status != VB_OK)
            return status;
    }

    /* A node that reads a value of run-time shape infers before each run. */
    if (readsDynamicValue(engine, node)) {
        markDynamic(engine, node);
        return VB_OK;
    }

    /* So does a node whose output shape depends on data known only at run
     * time: its infer requires a constant input that is not one. */
    VbOpInferInfo info = {0, 0, 0};
    info.threads = engine->threads;
    vb_error infer_err = {VB_OK, ""};
    status = node->op->infer(node->params, node->in_tensors, node->in_count, node->out_tensors,
                             node->out_count, &info, &infer_err);
    if (status == VB_ERR_UNSUPPORTED && !inputsAreConstant(engine, node) &&
        strstr(infer_err.message, "requires a constant") != NULL) {
        markDynamic(engine, node);
        return VB_OK;
    }
    if (status != VB_OK)
        return vbErrorSet(err, status, "%s", infer_err.message);
    for (int k = 0; k < node->out_count; k++) {
        VbValue *v = &engine->values[node->out[k]];
        size_t bytes;
        status = vbGraphCheckSize(&v->t, v->name[0] ? v->name : "(unnamed output)", &bytes, err);
        if (status != VB_OK)
            return status;
    }
    if (info.workspace_bytes > VB_ENGINE_MAX_BYTES)
        return vbErrorSet(err, VB_ERR_LIMIT, "the op asks for a %zu-byte workspace, above the limit",
                          info.workspace_bytes);
    node->workspace_bytes = info.workspace_bytes;
    node->flops = info.flops;

    if (inputsAreConstant(engine, node) || isOp(node, "Shape") || isOp(node, "Size"))
        status = foldNode(engine, node, err);
    return status;
}

vb_status vbGraphInfer(vb_engine *engine, const vb_engine_options *options, vb_error *err)
{
    vb_status status = setInputShapes(engine, options, err);
    if (status != VB_OK)
        return status;

    /* Visit nodes in order, so every input's shape is known before its consumers. */
    for (int i = 0; i < engine->node_count; i++) {
        int n = engine->order[i];
        status = inferNode(engine, &engine->nodes[n], err);
        if (status != VB_OK) {
            char label[256];
            return vbErrorPrefix(err, "%s: ", vbGraphNodeLabel(engine, n, label, sizeof label));
        }
    }

    /* Describe the outputs now that their shapes are known. */
    engine->output_info = calloc((size_t)engine->output_count + 1, sizeof *engine->output_info);
    if (engine->output_info == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for %d outputs",
                          engine->output_count);
    for (int i = 0; i < engine->output_count; i++) {
        const VbValue *v = &engine->values[engine->output_ids[i]];
        describeValue(v, &engine->output_info[i]);
        if (v->dynamic)
            describeDeclared(engine->model->graph, i, &engine->output_info[i]);
    }
    return VB_OK;
}
