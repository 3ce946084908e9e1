/* Summary statistics of timing samples: min, mean, percentiles, max, standard deviation. */
#ifndef VB_MEASURE_STATS_H
#define VB_MEASURE_STATS_H

#include <stddef.h>

#include "visionbench/status.h"

/* Summary of n samples, in the unit of the samples. All fields are 0 when
 * count is 0. */
typedef struct VbSampleStats {
    size_t count;
    double min;
    double mean;
    double p50;
    double p90;
    double p95;
    double p99;
    double max;
    double stddev;   /* sample standard deviation (divides by n - 1); 0 when n < 2 */
} VbSampleStats;

/* Returns the p-th percentile (0 <= p <= 100) of n values sorted in
 * ascending order, by linear interpolation between the two closest ranks:
 * rank h = (n - 1) * p / 100, result = x[floor(h)] + (h - floor(h)) *
 * (x[floor(h) + 1] - x[floor(h)]). This is Hyndman and Fan's definition 7,
 * the default of numpy.percentile and of R's quantile. Returns 0 when n is 0;
 * p outside 0..100 is clamped. */
double vbMeasurePercentile(const double *sorted, size_t n, double p);

/* Fills *out with the summary of values[0..n-1] (n may be 0). values is not
 * modified; a sorted copy is made. Errors: VB_ERR_NO_MEMORY,
 * VB_ERR_INVALID_ARGUMENT when a value is NaN or infinite. */
vb_status vbMeasureSummarize(const double *values, size_t n, VbSampleStats *out, vb_error *err);

#endif /* VB_MEASURE_STATS_H */
