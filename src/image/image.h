/* Decoded images: 8-bit RGB pixels in row-major order, whatever the file stored. */
#ifndef VB_IMAGE_H
#define VB_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "visionbench/status.h"

/* An 8-bit RGB image: height rows of width pixels, 3 bytes each (R, G, B),
 * no row padding. pixels is owned by the struct (free with vbImageFree). */
typedef struct VbImage {
    int width;
    int height;
    uint8_t *pixels;
} VbImage;

/* Frees the pixels and zeroes the struct. Accepts NULL. */
void vbImageFree(VbImage *image);

#endif /* VB_IMAGE_H */
