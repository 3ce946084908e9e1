/* visionbench run: benchmarks several models on one image set and prints a comparison table and JSON. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/core.h"
#include "report/progress.h"
#include "report/run_json.h"
#include "run/run.h"
#include "store/store.h"

static void printRunUsage(FILE *out)
{
    fprintf(out,
            "usage: visionbench run --images DIR --gt FILE --model [NAME=]PATH[@FORMAT] ... [options]\n"
            "\n"
            "Benchmarks each model on every image: accuracy (COCO mAP, P/R/F1), speed,\n"
            "memory, energy and CO2. Each model runs in its own process, so a crash or a\n"
            "timeout marks only that model. Prints a comparison table on stdout.\n"
            "\n"
            "inputs:\n"
            "  --images DIR            image folder (JPEG, PNG)\n"
            "  --gt FILE               ground truth: CSV, COCO JSON, or a YOLO/VOC label folder\n"
            "  --model [NAME=]PATH[@FORMAT]\n"
            "                          an ONNX model; repeat for more. NAME defaults to the file\n"
            "                          name; FORMAT forces the decoder (yolov5, yolov8, yolox,\n"
            "                          fastestdet, classifier, boxes)\n"
            "  --classes NAMES         comma-separated class names to evaluate, e.g. car,truck\n"
            "                          (default: every class of the ground truth)\n"
            "  --class-map FILE        model output index to class name, one \"index,name\" line\n"
            "                          each, for models not trained on the 80 COCO classes\n"
            "  --gt-names FILE         class names of YOLO label files, one per line\n"
            "  --on-bad-image skip|fail  skip unreadable images and list them (default), or stop\n"
            "\n"
            "inference:\n"
            "  --conf X                score threshold, 0..1 (default 0.25)\n"
            "  --iou X                 NMS IoU threshold, above 0, at most 1 (default 0.7)\n"
            "  --imgsz N               square input size in pixels, a multiple of 32; 0 keeps the\n"
            "                          model's own (default 0)\n"
            "  --threads N             engine threads; 0 uses every core (default 0)\n"
            "  --warmup N              untimed runs before timing (default 3)\n"
            "  --repeat N              timed passes over all images (default 1)\n"
            "  --timeout S             seconds per model before it is killed (default 300)\n"
            "\n"
            "energy and carbon:\n"
            "  --cpu-watts W           watts per busy core for the energy estimate (default: a\n"
            "                          table by processor family, see docs/energy.md)\n"
            "  --grid-intensity G      grid carbon intensity in g CO2e per kWh\n"
            "  --country CC            ISO 3166-1 alpha-2 code for the built-in intensity table\n"
            "                          (default: world average, 475 g/kWh)\n"
            "  --pue X                 data-centre power usage effectiveness, 1.0..3.0 (default 1.0)\n"
            "\n"
            "statistics and output:\n"
            "  --bootstrap N           bootstrap resamples for mAP 95%% intervals; 0 skips\n"
            "                          (default 1000)\n"
            "  --seed N                bootstrap seed\n"
            "  --json OUT.json         write the full report (docs/run-json.md)\n"
            "  --db URL                also store the run in a database: sqlite:PATH,\n"
            "                          postgresql://USER:PASSWORD@HOST/DB or postgres://...\n"
            "                          (docs/storage.md); runs are stored only with --db\n"
            "  --no-progress           no progress output on stderr\n"
            "  -h, --help              show this help\n"
            "\n"
            "Exit status: 0 when every model finished, 1 when a model failed or the run\n"
            "could not start, 2 for invalid options.\n");
}

/* Progress output: a bar redrawn in place on a terminal, milestone lines
 * otherwise. */
typedef struct ProgressState {
    int tty;
    int last_tenth;
    char last_phase[16];
    int last_model;
    int bar_open;            /* a bar line is on screen without its newline */
} ProgressState;

static void showProgress(const VbRunProgress *p, void *user)
{
    ProgressState *s = user;
    char line[256];
    int new_phase = strcmp(p->phase, s->last_phase) != 0 || p->model_index != s->last_model;
    if (new_phase) {
        snprintf(s->last_phase, sizeof s->last_phase, "%s", p->phase);
        s->last_model = p->model_index;
        s->last_tenth = -1;
    }

    /* Validation summaries get a line of their own in both modes. */
    if (strcmp(p->phase, "inputs") == 0 || strcmp(p->phase, "validated") == 0) {
        if (s->bar_open)
            fputc('\n', stderr);
        s->bar_open = 0;
        if (strcmp(p->phase, "inputs") == 0 && p->done == p->total)
            fprintf(stderr, "visionbench: %zu image%s decoded\n", p->done,
                    p->done == 1 ? "" : "s");
        else if (strcmp(p->phase, "inputs") == 0)
            fprintf(stderr, "visionbench: %zu of %zu images decoded; %zu skipped (listed in the "
                    "table footer and the JSON report)\n", p->done, p->total, p->total - p->done);
        else
            fprintf(stderr, "visionbench: %zu of %zu model%s loaded and recognised\n", p->done,
                    p->total, p->total == 1 ? "" : "s");
        return;
    }

    if (s->tty) {
        vbReportProgressFormat(p, 1, line, sizeof line);
        fprintf(stderr, "\r\033[K%s", line);
        s->bar_open = 1;
        if (strcmp(p->phase, "done") == 0) {
            fputc('\n', stderr);
            s->bar_open = 0;
        }
        fflush(stderr);
        return;
    }
    if (strcmp(p->phase, "done") != 0 && vbReportProgressIsMilestone(p, &s->last_tenth)) {
        vbReportProgressFormat(p, 0, line, sizeof line);
        fprintf(stderr, "visionbench: %s\n", line);
    }
}

static vb_status writeJson(const VbRunResult *result, const VbRunOptions *options, vb_error *err)
{
    json_t *root = vbReportRunJson(result, options);
    if (root == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory building the run JSON");
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (text == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory writing the run JSON");
    vb_status st = vbFileWrite(options->json_path, text, strlen(text), err);
    free(text);
    return st;
}

/* Stores the run report in the database that options->db_url names and
 * prints the new run id on stderr. */
static vb_status storeRun(const VbRunResult *result, const VbRunOptions *options, vb_error *err)
{
    json_t *root = vbReportRunJson(result, options);
    if (root == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory building the run JSON");
    VbStore *store = NULL;
    char run_id[VB_STORE_ID_SIZE];
    vb_status st = vbStoreOpen(options->db_url, &store, err);
    if (st == VB_OK)
        st = vbStoreRunSave(store, root, NULL, run_id, err);
    if (st == VB_OK)
        fprintf(stderr, "visionbench: run %s stored in %s\n", run_id, vbStoreName(store));
    vbStoreClose(store);
    json_decref(root);
    return st;
}

/* Checks that a file can be created at path: its folder exists, is a
 * folder and is writable, and path itself is not a folder. Errors:
 * VB_ERR_NOT_FOUND, VB_ERR_IO, VB_ERR_INVALID_ARGUMENT. */
static vb_status checkJsonPath(const char *path, vb_error *err)
{
    char folder[4096];
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        snprintf(folder, sizeof folder, ".");
    else if (slash == path)
        snprintf(folder, sizeof folder, "/");
    else
        snprintf(folder, sizeof folder, "%.*s", (int)(slash - path), path);

    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT, "%s is a folder; give a file name such "
                          "as %s/report.json", path, path);
    if (stat(folder, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return vbErrorSet(err, VB_ERR_NOT_FOUND, "folder '%s' of %s not found; create it first",
                          folder, path);
    if (access(folder, W_OK) != 0)
        return vbErrorSet(err, VB_ERR_IO, "folder '%s' of %s is not writable: %s", folder, path,
                          strerror(errno));
    return VB_OK;
}

int vbCmdRun(int argc, char **argv)
{
    VbRunOptions options;
    vbRunOptionsInit(&options);
    vb_error err;
    memset(&err, 0, sizeof err);
    int help = 0;
    if (vbRunOptionsParse(argc, argv, &options, &help, &err) != VB_OK) {
        vbCliError("%s", err.message);
        vbRunOptionsFree(&options);
        return 2;
    }
    if (help) {
        printRunUsage(stdout);
        vbRunOptionsFree(&options);
        return 0;
    }

    /* Check that --json can be written before any model runs. */
    if (options.json_path != NULL && checkJsonPath(options.json_path, &err) != VB_OK) {
        vbCliError("--json: %s", err.message);
        vbRunOptionsFree(&options);
        return 1;
    }

    /* Check the database before spending time on the run. storeRun
     * connects again at the end, so a long run keeps no idle connection. */
    if (options.db_url != NULL) {
        VbStore *store = NULL;
        if (vbStoreOpen(options.db_url, &store, &err) != VB_OK) {
            vbCliError("--db: %s", err.message);
            vbRunOptionsFree(&options);
            return 1;
        }
        vbStoreClose(store);
    }

    ProgressState state;
    memset(&state, 0, sizeof state);
    state.tty = isatty(STDERR_FILENO);
    state.last_model = -2;
    VbRunResult result;
    vb_status st = vbRun(&options, options.progress ? showProgress : NULL, &state, &result, &err);
    if (state.bar_open)
        fputc('\n', stderr);
    if (st != VB_OK) {
        vbCliError("%s", err.message);
        vbRunOptionsFree(&options);
        return 1;
    }

    /* The table on stdout, then the JSON file. */
    VbBuf table;
    vbBufInit(&table, (size_t)1 << 20);
    if (vbReportRunTable(&result, &table, &err) == VB_OK)
        fputs(table.data, stdout);
    vbBufFree(&table);
    int status = strcmp(vbReportRunStatus(&result), "ok") == 0 ? 0 : 1;
    if (options.json_path != NULL && writeJson(&result, &options, &err) != VB_OK) {
        vbCliError("--json: %s", err.message);
        status = 1;
    }
    if (options.db_url != NULL && storeRun(&result, &options, &err) != VB_OK) {
        vbCliError("--db: %s", err.message);
        status = 1;
    }

    vbRunResultFree(&result);
    vbRunOptionsFree(&options);
    return status;
}
