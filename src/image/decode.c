/* Decodes JPEG and PNG files into 8-bit RGB, choosing the decoder by the file's first bytes. */
#include <ctype.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

#include "core/core.h"
#include "image/decode.h"

static const uint8_t PNG_SIGNATURE[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

VbImageFormat vbImageSniff(const uint8_t *data, size_t size)
{
    if (data == NULL)
        return VB_IMAGE_FORMAT_UNKNOWN;
    if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
        return VB_IMAGE_FORMAT_JPEG;
    if (size >= sizeof PNG_SIGNATURE && memcmp(data, PNG_SIGNATURE, sizeof PNG_SIGNATURE) == 0)
        return VB_IMAGE_FORMAT_PNG;
    return VB_IMAGE_FORMAT_UNKNOWN;
}

const char *vbImageFormatName(VbImageFormat format)
{
    switch (format) {
    case VB_IMAGE_FORMAT_JPEG: return "JPEG";
    case VB_IMAGE_FORMAT_PNG: return "PNG";
    case VB_IMAGE_FORMAT_UNKNOWN: break;
    }
    return "unknown";
}

/* Returns the format a file name's extension promises (case-insensitive). */
static VbImageFormat formatFromName(const char *name)
{
    const char *dot = name != NULL ? strrchr(name, '.') : NULL;
    if (dot == NULL)
        return VB_IMAGE_FORMAT_UNKNOWN;
    static const char *const jpeg_ext[] = {".jpg", ".jpeg", ".jpe", ".jfif"};
    for (size_t i = 0; i < sizeof jpeg_ext / sizeof jpeg_ext[0]; i++)
        if (strcasecmp(dot, jpeg_ext[i]) == 0)
            return VB_IMAGE_FORMAT_JPEG;
    if (strcasecmp(dot, ".png") == 0)
        return VB_IMAGE_FORMAT_PNG;
    return VB_IMAGE_FORMAT_UNKNOWN;
}

/* Sets the error for data that is neither JPEG nor PNG: names formats that
 * are recognisable but unsupported, else shows the first bytes escaped. */
static vb_status unknownFormatError(const uint8_t *data, size_t size, const char *name,
                                    vb_error *err)
{
    if (size == 0)
        return vbErrorSet(err, VB_ERR_PARSE, "%s: empty file (0 bytes); expected a JPEG or PNG image",
                          name);

    const char *other = NULL;
    if (size >= 4 && memcmp(data, "GIF8", 4) == 0)
        other = "GIF";
    else if (size >= 12 && memcmp(data, "RIFF", 4) == 0 && memcmp(data + 8, "WEBP", 4) == 0)
        other = "WebP";
    else if (size >= 4 && (memcmp(data, "II*\0", 4) == 0 || memcmp(data, "MM\0*", 4) == 0))
        other = "TIFF";
    else if (size >= 2 && data[0] == 'B' && data[1] == 'M')
        other = "BMP";
    if (other != NULL)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED,
                          "%s: %s images are not supported; convert the file to PNG or JPEG",
                          name, other);

    char shown[4 * 4 + 1];
    size_t pos = 0;
    for (size_t i = 0; i < size && i < 4; i++) {
        if (isprint(data[i]) && data[i] != '\'')
            shown[pos++] = (char)data[i];
        else
            pos += (size_t)snprintf(shown + pos, sizeof shown - pos, "\\x%02x", data[i]);
    }
    shown[pos] = '\0';
    return vbErrorSet(err, VB_ERR_PARSE,
                      "%s: not a JPEG or PNG file (starts with bytes '%s'); images must be JPEG or PNG",
                      name, shown);
}

/* Checks decoded dimensions against zero and VB_IMAGE_MAX_PIXELS. */
static vb_status checkDimensions(const char *name, const char *format, unsigned long width,
                                 unsigned long height, vb_error *err)
{
    if (width == 0 || height == 0)
        return vbErrorSet(err, VB_ERR_PARSE, "%s: %s header gives a zero dimension (%lux%lu)", name,
                          format, width, height);
    size_t pixels;
    if (vbMulSize(width, height, &pixels) || pixels > VB_IMAGE_MAX_PIXELS)
        return vbErrorSet(err, VB_ERR_LIMIT,
                          "%s: %lux%lu image has more than the limit of %u pixels; downscale it",
                          name, width, height, VB_IMAGE_MAX_PIXELS);
    return VB_OK;
}

/* ---- EXIF ---------------------------------------------------------------- */

static unsigned readU16(const uint8_t *p, int little)
{
    return little ? (unsigned)(p[0] | p[1] << 8) : (unsigned)(p[0] << 8 | p[1]);
}

static uint32_t readU32(const uint8_t *p, int little)
{
    return little ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
                  : (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Returns the Orientation tag (0x0112) of IFD0 in an APP1 payload that starts
 * with "Exif\0\0", or 0 when absent or malformed. Every offset is bounds-checked
 * against len. */
static int exifOrientation(const uint8_t *data, size_t len)
{
    if (len < 6 + 8 || memcmp(data, "Exif\0\0", 6) != 0)
        return 0;
    const uint8_t *tiff = data + 6;
    size_t tiff_len = len - 6;
    int little;
    if (memcmp(tiff, "II*\0", 4) == 0)
        little = 1;
    else if (memcmp(tiff, "MM\0*", 4) == 0)
        little = 0;
    else
        return 0;

    uint32_t ifd = readU32(tiff + 4, little);
    if (ifd > tiff_len - 2)
        return 0;
    unsigned count = readU16(tiff + ifd, little);
    for (unsigned i = 0; i < count; i++) {
        size_t entry = (size_t)ifd + 2 + (size_t)i * 12;
        if (entry + 12 > tiff_len)
            return 0;
        unsigned tag = readU16(tiff + entry, little);
        unsigned type = readU16(tiff + entry + 2, little);
        if (tag == 0x0112 && type == 3) {
            unsigned value = readU16(tiff + entry + 8, little);
            return value >= 1 && value <= 8 ? (int)value : 0;
        }
    }
    return 0;
}

/* ---- JPEG ---------------------------------------------------------------- */

/* A libjpeg error manager that turns every error and every warning into a
 * longjmp back to the decoder, so corrupt data never decodes silently and
 * libjpeg never calls exit(). */
typedef struct JpegErrorManager {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
    int truncated; /* the warning was "premature end of data" */
} JpegErrorManager;

static void jpegErrorExit(j_common_ptr cinfo)
{
    JpegErrorManager *manager = (JpegErrorManager *)cinfo->err;
    manager->base.format_message(cinfo, manager->message);
    longjmp(manager->jump, 1);
}

/* Level -1 is a warning (corrupt data that libjpeg would skip); levels 0 and
 * up are trace messages, which are dropped. */
static void jpegEmitMessage(j_common_ptr cinfo, int level)
{
    if (level >= 0)
        return;
    JpegErrorManager *manager = (JpegErrorManager *)cinfo->err;
    if (manager->base.msg_code == JWRN_JPEG_EOF)
        manager->truncated = 1;
    manager->base.format_message(cinfo, manager->message);
    longjmp(manager->jump, 1);
}

static vb_status jpegError(const JpegErrorManager *manager, const char *name, vb_error *err)
{
    if (manager->truncated)
        return vbErrorSet(err, VB_ERR_PARSE,
                          "%s: truncated JPEG (data ends before the end-of-image marker); "
                          "the file is incomplete, copy or export it again",
                          name);
    return vbErrorSet(err, VB_ERR_PARSE, "%s: corrupt JPEG: %s", name, manager->message);
}

/* Finds the EXIF orientation among the markers saved by jpeg_save_markers. */
static int jpegExifOrientation(j_decompress_ptr cinfo)
{
    for (jpeg_saved_marker_ptr m = cinfo->marker_list; m != NULL; m = m->next) {
        if (m->marker != JPEG_APP0 + 1)
            continue;
        int orientation = exifOrientation(m->data, m->data_length);
        if (orientation != 0)
            return orientation;
    }
    return 0;
}

/* Reads the JPEG header (and, when image is not NULL, the pixels). The
 * decoding settings are libjpeg-turbo's defaults, the ones OpenCV's imread
 * keeps: JDCT_ISLOW and fancy upsampling. */
static vb_status jpegDecode(const uint8_t *data, size_t size, const char *name, VbImage *image,
                            VbImageInfo *info, vb_error *err)
{
    struct jpeg_decompress_struct cinfo;
    JpegErrorManager manager;
    uint8_t *volatile pixels = NULL;
    uint8_t *volatile cmyk_row = NULL;
    vb_status st = VB_OK;

    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = jpeg_std_error(&manager.base);
    manager.base.error_exit = jpegErrorExit;
    manager.base.emit_message = jpegEmitMessage;
    manager.truncated = 0;
    manager.message[0] = '\0';
    if (setjmp(manager.jump)) {
        st = jpegError(&manager, name, err);
        goto done;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(&cinfo, TRUE);

    /* Step 1: header facts. */
    st = checkDimensions(name, "JPEG", cinfo.image_width, cinfo.image_height, err);
    if (st != VB_OK)
        goto done;
    info->width = (int)cinfo.image_width;
    info->height = (int)cinfo.image_height;
    info->exif_orientation = jpegExifOrientation(&cinfo);
    if (image == NULL)
        goto done;

    /* Step 2: output color space. Four-component files (CMYK, or YCCK that
     * libjpeg turns into CMYK) are read as CMYK and converted below. */
    int four = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    cinfo.out_color_space = four ? JCS_CMYK : JCS_RGB;
    cinfo.dct_method = JDCT_ISLOW;
    cinfo.do_fancy_upsampling = TRUE;
    jpeg_start_decompress(&cinfo);
    if (cinfo.output_components != (four ? 4 : 3)) {
        st = vbErrorSet(err, VB_ERR_UNSUPPORTED, "%s: JPEG with %d color components is not supported",
                        name, cinfo.output_components);
        goto done;
    }

    /* Step 3: decode rows into pixels [height][width][3]. */
    size_t width = cinfo.output_width, height = cinfo.output_height, bytes;
    if (vbMulSize(width * height, 3, &bytes)) {
        st = vbErrorSet(err, VB_ERR_LIMIT, "%s: image too large", name);
        goto done;
    }
    pixels = malloc(bytes);
    cmyk_row = four ? malloc(width * 4) : NULL;
    if (pixels == NULL || (four && cmyk_row == NULL)) {
        st = vbErrorSet(err, VB_ERR_NO_MEMORY, "%s: out of memory for %zux%zu pixels", name, width,
                        height);
        goto done;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        uint8_t *out_row = pixels + (size_t)cinfo.output_scanline * width * 3;
        JSAMPROW row = four ? cmyk_row : out_row;
        jpeg_read_scanlines(&cinfo, &row, 1);
        if (!four)
            continue;
        /* Adobe CMYK JPEGs store inverted values, so channel c here is
         * 255 - cyan and r = c * k / 255, computed as OpenCV's imread does
         * (k - ((255 - c) * k >> 8)) to give the same bytes. */
        for (size_t x = 0; x < width; x++) {
            const uint8_t *s = cmyk_row + x * 4;
            int k = s[3];
            out_row[x * 3 + 0] = (uint8_t)(k - ((255 - s[0]) * k >> 8));
            out_row[x * 3 + 1] = (uint8_t)(k - ((255 - s[1]) * k >> 8));
            out_row[x * 3 + 2] = (uint8_t)(k - ((255 - s[2]) * k >> 8));
        }
    }
    jpeg_finish_decompress(&cinfo);

    image->width = (int)width;
    image->height = (int)height;
    image->pixels = pixels;
    pixels = NULL;

done:
    jpeg_destroy_decompress(&cinfo);
    free(pixels);
    free(cmyk_row);
    return st;
}

/* ---- PNG ----------------------------------------------------------------- */

/* State shared with the libpng callbacks: the input cursor and the message
 * of the error that made libpng longjmp. */
typedef struct PngReader {
    const uint8_t *data;
    size_t size;
    size_t pos;
    char message[256];
    int truncated;
    VbWarnings *warnings;
    const char *name;
} PngReader;

static void pngRead(png_structp png, png_bytep out, png_size_t n)
{
    PngReader *reader = png_get_io_ptr(png);
    if (n > reader->size - reader->pos) {
        reader->truncated = 1;
        png_error(png, "truncated PNG data");
    }
    memcpy(out, reader->data + reader->pos, n);
    reader->pos += n;
}

static void pngError(png_structp png, png_const_charp message)
{
    PngReader *reader = png_get_error_ptr(png);
    snprintf(reader->message, sizeof reader->message, "%s", message);
    png_longjmp(png, 1);
}

/* libpng warnings concern ancillary data (a bad color profile, an ancillary
 * chunk with a bad CRC, which libpng discards); the image still decodes. */
static void pngWarning(png_structp png, png_const_charp message)
{
    PngReader *reader = png_get_error_ptr(png);
    if (reader->warnings != NULL)
        vbWarningsAdd(reader->warnings, "%s: PNG warning: %s", reader->name, message);
}

/* libpng's allocator: plain malloc and free, so that fault-injection
 * builds, which wrap malloc, reach libpng's allocations too. A NULL makes
 * libpng raise its out-of-memory error through pngError. */
static png_voidp pngMalloc(png_structp png, png_alloc_size_t size)
{
    (void)png;
    return malloc(size);
}

static void pngFree(png_structp png, png_voidp ptr)
{
    (void)png;
    free(ptr);
}

static vb_status pngErrorStatus(const PngReader *reader, vb_error *err)
{
    if (strstr(reader->message, "ut of memory") != NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "%s: out of memory decoding the PNG (%s)",
                          reader->name, reader->message);
    if (reader->truncated)
        return vbErrorSet(err, VB_ERR_PARSE,
                          "%s: truncated PNG (data ends early); the file is incomplete, copy or export it again",
                          reader->name);
    if (strstr(reader->message, "CRC error") != NULL)
        return vbErrorSet(err, VB_ERR_PARSE,
                          "%s: PNG CRC error (%s); the file is corrupt, export it again",
                          reader->name, reader->message);
    return vbErrorSet(err, VB_ERR_PARSE, "%s: invalid PNG: %s", reader->name, reader->message);
}

/* Reads the PNG header (and, when image is not NULL, the pixels) with the
 * transformations that give 8-bit RGB: palette expansion, gray to RGB, high
 * byte of 16-bit samples, alpha and tRNS dropped, interlacing undone. */
static vb_status pngDecode(const uint8_t *data, size_t size, const char *name, VbImage *image,
                           VbImageInfo *info, VbWarnings *warnings, vb_error *err)
{
    PngReader reader = {.data = data, .size = size, .warnings = warnings, .name = name};
    png_structp png = NULL;
    png_infop png_info = NULL;
    uint8_t *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    vb_status st = VB_OK;

    png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, &reader, pngError, pngWarning, NULL,
                                   pngMalloc, pngFree);
    png_info = png != NULL ? png_create_info_struct(png) : NULL;
    if (png_info == NULL) {
        st = vbErrorSet(err, VB_ERR_NO_MEMORY, "%s: out of memory starting the PNG decoder", name);
        goto done;
    }
    if (setjmp(png_jmpbuf(png))) {
        st = pngErrorStatus(&reader, err);
        goto done;
    }
    png_set_read_fn(png, &reader, pngRead);
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_read_info(png, png_info);

    /* Step 1: header facts. */
    png_uint_32 width = png_get_image_width(png, png_info);
    png_uint_32 height = png_get_image_height(png, png_info);
    st = checkDimensions(name, "PNG", width, height, err);
    if (st != VB_OK)
        goto done;
    info->width = (int)width;
    info->height = (int)height;
    info->exif_orientation = 0;
    if (image == NULL)
        goto done;

    /* Step 2: transformations to 8-bit RGB. */
    int color_type = png_get_color_type(png, png_info);
    int bit_depth = png_get_bit_depth(png, png_info);
    if (color_type == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (bit_depth == 16)
        png_set_strip_16(png);
    /* png_set_palette_to_rgb also turns tRNS into alpha, so strip it then too. */
    if ((color_type & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, png_info, PNG_INFO_tRNS))
        png_set_strip_alpha(png);
    if (color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_GRAY_ALPHA)
        png_set_gray_to_rgb(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, png_info);
    if (png_get_rowbytes(png, png_info) != (size_t)width * 3) {
        st = vbErrorSet(err, VB_ERR_INTERNAL, "%s: PNG rows are %zu bytes after conversion, expected %zu",
                        name, (size_t)png_get_rowbytes(png, png_info), (size_t)width * 3);
        goto done;
    }

    /* Step 3: decode into pixels [height][width][3], then read to IEND so a
     * CRC error in the last chunk is caught too. */
    pixels = malloc((size_t)width * height * 3);
    rows = malloc((size_t)height * sizeof *rows);
    if (pixels == NULL || rows == NULL) {
        st = vbErrorSet(err, VB_ERR_NO_MEMORY, "%s: out of memory for %ux%u pixels", name,
                        (unsigned)width, (unsigned)height);
        goto done;
    }
    for (png_uint_32 y = 0; y < height; y++)
        rows[y] = pixels + (size_t)y * width * 3;
    png_read_image(png, rows);
    png_read_end(png, NULL);

    image->width = (int)width;
    image->height = (int)height;
    image->pixels = pixels;
    pixels = NULL;

done:
    png_destroy_read_struct(&png, &png_info, NULL);
    free(pixels);
    free(rows);
    return st;
}

/* ---- Entry points -------------------------------------------------------- */

/* Decodes (image != NULL) or reads the header of an image in memory, and adds
 * the warnings on orientation and a misleading extension. */
static vb_status decodeAny(const uint8_t *data, size_t size, const char *name, VbImage *image,
                           VbImageInfo *info, VbWarnings *warnings, vb_error *err)
{
    VbImageInfo local;
    if (info == NULL)
        info = &local;
    memset(info, 0, sizeof *info);
    if (image != NULL)
        memset(image, 0, sizeof *image);
    if (name == NULL)
        name = "image";

    VbImageFormat format = vbImageSniff(data, size);
    if (format == VB_IMAGE_FORMAT_UNKNOWN)
        return unknownFormatError(data, size, name, err);
    info->format = format;

    vb_status st = format == VB_IMAGE_FORMAT_JPEG
                       ? jpegDecode(data, size, name, image, info, err)
                       : pngDecode(data, size, name, image, info, warnings, err);
    if (st != VB_OK)
        return st;

    VbImageFormat named = formatFromName(name);
    if (warnings != NULL && named != VB_IMAGE_FORMAT_UNKNOWN && named != format)
        vbWarningsAdd(warnings, "%s: file contains %s data despite its extension; decoded as %s",
                      name, vbImageFormatName(format), vbImageFormatName(format));
    if (warnings != NULL && info->exif_orientation > 1)
        vbWarningsAdd(warnings,
                      "%s: EXIF orientation %d ignored; pixels and boxes use the stored %dx%d "
                      "orientation (viewers and cv2.imread rotate it)",
                      name, info->exif_orientation, info->width, info->height);
    return VB_OK;
}

vb_status vbImageDecodeMemory(const uint8_t *data, size_t size, const char *name, VbImage *out,
                              VbImageInfo *info, VbWarnings *warnings, vb_error *err)
{
    return decodeAny(data, size, name, out, info, warnings, err);
}

/* Maps path and runs decodeAny on it; image NULL reads only the header. */
static vb_status decodeFile(const char *path, VbImage *image, VbImageInfo *info,
                            VbWarnings *warnings, vb_error *err)
{
    if (image != NULL)
        memset(image, 0, sizeof *image);
    VbMappedFile file;
    vb_status st = vbFileMap(path, &file, err);
    if (st != VB_OK)
        return st;
    if (file.size > VB_IMAGE_MAX_FILE_BYTES) {
        st = vbErrorSet(err, VB_ERR_LIMIT, "%s: image file is %zu bytes, more than the limit of %zu",
                        path, file.size, VB_IMAGE_MAX_FILE_BYTES);
    } else {
        st = decodeAny(file.data, file.size, path, image, info, warnings, err);
    }
    vbFileUnmap(&file);
    return st;
}

vb_status vbImageDecodeFile(const char *path, VbImage *out, VbImageInfo *info,
                            VbWarnings *warnings, vb_error *err)
{
    return decodeFile(path, out, info, warnings, err);
}

vb_status vbImageReadInfo(const char *path, VbImageInfo *info, VbWarnings *warnings,
                          vb_error *err)
{
    return decodeFile(path, NULL, info, warnings, err);
}
