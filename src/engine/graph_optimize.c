/* Load-time graph optimisation: dead nodes, Identity, activation fusion, in-place Concat, packing. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "engine/engine_impl.h"

static int isOp(const VbNode *node, const char *op_type)
{
    const char *domain = node->src->domain;
    int default_domain = domain == NULL || domain[0] == '\0' || strcmp(domain, "ai.onnx") == 0;
    return default_domain && strcmp(node->src->op_type, op_type) == 0;
}

/* Counts, for every value, how many inputs of live nodes read it. */
static void countUses(vb_engine *engine)
{
    for (int v = 0; v < engine->value_count; v++)
        engine->values[v].use_count = 0;
    for (int n = 0; n < engine->node_count; n++) {
        const VbNode *node = &engine->nodes[n];
        for (int k = 0; node->live && k < node->in_count; k++) {
            if (node->in[k] >= 0)
                engine->values[node->in[k]].use_count++;
        }
    }
}

/* Marks the nodes whose outputs a graph output depends on and counts, for
 * every value, how many inputs of those nodes read it. */
static vb_status markLive(vb_engine *engine, vb_error *err)
{
    unsigned char *needed = calloc((size_t)engine->value_count + 1, 1);
    if (needed == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for %d values",
                          engine->value_count);

    /* Walk backwards from the graph outputs. Folded nodes already ran. */
    for (int i = 0; i < engine->output_count; i++)
        needed[engine->output_ids[i]] = 1;
    for (int i = engine->node_count - 1; i >= 0; i--) {
        VbNode *node = &engine->nodes[engine->order[i]];
        node->live = 0;
        if (node->folded)
            continue;
        for (int k = 0; k < node->out_count; k++)
            node->live |= needed[node->out[k]];
        for (int k = 0; node->live && k < node->in_count; k++) {
            if (node->in[k] >= 0)
                needed[node->in[k]] = 1;
        }
    }
    free(needed);
    countUses(engine);
    return VB_OK;
}

/* Removes Identity nodes by letting their readers read the Identity's input.
 * An Identity that writes a graph output stays, so the output keeps its own
 * buffer. */
static vb_status bypassIdentities(vb_engine *engine, vb_error *err)
{
    int *alias = malloc(((size_t)engine->value_count + 1) * sizeof *alias);
    if (alias == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for %d values",
                          engine->value_count);
    for (int v = 0; v < engine->value_count; v++)
        alias[v] = v;

    /* In run order, so a chain of Identity nodes resolves to its first input. */
    int removed = 0;
    for (int i = 0; i < engine->node_count; i++) {
        VbNode *node = &engine->nodes[engine->order[i]];
        if (!node->live || !isOp(node, "Identity") || node->in_count != 1 || node->in[0] < 0 ||
            node->out_count != 1 || engine->values[node->out[0]].is_output)
            continue;
        alias[node->out[0]] = alias[node->in[0]];
        node->live = 0;
        removed++;
    }

    for (int n = 0; removed > 0 && n < engine->node_count; n++) {
        VbNode *node = &engine->nodes[n];
        for (int k = 0; node->live && k < node->in_count; k++) {
            if (node->in[k] >= 0 && alias[node->in[k]] != node->in[k]) {
                node->in[k] = alias[node->in[k]];
                node->in_tensors[k] = &engine->values[node->in[k]].t;
            }
        }
    }
    free(alias);
    countUses(engine);
    return VB_OK;
}

/* Reads a scalar float32 constant input of a node into *out. Returns 0 when
 * the input is present but not a float32 scalar constant. An omitted input
 * leaves *out unchanged. */
static int constantScalar(const vb_engine *engine, const VbNode *node, int k, float *out)
{
    if (k >= node->in_count || node->in[k] < 0)
        return 1;
    const VbValue *v = &engine->values[node->in[k]];
    if (v->kind != VB_VALUE_CONSTANT || v->t.dtype != VB_DTYPE_FLOAT32 || vbTensorCount(&v->t) != 1)
        return 0;
    *out = *(const float *)v->t.data;
    return 1;
}

/* Returns the activation a node computes, with its parameters in *alpha and
 * *beta as VbActivation defines them, or VB_ACT_NONE when the node is no
 * fusable activation (Clip with bounds known only at run time, say). */
static VbActivation activationOf(const vb_engine *engine, const VbNode *node, float *alpha,
                                 float *beta)
{
    *alpha = 0.0f;
    *beta = 0.0f;
    if (isOp(node, "Relu"))
        return VB_ACT_RELU;
    if (isOp(node, "Sigmoid"))
        return VB_ACT_SIGMOID;
    if (isOp(node, "HardSwish")) {
        *alpha = 1.0f / 6.0f;  /* HardSwish is x * HardSigmoid(x) with alpha 1/6, beta 0.5 */
        *beta = 0.5f;
        return VB_ACT_HARDSWISH;
    }
    if (isOp(node, "LeakyRelu")) {
        *alpha = vbOnnxAttrFloat(node->src, "alpha", 0.01f, NULL);
        return VB_ACT_LEAKYRELU;
    }
    if (isOp(node, "HardSigmoid")) {
        *alpha = vbOnnxAttrFloat(node->src, "alpha", 0.2f, NULL);
        *beta = vbOnnxAttrFloat(node->src, "beta", 0.5f, NULL);
        return VB_ACT_HARDSIGMOID;
    }
    if (isOp(node, "Clip")) {
        /* Before opset 11 the bounds are attributes; from 11 optional constant inputs. */
        if (node->opset < 11) {
            *alpha = vbOnnxAttrFloat(node->src, "min", -FLT_MAX, NULL);
            *beta = vbOnnxAttrFloat(node->src, "max", FLT_MAX, NULL);
            return VB_ACT_CLIP;
        }
        *alpha = -INFINITY;
        *beta = INFINITY;
        if (!constantScalar(engine, node, 1, alpha) || !constantScalar(engine, node, 2, beta))
            return VB_ACT_NONE;
        return VB_ACT_CLIP;
    }
    return VB_ACT_NONE;
}

/* Returns the node producing value x if the engine may fuse an activation
 * of x into it, otherwise -1. x must be a float32 tensor computed at run
 * time, not a graph output, read by exactly uses node inputs. Its producer
 * must run, have one output and no fused activation yet, and implement
 * fuse_activation. */
static int fusableProducer(const vb_engine *engine, int x, int uses)
{
    if (x < 0)
        return -1;
    const VbValue *v = &engine->values[x];
    if (v->kind != VB_VALUE_COMPUTED || v->is_output || v->use_count != uses ||
        v->t.dtype != VB_DTYPE_FLOAT32 || v->producer < 0)
        return -1;
    const VbNode *p = &engine->nodes[v->producer];
    if (!p->live || p->folded || p->out_count != 1 || p->fused != NULL ||
        p->op->fuse_activation == NULL)
        return -1;
    return v->producer;
}

/* Makes producer p write value y (the last node of the fused pattern)
 * instead of value x, which no longer exists at run time. */
static void rewireOutput(vb_engine *engine, int p, int x, int y, const char *fused)
{
    VbNode *producer = &engine->nodes[p];
    producer->out[0] = y;
    producer->out_tensors[0] = &engine->values[y].t;
    producer->fused = fused;
    engine->values[y].producer = p;
    engine->values[x].producer = -1;
}

/* Removes a node whose work a fused producer took over. */
static void killNode(vb_engine *engine, VbNode *node)
{
    node->live = 0;
    for (int k = 0; k < node->in_count; k++) {
        if (node->in[k] >= 0)
            engine->values[node->in[k]].use_count--;
    }
}

/* Returns nonzero when node only moves or relabels the elements of its
 * first input, so an element-wise activation commutes with it. */
static int isDataMovement(const VbNode *node)
{
    return isOp(node, "Transpose") || isOp(node, "Reshape") || isOp(node, "Flatten") ||
           isOp(node, "Squeeze") || isOp(node, "Unsqueeze");
}

/* Fuses an activation whose input comes through data-movement nodes, such
 * as Conv -> Reshape -> Transpose -> Sigmoid in YOLO heads, into the
 * producer before them. Every value on the way must be float32, computed at
 * run time, no graph output and read once. The last data-movement node then
 * writes the activation's output. Returns nonzero when it fused. */
static int fuseThroughMovement(vb_engine *engine, VbNode *act_node, VbActivation act, float alpha,
                               float beta)
{
    int x = act_node->in[0];
    for (int hops = 0; hops < 4 && x >= 0; hops++) {
        const VbValue *v = &engine->values[x];
        if (v->kind != VB_VALUE_COMPUTED || v->is_output || v->use_count != 1 ||
            v->t.dtype != VB_DTYPE_FLOAT32 || v->producer < 0)
            return 0;
        VbNode *mover = &engine->nodes[v->producer];
        if (!mover->live || mover->dynamic || mover->out_count != 1 || mover->in_count < 1 ||
            !isDataMovement(mover))
            return 0;
        int before = mover->in[0];
        int p = fusableProducer(engine, before, 1);
        if (p < 0) {
            x = before;
            continue;
        }
        if (!engine->nodes[p].op->fuse_activation(engine->nodes[p].params, act, alpha, beta))
            return 0;
        engine->nodes[p].fused = act_node->src->op_type;

        /* The data-movement node that fed the activation now writes its output. */
        VbNode *last = &engine->nodes[engine->values[act_node->in[0]].producer];
        int y = act_node->out[0];
        engine->values[act_node->in[0]].producer = -1;
        last->out[0] = y;
        last->out_tensors[0] = &engine->values[y].t;
        engine->values[y].producer = (int)(last - engine->nodes);
        killNode(engine, act_node);
        return 1;
    }
    return 0;
}

/* Fuses a single activation node into its input's producer. */
static void fuseSingle(vb_engine *engine, VbNode *act_node)
{
    float alpha, beta;
    VbActivation act = activationOf(engine, act_node, &alpha, &beta);
    if (act == VB_ACT_NONE || act_node->out_count != 1 || act_node->in_count < 1)
        return;
    int x = act_node->in[0];
    int p = fusableProducer(engine, x, 1);
    if (p < 0) {
        fuseThroughMovement(engine, act_node, act, alpha, beta);
        return;
    }
    if (!engine->nodes[p].op->fuse_activation(engine->nodes[p].params, act, alpha, beta))
        return;
    rewireOutput(engine, p, x, act_node->out[0], act_node->src->op_type);
    killNode(engine, act_node);
}

/* Fuses the SiLU pattern Mul(X, Sigmoid(X)), in either input order, into
 * X's producer when X is read by exactly the Sigmoid and the Mul. */
static void fuseSilu(vb_engine *engine, VbNode *mul)
{
    if (mul->in_count != 2 || mul->out_count != 1)
        return;
    for (int side = 0; side < 2; side++) {
        int s = mul->in[side], x = mul->in[1 - side];
        if (s < 0 || x < 0 || s == x)
            continue;
        const VbValue *sv = &engine->values[s];
        if (sv->producer < 0 || sv->is_output || sv->use_count != 1)
            continue;
        VbNode *sigmoid = &engine->nodes[sv->producer];
        if (!sigmoid->live || !isOp(sigmoid, "Sigmoid") || sigmoid->in[0] != x)
            continue;
        int p = fusableProducer(engine, x, 2);
        if (p < 0 || !engine->nodes[p].op->fuse_activation(engine->nodes[p].params, VB_ACT_SILU,
                                                           0.0f, 0.0f))
            continue;
        rewireOutput(engine, p, x, mul->out[0], "SiLU");
        killNode(engine, sigmoid);
        killNode(engine, mul);
        return;
    }
}

/* Fuses Mul(X, S), with S [1, C, 1, 1] a scale per channel of X [1, C, H, W]
 * (the excitation of a squeeze-excitation block), into the Conv that is the
 * only reader of its output, when vbConvFuseInputScale accepts it.
 * The Conv then reads X as input 0 and S as input 3 and scales X while it
 * packs it, so the scaled tensor is never written. Both inputs must be
 * float32 values; the Mul and the Conv must have static shapes. */
static void fuseChannelScale(vb_engine *engine, VbNode *mul)
{
    if (mul->in_count != 2 || mul->out_count != 1 || mul->dynamic)
        return;
    int y = mul->out[0];
    VbValue *yv = &engine->values[y];
    if (yv->kind != VB_VALUE_COMPUTED || yv->is_output || yv->use_count != 1 ||
        yv->t.dtype != VB_DTYPE_FLOAT32 || yv->t.rank != 4)
        return;

    /* the one reader, which must be a Conv reading y as X only */
    VbNode *conv = NULL;
    for (int n = 0; n < engine->node_count && conv == NULL; n++) {
        VbNode *node = &engine->nodes[n];
        if (node->live && node->in_count >= 1 && node->in[0] == y)
            conv = node;
    }
    if (conv == NULL || conv->op != vbOpsConv[0] || conv->dynamic || conv->in_count > 3)
        return;
    for (int k = 1; k < conv->in_count; k++) {
        if (conv->in[k] == y)
            return;
    }

    for (int side = 0; side < 2; side++) {
        int x = mul->in[side], scale = mul->in[1 - side];
        if (x < 0 || scale < 0 || x == scale)
            continue;
        const vb_tensor *xt = &engine->values[x].t, *st = &engine->values[scale].t;
        if (xt->dtype != VB_DTYPE_FLOAT32 || st->dtype != VB_DTYPE_FLOAT32 || xt->rank != 4 ||
            st->rank != 4 || memcmp(xt->dims, yv->t.dims, sizeof(int64_t) * 4) != 0 ||
            st->dims[0] != 1 || st->dims[1] != xt->dims[1] || st->dims[2] != 1 || st->dims[3] != 1)
            continue;

        /* Grow the input lists to four entries first (they have one spare
         * entry, so a three-input Conv needs one more): on failure nothing
         * has changed and the Mul stays. */
        int *ids = realloc(conv->in, 5 * sizeof *ids);
        if (ids == NULL)
            return;
        conv->in = ids;
        const vb_tensor **tensors = realloc(conv->in_tensors, 5 * sizeof *tensors);
        if (tensors == NULL)
            return;
        conv->in_tensors = tensors;

        /* ask the Conv with its inputs as they will be */
        const vb_tensor *in[4] = {xt, NULL, NULL, st};
        for (int k = 1; k < conv->in_count; k++)
            in[k] = conv->in_tensors[k];
        if (!vbConvFuseInputScale(conv->params, in, 4))
            return;
        for (int k = conv->in_count; k < 3; k++) {
            conv->in[k] = -1;
            conv->in_tensors[k] = NULL;
        }
        conv->in[0] = x;
        conv->in_tensors[0] = xt;
        conv->in[3] = scale;
        conv->in_tensors[3] = st;
        conv->in_count = 4;
        conv->fused_input = "Mul";

        /* y is gone: the Conv reads x and scale instead, and the Mul is dead */
        engine->values[x].use_count++;
        engine->values[scale].use_count++;
        yv->use_count--;
        yv->producer = -1;
        killNode(engine, mul);
        return;
    }
}

/* Fuses GlobalAveragePool(X) into the Conv that produces X when
 * vbConvFusePool accepts it: the Conv also writes the pool's output, as
 * its output 1, while each plane it computed is still in cache. X keeps
 * its other readers (the Mul of a squeeze-excitation block). Runs after
 * the other fusions, since a Conv with two outputs takes no activation. */
static void fuseGlobalPool(vb_engine *engine, VbNode *pool)
{
    if (pool->in_count != 1 || pool->out_count != 1 || pool->dynamic || pool->in[0] < 0)
        return;
    int x = pool->in[0], y = pool->out[0];
    const VbValue *xv = &engine->values[x];
    if (xv->kind != VB_VALUE_COMPUTED || xv->dynamic || xv->producer < 0 ||
        xv->t.dtype != VB_DTYPE_FLOAT32 || xv->t.rank != 4 ||
        engine->values[y].kind != VB_VALUE_COMPUTED)
        return;
    int c = xv->producer;
    VbNode *conv = &engine->nodes[c];
    if (!conv->live || conv->folded || conv->dynamic || conv->op != vbOpsConv[0] ||
        conv->out_count != 1 || conv->out[0] != x)
        return;

    /* Grow the output lists first: on failure nothing has changed. */
    int *ids = realloc(conv->out, 2 * sizeof *ids);
    if (ids == NULL)
        return;
    conv->out = ids;
    vb_tensor **tensors = realloc(conv->out_tensors, 2 * sizeof *tensors);
    if (tensors == NULL)
        return;
    conv->out_tensors = tensors;
    if (!vbConvFusePool(conv->params, conv->in_tensors, conv->in_count))
        return;

    /* The Conv writes y; the pool node is dead. */
    conv->out[1] = y;
    conv->out_tensors[1] = &engine->values[y].t;
    conv->out_count = 2;
    conv->fused_output = pool->src->op_type;
    engine->values[y].producer = c;
    killNode(engine, pool);
}

/* Returns nonzero when a Concat node can run in place. Its output must be
 * computed at run time with every dimension before the axis equal to 1, so
 * each input is one contiguous slice of the output. Every input must be a
 * distinct run-time value that only this Concat reads, written by a running
 * node or by another in-place Concat, at an offset that keeps the arena's
 * alignment. */
static int concatInPlace(const vb_engine *engine, const VbNode *node)
{
    if (node->out_count != 1 || node->in_count < 1)
        return 0;
    const VbValue *out = &engine->values[node->out[0]];
    int64_t axis = vbOnnxAttrInt(node->src, "axis", 0, NULL);
    if (axis < 0)
        axis += out->t.rank;
    if (out->kind != VB_VALUE_COMPUTED || axis < 0 || axis >= out->t.rank)
        return 0;
    for (int64_t d = 0; d < axis; d++) {
        if (out->t.dims[d] != 1)
            return 0;
    }

    size_t offset = 0;
    for (int k = 0; k < node->in_count; k++) {
        if (node->in[k] < 0)
            return 0;
        const VbValue *v = &engine->values[node->in[k]];
        if (v->kind != VB_VALUE_COMPUTED || v->is_output || v->use_count != 1 ||
            v->alias_of >= 0 || v->producer < 0 || v->t.dtype != out->t.dtype ||
            offset % VB_ENGINE_ALIGNMENT != 0)
            return 0;
        const VbNode *producer = &engine->nodes[v->producer];
        if (!producer->live && !v->has_aliases)
            return 0;
        offset += vbTensorBytes(&v->t);
    }
    return 1;
}

/* Makes Concat nodes run in place where concatInPlace allows: each input's
 * producer writes straight into its slice of the output and the Concat node
 * no longer runs. The memory planner places the inputs inside the output. */
static void placeConcatsInPlace(vb_engine *engine)
{
    for (int i = 0; i < engine->node_count; i++) {
        VbNode *node = &engine->nodes[engine->order[i]];
        if (!node->live || node->dynamic || !isOp(node, "Concat") ||
            !concatInPlace(engine, node))
            continue;
        size_t offset = 0;
        for (int k = 0; k < node->in_count; k++) {
            VbValue *v = &engine->values[node->in[k]];
            v->alias_of = node->out[0];
            v->alias_offset = offset;
            offset += vbTensorBytes(&v->t);
        }
        engine->values[node->out[0]].has_aliases = 1;
        killNode(engine, node);
    }
}

/* Lets Reshape, Flatten, Squeeze and Unsqueeze outputs share their data
 * input's buffer: the bytes are the same, only the shape differs, so the
 * node no longer runs. The input must be a graph input or a value computed
 * at run time, and the output no graph output. No op writes into its
 * inputs, so readers of either value see the same bytes until the shared
 * slot dies after the last reader of both. */
static void aliasShapeOps(vb_engine *engine)
{
    for (int i = 0; i < engine->node_count; i++) {
        VbNode *node = &engine->nodes[engine->order[i]];
        if (!node->live || node->dynamic || node->out_count != 1 || node->in_count < 1 ||
            node->in[0] < 0 ||
            !(isOp(node, "Reshape") || isOp(node, "Flatten") || isOp(node, "Squeeze") ||
              isOp(node, "Unsqueeze")))
            continue;
        VbValue *in = &engine->values[node->in[0]];
        VbValue *out = &engine->values[node->out[0]];
        if ((in->kind != VB_VALUE_COMPUTED && in->kind != VB_VALUE_INPUT) || in->dynamic ||
            out->kind != VB_VALUE_COMPUTED || out->dynamic || out->is_output ||
            out->alias_of >= 0 || out->has_aliases || in->t.dtype != out->t.dtype ||
            vbTensorBytes(&in->t) != vbTensorBytes(&out->t))
            continue;
        out->alias_of = node->in[0];
        out->alias_offset = 0;
        in->has_aliases = 1;
        killNode(engine, node);
    }
}

/* Calls each live node's pack with its constant inputs. */
static vb_status packWeights(vb_engine *engine, vb_error *err)
{
    for (int i = 0; i < engine->node_count; i++) {
        int n = engine->order[i];
        VbNode *node = &engine->nodes[n];
        if (!node->live || node->op->pack == NULL || node->dynamic)
            continue;
        vb_status status = node->op->pack(node->params, node->in_tensors, node->in_count, err);
        if (status != VB_OK) {
            char label[256];
            return vbErrorPrefix(err, "%s: ", vbGraphNodeLabel(engine, n, label, sizeof label));
        }
    }
    return VB_OK;
}

/* Lists the live nodes in run order and adds up FLOPs and weights; frees
 * folded results that no run reads. */
static vb_status collectSteps(vb_engine *engine, vb_error *err)
{
    engine->steps = calloc((size_t)engine->node_count + 1, sizeof *engine->steps);
    if (engine->steps == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for %d nodes", engine->node_count);
    engine->step_count = 0;
    engine->flops = 0;
    for (int i = 0; i < engine->node_count; i++) {
        const VbNode *node = &engine->nodes[engine->order[i]];
        if (!node->live)
            continue;
        engine->steps[engine->step_count++] = engine->order[i];
        engine->flops += node->flops;
    }

    engine->weight_bytes = 0;
    engine->parameter_count = 0;
    for (int i = 0; i < engine->value_count; i++) {
        VbValue *v = &engine->values[i];
        if (v->kind != VB_VALUE_CONSTANT)
            continue;
        if (v->use_count == 0 && !v->is_output) {
            free(v->owned);
            v->owned = NULL;
            v->t.data = NULL;
            continue;
        }
        size_t count = vbTensorCount(&v->t);
        engine->weight_bytes += vbTensorBytes(&v->t);
        if (v->t.dtype == VB_DTYPE_FLOAT32 || v->t.dtype == VB_DTYPE_FLOAT16 ||
            v->t.dtype == VB_DTYPE_FLOAT64)
            engine->parameter_count += count;
    }
    return VB_OK;
}

vb_status vbGraphOptimize(vb_engine *engine, vb_error *err)
{
    vb_status status = markLive(engine, err);
    if (status == VB_OK)
        status = bypassIdentities(engine, err);
    if (status != VB_OK)
        return status;

    /* Fuse in run order; a fused producer takes no second activation. */
    if (!engine->config.no_fusion) {
        for (int i = 0; i < engine->node_count; i++) {
            VbNode *node = &engine->nodes[engine->order[i]];
            if (!node->live)
                continue;
            if (isOp(node, "Mul"))
                fuseSilu(engine, node);
            else
                fuseSingle(engine, node);
        }

        /* Then scales per channel, once the activations that produce them
         * have been fused. */
        for (int i = 0; i < engine->node_count; i++) {
            VbNode *node = &engine->nodes[engine->order[i]];
            if (node->live && isOp(node, "Mul"))
                fuseChannelScale(engine, node);
        }

        /* Last, global pools into the Conv before them. */
        for (int i = 0; i < engine->node_count; i++) {
            VbNode *node = &engine->nodes[engine->order[i]];
            if (node->live && isOp(node, "GlobalAveragePool"))
                fuseGlobalPool(engine, node);
        }
    }

    if (!engine->config.no_inplace_concat)
        placeConcatsInPlace(engine);
    aliasShapeOps(engine);

    status = packWeights(engine, err);
    if (status != VB_OK)
        return status;
    return collectSteps(engine, err);
}
