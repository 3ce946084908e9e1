/* libFuzzer harness: parse a COCO results JSON (detections list) from memory. */
#include <stdint.h>

#include "metrics/coco_eval.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    VbDetectionList list = {0};
    vb_error err = {0};
    vbCocoResultsParse((const char *)data, size, "fuzz.json", &list, &err);
    vbDetectionListFree(&list);
    return 0;
}
