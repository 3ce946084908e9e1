/* Tests preprocessing recipes: letterbox geometry edge cases and bit-exactness against the zoo's reference inputs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "core/core.h"
#include "models/preprocess.h"
#include "vbtest.h"

#define PHOTO "/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg"

/* Decodes a JPEG with libjpeg's defaults (islow IDCT, fancy upsampling), the
 * settings OpenCV's imread uses, so the pixels equal cv2.imread's. */
static int decodeJpeg(const char *path, VbImage *out)
{
    struct jpeg_decompress_struct cinfo;
    struct jpeg_error_mgr jerr;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    cinfo.err = jpeg_std_error(&jerr);
    jpeg_create_decompress(&cinfo);
    jpeg_stdio_src(&cinfo, f);
    jpeg_read_header(&cinfo, TRUE);
    cinfo.out_color_space = JCS_RGB;
    jpeg_start_decompress(&cinfo);
    out->width = (int)cinfo.output_width;
    out->height = (int)cinfo.output_height;
    out->pixels = malloc((size_t)out->width * out->height * 3);
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = out->pixels + (size_t)cinfo.output_scanline * out->width * 3;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    fclose(f);
    return 0;
}

static void testLetterboxTall(void)
{
    VbPreprocess p;
    VbLetterbox lb;
    vb_error err;
    vbModelPreprocessYolo(&p, 640, 640);
    CHECK(vbModelLetterbox(&p, 8000, 16, &lb, &err) == VB_OK);
    CHECK_EQ_INT(lb.resized_width, 640);
    CHECK_EQ_INT(lb.resized_height, 1);
    CHECK_EQ_INT((int)lb.pad_y, 319);
    CHECK_NEAR(lb.scale_x, 0.08, 1e-12);

    vbModelPreprocessYolox(&p, 416, 416);
    CHECK(vbModelLetterbox(&p, 16, 8000, &lb, &err) == VB_OK);
    CHECK_EQ_INT(lb.resized_width, 1);
    CHECK_EQ_INT(lb.resized_height, 416);
    CHECK_EQ_INT((int)lb.pad_x, 0);
}

static void testLetterboxSmall(void)
{
    VbPreprocess p;
    VbLetterbox lb;
    vb_error err;
    vbModelPreprocessYolo(&p, 640, 640);
    CHECK(vbModelLetterbox(&p, 1, 1, &lb, &err) == VB_OK);
    CHECK_EQ_INT(lb.resized_width, 640);
    CHECK_EQ_INT(lb.resized_height, 640);

    /* 676x380: r = 640/676, height round(359.76...) = 360, pad (640-360)/2. */
    CHECK(vbModelLetterbox(&p, 676, 380, &lb, &err) == VB_OK);
    CHECK_EQ_INT(lb.resized_width, 640);
    CHECK_EQ_INT(lb.resized_height, 360);
    CHECK_EQ_INT((int)lb.pad_y, 140);
    CHECK_EQ_INT((int)lb.pad_x, 0);

    vbModelPreprocessYolox(&p, 416, 416);
    CHECK(vbModelLetterbox(&p, 676, 380, &lb, &err) == VB_OK);
    CHECK_EQ_INT(lb.resized_height, 233); /* int(380 * 416/676) = int(233.84) */
    CHECK(vbModelLetterbox(&p, 0, 10, &lb, &err) == VB_ERR_INVALID_ARGUMENT);

    /* Shorter side 16 -> 256 would make the other side 128000 pixels. */
    vbModelPreprocessImagenet(&p, 224, 224);
    CHECK(vbModelLetterbox(&p, 8000, 16, &lb, &err) == VB_ERR_LIMIT);
    CHECK(vbModelLetterbox(&p, 1, 1, &lb, &err) == VB_OK);
    CHECK_EQ_INT(lb.resized_width, 256);
    CHECK_EQ_INT((int)lb.pad_x, -16);
}

static void testPreprocessTinyImage(void)
{
    uint8_t px[3] = {10, 20, 30};
    VbImage img = {1, 1, px};
    VbPreprocess p;
    VbLetterbox lb;
    vb_error err;
    float *out = malloc(sizeof(float) * 3 * 64 * 32);

    vbModelPreprocessYolo(&p, 64, 32);
    CHECK(vbModelPreprocess(&p, &img, out, &lb, &err) == VB_OK);
    /* 1x1 -> 32x32 centred in 64x32: pad 16 left; RGB planes. */
    CHECK_NEAR(out[16], 10 / 255.0f, 0);
    CHECK_NEAR(out[64 * 32 + 16], 20 / 255.0f, 0);
    CHECK_NEAR(out[0], 114 / 255.0f, 0);

    vbModelPreprocessYolox(&p, 64, 32);
    CHECK(vbModelPreprocess(&p, &img, out, &lb, &err) == VB_OK);
    CHECK_NEAR(out[0], 30, 0); /* B first, raw value */
    CHECK_NEAR(out[40], 114, 0);
    free(out);
}

static void testPreprocessJson(void)
{
    VbPreprocess p;
    vbModelPreprocessImagenet(&p, 224, 224);
    CHECK_EQ_INT(p.resize_short, 256);
    json_t *j = vbModelPreprocessToJson(&p);
    CHECK(j != NULL);
    char *s = json_dumps(j, JSON_COMPACT);
    CHECK(strstr(s, "\"placement\":\"shorter-side-center-crop\"") != NULL);
    CHECK(strstr(s, "\"mean\"") != NULL);
    free(s);
    json_decref(j);
}

/* Compares one recipe's output on the photo with NAME.input.f32. */
static void checkReference(const char *shared, const VbImage *img, const char *name,
                           const VbPreprocess *p)
{
    char path[1024];
    char *ref = NULL;
    size_t ref_len = 0;
    vb_error err;
    size_t n = (size_t)3 * p->width * p->height;
    float *out = malloc(n * sizeof *out);

    snprintf(path, sizeof path, "%s/models/%s.input.f32", shared, name);
    CHECK_MSG(vbFileRead(path, (size_t)64 << 20, &ref, &ref_len, &err) == VB_OK, "%s",
              err.message);
    CHECK_MSG(ref_len == n * sizeof(float), "%s: %zu bytes, expected %zu", name, ref_len,
              n * sizeof(float));
    CHECK_MSG(vbModelPreprocess(p, img, out, NULL, &err) == VB_OK, "%s", err.message);
    if (ref != NULL && ref_len == n * sizeof(float)) {
        size_t mismatches = 0;
        double max_diff = 0;
        for (size_t i = 0; i < n; i++) {
            float r;
            memcpy(&r, ref + i * sizeof r, sizeof r);
            double d = fabs((double)r - out[i]);
            if (r != out[i])
                mismatches++;
            if (d > max_diff)
                max_diff = d;
        }
        printf("%-30s %s: %zu of %zu values differ, max difference %g\n", name, p->name,
               mismatches, n, max_diff);
        CHECK_MSG(mismatches == 0, "%s differs from the reference in %zu values", name,
                  mismatches);
    }
    free(ref);
    free(out);
}

/* Returns 1 when the shared data or the photo is missing (skipped). */
static int testReferenceInputs(void)
{
    const char *shared = vbTestSharedDir();
    VbImage img = {0};
    VbPreprocess p;
    if (shared == NULL)
        return 1;
    if (decodeJpeg(PHOTO, &img) != 0) {
        printf("skipped: %s not found (install python3-matplotlib-data)\n", PHOTO);
        return 1;
    }
    CHECK_EQ_INT(img.width, 512);
    CHECK_EQ_INT(img.height, 600);

    vbModelPreprocessYolo(&p, 640, 640);
    checkReference(shared, &img, "yolov5n", &p);
    checkReference(shared, &img, "yolov8n", &p);
    vbModelPreprocessTorchvision(&p, 320, 320);
    checkReference(shared, &img, "fasterrcnn_mobilenet_v3_320", &p);
    vbModelPreprocessImagenet(&p, 224, 224);
    checkReference(shared, &img, "efficientnet_b0", &p);
    vbModelPreprocessYolox(&p, 416, 416);
    checkReference(shared, &img, "yolox_nano", &p);
    vbModelPreprocessFastestDet(&p, 352, 352);
    checkReference(shared, &img, "FastestDet", &p);
    vbImageFree(&img);
    return 0;
}

int main(void)
{
    testLetterboxTall();
    testLetterboxSmall();
    testPreprocessTinyImage();
    testPreprocessJson();
    /* Skip only when every check that could run passed. */
    if (testReferenceInputs() && vbTestFailures == 0)
        return VB_TEST_SKIP;
    TEST_END();
}
