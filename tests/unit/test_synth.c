/* Tests of the synthetic scene generator (determinism, golden checksums, boxes) and of the bundled demo models against their recorded outputs. */
#include <stdint.h>
#include <unistd.h>

#include "core/core.h"
#include "measure/digest.h"
#include "synth/synth.h"
#include "visionbench/engine.h"
#include "vbtest.h"

/* SHA-256 of the files that `visionbench synth --count 3 --seed 42 --size
 * 160x120` writes. The PNG digests also depend on the zlib build (Debian 12's
 * zlib 1.2.13 made these); the CSV and JSON digests depend on nothing else. */
static const char *const GOLDEN[][2] = {
    {"images/000001.png", "88cb655f51cbaa9f30da23781c8996687a578f0b466638e586fdfbf5489439c9"},
    {"images/000002.png", "4a9532e80a6ad27bfc52499333238968c9eb4f628bd028aafdf0a4d0f609f599"},
    {"images/000003.png", "95d6fd53537eca18de4ffe72818851327feb0a9dbb17d73ae313d4e1106e89e6"},
    {"gt.csv", "20cf7647d87252c045a0a16048820c00c45129dffa4ee6007ac2b5072dbac051"},
    {"gt.json", "7f8a192acce346d047cc8e6798f87fd4f07d992e4731dae06bbde93f0e7460f8"},
};
#define GOLDEN_COUNT (sizeof GOLDEN / sizeof GOLDEN[0])

/* SHA-256 of the raw RGB pixels of scene (seed 42, index 0, 160x120), which
 * depends only on the generator. */
static const char *const GOLDEN_PIXELS = "d11bf7694feebfd6a77d5bd18cbb934d94e40ac7c8fe9dbe784ecf008f08d427";

static void digestFile(const char *dir, const char *name, char hex[65])
{
    vb_error err;
    char *path = vbPathJoin(dir, name);
    hex[0] = '\0';
    CHECK(path != NULL);
    if (path != NULL)
        CHECK_MSG(vbMeasureSha256File(path, hex, NULL, &err) == VB_OK, "%s", err.message);
    free(path);
}

static void testRenderDeterministic(void)
{
    vb_error err;
    VbSynthScene a, b;
    CHECK(vbSynthRender(42, 0, 160, 120, &a, &err) == VB_OK);
    CHECK(vbSynthRender(42, 0, 160, 120, &b, &err) == VB_OK);
    CHECK(memcmp(a.rgb, b.rgb, (size_t)160 * 120 * 3) == 0);
    CHECK_EQ_INT(a.box_count, b.box_count);
    CHECK(memcmp(a.boxes, b.boxes, sizeof a.boxes) == 0);

    VbSha256 sha;
    char hex[65] = "";
    CHECK(vbMeasureSha256Init(&sha, &err) == VB_OK);
    CHECK(vbMeasureSha256Update(&sha, a.rgb, (size_t)160 * 120 * 3, &err) == VB_OK);
    CHECK(vbMeasureSha256Final(&sha, hex, &err) == VB_OK);
    printf("pixels %s\n", hex);
    CHECK_STR(hex, GOLDEN_PIXELS);
    vbSynthSceneFree(&a);
    vbSynthSceneFree(&b);
}

static void testRenderBoxes(void)
{
    vb_error err;
    int empty_scenes = 0, kinds[VB_SYNTH_KIND_COUNT] = {0};
    for (uint32_t i = 0; i < 60; i++) {
        VbSynthScene s;
        CHECK(vbSynthRender(1, i, 320, 240, &s, &err) == VB_OK);
        if (s.box_count == 0)
            empty_scenes++;
        for (int k = 0; k < s.box_count; k++) {
            const VbSynthBox *b = &s.boxes[k];
            CHECK(b->xmin >= 0);
            CHECK(b->ymin >= 0);
            CHECK(b->xmax <= 320);
            CHECK(b->ymax <= 240);
            CHECK(b->xmax - b->xmin >= 4);
            CHECK(b->ymax - b->ymin >= 4);
            CHECK((unsigned)b->kind < VB_SYNTH_KIND_COUNT);
            kinds[b->kind]++;
        }
        vbSynthSceneFree(&s);
    }
    CHECK(empty_scenes > 0);
    CHECK(kinds[VB_SYNTH_CAR] > 0);
    CHECK(kinds[VB_SYNTH_TRUCK] > 0);
    CHECK(kinds[VB_SYNTH_BUS] > 0);
}

static void testRenderRejectsSize(void)
{
    vb_error err;
    VbSynthScene s;
    CHECK(vbSynthRender(1, 0, 8, 240, &s, &err) == VB_ERR_INVALID_ARGUMENT);
    CHECK(strstr(err.message, "8x240") != NULL);
    CHECK(vbSynthRender(1, 0, 320, VB_SYNTH_MAX_SIDE + 1, &s, &err) == VB_ERR_INVALID_ARGUMENT);
    vbSynthSceneFree(&s);
}

/* Writes the golden set into two folders and compares every file digest
 * between them and with GOLDEN. */
static void testWriteGolden(void)
{
    char dirs[2][64];
    vb_error err;
    for (int run = 0; run < 2; run++) {
        snprintf(dirs[run], sizeof dirs[run], "/tmp/vb_test_synth_%ld_%d", (long)getpid(), run);
        VbSynthOptions options = {dirs[run], 3, 42, 160, 120};
        CHECK_MSG(vbSynthWriteDataset(&options, &err) == VB_OK, "%s", err.message);
    }
    for (size_t i = 0; i < GOLDEN_COUNT; i++) {
        char first[65], second[65];
        digestFile(dirs[0], GOLDEN[i][0], first);
        digestFile(dirs[1], GOLDEN[i][0], second);
        CHECK_STR(first, second);
        printf("%s %s\n", GOLDEN[i][0], first);
        CHECK_STR(first, GOLDEN[i][1]);
    }
    VbSynthOptions bad = {dirs[0], 0, 42, 160, 120};
    CHECK(vbSynthWriteDataset(&bad, &err) == VB_ERR_INVALID_ARGUMENT);
    for (int run = 0; run < 2; run++) {
        char command[160];
        snprintf(command, sizeof command, "rm -rf '%s'", dirs[run]);
        CHECK(system(command) == 0);
    }
}

/* Builds the reference input of a bundled model from demo scene (seed 7,
 * index 0, 320x240), as tools/train/ did when it recorded the outputs.
 * Detectors get the scene centred on a 320x320 canvas of 114, /255 (the
 * yolo-letterbox recipe at scale 1). The classifier gets the centre 224x224
 * crop with the ImageNet mean and standard deviation. */
static float *referenceInput(int classifier, int64_t *side)
{
    vb_error err;
    VbSynthScene s;
    if (vbSynthRender(7, 0, 320, 240, &s, &err) != VB_OK)
        return NULL;
    int n = classifier ? 224 : 320;
    float *x = malloc((size_t)3 * n * n * sizeof *x);
    static const float mean[3] = {0.485f, 0.456f, 0.406f}, stdev[3] = {0.229f, 0.224f, 0.225f};
    for (int c = 0; x != NULL && c < 3; c++) {
        for (int y = 0; y < n; y++) {
            for (int col = 0; col < n; col++) {
                int sy = classifier ? y + 8 : y - 40, sx = classifier ? col + 48 : col;
                int v = sy >= 0 && sy < 240 ? s.rgb[((size_t)sy * 320 + sx) * 3 + c] : 114;
                float f = (float)v / 255.0f;
                x[((size_t)c * n + y) * n + col] = classifier ? (f - mean[c]) / stdev[c] : f;
            }
        }
    }
    vbSynthSceneFree(&s);
    *side = n;
    return x;
}

/* Runs models/NAME.onnx on its reference input and compares every stride-th
 * output value with models/NAME.out0.everySTRIDE.f32 at 1e-4 relative
 * tolerance (plus 1e-6 absolute for values near zero). */
static void checkBundledModel(const char *source_dir, const char *name, int classifier, int stride)
{
    char path[1024], ref_path[1024];
    snprintf(path, sizeof path, "%s/models/%s.onnx", source_dir, name);
    snprintf(ref_path, sizeof ref_path, "%s/models/%s.out0.every%d.f32", source_dir, name, stride);
    vb_error err;
    vb_engine *engine = NULL;
    char *ref = NULL;
    size_t ref_len = 0;
    int64_t side = 0;
    float *x = referenceInput(classifier, &side);
    CHECK(x != NULL);
    CHECK_MSG(vb_engine_load(path, NULL, &engine, &err) == VB_OK, "%s: %s", name, err.message);
    CHECK_MSG(vbFileRead(ref_path, (size_t)64 << 20, &ref, &ref_len, &err) == VB_OK, "%s", err.message);
    if (x == NULL || engine == NULL || ref == NULL)
        goto done;

    vb_tensor input = {VB_DTYPE_FLOAT32, 4, {1, 3, side, side}, x};
    CHECK_MSG(vb_engine_run(engine, &input, 1, &err) == VB_OK, "%s: %s", name, err.message);
    const vb_tensor *out = vb_engine_output(engine, 0);
    CHECK(out != NULL);
    if (out == NULL)
        goto done;
    size_t count = 1;
    for (int d = 0; d < out->rank; d++)
        count *= (size_t)out->dims[d];
    const float *y = out->data, *expected = (const float *)ref;
    size_t compared = ref_len / sizeof(float);
    CHECK_EQ_INT(compared, (count + stride - 1) / stride);
    int bad = 0;
    double worst = 0;
    for (size_t i = 0; i < compared && i * stride < count; i++) {
        double diff = fabs((double)y[i * stride] - expected[i]);
        double tol = 1e-4 * fabs((double)expected[i]) + 1e-6;
        if (diff > worst)
            worst = diff;
        if (diff > tol && bad++ < 5)
            fprintf(stderr, "%s: value %zu: engine %.9g, reference %.9g\n", name, i * stride,
                    y[i * stride], expected[i]);
    }
    printf("%s: %zu values compared, max abs diff %.3g\n", name, compared, worst);
    CHECK_EQ_INT(bad, 0);

done:
    vb_engine_free(engine);
    free(ref);
    free(x);
}

static void testBundledModels(void)
{
    const char *source_dir = getenv("VB_SOURCE_DIR");
    if (source_dir == NULL) {
        printf("VB_SOURCE_DIR unset; bundled models not checked\n");
        return;
    }
    checkBundledModel(source_dir, "vbdemo-det-s", 0, 13);
    checkBundledModel(source_dir, "vbdemo-det-m", 0, 13);
    checkBundledModel(source_dir, "vbdemo-cls", 1, 1);
}

int main(void)
{
    testRenderDeterministic();
    testRenderBoxes();
    testRenderRejectsSize();
    testWriteGolden();
    testBundledModels();
    TEST_END();
}
