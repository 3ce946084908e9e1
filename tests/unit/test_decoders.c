/* Tests the output decoders, layout detection and class maps on synthetic tensors with known boxes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "models/class_map.h"
#include "models/decode.h"
#include "models/model.h"
#include "vbtest.h"

/* A known box in original-image pixels. */
typedef struct Box {
    double x1, y1, x2, y2;
} Box;

static vb_tensor makeTensor(int rank, const int64_t *dims)
{
    vb_tensor t;
    size_t n = 1;
    memset(&t, 0, sizeof t);
    t.dtype = VB_DTYPE_FLOAT32;
    t.rank = rank;
    for (int i = 0; i < rank; i++) {
        t.dims[i] = dims[i];
        n *= (size_t)dims[i];
    }
    t.data = calloc(n, sizeof(float));
    return t;
}

/* Letterbox of recipe p for an image of w x h. */
static VbLetterbox letterboxFor(const VbPreprocess *p, int w, int h)
{
    VbLetterbox lb;
    vb_error err;
    CHECK(vbModelLetterbox(p, w, h, &lb, &err) == VB_OK);
    return lb;
}

/* Maps an original-image point into input pixels. */
static void toInput(const VbLetterbox *lb, double *x, double *y)
{
    *x = *x * lb->scale_x + lb->pad_x;
    *y = *y * lb->scale_y + lb->pad_y;
}

static void checkBox(const VbDetection *d, Box want, double tol)
{
    CHECK_NEAR(d->x, want.x1, tol);
    CHECK_NEAR(d->y, want.y1, tol);
    CHECK_NEAR(d->x + d->w, want.x2, tol);
    CHECK_NEAR(d->y + d->h, want.y2, tol);
}

/* Writes a YOLOv5 row for box b of class cls into row r. */
static void fillYolov5Row(float *r, const VbLetterbox *lb, Box b, float obj, int cls, float p)
{
    double x1 = b.x1, y1 = b.y1, x2 = b.x2, y2 = b.y2;
    toInput(lb, &x1, &y1);
    toInput(lb, &x2, &y2);
    r[0] = (float)((x1 + x2) / 2);
    r[1] = (float)((y1 + y2) / 2);
    r[2] = (float)(x2 - x1);
    r[3] = (float)(y2 - y1);
    r[4] = obj;
    r[5 + cls] = p;
}

static void testYolov5Decode(int img_w, int img_h, Box b)
{
    int64_t dims[3] = {1, 25200, 85};
    vb_tensor t = makeTensor(3, dims);
    VbPreprocess p;
    VbModelLayout layout = {.family = VB_MODEL_YOLOV5, .input_width = 640, .input_height = 640};
    VbClassMap map;
    VbDetectionList out = {0};
    vb_error err;

    vbModelPreprocessYolo(&p, 640, 640);
    VbLetterbox lb = letterboxFor(&p, img_w, img_h);
    float *d = t.data;
    fillYolov5Row(d + 100 * 85, &lb, b, 0.9f, 2, 0.8f);
    /* Same box, lower score, same class: suppressed. Other class: kept (multi-label). */
    fillYolov5Row(d + 200 * 85, &lb, b, 0.5f, 2, 0.5f);
    fillYolov5Row(d + 200 * 85, &lb, b, 0.5f, 7, 0.6f);
    CHECK(vbModelClassMapCoco(&map, &err) == VB_OK);

    CHECK_MSG(vbModelDecode(&layout, &t, 1, &lb, &map, NULL, 42, &out, &err) == VB_OK, "%s",
              err.message);
    CHECK_EQ_INT(out.count, 2);
    if (out.count == 2) {
        CHECK_EQ_INT(out.items[0].category_id, 3);
        CHECK_EQ_INT(out.items[0].image_id, 42);
        CHECK_NEAR(out.items[0].score, 0.72, 1e-6);
        checkBox(&out.items[0], b, 1e-3 / lb.scale_x);
        CHECK_EQ_INT(out.items[1].category_id, 8);
        CHECK_NEAR(out.items[1].score, 0.3, 1e-6);
    }
    vbDetectionListFree(&out);
    vbModelClassMapFree(&map);
    free(t.data);
}

static void testYolov5Sizes(void)
{
    testYolov5Decode(676, 380, (Box){100, 50, 300, 200});
    testYolov5Decode(1, 1, (Box){0, 0, 1, 1});
    testYolov5Decode(8000, 16, (Box){1000, 0, 3000, 16});
}

static void testYolov5Clip(void)
{
    int64_t dims[3] = {1, 25200, 85};
    vb_tensor t = makeTensor(3, dims);
    VbPreprocess p;
    VbModelLayout layout = {.family = VB_MODEL_YOLOV5, .input_width = 640, .input_height = 640};
    VbDetectionList out = {0};
    vb_error err;

    vbModelPreprocessYolo(&p, 640, 640);
    VbLetterbox lb = letterboxFor(&p, 676, 380);
    /* A box reaching into the padding is clipped to the image. */
    float *r = t.data;
    r[0] = 320;
    r[1] = 320;
    r[2] = 100;
    r[3] = 600;
    r[4] = 1;
    r[5] = 1;
    CHECK(vbModelDecode(&layout, &t, 1, &lb, NULL, NULL, 1, &out, &err) == VB_OK);
    CHECK_EQ_INT(out.count, 1);
    if (out.count == 1) {
        CHECK_NEAR(out.items[0].y, 0, 0);
        CHECK_NEAR(out.items[0].h, 380, 0);
        CHECK_EQ_INT(out.items[0].category_id, 0);
    }
    vbDetectionListFree(&out);
    free(t.data);
}

static void testYolov8Decode(void)
{
    int64_t dims[3] = {1, 84, 8400};
    vb_tensor t = makeTensor(3, dims);
    VbPreprocess p;
    VbModelLayout layout = {.family = VB_MODEL_YOLOV8, .input_width = 640, .input_height = 640};
    VbDetectionList out = {0};
    VbDecodeOptions opt;
    vb_error err;
    Box b = {10, 20, 400, 300};

    vbModelPreprocessYolo(&p, 640, 640);
    VbLetterbox lb = letterboxFor(&p, 676, 380);
    float row[85] = {0};
    fillYolov5Row(row, &lb, b, 1, 2, 0.6f);
    float *d = t.data;
    for (int k = 0; k < 4; k++)
        d[k * 8400 + 777] = row[k];
    d[(4 + 2) * 8400 + 777] = 0.6f;
    d[(4 + 5) * 8400 + 777] = 0.3f;

    /* Best class only. */
    vbModelDecodeOptionsInit(&opt);
    opt.multi_label = 0;
    CHECK(vbModelDecode(&layout, &t, 1, &lb, NULL, &opt, 7, &out, &err) == VB_OK);
    CHECK_EQ_INT(out.count, 1);
    if (out.count == 1) {
        CHECK_EQ_INT(out.items[0].category_id, 2);
        CHECK_NEAR(out.items[0].score, 0.6, 1e-6);
        checkBox(&out.items[0], b, 1e-3);
    }
    vbDetectionListFree(&out);

    /* Threshold above the score: nothing. */
    opt.conf_threshold = 0.7f;
    CHECK(vbModelDecode(&layout, &t, 1, &lb, NULL, &opt, 7, &out, &err) == VB_OK);
    CHECK_EQ_INT(out.count, 0);
    vbDetectionListFree(&out);
    free(t.data);
}

static void testYoloxDecode(void)
{
    int64_t dims[3] = {1, 3549, 85};
    vb_tensor t = makeTensor(3, dims);
    VbPreprocess p;
    VbModelLayout layout = {.family = VB_MODEL_YOLOX, .input_width = 416, .input_height = 416};
    VbClassMap map;
    VbDetectionList out = {0};
    vb_error err;
    Box b = {150, 100, 250, 180};

    vbModelPreprocessYolox(&p, 416, 416);
    VbLetterbox lb = letterboxFor(&p, 676, 380);
    double x1 = b.x1, y1 = b.y1, x2 = b.x2, y2 = b.y2;
    toInput(&lb, &x1, &y1);
    toInput(&lb, &x2, &y2);
    /* Stride 16 level: cell (gx, gy) holding the box centre. */
    double cx = (x1 + x2) / 2, cy = (y1 + y2) / 2;
    int gx = (int)(cx / 16), gy = (int)(cy / 16);
    float *r = (float *)t.data + (size_t)(52 * 52 + gy * 26 + gx) * 85;
    r[0] = (float)(cx / 16 - gx);
    r[1] = (float)(cy / 16 - gy);
    r[2] = (float)log((x2 - x1) / 16);
    r[3] = (float)log((y2 - y1) / 16);
    r[4] = 0.8f;
    r[5 + 2] = 0.5f;

    CHECK(vbModelClassMapCoco(&map, &err) == VB_OK);
    CHECK(vbModelClassMapFilter(&map, "car, truck", &err) == VB_OK);
    CHECK_MSG(vbModelDecode(&layout, &t, 1, &lb, &map, NULL, 3, &out, &err) == VB_OK, "%s",
              err.message);
    CHECK_EQ_INT(out.count, 1);
    if (out.count == 1) {
        CHECK_EQ_INT(out.items[0].category_id, 3);
        CHECK_NEAR(out.items[0].score, 0.4, 1e-6);
        checkBox(&out.items[0], b, 1e-3);
    }
    vbDetectionListFree(&out);

    /* The filter drops a person at the same place. */
    r[5 + 2] = 0;
    r[5 + 0] = 0.9f;
    CHECK(vbModelDecode(&layout, &t, 1, &lb, &map, NULL, 3, &out, &err) == VB_OK);
    CHECK_EQ_INT(out.count, 0);
    vbDetectionListFree(&out);

    /* A row count that does not fit the input size is rejected. */
    layout.input_width = layout.input_height = 640;
    CHECK(vbModelDecode(&layout, &t, 1, &lb, &map, NULL, 3, &out, &err) == VB_ERR_SHAPE);
    vbModelClassMapFree(&map);
    free(t.data);
}

static float logit(float p)
{
    return logf(p / (1 - p));
}

static void testFastestDetDecode(void)
{
    int64_t dims[4] = {1, 85, 22, 22};
    vb_tensor t = makeTensor(4, dims);
    VbPreprocess p;
    VbModelLayout layout = {.family = VB_MODEL_FASTESTDET, .input_width = 352,
                            .input_height = 352};
    VbDetectionList out = {0};
    vb_error err;
    size_t plane = 22 * 22, cell = 10 * 22 + 10;

    vbModelPreprocessFastestDet(&p, 352, 352);
    VbLetterbox lb = letterboxFor(&p, 676, 380);
    float *d = t.data;
    d[cell] = 0.9f;
    d[plane + cell] = atanhf(0.2f);
    d[2 * plane + cell] = atanhf(-0.4f);
    d[3 * plane + cell] = logit(0.25f);
    d[4 * plane + cell] = logit(0.5f);
    d[(5 + 2) * plane + cell] = 0.8f;
    d[(5 + 3) * plane + cell] = 0.1f;

    CHECK(vbModelDecode(&layout, &t, 1, &lb, NULL, NULL, 9, &out, &err) == VB_OK);
    CHECK_EQ_INT(out.count, 1);
    if (out.count == 1) {
        double cx = (10 + 0.2) / 22 * 676, cy = (10 - 0.4) / 22 * 380;
        Box want = {cx - 0.125 * 676, cy - 0.25 * 380, cx + 0.125 * 676, cy + 0.25 * 380};
        CHECK_EQ_INT(out.items[0].category_id, 2);
        CHECK_NEAR(out.items[0].score, pow(0.9, 0.6) * pow(0.8, 0.4), 1e-5);
        checkBox(&out.items[0], want, 1e-2);
    }
    vbDetectionListFree(&out);
    free(t.data);
}

static void testClassifierDecode(void)
{
    int64_t dims[2] = {1, 1000};
    vb_tensor t = makeTensor(2, dims);
    VbPreprocess p;
    VbModelLayout layout = {.family = VB_MODEL_CLASSIFIER, .input_width = 224,
                            .input_height = 224};
    VbDetectionList out = {0};
    vb_error err;
    float *d = t.data;
    int top = -1;

    d[817] = 20; /* sports car */
    CHECK(vbModelVehicleProbability(d, 1000, &top) > 0.99);
    CHECK_EQ_INT(top, 817);
    vbModelPreprocessImagenet(&p, 224, 224);
    VbLetterbox lb = letterboxFor(&p, 676, 380);
    CHECK(vbModelDecode(&layout, &t, 1, &lb, NULL, NULL, 5, &out, &err) == VB_OK);
    CHECK_EQ_INT(out.count, 1);
    if (out.count == 1) {
        CHECK_EQ_INT(out.items[0].category_id, 3);
        CHECK_NEAR(out.items[0].w, 676, 0);
        CHECK_NEAR(out.items[0].h, 380, 0);
    }
    vbDetectionListFree(&out);

    d[817] = 0;
    d[1] = 20; /* goldfish */
    CHECK(vbModelVehicleProbability(d, 1000, NULL) < 0.01);
    free(t.data);
}

static void testBoxesDecode(void)
{
    int64_t bdims[2] = {3, 4}, ndims[1] = {3};
    vb_tensor boxes = makeTensor(2, bdims), scores = makeTensor(1, ndims);
    vb_tensor labels = scores;
    int64_t label_values[3] = {3, 12, 8}; /* car, an id outside COCO-80, truck */
    VbPreprocess p;
    VbModelLayout layout;
    VbDetectionList out = {0};
    vb_error err;
    vb_tensor_info in_info = {"images", VB_DTYPE_FLOAT32, 4, {1, 3, 320, 320}};
    vb_tensor_info out_info[3] = {{"boxes", VB_DTYPE_FLOAT32, 2, {-1, 4}},
                                  {"labels", VB_DTYPE_INT64, 1, {-1}},
                                  {"scores", VB_DTYPE_FLOAT32, 1, {-1}}};
    CHECK(vbModelDetectLayout(&in_info, 1, out_info, 3, NULL, &layout, &err) == VB_OK);
    CHECK_EQ_INT(layout.family, VB_MODEL_BOXES);
    CHECK_EQ_INT(layout.labels_output, 1);
    CHECK_EQ_INT(layout.label_space, VB_LABELS_COCO91);

    labels.dtype = VB_DTYPE_INT64;
    labels.data = label_values;
    float *b = boxes.data, *s = scores.data;
    for (int i = 0; i < 3; i++) {
        b[4 * i] = 10.0f + 100 * i;
        b[4 * i + 1] = 100;
        b[4 * i + 2] = 60.0f + 100 * i;
        b[4 * i + 3] = 150;
        s[i] = 0.5f + 0.1f * i;
    }
    vb_tensor outputs[3] = {boxes, labels, scores};
    vbModelPreprocessTorchvision(&p, 320, 320);
    VbLetterbox lb = letterboxFor(&p, 640, 320);
    CHECK(vbModelDecode(&layout, outputs, 3, &lb, NULL, NULL, 1, &out, &err) == VB_OK);
    CHECK_EQ_INT(out.count, 2);
    if (out.count == 2) {
        CHECK_EQ_INT(out.items[0].category_id, 7); /* truck, contiguous index */
        CHECK_EQ_INT(out.items[1].category_id, 2); /* car */
        CHECK_NEAR(out.items[1].x, (10 - 0) / 0.5, 1e-4);
        CHECK_NEAR(out.items[1].y, (100 - 80) / 0.5, 1e-4);
    }
    vbDetectionListFree(&out);
    free(boxes.data);
    free(scores.data);
}

static void testLayoutDetect(void)
{
    VbModelLayout l;
    vb_error err;
    vb_tensor_info in640 = {"images", VB_DTYPE_FLOAT32, 4, {1, 3, 640, 640}};
    vb_tensor_info in416 = {"images", VB_DTYPE_FLOAT32, 4, {1, 3, 416, 416}};
    vb_tensor_info dyn = {"images", VB_DTYPE_FLOAT32, 4, {1, 3, -1, -1}};
    vb_tensor_info v5 = {"output0", VB_DTYPE_FLOAT32, 3, {1, 25200, 85}};
    vb_tensor_info v8 = {"output0", VB_DTYPE_FLOAT32, 3, {1, 84, 8400}};
    vb_tensor_info yx = {"output", VB_DTYPE_FLOAT32, 3, {1, 3549, 85}};
    vb_tensor_info fd = {"758", VB_DTYPE_FLOAT32, 4, {1, 85, 22, 22}};
    vb_tensor_info cls = {"logits", VB_DTYPE_FLOAT32, 2, {1, 1000}};
    vb_tensor_info odd = {"x", VB_DTYPE_FLOAT32, 3, {1, 1234, 85}};

    CHECK(vbModelDetectLayout(&in640, 1, &v5, 1, NULL, &l, &err) == VB_OK);
    CHECK_EQ_INT(l.family, VB_MODEL_YOLOV5);
    CHECK_EQ_INT(l.num_classes, 80);
    CHECK(vbModelDetectLayout(&in640, 1, &v8, 1, NULL, &l, &err) == VB_OK);
    CHECK_EQ_INT(l.family, VB_MODEL_YOLOV8);
    CHECK_EQ_INT(l.num_boxes, 8400);
    CHECK(vbModelDetectLayout(&in416, 1, &yx, 1, NULL, &l, &err) == VB_OK);
    CHECK_EQ_INT(l.family, VB_MODEL_YOLOX);
    CHECK(vbModelDetectLayout(&dyn, 1, &yx, 1, NULL, &l, &err) == VB_OK);
    CHECK_EQ_INT(l.family, VB_MODEL_YOLOX);
    CHECK_EQ_INT(l.input_width, 416);
    CHECK(vbModelDetectLayout(&dyn, 1, &v5, 1, NULL, &l, &err) == VB_OK);
    CHECK_EQ_INT(l.family, VB_MODEL_YOLOV5);
    CHECK_EQ_INT(l.input_height, 640);
    CHECK(vbModelDetectLayout(&in640, 1, &fd, 1, NULL, &l, &err) == VB_OK);
    CHECK_EQ_INT(l.family, VB_MODEL_FASTESTDET);
    CHECK_EQ_INT(l.grid_width, 22);
    CHECK(vbModelDetectLayout(&in640, 1, &cls, 1, NULL, &l, &err) == VB_OK);
    CHECK_EQ_INT(l.family, VB_MODEL_CLASSIFIER);
    CHECK(vbModelDetectLayout(&in640, 1, &odd, 1, NULL, &l, &err) == VB_ERR_UNSUPPORTED);
    CHECK(strstr(err.message, "@FORMAT") != NULL);

    /* Forced formats. */
    CHECK(vbModelDetectLayout(&in640, 1, &odd, 1, "yolox", &l, &err) == VB_OK);
    CHECK_EQ_INT(l.family, VB_MODEL_YOLOX);
    CHECK(vbModelDetectLayout(&in640, 1, &v5, 1, "fastestdet", &l, &err) == VB_ERR_SHAPE);
    CHECK(vbModelDetectLayout(&in640, 1, &v5, 1, "ssd", &l, &err) == VB_ERR_INVALID_ARGUMENT);
    CHECK(vbModelDetectLayout(&in640, 1, &v5, 1, "boxes", &l, &err) == VB_ERR_SHAPE);

    VbPreprocess p;
    CHECK(vbModelDetectLayout(&in416, 1, &yx, 1, NULL, &l, &err) == VB_OK);
    vbModelDefaultPreprocess(&l, &p);
    CHECK_STR(p.name, "yolox-letterbox");
}

static void testClassMapParse(void)
{
    const char *text = "# custom\n0, Car\r\n2,truck\n\n";
    VbClassMap map;
    vb_error err;
    CHECK(vbModelClassMapParse(text, strlen(text), "map.txt", &map, &err) == VB_OK);
    CHECK_EQ_INT(map.count, 3);
    CHECK_STR(map.names[0], "Car");
    CHECK(map.names[1] == NULL);
    CHECK_EQ_INT(vbModelClassMapLookup(&map, 1), -1);
    CHECK_EQ_INT(vbModelClassMapLookup(&map, 2), 2);
    CHECK_EQ_INT(vbModelClassMapFind(&map, "car"), 0);

    /* Bind by name to a dataset with car 3 and motorbike 4. */
    VbCategory cats[2] = {{3, "car"}, {4, "motorbike"}};
    VbDataset ds;
    memset(&ds, 0, sizeof ds);
    ds.categories = cats;
    ds.category_count = 2;
    CHECK(vbModelClassMapBind(&map, &ds, &err) == VB_OK);
    CHECK_EQ_INT(vbModelClassMapLookup(&map, 0), 3);
    CHECK_EQ_INT(vbModelClassMapLookup(&map, 2), -1);
    vbModelClassMapFree(&map);

    /* COCO map binds motorcycle to the VOC spelling. */
    CHECK(vbModelClassMapCoco(&map, &err) == VB_OK);
    CHECK(vbModelClassMapBind(&map, &ds, &err) == VB_OK);
    CHECK_EQ_INT(vbModelClassMapLookup(&map, 3), 4);
    CHECK(vbModelClassMapFilter(&map, "bus", &err) == VB_OK);
    CHECK_EQ_INT(vbModelClassMapLookup(&map, 2), -1);
    CHECK(vbModelClassMapFilter(&map, "spaceship", &err) == VB_ERR_INVALID_ARGUMENT);
    CHECK(strstr(err.message, "spaceship") != NULL);
    CHECK(vbModelClassMapFilter(&map, " , ", &err) == VB_ERR_INVALID_ARGUMENT);
    vbModelClassMapFree(&map);

    /* No common name: an error that lists the dataset's names. */
    VbCategory other[1] = {{1, "pedestrian crossing"}};
    ds.categories = other;
    ds.category_count = 1;
    CHECK(vbModelClassMapCoco(&map, &err) == VB_OK);
    CHECK(vbModelClassMapBind(&map, &ds, &err) == VB_ERR_NOT_FOUND);
    CHECK(strstr(err.message, "pedestrian crossing") != NULL);
    vbModelClassMapFree(&map);
}

static void testClassMapErrors(void)
{
    VbClassMap map;
    vb_error err;
    const char *cases[] = {"car\n", "x,car\n", "-1,car\n", "0,\n", "0,car\n0,bus\n", "# only\n"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK_MSG(vbModelClassMapParse(cases[i], strlen(cases[i]), "m", &map, &err) ==
                      VB_ERR_PARSE,
                  "case %zu", i);
        CHECK(map.count == 0);
    }
    CHECK(vbModelClassMapParse("100000,car", 10, "m", &map, &err) == VB_ERR_LIMIT);
    CHECK(strstr(err.message, "m:1") != NULL);
    CHECK(vbModelClassMapLoad("/nonexistent/map.txt", &map, &err) == VB_ERR_NOT_FOUND);
}

/* Decodes the zoo's ONNX Runtime output of yolox_nano on the reference photo
 * (512x600, YOLOX recipe): the person is found at about 0.94. */
static void testYoloxReferenceOutput(void)
{
    const char *shared = vbTestSharedDir();
    char path[1024];
    char *bytes = NULL;
    size_t len = 0;
    VbPreprocess p;
    VbModelLayout layout = {.family = VB_MODEL_YOLOX, .input_width = 416, .input_height = 416};
    VbDetectionList out = {0};
    VbDecodeOptions opt;
    vb_error err;

    if (shared == NULL)
        return;
    snprintf(path, sizeof path, "%s/models/yolox_nano.out0.f32", shared);
    if (vbFileRead(path, (size_t)8 << 20, &bytes, &len, &err) != VB_OK) {
        printf("skipped reference output: %s\n", err.message);
        return;
    }
    CHECK_EQ_INT(len, (size_t)3549 * 85 * sizeof(float));
    vb_tensor t = {VB_DTYPE_FLOAT32, 3, {1, 3549, 85}, bytes};
    vbModelPreprocessYolox(&p, 416, 416);
    VbLetterbox lb = letterboxFor(&p, 512, 600);
    vbModelDecodeOptionsInit(&opt);
    opt.conf_threshold = 0.25f;
    CHECK(vbModelDecode(&layout, &t, 1, &lb, NULL, &opt, 1, &out, &err) == VB_OK);
    CHECK(out.count >= 1);
    if (out.count >= 1) {
        const VbDetection *d = &out.items[0];
        printf("yolox_nano reference: class %lld score %.4f box %.1f %.1f %.1f %.1f\n",
               (long long)d->category_id, d->score, d->x, d->y, d->w, d->h);
        CHECK_EQ_INT(d->category_id, 0);
        CHECK_NEAR(d->score, 0.94, 0.01);
        CHECK(d->w > 256);
        CHECK(d->h > 300);
    }
    vbDetectionListFree(&out);
    free(bytes);
}

/* Reads one or more raw float32 files, joined in order, into a new buffer. */
static char *readParts(const char *shared, const char *const *names, int count, size_t *len)
{
    VbBuf buf;
    vbBufInit(&buf, (size_t)64 << 20);
    for (int i = 0; i < count; i++) {
        char path[1024];
        char *bytes = NULL;
        size_t n = 0;
        vb_error err;
        snprintf(path, sizeof path, "%s/models/%s", shared, names[i]);
        if (vbFileRead(path, (size_t)64 << 20, &bytes, &n, &err) != VB_OK ||
            vbBufAppend(&buf, bytes, n, &err) != VB_OK) {
            free(bytes);
            vbBufFree(&buf);
            return NULL;
        }
        free(bytes);
    }
    return vbBufDetach(&buf, len);
}

/* Decodes the zoo's random-weight YOLOv5n/v8n reference outputs with the mAP
 * defaults: about two million candidates must come out as at most 300
 * detections in score order, inside the 512x600 photo. */
static void testYoloReferenceOutputs(void)
{
    static const char *const v5[] = {"yolov5n.out0.part0.f32", "yolov5n.out0.part1.f32"};
    static const char *const v8[] = {"yolov8n.out0.f32"};
    const char *shared = getenv("VB_SHARED_DIR");
    VbPreprocess p;
    vb_error err;

    if (shared == NULL)
        return;
    vbModelPreprocessYolo(&p, 640, 640);
    VbLetterbox lb = letterboxFor(&p, 512, 600);
    for (int m = 0; m < 2; m++) {
        size_t len = 0;
        char *bytes = m == 0 ? readParts(shared, v5, 2, &len) : readParts(shared, v8, 1, &len);
        if (bytes == NULL) {
            printf("skipped YOLO reference outputs: not found under %s\n", shared);
            return;
        }
        VbModelLayout layout = {.family = m == 0 ? VB_MODEL_YOLOV5 : VB_MODEL_YOLOV8,
                                .input_width = 640, .input_height = 640};
        vb_tensor t = {VB_DTYPE_FLOAT32, 3, {1, 25200, 85}, bytes};
        if (m == 1) {
            t.dims[1] = 84;
            t.dims[2] = 8400;
        }
        CHECK_EQ_INT(len, (size_t)t.dims[1] * t.dims[2] * sizeof(float));
        VbDetectionList out = {0};
        CHECK_MSG(vbModelDecode(&layout, &t, 1, &lb, NULL, NULL, 1, &out, &err) == VB_OK, "%s",
                  err.message);
        CHECK(out.count > 0);
        CHECK(out.count <= 300);
        int order_ok = 1, inside = 1;
        for (size_t i = 0; i < out.count; i++) {
            const VbDetection *d = &out.items[i];
            if (i > 0 && d->score > out.items[i - 1].score)
                order_ok = 0;
            if (d->x < 0 || d->y < 0 || d->x + d->w > 512 || d->y + d->h > 600)
                inside = 0;
        }
        CHECK_MSG(order_ok, "%s detections are not in score order", m ? "yolov8" : "yolov5");
        CHECK_MSG(inside, "%s detections leave the image", m ? "yolov8" : "yolov5");
        vbDetectionListFree(&out);
        free(bytes);
    }
}

int main(void)
{
    testYolov5Sizes();
    testYolov5Clip();
    testYolov8Decode();
    testYoloxDecode();
    testFastestDetDecode();
    testClassifierDecode();
    testBoxesDecode();
    testLayoutDetect();
    testClassMapParse();
    testClassMapErrors();
    testYoloxReferenceOutput();
    testYoloReferenceOutputs();
    TEST_END();
}
