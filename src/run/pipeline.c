/* The default run backend: the visionbench engine, the family's preprocessing recipe and output decoder. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/core.h"
#include "models/class_map.h"
#include "models/decode.h"
#include "models/model.h"
#include "models/preprocess.h"
#include "run/child.h"
#include "visionbench/engine.h"

/* A loaded model and its per-image state. */
typedef struct Pipeline {
    vb_engine *engine;
    VbModelLayout layout;
    VbPreprocess recipe;
    VbClassMap classes;
    VbDecodeOptions decode;
    float *input;            /* [1, 3, height, width] */
    vb_tensor input_tensor;
    VbLetterbox transform;   /* of the image last preprocessed */
    vb_tensor *outputs;      /* output_count views of the engine's outputs */
    int output_count;
} Pipeline;

static void pipelineRelease(void *state)
{
    Pipeline *p = state;
    if (p == NULL)
        return;
    vb_engine_free(p->engine);
    vbModelClassMapFree(&p->classes);
    free(p->input);
    free(p->outputs);
    free(p);
}

/* Builds the class map: the --class-map file when given, else the COCO-80
 * map. It binds the map to the dataset's categories and, with --classes,
 * keeps only those names. */
static vb_status buildClassMap(const VbRunOptions *options, const VbDataset *dataset,
                               VbClassMap *map, vb_error *err)
{
    vb_status st = options->class_map_path != NULL
                       ? vbModelClassMapLoad(options->class_map_path, map, err)
                       : vbModelClassMapCoco(map, err);
    /* A ground truth without categories (every image negative) has nothing
     * to bind to; the classes keep their own ids and mAP is undefined. */
    if (st == VB_OK && dataset != NULL && dataset->category_count > 0)
        st = vbModelClassMapBind(map, dataset, err);
    if (st == VB_OK && options->classes != NULL)
        st = vbModelClassMapFilter(map, options->classes, err);
    if (st != VB_OK)
        vbErrorPrefix(err, "%s", options->class_map_path != NULL
                                     ? "--class-map: "
                                     : "class map (set one with --class-map FILE): ");
    return st;
}

/* Copies the engine's input and output descriptions into arrays for the
 * layout detector. */
static vb_status detectLayout(const VbRunModelSpec *spec, Pipeline *p, vb_error *err)
{
    int in_count = vb_engine_input_count(p->engine);
    int out_count = vb_engine_output_count(p->engine);
    vb_tensor_info *infos = calloc((size_t)(in_count + out_count) + 1, sizeof *infos);
    if (infos == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory");
    for (int i = 0; i < in_count; i++)
        infos[i] = *vb_engine_input_info(p->engine, i);
    for (int i = 0; i < out_count; i++)
        infos[in_count + i] = *vb_engine_output_info(p->engine, i);
    vb_status st = vbModelDetectLayout(infos, in_count, infos + in_count, out_count, spec->format,
                                       &p->layout, err);
    free(infos);
    p->output_count = out_count;
    return st;
}

static vb_status pipelineLoad(const VbRunModelSpec *spec, const VbRunOptions *options,
                              const VbDataset *dataset, void **state, VbChildMeasurements *m,
                              vb_error *err)
{
    *state = NULL;
    Pipeline *p = calloc(1, sizeof *p);
    if (p == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory loading %s", spec->path);

    /* Engine: threads and, with --imgsz, a square input. */
    vb_engine_options engine_options;
    vb_engine_options_init(&engine_options);
    engine_options.threads = options->threads;
    vb_input_shape shape = {NULL, 4, {1, 3, options->imgsz, options->imgsz}};
    if (options->imgsz > 0) {
        engine_options.input_shape_count = 1;
        engine_options.input_shapes = &shape;
    }
    vb_status st = vb_engine_load(spec->path, &engine_options, &p->engine, err);
    if (st != VB_OK)
        goto fail;

    /* Family, recipe, class map, decoder options. */
    st = detectLayout(spec, p, err);
    if (st != VB_OK) {
        vbErrorPrefix(err, "%s: ", spec->path);
        goto fail;
    }
    vbModelDefaultPreprocess(&p->layout, &p->recipe);
    st = buildClassMap(options, dataset, &p->classes, err);
    if (st != VB_OK)
        goto fail;
    /* Classes past the end of a short map are dropped without a trace, so
     * the parent warns about it. */
    if (options->class_map_path != NULL && p->classes.count < p->layout.num_classes)
        snprintf(m->class_map_warning, sizeof m->class_map_warning,
                 "--class-map %s has %d entr%s but the model outputs %d classes; detections of "
                 "the other classes are dropped",
                 options->class_map_path, p->classes.count, p->classes.count == 1 ? "y" : "ies",
                 p->layout.num_classes);
    vbModelDecodeOptionsInit(&p->decode);
    /* mAP needs the whole precision-recall curve, so decoding keeps every
     * detection down to VB_RUN_MAP_CONF (as `yolo val` does with 0.001);
     * P/R/F1 apply --conf afterwards. */
    p->decode.conf_threshold = (float)(options->conf < VB_RUN_MAP_CONF ? options->conf : VB_RUN_MAP_CONF);
    p->decode.iou_threshold = (float)options->iou;

    /* Input tensor [1, 3, H, W]. */
    size_t pixels, floats;
    if (vbMulSize((size_t)p->recipe.width, (size_t)p->recipe.height, &pixels) ||
        vbMulSize(pixels, 3, &floats) || floats == 0) {
        st = vbErrorSet(err, VB_ERR_SHAPE, "%s: invalid input size %dx%d", spec->path,
                        p->recipe.width, p->recipe.height);
        goto fail;
    }
    p->input = malloc(floats * sizeof(float));
    p->outputs = calloc((size_t)p->output_count + 1, sizeof *p->outputs);
    if (p->input == NULL || p->outputs == NULL) {
        st = vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for the input of %s", spec->path);
        goto fail;
    }
    p->input_tensor.dtype = VB_DTYPE_FLOAT32;
    p->input_tensor.rank = 4;
    p->input_tensor.dims[0] = 1;
    p->input_tensor.dims[1] = 3;
    p->input_tensor.dims[2] = p->recipe.height;
    p->input_tensor.dims[3] = p->recipe.width;
    p->input_tensor.data = p->input;

    /* Model facts for the report. */
    vb_engine_stats stats;
    vb_engine_get_stats(p->engine, &stats);
    m->weight_bytes = stats.weight_bytes;
    m->arena_bytes = stats.arena_bytes;
    m->parameter_count = stats.parameter_count;
    m->flops = stats.flops;
    m->threads = stats.threads;
    m->input_width = p->recipe.width;
    m->input_height = p->recipe.height;
    snprintf(m->family, sizeof m->family, "%s", vbModelFamilyName(p->layout.family));
    snprintf(m->task, sizeof m->task, "%s",
             p->layout.family == VB_MODEL_CLASSIFIER ? "classify" : "detect");
    *state = p;
    return VB_OK;

fail:
    pipelineRelease(p);
    return st;
}

static vb_status pipelinePreprocess(void *state, const VbImage *image, vb_error *err)
{
    Pipeline *p = state;
    return vbModelPreprocess(&p->recipe, image, p->input, &p->transform, err);
}

static vb_status pipelineInfer(void *state, vb_error *err)
{
    Pipeline *p = state;
    return vb_engine_run(p->engine, &p->input_tensor, 1, err);
}

static vb_status pipelinePostprocess(void *state, const VbImage *image, int64_t image_id,
                                     VbDetectionList *out, vb_error *err)
{
    Pipeline *p = state;
    for (int i = 0; i < p->output_count; i++) {
        const vb_tensor *t = vb_engine_output(p->engine, i);
        if (t == NULL)
            return vbErrorSet(err, VB_ERR_INTERNAL, "output %d missing after a successful run", i);
        p->outputs[i] = *t;
    }
    return vbModelDecode(&p->layout, p->outputs, p->output_count, &p->transform, &p->classes,
                         &p->decode, image_id, out, err);
}

static const VbRunBackend defaultBackend = {
    pipelineLoad, pipelinePreprocess, pipelineInfer, pipelinePostprocess, pipelineRelease,
};

const VbRunBackend *vbRunDefaultBackend(void)
{
    return &defaultBackend;
}
