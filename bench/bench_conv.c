/* Times the Conv kernel on the convolution shapes of YOLOv8n at 640x640 and prints GFLOP/s per shape and in total.
 * Usage: bench_conv [threads] [runs] [disable_simd] [dw]; "dw" times depthwise layers of FastestDet and
 * EfficientNet-B0 instead. Times are the fastest run (wall) and the mean CPU time. Environment:
 * BENCH_SHAPE=cin,cout,size,kernel,stride[,dw] times one shape instead of a list, BENCH_ONLY=I
 * only entry I of the list, BENCH_NO_ACT=1 leaves out the fused SiLU and BENCH_COLD=1 evicts
 * the caches before each run. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/core.h"
#include "engine/op.h"

/* One convolution shape and how many times the model runs it; group 0
 * means a dense convolution, otherwise depthwise (group = cin = cout). */
typedef struct BenchShape {
    int count;
    int cin, cout, size, kernel, stride;
    int depthwise;
} BenchShape;

/* YOLOv8n (width 0.25, depth 0.33) at 640x640; size is the input side. */
static const BenchShape shapes[] = {
    {1, 3, 16, 640, 3, 2, 0},    {1, 16, 32, 320, 3, 2, 0},   {1, 32, 32, 160, 1, 1, 0},
    {2, 16, 16, 160, 3, 1, 0},   {1, 48, 32, 160, 1, 1, 0},   {1, 32, 64, 160, 3, 2, 0},
    {1, 64, 64, 80, 1, 1, 0},    {4, 32, 32, 80, 3, 1, 0},    {1, 128, 64, 80, 1, 1, 0},
    {1, 64, 128, 80, 3, 2, 0},   {1, 128, 128, 40, 1, 1, 0},  {4, 64, 64, 40, 3, 1, 0},
    {1, 256, 128, 40, 1, 1, 0},  {1, 128, 256, 40, 3, 2, 0},  {1, 256, 256, 20, 1, 1, 0},
    {2, 128, 128, 20, 3, 1, 0},  {1, 384, 256, 20, 1, 1, 0},  {1, 256, 128, 20, 1, 1, 0},
    {1, 512, 256, 20, 1, 1, 0},  {1, 384, 128, 40, 1, 1, 0},  {1, 192, 128, 40, 1, 1, 0},
    {1, 192, 64, 80, 1, 1, 0},   {2, 32, 32, 80, 3, 1, 0},    {1, 96, 64, 80, 1, 1, 0},
    {1, 64, 64, 80, 3, 2, 0},    {1, 192, 128, 40, 1, 1, 0},  {2, 64, 64, 40, 3, 1, 0},
    {1, 128, 128, 40, 3, 2, 0},  {1, 384, 256, 20, 1, 1, 0},  {2, 128, 128, 20, 3, 1, 0},
    {1, 64, 64, 80, 3, 1, 0},    {1, 64, 64, 80, 3, 1, 0},    {1, 64, 64, 80, 1, 1, 0},
    {1, 64, 80, 80, 3, 1, 0},    {1, 80, 80, 80, 3, 1, 0},    {1, 80, 80, 80, 1, 1, 0},
    {1, 128, 64, 40, 3, 1, 0},   {1, 64, 64, 40, 3, 1, 0},    {1, 64, 64, 40, 1, 1, 0},
    {1, 128, 80, 40, 3, 1, 0},   {1, 80, 80, 40, 3, 1, 0},    {1, 80, 80, 40, 1, 1, 0},
    {1, 256, 64, 20, 3, 1, 0},   {1, 64, 64, 20, 3, 1, 0},    {1, 64, 64, 20, 1, 1, 0},
    {1, 256, 80, 20, 3, 1, 0},   {1, 80, 80, 20, 3, 1, 0},    {1, 80, 80, 20, 1, 1, 0},
};

/* Returns the CPU time of the calling process in nanoseconds, which other
 * load on a shared machine disturbs less than wall time. */
static uint64_t cpuNowNs(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Depthwise layers of FastestDet (352x352 input) and EfficientNet-B0
 * (224x224), which spend most of their time in them. */
static const BenchShape depthwiseShapes[] = {
    {1, 24, 24, 176, 3, 2, 1},  {3, 24, 24, 88, 3, 1, 1},   {1, 48, 48, 88, 3, 2, 1},
    {7, 48, 48, 44, 3, 1, 1},   {1, 96, 96, 44, 3, 2, 1},   {3, 96, 96, 22, 3, 1, 1},
    {6, 96, 96, 22, 5, 1, 1},   {1, 32, 32, 112, 3, 1, 1},  {1, 96, 96, 112, 3, 2, 1},
    {1, 144, 144, 56, 3, 1, 1}, {1, 144, 144, 56, 5, 2, 1}, {2, 240, 240, 28, 5, 1, 1},
    {3, 480, 480, 14, 3, 1, 1}, {3, 672, 672, 14, 5, 1, 1}, {4, 1152, 1152, 7, 5, 1, 1},
};

static int64_t kernelAttr[2], strideAttr[2], padAttr[4];

/* Runs one shape reps times with the given threads; returns ms per run. */
static double timeShape(const BenchShape *s, int threads, int reps, int disable_simd, uint64_t *flops,
                        double *cpu_ms)
{
    const VbOpDef *op = vbOpFind("", "Conv", 13);
    int pad = s->kernel / 2;
    kernelAttr[0] = kernelAttr[1] = s->kernel;
    strideAttr[0] = strideAttr[1] = s->stride;
    padAttr[0] = padAttr[1] = padAttr[2] = padAttr[3] = pad;
    VbOnnxAttr attrs[4];
    memset(attrs, 0, sizeof attrs);
    attrs[0] = (VbOnnxAttr){.name = "kernel_shape", .type = VB_ONNX_ATTR_INTS, .int_count = 2, .ints = kernelAttr};
    attrs[1] = (VbOnnxAttr){.name = "strides", .type = VB_ONNX_ATTR_INTS, .int_count = 2, .ints = strideAttr};
    attrs[2] = (VbOnnxAttr){.name = "pads", .type = VB_ONNX_ATTR_INTS, .int_count = 4, .ints = padAttr};
    attrs[3] = (VbOnnxAttr){.name = "group", .type = VB_ONNX_ATTR_INT, .i = s->depthwise ? s->cin : 1};
    VbOnnxNode node = {.name = "bench", .op_type = "Conv", .domain = "", .attr_count = 4, .attrs = attrs};
    int cin_group = s->depthwise ? 1 : s->cin;

    size_t xn = (size_t)s->cin * s->size * s->size;
    size_t wn = (size_t)s->cout * cin_group * s->kernel * s->kernel;
    int out = (s->size + 2 * pad - s->kernel) / s->stride + 1;
    size_t yn = (size_t)s->cout * out * out;
    float *x = malloc(xn * sizeof(float)), *w = malloc(wn * sizeof(float));
    float *b = malloc((size_t)s->cout * sizeof(float)), *y = malloc(yn * sizeof(float));
    for (size_t i = 0; i < xn; i++)
        x[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
    for (size_t i = 0; i < wn; i++)
        w[i] = (float)((i * 104729) % 1000) / 10000.0f - 0.05f;
    for (int i = 0; i < s->cout; i++)
        b[i] = 0.01f * (float)i;
    int64_t xd[4] = {1, s->cin, s->size, s->size}, wd[4] = {s->cout, cin_group, s->kernel, s->kernel};
    int64_t bd[1] = {s->cout};
    vb_tensor tx = {VB_DTYPE_FLOAT32, 4, {0}, x}, tw = {VB_DTYPE_FLOAT32, 4, {0}, w};
    vb_tensor tb = {VB_DTYPE_FLOAT32, 1, {0}, b}, ty = {VB_DTYPE_FLOAT32, 0, {0}, NULL};
    memcpy(tx.dims, xd, sizeof xd);
    memcpy(tw.dims, wd, sizeof wd);
    memcpy(tb.dims, bd, sizeof bd);
    const vb_tensor *in[3] = {&tx, &tw, &tb};
    vb_tensor *outs[1] = {&ty};

    void *params = NULL;
    vb_error err = {0};
    VbOpInferInfo info = {0, 0, 1};
    double ms = -1.0;
    void *workspace = NULL;
    if (op->prepare(&node, 13, &params, &err) != VB_OK || op->pack(params, in, 3, &err) != VB_OK ||
        op->infer(params, in, 3, outs, 1, &info, &err) != VB_OK) {
        fprintf(stderr, "bench_conv: %s\n", err.message);
        goto done;
    }
    if (getenv("BENCH_NO_ACT") == NULL)
        op->fuse_activation(params, VB_ACT_SILU, 0.0f, 0.0f);
    ty.data = y;
    if (info.workspace_bytes && posix_memalign(&workspace, 64, info.workspace_bytes) != 0)
        goto done;
    VbOpRunContext ctx = {threads, disable_simd, workspace, info.workspace_bytes};
    op->run(params, in, 3, outs, 1, &ctx, &err);  /* warm-up */
    /* The minimum over the runs is the least disturbed by other load. */
    uint64_t best = UINT64_MAX, cpu_start = cpuNowNs();
    /* BENCH_COLD: evict the caches before each run, as the layers before
     * a convolution do in a model */
    size_t flush_bytes = getenv("BENCH_COLD") != NULL ? (size_t)64 << 20 : 0;
    char *flush = flush_bytes ? malloc(flush_bytes) : NULL;
    for (int r = 0; r < reps; r++) {
        if (flush != NULL)
            memset(flush, r, flush_bytes);
        uint64_t start = vbNowNs();
        op->run(params, in, 3, outs, 1, &ctx, &err);
        uint64_t took = vbNowNs() - start;
        best = took < best ? took : best;
    }
    free(flush);
    ms = (double)best / 1e6;
    *cpu_ms = (double)(cpuNowNs() - cpu_start) / 1e6 / reps;
    *flops = info.flops;
done:
    if (params)
        op->release(params);
    free(workspace);
    free(x);
    free(w);
    free(b);
    free(y);
    return ms;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    int reps = argc > 2 ? atoi(argv[2]) : 5;
    int disable_simd = argc > 3 ? atoi(argv[3]) : 0;
    int depthwise = argc > 4 && strcmp(argv[4], "dw") == 0;
    const BenchShape *list = depthwise ? depthwiseShapes : shapes;
    size_t count = depthwise ? sizeof depthwiseShapes / sizeof depthwiseShapes[0]
                             : sizeof shapes / sizeof shapes[0];
    printf("Conv on %s shapes, %d thread(s), %d reps, SIMD %s\n",
           depthwise ? "depthwise" : "YOLOv8n", threads, reps, disable_simd ? "off" : "on");
    printf("%5s %5s %5s %3s %2s %5s %9s %9s %8s\n", "cin", "cout", "size", "k", "s", "count", "min ms",
           "cpu ms", "GFLOP/s");
    double total_ms = 0.0, total_cpu = 0.0, total_flops = 0.0;
    /* BENCH_SHAPE=cin,cout,size,kernel,stride[,dw] times that one shape */
    BenchShape custom = {1, 0, 0, 0, 0, 0, 0};
    const char *shape = getenv("BENCH_SHAPE");
    if (shape != NULL) {
        char kind[8] = "";
        if (sscanf(shape, "%d,%d,%d,%d,%d,%7s", &custom.cin, &custom.cout, &custom.size,
                   &custom.kernel, &custom.stride, kind) < 5 || custom.cin < 1 || custom.cout < 1 ||
            custom.size < 1 || custom.kernel < 1 || custom.stride < 1) {
            fprintf(stderr,
                    "bench_conv: invalid BENCH_SHAPE '%s'; expected positive integers "
                    "cin,cout,size,kernel,stride[,dw], for example 64,64,40,3,1\n",
                    shape);
            return 2;
        }
        custom.depthwise = strcmp(kind, "dw") == 0;
        list = &custom;
        count = 1;
    }
    const char *only = getenv("BENCH_ONLY");
    for (size_t i = 0; i < count; i++) {
        if (only != NULL && (size_t)atoi(only) != i)
            continue;
        uint64_t flops = 0;
        double cpu_ms = 0.0;
        double ms = timeShape(&list[i], threads, reps, disable_simd, &flops, &cpu_ms);
        if (ms < 0)
            return 1;
        printf("%5d %5d %5d %3d %2d %5d %9.3f %9.3f %8.1f\n", list[i].cin, list[i].cout,
               list[i].size, list[i].kernel, list[i].stride, list[i].count, ms, cpu_ms,
               (double)flops / ms / 1e6);
        total_ms += ms * list[i].count;
        total_cpu += cpu_ms * list[i].count;
        total_flops += (double)flops * list[i].count;
    }
    printf("total: %.2f ms (%.2f ms CPU) for %.2f GFLOP, %.1f GFLOP/s\n", total_ms, total_cpu,
           total_flops / 1e9, total_flops / total_ms / 1e6);
    return 0;
}
