/* Runs the ONNX backend node tests (model.onnx plus test_data_set_* folders) through the engine and compares every output. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/core.h"
#include "engine/engine_internal.h"
#include "engine/op.h"
#include "onnx/onnx.h"
#include "visionbench/engine.h"

#define DEFAULT_DATA_DIR "/usr/share/libonnx-testdata/data/node"
#define MAX_TENSORS 64             /* inputs or outputs per test data set */
#define MAX_PB_BYTES ((size_t)1 << 30)
#define MAX_TESTS 8192

/* Float outputs match when |got - want| <= ATOL + RTOL * |want|, or both
 * are NaN. */
#define RTOL 1e-3
#define ATOL 1e-7

typedef struct Skip {
    char *name;
    char *reason;
} Skip;

typedef struct Totals {
    int claimed, passed, failed, skipped, unclaimed;
} Totals;

/* One test data set: decoded inputs and expected outputs. */
typedef struct DataSet {
    int n_in, n_out;
    VbOnnxTensor *in[MAX_TENSORS];
    VbOnnxTensor *out[MAX_TENSORS];
} DataSet;

static int compareNames(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists the entries of dir that start with prefix, sorted; the caller frees
 * each name and the array. Returns the count, or -1 when dir cannot be read. */
static int listDir(const char *dir, const char *prefix, char ***out)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return -1;
    char **names = NULL;
    int n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < MAX_TESTS) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **grown = realloc(names, sizeof *names * (size_t)cap);
            if (grown == NULL)
                break;
            names = grown;
        }
        names[n++] = vbStrdup(e->d_name);
    }
    closedir(d);
    if (n > 0)
        qsort(names, (size_t)n, sizeof *names, compareNames);
    *out = names;
    return n;
}

static void freeNames(char **names, int n)
{
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* Reads the skip list: one `test_name  reason` per line, '#' starts a comment. */
static int loadSkips(const char *path, Skip **out)
{
    char *text = NULL;
    vb_error err;
    *out = NULL;
    if (path == NULL || vbFileRead(path, 1 << 20, &text, NULL, &err) != VB_OK)
        return 0;
    int n = 0, cap = 0;
    Skip *skips = NULL;
    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        while (*line == ' ' || *line == '\t')
            line++;
        if (*line == '#' || *line == '\0')
            continue;
        char *sep = line + strcspn(line, " \t");
        char *reason = sep + strspn(sep, " \t");
        *sep = '\0';
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            Skip *grown = realloc(skips, sizeof *skips * (size_t)cap);
            if (grown == NULL)
                break;
            skips = grown;
        }
        skips[n].name = vbStrdup(line);
        skips[n].reason = vbStrdup(*reason ? reason : "(no reason given)");
        n++;
    }
    free(text);
    *out = skips;
    return n;
}

static const char *findSkip(const Skip *skips, int n, const char *name)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(skips[i].name, name) == 0)
            return skips[i].reason;
    }
    return NULL;
}

/* Returns the first op of the graph the registry does not claim, written
 * into buf as "domain.Op (opset N)", or NULL when every op is claimed. */
static const char *unclaimedOp(const VbOnnxModel *model, char *buf, size_t size)
{
    const VbOnnxGraph *g = model->graph;
    for (int i = 0; i < g->node_count; i++) {
        const VbOnnxNode *node = &g->nodes[i];
        const char *domain = node->domain ? node->domain : "";
        int64_t opset = vbOnnxModelOpset(model, domain);
        if (opset < 0 || vbOpFind(domain, node->op_type, opset) == NULL) {
            snprintf(buf, size, "%s%s%s (opset %lld)", domain, *domain ? "." : "", node->op_type,
                     (long long)opset);
            return buf;
        }
    }
    return NULL;
}

static void freeDataSet(DataSet *ds)
{
    for (int i = 0; i < ds->n_in; i++)
        vbOnnxTensorFree(ds->in[i]);
    for (int i = 0; i < ds->n_out; i++)
        vbOnnxTensorFree(ds->out[i]);
    memset(ds, 0, sizeof *ds);
}

static vb_status loadPb(const char *path, VbOnnxTensor **out, vb_error *err)
{
    char *bytes = NULL;
    size_t len = 0;
    vb_status st = vbFileRead(path, MAX_PB_BYTES, &bytes, &len, err);
    if (st != VB_OK)
        return st;
    st = vbOnnxTensorDecode((const uint8_t *)bytes, len, out, err);
    free(bytes);
    if (st != VB_OK)
        vbErrorPrefix(err, "%s: ", path);
    return st;
}

/* Decodes input_<i>.pb and output_<i>.pb of one data set folder. */
static vb_status loadDataSet(const char *dir, DataSet *ds, vb_error *err)
{
    memset(ds, 0, sizeof *ds);
    char path[8192];
    for (int kind = 0; kind < 2; kind++) {
        for (int i = 0; i < MAX_TENSORS; i++) {
            int len = snprintf(path, sizeof path, "%s/%s_%d.pb", dir, kind ? "output" : "input", i);
            struct stat sb;
            if (len >= (int)sizeof path || stat(path, &sb) != 0)
                break;
            VbOnnxTensor **slot = kind ? &ds->out[i] : &ds->in[i];
            vb_status st = loadPb(path, slot, err);
            if (st != VB_OK)
                return st;
            if (kind)
                ds->n_out++;
            else
                ds->n_in++;
        }
    }
    return VB_OK;
}

/* Returns graph input number k among the inputs that are not initializers,
 * or NULL. These are the inputs that input_<k>.pb feeds. */
static const VbOnnxValueInfo *feedInput(const VbOnnxGraph *g, int k)
{
    int seen = 0;
    for (int i = 0; i < g->input_count; i++) {
        int is_init = 0;
        for (int j = 0; j < g->initializer_count && !is_init; j++)
            is_init = strcmp(g->initializers[j].name, g->inputs[i].name) == 0;
        if (is_init)
            continue;
        if (seen++ == k)
            return &g->inputs[i];
    }
    return NULL;
}

static int isIntegerType(vb_dtype t)
{
    return t == VB_DTYPE_INT32 || t == VB_DTYPE_INT64;
}

/* A copy of a model whose integer inputs (or, with all set, every input)
 * are initializers containing the data set's values: for ops that need shapes,
 * axes, pads or Range bounds as constants. */
typedef struct PatchedModel {
    VbOnnxModel model;
    VbOnnxGraph graph;
    VbOnnxTensor *initializers;
    VbOnnxValueInfo *inputs;
} PatchedModel;

static vb_status patchModel(const VbOnnxModel *src, const DataSet *ds, int all, PatchedModel *pm,
                            vb_error *err)
{
    const VbOnnxGraph *g = src->graph;
    memset(pm, 0, sizeof *pm);
    pm->initializers = calloc((size_t)g->initializer_count + (size_t)ds->n_in + 1,
                              sizeof *pm->initializers);
    pm->inputs = calloc((size_t)g->input_count + 1, sizeof *pm->inputs);
    if (pm->initializers == NULL || pm->inputs == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory patching the model");
    memcpy(pm->initializers, g->initializers, sizeof *pm->initializers * (size_t)g->initializer_count);
    int n_init = g->initializer_count, n_inputs = 0;
    for (int i = 0; i < g->input_count; i++) {
        const VbOnnxValueInfo *info = &g->inputs[i];
        int k = -1;
        for (int j = 0; j < ds->n_in && k < 0; j++) {
            if (feedInput(g, j) == info)
                k = j;
        }
        if (k >= 0 && (all || isIntegerType(ds->in[k]->dtype))) {
            pm->initializers[n_init] = *ds->in[k];
            pm->initializers[n_init].name = info->name;
            n_init++;
        } else {
            pm->inputs[n_inputs++] = *info;
        }
    }
    pm->graph = *g;
    pm->graph.initializers = pm->initializers;
    pm->graph.initializer_count = n_init;
    pm->graph.inputs = pm->inputs;
    pm->graph.input_count = n_inputs;
    pm->model = *src;
    pm->model.graph = &pm->graph;
    return VB_OK;
}

static void freePatched(PatchedModel *pm)
{
    free(pm->initializers);
    free(pm->inputs);
}

/* Compares one output. Returns 1 when it matches, else 0 with the first
 * mismatch described in msg. */
static int compareTensor(const vb_tensor *got, const VbOnnxTensor *want, char *msg, size_t size)
{
    if (got->dtype != want->dtype) {
        snprintf(msg, size, "output '%s' has type %s, expected %s", want->name ? want->name : "?",
                 vb_dtype_to_string(got->dtype), vb_dtype_to_string(want->dtype));
        return 0;
    }
    int same_shape = got->rank == want->rank;
    for (int d = 0; same_shape && d < got->rank; d++)
        same_shape = got->dims[d] == want->dims[d];
    if (!same_shape) {
        char a[96], b[96];
        vb_tensor w = {want->dtype, want->rank, {0}, NULL};
        memcpy(w.dims, want->dims, sizeof w.dims);
        snprintf(msg, size, "output '%s' has shape %s, expected %s", want->name ? want->name : "?",
                 vbShapeString(got, a, sizeof a), vbShapeString(&w, b, sizeof b));
        return 0;
    }
    size_t n = want->count;
    for (size_t i = 0; i < n; i++) {
        int ok;
        double x = 0, y = 0;
        if (want->dtype == VB_DTYPE_FLOAT32 || want->dtype == VB_DTYPE_FLOAT64) {
            x = want->dtype == VB_DTYPE_FLOAT32 ? ((const float *)got->data)[i]
                                                : ((const double *)got->data)[i];
            y = want->dtype == VB_DTYPE_FLOAT32 ? ((const float *)want->data)[i]
                                                : ((const double *)want->data)[i];
            ok = (isnan(x) && isnan(y)) || x == y || fabs(x - y) <= ATOL + RTOL * fabs(y);
        } else {
            size_t es = vb_dtype_size(want->dtype);
            ok = memcmp((const char *)got->data + i * es, (const char *)want->data + i * es, es) == 0;
        }
        if (!ok) {
            snprintf(msg, size, "output '%s' element %zu is %.9g, expected %.9g",
                     want->name ? want->name : "?", i, x, y);
            return 0;
        }
    }
    return 1;
}

/* Loads the model with the data set's input shapes, runs it and compares.
 * Returns 1 on a match; otherwise msg contains the reason. *patched is 1
 * when the integer inputs had to become constants, 2 when every input had. */
static int runDataSet(const char *model_path, const VbOnnxModel *model, const DataSet *ds,
                      int *patched, char *msg, size_t size)
{
    const VbOnnxGraph *g = model->graph;
    vb_input_shape shapes[MAX_TENSORS];
    vb_engine_options opts;
    vb_engine_options_init(&opts);
    opts.threads = 2;
    for (int i = 0; i < ds->n_in; i++) {
        const VbOnnxValueInfo *info = feedInput(g, i);
        if (info == NULL) {
            snprintf(msg, size, "input_%d.pb has no matching graph input", i);
            return 0;
        }
        shapes[i].name = info->name;
        shapes[i].rank = ds->in[i]->rank;
        memcpy(shapes[i].dims, ds->in[i]->dims, sizeof shapes[i].dims);
    }
    opts.input_shape_count = ds->n_in;
    opts.input_shapes = shapes;

    /* Load as a user would. When an op needs a constant that the test feeds
     * as an input, retry with the integer inputs turned into initializers,
     * then with every input. */
    vb_engine *engine = NULL;
    vb_error err = {0};
    PatchedModel pm = {0};
    int ok = 0;
    *patched = 0;
    vb_status st = vb_engine_load(model_path, &opts, &engine, &err);
    for (int all = 0; all < 2 && st == VB_ERR_UNSUPPORTED &&
                      strstr(err.message, "requires a constant") != NULL; all++) {
        *patched = all + 1;
        freePatched(&pm);
        st = patchModel(model, ds, all, &pm, &err);
        if (st == VB_OK) {
            int kept = 0;
            for (int i = 0; i < ds->n_in; i++) {
                if (!all && !isIntegerType(ds->in[i]->dtype))
                    shapes[kept++] = shapes[i];
            }
            opts.input_shape_count = kept;
            st = vbEngineCreate(&pm.model, &opts, NULL, &engine, &err);
        }
    }
    if (st != VB_OK) {
        snprintf(msg, size, "load failed: %s", err.message);
        goto done;
    }

    /* Feed the inputs by name, run, compare every output in order. */
    vb_tensor inputs[MAX_TENSORS];
    int n_inputs = vb_engine_input_count(engine);
    for (int i = 0; i < n_inputs && i < MAX_TENSORS; i++) {
        const vb_tensor_info *info = vb_engine_input_info(engine, i);
        int k = -1;
        for (int j = 0; j < ds->n_in && k < 0; j++) {
            if (strcmp(feedInput(g, j)->name, info->name) == 0)
                k = j;
        }
        if (k < 0) {
            snprintf(msg, size, "no test data for input '%s'", info->name);
            goto done;
        }
        inputs[i].dtype = ds->in[k]->dtype;
        inputs[i].rank = ds->in[k]->rank;
        memcpy(inputs[i].dims, ds->in[k]->dims, sizeof inputs[i].dims);
        inputs[i].data = (void *)ds->in[k]->data;
    }
    if (vb_engine_run(engine, inputs, n_inputs, &err) != VB_OK) {
        snprintf(msg, size, "run failed: %s", err.message);
        goto done;
    }
    if (vb_engine_output_count(engine) != ds->n_out) {
        snprintf(msg, size, "engine has %d outputs, test data has %d",
                 vb_engine_output_count(engine), ds->n_out);
        goto done;
    }
    ok = 1;
    for (int i = 0; i < ds->n_out && ok; i++)
        ok = compareTensor(vb_engine_output(engine, i), ds->out[i], msg, size);

done:
    vb_engine_free(engine);
    freePatched(&pm);
    return ok;
}

/* Runs one test folder and prints its line. */
static void runTest(const char *root, const char *name, const Skip *skips, int n_skips,
                    int verbose, int run_skipped, Totals *totals)
{
    char path[8192], buf[256], msg[1024];
    vb_error err = {0};
    VbOnnxModel *model = NULL;
    snprintf(path, sizeof path, "%s/%s/model.onnx", root, name);
    if (vbOnnxModelLoad(path, &model, &err) != VB_OK) {
        totals->unclaimed++;
        if (verbose)
            printf("UNCLAIMED %s: model does not decode: %s\n", name, err.message);
        return;
    }
    const char *op = unclaimedOp(model, buf, sizeof buf);
    if (op != NULL) {
        totals->unclaimed++;
        if (verbose)
            printf("UNCLAIMED %s: %s\n", name, op);
        vbOnnxModelFree(model);
        return;
    }
    totals->claimed++;
    const char *reason = findSkip(skips, n_skips, name);
    if (reason != NULL && !run_skipped) {
        totals->skipped++;
        printf("SKIP %s: %s\n", name, reason);
        vbOnnxModelFree(model);
        return;
    }

    /* Every data set must match. */
    char dir[8192];
    snprintf(dir, sizeof dir, "%s/%s", root, name);
    char **sets = NULL;
    int n_sets = listDir(dir, "test_data_set_", &sets);
    int ok = n_sets > 0, patched = 0;
    snprintf(msg, sizeof msg, "no test_data_set folders");
    for (int s = 0; s < n_sets && ok; s++) {
        DataSet ds;
        char set_dir[8192];
        int len = snprintf(set_dir, sizeof set_dir, "%s/%s", dir, sets[s]);
        if (len >= (int)sizeof set_dir) {
            memset(&ds, 0, sizeof ds);
            snprintf(msg, sizeof msg, "path too long for data set %.200s", sets[s]);
            ok = 0;
        } else if (loadDataSet(set_dir, &ds, &err) != VB_OK) {
            snprintf(msg, sizeof msg, "test data does not decode: %s", err.message);
            ok = 0;
        } else {
            int p = 0;
            ok = runDataSet(path, model, &ds, &p, msg, sizeof msg);
            patched = p > patched ? p : patched;
        }
        freeDataSet(&ds);
    }
    freeNames(sets, n_sets > 0 ? n_sets : 0);
    if (ok) {
        totals->passed++;
        printf("PASS %s%s\n", name, patched == 2   ? " (all inputs as constants)"
                                     : patched == 1 ? " (integer inputs as constants)"
                                                    : "");
    } else {
        totals->failed++;
        printf("FAIL %s: %s\n", name, msg);
    }
    vbOnnxModelFree(model);
}

int main(int argc, char **argv)
{
    const char *root = DEFAULT_DATA_DIR, *skip_path = NULL, *filter = NULL;
    int verbose = 0, run_skipped = 0;
    char default_skips[4096];
    const char *src = getenv("VB_SOURCE_DIR");
    if (src != NULL) {
        snprintf(default_skips, sizeof default_skips, "%s/tests/onnx_node_skips.txt", src);
        skip_path = default_skips;
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--skips") == 0 && i + 1 < argc)
            skip_path = argv[++i];
        else if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc)
            filter = argv[++i];
        else if (strcmp(argv[i], "-v") == 0)
            verbose = 1;
        else if (strcmp(argv[i], "--run-skipped") == 0)
            run_skipped = 1;
        else if (argv[i][0] != '-')
            root = argv[i];
        else {
            fprintf(stderr,
                    "usage: %s [DATA_DIR] [--skips FILE] [--filter SUBSTRING] [-v] "
                    "[--run-skipped]\n"
                    "  -v             also list the tests whose ops are not all claimed\n"
                    "  --run-skipped  run the listed tests too, to find entries that pass now\n",
                    argv[0]);
            return 2;
        }
    }

    char **tests = NULL;
    int n_tests = listDir(root, "test_", &tests);
    if (n_tests <= 0) {
        printf("skipped: no ONNX node tests in %s (install libonnx-testdata)\n", root);
        return 77;
    }
    Skip *skips = NULL;
    int n_skips = loadSkips(skip_path, &skips);

    Totals totals = {0};
    for (int i = 0; i < n_tests; i++) {
        if (filter == NULL || strstr(tests[i], filter) != NULL)
            runTest(root, tests[i], skips, n_skips, verbose, run_skipped, &totals);
    }
    printf("claimed %d, passed %d, failed %d, skipped %d (listed), not claimed %d\n",
           totals.claimed, totals.passed, totals.failed, totals.skipped, totals.unclaimed);

    freeNames(tests, n_tests);
    for (int i = 0; i < n_skips; i++) {
        free(skips[i].name);
        free(skips[i].reason);
    }
    free(skips);
    return totals.failed ? 1 : 0;
}
