/* Output decoders per family: candidates in input pixels, NMS, then original-image detections. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "dataset/coco_classes.h"
#include "metrics/nms.h"
#include "models/decode.h"

const int vbImagenetVehicleClasses[] = {407, 436, 468, 511, 555, 569, 573, 575, 609,
                                        627, 654, 656, 661, 665, 670, 675, 717, 734,
                                        751, 757, 779, 803, 817, 864, 867, 874};
const int vbImagenetVehicleClassCount =
    (int)(sizeof vbImagenetVehicleClasses / sizeof vbImagenetVehicleClasses[0]);

void vbModelDecodeOptionsInit(VbDecodeOptions *options)
{
    options->conf_threshold = 0.001f;
    options->iou_threshold = 0.7f;
    options->class_agnostic = 0;
    options->max_detections = 300;
    options->pre_nms_topk = 30000;
    options->multi_label = -1;
}

/* A capped, growable list of NMS candidates. */
typedef struct Candidates {
    VbNmsBox *items;
    size_t count, capacity;
} Candidates;

/* Appends the box (corners in input pixels) unless map drops its class. */
static vb_status addCandidate(Candidates *c, const VbClassMap *map, float x1, float y1, float x2,
                              float y2, float score, int class_id, vb_error *err)
{
    if (map != NULL && vbModelClassMapLookup(map, class_id) < 0)
        return VB_OK;
    if (c->count == c->capacity) {
        if (c->capacity >= VB_DECODE_MAX_CANDIDATES)
            return vbErrorSet(err, VB_ERR_LIMIT,
                              "more than %zu candidate boxes in one image; raise the "
                              "confidence threshold",
                              VB_DECODE_MAX_CANDIDATES);
        size_t cap = c->capacity ? c->capacity * 2 : 1024;
        VbNmsBox *grown = realloc(c->items, cap * sizeof *grown);
        if (grown == NULL)
            return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for %zu candidates", cap);
        c->items = grown;
        c->capacity = cap;
    }
    c->items[c->count++] = (VbNmsBox){x1, y1, x2, y2, score, class_id};
    return VB_OK;
}

/* Adds the candidates of one box whose class scores are scores[j * stride]
 * for j < classes, each multiplied by obj (1 when the family has none).
 * multi_label adds every class above the threshold, otherwise the best. */
static vb_status addBoxClasses(Candidates *c, const VbClassMap *map, float cx, float cy, float w,
                               float h, float obj, const float *scores, size_t stride,
                               int classes, int multi_label, float conf, vb_error *err)
{
    float x1 = cx - w / 2, y1 = cy - h / 2, x2 = cx + w / 2, y2 = cy + h / 2;
    if (multi_label) {
        for (int j = 0; j < classes; j++) {
            float s = scores[(size_t)j * stride] * obj;
            if (s > conf) {
                vb_status status = addCandidate(c, map, x1, y1, x2, y2, s, j, err);
                if (status != VB_OK)
                    return status;
            }
        }
        return VB_OK;
    }
    int best = 0;
    for (int j = 1; j < classes; j++)
        if (scores[(size_t)j * stride] > scores[(size_t)best * stride])
            best = j;
    float s = scores[(size_t)best * stride] * obj;
    if (!(s > conf))
        return VB_OK;
    return addCandidate(c, map, x1, y1, x2, y2, s, best, err);
}

/* Checks that output t is float32 with the given rank and returns its name. */
static vb_status checkOutput(const vb_tensor *t, int index, int rank, const char *family,
                             vb_error *err)
{
    if (t == NULL || t->data == NULL)
        return vbErrorSet(err, VB_ERR_SHAPE, "%s decoder: output %d is missing", family, index);
    if (t->dtype != VB_DTYPE_FLOAT32 || t->rank != rank || t->dims[0] != 1)
        return vbErrorSet(err, VB_ERR_SHAPE,
                          "%s decoder: output %d must be float32 of rank %d with batch 1; "
                          "got %s of rank %d; check the model's format (the @FORMAT of --model)",
                          family, index, rank, vb_dtype_to_string(t->dtype), t->rank);
    return VB_OK;
}

/* YOLOv5 [1, N, 5+C]: cx, cy, w, h, objectness, class scores per row. */
static vb_status decodeYolov5(const vb_tensor *t, const VbClassMap *map, float conf,
                              int multi_label, Candidates *c, vb_error *err)
{
    vb_status status = checkOutput(t, 0, 3, "yolov5", err);
    if (status != VB_OK)
        return status;
    if (t->dims[2] < 6)
        return vbErrorSet(err, VB_ERR_SHAPE, "yolov5 decoder: rows of %lld values; need 5+C",
                          (long long)t->dims[2]);
    size_t rows = (size_t)t->dims[1], width = (size_t)t->dims[2];
    int classes = (int)width - 5;
    const float *data = t->data;
    for (size_t i = 0; i < rows; i++) {
        const float *r = data + i * width;
        if (!(r[4] > conf))
            continue;
        status = addBoxClasses(c, map, r[0], r[1], r[2], r[3], r[4], r + 5, 1, classes,
                               multi_label, conf, err);
        if (status != VB_OK)
            return status;
    }
    return VB_OK;
}

/* YOLOv8 [1, 4+C, N]: one column per anchor point. */
static vb_status decodeYolov8(const vb_tensor *t, const VbClassMap *map, float conf,
                              int multi_label, Candidates *c, vb_error *err)
{
    vb_status status = checkOutput(t, 0, 3, "yolov8", err);
    if (status != VB_OK)
        return status;
    if (t->dims[1] < 5)
        return vbErrorSet(err, VB_ERR_SHAPE, "yolov8 decoder: %lld rows; need 4+C",
                          (long long)t->dims[1]);
    size_t n = (size_t)t->dims[2];
    int classes = (int)t->dims[1] - 4;
    const float *d = t->data;
    for (size_t i = 0; i < n; i++) {
        status = addBoxClasses(c, map, d[i], d[n + i], d[2 * n + i], d[3 * n + i], 1.0f,
                               d + 4 * n + i, n, classes, multi_label, conf, err);
        if (status != VB_OK)
            return status;
    }
    return VB_OK;
}

/* YOLOX [1, N, 5+C] raw head: rows run over strides 8, 16, 32, each level
 * row-major over its (H/s) x (W/s) grid. */
static vb_status decodeYolox(const vb_tensor *t, const VbModelLayout *layout,
                             const VbClassMap *map, float conf, int multi_label, Candidates *c,
                             vb_error *err)
{
    vb_status status = checkOutput(t, 0, 3, "yolox", err);
    if (status != VB_OK)
        return status;
    int64_t cells = 0;
    for (int s = 8; s <= 32; s *= 2)
        cells += (int64_t)(layout->input_width / s) * (layout->input_height / s);
    if (t->dims[1] != cells || t->dims[2] < 6)
        return vbErrorSet(err, VB_ERR_SHAPE,
                          "yolox decoder: output is [1,%lld,%lld]; a %dx%d input needs "
                          "[1,%lld,5+C]",
                          (long long)t->dims[1], (long long)t->dims[2], layout->input_width,
                          layout->input_height, (long long)cells);
    size_t width = (size_t)t->dims[2];
    int classes = (int)width - 5;
    const float *r = t->data;
    for (int stride = 8; stride <= 32; stride *= 2) {
        int gw = layout->input_width / stride, gh = layout->input_height / stride;
        for (int gy = 0; gy < gh; gy++) {
            for (int gx = 0; gx < gw; gx++, r += width) {
                if (!(r[4] > conf))
                    continue;
                float cx = (r[0] + (float)gx) * (float)stride;
                float cy = (r[1] + (float)gy) * (float)stride;
                float w = expf(r[2]) * (float)stride, h = expf(r[3]) * (float)stride;
                status = addBoxClasses(c, map, cx, cy, w, h, r[4], r + 5, 1, classes,
                                       multi_label, conf, err);
                if (status != VB_OK)
                    return status;
            }
        }
    }
    return VB_OK;
}

static float sigmoidf(float v)
{
    return 1.0f / (1.0f + expf(-v));
}

/* FastestDet [1, 5+C, H, W]: per cell objectness, tanh offsets, sigmoid
 * size (fraction of the input), class probabilities; score obj^0.6 * cls^0.4. */
static vb_status decodeFastestDet(const vb_tensor *t, const VbModelLayout *layout,
                                  const VbClassMap *map, float conf, int multi_label,
                                  Candidates *c, vb_error *err)
{
    vb_status status = checkOutput(t, 0, 4, "fastestdet", err);
    if (status != VB_OK)
        return status;
    if (t->dims[1] < 6)
        return vbErrorSet(err, VB_ERR_SHAPE, "fastestdet decoder: %lld channels; need 5+C",
                          (long long)t->dims[1]);
    int classes = (int)t->dims[1] - 5;
    int gh = (int)t->dims[2], gw = (int)t->dims[3];
    size_t plane = (size_t)gh * gw;
    float iw = (float)layout->input_width, ih = (float)layout->input_height;
    const float *d = t->data;

    /* d is [5+C][gh][gw]: channel k of a cell is d[k * plane + cell]. */
    for (int y = 0; y < gh; y++) {
        for (int x = 0; x < gw; x++) {
            size_t cell = (size_t)y * gw + x;
            float obj = d[cell];
            if (!(obj > 0))
                continue;
            float cx = ((float)x + tanhf(d[plane + cell])) / (float)gw;
            float cy = ((float)y + tanhf(d[2 * plane + cell])) / (float)gh;
            float bw = sigmoidf(d[3 * plane + cell]), bh = sigmoidf(d[4 * plane + cell]);
            float x1 = (cx - 0.5f * bw) * iw, x2 = (cx + 0.5f * bw) * iw;
            float y1 = (cy - 0.5f * bh) * ih, y2 = (cy + 0.5f * bh) * ih;
            float obj_part = powf(obj, 0.6f);
            int best = 0;

            for (int j = 0; j < classes; j++) {
                float p = d[(size_t)(5 + j) * plane + cell];
                if (p > d[(size_t)(5 + best) * plane + cell])
                    best = j;
                if (!multi_label || !(p > 0))
                    continue;
                float score = obj_part * powf(p, 0.4f);
                if (score > conf) {
                    status = addCandidate(c, map, x1, y1, x2, y2, score, j, err);
                    if (status != VB_OK)
                        return status;
                }
            }
            if (multi_label)
                continue;
            float p = d[(size_t)(5 + best) * plane + cell];
            float score = p > 0 ? obj_part * powf(p, 0.4f) : 0;
            if (score > conf) {
                status = addCandidate(c, map, x1, y1, x2, y2, score, best, err);
                if (status != VB_OK)
                    return status;
            }
        }
    }
    return VB_OK;
}

double vbModelVehicleProbability(const float *logits, int count, int *top_class)
{
    int offset = count == 1001 ? 1 : 0;
    if (logits == NULL || (count != 1000 && count != 1001))
        return 0;

    /* Softmax in double with the maximum subtracted. */
    int top = 0;
    for (int i = 1; i < count; i++)
        if (logits[i] > logits[top])
            top = i;
    double total = 0, vehicles = 0;
    for (int i = 0; i < count; i++)
        total += exp((double)logits[i] - logits[top]);
    for (int k = 0; k < vbImagenetVehicleClassCount; k++)
        vehicles += exp((double)logits[vbImagenetVehicleClasses[k] + offset] - logits[top]);
    if (top_class != NULL)
        *top_class = top - offset;
    return vehicles / total;
}

/* Boxes/scores/labels outputs: x1, y1, x2, y2 in input pixels. */
static vb_status decodeBoxes(const vb_tensor *outputs, int output_count,
                             const VbModelLayout *layout, const VbClassMap *map, float conf,
                             Candidates *c, vb_error *err)
{
    if (layout->boxes_output >= output_count || layout->scores_output >= output_count ||
        layout->labels_output >= output_count || layout->boxes_output < 0 ||
        layout->scores_output < 0 || layout->labels_output < 0)
        return vbErrorSet(err, VB_ERR_SHAPE, "boxes decoder: the run has %d outputs",
                          output_count);
    const vb_tensor *boxes = &outputs[layout->boxes_output];
    const vb_tensor *scores = &outputs[layout->scores_output];
    const vb_tensor *labels = &outputs[layout->labels_output];
    if (boxes->dtype != VB_DTYPE_FLOAT32 || boxes->rank != 2 || boxes->dims[1] != 4 ||
        scores->dtype != VB_DTYPE_FLOAT32 || scores->rank != 1 || labels->rank != 1 ||
        scores->dims[0] != boxes->dims[0] || labels->dims[0] != boxes->dims[0])
        return vbErrorSet(err, VB_ERR_SHAPE,
                          "boxes decoder: expected float32 boxes [N,4], float32 scores [N] "
                          "and labels [N] (outputs %d, %d, %d)",
                          layout->boxes_output, layout->scores_output, layout->labels_output);
    size_t n = (size_t)boxes->dims[0];
    const float *b = boxes->data, *s = scores->data;
    for (size_t i = 0; i < n; i++) {
        int64_t label;
        if (labels->dtype == VB_DTYPE_INT64)
            label = ((const int64_t *)labels->data)[i];
        else if (labels->dtype == VB_DTYPE_INT32)
            label = ((const int32_t *)labels->data)[i];
        else if (labels->dtype == VB_DTYPE_FLOAT32)
            label = (int64_t)((const float *)labels->data)[i];
        else
            return vbErrorSet(err, VB_ERR_SHAPE, "boxes decoder: labels of type %s; need an "
                              "integer or float32 tensor", vb_dtype_to_string(labels->dtype));
        int class_id = (int)label;
        if (layout->label_space == VB_LABELS_COCO91) {
            const VbCocoClass *cls = vbCocoClassById(label);
            if (cls == NULL)
                continue;
            class_id = cls->index;
        } else if (label < 0 || label > INT32_MAX) {
            continue;
        }
        if (!(s[i] > conf))
            continue;
        vb_status status = addCandidate(c, map, b[4 * i], b[4 * i + 1], b[4 * i + 2],
                                        b[4 * i + 3], s[i], class_id, err);
        if (status != VB_OK)
            return status;
    }
    return VB_OK;
}

static double clampDouble(double v, double max)
{
    if (v < 0)
        return 0;
    if (v > max)
        return max;
    return v;
}

/* Maps a box from input pixels to the original image, clipped to it, and
 * appends it as a COCO-style detection. */
static vb_status emitDetection(const VbNmsBox *box, const VbLetterbox *lb, int64_t category,
                               int64_t image_id, VbDetectionList *out, vb_error *err)
{
    double x1 = box->x1, y1 = box->y1, x2 = box->x2, y2 = box->y2;
    vbLetterboxInverse(lb, &x1, &y1);
    vbLetterboxInverse(lb, &x2, &y2);
    x1 = clampDouble(x1, lb->image_width);
    x2 = clampDouble(x2, lb->image_width);
    y1 = clampDouble(y1, lb->image_height);
    y2 = clampDouble(y2, lb->image_height);
    VbDetection d = {image_id, category, x1, y1, x2 - x1, y2 - y1, box->score};
    return vbDetectionListPush(out, &d, err);
}

vb_status vbModelDecode(const VbModelLayout *layout, const vb_tensor *outputs, int output_count,
                        const VbLetterbox *transform, const VbClassMap *map,
                        const VbDecodeOptions *options, int64_t image_id, VbDetectionList *out,
                        vb_error *err)
{
    vb_status status = VB_OK;
    Candidates cand = {0};
    size_t *keep = NULL, kept = 0;
    VbDecodeOptions defaults;

    if (layout == NULL || outputs == NULL || output_count < 1 || transform == NULL || out == NULL)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT, "decode: NULL argument or no outputs");
    if (options == NULL) {
        vbModelDecodeOptionsInit(&defaults);
        options = &defaults;
    }
    int multi_label = options->multi_label;
    if (multi_label < 0)
        multi_label = layout->family == VB_MODEL_YOLOV5 || layout->family == VB_MODEL_YOLOV8;
    float conf = options->conf_threshold;
    const vb_tensor *main_output = &outputs[layout->output < output_count ? layout->output : 0];

    /* Step 1: candidates in input pixels. */
    switch (layout->family) {
    case VB_MODEL_YOLOV5:
        status = decodeYolov5(main_output, map, conf, multi_label, &cand, err);
        break;
    case VB_MODEL_YOLOV8:
        status = decodeYolov8(main_output, map, conf, multi_label, &cand, err);
        break;
    case VB_MODEL_YOLOX:
        status = decodeYolox(main_output, layout, map, conf, multi_label, &cand, err);
        break;
    case VB_MODEL_FASTESTDET:
        status = decodeFastestDet(main_output, layout, map, conf, multi_label, &cand, err);
        break;
    case VB_MODEL_BOXES:
        status = decodeBoxes(outputs, output_count, layout, map, conf, &cand, err);
        break;
    case VB_MODEL_CLASSIFIER: {
        status = checkOutput(main_output, layout->output, 2, "classifier", err);
        if (status != VB_OK)
            goto done;
        double p = vbModelVehicleProbability(main_output->data, (int)main_output->dims[1], NULL);
        int car = map != NULL ? vbModelClassMapFind(map, "car") : -1;
        int64_t category = map != NULL ? vbModelClassMapLookup(map, car) : vbCocoClassByName("car")->id;
        if (category >= 0 && p > conf) {
            VbDetection d = {image_id, category, 0, 0, transform->image_width,
                             transform->image_height, p};
            status = vbDetectionListPush(out, &d, err);
        }
        goto done;
    }
    default:
        status = vbErrorSet(err, VB_ERR_UNSUPPORTED, "decode: no decoder for family %s",
                            vbModelFamilyName(layout->family));
        goto done;
    }
    if (status != VB_OK)
        goto done;

    /* Step 2: NMS. */
    VbNmsOptions nms;
    vbNmsOptionsInit(&nms);
    nms.iou_threshold = options->iou_threshold;
    nms.class_agnostic = options->class_agnostic;
    nms.max_output = options->max_detections > 0 ? (size_t)options->max_detections : 0;
    nms.max_input = options->pre_nms_topk > 0 ? (size_t)options->pre_nms_topk : 0;
    keep = malloc((cand.count ? cand.count : 1) * sizeof *keep);
    if (keep == NULL) {
        status = vbErrorSet(err, VB_ERR_NO_MEMORY, "decode: out of memory");
        goto done;
    }
    status = vbNms(cand.items, cand.count, &nms, keep, &kept, err);
    if (status != VB_OK)
        goto done;

    /* Step 3: original-image detections with dataset category ids. */
    for (size_t i = 0; i < kept; i++) {
        const VbNmsBox *box = &cand.items[keep[i]];
        int64_t category = map != NULL ? vbModelClassMapLookup(map, box->class_id) : box->class_id;
        status = emitDetection(box, transform, category, image_id, out, err);
        if (status != VB_OK)
            goto done;
    }

done:
    free(cand.items);
    free(keep);
    return status;
}
