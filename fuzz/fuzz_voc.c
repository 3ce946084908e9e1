/* libFuzzer harness: load a Pascal VOC folder with one XML file against two images. */
#include <stdint.h>

#include "dataset/dataset.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char xml_dir[128];
    const char *images_dir = fuzzImagesDir();
    if (xml_dir[0] == '\0') {
        snprintf(xml_dir, sizeof xml_dir, "%s/voc", fuzzScratchDir());
        if (mkdir(xml_dir, 0700) != 0)
            abort();
    }
    fuzzWriteFile(xml_dir, "road_a.xml", data, size);

    VbDataset *d = NULL;
    vb_error err = {0};
    vbDatasetLoadVoc(xml_dir, images_dir, NULL, &d, &err);
    vbDatasetFree(d);
    return 0;
}
