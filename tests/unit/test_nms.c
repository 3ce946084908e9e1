/* Tests NMS: visiting order on ties, per-class and class-agnostic suppression, caps, IoU edge cases. */
#include <stdlib.h>

#include "metrics/nms.h"
#include "vbtest.h"

static VbNmsBox box(float x1, float y1, float x2, float y2, float score, int cls)
{
    VbNmsBox b = {x1, y1, x2, y2, score, cls};
    return b;
}

static void testIouValues(void)
{
    VbNmsBox a = box(0, 0, 10, 10, 1, 0);
    VbNmsBox b = box(5, 0, 15, 10, 1, 0);
    VbNmsBox c = box(20, 20, 30, 30, 1, 0);
    VbNmsBox empty = box(3, 3, 3, 3, 1, 0);
    CHECK_NEAR(vbNmsIou(&a, &b), 50.0 / 150.0, 1e-7);
    CHECK_NEAR(vbNmsIou(&a, &a), 1.0, 0);
    CHECK_NEAR(vbNmsIou(&a, &c), 0.0, 0);
    CHECK_NEAR(vbNmsIou(&empty, &empty), 0.0, 0);
}

static void testNmsTieOrder(void)
{
    /* Equal scores, disjoint boxes: kept in index order. */
    VbNmsBox boxes[4] = {box(0, 0, 1, 1, 0.5f, 0), box(2, 2, 3, 3, 0.9f, 0),
                         box(4, 4, 5, 5, 0.5f, 0), box(6, 6, 7, 7, 0.5f, 0)};
    size_t keep[4], n = 0;
    VbNmsOptions opt;
    vb_error err;
    vbNmsOptionsInit(&opt);
    CHECK(vbNms(boxes, 4, &opt, keep, &n, &err) == VB_OK);
    CHECK_EQ_INT(n, 4);
    CHECK_EQ_INT(keep[0], 1);
    CHECK_EQ_INT(keep[1], 0);
    CHECK_EQ_INT(keep[2], 2);
    CHECK_EQ_INT(keep[3], 3);
}

static void testNmsTieSuppression(void)
{
    /* Two identical boxes with one score: the lower index survives. */
    VbNmsBox boxes[2] = {box(0, 0, 10, 10, 0.8f, 1), box(0, 0, 10, 10, 0.8f, 1)};
    size_t keep[2], n = 0;
    VbNmsOptions opt;
    vb_error err;
    vbNmsOptionsInit(&opt);
    CHECK(vbNms(boxes, 2, &opt, keep, &n, &err) == VB_OK);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(keep[0], 0);
}

static void testNmsPerClassAgnostic(void)
{
    VbNmsBox boxes[3] = {box(0, 0, 10, 10, 0.9f, 0), box(1, 0, 11, 10, 0.8f, 1),
                         box(1, 1, 10, 10, 0.7f, 0)};
    size_t keep[3], n = 0;
    VbNmsOptions opt;
    vb_error err;
    vbNmsOptionsInit(&opt);

    /* Per class: box 1 (class 1) survives, box 2 is suppressed by box 0. */
    CHECK(vbNms(boxes, 3, &opt, keep, &n, &err) == VB_OK);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(keep[0], 0);
    CHECK_EQ_INT(keep[1], 1);

    /* Class-agnostic: box 0 suppresses both. */
    opt.class_agnostic = 1;
    CHECK(vbNms(boxes, 3, &opt, keep, &n, &err) == VB_OK);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(keep[0], 0);
}

static void testNmsThresholdStrict(void)
{
    /* IoU exactly 0.5 is not above a 0.5 threshold: both kept. */
    VbNmsBox boxes[2] = {box(0, 0, 10, 10, 0.9f, 0), box(0, 0, 10, 5, 0.8f, 0)};
    size_t keep[2], n = 0;
    VbNmsOptions opt;
    vb_error err;
    vbNmsOptionsInit(&opt);
    opt.iou_threshold = 0.5f;
    CHECK(vbNms(boxes, 2, &opt, keep, &n, &err) == VB_OK);
    CHECK_EQ_INT(n, 2);
    opt.iou_threshold = 0.49f;
    CHECK(vbNms(boxes, 2, &opt, keep, &n, &err) == VB_OK);
    CHECK_EQ_INT(n, 1);
}

static void testNmsCaps(void)
{
    enum { N = 1000 };
    VbNmsBox *boxes = malloc(N * sizeof *boxes);
    size_t *keep = malloc(N * sizeof *keep);
    size_t n = 0;
    VbNmsOptions opt;
    vb_error err;
    for (int i = 0; i < N; i++)
        boxes[i] = box((float)(i * 20), 0, (float)(i * 20 + 10), 10, (float)i / N, 0);
    vbNmsOptionsInit(&opt);

    /* max_output keeps the best 300. */
    CHECK(vbNms(boxes, N, &opt, keep, &n, &err) == VB_OK);
    CHECK_EQ_INT(n, 300);
    CHECK_EQ_INT(keep[0], N - 1);
    CHECK_EQ_INT(keep[299], N - 300);

    /* max_input drops candidates before suppression. */
    opt.max_input = 5;
    opt.max_output = 0;
    CHECK(vbNms(boxes, N, &opt, keep, &n, &err) == VB_OK);
    CHECK_EQ_INT(n, 5);
    CHECK_EQ_INT(keep[4], N - 5);
    free(boxes);
    free(keep);
}

static void testNmsEmptyAndNan(void)
{
    VbNmsBox boxes[2] = {box(0, 0, 1, 1, NAN, 0), box(0, 0, 1, 1, 0.1f, 0)};
    size_t keep[2], n = 7;
    VbNmsOptions opt;
    vb_error err;
    vbNmsOptionsInit(&opt);
    CHECK(vbNms(NULL, 0, &opt, keep, &n, &err) == VB_OK);
    CHECK_EQ_INT(n, 0);
    CHECK(vbNms(boxes, 2, &opt, keep, &n, &err) == VB_OK);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(keep[0], 1);
    CHECK(vbNms(NULL, 2, &opt, keep, &n, &err) == VB_ERR_INVALID_ARGUMENT);
}

int main(void)
{
    testIouValues();
    testNmsTieOrder();
    testNmsTieSuppression();
    testNmsPerClassAgnostic();
    testNmsThresholdStrict();
    testNmsCaps();
    testNmsEmptyAndNan();
    TEST_END();
}
