/* Shared loader plumbing: growing a dataset with caps, scanning image folders, label categories, clipping. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/core.h"
#include "dataset/coco_classes.h"
#include "dataset/loader.h"
#include "image/decode.h"

/* Makes room for one more element of size elem in *array (capacity *cap,
 * count used), doubling up to max elements. */
static vb_status grow(void **array, size_t *cap, size_t count, size_t elem, size_t max,
                      const char *what, vb_error *err)
{
    if (count < *cap)
        return VB_OK;
    if (count >= max)
        return vbErrorSet(err, VB_ERR_LIMIT, "more than %zu %s; split the dataset", max, what);
    size_t next = *cap == 0 ? 16 : *cap * 2;
    if (next > max)
        next = max;
    size_t bytes;
    if (vbMulSize(next, elem, &bytes))
        return vbErrorSet(err, VB_ERR_LIMIT, "too many %s", what);
    void *p = realloc(*array, bytes);
    if (p == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory growing the list of %s", what);
    *array = p;
    *cap = next;
    return VB_OK;
}

char *vbDatasetLowerAscii(char *s)
{
    for (char *p = s; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return s;
}

/* Splits a comma-separated label list into trimmed, lower-case names. */
static vb_status parseAllowed(VbDatasetBuilder *b, const char *list, vb_error *err)
{
    size_t cap = 0;
    const char *p = list;
    while (*p) {
        const char *end = strchr(p, ',');
        if (end == NULL)
            end = p + strlen(p);
        const char *s = p, *e = end;
        while (s < e && (*s == ' ' || *s == '\t'))
            s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e > s) {
            vb_status st = grow((void **)&b->allowed, &cap, b->allowed_count, sizeof *b->allowed,
                                VB_DATASET_MAX_CATEGORIES, "allowed labels", err);
            if (st != VB_OK)
                return st;
            char *name = strndup(s, (size_t)(e - s));
            if (name == NULL)
                return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory");
            b->allowed[b->allowed_count++] = vbDatasetLowerAscii(name);
        }
        p = *end ? end + 1 : end;
    }
    return VB_OK;
}

vb_status vbDatasetBuilderInit(VbDatasetBuilder *b, const char *format,
                               const VbDatasetOptions *options, vb_error *err)
{
    memset(b, 0, sizeof *b);
    b->next_custom_id = VB_DATASET_CUSTOM_CATEGORY_BASE + 1;
    b->dataset = calloc(1, sizeof *b->dataset);
    if (b->dataset == NULL || (b->dataset->source_format = vbStrdup(format)) == NULL) {
        vbDatasetBuilderFree(b);
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory");
    }
    if (options != NULL && options->allowed_labels != NULL) {
        vb_status st = parseAllowed(b, options->allowed_labels, err);
        if (st != VB_OK) {
            vbDatasetBuilderFree(b);
            return st;
        }
    }
    return VB_OK;
}

static int compareCategories(const void *a, const void *b)
{
    int64_t x = ((const VbCategory *)a)->id, y = ((const VbCategory *)b)->id;
    return x < y ? -1 : x > y;
}

VbDataset *vbDatasetBuilderFinish(VbDatasetBuilder *b)
{
    VbDataset *dataset = b->dataset;
    if (dataset->category_count > 1)
        qsort(dataset->categories, dataset->category_count, sizeof *dataset->categories,
              compareCategories);
    if (b->missing_not_listed > 0)
        vbWarningsAdd(&dataset->warnings, "%zu more missing image names were not listed",
                      b->missing_not_listed);
    b->dataset = NULL;
    vbDatasetBuilderFree(b);
    return dataset;
}

void vbDatasetBuilderFree(VbDatasetBuilder *b)
{
    if (b == NULL)
        return;
    vbDatasetFree(b->dataset);
    for (size_t i = 0; i < b->allowed_count; i++)
        free(b->allowed[i]);
    free(b->allowed);
    memset(b, 0, sizeof *b);
}

vb_status vbDatasetAddImage(VbDatasetBuilder *b, int64_t id, const char *file_name, int width,
                            int height, vb_error *err)
{
    VbDataset *d = b->dataset;
    vb_status st = grow((void **)&d->images, &b->image_cap, d->image_count, sizeof *d->images,
                        VB_DATASET_MAX_IMAGES, "images", err);
    if (st != VB_OK)
        return st;
    char *copy = vbStrdup(file_name);
    if (copy == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory");
    d->images[d->image_count++] = (VbDatasetImage){id, copy, width, height};
    return VB_OK;
}

vb_status vbDatasetAddAnnotation(VbDatasetBuilder *b, const VbAnnotation *annotation,
                                 vb_error *err)
{
    VbDataset *d = b->dataset;
    vb_status st = grow((void **)&d->annotations, &b->annotation_cap, d->annotation_count,
                        sizeof *d->annotations, VB_DATASET_MAX_ANNOTATIONS, "annotations", err);
    if (st != VB_OK)
        return st;
    d->annotations[d->annotation_count++] = *annotation;
    return VB_OK;
}

vb_status vbDatasetAddCategory(VbDatasetBuilder *b, int64_t id, const char *name, vb_error *err)
{
    VbDataset *d = b->dataset;
    vb_status st = grow((void **)&d->categories, &b->category_cap, d->category_count,
                        sizeof *d->categories, VB_DATASET_MAX_CATEGORIES, "categories", err);
    if (st != VB_OK)
        return st;
    char *copy = vbStrdup(name);
    if (copy == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory");
    d->categories[d->category_count++] = (VbCategory){id, copy};
    return VB_OK;
}

static int labelAllowed(const VbDatasetBuilder *b, const char *label)
{
    if (b->allowed == NULL)
        return vbCocoClassByName(label) != NULL;
    for (size_t i = 0; i < b->allowed_count; i++)
        if (strcmp(b->allowed[i], label) == 0)
            return 1;
    return 0;
}

vb_status vbDatasetLabelCategory(VbDatasetBuilder *b, const char *label, const char *where,
                                 int64_t *id, vb_error *err)
{
    VbDataset *d = b->dataset;
    for (size_t i = 0; i < d->category_count; i++) {
        if (strcmp(d->categories[i].name, label) == 0) {
            *id = d->categories[i].id;
            return VB_OK;
        }
    }

    const VbCocoClass *coco = vbCocoClassByName(label);
    int64_t new_id = coco != NULL ? coco->id : b->next_custom_id++;
    vb_status st = vbDatasetAddCategory(b, new_id, label, err);
    if (st != VB_OK)
        return st;
    if (!labelAllowed(b, label)) {
        if (b->allowed == NULL)
            vbWarningsAdd(&d->warnings,
                          "%s: label '%s' is not a COCO-80 class name; accepted as a new class "
                          "with id %lld",
                          where, label, (long long)new_id);
        else
            vbWarningsAdd(&d->warnings,
                          "%s: label '%s' is not in the allowed labels; accepted as a new class "
                          "with id %lld",
                          where, label, (long long)new_id);
    }
    *id = new_id;
    return VB_OK;
}

vb_status vbDatasetAddMissing(VbDatasetBuilder *b, const char *name, const char *source,
                              vb_error *err)
{
    VbDataset *d = b->dataset;
    for (size_t i = 0; i < d->missing_image_count; i++)
        if (strcmp(d->missing_images[i], name) == 0)
            return VB_OK;

    /* A file that exists but could not be read is already listed there. */
    size_t name_len = strlen(name);
    for (size_t i = 0; i < d->unreadable_image_count; i++) {
        const char *entry = d->unreadable_images[i];
        if (strncmp(entry, name, name_len) == 0 && strncmp(entry + name_len, ": ", 2) == 0) {
            vbWarningsAdd(&d->warnings, "%s: image '%s' could not be read; its boxes are skipped",
                          source, name);
            return VB_OK;
        }
    }
    if (d->missing_image_count >= VB_DATASET_MAX_MISSING_LISTED) {
        b->missing_not_listed++;
        return VB_OK;
    }
    vb_status st = grow((void **)&d->missing_images, &b->missing_cap, d->missing_image_count,
                        sizeof *d->missing_images, VB_DATASET_MAX_MISSING_LISTED, "missing images",
                        err);
    if (st != VB_OK)
        return st;
    char *copy = vbStrdup(name);
    if (copy == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory");
    d->missing_images[d->missing_image_count++] = copy;

    /* A name that matches an image except for letter case gets a hint. */
    const char *case_match = NULL;
    for (size_t i = 0; i < d->image_count && case_match == NULL; i++)
        if (strcasecmp(d->images[i].file_name, name) == 0)
            case_match = d->images[i].file_name;
    if (case_match != NULL)
        vbWarningsAdd(&d->warnings,
                      "%s: image '%s' not found; '%s' differs only in letter case (names must "
                      "match byte for byte); its boxes are skipped",
                      source, name, case_match);
    else if (strchr(name, '/') != NULL)
        vbWarningsAdd(&d->warnings,
                      "%s: image '%s' not found; names are relative to the image folder; its "
                      "boxes are skipped",
                      source, name);
    else
        vbWarningsAdd(&d->warnings, "%s: image '%s' not found in the image folder; its boxes are skipped",
                      source, name);
    return VB_OK;
}

int vbDatasetIsImageName(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (dot == NULL)
        return 0;
    return strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0 ||
           strcasecmp(dot, ".jpe") == 0 || strcasecmp(dot, ".png") == 0;
}

static int compareNames(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void vbDatasetFreeList(char **names, size_t count)
{
    if (names == NULL)
        return;
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

static int hasSuffix(const char *name, const char *suffix)
{
    size_t n = strlen(name), s = strlen(suffix);
    return n > s && strcasecmp(name + n - s, suffix) == 0;
}

vb_status vbDatasetListFiles(const char *dir, const char *suffix, char ***names, size_t *count,
                             vb_error *err)
{
    *names = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (d == NULL) {
        if (errno == ENOENT)
            return vbErrorSet(err, VB_ERR_NOT_FOUND, "%s: folder not found", dir);
        return vbErrorSet(err, VB_ERR_IO, "%s: cannot open folder: %s", dir, strerror(errno));
    }

    vb_status st = VB_OK;
    char **list = NULL;
    size_t n = 0, cap = 0;
    struct dirent *entry;
    while ((entry = readdir(d)) != NULL) {
        const char *name = entry->d_name;
        if (name[0] == '.')
            continue;
        if (suffix != NULL ? !hasSuffix(name, suffix) : !vbDatasetIsImageName(name))
            continue;
        char *path = vbPathJoin(dir, name);
        if (path == NULL) {
            st = vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory listing %s", dir);
            goto done;
        }
        struct stat sb;
        int regular = stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
        free(path);
        if (!regular)
            continue;
        st = grow((void **)&list, &cap, n, sizeof *list, VB_DATASET_MAX_IMAGES, "files", err);
        if (st != VB_OK)
            goto done;
        if ((list[n] = vbStrdup(name)) == NULL) {
            st = vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory");
            goto done;
        }
        n++;
    }
    if (n > 1)
        qsort(list, n, sizeof *list, compareNames);
    *names = list;
    *count = n;
    list = NULL;

done:
    closedir(d);
    vbDatasetFreeList(list, n);
    return st;
}

static vb_status addUnreadable(VbDatasetBuilder *b, const char *name, const char *reason,
                               vb_error *err)
{
    VbDataset *d = b->dataset;
    vb_status st = grow((void **)&d->unreadable_images, &b->unreadable_cap,
                        d->unreadable_image_count, sizeof *d->unreadable_images,
                        VB_DATASET_MAX_IMAGES, "unreadable images", err);
    if (st != VB_OK)
        return st;
    size_t len = strlen(name) + strlen(reason) + 3;
    char *entry = malloc(len);
    if (entry == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory");
    snprintf(entry, len, "%s: %s", name, reason);
    d->unreadable_images[d->unreadable_image_count++] = entry;
    vbWarningsAdd(&d->warnings, "image skipped: %s", reason);
    return VB_OK;
}

vb_status vbDatasetScanImages(VbDatasetBuilder *b, const char *images_dir, vb_error *err)
{
    char **names = NULL;
    size_t count = 0;
    vb_status st = vbDatasetListFiles(images_dir, NULL, &names, &count, err);
    if (st != VB_OK)
        return st;

    int64_t next_id = 1;
    for (size_t i = 0; i < count && st == VB_OK; i++) {
        char *path = vbPathJoin(images_dir, names[i]);
        if (path == NULL) {
            st = vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory");
            break;
        }
        VbImageInfo info;
        vb_error image_err = {0};
        vb_status image_st = vbImageReadInfo(path, &info, &b->dataset->warnings, &image_err);
        free(path);
        if (image_st == VB_ERR_NO_MEMORY)
            st = vbErrorSet(err, image_st, "%s", image_err.message);
        else if (image_st != VB_OK)
            st = addUnreadable(b, names[i], image_err.message, err);
        else
            st = vbDatasetAddImage(b, next_id++, names[i], info.width, info.height, err);
    }
    vbDatasetFreeList(names, count);
    return st;
}

long vbDatasetFindImageByName(const VbDatasetBuilder *b, const char *name)
{
    const VbDataset *d = b->dataset;
    size_t lo = 0, hi = d->image_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(d->images[mid].file_name, name);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

int vbDatasetClipBox(VbDatasetBuilder *b, const char *where, int width, int height, double *x0,
                     double *y0, double *x1, double *y1)
{
    if (width <= 0 || height <= 0)
        return 1;
    double w = width, h = height;
    if (*x1 <= 0 || *y1 <= 0 || *x0 >= w || *y0 >= h) {
        vbWarningsAdd(&b->dataset->warnings,
                      "%s: box (%g, %g, %g, %g) lies entirely outside the %dx%d image; dropped",
                      where, *x0, *y0, *x1, *y1, width, height);
        return 0;
    }
    double overshoot = 0;
    if (-*x0 > overshoot)
        overshoot = -*x0;
    if (-*y0 > overshoot)
        overshoot = -*y0;
    if (*x1 - w > overshoot)
        overshoot = *x1 - w;
    if (*y1 - h > overshoot)
        overshoot = *y1 - h;
    if (overshoot > VB_DATASET_CLIP_TOLERANCE)
        vbWarningsAdd(&b->dataset->warnings,
                      "%s: box (%g, %g, %g, %g) extends past the %dx%d image by %g px; clipped",
                      where, *x0, *y0, *x1, *y1, width, height, overshoot);
    if (*x0 < 0)
        *x0 = 0;
    if (*y0 < 0)
        *y0 = 0;
    if (*x1 > w)
        *x1 = w;
    if (*y1 > h)
        *y1 = h;
    return 1;
}

char *vbDatasetDirName(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        return vbStrdup(".");
    if (slash == path)
        return vbStrdup("/");
    return strndup(path, (size_t)(slash - path));
}

size_t vbDatasetStemLength(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot != NULL ? (size_t)(dot - name) : strlen(name);
}

/* Compares file names by their stems (the part before the last dot). */
static int compareStems(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    size_t nx = vbDatasetStemLength(x), ny = vbDatasetStemLength(y);
    int c = memcmp(x, y, nx < ny ? nx : ny);
    if (c != 0)
        return c;
    return nx < ny ? -1 : nx > ny;
}

vb_status vbDatasetStemIndexBuild(const VbDataset *d, VbStemIndex *index, vb_error *err)
{
    index->count = d->image_count;
    index->names = malloc((d->image_count + 1) * sizeof *index->names);
    if (index->names == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < d->image_count; i++)
        index->names[i] = d->images[i].file_name;
    qsort(index->names, index->count, sizeof *index->names, compareStems);
    return VB_OK;
}

const VbDatasetImage *vbDatasetFindImageByStem(const VbDatasetBuilder *b,
                                              const VbStemIndex *index, const char *label_file)
{
    const char **hit = bsearch(&label_file, index->names, index->count, sizeof *index->names,
                               compareStems);
    if (hit == NULL)
        return NULL;
    long i = vbDatasetFindImageByName(b, *hit);
    return i >= 0 ? &b->dataset->images[i] : NULL;
}
