/* Decodes the serialized TensorProto files of ONNX's node test data (Debian package libonnx-testdata). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/core.h"
#include "onnx/onnx.h"
#include "vbtest.h"

#define TESTDATA_DIR "/usr/share/libonnx-testdata/data/node"

/* Largest .pb file read (the biggest node test tensors are a few MB). */
#define MAX_PB_BYTES (64u << 20)

static VbOnnxTensor *decodeFile(const char *path, vb_status *st, vb_error *err)
{
    char *data = NULL;
    size_t len = 0;
    VbOnnxTensor *t = NULL;
    *st = vbFileRead(path, MAX_PB_BYTES, &data, &len, err);
    if (*st == VB_OK)
        *st = vbOnnxTensorDecode((const uint8_t *)data, len, &t, err);
    free(data);
    return t;
}

/* Known files: shapes, types and first values. */
static void testKnownFiles(void)
{
    vb_status st;
    vb_error err = {0};

    /* test_add: float32 [3,4,5]. */
    VbOnnxTensor *t = decodeFile(TESTDATA_DIR "/test_add/test_data_set_0/input_0.pb", &st, &err);
    CHECK_MSG(st == VB_OK, "%s", err.message);
    if (t != NULL) {
        CHECK_EQ_INT(t->dtype, VB_DTYPE_FLOAT32);
        CHECK_EQ_INT(t->rank, 3);
        CHECK_EQ_INT(t->dims[0], 3);
        CHECK_EQ_INT(t->dims[2], 5);
        CHECK_EQ_INT(t->count, 60);
        CHECK_STR(t->name, "x");
    }
    vbOnnxTensorFree(t);

    /* test_and2d: bool [3,4], every byte 0 or 1. */
    t = decodeFile(TESTDATA_DIR "/test_and2d/test_data_set_0/input_0.pb", &st, &err);
    CHECK_MSG(st == VB_OK, "%s", err.message);
    if (t != NULL) {
        CHECK_EQ_INT(t->dtype, VB_DTYPE_BOOL);
        CHECK_EQ_INT(t->count, 12);
        for (size_t i = 0; i < t->count; i++)
            CHECK(((const uint8_t *)t->data)[i] <= 1);
    }
    vbOnnxTensorFree(t);

    /* test_argmax_default_axis_example: int64 output [1,2] = {1, 1}. */
    t = decodeFile(TESTDATA_DIR "/test_argmax_default_axis_example/test_data_set_0/output_0.pb", &st, &err);
    CHECK_MSG(st == VB_OK, "%s", err.message);
    if (t != NULL) {
        CHECK_EQ_INT(t->dtype, VB_DTYPE_INT64);
        CHECK_EQ_INT(t->count, 2);
        CHECK_EQ_INT(((const int64_t *)t->data)[0], 1);
        CHECK_EQ_INT(((const int64_t *)t->data)[1], 1);
    }
    vbOnnxTensorFree(t);

    /* test_cast_FLOAT_to_FLOAT16: float16 output decodes as 16-bit values. */
    t = decodeFile(TESTDATA_DIR "/test_cast_FLOAT_to_FLOAT16/test_data_set_0/output_0.pb", &st, &err);
    CHECK_MSG(st == VB_OK, "%s", err.message);
    if (t != NULL) {
        CHECK_EQ_INT(t->dtype, VB_DTYPE_FLOAT16);
        CHECK_EQ_INT(t->nbytes, t->count * 2);
    }
    vbOnnxTensorFree(t);
}

/* Every .pb file: decodes, or fails with a one-line error. Files of tests
 * on sequences, maps and optionals hold other messages, and some tensors
 * have types visionbench does not decode (string, bfloat16, float8). */
static void testEveryFile(void)
{
    DIR *top = opendir(TESTDATA_DIR);
    int decoded = 0, rejected = 0;
    struct dirent *e;
    while ((e = readdir(top)) != NULL) {
        if (strncmp(e->d_name, "test_", 5) != 0)
            continue;
        char set_dir[1024];
        snprintf(set_dir, sizeof set_dir, "%s/%s/test_data_set_0", TESTDATA_DIR, e->d_name);
        DIR *set = opendir(set_dir);
        if (set == NULL)
            continue;
        struct dirent *f;
        while ((f = readdir(set)) != NULL) {
            size_t n = strlen(f->d_name);
            if (n < 4 || strcmp(f->d_name + n - 3, ".pb") != 0)
                continue;
            char path[2048];
            snprintf(path, sizeof path, "%s/%s", set_dir, f->d_name);
            vb_status st;
            vb_error err = {0};
            VbOnnxTensor *t = decodeFile(path, &st, &err);
            if (st == VB_OK) {
                decoded++;
                CHECK_MSG(t->count == 0 || t->data != NULL, "%s: no data", path);
            } else {
                rejected++;
                CHECK_MSG(err.message[0] != '\0' && strchr(err.message, '\n') == NULL, "%s: bad message",
                          path);
            }
            vbOnnxTensorFree(t);
        }
        closedir(set);
    }
    closedir(top);
    printf("decoded %d tensor files, rejected %d\n", decoded, rejected);
    CHECK(decoded > 1000);
}

int main(void)
{
    struct stat sb;
    if (stat(TESTDATA_DIR, &sb) != 0) {
        printf("skipped: %s not found (install libonnx-testdata)\n", TESTDATA_DIR);
        return VB_TEST_SKIP;
    }
    testKnownFiles();
    testEveryFile();
    TEST_END();
}
