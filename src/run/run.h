/* The benchmark run: validate inputs, run each model in its own child process, collect and compare results. */
#ifndef VB_RUN_H
#define VB_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "dataset/dataset.h"
#include "image/image.h"
#include "measure/process.h"
#include "measure/stats.h"
#include "metrics/detection.h"
#include "visionbench/status.h"

/* Hard caps on what one run handles. */
#define VB_RUN_MAX_MODELS 64
#define VB_RUN_MAX_IMAGES 1000000
#define VB_RUN_NAME_MAX 64                       /* bytes of a model name, without NUL */
#define VB_RUN_MESSAGE_MAX ((size_t)1 << 30)     /* bytes of one child-to-parent message */

/* Score threshold for the detections that mAP is computed on (0.001, the
 * value `yolo val` uses). --conf only applies to precision, recall and F1. */
#define VB_RUN_MAP_CONF 0.001

/* One --model [NAME=]PATH[@FORMAT] value. */
typedef struct VbRunModelSpec {
    char *name;      /* unique display name; the file name without .onnx when not given */
    char *path;      /* ONNX file */
    char *format;    /* decoder family ("yolov8", "yolox", ...), or NULL to detect it */
} VbRunModelSpec;

typedef enum VbBadImagePolicy {
    VB_BAD_IMAGE_SKIP = 0,   /* list the image with its reason and go on without it */
    VB_BAD_IMAGE_FAIL        /* stop the run before any model runs */
} VbBadImagePolicy;

/* Every setting of a run. Initialise with vbRunOptionsInit; strings are
 * owned by the struct (vbRunOptionsFree). */
typedef struct VbRunOptions {
    char *images_dir;
    char *gt_path;
    char *classes;               /* comma-separated class names to evaluate, or NULL for all */
    char *class_map_path;        /* model output index to name ("index,name" lines), or NULL for COCO-80 */
    char *gt_names_path;         /* class names of YOLO label files, one per line, or NULL */
    VbRunModelSpec *models;
    int model_count;
    double conf;                 /* score threshold, 0..1 (default 0.25) */
    double iou;                  /* NMS IoU threshold, 0..1 (default 0.7) */
    int imgsz;                   /* model input size in pixels; 0 keeps the model's own */
    int threads;                 /* engine threads; 0 means every online core */
    int warmup;                  /* untimed runs before the timed pass (default 3) */
    int repeat;                  /* timed passes over all images (default 1) */
    double timeout_s;            /* wall-clock limit per model child (default 300) */
    char *json_path;             /* write the run JSON here, or NULL */
    char *db_url;                /* store the run in this database (store/store.h), or NULL */
    int progress;                /* nonzero: report progress through the callback */
    VbBadImagePolicy on_bad_image;
    double cpu_watts;            /* watts per busy core for the estimate; 0 uses the table */
    double grid_intensity;       /* g CO2e per kWh; negative means unset */
    char *country;               /* ISO 3166-1 alpha-2, or NULL */
    double pue;                  /* power usage effectiveness (default 1.0) */
    int bootstrap;               /* bootstrap resamples for confidence intervals; 0 skips */
    uint64_t seed;               /* bootstrap seed */
} VbRunOptions;

void vbRunOptionsInit(VbRunOptions *options);
void vbRunOptionsFree(VbRunOptions *options);

/* Parses the arguments of `visionbench run` (argv[0] is the command name)
 * into options, which must be initialised. Every value is checked: an error
 * names the option, the value and what is allowed. *help is set to 1 when
 * --help was given (nothing else is checked then). Errors:
 * VB_ERR_INVALID_ARGUMENT. */
vb_status vbRunOptionsParse(int argc, char **argv, VbRunOptions *options, int *help,
                            vb_error *err);

/* Parses one --model value "[NAME=]PATH[@FORMAT]" into spec (strings owned
 * by spec). Errors: VB_ERR_INVALID_ARGUMENT for an empty path or name, a
 * name longer than VB_RUN_NAME_MAX or with characters outside
 * [A-Za-z0-9._-]. */
vb_status vbRunModelSpecParse(const char *value, VbRunModelSpec *spec, vb_error *err);

/* The outcome of one model. The string values are what the run JSON
 * writes. */
typedef enum VbModelStatus {
    VB_MODEL_OK = 0,
    VB_MODEL_ERROR,      /* the model failed with an error (load, shape, decode) */
    VB_MODEL_CRASHED,    /* the child died from a signal or exited without a report */
    VB_MODEL_TIMEOUT,    /* the child ran past --timeout and was killed */
    VB_MODEL_OOM         /* out of memory: an allocation failed or the kernel killed the child */
} VbModelStatus;

const char *vbModelStatusName(VbModelStatus status);

/* How the energy figure was obtained. */
typedef enum VbEnergySource {
    VB_ENERGY_ESTIMATE = 0,
    VB_ENERGY_RAPL,
    VB_ENERGY_NVML
} VbEnergySource;

const char *vbEnergySourceName(VbEnergySource source);

/* What the child measured and sends back. All times in seconds. */
typedef struct VbChildMeasurements {
    double load_s;                   /* vb_engine_load and decoder set-up */
    double warmup_s;                 /* wall time of the warm-up runs */
    double timed_wall_s;             /* wall time of the timed passes */
    double cpu_s;                    /* user + system CPU time of the timed passes */
    uint64_t rss_start_bytes;        /* VmRSS when the child started (shared pages included) */
    uint64_t rss_after_load_bytes;   /* VmRSS after the model loaded */
    uint64_t peak_rss_bytes;         /* VmHWM at the end */
    uint64_t weight_bytes;
    uint64_t arena_bytes;
    uint64_t parameter_count;
    uint64_t flops;
    int threads;
    VbEnergySource energy_source;
    double measured_energy_j;        /* RAPL or NVML joules of the timed passes; 0 for estimate */
    char energy_note[160];           /* why a counter was not used, or which zones were */
    int input_width;
    int input_height;
    char family[32];                 /* decoder family in use */
    char task[16];                   /* "detect" or "classify" */
    char class_map_warning[192];     /* set when --class-map has fewer entries than the model
                                      * has classes; "" otherwise */
} VbChildMeasurements;

/* COCO accuracy of one ground-truth category for one model. */
typedef struct VbClassAccuracy {
    int64_t id;
    char *name;                      /* owned */
    double ap, ap50, ap75, recall50; /* -1 where undefined */
    double pr50[101];                /* precision at recall 0, 0.01, ..., 1 at IoU 0.5; -1 undefined */
} VbClassAccuracy;

/* One model's row of the result. */
typedef struct VbModelResult {
    VbRunModelSpec spec;             /* copy, owned */
    char sha256[65];
    uint64_t file_bytes;
    uint64_t file_parameter_count;   /* elements of the file's floating-point initializers, as
                                      * `visionbench inspect` counts them; m.parameter_count is
                                      * the engine's count after constant folding */
    VbModelStatus status;
    char error[VB_ERROR_MESSAGE_MAX];
    VbChildMeasurements m;

    /* Speed, in milliseconds per image; count is images x repeat. */
    VbSampleStats preprocess_ms;
    VbSampleStats inference_ms;
    VbSampleStats postprocess_ms;
    VbSampleStats end_to_end_ms;
    double throughput;               /* images per second, end to end */
    double throughput_inference;     /* images per second, inference only */

    /* Energy and carbon. */
    double energy_j;
    double energy_per_image_j;
    double co2_kg;
    int green_score;                 /* 1..10; 0 when unknown */
    double watts_per_core;           /* the estimate's assumption; 0 for counters */
    const char *watts_basis;         /* table row or "--cpu-watts"; static string */

    /* Accuracy; has_accuracy is 0 when the model did not finish or the
     * ground truth has no boxes. -1 marks an undefined value. */
    int has_accuracy;
    double map;                      /* mAP@[.50:.95] (COCO) */
    double map50;
    double map75;
    double precision;
    double recall;
    double f1;
    double precision_best;           /* P/R/F1 at the score that maximises micro F1 */
    double recall_best;
    double f1_best;
    double conf_best;                /* that score */
    VbClassAccuracy *per_class;      /* class_count entries, by category id; owned */
    size_t class_count;
    int has_interval;
    double map_low, map_high;        /* bootstrap 95% interval */
    double map50_low, map50_high;
    size_t detection_count;
    VbDetectionList detections;
} VbModelResult;

/* One image that validation set aside, with its reason. */
typedef struct VbSkippedImage {
    char *file_name;
    char *reason;
} VbSkippedImage;

/* The comparison across models; -1 where no model qualifies. */
typedef struct VbRunComparison {
    int best_accuracy;               /* detector with the highest mAP50-95 */
    int best_classifier;             /* classifier with the highest F1 */
    int fastest;                     /* lowest median end-to-end latency */
    int most_efficient;              /* highest mAP50-95 per joule per image */
    int greenest;                    /* lowest CO2 per image */
    int *rank_accuracy;              /* model indices, best first, only models with values */
    int *rank_speed;
    int *rank_efficiency;
    int *rank_co2;
    int rank_accuracy_count, rank_speed_count, rank_efficiency_count, rank_co2_count;
    int *pareto;                     /* accuracy vs latency front, by latency */
    int pareto_count;
} VbRunComparison;

/* Paired bootstrap of two detectors on the same resampled images: the
 * difference a - b with its 95% interval and how often a scored higher. */
typedef struct VbPairedComparison {
    int a, b;                        /* model indices */
    double map_diff, map_diff_low, map_diff_high;
    double map50_diff, map50_diff_low, map50_diff_high;
    double a_better_map;             /* fraction of samples with mAP(a) > mAP(b) */
    double a_better_map50;
} VbPairedComparison;

typedef struct VbRunResult {
    char timestamp[32];              /* ISO 8601 UTC of the start */
    double execution_time_s;         /* wall time of the whole run */
    VbMachineInfo machine;
    int threads;
    double load_average_start;       /* 1-minute load average (/proc/loadavg) at the start;
                                      * -1 when unknown */
    double load_average_end;         /* the same at the end of the run */
    int machine_busy;                /* nonzero when load_average_start exceeded the cores */
    VbPairedComparison *paired;      /* every pair of evaluated detectors; owned */
    size_t paired_count;
    size_t paired_samples;           /* bootstrap samples behind each pair */

    /* Inputs. */
    size_t image_count;              /* images every model ran on */
    VbSkippedImage *skipped;         /* one entry per file name, unreadable or missing */
    size_t skipped_count;
    size_t missing_count;            /* entries of skipped that the ground truth names but the
                                      * image folder lacks */
    VbSampleStats decode_ms;         /* decode time per image, measured once */
    double decode_total_s;
    char dataset_sha256[65];
    char *gt_format;
    size_t annotation_count;
    size_t category_count;
    char **gt_warnings;              /* copies of the loader's warnings */
    size_t gt_warning_count;

    /* Energy settings. */
    double grid_g_per_kwh;
    const char *grid_source;         /* static string */
    double pue;

    VbModelResult *models;
    int model_count;
    VbRunComparison comparison;
    double validation_s;             /* wall time of the validation children (model loads) */
    double evaluation_s;             /* COCO evaluation, P/R/F1 and bootstrap */
    double overhead_s;               /* execution time not spent decoding, loading, warming
                                      * up, in timed passes or evaluating */
} VbRunResult;

void vbRunResultFree(VbRunResult *result);

/* Progress events for a front end. Called in the parent only. */
typedef struct VbRunProgress {
    const char *phase;               /* "decode", "inputs" (done of total images decoded),
                                      * "validate", "validated" (done of total models
                                      * loaded), "load", "warmup", "run", "eval", "done" */
    int model_index;                 /* -1 outside a model */
    int model_count;
    const char *model_name;
    size_t done;
    size_t total;
    double elapsed_s;                /* since the phase began */
} VbRunProgress;

typedef void (*VbRunProgressFn)(const VbRunProgress *progress, void *user);

/* Runs the whole benchmark: validates every input before any model runs
 * (images decoded once, ground truth parsed and matched, each model loaded
 * in a validation child), then runs each model in its own child process with
 * options->timeout_s, evaluates the returned detections in this process and
 * fills *result (freed with vbRunResultFree). A model that fails, crashes or
 * times out gets that status in its entry while the others complete. A
 * NULL progress is allowed. Errors (nothing ran): VB_ERR_INVALID_ARGUMENT,
 * VB_ERR_NOT_FOUND, VB_ERR_PARSE for the inputs, with a message naming the
 * file; VB_ERR_NO_MEMORY.
 * NOTE: only the children run the engine, so this process starts no OpenMP
 * threads. A caller that ran the engine itself before calling vbRun forks
 * with an OpenMP thread pool, which libgomp does not support in the child. */
vb_status vbRun(const VbRunOptions *options, VbRunProgressFn progress, void *user,
                VbRunResult *result, vb_error *err);

#endif /* VB_RUN_H */
