/* Typed lookups of a node's attributes, as op implementations read them. */
#include <string.h>

#include "onnx/onnx.h"

const VbOnnxAttr *vbOnnxNodeAttr(const VbOnnxNode *node, const char *name)
{
    if (node == NULL || name == NULL)
        return NULL;
    for (int i = 0; i < node->attr_count; i++) {
        if (strcmp(node->attrs[i].name, name) == 0)
            return &node->attrs[i];
    }
    return NULL;
}

/* Returns the attribute when it has type; flags *bad when it exists with
 * another type. */
static const VbOnnxAttr *attrOfType(const VbOnnxNode *node, const char *name,
                                    VbOnnxAttrType type, int *bad)
{
    const VbOnnxAttr *a = vbOnnxNodeAttr(node, name);
    if (a == NULL)
        return NULL;
    if (a->type != type) {
        if (bad != NULL)
            *bad = 1;
        return NULL;
    }
    return a;
}

int64_t vbOnnxAttrInt(const VbOnnxNode *node, const char *name, int64_t fallback, int *bad)
{
    const VbOnnxAttr *a = attrOfType(node, name, VB_ONNX_ATTR_INT, bad);
    return a != NULL ? a->i : fallback;
}

float vbOnnxAttrFloat(const VbOnnxNode *node, const char *name, float fallback, int *bad)
{
    const VbOnnxAttr *a = attrOfType(node, name, VB_ONNX_ATTR_FLOAT, bad);
    return a != NULL ? a->f : fallback;
}

const char *vbOnnxAttrString(const VbOnnxNode *node, const char *name, const char *fallback,
                             int *bad)
{
    const VbOnnxAttr *a = attrOfType(node, name, VB_ONNX_ATTR_STRING, bad);
    return a != NULL && a->s != NULL ? a->s : fallback;
}

const int64_t *vbOnnxAttrInts(const VbOnnxNode *node, const char *name, int *count, int *bad)
{
    const VbOnnxAttr *a = attrOfType(node, name, VB_ONNX_ATTR_INTS, bad);
    *count = a != NULL ? a->int_count : 0;
    return a != NULL ? a->ints : NULL;
}

const float *vbOnnxAttrFloats(const VbOnnxNode *node, const char *name, int *count, int *bad)
{
    const VbOnnxAttr *a = attrOfType(node, name, VB_ONNX_ATTR_FLOATS, bad);
    *count = a != NULL ? a->float_count : 0;
    return a != NULL ? a->floats : NULL;
}
