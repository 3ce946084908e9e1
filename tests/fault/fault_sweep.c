/* Fault sweeps over the loaders: fail the Nth allocation, then the Nth file access, for every N, and require a clean error. */
#define _GNU_SOURCE
#include <jansson.h>
#include <libxml/xmlmemory.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz/fuzz_util.h"
#include "bad_models/pb_writer.h"
#include "dataset/dataset.h"
#include "fault/fault.h"
#include "image/decode.h"
#include "metrics/coco_eval.h"
#include "visionbench/engine.h"
#include "vbtest.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VB_HAVE_LSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define VB_HAVE_LSAN 1
#endif
#ifdef VB_HAVE_LSAN
#include <sanitizer/lsan_interface.h>
#endif

/* A sweep stops with a failure past this many faults: the operation must
 * end once N passes its last counted call. */
#define SWEEP_MAX_FAULTS 200000

/* The input files of every case, written once into a temporary folder. */
typedef struct SweepInputs {
    char dir[64];
    char path[16][4200];
} SweepInputs;

enum { IN_MODEL, IN_IMAGES, IN_PNG, IN_CSV, IN_COCO, IN_YOLO, IN_VOC, IN_RESULTS, IN_JPEG };

/* One operation under test. On success it writes a short description of
 * its result (counts) to summary, so that a fault the operation absorbs can
 * be compared with the fault-free result. */
typedef vb_status (*SweepOperation)(const SweepInputs *in, char *summary, size_t size,
                                    vb_error *err);

/* Writes text to dir/name; returns 0 on success. */
static int writeText(const char *dir, const char *name, const char *text)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    size_t n = strlen(text);
    int failed = fwrite(text, 1, n, f) != n;
    failed |= fclose(f) != 0;
    return failed ? -1 : 0;
}

/* Writes a Conv (3x3, 3 -> 4 channels) followed by Relu on a fixed
 * [1, 3, 8, 8] input: initializers, shape inference and planning all run. */
static int writeModel(const char *path)
{
    float weights[4 * 3 * 3 * 3];
    for (size_t i = 0; i < sizeof weights / sizeof weights[0]; i++)
        weights[i] = (float)i / 100.0f - 0.5f;
    int64_t wdims[4] = {4, 3, 3, 3};
    int64_t xdims[4] = {1, 3, 8, 8};
    int64_t ydims[4] = {1, 4, 6, 6};

    PbBuf graph = {0}, conv = {0}, relu = {0}, model = {0};
    pbString(&conv, 1, "x");
    pbString(&conv, 1, "w");
    pbString(&conv, 2, "c");
    pbString(&conv, 3, "conv");
    pbString(&conv, 4, "Conv");
    pbMessage(&graph, 1, &conv);
    pbString(&relu, 1, "c");
    pbString(&relu, 2, "y");
    pbString(&relu, 3, "relu");
    pbString(&relu, 4, "Relu");
    pbMessage(&graph, 1, &relu);
    pbFloatTensor(&graph, 5, "w", wdims, 4, weights, sizeof weights / sizeof weights[0]);
    pbValueInfo(&graph, 11, "x", xdims, NULL, 4);
    pbValueInfo(&graph, 12, "y", ydims, NULL, 4);
    pbModel(&model, &graph);
    int rc = pbWriteFile(&model, path);
    pbFree(&model);
    return rc;
}

static const char CSV_TEXT[] =
    "image,xmin,ymin,xmax,ymax,label\n"
    "road_a.png,2,3,20,18,car\n"
    "road_b.png,1,1,30,22,truck\n"
    "road_b.png,4,5,9,9,person\n";

static const char COCO_TEXT[] =
    "{\"images\":[{\"id\":1,\"file_name\":\"road_a.png\",\"width\":32,\"height\":24},"
    "{\"id\":2,\"file_name\":\"road_b.png\",\"width\":32,\"height\":24}],"
    "\"annotations\":[{\"id\":1,\"image_id\":1,\"category_id\":3,\"bbox\":[2,3,18,15],"
    "\"area\":270,\"iscrowd\":0},{\"id\":2,\"image_id\":2,\"category_id\":1,"
    "\"bbox\":[1,1,5,5],\"area\":25,\"iscrowd\":1}],"
    "\"categories\":[{\"id\":1,\"name\":\"person\"},{\"id\":3,\"name\":\"car\"}]}";

static const char RESULTS_TEXT[] =
    "[{\"image_id\":1,\"category_id\":3,\"bbox\":[2,3,18,15],\"score\":0.9},"
    "{\"image_id\":2,\"category_id\":1,\"bbox\":[1.5,1,5,5],\"score\":0.25},"
    "{\"image_id\":2,\"category_id\":3,\"bbox\":[0,0,4,4],\"score\":1.0,\"extra\":[1,2]}]";

static const char VOC_A[] =
    "<?xml version=\"1.0\"?>\n<annotation><filename>road_a.png</filename>"
    "<size><width>32</width><height>24</height><depth>3</depth></size>"
    "<object><name>car</name><difficult>0</difficult>"
    "<bndbox><xmin>3</xmin><ymin>4</ymin><xmax>20</xmax><ymax>18</ymax></bndbox></object>"
    "<object><name>truck</name><difficult>1</difficult>"
    "<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>40</xmax><ymax>10</ymax></bndbox></object>"
    "</annotation>\n";

static const char VOC_B[] =
    "<annotation><object><name>person</name>"
    "<bndbox><xmin>5</xmin><ymin>6</ymin><xmax>9</xmax><ymax>9</ymax></bndbox></object>"
    "</annotation>\n";

/* Creates the temporary folder and every input; returns 0 on success. */
static int writeInputs(SweepInputs *in)
{
    snprintf(in->dir, sizeof in->dir, "/tmp/vb_fault_XXXXXX");
    if (mkdtemp(in->dir) == NULL)
        return -1;
    static const char *const names[] = {
        [IN_MODEL] = "model.onnx", [IN_IMAGES] = "images", [IN_PNG] = "images/road_a.png",
        [IN_CSV] = "gt.csv", [IN_COCO] = "gt.json", [IN_YOLO] = "yolo",
        [IN_VOC] = "voc", [IN_RESULTS] = "results.json"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        snprintf(in->path[i], sizeof in->path[i], "%s/%s", in->dir, names[i]);

    char sub[4200];
    int failed = 0;
    snprintf(sub, sizeof sub, "%s/images", in->dir);
    failed |= mkdir(sub, 0700);
    snprintf(sub, sizeof sub, "%s/yolo", in->dir);
    failed |= mkdir(sub, 0700);
    snprintf(sub, sizeof sub, "%s/voc", in->dir);
    failed |= mkdir(sub, 0700);
    failed |= writeModel(in->path[IN_MODEL]);
    failed |= fuzzWritePng(in->path[IN_PNG], 32, 24);
    snprintf(sub, sizeof sub, "%s/images/road_b.png", in->dir);
    failed |= fuzzWritePng(sub, 32, 24);
    failed |= writeText(in->dir, "gt.csv", CSV_TEXT);
    failed |= writeText(in->dir, "gt.json", COCO_TEXT);
    failed |= writeText(in->dir, "results.json", RESULTS_TEXT);
    failed |= writeText(in->path[IN_YOLO], "classes.txt", "car\ntruck\nperson\n");
    failed |= writeText(in->path[IN_YOLO], "road_a.txt", "0 0.4 0.5 0.5 0.5\n1 0.1 0.1 0.05 0.05\n");
    failed |= writeText(in->path[IN_YOLO], "road_b.txt", "2 0.5 0.5 0.25 0.25\n");
    failed |= writeText(in->path[IN_VOC], "road_a.xml", VOC_A);
    failed |= writeText(in->path[IN_VOC], "road_b.xml", VOC_B);
    return failed ? -1 : 0;
}

static void removeInputs(const SweepInputs *in)
{
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", in->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fault_sweep: cannot remove %s\n", in->dir);
}

static vb_status runModel(const SweepInputs *in, char *summary, size_t size, vb_error *err)
{
    vb_engine_options options;
    vb_engine_options_init(&options);
    options.threads = 1;
    vb_engine *engine = NULL;
    vb_status st = vb_engine_load(in->path[IN_MODEL], &options, &engine, err);
    if (st == VB_OK) {
        vb_engine_stats stats;
        vb_engine_get_stats(engine, &stats);
        snprintf(summary, size, "nodes %d, arena %llu bytes", stats.node_count,
                 (unsigned long long)stats.arena_bytes);
    }
    vb_engine_free(engine);
    return st;
}

/* Decodes the image at path, summarising size and warnings. */
static vb_status decodePath(const char *path, char *summary, size_t size, vb_error *err)
{
    VbImage image = {0};
    VbImageInfo info;
    VbWarnings warnings = {0};
    vb_status st = vbImageDecodeFile(path, &image, &info, &warnings, err);
    if (st == VB_OK)
        snprintf(summary, size, "%d x %d, %d warnings", image.width, image.height, warnings.count);
    vbImageFree(&image);
    vbWarningsClear(&warnings);
    return st;
}

static vb_status decodeImage(const SweepInputs *in, char *summary, size_t size, vb_error *err)
{
    const char *path = in->path[IN_JPEG][0] != '\0' ? in->path[IN_JPEG] : in->path[IN_PNG];
    return decodePath(path, summary, size, err);
}

/* The PNG on its own: libpng allocates through malloc, so the sweep
 * reaches its allocations as well as the decoder's own. */
static vb_status decodePng(const SweepInputs *in, char *summary, size_t size, vb_error *err)
{
    return decodePath(in->path[IN_PNG], summary, size, err);
}

static vb_status loadDataset(const char *path, const SweepInputs *in, char *summary, size_t size,
                             vb_error *err)
{
    VbDataset *d = NULL;
    vb_status st = vbDatasetLoad(path, in->path[IN_IMAGES], NULL, &d, err);
    if (st == VB_OK)
        snprintf(summary, size, "%zu images, %zu boxes, %zu categories, %d warnings, "
                 "%zu missing, %zu unreadable", d->image_count, d->annotation_count,
                 d->category_count, d->warnings.count, d->missing_image_count,
                 d->unreadable_image_count);
    vbDatasetFree(d);
    return st;
}

static vb_status loadCsv(const SweepInputs *in, char *summary, size_t size, vb_error *err)
{
    return loadDataset(in->path[IN_CSV], in, summary, size, err);
}

static vb_status loadCoco(const SweepInputs *in, char *summary, size_t size, vb_error *err)
{
    return loadDataset(in->path[IN_COCO], in, summary, size, err);
}

static vb_status loadYolo(const SweepInputs *in, char *summary, size_t size, vb_error *err)
{
    return loadDataset(in->path[IN_YOLO], in, summary, size, err);
}

static vb_status loadVoc(const SweepInputs *in, char *summary, size_t size, vb_error *err)
{
    return loadDataset(in->path[IN_VOC], in, summary, size, err);
}

static vb_status loadResults(const SweepInputs *in, char *summary, size_t size, vb_error *err)
{
    VbDetectionList list = {0};
    vb_status st = vbCocoResultsLoad(in->path[IN_RESULTS], &list, err);
    if (st == VB_OK)
        snprintf(summary, size, "%zu detections", list.count);
    vbDetectionListFree(&list);
    return st;
}

/* Returns nonzero when LeakSanitizer finds memory leaked since its last
 * check (it prints the allocation stacks). Always 0 without ASan. */
static int leaked(void)
{
#ifdef VB_HAVE_LSAN
    return __lsan_do_recoverable_leak_check();
#else
    return 0;
#endif
}

/* Runs op with the Nth allocation (alloc != 0) or the Nth file access
 * failing, for N = 1, 2, ... until a run passes its last counted call. The
 * run without a fault must succeed; every faulted run must succeed or fail
 * with a message, and leak nothing. A faulted run that succeeds ("absorbed")
 * with a result other than the fault-free one is listed: the loaders turn
 * some failures into warnings, such as an unreadable image. Returns the
 * number of faults injected. */
static long sweep(const char *name, SweepOperation op, const SweepInputs *in, int alloc)
{
    const char *kind = alloc ? "allocation" : "file access";
    char expected[256] = "", summary[256];
    vb_error err = {0};
    CHECK_MSG(op(in, expected, sizeof expected, &err) == VB_OK, "%s: fails without a fault: %s",
              name, err.message);

    long absorbed = 0, changed = 0;
    long n;
    for (n = 1; n <= SWEEP_MAX_FAULTS; n++) {
        memset(&err, 0, sizeof err);
        summary[0] = '\0';
        vbFaultArm(alloc ? n : 0, alloc ? 0 : n);
        vb_status st = op(in, summary, sizeof summary, &err);
        int fired = vbFaultFired();
        vbFaultDisarm();

        CHECK_MSG(!leaked(), "%s: leak with %s %ld failing", name, kind, n);
        if (!fired)
            break;
        if (st != VB_OK) {
            CHECK_MSG(err.message[0] != '\0', "%s: %s %ld failing gives status %d without a message",
                      name, kind, n, (int)st);
            continue;
        }
        absorbed++;
        if (strcmp(summary, expected) != 0) {
            changed++;
            printf("  %s, %s %ld failing: %s (without a fault: %s)\n", name, kind, n, summary,
                   expected);
        }
    }
    CHECK_MSG(n <= SWEEP_MAX_FAULTS, "%s: still calling after %d faults", name, SWEEP_MAX_FAULTS);
    printf("%-8s %-11s %5ld faults, %ld absorbed without an error, %ld of them with another result\n",
           name, kind, n - 1, absorbed, changed);
    return n - 1;
}

/* Allocators for jansson and libxml2 that go through the wrapped malloc,
 * so that the sweeps also fail allocations inside those libraries and check
 * how the loaders handle them. */
static void *libraryMalloc(size_t size)
{
    return malloc(size);
}

static void *libraryRealloc(void *p, size_t size)
{
    return realloc(p, size);
}

static char *libraryStrdup(const char *s)
{
    return strdup(s);
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        SweepOperation op;
    } cases[] = {
        {"onnx", runModel}, {"image", decodeImage}, {"png", decodePng}, {"csv", loadCsv}, {"coco", loadCoco},
        {"yolo", loadYolo}, {"voc", loadVoc}, {"results", loadResults},
    };
    const char *only = argc > 1 ? argv[1] : NULL;
    json_set_alloc_funcs(libraryMalloc, free);
    xmlMemSetup(free, libraryMalloc, libraryRealloc, libraryStrdup);

    SweepInputs in;
    memset(&in, 0, sizeof in);
    if (writeInputs(&in) != 0) {
        fprintf(stderr, "fault_sweep: cannot write the inputs under %s\n", in.dir);
        return 1;
    }
    /* A progressive JPEG runs more of the decoder than the PNG does. */
    const char *shared = getenv("VB_SHARED_DIR");
    if (shared != NULL) {
        snprintf(in.path[IN_JPEG], sizeof in.path[IN_JPEG],
                 "%s/datasets/bad-inputs/images/progressive.jpg", shared);
        if (access(in.path[IN_JPEG], R_OK) != 0)
            in.path[IN_JPEG][0] = '\0';
    }

    int matched = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (only != NULL && strcmp(only, cases[i].name) != 0)
            continue;
        matched = 1;
        CHECK(sweep(cases[i].name, cases[i].op, &in, 1) > 0);
        CHECK(sweep(cases[i].name, cases[i].op, &in, 0) > 0);
    }
    CHECK_MSG(matched, "unknown case '%s'", only);
    removeInputs(&in);
    TEST_END();
}
