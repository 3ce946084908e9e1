/* Public API of the visionbench ONNX inference engine: load a model, run it, read its outputs. */
#ifndef VISIONBENCH_ENGINE_H
#define VISIONBENCH_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "visionbench/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Element types. The values equal ONNX TensorProto.DataType so that model
 * files map onto them directly. */
typedef enum vb_dtype {
    VB_DTYPE_UNDEFINED = 0,
    VB_DTYPE_FLOAT32 = 1,
    VB_DTYPE_UINT8 = 2,
    VB_DTYPE_INT8 = 3,
    VB_DTYPE_UINT16 = 4,
    VB_DTYPE_INT16 = 5,
    VB_DTYPE_INT32 = 6,
    VB_DTYPE_INT64 = 7,
    VB_DTYPE_STRING = 8,
    VB_DTYPE_BOOL = 9,
    VB_DTYPE_FLOAT16 = 10,
    VB_DTYPE_FLOAT64 = 11,
    VB_DTYPE_UINT32 = 12,
    VB_DTYPE_UINT64 = 13
} vb_dtype;

/* Returns the ONNX name of a type ("float32", "int64", ...), or "undefined". */
const char *vb_dtype_to_string(vb_dtype dtype);

/* Returns the size of one element in bytes, or 0 for STRING and unknown types. */
size_t vb_dtype_size(vb_dtype dtype);

/* Maximum tensor rank the engine handles. */
#define VB_MAX_RANK 8

/* A dense tensor in C (row-major) order. The struct never owns data: the
 * function that filled it documents how long data stays valid. */
typedef struct vb_tensor {
    vb_dtype dtype;
    int rank;                    /* 0 for a scalar */
    int64_t dims[VB_MAX_RANK];   /* dims[0..rank-1], each >= 0 */
    void *data;
} vb_tensor;

/* Name, type and shape of a model input or output. A dimension of -1 is
 * unknown until the first run. */
typedef struct vb_tensor_info {
    const char *name;
    vb_dtype dtype;
    int rank;                    /* -1 when the model does not declare a shape */
    int64_t dims[VB_MAX_RANK];
} vb_tensor_info;

/* A shape fixed by the caller for one model input, e.g. from --shape. */
typedef struct vb_input_shape {
    const char *name;            /* input name, or NULL for the first input */
    int rank;
    int64_t dims[VB_MAX_RANK];
} vb_input_shape;

/* Options for vb_engine_load. Initialise with vb_engine_options_init. */
typedef struct vb_engine_options {
    int threads;                        /* worker threads; 0 means the number of online cores */
    int input_shape_count;
    const vb_input_shape *input_shapes; /* overrides for inputs with unknown or other dims */
    int profile;                        /* nonzero: record time per node in every run */
    int disable_simd;                   /* nonzero: use the portable C kernels only */
} vb_engine_options;

/* Sets every option to its default: all cores, shapes from the model, no profiling. */
void vb_engine_options_init(vb_engine_options *options);

/* A loaded, planned model ready to run. Opaque. */
typedef struct vb_engine vb_engine;

/* Figures the engine reports about a loaded model. */
typedef struct vb_engine_stats {
    uint64_t weight_bytes;      /* bytes of initializers (constant tensors) */
    uint64_t arena_bytes;       /* bytes of the activation arena planned by tensor lifetime */
    uint64_t parameter_count;   /* elements of floating-point initializers */
    uint64_t flops;             /* estimated floating-point operations per run (a multiply-add counts as 2) */
    int node_count;             /* nodes left to run after constant folding and fusion */
    int threads;                /* worker threads used by runs */
} vb_engine_stats;

/* Loads the ONNX model at path, validates every node, infers shapes and plans
 * memory. Fails with VB_ERR_UNSUPPORTED, naming the op type, node and opset,
 * when any part of the graph is not implemented; a partially understood graph
 * never loads. On success *out is owned by the caller (free with
 * vb_engine_free). options may be NULL for defaults. */
vb_status vb_engine_load(const char *path, const vb_engine_options *options,
                         vb_engine **out, vb_error *err);

/* Frees an engine and everything it owns. Accepts NULL. */
void vb_engine_free(vb_engine *engine);

int vb_engine_input_count(const vb_engine *engine);
int vb_engine_output_count(const vb_engine *engine);

/* Returns the description of input or output i, or NULL when i is out of
 * range. The pointer stays valid until vb_engine_free. */
const vb_tensor_info *vb_engine_input_info(const vb_engine *engine, int i);
const vb_tensor_info *vb_engine_output_info(const vb_engine *engine, int i);

/* Runs the model once. inputs[i] feeds model input i; each must match the
 * planned type and shape. The input data is only read during the call. */
vb_status vb_engine_run(vb_engine *engine, const vb_tensor *inputs, int input_count,
                        vb_error *err);

/* Returns output i of the last successful run, or NULL when i is out of range
 * or no run succeeded. The data is owned by the engine and valid until the
 * next run or vb_engine_free. */
const vb_tensor *vb_engine_output(const vb_engine *engine, int i);

/* Fills *stats for a loaded engine. */
void vb_engine_get_stats(const vb_engine *engine, vb_engine_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* VISIONBENCH_ENGINE_H */
