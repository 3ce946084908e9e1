/* Output decoders: raw model outputs of one image to detections in original-image pixels. */
#ifndef VB_MODELS_DECODE_H
#define VB_MODELS_DECODE_H

#include <stdint.h>

#include "metrics/detection.h"
#include "models/class_map.h"
#include "models/model.h"
#include "models/preprocess.h"
#include "visionbench/engine.h"

/* Candidates above the confidence threshold that one image may produce
 * before NMS; more fail with VB_ERR_LIMIT (raise the threshold). */
#define VB_DECODE_MAX_CANDIDATES ((size_t)4 << 20)

typedef struct VbDecodeOptions {
    float conf_threshold;  /* keep candidates with score > this; 0.001 for mAP */
    float iou_threshold;   /* NMS IoU threshold, 0.7 */
    int class_agnostic;    /* 0: NMS per class */
    int max_detections;    /* per image after NMS, 300 */
    int pre_nms_topk;      /* candidates considered by NMS, 30000 */
    int multi_label;       /* 1: one candidate per class above the threshold;
                            * 0: best class only; -1: family default (1 for
                            * YOLOv5/v8 as Ultralytics validation, else 0) */
} VbDecodeOptions;

/* Sets the mAP defaults listed above. */
void vbModelDecodeOptionsInit(VbDecodeOptions *options);

/* Decodes the outputs of one run for one image into detections appended to
 * out, in NMS order (score descending). Boxes are mapped back through
 * transform ((v - pad) / scale) and clipped to the original image.
 *   YOLOv5: score = objectness * class score, boxes cx, cy, w, h.
 *   YOLOv8: score = class score.
 *   YOLOX: cx = (v + grid x) * stride, w = exp(v) * stride for strides
 *     8, 16, 32; score = objectness * class score.
 *   FastestDet: centre (cell + tanh(v)) / grid, size sigmoid(v) as a
 *     fraction of the input; score = obj^0.6 * class^0.4.
 *   Classifier: one whole-image detection of the class map's "car" whose
 *     score is the softmax probability of the ImageNet vehicle classes.
 *   Boxes: x1, y1, x2, y2 in input pixels; COCO-91 labels are mapped to
 *     the contiguous 80 classes, ids outside the 80 are dropped.
 * map (may be NULL: category id = class index) gives each class's category
 * id. Classes it drops (id -1) are removed before NMS. outputs are the run's
 * outputs in model order; the decoder reads their actual shapes.
 * Errors: VB_ERR_SHAPE (an output does not fit the layout; names it),
 * VB_ERR_LIMIT (too many candidates), VB_ERR_NO_MEMORY. */
vb_status vbModelDecode(const VbModelLayout *layout, const vb_tensor *outputs, int output_count,
                        const VbLetterbox *transform, const VbClassMap *map,
                        const VbDecodeOptions *options, int64_t image_id, VbDetectionList *out,
                        vb_error *err);

/* ImageNet-1k indices of road vehicles, motor vehicles and go-karts. They
 * are: ambulance 407, beach wagon 436, cab 468, convertible 511,
 * fire engine 555, garbage truck 569, go-kart 573, golfcart 575, jeep 609,
 * limousine 627, minibus 654, minivan 656, Model T 661, moped 665, motor
 * scooter 670, moving van 675, pickup 717, police van 734, racer 751,
 * recreational vehicle 757, school bus 779, snowplow 803, sports car 817,
 * tow truck 864, trailer truck 867, trolleybus 874. */
extern const int vbImagenetVehicleClasses[];
extern const int vbImagenetVehicleClassCount;

/* Returns the softmax probability mass of the vehicle classes in logits
 * (count 1000, or 1001 with a background class first) and sets *top_class
 * (may be NULL) to the arg-max index. Returns 0 for other counts. */
double vbModelVehicleProbability(const float *logits, int count, int *top_class);

#endif /* VB_MODELS_DECODE_H */
