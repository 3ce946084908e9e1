/* Internal helpers that the ground-truth loaders share: growing a dataset, image folders, labels, clipping. */
#ifndef VB_DATASET_LOADER_H
#define VB_DATASET_LOADER_H

#include "dataset/dataset.h"

/* Boxes that pass an image edge by at most this many pixels are clipped
 * without a warning (float rounding in the tool that wrote them). */
#define VB_DATASET_CLIP_TOLERANCE 0.01

/* missing_images keeps at most this many names; later ones are counted. */
#define VB_DATASET_MAX_MISSING_LISTED 10000

/* A dataset under construction with the capacities of its arrays. */
typedef struct VbDatasetBuilder {
    VbDataset *dataset;
    size_t image_cap, annotation_cap, category_cap, missing_cap, unreadable_cap;
    size_t missing_not_listed;
    char **allowed;          /* labels from VbDatasetOptions.allowed_labels, or NULL for COCO-80 */
    size_t allowed_count;
    int64_t next_custom_id;  /* next id for a label that is not a COCO-80 name */
} VbDatasetBuilder;

/* Starts an empty dataset of the given source format. options may be NULL. */
vb_status vbDatasetBuilderInit(VbDatasetBuilder *b, const char *format,
                               const VbDatasetOptions *options, vb_error *err);

/* Hands the dataset to the caller (categories sorted by id) and resets b. */
VbDataset *vbDatasetBuilderFinish(VbDatasetBuilder *b);

/* Frees everything b still owns. Accepts a zeroed builder. */
void vbDatasetBuilderFree(VbDatasetBuilder *b);

/* Appends an image (file_name is copied). */
vb_status vbDatasetAddImage(VbDatasetBuilder *b, int64_t id, const char *file_name, int width,
                            int height, vb_error *err);

/* Appends an annotation as given (COCO ids, 0 included, are kept). */
vb_status vbDatasetAddAnnotation(VbDatasetBuilder *b, const VbAnnotation *annotation,
                                 vb_error *err);

/* Appends a category (name is copied). */
vb_status vbDatasetAddCategory(VbDatasetBuilder *b, int64_t id, const char *name, vb_error *err);

/* Finds or creates the category for a trimmed, lower-case label: a COCO-80
 * name gets its COCO id, another label the next id after
 * VB_DATASET_CUSTOM_CATEGORY_BASE. A label outside the allowed set adds one
 * warning, prefixed with where ("gt.csv: line 4"), when it is first seen. */
vb_status vbDatasetLabelCategory(VbDatasetBuilder *b, const char *label, const char *where,
                                 int64_t *id, vb_error *err);

/* Records an image name the ground truth uses but the folder lacks, once per
 * name, with one warning. When an image in the dataset differs only in
 * letter case, the warning names it. A name in unreadable_images gets a
 * warning per call and is not recorded again. */
vb_status vbDatasetAddMissing(VbDatasetBuilder *b, const char *name, const char *source,
                              vb_error *err);

/* Adds every JPEG or PNG file of images_dir to the dataset, in byte order of
 * their names, with ids from 1 and the size from the file header. Files count
 * by extension in any letter case. Hidden files and subfolders are skipped.
 * A file whose header cannot be read goes to unreadable_images with a
 * warning. */
vb_status vbDatasetScanImages(VbDatasetBuilder *b, const char *images_dir, vb_error *err);

/* Returns the index of the image with exactly this file name, or -1. Needs
 * the images in byte order of their names, as vbDatasetScanImages adds them. */
long vbDatasetFindImageByName(const VbDatasetBuilder *b, const char *name);

/* Clips the box [x0, x1) x [y0, y1) to a width x height image. Returns 1 to
 * keep the box, 0 when nothing is left (a warning names where). Overshoot
 * beyond VB_DATASET_CLIP_TOLERANCE adds a warning. A 0 x 0 size (unknown)
 * leaves the box alone. */
int vbDatasetClipBox(VbDatasetBuilder *b, const char *where, int width, int height, double *x0,
                     double *y0, double *x1, double *y1);

/* Returns nonzero when name ends in a JPEG or PNG extension (case-insensitive). */
int vbDatasetIsImageName(const char *name);

/* Lower-cases ASCII letters of s in place and returns s. */
char *vbDatasetLowerAscii(char *s);

/* Returns the directory part of path as a new string ("." when there is
 * none), or NULL when out of memory. */
char *vbDatasetDirName(const char *path);

/* Lists the regular, non-hidden files of dir whose names end in suffix
 * (case-insensitive), sorted bytewise. The caller frees each name and the
 * array. At most VB_DATASET_MAX_IMAGES names. */
vb_status vbDatasetListFiles(const char *dir, const char *suffix, char ***names, size_t *count,
                             vb_error *err);

/* Returns the length of name without its extension (the part from the last dot). */
size_t vbDatasetStemLength(const char *name);

/* Image names sorted by stem, for matching label files to images. The
 * names point into the dataset; free only the array. */
typedef struct VbStemIndex {
    const char **names;
    size_t count;
} VbStemIndex;

vb_status vbDatasetStemIndexBuild(const VbDataset *d, VbStemIndex *index, vb_error *err);

/* Finds the image whose name without extension equals label_file's (for
 * "a.txt" or "a.xml", the image "a.jpg"). With two images of that stem,
 * either one. Returns NULL when there is none. */
const VbDatasetImage *vbDatasetFindImageByStem(const VbDatasetBuilder *b, const VbStemIndex *index,
                                              const char *label_file);

/* Frees a list from vbDatasetListFiles. */
void vbDatasetFreeList(char **names, size_t count);

#endif /* VB_DATASET_LOADER_H */
