/* Unit tests for src/run option parsing: --model specs, ranges, required options, errors. */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "run/run.h"
#include "vbtest.h"

static void freeSpec(VbRunModelSpec *s)
{
    free(s->name);
    free(s->path);
    free(s->format);
}

static void testModelSpec(void)
{
    VbRunModelSpec s;
    vb_error err;
    CHECK(vbRunModelSpecParse("models/yolov8n.onnx", &s, &err) == VB_OK);
    CHECK_STR(s.name, "yolov8n");
    CHECK_STR(s.path, "models/yolov8n.onnx");
    CHECK(s.format == NULL);
    freeSpec(&s);

    CHECK(vbRunModelSpecParse("fast=models/m.onnx@yolox", &s, &err) == VB_OK);
    CHECK_STR(s.name, "fast");
    CHECK_STR(s.path, "models/m.onnx");
    CHECK_STR(s.format, "yolox");
    freeSpec(&s);

    /* '=' inside a folder name is part of the path; '@' in a folder too. */
    CHECK(vbRunModelSpecParse("a b=c/m.onnx", &s, &err) == VB_OK);
    CHECK_STR(s.path, "a b=c/m.onnx");
    CHECK_STR(s.name, "m");
    freeSpec(&s);
    CHECK(vbRunModelSpecParse("v@2/m.onnx", &s, &err) == VB_OK);
    CHECK_STR(s.path, "v@2/m.onnx");
    CHECK(s.format == NULL);
    freeSpec(&s);
}

static void testModelSpecErrors(void)
{
    VbRunModelSpec s;
    vb_error err;
    CHECK(vbRunModelSpecParse("=m.onnx", &s, &err) == VB_ERR_INVALID_ARGUMENT);
    CHECK(strstr(err.message, "empty name") != NULL);
    CHECK(vbRunModelSpecParse("n=", &s, &err) == VB_ERR_INVALID_ARGUMENT);
    CHECK(strstr(err.message, "no file path") != NULL);
    CHECK(vbRunModelSpecParse("m.onnx@", &s, &err) == VB_ERR_INVALID_ARGUMENT);
    CHECK(strstr(err.message, "empty format") != NULL);
    CHECK(vbRunModelSpecParse("dir/", &s, &err) == VB_ERR_INVALID_ARGUMENT);
    CHECK(strstr(err.message, "cannot derive a name") != NULL);
    CHECK(vbRunModelSpecParse("dir/bad name.onnx", &s, &err) == VB_ERR_INVALID_ARGUMENT);
    CHECK(strstr(err.message, "NAME=PATH") != NULL);
}

/* Parses argv (NULL-terminated list after "run") into fresh options. */
static vb_status parse(const char **args, VbRunOptions *o, vb_error *err)
{
    char *argv[64];
    int argc = 0;
    argv[argc++] = (char *)"run";
    for (int i = 0; args[i] != NULL; i++)
        argv[argc++] = (char *)args[i];
    int help;
    vbRunOptionsInit(o);
    return vbRunOptionsParse(argc, argv, o, &help, err);
}

static void testOptionsDefaultsAndValues(void)
{
    VbRunOptions o;
    vb_error err;
    const char *args[] = {"--images", "img", "--gt=gt.csv", "--model", "a.onnx", "--model",
                          "b=b.onnx", "--conf", "0.5", "--iou=0.6", "--imgsz", "640",
                          "--threads", "4", "--repeat", "2", "--timeout", "1.5", "--no-progress",
                          "--country", "fr", "--pue", "1.3", "--bootstrap", "0", "--seed", "7",
                          NULL};
    CHECK(parse(args, &o, &err) == VB_OK);
    CHECK_STR(o.images_dir, "img");
    CHECK_STR(o.gt_path, "gt.csv");
    CHECK_EQ_INT(o.model_count, 2);
    CHECK_STR(o.models[1].name, "b");
    CHECK_NEAR(o.conf, 0.5, 0);
    CHECK_NEAR(o.iou, 0.6, 0);
    CHECK_EQ_INT(o.imgsz, 640);
    CHECK_EQ_INT(o.threads, 4);
    CHECK_EQ_INT(o.warmup, 3);
    CHECK_EQ_INT(o.repeat, 2);
    CHECK_NEAR(o.timeout_s, 1.5, 0);
    CHECK_EQ_INT(o.progress, 0);
    CHECK_STR(o.country, "fr");
    CHECK_NEAR(o.pue, 1.3, 1e-12);
    CHECK_EQ_INT(o.bootstrap, 0);
    CHECK_EQ_INT(o.seed, 7);
    vbRunOptionsFree(&o);
}

static void testOptionsErrors(void)
{
    static const struct {
        const char *option;
        const char *value;
        const char *message;
    } cases[] = {
        {"--conf", "1.5", "--conf: invalid value '1.5'"},
        {"--conf", "abc", "expected a number from 0 to 1"},
        {"--iou", "0", "--iou: invalid value '0'"},
        {"--imgsz", "100", "multiple of 32"},
        {"--imgsz", "8192", "multiple of 32 from 32 to 4096"},
        {"--threads", "-1", "0 (all cores) to 1024"},
        {"--warmup", "1e3", "an integer from 0 to 1000"},
        {"--repeat", "0", "an integer from 1 to 1000"},
        {"--timeout", "0", "seconds above 0"},
        {"--timeout", "inf", "seconds above 0"},
        {"--on-bad-image", "ignore", "expected skip or fail"},
        {"--cpu-watts", "0", "watts per busy core"},
        {"--grid-intensity", "-3", "g CO2e per kWh from 0 to 2000"},
        {"--country", "XX", "--country: 'XX' is not in the built-in table"},
        {"--pue", "0.9", "a number from 1.0 to 3.0"},
        {"--bootstrap", "x", "0 (no intervals) to 100000"},
        {"--seed", "-1", "--seed: invalid value '-1'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        VbRunOptions o;
        vb_error err;
        const char *args[] = {"--images", "i", "--gt", "g", "--model", "m.onnx",
                              cases[i].option, cases[i].value, NULL};
        CHECK_MSG(parse(args, &o, &err) == VB_ERR_INVALID_ARGUMENT, "%s %s", cases[i].option,
                  cases[i].value);
        CHECK_MSG(strstr(err.message, cases[i].message) != NULL, "%s %s: got '%s'",
                  cases[i].option, cases[i].value, err.message);
        vbRunOptionsFree(&o);
    }
}

static void testOptionsRequiredAndConflicts(void)
{
    VbRunOptions o;
    vb_error err;
    const char *no_gt[] = {"--images", "i", "--model", "m.onnx", NULL};
    CHECK(parse(no_gt, &o, &err) == VB_ERR_INVALID_ARGUMENT);
    CHECK(strstr(err.message, "--gt FILE is required") != NULL);
    vbRunOptionsFree(&o);

    const char *no_model[] = {"--images", "i", "--gt", "g", NULL};
    CHECK(parse(no_model, &o, &err) == VB_ERR_INVALID_ARGUMENT);
    CHECK(strstr(err.message, "--model") != NULL);
    vbRunOptionsFree(&o);

    const char *both[] = {"--images", "i", "--gt", "g", "--model", "m.onnx", "--country", "DE",
                          "--grid-intensity", "300", NULL};
    CHECK(parse(both, &o, &err) == VB_ERR_INVALID_ARGUMENT);
    CHECK(strstr(err.message, "give one") != NULL);
    vbRunOptionsFree(&o);

    const char *twice[] = {"--images", "i", "--gt", "g", "--model", "x/m.onnx", "--model",
                           "y/m.onnx", NULL};
    CHECK(parse(twice, &o, &err) == VB_ERR_INVALID_ARGUMENT);
    CHECK(strstr(err.message, "'m' is used twice") != NULL);
    vbRunOptionsFree(&o);

    const char *unknown[] = {"--images", "i", "--frobnicate", NULL};
    CHECK(parse(unknown, &o, &err) == VB_ERR_INVALID_ARGUMENT);
    CHECK(strstr(err.message, "unknown option '--frobnicate'") != NULL);
    vbRunOptionsFree(&o);

    const char *missing[] = {"--images", NULL};
    CHECK(parse(missing, &o, &err) == VB_ERR_INVALID_ARGUMENT);
    CHECK(strstr(err.message, "--images: missing value") != NULL);
    vbRunOptionsFree(&o);
}

int main(void)
{
    testModelSpec();
    testModelSpecErrors();
    testOptionsDefaultsAndValues();
    testOptionsErrors();
    testOptionsRequiredAndConflicts();
    TEST_END();
}
