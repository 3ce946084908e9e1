/* Detection ops of two-stage detectors: NonZero, NonMaxSuppression and RoiAlign. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernel_util.h"
#include "kernels/parallel.h"

/* ---- NonZero ---------------------------------------------------------------- */

/* Returns nonzero when element i of t is not zero. Floating-point -0 counts
 * as zero and NaN as nonzero, as in numpy.nonzero. */
static int isNonZero(const vb_tensor *t, size_t i)
{
    switch (t->dtype) {
    case VB_DTYPE_FLOAT32:
        return ((const float *)t->data)[i] != 0.0f;
    case VB_DTYPE_FLOAT64:
        return ((const double *)t->data)[i] != 0.0;
    case VB_DTYPE_FLOAT16: {
        uint16_t h = ((const uint16_t *)t->data)[i];
        return (h & 0x7FFFu) != 0;
    }
    default: {
        size_t es = vb_dtype_size(t->dtype);
        const unsigned char *p = (const unsigned char *)t->data + i * es;
        for (size_t b = 0; b < es; b++) {
            if (p[b] != 0)
                return 1;
        }
        return 0;
    }
    }
}

/* Sets the output shape [rank, count] (a scalar counts as rank 1). The
 * count depends on the data, so the input must be known: a constant at
 * load, or any value when the engine infers shapes again before a run. */
static vb_status nonZeroInfer(const void *params, const vb_tensor *const *in, int n_in,
                              vb_tensor *const *out, int n_out, VbOpInferInfo *info, vb_error *err)
{
    (void)params;
    (void)n_in;
    (void)n_out;
    const vb_tensor *x = in[0];
    if (x->dtype == VB_DTYPE_STRING || vb_dtype_size(x->dtype) == 0)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED, "NonZero does not support %s input",
                          vb_dtype_to_string(x->dtype));
    if (x->data == NULL)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED,
                          "NonZero requires a constant input: its output shape depends on the data");

    size_t n = vbTensorCount(x), count = 0;
    for (size_t i = 0; i < n; i++)
        count += (size_t)isNonZero(x, i);
    int64_t dims[2] = {x->rank > 0 ? x->rank : 1, (int64_t)count};
    vbKernelSetShape(out[0], VB_DTYPE_INT64, 2, dims);
    info->flops = n;
    return VB_OK;
}

/* Writes the indices of the nonzero elements, one row per input axis, in
 * row-major order of the elements. out[0] is [rank, count] from infer. */
static vb_status nonZeroRun(const void *params, const vb_tensor *const *in, int n_in,
                            vb_tensor *const *out, int n_out, const VbOpRunContext *ctx,
                            vb_error *err)
{
    (void)params;
    (void)n_in;
    (void)n_out;
    (void)ctx;
    const vb_tensor *x = in[0];
    int rank = x->rank > 0 ? x->rank : 1;
    int64_t *idx = out[0]->data;
    size_t n = vbTensorCount(x), count = (size_t)out[0]->dims[1], k = 0;
    int64_t pos[VB_MAX_RANK] = {0};
    for (size_t i = 0; i < n; i++) {
        if (isNonZero(x, i)) {
            if (k >= count)
                return vbErrorSet(err, VB_ERR_INTERNAL,
                                  "NonZero found more than the %zu elements infer counted", count);
            for (int d = 0; d < rank; d++)
                idx[(size_t)d * count + k] = pos[d];
            k++;
        }

        /* Advance the multi-index, last axis fastest. */
        for (int d = x->rank - 1; d >= 0; d--) {
            if (++pos[d] < x->dims[d])
                break;
            pos[d] = 0;
        }
    }
    if (k != count)
        return vbErrorSet(err, VB_ERR_INTERNAL, "NonZero found %zu elements, infer counted %zu",
                          k, count);
    return VB_OK;
}

/* ---- NonMaxSuppression -------------------------------------------------------- */

typedef struct NmsParams {
    int center_point_box;    /* 0: [y1, x1, y2, x2] corners; 1: [x_center, y_center, w, h] */
    int64_t *rows;           /* [row_count, 3] selection of the last infer, which run copies */
    size_t row_count;
    size_t row_capacity;
} NmsParams;

typedef struct NmsCandidate {
    float score;
    int64_t index;           /* box index along the spatial dimension */
} NmsCandidate;

/* One kept box: corners with y1 <= y2, x1 <= x2, and its area. */
typedef struct NmsBox {
    float y1, x1, y2, x2, area;
} NmsBox;

/* The limits of one NonMaxSuppression call, read from its optional inputs. */
typedef struct NmsLimits {
    int64_t max_per_class;   /* already clamped to the number of boxes */
    float iou_threshold;
    int has_score_threshold;
    float score_threshold;
} NmsLimits;

/* Most selections one node may return: 2^28 rows of 3 int64 (6 GiB), far
 * above any detector, so that a hostile model fails instead of swapping. */
#define VB_NMS_MAX_ROWS ((size_t)1 << 28)

static void nmsRelease(void *params)
{
    NmsParams *p = params;
    if (p != NULL)
        free(p->rows);
    free(p);
}

static vb_status nmsPrepare(const VbOnnxNode *node, int opset, void **params, vb_error *err)
{
    (void)opset;
    int bad = 0;
    int64_t center = vbOnnxAttrInt(node, "center_point_box", 0, &bad);
    if (bad)
        return vbErrorSet(err, VB_ERR_PARSE, "NonMaxSuppression '%s': center_point_box is not an int",
                          node->name);
    if (center != 0 && center != 1)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED,
                          "NonMaxSuppression '%s': center_point_box %lld is invalid (0 or 1)",
                          node->name, (long long)center);
    NmsParams *p = calloc(1, sizeof *p);
    if (p == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory preparing NonMaxSuppression");
    p->center_point_box = (int)center;
    *params = p;
    return VB_OK;
}

/* Sorts by score, highest first; equal scores keep the lower box index first. */
static int compareCandidates(const void *a, const void *b)
{
    const NmsCandidate *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

static inline float minFloat(float a, float b)
{
    return a < b ? a : b;
}

static inline float maxFloat(float a, float b)
{
    return a > b ? a : b;
}

/* Returns box b as ordered corners with its area. */
static NmsBox nmsCorners(const float *b, int center_point_box)
{
    NmsBox c;
    if (center_point_box) {
        c.y1 = b[1] - b[3] / 2.0f;
        c.x1 = b[0] - b[2] / 2.0f;
        c.y2 = b[1] + b[3] / 2.0f;
        c.x2 = b[0] + b[2] / 2.0f;
    } else {
        c.y1 = minFloat(b[0], b[2]);
        c.x1 = minFloat(b[1], b[3]);
        c.y2 = maxFloat(b[0], b[2]);
        c.x2 = maxFloat(b[1], b[3]);
    }
    c.area = (c.y2 - c.y1) * (c.x2 - c.x1);
    return c;
}

/* Kept boxes of one class as separate arrays, so that the overlap test
 * below vectorizes: [capacity] each. */
typedef struct NmsKept {
    float *y1, *x1, *y2, *x2, *area;
    int64_t count;
} NmsKept;

/* Returns nonzero when box a overlaps some kept box by more than threshold
 * (intersection over union). Boxes of zero area never suppress and are
 * never suppressed, as in ONNX Runtime. The test runs branch-free over
 * blocks of 64 kept boxes and stops after the first block with a hit. */
VB_KERNEL_CLONES
static int nmsSuppressed(const NmsBox *a, const NmsKept *kept, float threshold)
{
    if (a->area <= 0.0f)
        return 0;
    for (int64_t start = 0; start < kept->count; start += 64) {
        int64_t end = start + 64 < kept->count ? start + 64 : kept->count;
        int hit = 0;
        for (int64_t j = start; j < end; j++) {
            float ih = minFloat(a->y2, kept->y2[j]) - maxFloat(a->y1, kept->y1[j]);
            float iw = minFloat(a->x2, kept->x2[j]) - maxFloat(a->x1, kept->x1[j]);
            float inter = ih * iw;
            float uni = a->area + kept->area[j] - inter;
            hit |= (ih > 0.0f) & (iw > 0.0f) & (kept->area[j] > 0.0f) & (uni > 0.0f) &
                   (inter / uni > threshold);
        }
        if (hit)
            return 1;
    }
    return 0;
}

/* Checks the input shapes and reads the optional scalar inputs. */
static vb_status nmsReadLimits(const vb_tensor *const *in, int n_in, NmsLimits *lim, vb_error *err)
{
    const vb_tensor *boxes = in[0], *scores = n_in > 1 ? in[1] : NULL;
    if (scores == NULL || boxes->dtype != VB_DTYPE_FLOAT32 || scores->dtype != VB_DTYPE_FLOAT32)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED,
                          "NonMaxSuppression needs float32 boxes and scores");
    if (boxes->rank != 3 || boxes->dims[2] != 4 || scores->rank != 3 ||
        scores->dims[0] != boxes->dims[0] || scores->dims[2] != boxes->dims[1]) {
        char a[96], b[96];
        return vbErrorSet(err, VB_ERR_SHAPE,
                          "NonMaxSuppression: boxes %s and scores %s do not match (expected "
                          "[batches, boxes, 4] and [batches, classes, boxes])",
                          vbShapeString(boxes, a, sizeof a), vbShapeString(scores, b, sizeof b));
    }
    memset(lim, 0, sizeof *lim);
    const char *names[3] = {"max_output_boxes_per_class", "iou_threshold", "score_threshold"};
    for (int k = 2; k < n_in && k < 5; k++) {
        const vb_tensor *t = in[k];
        if (t == NULL)
            continue;
        if (vbTensorCount(t) != 1)
            return vbErrorSet(err, VB_ERR_SHAPE, "NonMaxSuppression: %s must have one element",
                              names[k - 2]);
        if (t->data == NULL)
            return vbErrorSet(err, VB_ERR_UNSUPPORTED,
                              "NonMaxSuppression requires a constant %s", names[k - 2]);
    }
    if (n_in > 2 && in[2] != NULL) {
        if (in[2]->dtype != VB_DTYPE_INT64)
            return vbErrorSet(err, VB_ERR_UNSUPPORTED,
                              "NonMaxSuppression: max_output_boxes_per_class must be int64");
        lim->max_per_class = ((const int64_t *)in[2]->data)[0];
    }
    if (lim->max_per_class < 0)
        lim->max_per_class = 0;
    if (lim->max_per_class > boxes->dims[1])
        lim->max_per_class = boxes->dims[1];  /* torchvision passes INT64_MAX */
    if (n_in > 3 && in[3] != NULL)
        lim->iou_threshold = (float)vbKernelScalarAsDouble(in[3]);
    if (n_in > 4 && in[4] != NULL) {
        lim->has_score_threshold = 1;
        lim->score_threshold = (float)vbKernelScalarAsDouble(in[4]);
    }
    return VB_OK;
}

/* Appends the row (batch, class, box) to p->rows, growing it. */
static vb_status nmsAddRow(NmsParams *p, int64_t batch, int64_t cls, int64_t box, vb_error *err)
{
    if (p->row_count == p->row_capacity) {
        size_t capacity = p->row_capacity > 0 ? p->row_capacity * 2 : 256;
        if (capacity > VB_NMS_MAX_ROWS)
            return vbErrorSet(err, VB_ERR_LIMIT, "NonMaxSuppression selects more than %zu boxes",
                              VB_NMS_MAX_ROWS);
        int64_t *grown = realloc(p->rows, capacity * 3 * sizeof *grown);
        if (grown == NULL)
            return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for %zu NMS selections",
                              capacity);
        p->rows = grown;
        p->row_capacity = capacity;
    }
    int64_t *row = p->rows + p->row_count * 3;
    row[0] = batch;
    row[1] = cls;
    row[2] = box;
    p->row_count++;
    return VB_OK;
}

/* Runs greedy NMS for every batch and class and stores the selected
 * (batch, class, box) rows in p->rows. cand and kept are scratch of [boxes]
 * entries each. */
static vb_status nmsSelect(NmsParams *p, const vb_tensor *boxes, const vb_tensor *scores,
                           const NmsLimits *lim, NmsCandidate *cand, NmsKept *kept, vb_error *err)
{
    int64_t batches = boxes->dims[0], n = boxes->dims[1], classes = scores->dims[1];
    const float *box = boxes->data;
    const float *score = scores->data;
    p->row_count = 0;
    for (int64_t b = 0; b < batches; b++) {
        for (int64_t c = 0; c < classes && lim->max_per_class > 0; c++) {
            /* Candidates above the score threshold, best first. */
            const float *s = score + (size_t)(b * classes + c) * (size_t)n;
            int64_t count = 0;
            for (int64_t i = 0; i < n; i++) {
                if (lim->has_score_threshold && !(s[i] > lim->score_threshold))
                    continue;
                cand[count].score = s[i];
                cand[count].index = i;
                count++;
            }
            qsort(cand, (size_t)count, sizeof *cand, compareCandidates);

            /* Keep each candidate that no kept box overlaps too much. */
            kept->count = 0;
            for (int64_t i = 0; i < count && kept->count < lim->max_per_class; i++) {
                NmsBox a = nmsCorners(box + (size_t)(b * n + cand[i].index) * 4,
                                      p->center_point_box);
                if (nmsSuppressed(&a, kept, lim->iou_threshold))
                    continue;
                int64_t k = kept->count++;
                kept->y1[k] = a.y1;
                kept->x1[k] = a.x1;
                kept->y2[k] = a.y2;
                kept->x2[k] = a.x2;
                kept->area[k] = a.area;
                vb_status status = nmsAddRow(p, b, c, cand[i].index, err);
                if (status != VB_OK)
                    return status;
            }
        }
    }
    return VB_OK;
}

/* Runs the selection and sets selected_indices to [count, 3]. The count
 * depends on the data, so the inputs must be known, either as constants at
 * load or at run-time inference. The rows stay in params for run, which the
 * engine calls right after infer with the same inputs. params is written
 * here although the interface passes it as const. */
static vb_status nmsInfer(const void *params, const vb_tensor *const *in, int n_in,
                          vb_tensor *const *out, int n_out, VbOpInferInfo *info, vb_error *err)
{
    (void)n_out;
    NmsParams *p = (NmsParams *)params;
    NmsLimits lim;
    vb_status st = nmsReadLimits(in, n_in, &lim, err);
    if (st != VB_OK)
        return st;
    if (in[0]->data == NULL || in[1]->data == NULL)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED, "NonMaxSuppression requires a constant input for "
                          "boxes and scores: its output shape depends on the data");

    /* Scratch for one class: candidates and kept boxes. */
    size_t n = (size_t)in[0]->dims[1], bytes;
    if (vbMulSize(n, sizeof(NmsCandidate) + sizeof(NmsBox), &bytes))
        return vbErrorSet(err, VB_ERR_LIMIT, "NonMaxSuppression: %zu boxes are too many", n);
    NmsCandidate *cand = malloc(bytes > 0 ? bytes : 1);
    if (cand == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for %zu NMS candidates", n);
    float *planes = (float *)(cand + n);
    NmsKept kept = {planes, planes + n, planes + 2 * n, planes + 3 * n, planes + 4 * n, 0};
    st = nmsSelect(p, in[0], in[1], &lim, cand, &kept, err);
    free(cand);
    if (st != VB_OK)
        return st;

    int64_t dims[2] = {(int64_t)p->row_count, 3};
    vbKernelSetShape(out[0], VB_DTYPE_INT64, 2, dims);
    info->flops = (uint64_t)vbTensorCount(in[1]) * 8;
    return VB_OK;
}

/* Copies the rows the preceding infer selected. */
static vb_status nmsRun(const void *params, const vb_tensor *const *in, int n_in,
                        vb_tensor *const *out, int n_out, const VbOpRunContext *ctx, vb_error *err)
{
    (void)in;
    (void)n_in;
    (void)n_out;
    (void)ctx;
    const NmsParams *p = params;
    if ((size_t)out[0]->dims[0] != p->row_count)
        return vbErrorSet(err, VB_ERR_INTERNAL,
                          "NonMaxSuppression output has %lld rows, infer selected %zu",
                          (long long)out[0]->dims[0], p->row_count);
    if (p->row_count > 0)
        memcpy(out[0]->data, p->rows, p->row_count * 3 * sizeof *p->rows);
    return VB_OK;
}

/* ---- RoiAlign --------------------------------------------------------------- */

typedef struct RoiAlignParams {
    int max_mode;            /* 0: average of the samples, 1: maximum */
    int half_pixel;          /* 1: shift coordinates by -0.5 (coordinate_transformation_mode
                                half_pixel); 0: output_half_pixel, the opset-10 behaviour */
    int64_t out_h, out_w;
    int64_t sampling_ratio;  /* samples per bin side; 0: ceil(roi size / output size) */
    float spatial_scale;
} RoiAlignParams;

static vb_status roiAlignPrepare(const VbOnnxNode *node, int opset, void **params, vb_error *err)
{
    int bad = 0;
    RoiAlignParams p;
    const char *mode = vbOnnxAttrString(node, "mode", "avg", &bad);
    const char *ctm = vbOnnxAttrString(node, "coordinate_transformation_mode",
                                       opset >= 16 ? "half_pixel" : "output_half_pixel", &bad);
    p.out_h = vbOnnxAttrInt(node, "output_height", 1, &bad);
    p.out_w = vbOnnxAttrInt(node, "output_width", 1, &bad);
    p.sampling_ratio = vbOnnxAttrInt(node, "sampling_ratio", 0, &bad);
    p.spatial_scale = vbOnnxAttrFloat(node, "spatial_scale", 1.0f, &bad);
    if (bad)
        return vbErrorSet(err, VB_ERR_PARSE, "RoiAlign '%s': an attribute has the wrong type",
                          node->name);
    if (strcmp(mode, "avg") != 0 && strcmp(mode, "max") != 0)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED, "RoiAlign '%s': mode '%s' is invalid (avg or max)",
                          node->name, mode);
    if (strcmp(ctm, "half_pixel") != 0 && strcmp(ctm, "output_half_pixel") != 0)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED, "RoiAlign '%s': coordinate_transformation_mode "
                          "'%s' is invalid (half_pixel or output_half_pixel)", node->name, ctm);
    if (p.out_h < 1 || p.out_w < 1 || p.out_h > 65536 || p.out_w > 65536 || p.sampling_ratio < 0 ||
        p.sampling_ratio > 65536)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED, "RoiAlign '%s': output_height %lld, output_width "
                          "%lld or sampling_ratio %lld is out of range (1..65536, 0..65536)",
                          node->name, (long long)p.out_h, (long long)p.out_w,
                          (long long)p.sampling_ratio);
    p.max_mode = strcmp(mode, "max") == 0;
    p.half_pixel = strcmp(ctm, "half_pixel") == 0;
    RoiAlignParams *copy = malloc(sizeof *copy);
    if (copy == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory preparing RoiAlign");
    *copy = p;
    *params = copy;
    return VB_OK;
}

static vb_status roiAlignInfer(const void *params, const vb_tensor *const *in, int n_in,
                               vb_tensor *const *out, int n_out, VbOpInferInfo *info, vb_error *err)
{
    (void)n_out;
    const RoiAlignParams *p = params;
    if (n_in < 3 || in[1] == NULL || in[2] == NULL)
        return vbErrorSet(err, VB_ERR_SHAPE, "RoiAlign needs X, rois and batch_indices");
    const vb_tensor *x = in[0], *rois = in[1], *bi = in[2];
    if (x->dtype != VB_DTYPE_FLOAT32 || rois->dtype != VB_DTYPE_FLOAT32)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED, "RoiAlign supports float32 X and rois only");
    if (bi->dtype != VB_DTYPE_INT64 && bi->dtype != VB_DTYPE_INT32)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED, "RoiAlign: batch_indices must be int64 or int32");
    if (x->rank != 4 || rois->rank != 2 || rois->dims[1] != 4 || bi->rank != 1 ||
        bi->dims[0] != rois->dims[0]) {
        char a[96], b[96], c[96];
        return vbErrorSet(err, VB_ERR_SHAPE, "RoiAlign: X %s, rois %s and batch_indices %s do not "
                          "match (expected [N, C, H, W], [R, 4] and [R])",
                          vbShapeString(x, a, sizeof a), vbShapeString(rois, b, sizeof b),
                          vbShapeString(bi, c, sizeof c));
    }
    int64_t dims[4] = {rois->dims[0], x->dims[1], p->out_h, p->out_w};
    vbKernelSetShape(out[0], VB_DTYPE_FLOAT32, 4, dims);
    info->flops = (uint64_t)dims[0] * (uint64_t)dims[1] * (uint64_t)(p->out_h * p->out_w) * 16;
    return vbKernelCheckSize("RoiAlign", out[0], err);
}

/* One bilinear sample: the four pixel offsets in a plane and their weights.
 * A sample more than one pixel outside the plane has weights 0. */
typedef struct RoiSample {
    int64_t offset[4];
    float weight[4];
} RoiSample;

/* Computes the bilinear sample of a height x width plane at (y, x). Points
 * within one pixel outside clamp to the edge, as in ONNX Runtime. */
static RoiSample roiSample(int64_t height, int64_t width, float y, float x)
{
    RoiSample s;
    memset(&s, 0, sizeof s);
    if (y < -1.0f || y > (float)height || x < -1.0f || x > (float)width)
        return s;
    y = y <= 0.0f ? 0.0f : y;
    x = x <= 0.0f ? 0.0f : x;
    int64_t y0 = (int64_t)y, x0 = (int64_t)x, y1, x1;
    if (y0 >= height - 1) {
        y1 = y0 = height - 1;
        y = (float)y0;
    } else {
        y1 = y0 + 1;
    }
    if (x0 >= width - 1) {
        x1 = x0 = width - 1;
        x = (float)x0;
    } else {
        x1 = x0 + 1;
    }
    float ly = y - (float)y0, lx = x - (float)x0, hy = 1.0f - ly, hx = 1.0f - lx;
    s.offset[0] = y0 * width + x0;
    s.offset[1] = y0 * width + x1;
    s.offset[2] = y1 * width + x0;
    s.offset[3] = y1 * width + x1;
    s.weight[0] = hy * hx;
    s.weight[1] = hy * lx;
    s.weight[2] = ly * hx;
    s.weight[3] = ly * lx;
    return s;
}

/* One RoiAlign call, shared by the per-roi tasks. */
typedef struct RoiAlignJob {
    const RoiAlignParams *p;
    const vb_tensor *x, *rois, *batch_indices;
    float *y;
} RoiAlignJob;

/* Computes the [C, out_h, out_w] output of roi r. Each sample's position
 * is computed once and then read in every channel. */
static void roiAlignOne(void *arg, int64_t r, int worker)
{
    (void)worker;
    const RoiAlignJob *job = arg;
    const RoiAlignParams *p = job->p;
    int64_t channels = job->x->dims[1], height = job->x->dims[2], width = job->x->dims[3];
    int64_t out_h = p->out_h, out_w = p->out_w, bins = out_h * out_w;
    size_t plane = (size_t)(height * width);
    const float *roi = (const float *)job->rois->data + r * 4;
    const float *image = (const float *)job->x->data +
                         (size_t)vbTensorGetInt(job->batch_indices, (size_t)r) *
                             (size_t)channels * plane;
    float *dst = job->y + (size_t)r * (size_t)(channels * bins);

    /* The roi in feature-map coordinates and its bin size. */
    float offset = p->half_pixel ? 0.5f : 0.0f;
    float start_w = roi[0] * p->spatial_scale - offset;
    float start_h = roi[1] * p->spatial_scale - offset;
    float roi_w = roi[2] * p->spatial_scale - offset - start_w;
    float roi_h = roi[3] * p->spatial_scale - offset - start_h;
    if (!p->half_pixel) {
        roi_w = fmaxf(roi_w, 1.0f);
        roi_h = fmaxf(roi_h, 1.0f);
    }
    float bin_h = roi_h / (float)out_h, bin_w = roi_w / (float)out_w;
    int64_t grid_h = p->sampling_ratio > 0 ? p->sampling_ratio : (int64_t)ceilf(roi_h / (float)out_h);
    int64_t grid_w = p->sampling_ratio > 0 ? p->sampling_ratio : (int64_t)ceilf(roi_w / (float)out_w);
    grid_h = grid_h < 0 ? 0 : grid_h;
    grid_w = grid_w < 0 ? 0 : grid_w;
    float samples = (float)(grid_h * grid_w > 1 ? grid_h * grid_w : 1);

    for (int64_t bin = 0; bin < bins; bin++) {
        int64_t ph = bin / out_w, pw = bin % out_w;
        for (int64_t c = 0; c < channels; c++)
            dst[c * bins + bin] = 0.0f;

        /* Every sample of the bin, applied to all channels. */
        for (int64_t iy = 0; iy < grid_h; iy++) {
            float yy = start_h + (float)ph * bin_h + ((float)iy + 0.5f) * bin_h / (float)grid_h;
            for (int64_t ix = 0; ix < grid_w; ix++) {
                float xx = start_w + (float)pw * bin_w + ((float)ix + 0.5f) * bin_w / (float)grid_w;
                RoiSample s = roiSample(height, width, yy, xx);
                int first = iy == 0 && ix == 0;
                for (int64_t c = 0; c < channels; c++) {
                    const float *src = image + (size_t)c * plane;
                    float v1 = s.weight[0] * src[s.offset[0]], v2 = s.weight[1] * src[s.offset[1]];
                    float v3 = s.weight[2] * src[s.offset[2]], v4 = s.weight[3] * src[s.offset[3]];
                    float *acc = &dst[c * bins + bin];
                    if (!p->max_mode) {
                        *acc += v1 + v2 + v3 + v4;
                    } else {
                        float v = fmaxf(fmaxf(v1, v2), fmaxf(v3, v4));
                        *acc = first || v > *acc ? v : *acc;
                    }
                }
            }
        }
        if (!p->max_mode) {
            for (int64_t c = 0; c < channels; c++)
                dst[c * bins + bin] /= samples;
        }
    }
}

/* X [N, C, H, W], rois [R, 4] as (x1, y1, x2, y2) in input coordinates,
 * batch_indices [R] -> Y [R, C, out_h, out_w]. Each output bin averages (or
 * takes the maximum of) grid_h x grid_w bilinear samples at the centres of
 * a regular grid over the bin. Rois run in parallel. */
static vb_status roiAlignRun(const void *params, const vb_tensor *const *in, int n_in,
                             vb_tensor *const *out, int n_out, const VbOpRunContext *ctx,
                             vb_error *err)
{
    (void)n_in;
    (void)n_out;
    const RoiAlignParams *p = params;
    const vb_tensor *x = in[0], *rois = in[1], *bi = in[2];
    int64_t n_rois = rois->dims[0];
    for (int64_t r = 0; r < n_rois; r++) {
        int64_t b = vbTensorGetInt(bi, (size_t)r);
        if (b < 0 || b >= x->dims[0])
            return vbErrorSet(err, VB_ERR_SHAPE, "RoiAlign: batch index %lld of roi %lld is outside "
                              "0..%lld", (long long)b, (long long)r, (long long)x->dims[0] - 1);
    }

    RoiAlignJob job = {p, x, rois, bi, out[0]->data};
    int64_t work = n_rois * x->dims[1] * p->out_h * p->out_w;
    vbParallelFor(work >= 4096 ? ctx->threads : 1, n_rois, roiAlignOne, &job);
    return VB_OK;
}

static const VbOpDef opNonZero = {"NonZero", 9, NULL, nonZeroInfer, nonZeroRun, NULL, NULL, NULL};
static const VbOpDef opNonMaxSuppression = {"NonMaxSuppression", 10, nmsPrepare, nmsInfer, nmsRun,
                                            nmsRelease, NULL, NULL};
static const VbOpDef opRoiAlign = {"RoiAlign", 10, roiAlignPrepare, roiAlignInfer, roiAlignRun,
                                   vbKernelFreeParams, NULL, NULL};

const VbOpDef *const vbOpsDetection[] = {&opNonZero, &opNonMaxSuppression, &opRoiAlign, NULL};
