/* Unit tests for precision, recall and F1 at IoU 0.5 on hand-made matches. */
#include "coco/coco_fixture.h"
#include "metrics/prf.h"
#include "vbtest.h"

/* Two GTs of class 1 and a crowd region on image 1, one GT of class 2 on
 * image 2. Class 1 detections by score: TP 0.9, FP 0.8, TP 0.3, FP 0.1, and
 * 0.7 inside the crowd region (ignored). Class 2: one FP at 0.6. */
static VbDataset *prfDataset(void)
{
    static const FixtureBox boxes[] = {
        {1, 1, 1, 0, 0, 10, 10, 0, 0},
        {2, 1, 1, 100, 0, 10, 10, 0, 0},
        {3, 1, 1, 300, 300, 100, 100, 0, 1},
        {4, 2, 2, 0, 0, 10, 10, 0, 0},
    };
    return fixtureDataset(2, 2, boxes, 4);
}

static void testCounts(void)
{
    VbDataset *gt = prfDataset();
    VbDetection dets[6] = {
        fixtureDet(1, 1, 0, 0, 10, 10, 0.9),    fixtureDet(1, 1, 200, 0, 10, 10, 0.8),
        fixtureDet(1, 1, 100, 0, 10, 10, 0.3),  fixtureDet(1, 1, 200, 100, 10, 10, 0.1),
        fixtureDet(1, 1, 310, 310, 20, 20, 0.7), fixtureDet(2, 2, 50, 50, 10, 10, 0.6),
    };
    VbCocoEval *ev = fixtureEvaluate(gt, dets, 6);
    CHECK(ev != NULL);
    VbPrfResult r = {0};
    vb_error err = {0};
    if (ev != NULL && vbPrfCompute(ev, 0.25, &r, &err) == VB_OK) {
        /* At 0.25: class 1 TP 2, FP 1; class 2 FP 1. */
        const VbPrfPoint *p = &r.at_threshold;
        CHECK_EQ_INT(p->per_class[0].tp, 2);
        CHECK_EQ_INT(p->per_class[0].fp, 1);
        CHECK_EQ_INT(p->per_class[0].npos, 2);
        CHECK_NEAR(p->per_class[0].precision, 2.0 / 3.0, 1e-15);
        CHECK_NEAR(p->per_class[0].recall, 1.0, 0);
        CHECK_NEAR(p->per_class[0].f1, 0.8, 1e-15);
        CHECK_EQ_INT(p->per_class[1].fp, 1);
        CHECK_NEAR(p->per_class[1].f1, 0.0, 0);
        CHECK_EQ_INT(p->micro.tp, 2);
        CHECK_EQ_INT(p->micro.fp, 2);
        CHECK_EQ_INT(p->micro.npos, 3);
        CHECK_NEAR(p->micro.precision, 0.5, 1e-15);
        CHECK_NEAR(p->micro.recall, 2.0 / 3.0, 1e-15);
        CHECK_NEAR(p->micro.f1, 4.0 / 7.0, 1e-15);
        CHECK_NEAR(p->macro_recall, 0.5, 1e-15);
        CHECK_NEAR(p->macro_f1, 0.4, 1e-15);

        /* Best micro F1: at 0.9 it is 0.5, at 0.3 (TP 2, FP 2) 4/7. */
        CHECK_NEAR(r.best.threshold, 0.3, 0);
        CHECK_NEAR(r.best.micro.f1, 4.0 / 7.0, 1e-15);
        CHECK_EQ_INT(r.class_count, 2);
    } else {
        CHECK_MSG(0, "vbPrfCompute failed: %s", err.message);
    }
    vbPrfResultClear(&r);
    vbCocoEvalFree(ev);
    vbDatasetFree(gt);
}

/* Without detections every rate is 0 and the best threshold is the one given. */
static void testNoDetections(void)
{
    VbDataset *gt = prfDataset();
    VbCocoEval *ev = fixtureEvaluate(gt, NULL, 0);
    VbPrfResult r = {0};
    vb_error err = {0};
    CHECK(ev != NULL);
    CHECK(ev != NULL && vbPrfCompute(ev, 0.5, &r, &err) == VB_OK);
    CHECK_NEAR(r.at_threshold.micro.precision, 0.0, 0);
    CHECK_NEAR(r.at_threshold.micro.recall, 0.0, 0);
    CHECK_EQ_INT(r.at_threshold.micro.npos, 3);
    CHECK_NEAR(r.best.threshold, 0.5, 0);
    CHECK_NEAR(r.best.micro.f1, 0.0, 0);
    vbPrfResultClear(&r);
    vbPrfResultClear(NULL);
    vbCocoEvalFree(ev);
    vbDatasetFree(gt);
}

/* Detections with equal scores enter the sweep together. */
static void testTiedScores(void)
{
    VbDataset *gt = prfDataset();
    VbDetection dets[3] = {
        fixtureDet(1, 1, 0, 0, 10, 10, 0.5),
        fixtureDet(1, 1, 200, 0, 10, 10, 0.5),
        fixtureDet(1, 1, 100, 0, 10, 10, 0.5),
    };
    VbCocoEval *ev = fixtureEvaluate(gt, dets, 3);
    VbPrfResult r = {0};
    vb_error err = {0};
    CHECK(ev != NULL);
    CHECK(ev != NULL && vbPrfCompute(ev, 0.9, &r, &err) == VB_OK);
    CHECK_EQ_INT(r.at_threshold.micro.tp + r.at_threshold.micro.fp, 0);
    CHECK_NEAR(r.best.threshold, 0.5, 0);
    CHECK_EQ_INT(r.best.micro.tp, 2);
    CHECK_EQ_INT(r.best.micro.fp, 1);
    vbPrfResultClear(&r);
    vbCocoEvalFree(ev);
    vbDatasetFree(gt);
}

int main(void)
{
    testCounts();
    testNoDetections();
    testTiedScores();
    TEST_END();
}
