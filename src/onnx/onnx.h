/* In-memory form of an ONNX ModelProto, decoded from a mapped file with every length checked. */
#ifndef VB_ONNX_H
#define VB_ONNX_H

#include <stddef.h>
#include <stdint.h>

#include "visionbench/engine.h"
#include "visionbench/status.h"

/* Hard limits on what a model file may declare; larger values are rejected
 * with VB_ERR_LIMIT before anything is allocated for them. */
#define VB_ONNX_MAX_NODES 1000000
#define VB_ONNX_MAX_ATTR_ELEMENTS (64 * 1024 * 1024)
#define VB_ONNX_MAX_GRAPH_DEPTH 16

/* AttributeProto.AttributeType values. */
typedef enum VbOnnxAttrType {
    VB_ONNX_ATTR_UNDEFINED = 0,
    VB_ONNX_ATTR_FLOAT = 1,
    VB_ONNX_ATTR_INT = 2,
    VB_ONNX_ATTR_STRING = 3,
    VB_ONNX_ATTR_TENSOR = 4,
    VB_ONNX_ATTR_GRAPH = 5,
    VB_ONNX_ATTR_FLOATS = 6,
    VB_ONNX_ATTR_INTS = 7,
    VB_ONNX_ATTR_STRINGS = 8,
    VB_ONNX_ATTR_TENSORS = 9,
    VB_ONNX_ATTR_GRAPHS = 10,
    VB_ONNX_ATTR_SPARSE_TENSOR = 11,
    VB_ONNX_ATTR_SPARSE_TENSORS = 12,
    VB_ONNX_ATTR_TYPE_PROTO = 13,
    VB_ONNX_ATTR_TYPE_PROTOS = 14
} VbOnnxAttrType;

struct VbOnnxGraph;

/* A TensorProto (initializer, Constant value or test data). data contains
 * count elements of dtype in little-endian C order, aligned to the element
 * size. It points into the mapped model file when the file's raw_data is
 * aligned (zero-copy), and into memory owned by the model otherwise (typed
 * fields such as float_data, misaligned raw_data, external data files). */
typedef struct VbOnnxTensor {
    const char *name;
    vb_dtype dtype;
    int rank;
    int64_t dims[VB_MAX_RANK];
    size_t count;          /* product of dims; 1 for a scalar */
    size_t nbytes;         /* count * element size */
    const void *data;      /* NULL only when count is 0 */
    int is_external;       /* data came from an external data file */
} VbOnnxTensor;

/* An AttributeProto. Only the fields matching type are meaningful. Strings
 * are NUL-terminated copies; s_len also counts embedded NUL bytes. */
typedef struct VbOnnxAttr {
    const char *name;
    VbOnnxAttrType type;
    float f;
    int64_t i;
    const char *s;
    size_t s_len;
    const VbOnnxTensor *t;
    const struct VbOnnxGraph *g;
    int float_count;
    const float *floats;
    int int_count;
    const int64_t *ints;
    int string_count;
    const char *const *strings;
    int tensor_count;
    const VbOnnxTensor *const *tensors;
    int graph_count;
    const struct VbOnnxGraph *const *graphs;
} VbOnnxAttr;

/* A NodeProto. An empty input name ("") marks an omitted optional input. */
typedef struct VbOnnxNode {
    const char *name;      /* "" when the file gives none */
    const char *op_type;
    const char *domain;    /* "" for the default ONNX domain */
    int input_count;
    const char *const *inputs;
    int output_count;
    const char *const *outputs;
    int attr_count;
    const VbOnnxAttr *attrs;
} VbOnnxNode;

/* A ValueInfoProto with a tensor type. dtype is VB_DTYPE_UNDEFINED for
 * non-tensor or absent types, rank -1 when the shape is absent, and a dim is
 * -1 when only a symbolic name (dim_params[i]) or nothing is given. */
typedef struct VbOnnxValueInfo {
    const char *name;
    vb_dtype dtype;
    int rank;
    int64_t dims[VB_MAX_RANK];
    const char *dim_params[VB_MAX_RANK];
} VbOnnxValueInfo;

/* A GraphProto. Nodes are in file order, which need not be topological. */
typedef struct VbOnnxGraph {
    const char *name;
    int node_count;
    const VbOnnxNode *nodes;
    int initializer_count;
    const VbOnnxTensor *initializers;
    int input_count;
    const VbOnnxValueInfo *inputs;     /* may also list initializers (IR < 4 models) */
    int output_count;
    const VbOnnxValueInfo *outputs;
    int value_info_count;
    const VbOnnxValueInfo *value_infos;
} VbOnnxGraph;

typedef struct VbOnnxOpset {
    const char *domain;    /* "" and "ai.onnx" both mean the default domain */
    int64_t version;
} VbOnnxOpset;

typedef struct VbOnnxMetadata {
    const char *key;
    const char *value;
} VbOnnxMetadata;

/* A decoded ModelProto. Owns every string, array and copied tensor, and the
 * file mapping that zero-copy tensors point into. */
typedef struct VbOnnxModel {
    int64_t ir_version;
    const char *producer_name;
    const char *producer_version;
    const char *domain;
    int64_t model_version;
    int opset_count;
    const VbOnnxOpset *opsets;
    int metadata_count;
    const VbOnnxMetadata *metadata;
    const VbOnnxGraph *graph;
    uint64_t file_bytes;
    struct VbOnnxModelStorage *storage;  /* private: arena, mapping */
} VbOnnxModel;

/* Maps and decodes the model at path. External tensor data is read from
 * files named relative to the model's folder; a location that leaves that
 * folder ("..", absolute paths) is rejected. Errors: VB_ERR_NOT_FOUND,
 * VB_ERR_IO, VB_ERR_PARSE (truncated or malformed, with the byte offset),
 * VB_ERR_LIMIT, VB_ERR_UNSUPPORTED (rank above VB_MAX_RANK, unknown types),
 * VB_ERR_NO_MEMORY. The caller frees *out with vbOnnxModelFree. */
vb_status vbOnnxModelLoad(const char *path, VbOnnxModel **out, vb_error *err);

/* Decodes a model from memory. data must outlive the model (tensors may
 * point into it). base_dir resolves external data; NULL rejects external
 * data. Used by tests and fuzzers. */
vb_status vbOnnxModelLoadBuffer(const uint8_t *data, size_t size, const char *base_dir,
                                VbOnnxModel **out, vb_error *err);

/* Frees a model and its mapping. Accepts NULL. */
void vbOnnxModelFree(VbOnnxModel *model);

/* Returns the opset version imported for domain ("" or "ai.onnx" for the
 * default domain), or -1 when the model does not import it. */
int64_t vbOnnxModelOpset(const VbOnnxModel *model, const char *domain);

/* Returns nonzero when tensor's data points into the bytes the model was
 * decoded from (the file mapping, or the caller's buffer for
 * vbOnnxModelLoadBuffer) instead of a copy. 0 for NULL arguments. */
int vbOnnxTensorIsZeroCopy(const VbOnnxModel *model, const VbOnnxTensor *tensor);

/* Decodes a standalone serialized TensorProto (the .pb files of ONNX's test
 * data). *out owns its data; free it with vbOnnxTensorFree. */
vb_status vbOnnxTensorDecode(const uint8_t *data, size_t size, VbOnnxTensor **out,
                             vb_error *err);
void vbOnnxTensorFree(VbOnnxTensor *tensor);

/* Returns the attribute called name, or NULL. */
const VbOnnxAttr *vbOnnxNodeAttr(const VbOnnxNode *node, const char *name);

/* Typed attribute readers. Each returns fallback when the attribute is
 * absent; a present attribute of another type makes *bad (when not NULL)
 * nonzero so the caller can reject the node. */
int64_t vbOnnxAttrInt(const VbOnnxNode *node, const char *name, int64_t fallback, int *bad);
float vbOnnxAttrFloat(const VbOnnxNode *node, const char *name, float fallback, int *bad);
const char *vbOnnxAttrString(const VbOnnxNode *node, const char *name, const char *fallback,
                             int *bad);
/* Returns the INTS attribute's values and count (via *count), or NULL with
 * *count = 0 when absent. */
const int64_t *vbOnnxAttrInts(const VbOnnxNode *node, const char *name, int *count, int *bad);
const float *vbOnnxAttrFloats(const VbOnnxNode *node, const char *name, int *count, int *bad);

#endif /* VB_ONNX_H */
