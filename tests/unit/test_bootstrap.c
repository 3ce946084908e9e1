/* Unit tests for the bootstrap: generator determinism, interval sanity, paired differences. */
#include "coco/coco_fixture.h"
#include "metrics/bootstrap.h"
#include "vbtest.h"

#define IMAGES 40

/* Returns an evaluation of IMAGES images with three GTs each. Detections
 * hit each GT with a shift of `noise` times a per-box pattern, plus a
 * false positive on every third image. */
static VbCocoEval *noisyEvaluation(VbDataset **gt_out, double noise)
{
    FixtureBox boxes[IMAGES * 3];
    VbDetection dets[IMAGES * 4];
    size_t nb = 0, nd = 0;
    for (int i = 0; i < IMAGES; i++) {
        for (int j = 0; j < 3; j++) {
            FixtureBox b = {(int64_t)nb + 1, i + 1, j % 2 + 1, 100.0 * j, 50, 60, 80, 0, 0};
            boxes[nb++] = b;
            double shift = noise * ((i * 7 + j * 3) % 11);
            dets[nd++] = fixtureDet(b.image_id, b.category_id, b.x + shift, b.y, b.w, b.h,
                                    0.2 + 0.7 * ((i * 5 + j) % 13) / 13.0);
        }
        if (i % 3 == 0)
            dets[nd++] = fixtureDet(i + 1, 1, 400, 400, 30, 30, 0.6);
    }
    *gt_out = fixtureDataset(IMAGES, 2, boxes, nb);
    return fixtureEvaluate(*gt_out, dets, nd);
}

static void testGenerator(void)
{
    VbBootstrapRng a, b;
    vbBootstrapSeed(&a, 7);
    vbBootstrapSeed(&b, 7);
    for (int i = 0; i < 100; i++)
        CHECK(vbBootstrapNext(&a) == vbBootstrapNext(&b));
    int seen[5] = {0};
    for (int i = 0; i < 1000; i++) {
        uint64_t v = vbBootstrapBelow(&a, 5);
        CHECK(v < 5);
        if (v < 5)
            seen[v]++;
    }
    for (int i = 0; i < 5; i++)
        CHECK(seen[i] > 120);
}

static void testDeterministicInterval(void)
{
    VbDataset *gt = NULL;
    VbCocoEval *ev = noisyEvaluation(&gt, 2.0);
    CHECK(ev != NULL);
    if (ev != NULL) {
        VbBootstrapResult r1, r2, r3;
        vb_error err = {0};
        CHECK(vbBootstrapMap(ev, 300, 11, &r1, &err) == VB_OK);
        CHECK(vbBootstrapMap(ev, 300, 11, &r2, &err) == VB_OK);
        CHECK(vbBootstrapMap(ev, 300, 12, &r3, &err) == VB_OK);
        CHECK(r1.map.lo == r2.map.lo);
        CHECK(r1.map.hi == r2.map.hi);
        CHECK(r1.map50.lo == r2.map50.lo);
        CHECK(r1.map50.hi == r2.map50.hi);
        CHECK(r1.map.lo != r3.map.lo || r1.map.hi != r3.map.hi);

        /* The interval brackets the point estimate and has some width. */
        CHECK(r1.map.estimate == ev->stats[0]);
        CHECK(r1.map.lo <= r1.map.estimate);
        CHECK(r1.map.estimate <= r1.map.hi);
        CHECK(r1.map50.lo <= r1.map50.estimate);
        CHECK(r1.map50.estimate <= r1.map50.hi);
        CHECK(r1.map.hi - r1.map.lo > 0.005);

        VbBootstrapResult none;
        CHECK(vbBootstrapMap(ev, 0, 11, &none, &err) == VB_OK);
        CHECK(isnan(none.map.lo));
        CHECK(isnan(none.map.hi));
        CHECK(none.map.estimate == ev->stats[0]);
    }
    vbCocoEvalFree(ev);
    vbDatasetFree(gt);
}

static void testPaired(void)
{
    VbDataset *gt_a = NULL, *gt_b = NULL;
    VbCocoEval *good = noisyEvaluation(&gt_a, 1.0);
    VbCocoEval *poor = noisyEvaluation(&gt_b, 4.0);
    CHECK(good != NULL);
    CHECK(poor != NULL);
    if (good != NULL && poor != NULL) {
        VbBootstrapPaired p;
        vb_error err = {0};
        CHECK(vbBootstrapCompare(good, good, 200, 5, &p, &err) == VB_OK);
        CHECK(p.diff_map.lo == 0.0);
        CHECK(p.diff_map.hi == 0.0);
        CHECK(p.a_better_map == 0.0);

        CHECK(vbBootstrapCompare(good, poor, 200, 5, &p, &err) == VB_OK);
        CHECK(p.diff_map.estimate > 0);
        CHECK(p.diff_map.lo <= p.diff_map.estimate);
        CHECK(p.diff_map.estimate <= p.diff_map.hi);
        CHECK(p.a_better_map > 0.9);
        CHECK_EQ_INT(p.samples, 200);
    }

    /* Evaluations on different image sets cannot be paired. */
    const FixtureBox box = {1, 1, 1, 0, 0, 10, 10, 0, 0};
    VbDataset *other_gt = fixtureDataset(3, 1, &box, 1);
    VbCocoEval *other = fixtureEvaluate(other_gt, NULL, 0);
    VbBootstrapPaired p;
    vb_error err = {0};
    if (good != NULL && other != NULL)
        CHECK(vbBootstrapCompare(good, other, 10, 5, &p, &err) == VB_ERR_INVALID_ARGUMENT);
    vbCocoEvalFree(other);
    vbDatasetFree(other_gt);
    vbCocoEvalFree(good);
    vbCocoEvalFree(poor);
    vbDatasetFree(gt_a);
    vbDatasetFree(gt_b);
}

/* Weighted re-accumulation equals evaluating a dataset in which each image
 * appears weight[i] times as separate images. */
static void testWeightsMatchCopies(void)
{
    enum { N = 6, PER = 3 };
    static const uint32_t weight[N] = {2, 0, 1, 3, 0, 1};
    FixtureBox boxes[N * PER], copies[N * PER * 3];
    VbDetection dets[N * (PER + 1)], copy_dets[N * (PER + 1) * 3];
    size_t nb = 0, nd = 0;
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < PER; j++) {
            FixtureBox b = {(int64_t)nb + 1, i + 1, j % 2 + 1, 60.0 * j, 20, 40, 50, 0, j == 2 && i == 3};
            boxes[nb++] = b;
            dets[nd++] = fixtureDet(b.image_id, b.category_id, b.x + (i + j) % 5, b.y, 40, 50,
                                    0.1 + 0.13 * ((i * 3 + j) % 7));
        }
        dets[nd++] = fixtureDet(i + 1, 1, 300, 300, 40, 40, 0.45);
    }

    /* Copy c of image i becomes image N * c + i + 1. */
    size_t ncb = 0, ncd = 0;
    for (uint32_t c = 0; c < 3; c++) {
        for (size_t k = 0; k < nb; k++) {
            if (c >= weight[boxes[k].image_id - 1])
                continue;
            copies[ncb] = boxes[k];
            copies[ncb].id = (int64_t)ncb + 1;
            copies[ncb].image_id = (int64_t)N * c + boxes[k].image_id;
            ncb++;
        }
        for (size_t k = 0; k < nd; k++) {
            if (c >= weight[dets[k].image_id - 1])
                continue;
            copy_dets[ncd] = dets[k];
            copy_dets[ncd].image_id = (int64_t)N * c + dets[k].image_id;
            ncd++;
        }
    }

    VbDataset *gt = fixtureDataset(N, 2, boxes, nb);
    VbDataset *copy_gt = fixtureDataset(3 * N, 2, copies, ncb);
    VbCocoEval *ev = fixtureEvaluate(gt, dets, nd);
    VbCocoEval *copy_ev = fixtureEvaluate(copy_gt, copy_dets, ncd);
    CHECK(ev != NULL);
    CHECK(copy_ev != NULL);
    if (ev != NULL && copy_ev != NULL) {
        VbCocoScratch scratch = {0};
        double map = 0, map50 = 0;
        vb_error err = {0};
        CHECK(vbCocoResampleMap(ev, weight, &scratch, &map, &map50, &err) == VB_OK);
        CHECK(map == copy_ev->stats[0]);
        CHECK(map50 == copy_ev->stats[1]);
        CHECK(map != ev->stats[0]);
        vbCocoScratchFree(&scratch);
    }
    vbCocoEvalFree(ev);
    vbCocoEvalFree(copy_ev);
    vbDatasetFree(gt);
    vbDatasetFree(copy_gt);
}

int main(void)
{
    testGenerator();
    testDeterministicInterval();
    testPaired();
    testWeightsMatchCopies();
    TEST_END();
}
