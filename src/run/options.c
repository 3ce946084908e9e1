/* Parsing and validation of the `visionbench run` options. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "measure/energy.h"
#include "metrics/bootstrap.h"
#include "run/run.h"

void vbRunOptionsInit(VbRunOptions *options)
{
    memset(options, 0, sizeof *options);
    options->conf = 0.25;
    options->iou = 0.7;
    options->warmup = 3;
    options->repeat = 1;
    options->timeout_s = 300.0;
    options->progress = 1;
    options->on_bad_image = VB_BAD_IMAGE_SKIP;
    options->grid_intensity = -1.0;
    options->pue = 1.0;
    options->bootstrap = 1000;
    options->seed = VB_BOOTSTRAP_DEFAULT_SEED;
}

static void modelSpecFree(VbRunModelSpec *spec)
{
    free(spec->name);
    free(spec->path);
    free(spec->format);
    memset(spec, 0, sizeof *spec);
}

void vbRunOptionsFree(VbRunOptions *options)
{
    if (options == NULL)
        return;
    free(options->images_dir);
    free(options->gt_path);
    free(options->classes);
    free(options->class_map_path);
    free(options->gt_names_path);
    free(options->json_path);
    free(options->db_url);
    free(options->country);
    for (int i = 0; i < options->model_count; i++)
        modelSpecFree(&options->models[i]);
    free(options->models);
    vbRunOptionsInit(options);
}

static int isNameChar(int c)
{
    return isalnum(c) || c == '.' || c == '_' || c == '-';
}

/* Copies n bytes of s into a new NUL-terminated string, or returns NULL. */
static char *copyRange(const char *s, size_t n)
{
    char *out = malloc(n + 1);
    if (out != NULL) {
        memcpy(out, s, n);
        out[n] = '\0';
    }
    return out;
}

vb_status vbRunModelSpecParse(const char *value, VbRunModelSpec *spec, vb_error *err)
{
    memset(spec, 0, sizeof *spec);
    const char *path = value;
    const char *eq = strchr(value, '=');
    const char *name = NULL;
    size_t name_len = 0;

    /* NAME= prefix: only when everything before '=' is a valid name, so a
     * path with '=' in a folder name still works. */
    if (eq != NULL) {
        size_t n = (size_t)(eq - value);
        int valid = n > 0;
        for (size_t i = 0; i < n && valid; i++)
            valid = isNameChar((unsigned char)value[i]);
        if (n == 0)
            return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                              "--model: '%s' has an empty name before '='; use NAME=PATH or PATH",
                              value);
        if (valid) {
            name = value;
            name_len = n;
            path = eq + 1;
        }
    }

    /* @FORMAT suffix: after the last '@', when it contains no '/'. */
    const char *at = strrchr(path, '@');
    size_t path_len = strlen(path);
    const char *format = NULL;
    if (at != NULL && strchr(at, '/') == NULL) {
        format = at + 1;
        path_len = (size_t)(at - path);
        if (*format == '\0')
            return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                              "--model: '%s' has an empty format after '@'; use PATH@FORMAT, "
                              "e.g. model.onnx@yolov8", value);
    }
    if (path_len == 0)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                          "--model: '%s' has no file path; use [NAME=]PATH[@FORMAT]", value);

    /* Default name: the file name without its folder and .onnx. */
    if (name == NULL) {
        const char *base = path;
        for (size_t i = 0; i < path_len; i++) {
            if (path[i] == '/')
                base = path + i + 1;
        }
        name = base;
        name_len = (size_t)(path + path_len - base);
        if (name_len > 5 && strncmp(name + name_len - 5, ".onnx", 5) == 0)
            name_len -= 5;
    }
    if (name_len == 0)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                          "--model: cannot derive a name from '%s'; use NAME=PATH", value);
    if (name_len > VB_RUN_NAME_MAX)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                          "--model: the name in '%s' is longer than %d bytes; give a shorter NAME=",
                          value, VB_RUN_NAME_MAX);
    for (size_t i = 0; i < name_len; i++) {
        if (!isNameChar((unsigned char)name[i]))
            return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                              "--model: the name '%.*s' may only use letters, digits, '.', '_' "
                              "and '-'; give one with NAME=PATH", (int)name_len, name);
    }

    spec->name = copyRange(name, name_len);
    spec->path = copyRange(path, path_len);
    spec->format = format != NULL ? vbStrdup(format) : NULL;
    if (spec->name == NULL || spec->path == NULL || (format != NULL && spec->format == NULL)) {
        modelSpecFree(spec);
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory parsing --model");
    }
    return VB_OK;
}

/* Parses value as a finite double in [lo, hi]. */
static vb_status parseDouble(const char *option, const char *value, double lo, double hi,
                             const char *allowed, double *out, vb_error *err)
{
    char *end;
    errno = 0;
    double v = strtod(value, &end);
    if (end == value || *end != '\0' || errno != 0 || !isfinite(v) || v < lo || v > hi)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT, "%s: invalid value '%s'; expected %s",
                          option, value, allowed);
    *out = v;
    return VB_OK;
}

/* Parses value as a decimal integer in [lo, hi]. */
static vb_status parseInt(const char *option, const char *value, long long lo, long long hi,
                          const char *allowed, long long *out, vb_error *err)
{
    char *end;
    errno = 0;
    long long v = strtoll(value, &end, 10);
    if (end == value || *end != '\0' || errno != 0 || v < lo || v > hi)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT, "%s: invalid value '%s'; expected %s",
                          option, value, allowed);
    *out = v;
    return VB_OK;
}

/* Replaces *slot with a copy of value; an option given twice keeps the last. */
static vb_status setString(char **slot, const char *value, vb_error *err)
{
    char *copy = vbStrdup(value);
    if (copy == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory parsing options");
    free(*slot);
    *slot = copy;
    return VB_OK;
}

static vb_status addModel(VbRunOptions *options, const char *value, vb_error *err)
{
    if (options->model_count == VB_RUN_MAX_MODELS)
        return vbErrorSet(err, VB_ERR_LIMIT, "--model: more than %d models; split the run",
                          VB_RUN_MAX_MODELS);
    VbRunModelSpec spec;
    vb_status st = vbRunModelSpecParse(value, &spec, err);
    if (st != VB_OK)
        return st;
    for (int i = 0; i < options->model_count; i++) {
        if (strcmp(options->models[i].name, spec.name) == 0) {
            st = vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                            "--model: the name '%s' is used twice; give each model its own "
                            "name with NAME=PATH", spec.name);
            modelSpecFree(&spec);
            return st;
        }
    }
    VbRunModelSpec *grown =
        realloc(options->models, (size_t)(options->model_count + 1) * sizeof *grown);
    if (grown == NULL) {
        modelSpecFree(&spec);
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory parsing --model");
    }
    options->models = grown;
    options->models[options->model_count++] = spec;
    return VB_OK;
}

/* Applies one option with its value (NULL for flags). */
static vb_status applyOption(VbRunOptions *o, const char *opt, const char *value, vb_error *err)
{
    long long n = 0;
    vb_status st;

    if (strcmp(opt, "--images") == 0)
        return setString(&o->images_dir, value, err);
    if (strcmp(opt, "--gt") == 0)
        return setString(&o->gt_path, value, err);
    if (strcmp(opt, "--classes") == 0)
        return setString(&o->classes, value, err);
    if (strcmp(opt, "--class-map") == 0)
        return setString(&o->class_map_path, value, err);
    if (strcmp(opt, "--gt-names") == 0)
        return setString(&o->gt_names_path, value, err);
    if (strcmp(opt, "--json") == 0)
        return setString(&o->json_path, value, err);
    if (strcmp(opt, "--db") == 0)
        return setString(&o->db_url, value, err);
    if (strcmp(opt, "--model") == 0)
        return addModel(o, value, err);
    if (strcmp(opt, "--conf") == 0)
        return parseDouble(opt, value, 0.0, 1.0, "a number from 0 to 1", &o->conf, err);
    if (strcmp(opt, "--iou") == 0) {
        st = parseDouble(opt, value, 0.0, 1.0, "a number above 0, at most 1", &o->iou, err);
        if (st == VB_OK && o->iou <= 0.0)
            st = vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                            "--iou: invalid value '%s'; expected a number above 0, at most 1", value);
        return st;
    }
    if (strcmp(opt, "--imgsz") == 0) {
        st = parseInt(opt, value, 0, 4096, "0 (the model's size) or a multiple of 32 from 32 to 4096",
                      &n, err);
        if (st == VB_OK && n % 32 != 0)
            st = vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                            "--imgsz: invalid value '%s'; expected 0 (the model's size) or a "
                            "multiple of 32 from 32 to 4096", value);
        o->imgsz = (int)n;
        return st;
    }
    if (strcmp(opt, "--threads") == 0) {
        st = parseInt(opt, value, 0, 1024, "0 (all cores) to 1024", &n, err);
        o->threads = (int)n;
        return st;
    }
    if (strcmp(opt, "--warmup") == 0) {
        st = parseInt(opt, value, 0, 1000, "an integer from 0 to 1000", &n, err);
        o->warmup = (int)n;
        return st;
    }
    if (strcmp(opt, "--repeat") == 0) {
        st = parseInt(opt, value, 1, 1000, "an integer from 1 to 1000", &n, err);
        o->repeat = (int)n;
        return st;
    }
    if (strcmp(opt, "--timeout") == 0) {
        st = parseDouble(opt, value, 0.0, 86400.0, "seconds above 0, at most 86400", &o->timeout_s,
                         err);
        if (st == VB_OK && o->timeout_s <= 0.0)
            st = vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                            "--timeout: invalid value '%s'; expected seconds above 0, at most 86400",
                            value);
        return st;
    }
    if (strcmp(opt, "--on-bad-image") == 0) {
        if (strcmp(value, "skip") == 0)
            o->on_bad_image = VB_BAD_IMAGE_SKIP;
        else if (strcmp(value, "fail") == 0)
            o->on_bad_image = VB_BAD_IMAGE_FAIL;
        else
            return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                              "--on-bad-image: invalid value '%s'; expected skip or fail", value);
        return VB_OK;
    }
    if (strcmp(opt, "--cpu-watts") == 0) {
        st = parseDouble(opt, value, 0.0, 1000.0, "watts per busy core, above 0, at most 1000",
                         &o->cpu_watts, err);
        if (st == VB_OK && o->cpu_watts <= 0.0)
            st = vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                            "--cpu-watts: invalid value '%s'; expected watts per busy core, above "
                            "0, at most 1000", value);
        return st;
    }
    if (strcmp(opt, "--grid-intensity") == 0)
        return parseDouble(opt, value, 0.0, 2000.0, "g CO2e per kWh from 0 to 2000",
                           &o->grid_intensity, err);
    if (strcmp(opt, "--country") == 0) {
        if (vbMeasureGridIntensity(value) == NULL)
            return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                              "--country: '%s' is not in the built-in table (docs/energy.md lists "
                              "the ISO 3166-1 alpha-2 codes); pass --grid-intensity G_PER_KWH "
                              "instead", value);
        return setString(&o->country, value, err);
    }
    if (strcmp(opt, "--pue") == 0)
        return parseDouble(opt, value, 1.0, 3.0, "a number from 1.0 to 3.0", &o->pue, err);
    if (strcmp(opt, "--bootstrap") == 0) {
        st = parseInt(opt, value, 0, 100000, "0 (no intervals) to 100000 resamples", &n, err);
        o->bootstrap = (int)n;
        return st;
    }
    if (strcmp(opt, "--seed") == 0) {
        char *end;
        errno = 0;
        unsigned long long seed = strtoull(value, &end, 10);
        if (end == value || *end != '\0' || errno != 0 || value[0] == '-')
            return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                              "--seed: invalid value '%s'; expected an integer from 0 to "
                              "18446744073709551615", value);
        o->seed = seed;
        return VB_OK;
    }
    return vbErrorSet(err, VB_ERR_INTERNAL, "%s: option without a handler", opt);
}

/* Options that take a value; every other known option is a flag. */
static const char *const valueOptions[] = {
    "--images", "--gt", "--model", "--classes", "--class-map", "--gt-names", "--conf", "--iou", "--imgsz", "--threads",
    "--warmup", "--repeat", "--timeout", "--json", "--db", "--on-bad-image", "--cpu-watts",
    "--grid-intensity", "--country", "--pue", "--bootstrap", "--seed",
};

vb_status vbRunOptionsParse(int argc, char **argv, VbRunOptions *options, int *help,
                            vb_error *err)
{
    *help = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            *help = 1;
            return VB_OK;
        }
        if (strcmp(arg, "--no-progress") == 0) {
            options->progress = 0;
            continue;
        }

        /* --opt=value or --opt value. */
        char opt[32];
        const char *value = NULL;
        const char *eq = strchr(arg, '=');
        size_t opt_len = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
        if (strncmp(arg, "--", 2) != 0 || opt_len >= sizeof opt)
            return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                              "unexpected argument '%s'; run 'visionbench run --help' for the options",
                              arg);
        memcpy(opt, arg, opt_len);
        opt[opt_len] = '\0';

        int known = 0;
        for (size_t k = 0; k < sizeof valueOptions / sizeof valueOptions[0]; k++)
            known |= strcmp(opt, valueOptions[k]) == 0;
        if (!known)
            return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                              "unknown option '%s'; run 'visionbench run --help' for the options",
                              opt);
        if (eq != NULL) {
            value = eq + 1;
        } else {
            if (i + 1 >= argc)
                return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT, "%s: missing value", opt);
            value = argv[++i];
        }
        vb_status st = applyOption(options, opt, value, err);
        if (st != VB_OK)
            return st;
    }

    /* Required options and combinations. */
    if (options->images_dir == NULL)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT, "--images DIR is required");
    if (options->gt_path == NULL)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT, "--gt FILE is required");
    if (options->model_count == 0)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                          "at least one --model [NAME=]PATH[@FORMAT] is required");
    if (options->country != NULL && options->grid_intensity >= 0.0)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                          "--country and --grid-intensity both set the grid intensity; give one");
    return VB_OK;
}

const char *vbModelStatusName(VbModelStatus status)
{
    switch (status) {
    case VB_MODEL_OK: return "ok";
    case VB_MODEL_ERROR: return "error";
    case VB_MODEL_CRASHED: return "crashed";
    case VB_MODEL_TIMEOUT: return "timeout";
    case VB_MODEL_OOM: return "oom";
    }
    return "error";
}

const char *vbEnergySourceName(VbEnergySource source)
{
    switch (source) {
    case VB_ENERGY_RAPL: return "rapl";
    case VB_ENERGY_NVML: return "nvml";
    case VB_ENERGY_ESTIMATE: break;
    }
    return "estimate";
}
