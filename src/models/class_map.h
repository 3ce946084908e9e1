/* Class maps: from a model's output class index to the category id reported for evaluation. */
#ifndef VB_MODELS_CLASS_MAP_H
#define VB_MODELS_CLASS_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "dataset/dataset.h"
#include "visionbench/status.h"

/* Largest class index a class map file may use, plus one. */
#define VB_CLASS_MAP_MAX_CLASSES 100000
/* Largest class map file read, in bytes. */
#define VB_CLASS_MAP_MAX_FILE_BYTES ((size_t)16 << 20)

/* A class map. Index i is the model's output class i. */
typedef struct VbClassMap {
    int count;
    char **names;           /* [count] class names; NULL for an index the map leaves out */
    int64_t *category_ids;  /* [count] category id to report, or -1 to drop the class */
} VbClassMap;

/* Builds the COCO-80 map: names in YOLO output order, category ids the
 * official COCO ids (car 3). Errors: VB_ERR_NO_MEMORY. */
vb_status vbModelClassMapCoco(VbClassMap *out, vb_error *err);

/* Parses a class map file: one `index,name` line per class, index 0-based
 * in model output order, name as the dataset spells it (compared without
 * case). Blank lines and lines starting with '#' are skipped. Category ids
 * start as the index; vbModelClassMapBind replaces them. source names the
 * text in messages. Errors: VB_ERR_PARSE (names source and line: missing
 * comma, bad or duplicate index, empty name), VB_ERR_LIMIT (index >=
 * VB_CLASS_MAP_MAX_CLASSES), VB_ERR_NO_MEMORY. */
vb_status vbModelClassMapParse(const char *text, size_t len, const char *source, VbClassMap *out,
                               vb_error *err);

/* Reads path (at most VB_CLASS_MAP_MAX_FILE_BYTES) and parses it as
 * vbModelClassMapParse does. Adds VB_ERR_NOT_FOUND and VB_ERR_IO. */
vb_status vbModelClassMapLoad(const char *path, VbClassMap *out, vb_error *err);

/* Sets each class's category id to the id of the dataset category with the
 * same name, or -1 when the dataset has no such category. Names compare
 * without case, and the Pascal VOC spellings motorbike, aeroplane, sofa,
 * tvmonitor, diningtable and pottedplant equal the COCO names. Errors:
 * VB_ERR_NOT_FOUND when no class matches any dataset category (the message
 * lists the dataset's names and suggests --class-map). */
vb_status vbModelClassMapBind(VbClassMap *map, const VbDataset *dataset, vb_error *err);

/* Keeps only the classes named in list, a comma-separated list such as
 * "car,truck" (spaces around names ignored): every other class gets
 * category id -1. Errors: VB_ERR_INVALID_ARGUMENT for an empty list or a
 * name that is not in the map (the message names it). */
vb_status vbModelClassMapFilter(VbClassMap *map, const char *list, vb_error *err);

/* Returns the category id of class index, or -1 when index is out of range
 * or the class is dropped. */
int64_t vbModelClassMapLookup(const VbClassMap *map, int index);

/* Returns the index of the class called name (without case), or -1. */
int vbModelClassMapFind(const VbClassMap *map, const char *name);

/* Frees the map's arrays and zeroes it. Accepts NULL. */
void vbModelClassMapFree(VbClassMap *map);

#endif /* VB_MODELS_CLASS_MAP_H */
