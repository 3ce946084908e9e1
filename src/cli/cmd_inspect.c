/* visionbench inspect: describes an ONNX model (producer, opsets, inputs, outputs, ops, parameters, FLOPs). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/core.h"
#include "engine/op.h"
#include "onnx/onnx.h"
#include "visionbench/engine.h"

typedef struct OpCount {
    char *op_type;         /* "Conv", or "domain:Op" outside the default domain */
    long count;
    int implemented;       /* the engine has a kernel for it at the model's opset */
} OpCount;

typedef struct OpTable {
    OpCount *ops;
    int count;
    int cap;
    int out_of_memory;
} OpTable;

/* Nodes gathered for counting. Sorting them by op type and counting runs
 * keeps inspect O(n log n) however many op types a file declares. */
typedef struct NodeList {
    const VbOnnxNode **nodes;
    size_t count;
    size_t cap;
} NodeList;

/* Maximum number of --shape options, and of bytes in an input name given
 * to one. */
#define INSPECT_MAX_SHAPES 16
#define INSPECT_MAX_NAME 256

typedef struct InspectArgs {
    const char *path;
    int as_json;
    int list_ops;
    int shape_count;
    vb_input_shape shapes[INSPECT_MAX_SHAPES];
    char shape_names[INSPECT_MAX_SHAPES][INSPECT_MAX_NAME];
} InspectArgs;

/* Everything inspect reports, gathered once for both output formats. */
typedef struct ModelSummary {
    OpTable ops;           /* main graph */
    OpTable sub_ops;       /* every subgraph, at any depth */
    long sub_nodes;
    const char **init_names;  /* initializer names, sorted */
    uint64_t parameters;   /* elements of floating-point initializers */
    uint64_t weight_bytes; /* bytes of all initializers */
    int zero_copy;         /* initializers used in place from the mapping */
    double load_ms;
    int have_flops;
    uint64_t flops;
    char flops_error[VB_ERROR_MESSAGE_MAX];
} ModelSummary;

static void printInspectUsage(FILE *out)
{
    fprintf(out,
            "usage: visionbench inspect MODEL.onnx [--json] [--shape [NAME=]D,D,...]...\n"
            "       visionbench inspect --ops\n"
            "\n"
            "Describes an ONNX model: producer, IR version, opsets, inputs and outputs\n"
            "with types and shapes (symbolic dimensions by name), op-type counts,\n"
            "parameter count, weight bytes and the engine's FLOPs estimate.\n"
            "\n"
            "options:\n"
            "  --json        print one JSON object instead of text\n"
            "  --shape SPEC  fix an input's shape for the FLOPs estimate, e.g. 1,3,640,640\n"
            "                (first input) or images=1,3,640,640; repeat for more inputs\n"
            "                (at most %d). Needed when the model leaves dimensions open.\n"
            "  --ops         list the op types the engine implements, with their oldest opset\n"
            "  -h, --help    show this help\n"
            "\n"
            "Parameters count the elements of floating-point initializers; weight bytes\n"
            "count the bytes of all initializers. FLOPs are the engine's estimate for one\n"
            "run (a multiply-add counts as 2); when the engine cannot load the model,\n"
            "FLOPs are reported as unavailable with the reason.\n",
            INSPECT_MAX_SHAPES);
}

/* Appends op_type to t; returns the new entry, or NULL when out of memory. */
static OpCount *opTableAppend(OpTable *t, const char *op_type)
{
    if (t->count == t->cap) {
        int cap = t->cap ? t->cap * 2 : 64;
        OpCount *ops = realloc(t->ops, (size_t)cap * sizeof *ops);
        if (ops == NULL) {
            t->out_of_memory = 1;
            return NULL;
        }
        t->ops = ops;
        t->cap = cap;
    }
    OpCount *op = &t->ops[t->count];
    op->op_type = vbStrdup(op_type);
    if (op->op_type == NULL) {
        t->out_of_memory = 1;
        return NULL;
    }
    op->count = 0;
    op->implemented = 1;
    t->count++;
    return op;
}

static void opTableFree(OpTable *t)
{
    for (int i = 0; i < t->count; i++)
        free(t->ops[i].op_type);
    free(t->ops);
    memset(t, 0, sizeof *t);
}

/* Orders by count, most frequent first, then by name. */
static int compareOps(const void *a, const void *b)
{
    const OpCount *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->op_type, y->op_type);
}

static const char *opDomain(const VbOnnxNode *node)
{
    return strcmp(node->domain, "ai.onnx") == 0 ? "" : node->domain;
}

/* Orders nodes by domain ("ai.onnx" as ""), then op type. */
static int compareNodeTypes(const void *a, const void *b)
{
    const VbOnnxNode *x = *(const VbOnnxNode *const *)a, *y = *(const VbOnnxNode *const *)b;
    int c = strcmp(opDomain(x), opDomain(y));
    return c != 0 ? c : strcmp(x->op_type, y->op_type);
}

static int nodeListAdd(NodeList *l, const VbOnnxNode *node)
{
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        const VbOnnxNode **nodes = realloc(l->nodes, cap * sizeof *nodes);
        if (nodes == NULL)
            return 1;
        l->nodes = nodes;
        l->cap = cap;
    }
    l->nodes[l->count++] = node;
    return 0;
}

/* Adds the nodes of g to main (when not NULL, else to sub) and the nodes of
 * all its subgraphs to sub. Returns nonzero on allocation failure. */
static int collectNodes(const VbOnnxGraph *g, NodeList *main, NodeList *sub)
{
    for (int n = 0; n < g->node_count; n++) {
        const VbOnnxNode *node = &g->nodes[n];
        if (nodeListAdd(main != NULL ? main : sub, node))
            return 1;
        for (int a = 0; a < node->attr_count; a++) {
            const VbOnnxAttr *attr = &node->attrs[a];
            if (attr->g != NULL && collectNodes(attr->g, NULL, sub))
                return 1;
            for (int k = 0; k < attr->graph_count; k++) {
                if (collectNodes(attr->graphs[k], NULL, sub))
                    return 1;
            }
        }
    }
    return 0;
}

/* Counts the nodes of l by op type into t, most frequent first, and looks
 * each type up in the engine at the model's opset. Returns nonzero on
 * allocation failure. */
static int countOps(const VbOnnxModel *m, NodeList *l, OpTable *t)
{
    if (l->count == 0)
        return 0;
    qsort(l->nodes, l->count, sizeof *l->nodes, compareNodeTypes);
    for (size_t i = 0; i < l->count;) {
        const VbOnnxNode *node = l->nodes[i];
        const char *domain = opDomain(node);
        char key[256];
        if (domain[0] == '\0')
            snprintf(key, sizeof key, "%s", node->op_type);
        else
            snprintf(key, sizeof key, "%s:%s", domain, node->op_type);
        OpCount *op = opTableAppend(t, key);
        if (op == NULL)
            return 1;
        op->implemented = vbOpFind(domain, node->op_type, vbOnnxModelOpset(m, domain)) != NULL;
        for (; i < l->count && compareNodeTypes(&l->nodes[i], &node) == 0; i++)
            op->count++;
    }
    qsort(t->ops, (size_t)t->count, sizeof *t->ops, compareOps);
    return 0;
}

static int compareNames(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Asks the engine for its FLOPs estimate with the shapes from --shape; on
 * failure stores the reason. */
static void engineFlops(const InspectArgs *args, ModelSummary *s)
{
    vb_engine *engine = NULL;
    vb_error err = {0};
    vb_engine_options options;
    vb_engine_options_init(&options);
    options.input_shape_count = args->shape_count;
    options.input_shapes = args->shapes;
    vb_status st = vb_engine_load(args->path, &options, &engine, &err);
    if (st != VB_OK) {
        snprintf(s->flops_error, sizeof s->flops_error, "%s",
                 err.message[0] ? err.message : vb_status_to_string(st));
        return;
    }
    vb_engine_stats stats;
    memset(&stats, 0, sizeof stats);
    vb_engine_get_stats(engine, &stats);
    s->flops = stats.flops;
    s->have_flops = 1;
    vb_engine_free(engine);
}

static int summarize(const InspectArgs *args, const VbOnnxModel *m, ModelSummary *s)
{
    const VbOnnxGraph *g = m->graph;
    NodeList main_nodes = {0}, sub_nodes = {0};
    int failed = collectNodes(g, &main_nodes, &sub_nodes) || countOps(m, &main_nodes, &s->ops) ||
                 countOps(m, &sub_nodes, &s->sub_ops);
    s->sub_nodes = (long)sub_nodes.count;
    free(main_nodes.nodes);
    free(sub_nodes.nodes);
    s->init_names = malloc(((size_t)g->initializer_count + 1) * sizeof *s->init_names);
    if (failed || s->init_names == NULL)
        return 1;

    for (int i = 0; i < g->initializer_count; i++) {
        const VbOnnxTensor *t = &g->initializers[i];
        if (t->dtype == VB_DTYPE_FLOAT32 || t->dtype == VB_DTYPE_FLOAT16 || t->dtype == VB_DTYPE_FLOAT64)
            s->parameters += t->count;
        s->weight_bytes += t->nbytes;
        if (vbOnnxTensorIsZeroCopy(m, t))
            s->zero_copy++;
        s->init_names[i] = t->name;
    }
    qsort(s->init_names, (size_t)g->initializer_count, sizeof *s->init_names, compareNames);
    engineFlops(args, s);
    return 0;
}

/* Returns nonzero when name is an initializer: IR < 4 models also list
 * initializers among the graph inputs, and inspect shows real inputs only. */
static int isInitializer(const VbOnnxGraph *g, const ModelSummary *s, const char *name)
{
    return bsearch(&name, s->init_names, (size_t)g->initializer_count, sizeof *s->init_names,
                   compareNames) != NULL;
}

/* Writes "[1, 3, H, 640]" (or "unknown shape") into buf. */
static const char *shapeText(const VbOnnxValueInfo *v, char *buf, size_t size)
{
    if (v->rank < 0) {
        snprintf(buf, size, "unknown shape");
        return buf;
    }
    size_t used = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < v->rank && used < size; i++) {
        const char *sep = i ? ", " : "";
        if (v->dims[i] >= 0)
            used += (size_t)snprintf(buf + used, size - used, "%s%lld", sep, (long long)v->dims[i]);
        else
            used += (size_t)snprintf(buf + used, size - used, "%s%s", sep,
                                     v->dim_params[i] ? v->dim_params[i] : "?");
    }
    if (used < size)
        snprintf(buf + used, size - used, "]");
    return buf;
}

static json_t *shapeJson(const VbOnnxValueInfo *v)
{
    if (v->rank < 0)
        return json_null();
    json_t *dims = json_array();
    for (int i = 0; i < v->rank; i++) {
        if (v->dims[i] >= 0)
            json_array_append_new(dims, json_integer(v->dims[i]));
        else
            json_array_append_new(dims, v->dim_params[i] ? json_string(v->dim_params[i]) : json_null());
    }
    return dims;
}

static void printValues(const char *title, const VbOnnxGraph *g, const ModelSummary *s,
                        const VbOnnxValueInfo *values, int count, int skip_initializers)
{
    char shape[512];
    printf("%s:\n", title);
    for (int i = 0; i < count; i++) {
        const VbOnnxValueInfo *v = &values[i];
        if (skip_initializers && isInitializer(g, s, v->name))
            continue;
        printf("  %-24s %-8s %s\n", v->name, vb_dtype_to_string(v->dtype), shapeText(v, shape, sizeof shape));
    }
}

static void printOps(const char *title, const OpTable *t)
{
    printf("%s:\n", title);
    for (int i = 0; i < t->count; i++) {
        if (t->ops[i].implemented)
            printf("  %-24s %ld\n", t->ops[i].op_type, t->ops[i].count);
        else
            printf("  %-24s %-6ld not implemented by the engine\n", t->ops[i].op_type, t->ops[i].count);
    }
}

static void printText(const char *path, const VbOnnxModel *m, const ModelSummary *s)
{
    const VbOnnxGraph *g = m->graph;
    printf("model: %s (%llu bytes, decoded in %.2f ms)\n", path, (unsigned long long)m->file_bytes,
           s->load_ms);
    printf("producer: %s%s%s\n", m->producer_name[0] ? m->producer_name : "(none)",
           m->producer_version[0] ? " " : "", m->producer_version);
    printf("IR version: %lld\n", (long long)m->ir_version);
    printf("opsets:");
    for (int i = 0; i < m->opset_count; i++)
        printf("%s %s %lld", i ? "," : "", m->opsets[i].domain[0] ? m->opsets[i].domain : "ai.onnx",
               (long long)m->opsets[i].version);
    printf("\n");
    if (m->domain[0] != '\0' || m->model_version != 0)
        printf("domain: %s, model version %lld\n", m->domain, (long long)m->model_version);
    for (int i = 0; i < m->metadata_count; i++)
        printf("metadata: %s = %.60s%s\n", m->metadata[i].key, m->metadata[i].value,
               strlen(m->metadata[i].value) > 60 ? "..." : "");

    printValues("inputs", g, s, g->inputs, g->input_count, 1);
    printValues("outputs", g, s, g->outputs, g->output_count, 0);
    printf("nodes: %d", g->node_count);
    if (s->sub_nodes > 0)
        printf(" (and %ld in subgraphs)", s->sub_nodes);
    printf("\n");
    printOps("ops", &s->ops);
    if (s->sub_ops.count > 0)
        printOps("ops in subgraphs", &s->sub_ops);
    printf("initializers: %d (%d used in place from the file, %d copied)\n", g->initializer_count,
           s->zero_copy, g->initializer_count - s->zero_copy);
    printf("parameters: %llu\n", (unsigned long long)s->parameters);
    printf("weight bytes: %llu (%.2f MiB)\n", (unsigned long long)s->weight_bytes,
           (double)s->weight_bytes / (1024.0 * 1024.0));
    if (s->have_flops)
        printf("FLOPs: %llu (%.2f GFLOPs, engine estimate per run)\n", (unsigned long long)s->flops,
               (double)s->flops / 1e9);
    else
        printf("FLOPs: unavailable (%s)\n", s->flops_error);
}

static json_t *valuesJson(const VbOnnxGraph *g, const ModelSummary *s, const VbOnnxValueInfo *values,
                          int count, int skip_initializers)
{
    json_t *list = json_array();
    for (int i = 0; i < count; i++) {
        const VbOnnxValueInfo *v = &values[i];
        if (skip_initializers && isInitializer(g, s, v->name))
            continue;
        json_t *entry = json_object();
        json_object_set_new(entry, "name", json_string(v->name));
        json_object_set_new(entry, "dtype", json_string(vb_dtype_to_string(v->dtype)));
        json_object_set_new(entry, "shape", shapeJson(v));
        json_array_append_new(list, entry);
    }
    return list;
}

static json_t *opsJson(const OpTable *t)
{
    json_t *ops = json_object();
    for (int i = 0; i < t->count; i++)
        json_object_set_new(ops, t->ops[i].op_type, json_integer(t->ops[i].count));
    return ops;
}

/* Adds the op types of t that the engine does not implement to list. */
static void addUnimplemented(json_t *list, const OpTable *t)
{
    for (int i = 0; i < t->count; i++) {
        if (!t->ops[i].implemented)
            json_array_append_new(list, json_string(t->ops[i].op_type));
    }
}

static void addOpName(const VbOpDef *op, void *user)
{
    OpCount *entry = opTableAppend(user, op->op_type);
    if (entry != NULL)
        entry->count = op->min_opset;
}

static int compareOpNames(const void *a, const void *b)
{
    const OpCount *x = a, *y = b;
    return strcmp(x->op_type, y->op_type);
}

/* Prints the engine's op types, one per line with the oldest opset each
 * implementation follows. */
static int printImplementedOps(void)
{
    OpTable t;
    memset(&t, 0, sizeof t);
    vbOpForEach(addOpName, &t);
    int rc = 0;
    if (t.out_of_memory) {
        vbCliError("inspect: out of memory while listing the engine's ops");
        rc = 1;
    } else {
        if (t.count > 0)
            qsort(t.ops, (size_t)t.count, sizeof *t.ops, compareOpNames);
        printf("op types the engine implements (%d), with the oldest opset each follows:\n", t.count);
        for (int i = 0; i < t.count; i++)
            printf("  %-24s %ld\n", t.ops[i].op_type, t.ops[i].count);
    }
    opTableFree(&t);
    return rc;
}

/* Prints the summary as one JSON object. Returns nonzero on failure. */
static int printJson(const char *path, const VbOnnxModel *m, const ModelSummary *s)
{
    const VbOnnxGraph *g = m->graph;
    json_t *opsets = json_array(), *metadata = json_object();
    for (int i = 0; i < m->opset_count; i++) {
        json_t *entry = json_object();
        const char *domain = m->opsets[i].domain;
        json_object_set_new(entry, "domain", json_string(domain[0] ? domain : "ai.onnx"));
        json_object_set_new(entry, "version", json_integer(m->opsets[i].version));
        json_array_append_new(opsets, entry);
    }
    for (int i = 0; i < m->metadata_count; i++)
        json_object_set_new(metadata, m->metadata[i].key, json_string(m->metadata[i].value));

    json_t *root = json_object();
    json_object_set_new(root, "path", json_string(path));
    json_object_set_new(root, "file_bytes", json_integer((json_int_t)m->file_bytes));
    json_object_set_new(root, "producer_name", json_string(m->producer_name));
    json_object_set_new(root, "producer_version", json_string(m->producer_version));
    json_object_set_new(root, "ir_version", json_integer(m->ir_version));
    json_object_set_new(root, "opsets", opsets);
    json_object_set_new(root, "metadata", metadata);
    json_object_set_new(root, "inputs", valuesJson(g, s, g->inputs, g->input_count, 1));
    json_object_set_new(root, "outputs", valuesJson(g, s, g->outputs, g->output_count, 0));
    json_object_set_new(root, "node_count", json_integer(g->node_count));
    json_object_set_new(root, "subgraph_node_count", json_integer(s->sub_nodes));
    json_object_set_new(root, "op_counts", opsJson(&s->ops));
    json_object_set_new(root, "subgraph_op_counts", opsJson(&s->sub_ops));
    json_t *unimplemented = json_array();
    addUnimplemented(unimplemented, &s->ops);
    addUnimplemented(unimplemented, &s->sub_ops);
    json_object_set_new(root, "ops_not_implemented", unimplemented);
    json_object_set_new(root, "initializer_count", json_integer(g->initializer_count));
    json_object_set_new(root, "zero_copy_initializers", json_integer(s->zero_copy));
    json_object_set_new(root, "parameters", json_integer((json_int_t)s->parameters));
    json_object_set_new(root, "weight_bytes", json_integer((json_int_t)s->weight_bytes));
    json_object_set_new(root, "flops", s->have_flops ? json_integer((json_int_t)s->flops) : json_null());
    if (!s->have_flops)
        json_object_set_new(root, "flops_error", json_string(s->flops_error));
    json_object_set_new(root, "load_ms", json_real(s->load_ms));

    /* json_string returns NULL for invalid UTF-8, and set_new then drops
     * the field, so a model with such names still prints. */
    char *text = json_dumps(root, JSON_INDENT(2));
    json_decref(root);
    if (text == NULL)
        return 1;
    printf("%s\n", text);
    free(text);
    return 0;
}

/* Parses "[NAME=]D,D,..." into shape, with the name copied to name_buf.
 * Returns 0, or 2 after printing a usage error. */
static int parseShapeSpec(const char *spec, vb_input_shape *shape, char *name_buf)
{
    const char *dims = spec;
    const char *eq = strchr(spec, '=');
    shape->name = NULL;
    shape->rank = 0;
    if (eq != NULL) {
        size_t n = (size_t)(eq - spec);
        if (n == 0 || n >= INSPECT_MAX_NAME) {
            vbCliError("inspect: --shape '%s' needs an input name of 1 to %d bytes before '='", spec,
                       INSPECT_MAX_NAME - 1);
            return 2;
        }
        memcpy(name_buf, spec, n);
        name_buf[n] = '\0';
        shape->name = name_buf;
        dims = eq + 1;
    }

    /* Dimensions: non-negative decimal integers separated by commas. */
    for (const char *p = dims;;) {
        char *end = NULL;
        errno = 0;
        long long dim = *p >= '0' && *p <= '9' ? strtoll(p, &end, 10) : -1;
        if (dim < 0 || errno != 0 || (*end != ',' && *end != '\0') || shape->rank == VB_MAX_RANK) {
            vbCliError("inspect: --shape '%s' must be up to %d non-negative integers separated by "
                       "commas, like 1,3,640,640", spec, VB_MAX_RANK);
            return 2;
        }
        shape->dims[shape->rank++] = dim;
        if (*end == '\0')
            return 0;
        p = end + 1;
    }
}

/* Fills args from argv. Returns -1 to go on, or the exit status: 0 after
 * --help, 2 after a usage error. */
static int parseInspectArgs(int argc, char **argv, InspectArgs *args)
{
    memset(args, 0, sizeof *args);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            printInspectUsage(stdout);
            return 0;
        }
        if (strcmp(arg, "--json") == 0) {
            args->as_json = 1;
        } else if (strcmp(arg, "--ops") == 0) {
            args->list_ops = 1;
        } else if (strcmp(arg, "--shape") == 0) {
            if (i + 1 == argc) {
                vbCliError("inspect: --shape needs a value like 1,3,640,640");
                return 2;
            }
            if (args->shape_count == INSPECT_MAX_SHAPES) {
                vbCliError("inspect: more than %d --shape options", INSPECT_MAX_SHAPES);
                return 2;
            }
            int k = args->shape_count++;
            if (parseShapeSpec(argv[++i], &args->shapes[k], args->shape_names[k]) != 0)
                return 2;
        } else if (arg[0] == '-' && arg[1] != '\0') {
            vbCliError("inspect: unknown option '%s'; run 'visionbench inspect --help'", arg);
            return 2;
        } else if (args->path != NULL) {
            vbCliError("inspect: more than one model given ('%s' and '%s'); inspect one at a time",
                       args->path, arg);
            return 2;
        } else {
            args->path = arg;
        }
    }
    if (args->path == NULL && !args->list_ops) {
        vbCliError("inspect: no model given; usage: visionbench inspect MODEL.onnx [--json]");
        return 2;
    }
    return -1;
}

int vbCmdInspect(int argc, char **argv)
{
    InspectArgs args;
    int rc = parseInspectArgs(argc, argv, &args);
    if (rc >= 0)
        return rc;
    if (args.path == NULL)
        return printImplementedOps();
    const char *path = args.path;

    /* Decode, summarize, print. */
    VbOnnxModel *model = NULL;
    vb_error err = {0};
    uint64_t t0 = vbNowNs();
    if (vbOnnxModelLoad(path, &model, &err) != VB_OK) {
        vbCliError("%s", err.message);
        return 1;
    }
    ModelSummary summary;
    memset(&summary, 0, sizeof summary);
    summary.load_ms = (double)(vbNowNs() - t0) / 1e6;
    rc = 0;
    if (summarize(&args, model, &summary) != 0) {
        vbCliError("inspect: out of memory while counting the ops of %s", path);
        rc = 1;
    } else if (args.as_json) {
        if (printJson(path, model, &summary) != 0) {
            vbCliError("inspect: cannot format the JSON summary of %s", path);
            rc = 1;
        }
    } else {
        printText(path, model, &summary);
    }
    opTableFree(&summary.ops);
    opTableFree(&summary.sub_ops);
    free(summary.init_names);
    vbOnnxModelFree(model);
    return rc;
}
