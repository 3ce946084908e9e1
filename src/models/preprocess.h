/* Preprocessing recipes: how each model family turns an RGB image into its NCHW float input. */
#ifndef VB_MODELS_PREPROCESS_H
#define VB_MODELS_PREPROCESS_H

#include <jansson.h>

#include "image/image.h"
#include "image/resize.h"
#include "visionbench/status.h"

/* Where the resized image lands in the network input. */
typedef enum VbPlacement {
    VB_PLACE_LETTERBOX_CENTER = 0, /* keep aspect, centre, pad the rest (YOLOv5/v8, torchvision) */
    VB_PLACE_LETTERBOX_TOPLEFT,    /* keep aspect, top-left corner, pad right and bottom (YOLOX) */
    VB_PLACE_STRETCH,              /* resize each axis to the input size, aspect not kept (FastestDet) */
    VB_PLACE_SHORTER_CROP          /* shorter side to resize_short, centre crop (ImageNet classifiers) */
} VbPlacement;

/* One preprocessing recipe. Values are applied in this order: place and
 * resize the 8-bit image, order channels, divide by divisor, then subtract
 * mean and divide by std per output channel. */
typedef struct VbPreprocess {
    const char *name;        /* recipe name, e.g. "yolo-letterbox" (static string) */
    VbPlacement placement;
    int width, height;       /* network input size in pixels */
    VbResizeMethod resize;   /* OpenCV interpolation used by the reference pipeline */
    int round_size;          /* 1: scaled size = round(dim * r), ties to even as Python's round;
                              * 0: truncated as Python's int(dim * r) */
    int resize_short;        /* VB_PLACE_SHORTER_CROP: shorter side after resizing */
    int pad_value;           /* 0..255, fills letterbox borders */
    int bgr;                 /* 1: output channels B, G, R; 0: R, G, B */
    float divisor;           /* 255 for [0, 1] inputs, 1 for raw 0..255 */
    int normalize;           /* 1: apply mean and std */
    float mean[3], std[3];   /* per output channel, after the division */
} VbPreprocess;

/* The affine map from original-image pixels to network-input pixels that a
 * recipe applied: input = original * scale + pad, per axis. */
typedef struct VbLetterbox {
    double scale_x, scale_y;
    double pad_x, pad_y;
    int image_width, image_height;   /* original image */
    int input_width, input_height;   /* network input */
    int resized_width, resized_height; /* the image's size inside the input */
} VbLetterbox;

/* Recipe constructors, each for a network input of width x height. */
void vbModelPreprocessYolo(VbPreprocess *p, int width, int height);        /* YOLOv5, YOLOv8 */
void vbModelPreprocessYolox(VbPreprocess *p, int width, int height);
void vbModelPreprocessImagenet(VbPreprocess *p, int width, int height);
void vbModelPreprocessFastestDet(VbPreprocess *p, int width, int height);
void vbModelPreprocessTorchvision(VbPreprocess *p, int width, int height); /* two-stage detectors */

/* Computes the placement of an image_width x image_height image under p
 * without touching pixels. Letterboxes use r = min(H/h, W/w) and never make a
 * side 0 pixels (an 8000x16 image letterboxed to 640 is 640x1).
 * Errors: VB_ERR_INVALID_ARGUMENT for sizes < 1 or a recipe that cannot fit
 * (crop larger than resize_short), VB_ERR_LIMIT when a shorter-side resize
 * would make the longer side exceed VB_RESIZE_MAX_DIM. */
vb_status vbModelLetterbox(const VbPreprocess *p, int image_width, int image_height,
                           VbLetterbox *out, vb_error *err);

/* Runs recipe p on image and writes the NCHW float32 tensor [1, 3, height,
 * width] to out, which the caller allocates with 3 * width * height floats.
 * transform (may be NULL) receives the placement for mapping boxes back.
 * Matches the OpenCV/NumPy reference pipelines bit for bit (see
 * docs/models.md). Errors: VB_ERR_INVALID_ARGUMENT (NULL or empty image, bad
 * recipe), VB_ERR_NO_MEMORY. */
vb_status vbModelPreprocess(const VbPreprocess *p, const VbImage *image, float *out,
                            VbLetterbox *transform, vb_error *err);

/* Maps a point from network-input pixels to original-image pixels:
 * (v - pad) / scale, without clipping. */
void vbLetterboxInverse(const VbLetterbox *lb, double *x, double *y);

/* Returns a new JSON object describing p (the caller owns the reference),
 * or NULL when out of memory. */
json_t *vbModelPreprocessToJson(const VbPreprocess *p);

#endif /* VB_MODELS_PREPROCESS_H */
