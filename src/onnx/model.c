/* ModelProto, GraphProto, NodeProto, AttributeProto and ValueInfoProto decoding, and model loading. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "onnx/decode.h"

/* Memory a model may take beyond its file: structs for every node, value
 * and attribute, plus typed tensor values widened up to 8 bytes each. The
 * cap is 8 bytes per file byte plus 256 MiB; external data raises it by
 * the bytes read. */
#define MODEL_ARENA_BASE_BYTES ((size_t)256 << 20)
#define MODEL_ARENA_BYTES_PER_FILE_BYTE 8

/* Field tables (field numbers from onnx.proto). */
enum { MODEL_IR_VERSION = 1, MODEL_PRODUCER_NAME, MODEL_PRODUCER_VERSION, MODEL_DOMAIN,
       MODEL_MODEL_VERSION, MODEL_DOC_STRING, MODEL_GRAPH, MODEL_OPSET_IMPORT,
       MODEL_METADATA_PROPS = 14, MODEL_FIELD_COUNT };
static const VbOnnxFieldDesc modelFields[MODEL_FIELD_COUNT] = {
    [MODEL_IR_VERSION] = {"ir_version", VB_WIRE_VARINT, 0},
    [MODEL_PRODUCER_NAME] = {"producer_name", VB_WIRE_LEN, 0},
    [MODEL_PRODUCER_VERSION] = {"producer_version", VB_WIRE_LEN, 0},
    [MODEL_DOMAIN] = {"domain", VB_WIRE_LEN, 0},
    [MODEL_MODEL_VERSION] = {"model_version", VB_WIRE_VARINT, 0},
    [MODEL_DOC_STRING] = {"doc_string", VB_WIRE_LEN, 0},
    [MODEL_GRAPH] = {"graph", VB_WIRE_LEN, 0},
    [MODEL_OPSET_IMPORT] = {"opset_import", VB_WIRE_LEN, 1},
    [MODEL_METADATA_PROPS] = {"metadata_props", VB_WIRE_LEN, 1},
};
static const VbOnnxMessageDesc modelDesc = {"ModelProto", MODEL_FIELD_COUNT, modelFields};

static const VbOnnxFieldDesc opsetFields[3] = {
    [1] = {"domain", VB_WIRE_LEN, 0},
    [2] = {"version", VB_WIRE_VARINT, 0},
};
static const VbOnnxMessageDesc opsetDesc = {"OperatorSetIdProto", 3, opsetFields};

enum { GRAPH_NODE = 1, GRAPH_NAME = 2, GRAPH_INITIALIZER = 5, GRAPH_DOC_STRING = 10,
       GRAPH_INPUT = 11, GRAPH_OUTPUT = 12, GRAPH_VALUE_INFO = 13,
       GRAPH_SPARSE_INITIALIZER = 15, GRAPH_FIELD_COUNT };
static const VbOnnxFieldDesc graphFields[GRAPH_FIELD_COUNT] = {
    [GRAPH_NODE] = {"node", VB_WIRE_LEN, 1},
    [GRAPH_NAME] = {"name", VB_WIRE_LEN, 0},
    [GRAPH_INITIALIZER] = {"initializer", VB_WIRE_LEN, 1},
    [GRAPH_DOC_STRING] = {"doc_string", VB_WIRE_LEN, 0},
    [GRAPH_INPUT] = {"input", VB_WIRE_LEN, 1},
    [GRAPH_OUTPUT] = {"output", VB_WIRE_LEN, 1},
    [GRAPH_VALUE_INFO] = {"value_info", VB_WIRE_LEN, 1},
    [GRAPH_SPARSE_INITIALIZER] = {"sparse_initializer", VB_WIRE_LEN, 1},
};
static const VbOnnxMessageDesc graphDesc = {"GraphProto", GRAPH_FIELD_COUNT, graphFields};

enum { NODE_INPUT = 1, NODE_OUTPUT, NODE_NAME, NODE_OP_TYPE, NODE_ATTRIBUTE, NODE_DOC_STRING,
       NODE_DOMAIN, NODE_FIELD_COUNT };
static const VbOnnxFieldDesc nodeFields[NODE_FIELD_COUNT] = {
    [NODE_INPUT] = {"input", VB_WIRE_LEN, 1},
    [NODE_OUTPUT] = {"output", VB_WIRE_LEN, 1},
    [NODE_NAME] = {"name", VB_WIRE_LEN, 0},
    [NODE_OP_TYPE] = {"op_type", VB_WIRE_LEN, 0},
    [NODE_ATTRIBUTE] = {"attribute", VB_WIRE_LEN, 1},
    [NODE_DOC_STRING] = {"doc_string", VB_WIRE_LEN, 0},
    [NODE_DOMAIN] = {"domain", VB_WIRE_LEN, 0},
};
static const VbOnnxMessageDesc nodeDesc = {"NodeProto", NODE_FIELD_COUNT, nodeFields};

enum { ATTR_NAME = 1, ATTR_F, ATTR_I, ATTR_S, ATTR_T, ATTR_G, ATTR_FLOATS, ATTR_INTS,
       ATTR_STRINGS, ATTR_TENSORS, ATTR_GRAPHS, ATTR_DOC_STRING = 13, ATTR_TP,
       ATTR_TYPE_PROTOS, ATTR_TYPE = 20, ATTR_REF_ATTR_NAME, ATTR_SPARSE_TENSOR,
       ATTR_SPARSE_TENSORS, ATTR_FIELD_COUNT };
static const VbOnnxFieldDesc attrFields[ATTR_FIELD_COUNT] = {
    [ATTR_NAME] = {"name", VB_WIRE_LEN, 0},
    [ATTR_F] = {"f", VB_WIRE_FIXED32, 0},
    [ATTR_I] = {"i", VB_WIRE_VARINT, 0},
    [ATTR_S] = {"s", VB_WIRE_LEN, 0},
    [ATTR_T] = {"t", VB_WIRE_LEN, 0},
    [ATTR_G] = {"g", VB_WIRE_LEN, 0},
    [ATTR_FLOATS] = {"floats", VB_WIRE_FIXED32, 1},
    [ATTR_INTS] = {"ints", VB_WIRE_VARINT, 1},
    [ATTR_STRINGS] = {"strings", VB_WIRE_LEN, 1},
    [ATTR_TENSORS] = {"tensors", VB_WIRE_LEN, 1},
    [ATTR_GRAPHS] = {"graphs", VB_WIRE_LEN, 1},
    [ATTR_DOC_STRING] = {"doc_string", VB_WIRE_LEN, 0},
    [ATTR_TP] = {"tp", VB_WIRE_LEN, 0},
    [ATTR_TYPE_PROTOS] = {"type_protos", VB_WIRE_LEN, 1},
    [ATTR_TYPE] = {"type", VB_WIRE_VARINT, 0},
    [ATTR_REF_ATTR_NAME] = {"ref_attr_name", VB_WIRE_LEN, 0},
    [ATTR_SPARSE_TENSOR] = {"sparse_tensor", VB_WIRE_LEN, 0},
    [ATTR_SPARSE_TENSORS] = {"sparse_tensors", VB_WIRE_LEN, 1},
};
static const VbOnnxMessageDesc attrDesc = {"AttributeProto", ATTR_FIELD_COUNT, attrFields};

static const VbOnnxFieldDesc valueInfoFields[3] = {
    [1] = {"name", VB_WIRE_LEN, 0},
    [2] = {"type", VB_WIRE_LEN, 0},
};
static const VbOnnxMessageDesc valueInfoDesc = {"ValueInfoProto", 3, valueInfoFields};

/* TypeProto: only tensor_type is decoded; sequences, maps and optionals
 * leave the value without a tensor type. */
static const VbOnnxFieldDesc typeFields[2] = {[1] = {"tensor_type", VB_WIRE_LEN, 0}};
static const VbOnnxMessageDesc typeDesc = {"TypeProto", 2, typeFields};

static const VbOnnxFieldDesc tensorTypeFields[3] = {
    [1] = {"elem_type", VB_WIRE_VARINT, 0},
    [2] = {"shape", VB_WIRE_LEN, 0},
};
static const VbOnnxMessageDesc tensorTypeDesc = {"TypeProto.Tensor", 3, tensorTypeFields};

static const VbOnnxFieldDesc shapeFields[2] = {[1] = {"dim", VB_WIRE_LEN, 1}};
static const VbOnnxMessageDesc shapeDesc = {"TensorShapeProto", 2, shapeFields};

static const VbOnnxFieldDesc dimFields[3] = {
    [1] = {"dim_value", VB_WIRE_VARINT, 0},
    [2] = {"dim_param", VB_WIRE_LEN, 0},
};
static const VbOnnxMessageDesc dimDesc = {"TensorShapeProto.Dimension", 3, dimFields};

/* SparseTensorProto: only the name of its values tensor is read, to find
 * nodes that use the sparse initializer. */
static const VbOnnxFieldDesc sparseFields[2] = {[1] = {"values", VB_WIRE_LEN, 0}};
static const VbOnnxMessageDesc sparseDesc = {"SparseTensorProto", 2, sparseFields};
static const VbOnnxFieldDesc sparseValuesFields[9] = {[8] = {"name", VB_WIRE_LEN, 0}};
static const VbOnnxMessageDesc sparseValuesDesc = {"TensorProto", 9, sparseValuesFields};

/* Upper bound for repeated fields other than nodes and attribute values
 * (inputs, outputs, initializers, attributes per node, opsets). */
#define MAX_ENTRIES VB_ONNX_MAX_NODES

/* The private part of a model: its memory and the bytes it was decoded from. */
struct VbOnnxModelStorage {
    VbOnnxArena arena;
    VbMappedFile file;       /* zeroed for models decoded from a caller's buffer */
    const uint8_t *source;   /* the decoded bytes: the mapping or the caller's buffer */
    size_t source_size;
};

/* A model and its storage in one allocation; the model comes first so that
 * vbOnnxModelFree can convert back. */
typedef struct ModelBlock {
    VbOnnxModel model;
    struct VbOnnxModelStorage storage;
} ModelBlock;

static vb_status decodeGraph(VbOnnxDecoder *dec, const VbOnnxWire *w, const VbOnnxField *f,
                             int depth, VbOnnxGraph *g, vb_error *err);

/* Allocates an array of count elements of size bytes from the arena. */
static void *allocArray(VbOnnxDecoder *dec, size_t count, size_t size, vb_error *err)
{
    size_t total;
    if (vbMulSize(count, size, &total)) {
        vbErrorSet(err, VB_ERR_LIMIT, "array of %zu entries overflows", count);
        return NULL;
    }
    return vbOnnxArenaAlloc(dec->arena, total, sizeof(void *), err);
}

static vb_status failed(vb_error *err)
{
    return err != NULL && err->status != VB_OK ? err->status : VB_ERR_NO_MEMORY;
}

static vb_status decodeOpset(VbOnnxDecoder *dec, const VbOnnxWire *w, const VbOnnxField *f,
                             VbOnnxOpset *opset, vb_error *err)
{
    VbOnnxWire in;
    vbOnnxWireEnter(&in, w, f, &opsetDesc);
    opset->domain = "";
    for (;;) {
        VbOnnxField g;
        vb_status st = vbOnnxWireNext(&in, &g, err);
        if (st != VB_OK)
            return st;
        if (g.number == 0)
            return VB_OK;
        if (g.number == 1 && (opset->domain = vbOnnxDecodeString(dec, &g, err)) == NULL)
            return failed(err);
        if (g.number == 2)
            opset->version = (int64_t)g.value;
    }
}

/* Decodes a TensorShapeProto.Dimension into dims[axis] and dim_params[axis]. */
static vb_status decodeDim(VbOnnxDecoder *dec, const VbOnnxWire *w, const VbOnnxField *f,
                           VbOnnxValueInfo *vi, int axis, vb_error *err)
{
    VbOnnxWire in;
    vbOnnxWireEnter(&in, w, f, &dimDesc);
    vi->dims[axis] = -1;
    for (;;) {
        VbOnnxField g;
        vb_status st = vbOnnxWireNext(&in, &g, err);
        if (st != VB_OK)
            return st;
        if (g.number == 0)
            return VB_OK;
        /* A negative dim_value is invalid ONNX, but some exporters write -1
         * for a dynamic axis, so it reads as unknown. */
        if (g.number == 1)
            vi->dims[axis] = (int64_t)g.value >= 0 ? (int64_t)g.value : -1;
        if (g.number == 2 && (vi->dim_params[axis] = vbOnnxDecodeString(dec, &g, err)) == NULL)
            return failed(err);
    }
}

static vb_status decodeShape(VbOnnxDecoder *dec, const VbOnnxWire *w, const VbOnnxField *f,
                             VbOnnxValueInfo *vi, int strict, vb_error *err)
{
    VbOnnxWire in;
    size_t counts[2];
    vbOnnxWireEnter(&in, w, f, &shapeDesc);
    vb_status st = vbOnnxWireCount(&in, counts, err);
    if (st != VB_OK)
        return st;
    if (counts[1] > VB_MAX_RANK) {
        /* Graph inputs and outputs must fit; an intermediate annotation
         * that does not is dropped, because the engine infers it anyway. */
        if (strict)
            return vbErrorSet(err, VB_ERR_UNSUPPORTED, "value '%s' has rank %zu; visionbench supports up to rank %d",
                              vi->name, counts[1], VB_MAX_RANK);
        vi->rank = -1;
        return VB_OK;
    }
    vi->rank = (int)counts[1];
    int axis = 0;
    for (;;) {
        VbOnnxField g;
        st = vbOnnxWireNext(&in, &g, err);
        if (st != VB_OK)
            return st;
        if (g.number == 0)
            return VB_OK;
        if (g.number == 1 && (st = decodeDim(dec, &in, &g, vi, axis++, err)) != VB_OK)
            return st;
    }
}

static vb_status decodeTensorType(VbOnnxDecoder *dec, const VbOnnxWire *w, const VbOnnxField *f,
                                  VbOnnxValueInfo *vi, int strict, vb_error *err)
{
    VbOnnxWire in;
    vbOnnxWireEnter(&in, w, f, &tensorTypeDesc);
    for (;;) {
        VbOnnxField g;
        vb_status st = vbOnnxWireNext(&in, &g, err);
        if (st != VB_OK)
            return st;
        if (g.number == 0)
            return VB_OK;
        /* Types vb_dtype cannot name (bfloat16, float8, ...) stay undefined;
         * the engine rejects them when it needs them. */
        if (g.number == 1)
            vi->dtype = g.value <= VB_DTYPE_UINT64 ? (vb_dtype)g.value : VB_DTYPE_UNDEFINED;
        if (g.number == 2 && (st = decodeShape(dec, &in, &g, vi, strict, err)) != VB_OK)
            return st;
    }
}

/* Decodes a ValueInfoProto. strict: a rank above VB_MAX_RANK is an error
 * (graph inputs and outputs) instead of an unknown shape. */
static vb_status decodeValueInfo(VbOnnxDecoder *dec, const VbOnnxWire *w, const VbOnnxField *f,
                                 VbOnnxValueInfo *vi, int strict, vb_error *err)
{
    VbOnnxWire in;
    vbOnnxWireEnter(&in, w, f, &valueInfoDesc);
    vi->name = "";
    vi->dtype = VB_DTYPE_UNDEFINED;
    vi->rank = -1;
    for (;;) {
        VbOnnxField g;
        vb_status st = vbOnnxWireNext(&in, &g, err);
        if (st != VB_OK)
            return st;
        if (g.number == 0)
            return VB_OK;
        if (g.number == 1 && (vi->name = vbOnnxDecodeString(dec, &g, err)) == NULL)
            return failed(err);
        if (g.number != 2)
            continue;

        /* TypeProto: only tensor_type matters. */
        VbOnnxWire type;
        vbOnnxWireEnter(&type, &in, &g, &typeDesc);
        for (;;) {
            VbOnnxField h;
            st = vbOnnxWireNext(&type, &h, err);
            if (st != VB_OK)
                return st;
            if (h.number == 0)
                break;
            if (h.number == 1 && (st = decodeTensorType(dec, &type, &h, vi, strict, err)) != VB_OK)
                return st;
        }
    }
}

/* Allocates the value arrays of an attribute from the counts of its fields. */
static vb_status allocAttrArrays(VbOnnxDecoder *dec, VbOnnxAttr *a, const size_t *counts,
                                 size_t at, vb_error *err)
{
    static const int listed[] = {ATTR_FLOATS, ATTR_INTS, ATTR_STRINGS, ATTR_TENSORS, ATTR_GRAPHS};
    for (size_t k = 0; k < sizeof listed / sizeof listed[0]; k++) {
        if (counts[listed[k]] > VB_ONNX_MAX_ATTR_ELEMENTS)
            return vbErrorSet(err, VB_ERR_LIMIT, "AttributeProto at byte %zu has %zu %s, more than the limit of %d",
                              at, counts[listed[k]], attrFields[listed[k]].name, VB_ONNX_MAX_ATTR_ELEMENTS);
    }
    if (counts[ATTR_FLOATS] &&
        (a->floats = allocArray(dec, counts[ATTR_FLOATS], sizeof(float), err)) == NULL)
        return failed(err);
    if (counts[ATTR_INTS] &&
        (a->ints = allocArray(dec, counts[ATTR_INTS], sizeof(int64_t), err)) == NULL)
        return failed(err);
    if (counts[ATTR_STRINGS] &&
        (a->strings = allocArray(dec, counts[ATTR_STRINGS], sizeof(char *), err)) == NULL)
        return failed(err);
    if (counts[ATTR_TENSORS] &&
        (a->tensors = allocArray(dec, counts[ATTR_TENSORS], sizeof(VbOnnxTensor *), err)) == NULL)
        return failed(err);
    if (counts[ATTR_GRAPHS] &&
        (a->graphs = allocArray(dec, counts[ATTR_GRAPHS], sizeof(VbOnnxGraph *), err)) == NULL)
        return failed(err);
    return VB_OK;
}

/* Decodes one field of an AttributeProto into a; *inferred records the
 * type its value field implies, for files that omit AttributeProto.type. */
static vb_status decodeAttrField(VbOnnxDecoder *dec, const VbOnnxWire *in, const VbOnnxField *g,
                                 int depth, VbOnnxAttr *a, VbOnnxAttrType *inferred, vb_error *err)
{
    VbOnnxScalars values;
    uint64_t v;
    uint32_t bits;

    switch (g->number) {
    case ATTR_NAME:
        return (a->name = vbOnnxDecodeString(dec, g, err)) ? VB_OK : failed(err);
    case ATTR_TYPE:
        a->type = (VbOnnxAttrType)(int32_t)(uint32_t)g->value;
        return VB_OK;
    case ATTR_F:
        bits = (uint32_t)g->value;
        memcpy(&a->f, &bits, sizeof bits);
        *inferred = VB_ONNX_ATTR_FLOAT;
        return VB_OK;
    case ATTR_I:
        a->i = (int64_t)g->value;
        *inferred = VB_ONNX_ATTR_INT;
        return VB_OK;
    case ATTR_S:
        a->s_len = g->len;
        *inferred = VB_ONNX_ATTR_STRING;
        return (a->s = vbOnnxDecodeString(dec, g, err)) ? VB_OK : failed(err);
    case ATTR_T: {
        VbOnnxTensor *t = allocArray(dec, 1, sizeof *t, err);
        if (t == NULL)
            return failed(err);
        a->t = t;
        *inferred = VB_ONNX_ATTR_TENSOR;
        return vbOnnxDecodeTensor(dec, in, g, t, err);
    }
    case ATTR_G: {
        VbOnnxGraph *sub = allocArray(dec, 1, sizeof *sub, err);
        if (sub == NULL)
            return failed(err);
        a->g = sub;
        *inferred = VB_ONNX_ATTR_GRAPH;
        return decodeGraph(dec, in, g, depth + 1, sub, err);
    }
    case ATTR_FLOATS:
        vbOnnxScalarsBegin(&values, g, VB_WIRE_FIXED32);
        while (vbOnnxScalarsNext(&values, &v)) {
            bits = (uint32_t)v;
            memcpy((float *)a->floats + a->float_count++, &bits, sizeof bits);
        }
        *inferred = VB_ONNX_ATTR_FLOATS;
        return VB_OK;
    case ATTR_INTS:
        vbOnnxScalarsBegin(&values, g, VB_WIRE_VARINT);
        while (vbOnnxScalarsNext(&values, &v))
            ((int64_t *)a->ints)[a->int_count++] = (int64_t)v;
        *inferred = VB_ONNX_ATTR_INTS;
        return VB_OK;
    case ATTR_STRINGS: {
        char *s = vbOnnxDecodeString(dec, g, err);
        if (s == NULL)
            return failed(err);
        ((const char **)a->strings)[a->string_count++] = s;
        *inferred = VB_ONNX_ATTR_STRINGS;
        return VB_OK;
    }
    case ATTR_TENSORS: {
        VbOnnxTensor *t = allocArray(dec, 1, sizeof *t, err);
        if (t == NULL)
            return failed(err);
        ((const VbOnnxTensor **)a->tensors)[a->tensor_count++] = t;
        *inferred = VB_ONNX_ATTR_TENSORS;
        return vbOnnxDecodeTensor(dec, in, g, t, err);
    }
    case ATTR_GRAPHS: {
        VbOnnxGraph *sub = allocArray(dec, 1, sizeof *sub, err);
        if (sub == NULL)
            return failed(err);
        ((const VbOnnxGraph **)a->graphs)[a->graph_count++] = sub;
        *inferred = VB_ONNX_ATTR_GRAPHS;
        return decodeGraph(dec, in, g, depth + 1, sub, err);
    }
    }
    return VB_OK;
}

static vb_status decodeAttr(VbOnnxDecoder *dec, const VbOnnxWire *w, const VbOnnxField *f,
                            int depth, VbOnnxAttr *a, vb_error *err)
{
    VbOnnxWire in;
    size_t counts[ATTR_FIELD_COUNT];
    vbOnnxWireEnter(&in, w, f, &attrDesc);
    vb_status st = vbOnnxWireCount(&in, counts, err);
    if (st != VB_OK)
        return st;
    st = allocAttrArrays(dec, a, counts, f->offset, err);
    if (st != VB_OK)
        return st;

    VbOnnxAttrType inferred = VB_ONNX_ATTR_UNDEFINED;
    for (;;) {
        VbOnnxField g;
        st = vbOnnxWireNext(&in, &g, err);
        if (st != VB_OK)
            return st;
        if (g.number == 0)
            break;
        st = decodeAttrField(dec, &in, &g, depth, a, &inferred, err);
        if (st != VB_OK)
            return st;
    }

    if (a->name == NULL)
        return vbErrorSet(err, VB_ERR_PARSE, "AttributeProto at byte %zu has no name", f->offset);
    if (a->type == VB_ONNX_ATTR_UNDEFINED)
        a->type = inferred;

    /* An empty list is present, so its pointer is not NULL. */
    static const int64_t no_ints[1];
    static const float no_floats[1];
    if (a->type == VB_ONNX_ATTR_INTS && a->ints == NULL)
        a->ints = no_ints;
    if (a->type == VB_ONNX_ATTR_FLOATS && a->floats == NULL)
        a->floats = no_floats;
    return VB_OK;
}

static vb_status decodeNode(VbOnnxDecoder *dec, const VbOnnxWire *w, const VbOnnxField *f,
                            int depth, VbOnnxNode *node, vb_error *err)
{
    VbOnnxWire in;
    size_t counts[NODE_FIELD_COUNT];
    vbOnnxWireEnter(&in, w, f, &nodeDesc);
    vb_status st = vbOnnxWireCount(&in, counts, err);
    if (st != VB_OK)
        return st;
    if ((st = vbOnnxCheckCount(counts[NODE_INPUT], MAX_ENTRIES, "NodeProto.input", err)) != VB_OK ||
        (st = vbOnnxCheckCount(counts[NODE_OUTPUT], MAX_ENTRIES, "NodeProto.output", err)) != VB_OK ||
        (st = vbOnnxCheckCount(counts[NODE_ATTRIBUTE], MAX_ENTRIES, "NodeProto.attribute", err)) != VB_OK)
        return st;

    const char **inputs = allocArray(dec, counts[NODE_INPUT], sizeof(char *), err);
    const char **outputs = allocArray(dec, counts[NODE_OUTPUT], sizeof(char *), err);
    VbOnnxAttr *attrs = allocArray(dec, counts[NODE_ATTRIBUTE], sizeof(VbOnnxAttr), err);
    if (inputs == NULL || outputs == NULL || attrs == NULL)
        return failed(err);
    node->inputs = inputs;
    node->outputs = outputs;
    node->attrs = attrs;
    node->name = "";
    node->domain = "";

    for (;;) {
        VbOnnxField g;
        st = vbOnnxWireNext(&in, &g, err);
        if (st != VB_OK)
            return st;
        if (g.number == 0)
            break;
        const char *s = NULL;
        if (g.number == NODE_INPUT || g.number == NODE_OUTPUT || g.number == NODE_NAME ||
            g.number == NODE_OP_TYPE || g.number == NODE_DOMAIN) {
            if ((s = vbOnnxDecodeString(dec, &g, err)) == NULL)
                return failed(err);
        }
        switch (g.number) {
        case NODE_INPUT: inputs[node->input_count++] = s; break;
        case NODE_OUTPUT: outputs[node->output_count++] = s; break;
        case NODE_NAME: node->name = s; break;
        case NODE_OP_TYPE: node->op_type = s; break;
        case NODE_DOMAIN: node->domain = s; break;
        case NODE_ATTRIBUTE:
            st = decodeAttr(dec, &in, &g, depth, &attrs[node->attr_count++], err);
            if (st != VB_OK)
                return st;
            break;
        default: break;
        }
    }
    if (node->op_type == NULL || node->op_type[0] == '\0')
        return vbErrorSet(err, VB_ERR_PARSE, "node '%s' at byte %zu has no op_type", node->name, f->offset);
    return VB_OK;
}

/* Reads the name of a SparseTensorProto's values tensor ("" when absent). */
static vb_status sparseName(VbOnnxDecoder *dec, const VbOnnxWire *w, const VbOnnxField *f,
                            const char **name, vb_error *err)
{
    VbOnnxWire in;
    vbOnnxWireEnter(&in, w, f, &sparseDesc);
    *name = "";
    for (;;) {
        VbOnnxField g;
        vb_status st = vbOnnxWireNext(&in, &g, err);
        if (st != VB_OK || g.number == 0)
            return st;
        if (g.number != 1)
            continue;
        VbOnnxWire values;
        vbOnnxWireEnter(&values, &in, &g, &sparseValuesDesc);
        for (;;) {
            VbOnnxField h;
            st = vbOnnxWireNext(&values, &h, err);
            if (st != VB_OK)
                return st;
            if (h.number == 0)
                break;
            if (h.number == 8 && (*name = vbOnnxDecodeString(dec, &h, err)) == NULL)
                return failed(err);
        }
    }
}

static int compareNames(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Returns the first node of g or its subgraphs that reads a name in names
 * (sorted, count entries), or NULL. *name is set to the name it reads. */
static const VbOnnxNode *findUser(const VbOnnxGraph *g, const char **names, size_t count,
                                  const char **name)
{
    for (int n = 0; n < g->node_count; n++) {
        const VbOnnxNode *node = &g->nodes[n];
        for (int i = 0; i < node->input_count; i++) {
            const char **hit = bsearch(&node->inputs[i], names, count, sizeof *names, compareNames);
            if (hit != NULL) {
                *name = *hit;
                return node;
            }
        }
        for (int a = 0; a < node->attr_count; a++) {
            const VbOnnxAttr *attr = &node->attrs[a];
            const VbOnnxNode *user = attr->g != NULL ? findUser(attr->g, names, count, name) : NULL;
            for (int k = 0; user == NULL && k < attr->graph_count; k++)
                user = findUser(attr->graphs[k], names, count, name);
            if (user != NULL)
                return user;
        }
    }
    return NULL;
}

/* Rejects the graph when a node or graph output uses one of its count
 * sparse initializers; unused ones are ignored. Names are sorted once and
 * searched, so the check stays O(n log n) in hostile files. */
static vb_status checkSparse(VbOnnxDecoder *dec, const VbOnnxWire *in, size_t count,
                             const VbOnnxGraph *g, vb_error *err)
{
    vb_status st;
    const char **names = allocArray(dec, count, sizeof *names, err);
    if (names == NULL)
        return failed(err);

    /* Collect and sort the names. */
    VbOnnxWire scan = *in;
    size_t n = 0;
    for (;;) {
        VbOnnxField f;
        if ((st = vbOnnxWireNext(&scan, &f, err)) != VB_OK)
            return st;
        if (f.number == 0)
            break;
        if (f.number == GRAPH_SPARSE_INITIALIZER && n < count &&
            (st = sparseName(dec, &scan, &f, &names[n++], err)) != VB_OK)
            return st;
    }
    qsort(names, n, sizeof *names, compareNames);

    /* Look for users. */
    const char *name = NULL;
    const VbOnnxNode *user = findUser(g, names, n, &name);
    if (user != NULL)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED,
                          "sparse initializer '%s' is used by node '%s' (%s); visionbench does not support sparse tensors",
                          name, user->name, user->op_type);
    for (int i = 0; i < g->output_count; i++) {
        if (bsearch(&g->outputs[i].name, names, n, sizeof *names, compareNames) != NULL)
            return vbErrorSet(err, VB_ERR_UNSUPPORTED,
                              "sparse initializer '%s' is a graph output; visionbench does not support sparse tensors",
                              g->outputs[i].name);
    }
    return VB_OK;
}

static vb_status decodeGraph(VbOnnxDecoder *dec, const VbOnnxWire *w, const VbOnnxField *f,
                             int depth, VbOnnxGraph *g, vb_error *err)
{
    VbOnnxWire in;
    size_t counts[GRAPH_FIELD_COUNT];
    vb_status st;

    /* Count the repeated fields, check them against the limits, allocate. */
    if (depth > VB_ONNX_MAX_GRAPH_DEPTH)
        return vbErrorSet(err, VB_ERR_LIMIT, "GraphProto at byte %zu is nested %d levels deep, more than the limit of %d",
                          f->offset, depth, VB_ONNX_MAX_GRAPH_DEPTH);
    vbOnnxWireEnter(&in, w, f, &graphDesc);
    if ((st = vbOnnxWireCount(&in, counts, err)) != VB_OK)
        return st;
    if ((st = vbOnnxCheckCount(counts[GRAPH_NODE], VB_ONNX_MAX_NODES, "GraphProto.node", err)) != VB_OK ||
        (st = vbOnnxCheckCount(counts[GRAPH_INITIALIZER], MAX_ENTRIES, "GraphProto.initializer", err)) != VB_OK ||
        (st = vbOnnxCheckCount(counts[GRAPH_INPUT], MAX_ENTRIES, "GraphProto.input", err)) != VB_OK ||
        (st = vbOnnxCheckCount(counts[GRAPH_OUTPUT], MAX_ENTRIES, "GraphProto.output", err)) != VB_OK ||
        (st = vbOnnxCheckCount(counts[GRAPH_VALUE_INFO], MAX_ENTRIES, "GraphProto.value_info", err)) != VB_OK ||
        (st = vbOnnxCheckCount(counts[GRAPH_SPARSE_INITIALIZER], MAX_ENTRIES, "GraphProto.sparse_initializer", err)) != VB_OK)
        return st;
    VbOnnxNode *nodes = allocArray(dec, counts[GRAPH_NODE], sizeof(VbOnnxNode), err);
    VbOnnxTensor *inits = allocArray(dec, counts[GRAPH_INITIALIZER], sizeof(VbOnnxTensor), err);
    VbOnnxValueInfo *inputs = allocArray(dec, counts[GRAPH_INPUT], sizeof(VbOnnxValueInfo), err);
    VbOnnxValueInfo *outputs = allocArray(dec, counts[GRAPH_OUTPUT], sizeof(VbOnnxValueInfo), err);
    VbOnnxValueInfo *infos = allocArray(dec, counts[GRAPH_VALUE_INFO], sizeof(VbOnnxValueInfo), err);
    if (nodes == NULL || inits == NULL || inputs == NULL || outputs == NULL || infos == NULL)
        return failed(err);
    g->nodes = nodes;
    g->initializers = inits;
    g->inputs = inputs;
    g->outputs = outputs;
    g->value_infos = infos;
    g->name = "";

    /* Decode every field in file order. */
    VbOnnxWire start = in;
    for (;;) {
        VbOnnxField h;
        if ((st = vbOnnxWireNext(&in, &h, err)) != VB_OK)
            return st;
        if (h.number == 0)
            break;
        switch (h.number) {
        case GRAPH_NODE:
            st = decodeNode(dec, &in, &h, depth, &nodes[g->node_count++], err);
            break;
        case GRAPH_NAME:
            if ((g->name = vbOnnxDecodeString(dec, &h, err)) == NULL)
                st = failed(err);
            break;
        case GRAPH_INITIALIZER:
            st = vbOnnxDecodeTensor(dec, &in, &h, &inits[g->initializer_count++], err);
            break;
        case GRAPH_INPUT:
            st = decodeValueInfo(dec, &in, &h, &inputs[g->input_count++], 1, err);
            break;
        case GRAPH_OUTPUT:
            st = decodeValueInfo(dec, &in, &h, &outputs[g->output_count++], 1, err);
            break;
        case GRAPH_VALUE_INFO:
            st = decodeValueInfo(dec, &in, &h, &infos[g->value_info_count++], 0, err);
            break;
        default:
            break;
        }
        if (st != VB_OK)
            return st;
    }

    if (counts[GRAPH_SPARSE_INITIALIZER] > 0)
        return checkSparse(dec, &start, counts[GRAPH_SPARSE_INITIALIZER], g, err);
    return VB_OK;
}

static vb_status decodeModel(VbOnnxDecoder *dec, VbOnnxModel *m, vb_error *err)
{
    VbOnnxWire in;
    size_t counts[MODEL_FIELD_COUNT];
    vbOnnxWireInit(&in, dec->base, dec->base, dec->size, &modelDesc);
    vb_status st = vbOnnxWireCount(&in, counts, err);
    if (st != VB_OK)
        return st;
    if ((st = vbOnnxCheckCount(counts[MODEL_OPSET_IMPORT], MAX_ENTRIES, "ModelProto.opset_import", err)) != VB_OK ||
        (st = vbOnnxCheckCount(counts[MODEL_METADATA_PROPS], MAX_ENTRIES, "ModelProto.metadata_props", err)) != VB_OK)
        return st;
    VbOnnxOpset *opsets = allocArray(dec, counts[MODEL_OPSET_IMPORT], sizeof(VbOnnxOpset), err);
    VbOnnxMetadata *meta = allocArray(dec, counts[MODEL_METADATA_PROPS], sizeof(VbOnnxMetadata), err);
    if (opsets == NULL || meta == NULL)
        return failed(err);
    m->opsets = opsets;
    m->metadata = meta;
    m->producer_name = m->producer_version = m->domain = "";

    for (;;) {
        VbOnnxField f;
        if ((st = vbOnnxWireNext(&in, &f, err)) != VB_OK)
            return st;
        if (f.number == 0)
            break;
        switch (f.number) {
        case MODEL_IR_VERSION: m->ir_version = (int64_t)f.value; break;
        case MODEL_MODEL_VERSION: m->model_version = (int64_t)f.value; break;
        case MODEL_PRODUCER_NAME:
            if ((m->producer_name = vbOnnxDecodeString(dec, &f, err)) == NULL)
                st = failed(err);
            break;
        case MODEL_PRODUCER_VERSION:
            if ((m->producer_version = vbOnnxDecodeString(dec, &f, err)) == NULL)
                st = failed(err);
            break;
        case MODEL_DOMAIN:
            if ((m->domain = vbOnnxDecodeString(dec, &f, err)) == NULL)
                st = failed(err);
            break;
        case MODEL_OPSET_IMPORT:
            st = decodeOpset(dec, &in, &f, &opsets[m->opset_count++], err);
            break;
        case MODEL_METADATA_PROPS: {
            VbOnnxMetadata *e = &meta[m->metadata_count++];
            st = vbOnnxDecodeEntry(dec, &in, &f, &e->key, &e->value, err);
            break;
        }
        case MODEL_GRAPH: {
            /* protobuf would merge repeated graph fields; ONNX writers emit one. */
            if (m->graph != NULL)
                return vbErrorSet(err, VB_ERR_PARSE, "ModelProto has a second graph at byte %zu", f.offset);
            VbOnnxGraph *g = allocArray(dec, 1, sizeof *g, err);
            if (g == NULL)
                return failed(err);
            st = decodeGraph(dec, &in, &f, 1, g, err);
            m->graph = g;
            break;
        }
        default: break;
        }
        if (st != VB_OK)
            return st;
    }
    if (m->graph == NULL)
        return vbErrorSet(err, VB_ERR_PARSE, "ModelProto has no graph (%zu bytes read); the file is not an ONNX model",
                          dec->size);
    return VB_OK;
}

/* Names the file format that data starts with when it is a common
 * non-ONNX one, or returns NULL. */
static const char *foreignFormat(const uint8_t *data, size_t size)
{
    if (size >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff)
        return "a JPEG image";
    if (size >= 8 && memcmp(data, "\x89PNG\r\n\x1a\n", 8) == 0)
        return "a PNG image";
    if (size >= 4 && memcmp(data, "PK\x03\x04", 4) == 0)
        return "a ZIP archive (a PyTorch checkpoint?)";
    if (size >= 1 && (data[0] == '{' || data[0] == '['))
        return "JSON text";
    return NULL;
}

/* Decodes size bytes at data into a new model that keeps file (may be
 * zeroed) and frees it on failure. */
static vb_status loadModel(const uint8_t *data, size_t size, const char *base_dir,
                           VbMappedFile *file, VbOnnxModel **out, vb_error *err)
{
    *out = NULL;
    ModelBlock *block = calloc(1, sizeof *block);
    if (block == NULL) {
        vbFileUnmap(file);
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory");
    }
    struct VbOnnxModelStorage *storage = &block->storage;
    storage->file = *file;
    storage->source = data;
    storage->source_size = size;
    block->model.storage = storage;
    block->model.file_bytes = size;

    size_t max = SIZE_MAX;
    if (!vbMulSize(size, MODEL_ARENA_BYTES_PER_FILE_BYTE, &max) && vbAddSize(max, MODEL_ARENA_BASE_BYTES, &max))
        max = SIZE_MAX;
    vbOnnxArenaInit(&storage->arena, max);

    vb_status st;
    if (size == 0) {
        st = vbErrorSet(err, VB_ERR_PARSE, "the model is empty (0 bytes); expected an ONNX protobuf file");
    } else {
        VbOnnxDecoder dec = {data, size, 1, base_dir, &storage->arena};
        st = decodeModel(&dec, &block->model, err);
    }
    const char *format = foreignFormat(data, size);
    if (st == VB_ERR_PARSE && format != NULL)
        st = vbErrorSet(err, VB_ERR_PARSE, "the file is %s, not an ONNX model", format);
    if (st != VB_OK) {
        vbOnnxErrorOneLine(err);
        vbOnnxModelFree(&block->model);
        return st;
    }
    *out = &block->model;
    return VB_OK;
}

vb_status vbOnnxModelLoadBuffer(const uint8_t *data, size_t size, const char *base_dir,
                                VbOnnxModel **out, vb_error *err)
{
    VbMappedFile none = {NULL, 0};
    if (out == NULL || (data == NULL && size > 0))
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT, "vbOnnxModelLoadBuffer: NULL data or out");
    return loadModel(data, size, base_dir, &none, out, err);
}

vb_status vbOnnxModelLoad(const char *path, VbOnnxModel **out, vb_error *err)
{
    if (out == NULL || path == NULL)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT, "vbOnnxModelLoad: NULL path or out");
    *out = NULL;

    /* External data files are named relative to the model's folder. */
    const char *slash = strrchr(path, '/');
    char *dir = slash == NULL ? vbStrdup(".") : strndup(path, slash == path ? 1 : (size_t)(slash - path));
    if (dir == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory");

    VbMappedFile file;
    vb_status st = vbFileMap(path, &file, err);
    if (st == VB_OK)
        st = loadModel(file.data, file.size, dir, &file, out, err);
    if (st != VB_OK && err != NULL && strncmp(err->message, path, strlen(path)) != 0)
        vbErrorPrefix(err, "%s: ", path);
    if (st != VB_OK)
        vbOnnxErrorOneLine(err);
    free(dir);
    return st;
}

void vbOnnxModelFree(VbOnnxModel *model)
{
    if (model == NULL)
        return;
    ModelBlock *block = (ModelBlock *)model;
    vbOnnxArenaFree(&block->storage.arena);
    vbFileUnmap(&block->storage.file);
    free(block);
}

int vbOnnxTensorIsZeroCopy(const VbOnnxModel *model, const VbOnnxTensor *tensor)
{
    if (model == NULL || tensor == NULL || tensor->data == NULL)
        return 0;
    const uint8_t *p = tensor->data;
    const struct VbOnnxModelStorage *s = model->storage;
    return p >= s->source && p < s->source + s->source_size;
}

static int isDefaultDomain(const char *domain)
{
    return domain[0] == '\0' || strcmp(domain, "ai.onnx") == 0;
}

int64_t vbOnnxModelOpset(const VbOnnxModel *model, const char *domain)
{
    int64_t best = -1;
    if (model == NULL || domain == NULL)
        return -1;
    for (int i = 0; i < model->opset_count; i++) {
        const char *d = model->opsets[i].domain;
        int match = isDefaultDomain(domain) ? isDefaultDomain(d) : strcmp(d, domain) == 0;
        if (match && model->opsets[i].version > best)
            best = model->opsets[i].version;
    }
    return best;
}
