/* Preprocessing recipes per model family: placement, OpenCV-exact resize, channel order, scaling. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "models/preprocess.h"

static void recipeInit(VbPreprocess *p, const char *name, VbPlacement placement, int width,
                       int height)
{
    memset(p, 0, sizeof *p);
    p->name = name;
    p->placement = placement;
    p->width = width;
    p->height = height;
    p->resize = VB_RESIZE_LINEAR;
    p->round_size = 1;
    p->pad_value = 114;
    p->divisor = 255.0f;
    for (int c = 0; c < 3; c++)
        p->std[c] = 1.0f;
}

void vbModelPreprocessYolo(VbPreprocess *p, int width, int height)
{
    recipeInit(p, "yolo-letterbox", VB_PLACE_LETTERBOX_CENTER, width, height);
}

/* YOLOX >= 0.1.1 (legacy=False): top-left letterbox with truncated size, BGR, 0..255. */
void vbModelPreprocessYolox(VbPreprocess *p, int width, int height)
{
    recipeInit(p, "yolox-letterbox", VB_PLACE_LETTERBOX_TOPLEFT, width, height);
    p->round_size = 0;
    p->bgr = 1;
    p->divisor = 1.0f;
}

/* torchvision ImageNet evaluation: shorter side to 256/224 of the crop. */
void vbModelPreprocessImagenet(VbPreprocess *p, int width, int height)
{
    static const float mean[3] = {0.485f, 0.456f, 0.406f};
    static const float std[3] = {0.229f, 0.224f, 0.225f};
    int crop = width < height ? width : height;

    recipeInit(p, "imagenet-crop", VB_PLACE_SHORTER_CROP, width, height);
    p->resize_short = (int)((int64_t)crop * 256 / 224);
    p->pad_value = 0;
    p->normalize = 1;
    memcpy(p->mean, mean, sizeof mean);
    memcpy(p->std, std, sizeof std);
}

/* FastestDet's ONNX Runtime example: plain INTER_AREA resize, BGR, /255. */
void vbModelPreprocessFastestDet(VbPreprocess *p, int width, int height)
{
    recipeInit(p, "fastestdet-stretch", VB_PLACE_STRETCH, width, height);
    p->resize = VB_RESIZE_AREA;
    p->pad_value = 0;
    p->bgr = 1;
}

/* torchvision detectors normalise and resize inside the graph; the input is
 * letterboxed to the graph's fixed size. */
void vbModelPreprocessTorchvision(VbPreprocess *p, int width, int height)
{
    recipeInit(p, "torchvision-letterbox", VB_PLACE_LETTERBOX_CENTER, width, height);
}

/* Scales dim by r as the reference does (Python round: ties to even, or
 * int(): truncation), never below 1 nor above limit. */
static int scaledSize(int dim, double r, int round_size, int limit)
{
    double v = round_size ? nearbyint(dim * r) : floor(dim * r);
    if (v < 1)
        return 1;
    if (v > limit)
        return limit;
    return (int)v;
}

vb_status vbModelLetterbox(const VbPreprocess *p, int image_width, int image_height,
                           VbLetterbox *out, vb_error *err)
{
    if (p == NULL || out == NULL)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT, "letterbox: NULL argument");
    if (image_width < 1 || image_height < 1 || image_width > VB_RESIZE_MAX_DIM ||
        image_height > VB_RESIZE_MAX_DIM)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                          "letterbox: image is %dx%d; each side must be 1..%d", image_width,
                          image_height, VB_RESIZE_MAX_DIM);
    if (p->width < 1 || p->height < 1 || p->width > VB_RESIZE_MAX_DIM ||
        p->height > VB_RESIZE_MAX_DIM)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                          "recipe %s: input size %dx%d; each side must be 1..%d",
                          p->name ? p->name : "(unnamed)", p->width, p->height,
                          VB_RESIZE_MAX_DIM);

    memset(out, 0, sizeof *out);
    out->image_width = image_width;
    out->image_height = image_height;
    out->input_width = p->width;
    out->input_height = p->height;

    switch (p->placement) {
    case VB_PLACE_LETTERBOX_CENTER:
    case VB_PLACE_LETTERBOX_TOPLEFT: {
        double rh = (double)p->height / image_height, rw = (double)p->width / image_width;
        double r = rh < rw ? rh : rw;
        out->resized_width = scaledSize(image_width, r, p->round_size, p->width);
        out->resized_height = scaledSize(image_height, r, p->round_size, p->height);
        out->scale_x = out->scale_y = r;
        if (p->placement == VB_PLACE_LETTERBOX_CENTER) {
            out->pad_x = (p->width - out->resized_width) / 2;
            out->pad_y = (p->height - out->resized_height) / 2;
        }
        return VB_OK;
    }
    case VB_PLACE_STRETCH:
        out->resized_width = p->width;
        out->resized_height = p->height;
        out->scale_x = (double)p->width / image_width;
        out->scale_y = (double)p->height / image_height;
        return VB_OK;
    case VB_PLACE_SHORTER_CROP: {
        if (p->resize_short < p->width || p->resize_short < p->height)
            return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                              "recipe %s: shorter side %d is smaller than the %dx%d crop",
                              p->name ? p->name : "(unnamed)", p->resize_short, p->width,
                              p->height);
        int shorter = image_width < image_height ? image_width : image_height;
        double s = (double)p->resize_short / shorter;
        /* The longer side may exceed the crop but not the resize limit. */
        double longer = (image_width > image_height ? image_width : image_height) * s;
        if (nearbyint(longer) > VB_RESIZE_MAX_DIM)
            return vbErrorSet(err, VB_ERR_LIMIT,
                              "recipe %s: a %dx%d image would resize to a side of %.0f pixels, "
                              "over the limit %d",
                              p->name ? p->name : "(unnamed)", image_width, image_height,
                              nearbyint(longer), VB_RESIZE_MAX_DIM);
        out->resized_width = scaledSize(image_width, s, 1, VB_RESIZE_MAX_DIM);
        out->resized_height = scaledSize(image_height, s, 1, VB_RESIZE_MAX_DIM);
        if (out->resized_width < p->width || out->resized_height < p->height)
            return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                              "recipe %s: %dx%d image resizes to %dx%d, smaller than the crop",
                              p->name ? p->name : "(unnamed)", image_width, image_height,
                              out->resized_width, out->resized_height);
        out->scale_x = out->scale_y = s;
        out->pad_x = -(double)((out->resized_width - p->width) / 2);
        out->pad_y = -(double)((out->resized_height - p->height) / 2);
        return VB_OK;
    }
    }
    return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT, "recipe %s: unknown placement %d",
                      p->name ? p->name : "(unnamed)", (int)p->placement);
}

vb_status vbModelPreprocess(const VbPreprocess *p, const VbImage *image, float *out,
                            VbLetterbox *transform, vb_error *err)
{
    vb_status status;
    uint8_t *resized = NULL;
    VbLetterbox lb;

    if (image == NULL || image->pixels == NULL || out == NULL)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT, "preprocess: NULL image or output");
    status = vbModelLetterbox(p, image->width, image->height, &lb, err);
    if (status != VB_OK)
        return status;

    /* Step 1: resize (channel order does not change the result). */
    size_t n_resized = (size_t)lb.resized_width * lb.resized_height;
    resized = malloc(n_resized * 3);
    if (resized == NULL) {
        status = vbErrorSet(err, VB_ERR_NO_MEMORY,
                            "preprocess: out of memory for a %dx%d resized image",
                            lb.resized_width, lb.resized_height);
        goto done;
    }
    status = vbImageResize(image->pixels, image->width, image->height, 3, resized, lb.resized_width,
                           lb.resized_height, p->resize, err);
    if (status != VB_OK)
        goto done;

    /* Step 2: place into the input, order channels and scale. Output
     * [3, height, width]; pixels outside the resized image take pad_value. */
    int left = (int)lb.pad_x, top = (int)lb.pad_y;
    size_t plane = (size_t)p->width * p->height;
    for (int c = 0; c < 3; c++) {
        int src_c = p->bgr ? 2 - c : c;
        float mean = p->normalize ? p->mean[c] : 0.0f;
        float std = p->normalize ? p->std[c] : 1.0f;
        float *dst = out + (size_t)c * plane;
        for (int y = 0; y < p->height; y++) {
            int sy = y - top;
            for (int x = 0; x < p->width; x++) {
                int sx = x - left;
                int v = p->pad_value;
                if (sx >= 0 && sy >= 0 && sx < lb.resized_width && sy < lb.resized_height)
                    v = resized[((size_t)sy * lb.resized_width + sx) * 3 + src_c];
                float f = (float)v / p->divisor;
                if (p->normalize)
                    f = (f - mean) / std;
                dst[(size_t)y * p->width + x] = f;
            }
        }
    }
    if (transform != NULL)
        *transform = lb;

done:
    free(resized);
    return status;
}

void vbLetterboxInverse(const VbLetterbox *lb, double *x, double *y)
{
    *x = (*x - lb->pad_x) / lb->scale_x;
    *y = (*y - lb->pad_y) / lb->scale_y;
}

static const char *placementName(VbPlacement placement)
{
    switch (placement) {
    case VB_PLACE_LETTERBOX_CENTER: return "letterbox-center";
    case VB_PLACE_LETTERBOX_TOPLEFT: return "letterbox-top-left";
    case VB_PLACE_STRETCH: return "stretch";
    case VB_PLACE_SHORTER_CROP: return "shorter-side-center-crop";
    }
    return "unknown";
}

json_t *vbModelPreprocessToJson(const VbPreprocess *p)
{
    char resize[32];
    snprintf(resize, sizeof resize, "opencv-%s", vbResizeMethodName(p->resize));
    json_t *obj = json_pack("{s:s, s:s, s:i, s:i, s:s, s:s, s:i, s:s, s:f}",
                            "name", p->name ? p->name : "", "placement",
                            placementName(p->placement), "width", p->width, "height", p->height,
                            "resize", resize, "size_rounding",
                            p->round_size ? "round-half-even" : "truncate", "pad_value",
                            p->pad_value, "channels", p->bgr ? "BGR" : "RGB", "divisor",
                            (double)p->divisor);
    if (obj == NULL)
        return NULL;
    if (p->placement == VB_PLACE_SHORTER_CROP)
        json_object_set_new(obj, "resize_short", json_integer(p->resize_short));
    if (p->normalize) {
        json_t *mean = json_pack("[f,f,f]", (double)p->mean[0], (double)p->mean[1],
                                 (double)p->mean[2]);
        json_t *std = json_pack("[f,f,f]", (double)p->std[0], (double)p->std[1],
                                (double)p->std[2]);
        json_object_set_new(obj, "mean", mean);
        json_object_set_new(obj, "std", std);
    }
    return obj;
}
