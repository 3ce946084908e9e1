/* The 80 COCO detection classes: names, official category ids and contiguous indices. */
#ifndef VB_COCO_CLASSES_H
#define VB_COCO_CLASSES_H

#include <stdint.h>

#define VB_COCO_CLASS_COUNT 80

/* One COCO class. index is the contiguous 0..79 position that YOLO-style
 * models output; id is the category id in COCO annotation files (1..90,
 * with gaps). */
typedef struct VbCocoClass {
    int index;
    int id;
    const char *name;
} VbCocoClass;

/* The 80 classes in index order (vbCocoClasses[i].index == i). */
extern const VbCocoClass vbCocoClasses[VB_COCO_CLASS_COUNT];

/* Returns the class with this lower-case name ("car"), or NULL. */
const VbCocoClass *vbCocoClassByName(const char *name);

/* Returns the class with this COCO category id (3 for car), or NULL. */
const VbCocoClass *vbCocoClassById(int64_t id);

#endif /* VB_COCO_CLASSES_H */
