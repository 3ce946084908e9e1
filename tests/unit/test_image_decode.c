/* Tests image decoding: synthetic JPEG/PNG in memory, every file of the bad-input image set, and OpenCV-equal bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>

#include "image/decode.h"
#include "vbtest.h"

/* FNV-1a 64 over the decoded bytes: a compact fingerprint to compare with
 * the bytes OpenCV 4.6 cv2.imread(path, IMREAD_COLOR | IMREAD_IGNORE_ORIENTATION)
 * returns (converted BGR to RGB), recorded when the test was written. */
static uint64_t fnv1a(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* Encodes a w x h RGB gradient as a baseline JPEG; the caller frees *out. */
static void encodeJpeg(int w, int h, unsigned char **out, unsigned long *size)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    *out = NULL;
    *size = 0;
    jpeg_mem_dest(&c, out, size);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 95, TRUE);
    jpeg_start_compress(&c, TRUE);
    unsigned char *row = malloc((size_t)w * 3);
    while (c.next_scanline < c.image_height) {
        for (int x = 0; x < w; x++) {
            row[x * 3] = (unsigned char)(x * 255 / (w > 1 ? w - 1 : 1));
            row[x * 3 + 1] = (unsigned char)(c.next_scanline * 255 / (unsigned)(h > 1 ? h - 1 : 1));
            row[x * 3 + 2] = 128;
        }
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
}

typedef struct MemPng {
    unsigned char *data;
    size_t size, cap;
} MemPng;

static void memPngWrite(png_structp png, png_bytep bytes, png_size_t n)
{
    MemPng *m = png_get_io_ptr(png);
    if (m->size + n > m->cap) {
        m->cap = (m->size + n) * 2;
        m->data = realloc(m->data, m->cap);
    }
    memcpy(m->data + m->size, bytes, n);
    m->size += n;
}

static void memPngFlush(png_structp png)
{
    (void)png;
}

/* Encodes a w x h image of the given PNG color type and bit depth. Sample
 * (x, y, channel) is v = (x * 7 + y * 3 + channel) mod 256; 16-bit samples
 * store v in the high byte and 255 - v in the low byte. */
static MemPng encodePng(int w, int h, int color_type, int depth, int interlace)
{
    MemPng m = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    png_set_write_fn(png, &m, memPngWrite, memPngFlush);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, color_type,
                 interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    int channels = color_type == PNG_COLOR_TYPE_RGB ? 3 : color_type == PNG_COLOR_TYPE_RGBA ? 4
                   : color_type == PNG_COLOR_TYPE_GRAY_ALPHA ? 2 : 1;
    size_t bytes_per = depth == 16 ? 2 : 1;
    unsigned char *img = calloc((size_t)w * h * channels * bytes_per, 1);
    png_bytep *rows = malloc((size_t)h * sizeof *rows);
    for (int y = 0; y < h; y++) {
        rows[y] = img + (size_t)y * w * channels * bytes_per;
        for (int x = 0; x < w; x++)
            for (int c = 0; c < channels; c++) {
                unsigned v = (unsigned)(x * 7 + y * 3 + c) & 0xFF;
                unsigned char *s = rows[y] + ((size_t)x * channels + c) * bytes_per;
                if (depth == 16) {
                    s[0] = (unsigned char)v;
                    s[1] = (unsigned char)(255 - v);
                } else {
                    s[0] = (unsigned char)v;
                }
            }
    }
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    free(img);
    return m;
}

/* A palette PNG with a tRNS chunk decodes to the palette's RGB, alpha dropped. */
static void testPaletteWithTransparency(void)
{
    MemPng m = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    png_set_write_fn(png, &m, memPngWrite, memPngFlush);
    png_set_IHDR(png, info, 4, 2, 8, PNG_COLOR_TYPE_PALETTE, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_color palette[2] = {{10, 20, 30}, {200, 100, 50}};
    png_byte alpha[2] = {0, 255};
    png_set_PLTE(png, info, palette, 2);
    png_set_tRNS(png, info, alpha, 2, NULL);
    png_write_info(png, info);
    png_byte row0[4] = {0, 1, 0, 1}, row1[4] = {1, 1, 0, 0};
    png_bytep rows[2] = {row0, row1};
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);

    VbImage image;
    vb_error err = {0};
    vb_status st = vbImageDecodeMemory(m.data, m.size, "trns.png", &image, NULL, NULL, &err);
    CHECK_MSG(st == VB_OK, "%s", err.message);
    if (st == VB_OK) {
        CHECK_EQ_INT(image.pixels[0], 10);
        CHECK_EQ_INT(image.pixels[2], 30);
        CHECK_EQ_INT(image.pixels[3], 200);
        CHECK_EQ_INT(image.pixels[(4 + 3) * 3 + 1], 20);
    }
    vbImageFree(&image);
    free(m.data);
}

static void testSniff(void)
{
    const uint8_t jpeg[] = {0xFF, 0xD8, 0xFF, 0xE0};
    const uint8_t png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    CHECK_EQ_INT(vbImageSniff(jpeg, sizeof jpeg), VB_IMAGE_FORMAT_JPEG);
    CHECK_EQ_INT(vbImageSniff(png, sizeof png), VB_IMAGE_FORMAT_PNG);
    CHECK_EQ_INT(vbImageSniff(png, 7), VB_IMAGE_FORMAT_UNKNOWN);
    CHECK_EQ_INT(vbImageSniff(NULL, 0), VB_IMAGE_FORMAT_UNKNOWN);
}

static void testNotAnImage(void)
{
    VbImage image;
    vb_error err = {0};
    const char *text = "hello world";
    vb_status st = vbImageDecodeMemory((const uint8_t *)text, strlen(text), "a.jpg", &image, NULL,
                                       NULL, &err);
    CHECK_EQ_INT(st, VB_ERR_PARSE);
    CHECK_MSG(strstr(err.message, "a.jpg: not a JPEG or PNG file (starts with bytes 'hell')") != NULL,
              "%s", err.message);
    CHECK(image.pixels == NULL);

    st = vbImageDecodeMemory((const uint8_t *)"", 0, "empty.png", &image, NULL, NULL, &err);
    CHECK_EQ_INT(st, VB_ERR_PARSE);
    CHECK_MSG(strstr(err.message, "empty.png: empty file") != NULL, "%s", err.message);

    st = vbImageDecodeMemory((const uint8_t *)"GIF89a....", 10, "x.gif", &image, NULL, NULL, &err);
    CHECK_EQ_INT(st, VB_ERR_UNSUPPORTED);
    CHECK_MSG(strstr(err.message, "GIF images are not supported") != NULL, "%s", err.message);
}

static void testJpegRoundTripAndTruncation(void)
{
    unsigned char *jpeg;
    unsigned long size;
    encodeJpeg(64, 48, &jpeg, &size);

    VbImage image;
    VbImageInfo info;
    VbWarnings warnings = {0};
    vb_error err = {0};
    vb_status st = vbImageDecodeMemory(jpeg, size, "synthetic.jpg", &image, &info, &warnings, &err);
    CHECK_MSG(st == VB_OK, "%s", err.message);
    CHECK_EQ_INT(image.width, 64);
    CHECK_EQ_INT(image.height, 48);
    CHECK_EQ_INT(info.format, VB_IMAGE_FORMAT_JPEG);
    CHECK_EQ_INT(warnings.count, 0);
    /* The last pixel is near (255, 255, 128) after lossy coding. */
    const uint8_t *last = image.pixels + ((size_t)47 * 64 + 63) * 3;
    CHECK_NEAR(last[0], 255, 6);
    CHECK_NEAR(last[1], 255, 6);
    CHECK_NEAR(last[2], 128, 6);
    vbImageFree(&image);

    /* Named .png: decoded by content, with a warning. */
    st = vbImageDecodeMemory(jpeg, size, "named.png", &image, NULL, &warnings, &err);
    CHECK_EQ_INT(st, VB_OK);
    CHECK_EQ_INT(warnings.count, 1);
    if (warnings.count == 1)
        CHECK_MSG(strstr(warnings.items[0], "JPEG data despite its extension") != NULL, "%s",
                  warnings.items[0]);
    vbImageFree(&image);
    vbWarningsClear(&warnings);

    /* Cut at 60% of its bytes: an error, never a partial image. */
    st = vbImageDecodeMemory(jpeg, size * 6 / 10, "cut.jpg", &image, NULL, NULL, &err);
    CHECK_EQ_INT(st, VB_ERR_PARSE);
    CHECK_MSG(strstr(err.message, "cut.jpg: truncated JPEG") != NULL, "%s", err.message);
    CHECK(image.pixels == NULL);

    /* Cut inside the header. */
    st = vbImageDecodeMemory(jpeg, 40, "head.jpg", &image, NULL, NULL, &err);
    CHECK_EQ_INT(st, VB_ERR_PARSE);
    free(jpeg);
}

static void testPngVariants(void)
{
    static const struct {
        int color_type, depth, interlace;
    } cases[] = {
        {PNG_COLOR_TYPE_RGB, 8, 0},   {PNG_COLOR_TYPE_RGB, 16, 0},  {PNG_COLOR_TYPE_RGBA, 8, 0},
        {PNG_COLOR_TYPE_GRAY, 8, 0},  {PNG_COLOR_TYPE_GRAY, 16, 0}, {PNG_COLOR_TYPE_GRAY_ALPHA, 8, 0},
        {PNG_COLOR_TYPE_RGB, 8, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        MemPng png = encodePng(13, 7, cases[i].color_type, cases[i].depth, cases[i].interlace);
        VbImage image;
        vb_error err = {0};
        vb_status st = vbImageDecodeMemory(png.data, png.size, "v.png", &image, NULL, NULL, &err);
        CHECK_MSG(st == VB_OK, "case %zu: %s", i, err.message);
        if (st == VB_OK) {
            int gray = cases[i].color_type == PNG_COLOR_TYPE_GRAY ||
                       cases[i].color_type == PNG_COLOR_TYPE_GRAY_ALPHA;
            int bad = 0;
            for (int y = 0; y < 7; y++)
                for (int x = 0; x < 13; x++)
                    for (int c = 0; c < 3; c++) {
                        /* 16-bit samples keep their high byte, which is v. */
                        unsigned v = (unsigned)(x * 7 + y * 3 + (gray ? 0 : c)) & 0xFF;
                        bad += image.pixels[((size_t)y * 13 + x) * 3 + c] != v;
                    }
            CHECK_MSG(bad == 0, "case %zu: %d samples differ", i, bad);
        }
        vbImageFree(&image);

        /* Flip one bit of the IDAT CRC (the 4 bytes before IEND's 12). */
        png.data[png.size - 12 - 1] ^= 1;
        st = vbImageDecodeMemory(png.data, png.size, "crc.png", &image, NULL, NULL, &err);
        CHECK_EQ_INT(st, VB_ERR_PARSE);
        CHECK_MSG(strstr(err.message, "crc.png: PNG CRC error") != NULL, "case %zu: %s", i,
                  err.message);
        png.data[png.size - 12 - 1] ^= 1;

        st = vbImageDecodeMemory(png.data, png.size / 2, "half.png", &image, NULL, NULL, &err);
        CHECK_EQ_INT(st, VB_ERR_PARSE);
        CHECK_MSG(strstr(err.message, "half.png: truncated PNG") != NULL, "case %zu: %s", i,
                  err.message);
        free(png.data);
    }
}

/* One file of the bad-input image set and what decoding it must give. */
typedef struct ImageCase {
    const char *file;
    vb_status status;
    int width, height;
    const char *text;     /* substring of the error, or of the only warning */
    uint64_t fingerprint; /* fnv1a of the RGB bytes as OpenCV returns them; 0 skips */
} ImageCase;

static const ImageCase IMAGE_CASES[] = {
    {"truncated.jpg", VB_ERR_PARSE, 0, 0, "truncated JPEG", 0},
    {"zero_bytes.jpg", VB_ERR_PARSE, 0, 0, "empty file", 0},
    {"text_named.jpg", VB_ERR_PARSE, 0, 0, "not a JPEG or PNG file (starts with bytes 'This')", 0},
    {"bad_crc.png", VB_ERR_PARSE, 0, 0, "PNG CRC error (IDAT: CRC error)", 0},
    {"bad_crc_ihdr.png", VB_ERR_PARSE, 0, 0, "PNG CRC error (IHDR: CRC error)", 0},
    {"rgb16.png", VB_OK, 160, 120, NULL, 0x98dd6dce347a7607ull},
    {"gray16.png", VB_OK, 160, 120, NULL, 0x40f808ff135a059dull},
    {"grayscale.jpg", VB_OK, 320, 240, NULL, 0},
    {"cmyk.jpg", VB_OK, 320, 240, NULL, 0xf7694da090c3a8d3ull},
    {"progressive.jpg", VB_OK, 320, 240, NULL, 0x6811587c0d089d9dull},
    {"rgba.png", VB_OK, 320, 240, NULL, 0},
    {"palette.png", VB_OK, 320, 240, NULL, 0x18ab7ebd17c862e2ull},
    {"jpeg_named.png", VB_OK, 320, 240, "JPEG data despite its extension", 0},
    {"UPPER_CASE.JPG", VB_OK, 320, 240, NULL, 0},
    {"exif_orientation6.jpg", VB_OK, 96, 64, "EXIF orientation 6 ignored", 0},
    {"one_pixel.png", VB_OK, 1, 1, NULL, 0},
    {"one_pixel.jpg", VB_OK, 1, 1, NULL, 0},
    {"wide_8000x16.jpg", VB_OK, 8000, 16, NULL, 0},
    {"tall_16x8000.png", VB_OK, 16, 8000, NULL, 0},
};

/* Runs every case, or with only set the cases of that one file. Returns the
 * number of cases run. */
static int testBadInputImages(const char *shared, const char *only)
{
    int run = 0;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/datasets/bad-inputs/images", shared);
    for (size_t i = 0; i < sizeof IMAGE_CASES / sizeof IMAGE_CASES[0]; i++) {
        const ImageCase *c = &IMAGE_CASES[i];
        if (only != NULL && strcmp(c->file, only) != 0)
            continue;
        run++;
        char path[4352];
        snprintf(path, sizeof path, "%s/%s", dir, c->file);
        VbImage image;
        VbImageInfo info, header;
        VbWarnings warnings = {0};
        vb_error err = {0};
        vb_status st = vbImageDecodeFile(path, &image, &info, &warnings, &err);
        CHECK_MSG(st == c->status, "%s: status %d, message %s", c->file, st, err.message);
        if (st != VB_OK) {
            CHECK_MSG(strstr(err.message, c->file) != NULL, "%s: message does not name the file: %s",
                      c->file, err.message);
            CHECK_MSG(c->text == NULL || strstr(err.message, c->text) != NULL, "%s: %s", c->file,
                      err.message);
            CHECK(image.pixels == NULL);
            continue;
        }
        CHECK_EQ_INT(image.width, c->width);
        CHECK_EQ_INT(image.height, c->height);
        CHECK_EQ_INT(warnings.count, c->text != NULL ? 1 : 0);
        if (c->text != NULL && warnings.count > 0)
            CHECK_MSG(strstr(warnings.items[0], c->text) != NULL, "%s: %s", c->file,
                      warnings.items[0]);
        if (c->fingerprint != 0) {
            uint64_t h = fnv1a(image.pixels, (size_t)image.width * image.height * 3);
            CHECK_MSG(h == c->fingerprint, "%s: pixels differ from OpenCV's (fnv1a %016llx)",
                      c->file, (unsigned long long)h);
        }

        /* The header-only reader agrees with the decoder. */
        CHECK_EQ_INT(vbImageReadInfo(path, &header, NULL, &err), VB_OK);
        CHECK_EQ_INT(header.width, c->width);
        CHECK_EQ_INT(header.height, c->height);
        CHECK_EQ_INT(header.format, info.format);
        vbImageFree(&image);
        vbWarningsClear(&warnings);
    }

    /* The EXIF case keeps stored pixels: the red car sits at (45..69, 28..44). */
    if (only != NULL && strcmp(only, "exif_orientation6.jpg") != 0)
        return run;
    char path[4352];
    snprintf(path, sizeof path, "%s/exif_orientation6.jpg", dir);
    VbImage image;
    VbImageInfo info;
    vb_error err = {0};
    if (vbImageDecodeFile(path, &image, &info, NULL, &err) == VB_OK) {
        CHECK_EQ_INT(info.exif_orientation, 6);
        const uint8_t *p = image.pixels + ((size_t)36 * image.width + 57) * 3;
        CHECK_MSG(p[0] > 150 && p[1] < 80 && p[2] < 80, "car pixel is %d,%d,%d", p[0], p[1], p[2]);
        vbImageFree(&image);
    }
    return run;
}

/* grace_hopper.jpg from Debian's python-matplotlib-data: the decoded bytes
 * must equal OpenCV 4.6 cv2.imread's. Skipped when the package is absent. */
static void testGraceHopperMatchesOpenCv(void)
{
    const char *path = "/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg";
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        printf("note: %s not found (install python-matplotlib-data); OpenCV check skipped\n", path);
        return;
    }
    fclose(f);
    VbImage image;
    vb_error err = {0};
    CHECK_EQ_INT(vbImageDecodeFile(path, &image, NULL, NULL, &err), VB_OK);
    CHECK_EQ_INT(image.width, 512);
    CHECK_EQ_INT(image.height, 600);
    if (image.pixels != NULL)
        CHECK_MSG(fnv1a(image.pixels, (size_t)512 * 600 * 3) == 0xeaad7eb636c70992ull,
                  "grace_hopper.jpg decodes differently from OpenCV");
    vbImageFree(&image);
}

/* With an argument (a file name of the bad-input image set) only that
 * file's case runs; tests/bad_inputs.cmake registers one test per file. */
int main(int argc, char **argv)
{
    if (argc > 1) {
        const char *shared = vbTestSharedDir();
        if (shared == NULL)
            return VB_TEST_SKIP;
        CHECK_MSG(testBadInputImages(shared, argv[1]) > 0,
                  "no expected outcome for '%s'; add it to IMAGE_CASES", argv[1]);
        TEST_END();
    }
    testSniff();
    testNotAnImage();
    testJpegRoundTripAndTruncation();
    testPngVariants();
    testPaletteWithTransparency();
    testGraceHopperMatchesOpenCv();

    vb_error err = {0};
    VbImageInfo info;
    CHECK_EQ_INT(vbImageReadInfo("/nonexistent/x.png", &info, NULL, &err), VB_ERR_NOT_FOUND);

    const char *shared = vbTestSharedDir();
    if (shared == NULL) {
        if (vbTestFailures)
            TEST_END();
        return VB_TEST_SKIP;
    }
    testBadInputImages(shared, NULL);
    TEST_END();
}
