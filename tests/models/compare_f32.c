/* Compares a raw float32 tensor file with a reference split over one or more files. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends the whole file at path to *buf (growing it); returns 0 on error. */
static int appendFile(const char *path, unsigned char **buf, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "compare_f32: cannot open '%s'\n", path);
        return 0;
    }
    for (;;) {
        unsigned char chunk[65536];
        size_t n = fread(chunk, 1, sizeof chunk, f);
        if (n == 0)
            break;
        unsigned char *grown = realloc(*buf, *len + n);
        if (grown == NULL) {
            fclose(f);
            fprintf(stderr, "compare_f32: out of memory reading '%s'\n", path);
            return 0;
        }
        *buf = grown;
        memcpy(*buf + *len, chunk, n);
        *len += n;
    }
    int ok = !ferror(f);
    fclose(f);
    if (!ok)
        fprintf(stderr, "compare_f32: cannot read '%s'\n", path);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc < 5 || strcmp(argv[1], "--tol") != 0) {
        fprintf(stderr, "usage: compare_f32 --tol T OURS.f32 REF.f32 [REF_PART2.f32 ...]\n"
                        "Passes when max|ours - ref| / max|ref| <= T; the reference parts\n"
                        "are joined byte by byte in the order given.\n");
        return 2;
    }
    double tol = strtod(argv[2], NULL);
    unsigned char *ours = NULL, *ref = NULL;
    size_t ours_len = 0, ref_len = 0;
    int status = 1;

    if (!appendFile(argv[3], &ours, &ours_len))
        goto done;
    for (int i = 4; i < argc; i++) {
        if (!appendFile(argv[i], &ref, &ref_len))
            goto done;
    }
    if (ours_len != ref_len || ours_len % sizeof(float) != 0) {
        fprintf(stderr, "compare_f32: '%s' has %zu bytes but the reference has %zu\n", argv[3],
                ours_len, ref_len);
        goto done;
    }

    /* Relative error against the largest reference magnitude. */
    size_t n = ours_len / sizeof(float), worst = 0;
    double max_diff = 0, max_ref = 0;
    for (size_t i = 0; i < n; i++) {
        float a, b;
        memcpy(&a, ours + i * sizeof a, sizeof a);
        memcpy(&b, ref + i * sizeof b, sizeof b);
        double diff = isnan(a) || isnan(b) ? INFINITY : fabs((double)a - (double)b);
        if (diff > max_diff) {
            max_diff = diff;
            worst = i;
        }
        if (fabs((double)b) > max_ref)
            max_ref = fabs((double)b);
    }
    double ratio = max_ref > 0 ? max_diff / max_ref : max_diff;
    float a, b;
    memcpy(&a, ours + worst * sizeof a, sizeof a);
    memcpy(&b, ref + worst * sizeof b, sizeof b);
    printf("%s: %zu values, max|ours-ref| %.3g at %zu (%.9g vs %.9g), max|ref| %.6g, "
           "ratio %.3g (tolerance %.3g)\n",
           argv[3], n, max_diff, worst, a, b, max_ref, ratio, tol);
    status = ratio <= tol ? 0 : 1;

done:
    free(ours);
    free(ref);
    return status;
}
