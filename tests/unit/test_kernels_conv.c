/* Tests the Conv kernel against a naive reference on random shapes, attributes, activations, thread counts and SIMD settings. */
#include "kernels/sgemm.h"
#include "kernels_ref.h"

static const char *const onnxCases[] = {
    "test_basic_conv_with_padding",
    "test_basic_conv_without_padding",
    "test_conv_with_autopad_same",
    "test_conv_with_strides_and_asymmetric_padding",
    "test_conv_with_strides_no_padding",
    "test_conv_with_strides_padding",
};

static const VbOpDef *convOp(void)
{
    return vbOpFind("", "Conv", 13);
}

typedef struct ConvCase {
    RefConv r;
    int rank;          /* 3 (1-D) or 4 */
    const char *auto_pad;
    int give_kernel;   /* set kernel_shape */
    int bias;
} ConvCase;

/* Runs one case with cfg and compares against the reference; returns the
 * output (caller frees) for cross-configuration comparisons. *cached, when
 * not NULL, keeps the reference output between runs of the same case and
 * activation (the caller frees it). */
static float *runConvCaseCached(const ConvCase *cc, const RefRun *cfg, const char *label,
                                float **cached)
{
    const RefConv *r = &cc->r;
    int cg = r->c / r->group;
    size_t xn = (size_t)r->n * r->c * r->h * r->w;
    size_t wn = (size_t)r->m * cg * r->kh * r->kw;
    size_t yn = (size_t)r->n * r->m * r->oh * r->ow;
    refRngState = 0x1234567ull + (uint64_t)xn * 31 + wn;
    float *x = refRandArray(xn), *w = refRandArray(wn), *b = refRandArray((size_t)r->m);
    float *y = calloc(yn + 1, sizeof(float));
    float *want = cached && *cached ? *cached : NULL;

    RefNode node;
    refNodeInit(&node, "Conv");
    int sp = cc->rank - 2;
    int64_t strides[2] = {r->sh, r->sw}, dil[2] = {r->dh, r->dw}, ks[2] = {r->kh, r->kw};
    int64_t pads[4] = {r->pt, r->pl, r->pb, r->pr};
    if (sp == 1) {
        strides[0] = r->sw;
        dil[0] = r->dw;
        ks[0] = r->kw;
        pads[0] = r->pl;
        pads[1] = r->pr;
    }
    refNodeInts(&node, "strides", sp, strides);
    refNodeInts(&node, "dilations", sp, dil);
    if (cc->give_kernel)
        refNodeInts(&node, "kernel_shape", sp, ks);
    if (cc->auto_pad)
        refNodeString(&node, "auto_pad", cc->auto_pad);
    else
        refNodeInts(&node, "pads", 2 * sp, pads);
    refNodeInt(&node, "group", r->group);

    int64_t xd[4] = {r->n, r->c, r->h, r->w}, wd[4] = {r->m, cg, r->kh, r->kw}, bd[1] = {r->m};
    if (sp == 1) {
        xd[2] = r->w;
        wd[2] = r->kw;
    }
    vb_tensor tx = refTensor(VB_DTYPE_FLOAT32, cc->rank, xd, x);
    vb_tensor tw = refTensor(VB_DTYPE_FLOAT32, cc->rank, wd, w);
    vb_tensor tb = refTensor(VB_DTYPE_FLOAT32, 1, bd, b);
    vb_tensor ty = refTensor(VB_DTYPE_FLOAT32, 0, NULL, y);
    vb_tensor *in[3] = {&tx, &tw, cc->bias ? &tb : NULL};
    vb_tensor *out[1] = {&ty};
    vb_error err = {0};
    VbOpInferInfo info = {0, 0, 0};
    vb_status st = refRunOp(convOp(), &node.node, cfg, in, 3, 0x6u, out, 1, yn, &info, &err);
    CHECK_MSG(st == VB_OK, "%s: %s", label, err.message);
    if (st == VB_OK) {
        CHECK_EQ_INT(ty.rank, cc->rank);
        CHECK_EQ_INT(ty.dims[1], r->m);
        CHECK_EQ_INT(ty.dims[cc->rank - 1], r->ow);
        CHECK_EQ_INT(info.flops, 2ull * yn * (uint64_t)(cg * r->kh * r->kw));
        if (want == NULL) {
            want = calloc(yn + 1, sizeof(float));
            refConv(r, x, w, cc->bias ? b : NULL, want, cfg->act, cfg->alpha, cfg->beta);
        }
        refCompare(label, y, want, yn, 2e-5);
    }
    free(x);
    free(w);
    free(b);
    if (cached)
        *cached = want;
    else
        free(want);
    return y;
}

static float *runConvCase(const ConvCase *cc, const RefRun *cfg, const char *label)
{
    return runConvCaseCached(cc, cfg, label, NULL);
}

static int outSize(int in, int k, int s, int d, int pb, int pe)
{
    return (in + pb + pe - ((k - 1) * d + 1)) / s + 1;
}

/* Random geometry within limits that keep the naive reference fast. */
static ConvCase randomCase(int i)
{
    ConvCase cc;
    memset(&cc, 0, sizeof cc);
    RefConv *r = &cc.r;
    r->n = refRandInt(1, 2);
    int kind = i % 5;  /* 0 dense, 1 grouped, 2 depthwise, 3 pointwise, 4 1-D */
    r->group = kind == 1 ? refRandInt(2, 3) : 1;
    int cg = refRandInt(1, 19);
    r->c = cg * r->group;
    r->m = refRandInt(1, 40) * r->group;
    if (kind == 2) {
        r->c = refRandInt(1, 20);
        r->group = r->c;
        r->m = r->c;
    }
    r->h = kind == 4 ? 1 : refRandInt(1, 23);
    r->w = refRandInt(1, i % 6 == 0 ? 100 : 37);
    r->kh = kind == 4 || kind == 3 ? 1 : refRandInt(1, 5);
    r->kw = kind == 3 ? 1 : refRandInt(1, 5);
    r->sh = kind == 4 || kind == 3 ? 1 : refRandInt(1, 3);
    r->sw = kind == 3 ? 1 : refRandInt(1, 3);
    r->dh = kind == 4 || kind == 3 ? 1 : refRandInt(1, 2);
    r->dw = kind == 3 ? 1 : refRandInt(1, 2);
    int maxpad = kind == 3 ? 0 : 4;
    r->pt = kind == 4 ? 0 : refRandInt(0, maxpad);
    r->pb = kind == 4 ? 0 : refRandInt(0, maxpad);
    r->pl = refRandInt(0, maxpad);
    r->pr = refRandInt(0, maxpad);
    /* grow the image until the dilated kernel fits */
    while (r->h + r->pt + r->pb < (r->kh - 1) * r->dh + 1)
        r->h++;
    while (r->w + r->pl + r->pr < (r->kw - 1) * r->dw + 1)
        r->w++;
    r->oh = outSize(r->h, r->kh, r->sh, r->dh, r->pt, r->pb);
    r->ow = outSize(r->w, r->kw, r->sw, r->dw, r->pl, r->pr);
    cc.rank = kind == 4 ? 3 : 4;
    cc.give_kernel = refRandInt(0, 1);
    cc.bias = refRandInt(0, 3) != 0;
    return cc;
}

static const VbActivation acts[] = {VB_ACT_NONE, VB_ACT_RELU, VB_ACT_SIGMOID, VB_ACT_SILU,
                                    VB_ACT_HARDSWISH, VB_ACT_HARDSIGMOID, VB_ACT_LEAKYRELU,
                                    VB_ACT_CLIP};

static void testRandomCases(void)
{
    for (int i = 0; i < 120; i++) {
        refRngState = 0xC0FFEEull + (uint64_t)i * 7919;
        ConvCase cc = randomCase(i);
        RefRun cfg = {11, 1, 0, i % 3 != 0, acts[i % 8], 0.2f, 0.6f};
        if (cfg.act == VB_ACT_CLIP) {
            cfg.alpha = -0.5f;
            cfg.beta = 0.7f;
        }
        char label[160];
        snprintf(label, sizeof label, "case %d: n%d c%d %dx%d m%d k%dx%d s%d,%d d%d,%d p%d,%d,%d,%d g%d act %d",
                 i, cc.r.n, cc.r.c, cc.r.h, cc.r.w, cc.r.m, cc.r.kh, cc.r.kw, cc.r.sh, cc.r.sw,
                 cc.r.dh, cc.r.dw, cc.r.pt, cc.r.pl, cc.r.pb, cc.r.pr, cc.r.group, (int)cfg.act);
        float *want = NULL;
        float *one_thread = runConvCaseCached(&cc, &cfg, label, &want);
        cfg.threads = 2;
        float *two_threads = runConvCaseCached(&cc, &cfg, label, &want);
        size_t yn = (size_t)cc.r.n * cc.r.m * cc.r.oh * cc.r.ow;
        CHECK_MSG(memcmp(one_thread, two_threads, sizeof(float) * yn) == 0, "%s: 1 and 2 threads differ", label);
        cfg.disable_simd = 1;
        free(runConvCaseCached(&cc, &cfg, label, &want));
        free(one_thread);
        free(two_threads);
        free(want);
    }
}

/* A shape large enough for several K blocks and N tiles. */
static void testLargeShape(void)
{
    ConvCase cc;
    memset(&cc, 0, sizeof cc);
    cc.r = (RefConv){1, 64, 24, 30, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
    cc.r.oh = 24;
    cc.r.ow = 30;
    cc.rank = 4;
    cc.bias = 1;
    RefRun cfg = {11, 2, 0, 1, VB_ACT_SILU, 0, 0};
    free(runConvCase(&cc, &cfg, "large 3x3"));
    cfg.pack = 0;
    free(runConvCase(&cc, &cfg, "large 3x3 unpacked"));
}

/* How runShapeTable runs the shapes of one table. */
typedef struct ShapeTable {
    const char *name;             /* for labels */
    const RefConv *shapes;
    size_t count;
    VbActivation acts[3];         /* fused activation of variants 0, 1, 2 */
    float alpha;
    int always_pack;              /* variant 1 packs the weights at load too */
    size_t no_bias;               /* this shape runs without bias (count: none) */
} ShapeTable;

/* Runs every shape of t in three variants against the reference: 1
 * thread; 2 threads with the weights packed at run time (unless
 * always_pack); SIMD off. */
static void runShapeTable(const ShapeTable *t)
{
    for (size_t i = 0; i < t->count; i++) {
        ConvCase cc;
        memset(&cc, 0, sizeof cc);
        cc.r = t->shapes[i];
        cc.r.oh = outSize(cc.r.h, cc.r.kh, cc.r.sh, cc.r.dh, cc.r.pt, cc.r.pb);
        cc.r.ow = outSize(cc.r.w, cc.r.kw, cc.r.sw, cc.r.dw, cc.r.pl, cc.r.pr);
        cc.rank = 4;
        cc.bias = i != t->no_bias;
        for (int variant = 0; variant < 3; variant++) {
            RefRun cfg = {11, 1 + variant % 2, variant == 2, variant != 1 || t->always_pack,
                          t->acts[variant], t->alpha, 0};
            char label[64];
            snprintf(label, sizeof label, "%s %zu variant %d", t->name, i, variant);
            free(runConvCase(&cc, &cfg, label));
        }
    }
}

/* Output rows wide enough for the row-pointer path, with strides,
 * dilations and uneven pads that exercise the stride-phase split. */
static void testWideRows(void)
{
    static const RefConv shapes[] = {
        /* n  c  h    w   m  kh kw g  sh sw dh dw pt pl pb pr */
        {1, 3, 9, 161, 16, 3, 3, 1, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0},
        {1, 5, 7, 200, 40, 3, 3, 1, 1, 1, 2, 2, 2, 2, 1, 3, 0, 0},
        {2, 4, 11, 230, 9, 4, 5, 1, 3, 3, 2, 1, 0, 3, 2, 0, 0, 0},
        {1, 2, 6, 140, 33, 2, 2, 1, 2, 2, 1, 1, 0, 0, 0, 0, 0, 0},
        {1, 8, 1, 300, 24, 1, 3, 1, 1, 2, 1, 1, 0, 1, 0, 1, 0, 0},
        {1, 6, 5, 150, 12, 3, 3, 2, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0},
    };
    ShapeTable t = {"wide rows", shapes, sizeof shapes / sizeof shapes[0],
                    {VB_ACT_LEAKYRELU, VB_ACT_LEAKYRELU, VB_ACT_LEAKYRELU}, 0.1f, 0,
                    sizeof shapes / sizeof shapes[0]};
    runShapeTable(&t);
}

/* 3x3 stride-1 shapes that take the Winograd path when the weights are
 * packed at load: odd and even output sizes, tile rows shorter and longer
 * than one vector, uneven pads and a batch of two. */
static void testWinograd(void)
{
    static const RefConv shapes[] = {
        /* n  c   h   w   m  kh kw g  sh sw dh dw pt pl pb pr */
        {1, 16, 8, 8, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0},
        {1, 19, 11, 37, 21, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0},
        {2, 24, 9, 70, 40, 3, 3, 1, 1, 1, 1, 1, 0, 2, 2, 0, 0, 0},
        {1, 33, 6, 5, 17, 3, 3, 1, 1, 1, 1, 1, 1, 0, 0, 1, 0, 0},
        {1, 40, 23, 23, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0},
    };
    ShapeTable t = {"winograd", shapes, sizeof shapes / sizeof shapes[0],
                    {VB_ACT_SILU, VB_ACT_NONE, VB_ACT_RELU}, 0, 1, 3};
    runShapeTable(&t);
}

/* Depthwise shapes with output rows of 32 columns or more, which take the
 * per-plane path. 3x3 and 5x5 windows at strides 1 and 2 run the
 * fixed-window kernels. Some output heights leave rows for the general
 * kernel, widths end in a partial vector, and pads are uneven. The table
 * also has a batch of two, and a 3x5 window and a dilation that fit no
 * fixed kernel. */
static void testDepthwisePlanes(void)
{
    static const RefConv shapes[] = {
        /* n  c   h   w   m  kh kw g   sh sw dh dw pt pl pb pr */
        {1, 3, 9, 56, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0},
        {2, 5, 10, 70, 5, 3, 3, 5, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0},
        {1, 4, 7, 33, 4, 5, 5, 4, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0},
        {1, 2, 12, 99, 2, 5, 5, 2, 2, 2, 1, 1, 2, 1, 1, 2, 0, 0},
        {1, 3, 6, 48, 3, 3, 3, 3, 1, 1, 1, 1, 0, 2, 1, 0, 0, 0},
        {1, 2, 9, 81, 2, 3, 3, 2, 2, 2, 1, 1, 0, 0, 1, 1, 0, 0},
        {1, 3, 8, 40, 3, 3, 5, 3, 1, 1, 1, 1, 1, 2, 1, 2, 0, 0},
        {1, 2, 9, 45, 2, 3, 3, 2, 1, 1, 2, 2, 2, 2, 2, 2, 0, 0},
        {1, 2, 8, 60, 2, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0},
    };
    ShapeTable t = {"depthwise planes", shapes, sizeof shapes / sizeof shapes[0],
                    {VB_ACT_SILU, VB_ACT_NONE, VB_ACT_RELU}, 0, 1, 5};
    runShapeTable(&t);
}

/* Depthwise shapes with output rows narrower than 32 columns, which take
 * the blocked path. Some channel counts leave a partial block. The output
 * widths leave 1 to 8 pixels in a row's last group of eight. */
static void testDepthwiseBlocks(void)
{
    static const RefConv shapes[] = {
        /* n  c   h   w   m  kh kw g   sh sw dh dw pt pl pb pr   out width */
        {1, 11, 7, 7, 11, 5, 5, 11, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0},    /* 7 */
        {1, 20, 6, 14, 20, 3, 3, 20, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0},   /* 14 */
        {1, 9, 5, 24, 9, 5, 5, 9, 2, 2, 1, 1, 2, 2, 2, 2, 0, 0},      /* 12 */
        {2, 8, 4, 16, 8, 3, 3, 8, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0},      /* 16 */
        {1, 3, 5, 20, 3, 3, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0},      /* 18 */
        {1, 16, 3, 25, 16, 3, 3, 16, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0},   /* 25 */
        {1, 5, 4, 28, 5, 3, 3, 5, 1, 1, 1, 1, 1, 0, 1, 0, 0, 0},      /* 27 */
        {1, 7, 9, 21, 7, 5, 5, 7, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0},      /* 21 */
    };
    ShapeTable t = {"depthwise blocks", shapes, sizeof shapes / sizeof shapes[0],
                    {VB_ACT_SILU, VB_ACT_NONE, VB_ACT_RELU}, 0, 1, 7};
    runShapeTable(&t);
}

/* Convolutions of small images with many filters, where two threads split
 * the rows of C: 1x1 with three K blocks, 1x1 on 14x14, and a strided 3x3
 * that packs B from the input. The last case is a 1x1 image whose
 * matrix-vector product is large enough for threads, with 50 rows: three
 * blocks of 16 and one of 2. Two threads must give the same bits as one. */
static void testSmallImageRowSplit(void)
{
    static const RefConv shapes[] = {
        /* n  c    h   w   m   kh kw g  sh sw dh dw pt pl pb pr */
        {1, 400, 7, 7, 64, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0},
        {1, 40, 14, 14, 80, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0},
        {1, 96, 9, 9, 48, 3, 3, 1, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0},
        {1, 600, 1, 1, 50, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        ConvCase cc;
        memset(&cc, 0, sizeof cc);
        cc.r = shapes[i];
        cc.r.oh = outSize(cc.r.h, cc.r.kh, cc.r.sh, cc.r.dh, cc.r.pt, cc.r.pb);
        cc.r.ow = outSize(cc.r.w, cc.r.kw, cc.r.sw, cc.r.dw, cc.r.pl, cc.r.pr);
        cc.rank = 4;
        cc.bias = 1;
        char label[64];
        snprintf(label, sizeof label, "small image %zu", i);
        float *want = NULL;
        RefRun cfg = {11, 1, 0, 1, VB_ACT_SILU, 0, 0};
        float *one_thread = runConvCaseCached(&cc, &cfg, label, &want);
        cfg.threads = 2;
        float *two_threads = runConvCaseCached(&cc, &cfg, label, &want);
        size_t yn = (size_t)cc.r.m * cc.r.oh * cc.r.ow;
        CHECK_MSG(memcmp(one_thread, two_threads, sizeof(float) * yn) == 0, "%s: 1 and 2 threads differ",
                  label);
        free(one_thread);
        free(two_threads);
        free(want);
    }
}

/* 1x1 convolutions of a 1x1 image (squeeze-excitation layers), which run
 * as a matrix-vector product: K not a multiple of 16, rows not a multiple
 * of 4, a batch of two and two groups. */
static void testSinglePixel(void)
{
    static const RefConv shapes[] = {
        /* n  c   h  w   m  kh kw g  sh sw dh dw pt pl pb pr */
        {1, 37, 1, 1, 50, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0},
        {2, 64, 1, 1, 7, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0},
        {1, 40, 1, 1, 18, 1, 1, 2, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0},
    };
    ShapeTable t = {"single pixel", shapes, sizeof shapes / sizeof shapes[0],
                    {VB_ACT_SIGMOID, VB_ACT_SILU, VB_ACT_NONE}, 0, 0, 1};
    runShapeTable(&t);
}

static void testAutoPad(void)
{
    const char *modes[] = {"SAME_UPPER", "SAME_LOWER", "VALID"};
    for (int mi = 0; mi < 3; mi++) {
        for (int s = 1; s <= 2; s++) {
            ConvCase cc;
            memset(&cc, 0, sizeof cc);
            RefConv *r = &cc.r;
            *r = (RefConv){1, 3, 7, 8, 5, 4, 3, 1, s, s, 1, 1, 0, 0, 0, 0, 0, 0};
            if (mi < 2) {
                r->oh = (r->h + s - 1) / s;
                r->ow = (r->w + s - 1) / s;
                int th = (r->oh - 1) * s + r->kh - r->h, tw = (r->ow - 1) * s + r->kw - r->w;
                th = th < 0 ? 0 : th;
                tw = tw < 0 ? 0 : tw;
                r->pt = mi == 0 ? th / 2 : th - th / 2;
                r->pb = th - r->pt;
                r->pl = mi == 0 ? tw / 2 : tw - tw / 2;
                r->pr = tw - r->pl;
            } else {
                r->oh = (r->h - r->kh) / s + 1;
                r->ow = (r->w - r->kw) / s + 1;
            }
            cc.rank = 4;
            cc.auto_pad = modes[mi];
            cc.bias = 1;
            RefRun cfg = {11, 1, 0, 1, VB_ACT_NONE, 0, 0};
            char label[64];
            snprintf(label, sizeof label, "auto_pad %s stride %d", modes[mi], s);
            free(runConvCase(&cc, &cfg, label));
        }
    }
}

static void testRejects(void)
{
    RefNode node;
    refNodeInit(&node, "Conv");
    float data[64] = {0};
    int64_t xd[5] = {1, 1, 2, 2, 2}, wd[5] = {1, 1, 1, 1, 1};
    vb_tensor tx = refTensor(VB_DTYPE_FLOAT32, 5, xd, data);
    vb_tensor tw = refTensor(VB_DTYPE_FLOAT32, 5, wd, data);
    vb_tensor ty = refTensor(VB_DTYPE_FLOAT32, 0, NULL, data);
    vb_tensor *in[2] = {&tx, &tw};
    vb_tensor *out[1] = {&ty};
    RefRun cfg = {11, 1, 0, 0, VB_ACT_NONE, 0, 0};
    vb_error err = {0};
    CHECK_EQ_INT(refRunOp(convOp(), &node.node, &cfg, in, 2, 0x2u, out, 1, 64, NULL, &err),
                 VB_ERR_UNSUPPORTED);
    CHECK(strstr(err.message, "rank 5") != NULL);

    /* channels that do not match the weights */
    int64_t xd4[4] = {1, 3, 4, 4}, wd4[4] = {2, 2, 1, 1};
    tx = refTensor(VB_DTYPE_FLOAT32, 4, xd4, data);
    tw = refTensor(VB_DTYPE_FLOAT32, 4, wd4, data);
    CHECK_EQ_INT(refRunOp(convOp(), &node.node, &cfg, in, 2, 0x2u, out, 1, 64, NULL, &err),
                 VB_ERR_SHAPE);

    /* a kernel larger than the padded input */
    int64_t xs[4] = {1, 1, 2, 2}, ws[4] = {1, 1, 3, 3};
    tx = refTensor(VB_DTYPE_FLOAT32, 4, xs, data);
    tw = refTensor(VB_DTYPE_FLOAT32, 4, ws, data);
    CHECK_EQ_INT(refRunOp(convOp(), &node.node, &cfg, in, 2, 0x2u, out, 1, 64, NULL, &err),
                 VB_ERR_SHAPE);

    /* an unknown auto_pad */
    refNodeString(&node, "auto_pad", "SAME");
    CHECK_EQ_INT(refRunOp(convOp(), &node.node, &cfg, in, 2, 0x2u, out, 1, 64, NULL, &err),
                 VB_ERR_INVALID_ARGUMENT);

    /* pads far beyond any image */
    refNodeInit(&node, "Conv");
    int64_t huge[4] = {1 << 25, 0, 0, 0};
    refNodeInts(&node, "pads", 4, huge);
    CHECK_EQ_INT(refRunOp(convOp(), &node.node, &cfg, in, 2, 0x2u, out, 1, 64, NULL, &err),
                 VB_ERR_LIMIT);
    CHECK(strstr(err.message, "pads[0]") != NULL);
}

/* The AVX2 (6x16) and portable layouts, which an AVX-512 machine never
 * picks on its own, with the AVX2 forms of the Winograd transforms and the
 * depthwise paths. */
static void testOtherLayouts(void)
{
    VbSgemmIsa isas[2] = {VB_SGEMM_ISA_AVX2, VB_SGEMM_ISA_PORTABLE};
    for (int li = 0; li < 2; li++) {
        vbSgemmSetIsa(isas[li]);
        for (int i = 0; i < 30; i++) {
            refRngState = 0xBADCAFEull + (uint64_t)i * 7919;
            ConvCase cc = randomCase(i);
            RefRun cfg = {11, 1 + i % 2, 0, i % 2, acts[i % 8], 0.2f, 0.6f};
            char label[96];
            snprintf(label, sizeof label, "layout %d case %d: m%d k%dx%d", li, i, cc.r.m, cc.r.kh, cc.r.kw);
            free(runConvCase(&cc, &cfg, label));
        }
        testWideRows();
        testWinograd();
        testDepthwisePlanes();
        testDepthwiseBlocks();
    }
    vbSgemmSetIsa(VB_SGEMM_ISA_AUTO);
}

int main(void)
{
    refRunOnnxCases(onnxCases, (int)(sizeof onnxCases / sizeof onnxCases[0]), 1e-5);
    CHECK(convOp() != NULL);
    if (convOp() == NULL)
        TEST_END();
    testRandomCases();
    testLargeShape();
    testWideRows();
    testWinograd();
    testDepthwisePlanes();
    testDepthwiseBlocks();
    testSinglePixel();
    testSmallImageRowSplit();
    testOtherLayouts();
    testAutoPad();
    testRejects();
    TEST_END();
}
