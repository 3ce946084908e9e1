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
    /* Image names the ground truth refers to that the image folder lacks;
     * they are not in images and their boxes are dropped. */
    char **missing_images;
    size_t missing_image_count;
    /* Files in the image folder whose header could not be read, each as
     * "name: reason"; they are not in images. */
    char **unreadable_images;
    size_t unreadable_image_count;
} VbDataset;

/* Options for vbDatasetLoad. Zero-initialise for the defaults. */
typedef struct VbDatasetOptions {
    /* YOLO class names file: one name per line, or a data.yaml with a
     * `names:` list. NULL looks for classes.txt, obj.names or data.yaml in
     * the label folder and its parent, then falls back to the COCO-80 names. */
    const char *class_names_file;
    /* Comma-separated labels a CSV or VOC file is expected to use. Other
     * labels become new classes with a warning. NULL means the COCO-80 names. */
    const char *allowed_labels;
    /* Label for every box of a CSV without a label column. NULL means "car". */
    const char *default_label;
} VbDatasetOptions;

/* Caps on what a ground-truth file may hold. */
#define VB_DATASET_MAX_FILE_BYTES ((size_t)1 << 30) /* COCO JSON, CSV */
#define VB_DATASET_MAX_LABEL_FILE_BYTES ((size_t)16 << 20) /* one YOLO .txt or VOC .xml */
#define VB_DATASET_MAX_IMAGES 10000000
#define VB_DATASET_MAX_ANNOTATIONS 100000000
#define VB_DATASET_MAX_CATEGORIES 100000

/* Category ids given to labels that are not COCO-80 class names start here. */
#define VB_DATASET_CUSTOM_CATEGORY_BASE 1000

/* Loads ground truth from path and fills *out with a new dataset (free with
 * vbDatasetFree). The format is detected: a .csv file, a .json file (COCO),
 * or a folder of .txt (YOLO) or .xml (Pascal VOC) label files.
 * images_dir is the image folder. For CSV, YOLO and VOC every image in it
 * becomes a dataset image, and images without boxes are negatives. NULL
 * picks a default folder (docs/datasets.md lists them); for COCO, NULL
 * leaves the disk alone and trusts the JSON's sizes. options may be NULL.
 * Input accepted under a documented rule adds warnings to (*out)->warnings.
 * Errors name the file and the line and column (CSV), the annotation id
 * (COCO), or the line (YOLO, VOC). */
vb_status vbDatasetLoad(const char *path, const char *images_dir, const VbDatasetOptions *options,
                        VbDataset **out, vb_error *err);

/* The format loaders behind vbDatasetLoad, with the same contract. */
vb_status vbDatasetLoadCsv(const char *path, const char *images_dir,
                           const VbDatasetOptions *options, VbDataset **out, vb_error *err);
vb_status vbDatasetLoadCoco(const char *path, const char *images_dir,
                            const VbDatasetOptions *options, VbDataset **out, vb_error *err);
vb_status vbDatasetLoadYolo(const char *label_dir, const char *images_dir,
                            const VbDatasetOptions *options, VbDataset **out, vb_error *err);
vb_status vbDatasetLoadVoc(const char *xml_dir, const char *images_dir,
                           const VbDatasetOptions *options, VbDataset **out, vb_error *err);

/* Parses CSV ground truth from memory with the rules of vbDatasetLoadCsv;
 * name is used in messages. With images_dir NULL the disk is not read: the
 * images are the names the rows use, with width and height 0, and boxes are
 * not clipped. */
vb_status vbDatasetParseCsv(const char *text, size_t len, const char *name,
                            const char *images_dir, const VbDatasetOptions *options,
                            VbDataset **out, vb_error *err);

/* Returns the image with this id, or NULL. Linear search. */
const VbDatasetImage *vbDatasetFindImage(const VbDataset *dataset, int64_t id);

/* Returns the category with this id, or NULL. */
const VbCategory *vbDatasetFindCategory(const VbDataset *dataset, int64_t id);

/* Frees a dataset and everything it owns. Accepts NULL. */
void vbDatasetFree(VbDataset *dataset);

#endif /* VB_DATASET_H */
