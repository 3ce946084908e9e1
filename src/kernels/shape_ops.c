/* Ops that change only a tensor's shape or produce shapes and constants: Identity, Dropout (inference), Constant, Shape, Size, Reshape, Flatten, Squeeze, Unsqueeze, ConstantOfShape, Range, Expand and the window generators. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernel_util.h"

/* Largest tensor Constant and ConstantOfShape copy out of attributes. */
#define MAX_CONSTANT_BYTES ((size_t)1 << 31)

typedef struct ShapeParams {
    char op_type[32];          /* a copy: the model may be freed after load */
    int opset;
    int64_t axis;              /* Flatten */
    int allowzero;             /* Reshape (opset 14) */
    int64_t start, end;        /* Shape (opset 15) */
    int has_end;
    int axes_count;            /* Squeeze/Unsqueeze axes from the attribute (opset < 13) */
    int64_t axes[VB_MAX_RANK];
    int has_axes;
    vb_tensor value;           /* Constant: the tensor; ConstantOfShape: the fill value */
    unsigned char storage[];   /* value.data for Constant and ConstantOfShape */
} ShapeParams;

static ShapeParams *newParams(const VbOnnxNode *node, int opset, size_t extra)
{
    ShapeParams *p = calloc(1, sizeof *p + extra);
    if (p != NULL) {
        snprintf(p->op_type, sizeof p->op_type, "%s", node->op_type);
        p->opset = opset;
        p->value.data = p->storage;
    }
    return p;
}

/* Copies a constant into params: dtype, shape and count*esize bytes of data. */
static vb_status newConstantParams(const VbOnnxNode *node, int opset, vb_dtype dtype, int rank,
                                   const int64_t *dims, const void *data, size_t nbytes,
                                   void **params, vb_error *err)
{
    if (nbytes > MAX_CONSTANT_BYTES)
        return vbErrorSet(err, VB_ERR_LIMIT, "%s '%s': value of %zu bytes exceeds %zu", node->op_type,
                          node->name, nbytes, MAX_CONSTANT_BYTES);
    ShapeParams *p = newParams(node, opset, nbytes);
    if (p == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory preparing %s", node->op_type);
    vbKernelSetShape(&p->value, dtype, rank, dims);
    if (nbytes)
        memcpy(p->storage, data, nbytes);
    *params = p;
    return VB_OK;
}

static vb_status constantPrepare(const VbOnnxNode *node, int opset, void **params, vb_error *err)
{
    const VbOnnxAttr *a = NULL;
    for (int i = 0; i < node->attr_count; i++) {
        if (node->attrs[i].name && strncmp(node->attrs[i].name, "value", 5) == 0)
            a = &node->attrs[i];
        else if (node->attrs[i].name && strcmp(node->attrs[i].name, "sparse_value") == 0)
            a = &node->attrs[i];
    }
    if (a == NULL)
        return vbErrorSet(err, VB_ERR_PARSE, "Constant '%s' has no value attribute", node->name);

    int64_t len;
    if (strcmp(a->name, "value") == 0 && a->type == VB_ONNX_ATTR_TENSOR && a->t != NULL) {
        const VbOnnxTensor *t = a->t;
        if (vb_dtype_size(t->dtype) == 0)
            return vbErrorSet(err, VB_ERR_UNSUPPORTED, "Constant '%s': %s tensors are not supported",
                              node->name, vb_dtype_to_string(t->dtype));
        return newConstantParams(node, opset, t->dtype, t->rank, t->dims, t->data, t->nbytes, params,
                                 err);
    }
    if (strcmp(a->name, "value_float") == 0 && a->type == VB_ONNX_ATTR_FLOAT)
        return newConstantParams(node, opset, VB_DTYPE_FLOAT32, 0, NULL, &a->f, sizeof(float),
                                 params, err);
    if (strcmp(a->name, "value_int") == 0 && a->type == VB_ONNX_ATTR_INT)
        return newConstantParams(node, opset, VB_DTYPE_INT64, 0, NULL, &a->i, sizeof(int64_t),
                                 params, err);
    if (strcmp(a->name, "value_floats") == 0 && a->type == VB_ONNX_ATTR_FLOATS) {
        len = a->float_count;
        return newConstantParams(node, opset, VB_DTYPE_FLOAT32, 1, &len, a->floats,
                                 (size_t)len * sizeof(float), params, err);
    }
    if (strcmp(a->name, "value_ints") == 0 && a->type == VB_ONNX_ATTR_INTS) {
        len = a->int_count;
        return newConstantParams(node, opset, VB_DTYPE_INT64, 1, &len, a->ints,
                                 (size_t)len * sizeof(int64_t), params, err);
    }
    return vbErrorSet(err, VB_ERR_UNSUPPORTED,
                      "Constant '%s': attribute '%s' is not supported (value, value_float(s) and "
                      "value_int(s) are)", node->name, a->name);
}

static vb_status constantInfer(const void *params, const vb_tensor *const *in, int n_in,
                               vb_tensor *const *out, int n_out, VbOpInferInfo *info, vb_error *err)
{
    const ShapeParams *p = params;
    vbKernelSetShape(out[0], p->value.dtype, p->value.rank, p->value.dims);
    return VB_OK;
}

static vb_status constantRun(const void *params, const vb_tensor *const *in, int n_in,
                             vb_tensor *const *out, int n_out, const VbOpRunContext *ctx, vb_error *err)
{
    const ShapeParams *p = params;
    vbKernelCopy(out[0]->data, p->storage, vbTensorBytes(&p->value), 1);
    return VB_OK;
}

/* ---- Ops whose output is the input's data under another shape ------------- */

static vb_status shapePrepare(const VbOnnxNode *node, int opset, void **params, vb_error *err)
{
    ShapeParams *p = newParams(node, opset, 0);
    if (p == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory preparing %s", node->op_type);
    int bad = 0;
    p->axis = vbOnnxAttrInt(node, "axis", 1, &bad);
    p->allowzero = (int)vbOnnxAttrInt(node, "allowzero", 0, &bad);
    p->start = vbOnnxAttrInt(node, "start", 0, &bad);
    p->has_end = vbOnnxNodeAttr(node, "end") != NULL;
    p->end = vbOnnxAttrInt(node, "end", 0, &bad);

    /* Squeeze and Unsqueeze read axes from an attribute before opset 13. */
    int count = 0;
    const int64_t *axes = vbOnnxAttrInts(node, "axes", &count, &bad);
    if (axes != NULL) {
        if (count > VB_MAX_RANK) {
            free(p);
            return vbErrorSet(err, VB_ERR_UNSUPPORTED, "%s '%s': %d axes, at most %d are supported",
                              node->op_type, node->name, count, VB_MAX_RANK);
        }
        memcpy(p->axes, axes, sizeof(int64_t) * (size_t)count);
        p->axes_count = count;
        p->has_axes = 1;
    }
    if (bad) {
        free(p);
        return vbErrorSet(err, VB_ERR_PARSE, "%s '%s': an attribute has the wrong type",
                          node->op_type, node->name);
    }
    *params = p;
    return VB_OK;
}

static vb_status reshapeInfer(const ShapeParams *p, const vb_tensor *data, const vb_tensor *shape,
                              vb_tensor *out, vb_error *err)
{
    int64_t dims[VB_MAX_RANK];
    int rank = 0;
    vb_status st = vbKernelReadInts("Reshape", "shape", shape, dims, VB_MAX_RANK, &rank, err);
    if (st != VB_OK)
        return st;

    /* Copy zeros from the input (unless allowzero), find the one -1. */
    int infer_at = -1;
    int64_t known = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] == 0 && !p->allowzero) {
            if (i >= data->rank)
                return vbErrorSet(err, VB_ERR_SHAPE, "Reshape: shape[%d] = 0 copies a dimension the "
                                  "rank-%d input does not have", i, data->rank);
            dims[i] = data->dims[i];
        }
        if (dims[i] == -1) {
            if (infer_at >= 0)
                return vbErrorSet(err, VB_ERR_SHAPE, "Reshape: shape has more than one -1");
            infer_at = i;
            continue;
        }
        if (dims[i] < 0)
            return vbErrorSet(err, VB_ERR_SHAPE, "Reshape: shape[%d] = %lld is invalid", i,
                              (long long)dims[i]);
        if (vbMulI64(known, dims[i], &known))
            return vbErrorSet(err, VB_ERR_LIMIT, "Reshape: shape overflows int64");
    }
    int64_t total = (int64_t)vbTensorCount(data);
    if (infer_at >= 0) {
        if (known == 0 || total % known != 0) {
            char s[96];
            return vbErrorSet(err, VB_ERR_SHAPE, "Reshape: cannot infer the -1 dimension for input "
                              "%s", vbShapeString(data, s, sizeof s));
        }
        dims[infer_at] = total / known;
        known = total;
    }
    if (known != total) {
        char s[96];
        return vbErrorSet(err, VB_ERR_SHAPE, "Reshape: input %s has %lld elements, the target shape "
                          "has %lld", vbShapeString(data, s, sizeof s), (long long)total,
                          (long long)known);
    }
    vbKernelSetShape(out, data->dtype, rank, dims);
    return VB_OK;
}

static vb_status flattenInfer(const ShapeParams *p, const vb_tensor *data, vb_tensor *out,
                              vb_error *err)
{
    int64_t axis = p->axis < 0 ? p->axis + data->rank : p->axis;
    if (axis < 0 || axis > data->rank)
        return vbErrorSet(err, VB_ERR_SHAPE, "Flatten: axis %lld is out of range for rank %d",
                          (long long)p->axis, data->rank);
    int64_t dims[2] = {1, 1};
    for (int i = 0; i < data->rank; i++)
        dims[i >= axis] *= data->dims[i];
    vbKernelSetShape(out, data->dtype, 2, dims);
    return VB_OK;
}

/* Reads Squeeze/Unsqueeze axes from the attribute or (opset 13+) input 1.
 * *present is 0 when neither gives axes. */
static vb_status readAxes(const ShapeParams *p, const vb_tensor *const *in, int n_in,
                          int64_t *axes, int *count, int *present, vb_error *err)
{
    *count = 0;
    *present = 0;
    if (p->opset < 13) {
        memcpy(axes, p->axes, sizeof(int64_t) * (size_t)p->axes_count);
        *count = p->axes_count;
        *present = p->has_axes;
        return VB_OK;
    }
    if (n_in < 2 || in[1] == NULL)
        return VB_OK;
    *present = 1;
    return vbKernelReadInts(p->op_type, "axes", in[1], axes, VB_MAX_RANK, count, err);
}

static vb_status squeezeInfer(const ShapeParams *p, const vb_tensor *const *in, int n_in,
                              vb_tensor *out, vb_error *err)
{
    const vb_tensor *data = in[0];
    int64_t axes[VB_MAX_RANK];
    int count, present;
    vb_status st = readAxes(p, in, n_in, axes, &count, &present, err);
    if (st != VB_OK)
        return st;

    /* Mark the dims to drop: the listed axes, or every dim of 1. */
    int drop[VB_MAX_RANK] = {0};
    for (int i = 0; i < count; i++) {
        int axis;
        if ((st = vbKernelAxis("Squeeze", axes[i], data->rank, &axis, err)) != VB_OK)
            return st;
        if (data->dims[axis] != 1)
            return vbErrorSet(err, VB_ERR_SHAPE, "Squeeze: axis %d has size %lld, not 1", axis,
                              (long long)data->dims[axis]);
        drop[axis] = 1;
    }
    int64_t dims[VB_MAX_RANK];
    int rank = 0;
    for (int i = 0; i < data->rank; i++) {
        if (present ? !drop[i] : data->dims[i] != 1)
            dims[rank++] = data->dims[i];
    }
    vbKernelSetShape(out, data->dtype, rank, dims);
    return VB_OK;
}

static vb_status unsqueezeInfer(const ShapeParams *p, const vb_tensor *const *in, int n_in,
                                vb_tensor *out, vb_error *err)
{
    const vb_tensor *data = in[0];
    int64_t axes[VB_MAX_RANK];
    int count, present;
    vb_status st = readAxes(p, in, n_in, axes, &count, &present, err);
    if (st != VB_OK)
        return st;
    if (!present)
        return vbErrorSet(err, VB_ERR_SHAPE, "Unsqueeze needs axes");
    int rank = data->rank + count;
    if (rank > VB_MAX_RANK)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED, "Unsqueeze: output rank %d exceeds %d", rank,
                          VB_MAX_RANK);

    /* Place the new dims of 1, then fill the rest from the input in order. */
    int inserted[VB_MAX_RANK] = {0};
    for (int i = 0; i < count; i++) {
        int axis;
        if ((st = vbKernelAxis("Unsqueeze", axes[i], rank, &axis, err)) != VB_OK)
            return st;
        if (inserted[axis])
            return vbErrorSet(err, VB_ERR_SHAPE, "Unsqueeze: axis %d is listed twice", axis);
        inserted[axis] = 1;
    }
    int64_t dims[VB_MAX_RANK];
    for (int i = 0, j = 0; i < rank; i++)
        dims[i] = inserted[i] ? 1 : data->dims[j++];
    vbKernelSetShape(out, data->dtype, rank, dims);
    return VB_OK;
}

static vb_status shapeInfer(const void *params, const vb_tensor *const *in, int n_in,
                            vb_tensor *const *out, int n_out, VbOpInferInfo *info, vb_error *err)
{
    const ShapeParams *p = params;
    const char *op = p->op_type;
    const vb_tensor *data = in[0];
    if (data == NULL)
        return vbErrorSet(err, VB_ERR_SHAPE, "%s: input 0 is missing", op);
    if (vb_dtype_size(data->dtype) == 0)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED, "%s does not support %s tensors", op,
                          vb_dtype_to_string(data->dtype));

    if (strcmp(op, "Shape") == 0) {
        int64_t start = p->start < 0 ? p->start + data->rank : p->start;
        int64_t end = data->rank;
        if (p->has_end)
            end = p->end < 0 ? p->end + data->rank : p->end;
        start = vbKernelClamp(start, 0, data->rank);
        end = vbKernelClamp(end, 0, data->rank);
        int64_t len = end > start ? end - start : 0;
        vbKernelSetShape(out[0], VB_DTYPE_INT64, 1, &len);
        return VB_OK;
    }
    if (strcmp(op, "Size") == 0) {
        vbKernelSetShape(out[0], VB_DTYPE_INT64, 0, NULL);
        return VB_OK;
    }
    if (strcmp(op, "Reshape") == 0) {
        if (n_in < 2 || in[1] == NULL)
            return vbErrorSet(err, VB_ERR_SHAPE, "Reshape needs the shape input");
        return reshapeInfer(p, data, in[1], out[0], err);
    }
    if (strcmp(op, "Flatten") == 0)
        return flattenInfer(p, data, out[0], err);
    if (strcmp(op, "Squeeze") == 0)
        return squeezeInfer(p, in, n_in, out[0], err);
    if (strcmp(op, "Unsqueeze") == 0)
        return unsqueezeInfer(p, in, n_in, out[0], err);
    /* Identity, and Dropout in inference, whose optional mask is all true. */
    vbKernelSetShape(out[0], data->dtype, data->rank, data->dims);
    if (n_out > 1 && out[1] != NULL) {
        /* The mask is bool from opset 10, of the data's type before. */
        vb_dtype mask = p->opset < 10 ? data->dtype : VB_DTYPE_BOOL;
        if (mask != VB_DTYPE_BOOL && mask != VB_DTYPE_FLOAT32)
            return vbErrorSet(err, VB_ERR_UNSUPPORTED, "Dropout (opset %d): a %s mask output is not "
                              "supported", p->opset, vb_dtype_to_string(mask));
        vbKernelSetShape(out[1], mask, data->rank, data->dims);
    }
    if (strcmp(op, "Dropout") == 0 && n_in > 2 && in[2] != NULL) {
        if (in[2]->data == NULL)
            return vbErrorSet(err, VB_ERR_UNSUPPORTED, "Dropout requires a constant "
                              "'training_mode' input");
        if (*(const uint8_t *)in[2]->data != 0)
            return vbErrorSet(err, VB_ERR_UNSUPPORTED, "Dropout: training_mode=true is not "
                              "supported; inference only");
    }
    return VB_OK;
}

static vb_status shapeRun(const void *params, const vb_tensor *const *in, int n_in,
                          vb_tensor *const *out, int n_out, const VbOpRunContext *ctx, vb_error *err)
{
    const ShapeParams *p = params;
    const vb_tensor *data = in[0];
    int64_t *dst = out[0]->data;

    if (strcmp(p->op_type, "Shape") == 0) {
        int64_t start = p->start < 0 ? p->start + data->rank : p->start;
        start = vbKernelClamp(start, 0, data->rank);
        for (int64_t i = 0; i < out[0]->dims[0]; i++)
            dst[i] = data->dims[start + i];
        return VB_OK;
    }
    if (strcmp(p->op_type, "Size") == 0) {
        dst[0] = (int64_t)vbTensorCount(data);
        return VB_OK;
    }

    /* The data is unchanged; the engine may hand the same buffer as input
     * and output. */
    if (out[0]->data != data->data)
        vbKernelCopy(out[0]->data, data->data, vbTensorBytes(data), ctx->threads);
    if (n_out > 1 && out[1] != NULL && out[1]->dtype == VB_DTYPE_BOOL)
        memset(out[1]->data, 1, vbTensorCount(out[1]));
    if (n_out > 1 && out[1] != NULL && out[1]->dtype == VB_DTYPE_FLOAT32) {
        float *mask = out[1]->data;
        for (size_t i = 0; i < vbTensorCount(out[1]); i++)
            mask[i] = 1.0f;
    }
    return VB_OK;
}

/* ---- ConstantOfShape, Range, Expand ---------------------------------------- */

static vb_status constantOfShapePrepare(const VbOnnxNode *node, int opset, void **params,
                                        vb_error *err)
{
    float zero = 0.0f;
    const VbOnnxAttr *a = vbOnnxNodeAttr(node, "value");
    if (a == NULL)
        return newConstantParams(node, opset, VB_DTYPE_FLOAT32, 0, NULL, &zero, sizeof zero, params,
                                 err);
    if (a->type != VB_ONNX_ATTR_TENSOR || a->t == NULL || a->t->count != 1 ||
        vb_dtype_size(a->t->dtype) == 0)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED,
                          "ConstantOfShape '%s': 'value' must be a one-element numeric tensor",
                          node->name);
    return newConstantParams(node, opset, a->t->dtype, 0, NULL, a->t->data, a->t->nbytes, params,
                             err);
}

static vb_status constantOfShapeInfer(const void *params, const vb_tensor *const *in, int n_in,
                                      vb_tensor *const *out, int n_out, VbOpInferInfo *info,
                                      vb_error *err)
{
    const ShapeParams *p = params;
    int64_t dims[VB_MAX_RANK];
    int rank = 0;
    vb_status st = vbKernelReadInts("ConstantOfShape", "input", in[0], dims, VB_MAX_RANK, &rank, err);
    if (st != VB_OK)
        return st;
    vbKernelSetShape(out[0], p->value.dtype, rank, dims);
    return vbKernelCheckSize("ConstantOfShape", out[0], err);
}

static vb_status constantOfShapeRun(const void *params, const vb_tensor *const *in, int n_in,
                                    vb_tensor *const *out, int n_out, const VbOpRunContext *ctx,
                                    vb_error *err)
{
    const ShapeParams *p = params;
    size_t n = vbTensorCount(out[0]), es = vb_dtype_size(p->value.dtype);
    char *dst = out[0]->data;
    if (n == 0)
        return VB_OK;

    /* Write the value once, then double the filled prefix with each copy. */
    size_t bytes = n * es, filled = es;
    memcpy(dst, p->storage, es);
    while (filled < bytes) {
        size_t chunk = filled < bytes - filled ? filled : bytes - filled;
        memcpy(dst + filled, dst, chunk);
        filled += chunk;
    }
    return VB_OK;
}

static vb_status rangeInfer(const void *params, const vb_tensor *const *in, int n_in,
                            vb_tensor *const *out, int n_out, VbOpInferInfo *info, vb_error *err)
{
    vb_dtype dt = in[0]->dtype;
    for (int i = 0; i < 3; i++) {
        if (in[i] == NULL || in[i]->data == NULL)
            return vbErrorSet(err, VB_ERR_UNSUPPORTED,
                              "Range requires a constant start, limit and delta");
        if (in[i]->dtype != dt || vbTensorCount(in[i]) != 1)
            return vbErrorSet(err, VB_ERR_SHAPE, "Range: input %d must be a %s scalar", i,
                              vb_dtype_to_string(dt));
    }
    int64_t count;
    if (dt == VB_DTYPE_FLOAT32 || dt == VB_DTYPE_FLOAT64) {
        double start = vbKernelScalarAsDouble(in[0]), limit = vbKernelScalarAsDouble(in[1]);
        double delta = vbKernelScalarAsDouble(in[2]);
        if (dt == VB_DTYPE_FLOAT32) /* the element count follows float arithmetic */
            count = vbKernelToInt64(ceilf(((float)limit - (float)start) / (float)delta));
        else
            count = vbKernelToInt64(ceil((limit - start) / delta));
        if (!(delta != 0.0) || isnan(start) || isnan(limit))
            return vbErrorSet(err, VB_ERR_SHAPE, "Range: delta must be non-zero and values finite");
    } else if (dt == VB_DTYPE_INT16 || dt == VB_DTYPE_INT32 || dt == VB_DTYPE_INT64) {
        int64_t start, limit, delta;
        if (dt == VB_DTYPE_INT16) {
            start = *(const int16_t *)in[0]->data;
            limit = *(const int16_t *)in[1]->data;
            delta = *(const int16_t *)in[2]->data;
        } else {
            start = vbTensorGetInt(in[0], 0);
            limit = vbTensorGetInt(in[1], 0);
            delta = vbTensorGetInt(in[2], 0);
        }
        if (delta == 0)
            return vbErrorSet(err, VB_ERR_SHAPE, "Range: delta must be non-zero");

        /* ceil((limit - start) / delta), in double so the span cannot
         * overflow; exact while the span stays below 2^53. */
        double span = (double)limit - (double)start;
        count = vbKernelToInt64(ceil(span / (double)delta));
    } else {
        return vbErrorSet(err, VB_ERR_UNSUPPORTED, "Range does not support %s",
                          vb_dtype_to_string(dt));
    }
    if (count < 0)
        count = 0;
    vbKernelSetShape(out[0], dt, 1, &count);
    return vbKernelCheckSize("Range", out[0], err);
}

static vb_status rangeRun(const void *params, const vb_tensor *const *in, int n_in,
                          vb_tensor *const *out, int n_out, const VbOpRunContext *ctx, vb_error *err)
{
    int64_t n = out[0]->dims[0];
    void *dst = out[0]->data;
    switch (out[0]->dtype) {
    case VB_DTYPE_FLOAT32: {
        float start = *(const float *)in[0]->data, delta = *(const float *)in[2]->data;
        for (int64_t i = 0; i < n; i++)
            ((float *)dst)[i] = start + (float)i * delta;
        break;
    }
    case VB_DTYPE_FLOAT64: {
        double start = *(const double *)in[0]->data, delta = *(const double *)in[2]->data;
        for (int64_t i = 0; i < n; i++)
            ((double *)dst)[i] = start + (double)i * delta;
        break;
    }
    case VB_DTYPE_INT16:
        for (int64_t i = 0; i < n; i++)
            ((int16_t *)dst)[i] = (int16_t)(*(const int16_t *)in[0]->data +
                                            i * *(const int16_t *)in[2]->data);
        break;
    case VB_DTYPE_INT32:
        for (int64_t i = 0; i < n; i++)
            ((int32_t *)dst)[i] = (int32_t)(*(const int32_t *)in[0]->data +
                                            i * *(const int32_t *)in[2]->data);
        break;
    default:
        for (int64_t i = 0; i < n; i++)
            ((int64_t *)dst)[i] = *(const int64_t *)in[0]->data + i * *(const int64_t *)in[2]->data;
        break;
    }
    return VB_OK;
}

static vb_status expandInfer(const void *params, const vb_tensor *const *in, int n_in,
                             vb_tensor *const *out, int n_out, VbOpInferInfo *info, vb_error *err)
{
    if (n_in < 2 || in[1] == NULL)
        return vbErrorSet(err, VB_ERR_SHAPE, "Expand needs the shape input");
    if (vb_dtype_size(in[0]->dtype) == 0)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED, "Expand does not support %s tensors",
                          vb_dtype_to_string(in[0]->dtype));
    vb_tensor shape = {VB_DTYPE_INT64, 0, {0}, NULL};
    vb_status st = vbKernelReadInts("Expand", "shape", in[1], shape.dims, VB_MAX_RANK, &shape.rank,
                                    err);
    if (st != VB_OK)
        return st;
    if ((st = vbBroadcastShape(in[0], &shape, out[0], err)) != VB_OK)
        return vbErrorPrefix(err, "Expand: ");
    out[0]->dtype = in[0]->dtype;
    return vbKernelCheckSize("Expand", out[0], err);
}

static vb_status expandRun(const void *params, const vb_tensor *const *in, int n_in,
                           vb_tensor *const *out, int n_out, const VbOpRunContext *ctx, vb_error *err)
{
    vbKernelBroadcastCopy(in[0], out[0], ctx->threads);
    return VB_OK;
}

/* ---- HannWindow, HammingWindow, BlackmanWindow ------------------------------ */

typedef struct WindowParams {
    int kind;        /* 0 Hann, 1 Hamming, 2 Blackman */
    int periodic;
    vb_dtype dtype;
} WindowParams;

static vb_status windowPrepare(const VbOnnxNode *node, int opset, void **params, vb_error *err)
{
    int bad = 0;
    WindowParams *p = calloc(1, sizeof *p);
    if (p == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory preparing %s", node->op_type);
    if (strcmp(node->op_type, "HammingWindow") == 0)
        p->kind = 1;
    else if (strcmp(node->op_type, "BlackmanWindow") == 0)
        p->kind = 2;
    p->periodic = (int)vbOnnxAttrInt(node, "periodic", 1, &bad);
    p->dtype = (vb_dtype)vbOnnxAttrInt(node, "output_datatype", VB_DTYPE_FLOAT32, &bad);
    if (bad || (p->dtype != VB_DTYPE_FLOAT32 && p->dtype != VB_DTYPE_FLOAT64)) {
        free(p);
        return vbErrorSet(err, VB_ERR_UNSUPPORTED, "%s '%s': output_datatype must be float32 or "
                          "float64", node->op_type, node->name);
    }
    *params = p;
    return VB_OK;
}

static vb_status windowInfer(const void *params, const vb_tensor *const *in, int n_in,
                             vb_tensor *const *out, int n_out, VbOpInferInfo *info, vb_error *err)
{
    const WindowParams *p = params;
    static const char *const names[] = {"HannWindow", "HammingWindow", "BlackmanWindow"};
    const char *op = names[p->kind];
    int64_t size[1];
    int count = 0;
    vb_status st = vbKernelReadInts(op, "size", in[0], size, 1, &count, err);
    if (st != VB_OK)
        return st;
    if (count != 1 || size[0] < 0)
        return vbErrorSet(err, VB_ERR_SHAPE, "%s: size must be one non-negative value", op);
    vbKernelSetShape(out[0], p->dtype, 1, size);
    return vbKernelCheckSize(op, out[0], err);
}

/* w[n] = a0 - a1 cos(2 pi n / N) + a2 cos(4 pi n / N), N = size for a
 * periodic window and size - 1 for a symmetric one. Hamming uses
 * a0 = 25/46 as the ONNX specification does. */
static vb_status windowRun(const void *params, const vb_tensor *const *in, int n_in,
                           vb_tensor *const *out, int n_out, const VbOpRunContext *ctx, vb_error *err)
{
    const WindowParams *p = params;
    static const double coefficients[3][3] = {
        {0.5, 0.5, 0.0}, {25.0 / 46.0, 21.0 / 46.0, 0.0}, {0.42, 0.5, 0.08}};
    const double *a = coefficients[p->kind];
    int64_t size = out[0]->dims[0];
    double denominator = (double)(p->periodic ? size : size - 1);
    const double pi = 3.14159265358979323846;
    for (int64_t i = 0; i < size; i++) {
        double phase = denominator > 0 ? 2.0 * pi * (double)i / denominator : 0.0;
        double w = a[0] - a[1] * cos(phase) + a[2] * cos(2.0 * phase);
        if (p->dtype == VB_DTYPE_FLOAT32)
            ((float *)out[0]->data)[i] = (float)w;
        else
            ((double *)out[0]->data)[i] = w;
    }
    return VB_OK;
}

static vb_status noParamsPrepare(const VbOnnxNode *node, int opset, void **params, vb_error *err)
{
    *params = NULL;
    return VB_OK;
}

#define SHAPE_OP(name, type, opset)                                                                \
    static const VbOpDef name = {type, opset, shapePrepare, shapeInfer, shapeRun,                  \
                                 vbKernelFreeParams, NULL, NULL}

SHAPE_OP(opIdentity, "Identity", 1);
SHAPE_OP(opDropout, "Dropout", 7);
SHAPE_OP(opShape, "Shape", 1);
SHAPE_OP(opSize, "Size", 1);
SHAPE_OP(opReshape, "Reshape", 5);
SHAPE_OP(opFlatten, "Flatten", 1);
SHAPE_OP(opSqueeze, "Squeeze", 1);
SHAPE_OP(opUnsqueeze, "Unsqueeze", 1);

static const VbOpDef opConstant = {"Constant", 1, constantPrepare, constantInfer, constantRun,
                                   vbKernelFreeParams, NULL, NULL};
static const VbOpDef opConstantOfShape = {"ConstantOfShape", 9, constantOfShapePrepare,
                                          constantOfShapeInfer, constantOfShapeRun,
                                          vbKernelFreeParams, NULL, NULL};
static const VbOpDef opRange = {"Range", 11, noParamsPrepare, rangeInfer, rangeRun,
                                vbKernelFreeParams, NULL, NULL};
static const VbOpDef opExpand = {"Expand", 8, noParamsPrepare, expandInfer, expandRun,
                                 vbKernelFreeParams, NULL, NULL};

#define WINDOW_OP(name, type)                                                                      \
    static const VbOpDef name = {type, 17, windowPrepare, windowInfer, windowRun,                  \
                                 vbKernelFreeParams, NULL, NULL}

WINDOW_OP(opHannWindow, "HannWindow");
WINDOW_OP(opHammingWindow, "HammingWindow");
WINDOW_OP(opBlackmanWindow, "BlackmanWindow");

const VbOpDef *const vbOpsShape[] = {
    &opIdentity, &opDropout, &opShape, &opSize, &opReshape, &opFlatten, &opSqueeze, &opUnsqueeze, &opConstant,
    &opConstantOfShape, &opRange, &opExpand, &opHannWindow, &opHammingWindow, &opBlackmanWindow,
    NULL,
};
