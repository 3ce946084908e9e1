/* COCO detection ground truth (images, annotations, categories) read with jansson. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "core/core.h"
#include "dataset/coco_classes.h"
#include "dataset/loader.h"
#include "image/decode.h"

/* One entry of the JSON "images" array before it is checked against disk. */
typedef struct CocoImage {
    int64_t id;
    const char *file_name; /* points into the JSON document */
    int width, height;
    int keep;              /* 0 when the image folder lacks it */
} CocoImage;

typedef struct IdIndex {
    int64_t id;
    size_t index;
} IdIndex;

static int compareIds(const void *a, const void *b)
{
    const IdIndex *x = a, *y = b;
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Sorts ids and returns the position of the first repeated id, or -1. */
static long sortAndFindRepeat(IdIndex *ids, size_t n)
{
    if (n > 1)
        qsort(ids, n, sizeof *ids, compareIds);
    for (size_t i = 1; i < n; i++)
        if (ids[i].id == ids[i - 1].id)
            return (long)i;
    return -1;
}

static const IdIndex *findId(const IdIndex *ids, size_t n, int64_t id)
{
    IdIndex key = {id, 0};
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ids[mid].id < key.id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && ids[lo].id == id ? &ids[lo] : NULL;
}

/* Reads an integer member; returns 0 when it is absent or not an integer. */
static int getInt(json_t *object, const char *key, int64_t *out)
{
    json_t *v = json_object_get(object, key);
    if (!json_is_integer(v))
        return 0;
    *out = (int64_t)json_integer_value(v);
    return 1;
}

/* Tells a detections list (an array of objects with score or bbox) from
 * other arrays given as ground truth. */
static vb_status rootArrayError(json_t *root, const char *path, vb_error *err)
{
    json_t *first = json_array_get(root, 0);
    if (json_array_size(root) == 0 ||
        (json_is_object(first) && (json_object_get(first, "score") != NULL ||
                                    json_object_get(first, "bbox") != NULL)))
        return vbErrorSet(err, VB_ERR_PARSE,
                          "%s: this is a detections list, not a ground-truth file; pass it as the "
                          "detections and give a COCO file with images, annotations and categories "
                          "as ground truth",
                          path);
    return vbErrorSet(err, VB_ERR_PARSE,
                      "%s: top level is an array; a COCO ground-truth file is an object with "
                      "images, annotations and categories",
                      path);
}

/* Reads the "images" array into images[] and a sorted id index. */
static vb_status readImages(json_t *array, const char *path, CocoImage *images, IdIndex *ids,
                            vb_error *err)
{
    size_t i;
    json_t *item;
    json_array_foreach(array, i, item) {
        CocoImage *img = &images[i];
        int64_t width = 0, height = 0;
        json_t *name = json_object_get(item, "file_name");
        if (!json_is_object(item) || !getInt(item, "id", &img->id))
            return vbErrorSet(err, VB_ERR_PARSE, "%s: images[%zu]: missing integer 'id'", path, i);
        if (!json_is_string(name) || json_string_length(name) == 0)
            return vbErrorSet(err, VB_ERR_PARSE, "%s: image %lld: missing 'file_name'", path,
                              (long long)img->id);
        if (!getInt(item, "width", &width) || !getInt(item, "height", &height) || width <= 0 ||
            height <= 0 || width > 1000000 || height > 1000000)
            return vbErrorSet(err, VB_ERR_PARSE,
                              "%s: image %lld: 'width' and 'height' must be integers from 1 to "
                              "1000000",
                              path, (long long)img->id);
        img->file_name = json_string_value(name);
        img->width = (int)width;
        img->height = (int)height;
        img->keep = 1;
        ids[i] = (IdIndex){img->id, i};
    }
    long repeat = sortAndFindRepeat(ids, json_array_size(array));
    if (repeat >= 0)
        return vbErrorSet(err, VB_ERR_PARSE,
                          "%s: image id %lld appears twice ('%s' and '%s'); image ids must be unique",
                          path, (long long)ids[repeat].id, images[ids[repeat - 1].index].file_name,
                          images[ids[repeat].index].file_name);
    return VB_OK;
}

/* Returns nonzero when a file name is absolute or has a ".." component, so
 * it could name a file outside the image folder. */
static int leavesFolder(const char *name)
{
    if (name[0] == '/')
        return 1;
    for (const char *p = name; (p = strstr(p, "..")) != NULL; p += 2)
        if ((p == name || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
            return 1;
    return 0;
}

static int compareStrings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Warns once about image files in the folder that the JSON does not list:
 * they are not part of the evaluation. */
static vb_status warnUnlisted(VbDatasetBuilder *b, const char *path, const char *images_dir,
                              const CocoImage *images, size_t count, vb_error *err)
{
    char **files = NULL;
    size_t file_count = 0;
    vb_status st = vbDatasetListFiles(images_dir, NULL, &files, &file_count, err);
    if (st != VB_OK)
        return st;
    const char **listed = malloc((count + 1) * sizeof *listed);
    if (listed == NULL) {
        vbDatasetFreeList(files, file_count);
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory");
    }
    for (size_t i = 0; i < count; i++)
        listed[i] = images[i].file_name;
    qsort(listed, count, sizeof *listed, compareStrings);
    size_t unlisted = 0;
    const char *first = NULL;
    for (size_t i = 0; i < file_count; i++) {
        const char *key = files[i];
        if (bsearch(&key, listed, count, sizeof *listed, compareStrings) == NULL) {
            if (unlisted++ == 0)
                first = files[i];
        }
    }
    if (unlisted > 0)
        vbWarningsAdd(&b->dataset->warnings,
                      "%s: %zu image files in %s are not in 'images' (first: '%s'); they are not "
                      "evaluated",
                      path, unlisted, images_dir, first);
    free(listed);
    vbDatasetFreeList(files, file_count);
    return VB_OK;
}

/* Checks each image against the image folder: missing files are dropped and
 * listed, a size that differs from the file's header is replaced by it. */
static vb_status checkImagesOnDisk(VbDatasetBuilder *b, const char *path, const char *images_dir,
                                   CocoImage *images, size_t count, vb_error *err)
{
    VbDataset *d = b->dataset;
    for (size_t i = 0; i < count; i++) {
        CocoImage *img = &images[i];
        char where[600];
        snprintf(where, sizeof where, "%s: image %lld", path, (long long)img->id);
        char *full = NULL;
        if (!leavesFolder(img->file_name)) {
            full = vbPathJoin(images_dir, img->file_name);
            if (full == NULL)
                return vbErrorSet(err, VB_ERR_NO_MEMORY, "%s: out of memory", where);
        }
        struct stat sb;
        if (full == NULL || stat(full, &sb) != 0 || !S_ISREG(sb.st_mode)) {
            free(full);
            img->keep = 0;
            vb_status st = vbDatasetAddMissing(b, img->file_name, where, err);
            if (st != VB_OK)
                return st;
            continue;
        }

        VbImageInfo info;
        vb_error image_err = {0};
        vb_status st = vbImageReadInfo(full, &info, &d->warnings, &image_err);
        free(full);
        if (st != VB_OK) {
            img->keep = 0;
            vbWarningsAdd(&d->warnings, "%s: '%s' skipped: %s", where, img->file_name,
                          image_err.message);
            continue;
        }
        if (info.width != img->width || info.height != img->height) {
            vbWarningsAdd(&d->warnings,
                          "%s: '%s' is %dx%d in the JSON but %dx%d in the file; using the file's "
                          "size (boxes are not rescaled)",
                          where, img->file_name, img->width, img->height, info.width, info.height);
            img->width = info.width;
            img->height = info.height;
        }
    }
    return VB_OK;
}

/* Adds the categories, or derives them from the annotations when the key is
 * absent (COCO-80 names where the id is a COCO id). */
static vb_status readCategories(VbDatasetBuilder *b, json_t *root, const char *path,
                                vb_error *err)
{
    json_t *array = json_object_get(root, "categories");
    if (array == NULL) {
        json_t *annotations = json_object_get(root, "annotations");
        size_t i;
        json_t *item;
        json_array_foreach(annotations, i, item) {
            int64_t id;
            if (!getInt(item, "category_id", &id) || vbDatasetFindCategory(b->dataset, id) != NULL)
                continue;
            const VbCocoClass *coco = vbCocoClassById(id);
            char name[64];
            snprintf(name, sizeof name, "category_%lld", (long long)id);
            vb_status st = vbDatasetAddCategory(b, id, coco != NULL ? coco->name : name, err);
            if (st != VB_OK)
                return st;
        }
        vbWarningsAdd(&b->dataset->warnings,
                      "%s: no 'categories' list; categories taken from the annotations' "
                      "category_id, named by the COCO-80 table",
                      path);
        return VB_OK;
    }
    if (!json_is_array(array))
        return vbErrorSet(err, VB_ERR_PARSE, "%s: 'categories' is not an array", path);

    size_t i;
    json_t *item;
    json_array_foreach(array, i, item) {
        int64_t id;
        json_t *name = json_object_get(item, "name");
        if (!getInt(item, "id", &id) || !json_is_string(name))
            return vbErrorSet(err, VB_ERR_PARSE,
                              "%s: categories[%zu]: needs an integer 'id' and a string 'name'", path,
                              i);
        if (vbDatasetFindCategory(b->dataset, id) != NULL)
            return vbErrorSet(err, VB_ERR_PARSE, "%s: category id %lld appears twice", path,
                              (long long)id);
        char lower[256];
        snprintf(lower, sizeof lower, "%s", json_string_value(name));
        vb_status st = vbDatasetAddCategory(b, id, vbDatasetLowerAscii(lower), err);
        if (st != VB_OK)
            return st;
    }
    return VB_OK;
}

/* Lists up to a few category ids for an error message. */
static void listCategoryIds(const VbDataset *d, char *out, size_t size)
{
    size_t pos = 0;
    out[0] = '\0';
    for (size_t i = 0; i < d->category_count && i < 10 && pos < size; i++)
        pos += (size_t)snprintf(out + pos, size - pos, "%s%lld", i ? ", " : "",
                                (long long)d->categories[i].id);
    if (d->category_count > 10 && pos < size)
        snprintf(out + pos, size - pos, ", ...");
}

/* Reads one annotation into *a; errors name its id. */
static vb_status readAnnotation(const VbDataset *d, json_t *item, size_t i, const char *path,
                                const IdIndex *image_ids, size_t image_count,
                                const CocoImage *images, VbAnnotation *a, int *keep, vb_error *err)
{
    memset(a, 0, sizeof *a);
    if (!json_is_object(item) || !getInt(item, "id", &a->id))
        return vbErrorSet(err, VB_ERR_PARSE, "%s: annotations[%zu]: missing integer 'id'", path, i);
    long long id = (long long)a->id;

    /* Step 1: the image and the category it refers to. */
    if (!getInt(item, "image_id", &a->image_id))
        return vbErrorSet(err, VB_ERR_PARSE, "%s: annotation %lld: missing integer 'image_id'", path,
                          id);
    const IdIndex *image = findId(image_ids, image_count, a->image_id);
    if (image == NULL)
        return vbErrorSet(err, VB_ERR_PARSE,
                          "%s: annotation %lld: image_id %lld is not in 'images'; add the image or "
                          "remove the annotation",
                          path, id, (long long)a->image_id);
    *keep = images[image->index].keep;
    if (!getInt(item, "category_id", &a->category_id))
        return vbErrorSet(err, VB_ERR_PARSE, "%s: annotation %lld: missing integer 'category_id'",
                          path, id);
    if (vbDatasetFindCategory(d, a->category_id) == NULL) {
        char known[128];
        listCategoryIds(d, known, sizeof known);
        return vbErrorSet(err, VB_ERR_PARSE,
                          "%s: annotation %lld: category_id %lld is not in 'categories' (ids: %s)",
                          path, id, (long long)a->category_id, known);
    }

    /* Step 2: bbox [x, y, width, height], finite, no negative extent. */
    json_t *bbox = json_object_get(item, "bbox");
    if (!json_is_array(bbox) || json_array_size(bbox) != 4)
        return vbErrorSet(err, VB_ERR_PARSE,
                          "%s: annotation %lld: bbox has %zu numbers; expected [x, y, width, height]",
                          path, id, json_is_array(bbox) ? json_array_size(bbox) : (size_t)0);
    double v[4];
    for (size_t k = 0; k < 4; k++) {
        json_t *n = json_array_get(bbox, k);
        v[k] = json_is_number(n) ? json_number_value(n) : NAN;
        if (!isfinite(v[k]))
            return vbErrorSet(err, VB_ERR_PARSE,
                              "%s: annotation %lld: bbox[%zu] is not a finite number", path, id, k);
    }
    if (v[2] < 0 || v[3] < 0)
        return vbErrorSet(err, VB_ERR_PARSE,
                          "%s: annotation %lld: bbox %s %g is negative; bbox is [x, y, width, "
                          "height] with width, height >= 0",
                          path, id, v[2] < 0 ? "width" : "height", v[2] < 0 ? v[2] : v[3]);
    a->x = v[0];
    a->y = v[1];
    a->w = v[2];
    a->h = v[3];

    /* Step 3: area as given (w*h when absent) and iscrowd. */
    json_t *area = json_object_get(item, "area");
    if (area == NULL)
        a->area = a->w * a->h;
    else if (json_is_number(area) && isfinite(json_number_value(area)))
        a->area = json_number_value(area);
    else
        return vbErrorSet(err, VB_ERR_PARSE, "%s: annotation %lld: 'area' is not a number", path, id);
    json_t *crowd = json_object_get(item, "iscrowd");
    if (crowd != NULL && !(json_is_integer(crowd) || json_is_boolean(crowd)))
        return vbErrorSet(err, VB_ERR_PARSE, "%s: annotation %lld: 'iscrowd' must be 0 or 1", path,
                          id);
    a->iscrowd = json_is_true(crowd) || (json_is_integer(crowd) && json_integer_value(crowd) != 0);
    return VB_OK;
}

/* Builds the dataset from a parsed document. */
static vb_status readDocument(VbDatasetBuilder *b, json_t *root, const char *path,
                              const char *images_dir, vb_error *err)
{
    VbDataset *d = b->dataset;
    CocoImage *images = NULL;
    IdIndex *image_ids = NULL, *annotation_ids = NULL;
    vb_status st = VB_OK;

    /* Step 1: the top level and its arrays. */
    if (json_is_array(root))
        return rootArrayError(root, path, err);
    json_t *image_array = json_object_get(root, "images");
    json_t *annotation_array = json_object_get(root, "annotations");
    if (!json_is_object(root) || !json_is_array(image_array) || !json_is_array(annotation_array))
        return vbErrorSet(err, VB_ERR_PARSE,
                          "%s: not a COCO ground-truth file: expected an object with 'images' and "
                          "'annotations' arrays (and 'categories')",
                          path);
    size_t image_count = json_array_size(image_array);
    size_t annotation_count = json_array_size(annotation_array);
    if (image_count > VB_DATASET_MAX_IMAGES || annotation_count > VB_DATASET_MAX_ANNOTATIONS)
        return vbErrorSet(err, VB_ERR_LIMIT, "%s: more than %d images or %d annotations", path,
                          VB_DATASET_MAX_IMAGES, VB_DATASET_MAX_ANNOTATIONS);

    /* Step 2: images, categories, and the image folder when given. */
    images = calloc(image_count + 1, sizeof *images);
    image_ids = calloc(image_count + 1, sizeof *image_ids);
    annotation_ids = calloc(annotation_count + 1, sizeof *annotation_ids);
    if (images == NULL || image_ids == NULL || annotation_ids == NULL) {
        st = vbErrorSet(err, VB_ERR_NO_MEMORY, "%s: out of memory", path);
        goto done;
    }
    st = readImages(image_array, path, images, image_ids, err);
    if (st == VB_OK)
        st = readCategories(b, root, path, err);
    if (st == VB_OK && images_dir != NULL)
        st = checkImagesOnDisk(b, path, images_dir, images, image_count, err);
    if (st == VB_OK && images_dir != NULL)
        st = warnUnlisted(b, path, images_dir, images, image_count, err);
    if (st != VB_OK)
        goto done;
    for (size_t i = 0; i < image_count && st == VB_OK; i++)
        if (images[i].keep)
            st = vbDatasetAddImage(b, images[i].id, images[i].file_name, images[i].width,
                                   images[i].height, err);
    if (st != VB_OK)
        goto done;

    /* Step 3: annotations, with unique ids. */
    size_t i;
    json_t *item;
    json_array_foreach(annotation_array, i, item) {
        VbAnnotation a;
        int keep = 1;
        st = readAnnotation(d, item, i, path, image_ids, image_count, images, &a, &keep, err);
        if (st != VB_OK)
            goto done;
        annotation_ids[i] = (IdIndex){a.id, i};
        if (a.w == 0 || a.h == 0)
            vbWarningsAdd(&d->warnings, "%s: annotation %lld: bbox has zero %s; kept as given",
                          path, (long long)a.id, a.w == 0 ? "width" : "height");
        if (keep) {
            st = vbDatasetAddAnnotation(b, &a, err);
            if (st != VB_OK)
                goto done;
        }
    }
    long repeat = sortAndFindRepeat(annotation_ids, annotation_count);
    if (repeat >= 0) {
        st = vbErrorSet(err, VB_ERR_PARSE, "%s: annotation id %lld appears twice; ids must be unique",
                        path, (long long)annotation_ids[repeat].id);
        goto done;
    }

done:
    free(images);
    free(image_ids);
    free(annotation_ids);
    return st;
}

vb_status vbDatasetLoadCoco(const char *path, const char *images_dir,
                            const VbDatasetOptions *options, VbDataset **out, vb_error *err)
{
    *out = NULL;
    char *text = NULL;
    size_t len = 0;
    json_t *root = NULL;
    VbDatasetBuilder b = {0};

    vb_status st = vbFileRead(path, VB_DATASET_MAX_FILE_BYTES, &text, &len, err);
    if (st != VB_OK)
        return st;
    if (len == 0) {
        st = vbErrorSet(err, VB_ERR_PARSE, "%s: empty ground-truth file (0 bytes)", path);
        goto done;
    }
    json_error_t json_err;
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &json_err);
    if (root == NULL) {
        st = vbErrorSet(err, VB_ERR_PARSE,
                        "%s: invalid JSON at line %d, column %d (byte %d): %s; the file may be "
                        "truncated",
                        path, json_err.line, json_err.column, json_err.position, json_err.text);
        goto done;
    }
    st = vbDatasetBuilderInit(&b, "coco", options, err);
    if (st == VB_OK)
        st = readDocument(&b, root, path, images_dir, err);
    if (st == VB_OK)
        *out = vbDatasetBuilderFinish(&b);

done:
    vbDatasetBuilderFree(&b);
    json_decref(root);
    free(text);
    return st;
}
