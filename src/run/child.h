/* One model in a child process: the work the child does and the parent's side of the pipe. */
#ifndef VB_RUN_CHILD_H
#define VB_RUN_CHILD_H

#include <stddef.h>
#include <stdint.h>

#include "dataset/dataset.h"
#include "image/image.h"
#include "metrics/detection.h"
#include "run/run.h"

/* The decoded images every model runs on; owned by the parent and shared
 * with each child through fork (copy-on-write). */
typedef struct VbRunImages {
    VbImage *images;
    int64_t *ids;        /* dataset image id of images[i] */
    size_t count;
} VbRunImages;

/* The per-model work a child runs. The default backend (pipeline.c) drives
 * the engine and the model decoders; tests substitute their own. model is
 * the backend's state, created by load and released by release. */
typedef struct VbRunBackend {
    /* Loads spec with options, binds its classes to the dataset's
     * categories and fills m's model fields (family, task, input size,
     * engine statistics, threads). */
    vb_status (*load)(const VbRunModelSpec *spec, const VbRunOptions *options,
                      const VbDataset *dataset, void **model, VbChildMeasurements *m,
                      vb_error *err);
    /* Turns image into the model's input tensor. */
    vb_status (*preprocess)(void *model, const VbImage *image, vb_error *err);
    /* Runs the model on the prepared input. */
    vb_status (*infer)(void *model, vb_error *err);
    /* Decodes the outputs (score threshold, NMS, class mapping) and appends
     * the detections of image_id in original-image pixels to out. */
    vb_status (*postprocess)(void *model, const VbImage *image, int64_t image_id,
                             VbDetectionList *out, vb_error *err);
    void (*release)(void *model);
} VbRunBackend;

/* The backend that runs real models through the engine. */
const VbRunBackend *vbRunDefaultBackend(void);

/* What came back from one child. */
typedef struct VbChildOutcome {
    VbModelStatus status;
    char error[VB_ERROR_MESSAGE_MAX];
    VbChildMeasurements m;
    size_t sample_count;         /* images x repeat */
    double *preprocess_s;        /* sample_count entries each, owned */
    double *inference_s;
    double *postprocess_s;
    VbDetectionList detections;  /* from the first timed pass, owned */
} VbChildOutcome;

void vbChildOutcomeFree(VbChildOutcome *outcome);

/* Progress callback for the parent while a child runs: done of total
 * images of the given phase ("load", "warmup", "run"). */
typedef void (*VbChildProgressFn)(const char *phase, size_t done, size_t total, void *user);

/* Forks a child that loads spec and, unless load_only, runs the warm-up and
 * timed passes over images; waits for its report with options->timeout_s as
 * the deadline and fills *outcome. A child that crashes, runs out of memory
 * or times out is an outcome, not an error: the return value is VB_OK unless
 * the parent itself failed (pipe, fork, out of memory). */
vb_status vbRunChild(const VbRunBackend *backend, const VbRunModelSpec *spec,
                     const VbRunOptions *options, const VbDataset *dataset,
                     const VbRunImages *images, int load_only,
                     VbChildProgressFn progress, void *user, VbChildOutcome *outcome,
                     vb_error *err);

#endif /* VB_RUN_CHILD_H */
