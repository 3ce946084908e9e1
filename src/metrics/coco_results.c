/* Loader for COCO results files: the JSON list of detections that COCO tools and model exporters write. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>

#include "core/core.h"
#include "metrics/coco_eval.h"

/* Largest results file read into memory. jansson needs several times the
 * file size again for its tree. */
#define COCO_RESULTS_MAX_BYTES ((size_t)4 << 30)

/* Reads an integer field into *out. A real with an integral value (1.0) is
 * accepted too, because pycocotools matches it to the integer id. Errors:
 * VB_ERR_PARSE naming the entry index and the field. */
static vb_status readInteger(const json_t *entry, const char *field, size_t index, const char *name,
                             int64_t *out, vb_error *err)
{
    const json_t *v = json_object_get(entry, field);
    if (v == NULL)
        return vbErrorSet(err, VB_ERR_PARSE, "%s: detection %zu: missing field '%s'", name, index,
                          field);
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return VB_OK;
    }
    double r = json_is_real(v) ? json_real_value(v) : 0.5;
    if (r != floor(r) || !(fabs(r) < 9007199254740992.0))
        return vbErrorSet(err, VB_ERR_PARSE, "%s: detection %zu: field '%s' is not an integer", name,
                          index, field);
    *out = (int64_t)r;
    return VB_OK;
}

/* Returns nonzero and stores the value when v is a JSON number. */
static int readNumber(const json_t *v, double *out)
{
    if (!json_is_number(v))
        return 0;
    *out = json_number_value(v);
    return 1;
}

/* Converts one results entry into a detection. */
static vb_status readDetection(const json_t *entry, size_t index, const char *name, VbDetection *d,
                               vb_error *err)
{
    vb_status st;
    if (!json_is_object(entry))
        return vbErrorSet(err, VB_ERR_PARSE, "%s: detection %zu is not a JSON object", name, index);
    if ((st = readInteger(entry, "image_id", index, name, &d->image_id, err)))
        return st;
    if ((st = readInteger(entry, "category_id", index, name, &d->category_id, err)))
        return st;

    const json_t *bbox = json_object_get(entry, "bbox");
    if (bbox == NULL)
        return vbErrorSet(err, VB_ERR_PARSE, "%s: detection %zu: missing field 'bbox'", name, index);
    double box[4];
    if (!json_is_array(bbox) || json_array_size(bbox) != 4)
        return vbErrorSet(err, VB_ERR_PARSE,
                          "%s: detection %zu: field 'bbox' is not a list of 4 numbers [x, y, w, h]",
                          name, index);
    for (size_t i = 0; i < 4; i++)
        if (!readNumber(json_array_get(bbox, i), &box[i]))
            return vbErrorSet(err, VB_ERR_PARSE,
                              "%s: detection %zu: bbox[%zu] is not a number", name, index, i);
    d->x = box[0];
    d->y = box[1];
    d->w = box[2];
    d->h = box[3];

    const json_t *score = json_object_get(entry, "score");
    if (score == NULL)
        return vbErrorSet(err, VB_ERR_PARSE, "%s: detection %zu: missing field 'score'", name, index);
    if (!readNumber(score, &d->score))
        return vbErrorSet(err, VB_ERR_PARSE, "%s: detection %zu: field 'score' is not a number", name,
                          index);
    return VB_OK;
}

vb_status vbCocoResultsParse(const char *text, size_t len, const char *name, VbDetectionList *out,
                             vb_error *err)
{
    vb_status st = VB_OK;
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr);
    if (root == NULL)
        return vbErrorSet(err, VB_ERR_PARSE, "%s: line %d, column %d: invalid JSON: %s", name,
                          jerr.line, jerr.column, jerr.text);
    if (!json_is_array(root)) {
        st = vbErrorSet(err, VB_ERR_PARSE,
                        "%s: not a COCO results file: the top level must be a list of detections",
                        name);
        goto done;
    }
    size_t n = json_array_size(root);
    if (n > VB_DETECTIONS_MAX) {
        st = vbErrorSet(err, VB_ERR_LIMIT, "%s: %zu detections, more than the limit of %zu", name, n,
                        VB_DETECTIONS_MAX);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        VbDetection d;
        if ((st = readDetection(json_array_get(root, i), i, name, &d, err)))
            goto done;
        if ((st = vbDetectionListPush(out, &d, err))) {
            vbErrorPrefix(err, "%s: ", name);
            goto done;
        }
    }

done:
    json_decref(root);
    return st;
}

vb_status vbCocoResultsLoad(const char *path, VbDetectionList *out, vb_error *err)
{
    char *text = NULL;
    size_t len = 0;
    vb_status st = vbFileRead(path, COCO_RESULTS_MAX_BYTES, &text, &len, err);
    if (st != VB_OK)
        return st;
    st = vbCocoResultsParse(text, len, path, out, err);
    free(text);
    return st;
}
