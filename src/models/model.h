/* Model families and output layouts: which decoder and recipe a model needs, found from its tensors. */
#ifndef VB_MODELS_MODEL_H
#define VB_MODELS_MODEL_H

#include <stdint.h>

#include "models/preprocess.h"
#include "visionbench/engine.h"
#include "visionbench/status.h"

typedef enum VbModelFamily {
    VB_MODEL_UNKNOWN = 0,
    VB_MODEL_YOLOV5,      /* [1, N, 5+C]: cx, cy, w, h, objectness, class scores */
    VB_MODEL_YOLOV8,      /* [1, 4+C, N]: cx, cy, w, h, class scores */
    VB_MODEL_YOLOX,       /* [1, N, 5+C] raw grid head, strides 8/16/32 */
    VB_MODEL_FASTESTDET,  /* [1, 5+C, H, W]: objectness, offsets, size, class probabilities */
    VB_MODEL_CLASSIFIER,  /* [1, K] ImageNet logits */
    VB_MODEL_BOXES        /* separate boxes [N, 4], scores [N], labels [N] tensors */
} VbModelFamily;

/* How labels of a VB_MODEL_BOXES model are numbered. */
typedef enum VbLabelSpace {
    VB_LABELS_CONTIGUOUS = 0, /* 0-based class index (Detectron2 `classes`) */
    VB_LABELS_COCO91          /* COCO category ids 1..90 (torchvision `labels`) */
} VbLabelSpace;

/* What the decoder needs to know about a model's tensors. */
typedef struct VbModelLayout {
    VbModelFamily family;
    int input_width, input_height; /* network input size in pixels */
    int num_classes;               /* C; 1000 for an ImageNet classifier */
    int64_t num_boxes;             /* N candidate rows, or -1 when data-dependent */
    int grid_width, grid_height;   /* VB_MODEL_FASTESTDET output grid */
    int output;                    /* index of the main output tensor */
    int boxes_output, scores_output, labels_output; /* VB_MODEL_BOXES; -1 otherwise */
    VbLabelSpace label_space;
} VbModelLayout;

/* Returns "yolov5", "yolov8", "yolox", "fastestdet", "classifier", "boxes"
 * or "unknown". These are also the accepted format strings. */
const char *vbModelFamilyName(VbModelFamily family);

/* Parses a format string (the names above). Errors: VB_ERR_INVALID_ARGUMENT
 * naming the string and listing the valid ones. */
vb_status vbModelFamilyParse(const char *name, VbModelFamily *out, vb_error *err);

/* Finds the family and layout from the model's first input (NCHW, [1, 3,
 * H, W]) and its outputs. format, when not NULL or empty, forces the family
 * and the shapes are then only checked against it. Rules, first match:
 * three outputs named or shaped as boxes [N,4], scores [N] and labels or
 * classes [N] are VB_MODEL_BOXES (`labels` are COCO ids, `classes` 0-based);
 * [1, K] is a classifier; [1, 5+C, H, W] is FastestDet; [1, A, B] with
 * A < B is YOLOv8 (B anchor points); [1, N, 5+C] is YOLOX when N equals the
 * number of grid cells at strides 8, 16 and 32 for the input size, YOLOv5
 * when it is three times that. An unknown input size falls back to the
 * family default (640 for YOLOv5/v8, 416 YOLOX, 352 FastestDet, 224
 * classifier, 320 boxes). Errors: VB_ERR_UNSUPPORTED when no rule matches
 * (the message gives the shapes and suggests --format), VB_ERR_SHAPE when a
 * forced format does not fit the shapes. */
vb_status vbModelDetectLayout(const vb_tensor_info *inputs, int input_count,
                              const vb_tensor_info *outputs, int output_count,
                              const char *format, VbModelLayout *out, vb_error *err);

/* Fills p with the family's preprocessing recipe for the layout's input size. */
void vbModelDefaultPreprocess(const VbModelLayout *layout, VbPreprocess *p);

#endif /* VB_MODELS_MODEL_H */
