/* COCO bbox evaluation: the matching, accumulation and summary rules of pycocotools COCOeval (cocoapi 2.0). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "metrics/coco_eval.h"

/* One annotation or detection placed in its (category, image) pair; key is
 * category * image_count + image, seq the order pycocotools appends it in. */
typedef struct PairEntry {
    uint64_t key;
    size_t seq;
    size_t index;
} PairEntry;

/* Per-pair working buffers of vbCocoEvaluate, grown as pairs need. */
typedef struct MatchScratch {
    uint32_t *det_idx;   /* nd: detection indices, then the sort buffer after them */
    size_t det_cap;
    double *ious;        /* [nd][ng] */
    size_t iou_cap;
    uint32_t *gt_order;  /* ng: GT indices, non-ignored first */
    uint8_t *gt_ignored; /* ng, in gt_order */
    uint8_t *gt_matched; /* ng, in gt_order */
    uint8_t *gt_crowd;   /* ng, in gt_order */
    size_t gt_cap;
    uint32_t *cand;      /* [nd][ng]: per detection, GT positions in gt_order that can match */
    double *cand_iou;    /* [nd][ng]: their IoUs */
    size_t cand_cap;
    uint32_t *cand_count; /* nd */
    size_t count_cap;
    double *det_area;    /* nd: w * h of each kept detection */
    size_t area_cap;
} MatchScratch;

void vbCocoParamsDefault(VbCocoParams *p)
{
    memset(p, 0, sizeof *p);

    /* np.linspace(.5, .95, 10): i * step + start, then the end point. */
    double step = (0.95 - 0.5) / 9;
    for (int i = 0; i < 10; i++) {
        double y = (double)i * step;
        p->iou_thrs[i] = y + 0.5;
    }
    p->iou_thrs[9] = 0.95;
    p->iou_thr_count = 10;

    /* np.linspace(0, 1, 101): i * 0.01, which puts ten values one ulp above
     * the decimal (0.7000000000000001 for i = 70). */
    step = 1.0 / 100;
    for (int i = 0; i < VB_COCO_REC_THRS; i++)
        p->rec_thrs[i] = (double)i * step + 0.0;
    p->rec_thrs[VB_COCO_REC_THRS - 1] = 1.0;

    p->max_dets[0] = 1;
    p->max_dets[1] = 10;
    p->max_dets[2] = 100;
    static const double ranges[VB_COCO_AREAS][2] = {
        {0, 1e10}, {0, 32 * 32}, {32 * 32, 96 * 96}, {96 * 96, 1e10}};
    memcpy(p->area_rng, ranges, sizeof ranges);
}

const char *vbCocoStatLabel(int i)
{
    static const char *const labels[VB_COCO_STATS] = {
        " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]",
        " Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ]",
        " Average Precision  (AP) @[ IoU=0.75      | area=   all | maxDets=100 ]",
        " Average Precision  (AP) @[ IoU=0.50:0.95 | area= small | maxDets=100 ]",
        " Average Precision  (AP) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ]",
        " Average Precision  (AP) @[ IoU=0.50:0.95 | area= large | maxDets=100 ]",
        " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ]",
        " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets= 10 ]",
        " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]",
        " Average Recall     (AR) @[ IoU=0.50:0.95 | area= small | maxDets=100 ]",
        " Average Recall     (AR) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ]",
        " Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ]",
    };
    return (i >= 0 && i < VB_COCO_STATS) ? labels[i] : "";
}

void vbCocoSortByScore(uint32_t *idx, uint32_t *tmp, size_t n, const double *score)
{
    /* Insertion-sort runs of 16; equal scores never move past each other. */
    const size_t run = 16;
    for (size_t lo = 0; lo < n; lo += run) {
        size_t hi = lo + run < n ? lo + run : n;
        for (size_t i = lo + 1; i < hi; i++) {
            uint32_t v = idx[i];
            size_t j = i;
            while (j > lo && score[idx[j - 1]] < score[v]) {
                idx[j] = idx[j - 1];
                j--;
            }
            idx[j] = v;
        }
    }

    /* Merge runs bottom-up, taking from the right run only on a strictly
     * higher score so that ties keep their input order. */
    uint32_t *src = idx, *dst = tmp;
    for (size_t width = run; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t a = lo, b = mid, o = lo;
            while (a < mid && b < hi)
                dst[o++] = score[src[b]] > score[src[a]] ? src[b++] : src[a++];
            while (a < mid)
                dst[o++] = src[a++];
            while (b < hi)
                dst[o++] = src[b++];
        }
        uint32_t *swap = src;
        src = dst;
        dst = swap;
    }
    if (src != idx)
        memcpy(idx, src, n * sizeof *idx);
}

/* IoU of detection box d and GT box g, both [x, y, w, h], with the operation
 * order of cocoapi's maskApi.c bbIou so that IoUs that sit exactly on a
 * threshold round the same way. A crowd GT divides by the detection's area. */
static double bboxIou(const double d[4], const double g[4], int crowd)
{
    double w = fmin(d[2] + d[0], g[2] + g[0]) - fmax(d[0], g[0]);
    if (w <= 0)
        return 0;
    double h = fmin(d[3] + d[1], g[3] + g[1]) - fmax(d[1], g[1]);
    if (h <= 0)
        return 0;
    double i = w * h;
    double da = d[2] * d[3];
    double ga = g[2] * g[3];
    double u = crowd ? da : da + ga - i;
    return i / u;
}

static int compareI64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int comparePairEntry(const void *a, const void *b)
{
    const PairEntry *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Returns the index of id in the sorted array ids, or -1. */
static ptrdiff_t findId(const int64_t *ids, size_t n, int64_t id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (lo < n && ids[lo] == id) ? (ptrdiff_t)lo : -1;
}

/* Sorts e[0..n) stably by the bucket (key / divisor) % buckets, a counting
 * sort pass in O(n + buckets). tmp has room for n entries. Errors:
 * VB_ERR_NO_MEMORY. */
static vb_status bucketSort(PairEntry *e, PairEntry *tmp, size_t n, uint64_t divisor, size_t buckets,
                            vb_error *err)
{
    size_t *start = calloc(buckets + 1, sizeof *start);
    if (start == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for %zu sort buckets", buckets);
    for (size_t i = 0; i < n; i++)
        start[(e[i].key / divisor) % buckets + 1]++;
    for (size_t b = 0; b < buckets; b++)
        start[b + 1] += start[b];
    for (size_t i = 0; i < n; i++)
        tmp[start[(e[i].key / divisor) % buckets]++] = e[i];
    memcpy(e, tmp, n * sizeof *e);
    free(start);
    return VB_OK;
}

/* Sorts e[0..n), given in seq order, by key = category * image_count +
 * image and then seq: two stable bucket passes, image then category. */
static vb_status sortByPair(PairEntry *e, size_t n, const VbCocoEval *ev, vb_error *err)
{
    vb_status st = VB_OK;
    if (n < 2 || ev->image_count == 0)
        return VB_OK;
    PairEntry *tmp = malloc(n * sizeof *tmp);
    if (tmp == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for %zu entries", n);
    st = bucketSort(e, tmp, n, 1, ev->image_count, err);
    if (st == VB_OK)
        st = bucketSort(e, tmp, n, ev->image_count, ev->category_count, err);
    free(tmp);
    return st;
}

/* Grows *p, which has room for *cap elements of size bytes, to at least n
 * elements. Errors: VB_ERR_NO_MEMORY, VB_ERR_LIMIT on overflow. */
static vb_status growArray(void **p, size_t *cap, size_t n, size_t size, const char *what,
                           vb_error *err)
{
    if (n <= *cap)
        return VB_OK;
    size_t want = *cap * 2 > n ? *cap * 2 : n;
    size_t bytes;
    if (vbMulSize(want, size, &bytes))
        return vbErrorSet(err, VB_ERR_LIMIT, "%zu %s do not fit in memory", n, what);
    void *q = realloc(*p, bytes);
    if (q == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for %zu %s", n, what);
    *p = q;
    *cap = want;
    return VB_OK;
}

/* Collects the sorted unique image ids and category ids of gt into ev.
 * A category id listed twice keeps the name of its last entry, as
 * pycocotools' category index does. */
static vb_status indexGroundTruth(const VbDataset *gt, VbCocoEval *ev, vb_error *err)
{
    ev->image_ids = malloc((gt->image_count ? gt->image_count : 1) * sizeof *ev->image_ids);
    ev->category_ids = malloc((gt->category_count ? gt->category_count : 1) * sizeof *ev->category_ids);
    ev->category_names = calloc(gt->category_count ? gt->category_count : 1, sizeof *ev->category_names);
    if (ev->image_ids == NULL || ev->category_ids == NULL || ev->category_names == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for the ground-truth index");

    for (size_t i = 0; i < gt->image_count; i++)
        ev->image_ids[i] = gt->images[i].id;
    qsort(ev->image_ids, gt->image_count, sizeof *ev->image_ids, compareI64);
    size_t n = 0;
    for (size_t i = 0; i < gt->image_count; i++)
        if (n == 0 || ev->image_ids[n - 1] != ev->image_ids[i])
            ev->image_ids[n++] = ev->image_ids[i];
    ev->image_count = n;

    for (size_t i = 0; i < gt->category_count; i++)
        ev->category_ids[i] = gt->categories[i].id;
    qsort(ev->category_ids, gt->category_count, sizeof *ev->category_ids, compareI64);
    n = 0;
    for (size_t i = 0; i < gt->category_count; i++)
        if (n == 0 || ev->category_ids[n - 1] != ev->category_ids[i])
            ev->category_ids[n++] = ev->category_ids[i];
    ev->category_count = n;
    for (size_t i = 0; i < gt->category_count; i++) {
        ptrdiff_t k = findId(ev->category_ids, ev->category_count, gt->categories[i].id);
        char *name = vbStrdup(gt->categories[i].name ? gt->categories[i].name : "");
        if (name == NULL)
            return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for category names");
        free(ev->category_names[k]);
        ev->category_names[k] = name;
    }

    if (ev->image_count >= UINT32_MAX || ev->category_count >= UINT32_MAX)
        return vbErrorSet(err, VB_ERR_LIMIT, "%zu images and %zu categories: each count must be below 2^32",
                          ev->image_count, ev->category_count);
    return VB_OK;
}

/* Places the GT annotations into pairs in the order pycocotools builds its
 * per-pair lists: images by id, each image's annotations in file order, an
 * annotation kept when its image and category are in the GT. pycocotools
 * then loads each kept annotation by id, so when two annotations share an id
 * the last one in the file replaces both. *out (count *out_n) is sorted
 * by (key, seq). */
static vb_status placeGroundTruth(const VbDataset *gt, const VbCocoEval *ev, PairEntry **out,
                                  size_t *out_n, vb_error *err)
{
    vb_status st = VB_OK;
    size_t n = gt->annotation_count;
    PairEntry *by_id = malloc((n ? n : 1) * sizeof *by_id);
    size_t *resolved = malloc((n ? n : 1) * sizeof *resolved);
    PairEntry *entries = malloc((n ? n : 1) * sizeof *entries);
    if (by_id == NULL || resolved == NULL || entries == NULL) {
        st = vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for %zu annotations", n);
        goto done;
    }

    /* Resolve each annotation to the last annotation with the same id. Ids
     * that ascend in file order are unique and need no sort. Otherwise the
     * id goes through the key with its sign bit flipped to sort as signed. */
    int ascending = 1;
    for (size_t i = 0; i < n; i++) {
        by_id[i].key = (uint64_t)gt->annotations[i].id ^ ((uint64_t)1 << 63);
        by_id[i].seq = i;
        by_id[i].index = i;
        if (i > 0 && gt->annotations[i].id <= gt->annotations[i - 1].id)
            ascending = 0;
    }
    if (!ascending)
        qsort(by_id, n, sizeof *by_id, comparePairEntry);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && by_id[j + 1].key == by_id[i].key)
            j++;
        for (size_t k = i; k <= j; k++)
            resolved[by_id[k].index] = by_id[j].index;
        i = j + 1;
    }

    /* Order the annotations by (image, file position): pycocotools' visiting
     * order. by_id is reused for it. */
    size_t visit = 0;
    for (size_t i = 0; i < n; i++) {
        const VbAnnotation *a = &gt->annotations[i];
        ptrdiff_t img = findId(ev->image_ids, ev->image_count, a->image_id);
        if (img < 0 || findId(ev->category_ids, ev->category_count, a->category_id) < 0)
            continue;
        by_id[visit].key = (uint64_t)img;
        by_id[visit].seq = i;
        by_id[visit].index = i;
        visit++;
    }
    if (visit > 1 && ev->image_count > 0) {
        if ((st = bucketSort(by_id, entries, visit, 1, ev->image_count, err)))
            goto done;
    }

    /* Key each visited annotation by the pair of the annotation it resolves to. */
    size_t m = 0;
    for (size_t v = 0; v < visit; v++) {
        const VbAnnotation *r = &gt->annotations[resolved[by_id[v].index]];
        ptrdiff_t img = findId(ev->image_ids, ev->image_count, r->image_id);
        ptrdiff_t cat = findId(ev->category_ids, ev->category_count, r->category_id);
        if (img < 0 || cat < 0)
            continue;
        entries[m].key = (uint64_t)cat * ev->image_count + (uint64_t)img;
        entries[m].seq = v;
        entries[m].index = resolved[by_id[v].index];
        m++;
    }
    if ((st = sortByPair(entries, m, ev, err)))
        goto done;
    *out = entries;
    *out_n = m;
    entries = NULL;

done:
    free(by_id);
    free(resolved);
    free(entries);
    return st;
}

/* Places the detections into pairs in file order. A detection on an image
 * that is not in the GT fails the run, as pycocotools' loadRes asserts. A
 * detection whose category is not a GT category is dropped and counted. */
static vb_status placeDetections(const VbDetection *dets, size_t n, VbCocoEval *ev, PairEntry **out,
                                 size_t *out_n, vb_error *err)
{
    PairEntry *entries = malloc((n ? n : 1) * sizeof *entries);
    if (entries == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for %zu detections", n);

    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        ptrdiff_t img = findId(ev->image_ids, ev->image_count, dets[i].image_id);
        if (img < 0) {
            free(entries);
            return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                              "detection %zu: image_id %lld is not an image of the ground truth; "
                              "check that both files use the same image ids",
                              i, (long long)dets[i].image_id);
        }
        ptrdiff_t cat = findId(ev->category_ids, ev->category_count, dets[i].category_id);
        if (cat < 0) {
            ev->dropped_unknown_category++;
            continue;
        }
        entries[m].key = (uint64_t)cat * ev->image_count + (uint64_t)img;
        entries[m].seq = i;
        entries[m].index = i;
        m++;
    }
    vb_status st = sortByPair(entries, m, ev, err);
    if (st != VB_OK) {
        free(entries);
        return st;
    }
    *out = entries;
    *out_n = m;
    return VB_OK;
}

/* Matches the kept detections of one pair against its GTs for every area
 * range and IoU threshold, as COCOeval.evaluateImg does, and writes
 * ev->det_status and pair->npig. det lists the kept detections in score
 * order, anns the pair's GT annotations in pycocotools' order. */
static vb_status matchPair(VbCocoEval *ev, VbCocoPair *pair, const VbDetection *dets,
                           const uint32_t *det, const VbAnnotation *const *anns, size_t ng,
                           MatchScratch *s, vb_error *err)
{
    const VbCocoParams *p = &ev->params;
    size_t nd = pair->det_count;
    const int T = p->iou_thr_count;
    vb_status st;
    size_t cells;

    if (vbMulSize(nd, ng, &cells))
        return vbErrorSet(err, VB_ERR_LIMIT, "IoU matrix of %zu x %zu does not fit", nd, ng);
    if ((st = growArray((void **)&s->ious, &s->iou_cap, cells, sizeof *s->ious, "IoU values", err)))
        return st;
    if (ng > s->gt_cap) {
        uint32_t *order = realloc(s->gt_order, ng * sizeof *order);
        if (order != NULL)
            s->gt_order = order;
        uint8_t *ignored = realloc(s->gt_ignored, ng);
        if (ignored != NULL)
            s->gt_ignored = ignored;
        uint8_t *matched = realloc(s->gt_matched, ng);
        if (matched != NULL)
            s->gt_matched = matched;
        uint8_t *crowd = realloc(s->gt_crowd, ng);
        if (crowd != NULL)
            s->gt_crowd = crowd;
        if (order == NULL || ignored == NULL || matched == NULL || crowd == NULL)
            return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for %zu GT boxes", ng);
        s->gt_cap = ng;
    }

    if ((st = growArray((void **)&s->cand_count, &s->count_cap, nd, sizeof *s->cand_count,
                        "detections", err)))
        return st;
    if ((st = growArray((void **)&s->det_area, &s->area_cap, nd, sizeof *s->det_area, "detections",
                        err)))
        return st;
    if (cells > s->cand_cap) {
        size_t cap = s->cand_cap;
        if ((st = growArray((void **)&s->cand, &cap, cells, sizeof *s->cand, "IoU values", err)))
            return st;
        cap = s->cand_cap;
        if ((st = growArray((void **)&s->cand_iou, &cap, cells, sizeof *s->cand_iou, "IoU values",
                            err)))
            return st;
        s->cand_cap = cap;
    }

    /* IoU of every kept detection with every GT, GTs in pycocotools' order:
     * ious is [nd][ng]. */
    for (size_t d = 0; d < nd; d++) {
        const VbDetection *dt = &dets[det[d]];
        const double db[4] = {dt->x, dt->y, dt->w, dt->h};
        s->det_area[d] = dt->w * dt->h;
        for (size_t g = 0; g < ng; g++) {
            const double gb[4] = {anns[g]->x, anns[g]->y, anns[g]->w, anns[g]->h};
            s->ious[d * ng + g] = bboxIou(db, gb, anns[g]->iscrowd != 0);
        }
    }
    double lowest = fmin(p->iou_thrs[0], 1 - 1e-10);

    for (int a = 0; a < VB_COCO_AREAS; a++) {
        double lo = p->area_rng[a][0], hi = p->area_rng[a][1];

        /* Ignored GTs: crowd, or `area` outside [lo, hi]. Non-ignored GTs go
         * first, each group in its original order. */
        size_t o = 0;
        uint32_t npig = 0;
        for (int pass = 0; pass < 2; pass++) {
            for (size_t g = 0; g < ng; g++) {
                int ignored = anns[g]->iscrowd != 0 || anns[g]->area < lo || anns[g]->area > hi;
                if (ignored != pass)
                    continue;
                s->gt_order[o] = (uint32_t)g;
                s->gt_ignored[o] = (uint8_t)ignored;
                s->gt_crowd[o] = anns[g]->iscrowd != 0;
                o++;
                npig += !ignored;
            }
        }
        pair->npig[a] = npig;

        /* Candidates: the GTs, in gt_order, whose IoU can pass the lowest
         * threshold (a NaN IoU passes, as `NaN < best` is false in
         * pycocotools). Skipping the others changes nothing: they always
         * fail `iou < best`, and the early stop they could trigger also
         * fires at the next ignored candidate because every GT after the
         * first ignored one is ignored. */
        for (size_t d = 0; d < nd; d++) {
            const double *iou_row = &s->ious[d * ng];
            uint32_t n = 0;
            for (size_t gi = 0; gi < ng; gi++) {
                double iou = iou_row[s->gt_order[gi]];
                if (iou < lowest)
                    continue;
                s->cand[d * ng + n] = (uint32_t)gi;
                s->cand_iou[d * ng + n] = iou;
                n++;
            }
            s->cand_count[d] = n;
        }

        for (int t = 0; t < T; t++) {
            const double start = fmin(p->iou_thrs[t], 1 - 1e-10);
            if (ng > 0)
                memset(s->gt_matched, 0, ng);
            for (size_t d = 0; d < nd; d++) {
                const uint32_t *cand = &s->cand[d * ng];
                const double *cand_iou = &s->cand_iou[d * ng];
                double best = start;
                ptrdiff_t m = -1;

                /* Greedy match: IoU == threshold matches, an IoU tie goes to
                 * the later GT, and once a regular GT is held the scan stops
                 * at the first ignored GT. A crowd GT can absorb any number
                 * of detections. */
                for (uint32_t c = 0; c < s->cand_count[d]; c++) {
                    uint32_t gi = cand[c];
                    if (s->gt_matched[gi] && !s->gt_crowd[gi])
                        continue;
                    if (m > -1 && !s->gt_ignored[m] && s->gt_ignored[gi])
                        break;
                    if (cand_iou[c] < best)
                        continue;
                    best = cand_iou[c];
                    m = (ptrdiff_t)gi;
                }

                /* A match counts only through a nonzero GT id (pycocotools
                 * tests dtm != 0), so a match to GT id 0 is an FP that still
                 * uses the GT up. An unmatched detection outside the area
                 * range is ignored. */
                int ignored = 0, matched = 0;
                if (m > -1) {
                    s->gt_matched[m] = 1;
                    ignored = s->gt_ignored[m];
                    matched = anns[s->gt_order[m]]->id != 0;
                }
                double darea = s->det_area[d];
                if (!matched && (darea < lo || darea > hi))
                    ignored = 1;
                uint8_t status = VB_COCO_FP;
                if (ignored)
                    status = VB_COCO_IGNORED;
                else if (matched)
                    status = VB_COCO_TP;
                ev->det_status[((size_t)(pair->det_start + d) * VB_COCO_AREAS + a) * T + t] = status;
            }
        }
    }
    return VB_OK;
}

/* Builds the pairs from the placed GTs and detections, sorts and cuts each
 * pair's detections and matches them. */
static vb_status evaluatePairs(VbCocoEval *ev, const VbDataset *gt, const VbDetection *dets,
                               const PairEntry *ge, size_t gn, const PairEntry *de, size_t dn,
                               vb_error *err)
{
    vb_status st = VB_OK;
    const size_t T = (size_t)ev->params.iou_thr_count;
    const size_t max_det = (size_t)ev->params.max_dets[VB_COCO_MAX_DETS - 1];
    MatchScratch s = {0};
    const VbAnnotation **anns = NULL;
    size_t anns_cap = 0;
    double *score = NULL;
    size_t status_cells;

    /* Allocate for the upper bounds: one pair per entry, every detection kept. */
    size_t max_pairs = gn + dn;
    ev->pairs = malloc((max_pairs ? max_pairs : 1) * sizeof *ev->pairs);
    ev->det_score = malloc((dn ? dn : 1) * sizeof *ev->det_score);
    ev->det_pair = malloc((dn ? dn : 1) * sizeof *ev->det_pair);
    ev->det_rank = malloc((dn ? dn : 1) * sizeof *ev->det_rank);
    score = malloc((dn ? dn : 1) * sizeof *score);
    if (vbMulSize(dn ? dn : 1, VB_COCO_AREAS * T, &status_cells)) {
        st = vbErrorSet(err, VB_ERR_LIMIT, "%zu detections do not fit in memory", dn);
        goto done;
    }
    ev->det_status = malloc(status_cells);
    if (ev->pairs == NULL || ev->det_score == NULL || ev->det_pair == NULL || ev->det_rank == NULL ||
        score == NULL || ev->det_status == NULL) {
        st = vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for %zu detections", dn);
        goto done;
    }
    for (size_t i = 0; i < dn; i++)
        score[i] = dets[de[i].index].score;

    size_t gi = 0, di = 0;
    while (gi < gn || di < dn) {
        uint64_t key;
        if (gi < gn && di < dn)
            key = ge[gi].key < de[di].key ? ge[gi].key : de[di].key;
        else
            key = gi < gn ? ge[gi].key : de[di].key;

        /* This pair's GTs [g0, gi) and detections [d0, di). */
        size_t g0 = gi, d0 = di;
        while (gi < gn && ge[gi].key == key)
            gi++;
        while (di < dn && de[di].key == key)
            di++;
        size_t ng = gi - g0, nd = di - d0;

        VbCocoPair *pair = &ev->pairs[ev->pair_count];
        memset(pair, 0, sizeof *pair);
        pair->category = (uint32_t)(key / ev->image_count);
        pair->image = (uint32_t)(key % ev->image_count);
        pair->det_start = (uint32_t)ev->det_count;

        /* Detections by score, stable, cut to the last maxDets. det_idx
         * contains positions into de (offset by d0) and the merge buffer. */
        if ((st = growArray((void **)&s.det_idx, &s.det_cap, 2 * nd, sizeof *s.det_idx,
                            "detections", err)))
            goto done;
        for (size_t j = 0; j < nd; j++)
            s.det_idx[j] = (uint32_t)(d0 + j);
        vbCocoSortByScore(s.det_idx, s.det_idx + nd, nd, score);
        size_t keep = nd < max_det ? nd : max_det;
        for (size_t j = 0; j < keep; j++) {
            size_t k = ev->det_count + j;
            ev->det_score[k] = score[s.det_idx[j]];
            ev->det_pair[k] = (uint32_t)ev->pair_count;
            ev->det_rank[k] = (uint32_t)j;
            s.det_idx[j] = (uint32_t)de[s.det_idx[j]].index;
        }
        pair->det_count = (uint32_t)keep;

        if ((st = growArray((void **)&anns, &anns_cap, ng, sizeof *anns, "GT boxes", err)))
            goto done;
        for (size_t j = 0; j < ng; j++)
            anns[j] = &gt->annotations[ge[g0 + j].index];
        if ((st = matchPair(ev, pair, dets, s.det_idx, anns, ng, &s, err)))
            goto done;

        ev->det_count += keep;
        ev->pair_count++;
    }

done:
    free(s.det_idx);
    free(s.ious);
    free(s.gt_order);
    free(s.gt_ignored);
    free(s.gt_matched);
    free(s.gt_crowd);
    free(s.cand);
    free(s.cand_iou);
    free(s.cand_count);
    free(s.det_area);
    free(anns);
    free(score);
    return st;
}

static vb_status checkParams(const VbCocoParams *p, vb_error *err)
{
    if (p->iou_thr_count < 1 || p->iou_thr_count > VB_COCO_IOU_THRS_MAX)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT, "iou_thr_count %d is not in 1..%d",
                          p->iou_thr_count, VB_COCO_IOU_THRS_MAX);
    for (int m = 0; m < VB_COCO_MAX_DETS; m++)
        if (p->max_dets[m] < 1 || (m > 0 && p->max_dets[m] <= p->max_dets[m - 1]))
            return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                              "max_dets[%d] = %d: max_dets must be positive and ascending", m,
                              p->max_dets[m]);
    return VB_OK;
}

/* Orders each category's kept detections for accumulate: they are already
 * grouped by pair in (image, rank) order, so a stable sort by score gives
 * pycocotools' concatenate-then-mergesort order. */
static vb_status orderDetections(VbCocoEval *ev, vb_error *err)
{
    size_t K = ev->category_count;
    ev->category_pair_start = calloc(K + 1, sizeof *ev->category_pair_start);
    ev->category_det_start = calloc(K + 1, sizeof *ev->category_det_start);
    ev->det_order = malloc((ev->det_count ? ev->det_count : 1) * sizeof *ev->det_order);
    uint32_t *tmp = malloc((ev->det_count ? ev->det_count : 1) * sizeof *tmp);
    if (ev->category_pair_start == NULL || ev->category_det_start == NULL || ev->det_order == NULL ||
        tmp == NULL) {
        free(tmp);
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for %zu detections", ev->det_count);
    }

    size_t pi = 0;
    for (size_t k = 0; k < K; k++) {
        ev->category_pair_start[k] = pi;
        ev->category_det_start[k] = pi < ev->pair_count ? ev->pairs[pi].det_start : ev->det_count;
        while (pi < ev->pair_count && ev->pairs[pi].category == k)
            pi++;
    }
    ev->category_pair_start[K] = pi;
    ev->category_det_start[K] = ev->det_count;

    for (size_t d = 0; d < ev->det_count; d++)
        ev->det_order[d] = (uint32_t)d;
    for (size_t k = 0; k < K; k++) {
        size_t d0 = ev->category_det_start[k];
        vbCocoSortByScore(ev->det_order + d0, tmp, ev->category_det_start[k + 1] - d0, ev->det_score);
    }
    free(tmp);
    return VB_OK;
}

vb_status vbCocoEvaluate(const VbDataset *gt, const VbDetection *dets, size_t n,
                         const VbCocoParams *params, VbCocoEval **out, vb_error *err)
{
    vb_status st;
    PairEntry *ge = NULL, *de = NULL;
    size_t gn = 0, dn = 0;

    if (gt == NULL || out == NULL || (dets == NULL && n > 0))
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT, "vbCocoEvaluate: NULL argument");
    VbCocoEval *ev = calloc(1, sizeof *ev);
    if (ev == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for the evaluation");
    if (params)
        ev->params = *params;
    else
        vbCocoParamsDefault(&ev->params);
    if ((st = checkParams(&ev->params, err)))
        goto done;
    if (n >= UINT32_MAX) {
        st = vbErrorSet(err, VB_ERR_LIMIT, "%zu detections: at most %u can be evaluated", n,
                        UINT32_MAX - 1);
        goto done;
    }

    /* Index the GT, place GTs and detections into (category, image) pairs,
     * match each pair, then accumulate and summarize. */
    if ((st = indexGroundTruth(gt, ev, err)))
        goto done;
    if ((st = placeDetections(dets, n, ev, &de, &dn, err)))
        goto done;
    if ((st = placeGroundTruth(gt, ev, &ge, &gn, err)))
        goto done;
    if ((st = evaluatePairs(ev, gt, dets, ge, gn, de, dn, err)))
        goto done;
    if ((st = orderDetections(ev, err)))
        goto done;
    if ((st = vbCocoAccumulate(ev, err)))
        goto done;
    st = vbCocoSummarize(ev, err);

done:
    free(ge);
    free(de);
    if (st != VB_OK) {
        vbCocoEvalFree(ev);
        return st;
    }
    *out = ev;
    return VB_OK;
}

void vbCocoEvalFree(VbCocoEval *ev)
{
    if (ev == NULL)
        return;
    if (ev->category_names)
        for (size_t k = 0; k < ev->category_count; k++)
            free(ev->category_names[k]);
    free(ev->category_names);
    free(ev->image_ids);
    free(ev->category_ids);
    free(ev->pairs);
    free(ev->category_pair_start);
    free(ev->det_score);
    free(ev->det_pair);
    free(ev->det_rank);
    free(ev->det_status);
    free(ev->det_order);
    free(ev->category_det_start);
    free(ev->precision);
    free(ev->recall);
    free(ev->per_category);
    free(ev);
}
