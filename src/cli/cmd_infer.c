/* visionbench infer: run one model on a raw float32 input, dump its outputs, time runs, profile nodes. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "core/core.h"
#include "engine/engine_internal.h"
#include "engine/op.h"

/* Upper bound on --runs and --warmup, so a typo cannot run for days. */
#define MAX_RUNS 1000000

typedef struct InferArgs {
    const char *model;
    const char *input;
    const char *dump_dir;
    int has_shape;
    vb_input_shape shape;
    int threads;
    int runs;        /* 0: one untimed run */
    int warmup;
    int json;
    int profile;
    int no_fusion;
    int no_inplace;
    int no_simd;
} InferArgs;

static void printInferUsage(FILE *out)
{
    fprintf(out,
            "usage: visionbench infer --model MODEL.onnx --input IN.f32 [options]\n"
            "\n"
            "Runs the model on one raw little-endian float32 input (C order).\n"
            "\n"
            "options:\n"
            "  --model PATH     ONNX model file\n"
            "  --input PATH     input tensor: raw little-endian float32, C order\n"
            "  --shape D,D,...  input shape, e.g. 1,3,640,640 (required when the model\n"
            "                   leaves a dimension open; must match fixed dimensions)\n"
            "  --threads N      worker threads; 0 uses every online core (default 0)\n"
            "  --dump DIR       write DIR/<index>.f32 for each output (raw float32; integer\n"
            "                   and bool outputs are converted) and DIR/outputs.json\n"
            "  --runs N         time N runs; print min, median, p95 and mean in ms\n"
            "  --warmup W       untimed runs before the timed ones (default 1)\n"
            "  --json           print the timing as one JSON object\n"
            "  --profile        print time per node and per op type after the runs\n"
            "  --no-fusion      run activations, channel scales and global pools as\n"
            "                   separate nodes\n"
            "                   (also VB_NO_FUSION=1)\n"
            "  --no-inplace     run every Concat as a copy instead of having its inputs\n"
            "                   written in place\n"
            "  --no-simd        use the portable C kernels only (also VB_NO_SIMD=1)\n");
}

/* Parses a non-negative decimal integer no larger than max. */
static int parseCount(const char *text, long long max, long long *out)
{
    char *end = NULL;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < 0 || value > max)
        return 0;
    *out = value;
    return 1;
}

/* Parses "1,3,640,640" into shape. Returns 0 with a message in reason on error. */
static int parseShape(const char *text, vb_input_shape *shape, char *reason, size_t reason_size)
{
    const char *p = text;
    shape->name = NULL;
    shape->rank = 0;
    if (*p == '\0') {
        snprintf(reason, reason_size, "--shape is empty; give dimensions like 1,3,640,640");
        return 0;
    }
    for (;;) {
        if (shape->rank == VB_MAX_RANK) {
            snprintf(reason, reason_size, "--shape '%s' has more than %d dimensions", text, VB_MAX_RANK);
            return 0;
        }
        char *end = NULL;
        errno = 0;
        long long dim = strtoll(p, &end, 10);
        if (errno != 0 || end == p || dim < 0 || (*end != ',' && *end != '\0')) {
            snprintf(reason, reason_size,
                     "--shape '%s' is not a list of non-negative integers like 1,3,640,640", text);
            return 0;
        }
        shape->dims[shape->rank++] = dim;
        if (*end == '\0')
            return 1;
        p = end + 1;
    }
}

/* Parses argv into args. Returns -1 to go on, or the exit status (0 after
 * --help, 2 for a usage error). */
static int parseArgs(int argc, char **argv, InferArgs *args)
{
    memset(args, 0, sizeof *args);
    args->warmup = 1;
    const char *no_fusion = getenv("VB_NO_FUSION");
    args->no_fusion = no_fusion != NULL && strcmp(no_fusion, "1") == 0;
    const char *no_simd = getenv("VB_NO_SIMD");
    args->no_simd = no_simd != NULL && strcmp(no_simd, "1") == 0;

    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        long long number;
        char reason[256];

        if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) {
            printInferUsage(stdout);
            return 0;
        } else if (strcmp(opt, "--json") == 0) {
            args->json = 1;
            continue;
        } else if (strcmp(opt, "--profile") == 0) {
            args->profile = 1;
            continue;
        } else if (strcmp(opt, "--no-fusion") == 0) {
            args->no_fusion = 1;
            continue;
        } else if (strcmp(opt, "--no-inplace") == 0) {
            args->no_inplace = 1;
            continue;
        } else if (strcmp(opt, "--no-simd") == 0) {
            args->no_simd = 1;
            continue;
        }

        /* Every other option takes a value. */
        static const char *const value_options[] = {"--model", "--input", "--dump", "--shape",
                                                    "--threads", "--runs", "--warmup"};
        int known = 0;
        for (size_t k = 0; k < sizeof value_options / sizeof value_options[0]; k++)
            known |= strcmp(opt, value_options[k]) == 0;
        if (!known) {
            vbCliError("unknown %s '%s'; run 'visionbench infer --help'",
                       strncmp(opt, "--", 2) == 0 ? "option" : "argument", opt);
            return 2;
        }
        if (value == NULL) {
            vbCliError("option %s needs a value; run 'visionbench infer --help'", opt);
            return 2;
        }
        i++;
        if (strcmp(opt, "--model") == 0) {
            args->model = value;
        } else if (strcmp(opt, "--input") == 0) {
            args->input = value;
        } else if (strcmp(opt, "--dump") == 0) {
            args->dump_dir = value;
        } else if (strcmp(opt, "--shape") == 0) {
            if (!parseShape(value, &args->shape, reason, sizeof reason)) {
                vbCliError("%s", reason);
                return 2;
            }
            args->has_shape = 1;
        } else if (strcmp(opt, "--threads") == 0) {
            /* 0 means every online core, as for `visionbench run`. */
            if (!parseCount(value, 1024, &number)) {
                vbCliError("--threads '%s' is not a thread count from 0 (every core) to 1024",
                           value);
                return 2;
            }
            args->threads = (int)number;
        } else if (strcmp(opt, "--runs") == 0) {
            if (!parseCount(value, MAX_RUNS, &number) || number == 0) {
                vbCliError("--runs '%s' is not a run count from 1 to %d", value, MAX_RUNS);
                return 2;
            }
            args->runs = (int)number;
        } else if (strcmp(opt, "--warmup") == 0) {
            if (!parseCount(value, MAX_RUNS, &number)) {
                vbCliError("--warmup '%s' is not a run count from 0 to %d", value, MAX_RUNS);
                return 2;
            }
            args->warmup = (int)number;
        }
    }
    if (args->model == NULL || args->input == NULL) {
        vbCliError("infer needs --model and --input; run 'visionbench infer --help'");
        return 2;
    }
    /* Timing output and profiles need at least one timed run. */
    if (args->runs == 0 && (args->json || args->profile))
        args->runs = 1;
    return -1;
}

/* Converts n elements of an output of any numeric type to float32. */
static void convertToFloat(const vb_tensor *t, size_t n, float *dst)
{
    for (size_t i = 0; i < n; i++) {
        switch (t->dtype) {
        case VB_DTYPE_FLOAT32: dst[i] = ((const float *)t->data)[i]; break;
        case VB_DTYPE_FLOAT64: dst[i] = (float)((const double *)t->data)[i]; break;
        case VB_DTYPE_INT64: dst[i] = (float)((const int64_t *)t->data)[i]; break;
        case VB_DTYPE_INT32: dst[i] = (float)((const int32_t *)t->data)[i]; break;
        case VB_DTYPE_INT16: dst[i] = (float)((const int16_t *)t->data)[i]; break;
        case VB_DTYPE_INT8: dst[i] = (float)((const int8_t *)t->data)[i]; break;
        case VB_DTYPE_UINT64: dst[i] = (float)((const uint64_t *)t->data)[i]; break;
        case VB_DTYPE_UINT32: dst[i] = (float)((const uint32_t *)t->data)[i]; break;
        case VB_DTYPE_UINT16: dst[i] = (float)((const uint16_t *)t->data)[i]; break;
        case VB_DTYPE_UINT8:
        case VB_DTYPE_BOOL: dst[i] = (float)((const uint8_t *)t->data)[i]; break;
        case VB_DTYPE_FLOAT16: {
            /* IEEE 754 binary16: 1 sign, 5 exponent, 10 mantissa bits. */
            uint16_t h = ((const uint16_t *)t->data)[i];
            int exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
            float magnitude = exponent == 0    ? ldexpf((float)mantissa, -24)
                              : exponent == 31 ? (mantissa ? NAN : INFINITY)
                                               : ldexpf((float)(mantissa | 0x400), exponent - 25);
            dst[i] = (h & 0x8000) ? -magnitude : magnitude;
            break;
        }
        default: dst[i] = NAN; break;
        }
    }
}

static json_t *shapeJson(const int64_t *dims, int rank)
{
    json_t *shape = json_array();
    for (int d = 0; d < rank; d++)
        json_array_append_new(shape, json_integer((json_int_t)dims[d]));
    return shape;
}

/* Writes DIR/<index>.f32 for every output and DIR/outputs.json. */
static int dumpOutputs(const vb_engine *engine, const char *dir, const char *model_path)
{
    int ok = 0;
    float *converted = NULL;
    char *path = NULL;
    json_t *outputs = json_array();
    json_t *root = json_pack("{s:s, s:s, s:o}", "model", model_path, "file_format",
                             "raw little-endian float32, C order", "outputs", outputs);
    vb_error err = {0};

    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        vbCliError("failed to create dump folder '%s': %s", dir, strerror(errno));
        goto done;
    }
    for (int i = 0; i < vb_engine_output_count(engine); i++) {
        const vb_tensor *t = vb_engine_output(engine, i);
        const vb_tensor_info *info = vb_engine_output_info(engine, i);
        size_t n = vbTensorCount(t);
        const void *bytes = t->data;
        char name[32];

        /* Non-float32 outputs go through a float32 copy. */
        if (t->dtype != VB_DTYPE_FLOAT32) {
            free(converted);
            converted = malloc(n * sizeof(float) + 1);
            if (converted == NULL) {
                vbCliError("out of memory converting output '%s' to float32", info->name);
                goto done;
            }
            convertToFloat(t, n, converted);
            bytes = converted;
        }
        snprintf(name, sizeof name, "%d.f32", i);
        free(path);
        path = vbPathJoin(dir, name);
        if (path == NULL || vbFileWrite(path, bytes, n * sizeof(float), &err) != VB_OK) {
            vbCliError("%s", path == NULL ? "out of memory" : err.message);
            goto done;
        }
        json_array_append_new(outputs, json_pack("{s:i, s:s, s:s, s:s, s:o}", "index", i, "name",
                                                 info->name, "file", name, "dtype",
                                                 vb_dtype_to_string(t->dtype), "shape",
                                                 shapeJson(t->dims, t->rank)));
    }
    free(path);
    path = vbPathJoin(dir, "outputs.json");
    if (path == NULL || json_dump_file(root, path, JSON_INDENT(2)) != 0) {
        vbCliError("failed to write '%s'", path != NULL ? path : "outputs.json");
        goto done;
    }
    ok = 1;

done:
    free(converted);
    free(path);
    json_decref(root);
    return ok;
}

static int compareDouble(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Summary of the timed runs, in milliseconds. */
typedef struct RunTimes {
    double min, median, p95, mean;
} RunTimes;

/* Sorts ms[0..n-1] and summarises it. p95 is the nearest-rank percentile. */
static RunTimes summarise(double *ms, int n)
{
    RunTimes r = {0, 0, 0, 0};
    if (n <= 0)
        return r;
    qsort(ms, (size_t)n, sizeof *ms, compareDouble);
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += ms[i];
    int rank = (int)((95 * (long long)n + 99) / 100);  /* ceil(0.95 n), at least 1 */
    r.min = ms[0];
    r.median = n % 2 ? ms[n / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2;
    r.p95 = ms[rank - 1];
    r.mean = sum / n;
    return r;
}

/* Time of one op type summed over its nodes. */
typedef struct OpTotal {
    const char *op_type;
    double ms;
    int nodes;
} OpTotal;

typedef struct NodeTime {
    VbNodeProfile profile;
    double ms;  /* mean per run */
} NodeTime;

static int compareNodeTime(const void *a, const void *b)
{
    double x = ((const NodeTime *)a)->ms, y = ((const NodeTime *)b)->ms;
    return x > y ? -1 : x < y;
}

static int compareOpTotal(const void *a, const void *b)
{
    double x = ((const OpTotal *)a)->ms, y = ((const OpTotal *)b)->ms;
    return x > y ? -1 : x < y;
}

/* Collects the per-node profile sorted by time and totals per op type.
 * Returns the node count, or -1 when out of memory; the caller frees both arrays. */
/* Writes the first output's dims as "1x16x208x208" into buf ("-" when the
 * node has none). */
static void profileShape(const VbNodeProfile *p, char *buf, size_t size)
{
    snprintf(buf, size, "-");
    if (p->output == NULL || p->output->rank < 0)
        return;
    size_t used = 0;
    buf[0] = '\0';
    for (int d = 0; d < p->output->rank && used < size; d++) {
        int wrote = snprintf(buf + used, size - used, "%s%lld", d ? "x" : "",
                             (long long)p->output->dims[d]);
        if (wrote < 0)
            break;
        used += (size_t)wrote;
    }
    if (p->output->rank == 0)
        snprintf(buf, size, "scalar");
}

static int collectProfile(const vb_engine *engine, NodeTime **nodes_out, OpTotal **ops_out,
                          int *op_count_out, double *total_ms)
{
    int n = vbEngineNodeCount(engine);
    uint64_t runs = vbEngineProfileRuns(engine);
    NodeTime *nodes = calloc((size_t)n + 1, sizeof *nodes);
    OpTotal *ops = calloc((size_t)n + 1, sizeof *ops);
    int op_count = 0;

    if (nodes == NULL || ops == NULL) {
        free(nodes);
        free(ops);
        return -1;
    }
    *total_ms = 0;
    for (int i = 0; i < n; i++) {
        vbEngineNodeProfile(engine, i, &nodes[i].profile);
        nodes[i].ms = runs ? (double)nodes[i].profile.total_ns / 1e6 / (double)runs : 0.0;
        *total_ms += nodes[i].ms;
        int k = 0;
        while (k < op_count && strcmp(ops[k].op_type, nodes[i].profile.op_type) != 0)
            k++;
        if (k == op_count)
            ops[op_count++].op_type = nodes[i].profile.op_type;
        ops[k].ms += nodes[i].ms;
        ops[k].nodes++;
    }
    qsort(nodes, (size_t)n, sizeof *nodes, compareNodeTime);
    qsort(ops, (size_t)op_count, sizeof *ops, compareOpTotal);
    *nodes_out = nodes;
    *ops_out = ops;
    *op_count_out = op_count;
    return n;
}

static double percentOf(double part, double total)
{
    return total > 0 ? 100.0 * part / total : 0.0;
}

/* Prints the profile as text, or adds it to root as "nodes" and "op_types". */
static void reportProfile(const vb_engine *engine, json_t *root)
{
    NodeTime *nodes = NULL;
    OpTotal *ops = NULL;
    int op_count = 0;
    double total = 0;
    int n = collectProfile(engine, &nodes, &ops, &op_count, &total);
    if (n < 0) {
        vbCliError("out of memory collecting the profile");
        return;
    }

    if (root != NULL) {
        json_t *node_list = json_array(), *op_list = json_array();
        for (int i = 0; i < n; i++) {
            const VbNodeProfile *p = &nodes[i].profile;
            char shape[96];
            profileShape(p, shape, sizeof shape);
            json_array_append_new(
                node_list, json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:s, s:I, s:f, s:f}", "name",
                                     p->name, "op_type", p->op_type, "fused", p->fused,
                                     "fused_input", p->fused_input, "fused_output",
                                     p->fused_output, "output", shape,
                                     "flops", (json_int_t)p->flops, "ms", nodes[i].ms, "percent",
                                     percentOf(nodes[i].ms, total)));
        }
        for (int i = 0; i < op_count; i++)
            json_array_append_new(op_list, json_pack("{s:s, s:i, s:f, s:f}", "op_type",
                                                     ops[i].op_type, "nodes", ops[i].nodes, "ms",
                                                     ops[i].ms, "percent",
                                                     percentOf(ops[i].ms, total)));
        json_object_set_new(root, "nodes", node_list);
        json_object_set_new(root, "op_types", op_list);
    } else {
        printf("\nprofile: mean time per run over %llu runs, %.3f ms in nodes\n",
               (unsigned long long)vbEngineProfileRuns(engine), total);
        printf("%10s %7s %8s  %-24s %-20s %s\n", "ms", "%", "GFLOP/s", "op", "output", "node");
        for (int i = 0; i < n; i++) {
            const VbNodeProfile *p = &nodes[i].profile;
            char op[96], shape[96], rate[16] = "-";
            /* the parts in run order: Mul+Conv+SiLU+GlobalAveragePool */
            snprintf(op, sizeof op, "%s%s%s%s%s%s%s", p->fused_input ? p->fused_input : "",
                     p->fused_input ? "+" : "", p->op_type, p->fused ? "+" : "",
                     p->fused ? p->fused : "", p->fused_output ? "+" : "",
                     p->fused_output ? p->fused_output : "");
            profileShape(p, shape, sizeof shape);
            if (p->flops > 0 && nodes[i].ms > 0)
                snprintf(rate, sizeof rate, "%.1f", (double)p->flops / (nodes[i].ms * 1e6));
            printf("%10.3f %7.2f %8s  %-24s %-20s %s\n", nodes[i].ms, percentOf(nodes[i].ms, total),
                   rate, op, shape, p->name[0] ? p->name : "(unnamed)");
        }
        printf("\nby op type:\n%10s %7s  %6s  %s\n", "ms", "%", "nodes", "op");
        for (int i = 0; i < op_count; i++)
            printf("%10.3f %7.2f  %6d  %s\n", ops[i].ms, percentOf(ops[i].ms, total),
                   ops[i].nodes, ops[i].op_type);
    }
    free(nodes);
    free(ops);
}

/* Maps the input file and checks its size against the engine's input. */
static int mapInput(const vb_engine *engine, const InferArgs *args, VbMappedFile *file,
                    vb_tensor *tensor)
{
    vb_error err = {0};
    char shape[128];

    if (vb_engine_input_count(engine) != 1) {
        vbCliError("model '%s' has %d inputs; infer feeds exactly one (--input)", args->model,
                   vb_engine_input_count(engine));
        return 0;
    }
    const vb_tensor_info *info = vb_engine_input_info(engine, 0);
    if (info->dtype != VB_DTYPE_FLOAT32) {
        vbCliError("model input '%s' is %s; infer feeds float32 only", info->name,
                   vb_dtype_to_string(info->dtype));
        return 0;
    }
    memset(tensor, 0, sizeof *tensor);
    tensor->dtype = info->dtype;
    tensor->rank = info->rank;
    memcpy(tensor->dims, info->dims, sizeof tensor->dims);

    if (vbFileMap(args->input, file, &err) != VB_OK) {
        vbCliError("%s", err.message);
        return 0;
    }
    size_t need = vbTensorBytes(tensor);
    if (file->size != need) {
        vbCliError("input file '%s' has %zu bytes but input '%s' of shape %s (float32) needs %zu "
                   "bytes; check --input and --shape",
                   args->input, file->size, info->name, vbShapeString(tensor, shape, sizeof shape),
                   need);
        return 0;
    }
    tensor->data = (void *)file->data;
    return 1;
}

/* Runs the warm-up runs, then the timed runs into ms[0..runs-1]. Returns 0 on error. */
static int runTimed(vb_engine *engine, const vb_tensor *input, const InferArgs *args, double *ms)
{
    vb_error err = {0};
    int runs = args->runs > 0 ? args->runs : 1;
    int warmup = args->runs > 0 ? args->warmup : 0;

    for (int i = 0; i < warmup + runs; i++) {
        if (i == warmup)
            vbEngineProfileReset(engine);
        uint64_t start = vbNowNs();
        if (vb_engine_run(engine, input, 1, &err) != VB_OK) {
            vbCliError("%s: %s", args->model, err.message);
            return 0;
        }
        if (i >= warmup)
            ms[i - warmup] = (double)(vbNowNs() - start) / 1e6;
    }
    return 1;
}

/* Prints the outputs' names, shapes and types (the result of a plain run). */
static void printOutputs(const vb_engine *engine)
{
    for (int i = 0; i < vb_engine_output_count(engine); i++) {
        const vb_tensor *t = vb_engine_output(engine, i);
        char shape[128];
        printf("output %d '%s': %s %s\n", i, vb_engine_output_info(engine, i)->name,
               vbShapeString(t, shape, sizeof shape), vb_dtype_to_string(t->dtype));
    }
}

/* Returns a new JSON array of ms[0..n-1] in run order, or NULL when out of memory. */
static json_t *timesToJson(const double *ms, int n)
{
    json_t *array = json_array();
    for (int i = 0; array != NULL && i < n; i++)
        json_array_append_new(array, json_real(ms[i]));
    return array;
}

/* Prints the timing summary as text or JSON. run_times (NULL allowed) is the
 * array of single run times that JSON output includes as "times_ms"; this
 * function takes ownership of it. */
static void reportTimes(const vb_engine *engine, const InferArgs *args, RunTimes times,
                        json_t *run_times, double load_ms)
{
    vb_engine_stats stats;
    vb_engine_get_stats(engine, &stats);

    if (args->json) {
        json_t *root = json_pack(
            "{s:s, s:i, s:i, s:i, s:f, s:f, s:f, s:f, s:f, s:I, s:I, s:I, s:i, s:b, s:b}", "model",
            args->model, "runs", args->runs, "warmup", args->warmup, "threads", stats.threads,
            "min_ms", times.min, "median_ms", times.median, "p95_ms", times.p95, "mean_ms",
            times.mean, "load_ms", load_ms, "weight_bytes", (json_int_t)stats.weight_bytes,
            "arena_bytes", (json_int_t)stats.arena_bytes, "flops", (json_int_t)stats.flops,
            "node_count", stats.node_count, "fusion", !args->no_fusion, "inplace_concat",
            !args->no_inplace);
        json_object_set_new(root, "simd", json_boolean(!args->no_simd));
        json_object_set_new(root, "times_ms", run_times);
        if (args->profile)
            reportProfile(engine, root);
        json_dumpf(root, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(root);
        return;
    }
    json_decref(run_times);
    printf("model %s: load %.1f ms, %d nodes, weights %.2f MB, arena %.2f MB, %.3f GFLOPs\n",
           args->model, load_ms, stats.node_count, (double)stats.weight_bytes / 1e6,
           (double)stats.arena_bytes / 1e6, (double)stats.flops / 1e9);
    if (args->runs > 0)
        printf("%d run%s (after %d warm-up), %d thread%s: min %.3f ms, median %.3f ms, "
               "p95 %.3f ms, mean %.3f ms\n",
               args->runs, args->runs == 1 ? "" : "s", args->warmup, stats.threads,
               stats.threads == 1 ? "" : "s", times.min, times.median, times.p95,
               times.mean);
    if (args->profile)
        reportProfile(engine, NULL);
}

int vbCmdInfer(int argc, char **argv)
{
    InferArgs args;
    int exit_code = parseArgs(argc, argv, &args);
    if (exit_code >= 0)
        return exit_code;
    exit_code = 1;

    vb_engine *engine = NULL;
    VbMappedFile input_file = {NULL, 0};
    double *ms = NULL;
    vb_error err = {0};

    /* Load and plan the model. */
    vb_engine_options options;
    vb_engine_options_init(&options);
    options.threads = args.threads;
    options.profile = args.profile;
    options.disable_simd = args.no_simd;
    if (args.has_shape) {
        options.input_shape_count = 1;
        options.input_shapes = &args.shape;
    }
    VbEngineConfig config = {args.no_fusion, args.no_inplace, 0};
    uint64_t load_start = vbNowNs();
    if (vbEngineLoad(args.model, &options, &config, &engine, &err) != VB_OK) {
        vbCliError("%s", err.message);
        goto done;
    }
    double load_ms = (double)(vbNowNs() - load_start) / 1e6;

    /* Feed the input file, run, report. */
    vb_tensor input;
    if (!mapInput(engine, &args, &input_file, &input))
        goto done;
    ms = calloc((size_t)(args.runs > 0 ? args.runs : 1), sizeof *ms);
    if (ms == NULL) {
        vbCliError("out of memory for %d run times", args.runs);
        goto done;
    }
    if (!runTimed(engine, &input, &args, ms))
        goto done;
    if (args.dump_dir != NULL && !dumpOutputs(engine, args.dump_dir, args.model))
        goto done;

    if (args.runs > 0) {
        json_t *run_times = args.json ? timesToJson(ms, args.runs) : NULL;
        reportTimes(engine, &args, summarise(ms, args.runs), run_times, load_ms);
    }
    if (!args.json)
        printOutputs(engine);
    exit_code = 0;

done:
    free(ms);
    vbFileUnmap(&input_file);
    vb_engine_free(engine);
    return exit_code;
}
