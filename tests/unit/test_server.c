/* Unit tests of the server's request checks: base64 decoding and /run body validation. */
#include <jansson.h>
#include <png.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/server_internal.h"
#include "vbtest.h"

/* Decodes text and compares the result with expected (NULL: expect rc). */
static void checkDecode(const char *text, size_t max, int expected_rc, const char *expected)
{
    uint8_t *out = NULL;
    size_t len = 0;
    int rc = vbServerBase64Decode(text, strlen(text), max, &out, &len);
    CHECK_MSG(rc == expected_rc, "decode \"%s\": rc %d, expected %d", text, rc, expected_rc);
    if (rc == 0 && expected != NULL) {
        CHECK_MSG(len == strlen(expected), "decode \"%s\": %zu bytes", text, len);
        CHECK_MSG(len == strlen(expected) && memcmp(out, expected, len) == 0,
                  "decode \"%s\": wrong bytes", text);
    }
    free(out);
}

static void testBase64(void)
{
    checkDecode("", 16, 0, "");
    checkDecode("TWFu", 16, 0, "Man");
    checkDecode("TWE=", 16, 0, "Ma");
    checkDecode("TQ==", 16, 0, "M");
    checkDecode("TW\r\nFu", 16, 0, "Man");
    checkDecode("TWF", 16, -1, NULL);
    checkDecode("TW=u", 16, -1, NULL);
    checkDecode("T$==", 16, -1, NULL);
    checkDecode("TQ==TQ==", 16, -1, NULL);
    checkDecode("TQ===", 16, -1, NULL);
    checkDecode("TWFuTWFu", 4, -2, NULL);
}

/* Returns a new base64 string of n bytes (caller frees). */
static char *base64Encode(const uint8_t *data, size_t n)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc((n + 2) / 3 * 4 + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)data[i + 1] << 8;
        if (i + 2 < n)
            v |= data[i + 2];
        out[k++] = alphabet[v >> 18 & 63];
        out[k++] = alphabet[v >> 12 & 63];
        out[k++] = i + 1 < n ? alphabet[v >> 6 & 63] : '=';
        out[k++] = i + 2 < n ? alphabet[v & 63] : '=';
    }
    out[k] = '\0';
    return out;
}

/* Returns an 8x8 RGB PNG as base64 (caller frees). */
static char *tinyPngBase64(void)
{
    uint8_t pixels[8 * 8 * 3];
    for (size_t i = 0; i < sizeof pixels; i++)
        pixels[i] = (uint8_t)(i * 7);
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = 8;
    image.height = 8;
    image.format = PNG_FORMAT_RGB;
    uint8_t buffer[4096];
    png_alloc_size_t size = sizeof buffer;
    if (!png_image_write_to_memory(&image, buffer, &size, 0, pixels, 0, NULL))
        return NULL;
    return base64Encode(buffer, size);
}

/* Validates body and checks the rejection: HTTP status and field. */
static void checkRejected(const char *models_dir, const char *body, int status, const char *field)
{
    VbRequestError rerr;
    json_t *job = vbServerValidateRequest(body, strlen(body), models_dir, &rerr);
    CHECK_MSG(job == NULL, "accepted: %.200s", body);
    json_decref(job);
    if (job != NULL)
        return;
    CHECK_MSG(rerr.http_status == status, "status %d, expected %d for %.200s (%s)",
              rerr.http_status, status, body, rerr.message);
    CHECK_MSG(strcmp(rerr.field, field) == 0, "field %s, expected %s for %.200s (%s)", rerr.field,
              field, body, rerr.message);
    CHECK_MSG(rerr.message[0] != '\0', "no message for %.200s", body);
}

/* Builds a request body around the given input fields (printf-style). */
static char *body(const char *fmt, ...) VB_PRINTF(1, 2);
static char *body(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *out = malloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(out, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return out;
}

static void testValidate(const char *models_dir, const char *png)
{
    const char *csv = "image,xmin,ymin,xmax,ymax,label\nimage_00000.png,1,1,4,4,car\n";
    char *csv64 = base64Encode((const uint8_t *)csv, strlen(csv));
    char *b;

    /* A valid body: the bare image gets a name from its position. */
    b = body("{\"input\": {\"images\": [\"%s\"], \"ground_truth_csv\": \"%s\", "
             "\"models\": [\"tiny\"], \"options\": {\"conf\": 0.3, \"repeat\": 2}}}", png, csv64);
    VbRequestError rerr;
    json_t *job = vbServerValidateRequest(b, strlen(b), models_dir, &rerr);
    CHECK_MSG(job != NULL, "valid body rejected: %s (field %s)", rerr.message, rerr.field);
    if (job != NULL) {
        json_t *first = json_array_get(json_object_get(job, "images"), 0);
        CHECK_STR(json_string_value(json_object_get(first, "name")), "image_00000.png");
        CHECK_STR(json_string_value(json_array_get(json_object_get(job, "models"), 0)), "tiny");
        CHECK(json_object_get(job, "ground_truth_csv") != NULL);
        CHECK(json_integer_value(json_object_get(json_object_get(job, "options"), "repeat")) == 2);
    }
    json_decref(job);
    free(b);

    /* The body and input shapes. */
    checkRejected(models_dir, "{\"input\": ", 400, "body");
    checkRejected(models_dir, "[]", 400, "body");
    checkRejected(models_dir, "{\"inputs\": {}}", 400, "input");
    checkRejected(models_dir, "{\"input\": 3}", 400, "input");
    checkRejected(models_dir, "{\"input\": {\"models\": [\"tiny\"], \"extra\": 1}}", 400,
                  "input.extra");

    /* Models: registry names only. */
    checkRejected(models_dir, "{\"input\": {\"images\": []}}", 400, "input.models");
    checkRejected(models_dir, "{\"input\": {\"models\": []}}", 400, "input.models");
    checkRejected(models_dir, "{\"input\": {\"models\": [\"nope\"]}}", 400, "input.models[0]");
    checkRejected(models_dir, "{\"input\": {\"models\": [\"../tiny\"]}}", 400, "input.models[0]");
    checkRejected(models_dir, "{\"input\": {\"models\": [\"tiny\", \"tiny\"]}}", 400,
                  "input.models[1]");
    checkRejected(models_dir, "{\"input\": {\"models\": [7]}}", 400, "input.models[0]");

    /* Options. */
    checkRejected(models_dir, "{\"input\": {\"models\": [\"tiny\"], \"options\": {\"iou\": 0}}}",
                  400, "input.options.iou");
    checkRejected(models_dir,
                  "{\"input\": {\"models\": [\"tiny\"], \"options\": {\"threads\": 1.5}}}", 400,
                  "input.options.threads");
    checkRejected(models_dir,
                  "{\"input\": {\"models\": [\"tiny\"], \"options\": {\"timeout\": 5}}}", 400,
                  "input.options.timeout");
    checkRejected(models_dir,
                  "{\"input\": {\"models\": [\"tiny\"], \"options\": {\"classes\": [\"a/b\"]}}}",
                  400, "input.options.classes");

    /* Images. */
    checkRejected(models_dir, "{\"input\": {\"models\": [\"tiny\"]}}", 400, "input.images");
    checkRejected(models_dir, "{\"input\": {\"models\": [\"tiny\"], \"images\": {}}}", 400,
                  "input.images");
    checkRejected(models_dir, "{\"input\": {\"models\": [\"tiny\"], \"images\": [\"@@\"]}}", 400,
                  "input.images[0]");
    checkRejected(models_dir, "{\"input\": {\"models\": [\"tiny\"], \"images\": [\"aGVsbG8=\"]}}",
                  400, "input.images[0]");
    checkRejected(models_dir,
                  "{\"input\": {\"models\": [\"tiny\"], \"images\": [{\"name\": \".x.png\", "
                  "\"data\": \"aGVsbG8=\"}]}}",
                  400, "input.images[0].name");
    b = body("{\"input\": {\"models\": [\"tiny\"], \"images\": [{\"name\": \"a.png\", \"data\": "
             "\"%s\"}, {\"name\": \"a.png\", \"data\": \"%s\"}]}}", png, png);
    checkRejected(models_dir, b, 400, "input.images[1].name");
    free(b);

    /* Too many images is a limit, checked before any decoding. */
    VbBuf many;
    vbBufInit(&many, (size_t)1 << 20);
    vbBufPrintf(&many, NULL, "{\"input\": {\"models\": [\"tiny\"], \"images\": [");
    for (int i = 0; i <= VB_SERVER_MAX_IMAGES; i++)
        vbBufPrintf(&many, NULL, "%s\"x\"", i > 0 ? "," : "");
    vbBufPrintf(&many, NULL, "]}}");
    checkRejected(models_dir, many.data, 413, "input.images");
    vbBufFree(&many);

    /* Ground truth: exactly one, and valid. */
    b = body("{\"input\": {\"models\": [\"tiny\"], \"images\": [\"%s\"]}}", png);
    checkRejected(models_dir, b, 400, "input.ground_truth_csv");
    free(b);
    b = body("{\"input\": {\"models\": [\"tiny\"], \"images\": [\"%s\"], \"ground_truth_csv\": "
             "\"%s\", \"ground_truth_coco\": \"%s\"}}", png, csv64, csv64);
    checkRejected(models_dir, b, 400, "input.ground_truth_coco");
    free(b);
    b = body("{\"input\": {\"models\": [\"tiny\"], \"images\": [\"%s\"], \"ground_truth_csv\": "
             "\"aGVsbG8=\"}}", png);
    checkRejected(models_dir, b, 400, "input.ground_truth_csv");
    free(b);
    b = body("{\"input\": {\"models\": [\"tiny\"], \"images\": [\"%s\"], \"ground_truth_coco\": "
             "{\"images\": 5}}}", png);
    checkRejected(models_dir, b, 400, "input.ground_truth_coco");
    free(b);

    /* A COCO document given inline is stored as text. */
    b = body("{\"input\": {\"models\": [\"tiny\"], \"images\": [\"%s\"], \"ground_truth_coco\": "
             "{\"images\": [{\"id\": 1, \"file_name\": \"image_00000.png\", \"width\": 8, "
             "\"height\": 8}], \"annotations\": [{\"id\": 1, \"image_id\": 1, \"category_id\": 3, "
             "\"bbox\": [1, 1, 3, 3], \"area\": 9, \"iscrowd\": 0}], \"categories\": [{\"id\": 3, "
             "\"name\": \"car\"}]}}}", png);
    job = vbServerValidateRequest(b, strlen(b), models_dir, &rerr);
    CHECK_MSG(job != NULL, "inline COCO rejected: %s (field %s)", rerr.message, rerr.field);
    CHECK(job == NULL || json_is_string(json_object_get(job, "ground_truth_coco_json")));
    json_decref(job);
    free(b);
    free(csv64);
}

/* Checks that job-folder paths become the request fields they came from. */
static void testHideJobPaths(void)
{
    const char *dir = "/tmp/visionbench-job-1234";
    json_t *images = json_pack("[{s:s}, {s:s}]", "name", "a.jpg", "name", "a.jpg2");
    static const struct {
        const char *text;
        const char *expected;
    } cases[] = {
        {"/tmp/visionbench-job-1234/gt.json: image 2: bad box",
         "input.ground_truth_coco: image 2: bad box"},
        {"{\"gt\":\"/tmp/visionbench-job-1234/gt.csv\"}", "{\"gt\":\"input.ground_truth_csv\"}"},
        {"/tmp/visionbench-job-1234/images/a.jpg2: x; /tmp/visionbench-job-1234/images/a.jpg: y",
         "input.images[1]: x; input.images[0]: y"},
        {"dir /tmp/visionbench-job-1234/images", "dir input.images"},
        {"/tmp/visionbench-job-1234/other", "the job folder/other"},
        {"no path here", "no path here"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = vbServerHideJobPaths(cases[i].text, dir, images);
        CHECK_MSG(got != NULL && strcmp(got, cases[i].expected) == 0,
                  "hide paths in \"%s\": got \"%s\", expected \"%s\"", cases[i].text,
                  got != NULL ? got : "(null)", cases[i].expected);
        free(got);
    }
    CHECK(vbServerHideJobPaths(NULL, dir, images) == NULL);
    json_decref(images);
}

int main(void)
{
    testBase64();
    testHideJobPaths();

    /* A registry with one model file; its content is never read here. */
    char dir[] = "/tmp/vb-test-server-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char *model = vbPathJoin(dir, "tiny.onnx");
    CHECK(vbFileWrite(model, "x", 1, NULL) == VB_OK);
    CHECK(vbServerModelExists(dir, "tiny"));
    CHECK(!vbServerModelExists(dir, "tiny.onnx"));
    CHECK(!vbServerModelExists(dir, ".tiny"));
    CHECK(!vbServerModelExists(dir, "a/tiny"));

    char *png = tinyPngBase64();
    CHECK(png != NULL);
    if (png != NULL)
        testValidate(dir, png);
    free(png);
    unlink(model);
    free(model);
    rmdir(dir);
    TEST_END();
}
