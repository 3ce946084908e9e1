/* Deterministic synthetic road scenes with exact vehicle boxes, for the demo and the bundled models. */
#ifndef VB_SYNTH_H
#define VB_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "visionbench/status.h"

/* Caps on what one call generates. */
#define VB_SYNTH_MIN_SIDE 64
#define VB_SYNTH_MAX_SIDE 4096
#define VB_SYNTH_MAX_COUNT 100000
#define VB_SYNTH_MAX_VEHICLES 12      /* vehicles drawn in one scene */

/* Vehicle kinds, with their COCO-80 names and official COCO category ids. */
typedef enum VbSynthKind {
    VB_SYNTH_CAR = 0,
    VB_SYNTH_TRUCK,
    VB_SYNTH_BUS,
    VB_SYNTH_KIND_COUNT
} VbSynthKind;

const char *vbSynthKindName(VbSynthKind kind);
int vbSynthKindCocoId(VbSynthKind kind);

/* One ground-truth box: the visible extent of a vehicle in pixel corner
 * coordinates, xmax and ymax exclusive (a 1-pixel box has xmax = xmin + 1). */
typedef struct VbSynthBox {
    int xmin, ymin, xmax, ymax;
    VbSynthKind kind;
} VbSynthBox;

/* One rendered scene. rgb contains width*height*3 bytes, row-major RGB. */
typedef struct VbSynthScene {
    int width, height;
    uint8_t *rgb;
    VbSynthBox boxes[VB_SYNTH_MAX_VEHICLES];
    int box_count;
} VbSynthScene;

/* Renders scene number index of the set given by seed into *scene (free with
 * vbSynthSceneFree). Every value comes from integer arithmetic on a
 * splitmix64 stream derived from (seed, index), so the pixels and boxes are
 * identical on every machine. Errors: VB_ERR_INVALID_ARGUMENT for a side
 * outside VB_SYNTH_MIN_SIDE..VB_SYNTH_MAX_SIDE, VB_ERR_NO_MEMORY. */
vb_status vbSynthRender(uint64_t seed, uint32_t index, int width, int height, VbSynthScene *scene,
                        vb_error *err);

void vbSynthSceneFree(VbSynthScene *scene);

/* What vbSynthWriteDataset writes. */
typedef struct VbSynthOptions {
    const char *out_dir;   /* created when missing (one level) */
    uint32_t count;        /* scenes, 1..VB_SYNTH_MAX_COUNT */
    uint64_t seed;
    int width, height;
} VbSynthOptions;

/* Writes count scenes as OUT/images/NNNNNN.png (8-bit RGB, zlib level 6,
 * no filters, no time stamp) with their ground truth as OUT/gt.csv
 * (image,xmin,ymin,xmax,ymax,label) and OUT/gt.json (COCO, category ids
 * car 3, bus 6, truck 8). Same options, same bytes. Existing files of the
 * same names are replaced. Errors: VB_ERR_INVALID_ARGUMENT for an option out
 * of range, VB_ERR_IO naming the file that could not be written,
 * VB_ERR_NO_MEMORY. */
vb_status vbSynthWriteDataset(const VbSynthOptions *options, vb_error *err);

#endif /* VB_SYNTH_H */
