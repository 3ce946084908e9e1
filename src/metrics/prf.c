/* Precision, recall and F1 at IoU 0.5 from stored COCO matches, at a given and at the best confidence. */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "metrics/prf.h"

/* Fills the rates of p from its counts. */
static void prfRates(VbPrf *p)
{
    p->precision = p->tp + p->fp ? (double)p->tp / (double)(p->tp + p->fp) : 0.0;
    p->recall = p->npos ? (double)p->tp / (double)p->npos : 0.0;
    p->f1 = p->precision + p->recall > 0
                ? 2 * p->precision * p->recall / (p->precision + p->recall)
                : 0.0;
}

/* Returns the status of kept detection d at IoU index t, area "all". */
static uint8_t detStatus(const VbCocoEval *ev, size_t d, int t)
{
    return ev->det_status[(d * VB_COCO_AREAS + 0) * (size_t)ev->params.iou_thr_count + (size_t)t];
}

/* Counts the point at pt->threshold into pt->per_class (class_count
 * entries, allocated here) and the micro and macro figures. */
static vb_status countPoint(const VbCocoEval *ev, int t50, VbPrfPoint *pt, vb_error *err)
{
    size_t K = ev->category_count;
    pt->per_class = calloc(K ? K : 1, sizeof *pt->per_class);
    if (pt->per_class == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for %zu classes", K);

    for (size_t pi = 0; pi < ev->pair_count; pi++) {
        const VbCocoPair *pair = &ev->pairs[pi];
        VbPrf *c = &pt->per_class[pair->category];
        c->npos += pair->npig[0];
        for (size_t d = pair->det_start; d < (size_t)pair->det_start + pair->det_count; d++) {
            if (!(ev->det_score[d] >= pt->threshold))
                continue;
            uint8_t status = detStatus(ev, d, t50);
            c->tp += status == VB_COCO_TP;
            c->fp += status == VB_COCO_FP;
        }
    }

    /* Micro: sum the counts. Macro: average the rates of classes with GT. */
    memset(&pt->micro, 0, sizeof pt->micro);
    double sum_p = 0, sum_r = 0, sum_f1 = 0;
    size_t with_gt = 0;
    for (size_t k = 0; k < K; k++) {
        VbPrf *c = &pt->per_class[k];
        prfRates(c);
        pt->micro.tp += c->tp;
        pt->micro.fp += c->fp;
        pt->micro.npos += c->npos;
        if (c->npos > 0) {
            sum_p += c->precision;
            sum_r += c->recall;
            sum_f1 += c->f1;
            with_gt++;
        }
    }
    prfRates(&pt->micro);
    pt->macro_precision = with_gt ? sum_p / (double)with_gt : 0.0;
    pt->macro_recall = with_gt ? sum_r / (double)with_gt : 0.0;
    pt->macro_f1 = with_gt ? sum_f1 / (double)with_gt : 0.0;
    return VB_OK;
}

/* Returns the detection score that maximises micro F1, sweeping the
 * detections from the highest score down and evaluating after each group
 * of equal scores. Returns fallback when no detection counts. */
static vb_status bestThreshold(const VbCocoEval *ev, int t50, double fallback, double *out,
                               vb_error *err)
{
    vb_status st = VB_OK;
    size_t n = ev->det_count;
    uint32_t *idx = malloc((n ? n : 1) * sizeof *idx);
    uint32_t *tmp = malloc((n ? n : 1) * sizeof *tmp);
    if (idx == NULL || tmp == NULL) {
        st = vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for %zu detections", n);
        goto done;
    }

    /* Only TPs and FPs move the curve; ignored detections are left out. */
    size_t m = 0;
    for (size_t d = 0; d < n; d++)
        if (detStatus(ev, d, t50) != VB_COCO_IGNORED)
            idx[m++] = (uint32_t)d;
    vbCocoSortByScore(idx, tmp, m, ev->det_score);

    uint64_t npos = 0;
    for (size_t pi = 0; pi < ev->pair_count; pi++)
        npos += ev->pairs[pi].npig[0];

    double best_f1 = -1;
    *out = fallback;
    VbPrf acc = {0};
    acc.npos = npos;
    for (size_t i = 0; i < m;) {
        double score = ev->det_score[idx[i]];
        while (i < m && ev->det_score[idx[i]] == score) {
            uint8_t status = detStatus(ev, idx[i], t50);
            acc.tp += status == VB_COCO_TP;
            acc.fp += status == VB_COCO_FP;
            i++;
        }
        prfRates(&acc);
        if (acc.f1 > best_f1) {
            best_f1 = acc.f1;
            *out = score;
        }
    }

done:
    free(idx);
    free(tmp);
    return st;
}

vb_status vbPrfCompute(const VbCocoEval *ev, double threshold, VbPrfResult *out, vb_error *err)
{
    vb_status st;
    int t50 = -1;
    for (int t = 0; t < ev->params.iou_thr_count; t++)
        if (ev->params.iou_thrs[t] == 0.5)
            t50 = t;
    if (t50 < 0)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                          "P/R/F1 needs IoU threshold 0.5 in the evaluation parameters");

    VbPrfResult r = {0};
    r.class_count = ev->category_count;
    r.at_threshold.threshold = threshold;
    if ((st = countPoint(ev, t50, &r.at_threshold, err)))
        goto fail;
    if ((st = bestThreshold(ev, t50, threshold, &r.best.threshold, err)))
        goto fail;
    if ((st = countPoint(ev, t50, &r.best, err)))
        goto fail;
    *out = r;
    return VB_OK;

fail:
    vbPrfResultClear(&r);
    return st;
}

void vbPrfResultClear(VbPrfResult *r)
{
    if (r == NULL)
        return;
    free(r->at_threshold.per_class);
    free(r->best.per_class);
    memset(r, 0, sizeof *r);
}
