/* Unit tests for the COCO evaluation: parameters, IoU edges, crowd, ties, cuts, empty input, results parsing. */
#include <stdint.h>

#include "coco/coco_fixture.h"
#include "metrics/coco_eval.h"
#include "vbtest.h"

/* The precision of a leading TP is 1 / (1 + 2^-52), and numpy's mean of
 * 101 such values (one AP50) rounds one ulp higher. */
#define LEADING_TP 0.9999999999999998
#define LEADING_TP_AP50 0.9999999999999999

static void testDefaultParams(void)
{
    VbCocoParams p;
    vbCocoParamsDefault(&p);
    CHECK_EQ_INT(p.iou_thr_count, 10);
    CHECK(p.iou_thrs[0] == 0.5);
    CHECK(p.iou_thrs[5] == 0.75);
    CHECK(p.iou_thrs[8] == 0.8999999999999999);
    CHECK(p.iou_thrs[9] == 0.95);
    CHECK(p.rec_thrs[70] == 0.7000000000000001);
    CHECK(p.rec_thrs[70] > 7.0 / 10.0);
    CHECK(p.rec_thrs[50] == 0.5);
    CHECK(p.rec_thrs[100] == 1.0);
    CHECK_EQ_INT(p.max_dets[2], 100);
    CHECK(p.area_rng[2][0] == 1024);
    CHECK(p.area_rng[2][1] == 9216);
}

static void testMean(void)
{
    const double v[3] = {1, 2, 3};
    CHECK(vbCocoMean(v, 3) == 2.0);
    CHECK(isnan(vbCocoMean(v, 0)));
    double many[300];
    for (int i = 0; i < 300; i++)
        many[i] = 0.1 * i;
    CHECK_NEAR(vbCocoMean(many, 300), 0.1 * 299 / 2, 1e-12);

    /* Expected values from np.mean in numpy 1.24.2, which sums in chunks
     * of 8192 elements: bit-exact, where a plain or fully pairwise sum
     * differs in the last digits. */
    static double big[100001];
    for (int i = 0; i < 100001; i++)
        big[i] = (i % 1000) * 0.001 + 1.0 / (i + 1);
    CHECK(vbCocoMean(big, 20000) == 0.5000240364108615);
    CHECK(vbCocoMean(big, 100001) == 0.49961590540224354);
}

static void testStableSort(void)
{
    const double score[6] = {0.5, 0.9, 0.5, 0.1, 0.9, 0.5};
    uint32_t idx[6] = {0, 1, 2, 3, 4, 5}, tmp[6];
    vbCocoSortByScore(idx, tmp, 6, score);
    const uint32_t want[6] = {1, 4, 0, 2, 5, 3};
    for (int i = 0; i < 6; i++)
        CHECK_EQ_INT(idx[i], want[i]);
}

static void testPerfectMatch(void)
{
    const FixtureBox gt_boxes[] = {{1, 1, 1, 10, 10, 50, 40, 0, 0}};
    VbDataset *gt = fixtureDataset(1, 1, gt_boxes, 1);
    VbDetection d = fixtureDet(1, 1, 10, 10, 50, 40, 0.9);
    VbCocoEval *ev = fixtureEvaluate(gt, &d, 1);
    CHECK(ev != NULL);
    if (ev) {
        CHECK(ev->per_category[0].ap50 == LEADING_TP_AP50);
        CHECK(ev->per_category[0].recall50 == 1.0);
        CHECK(ev->stats[8] == 1.0);
        CHECK(ev->stats[3] == -1.0); /* no small GT */
        CHECK(ev->stats[4] > 0.99);  /* area 2000 is medium */
        CHECK(ev->per_category[0].pr50[100] == LEADING_TP);
    }
    vbCocoEvalFree(ev);
    vbDatasetFree(gt);
}

/* Boxes that only touch have IoU 0; an IoU exactly at a threshold matches. */
static void testIouEdges(void)
{
    const FixtureBox gt_boxes[] = {{1, 1, 1, 0, 0, 10, 10, 0, 0}, {2, 2, 1, 0, 0, 10, 10, 0, 0}};
    VbDataset *gt = fixtureDataset(2, 1, gt_boxes, 2);
    VbDetection dets[2] = {
        fixtureDet(1, 1, 10, 0, 10, 10, 0.9), /* touches GT 1 on its right edge */
        fixtureDet(2, 1, 0, 0, 20, 10, 0.8),  /* IoU 100 / 200 = 0.5 with GT 2 */
    };
    VbCocoEval *ev = fixtureEvaluate(gt, &dets[0], 1);
    CHECK(ev != NULL);
    if (ev) {
        CHECK(ev->stats[0] == 0.0);
        CHECK(ev->stats[8] == 0.0);
    }
    vbCocoEvalFree(ev);

    ev = fixtureEvaluate(gt, &dets[1], 1);
    CHECK(ev != NULL);
    if (ev) {
        CHECK_NEAR(ev->per_category[0].recall50, 0.5, 0);
        CHECK(ev->per_category[0].ap75 == 0.0);
        CHECK(ev->per_category[0].ap50 > 0.49);
    }
    vbCocoEvalFree(ev);
    vbDatasetFree(gt);
}

/* Detections inside a crowd region are ignored, neither TP nor FP, and a
 * crowd region alone leaves the category undefined (-1). */
static void testCrowd(void)
{
    const FixtureBox gt_boxes[] = {
        {1, 1, 1, 0, 0, 100, 100, 0, 1},
        {2, 1, 1, 200, 200, 50, 50, 0, 0},
    };
    VbDataset *gt = fixtureDataset(1, 1, gt_boxes, 2);
    VbDetection dets[3] = {
        fixtureDet(1, 1, 10, 10, 10, 10, 0.95), /* IoU with crowd: 100 / 100 */
        fixtureDet(1, 1, 50, 50, 10, 10, 0.9),  /* a second detection in the same crowd */
        fixtureDet(1, 1, 200, 200, 50, 50, 0.5),
    };
    VbCocoEval *ev = fixtureEvaluate(gt, dets, 3);
    CHECK(ev != NULL);
    if (ev) {
        CHECK(ev->per_category[0].ap50 == LEADING_TP_AP50);
        CHECK(ev->per_category[0].recall50 == 1.0);
        CHECK_EQ_INT(ev->pairs[0].npig[0], 1);
    }
    vbCocoEvalFree(ev);

    VbDataset *crowd_only = fixtureDataset(1, 1, gt_boxes, 1);
    ev = fixtureEvaluate(crowd_only, dets, 2);
    CHECK(ev != NULL);
    if (ev) {
        CHECK(ev->stats[0] == -1.0);
        CHECK(ev->per_category[0].ap == -1.0);
    }
    vbCocoEvalFree(ev);
    vbDatasetFree(crowd_only);
    vbDatasetFree(gt);
}

/* Equal scores keep file order: an FP listed before a tied TP halves the
 * precision at the TP. */
static void testScoreTies(void)
{
    const FixtureBox gt_boxes[] = {{1, 1, 1, 0, 0, 10, 10, 0, 0}};
    VbDataset *gt = fixtureDataset(1, 1, gt_boxes, 1);
    VbDetection fp_first[2] = {fixtureDet(1, 1, 300, 300, 10, 10, 0.5),
                               fixtureDet(1, 1, 0, 0, 10, 10, 0.5)};
    VbDetection tp_first[2] = {fp_first[1], fp_first[0]};

    VbCocoEval *ev = fixtureEvaluate(gt, fp_first, 2);
    CHECK(ev != NULL);
    if (ev)
        CHECK_NEAR(ev->per_category[0].ap50, 0.5, 1e-12);
    vbCocoEvalFree(ev);

    ev = fixtureEvaluate(gt, tp_first, 2);
    CHECK(ev != NULL);
    if (ev)
        CHECK(ev->per_category[0].ap50 == LEADING_TP_AP50);
    vbCocoEvalFree(ev);
    vbDatasetFree(gt);
}

/* maxDets applies per (image, category): the TP ranked 101st is cut. */
static void testMaxDetsCut(void)
{
    const FixtureBox gt_boxes[] = {{1, 1, 1, 0, 0, 10, 10, 0, 0}};
    VbDataset *gt = fixtureDataset(1, 2, gt_boxes, 1);
    VbDetection dets[102];
    for (int i = 0; i < 100; i++)
        dets[i] = fixtureDet(1, 1, 500 + i, 500, 10, 10, 0.9);
    dets[100] = fixtureDet(1, 1, 0, 0, 10, 10, 0.1);
    dets[101] = fixtureDet(1, 2, 0, 0, 10, 10, 0.95); /* another category: not in the cut */
    VbCocoEval *ev = fixtureEvaluate(gt, dets, 102);
    CHECK(ev != NULL);
    if (ev) {
        CHECK(ev->per_category[0].recall50 == 0.0);
        CHECK(ev->per_category[1].ap == -1.0);
        CHECK_EQ_INT(ev->det_count, 101);
    }
    vbCocoEvalFree(ev);
    vbDatasetFree(gt);
}

/* No detections: 0 for categories with GT, -1 for area ranges without GT. */
static void testEmptyDetections(void)
{
    const FixtureBox gt_boxes[] = {{1, 1, 1, 0, 0, 10, 10, 0, 0}};
    VbDataset *gt = fixtureDataset(2, 2, gt_boxes, 1);
    VbCocoEval *ev = fixtureEvaluate(gt, NULL, 0);
    CHECK(ev != NULL);
    if (ev) {
        CHECK(ev->stats[0] == 0.0);
        CHECK(ev->stats[3] == 0.0);  /* small */
        CHECK(ev->stats[5] == -1.0); /* large: no GT */
        CHECK(ev->per_category[1].ap == -1.0);
    }
    vbCocoEvalFree(ev);
    vbDatasetFree(gt);
}

/* A detection on an unknown image fails naming the id; an unknown category
 * is dropped and counted. */
static void testUnknownIds(void)
{
    const FixtureBox gt_boxes[] = {{1, 1, 1, 0, 0, 10, 10, 0, 0}};
    VbDataset *gt = fixtureDataset(1, 1, gt_boxes, 1);
    VbDetection bad_image = fixtureDet(42, 1, 0, 0, 10, 10, 0.9);
    VbCocoEval *ev = NULL;
    vb_error err = {0};
    CHECK_EQ_INT(vbCocoEvaluate(gt, &bad_image, 1, NULL, &ev, &err), VB_ERR_INVALID_ARGUMENT);
    CHECK(strstr(err.message, "image_id 42") != NULL);
    CHECK(ev == NULL);

    VbDetection dets[2] = {fixtureDet(1, 7, 0, 0, 10, 10, 0.99), fixtureDet(1, 1, 0, 0, 10, 10, 0.5)};
    ev = fixtureEvaluate(gt, dets, 2);
    CHECK(ev != NULL);
    if (ev) {
        CHECK_EQ_INT(ev->dropped_unknown_category, 1);
        CHECK(ev->per_category[0].ap50 == LEADING_TP_AP50);
    }
    vbCocoEvalFree(ev);
    vbDatasetFree(gt);
}

/* A match to a GT with id 0 counts as an FP and still uses the GT up. */
static void testGtIdZero(void)
{
    const FixtureBox gt_boxes[] = {{0, 1, 1, 0, 0, 10, 10, 0, 0}};
    VbDataset *gt = fixtureDataset(1, 1, gt_boxes, 1);
    VbDetection dets[2] = {fixtureDet(1, 1, 0, 0, 10, 10, 0.9), fixtureDet(1, 1, 0, 0, 10, 10, 0.8)};
    VbCocoEval *ev = fixtureEvaluate(gt, dets, 2);
    CHECK(ev != NULL);
    if (ev) {
        CHECK(ev->stats[0] == 0.0);
        CHECK(ev->det_status[0] == VB_COCO_FP);
        CHECK(ev->det_status[(size_t)1 * VB_COCO_AREAS * 10] == VB_COCO_FP);
    }
    vbCocoEvalFree(ev);
    vbDatasetFree(gt);
}

/* Two GT annotations with the same id: pycocotools loads both by id, so the
 * last one in the file counts twice and the first one not at all. */
static void testDuplicateGtIds(void)
{
    const FixtureBox gt_boxes[] = {{5, 1, 1, 0, 0, 10, 10, 0, 0}, {5, 2, 1, 50, 50, 10, 10, 0, 0}};
    VbDataset *gt = fixtureDataset(2, 1, gt_boxes, 2);
    VbDetection dets[2] = {fixtureDet(1, 1, 0, 0, 10, 10, 0.9), fixtureDet(2, 1, 50, 50, 10, 10, 0.8)};
    VbCocoEval *ev = fixtureEvaluate(gt, dets, 2);
    CHECK(ev != NULL);
    if (ev) {
        CHECK_EQ_INT(ev->pair_count, 2);
        CHECK_EQ_INT(ev->pairs[0].npig[0], 0); /* image 1 lost its GT */
        CHECK_EQ_INT(ev->pairs[1].npig[0], 2); /* image 2 has the last one twice */
        CHECK(ev->per_category[0].recall50 == 0.5);
    }
    vbCocoEvalFree(ev);
    vbDatasetFree(gt);
}

/* Custom parameters without IoU 0.5 or 0.75 leave those stats at -1. */
static void testCustomParams(void)
{
    const FixtureBox gt_boxes[] = {{1, 1, 1, 0, 0, 10, 10, 0, 0}};
    VbDataset *gt = fixtureDataset(1, 1, gt_boxes, 1);
    VbDetection d = fixtureDet(1, 1, 0, 0, 10, 10, 0.9);
    VbCocoParams p;
    vbCocoParamsDefault(&p);
    p.iou_thrs[0] = 0.6;
    p.iou_thr_count = 1;
    VbCocoEval *ev = NULL;
    vb_error err = {0};
    CHECK(vbCocoEvaluate(gt, &d, 1, &p, &ev, &err) == VB_OK);
    if (ev) {
        CHECK(ev->stats[0] == LEADING_TP_AP50);
        CHECK(ev->stats[1] == -1.0);
        CHECK(ev->stats[2] == -1.0);
        CHECK(ev->per_category[0].recall50 == -1.0);
    }
    vbCocoEvalFree(ev);

    p.max_dets[1] = 0;
    ev = NULL;
    CHECK_EQ_INT(vbCocoEvaluate(gt, &d, 1, &p, &ev, &err), VB_ERR_INVALID_ARGUMENT);
    CHECK(strstr(err.message, "max_dets[1]") != NULL);
    vbDatasetFree(gt);
}

/* GT ignore flags use the `area` field, not the box size. */
static void testAreaField(void)
{
    const FixtureBox gt_boxes[] = {{1, 1, 1, 0, 0, 100, 100, 500, 0}};
    VbDataset *gt = fixtureDataset(1, 1, gt_boxes, 1);
    VbDetection d = fixtureDet(1, 1, 0, 0, 100, 100, 0.9);
    VbCocoEval *ev = fixtureEvaluate(gt, &d, 1);
    CHECK(ev != NULL);
    if (ev) {
        CHECK(ev->stats[3] == LEADING_TP); /* counted as small through area 500 */
        CHECK(ev->stats[5] == -1.0);       /* no large GT; the large detection is ignored */
    }
    vbCocoEvalFree(ev);
    vbDatasetFree(gt);
}

/* All-ones weights re-accumulate to the same mAP and mAP50. */
static void testResampleIdentity(void)
{
    FixtureBox gt_boxes[20];
    VbDetection dets[30];
    for (int i = 0; i < 20; i++) {
        FixtureBox b = {i + 1, i % 5 + 1, i % 2 + 1, 10.0 * i, 5, 30, 40, 0, 0};
        gt_boxes[i] = b;
        dets[i] = fixtureDet(b.image_id, b.category_id, b.x + i % 4, b.y + 2, 30, 38, 0.3 + 0.03 * i);
    }
    for (int i = 20; i < 30; i++)
        dets[i] = fixtureDet(i % 5 + 1, i % 2 + 1, 7.0 * i, 300, 20, 20, 0.5);
    VbDataset *gt = fixtureDataset(5, 2, gt_boxes, 20);
    VbCocoEval *ev = fixtureEvaluate(gt, dets, 30);
    CHECK(ev != NULL);
    if (ev) {
        uint32_t weight[5] = {1, 1, 1, 1, 1};
        VbCocoScratch s = {0};
        double map = 0, map50 = 0;
        vb_error err = {0};
        CHECK(vbCocoResampleMap(ev, weight, &s, &map, &map50, &err) == VB_OK);
        CHECK(map == ev->stats[0]);
        CHECK(map50 == ev->stats[1]);
        vbCocoScratchFree(&s);
    }
    vbCocoEvalFree(ev);
    vbDatasetFree(gt);
}

static void expectParseError(const char *text, const char *fragment)
{
    VbDetectionList list = {0};
    vb_error err = {0};
    vb_status st = vbCocoResultsParse(text, strlen(text), "dets.json", &list, &err);
    CHECK_MSG(st != VB_OK, "accepted %s", text);
    CHECK_MSG(strstr(err.message, fragment) != NULL, "message '%s' lacks '%s'", err.message, fragment);
    vbDetectionListFree(&list);
}

static void testResultsParse(void)
{
    const char *good = "[{\"image_id\": 3, \"category_id\": 1, \"bbox\": [1, 2.5, 3, 4], "
                       "\"score\": 0.75, \"extra\": true}, "
                       "{\"image_id\": 4, \"category_id\": 2, \"bbox\": [0, 0, 1, 1], \"score\": 1}]";
    VbDetectionList list = {0};
    vb_error err = {0};
    CHECK(vbCocoResultsParse(good, strlen(good), "dets.json", &list, &err) == VB_OK);
    CHECK_EQ_INT(list.count, 2);
    if (list.count == 2) {
        CHECK_EQ_INT(list.items[0].image_id, 3);
        CHECK(list.items[0].y == 2.5);
        CHECK(list.items[0].score == 0.75);
        CHECK(list.items[1].score == 1.0);
    }
    vbDetectionListFree(&list);

    CHECK(vbCocoResultsParse("[]", 2, "dets.json", &list, &err) == VB_OK);
    CHECK_EQ_INT(list.count, 0);

    const char *real_ids = "[{\"image_id\": 7.0, \"category_id\": 2, \"bbox\": [0, 0, 1, 1], "
                           "\"score\": 0.5}]";
    CHECK(vbCocoResultsParse(real_ids, strlen(real_ids), "dets.json", &list, &err) == VB_OK);
    CHECK_EQ_INT(list.count, 1);
    if (list.count == 1)
        CHECK_EQ_INT(list.items[0].image_id, 7);
    vbDetectionListFree(&list);

    expectParseError("{\"image_id\": 1}", "must be a list");
    expectParseError("[1, 2", "line 1");
    expectParseError("[7]", "detection 0 is not a JSON object");
    expectParseError("[{\"image_id\": 1, \"category_id\": 1, \"bbox\": [0, 0, 1, 1]}]",
                     "detection 0: missing field 'score'");
    expectParseError("[{\"image_id\": 1, \"category_id\": 1, \"bbox\": [0, 0, 1, 1], \"score\": 1},"
                     " {\"image_id\": 1, \"category_id\": 1, \"bbox\": [0, 0, 1], \"score\": 1}]",
                     "detection 1: field 'bbox'");
    expectParseError("[{\"image_id\": 1, \"category_id\": 1, \"bbox\": [0, \"a\", 1, 1], \"score\": 1}]",
                     "bbox[1] is not a number");
    expectParseError("[{\"image_id\": \"1\", \"category_id\": 1, \"bbox\": [0, 0, 1, 1], \"score\": 1}]",
                     "field 'image_id' is not an integer");
    expectParseError("[{\"image_id\": 1, \"category_id\": 1, \"bbox\": [0, 0, 1, 1], \"score\": null}]",
                     "field 'score' is not a number");
    expectParseError("[{\"image_id\": 1.5, \"category_id\": 1, \"bbox\": [0, 0, 1, 1], \"score\": 1}]",
                     "field 'image_id' is not an integer");
}

int main(void)
{
    testDefaultParams();
    testMean();
    testStableSort();
    testPerfectMatch();
    testIouEdges();
    testCrowd();
    testScoreTies();
    testMaxDetsCut();
    testEmptyDetections();
    testUnknownIds();
    testGtIdZero();
    testAreaField();
    testDuplicateGtIds();
    testCustomParams();
    testResampleIdentity();
    testResultsParse();
    TEST_END();
}
