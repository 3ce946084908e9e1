/* Tests Resize and Upsample: ONNX's node cases, a naive N-D reference over every mode and coordinate transform, and rejects. */
#include "kernels_ref.h"

static const char *const onnxCases[] = {
    "test_resize_downsample_scales_cubic",
    "test_resize_downsample_scales_cubic_A_n0p5_exclude_outside",
    "test_resize_downsample_scales_cubic_align_corners",
    "test_resize_downsample_scales_linear",
    "test_resize_downsample_scales_linear_align_corners",
    "test_resize_downsample_scales_nearest",
    "test_resize_downsample_sizes_cubic",
    "test_resize_downsample_sizes_linear_pytorch_half_pixel",
    "test_resize_downsample_sizes_nearest",
    "test_resize_downsample_sizes_nearest_tf_half_pixel_for_nn",
    "test_resize_tf_crop_and_resize",
    "test_resize_upsample_scales_cubic",
    "test_resize_upsample_scales_cubic_A_n0p5_exclude_outside",
    "test_resize_upsample_scales_cubic_align_corners",
    "test_resize_upsample_scales_cubic_asymmetric",
    "test_resize_upsample_scales_linear",
    "test_resize_upsample_scales_linear_align_corners",
    "test_resize_upsample_scales_nearest",
    "test_resize_upsample_sizes_cubic",
    "test_resize_upsample_sizes_nearest",
    "test_resize_upsample_sizes_nearest_ceil_half_pixel",
    "test_resize_upsample_sizes_nearest_floor_align_corners",
    "test_resize_upsample_sizes_nearest_round_prefer_ceil_asymmetric",
    "test_upsample_nearest",
};

static const char *const modeNames[] = {"nearest", "linear", "cubic"};
static const char *const coordNames[] = {"half_pixel", "pytorch_half_pixel", "align_corners",
                                         "asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize",
                                         "half_pixel_symmetric"};
static const char *const nearestNames[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};

typedef struct ResizeCase {
    int mode, coord, nearest, exclude_outside, use_sizes;
    int rank;
    int64_t in[4], out[4];
    float scales[4];
    float roi[8];
    float cubic_a, extrapolation;
} ResizeCase;

/* Input coordinate of output x on one axis, written from the ONNX operator
 * documentation independently of the kernel. */
static double refCoordinate(const ResizeCase *rc, int axis, double x)
{
    double in = (double)rc->in[axis];
    double scale = rc->use_sizes ? (double)rc->out[axis] / in : rc->scales[axis];
    double len = rc->use_sizes ? (double)rc->out[axis] : scale * in;
    const char *c = coordNames[rc->coord];
    if (strcmp(c, "half_pixel") == 0)
        return (x + 0.5) / scale - 0.5;
    if (strcmp(c, "half_pixel_symmetric") == 0) {
        double adj = (double)rc->out[axis] / len;
        return in / 2 * (1 - adj) + (x + 0.5) / scale - 0.5;
    }
    if (strcmp(c, "pytorch_half_pixel") == 0)
        return rc->out[axis] > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
    if (strcmp(c, "align_corners") == 0)
        return len == 1 ? 0.0 : x * (in - 1) / (len - 1);
    if (strcmp(c, "asymmetric") == 0)
        return x / scale;
    if (strcmp(c, "tf_half_pixel_for_nn") == 0)
        return (x + 0.5) / scale;
    double s = rc->roi[axis], e = rc->roi[rc->rank + axis];
    if (len == 1)
        return (e - s) * (in - 1) / 2 + s * (in - 1);
    return x * (e - s) * (in - 1) / (len - 1) + s * (in - 1);
}

static int64_t clampSample(int64_t i, int64_t in)
{
    if (i < 0)
        return 0;
    if (i >= in)
        return in - 1;
    return i;
}

/* The 1-D sample positions and weights of one axis, from the ONNX
 * reference's rules: nearest picks one sample, linear and cubic weigh the
 * 2 or 4 samples nearest to the coordinate, taking the one below on ties. */
static int refAxisSamples(const ResizeCase *rc, int axis, double x, int64_t *pos, double *w,
                          int *outside)
{
    double c = refCoordinate(rc, axis, x);
    int64_t in = rc->in[axis];
    *outside = strcmp(coordNames[rc->coord], "tf_crop_and_resize") == 0 && (c < 0 || c > in - 1);
    double f = floor(c), r = c - f;
    if (rc->mode == 0) {
        int64_t i = (int64_t)f;
        if (r != 0) {
            const char *m = nearestNames[rc->nearest];
            int up = strcmp(m, "round_prefer_floor") == 0 ? r > 0.5
                   : strcmp(m, "round_prefer_ceil") == 0  ? r >= 0.5
                   : strcmp(m, "ceil") == 0;
            i += up;
        }
        pos[0] = clampSample(i, in);
        w[0] = 1;
        return 1;
    }
    if (r == 0) {
        f -= 1;
        r = 1;
    }
    int n = rc->mode == 1 ? 2 : 4;
    int64_t first = rc->mode == 1 ? (int64_t)f : (int64_t)f - 1;
    if (n == 2) {
        w[0] = 1 - r;
        w[1] = r;
    } else {
        double a = rc->cubic_a;
        for (int k = 0; k < 4; k++) {
            double d = fabs((double)(first + k) - c);
            w[k] = d <= 1 ? ((a + 2) * d - (a + 3)) * d * d + 1
                 : d < 2  ? ((a * d - 5 * a) * d + 8 * a) * d - 4 * a
                          : 0;
        }
    }
    double sum = 0;
    for (int k = 0; k < n; k++) {
        int64_t i = first + k;
        if (rc->exclude_outside && (i < 0 || i >= in))
            w[k] = 0;
        sum += w[k];
        pos[k] = clampSample(i, in);
    }
    if (rc->exclude_outside)
        for (int k = 0; k < n; k++)
            w[k] /= sum;
    return n;
}

/* Multilinear (tensor-product) evaluation of every output element. */
static void refResize(const ResizeCase *rc, const float *x, float *y)
{
    int64_t total = 1;
    for (int a = 0; a < rc->rank; a++)
        total *= rc->out[a];
    for (int64_t o = 0; o < total; o++) {
        int64_t idx[4], rest = o;
        for (int a = rc->rank - 1; a >= 0; a--) {
            idx[a] = rest % rc->out[a];
            rest /= rc->out[a];
        }
        int64_t pos[4][4];
        double w[4][4];
        int n[4], outside = 0;
        for (int a = 0; a < rc->rank; a++) {
            int out_a;
            n[a] = refAxisSamples(rc, a, (double)idx[a], pos[a], w[a], &out_a);
            outside |= out_a;
        }
        if (outside) {
            y[o] = rc->extrapolation;
            continue;
        }
        double acc = 0;
        int k[4] = {0, 0, 0, 0};
        for (;;) {
            double weight = 1;
            int64_t off = 0;
            for (int a = 0; a < rc->rank; a++) {
                weight *= w[a][k[a]];
                off = off * rc->in[a] + pos[a][k[a]];
            }
            acc += weight * x[off];
            int a = rc->rank - 1;
            while (a >= 0 && ++k[a] == n[a])
                k[a--] = 0;
            if (a < 0)
                break;
        }
        y[o] = (float)acc;
    }
}

static void runResizeCase(const ResizeCase *rc, int threads, int opset, const char *label)
{
    size_t xn = 1, yn = 1;
    for (int a = 0; a < rc->rank; a++) {
        xn *= (size_t)rc->in[a];
        yn *= (size_t)rc->out[a];
    }
    float *x = refRandArray(xn), *y = calloc(yn + 1, sizeof(float)), *want = calloc(yn + 1, sizeof(float));
    RefNode node;
    refNodeInit(&node, "Resize");
    refNodeString(&node, "mode", modeNames[rc->mode]);
    refNodeString(&node, "coordinate_transformation_mode", coordNames[rc->coord]);
    refNodeString(&node, "nearest_mode", nearestNames[rc->nearest]);
    refNodeInt(&node, "exclude_outside", rc->exclude_outside);
    refNodeFloat(&node, "cubic_coeff_a", rc->cubic_a);
    refNodeFloat(&node, "extrapolation_value", rc->extrapolation);

    int64_t count[1] = {rc->rank}, roi_count[1] = {2 * rc->rank};
    vb_tensor tx = refTensor(VB_DTYPE_FLOAT32, rc->rank, rc->in, x);
    vb_tensor troi = refTensor(VB_DTYPE_FLOAT32, 1, roi_count, (void *)rc->roi);
    vb_tensor tscales = refTensor(VB_DTYPE_FLOAT32, 1, count, (void *)rc->scales);
    vb_tensor tsizes = refTensor(VB_DTYPE_INT64, 1, count, (void *)rc->out);
    vb_tensor ty = refTensor(VB_DTYPE_FLOAT32, 0, NULL, y);
    vb_tensor *in[4] = {&tx, &troi, rc->use_sizes ? NULL : &tscales, rc->use_sizes ? &tsizes : NULL};
    vb_tensor *out[1] = {&ty};
    RefRun cfg = {opset, threads, 0, 0, VB_ACT_NONE, 0, 0};
    vb_error err = {0};
    vb_status st = refRunOp(vbOpFind("", "Resize", opset), &node.node, &cfg, in, 4, 0xEu, out, 1, yn, NULL, &err);
    CHECK_MSG(st == VB_OK, "%s: %s", label, err.message);
    if (st == VB_OK) {
        for (int a = 0; a < rc->rank; a++)
            CHECK_EQ_INT(ty.dims[a], rc->out[a]);
        refResize(rc, x, want);
        refCompare(label, y, want, yn, 1e-5);
    }
    free(x);
    free(y);
    free(want);
}

/* Every mode, transform and nearest rounding on random shapes, up and down. */
static void testAllCombinations(void)
{
    int n = 0;
    for (int mode = 0; mode < 3; mode++)
        for (int coord = 0; coord < 7; coord++)
            for (int nearest = 0; nearest < (mode == 0 ? 4 : 1); nearest++)
                for (int variant = 0; variant < 4; variant++) {
                    refRngState = 0xFACEull + (uint64_t)(n++) * 2654435761u;
                    ResizeCase rc;
                    memset(&rc, 0, sizeof rc);
                    rc.mode = mode;
                    rc.coord = coord;
                    rc.nearest = nearest;
                    rc.exclude_outside = mode == 2 && variant % 2;
                    rc.use_sizes = variant >= 2;
                    rc.cubic_a = variant % 2 ? -0.5f : -0.75f;
                    rc.extrapolation = 10.0f;
                    rc.rank = 4;
                    rc.in[0] = refRandInt(1, 2);
                    rc.in[1] = refRandInt(1, 3);
                    rc.in[2] = refRandInt(1, 9);
                    rc.in[3] = refRandInt(1, 11);
                    static const float choices[] = {0.5f, 0.6f, 0.75f, 1.0f, 1.5f, 2.0f, 3.0f, 1.7f, 0.34f};
                    for (int a = 0; a < 4; a++) {
                        rc.scales[a] = a < 2 && variant != 3 ? 1.0f : choices[refRandInt(0, 8)];
                        rc.out[a] = (int64_t)floor((double)rc.scales[a] * (double)rc.in[a]);
                        if (rc.out[a] < 1) {
                            rc.scales[a] = 1.0f;
                            rc.out[a] = rc.in[a];
                        }
                        rc.roi[a] = a < 2 ? 0.0f : 0.1f * refRandFloat();
                        rc.roi[4 + a] = a < 2 ? 1.0f : 1.0f + 0.2f * refRandFloat();
                    }
                    if (rc.use_sizes)
                        rc.out[3] = refRandInt(1, 14);
                    char label[160];
                    snprintf(label, sizeof label, "%s %s %s excl %d sizes %d: %lldx%lld to %lldx%lld",
                             modeNames[mode], coordNames[coord], nearestNames[nearest], rc.exclude_outside,
                             rc.use_sizes, (long long)rc.in[2], (long long)rc.in[3], (long long)rc.out[2],
                             (long long)rc.out[3]);
                    runResizeCase(&rc, 1 + variant % 2, 19, label);
                }
}

/* YOLO's upsample: nearest, scales [1, 1, 2, 2], opset 13 with roi "". */
static void testYoloUpsample(void)
{
    float x[2 * 3 * 4], y[2 * 6 * 8];
    for (int i = 0; i < 24; i++)
        x[i] = (float)i;
    RefNode node;
    refNodeInit(&node, "Resize");
    refNodeString(&node, "mode", "nearest");
    refNodeString(&node, "coordinate_transformation_mode", "asymmetric");
    refNodeString(&node, "nearest_mode", "floor");
    float scales[4] = {1, 1, 2, 2};
    int64_t xd[4] = {1, 2, 3, 4}, sd[1] = {4}, empty[1] = {0};
    vb_tensor tx = refTensor(VB_DTYPE_FLOAT32, 4, xd, x);
    vb_tensor troi = refTensor(VB_DTYPE_FLOAT32, 1, empty, NULL);
    vb_tensor ts = refTensor(VB_DTYPE_FLOAT32, 1, sd, scales);
    vb_tensor ty = refTensor(VB_DTYPE_FLOAT32, 0, NULL, y);
    vb_tensor *in[3] = {&tx, &troi, &ts};
    vb_tensor *out[1] = {&ty};
    RefRun cfg = {13, 2, 0, 0, VB_ACT_NONE, 0, 0};
    vb_error err = {0};
    CHECK_EQ_INT(refRunOp(vbOpFind("", "Resize", 13), &node.node, &cfg, in, 3, 0x6u, out, 1, 96, NULL, &err), VB_OK);
    CHECK_EQ_INT(ty.dims[2], 6);
    CHECK_EQ_INT(ty.dims[3], 8);
    for (int c = 0; c < 2; c++)
        for (int oy = 0; oy < 6; oy++)
            for (int ox = 0; ox < 8; ox++)
                CHECK_NEAR(y[(c * 6 + oy) * 8 + ox], x[(c * 3 + oy / 2) * 4 + ox / 2], 0.0);
}

/* Opset 18 axes: sizes only for axes [3, 2]; the others keep their size. */
static void testAxes(void)
{
    float x[16], y[64];
    for (int i = 0; i < 16; i++)
        x[i] = (float)i;
    RefNode node;
    refNodeInit(&node, "Resize");
    refNodeString(&node, "mode", "linear");
    int64_t axes[2] = {3, 2};
    refNodeInts(&node, "axes", 2, axes);
    int64_t xd[4] = {1, 1, 4, 4}, two[1] = {2}, sizes[2] = {8, 2};
    vb_tensor tx = refTensor(VB_DTYPE_FLOAT32, 4, xd, x);
    vb_tensor tsz = refTensor(VB_DTYPE_INT64, 1, two, sizes);
    vb_tensor ty = refTensor(VB_DTYPE_FLOAT32, 0, NULL, y);
    vb_tensor *in[4] = {&tx, NULL, NULL, &tsz};
    vb_tensor *out[1] = {&ty};
    RefRun cfg = {18, 1, 0, 0, VB_ACT_NONE, 0, 0};
    vb_error err = {0};
    CHECK_EQ_INT(refRunOp(vbOpFind("", "Resize", 18), &node.node, &cfg, in, 4, 0x8u, out, 1, 64, NULL, &err), VB_OK);
    CHECK_EQ_INT(ty.dims[2], 2);
    CHECK_EQ_INT(ty.dims[3], 8);

    /* keep_aspect_ratio_policy not_larger: 4x4 into at most 2x8 gives 2x2 */
    refNodeString(&node, "keep_aspect_ratio_policy", "not_larger");
    CHECK_EQ_INT(refRunOp(vbOpFind("", "Resize", 18), &node.node, &cfg, in, 4, 0x8u, out, 1, 64, NULL, &err), VB_OK);
    CHECK_EQ_INT(ty.dims[2], 2);
    CHECK_EQ_INT(ty.dims[3], 2);
    /* half_pixel at scale 0.5 samples the centre of each 2x2 block */
    CHECK_NEAR(y[0], (0 + 1 + 4 + 5) / 4.0, 1e-6);
    CHECK_NEAR(y[3], (10 + 11 + 14 + 15) / 4.0, 1e-6);
}

static void testRejects(void)
{
    float x[4] = {0}, y[16];
    float scales[4] = {1, 1, 2, 2};
    int64_t xd[4] = {1, 1, 2, 2}, sd[1] = {4};
    vb_tensor tx = refTensor(VB_DTYPE_FLOAT32, 4, xd, x);
    vb_tensor ts = refTensor(VB_DTYPE_FLOAT32, 1, sd, scales);
    vb_tensor ty = refTensor(VB_DTYPE_FLOAT32, 0, NULL, y);
    vb_tensor *in[3] = {&tx, NULL, &ts};
    vb_tensor *out[1] = {&ty};
    RefRun cfg = {13, 1, 0, 0, VB_ACT_NONE, 0, 0};
    vb_error err = {0};
    RefNode node;
    refNodeInit(&node, "Resize");

    /* scales that are not a constant */
    CHECK_EQ_INT(refRunOp(vbOpFind("", "Resize", 13), &node.node, &cfg, in, 3, 0, out, 1, 16, NULL, &err),
                 VB_ERR_UNSUPPORTED);
    CHECK(strstr(err.message, "requires a constant") != NULL);

    /* antialias */
    refNodeInt(&node, "antialias", 1);
    cfg.opset = 18;
    CHECK_EQ_INT(refRunOp(vbOpFind("", "Resize", 18), &node.node, &cfg, in, 3, 0x4u, out, 1, 16, NULL, &err),
                 VB_ERR_UNSUPPORTED);
    CHECK(strstr(err.message, "antialias") != NULL);

    /* an unknown mode */
    refNodeInit(&node, "Resize");
    refNodeString(&node, "mode", "area");
    CHECK_EQ_INT(refRunOp(vbOpFind("", "Resize", 13), &node.node, &cfg, in, 3, 0x4u, out, 1, 16, NULL, &err),
                 VB_ERR_UNSUPPORTED);

    /* neither scales nor sizes */
    refNodeInit(&node, "Resize");
    vb_tensor *none[3] = {&tx, NULL, NULL};
    CHECK_EQ_INT(refRunOp(vbOpFind("", "Resize", 13), &node.node, &cfg, none, 3, 0, out, 1, 16, NULL, &err),
                 VB_ERR_SHAPE);
}

int main(void)
{
    refRunOnnxCases(onnxCases, (int)(sizeof onnxCases / sizeof onnxCases[0]), 1e-5);
    testAllCombinations();
    testYoloUpsample();
    testAxes();
    testRejects();
    TEST_END();
}
