/* libFuzzer harness: validate a /run request body of visionbench serve (JSON, base64 images, ground truth). */
#include <jansson.h>
#include <stdint.h>

#include "fuzz_util.h"
#include "server/server_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A model registry with one entry, "tiny"; validation only checks that
     * tiny.onnx exists. */
    static char models[128];
    if (models[0] == '\0') {
        snprintf(models, sizeof models, "%s/models", fuzzScratchDir());
        if (mkdir(models, 0700) != 0)
            abort();
        fuzzWriteFile(models, "tiny.onnx", (const uint8_t *)"", 0);
    }

    VbRequestError rerr;
    json_t *job = vbServerValidateRequest((const char *)data, size, models, &rerr);
    json_decref(job);
    return 0;
}
