/* libFuzzer harness: load COCO JSON ground truth, checked against a folder of two images. */
#include <stdint.h>

#include "dataset/dataset.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *images_dir = fuzzImagesDir();
    const char *path = fuzzWriteFile(fuzzScratchDir(), "gt.json", data, size);
    VbDataset *d = NULL;
    vb_error err = {0};
    vbDatasetLoadCoco(path, images_dir, NULL, &d, &err);
    vbDatasetFree(d);
    return 0;
}
