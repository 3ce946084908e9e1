/* End-to-end accuracy check: a detector over a dataset through preprocess, engine, decode, NMS and COCO evaluation. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <png.h>

#include "core/core.h"
#include "dataset/dataset.h"
#include "image/decode.h"
#include "metrics/coco_eval.h"
#include "models/class_map.h"
#include "models/decode.h"
#include "models/model.h"
#include "visionbench/engine.h"

#define SKIP 77

/* Detections at or above this score are drawn; lower ones only count for mAP. */
#define DRAW_MIN_SCORE 0.3

static void drawRect(VbImage *img, double x, double y, double w, double h, const uint8_t rgb[3])
{
    int x0 = (int)x, y0 = (int)y, x1 = (int)(x + w), y1 = (int)(y + h);
    for (int t = 0; t < 2; t++) {
        for (int px = x0; px <= x1; px++) {
            for (int k = 0; k < 2; k++) {
                int py = (k ? y1 : y0) + (k ? -t : t);
                if (px >= 0 && px < img->width && py >= 0 && py < img->height)
                    memcpy(img->pixels + ((size_t)py * img->width + px) * 3, rgb, 3);
            }
        }
        for (int py = y0; py <= y1; py++) {
            for (int k = 0; k < 2; k++) {
                int px = (k ? x1 : x0) + (k ? -t : t);
                if (px >= 0 && px < img->width && py >= 0 && py < img->height)
                    memcpy(img->pixels + ((size_t)py * img->width + px) * 3, rgb, 3);
            }
        }
    }
}

/* Writes an RGB image as an 8-bit PNG. Returns 0 on success. */
static int writePng(const char *path, const VbImage *img)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (png == NULL || info == NULL || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fclose(f);
        return -1;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)img->width, (png_uint_32)img->height, 8,
                 PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < img->height; y++)
        png_write_row(png, img->pixels + (size_t)y * img->width * 3);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return fclose(f) == 0 ? 0 : -1;
}

/* Draws ground truth (green) and detections from first (red) on img and
 * writes it to draw_dir/NAME.png. */
static void drawImage(const char *draw_dir, const VbDatasetImage *di, VbImage *img,
                      const VbDataset *gt, const VbDetection *dets, size_t n)
{
    static const uint8_t green[3] = {0, 220, 0}, red[3] = {255, 0, 0};
    char path[2100];
    for (size_t a = 0; a < gt->annotation_count; a++)
        if (gt->annotations[a].image_id == di->id)
            drawRect(img, gt->annotations[a].x, gt->annotations[a].y, gt->annotations[a].w,
                     gt->annotations[a].h, green);
    for (size_t i = 0; i < n; i++)
        if (dets[i].score >= DRAW_MIN_SCORE)
            drawRect(img, dets[i].x, dets[i].y, dets[i].w, dets[i].h, red);
    snprintf(path, sizeof path, "%s/%s.png", draw_dir, di->file_name);
    if (writePng(path, img) != 0)
        fprintf(stderr, "could not write %s\n", path);
}

/* Creates dir and its missing parents, as mkdir -p does. */
static void makeDirs(const char *dir)
{
    char path[1024];
    snprintf(path, sizeof path, "%s", dir);
    for (char *p = path + 1; *p != '\0'; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(path, 0755);
            *p = '/';
        }
    }
    mkdir(path, 0755);
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s MODEL DATASET_DIR CLASSES MIN_CAR_AP50 [DRAW_DIR COUNT]\n",
                argv[0]);
        return 2;
    }
    const char *model_path = argv[1], *dataset_dir = argv[2], *classes = argv[3];
    double min_ap50 = atof(argv[4]);
    const char *draw_dir = argc > 6 ? argv[5] : NULL;
    int draw_count = argc > 6 ? atoi(argv[6]) : 0;
    struct stat sb;
    vb_error err;
    int rc = 1;
    vb_engine *engine = NULL;
    VbDataset *gt = NULL;
    VbClassMap map = {0};
    VbDetectionList dets = {0};
    VbCocoEval *ev = NULL;
    float *input = NULL;
    char gt_path[1024], images_dir[1024];

    if (stat(model_path, &sb) != 0 || stat(dataset_dir, &sb) != 0) {
        printf("skipped: %s or %s not found\n", model_path, dataset_dir);
        return SKIP;
    }

    /* Step 1: model, layout, recipe. */
    vb_engine_options eo;
    vb_engine_options_init(&eo);
    if (vb_engine_load(model_path, &eo, &engine, &err) != VB_OK) {
        fprintf(stderr, "load %s: %s\n", model_path, err.message);
        goto done;
    }
    int in_count = vb_engine_input_count(engine), out_count = vb_engine_output_count(engine);
    vb_tensor_info infos[16];
    if (in_count + out_count > 16) {
        fprintf(stderr, "too many model inputs and outputs\n");
        goto done;
    }
    for (int i = 0; i < in_count; i++)
        infos[i] = *vb_engine_input_info(engine, i);
    for (int i = 0; i < out_count; i++)
        infos[in_count + i] = *vb_engine_output_info(engine, i);
    VbModelLayout layout;
    VbPreprocess recipe;
    if (vbModelDetectLayout(infos, in_count, infos + in_count, out_count, NULL, &layout, &err) !=
        VB_OK) {
        fprintf(stderr, "%s\n", err.message);
        goto done;
    }
    vbModelDefaultPreprocess(&layout, &recipe);
    printf("model %s: family %s, input %dx%d, recipe %s\n", model_path,
           vbModelFamilyName(layout.family), layout.input_width, layout.input_height,
           recipe.name);

    /* Step 2: ground truth and class map. */
    snprintf(gt_path, sizeof gt_path, "%s/gt_coco.json", dataset_dir);
    snprintf(images_dir, sizeof images_dir, "%s/images", dataset_dir);
    if (vbDatasetLoad(gt_path, images_dir, NULL, &gt, &err) != VB_OK ||
        vbModelClassMapCoco(&map, &err) != VB_OK || vbModelClassMapBind(&map, gt, &err) != VB_OK ||
        vbModelClassMapFilter(&map, classes, &err) != VB_OK) {
        fprintf(stderr, "%s\n", err.message);
        goto done;
    }
    if (draw_dir != NULL)
        makeDirs(draw_dir);

    /* Step 3: every image through preprocess, run, decode. */
    size_t plane = (size_t)3 * recipe.width * recipe.height;
    input = malloc(plane * sizeof *input);
    if (input == NULL)
        goto done;
    VbDecodeOptions opt;
    vbModelDecodeOptionsInit(&opt);
    int drawn = 0;
    uint64_t t0 = vbNowNs();
    for (size_t i = 0; i < gt->image_count; i++) {
        const VbDatasetImage *di = &gt->images[i];
        char path[2100];
        VbImage img = {0};
        VbLetterbox lb;
        snprintf(path, sizeof path, "%s/%s", images_dir, di->file_name);
        if (vbImageDecodeFile(path, &img, NULL, NULL, &err) != VB_OK ||
            vbModelPreprocess(&recipe, &img, input, &lb, &err) != VB_OK) {
            fprintf(stderr, "%s\n", err.message);
            vbImageFree(&img);
            goto done;
        }
        vb_tensor t = {VB_DTYPE_FLOAT32, 4, {1, 3, recipe.height, recipe.width}, input};
        if (vb_engine_run(engine, &t, 1, &err) != VB_OK) {
            fprintf(stderr, "run on %s: %s\n", path, err.message);
            vbImageFree(&img);
            goto done;
        }
        vb_tensor outs[16];
        for (int k = 0; k < out_count; k++)
            outs[k] = *vb_engine_output(engine, k);
        size_t before = dets.count;
        if (vbModelDecode(&layout, outs, out_count, &lb, &map, &opt, di->id, &dets, &err) !=
            VB_OK) {
            fprintf(stderr, "decode %s: %s\n", path, err.message);
            vbImageFree(&img);
            goto done;
        }
        int has_gt = 0;
        for (size_t a = 0; a < gt->annotation_count && !has_gt; a++)
            has_gt = gt->annotations[a].image_id == di->id;
        if (draw_dir != NULL && drawn < draw_count && has_gt) {
            drawImage(draw_dir, di, &img, gt, dets.items + before, dets.count - before);
            drawn++;
        }
        vbImageFree(&img);
    }
    double seconds = (double)(vbNowNs() - t0) / 1e9;

    /* Step 4: COCO evaluation. */
    if (vbCocoEvaluate(gt, dets.items, dets.count, NULL, &ev, &err) != VB_OK) {
        fprintf(stderr, "evaluate: %s\n", err.message);
        goto done;
    }
    printf("%zu images in %.1f s, %zu detections\n", gt->image_count, seconds, dets.count);
    printf("all classes: mAP50-95 %.4f, mAP50 %.4f\n", ev->stats[0], ev->stats[1]);
    double car_ap50 = -1;
    for (size_t k = 0; k < ev->category_count; k++) {
        const VbCocoCategoryResult *r = &ev->per_category[k];
        printf("  %-12s AP50-95 %.4f  AP50 %.4f\n", r->name, r->ap, r->ap50);
        if (r->id == 3)
            car_ap50 = r->ap50;
    }
    if (car_ap50 < min_ap50) {
        fprintf(stderr, "car AP50 %.4f is below the expected minimum %.4f\n", car_ap50,
                min_ap50);
        goto done;
    }
    rc = 0;

done:
    vbCocoEvalFree(ev);
    vbDetectionListFree(&dets);
    vbModelClassMapFree(&map);
    vbDatasetFree(gt);
    vb_engine_free(engine);
    free(input);
    return rc;
}
