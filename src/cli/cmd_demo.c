/* visionbench demo: benchmarks the bundled models on synthetic road scenes, generated once into a cache folder. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/core.h"
#include "store/store.h"
#include "synth/synth.h"

/* The demo scene set. Training used other seeds (tools/train/README.md), so
 * these scenes are held out from every bundled model. */
#define DEMO_SEED 7
#define DEMO_WIDTH 320
#define DEMO_HEIGHT 240
#define DEMO_DEFAULT_COUNT 100
#define DEMO_MAX_MODELS 16

static void printDemoUsage(FILE *out)
{
    fprintf(out,
            "usage: visionbench demo [--out DIR] [--count N] [--models DIR] [--threads N] [--no-db]\n"
            "\n"
            "Generates %dx%d synthetic road scenes (seed %d) once, then runs\n"
            "'visionbench run' on them with every bundled model: prints the comparison\n"
            "table, writes DIR/run.json and stores the run in the default SQLite database.\n"
            "\n"
            "  --out DIR       scene folder (default $XDG_CACHE_HOME/visionbench/demo-sSEED-nN,\n"
            "                  or ~/.cache/... when XDG_CACHE_HOME is unset)\n"
            "  --count N       number of scenes, 1..%d (default %d)\n"
            "  --models DIR    folder of the bundled .onnx models (default: $VISIONBENCH_MODELS,\n"
            "                  then models/ of the source tree above the binary, then\n"
            "                  share/visionbench/models next to the install; docs/demo.md)\n"
            "  --threads N     engine threads; 0 uses every core (default 0)\n"
            "  --no-db         do not store the run in the database\n"
            "  -h, --help      show this help\n",
            DEMO_WIDTH, DEMO_HEIGHT, DEMO_SEED, VB_SYNTH_MAX_COUNT, DEMO_DEFAULT_COUNT);
}

static int endsWith(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int compareNames(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists the *.onnx files of dir, sorted by name, into names (each a new
 * string). Returns the count (0 when dir is missing or has none), at most
 * DEMO_MAX_MODELS. */
static int listModels(const char *dir, char **names)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && count < DEMO_MAX_MODELS) {
        if (e->d_name[0] == '.' || !endsWith(e->d_name, ".onnx"))
            continue;
        names[count] = vbStrdup(e->d_name);
        if (names[count] != NULL)
            count++;
    }
    closedir(d);
    qsort(names, (size_t)count, sizeof names[0], compareNames);
    return count;
}

/* Finds the bundled model folder: $VISIONBENCH_MODELS when set (used as
 * is), else the first folder holding a .onnx file among B/../models (a
 * build folder inside the source tree), B/../../models and
 * B/../share/visionbench/models (an install prefix), where B is the
 * binary's folder. Writes it into out and returns 0 when none is found. */
static int findModelsDir(char *out, size_t size)
{
    const char *env = getenv("VISIONBENCH_MODELS");
    if (env != NULL && env[0] != '\0') {
        snprintf(out, size, "%s", env);
        return 1;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return 0;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash == NULL)
        return 0;
    *slash = '\0';
    static const char *const relative[] = {"../models", "../../models", "../share/visionbench/models"};
    for (size_t i = 0; i < sizeof relative / sizeof relative[0]; i++) {
        char candidate[PATH_MAX + 64];
        snprintf(candidate, sizeof candidate, "%s/%s", exe, relative[i]);
        char *names[DEMO_MAX_MODELS];
        int count = listModels(candidate, names);
        for (int k = 0; k < count; k++)
            free(names[k]);
        if (count > 0 && strlen(candidate) < size) {
            snprintf(out, size, "%s", candidate);
            return 1;
        }
    }
    return 0;
}

/* Writes the default scene folder for count scenes into out. */
static int defaultSceneDir(char *out, size_t size, unsigned count)
{
    const char *cache = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    int n;
    if (cache != NULL && cache[0] != '\0')
        n = snprintf(out, size, "%s/visionbench", cache);
    else if (home != NULL && home[0] != '\0')
        n = snprintf(out, size, "%s/.cache/visionbench", home);
    else
        return 0;
    if (n < 0 || (size_t)n >= size)
        return 0;
    /* Create every missing folder of the cache path (as mkdir -p does), so
     * a home without ~/.cache works; the synth writer makes the last one. */
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", out);
    for (char *slash = strchr(parent + 1, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        mkdir(parent, 0777);
        *slash = '/';
    }
    mkdir(out, 0777);
    n = snprintf(out + n, size - (size_t)n, "/demo-s%d-n%u-%dx%d", DEMO_SEED, count, DEMO_WIDTH,
                 DEMO_HEIGHT);
    return n > 0;
}

/* Generates the scenes into dir unless dir/complete records the same set. */
static int ensureScenes(const char *dir, unsigned count)
{
    char stamp_path[PATH_MAX + 16], stamp[128], found[128] = "";
    snprintf(stamp_path, sizeof stamp_path, "%s/complete", dir);
    snprintf(stamp, sizeof stamp, "seed %d count %u size %dx%d\n", DEMO_SEED, count, DEMO_WIDTH,
             DEMO_HEIGHT);
    FILE *f = fopen(stamp_path, "r");
    if (f != NULL) {
        if (fgets(found, sizeof found, f) == NULL)
            found[0] = '\0';
        fclose(f);
    }
    if (strcmp(found, stamp) == 0) {
        fprintf(stderr, "visionbench: using the %u demo scenes in %s\n", count, dir);
        return 1;
    }

    fprintf(stderr, "visionbench: generating %u demo scenes into %s\n", count, dir);
    VbSynthOptions options = {dir, count, DEMO_SEED, DEMO_WIDTH, DEMO_HEIGHT};
    vb_error err;
    memset(&err, 0, sizeof err);
    if (vbSynthWriteDataset(&options, &err) != VB_OK ||
        vbFileWrite(stamp_path, stamp, strlen(stamp), &err) != VB_OK) {
        vbCliError("%s", err.message);
        return 0;
    }
    return 1;
}

int vbCmdDemo(int argc, char **argv)
{
    const char *out_dir = NULL, *models_dir = NULL, *threads = "0";
    unsigned count = DEMO_DEFAULT_COUNT;
    int store = 1;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            printDemoUsage(stdout);
            return 0;
        }
        if (strcmp(arg, "--no-db") == 0) {
            store = 0;
            continue;
        }
        if (i + 1 >= argc) {
            vbCliError("'%s' is not an option or lacks its value; run 'visionbench demo --help'", arg);
            return 2;
        }
        const char *value = argv[++i];
        if (strcmp(arg, "--out") == 0) {
            out_dir = value;
        } else if (strcmp(arg, "--models") == 0) {
            models_dir = value;
        } else if (strcmp(arg, "--threads") == 0) {
            threads = value;   /* checked by the run options */
        } else if (strcmp(arg, "--count") == 0) {
            char *end = NULL;
            long n = strtol(value, &end, 10);
            if (end == value || *end != '\0' || n < 1 || n > VB_SYNTH_MAX_COUNT) {
                vbCliError("--count: invalid value '%s'; expected 1 to %d", value, VB_SYNTH_MAX_COUNT);
                return 2;
            }
            count = (unsigned)n;
        } else {
            vbCliError("unknown option '%s'; run 'visionbench demo --help'", arg);
            return 2;
        }
    }

    /* The scene folder and the models. */
    char scene_dir[PATH_MAX], found_models[PATH_MAX];
    if (out_dir != NULL)
        snprintf(scene_dir, sizeof scene_dir, "%s", out_dir);
    else if (!defaultSceneDir(scene_dir, sizeof scene_dir, count)) {
        vbCliError("HOME and XDG_CACHE_HOME are unset; give the scene folder with --out DIR");
        return 2;
    }
    if (models_dir == NULL) {
        if (!findModelsDir(found_models, sizeof found_models)) {
            vbCliError("no bundled models found next to the binary; set VISIONBENCH_MODELS or "
                       "pass --models DIR (the models/ folder of the source tree)");
            return 1;
        }
        models_dir = found_models;
    }
    char *names[DEMO_MAX_MODELS];
    int model_count = listModels(models_dir, names);
    if (model_count == 0) {
        vbCliError("%s: no .onnx models; pass --models DIR with the bundled models", models_dir);
        return 1;
    }
    if (!ensureScenes(scene_dir, count)) {
        for (int k = 0; k < model_count; k++)
            free(names[k]);
        return 1;
    }

    /* The run's arguments: every model, the JSON next to the scenes and the
     * default database. */
    char images[PATH_MAX + 16], gt[PATH_MAX + 16], json[PATH_MAX + 16], db[PATH_MAX + 16];
    char model_args[DEMO_MAX_MODELS][2 * PATH_MAX];
    char *run_argv[16 + 2 * DEMO_MAX_MODELS];
    int run_argc = 0;
    snprintf(images, sizeof images, "%s/images", scene_dir);
    snprintf(gt, sizeof gt, "%s/gt.json", scene_dir);
    snprintf(json, sizeof json, "%s/run.json", scene_dir);
    run_argv[run_argc++] = "run";
    run_argv[run_argc++] = "--images";
    run_argv[run_argc++] = images;
    run_argv[run_argc++] = "--gt";
    run_argv[run_argc++] = gt;
    for (int k = 0; k < model_count; k++) {
        size_t len = strlen(names[k]) - strlen(".onnx");
        snprintf(model_args[k], sizeof model_args[k], "%.*s=%s/%s", (int)len, names[k], models_dir,
                 names[k]);
        run_argv[run_argc++] = "--model";
        run_argv[run_argc++] = model_args[k];
    }
    run_argv[run_argc++] = "--threads";
    run_argv[run_argc++] = (char *)threads;
    run_argv[run_argc++] = "--json";
    run_argv[run_argc++] = json;
    if (store) {
        vb_error err;
        memset(&err, 0, sizeof err);
        char path[PATH_MAX];
        if (vbStoreDefaultPath(path, sizeof path, &err) != VB_OK) {
            vbCliError("%s; pass --no-db to skip storing the run", err.message);
            for (int k = 0; k < model_count; k++)
                free(names[k]);
            return 1;
        }
        snprintf(db, sizeof db, "sqlite:%s", path);
        run_argv[run_argc++] = "--db";
        run_argv[run_argc++] = db;
    }
    run_argv[run_argc] = NULL;

    int status = vbCmdRun(run_argc, run_argv);
    for (int k = 0; k < model_count; k++)
        free(names[k]);
    if (access(json, F_OK) != 0)
        return status;   /* the run did not start; vbCmdRun printed why */
    fprintf(stderr, "visionbench: report written to %s\n", json);
    if (store)
        fprintf(stderr, "visionbench: open the dashboard with 'visionbench serve' (docs/dashboard.md) "
                "or list stored runs with 'visionbench history'\n");
    return status;
}
