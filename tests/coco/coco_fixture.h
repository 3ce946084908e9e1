/* Builders for small in-memory COCO ground truth and detections, shared by the metrics unit tests. */
#ifndef VB_TEST_COCO_FIXTURE_H
#define VB_TEST_COCO_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "dataset/dataset.h"
#include "metrics/coco_eval.h"

/* A GT box: image, category, x, y, w, h; area 0 means w * h. */
typedef struct FixtureBox {
    int64_t id;
    int64_t image_id;
    int64_t category_id;
    double x, y, w, h;
    double area;
    int iscrowd;
} FixtureBox;

/* Returns a dataset with images 1..image_count, categories 1..category_count
 * named "c1", "c2", ... and the given boxes. Free with vbDatasetFree. */
static VbDataset *fixtureDataset(size_t image_count, size_t category_count, const FixtureBox *boxes,
                                 size_t box_count)
{
    VbDataset *ds = calloc(1, sizeof *ds);
    ds->images = calloc(image_count + 1, sizeof *ds->images);
    ds->annotations = calloc(box_count + 1, sizeof *ds->annotations);
    ds->categories = calloc(category_count + 1, sizeof *ds->categories);
    ds->image_count = image_count;
    ds->annotation_count = box_count;
    ds->category_count = category_count;
    for (size_t i = 0; i < image_count; i++) {
        ds->images[i].id = (int64_t)i + 1;
        ds->images[i].file_name = vbStrdup("image.jpg");
        ds->images[i].width = 640;
        ds->images[i].height = 480;
    }
    for (size_t k = 0; k < category_count; k++) {
        char name[32];
        snprintf(name, sizeof name, "c%zu", k + 1);
        ds->categories[k].id = (int64_t)k + 1;
        ds->categories[k].name = vbStrdup(name);
    }
    for (size_t i = 0; i < box_count; i++) {
        const FixtureBox *b = &boxes[i];
        VbAnnotation *a = &ds->annotations[i];
        a->id = b->id;
        a->image_id = b->image_id;
        a->category_id = b->category_id;
        a->x = b->x;
        a->y = b->y;
        a->w = b->w;
        a->h = b->h;
        a->area = b->area > 0 ? b->area : b->w * b->h;
        a->iscrowd = b->iscrowd;
    }
    return ds;
}

/* Returns a detection. */
static inline VbDetection fixtureDet(int64_t image_id, int64_t category_id, double x, double y,
                                     double w, double h, double score)
{
    VbDetection d = {image_id, category_id, x, y, w, h, score};
    return d;
}

/* Evaluates with default parameters; returns NULL (and prints why) on failure. */
static VbCocoEval *fixtureEvaluate(const VbDataset *gt, const VbDetection *dets, size_t n)
{
    VbCocoEval *ev = NULL;
    vb_error err = {0};
    if (vbCocoEvaluate(gt, dets, n, NULL, &ev, &err) != VB_OK)
        fprintf(stderr, "vbCocoEvaluate failed: %s\n", err.message);
    return ev;
}

#endif /* VB_TEST_COCO_FIXTURE_H */
