/* Compares two detection lists (boxes [N,4], labels [N], scores [N] as raw float32) as sets matched with a tolerance. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Maximum detections per list; Faster R-CNN keeps at most 100. */
#define MAX_DETECTIONS 100000

typedef struct Detections {
    size_t count;
    float *boxes;   /* [count, 4] */
    float *labels;  /* [count] */
    float *scores;  /* [count] */
} Detections;

/* Reads a raw float32 file into *out and sets *count. Returns 0 on success. */
static int readFloats(const char *path, float **out, size_t *count)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "failed to open %s\n", path);
        return -1;
    }
    fseek(f, 0, SEEK_END);
    long bytes = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (bytes < 0 || bytes % 4 != 0 || bytes / 4 > MAX_DETECTIONS * 4) {
        fprintf(stderr, "%s: size %ld is not a float32 array of at most %d values\n", path, bytes,
                MAX_DETECTIONS * 4);
        fclose(f);
        return -1;
    }
    *count = (size_t)bytes / 4;
    *out = malloc((size_t)bytes + 4);
    int ok = *out != NULL && fread(*out, 4, *count, f) == *count;
    fclose(f);
    if (!ok) {
        fprintf(stderr, "failed to read %s\n", path);
        return -1;
    }
    return 0;
}

/* Reads PREFIX0.f32, PREFIX1.f32 and PREFIX2.f32 (boxes, labels, scores). */
static int readDetections(const char *prefix, Detections *d)
{
    char path[4096];
    size_t n_boxes, n_labels, n_scores;
    snprintf(path, sizeof path, "%s0.f32", prefix);
    if (readFloats(path, &d->boxes, &n_boxes) != 0)
        return -1;
    snprintf(path, sizeof path, "%s1.f32", prefix);
    if (readFloats(path, &d->labels, &n_labels) != 0)
        return -1;
    snprintf(path, sizeof path, "%s2.f32", prefix);
    if (readFloats(path, &d->scores, &n_scores) != 0)
        return -1;
    if (n_boxes != n_labels * 4 || n_scores != n_labels) {
        fprintf(stderr, "%s: %zu box values, %zu labels and %zu scores do not match\n", prefix,
                n_boxes, n_labels, n_scores);
        return -1;
    }
    d->count = n_labels;
    return 0;
}

static double maxAbs(const float *v, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(v[i]));
    return m;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s TOL OURS_PREFIX REF_PREFIX\n"
                "Reads PREFIXk.f32 for k = 0 (boxes), 1 (labels), 2 (scores). Every reference\n"
                "detection must match its own detection of ours with the same label, a score\n"
                "within TOL * max|ref score| and box corners within TOL * max|ref box|.\n",
                argv[0]);
        return 2;
    }
    double tol = atof(argv[1]);
    Detections ours = {0}, ref = {0};
    if (readDetections(argv[2], &ours) != 0 || readDetections(argv[3], &ref) != 0)
        return 1;
    if (ours.count != ref.count) {
        printf("FAIL: %zu detections, the reference has %zu\n", ours.count, ref.count);
        return 1;
    }

    /* Each reference detection takes the closest unmatched one of ours
     * within the tolerances; reference order is by score, highest first. */
    double score_tol = tol * maxAbs(ref.scores, ref.count);
    double box_tol = tol * maxAbs(ref.boxes, ref.count * 4);
    char *used = calloc(ours.count + 1, 1);
    double worst_box = 0, worst_score = 0;
    int failed = 0;
    for (size_t i = 0; i < ref.count && used != NULL; i++) {
        size_t best = ours.count;
        double best_box = INFINITY;
        for (size_t j = 0; j < ours.count; j++) {
            if (used[j] || ours.labels[j] != ref.labels[i] ||
                fabs(ours.scores[j] - ref.scores[i]) > score_tol)
                continue;
            double box = 0;
            for (int c = 0; c < 4; c++)
                box = fmax(box, fabs(ours.boxes[j * 4 + c] - ref.boxes[i * 4 + c]));
            if (box <= box_tol && box < best_box) {
                best = j;
                best_box = box;
            }
        }
        if (best == ours.count) {
            printf("FAIL: reference detection %zu (label %g, score %.8g, box %g %g %g %g) has no "
                   "match\n", i, ref.labels[i], ref.scores[i], ref.boxes[i * 4],
                   ref.boxes[i * 4 + 1], ref.boxes[i * 4 + 2], ref.boxes[i * 4 + 3]);
            failed = 1;
            continue;
        }
        used[best] = 1;
        worst_box = fmax(worst_box, best_box);
        worst_score = fmax(worst_score, fabs(ours.scores[best] - ref.scores[i]));
    }
    if (used == NULL) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    printf("%s: %zu detections, max box diff %.3g (limit %.3g), max score diff %.3g (limit "
           "%.3g)\n", failed ? "FAIL" : "ok", ref.count, worst_box, box_tol, worst_score,
           score_tol);
    free(used);
    free(ours.boxes);
    free(ours.labels);
    free(ours.scores);
    free(ref.boxes);
    free(ref.labels);
    free(ref.scores);
    return failed;
}
