/* 8-bit image resizes that reproduce OpenCV 4.6 cv::resize bit for bit (INTER_LINEAR, INTER_AREA). */
#ifndef VB_IMAGE_RESIZE_H
#define VB_IMAGE_RESIZE_H

#include <stdint.h>

#include "visionbench/status.h"

/* Interpolation methods, named after their OpenCV flags. */
typedef enum VbResizeMethod {
    VB_RESIZE_LINEAR = 0, /* cv::INTER_LINEAR: bilinear, half-pixel centres, no anti-aliasing */
    VB_RESIZE_AREA = 1    /* cv::INTER_AREA: pixel-area averaging when shrinking */
} VbResizeMethod;

/* Largest width or height accepted by vbImageResize, in pixels. */
#define VB_RESIZE_MAX_DIM 65536

/* Resizes an interleaved 8-bit image of src_width x src_height pixels with
 * channels samples each (1 to 4, no row padding) into dst, which the caller
 * allocates with dst_width * dst_height * channels bytes. src and dst must
 * not overlap.
 *
 * The result equals OpenCV 4.6 cv::resize on 8-bit images (its generic
 * code, not IPP), including its fixed-point rounding. Linear weights have 11
 * fraction bits, and the vertical blend drops 4 bits before a 16-bit
 * multiply, so a sample can be one lower than the exactly rounded blend.
 *
 * Equal sizes copy the pixels. An exact 2x shrink in both directions with
 * VB_RESIZE_LINEAR runs the area path, as OpenCV does. VB_RESIZE_AREA with
 * an enlargement in either direction runs OpenCV's bilinear emulation of
 * area interpolation.
 * Errors: VB_ERR_INVALID_ARGUMENT for NULL buffers, a dimension outside
 * 1..VB_RESIZE_MAX_DIM or channels outside 1..4; VB_ERR_NO_MEMORY. */
vb_status vbImageResize(const uint8_t *src, int src_width, int src_height, int channels,
                        uint8_t *dst, int dst_width, int dst_height, VbResizeMethod method,
                        vb_error *err);

/* Returns "linear" or "area" (the OpenCV flag without INTER_), or "unknown". */
const char *vbResizeMethodName(VbResizeMethod method);

#endif /* VB_IMAGE_RESIZE_H */
