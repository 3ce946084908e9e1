/* Engine entry points beyond the public API: in-memory models, debug switches, per-node profiles. */
#ifndef VB_ENGINE_INTERNAL_H
#define VB_ENGINE_INTERNAL_H

#include <stdint.h>

#include "onnx/onnx.h"
#include "visionbench/engine.h"

/* Largest tensor, and largest activation arena, the engine plans: 16 GiB.
 * Larger sizes fail the load with VB_ERR_LIMIT naming the tensor. */
#define VB_ENGINE_MAX_BYTES ((uint64_t)16 << 30)

/* Alignment of every tensor in the arena and of op workspaces, in bytes. */
#define VB_ENGINE_ALIGNMENT 64

/* Load switches that the public options leave out because only developers
 * need them. Zero-initialise for the defaults. */
typedef struct VbEngineConfig {
    int no_fusion;          /* nonzero: run activation nodes on their own instead of fusing them */
    int no_inplace_concat;  /* nonzero: run every Concat as a copy instead of placing its
                               inputs inside its output */
    size_t max_bytes;       /* cap on the arena with the workspace, on each constant folded
                               at load and on run-time buffers; 0 means VB_ENGINE_MAX_BYTES.
                               The fuzz harness sets a small one. */
} VbEngineConfig;

/* Returns the byte cap of config->max_bytes for engine: VB_ENGINE_MAX_BYTES
 * when it is 0 or larger. */
uint64_t vbEngineMaxBytes(const vb_engine *engine);

/* Builds an engine from a decoded model that the caller keeps alive until
 * vb_engine_free (constants point into it). options and config may be NULL
 * for defaults. Errors as vb_engine_load. */
vb_status vbEngineCreate(const VbOnnxModel *model, const vb_engine_options *options,
                         const VbEngineConfig *config, vb_engine **out, vb_error *err);

/* vb_engine_load with a config; config may be NULL. */
vb_status vbEngineLoad(const char *path, const vb_engine_options *options,
                       const VbEngineConfig *config, vb_engine **out, vb_error *err);

/* Time one node took over the runs since load or the last
 * vbEngineProfileReset. Filled only when the engine was loaded with
 * options.profile set; otherwise total_ns stays 0. */
typedef struct VbNodeProfile {
    const char *name;      /* node name, or "" when the model gives none */
    const char *op_type;
    const char *fused;     /* activation fused into the node ("Relu", "SiLU", ...), or NULL */
    const char *fused_input;  /* op fused into the node's input ("Mul"), or NULL */
    const char *fused_output; /* op whose output the node writes as well
                                 ("GlobalAveragePool"), or NULL */
    uint64_t total_ns;
    uint64_t flops;        /* per run, from the op's estimate */
    const vb_tensor *output;  /* first output: its dims as of the last run */
} VbNodeProfile;

/* Returns the number of nodes a run executes, in run order. */
int vbEngineNodeCount(const vb_engine *engine);

/* Fills *out for node i of the run order. Returns 0 when i is out of range. */
int vbEngineNodeProfile(const vb_engine *engine, int i, VbNodeProfile *out);

/* Returns the number of runs the profile covers. */
uint64_t vbEngineProfileRuns(const vb_engine *engine);

/* Clears the per-node times, e.g. after warm-up runs. */
void vbEngineProfileReset(vb_engine *engine);

#endif /* VB_ENGINE_INTERNAL_H */
