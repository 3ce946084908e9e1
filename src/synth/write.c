/* Writing a synthetic scene set: PNG images with fixed encoder settings, CSV and COCO JSON ground truth. */
#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/core.h"
#include "synth/synth.h"

/* Ground-truth text grows by at most this much (about 120 bytes a box). */
#define GT_MAX_BYTES ((size_t)1 << 30)

static vb_status makeDir(const char *path, vb_error *err)
{
    if (mkdir(path, 0777) == 0 || errno == EEXIST)
        return VB_OK;
    return vbErrorSet(err, VB_ERR_IO, "cannot create folder %s: %s; check the parent folder", path,
                      strerror(errno));
}

/* Writes rgb as an 8-bit RGB PNG. Compression level 6, no row filters and
 * no tIME chunk, so the bytes depend only on the pixels and the zlib
 * version. */
static vb_status writePng(const char *path, const VbSynthScene *scene, vb_error *err)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return vbErrorSet(err, VB_ERR_IO, "cannot create %s: %s", path, strerror(errno));
    vb_status st = VB_OK;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (png == NULL || info == NULL) {
        st = vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for the PNG encoder of %s", path);
        goto done;
    }
    if (setjmp(png_jmpbuf(png))) {
        st = vbErrorSet(err, VB_ERR_IO, "cannot write %s (disk full?)", path);
        goto done;
    }
    png_init_io(png, f);
    png_set_compression_level(png, 6);
    png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_NONE);
    png_set_IHDR(png, info, (png_uint_32)scene->width, (png_uint_32)scene->height, 8,
                 PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_BASE,
                 PNG_FILTER_TYPE_BASE);
    png_write_info(png, info);
    for (int y = 0; y < scene->height; y++)
        png_write_row(png, scene->rgb + (size_t)y * scene->width * 3);
    png_write_end(png, NULL);

done:
    png_destroy_write_struct(png ? &png : NULL, info ? &info : NULL);
    if (fclose(f) != 0 && st == VB_OK)
        st = vbErrorSet(err, VB_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    return st;
}

static vb_status writeText(const char *dir, const char *name, const VbBuf *buf, vb_error *err)
{
    char *path = vbPathJoin(dir, name);
    if (path == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory");
    vb_status st = vbFileWrite(path, buf->data ? buf->data : "", buf->len, err);
    free(path);
    return st;
}

vb_status vbSynthWriteDataset(const VbSynthOptions *options, vb_error *err)
{
    if (options->out_dir == NULL || options->out_dir[0] == '\0')
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT, "synthetic scenes need an output folder");
    if (options->count < 1 || options->count > VB_SYNTH_MAX_COUNT)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                          "synthetic scene count %u is out of range; use 1 to %d", options->count,
                          VB_SYNTH_MAX_COUNT);

    vb_status st;
    VbSynthScene scene = {0};
    VbBuf csv, json, annotations;   /* COCO annotations join the document at the end */
    vbBufInit(&csv, GT_MAX_BYTES);
    vbBufInit(&json, GT_MAX_BYTES);
    vbBufInit(&annotations, GT_MAX_BYTES);
    char *images_dir = vbPathJoin(options->out_dir, "images");
    if (images_dir == NULL) {
        st = vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory");
        goto done;
    }
    if ((st = makeDir(options->out_dir, err)) != VB_OK || (st = makeDir(images_dir, err)) != VB_OK)
        goto done;

    /* Headers. */
    if ((st = vbBufPrintf(&csv, err, "image,xmin,ymin,xmax,ymax,label\n")) != VB_OK ||
        (st = vbBufPrintf(&json, err, "{\n\"images\": [")) != VB_OK)
        goto done;

    /* One scene at a time: render, write the PNG, add its boxes. */
    long annotation_id = 0;
    for (uint32_t i = 0; i < options->count; i++) {
        char name[32];
        snprintf(name, sizeof name, "%06u.png", i + 1);
        if ((st = vbSynthRender(options->seed, i, options->width, options->height, &scene, err)) !=
            VB_OK)
            goto done;
        char *path = vbPathJoin(images_dir, name);
        if (path == NULL) {
            st = vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory");
            goto done;
        }
        st = writePng(path, &scene, err);
        free(path);
        if (st != VB_OK)
            goto done;
        st = vbBufPrintf(&json, err, "%s\n{\"id\": %u, \"file_name\": \"%s\", \"width\": %d, \"height\": %d}",
                         i == 0 ? "" : ",", i + 1, name, scene.width, scene.height);
        if (st != VB_OK)
            goto done;
        for (int k = 0; k < scene.box_count; k++) {
            const VbSynthBox *b = &scene.boxes[k];
            int w = b->xmax - b->xmin, h = b->ymax - b->ymin;
            annotation_id++;
            st = vbBufPrintf(&csv, err, "%s,%d,%d,%d,%d,%s\n", name, b->xmin, b->ymin, b->xmax,
                             b->ymax, vbSynthKindName(b->kind));
            if (st == VB_OK)
                st = vbBufPrintf(&annotations, err,
                                 "%s\n{\"id\": %ld, \"image_id\": %u, \"category_id\": %d, "
                                 "\"bbox\": [%d, %d, %d, %d], \"area\": %d, \"iscrowd\": 0}",
                                 annotation_id == 1 ? "" : ",", annotation_id, i + 1,
                                 vbSynthKindCocoId(b->kind), b->xmin, b->ymin, w, h, w * h);
            if (st != VB_OK)
                goto done;
        }
        vbSynthSceneFree(&scene);
    }

    /* Close the COCO document: annotations, then the three categories. */
    st = vbBufPrintf(&json, err, "\n],\n\"annotations\": [%s\n],\n\"categories\": [\n"
                     "{\"id\": 3, \"name\": \"car\", \"supercategory\": \"vehicle\"},\n"
                     "{\"id\": 6, \"name\": \"bus\", \"supercategory\": \"vehicle\"},\n"
                     "{\"id\": 8, \"name\": \"truck\", \"supercategory\": \"vehicle\"}\n]\n}\n",
                     annotations.data ? annotations.data : "");
    if (st == VB_OK)
        st = writeText(options->out_dir, "gt.csv", &csv, err);
    if (st == VB_OK)
        st = writeText(options->out_dir, "gt.json", &json, err);

done:
    vbBufFree(&annotations);
    vbSynthSceneFree(&scene);
    vbBufFree(&csv);
    vbBufFree(&json);
    free(images_dir);
    return st;
}
