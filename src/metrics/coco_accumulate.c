/* COCO evaluation, second half: accumulating stored matches into precision and recall, the summary, and weighted re-accumulation for the bootstrap. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "metrics/coco_eval.h"

/* numpy's np.spacing(1): the distance from 1.0 to the next double. */
#define COCO_EPS 2.220446049250313e-16

/* numpy's pairwise_sum for float64 (umath/loops_utils.h): sequential below 8
 * elements, eight interleaved accumulators up to 128, else split in two at a
 * multiple of 8. */
static double pairwiseSum(const double *a, size_t n)
{
    if (n < 8) {
        double res = 0.0;
        for (size_t i = 0; i < n; i++)
            res += a[i];
        return res;
    }
    if (n <= 128) {
        double r[8];
        memcpy(r, a, sizeof r);
        size_t i;
        for (i = 8; i < n - (n % 8); i += 8)
            for (int j = 0; j < 8; j++)
                r[j] += a[i + j];
        double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++)
            res += a[i];
        return res;
    }
    size_t n2 = n / 2;
    n2 -= n2 % 8;
    return pairwiseSum(a, n2) + pairwiseSum(a + n2, n - n2);
}

double vbCocoMean(const double *v, size_t n)
{
    if (n == 0)
        return NAN;
    /* numpy 1.24 reduces in chunks of its buffer size (8192 elements),
     * adding each chunk's pairwise sum to the running total. */
    const size_t chunk = 8192;
    double sum = 0.0;
    for (size_t i = 0; i < n; i += chunk)
        sum += pairwiseSum(v + i, n - i < chunk ? n - i : chunk);
    return sum / (double)n;
}

/* Computes need[r], the smallest TP count c with c / npig >= rec_thrs[r]
 * (npig + 1 when there is none). pycocotools compares recall tp / npig with
 * each threshold, so counting in the same double division finds the same
 * first index as its searchsorted. */
static void recallSteps(uint64_t npig, const double *rec_thrs, uint64_t *need)
{
    uint64_t c = 0;
    for (int r = 0; r < VB_COCO_REC_THRS; r++) {
        while (c <= npig && (double)c / (double)npig < rec_thrs[r])
            c++;
        need[r] = c;
    }
}

/* Fills the 101-point precision q (R values at stride q_stride) from pr,
 * the precision tp / (fp + tp + eps) after each of the ntp true positives
 * in score order, and returns the recall ntp / npig. pr is overwritten.
 *
 * This gives COCOeval.accumulate's numbers with divisions only at TPs:
 * precision rises only at a TP, so the running maximum from the right over
 * all detections (its precision envelope) equals the maximum over the TPs
 * from the same point. The first detection whose recall reaches a threshold
 * is the need[r]-th TP. A threshold of 0 starts at the first detection,
 * whose envelope value is the maximum over all TPs (0 without TPs).
 * FPs and ignored detections before the first TP have precision 0. */
static double precisionFromTps(double *pr, size_t ntp, uint64_t npig, const uint64_t *need,
                               double *q, size_t q_stride)
{
    for (size_t i = ntp; i-- > 1;)
        if (pr[i] > pr[i - 1])
            pr[i - 1] = pr[i];
    for (int r = 0; r < VB_COCO_REC_THRS; r++) {
        uint64_t c = need[r];
        double v = 0.0;
        if (c == 0 && ntp > 0)
            v = pr[0];
        else if (c > 0 && c <= ntp)
            v = pr[c - 1];
        q[r * q_stride] = v;
    }
    return (double)ntp / (double)npig;
}

static size_t precisionIndex(const VbCocoEval *ev, size_t t, size_t r, size_t k, size_t a, size_t m)
{
    return (((t * VB_COCO_REC_THRS + r) * ev->category_count + k) * VB_COCO_AREAS + a) *
               VB_COCO_MAX_DETS + m;
}

static size_t recallIndex(const VbCocoEval *ev, size_t t, size_t k, size_t a, size_t m)
{
    return ((t * ev->category_count + k) * VB_COCO_AREAS + a) * VB_COCO_MAX_DETS + m;
}

/* Walks category k's kept detections of rank below max_det in accumulate
 * order and stores, for each IoU threshold t, the precision after each TP
 * in pr[t * stride ...] and the TP count in ntp[t]. Detection d enters
 * weight[image of d] times, or once when weight is NULL. The caller sizes
 * pr for the weighted TP count. */
static void collectTps(const VbCocoEval *ev, size_t k, size_t a, uint32_t max_det,
                       const uint32_t *weight, double *pr, size_t stride, size_t *ntp)
{
    const size_t T = (size_t)ev->params.iou_thr_count;
    double tps[VB_COCO_IOU_THRS_MAX] = {0}, fps[VB_COCO_IOU_THRS_MAX] = {0};
    const uint32_t *order = &ev->det_order[ev->category_det_start[k]];
    size_t nk = ev->category_det_start[k + 1] - ev->category_det_start[k];

    for (size_t t = 0; t < T; t++)
        ntp[t] = 0;
    for (size_t j = 0; j < nk; j++) {
        uint32_t d = order[j];
        if (ev->det_rank[d] >= max_det)
            continue;
        uint32_t w = weight ? weight[ev->pairs[ev->det_pair[d]].image] : 1;
        const uint8_t *status = &ev->det_status[((size_t)d * VB_COCO_AREAS + a) * T];
        for (size_t t = 0; t < T; t++) {
            if (status[t] == VB_COCO_FP) {
                fps[t] += w;
                continue;
            }
            if (status[t] != VB_COCO_TP)
                continue;
            for (uint32_t c = 0; c < w; c++) {
                tps[t] += 1;
                pr[t * stride + ntp[t]++] = tps[t] / (fps[t] + tps[t] + COCO_EPS);
            }
        }
    }
}

vb_status vbCocoAccumulate(VbCocoEval *ev, vb_error *err)
{
    const VbCocoParams *p = &ev->params;
    const size_t T = (size_t)p->iou_thr_count, K = ev->category_count;
    const size_t q_stride = K * VB_COCO_AREAS * VB_COCO_MAX_DETS;
    size_t np, nr, ncurve;

    /* pr holds, per IoU threshold, one value per TP: at most the kept
     * detections of the largest category. */
    size_t max_nk = 1;
    for (size_t k = 0; k < K; k++) {
        size_t nk = ev->category_det_start[k + 1] - ev->category_det_start[k];
        if (nk > max_nk)
            max_nk = nk;
    }
    if (vbMulSize(T * VB_COCO_REC_THRS * VB_COCO_AREAS * VB_COCO_MAX_DETS, K ? K : 1, &np) ||
        vbMulSize(T * VB_COCO_AREAS * VB_COCO_MAX_DETS, K ? K : 1, &nr) ||
        vbMulSize(T, max_nk, &ncurve) || ncurve > SIZE_MAX / sizeof(double))
        return vbErrorSet(err, VB_ERR_LIMIT, "%zu categories and %zu detections do not fit in memory",
                          K, ev->det_count);
    ev->precision = malloc(np * sizeof *ev->precision);
    ev->recall = malloc(nr * sizeof *ev->recall);
    double *pr = malloc(ncurve * sizeof *pr);
    if (ev->precision == NULL || ev->recall == NULL || pr == NULL) {
        free(pr);
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for the precision arrays");
    }
    for (size_t i = 0; i < np; i++)
        ev->precision[i] = -1;
    for (size_t i = 0; i < nr; i++)
        ev->recall[i] = -1;

    for (size_t k = 0; k < K; k++) {
        /* A category with no pair (no GT, no detection) stays -1. */
        size_t p0 = ev->category_pair_start[k], p1 = ev->category_pair_start[k + 1];
        if (p0 == p1)
            continue;

        for (size_t a = 0; a < VB_COCO_AREAS; a++) {
            uint64_t npig = 0;
            for (size_t pi = p0; pi < p1; pi++)
                npig += ev->pairs[pi].npig[a];
            if (npig == 0)
                continue;
            uint64_t need[VB_COCO_REC_THRS];
            recallSteps(npig, p->rec_thrs, need);

            for (size_t m = 0; m < VB_COCO_MAX_DETS; m++) {
                size_t ntp[VB_COCO_IOU_THRS_MAX];
                collectTps(ev, k, a, (uint32_t)p->max_dets[m], NULL, pr, max_nk, ntp);
                for (size_t t = 0; t < T; t++) {
                    double *q = &ev->precision[precisionIndex(ev, t, 0, k, a, m)];
                    ev->recall[recallIndex(ev, t, k, a, m)] =
                        precisionFromTps(pr + t * max_nk, ntp[t], npig, need, q, q_stride);
                }
            }
        }
    }
    free(pr);
    return VB_OK;
}

/* Returns the index of value in the IoU thresholds, or -1. */
static int iouIndex(const VbCocoParams *p, double value)
{
    for (int t = 0; t < p->iou_thr_count; t++)
        if (p->iou_thrs[t] == value)
            return t;
    return -1;
}

/* Returns np.mean(s[s > -1]) of the precision slice [t0, t1) x R x K at
 * (area a, maxDets m), or of the recall slice [t0, t1) x K when
 * use_recall, or -1 when the slice has no defined value. */
static double summarizeSlice(const VbCocoEval *ev, int use_recall, int t0, int t1, size_t k0,
                             size_t k1, size_t a, size_t m, double *values)
{
    size_t n = 0;
    for (int t = t0; t < t1; t++) {
        if (use_recall) {
            for (size_t k = k0; k < k1; k++) {
                double v = ev->recall[recallIndex(ev, (size_t)t, k, a, m)];
                if (v > -1)
                    values[n++] = v;
            }
            continue;
        }
        for (size_t r = 0; r < VB_COCO_REC_THRS; r++)
            for (size_t k = k0; k < k1; k++) {
                double v = ev->precision[precisionIndex(ev, (size_t)t, r, k, a, m)];
                if (v > -1)
                    values[n++] = v;
            }
    }
    return n ? vbCocoMean(values, n) : -1;
}

vb_status vbCocoSummarize(VbCocoEval *ev, vb_error *err)
{
    const VbCocoParams *p = &ev->params;
    const int T = p->iou_thr_count;
    const size_t K = ev->category_count, M = VB_COCO_MAX_DETS - 1;
    int t50 = iouIndex(p, 0.5), t75 = iouIndex(p, 0.75);
    size_t n;
    if (vbMulSize((size_t)T * VB_COCO_REC_THRS, K ? K : 1, &n))
        return vbErrorSet(err, VB_ERR_LIMIT, "%zu categories do not fit in memory", K);
    double *values = malloc(n * sizeof *values);
    ev->per_category = calloc(K ? K : 1, sizeof *ev->per_category);
    if (values == NULL || ev->per_category == NULL) {
        free(values);
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for the summary");
    }

    /* A threshold that is not in iou_thrs selects an empty slice: -1. */
    int a50 = t50 < 0 ? 0 : t50, b50 = t50 < 0 ? 0 : t50 + 1;
    int a75 = t75 < 0 ? 0 : t75, b75 = t75 < 0 ? 0 : t75 + 1;
    double *s = ev->stats;
    s[0] = summarizeSlice(ev, 0, 0, T, 0, K, 0, M, values);
    s[1] = summarizeSlice(ev, 0, a50, b50, 0, K, 0, M, values);
    s[2] = summarizeSlice(ev, 0, a75, b75, 0, K, 0, M, values);
    for (size_t a = 1; a < VB_COCO_AREAS; a++)
        s[2 + a] = summarizeSlice(ev, 0, 0, T, 0, K, a, M, values);
    for (size_t m = 0; m < VB_COCO_MAX_DETS; m++)
        s[6 + m] = summarizeSlice(ev, 1, 0, T, 0, K, 0, m, values);
    for (size_t a = 1; a < VB_COCO_AREAS; a++)
        s[8 + a] = summarizeSlice(ev, 1, 0, T, 0, K, a, M, values);

    for (size_t k = 0; k < K; k++) {
        VbCocoCategoryResult *c = &ev->per_category[k];
        c->id = ev->category_ids[k];
        c->name = ev->category_names[k];
        c->ap = summarizeSlice(ev, 0, 0, T, k, k + 1, 0, M, values);
        c->ap50 = summarizeSlice(ev, 0, a50, b50, k, k + 1, 0, M, values);
        c->ap75 = summarizeSlice(ev, 0, a75, b75, k, k + 1, 0, M, values);
        c->recall50 = t50 < 0 ? -1 : ev->recall[recallIndex(ev, (size_t)t50, k, 0, M)];
        for (size_t r = 0; r < VB_COCO_REC_THRS; r++)
            c->pr50[r] = t50 < 0 ? -1 : ev->precision[precisionIndex(ev, (size_t)t50, r, k, 0, M)];
    }
    free(values);
    return VB_OK;
}

void vbCocoScratchFree(VbCocoScratch *s)
{
    if (s == NULL)
        return;
    free(s->pr);
    free(s->precision);
    free(s->values);
    memset(s, 0, sizeof *s);
}

vb_status vbCocoResampleMap(const VbCocoEval *ev, const uint32_t *weight, VbCocoScratch *s,
                            double *map, double *map50, vb_error *err)
{
    const VbCocoParams *p = &ev->params;
    const size_t T = (size_t)p->iou_thr_count, K = ev->category_count, A = 0;
    const uint32_t max_det = (uint32_t)p->max_dets[VB_COCO_MAX_DETS - 1];
    const size_t R = VB_COCO_REC_THRS;
    size_t cells = T * R * (K ? K : 1);

    if (s->precision == NULL || s->values_cap < cells) {
        free(s->precision);
        free(s->values);
        s->precision = malloc(cells * sizeof *s->precision);
        s->values = malloc(cells * sizeof *s->values);
        s->values_cap = cells;
        if (s->precision == NULL || s->values == NULL) {
            vbCocoScratchFree(s);
            return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for resampling");
        }
    }
    for (size_t i = 0; i < cells; i++)
        s->precision[i] = -1;

    for (size_t k = 0; k < K; k++) {
        /* The weighted pair, GT and detection counts of this category. */
        size_t p0 = ev->category_pair_start[k], p1 = ev->category_pair_start[k + 1];
        uint64_t npig = 0, present = 0, expanded = 0;
        for (size_t pi = p0; pi < p1; pi++) {
            uint32_t w = weight[ev->pairs[pi].image];
            present += w;
            npig += (uint64_t)w * ev->pairs[pi].npig[A];
            expanded += (uint64_t)w * ev->pairs[pi].det_count;
        }
        if (present == 0 || npig == 0)
            continue;

        /* Room for one precision value per weighted TP and IoU threshold. */
        expanded = expanded ? expanded : 1;
        if (expanded > SIZE_MAX / sizeof(double) / T)
            return vbErrorSet(err, VB_ERR_LIMIT, "resample of %llu detections does not fit in memory",
                              (unsigned long long)expanded);
        if (expanded * T > s->pr_cap) {
            double *pr = realloc(s->pr, (size_t)expanded * T * sizeof *pr);
            if (pr == NULL)
                return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for %llu resampled detections",
                                  (unsigned long long)expanded);
            s->pr = pr;
            s->pr_cap = (size_t)expanded * T;
        }

        uint64_t need[VB_COCO_REC_THRS];
        size_t ntp[VB_COCO_IOU_THRS_MAX];
        recallSteps(npig, p->rec_thrs, need);
        collectTps(ev, k, A, max_det, weight, s->pr, (size_t)expanded, ntp);
        for (size_t t = 0; t < T; t++)
            precisionFromTps(s->pr + t * (size_t)expanded, ntp[t], npig, need,
                             &s->precision[t * R * K + k], K);
    }

    /* Means over [T][R][K] of the defined entries, as summarize does. */
    int t50 = iouIndex(p, 0.5);
    size_t nv = 0;
    for (size_t i = 0; i < T * R * K; i++)
        if (s->precision[i] > -1)
            s->values[nv++] = s->precision[i];
    *map = nv ? vbCocoMean(s->values, nv) : -1;
    nv = 0;
    if (t50 >= 0)
        for (size_t i = (size_t)t50 * R * K; i < ((size_t)t50 + 1) * R * K; i++)
            if (s->precision[i] > -1)
                s->values[nv++] = s->precision[i];
    *map50 = nv ? vbCocoMean(s->values, nv) : -1;
    return VB_OK;
}
