/* Tests of the engine's topological sort and activation-arena planner, in isolation. */
#include <stdint.h>
#include <stdlib.h>

#include "engine/plan.h"
#include "engine/topo.h"
#include "vbtest.h"

/* Returns nonzero when every dependency of every node comes before it in order. */
static int orderRespectsDeps(int n, const int *offsets, const int *deps, const int *order)
{
    int position[64];
    for (int i = 0; i < n; i++)
        position[order[i]] = i;
    for (int i = 0; i < n; i++) {
        for (int d = offsets[i]; d < offsets[i + 1]; d++) {
            if (position[deps[d]] >= position[i])
                return 0;
        }
    }
    return 1;
}

static void testTopoKeepsFileOrder(void)
{
    /* 0 <- 1 <- 2, 0 <- 3: already ordered, so the order stays. */
    int offsets[] = {0, 0, 1, 2, 3};
    int deps[] = {0, 1, 0};
    int order[4];
    vb_error err = {0};
    CHECK_EQ_INT(vbGraphTopoSort(4, offsets, deps, order, NULL, &err), VB_OK);
    for (int i = 0; i < 4; i++)
        CHECK_EQ_INT(order[i], i);
}

static void testTopoReordersReversed(void)
{
    /* Node i depends on node i + 1: the order must be 4, 3, 2, 1, 0. */
    int offsets[] = {0, 1, 2, 3, 4, 4};
    int deps[] = {1, 2, 3, 4};
    int order[5];
    vb_error err = {0};
    CHECK_EQ_INT(vbGraphTopoSort(5, offsets, deps, order, NULL, &err), VB_OK);
    for (int i = 0; i < 5; i++)
        CHECK_EQ_INT(order[i], 4 - i);
}

static void testTopoDiamondWithRepeats(void)
{
    /* 3 depends on 1 and 2 (twice on 2), both depend on 0; listed out of order. */
    int offsets[] = {0, 3, 4, 5, 5};
    int deps[] = {1, 2, 2, 3, 3};
    int order[4];
    vb_error err = {0};
    CHECK_EQ_INT(vbGraphTopoSort(4, offsets, deps, order, NULL, &err), VB_OK);
    CHECK(orderRespectsDeps(4, offsets, deps, order));
    CHECK_EQ_INT(order[0], 3);
    CHECK_EQ_INT(order[3], 0);
}

static void testTopoRejectsCycle(void)
{
    /* 0 -> 1 -> 2 -> 0 is a cycle; 3 depends on the cycle but is not on it. */
    int offsets[] = {0, 1, 2, 3, 4};
    int deps[] = {2, 0, 1, 2};
    int order[4];
    int cycle_node = -1;
    vb_error err = {0};
    CHECK_EQ_INT(vbGraphTopoSort(4, offsets, deps, order, &cycle_node, &err), VB_ERR_PARSE);
    CHECK(cycle_node >= 0 && cycle_node <= 2);
    CHECK(strstr(err.message, "cycle") != NULL);
}

static void testTopoRejectsSelfLoop(void)
{
    int offsets[] = {0, 0, 1};
    int deps[] = {1};
    int order[2];
    int cycle_node = -1;
    vb_error err = {0};
    CHECK_EQ_INT(vbGraphTopoSort(2, offsets, deps, order, &cycle_node, &err), VB_ERR_PARSE);
    CHECK_EQ_INT(cycle_node, 1);
}

static void testTopoRejectsBadIndex(void)
{
    int offsets[] = {0, 1};
    int deps[] = {5};
    int order[1];
    vb_error err = {0};
    CHECK_EQ_INT(vbGraphTopoSort(1, offsets, deps, order, NULL, &err), VB_ERR_INVALID_ARGUMENT);
    CHECK_EQ_INT(vbGraphTopoSort(0, offsets, deps, order, NULL, &err), VB_OK);
}

/* Returns nonzero when no two items that are alive at the same step share bytes. */
static int planIsValid(const VbPlanItem *items, int count, size_t arena)
{
    for (int i = 0; i < count; i++) {
        if (items[i].offset % 64 != 0 || items[i].offset + items[i].size > arena)
            return 0;
        for (int j = i + 1; j < count; j++) {
            int overlap_time = items[i].first <= items[j].last && items[j].first <= items[i].last;
            int overlap_bytes = items[i].offset < items[j].offset + items[j].size &&
                                items[j].offset < items[i].offset + items[i].size;
            if (overlap_time && overlap_bytes && items[i].size > 0 && items[j].size > 0)
                return 0;
        }
    }
    return 1;
}

static void testPlanChainReusesMemory(void)
{
    /* A chain a -> b -> c -> d: a and c never live together, so they share. */
    VbPlanItem items[] = {
        {1000, 0, 1, 0}, {1000, 1, 2, 0}, {1000, 2, 3, 0}, {1000, 3, 3, 0},
    };
    size_t arena = 0;
    vb_error err = {0};
    CHECK_EQ_INT(vbGraphPlanArena(items, 4, 64, SIZE_MAX, &arena, &err), VB_OK);
    CHECK(planIsValid(items, 4, arena));
    CHECK_EQ_INT(arena, 2048);  /* two aligned 1000-byte slots */
}

static void testPlanBestFitGap(void)
{
    /* Big items 0 and 1 live all along; item 2 (small, early) and 3 (small,
     * late) fit in the gap freed between them by item 4 (medium, middle). */
    VbPlanItem items[] = {
        {4096, 0, 9, 0}, {4096, 0, 9, 0}, {64, 0, 2, 0}, {64, 6, 9, 0}, {1024, 3, 5, 0},
    };
    size_t arena = 0;
    vb_error err = {0};
    CHECK_EQ_INT(vbGraphPlanArena(items, 5, 64, SIZE_MAX, &arena, &err), VB_OK);
    CHECK(planIsValid(items, 5, arena));
    CHECK_EQ_INT(arena, 4096 * 2 + 1024);
}

static void testPlanRandomIsValid(void)
{
    enum { N = 60 };
    VbPlanItem items[N];
    uint32_t seed = 12345;
    for (int i = 0; i < N; i++) {
        seed = seed * 1103515245u + 12345u;
        items[i].size = (seed >> 8) % 5000;
        seed = seed * 1103515245u + 12345u;
        items[i].first = (int)((seed >> 8) % 40);
        seed = seed * 1103515245u + 12345u;
        items[i].last = items[i].first + (int)((seed >> 8) % 10);
    }
    size_t arena = 0, sum = 0;
    vb_error err = {0};
    CHECK_EQ_INT(vbGraphPlanArena(items, N, 64, SIZE_MAX, &arena, &err), VB_OK);
    CHECK(planIsValid(items, N, arena));
    for (int i = 0; i < N; i++)
        sum += (items[i].size + 63) / 64 * 64;
    CHECK(arena <= sum);
}

static void testPlanLimits(void)
{
    VbPlanItem big[] = {{(size_t)1 << 40, 0, 0, 0}};
    VbPlanItem pair[] = {{600, 0, 1, 0}, {600, 0, 1, 0}};
    VbPlanItem huge[] = {{SIZE_MAX - 10, 0, 0, 0}};
    VbPlanItem bad[] = {{8, 3, 1, 0}};
    size_t arena = 0;
    vb_error err = {0};
    CHECK_EQ_INT(vbGraphPlanArena(big, 1, 64, (size_t)1 << 34, &arena, &err), VB_ERR_LIMIT);
    CHECK_EQ_INT(vbGraphPlanArena(pair, 2, 64, 1024, &arena, &err), VB_ERR_LIMIT);
    CHECK(strstr(err.message, "1024") != NULL);
    CHECK_EQ_INT(vbGraphPlanArena(huge, 1, 64, SIZE_MAX, &arena, &err), VB_ERR_LIMIT);
    CHECK_EQ_INT(vbGraphPlanArena(bad, 1, 64, SIZE_MAX, &arena, &err), VB_ERR_INVALID_ARGUMENT);
    CHECK_EQ_INT(vbGraphPlanArena(bad, 1, 48, SIZE_MAX, &arena, &err), VB_ERR_INVALID_ARGUMENT);
    CHECK_EQ_INT(vbGraphPlanArena(NULL, 0, 64, SIZE_MAX, &arena, &err), VB_OK);
    CHECK_EQ_INT(arena, 0);
}

static void testPlanZeroSize(void)
{
    VbPlanItem items[] = {{0, 0, 1, 0}, {128, 0, 1, 0}};
    size_t arena = 0;
    vb_error err = {0};
    CHECK_EQ_INT(vbGraphPlanArena(items, 2, 64, SIZE_MAX, &arena, &err), VB_OK);
    CHECK(items[0].offset <= arena);
    CHECK_EQ_INT(arena, 128);
}

int main(void)
{
    testTopoKeepsFileOrder();
    testTopoReordersReversed();
    testTopoDiamondWithRepeats();
    testTopoRejectsCycle();
    testTopoRejectsSelfLoop();
    testTopoRejectsBadIndex();
    testPlanChainReusesMemory();
    testPlanBestFitGap();
    testPlanRandomIsValid();
    testPlanLimits();
    testPlanZeroSize();
    TEST_END();
}
