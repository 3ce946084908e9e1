/* libFuzzer harness: decode a JPEG or PNG from memory into RGB. */
#include <stdint.h>

#include "image/decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    VbImage image = {0};
    VbImageInfo info;
    VbWarnings warnings = {0};
    vb_error err = {0};
    vbImageDecodeMemory(data, size, "fuzz.jpg", &image, &info, &warnings, &err);
    vbImageFree(&image);
    vbWarningsClear(&warnings);
    return 0;
}
