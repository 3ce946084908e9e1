/* Summary statistics of timing samples (percentiles by linear interpolation). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "measure/stats.h"

double vbMeasurePercentile(const double *sorted, size_t n, double p)
{
    if (n == 0 || sorted == NULL)
        return 0.0;
    if (!(p > 0.0))
        return sorted[0];
    if (p >= 100.0)
        return sorted[n - 1];

    double h = (double)(n - 1) * p / 100.0;
    size_t lo = (size_t)floor(h);
    if (lo >= n - 1)
        return sorted[n - 1];
    double frac = h - (double)lo;
    return sorted[lo] + frac * (sorted[lo + 1] - sorted[lo]);
}

static int compareDouble(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

vb_status vbMeasureSummarize(const double *values, size_t n, VbSampleStats *out, vb_error *err)
{
    memset(out, 0, sizeof *out);
    if (n == 0)
        return VB_OK;

    for (size_t i = 0; i < n; i++) {
        if (!isfinite(values[i]))
            return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                              "sample %zu is not a finite number", i);
    }

    size_t bytes;
    if (vbMulSize(n, sizeof(double), &bytes))
        return vbErrorSet(err, VB_ERR_LIMIT, "%zu samples do not fit in memory", n);
    double *sorted = malloc(bytes);
    if (sorted == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory sorting %zu samples", n);
    memcpy(sorted, values, bytes);
    qsort(sorted, n, sizeof(double), compareDouble);

    /* Two passes: the mean first, then squared deviations from it, which
     * stays accurate where the one-pass sum-of-squares formula cancels. */
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += sorted[i];
    double mean = sum / (double)n;
    double squares = 0.0;
    for (size_t i = 0; i < n; i++)
        squares += (sorted[i] - mean) * (sorted[i] - mean);

    out->count = n;
    out->min = sorted[0];
    out->max = sorted[n - 1];
    out->mean = mean;
    out->stddev = n > 1 ? sqrt(squares / (double)(n - 1)) : 0.0;
    out->p50 = vbMeasurePercentile(sorted, n, 50.0);
    out->p90 = vbMeasurePercentile(sorted, n, 90.0);
    out->p95 = vbMeasurePercentile(sorted, n, 95.0);
    out->p99 = vbMeasurePercentile(sorted, n, 99.0);
    free(sorted);
    return VB_OK;
}
