/* OpenCV 4.6-exact 8-bit resizes: fixed-point bilinear, integer-ratio and general area averaging. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "image/resize.h"

/* Bilinear weights are integers scaled by 2^11 (OpenCV INTER_RESIZE_COEF_BITS). */
#define COEF_BITS 11
#define COEF_SCALE (1 << COEF_BITS)

const char *vbResizeMethodName(VbResizeMethod method)
{
    switch (method) {
    case VB_RESIZE_LINEAR: return "linear";
    case VB_RESIZE_AREA: return "area";
    }
    return "unknown";
}

static uint8_t saturateU8(long v)
{
    if (v < 0)
        return 0;
    if (v > 255)
        return 255;
    return (uint8_t)v;
}

/* cv::saturate_cast<uchar>(float): round half to even, then clamp. */
static uint8_t roundFloatU8(float v)
{
    if (!(v > -1.0f))
        return 0;
    if (v > 255.0f)
        return 255;
    return saturateU8(lrintf(v));
}

/* cv::saturate_cast<short>(float), used for the fixed-point weights. */
static short roundFloatS16(float v)
{
    long r = lrintf(v);
    if (r < -32768)
        return -32768;
    if (r > 32767)
        return 32767;
    return (short)r;
}

static int clampIndex(int i, int n)
{
    if (i < 0)
        return 0;
    if (i >= n)
        return n - 1;
    return i;
}

/* Returns the cache slot (0 or 1) that contains source row, or -1. */
static int findSlot(const int slot_rows[2], int row)
{
    if (slot_rows[0] == row)
        return 0;
    if (slot_rows[1] == row)
        return 1;
    return -1;
}

/* Fills the source index and the two fixed-point weights of every output
 * position along one axis, as OpenCV's resize table setup does. area_mode
 * selects the INTER_AREA emulation used when enlarging. For the horizontal
 * axis (border != NULL) indexes are clamped to the image and *border receives
 * the first output column that copies the last source column; the vertical
 * axis keeps unclamped indexes and the rows are clamped when read. */
static void buildLinearAxis(int src_n, int dst_n, int area_mode, int *ofs, short *weights,
                            int *border)
{
    double inv_scale = (double)dst_n / src_n;
    double scale = 1.0 / inv_scale;

    if (border != NULL)
        *border = dst_n;
    for (int d = 0; d < dst_n; d++) {
        float f;
        int s;
        if (!area_mode) {
            f = (float)((d + 0.5) * scale - 0.5);
            s = (int)floorf(f);
            f -= (float)s;
        } else {
            s = (int)floor(d * scale);
            f = (float)((d + 1) - (s + 1) * inv_scale);
            f = f <= 0 ? 0.0f : f - floorf(f);
        }
        if (border != NULL) {
            if (s < 0) {
                f = 0;
                s = 0;
            }
            if (s + 1 >= src_n) {
                if (d < *border)
                    *border = d;
                f = 0;
                s = src_n - 1;
            }
        }
        ofs[d] = s;
        weights[2 * d] = roundFloatS16((1.0f - f) * COEF_SCALE);
        weights[2 * d + 1] = roundFloatS16(f * COEF_SCALE);
    }
}

/* Horizontal pass of one source row: out[dst_width * cn] = weighted pairs,
 * scaled by 2^11. Columns from border on copy the last source column. */
static void resizeRowLinear(const uint8_t *row, int cn, int dst_width, const int *xofs,
                            const short *alpha, int border, int32_t *out)
{
    for (int dx = 0; dx < border; dx++) {
        const uint8_t *s = row + (size_t)xofs[dx] * cn;
        int a0 = alpha[2 * dx], a1 = alpha[2 * dx + 1];
        for (int c = 0; c < cn; c++)
            out[dx * cn + c] = s[c] * a0 + s[c + cn] * a1;
    }
    for (int dx = border; dx < dst_width; dx++) {
        const uint8_t *s = row + (size_t)xofs[dx] * cn;
        for (int c = 0; c < cn; c++)
            out[dx * cn + c] = s[c] * COEF_SCALE;
    }
}

/* Vertical pass: blends two horizontally resized rows into 8-bit output.
 * OpenCV 4.x computes every sample of 8-bit linear resizes this way, in its
 * SIMD loop and its scalar tail alike: drop 4 fraction bits, multiply by the
 * weight keeping the high 16 bits, add, then round with (v + 2) >> 2. This
 * is not the exactly rounded blend; it can be one lower. */
static void blendRows(const int32_t *r0, const int32_t *r1, int b0, int b1, int width,
                      uint8_t *out)
{
    for (int x = 0; x < width; x++) {
        int32_t a = r0[x] >> 4, b = r1[x] >> 4;
        int32_t v = ((a * b0) >> 16) + ((b * b1) >> 16);
        out[x] = saturateU8((v + 2) >> 2);
    }
}

/* Bilinear resize (also INTER_AREA when enlarging, with area_mode set). */
static vb_status resizeLinear(const uint8_t *src, int sw, int sh, int cn, uint8_t *dst, int dw,
                              int dh, int area_mode, vb_error *err)
{
    vb_status status = VB_OK;
    size_t row_len = (size_t)dw * cn;
    int *xofs = malloc((size_t)dw * sizeof *xofs);
    short *alpha = malloc((size_t)dw * 2 * sizeof *alpha);
    int *yofs = malloc((size_t)dh * sizeof *yofs);
    short *beta = malloc((size_t)dh * 2 * sizeof *beta);
    int32_t *rows = malloc(row_len * 2 * sizeof *rows);
    int row_index[2] = {-1, -1};
    int border;

    if (!xofs || !alpha || !yofs || !beta || !rows) {
        status = vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory resizing to %dx%d", dw, dh);
        goto done;
    }

    /* Step 1: coefficient tables for both axes. */
    buildLinearAxis(sw, dw, area_mode, xofs, alpha, &border);
    buildLinearAxis(sh, dh, area_mode, yofs, beta, NULL);

    /* Step 2: per output row, resize the two source rows it needs
     * horizontally (two cached slots keep rows shared with the previous
     * output row), then blend them. */
    for (int dy = 0; dy < dh; dy++) {
        int want[2] = {clampIndex(yofs[dy], sh), clampIndex(yofs[dy] + 1, sh)};
        int s0 = findSlot(row_index, want[0]);
        int s1 = findSlot(row_index, want[1]);
        if (s0 < 0) {
            s0 = s1 == 0 ? 1 : 0;
            resizeRowLinear(src + (size_t)want[0] * sw * cn, cn, dw, xofs, alpha, border,
                            rows + (size_t)s0 * row_len);
            row_index[s0] = want[0];
        }
        if (s1 < 0 && want[1] == want[0]) {
            s1 = s0;
        } else if (s1 < 0) {
            s1 = 1 - s0;
            resizeRowLinear(src + (size_t)want[1] * sw * cn, cn, dw, xofs, alpha, border,
                            rows + (size_t)s1 * row_len);
            row_index[s1] = want[1];
        }
        int32_t *bufs[2] = {rows + (size_t)s0 * row_len, rows + (size_t)s1 * row_len};
        blendRows(bufs[0], bufs[1], beta[2 * dy], beta[2 * dy + 1], (int)row_len,
                  dst + (size_t)dy * row_len);
    }

done:
    free(xofs);
    free(alpha);
    free(yofs);
    free(beta);
    free(rows);
    return status;
}

/* Area resize for integer ratios (cv::resizeAreaFast): each output sample
 * averages a scale_x x scale_y block. The 2x2 case rounds (sum + 2) >> 2;
 * other ratios round sum * (1/area) in float. Blocks cut by the right or
 * bottom edge average the pixels they contain. */
static void resizeAreaFast(const uint8_t *src, int sw, int sh, int cn, uint8_t *dst, int dw,
                           int dh, int scale_x, int scale_y)
{
    int area = scale_x * scale_y;
    float inv_area = 1.0f / (float)area;
    int fast2x2 = scale_x == 2 && scale_y == 2 && (cn == 1 || cn == 3 || cn == 4);
    size_t src_stride = (size_t)sw * cn;
    int full_cols = (sw / scale_x) * cn;   /* output samples whose block is whole horizontally */
    int row_len = dw * cn;

    for (int dy = 0; dy < dh; dy++) {
        uint8_t *out = dst + (size_t)dy * row_len;
        int sy0 = dy * scale_y;
        int whole = sy0 + scale_y <= sh ? full_cols : 0;

        if (sy0 >= sh) {
            memset(out, 0, (size_t)row_len);
            continue;
        }
        for (int dx = 0; dx < whole; dx++) {
            int c = dx % cn;
            const uint8_t *s = src + (size_t)sy0 * src_stride + (size_t)(dx / cn) * scale_x * cn + c;
            int64_t sum = 0;
            for (int y = 0; y < scale_y; y++)
                for (int x = 0; x < scale_x; x++)
                    sum += s[(size_t)y * src_stride + (size_t)x * cn];
            out[dx] = fast2x2 ? (uint8_t)((sum + 2) >> 2) : roundFloatU8((float)sum * inv_area);
        }
        for (int dx = whole; dx < row_len; dx++) {
            int c = dx % cn;
            int sx0 = (dx / cn) * scale_x;
            int64_t sum = 0;
            int count = 0;
            for (int y = 0; y < scale_y && sy0 + y < sh; y++)
                for (int x = 0; x < scale_x && sx0 + x < sw; x++) {
                    sum += src[(size_t)(sy0 + y) * src_stride + (size_t)(sx0 + x) * cn + c];
                    count++;
                }
            out[dx] = count ? roundFloatU8((float)sum / (float)count) : 0;
        }
    }
}

/* One tap of an area resize: output index di takes source index si with
 * weight alpha (indexes in samples, so multiplied by the channel count). */
typedef struct AreaTap {
    int di;
    int si;
    float alpha;
} AreaTap;

/* Fills tab with the taps of one axis for a shrink by scale >= 1 (OpenCV's
 * computeResizeAreaTab): each output cell covers [d*scale, (d+1)*scale) and
 * takes each source pixel by the fraction of the cell it covers. Returns the
 * number of taps; tab needs room for src_n + 2 * dst_n. */
static int buildAreaTaps(int src_n, int dst_n, int cn, double scale, AreaTap *tab)
{
    int k = 0;
    for (int d = 0; d < dst_n; d++) {
        double f1 = d * scale;
        double f2 = f1 + scale;
        double cell = scale < src_n - f1 ? scale : src_n - f1;
        int s1 = (int)ceil(f1), s2 = (int)floor(f2);

        if (s2 > src_n - 1)
            s2 = src_n - 1;
        if (s1 > s2)
            s1 = s2;
        if (s1 - f1 > 1e-3)
            tab[k++] = (AreaTap){d * cn, (s1 - 1) * cn, (float)((s1 - f1) / cell)};
        for (int s = s1; s < s2; s++)
            tab[k++] = (AreaTap){d * cn, s * cn, (float)(1.0 / cell)};
        if (f2 - s2 > 1e-3) {
            double part = f2 - s2 < 1.0 ? f2 - s2 : 1.0;
            tab[k++] = (AreaTap){d * cn, s2 * cn, (float)((part < cell ? part : cell) / cell)};
        }
    }
    return k;
}

/* Area resize for non-integer shrinks (cv::resizeArea_ with float weights):
 * rows are weighted horizontally into buf, then accumulated into sum with
 * the row weight, and each finished output row is rounded to 8 bits. */
static vb_status resizeAreaGeneral(const uint8_t *src, int sw, int sh, int cn, uint8_t *dst,
                                   int dw, int dh, double scale_x, double scale_y, vb_error *err)
{
    vb_status status = VB_OK;
    size_t row_len = (size_t)dw * cn;
    AreaTap *xtab = malloc(((size_t)sw + 2 * (size_t)dw) * sizeof *xtab);
    AreaTap *ytab = malloc(((size_t)sh + 2 * (size_t)dh) * sizeof *ytab);
    float *buf = malloc(row_len * 2 * sizeof *buf);
    float *sum = buf + row_len;

    if (!xtab || !ytab || !buf) {
        status = vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory resizing to %dx%d", dw, dh);
        goto done;
    }

    /* Step 1: taps of both axes. */
    int xcount = buildAreaTaps(sw, dw, cn, scale_x, xtab);
    int ycount = buildAreaTaps(sh, dh, 1, scale_y, ytab);

    /* Step 2: accumulate weighted source rows per output row. */
    int prev_dy = ycount > 0 ? ytab[0].di : 0;
    for (size_t i = 0; i < row_len; i++)
        sum[i] = 0.0f;
    for (int j = 0; j < ycount; j++) {
        float beta = ytab[j].alpha;
        int dy = ytab[j].di;
        const uint8_t *row = src + (size_t)ytab[j].si * sw * cn;

        for (size_t i = 0; i < row_len; i++)
            buf[i] = 0.0f;
        for (int k = 0; k < xcount; k++) {
            const AreaTap *t = &xtab[k];
            for (int c = 0; c < cn; c++)
                buf[t->di + c] = buf[t->di + c] + (float)row[t->si + c] * t->alpha;
        }
        if (dy != prev_dy) {
            uint8_t *out = dst + (size_t)prev_dy * row_len;
            for (size_t i = 0; i < row_len; i++) {
                out[i] = roundFloatU8(sum[i]);
                sum[i] = beta * buf[i];
            }
            prev_dy = dy;
        } else {
            for (size_t i = 0; i < row_len; i++)
                sum[i] += beta * buf[i];
        }
    }
    uint8_t *last = dst + (size_t)prev_dy * row_len;
    for (size_t i = 0; i < row_len; i++)
        last[i] = roundFloatU8(sum[i]);

done:
    free(xtab);
    free(ytab);
    free(buf);
    return status;
}

/* Returns the integer nearest to v when v is within DBL_EPSILON of it, else 0. */
static int exactInteger(double v)
{
    double r = nearbyint(v);
    return fabs(v - r) < 2.220446049250313e-16 && r >= 1 && r <= VB_RESIZE_MAX_DIM ? (int)r : 0;
}

vb_status vbImageResize(const uint8_t *src, int src_width, int src_height, int channels,
                        uint8_t *dst, int dst_width, int dst_height, VbResizeMethod method,
                        vb_error *err)
{
    if (src == NULL || dst == NULL)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT, "resize: NULL image buffer");
    if (channels < 1 || channels > 4)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                          "resize: %d channels; expected 1 to 4", channels);
    if (src_width < 1 || src_height < 1 || dst_width < 1 || dst_height < 1 ||
        src_width > VB_RESIZE_MAX_DIM || src_height > VB_RESIZE_MAX_DIM ||
        dst_width > VB_RESIZE_MAX_DIM || dst_height > VB_RESIZE_MAX_DIM)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                          "resize: %dx%d to %dx%d; each dimension must be 1..%d", src_width,
                          src_height, dst_width, dst_height, VB_RESIZE_MAX_DIM);
    if (method != VB_RESIZE_LINEAR && method != VB_RESIZE_AREA)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT, "resize: unknown method %d", (int)method);

    /* Equal sizes: OpenCV copies. */
    if (src_width == dst_width && src_height == dst_height) {
        memcpy(dst, src, (size_t)src_width * src_height * channels);
        return VB_OK;
    }

    /* Scales as OpenCV derives them: the inverse of dst/src, in double. */
    double scale_x = 1.0 / ((double)dst_width / src_width);
    double scale_y = 1.0 / ((double)dst_height / src_height);
    int iscale_x = exactInteger(scale_x), iscale_y = exactInteger(scale_y);
    int area_fast = iscale_x > 0 && iscale_y > 0;

    if (method == VB_RESIZE_LINEAR && area_fast && iscale_x == 2 && iscale_y == 2)
        method = VB_RESIZE_AREA;
    if (method == VB_RESIZE_AREA && scale_x >= 1 && scale_y >= 1) {
        if (area_fast) {
            resizeAreaFast(src, src_width, src_height, channels, dst, dst_width, dst_height,
                           iscale_x, iscale_y);
            return VB_OK;
        }
        return resizeAreaGeneral(src, src_width, src_height, channels, dst, dst_width,
                                 dst_height, scale_x, scale_y, err);
    }
    return resizeLinear(src, src_width, src_height, channels, dst, dst_width, dst_height,
                        method == VB_RESIZE_AREA, err);
}
