/* Internal pieces of the run module shared between its files and its tests. */
#ifndef VB_RUN_INTERNAL_H
#define VB_RUN_INTERNAL_H

#include "run/child.h"
#include "run/run.h"

/* vbRun with an explicit backend; tests pass one that needs no model files. */
vb_status vbRunWithBackend(const VbRunBackend *backend, const VbRunOptions *options,
                           VbRunProgressFn progress, void *user, VbRunResult *result,
                           vb_error *err);

/* Fills result->comparison from the finished models: the winners, a ranking
 * per metric and the accuracy-latency Pareto front. Errors: VB_ERR_NO_MEMORY. */
vb_status vbRunCompare(VbRunResult *result, vb_error *err);

/* Frees the arrays of a comparison and zeroes it. Accepts NULL. */
void vbRunComparisonFree(VbRunComparison *comparison);

#endif /* VB_RUN_INTERNAL_H */
