/* Loads every model of the shared model zoo and checks it against manifest.json: op counts, opsets, parameters, zero-copy. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "onnx/onnx.h"
#include "vbtest.h"

/* Adds the op types of g's nodes to counts, a JSON object of op type to
 * count: the nodes of g itself when self is set, and every node of its
 * subgraphs (at any depth) when subgraphs is set. */
static void countOps(const VbOnnxGraph *g, json_t *counts, int self, int subgraphs)
{
    for (int n = 0; n < g->node_count; n++) {
        const VbOnnxNode *node = &g->nodes[n];
        if (self) {
            json_t *c = json_object_get(counts, node->op_type);
            json_object_set_new(counts, node->op_type, json_integer(c ? json_integer_value(c) + 1 : 1));
        }
        if (!subgraphs)
            continue;
        for (int a = 0; a < node->attr_count; a++) {
            const VbOnnxAttr *attr = &node->attrs[a];
            if (attr->g != NULL)
                countOps(attr->g, counts, 1, 1);
            for (int k = 0; k < attr->graph_count; k++)
                countOps(attr->graphs[k], counts, 1, 1);
        }
    }
}

/* Compares two JSON objects of op counts, reporting every difference. */
static void checkCounts(const char *model, const char *what, json_t *expected, json_t *got)
{
    const char *op;
    json_t *value;
    json_object_foreach(expected, op, value) {
        json_t *g = json_object_get(got, op);
        CHECK_MSG(g != NULL && json_integer_value(g) == json_integer_value(value),
                  "%s: %s %s expected %lld, decoded %lld", model, what, op,
                  (long long)json_integer_value(value), g ? (long long)json_integer_value(g) : 0LL);
    }
    CHECK_MSG(json_object_size(expected) == json_object_size(got), "%s: %s: %zu op types expected, %zu decoded",
              model, what, json_object_size(expected), json_object_size(got));
}

static void checkModel(const char *dir, const char *name, json_t *entry)
{
    char *path = vbPathJoin(dir, json_string_value(json_object_get(entry, "file")));
    VbOnnxModel *m = NULL;
    vb_error err = {0};
    uint64_t t0 = vbNowNs();
    vb_status st = vbOnnxModelLoad(path, &m, &err);
    double ms = (double)(vbNowNs() - t0) / 1e6;
    CHECK_MSG(st == VB_OK, "%s: %s", name, err.message);
    if (st != VB_OK) {
        free(path);
        return;
    }

    /* Header fields. */
    const VbOnnxGraph *g = m->graph;
    CHECK_EQ_INT(m->ir_version, json_integer_value(json_object_get(entry, "ir_version")));
    json_t *opset = json_object_get(json_object_get(entry, "opset"), "ai.onnx");
    CHECK_EQ_INT(vbOnnxModelOpset(m, ""), json_integer_value(opset));
    CHECK_EQ_INT(m->file_bytes, json_integer_value(json_object_get(entry, "bytes")));

    /* Op counts of the main graph and of subgraphs. */
    json_t *ops = json_object(), *sub_ops = json_object();
    countOps(g, ops, 1, 0);
    countOps(g, sub_ops, 0, 1);
    checkCounts(name, "op count", json_object_get(entry, "op_counts"), ops);
    json_t *expected_sub = json_object_get(entry, "op_counts_in_subgraphs");
    if (expected_sub != NULL)
        checkCounts(name, "subgraph op count", expected_sub, sub_ops);
    else
        CHECK_EQ_INT(json_object_size(sub_ops), 0);
    json_decref(ops);
    json_decref(sub_ops);

    /* The manifest's parameters count elements of every initializer. Data
     * inside the mapping must be aligned, and some tensors of every model
     * land aligned by chance. */
    uint64_t elements = 0;
    int zero_copy = 0;
    for (int i = 0; i < g->initializer_count; i++) {
        const VbOnnxTensor *t = &g->initializers[i];
        elements += t->count;
        CHECK_MSG(t->data == NULL || (uintptr_t)t->data % vb_dtype_size(t->dtype) == 0,
                  "%s: tensor '%s' is misaligned", name, t->name);
        if (vbOnnxTensorIsZeroCopy(m, t))
            zero_copy++;
    }
    CHECK_EQ_INT(elements, json_integer_value(json_object_get(entry, "parameters")));
    CHECK_MSG(zero_copy > 0, "%s: no initializer points into the mapping", name);

    /* Declared inputs. */
    json_t *input = json_array_get(json_object_get(entry, "input"), 0);
    CHECK_STR(g->inputs[0].name, json_string_value(json_object_get(input, "name")));
    json_t *shape = json_object_get(input, "shape");
    CHECK_EQ_INT(g->inputs[0].rank, json_array_size(shape));
    for (int i = 0; i < g->inputs[0].rank && i < (int)json_array_size(shape); i++)
        CHECK_EQ_INT(g->inputs[0].dims[i], json_integer_value(json_array_get(shape, (size_t)i)));

    printf("%s: %d nodes, %d initializers (%d zero-copy), loaded in %.2f ms\n", name, g->node_count,
           g->initializer_count, zero_copy, ms);
    vbOnnxModelFree(m);
    free(path);
}

int main(void)
{
    const char *shared = vbTestSharedDir();
    if (shared == NULL)
        return VB_TEST_SKIP;
    char *dir = vbPathJoin(shared, "models");
    char *manifest_path = vbPathJoin(dir, "manifest.json");
    json_error_t jerr;
    json_t *manifest = json_load_file(manifest_path, 0, &jerr);
    if (manifest == NULL) {
        printf("skipped: %s: %s\n", manifest_path, jerr.text);
        free(dir);
        free(manifest_path);
        return VB_TEST_SKIP;
    }

    const char *name;
    json_t *entry;
    int models = 0;
    json_object_foreach(json_object_get(manifest, "models"), name, entry) {
        checkModel(dir, name, entry);
        models++;
    }
    CHECK(models > 0);

    json_decref(manifest);
    free(dir);
    free(manifest_path);
    TEST_END();
}
