/* A minimal COCO ground-truth reader for the COCO evaluation tests and benchmark, independent of the dataset module. */
#ifndef VB_TEST_COCO_GT_H
#define VB_TEST_COCO_GT_H

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "dataset/dataset.h"

/* Returns a JSON number as a double (integers included), or 0. */
static double cocoGtNumber(const json_t *v)
{
    return json_is_number(v) ? json_number_value(v) : 0.0;
}

/* Reads the images, annotations (id, image_id, category_id, bbox, area,
 * iscrowd, kept exactly as written) and categories of a COCO GT file.
 * Returns NULL and prints why on failure. The caller frees with
 * vbDatasetFree. */
static VbDataset *cocoGtLoad(const char *path)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (root == NULL) {
        fprintf(stderr, "%s: line %d: %s\n", path, jerr.line, jerr.text);
        return NULL;
    }
    const json_t *images = json_object_get(root, "images");
    const json_t *anns = json_object_get(root, "annotations");
    const json_t *cats = json_object_get(root, "categories");
    VbDataset *ds = calloc(1, sizeof *ds);
    if (ds == NULL)
        goto fail;
    ds->image_count = json_array_size(images);
    ds->annotation_count = json_array_size(anns);
    ds->category_count = json_array_size(cats);
    ds->images = calloc(ds->image_count + 1, sizeof *ds->images);
    ds->annotations = calloc(ds->annotation_count + 1, sizeof *ds->annotations);
    ds->categories = calloc(ds->category_count + 1, sizeof *ds->categories);
    if (ds->images == NULL || ds->annotations == NULL || ds->categories == NULL)
        goto fail;
    for (size_t i = 0; i < ds->image_count; i++) {
        const json_t *im = json_array_get(images, i);
        ds->images[i].id = json_integer_value(json_object_get(im, "id"));
        ds->images[i].file_name = vbStrdup(json_string_value(json_object_get(im, "file_name")));
        ds->images[i].width = (int)json_integer_value(json_object_get(im, "width"));
        ds->images[i].height = (int)json_integer_value(json_object_get(im, "height"));
    }
    for (size_t i = 0; i < ds->annotation_count; i++) {
        const json_t *a = json_array_get(anns, i);
        const json_t *bbox = json_object_get(a, "bbox");
        VbAnnotation *o = &ds->annotations[i];
        o->id = json_integer_value(json_object_get(a, "id"));
        o->image_id = json_integer_value(json_object_get(a, "image_id"));
        o->category_id = json_integer_value(json_object_get(a, "category_id"));
        o->x = cocoGtNumber(json_array_get(bbox, 0));
        o->y = cocoGtNumber(json_array_get(bbox, 1));
        o->w = cocoGtNumber(json_array_get(bbox, 2));
        o->h = cocoGtNumber(json_array_get(bbox, 3));
        o->area = cocoGtNumber(json_object_get(a, "area"));
        o->iscrowd = (int)json_integer_value(json_object_get(a, "iscrowd"));
    }
    for (size_t i = 0; i < ds->category_count; i++) {
        const json_t *c = json_array_get(cats, i);
        ds->categories[i].id = json_integer_value(json_object_get(c, "id"));
        ds->categories[i].name = vbStrdup(json_string_value(json_object_get(c, "name")));
    }
    json_decref(root);
    return ds;

fail:
    fprintf(stderr, "%s: out of memory\n", path);
    json_decref(root);
    vbDatasetFree(ds);
    return NULL;
}

#endif /* VB_TEST_COCO_GT_H */
