/* Test helpers for the light kernels: build a node by hand and run one op through its VbOpDef. */
#ifndef VB_KERNELS_LIGHT_H
#define VB_KERNELS_LIGHT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "engine/op.h"
#include "vbtest.h"

#define MAX_OUTPUTS 8

/* Attribute constructors. */
static inline VbOnnxAttr attrInt(const char *name, int64_t v)
{
    VbOnnxAttr a = {0};
    a.name = name;
    a.type = VB_ONNX_ATTR_INT;
    a.i = v;
    return a;
}

static inline VbOnnxAttr attrFloat(const char *name, float v)
{
    VbOnnxAttr a = {0};
    a.name = name;
    a.type = VB_ONNX_ATTR_FLOAT;
    a.f = v;
    return a;
}

static inline VbOnnxAttr attrString(const char *name, const char *v)
{
    VbOnnxAttr a = {0};
    a.name = name;
    a.type = VB_ONNX_ATTR_STRING;
    a.s = v;
    a.s_len = strlen(v);
    return a;
}

static inline VbOnnxAttr attrInts(const char *name, const int64_t *v, int n)
{
    VbOnnxAttr a = {0};
    a.name = name;
    a.type = VB_ONNX_ATTR_INTS;
    a.ints = v;
    a.int_count = n;
    return a;
}

/* Returns a tensor of dtype and shape over data (not copied). */
static inline vb_tensor tensorOf(vb_dtype dtype, int rank, const int64_t *dims, const void *data)
{
    vb_tensor t = {dtype, rank, {0}, (void *)data};
    for (int i = 0; i < rank; i++)
        t.dims[i] = dims[i];
    return t;
}

/* The result of one op run: output tensors with malloc'd data. */
typedef struct OpResult {
    vb_status status;
    vb_error err;
    int n_out;
    vb_tensor out[MAX_OUTPUTS];
} OpResult;

static inline void opResultFree(OpResult *r)
{
    for (int i = 0; i < r->n_out; i++) {
        free(r->out[i].data);
        r->out[i].data = NULL;
    }
}

/* Runs op_type at opset with the given attributes and inputs (a NULL entry
 * is an omitted optional input) on threads threads. When constant_inputs is
 * 0, infer sees the inputs without data, as for values computed at run. */
static inline OpResult runOpEx(const char *op_type, int opset, const VbOnnxAttr *attrs,
                               int n_attrs, const vb_tensor *const *in, int n_in, int n_out,
                               int threads, int constant_inputs)
{
    OpResult r;
    memset(&r, 0, sizeof r);
    r.n_out = n_out;
    const VbOpDef *def = vbOpFind("", op_type, opset);
    if (def == NULL) {
        r.status = vbErrorSet(&r.err, VB_ERR_UNSUPPORTED, "%s (opset %d) is not registered",
                              op_type, opset);
        return r;
    }

    const char *names[MAX_OUTPUTS] = {"y0", "y1", "y2", "y3", "y4", "y5", "y6", "y7"};
    const char *in_names[16];
    for (int i = 0; i < n_in && i < 16; i++)
        in_names[i] = in[i] ? "x" : "";
    VbOnnxNode node = {"test", op_type, "", n_in, in_names, n_out, names, n_attrs, attrs};
    void *params = NULL;
    r.status = def->prepare(&node, opset, &params, &r.err);
    if (r.status != VB_OK)
        return r;

    /* Infer, optionally without input data. */
    vb_tensor shapes[16];
    const vb_tensor *infer_in[16];
    for (int i = 0; i < n_in && i < 16; i++) {
        if (in[i] != NULL) {
            shapes[i] = *in[i];
            if (!constant_inputs)
                shapes[i].data = NULL;
        }
        infer_in[i] = in[i] ? &shapes[i] : NULL;
    }
    vb_tensor *outs[MAX_OUTPUTS];
    for (int i = 0; i < n_out; i++)
        outs[i] = &r.out[i];
    VbOpInferInfo info = {0, 0, 0};
    r.status = def->infer(params, infer_in, n_in, outs, n_out, &info, &r.err);

    /* Allocate outputs and the workspace, then run. */
    void *workspace = NULL;
    if (r.status == VB_OK) {
        for (int i = 0; i < n_out; i++)
            r.out[i].data = calloc(1, vbTensorBytes(&r.out[i]) + 8);
        workspace = calloc(1, info.workspace_bytes + 64);
        VbOpRunContext ctx = {threads, 0, workspace, info.workspace_bytes};
        r.status = def->run(params, in, n_in, outs, n_out, &ctx, &r.err);
    }
    free(workspace);
    if (def->release)
        def->release(params);
    return r;
}

static inline OpResult runOp(const char *op_type, int opset, const VbOnnxAttr *attrs, int n_attrs,
                             const vb_tensor *const *in, int n_in, int n_out)
{
    return runOpEx(op_type, opset, attrs, n_attrs, in, n_in, n_out, 1, 1);
}

/* Checks that t has the given shape. */
#define CHECK_SHAPE(t, rank_, ...)                                                                \
    do {                                                                                          \
        const int64_t want_[] = {__VA_ARGS__};                                                    \
        CHECK_EQ_INT((t).rank, (rank_));                                                          \
        for (int d_ = 0; d_ < (rank_) && d_ < (t).rank; d_++)                                     \
            CHECK_EQ_INT((t).dims[d_], want_[d_]);                                                \
    } while (0)

#endif /* VB_KERNELS_LIGHT_H */
