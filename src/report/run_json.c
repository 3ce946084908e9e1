/* Builds the run report JSON from a VbRunResult. */
#include <math.h>
#include <string.h>

#include "measure/energy.h"
#include "report/run_json.h"
#include "visionbench/version.h"

#define MB (1024.0 * 1024.0)

/* A JSON number, or null when v is NaN or infinite (JSON has neither). */
static json_t *number(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* A JSON number for a metric where -1 marks "undefined". */
static json_t *metric(double v)
{
    return v < 0.0 ? json_null() : number(v);
}

static json_t *stringOrNull(const char *s)
{
    return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

static json_t *statsJson(const VbSampleStats *s)
{
    return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "count", (json_int_t)s->count,
                     "min", number(s->min), "mean", number(s->mean), "p50", number(s->p50), "p90",
                     number(s->p90), "p95", number(s->p95), "p99", number(s->p99), "max",
                     number(s->max), "stddev", number(s->stddev));
}

static json_t *intervalJson(int has, double low, double high)
{
    if (!has || !isfinite(low) || !isfinite(high))
        return json_null();
    return json_pack("[o, o]", number(low), number(high));
}

static double bytesToMb(uint64_t bytes)
{
    return (double)bytes / MB;
}

static int modelFinished(const VbModelResult *m)
{
    return m->status == VB_MODEL_OK && m->end_to_end_ms.count > 0;
}

static json_t *accuracyJson(const VbModelResult *m)
{
    if (!m->has_accuracy)
        return json_pack("{s:n, s:n, s:n, s:n, s:n, s:n, s:n, s:n, s:n}", "map", "map50", "map75",
                         "precision", "recall", "f1", "map_ci95", "map50_ci95", "best_f1");
    json_t *accuracy = json_pack(
        "{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:f}", "map", metric(m->map), "map50",
        metric(m->map50), "map75", metric(m->map75), "precision", number(m->precision), "recall",
        number(m->recall), "f1", number(m->f1), "map_ci95",
        intervalJson(m->has_interval, m->map_low, m->map_high), "map50_ci95",
        intervalJson(m->has_interval, m->map50_low, m->map50_high), "map_conf_threshold",
        VB_RUN_MAP_CONF);
    if (accuracy == NULL)
        return NULL;

    /* Classifiers have no COCO matching, so no best-F1 point. */
    json_t *best = json_null();
    if (m->map >= 0)
        best = json_pack("{s:o, s:o, s:o, s:o}", "precision", number(m->precision_best), "recall",
                         number(m->recall_best), "f1", number(m->f1_best), "conf",
                         number(m->conf_best));
    json_object_set_new(accuracy, "best_f1", best);

    /* Per class: AP figures and the 101-point precision-recall curve at IoU 0.5. */
    json_t *classes = json_array();
    for (size_t k = 0; k < m->class_count; k++) {
        const VbClassAccuracy *c = &m->per_class[k];
        json_t *curve = json_array();
        for (size_t r = 0; r < sizeof c->pr50 / sizeof c->pr50[0]; r++)
            json_array_append_new(curve, metric(c->pr50[r]));
        json_array_append_new(classes, json_pack("{s:I, s:s, s:o, s:o, s:o, s:o, s:o}", "id",
                                                 (json_int_t)c->id, "name", c->name, "ap",
                                                 metric(c->ap), "ap50", metric(c->ap50), "ap75",
                                                 metric(c->ap75), "recall50", metric(c->recall50),
                                                 "pr50", curve));
    }
    json_object_set_new(accuracy, "per_class", classes);
    return accuracy;
}

static json_t *speedJson(const VbModelResult *m)
{
    int done = modelFinished(m);
    return json_pack(
        "{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:I}", "inference_time",
        done ? number(m->inference_ms.mean / 1e3) : json_null(), "throughput",
        done ? number(m->throughput) : json_null(), "latency_p95",
        done ? number(m->end_to_end_ms.p95) : json_null(), "throughput_inference",
        done ? number(m->throughput_inference) : json_null(), "preprocess_ms",
        statsJson(&m->preprocess_ms), "inference_ms", statsJson(&m->inference_ms),
        "postprocess_ms", statsJson(&m->postprocess_ms), "end_to_end_ms",
        statsJson(&m->end_to_end_ms), "load_time", number(m->m.load_s), "warmup_time",
        number(m->m.warmup_s), "clock", "CLOCK_MONOTONIC", "samples",
        (json_int_t)m->end_to_end_ms.count);
}

static json_t *memoryJson(const VbModelResult *m)
{
    uint64_t start = m->m.rss_start_bytes;
    uint64_t after_load = m->m.rss_after_load_bytes > start ? m->m.rss_after_load_bytes - start : 0;
    uint64_t peak = m->m.peak_rss_bytes > start ? m->m.peak_rss_bytes - start : 0;
    int loaded = m->m.rss_after_load_bytes > 0;
    return json_pack("{s:o, s:n, s:s, s:o, s:o, s:o, s:o, s:o}", "ram_mb",
                     loaded ? number(bytesToMb(after_load)) : json_null(), "gpu_mb", "gpu_note",
                     "no GPU: the visionbench engine runs on the CPU", "peak_mb",
                     m->m.peak_rss_bytes > 0 ? number(bytesToMb(peak)) : json_null(),
                     "process_peak_mb",
                     m->m.peak_rss_bytes > 0 ? number(bytesToMb(m->m.peak_rss_bytes)) : json_null(),
                     "process_start_mb", number(bytesToMb(start)), "weights_mb",
                     number(bytesToMb(m->m.weight_bytes)), "arena_mb",
                     number(bytesToMb(m->m.arena_bytes)));
}

static json_t *carbonJson(const VbModelResult *m, const VbRunResult *result)
{
    if (!modelFinished(m))
        return json_pack("{s:n, s:n, s:n, s:n, s:n, s:n, s:n}", "co2_kg", "green_score",
                         "energy_kwh", "energy_j", "energy_per_image_j", "energy_source",
                         "assumptions");
    json_t *assumptions;
    if (m->m.energy_source == VB_ENERGY_ESTIMATE) {
        assumptions = json_pack(
            "{s:b, s:o, s:s, s:o, s:o, s:o, s:o, s:s}", "estimate", 1, "cpu_watts_per_core",
            number(m->watts_per_core), "cpu_watts_basis", m->watts_basis ? m->watts_basis : "",
            "cpu_seconds", number(m->m.cpu_s), "dram_watts_per_gb", number(VB_DRAM_WATTS_PER_GB),
            "dram_gb", number(bytesToMb(m->m.peak_rss_bytes > m->m.rss_start_bytes
                                           ? m->m.peak_rss_bytes - m->m.rss_start_bytes
                                           : 0) / 1024.0),
            "wall_seconds", number(m->m.timed_wall_s), "note", m->m.energy_note);
    } else {
        assumptions = json_pack("{s:b, s:s, s:o}", "estimate", 0, "note", m->m.energy_note,
                                "wall_seconds", number(m->m.timed_wall_s));
    }
    return json_pack("{s:o, s:i, s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:o}", "co2_kg",
                     number(m->co2_kg), "green_score", m->green_score, "energy_kwh",
                     number(m->energy_j / 3.6e6), "energy_j", number(m->energy_j),
                     "energy_per_image_j", number(m->energy_per_image_j), "energy_source",
                     vbEnergySourceName(m->m.energy_source), "co2_per_image_kg",
                     number(m->co2_kg / (double)m->end_to_end_ms.count), "grid_g_per_kwh",
                     number(result->grid_g_per_kwh), "pue", number(result->pue), "assumptions",
                     assumptions);
}

/* The model's warnings: the class-map mismatch when there is one. */
static json_t *warningsJson(const VbModelResult *m)
{
    json_t *list = json_array();
    if (list != NULL && m->m.class_map_warning[0] != '\0')
        json_array_append_new(list, json_string(m->m.class_map_warning));
    return list;
}

static json_t *modelInfoJson(const VbModelResult *m)
{
    /* "parameters" counts the file's initializers like `visionbench inspect`;
     * "engine_parameters" counts the engine's constants after folding. */
    return json_pack("{s:s, s:o, s:I, s:o, s:o, s:[i, i], s:I, s:I, s:I, s:i, s:I, s:o}", "path",
                     m->spec.path, "sha256", stringOrNull(m->sha256), "bytes",
                     (json_int_t)m->file_bytes, "family", stringOrNull(m->m.family), "task",
                     stringOrNull(m->m.task), "input", m->m.input_width, m->m.input_height,
                     "parameters", (json_int_t)m->file_parameter_count, "engine_parameters",
                     (json_int_t)m->m.parameter_count, "flops", (json_int_t)m->m.flops,
                     "threads", m->m.threads, "detections", (json_int_t)m->detection_count,
                     "warnings", warningsJson(m));
}

static json_t *modelJson(const VbModelResult *m, const VbRunResult *result)
{
    return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "status", vbModelStatusName(m->status),
                     "error", m->status == VB_MODEL_OK ? json_null() : json_string(m->error),
                     "accuracy", accuracyJson(m), "speed", speedJson(m), "memory", memoryJson(m),
                     "carbon", carbonJson(m, result), "model", modelInfoJson(m));
}

static json_t *nameOrNull(const VbRunResult *result, int index)
{
    return index >= 0 ? json_string(result->models[index].spec.name) : json_null();
}

static json_t *namesJson(const VbRunResult *result, const int *indices, int count)
{
    json_t *list = json_array();
    for (int i = 0; list != NULL && i < count; i++)
        json_array_append_new(list, json_string(result->models[indices[i]].spec.name));
    return list;
}

/* Returns the paired bootstrap differences between detectors as an array. */
static json_t *pairedJson(const VbRunResult *result)
{
    json_t *pairs = json_array();
    for (size_t i = 0; i < result->paired_count && pairs != NULL; i++) {
        const VbPairedComparison *p = &result->paired[i];
        int has = isfinite(p->map_diff_low) && isfinite(p->map_diff_high);
        json_array_append_new(
            pairs,
            json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I}", "a", nameOrNull(result, p->a),
                      "b", nameOrNull(result, p->b), "map_diff", number(p->map_diff),
                      "map_diff_ci95", intervalJson(has, p->map_diff_low, p->map_diff_high),
                      "map50_diff", number(p->map50_diff), "map50_diff_ci95",
                      intervalJson(isfinite(p->map50_diff_low) && isfinite(p->map50_diff_high),
                                   p->map50_diff_low, p->map50_diff_high),
                      "a_better_map", isfinite(p->a_better_map) ? number(p->a_better_map) : json_null(),
                      "a_better_map50",
                      isfinite(p->a_better_map50) ? number(p->a_better_map50) : json_null(),
                      "samples", (json_int_t)result->paired_samples));
    }
    return pairs;
}

static json_t *comparisonJson(const VbRunResult *result)
{
    const VbRunComparison *c = &result->comparison;
    json_t *comparison = json_pack(
        "{s:o, s:o, s:o, s:o, s:o, s:{s:o, s:o, s:o, s:o}, s:o}", "best_accuracy",
        nameOrNull(result, c->best_accuracy), "fastest", nameOrNull(result, c->fastest),
        "most_efficient", nameOrNull(result, c->most_efficient), "greenest",
        nameOrNull(result, c->greenest), "best_classifier", nameOrNull(result, c->best_classifier),
        "rankings", "accuracy", namesJson(result, c->rank_accuracy, c->rank_accuracy_count),
        "speed", namesJson(result, c->rank_speed, c->rank_speed_count), "efficiency",
        namesJson(result, c->rank_efficiency, c->rank_efficiency_count), "co2",
        namesJson(result, c->rank_co2, c->rank_co2_count), "pareto_front",
        namesJson(result, c->pareto, c->pareto_count));
    if (comparison != NULL)
        json_object_set_new(comparison, "paired", pairedJson(result));
    return comparison;
}

static json_t *datasetJson(const VbRunResult *result, const VbRunOptions *options)
{
    json_t *skipped = json_array();
    for (size_t i = 0; skipped != NULL && i < result->skipped_count; i++)
        json_array_append_new(skipped, json_pack("{s:s, s:s}", "file", result->skipped[i].file_name,
                                                 "reason", result->skipped[i].reason));
    json_t *warnings = json_array();
    for (size_t i = 0; warnings != NULL && i < result->gt_warning_count; i++)
        json_array_append_new(warnings, json_string(result->gt_warnings[i]));
    return json_pack("{s:s, s:s, s:o, s:I, s:o, s:I, s:I, s:s, s:o, s:{s:o, s:o}}", "images_dir",
                     options->images_dir, "ground_truth", options->gt_path, "format",
                     stringOrNull(result->gt_format), "images", (json_int_t)result->image_count,
                     "skipped", skipped, "annotations", (json_int_t)result->annotation_count,
                     "categories", (json_int_t)result->category_count, "sha256",
                     result->dataset_sha256, "warnings", warnings, "decode", "total_s",
                     number(result->decode_total_s), "per_image_ms", statsJson(&result->decode_ms));
}

static json_t *overheadJson(const VbRunResult *result)
{
    double load = 0.0, warmup = 0.0, timed = 0.0, work = 0.0;
    for (int i = 0; i < result->model_count; i++) {
        const VbModelResult *m = &result->models[i];
        load += m->m.load_s;
        warmup += m->m.warmup_s;
        timed += m->m.timed_wall_s;
        if (modelFinished(m))
            work += m->end_to_end_ms.mean * (double)m->end_to_end_ms.count / 1e3;
    }
    double wall = result->execution_time_s;
    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "wall_s", number(wall),
                     "decode_s", number(result->decode_total_s), "validation_s",
                     number(result->validation_s), "load_s", number(load), "warmup_s",
                     number(warmup), "timed_s", number(timed), "image_work_s", number(work),
                     "evaluation_s", number(result->evaluation_s), "other_s",
                     number(result->overhead_s), "other_fraction",
                     wall > 0 ? number(result->overhead_s / wall) : json_null());
}

/* A load average, or null when /proc/loadavg could not be read (-1). */
static json_t *loadAverage(double v)
{
    return v >= 0.0 ? number(v) : json_null();
}

static json_t *metadataJson(const VbRunResult *result, const VbRunOptions *options)
{
    const VbMachineInfo *mi = &result->machine;
    return json_pack(
        "{s:s, s:s, s:{s:s, s:s, s:i, s:o, s:s, s:s, s:o, s:o}, s:i, s:o, s:{s:f, s:f, s:i, s:i, s:i, "
        "s:f, s:i, s:I, s:s}, s:{s:o, s:s, s:o}, s:o}",
        "visionbench_version", VB_VERSION_STRING, "git_commit", VB_GIT_COMMIT, "machine",
        "cpu_model", mi->cpu_model, "cpu_vendor", mi->cpu_vendor, "cores", mi->cores, "ram_mb",
        number(bytesToMb(mi->ram_bytes)), "kernel", mi->kernel, "arch", mi->arch,
        "load_average_start", loadAverage(result->load_average_start), "load_average_end",
        loadAverage(result->load_average_end), "threads",
        result->threads, "dataset", datasetJson(result, options), "settings", "conf",
        options->conf, "iou", options->iou, "imgsz", options->imgsz, "warmup", options->warmup,
        "repeat", options->repeat, "timeout_s", options->timeout_s, "bootstrap",
        options->bootstrap, "seed", (json_int_t)options->seed, "on_bad_image",
        options->on_bad_image == VB_BAD_IMAGE_FAIL ? "fail" : "skip", "carbon_settings",
        "grid_g_per_kwh", number(result->grid_g_per_kwh), "grid_source",
        result->grid_source ? result->grid_source : "", "pue", number(result->pue), "overhead",
        overheadJson(result));
}

const char *vbReportRunStatus(const VbRunResult *result)
{
    int ok = 0;
    for (int i = 0; i < result->model_count; i++)
        ok += result->models[i].status == VB_MODEL_OK;
    if (ok == result->model_count && ok > 0)
        return "ok";
    return ok > 0 ? "partial" : "failed";
}

json_t *vbReportRunJson(const VbRunResult *result, const VbRunOptions *options)
{
    json_t *results = json_object();
    for (int i = 0; results != NULL && i < result->model_count; i++)
        json_object_set_new(results, result->models[i].spec.name,
                            modelJson(&result->models[i], result));
    return json_pack("{s:s, s:o, s:s, s:o, s:o, s:o}", "status", vbReportRunStatus(result),
                     "execution_time", number(result->execution_time_s), "timestamp",
                     result->timestamp, "results", results, "comparison", comparisonJson(result),
                     "metadata", metadataJson(result, options));
}
