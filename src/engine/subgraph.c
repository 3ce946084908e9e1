/* Outer-scope names of subgraphs: the values an If or Loop body reads from the graph around it. */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "engine/op.h"

/* Names collected so far, each once, in first-use order. */
typedef struct NameList {
    const char **names;
    int count;
    int capacity;
} NameList;

/* Most names one node's subgraphs may read from outside; a guard against
 * hostile files, far above the few dozen real exporters emit. */
#define VB_SUBGRAPH_MAX_OUTER 65536

static int listHas(const NameList *list, const char *name)
{
    for (int i = 0; i < list->count; i++) {
        if (strcmp(list->names[i], name) == 0)
            return 1;
    }
    return 0;
}

static vb_status listAdd(NameList *list, const char *name, vb_error *err)
{
    if (listHas(list, name))
        return VB_OK;
    if (list->count == list->capacity) {
        if (list->capacity >= VB_SUBGRAPH_MAX_OUTER)
            return vbErrorSet(err, VB_ERR_LIMIT, "a subgraph reads more than %d outer values",
                              VB_SUBGRAPH_MAX_OUTER);
        int capacity = list->capacity > 0 ? list->capacity * 2 : 16;
        const char **grown = realloc(list->names, (size_t)capacity * sizeof *grown);
        if (grown == NULL)
            return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory listing subgraph inputs");
        list->names = grown;
        list->capacity = capacity;
    }
    list->names[list->count++] = name;
    return VB_OK;
}

/* Returns nonzero when graph g defines name: an initializer, an input or a
 * node output. */
static int graphDefines(const VbOnnxGraph *g, const char *name)
{
    for (int i = 0; i < g->initializer_count; i++) {
        if (g->initializers[i].name != NULL && strcmp(g->initializers[i].name, name) == 0)
            return 1;
    }
    for (int i = 0; i < g->input_count; i++) {
        if (strcmp(g->inputs[i].name, name) == 0)
            return 1;
    }
    for (int n = 0; n < g->node_count; n++) {
        const VbOnnxNode *node = &g->nodes[n];
        for (int k = 0; k < node->output_count; k++) {
            if (strcmp(node->outputs[k], name) == 0)
                return 1;
        }
    }
    return 0;
}

static vb_status collectNode(const VbOnnxNode *node, NameList *out, vb_error *err);

/* Adds to out every name g reads without defining it, including the names
 * its nested subgraphs read from outside g. */
static vb_status collectGraph(const VbOnnxGraph *g, NameList *out, vb_error *err)
{
    vb_status status = VB_OK;
    for (int n = 0; n < g->node_count && status == VB_OK; n++) {
        const VbOnnxNode *node = &g->nodes[n];
        NameList reads = {NULL, 0, 0};

        /* The node's own inputs, then what its subgraphs read. */
        for (int k = 0; k < node->input_count && status == VB_OK; k++) {
            if (node->inputs[k][0] != '\0')
                status = listAdd(&reads, node->inputs[k], err);
        }
        if (status == VB_OK)
            status = collectNode(node, &reads, err);
        for (int i = 0; i < reads.count && status == VB_OK; i++) {
            if (!graphDefines(g, reads.names[i]))
                status = listAdd(out, reads.names[i], err);
        }
        free(reads.names);
    }
    return status;
}

/* Adds the outer names of every graph attribute of node to out. */
static vb_status collectNode(const VbOnnxNode *node, NameList *out, vb_error *err)
{
    vb_status status = VB_OK;
    for (int a = 0; a < node->attr_count && status == VB_OK; a++) {
        const VbOnnxAttr *attr = &node->attrs[a];
        if (attr->type == VB_ONNX_ATTR_GRAPH && attr->g != NULL)
            status = collectGraph(attr->g, out, err);
        for (int i = 0; attr->type == VB_ONNX_ATTR_GRAPHS && i < attr->graph_count &&
                        status == VB_OK; i++)
            status = collectGraph(attr->graphs[i], out, err);
    }
    return status;
}

vb_status vbSubgraphOuterNames(const VbOnnxNode *node, const char ***names, int *count,
                               vb_error *err)
{
    NameList list = {NULL, 0, 0};
    *names = NULL;
    *count = 0;
    vb_status status = collectNode(node, &list, err);
    if (status != VB_OK) {
        free(list.names);
        return status;
    }
    *names = list.names;
    *count = list.count;
    return VB_OK;
}
