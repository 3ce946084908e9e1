/* Image decoding by content (JPEG with libjpeg-turbo, PNG with libpng) into 8-bit RGB. */
#ifndef VB_IMAGE_DECODE_H
#define VB_IMAGE_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "dataset/dataset.h"
#include "image/image.h"

/* Images with more pixels than this are rejected before any pixel buffer is
 * allocated (100 megapixels, 300 MB of RGB). */
#define VB_IMAGE_MAX_PIXELS 100000000u

/* Image files larger than this are rejected without being decoded. */
#define VB_IMAGE_MAX_FILE_BYTES ((size_t)256 << 20)

typedef enum VbImageFormat {
    VB_IMAGE_FORMAT_UNKNOWN = 0,
    VB_IMAGE_FORMAT_JPEG,
    VB_IMAGE_FORMAT_PNG
} VbImageFormat;

/* What the file header says about an image. width and height are the stored
 * pixel size: EXIF orientation is never applied (see docs/datasets.md). */
typedef struct VbImageInfo {
    VbImageFormat format;
    int width;
    int height;
    int exif_orientation; /* EXIF tag 0x0112, 1..8; 0 when the file has none */
} VbImageInfo;

/* Returns the format that the first bytes of data announce: JPEG (FF D8 FF)
 * or PNG (the 8-byte PNG signature). Never fails; returns
 * VB_IMAGE_FORMAT_UNKNOWN for anything else, including size 0. */
VbImageFormat vbImageSniff(const uint8_t *data, size_t size);

/* Returns "JPEG", "PNG" or "unknown". */
const char *vbImageFormatName(VbImageFormat format);

/* Decodes an in-memory JPEG or PNG into out (8-bit RGB, stored orientation).
 * name is used in messages only (a file name; NULL reads "image").
 * Grayscale is replicated to 3 channels, CMYK/YCCK JPEGs are converted to RGB,
 * 16-bit PNG samples keep their high byte, alpha is dropped and palettes are
 * expanded. Any libjpeg warning (such as a premature end of data) is an
 * error. Warnings for accepted input (an EXIF orientation other than 1, a
 * name whose extension disagrees with the content) go to warnings when not
 * NULL. info, when not NULL, receives the header facts.
 * On success out owns new pixels (free with vbImageFree); on failure out is
 * zeroed. Errors: VB_ERR_PARSE (empty, unknown format, truncated or corrupt
 * data, CRC failure), VB_ERR_LIMIT (too many pixels), VB_ERR_NO_MEMORY. */
vb_status vbImageDecodeMemory(const uint8_t *data, size_t size, const char *name, VbImage *out,
                              VbImageInfo *info, VbWarnings *warnings, vb_error *err);

/* Reads path (at most VB_IMAGE_MAX_FILE_BYTES) and decodes it as
 * vbImageDecodeMemory does; messages name path. Adds VB_ERR_NOT_FOUND and
 * VB_ERR_IO for files that cannot be read. */
vb_status vbImageDecodeFile(const char *path, VbImage *out, VbImageInfo *info,
                            VbWarnings *warnings, vb_error *err);

/* Reads only the header of path (the JPEG markers up to the frame header, the
 * PNG IHDR chunk) and fills info, without decoding pixels. Same checks on
 * format, dimensions and the pixel limit as the decoder; warnings as above
 * (may be NULL). */
vb_status vbImageReadInfo(const char *path, VbImageInfo *info, VbWarnings *warnings,
                          vb_error *err);

#endif /* VB_IMAGE_DECODE_H */
