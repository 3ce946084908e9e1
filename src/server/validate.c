/* Checks of /run and /runsync bodies: JSON shape, base64, images, ground truth, models, options. */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataset/dataset.h"
#include "image/decode.h"
#include "run/run.h"
#include "server/server_internal.h"

/* Largest decoded ground-truth file accepted. */
#define GT_MAX_BYTES ((size_t)64 << 20)

static int base64Value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int vbServerBase64Decode(const char *text, size_t len, size_t max_bytes, uint8_t **out,
                         size_t *out_len)
{
    *out = NULL;
    *out_len = 0;

    /* Each 4 characters give at most 3 bytes. */
    size_t cap = len / 4 * 3 + 3;
    if (len / 4 * 3 > max_bytes + 3)
        return -2;
    uint8_t *bytes = malloc(cap);
    if (bytes == NULL)
        return -1;

    uint32_t acc = 0;
    int quad = 0, pad = 0;
    size_t n = 0, i = 0;
    for (; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\r' || c == '\n')
            continue;
        if (c == '=') {
            pad++;
            acc <<= 6;
            quad++;
        } else {
            int v = base64Value(c);
            if (v < 0 || pad > 0)
                goto invalid;
            acc = acc << 6 | (uint32_t)v;
            quad++;
        }
        if (quad < 4)
            continue;

        /* A full quad: 3 bytes less one per '=' (at most two, only at the end). */
        if (pad > 2)
            goto invalid;
        bytes[n++] = (uint8_t)(acc >> 16);
        if (pad < 2)
            bytes[n++] = (uint8_t)(acc >> 8);
        if (pad < 1)
            bytes[n++] = (uint8_t)acc;
        if (n > max_bytes) {
            free(bytes);
            return -2;
        }
        acc = 0;
        quad = 0;
        if (pad > 0)
            break;
    }

    /* A partial quad, or anything but line breaks after the padding, is invalid. */
    if (quad != 0)
        goto invalid;
    for (i = i < len ? i + 1 : len; i < len; i++)
        if (text[i] != '\r' && text[i] != '\n')
            goto invalid;
    *out = bytes;
    *out_len = n;
    return 0;

invalid:
    free(bytes);
    return -1;
}

static json_t *reject(VbRequestError *rerr, int http_status, const char *field, const char *fmt, ...)
    VB_PRINTF(4, 5);

/* Fills *rerr and returns NULL, so a check can write `return reject(...)`. */
static json_t *reject(VbRequestError *rerr, int http_status, const char *field, const char *fmt, ...)
{
    va_list ap;
    rerr->http_status = http_status;
    snprintf(rerr->field, sizeof rerr->field, "%s", field);
    va_start(ap, fmt);
    vsnprintf(rerr->message, sizeof rerr->message, fmt, ap);
    va_end(ap);
    return NULL;
}

/* Returns 1 when name has only [A-Za-z0-9._-], 1..max bytes, and does not
 * start with '.'. */
static int isSafeName(const char *name, size_t max)
{
    size_t n = strlen(name);
    if (n == 0 || n > max || name[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

int vbServerModelExists(const char *models_dir, const char *name)
{
    if (models_dir == NULL || !isSafeName(name, VB_RUN_NAME_MAX))
        return 0;
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/%s.onnx", models_dir, name);
    if (n < 0 || (size_t)n >= sizeof path)
        return 0;
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* Decodes a base64 field; on failure fills *rerr naming field. */
static int decodeField(const json_t *value, const char *field, size_t max_bytes, uint8_t **out,
                       size_t *out_len, VbRequestError *rerr)
{
    if (!json_is_string(value)) {
        reject(rerr, 400, field, "%s must be a base64 string", field);
        return -1;
    }
    int rc = vbServerBase64Decode(json_string_value(value), json_string_length(value), max_bytes,
                                  out, out_len);
    if (rc == -2) {
        reject(rerr, 413, field, "%s is larger than the limit of %zu bytes", field, max_bytes);
        return -1;
    }
    if (rc != 0) {
        reject(rerr, 400, field, "%s is not valid base64 (RFC 4648 alphabet with '=' padding)",
               field);
        return -1;
    }
    return 0;
}

/* Checks one image (a base64 string or {"name","data"}) and appends
 * {"name","data"} to images. */
static int checkImage(const json_t *item, size_t index, json_t *images, VbRequestError *rerr)
{
    char field[96];
    snprintf(field, sizeof field, "input.images[%zu]", index);
    const json_t *data = item;
    const char *name = NULL;

    /* The two accepted shapes. */
    if (json_is_object(item)) {
        const json_t *jname = json_object_get(item, "name");
        data = json_object_get(item, "data");
        snprintf(field, sizeof field, "input.images[%zu].name", index);
        if (!json_is_string(jname)) {
            reject(rerr, 400, field, "%s must be a string such as \"frame_001.jpg\"", field);
            return -1;
        }
        name = json_string_value(jname);
        if (!isSafeName(name, VB_SERVER_NAME_MAX)) {
            reject(rerr, 400, field,
                   "%s \"%.64s\" is invalid: use 1 to %d characters from A-Z a-z 0-9 . _ -, "
                   "not starting with '.'",
                   field, name, VB_SERVER_NAME_MAX);
            return -1;
        }
        snprintf(field, sizeof field, "input.images[%zu].data", index);
        if (data == NULL) {
            reject(rerr, 400, field, "%s is missing: give the image file as base64", field);
            return -1;
        }
    } else if (!json_is_string(item)) {
        reject(rerr, 400, field, "%s must be a base64 string or an object {\"name\", \"data\"}",
               field);
        return -1;
    }

    /* Decode the file and the pixels, as the run would. */
    uint8_t *bytes = NULL;
    size_t size = 0;
    if (decodeField(data, field, VB_IMAGE_MAX_FILE_BYTES, &bytes, &size, rerr) != 0)
        return -1;
    VbImage image;
    VbImageInfo info;
    vb_error err;
    memset(&err, 0, sizeof err);

    /* The decoder starts its messages with the label, so the field (and the
     * client's file name, when given) leads the error once. */
    char label[sizeof field + VB_SERVER_NAME_MAX + 4];
    if (name != NULL)
        snprintf(label, sizeof label, "%s (%s)", field, name);
    else
        snprintf(label, sizeof label, "%s", field);
    vb_status st = vbImageDecodeMemory(bytes, size, label, &image, &info, NULL, &err);
    free(bytes);
    if (st != VB_OK) {
        reject(rerr, st == VB_ERR_LIMIT ? 413 : 400, field, "%s", err.message);
        return -1;
    }
    uint64_t pixels = (uint64_t)image.width * (uint64_t)image.height;
    vbImageFree(&image);
    if (pixels > VB_SERVER_MAX_PIXELS) {
        reject(rerr, 413, field, "%s has %llu pixels, above the limit of %u pixels per image",
               field, (unsigned long long)pixels, VB_SERVER_MAX_PIXELS);
        return -1;
    }

    /* A bare string gets a name from its position and format. */
    char generated[32];
    if (name == NULL) {
        snprintf(generated, sizeof generated, "image_%05zu.%s", index,
                 info.format == VB_IMAGE_FORMAT_PNG ? "png" : "jpg");
        name = generated;
    }
    for (size_t i = 0; i < json_array_size(images); i++) {
        const char *other = json_string_value(json_object_get(json_array_get(images, i), "name"));
        if (strcmp(other, name) == 0) {
            snprintf(field, sizeof field, "input.images[%zu]%s", index,
                     json_is_object(item) ? ".name" : "");
            reject(rerr, 400, field, "%s: the name \"%s\" is already used by input.images[%zu]",
                   field, name, i);
            return -1;
        }
    }
    json_array_append_new(images, json_pack("{s:s, s:O}", "name", name, "data", data));
    return 0;
}

/* Checks COCO ground truth by loading it from a temporary file. */
static int checkCoco(const uint8_t *bytes, size_t size, const char *field, VbRequestError *rerr)
{
    char path[] = "/tmp/visionbench-gt-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        reject(rerr, 500, field, "cannot create a temporary file to check %s: %s", field,
               strerror(errno));
        rerr->http_status = 500;
        return -1;
    }
    close(fd);
    vb_error err;
    memset(&err, 0, sizeof err);
    VbDataset *dataset = NULL;
    vb_status st = vbFileWrite(path, bytes, size, &err);
    if (st == VB_OK)
        st = vbDatasetLoadCoco(path, NULL, NULL, &dataset, &err);
    unlink(path);
    vbDatasetFree(dataset);
    if (st != VB_OK) {
        /* The loader names the temporary file; the client knows it as the field. */
        const char *message = err.message;
        if (strncmp(message, path, strlen(path)) == 0)
            message += strlen(path);
        reject(rerr, 400, field, "%s%s%s", field, message[0] == ':' ? "" : ": ", message);
        return -1;
    }
    return 0;
}

/* Checks the ground truth and copies it into job. */
static int checkGroundTruth(const json_t *input, json_t *job, VbRequestError *rerr)
{
    const json_t *csv = json_object_get(input, "ground_truth_csv");
    const json_t *coco = json_object_get(input, "ground_truth_coco");
    if (csv != NULL && coco != NULL) {
        reject(rerr, 400, "input.ground_truth_coco",
               "give one of input.ground_truth_csv and input.ground_truth_coco, not both");
        return -1;
    }
    if (csv == NULL && coco == NULL) {
        reject(rerr, 400, "input.ground_truth_csv",
               "input.ground_truth_csv is missing: give the ground truth as base64 CSV, or "
               "input.ground_truth_coco as base64 COCO JSON");
        return -1;
    }

    const char *field = csv != NULL ? "input.ground_truth_csv" : "input.ground_truth_coco";
    const json_t *value = csv != NULL ? csv : coco;
    uint8_t *bytes = NULL;
    size_t size = 0;
    json_t *copy = NULL;
    if (coco != NULL && json_is_object(coco)) {
        /* A COCO document given inline as JSON is stored as base64 text would be. */
        char *text = json_dumps(coco, JSON_COMPACT);
        if (text == NULL) {
            reject(rerr, 400, field, "%s cannot be serialized", field);
            return -1;
        }
        bytes = (uint8_t *)text;
        size = strlen(text);
    } else if (decodeField(value, field, GT_MAX_BYTES, &bytes, &size, rerr) != 0) {
        return -1;
    }

    int rc = 0;
    if (csv != NULL) {
        vb_error err;
        memset(&err, 0, sizeof err);
        VbDataset *dataset = NULL;
        vb_status st = vbDatasetParseCsv((const char *)bytes, size, field, NULL, NULL, &dataset,
                                         &err);
        vbDatasetFree(dataset);
        if (st != VB_OK)
            rc = -1, reject(rerr, 400, field, "%s", err.message);
        else
            copy = json_copy((json_t *)value);
    } else {
        rc = checkCoco(bytes, size, field, rerr);
        if (rc == 0 && json_is_object(coco)) {
            /* The inline document is stored as text, so the worker reads one shape. */
            json_t *tmp = json_stringn((const char *)bytes, size);
            copy = tmp;
        } else if (rc == 0) {
            copy = json_copy((json_t *)value);
        }
    }
    free(bytes);
    if (rc != 0)
        return -1;
    if (json_is_object(coco)) {
        json_object_set_new(job, "ground_truth_coco_json", copy);
    } else {
        json_object_set_new(job, csv != NULL ? "ground_truth_csv" : "ground_truth_coco", copy);
    }
    return 0;
}

/* Checks input.models against the registry and copies it into job. */
static int checkModels(const json_t *models, const char *models_dir, json_t *job,
                       VbRequestError *rerr)
{
    if (models == NULL) {
        reject(rerr, 400, "input.models",
               "input.models is missing: give an array of model names (GET /models lists them)");
        return -1;
    }
    if (!json_is_array(models) || json_array_size(models) == 0) {
        reject(rerr, 400, "input.models", "input.models must be a non-empty array of model names");
        return -1;
    }
    if (json_array_size(models) > VB_SERVER_MAX_MODELS) {
        reject(rerr, 400, "input.models",
               "input.models has %zu entries, above the limit of %d models per job",
               json_array_size(models), VB_SERVER_MAX_MODELS);
        return -1;
    }
    json_t *copy = json_array();
    for (size_t i = 0; i < json_array_size(models); i++) {
        char field[48];
        snprintf(field, sizeof field, "input.models[%zu]", i);
        const json_t *item = json_array_get(models, i);
        const char *name = json_string_value(item);
        if (name == NULL) {
            json_decref(copy);
            reject(rerr, 400, field, "%s must be a model name (a string)", field);
            return -1;
        }
        if (!vbServerModelExists(models_dir, name)) {
            json_decref(copy);
            reject(rerr, 400, field,
                   "%s: unknown model \"%.64s\"; GET /models lists the models this server has",
                   field, name);
            return -1;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(json_string_value(json_array_get(models, j)), name) == 0) {
                json_decref(copy);
                reject(rerr, 400, field, "%s: model \"%s\" is already listed as input.models[%zu]",
                       field, name, j);
                return -1;
            }
        }
        json_array_append(copy, (json_t *)item);
    }
    json_object_set_new(job, "models", copy);
    return 0;
}

/* Checks a number option within [lo, hi] (lo excluded when open_lo). */
static int checkNumber(const json_t *value, const char *field, double lo, double hi, int open_lo,
                       int integer, VbRequestError *rerr)
{
    if (integer ? !json_is_integer(value) : !json_is_number(value)) {
        reject(rerr, 400, field, "%s must be %s", field, integer ? "an integer" : "a number");
        return -1;
    }
    double v = json_number_value(value);
    if (v < lo || v > hi || (open_lo && v == lo)) {
        reject(rerr, 400, field, "%s is %g; allowed: %s%g..%g", field, v,
               open_lo ? "above " : "", lo, hi);
        return -1;
    }
    return 0;
}

/* Checks input.options and copies the known keys into job. */
static int checkOptions(const json_t *options, json_t *job, VbRequestError *rerr)
{
    if (options == NULL)
        return 0;
    if (!json_is_object(options)) {
        reject(rerr, 400, "input.options", "input.options must be an object");
        return -1;
    }
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)options, key, value) {
        char field[96];
        snprintf(field, sizeof field, "input.options.%.60s", key);
        int rc;
        if (strcmp(key, "conf") == 0)
            rc = checkNumber(value, field, 0, 1, 0, 0, rerr);
        else if (strcmp(key, "iou") == 0)
            rc = checkNumber(value, field, 0, 1, 1, 0, rerr);
        else if (strcmp(key, "threads") == 0)
            rc = checkNumber(value, field, 0, 256, 0, 1, rerr);
        else if (strcmp(key, "warmup") == 0)
            rc = checkNumber(value, field, 0, 100, 0, 1, rerr);
        else if (strcmp(key, "repeat") == 0)
            rc = checkNumber(value, field, 1, 100, 0, 1, rerr);
        else if (strcmp(key, "classes") == 0) {
            /* The class names to evaluate (--classes), never a file path. */
            rc = 0;
            if (!json_is_array(value) || json_array_size(value) == 0 ||
                json_array_size(value) > 1000) {
                reject(rerr, 400, field, "%s must be an array of 1 to 1000 class names", field);
                return -1;
            }
            for (size_t i = 0; i < json_array_size(value); i++) {
                const char *name = json_string_value(json_array_get(value, i));
                if (name == NULL || name[0] == '\0' || strlen(name) > 64 ||
                    strpbrk(name, "/,\n\r") != NULL) {
                    reject(rerr, 400, field,
                           "%s[%zu] must be a class name of 1 to 64 characters without '/' or ','",
                           field, i);
                    return -1;
                }
            }
        } else {
            reject(rerr, 400, field,
                   "%s is not a known option; known: conf, iou, classes, threads, warmup, repeat",
                   field);
            return -1;
        }
        if (rc != 0)
            return -1;
    }
    json_object_set_new(job, "options", json_copy((json_t *)options));
    return 0;
}

json_t *vbServerValidateRequest(const char *body, size_t len, const char *models_dir,
                                VbRequestError *rerr)
{
    memset(rerr, 0, sizeof *rerr);

    /* The body is one JSON object with an "input" object. */
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return reject(rerr, 400, "body", "malformed JSON at line %d, column %d: %s", jerr.line,
                      jerr.column, jerr.text);
    json_t *job = json_object();
    const json_t *input = json_object_get(root, "input");
    if (!json_is_object(root)) {
        reject(rerr, 400, "body", "the body must be a JSON object {\"input\": {...}}");
        goto fail;
    }
    if (input == NULL) {
        reject(rerr, 400, "input", "input is missing: send {\"input\": {\"images\": [...], ...}}");
        goto fail;
    }
    if (!json_is_object(input)) {
        reject(rerr, 400, "input", "input must be an object");
        goto fail;
    }
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)input, key, value) {
        static const char *const known[] = {"images", "ground_truth_csv", "ground_truth_coco",
                                            "models", "options"};
        int found = 0;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            found |= strcmp(key, known[i]) == 0;
        if (!found) {
            char field[96];
            snprintf(field, sizeof field, "input.%.60s", key);
            reject(rerr, 400, field, "%s is not a known field; known: images, ground_truth_csv, "
                   "ground_truth_coco, models, options", field);
            goto fail;
        }
    }

    /* Models and options first: they are cheap to check. */
    if (checkModels(json_object_get(input, "models"), models_dir, job, rerr) != 0 ||
        checkOptions(json_object_get(input, "options"), job, rerr) != 0)
        goto fail;

    /* Images. */
    const json_t *images = json_object_get(input, "images");
    if (images == NULL) {
        reject(rerr, 400, "input.images", "input.images is missing: give an array of base64 "
               "images or {\"name\", \"data\"} objects");
        goto fail;
    }
    if (!json_is_array(images) || json_array_size(images) == 0) {
        reject(rerr, 400, "input.images", "input.images must be a non-empty array");
        goto fail;
    }
    if (json_array_size(images) > VB_SERVER_MAX_IMAGES) {
        reject(rerr, 413, "input.images",
               "input.images has %zu entries, above the limit of %d images per job",
               json_array_size(images), VB_SERVER_MAX_IMAGES);
        goto fail;
    }
    json_t *checked = json_array();
    json_object_set_new(job, "images", checked);
    for (size_t i = 0; i < json_array_size(images); i++)
        if (checkImage(json_array_get(images, i), i, checked, rerr) != 0)
            goto fail;

    /* Ground truth. */
    if (checkGroundTruth(input, job, rerr) != 0)
        goto fail;
    json_decref(root);
    return job;

fail:
    json_decref(job);
    json_decref(root);
    return NULL;
}
