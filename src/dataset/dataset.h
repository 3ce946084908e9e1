/* The in-memory ground truth that every loader (CSV, COCO JSON, YOLO, VOC) produces. */
#ifndef VB_DATASET_H
#define VB_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "visionbench/status.h"

/* One image of the dataset. width/height are the image's pixel size as the
 * loader found it (from the file header, or from the COCO JSON when the
 * image is not read). */
typedef struct VbDatasetImage {
    int64_t id;          /* COCO image id; loaders without ids number from 1 */
    char *file_name;     /* relative to the image folder, UTF-8 */
    int width;
    int height;
} VbDatasetImage;

/* One ground-truth box in original-image pixels, COCO convention: x, y is
 * the top-left corner and w, h the extent (xmax = x + w). */
typedef struct VbAnnotation {
    int64_t id;          /* COCO annotation id; loaders without ids number from 1 */
    int64_t image_id;
    int64_t category_id;
    double x, y, w, h;
    double area;         /* COCO `area` field (may differ from w*h); w*h for other formats */
    int iscrowd;
} VbAnnotation;

typedef struct VbCategory {
    int64_t id;
    char *name;          /* lower-case label, e.g. "car" */
} VbCategory;

/* A capped list of warnings a loader emits for input it accepted with a
 * documented rule (a clipped box, an ignored column). */
typedef struct VbWarnings {
    char **items;
    int count;
    int dropped;         /* warnings beyond VB_WARNINGS_MAX, counted only */
} VbWarnings;

#define VB_WARNINGS_MAX 200

/* Appends a printf-style warning; past VB_WARNINGS_MAX only counts it.
 * Returns VB_ERR_NO_MEMORY when the copy fails. */
vb_status vbWarningsAdd(VbWarnings *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vbWarningsClear(VbWarnings *w);

typedef struct VbDataset {
    VbDatasetImage *images;
    size_t image_count;
    VbAnnotation *annotations;
    size_t annotation_count;
    VbCategory *categories;   /* sorted by id */
    size_t category_count;
    char *source_format;      /* "csv", "coco", "yolo" or "voc" */
    VbWarnings warnings;
} VbDataset;

/* Frees a dataset and everything it owns. Accepts NULL. */
void vbDatasetFree(VbDataset *dataset);

#endif /* VB_DATASET_H */
