/* libFuzzer harness: load a YOLO label folder (one label file and an optional class list) against two images. */
#include <stdint.h>
#include <string.h>

#include "dataset/dataset.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char labels[128];
    const char *images_dir = fuzzImagesDir();
    if (labels[0] == '\0') {
        snprintf(labels, sizeof labels, "%s/labels", fuzzScratchDir());
        if (mkdir(labels, 0700) != 0)
            abort();
    }

    /* Input "NAMES\n---\nLABELS" also writes a class list (classes.txt, or
     * data.yaml when NAMES starts with "names"); otherwise the loader falls
     * back to the COCO-80 names. */
    char classes[128], yaml[128];
    snprintf(classes, sizeof classes, "%s/classes.txt", labels);
    snprintf(yaml, sizeof yaml, "%s/data.yaml", labels);
    unlink(classes);
    unlink(yaml);
    const uint8_t *sep = size >= 5 ? memmem(data, size, "\n---\n", 5) : NULL;
    if (sep != NULL) {
        size_t names_len = (size_t)(sep - data);
        int is_yaml = names_len >= 5 && memcmp(data, "names", 5) == 0;
        fuzzWriteFile(labels, is_yaml ? "data.yaml" : "classes.txt", data, names_len);
        size -= names_len + 5;
        data = sep + 5;
    }
    fuzzWriteFile(labels, "road_a.txt", data, size);

    VbDataset *d = NULL;
    vb_error err = {0};
    vbDatasetLoadYolo(labels, images_dir, NULL, &d, &err);
    vbDatasetFree(d);
    return 0;
}
