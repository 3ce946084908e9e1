/* Bootstrap confidence intervals for COCO mAP by resampling images, single model and paired. */
#ifndef VB_BOOTSTRAP_H
#define VB_BOOTSTRAP_H

#include <stddef.h>
#include <stdint.h>

#include "metrics/coco_eval.h"

#define VB_BOOTSTRAP_DEFAULT_SAMPLES 1000
#define VB_BOOTSTRAP_DEFAULT_SEED 20260101u

/* A point estimate with a 95% percentile interval. lo and hi are NaN when no
 * sample was drawn or no sample had a defined value. */
typedef struct VbBootstrapCi {
    double estimate;
    double lo;          /* 2.5th percentile of the samples */
    double hi;          /* 97.5th percentile of the samples */
} VbBootstrapCi;

typedef struct VbBootstrapResult {
    size_t samples;
    uint64_t seed;
    VbBootstrapCi map;       /* AP@[.50:.95], area all, maxDets 100 */
    VbBootstrapCi map50;     /* AP@.50 */
} VbBootstrapResult;

/* Differences A - B over the same resampled image multisets. */
typedef struct VbBootstrapPaired {
    size_t samples;
    uint64_t seed;
    VbBootstrapCi diff_map;
    VbBootstrapCi diff_map50;
    double a_better_map;     /* fraction of samples with mAP(A) > mAP(B); NaN without samples */
    double a_better_map50;
} VbBootstrapPaired;

/* A deterministic xoshiro256** generator seeded through splitmix64. */
typedef struct VbBootstrapRng {
    uint64_t s[4];
} VbBootstrapRng;

void vbBootstrapSeed(VbBootstrapRng *rng, uint64_t seed);
uint64_t vbBootstrapNext(VbBootstrapRng *rng);
/* Returns a uniform integer in [0, n) without modulo bias; n > 0. */
uint64_t vbBootstrapBelow(VbBootstrapRng *rng, uint64_t n);

/* Draws `samples` image multisets (image_count draws with replacement each),
 * re-accumulates ev on each from the stored matches and stores the 95%
 * percentile intervals (numpy's default linear interpolation) of mAP and
 * mAP50 in out. The same seed gives the same result. samples == 0 only
 * fills the estimates. Errors: VB_ERR_NO_MEMORY, VB_ERR_LIMIT.
 * NOTE: with few GT boxes per category the interval can sit off-centre and
 * even exclude the estimate, because samples that miss a category's images
 * leave it out of the mean. */
vb_status vbBootstrapMap(const VbCocoEval *ev, size_t samples, uint64_t seed, VbBootstrapResult *out,
                         vb_error *err);

/* Paired bootstrap of a - b: each sample draws one image multiset and
 * re-accumulates both evaluations on it. Errors: VB_ERR_INVALID_ARGUMENT
 * when a and b do not have the same image ids, VB_ERR_NO_MEMORY. */
vb_status vbBootstrapCompare(const VbCocoEval *a, const VbCocoEval *b, size_t samples, uint64_t seed,
                             VbBootstrapPaired *out, vb_error *err);

#endif /* VB_BOOTSTRAP_H */
