/* Tests the OpenCV-exact resizes on small hand-computed cases, borders, constant images and bad arguments. */
#include <stdlib.h>
#include <string.h>

#include "image/resize.h"
#include "vbtest.h"

static void testLinearHandComputed(void)
{
    /* 2 -> 4 pixels in one row: weights (1536, 512) and (512, 1536), the
     * outer pixels copy the borders; the blend rounds 63.75 to 64. */
    const uint8_t src[2] = {0, 255};
    uint8_t dst[4];
    vb_error err;
    CHECK(vbImageResize(src, 2, 1, 1, dst, 4, 1, VB_RESIZE_LINEAR, &err) == VB_OK);
    CHECK_EQ_INT(dst[0], 0);
    CHECK_EQ_INT(dst[1], 64);
    CHECK_EQ_INT(dst[2], 191);
    CHECK_EQ_INT(dst[3], 255);
}

static void testAreaHandComputed(void)
{
    /* 3 -> 2: cells of 1.5 pixels, 0*2/3 + 90/3 = 30 and 90/3 + 180*2/3 = 150. */
    const uint8_t src[3] = {0, 90, 180};
    uint8_t dst[2];
    vb_error err;
    CHECK(vbImageResize(src, 3, 1, 1, dst, 2, 1, VB_RESIZE_AREA, &err) == VB_OK);
    CHECK_EQ_INT(dst[0], 30);
    CHECK_EQ_INT(dst[1], 150);
}

static void testHalfSizeRounding(void)
{
    /* An exact 2x shrink averages 2x2 blocks with (sum + 2) >> 2, for linear too:
     * 0+0+1+1 = 2 gives 1, where rounding 0.5 to even would give 0. */
    const uint8_t src[4] = {0, 0, 1, 1};
    uint8_t dst[1];
    vb_error err;
    CHECK(vbImageResize(src, 2, 2, 1, dst, 1, 1, VB_RESIZE_LINEAR, &err) == VB_OK);
    CHECK_EQ_INT(dst[0], 1);
    CHECK(vbImageResize(src, 2, 2, 1, dst, 1, 1, VB_RESIZE_AREA, &err) == VB_OK);
    CHECK_EQ_INT(dst[0], 1);

    /* A 3x3 block rounds sum / 9 in float: 9 * 100 / 9 = 100. */
    uint8_t block[9];
    memset(block, 100, sizeof block);
    CHECK(vbImageResize(block, 3, 3, 1, dst, 1, 1, VB_RESIZE_AREA, &err) == VB_OK);
    CHECK_EQ_INT(dst[0], 100);
}

static void testEqualSizeCopies(void)
{
    uint8_t src[12], dst[12];
    vb_error err;
    for (int i = 0; i < 12; i++)
        src[i] = (uint8_t)(i * 20);
    CHECK(vbImageResize(src, 2, 2, 3, dst, 2, 2, VB_RESIZE_LINEAR, &err) == VB_OK);
    CHECK(memcmp(src, dst, sizeof src) == 0);
}

/* Every method and size keeps a constant image constant. */
static void testConstantImage(void)
{
    static const int sizes[][2] = {{1, 1}, {1, 7}, {7, 1}, {5, 3}, {64, 48}, {100, 13}};
    uint8_t *src = malloc(64 * 48 * 3), *dst = malloc(100 * 48 * 3);
    vb_error err;
    memset(src, 173, 64 * 48 * 3);
    for (int m = 0; m < 2; m++) {
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            int w = sizes[s][0], h = sizes[s][1];
            CHECK(vbImageResize(src, 64, 48, 3, dst, w, h, (VbResizeMethod)m, &err) == VB_OK);
            int bad = 0;
            for (int i = 0; i < w * h * 3; i++)
                bad += dst[i] != 173;
            CHECK_MSG(bad == 0, "%s 64x48 -> %dx%d: %d samples changed",
                      vbResizeMethodName((VbResizeMethod)m), w, h, bad);
        }
    }
    /* One source pixel enlarged. */
    CHECK(vbImageResize(src, 1, 1, 3, dst, 100, 48, VB_RESIZE_LINEAR, &err) == VB_OK);
    CHECK_EQ_INT(dst[100 * 48 * 3 - 1], 173);
    CHECK(vbImageResize(src, 1, 1, 3, dst, 100, 48, VB_RESIZE_AREA, &err) == VB_OK);
    CHECK_EQ_INT(dst[0], 173);
    free(src);
    free(dst);
}

static void testResizeBadArguments(void)
{
    uint8_t px[4] = {0};
    vb_error err;
    CHECK(vbImageResize(NULL, 1, 1, 1, px, 1, 1, VB_RESIZE_LINEAR, &err) ==
          VB_ERR_INVALID_ARGUMENT);
    CHECK(vbImageResize(px, 1, 1, 0, px + 1, 1, 1, VB_RESIZE_LINEAR, &err) ==
          VB_ERR_INVALID_ARGUMENT);
    CHECK(vbImageResize(px, 1, 1, 5, px + 1, 1, 1, VB_RESIZE_LINEAR, &err) ==
          VB_ERR_INVALID_ARGUMENT);
    CHECK(vbImageResize(px, 0, 1, 1, px + 1, 1, 1, VB_RESIZE_LINEAR, &err) ==
          VB_ERR_INVALID_ARGUMENT);
    CHECK(vbImageResize(px, 1, 1, 1, px + 1, 1, VB_RESIZE_MAX_DIM + 1, VB_RESIZE_AREA, &err) ==
          VB_ERR_INVALID_ARGUMENT);
    CHECK(strstr(err.message, "1x1") != NULL);
    CHECK(vbImageResize(px, 1, 1, 1, px + 1, 1, 1, (VbResizeMethod)9, &err) ==
          VB_ERR_INVALID_ARGUMENT);
    CHECK_STR(vbResizeMethodName(VB_RESIZE_AREA), "area");
}

int main(void)
{
    testLinearHandComputed();
    testAreaHandComputed();
    testHalfSizeRounding();
    testEqualSizeCopies();
    testConstantImage();
    testResizeBadArguments();
    TEST_END();
}
