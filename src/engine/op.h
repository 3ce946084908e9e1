/* The operator interface: how the graph engine validates, shapes and runs one ONNX op type. */
#ifndef VB_OP_H
#define VB_OP_H

#include <stddef.h>
#include <stdint.h>

#include "onnx/onnx.h"
#include "visionbench/engine.h"

/* Activations a producer op (Conv, Gemm, ...) may apply in its epilogue when
 * the graph optimizer fuses a following activation node into it. */
typedef enum VbActivation {
    VB_ACT_NONE = 0,
    VB_ACT_RELU,
    VB_ACT_SIGMOID,
    VB_ACT_SILU,        /* x * sigmoid(x) */
    VB_ACT_HARDSWISH,
    VB_ACT_HARDSIGMOID, /* max(0, min(1, alpha*x + beta)) */
    VB_ACT_LEAKYRELU,   /* x >= 0 ? x : alpha*x */
    VB_ACT_CLIP         /* min(max(x, alpha), beta) */
} VbActivation;

/* Everything an op's infer function may report besides output shapes. */
typedef struct VbOpInferInfo {
    size_t workspace_bytes;  /* scratch memory each run needs; the engine plans it */
    uint64_t flops;          /* estimated floating-point operations per run */
    int threads;             /* set by the engine before the call: the threads runs use
                                (If runs its branch during infer) */
} VbOpInferInfo;

/* Run-time context handed to op run functions. */
typedef struct VbOpRunContext {
    int threads;             /* use at most this many threads (OpenMP num_threads) */
    int disable_simd;        /* nonzero: portable C path only */
    void *workspace;         /* workspace_bytes from infer, aligned to 64 bytes */
    size_t workspace_bytes;
} VbOpRunContext;

/* One op type. The engine calls, for each node of this type:
 *  1. prepare once at load: read and validate attributes for the node's
 *     opset. Unsupported attribute values or combinations fail with
 *     VB_ERR_UNSUPPORTED naming the attribute and what is supported.
 *     *params (may stay NULL) is owned by the engine and freed with release.
 *  2. infer at load (and for dynamic graphs before each run): from input
 *     types and shapes set the outputs' dtype, rank and dims. in[i] is NULL
 *     for an omitted optional input; in[i]->data is non-NULL only when the
 *     input is a constant known at load time. An op that needs a value it
 *     does not have (the shape input of Reshape, say) fails with
 *     VB_ERR_UNSUPPORTED and a message containing "requires a constant":
 *     the engine then makes the node dynamic and calls infer again before
 *     each run, when every in[i]->data is set. Nodes reading the outputs of
 *     a dynamic node are dynamic too. Unsupported input dtypes fail here.
 *     out[i]->data is NULL.
 *  3. run for every inference, and at load when every input is constant
 *     (constant folding): compute out[i]->data, already allocated by the
 *     engine for the shape infer gave. Must not allocate memory; scratch
 *     comes from ctx->workspace. Results must not depend on ctx->threads.
 * in and out arrays have n_in / n_out entries: n_in is the node's input
 * count (optional trailing inputs may be absent), n_out its output count. */
typedef struct VbOpDef {
    const char *op_type;
    int min_opset;           /* oldest opset version this implementation follows */
    vb_status (*prepare)(const VbOnnxNode *node, int opset, void **params, vb_error *err);
    vb_status (*infer)(const void *params, const vb_tensor *const *in, int n_in,
                       vb_tensor *const *out, int n_out, VbOpInferInfo *info, vb_error *err);
    vb_status (*run)(const void *params, const vb_tensor *const *in, int n_in,
                     vb_tensor *const *out, int n_out, const VbOpRunContext *ctx, vb_error *err);
    void (*release)(void *params);
    /* Optional: called once at load, after infer, with the same inputs, when
     * some inputs are constants (in[i]->data non-NULL): lets an op repack
     * weights into a kernel-friendly layout stored in params (owned by
     * params, freed by release). NULL: nothing to pack. */
    vb_status (*pack)(void *params, const vb_tensor *const *in, int n_in, vb_error *err);
    /* Optional: fuse an activation into this node's epilogue. Returns 1 and
     * updates params when it can, 0 when it cannot. NULL: never fuses. */
    int (*fuse_activation)(void *params, VbActivation act, float alpha, float beta);
} VbOpDef;

/* Returns the implementation of op_type in domain ("" or "ai.onnx") for
 * opset, or NULL when there is none. */
const VbOpDef *vbOpFind(const char *domain, const char *op_type, int64_t opset);

/* Calls fn for every registered op type (for `visionbench inspect` and the
 * conformance test runner's list of claimed ops). */
void vbOpForEach(void (*fn)(const VbOpDef *op, void *user), void *user);

/* Tables of op definitions, each NULL-terminated, one per kernel file. */
extern const VbOpDef *const vbOpsConv[];
extern const VbOpDef *const vbOpsGemm[];
extern const VbOpDef *const vbOpsPool[];
extern const VbOpDef *const vbOpsResize[];
extern const VbOpDef *const vbOpsElementwise[];
extern const VbOpDef *const vbOpsShape[];
extern const VbOpDef *const vbOpsSoftmax[];
extern const VbOpDef *const vbOpsReduce[];
extern const VbOpDef *const vbOpsBinary[];
extern const VbOpDef *const vbOpsTensor[];
extern const VbOpDef *const vbOpsNormalization[];
extern const VbOpDef *const vbOpsIndex[];
extern const VbOpDef *const vbOpsConvTranspose[];

/* Lets the params of a node of vbOpsConv[0] take over Mul(X, S) that feeds
 * its input 0, with S a scale per channel of X. in contains the node's
 * inputs with X at 0 and S at index 3 (n_in is 4, an omitted input is NULL).
 * Returns 1 and updates params when the Conv will multiply X by S itself,
 * reading S as input 3, and 0 when it cannot. */
int vbConvFuseInputScale(void *params, const vb_tensor *const *in, int n_in);

/* Lets the params of a node of vbOpsConv[0] take over a GlobalAveragePool
 * of its output: the Conv then writes the pooled [N, M, 1, 1] tensor as
 * output 1 as well. in and n_in are the node's inputs. Returns 1 and
 * updates params when it will (depthwise convolutions of 4-D inputs), and
 * 0 when it cannot. */
int vbConvFusePool(void *params, const vb_tensor *const *in, int n_in);
extern const VbOpDef *const vbOpsDetection[];
extern const VbOpDef *const vbOpsControlFlow[];

/* Shared helpers for op implementations (src/engine/op_util.c). */

/* Returns the element count of t (1 for a scalar), or 0 for empty tensors. */
size_t vbTensorCount(const vb_tensor *t);
/* Returns t's size in bytes (count * element size). */
size_t vbTensorBytes(const vb_tensor *t);
/* Writes "1x3x640x640" (or "scalar") into buf; returns buf. */
const char *vbShapeString(const vb_tensor *t, char *buf, size_t size);
/* Computes the numpy broadcast of shapes a and b into out (rank and dims).
 * Fails with VB_ERR_SHAPE naming both shapes. */
vb_status vbBroadcastShape(const vb_tensor *a, const vb_tensor *b, vb_tensor *out,
                           vb_error *err);
/* Reads element i of an integer tensor (INT32 or INT64) as int64. */
int64_t vbTensorGetInt(const vb_tensor *t, size_t i);

/* Lists the names that node's graph attributes (If branches, Loop bodies,
 * at any depth) read from the enclosing graph: names a subgraph node reads
 * that no node, initializer or input of that subgraph defines. Each name
 * appears once, in order of first use. The engine appends these values to
 * the node's inputs in this order, so a control-flow op reads them as
 * in[input_count ...]. *names is a malloc'd array (the caller frees it) of
 * pointers into the model; a node without subgraphs gives NULL and 0.
 * Errors: VB_ERR_NO_MEMORY, VB_ERR_LIMIT (subgraph.c). */
vb_status vbSubgraphOuterNames(const VbOnnxNode *node, const char ***names, int *count,
                               vb_error *err);

#endif /* VB_OP_H */
