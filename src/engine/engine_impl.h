/* Private state of a loaded engine, shared by the engine's source files only. */
#ifndef VB_ENGINE_IMPL_H
#define VB_ENGINE_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "engine/engine_internal.h"
#include "engine/op.h"

/* Where a value's data comes from. */
typedef enum VbValueKind {
    VB_VALUE_INPUT,     /* a graph input, copied into the arena by each run */
    VB_VALUE_CONSTANT,  /* an initializer, a Constant node or a folded node's output */
    VB_VALUE_COMPUTED   /* produced by a node at run time, lives in the arena */
} VbValueKind;

/* One named tensor of the graph. */
typedef struct VbValue {
    const char *name;     /* "" for an unnamed optional output */
    VbValueKind kind;
    vb_tensor t;          /* type and shape after inference; data for constants, and for
                             arena values once the arena is planned; NULL otherwise */
    void *owned;          /* data the engine allocated (folded results, Constant attributes) */
    int producer;         /* node index, or -1 for inputs and constants from the file */
    int use_count;        /* inputs of nodes that run read this value */
    int is_output;        /* a graph output */
    int is_weight;        /* an initializer or Constant node value from the file */
    int alias_of;         /* value whose buffer contains this one (an in-place Concat
                             input), or -1 */
    size_t alias_offset;  /* byte offset of this value inside alias_of's buffer */
    int has_aliases;      /* other values live inside this one's buffer */
    int dynamic;          /* shape known only at run time: lives in owned, not the arena */
    size_t capacity;      /* bytes allocated at owned for a dynamic value */
} VbValue;

/* One node of the graph. */
typedef struct VbNode {
    const VbOnnxNode *src;
    int file_index;       /* position in the model's node list, for unnamed nodes in messages */
    const VbOpDef *op;
    int opset;
    void *params;         /* owned; freed with op->release */
    int in_count;
    int out_count;
    int *in;              /* [in_count] value ids, -1 for an omitted optional input */
    const char **outer;   /* names read by the node's subgraphs (vbSubgraphOuterNames):
                             inputs src->input_count.. of the node; owned array */
    int *out;             /* [out_count] value ids */
    const vb_tensor **in_tensors;  /* [in_count] &values[in[i]].t, or NULL */
    vb_tensor **out_tensors;       /* [out_count] &values[out[i]].t */
    size_t workspace_bytes;
    uint64_t flops;
    int folded;           /* ran at load; its outputs are constants */
    int live;             /* runs at inference time */
    int dynamic;          /* infers its output shapes before each run (an input's shape
                             or data is known only then) */
    const char *fused;    /* activation fused into this node's epilogue, or NULL */
    const char *fused_input;  /* op fused into this node's input ("Mul"), or NULL */
    const char *fused_output; /* op whose output this node writes as well
                                 ("GlobalAveragePool"), or NULL */
    uint64_t time_ns;     /* profile: total over the profiled runs */
} VbNode;

struct vb_engine {
    VbOnnxModel *owned_model;    /* freed with the engine when vb_engine_load decoded it */
    const VbOnnxModel *model;
    int threads;
    int profile;
    int disable_simd;
    VbEngineConfig config;

    VbValue *values;
    int value_count;
    VbNode *nodes;
    int node_count;
    int *order;                  /* [node_count] topological order */
    int *steps;                  /* [step_count] live nodes in run order */
    int step_count;

    int input_count;
    int *input_ids;
    vb_tensor_info *input_info;
    int output_count;
    int *output_ids;
    vb_tensor_info *output_info;
    int has_run;
    uint64_t profile_runs;

    unsigned char *arena;        /* one allocation: planned values, then the workspace */
    size_t arena_bytes;
    void *workspace;
    size_t workspace_bytes;

    int dynamic;                 /* some node is dynamic: runs infer shapes again */
    size_t dynamic_bytes;        /* bytes of all dynamic values' buffers now */
    void *dynamic_workspace;     /* grown when a dynamic node needs more than workspace */
    size_t dynamic_workspace_bytes;

    uint64_t weight_bytes;
    uint64_t parameter_count;
    uint64_t flops;
};

/* Writes "node 'name' (OpType)" (or "node #index (OpType)" for unnamed
 * nodes, index counting from 0 in file order) into buf and returns buf. */
const char *vbGraphNodeLabel(const vb_engine *engine, int node, char *buf, size_t size);

/* Builds values and nodes from the model, checks every name, finds each
 * node's op and orders the nodes (graph_build.c). */
vb_status vbGraphBuild(vb_engine *engine, const vb_engine_options *options, vb_error *err);

/* Sets input shapes, runs every op's prepare and infer in order and folds
 * nodes whose inputs are constants (graph_infer.c). */
vb_status vbGraphInfer(vb_engine *engine, const vb_engine_options *options, vb_error *err);

/* Marks the nodes a run needs, fuses activations unless disabled, packs
 * weights and counts weights and FLOPs (graph_optimize.c). */
vb_status vbGraphOptimize(vb_engine *engine, vb_error *err);

/* Checks that a tensor shape fits the engine's size limit and stores its
 * byte size. what names the tensor in the error. Errors: VB_ERR_LIMIT,
 * VB_ERR_SHAPE (negative dimension, rank out of range). */
vb_status vbGraphCheckSize(const vb_tensor *t, const char *what, size_t *bytes, vb_error *err);

#endif /* VB_ENGINE_IMPL_H */
