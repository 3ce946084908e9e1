/* Graph building: values and nodes from a decoded ONNX model, name checks, op lookup, node order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "engine/engine_impl.h"
#include "engine/topo.h"

/* Data pointer for constants with no elements: op infer functions treat a
 * NULL data pointer as "not a constant", so empty constants point here. */
static const int64_t emptyConstantData[1];

/* An open-addressing hash table from value names to value ids. */
typedef struct NameMap {
    int *slots;       /* [capacity] value id + 1, 0 for an empty slot */
    size_t capacity;  /* a power of two, at least twice the number of names */
} NameMap;

static size_t hashName(const char *name)
{
    size_t h = 14695981039346656037u;  /* FNV-1a, 64-bit offset basis */
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        h ^= *p;
        h *= 1099511628211u;
    }
    return h;
}

/* Returns the value id stored for name, or -1. */
static int nameMapFind(const NameMap *map, const VbValue *values, const char *name)
{
    size_t mask = map->capacity - 1;
    for (size_t i = hashName(name) & mask;; i = (i + 1) & mask) {
        int slot = map->slots[i];
        if (slot == 0)
            return -1;
        if (strcmp(values[slot - 1].name, name) == 0)
            return slot - 1;
    }
}

/* Stores id for values[id].name. The caller checked that the name is new. */
static void nameMapInsert(NameMap *map, const VbValue *values, int id)
{
    size_t mask = map->capacity - 1;
    size_t i = hashName(values[id].name) & mask;
    while (map->slots[i] != 0)
        i = (i + 1) & mask;
    map->slots[i] = id + 1;
}

const char *vbGraphNodeLabel(const vb_engine *engine, int node, char *buf, size_t size)
{
    const VbOnnxNode *src = engine->nodes[node].src;
    if (src->name != NULL && src->name[0] != '\0')
        snprintf(buf, size, "node '%s' (%s)", src->name, src->op_type);
    else
        snprintf(buf, size, "node #%d (%s)", engine->nodes[node].file_index, src->op_type);
    return buf;
}

static int isDefaultDomain(const char *domain)
{
    return domain == NULL || domain[0] == '\0' || strcmp(domain, "ai.onnx") == 0;
}

/* Returns the opset the model imports for domain, or -1. */
static int64_t modelOpset(const VbOnnxModel *model, const char *domain)
{
    for (int i = 0; i < model->opset_count; i++) {
        const char *d = model->opsets[i].domain;
        if (isDefaultDomain(domain) ? isDefaultDomain(d) : (d != NULL && strcmp(d, domain) == 0))
            return model->opsets[i].version;
    }
    return -1;
}

/* Fills a constant value from a Constant node's attribute. Scalar and list
 * attributes are copied into value->owned. */
static vb_status constantFromNode(const VbOnnxNode *node, VbValue *value, vb_error *err)
{
    if (node->attr_count != 1)
        return vbErrorSet(err, VB_ERR_PARSE,
                          "Constant node '%s' has %d attributes; it needs exactly one value",
                          node->name, node->attr_count);
    const VbOnnxAttr *attr = &node->attrs[0];
    vb_tensor *t = &value->t;

    if (strcmp(attr->name, "value") == 0 && attr->type == VB_ONNX_ATTR_TENSOR && attr->t != NULL) {
        t->dtype = attr->t->dtype;
        t->rank = attr->t->rank;
        memcpy(t->dims, attr->t->dims, sizeof t->dims);
        t->data = attr->t->data != NULL ? (void *)attr->t->data : (void *)emptyConstantData;
        return VB_OK;
    }

    size_t count = 1, elem = 0;
    const void *src = NULL;
    if (strcmp(attr->name, "value_float") == 0 && attr->type == VB_ONNX_ATTR_FLOAT) {
        t->dtype = VB_DTYPE_FLOAT32;
        t->rank = 0;
        src = &attr->f;
        elem = sizeof(float);
    } else if (strcmp(attr->name, "value_int") == 0 && attr->type == VB_ONNX_ATTR_INT) {
        t->dtype = VB_DTYPE_INT64;
        t->rank = 0;
        src = &attr->i;
        elem = sizeof(int64_t);
    } else if (strcmp(attr->name, "value_floats") == 0 && attr->type == VB_ONNX_ATTR_FLOATS) {
        t->dtype = VB_DTYPE_FLOAT32;
        t->rank = 1;
        t->dims[0] = attr->float_count;
        count = (size_t)attr->float_count;
        src = attr->floats;
        elem = sizeof(float);
    } else if (strcmp(attr->name, "value_ints") == 0 && attr->type == VB_ONNX_ATTR_INTS) {
        t->dtype = VB_DTYPE_INT64;
        t->rank = 1;
        t->dims[0] = attr->int_count;
        count = (size_t)attr->int_count;
        src = attr->ints;
        elem = sizeof(int64_t);
    } else {
        return vbErrorSet(err, VB_ERR_UNSUPPORTED,
                          "Constant node '%s' uses attribute '%s', which is not supported; "
                          "supported: value, value_float(s), value_int(s)",
                          node->name, attr->name);
    }

    /* count * elem cannot overflow: the decoder capped the attribute length. */
    value->owned = malloc(count * elem + 1);
    if (value->owned == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for Constant node '%s'",
                          node->name);
    if (count > 0)
        memcpy(value->owned, src, count * elem);
    t->data = value->owned;
    return VB_OK;
}

/* The lowest opset from which any op of a given name is implemented. */
typedef struct OpSearch {
    const char *op_type;
    int min_opset;  /* lowest min_opset among ops of that name, or -1 */
} OpSearch;

static void findOpVersions(const VbOpDef *op, void *user)
{
    OpSearch *search = user;
    if (strcmp(op->op_type, search->op_type) == 0 &&
        (search->min_opset < 0 || op->min_opset < search->min_opset))
        search->min_opset = op->min_opset;
}

/* Rejects a node whose op is missing, naming the op, node, opset and what
 * the registry has instead. */
static vb_status rejectUnsupported(const VbOnnxNode *src, int index, int64_t opset, vb_error *err)
{
    char node[160];
    if (src->name != NULL && src->name[0] != '\0')
        snprintf(node, sizeof node, "'%s'", src->name);
    else
        snprintf(node, sizeof node, "#%d", index);

    if (!isDefaultDomain(src->domain))
        return vbErrorSet(err, VB_ERR_UNSUPPORTED,
                          "op '%s.%s' (node %s) is not supported: only the default ONNX "
                          "domain is implemented; supported ops: see visionbench inspect --ops",
                          src->domain, src->op_type, node);

    OpSearch search = {src->op_type, -1};
    vbOpForEach(findOpVersions, &search);
    if (search.min_opset > opset)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED,
                          "op '%s' (node %s, opset %lld) is not supported; '%s' is "
                          "implemented from opset %d: re-export the model with a newer opset",
                          src->op_type, node, (long long)opset, src->op_type, search.min_opset);
    return vbErrorSet(err, VB_ERR_UNSUPPORTED,
                      "op '%s' (node %s, opset %lld) is not supported; supported ops: see "
                      "visionbench inspect --ops",
                      src->op_type, node, (long long)opset);
}

/* Orders engine->nodes topologically into engine->order. */
static vb_status sortNodes(vb_engine *engine, vb_error *err)
{
    vb_status status = VB_OK;
    int n = engine->node_count;
    int *offsets = calloc((size_t)n + 1, sizeof *offsets);
    int *deps = NULL;
    size_t edge_count = 0;

    if (offsets == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory ordering %d nodes", n);
    for (int i = 0; i < n; i++)
        edge_count += (size_t)engine->nodes[i].in_count;
    if (edge_count > INT32_MAX) {
        status = vbErrorSet(err, VB_ERR_LIMIT, "graph has %zu node inputs, above %d", edge_count,
                            (int)INT32_MAX);
        goto done;
    }
    deps = malloc((edge_count + 1) * sizeof *deps);
    if (deps == NULL) {
        status = vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory ordering %d nodes", n);
        goto done;
    }

    /* A node depends on the producer of each of its inputs. */
    int used = 0;
    for (int i = 0; i < n; i++) {
        offsets[i] = used;
        const VbNode *node = &engine->nodes[i];
        for (int k = 0; k < node->in_count; k++) {
            if (node->in[k] >= 0 && engine->values[node->in[k]].producer >= 0)
                deps[used++] = engine->values[node->in[k]].producer;
        }
    }
    offsets[n] = used;

    int cycle_node = -1;
    status = vbGraphTopoSort(n, offsets, deps, engine->order, &cycle_node, err);
    if (status == VB_ERR_PARSE && cycle_node >= 0) {
        char label[256];
        status = vbErrorSet(err, VB_ERR_PARSE,
                            "graph has a cycle through %s; the model is invalid, re-export it",
                            vbGraphNodeLabel(engine, cycle_node, label, sizeof label));
    }

done:
    free(offsets);
    free(deps);
    return status;
}

/* Adds a value and returns its id. */
static int addValue(vb_engine *engine, const char *name, VbValueKind kind, int producer)
{
    int id = engine->value_count++;
    VbValue *v = &engine->values[id];
    v->name = name != NULL ? name : "";
    v->kind = kind;
    v->producer = producer;
    v->alias_of = -1;
    return id;
}

/* Creates values for initializers, graph inputs and node outputs, and nodes
 * for everything but Constant. */
static vb_status defineValues(vb_engine *engine, NameMap *map, vb_error *err)
{
    const VbOnnxGraph *g = engine->model->graph;

    /* Initializers. */
    for (int i = 0; i < g->initializer_count; i++) {
        const VbOnnxTensor *init = &g->initializers[i];
        if (nameMapFind(map, engine->values, init->name) >= 0)
            return vbErrorSet(err, VB_ERR_PARSE,
                              "initializer '%s' is defined twice; the model is invalid",
                              init->name);
        int id = addValue(engine, init->name, VB_VALUE_CONSTANT, -1);
        VbValue *v = &engine->values[id];
        v->is_weight = 1;
        v->t.dtype = init->dtype;
        v->t.rank = init->rank;
        memcpy(v->t.dims, init->dims, sizeof v->t.dims);
        v->t.data = init->data != NULL ? (void *)init->data : (void *)emptyConstantData;
        nameMapInsert(map, engine->values, id);
    }

    /* Graph inputs that are not initializers (older models list both). */
    engine->input_ids = calloc((size_t)g->input_count + 1, sizeof *engine->input_ids);
    if (engine->input_ids == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for %d inputs", g->input_count);
    for (int i = 0; i < g->input_count; i++) {
        const char *name = g->inputs[i].name;
        int id = nameMapFind(map, engine->values, name);
        if (id >= 0 && engine->values[id].kind == VB_VALUE_CONSTANT)
            continue;
        if (id >= 0)
            return vbErrorSet(err, VB_ERR_PARSE, "graph input '%s' is listed twice", name);
        id = addValue(engine, name, VB_VALUE_INPUT, -1);
        nameMapInsert(map, engine->values, id);
        engine->input_ids[engine->input_count++] = id;
    }

    /* Node outputs; Constant nodes become constant values. */
    for (int i = 0; i < g->node_count; i++) {
        const VbOnnxNode *src = &g->nodes[i];
        int is_constant = isDefaultDomain(src->domain) && strcmp(src->op_type, "Constant") == 0;
        int node_id = is_constant ? -1 : engine->node_count;

        if (is_constant && src->output_count != 1)
            return vbErrorSet(err, VB_ERR_PARSE, "Constant node '%s' has %d outputs; it needs one",
                              src->name, src->output_count);
        for (int k = 0; k < src->output_count; k++) {
            const char *name = src->outputs[k];
            if (name[0] != '\0' && nameMapFind(map, engine->values, name) >= 0)
                return vbErrorSet(err, VB_ERR_PARSE,
                                  "value '%s' is defined twice (again by node '%s' (%s)); the "
                                  "model is invalid",
                                  name, src->name, src->op_type);
            int id = addValue(engine, name, is_constant ? VB_VALUE_CONSTANT : VB_VALUE_COMPUTED,
                              node_id);
            if (name[0] != '\0')
                nameMapInsert(map, engine->values, id);
            if (is_constant) {
                engine->values[id].is_weight = 1;
                vb_status status = constantFromNode(src, &engine->values[id], err);
                if (status != VB_OK)
                    return status;
            }
        }
        if (!is_constant) {
            VbNode *node = &engine->nodes[engine->node_count++];
            node->src = src;
            node->file_index = i;
            /* Values a subgraph reads from this graph become extra inputs, so
             * that ordering, lifetimes and the memory plan see them. */
            int outer_count = 0;
            vb_status status = vbSubgraphOuterNames(src, &node->outer, &outer_count, err);
            if (status != VB_OK)
                return status;
            node->in_count = src->input_count + outer_count;
            node->out_count = src->output_count;
            node->in = calloc((size_t)node->in_count + 1, sizeof *node->in);
            node->out = calloc((size_t)src->output_count + 1, sizeof *node->out);
            node->in_tensors = calloc((size_t)node->in_count + 1, sizeof *node->in_tensors);
            node->out_tensors = calloc((size_t)src->output_count + 1, sizeof *node->out_tensors);
            if (node->in == NULL || node->out == NULL || node->in_tensors == NULL ||
                node->out_tensors == NULL)
                return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for node '%s'",
                                  src->name);
            for (int k = 0; k < src->output_count; k++) {
                node->out[k] = engine->value_count - src->output_count + k;
                node->out_tensors[k] = &engine->values[node->out[k]].t;
            }
        }
    }
    return VB_OK;
}

/* Resolves node inputs and graph outputs by name. */
static vb_status resolveNames(vb_engine *engine, const NameMap *map, vb_error *err)
{
    const VbOnnxGraph *g = engine->model->graph;
    char label[256];

    for (int i = 0; i < engine->node_count; i++) {
        VbNode *node = &engine->nodes[i];
        for (int k = 0; k < node->in_count; k++) {
            const char *name = k < node->src->input_count
                                   ? node->src->inputs[k]
                                   : node->outer[k - node->src->input_count];
            if (name[0] == '\0') {
                node->in[k] = -1;
                continue;
            }
            int id = nameMapFind(map, engine->values, name);
            if (id < 0)
                return vbErrorSet(err, VB_ERR_PARSE,
                                  "%s reads value '%s', which no node, initializer or graph "
                                  "input defines; the model is invalid",
                                  vbGraphNodeLabel(engine, i, label, sizeof label), name);
            node->in[k] = id;
            node->in_tensors[k] = &engine->values[id].t;
        }
    }

    engine->output_ids = calloc((size_t)g->output_count + 1, sizeof *engine->output_ids);
    if (engine->output_ids == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for %d outputs", g->output_count);
    for (int i = 0; i < g->output_count; i++) {
        int id = nameMapFind(map, engine->values, g->outputs[i].name);
        if (id < 0)
            return vbErrorSet(err, VB_ERR_PARSE,
                              "graph output '%s' is not defined by any node, initializer or "
                              "input; the model is invalid",
                              g->outputs[i].name);
        engine->values[id].is_output = 1;
        engine->output_ids[engine->output_count++] = id;
    }
    return VB_OK;
}

/* Finds every node's op for its domain's opset. */
static vb_status findOps(vb_engine *engine, vb_error *err)
{
    for (int i = 0; i < engine->node_count; i++) {
        VbNode *node = &engine->nodes[i];
        const VbOnnxNode *src = node->src;
        int64_t opset = modelOpset(engine->model, src->domain);
        if (opset < 0)
            return vbErrorSet(err, VB_ERR_PARSE,
                              "node '%s' (%s) uses domain '%s', which the model does not import "
                              "in its opset list; the model is invalid",
                              src->name, src->op_type, isDefaultDomain(src->domain) ? "ai.onnx"
                                                                                   : src->domain);
        if (opset > INT32_MAX)
            return vbErrorSet(err, VB_ERR_PARSE, "model imports opset %lld, which is not valid",
                              (long long)opset);
        node->op = vbOpFind(src->domain, src->op_type, opset);
        if (node->op == NULL)
            return rejectUnsupported(src, node->file_index, opset, err);
        node->opset = (int)opset;
    }
    return VB_OK;
}

vb_status vbGraphBuild(vb_engine *engine, const vb_engine_options *options, vb_error *err)
{
    (void)options;
    const VbOnnxGraph *g = engine->model->graph;
    NameMap map = {NULL, 0};
    vb_status status = VB_OK;

    if (g == NULL)
        return vbErrorSet(err, VB_ERR_PARSE, "model has no graph");
    if (g->node_count < 0 || g->initializer_count < 0 || g->input_count < 0 ||
        g->output_count < 0)
        return vbErrorSet(err, VB_ERR_PARSE, "model graph has a negative element count");

    /* Size the tables: every name is an initializer, an input or a node output. */
    size_t name_count = (size_t)g->initializer_count + (size_t)g->input_count;
    for (int i = 0; i < g->node_count; i++)
        name_count += (size_t)g->nodes[i].output_count;
    if (name_count > INT32_MAX / 4)
        return vbErrorSet(err, VB_ERR_LIMIT, "graph has %zu values, above %d", name_count,
                          INT32_MAX / 4);
    engine->values = calloc(name_count + 1, sizeof *engine->values);
    engine->nodes = calloc((size_t)g->node_count + 1, sizeof *engine->nodes);
    engine->order = calloc((size_t)g->node_count + 1, sizeof *engine->order);
    map.capacity = 16;
    while (map.capacity < 2 * name_count)
        map.capacity *= 2;
    map.slots = calloc(map.capacity, sizeof *map.slots);
    if (engine->values == NULL || engine->nodes == NULL || engine->order == NULL ||
        map.slots == NULL) {
        status = vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for a graph of %d nodes",
                            g->node_count);
        goto done;
    }

    /* Define, resolve, look up ops, order. */
    status = defineValues(engine, &map, err);
    if (status == VB_OK)
        status = resolveNames(engine, &map, err);
    if (status == VB_OK)
        status = findOps(engine, err);
    if (status == VB_OK)
        status = sortNodes(engine, err);

done:
    free(map.slots);
    return status;
}
