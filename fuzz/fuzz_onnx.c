/* libFuzzer harness: decode an ONNX model from memory and build an engine from it (validation, shape inference, folding, planning). */
#include <stdint.h>

#include "engine/engine_internal.h"
#include "onnx/onnx.h"
#include "visionbench/engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    VbOnnxModel *model = NULL;
    vb_error err = {0};
    if (vbOnnxModelLoadBuffer(data, size, NULL, &model, &err) != VB_OK)
        return 0;

    /* One thread keeps each input fast: constant folding runs kernels, which
     * would otherwise start a worker thread per core. */
    vb_engine_options options;
    vb_engine_options_init(&options);
    options.threads = 1;
    /* A small memory cap: a model may ask for gigabytes within the engine's
     * own limit (a 3 x 2^30 input, say), which would only measure malloc. */
    VbEngineConfig config = {0};
    config.max_bytes = (size_t)256 << 20;
    vb_engine *engine = NULL;
    if (vbEngineCreate(model, &options, &config, &engine, &err) == VB_OK)
        vb_engine_free(engine);
    vbOnnxModelFree(model);
    return 0;
}
