/* Family and layout detection from a model's input and output tensor shapes and names. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/core.h"
#include "models/model.h"

static const char *const family_names[] = {"unknown", "yolov5", "yolov8", "yolox",
                                           "fastestdet", "classifier", "boxes"};

const char *vbModelFamilyName(VbModelFamily family)
{
    if ((int)family < 0 || (size_t)family >= sizeof family_names / sizeof family_names[0])
        return "unknown";
    return family_names[family];
}

vb_status vbModelFamilyParse(const char *name, VbModelFamily *out, vb_error *err)
{
    for (int f = VB_MODEL_YOLOV5; f <= VB_MODEL_BOXES; f++) {
        if (name != NULL && strcasecmp(name, family_names[f]) == 0) {
            *out = (VbModelFamily)f;
            return VB_OK;
        }
    }
    return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                      "unknown model format \"%s\"; use yolov5, yolov8, yolox, fastestdet, "
                      "classifier or boxes",
                      name ? name : "");
}

/* Default input side per family, used when the model leaves it dynamic. */
static int defaultInputSide(VbModelFamily family)
{
    switch (family) {
    case VB_MODEL_YOLOX: return 416;
    case VB_MODEL_FASTESTDET: return 352;
    case VB_MODEL_CLASSIFIER: return 224;
    case VB_MODEL_BOXES: return 320;
    default: return 640;
    }
}

/* Number of grid cells of a three-level head at strides 8, 16 and 32. */
static int64_t gridCells(int width, int height)
{
    int64_t cells = 0;
    for (int stride = 8; stride <= 32; stride *= 2)
        cells += (int64_t)(width / stride) * (height / stride);
    return cells;
}

/* Writes "[1,3,640,640]" (with -1 for unknown dims) into buf. */
static void formatShape(const vb_tensor_info *t, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    if (t->rank < 0) {
        snprintf(buf, size, "[?]");
        return;
    }
    used += (size_t)snprintf(buf + used, size - used, "[");
    for (int i = 0; i < t->rank && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%lld", i ? "," : "",
                                 (long long)t->dims[i]);
    if (used < size)
        snprintf(buf + used, size - used, "]");
}

static int nameHas(const vb_tensor_info *t, const char *word)
{
    return t->name != NULL && strstr(t->name, word) != NULL;
}

/* Finds boxes/scores/labels among the outputs, by name first, then by
 * shape and type. Returns 1 and fills the layout when all three are found. */
static int findBoxOutputs(const vb_tensor_info *outputs, int count, VbModelLayout *out)
{
    int boxes = -1, scores = -1, labels = -1;
    VbLabelSpace space = VB_LABELS_COCO91;

    for (int i = 0; i < count; i++) {
        const vb_tensor_info *t = &outputs[i];
        if (boxes < 0 && nameHas(t, "box"))
            boxes = i;
        else if (scores < 0 && nameHas(t, "score"))
            scores = i;
        else if (labels < 0 && nameHas(t, "label"))
            labels = i;
        else if (labels < 0 && nameHas(t, "class")) {
            labels = i;
            space = VB_LABELS_CONTIGUOUS;
        }
    }
    for (int i = 0; i < count; i++) {
        const vb_tensor_info *t = &outputs[i];
        if (i == boxes || i == scores || i == labels)
            continue;
        if (boxes < 0 && t->rank == 2 && t->dims[1] == 4)
            boxes = i;
        else if (scores < 0 && t->rank == 1 && t->dtype == VB_DTYPE_FLOAT32)
            scores = i;
        else if (labels < 0 && t->rank == 1 &&
                 (t->dtype == VB_DTYPE_INT64 || t->dtype == VB_DTYPE_INT32))
            labels = i;
    }
    if (boxes < 0 || scores < 0 || labels < 0)
        return 0;
    out->boxes_output = boxes;
    out->scores_output = scores;
    out->labels_output = labels;
    out->output = boxes;
    out->label_space = space;
    out->num_boxes = outputs[boxes].rank >= 1 ? outputs[boxes].dims[0] : -1;
    out->num_classes = space == VB_LABELS_COCO91 ? 91 : 80;
    return 1;
}

/* Guesses the family of one output tensor from its shape, or returns
 * VB_MODEL_UNKNOWN. Fills the shape-derived fields of out. */
static VbModelFamily familyFromShape(const vb_tensor_info *t, VbModelLayout *out)
{
    if (t->rank == 2 && t->dims[0] == 1 && t->dims[1] >= 2) {
        out->num_classes = (int)t->dims[1];
        return VB_MODEL_CLASSIFIER;
    }
    if (t->rank == 4 && t->dims[0] == 1 && t->dims[1] >= 6 && t->dims[2] > 0 && t->dims[3] > 0) {
        out->num_classes = (int)t->dims[1] - 5;
        out->grid_height = (int)t->dims[2];
        out->grid_width = (int)t->dims[3];
        out->num_boxes = t->dims[2] * t->dims[3];
        return VB_MODEL_FASTESTDET;
    }
    if (t->rank != 3 || t->dims[0] != 1 || t->dims[1] <= 0 || t->dims[2] <= 0)
        return VB_MODEL_UNKNOWN;

    int64_t a = t->dims[1], b = t->dims[2];
    if (a < b && a >= 5) {
        out->num_classes = (int)a - 4;
        out->num_boxes = b;
        return VB_MODEL_YOLOV8;
    }
    if (b < 6)
        return VB_MODEL_UNKNOWN;
    out->num_classes = (int)b - 5;
    out->num_boxes = a;

    /* YOLOX has one row per grid cell, YOLOv5 three (anchors). With an
     * unknown input size, try square sides in steps of 32. */
    int w = out->input_width, h = out->input_height;
    if (w > 0 && h > 0) {
        if (a == gridCells(w, h))
            return VB_MODEL_YOLOX;
        if (a == 3 * gridCells(w, h))
            return VB_MODEL_YOLOV5;
        return VB_MODEL_UNKNOWN;
    }
    for (int side = 32; side <= 4096; side += 32) {
        if (a == gridCells(side, side) || a == 3 * gridCells(side, side)) {
            out->input_width = out->input_height = side;
            return a == gridCells(side, side) ? VB_MODEL_YOLOX : VB_MODEL_YOLOV5;
        }
    }
    return VB_MODEL_UNKNOWN;
}

vb_status vbModelDetectLayout(const vb_tensor_info *inputs, int input_count,
                              const vb_tensor_info *outputs, int output_count,
                              const char *format, VbModelLayout *out, vb_error *err)
{
    VbModelFamily forced = VB_MODEL_UNKNOWN;
    char shape[128];

    memset(out, 0, sizeof *out);
    out->boxes_output = out->scores_output = out->labels_output = -1;
    out->num_boxes = -1;
    if (outputs == NULL || output_count < 1)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED, "the model has no outputs to decode");
    if (format != NULL && format[0] != '\0') {
        vb_status status = vbModelFamilyParse(format, &forced, err);
        if (status != VB_OK)
            return status;
    }

    /* Step 1: input size from an NCHW first input. */
    if (inputs != NULL && input_count > 0 && inputs[0].rank == 4) {
        if (inputs[0].dims[2] > 0)
            out->input_height = (int)inputs[0].dims[2];
        if (inputs[0].dims[3] > 0)
            out->input_width = (int)inputs[0].dims[3];
    }

    /* Step 2: separate boxes/scores/labels outputs. */
    if ((forced == VB_MODEL_UNKNOWN || forced == VB_MODEL_BOXES) && output_count >= 3 &&
        findBoxOutputs(outputs, output_count, out)) {
        out->family = VB_MODEL_BOXES;
    } else if (forced == VB_MODEL_BOXES) {
        return vbErrorSet(err, VB_ERR_SHAPE,
                          "format boxes needs boxes [N,4], scores [N] and labels [N] "
                          "outputs; the model has %d output(s)",
                          output_count);
    } else {
        /* Step 3: one main output, recognised by its shape. */
        out->output = 0;
        out->family = familyFromShape(&outputs[0], out);
        formatShape(&outputs[0], shape, sizeof shape);
        if (forced != VB_MODEL_UNKNOWN && out->family != forced) {
            /* YOLOv5 and YOLOX share a shape; a forced choice settles it. */
            int same_rows = (forced == VB_MODEL_YOLOV5 || forced == VB_MODEL_YOLOX) &&
                            (out->family == VB_MODEL_YOLOV5 || out->family == VB_MODEL_YOLOX ||
                             (out->family == VB_MODEL_UNKNOWN && outputs[0].rank == 3));
            if (!same_rows)
                return vbErrorSet(err, VB_ERR_SHAPE,
                                  "format %s does not fit output \"%s\" of shape %s",
                                  vbModelFamilyName(forced),
                                  outputs[0].name ? outputs[0].name : "0", shape);
            if (outputs[0].dims[2] < 6)
                return vbErrorSet(err, VB_ERR_SHAPE,
                                  "format %s needs [1,N,5+C]; output \"%s\" is %s",
                                  vbModelFamilyName(forced),
                                  outputs[0].name ? outputs[0].name : "0", shape);
            out->num_classes = (int)outputs[0].dims[2] - 5;
            out->num_boxes = outputs[0].dims[1];
            out->family = forced;
        }
        if (out->family == VB_MODEL_UNKNOWN)
            return vbErrorSet(err, VB_ERR_UNSUPPORTED,
                              "cannot tell the model family from output \"%s\" of shape %s; "
                              "name it by appending @FORMAT to --model, FORMAT one of yolov5, "
                              "yolov8, yolox, fastestdet, classifier or boxes",
                              outputs[0].name ? outputs[0].name : "0", shape);
    }

    /* Step 4: fall back to the family's input size. */
    if (out->input_width <= 0)
        out->input_width = defaultInputSide(out->family);
    if (out->input_height <= 0)
        out->input_height = defaultInputSide(out->family);
    return VB_OK;
}

void vbModelDefaultPreprocess(const VbModelLayout *layout, VbPreprocess *p)
{
    int w = layout->input_width, h = layout->input_height;
    switch (layout->family) {
    case VB_MODEL_YOLOX: vbModelPreprocessYolox(p, w, h); break;
    case VB_MODEL_FASTESTDET: vbModelPreprocessFastestDet(p, w, h); break;
    case VB_MODEL_CLASSIFIER: vbModelPreprocessImagenet(p, w, h); break;
    case VB_MODEL_BOXES: vbModelPreprocessTorchvision(p, w, h); break;
    default: vbModelPreprocessYolo(p, w, h); break;
    }
}
