/* libFuzzer harness: parse CSV ground truth from memory, with and without an image folder. */
#include <stdint.h>

#include "dataset/dataset.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The last byte picks whether image sizes come from the folder, which
     * turns on clipping and missing-image checks. */
    const char *images_dir = size > 0 && (data[size - 1] & 1) ? fuzzImagesDir() : NULL;
    VbDataset *d = NULL;
    vb_error err = {0};
    vbDatasetParseCsv((const char *)data, size, "fuzz.csv", images_dir, NULL, &d, &err);
    vbDatasetFree(d);
    return 0;
}
