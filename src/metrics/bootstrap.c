/* Bootstrap over images for COCO mAP: seeded resampling, re-accumulation from stored matches, percentile intervals. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "metrics/bootstrap.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void vbBootstrapSeed(VbBootstrapRng *rng, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t vbBootstrapNext(VbBootstrapRng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t vbBootstrapBelow(VbBootstrapRng *rng, uint64_t n)
{
    /* Reject the lowest 2^64 mod n values so every residue is equally likely. */
    uint64_t threshold = (0 - n) % n;
    for (;;) {
        uint64_t r = vbBootstrapNext(rng);
        if (r >= threshold)
            return r % n;
    }
}

static int compareDouble(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Fills ci->lo and ci->hi with the 2.5th and 97.5th percentiles of the
 * values of v[0..n) that are not NaN, using numpy's default linear
 * interpolation between order statistics. v is reordered. */
static void percentileInterval(double *v, size_t n, VbBootstrapCi *ci)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(v[i]))
            v[m++] = v[i];
    if (m == 0) {
        ci->lo = ci->hi = NAN;
        return;
    }
    qsort(v, m, sizeof *v, compareDouble);
    const double q[2] = {0.025, 0.975};
    double out[2];
    for (int i = 0; i < 2; i++) {
        double pos = q[i] * (double)(m - 1);
        size_t lo = (size_t)floor(pos);
        size_t hi = lo + 1 < m ? lo + 1 : lo;
        out[i] = v[lo] + (v[hi] - v[lo]) * (pos - (double)lo);
    }
    ci->lo = out[0];
    ci->hi = out[1];
}

/* Draws one multiset of n images into weight (draw counts). */
static void drawImages(VbBootstrapRng *rng, uint32_t *weight, size_t n)
{
    memset(weight, 0, n * sizeof *weight);
    for (size_t i = 0; i < n; i++)
        weight[vbBootstrapBelow(rng, n)]++;
}

/* Resamples one or two evaluations with the same image draws and stores
 * per-sample mAP and mAP50 (for two, the difference a - b and whether a
 * won) in the caller's arrays of `samples` entries. A sample whose value is
 * undefined (no GT drawn) is stored as NaN. */
static vb_status resample(const VbCocoEval *a, const VbCocoEval *b, size_t samples, uint64_t seed,
                          double *map, double *map50, uint8_t *a_won, uint8_t *a_won50, vb_error *err)
{
    vb_status st = VB_OK;
    VbCocoScratch sa = {0}, sb = {0};
    size_t n = a->image_count;
    uint32_t *weight = malloc((n ? n : 1) * sizeof *weight);
    if (weight == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for %zu image weights", n);

    VbBootstrapRng rng;
    vbBootstrapSeed(&rng, seed);
    for (size_t i = 0; i < samples; i++) {
        drawImages(&rng, weight, n);
        double ma, ma50;
        if ((st = vbCocoResampleMap(a, weight, &sa, &ma, &ma50, err)))
            goto done;
        map[i] = ma > -1 ? ma : NAN;
        map50[i] = ma50 > -1 ? ma50 : NAN;
        if (b == NULL)
            continue;

        /* Paired: the same draws for b. */
        double mb, mb50;
        if ((st = vbCocoResampleMap(b, weight, &sb, &mb, &mb50, err)))
            goto done;
        map[i] = (ma > -1 && mb > -1) ? ma - mb : NAN;
        map50[i] = (ma50 > -1 && mb50 > -1) ? ma50 - mb50 : NAN;
        a_won[i] = ma > mb;
        a_won50[i] = ma50 > mb50;
    }

done:
    free(weight);
    vbCocoScratchFree(&sa);
    vbCocoScratchFree(&sb);
    return st;
}

vb_status vbBootstrapMap(const VbCocoEval *ev, size_t samples, uint64_t seed, VbBootstrapResult *out,
                         vb_error *err)
{
    vb_status st = VB_OK;
    memset(out, 0, sizeof *out);
    out->samples = samples;
    out->seed = seed;
    out->map.estimate = ev->stats[0];
    out->map50.estimate = ev->stats[1];
    out->map.lo = out->map.hi = out->map50.lo = out->map50.hi = NAN;
    if (samples == 0)
        return VB_OK;

    double *map = malloc(samples * sizeof *map);
    double *map50 = malloc(samples * sizeof *map50);
    if (map == NULL || map50 == NULL) {
        st = vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for %zu bootstrap samples", samples);
        goto done;
    }
    if ((st = resample(ev, NULL, samples, seed, map, map50, NULL, NULL, err)))
        goto done;
    percentileInterval(map, samples, &out->map);
    percentileInterval(map50, samples, &out->map50);

done:
    free(map);
    free(map50);
    return st;
}

vb_status vbBootstrapCompare(const VbCocoEval *a, const VbCocoEval *b, size_t samples, uint64_t seed,
                             VbBootstrapPaired *out, vb_error *err)
{
    vb_status st = VB_OK;
    memset(out, 0, sizeof *out);
    if (a->image_count != b->image_count ||
        memcmp(a->image_ids, b->image_ids, a->image_count * sizeof *a->image_ids) != 0)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                          "paired bootstrap needs both evaluations on the same images "
                          "(%zu and %zu images); evaluate both against the same ground truth",
                          a->image_count, b->image_count);
    out->samples = samples;
    out->seed = seed;
    out->diff_map.estimate = a->stats[0] - b->stats[0];
    out->diff_map50.estimate = a->stats[1] - b->stats[1];
    out->diff_map.lo = out->diff_map.hi = out->diff_map50.lo = out->diff_map50.hi = NAN;
    out->a_better_map = out->a_better_map50 = NAN;
    if (samples == 0)
        return VB_OK;

    double *diff = malloc(samples * sizeof *diff);
    double *diff50 = malloc(samples * sizeof *diff50);
    uint8_t *won = malloc(samples);
    uint8_t *won50 = malloc(samples);
    if (diff == NULL || diff50 == NULL || won == NULL || won50 == NULL) {
        st = vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for %zu bootstrap samples", samples);
        goto done;
    }
    if ((st = resample(a, b, samples, seed, diff, diff50, won, won50, err)))
        goto done;

    size_t wins = 0, wins50 = 0;
    for (size_t i = 0; i < samples; i++) {
        wins += won[i];
        wins50 += won50[i];
    }
    out->a_better_map = (double)wins / (double)samples;
    out->a_better_map50 = (double)wins50 / (double)samples;
    percentileInterval(diff, samples, &out->diff_map);
    percentileInterval(diff50, samples, &out->diff_map50);

done:
    free(diff);
    free(diff50);
    free(won);
    free(won50);
    return st;
}
