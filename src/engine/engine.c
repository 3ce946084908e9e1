/* The public engine API: load (build, infer, optimise, plan memory), run, outputs, statistics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "engine/engine_impl.h"
#include "engine/plan.h"

void vb_engine_options_init(vb_engine_options *options)
{
    if (options == NULL)
        return;
    memset(options, 0, sizeof *options);
}

/* Returns nonzero when value v needs a slot in the arena: a graph input, or
 * a value that a running node writes. */
static int needsArena(const vb_engine *engine, const VbValue *v)
{
    if (v->kind == VB_VALUE_INPUT)
        return 1;
    return v->kind == VB_VALUE_COMPUTED && !v->dynamic && v->producer >= 0 &&
           (engine->nodes[v->producer].live || v->has_aliases);
}

/* Returns the value whose buffer finally contains value id (itself unless it
 * is an in-place Concat input or a Reshape-like output sharing its input's
 * buffer) and adds the byte offset to *offset. */
static int aliasRoot(const vb_engine *engine, int id, size_t *offset)
{
    while (engine->values[id].alias_of >= 0) {
        *offset += engine->values[id].alias_offset;
        id = engine->values[id].alias_of;
    }
    return id;
}

/* Plans one arena for every run-time value by lifetime, followed by the
 * largest op workspace, allocates it once and points each value's data at
 * its slot. Graph inputs and outputs live for the whole run. */
static vb_status planMemory(vb_engine *engine, vb_error *err)
{
    vb_status status = VB_OK;
    int *step_of = NULL;   /* [node_count] run step of each live node */
    int *item_of = NULL;   /* [value_count] plan item of each value, or -1 */
    VbPlanItem *items = NULL;
    int item_count = 0;
    int last_step = engine->step_count > 0 ? engine->step_count - 1 : 0;

    step_of = calloc((size_t)engine->node_count + 1, sizeof *step_of);
    item_of = calloc((size_t)engine->value_count + 1, sizeof *item_of);
    items = calloc((size_t)engine->value_count + 1, sizeof *items);
    if (step_of == NULL || item_of == NULL || items == NULL) {
        status = vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory planning %d values",
                            engine->value_count);
        goto done;
    }
    for (int s = 0; s < engine->step_count; s++)
        step_of[engine->steps[s]] = s;

    /* A value is born at its producer's step, and inputs at the start. The
     * output of an in-place Concat is born with the first of its inputs. */
    for (int i = 0; i < engine->value_count; i++) {
        const VbValue *v = &engine->values[i];
        item_of[i] = -1;
        if (!needsArena(engine, v) || v->alias_of >= 0)
            continue;
        VbPlanItem *item = &items[item_count];
        item->size = vbTensorBytes(&v->t);
        item->first = v->kind == VB_VALUE_INPUT ? 0
                      : engine->nodes[v->producer].live ? step_of[v->producer]
                                                        : last_step;
        item_of[i] = item_count++;
    }
    for (int i = 0; i < engine->value_count; i++) {
        const VbValue *v = &engine->values[i];
        if (v->alias_of < 0 || !engine->nodes[v->producer].live)
            continue;
        size_t offset = 0;
        VbPlanItem *root = &items[item_of[aliasRoot(engine, i, &offset)]];
        if (step_of[v->producer] < root->first)
            root->first = step_of[v->producer];
    }
    for (int i = 0; i < engine->value_count; i++) {
        const VbValue *v = &engine->values[i];
        if (item_of[i] >= 0)
            items[item_of[i]].last = v->kind == VB_VALUE_INPUT || v->is_output
                                         ? last_step : items[item_of[i]].first;
    }

    /* It dies after its last reader, counting readers of values that share
     * its buffer (a Reshape output aliasing its input). */
    for (int s = 0; s < engine->step_count; s++) {
        const VbNode *node = &engine->nodes[engine->steps[s]];
        for (int k = 0; k < node->in_count; k++) {
            size_t offset = 0;
            int item = node->in[k] >= 0 ? item_of[aliasRoot(engine, node->in[k], &offset)] : -1;
            if (item >= 0 && items[item].last < s)
                items[item].last = s;
        }
    }

    size_t planned = 0;
    status = vbGraphPlanArena(items, item_count, VB_ENGINE_ALIGNMENT, vbEngineMaxBytes(engine),
                              &planned, err);
    if (status != VB_OK)
        goto done;

    /* The workspace sits above the tensors; runs share it one node at a time. */
    size_t workspace = 0;
    for (int s = 0; s < engine->step_count; s++) {
        size_t w = engine->nodes[engine->steps[s]].workspace_bytes;
        if (w > workspace)
            workspace = w;
    }
    workspace = (workspace + VB_ENGINE_ALIGNMENT - 1) & ~(size_t)(VB_ENGINE_ALIGNMENT - 1);
    size_t total;
    if (vbAddSize(planned, workspace, &total) || total > vbEngineMaxBytes(engine)) {
        status = vbErrorSet(err, VB_ERR_LIMIT,
                            "the activation arena (%zu bytes) and op workspace (%zu bytes) exceed "
                            "the limit of %llu MiB; use a smaller input shape",
                            planned, workspace,
                            (unsigned long long)(vbEngineMaxBytes(engine) >> 20));
        goto done;
    }
    engine->arena = aligned_alloc(VB_ENGINE_ALIGNMENT, total > 0 ? total : VB_ENGINE_ALIGNMENT);
    if (engine->arena == NULL) {
        status = vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for a %zu-byte activation arena",
                            total);
        goto done;
    }
    /* Touching every page now keeps page faults out of timed runs. */
    memset(engine->arena, 0, total);
    engine->arena_bytes = total;
    engine->workspace = engine->arena + planned;
    engine->workspace_bytes = workspace;

    for (int i = 0; i < engine->value_count; i++) {
        size_t offset = 0;
        int root = engine->values[i].alias_of >= 0 ? aliasRoot(engine, i, &offset) : i;
        if (item_of[root] >= 0)
            engine->values[i].t.data = engine->arena + items[item_of[root]].offset + offset;
    }

done:
    free(step_of);
    free(item_of);
    free(items);
    return status;
}

uint64_t vbEngineMaxBytes(const vb_engine *engine)
{
    uint64_t cap = engine != NULL ? (uint64_t)engine->config.max_bytes : 0;
    return cap == 0 || cap > VB_ENGINE_MAX_BYTES ? VB_ENGINE_MAX_BYTES : cap;
}

vb_status vbEngineCreate(const VbOnnxModel *model, const vb_engine_options *options,
                         const VbEngineConfig *config, vb_engine **out, vb_error *err)
{
    vb_engine_options defaults;
    vb_status status;

    if (out == NULL)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT, "vbEngineCreate: out is NULL");
    *out = NULL;
    if (model == NULL)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT, "vbEngineCreate: model is NULL");
    if (options == NULL) {
        vb_engine_options_init(&defaults);
        options = &defaults;
    }
    if (options->input_shape_count < 0 ||
        (options->input_shape_count > 0 && options->input_shapes == NULL))
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                          "input_shape_count is %d but input_shapes is %s",
                          options->input_shape_count, options->input_shapes ? "set" : "NULL");

    vb_engine *engine = calloc(1, sizeof *engine);
    if (engine == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for an engine");
    engine->model = model;
    engine->threads = options->threads > 0 ? options->threads : vbCpuCount();
    engine->profile = options->profile != 0;
    engine->disable_simd = options->disable_simd != 0;
    if (config != NULL)
        engine->config = *config;

    /* Build, infer and fold, optimise, then plan memory. */
    status = vbGraphBuild(engine, options, err);
    if (status == VB_OK)
        status = vbGraphInfer(engine, options, err);
    if (status == VB_OK)
        status = vbGraphOptimize(engine, err);
    if (status == VB_OK)
        status = planMemory(engine, err);
    if (status != VB_OK) {
        vb_engine_free(engine);
        return status;
    }
    *out = engine;
    return VB_OK;
}

vb_status vbEngineLoad(const char *path, const vb_engine_options *options,
                       const VbEngineConfig *config, vb_engine **out, vb_error *err)
{
    VbOnnxModel *model = NULL;

    if (out == NULL)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT, "vb_engine_load: out is NULL");
    *out = NULL;
    if (path == NULL)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT, "vb_engine_load: path is NULL");

    vb_status status = vbOnnxModelLoad(path, &model, err);
    if (status != VB_OK)
        return status;
    status = vbEngineCreate(model, options, config, out, err);
    if (status != VB_OK) {
        vbOnnxModelFree(model);
        return vbErrorPrefix(err, "%s: ", path);
    }
    (*out)->owned_model = model;
    return VB_OK;
}

vb_status vb_engine_load(const char *path, const vb_engine_options *options, vb_engine **out,
                         vb_error *err)
{
    return vbEngineLoad(path, options, NULL, out, err);
}

void vb_engine_free(vb_engine *engine)
{
    if (engine == NULL)
        return;
    for (int i = 0; i < engine->node_count; i++) {
        VbNode *node = &engine->nodes[i];
        if (node->params != NULL && node->op != NULL && node->op->release != NULL)
            node->op->release(node->params);
        free(node->in);
        free(node->outer);
        free(node->out);
        free(node->in_tensors);
        free(node->out_tensors);
    }
    for (int i = 0; i < engine->value_count; i++)
        free(engine->values[i].owned);
    free(engine->values);
    free(engine->nodes);
    free(engine->order);
    free(engine->steps);
    free(engine->input_ids);
    free(engine->input_info);
    free(engine->output_ids);
    free(engine->output_info);
    free(engine->arena);
    free(engine->dynamic_workspace);
    vbOnnxModelFree(engine->owned_model);
    free(engine);
}

int vb_engine_input_count(const vb_engine *engine)
{
    return engine != NULL ? engine->input_count : 0;
}

int vb_engine_output_count(const vb_engine *engine)
{
    return engine != NULL ? engine->output_count : 0;
}

const vb_tensor_info *vb_engine_input_info(const vb_engine *engine, int i)
{
    if (engine == NULL || i < 0 || i >= engine->input_count)
        return NULL;
    return &engine->input_info[i];
}

const vb_tensor_info *vb_engine_output_info(const vb_engine *engine, int i)
{
    if (engine == NULL || i < 0 || i >= engine->output_count)
        return NULL;
    return &engine->output_info[i];
}

/* Checks a caller's input against the planned input i and copies it into the arena. */
static vb_status copyInput(vb_engine *engine, int i, const vb_tensor *in, vb_error *err)
{
    VbValue *v = &engine->values[engine->input_ids[i]];
    char want[128], got[128];

    if (in->dtype != v->t.dtype)
        return vbErrorSet(err, VB_ERR_SHAPE, "input '%s' must be %s, got %s", v->name,
                          vb_dtype_to_string(v->t.dtype), vb_dtype_to_string(in->dtype));
    int same = in->rank == v->t.rank;
    for (int d = 0; same && d < in->rank; d++)
        same = in->dims[d] == v->t.dims[d];
    if (!same)
        return vbErrorSet(err, VB_ERR_SHAPE,
                          "input '%s' has shape %s but the engine was loaded for %s; load it "
                          "again with that input shape",
                          v->name, in->rank >= 0 && in->rank <= VB_MAX_RANK
                                       ? vbShapeString(in, got, sizeof got) : "(bad rank)",
                          vbShapeString(&v->t, want, sizeof want));
    size_t bytes = vbTensorBytes(&v->t);
    if (bytes > 0 && in->data == NULL)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT, "input '%s' has no data", v->name);
    if (bytes > 0)
        memcpy(v->t.data, in->data, bytes);
    return VB_OK;
}

/* Grows value v's own buffer to hold bytes (rounded up to the alignment)
 * and points its data there. The buffer is kept for later runs. Fails with
 * VB_ERR_LIMIT when all dynamic buffers together would pass
 * vbEngineMaxBytes(engine). */
static vb_status growDynamicValue(vb_engine *engine, VbValue *v, size_t bytes, vb_error *err)
{
    size_t padded;
    if (vbAddSize(bytes, VB_ENGINE_ALIGNMENT, &padded))
        return vbErrorSet(err, VB_ERR_LIMIT, "tensor '%s' is too large", v->name);
    padded &= ~(size_t)(VB_ENGINE_ALIGNMENT - 1);
    if (padded <= v->capacity && v->owned != NULL) {
        v->t.data = v->owned;
        return VB_OK;
    }
    size_t others = engine->dynamic_bytes - v->capacity;
    if (padded > vbEngineMaxBytes(engine) || others > vbEngineMaxBytes(engine) - padded)
        return vbErrorSet(err, VB_ERR_LIMIT,
                          "tensor '%s' (%zu bytes) takes the run-time shaped tensors above the "
                          "limit of %llu MiB; use a smaller input",
                          v->name, bytes, (unsigned long long)(vbEngineMaxBytes(engine) >> 20));
    void *buf = aligned_alloc(VB_ENGINE_ALIGNMENT, padded);
    if (buf == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for tensor '%s' (%zu bytes)",
                          v->name, bytes);
    free(v->owned);
    v->owned = buf;
    v->capacity = padded;
    engine->dynamic_bytes = others + padded;
    v->t.data = buf;
    return VB_OK;
}

/* Infers a dynamic node's output shapes from this run's inputs, gives each
 * output a buffer of that size and, when the node needs more workspace than
 * the planned one, points ctx at a larger one (grown, kept for later runs). */
static vb_status inferDynamic(vb_engine *engine, VbNode *node, VbOpRunContext *ctx, vb_error *err)
{
    VbOpInferInfo info = {0, 0, 0};
    info.threads = engine->threads;
    vb_status status = node->op->infer(node->params, node->in_tensors, node->in_count,
                                       node->out_tensors, node->out_count, &info, err);
    if (status != VB_OK)
        return status;

    /* One buffer per output, reused while it is large enough. */
    for (int k = 0; k < node->out_count; k++) {
        VbValue *v = &engine->values[node->out[k]];
        size_t bytes;
        status = vbGraphCheckSize(&v->t, v->name[0] ? v->name : "(unnamed output)", &bytes, err);
        if (status == VB_OK)
            status = growDynamicValue(engine, v, bytes, err);
        if (status != VB_OK)
            return status;
    }

    /* The workspace, when the planned one is too small. */
    if (info.workspace_bytes <= engine->workspace_bytes)
        return VB_OK;
    if (info.workspace_bytes > vbEngineMaxBytes(engine))
        return vbErrorSet(err, VB_ERR_LIMIT, "the op asks for a %zu-byte workspace, above the limit",
                          info.workspace_bytes);
    if (info.workspace_bytes > engine->dynamic_workspace_bytes) {
        size_t padded = (info.workspace_bytes + VB_ENGINE_ALIGNMENT - 1) &
                        ~(size_t)(VB_ENGINE_ALIGNMENT - 1);
        void *buf = aligned_alloc(VB_ENGINE_ALIGNMENT, padded);
        if (buf == NULL)
            return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for a %zu-byte workspace",
                              padded);
        free(engine->dynamic_workspace);
        engine->dynamic_workspace = buf;
        engine->dynamic_workspace_bytes = padded;
    }
    ctx->workspace = engine->dynamic_workspace;
    ctx->workspace_bytes = engine->dynamic_workspace_bytes;
    return VB_OK;
}

vb_status vb_engine_run(vb_engine *engine, const vb_tensor *inputs, int input_count,
                        vb_error *err)
{
    if (engine == NULL)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT, "vb_engine_run: engine is NULL");
    if (input_count != engine->input_count || (input_count > 0 && inputs == NULL))
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                          "the model has %d inputs but the run got %d", engine->input_count,
                          inputs == NULL ? 0 : input_count);
    engine->has_run = 0;

    /* Copy the inputs into their arena slots. */
    for (int i = 0; i < input_count; i++) {
        vb_status status = copyInput(engine, i, &inputs[i], err);
        if (status != VB_OK)
            return status;
    }

    /* Run the nodes in order; timing costs two clock reads per node, only when profiling. */
    VbOpRunContext ctx = {engine->threads, engine->disable_simd, engine->workspace,
                          engine->workspace_bytes};
    for (int s = 0; s < engine->step_count; s++) {
        VbNode *node = &engine->nodes[engine->steps[s]];
        uint64_t start = engine->profile ? vbNowNs() : 0;
        vb_status status = VB_OK;
        if (node->dynamic)
            status = inferDynamic(engine, node, &ctx, err);
        if (status == VB_OK)
            status = node->op->run(node->params, node->in_tensors, node->in_count,
                                   node->out_tensors, node->out_count, &ctx, err);
        ctx.workspace = engine->workspace;
        ctx.workspace_bytes = engine->workspace_bytes;
        if (status != VB_OK) {
            char label[256];
            return vbErrorPrefix(err, "%s: ",
                                 vbGraphNodeLabel(engine, engine->steps[s], label, sizeof label));
        }
        if (engine->profile)
            node->time_ns += vbNowNs() - start;
    }
    engine->profile_runs += engine->profile ? 1 : 0;
    engine->has_run = 1;
    return VB_OK;
}

const vb_tensor *vb_engine_output(const vb_engine *engine, int i)
{
    if (engine == NULL || !engine->has_run || i < 0 || i >= engine->output_count)
        return NULL;
    return &engine->values[engine->output_ids[i]].t;
}

void vb_engine_get_stats(const vb_engine *engine, vb_engine_stats *stats)
{
    if (stats == NULL)
        return;
    memset(stats, 0, sizeof *stats);
    if (engine == NULL)
        return;
    stats->weight_bytes = engine->weight_bytes;
    stats->arena_bytes = engine->arena_bytes;
    stats->parameter_count = engine->parameter_count;
    stats->flops = engine->flops;
    stats->node_count = engine->step_count;
    stats->threads = engine->threads;
}

int vbEngineNodeCount(const vb_engine *engine)
{
    return engine != NULL ? engine->step_count : 0;
}

int vbEngineNodeProfile(const vb_engine *engine, int i, VbNodeProfile *out)
{
    if (engine == NULL || out == NULL || i < 0 || i >= engine->step_count)
        return 0;
    const VbNode *node = &engine->nodes[engine->steps[i]];
    out->name = node->src->name != NULL ? node->src->name : "";
    out->op_type = node->src->op_type;
    out->fused = node->fused;
    out->fused_input = node->fused_input;
    out->fused_output = node->fused_output;
    out->total_ns = node->time_ns;
    out->flops = node->flops;
    out->output = node->out_count > 0 ? node->out_tensors[0] : NULL;
    return 1;
}

uint64_t vbEngineProfileRuns(const vb_engine *engine)
{
    return engine != NULL ? engine->profile_runs : 0;
}

void vbEngineProfileReset(vb_engine *engine)
{
    if (engine == NULL)
        return;
    for (int i = 0; i < engine->node_count; i++)
        engine->nodes[i].time_ns = 0;
    engine->profile_runs = 0;
}
