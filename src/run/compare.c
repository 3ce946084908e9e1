/* Comparison across models: winners, per-metric rankings and the accuracy-latency Pareto front. */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "run/run_internal.h"

/* The value a ranking sorts by, and whether a model has one. */
typedef enum Metric { METRIC_ACCURACY, METRIC_SPEED, METRIC_EFFICIENCY, METRIC_CO2 } Metric;

static int finished(const VbModelResult *m)
{
    return m->status == VB_MODEL_OK && m->end_to_end_ms.count > 0;
}

static int isDetectorWithAccuracy(const VbModelResult *m)
{
    return finished(m) && m->has_accuracy && m->map >= 0.0 && strcmp(m->m.task, "classify") != 0;
}

static double co2PerImage(const VbModelResult *m)
{
    return m->co2_kg / (double)m->end_to_end_ms.count;
}

/* Returns 1 and the metric's value when model m has it. Higher is better
 * for accuracy and efficiency, lower for speed (median latency) and CO2. */
static int metricValue(const VbModelResult *m, Metric metric, double *value)
{
    switch (metric) {
    case METRIC_ACCURACY:
        *value = m->map;
        return isDetectorWithAccuracy(m);
    case METRIC_SPEED:
        *value = m->end_to_end_ms.p50;
        return finished(m);
    case METRIC_EFFICIENCY:
        if (!isDetectorWithAccuracy(m) || !(m->energy_per_image_j > 0.0))
            return 0;
        *value = m->map / m->energy_per_image_j;
        return 1;
    case METRIC_CO2:
        *value = co2PerImage(m);
        return finished(m);
    }
    return 0;
}

typedef struct RankEntry {
    int index;
    double key;    /* smaller sorts first */
    double tie;    /* median latency, smaller first */
} RankEntry;

static int compareRank(const void *a, const void *b)
{
    const RankEntry *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    if (x->tie != y->tie)
        return x->tie < y->tie ? -1 : 1;
    return x->index - y->index;
}

/* Builds the ranking of the models that have the metric, best first; ties
 * go to the lower median latency, then to the earlier --model. */
static vb_status rank(const VbRunResult *result, Metric metric, int **out, int *count,
                      vb_error *err)
{
    *out = NULL;
    *count = 0;
    RankEntry *entries = calloc((size_t)result->model_count + 1, sizeof *entries);
    int *order = calloc((size_t)result->model_count + 1, sizeof *order);
    if (entries == NULL || order == NULL) {
        free(entries);
        free(order);
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory ranking models");
    }
    int n = 0;
    for (int i = 0; i < result->model_count; i++) {
        double value;
        if (!metricValue(&result->models[i], metric, &value))
            continue;
        int higher_is_better = metric == METRIC_ACCURACY || metric == METRIC_EFFICIENCY;
        entries[n].index = i;
        entries[n].key = higher_is_better ? -value : value;
        entries[n].tie = result->models[i].end_to_end_ms.p50;
        n++;
    }
    qsort(entries, (size_t)n, sizeof *entries, compareRank);
    for (int i = 0; i < n; i++)
        order[i] = entries[i].index;
    free(entries);
    *out = order;
    *count = n;
    return VB_OK;
}

/* Keeps the detectors that no other detector beats on both accuracy and
 * median latency (at least as good on both, better on one), by latency. */
static vb_status paretoFront(const VbRunResult *result, VbRunComparison *c, vb_error *err)
{
    c->pareto = calloc((size_t)result->model_count + 1, sizeof *c->pareto);
    if (c->pareto == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for the Pareto front");
    for (int k = 0; k < c->rank_speed_count; k++) {
        int i = c->rank_speed[k];
        const VbModelResult *a = &result->models[i];
        if (!isDetectorWithAccuracy(a))
            continue;
        int dominated = 0;
        for (int j = 0; j < result->model_count && !dominated; j++) {
            const VbModelResult *b = &result->models[j];
            if (j == i || !isDetectorWithAccuracy(b))
                continue;
            double la = a->end_to_end_ms.p50, lb = b->end_to_end_ms.p50;
            dominated = lb <= la && b->map >= a->map && (lb < la || b->map > a->map);
        }
        if (!dominated)
            c->pareto[c->pareto_count++] = i;
    }
    return VB_OK;
}

vb_status vbRunCompare(VbRunResult *result, vb_error *err)
{
    VbRunComparison *c = &result->comparison;
    vbRunComparisonFree(c);

    vb_status st = rank(result, METRIC_ACCURACY, &c->rank_accuracy, &c->rank_accuracy_count, err);
    if (st == VB_OK)
        st = rank(result, METRIC_SPEED, &c->rank_speed, &c->rank_speed_count, err);
    if (st == VB_OK)
        st = rank(result, METRIC_EFFICIENCY, &c->rank_efficiency, &c->rank_efficiency_count, err);
    if (st == VB_OK)
        st = rank(result, METRIC_CO2, &c->rank_co2, &c->rank_co2_count, err);
    if (st == VB_OK)
        st = paretoFront(result, c, err);
    if (st != VB_OK) {
        vbRunComparisonFree(c);
        return st;
    }

    /* A winner on accuracy needs an mAP above 0: when every model scores 0
     * there is nothing to rank, and naming the first would mislead. */
    c->best_accuracy = c->rank_accuracy_count > 0 && result->models[c->rank_accuracy[0]].map > 0.0
                           ? c->rank_accuracy[0]
                           : -1;
    c->fastest = c->rank_speed_count > 0 ? c->rank_speed[0] : -1;
    c->most_efficient = c->rank_efficiency_count > 0 && result->models[c->rank_efficiency[0]].map > 0.0
                            ? c->rank_efficiency[0]
                            : -1;
    c->greenest = c->rank_co2_count > 0 ? c->rank_co2[0] : -1;

    /* Classifiers are ranked apart from detectors, by F1. */
    c->best_classifier = -1;
    for (int i = 0; i < result->model_count; i++) {
        const VbModelResult *m = &result->models[i];
        if (!finished(m) || !m->has_accuracy || strcmp(m->m.task, "classify") != 0 ||
            !(m->f1 > 0.0))
            continue;
        if (c->best_classifier < 0 || m->f1 > result->models[c->best_classifier].f1)
            c->best_classifier = i;
    }
    return VB_OK;
}

void vbRunComparisonFree(VbRunComparison *comparison)
{
    if (comparison == NULL)
        return;
    free(comparison->rank_accuracy);
    free(comparison->rank_speed);
    free(comparison->rank_efficiency);
    free(comparison->rank_co2);
    free(comparison->pareto);
    memset(comparison, 0, sizeof *comparison);
    comparison->best_accuracy = -1;
    comparison->best_classifier = -1;
    comparison->fastest = -1;
    comparison->most_efficient = -1;
    comparison->greenest = -1;
}
