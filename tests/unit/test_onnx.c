/* Tests of the ONNX decoder on models and tensors built byte by byte: fields, limits, malformed input, external data. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bad_models/pb_writer.h"
#include "core/core.h"
#include "onnx/onnx.h"
#include "vbtest.h"

/* An attribute message: name plus whatever fill adds. */
static PbBuf attrBegin(const char *name)
{
    PbBuf a = {0};
    pbString(&a, 1, name);
    return a;
}

/* The small model that most tests decode:
 *   x[1,1,H,8] -> Conv(w, b) -> y -> LeakyRelu -> z -> Custom(z, "") -> q
 * with initializers in raw_data, packed float_data, unpacked int64_data and
 * bool int32_data, and attributes of every common kind. */
static void buildSmallModel(PbBuf *model)
{
    PbBuf graph = {0}, node = {0}, a = {0}, t = {0};

    /* conv0: packed and unpacked INTS, an INT. */
    pbString(&node, 1, "x");
    pbString(&node, 1, "w");
    pbString(&node, 1, "b");
    pbString(&node, 2, "y");
    pbString(&node, 3, "conv0");
    pbString(&node, 4, "Conv");
    a = attrBegin("kernel_shape");
    int64_t kernel[2] = {3, 3};
    pbPackedInts(&a, 8, kernel, 2);
    pbInt(&a, 20, 7);
    pbMessage(&node, 5, &a);
    a = attrBegin("pads");
    for (int i = 0; i < 4; i++)
        pbInt(&a, 8, 1);
    pbInt(&a, 20, 7);
    pbMessage(&node, 5, &a);
    a = attrBegin("group");
    pbInt(&a, 3, 1);
    pbInt(&a, 20, 2);
    pbMessage(&node, 5, &a);
    pbMessage(&graph, 1, &node);

    /* act: FLOAT, STRING with an embedded NUL, unpacked FLOATS, INT without type. */
    pbString(&node, 1, "y");
    pbString(&node, 2, "z");
    pbString(&node, 3, "act");
    pbString(&node, 4, "LeakyRelu");
    a = attrBegin("alpha");
    pbFloat(&a, 2, 0.1f);
    pbInt(&a, 20, 1);
    pbMessage(&node, 5, &a);
    a = attrBegin("note");
    pbLen(&a, 4, "hi\0x", 4);
    pbInt(&a, 20, 3);
    pbMessage(&node, 5, &a);
    a = attrBegin("scales");
    pbFloat(&a, 7, 1.5f);
    pbFloat(&a, 7, 2.5f);
    pbInt(&a, 20, 6);
    pbMessage(&node, 5, &a);
    a = attrBegin("untyped");
    pbInt(&a, 3, -5);
    pbMessage(&node, 5, &a);
    a = attrBegin("empty_ints");
    pbInt(&a, 20, 7);
    pbMessage(&node, 5, &a);
    pbMessage(&graph, 1, &node);

    /* A custom-domain node with an omitted optional input. */
    pbString(&node, 1, "z");
    pbString(&node, 1, "");
    pbString(&node, 2, "q");
    pbString(&node, 4, "Custom");
    pbString(&node, 7, "com.example");
    pbMessage(&graph, 1, &node);

    pbString(&graph, 2, "g");

    /* Initializers. */
    float w[18];
    for (int i = 0; i < 18; i++)
        w[i] = (float)i;
    int64_t wdims[4] = {2, 1, 3, 3};
    pbFloatTensor(&graph, 5, "w", wdims, 4, w, 18);

    pbInt(&t, 1, 2);
    pbInt(&t, 2, 1);
    PbBuf packed = {0};
    float bvals[2] = {0.5f, -0.5f};
    pbBytes(&packed, bvals, sizeof bvals);
    pbMessage(&t, 4, &packed);            /* float_data, packed */
    pbString(&t, 8, "b");
    pbMessage(&graph, 5, &t);

    pbInt(&t, 1, 2);
    pbInt(&t, 2, 7);
    pbInt(&t, 7, 1);                      /* int64_data, unpacked */
    pbInt(&t, 7, -1);
    pbString(&t, 8, "shape");
    pbMessage(&graph, 5, &t);

    pbInt(&t, 1, 3);
    pbInt(&t, 2, 9);
    int64_t flags[3] = {1, 0, 3};
    pbPackedInts(&t, 5, flags, 3);        /* int32_data, packed */
    pbString(&t, 8, "flag");
    pbMessage(&graph, 5, &t);

    /* Inputs, outputs, value_info. */
    const char *params[4] = {NULL, NULL, "H", NULL};
    int64_t xdims[4] = {1, 1, -1, 8};
    pbValueInfo(&graph, 11, "x", xdims, params, 4);
    int64_t qdims[4] = {1, 2, -1, 8};
    pbValueInfo(&graph, 12, "q", qdims, params, 4);
    pbValueInfo(&graph, 13, "y", qdims, params, 4);

    /* The model, graph last. */
    PbBuf opset = {0}, meta = {0};
    pbInt(model, 1, 8);
    pbString(model, 2, "vbtest");
    pbString(model, 3, "1.0");
    pbString(model, 4, "ai.test");
    pbInt(model, 5, 3);
    pbString(model, 6, "documentation is skipped");
    pbString(&opset, 1, "");
    pbInt(&opset, 2, 17);
    pbMessage(model, 8, &opset);
    pbString(&opset, 1, "com.example");
    pbInt(&opset, 2, 1);
    pbMessage(model, 8, &opset);
    pbString(&meta, 1, "author");
    pbString(&meta, 2, "me");
    pbMessage(model, 14, &meta);
    pbInt(model, 99, 12345);              /* an unknown field, skipped */
    pbMessage(model, 7, &graph);
}

static const VbOnnxTensor *findInit(const VbOnnxGraph *g, const char *name)
{
    for (int i = 0; i < g->initializer_count; i++) {
        if (strcmp(g->initializers[i].name, name) == 0)
            return &g->initializers[i];
    }
    return NULL;
}

static void testSmallModelFields(void)
{
    PbBuf b = {0};
    buildSmallModel(&b);
    VbOnnxModel *m = NULL;
    vb_error err = {0};
    vb_status st = vbOnnxModelLoadBuffer(b.data, b.len, NULL, &m, &err);
    CHECK_MSG(st == VB_OK, "%s", err.message);
    if (st != VB_OK) {
        pbFree(&b);
        return;
    }

    /* Model fields. */
    CHECK_EQ_INT(m->ir_version, 8);
    CHECK_STR(m->producer_name, "vbtest");
    CHECK_STR(m->producer_version, "1.0");
    CHECK_STR(m->domain, "ai.test");
    CHECK_EQ_INT(m->model_version, 3);
    CHECK_EQ_INT(m->opset_count, 2);
    CHECK_EQ_INT(vbOnnxModelOpset(m, ""), 17);
    CHECK_EQ_INT(vbOnnxModelOpset(m, "ai.onnx"), 17);
    CHECK_EQ_INT(vbOnnxModelOpset(m, "com.example"), 1);
    CHECK_EQ_INT(vbOnnxModelOpset(m, "com.missing"), -1);
    CHECK_EQ_INT(m->metadata_count, 1);
    CHECK_STR(m->metadata[0].key, "author");
    CHECK_STR(m->metadata[0].value, "me");
    CHECK_EQ_INT(m->file_bytes, b.len);

    /* Graph and nodes. */
    const VbOnnxGraph *g = m->graph;
    CHECK_STR(g->name, "g");
    CHECK_EQ_INT(g->node_count, 3);
    const VbOnnxNode *conv = &g->nodes[0];
    CHECK_STR(conv->op_type, "Conv");
    CHECK_STR(conv->name, "conv0");
    CHECK_STR(conv->domain, "");
    CHECK_EQ_INT(conv->input_count, 3);
    CHECK_STR(conv->inputs[2], "b");
    CHECK_EQ_INT(conv->output_count, 1);
    CHECK_STR(conv->outputs[0], "y");
    const VbOnnxNode *custom = &g->nodes[2];
    CHECK_STR(custom->domain, "com.example");
    CHECK_STR(custom->name, "");
    CHECK_EQ_INT(custom->input_count, 2);
    CHECK_STR(custom->inputs[1], "");

    /* Attributes through the typed readers; packed and unpacked ints agree. */
    int count = -1, bad = 0;
    const int64_t *kernel = vbOnnxAttrInts(conv, "kernel_shape", &count, &bad);
    CHECK_EQ_INT(count, 2);
    CHECK(kernel != NULL);
    if (kernel != NULL) {
        CHECK_EQ_INT(kernel[0], 3);
        CHECK_EQ_INT(kernel[1], 3);
    }
    const int64_t *pads = vbOnnxAttrInts(conv, "pads", &count, &bad);
    CHECK_EQ_INT(count, 4);
    CHECK(pads != NULL);
    if (pads != NULL) {
        CHECK_EQ_INT(pads[0], 1);
        CHECK_EQ_INT(pads[3], 1);
    }
    CHECK_EQ_INT(vbOnnxAttrInt(conv, "group", 7, &bad), 1);
    CHECK_EQ_INT(vbOnnxAttrInt(conv, "missing", 7, &bad), 7);
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(vbOnnxAttrInt(conv, "kernel_shape", 7, &bad), 7);
    CHECK_EQ_INT(bad, 1);

    const VbOnnxNode *act = &g->nodes[1];
    bad = 0;
    CHECK_NEAR(vbOnnxAttrFloat(act, "alpha", 0.0f, &bad), 0.1f, 0);
    const VbOnnxAttr *note = vbOnnxNodeAttr(act, "note");
    CHECK(note != NULL);
    if (note != NULL) {
        CHECK_EQ_INT(note->type, VB_ONNX_ATTR_STRING);
        CHECK_EQ_INT(note->s_len, 4);
        CHECK(memcmp(note->s, "hi\0x", 5) == 0);
    }
    CHECK_STR(vbOnnxAttrString(act, "note", "none", &bad), "hi");
    CHECK_STR(vbOnnxAttrString(act, "absent", "none", &bad), "none");
    const float *scales = vbOnnxAttrFloats(act, "scales", &count, &bad);
    CHECK_EQ_INT(count, 2);
    CHECK(scales != NULL);
    if (scales != NULL) {
        CHECK_NEAR(scales[0], 1.5f, 0);
        CHECK_NEAR(scales[1], 2.5f, 0);
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(vbOnnxAttrInt(act, "untyped", 0, &bad), -5);
    const int64_t *empty = vbOnnxAttrInts(act, "empty_ints", &count, &bad);
    CHECK(empty != NULL);
    CHECK_EQ_INT(count, 0);
    CHECK_EQ_INT(bad, 0);
    CHECK(vbOnnxAttrInts(act, "absent", &count, &bad) == NULL);

    /* Initializers of every storage kind. */
    CHECK_EQ_INT(g->initializer_count, 4);
    const VbOnnxTensor *w = findInit(g, "w");
    CHECK(w != NULL);
    if (w != NULL) {
        CHECK_EQ_INT(w->dtype, VB_DTYPE_FLOAT32);
        CHECK_EQ_INT(w->rank, 4);
        CHECK_EQ_INT(w->count, 18);
        CHECK_EQ_INT(w->nbytes, 72);
        CHECK_NEAR(((const float *)w->data)[17], 17.0f, 0);
        CHECK((uintptr_t)w->data % 4 == 0);
    }
    const VbOnnxTensor *bias = findInit(g, "b");
    CHECK(bias != NULL);
    if (bias != NULL) {
        CHECK_EQ_INT(bias->count, 2);
        CHECK_NEAR(((const float *)bias->data)[1], -0.5f, 0);
        CHECK(!vbOnnxTensorIsZeroCopy(m, bias));
    }
    const VbOnnxTensor *shape = findInit(g, "shape");
    CHECK(shape != NULL);
    if (shape != NULL) {
        CHECK_EQ_INT(shape->dtype, VB_DTYPE_INT64);
        CHECK_EQ_INT(shape->count, 2);
        CHECK_EQ_INT(((const int64_t *)shape->data)[1], -1);
    }
    const VbOnnxTensor *flag = findInit(g, "flag");
    CHECK(flag != NULL);
    if (flag != NULL) {
        CHECK_EQ_INT(flag->dtype, VB_DTYPE_BOOL);
        CHECK_EQ_INT(flag->nbytes, 3);
        CHECK(memcmp(flag->data, "\1\0\1", 3) == 0);
    }

    /* Value infos with symbolic dims. */
    CHECK_EQ_INT(g->input_count, 1);
    CHECK_STR(g->inputs[0].name, "x");
    CHECK_EQ_INT(g->inputs[0].dtype, VB_DTYPE_FLOAT32);
    CHECK_EQ_INT(g->inputs[0].rank, 4);
    CHECK_EQ_INT(g->inputs[0].dims[2], -1);
    CHECK_STR(g->inputs[0].dim_params[2], "H");
    CHECK(g->inputs[0].dim_params[3] == NULL);
    CHECK_EQ_INT(g->inputs[0].dims[3], 8);
    CHECK_EQ_INT(g->output_count, 1);
    CHECK_EQ_INT(g->outputs[0].dims[1], 2);
    CHECK_EQ_INT(g->value_info_count, 1);

    vbOnnxModelFree(m);
    pbFree(&b);
}

/* Every proper prefix of the model must fail cleanly; run under the
 * sanitizer build this also proves no read leaves the prefix. */
static void testTruncatedEveryOffset(void)
{
    PbBuf b = {0};
    buildSmallModel(&b);
    int unexpected = 0;
    for (size_t n = 0; n < b.len; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, b.data, n);
        VbOnnxModel *m = NULL;
        vb_error err = {0};
        vb_status st = vbOnnxModelLoadBuffer(copy, n, NULL, &m, &err);
        if (st != VB_ERR_PARSE || m != NULL || err.message[0] == '\0' || strchr(err.message, '\n')) {
            if (unexpected++ < 5)
                fprintf(stderr, "prefix of %zu bytes: status %d, expected a parse error: '%s'\n", n,
                        st, err.message);
        }
        vbOnnxModelFree(m);
        free(copy);
    }
    CHECK_EQ_INT(unexpected, 0);
    pbFree(&b);
}

/* Random byte changes to the small model (fixed seed, so runs repeat) must
 * decode or fail with a one-line message; the sanitizer build checks that
 * no change makes the decoder read or write out of bounds. */
static void testRandomMutations(void)
{
    PbBuf b = {0};
    buildSmallModel(&b);
    uint64_t state = 0x9e3779b97f4a7c15u;
    int decoded = 0, bad_messages = 0;
    for (int iter = 0; iter < 20000; iter++) {
        uint8_t *copy = malloc(b.len);
        memcpy(copy, b.data, b.len);
        int changes = 1 + iter % 4;
        for (int k = 0; k < changes; k++) {
            state = state * 6364136223846793005u + 1442695040888963407u;
            size_t at = (size_t)(state >> 33) % b.len;
            copy[at] = (uint8_t)(state >> 24);
        }
        VbOnnxModel *m = NULL;
        vb_error err = {0};
        vb_status st = vbOnnxModelLoadBuffer(copy, b.len, NULL, &m, &err);
        if (st == VB_OK)
            decoded++;
        else if (err.message[0] == '\0' || strchr(err.message, '\n') != NULL)
            bad_messages++;
        vbOnnxModelFree(m);
        free(copy);
    }
    CHECK_EQ_INT(bad_messages, 0);
    printf("random mutations: %d of 20000 still decode\n", decoded);
    pbFree(&b);
}

/* Loads b and returns the status; the message goes to msg. */
static vb_status loadStatus(const PbBuf *b, const char *base_dir, char *msg, size_t size)
{
    VbOnnxModel *m = NULL;
    vb_error err = {0};
    vb_status st = vbOnnxModelLoadBuffer(b->data, b->len, base_dir, &m, &err);
    snprintf(msg, size, "%s", st == VB_OK ? "" : err.message);
    vbOnnxModelFree(m);
    return st;
}

static void testMalformedWire(void)
{
    char msg[VB_ERROR_MESSAGE_MAX];
    PbBuf b = {0};

    /* An 11-byte varint. */
    pbKey(&b, 1, PB_VARINT);
    pbBytes(&b, "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", 11);
    CHECK_EQ_INT(loadStatus(&b, NULL, msg, sizeof msg), VB_ERR_PARSE);
    CHECK_MSG(strstr(msg, "longer than 10 bytes") != NULL, "%s", msg);
    CHECK_MSG(strstr(msg, "ModelProto.ir_version") != NULL, "%s", msg);
    pbFree(&b);

    /* A 10-byte varint whose last byte overflows 64 bits. */
    pbKey(&b, 1, PB_VARINT);
    pbBytes(&b, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 10);
    CHECK_EQ_INT(loadStatus(&b, NULL, msg, sizeof msg), VB_ERR_PARSE);
    pbFree(&b);

    /* ir_version sent as a length-delimited field. */
    pbLen(&b, 1, "ab", 2);
    CHECK_EQ_INT(loadStatus(&b, NULL, msg, sizeof msg), VB_ERR_PARSE);
    CHECK_MSG(strstr(msg, "wire type 2") != NULL, "%s", msg);
    CHECK_MSG(strstr(msg, "byte 0") != NULL, "%s", msg);
    pbFree(&b);

    /* Group wire types and invalid ones. */
    pbKey(&b, 6, 3);
    CHECK_EQ_INT(loadStatus(&b, NULL, msg, sizeof msg), VB_ERR_PARSE);
    CHECK_MSG(strstr(msg, "group") != NULL, "%s", msg);
    pbFree(&b);
    pbKey(&b, 6, 7);
    CHECK_EQ_INT(loadStatus(&b, NULL, msg, sizeof msg), VB_ERR_PARSE);
    CHECK_MSG(strstr(msg, "invalid wire type 7") != NULL, "%s", msg);
    pbFree(&b);

    /* Field number 0. */
    pbKey(&b, 0, PB_VARINT);
    pbVarint(&b, 1);
    CHECK_EQ_INT(loadStatus(&b, NULL, msg, sizeof msg), VB_ERR_PARSE);
    pbFree(&b);

    /* A length that runs past the end names the field and the offset. */
    pbKey(&b, 7, PB_LEN);
    pbVarint(&b, 1000);
    pbBytes(&b, "\x0a\x00", 2);
    CHECK_EQ_INT(loadStatus(&b, NULL, msg, sizeof msg), VB_ERR_PARSE);
    CHECK_MSG(strstr(msg, "truncated at byte 5 while reading ModelProto.graph") != NULL, "%s", msg);
    pbFree(&b);

    /* A packed varint run whose last value is cut. */
    PbBuf t = {0};
    pbLen(&t, 1, "\x02\x80", 2);
    pbInt(&t, 2, 1);
    pbModelWithTensor(&b, &t);
    CHECK_EQ_INT(loadStatus(&b, NULL, msg, sizeof msg), VB_ERR_PARSE);
    CHECK_MSG(strstr(msg, "TensorProto.dims") != NULL, "%s", msg);
    pbFree(&b);

    /* A file without a graph. */
    pbInt(&b, 1, 8);
    CHECK_EQ_INT(loadStatus(&b, NULL, msg, sizeof msg), VB_ERR_PARSE);
    CHECK_MSG(strstr(msg, "no graph") != NULL, "%s", msg);
    pbFree(&b);
}

/* A float tensor with the given dims and raw_data of raw_bytes bytes. */
static void shapedTensor(PbBuf *t, const int64_t *dims, int rank, size_t raw_bytes)
{
    static const uint8_t zeros[64];
    for (int i = 0; i < rank; i++)
        pbInt(t, 1, dims[i]);
    pbInt(t, 2, 1);
    pbString(t, 8, "big");
    pbLen(t, 9, zeros, raw_bytes);
}

static void testShapeLimits(void)
{
    char msg[VB_ERROR_MESSAGE_MAX];
    PbBuf b = {0}, t = {0};

    /* 2^40 elements with 4 bytes of data: a mismatch, never an allocation. */
    int64_t huge[1] = {(int64_t)1 << 40};
    shapedTensor(&t, huge, 1, 4);
    pbModelWithTensor(&b, &t);
    CHECK_EQ_INT(loadStatus(&b, NULL, msg, sizeof msg), VB_ERR_PARSE);
    CHECK_MSG(strstr(msg, "tensor 'big'") != NULL, "%s", msg);
    CHECK_MSG(strstr(msg, "4398046511104") != NULL, "%s", msg);
    pbFree(&b);

    /* 2^40 x 2^40 overflows the element count. */
    int64_t overflow[2] = {(int64_t)1 << 40, (int64_t)1 << 40};
    shapedTensor(&t, overflow, 2, 4);
    pbModelWithTensor(&b, &t);
    CHECK_EQ_INT(loadStatus(&b, NULL, msg, sizeof msg), VB_ERR_LIMIT);
    CHECK_MSG(strstr(msg, "overflows") != NULL, "%s", msg);
    pbFree(&b);

    /* Negative dims. */
    int64_t negative[2] = {2, -3};
    shapedTensor(&t, negative, 2, 4);
    pbModelWithTensor(&b, &t);
    CHECK_EQ_INT(loadStatus(&b, NULL, msg, sizeof msg), VB_ERR_PARSE);
    CHECK_MSG(strstr(msg, "negative dimension -3") != NULL, "%s", msg);
    pbFree(&b);

    /* A name with a newline still gives a one-line message. */
    pbInt(&t, 1, -1);
    pbInt(&t, 2, 1);
    pbString(&t, 8, "two\nlines");
    pbModelWithTensor(&b, &t);
    CHECK_EQ_INT(loadStatus(&b, NULL, msg, sizeof msg), VB_ERR_PARSE);
    CHECK_MSG(strchr(msg, '\n') == NULL, "%s", msg);
    CHECK_MSG(strstr(msg, "two?lines") != NULL, "%s", msg);
    pbFree(&b);

    /* Rank 9. */
    int64_t ones[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    shapedTensor(&t, ones, 9, 4);
    pbModelWithTensor(&b, &t);
    CHECK_EQ_INT(loadStatus(&b, NULL, msg, sizeof msg), VB_ERR_UNSUPPORTED);
    CHECK_MSG(strstr(msg, "rank 9") != NULL, "%s", msg);
    pbFree(&b);

    /* A string tensor and an unknown type. */
    pbInt(&t, 2, 8);
    pbString(&t, 8, "s");
    pbString(&t, 6, "text");
    pbModelWithTensor(&b, &t);
    CHECK_EQ_INT(loadStatus(&b, NULL, msg, sizeof msg), VB_ERR_UNSUPPORTED);
    CHECK_MSG(strstr(msg, "string") != NULL, "%s", msg);
    pbFree(&b);
    pbInt(&t, 2, 16);
    pbString(&t, 8, "bf");
    pbModelWithTensor(&b, &t);
    CHECK_EQ_INT(loadStatus(&b, NULL, msg, sizeof msg), VB_ERR_UNSUPPORTED);
    CHECK_MSG(strstr(msg, "bfloat16") != NULL, "%s", msg);
    pbFree(&b);

    /* float_data declared for an int64 tensor. */
    pbInt(&t, 1, 1);
    pbInt(&t, 2, 7);
    pbFloat(&t, 4, 1.0f);
    pbModelWithTensor(&b, &t);
    CHECK_EQ_INT(loadStatus(&b, NULL, msg, sizeof msg), VB_ERR_PARSE);
    CHECK_MSG(strstr(msg, "float_data") != NULL, "%s", msg);
    pbFree(&b);

    /* Fewer typed values than the shape needs. */
    pbInt(&t, 1, 3);
    pbInt(&t, 2, 1);
    pbFloat(&t, 4, 1.0f);
    pbModelWithTensor(&b, &t);
    CHECK_EQ_INT(loadStatus(&b, NULL, msg, sizeof msg), VB_ERR_PARSE);
    CHECK_MSG(strstr(msg, "contains 1 typed values") != NULL, "%s", msg);
    pbFree(&b);
}

/* Builds a model whose only initializer is a float tensor "w" of 4 values
 * with a name of pad_len bytes before it, and returns the offset of the
 * raw_data payload in the serialized model. */
static size_t alignedModel(PbBuf *model, size_t pad_len, const float *values)
{
    char name[16] = "w";
    PbBuf graph = {0};
    memset(name + 1, '_', pad_len);
    name[1 + pad_len] = '\0';
    int64_t dims[1] = {4};
    pbFloatTensor(&graph, 5, name, dims, 1, values, 4);
    pbModel(model, &graph);
    /* The payload is the last 16 bytes: the graph is the model's last field
     * and raw_data the tensor's last field. */
    return model->len - 16;
}

static void testZeroCopyAlignment(void)
{
    float values[4] = {1.0f, 2.0f, 3.0f, 4.0f};
    int saw_aligned = 0, saw_misaligned = 0;
    for (size_t pad = 0; pad < 4; pad++) {
        PbBuf b = {0};
        size_t at = alignedModel(&b, pad, values);
        uint8_t *buf = aligned_alloc(64, (b.len + 63) / 64 * 64);
        memcpy(buf, b.data, b.len);

        VbOnnxModel *m = NULL;
        vb_error err = {0};
        vb_status st = vbOnnxModelLoadBuffer(buf, b.len, NULL, &m, &err);
        CHECK_MSG(st == VB_OK, "%s", err.message);
        if (st == VB_OK) {
            const VbOnnxTensor *t = &m->graph->initializers[0];
            CHECK(memcmp(t->data, values, sizeof values) == 0);
            if (at % 4 == 0) {
                saw_aligned = 1;
                CHECK(t->data == buf + at);
                CHECK(vbOnnxTensorIsZeroCopy(m, t));
            } else {
                saw_misaligned = 1;
                CHECK(t->data != buf + at);
                CHECK((uintptr_t)t->data % 64 == 0);
                CHECK(!vbOnnxTensorIsZeroCopy(m, t));
            }
        }
        vbOnnxModelFree(m);
        free(buf);
        pbFree(&b);
    }
    CHECK(saw_aligned);
    CHECK(saw_misaligned);
}

/* Writes a model with one external float tensor of 4 values at the given
 * location, offset and length into dir/model.onnx. */
static void writeExternalModel(const char *dir, const char *location, const char *offset,
                               const char *length)
{
    PbBuf t = {0}, entry = {0}, model = {0};
    pbInt(&t, 1, 4);
    pbInt(&t, 2, 1);
    pbString(&t, 8, "ext");
    pbString(&entry, 1, "location");
    pbString(&entry, 2, location);
    pbMessage(&t, 13, &entry);
    if (offset != NULL) {
        pbString(&entry, 1, "offset");
        pbString(&entry, 2, offset);
        pbMessage(&t, 13, &entry);
    }
    if (length != NULL) {
        pbString(&entry, 1, "length");
        pbString(&entry, 2, length);
        pbMessage(&t, 13, &entry);
    }
    pbInt(&t, 14, 1);                     /* data_location EXTERNAL */
    pbModelWithTensor(&model, &t);
    char *path = vbPathJoin(dir, "model.onnx");
    CHECK(pbWriteFile(&model, path) == 0);
    free(path);
    pbFree(&model);
}

static vb_status loadFile(const char *dir, char *msg, size_t size, float *first)
{
    char *path = vbPathJoin(dir, "model.onnx");
    VbOnnxModel *m = NULL;
    vb_error err = {0};
    vb_status st = vbOnnxModelLoad(path, &m, &err);
    snprintf(msg, size, "%s", st == VB_OK ? "" : err.message);
    if (st == VB_OK) {
        const VbOnnxTensor *t = &m->graph->initializers[0];
        CHECK(t->is_external);
        CHECK_EQ_INT(t->count, 4);
        CHECK((uintptr_t)t->data % 4 == 0);
        *first = ((const float *)t->data)[0];
    }
    vbOnnxModelFree(m);
    free(path);
    return st;
}

static void testExternalData(void)
{
    char dir[] = "/tmp/vb_onnx_test_XXXXXX";
    char msg[VB_ERROR_MESSAGE_MAX];
    float first = 0;
    if (mkdtemp(dir) == NULL) {
        CHECK_MSG(0, "mkdtemp failed");
        return;
    }

    /* weights.bin: 3 bytes of padding, then 1 2 3 4, so the data is misaligned. */
    float values[4] = {1.0f, 2.0f, 3.0f, 4.0f};
    PbBuf weights = {0};
    pbBytes(&weights, "pad", 3);
    pbBytes(&weights, values, sizeof values);
    char *wpath = vbPathJoin(dir, "weights.bin");
    CHECK(pbWriteFile(&weights, wpath) == 0);

    writeExternalModel(dir, "weights.bin", "3", "16");
    CHECK_EQ_INT(loadFile(dir, msg, sizeof msg, &first), VB_OK);
    CHECK_MSG(first == 1.0f, "%s", msg);

    /* Without a length the rest of the file from offset is the data. */
    writeExternalModel(dir, "./weights.bin", "3", NULL);
    CHECK_EQ_INT(loadFile(dir, msg, sizeof msg, &first), VB_OK);

    /* Missing file: names the tensor and the path. */
    writeExternalModel(dir, "missing.bin", NULL, NULL);
    CHECK_EQ_INT(loadFile(dir, msg, sizeof msg, &first), VB_ERR_NOT_FOUND);
    CHECK_MSG(strstr(msg, "tensor 'ext'") != NULL, "%s", msg);
    CHECK_MSG(strstr(msg, "missing.bin") != NULL, "%s", msg);

    /* Paths that leave the folder. */
    writeExternalModel(dir, "../weights.bin", NULL, NULL);
    CHECK_EQ_INT(loadFile(dir, msg, sizeof msg, &first), VB_ERR_UNSUPPORTED);
    CHECK_MSG(strstr(msg, "'..'") != NULL, "%s", msg);
    writeExternalModel(dir, "sub/../../weights.bin", NULL, NULL);
    CHECK_EQ_INT(loadFile(dir, msg, sizeof msg, &first), VB_ERR_UNSUPPORTED);
    writeExternalModel(dir, wpath, NULL, NULL);
    CHECK_EQ_INT(loadFile(dir, msg, sizeof msg, &first), VB_ERR_UNSUPPORTED);
    CHECK_MSG(strstr(msg, "absolute") != NULL, "%s", msg);

    /* Ranges past the end, wrong lengths, non-numbers. */
    writeExternalModel(dir, "weights.bin", "8", "16");
    CHECK_EQ_INT(loadFile(dir, msg, sizeof msg, &first), VB_ERR_PARSE);
    CHECK_MSG(strstr(msg, "past the end") != NULL, "%s", msg);
    writeExternalModel(dir, "weights.bin", "3", "12");
    CHECK_EQ_INT(loadFile(dir, msg, sizeof msg, &first), VB_ERR_PARSE);
    writeExternalModel(dir, "weights.bin", "0x3", NULL);
    CHECK_EQ_INT(loadFile(dir, msg, sizeof msg, &first), VB_ERR_PARSE);
    writeExternalModel(dir, "weights.bin", "99999999999999999999999", NULL);
    CHECK_EQ_INT(loadFile(dir, msg, sizeof msg, &first), VB_ERR_PARSE);

    /* From a buffer without a folder, external data is rejected. */
    PbBuf t = {0}, model = {0}, entry = {0};
    pbInt(&t, 1, 4);
    pbInt(&t, 2, 1);
    pbString(&entry, 1, "location");
    pbString(&entry, 2, "weights.bin");
    pbMessage(&t, 13, &entry);
    pbInt(&t, 14, 1);
    pbModelWithTensor(&model, &t);
    CHECK_EQ_INT(loadStatus(&model, NULL, msg, sizeof msg), VB_ERR_UNSUPPORTED);
    pbFree(&model);

    /* Clean up the folder. */
    char *mpath = vbPathJoin(dir, "model.onnx");
    unlink(mpath);
    unlink(wpath);
    rmdir(dir);
    free(mpath);
    free(wpath);
    pbFree(&weights);
}

/* Wraps graph in an If node's then_branch attribute, levels times. */
static void nestGraphs(PbBuf *graph, int levels)
{
    for (int i = 0; i < levels; i++) {
        PbBuf attr = {0}, node = {0}, outer = {0};
        pbString(&attr, 1, "then_branch");
        pbMessage(&attr, 6, graph);
        pbInt(&attr, 20, 5);
        pbString(&node, 1, "cond");
        pbString(&node, 4, "If");
        pbMessage(&node, 5, &attr);
        pbMessage(&outer, 1, &node);
        *graph = outer;
    }
}

static void testGraphDepth(void)
{
    char msg[VB_ERROR_MESSAGE_MAX];
    for (int levels = VB_ONNX_MAX_GRAPH_DEPTH - 1; levels <= VB_ONNX_MAX_GRAPH_DEPTH; levels++) {
        PbBuf graph = {0}, model = {0};
        pbString(&graph, 2, "innermost");
        nestGraphs(&graph, levels);
        pbModel(&model, &graph);
        vb_status st = loadStatus(&model, NULL, msg, sizeof msg);
        /* The main graph is level 1, so levels subgraphs reach levels + 1. */
        if (levels + 1 <= VB_ONNX_MAX_GRAPH_DEPTH) {
            CHECK_MSG(st == VB_OK, "%d levels: %s", levels, msg);
        } else {
            CHECK_EQ_INT(st, VB_ERR_LIMIT);
            CHECK_MSG(strstr(msg, "nested") != NULL, "%s", msg);
        }
        pbFree(&model);
    }

    /* The subgraph is reachable through the attribute. */
    PbBuf graph = {0}, model = {0};
    pbString(&graph, 2, "body");
    nestGraphs(&graph, 1);
    pbModel(&model, &graph);
    VbOnnxModel *m = NULL;
    vb_error err = {0};
    CHECK(vbOnnxModelLoadBuffer(model.data, model.len, NULL, &m, &err) == VB_OK);
    const VbOnnxAttr *a = m != NULL ? vbOnnxNodeAttr(&m->graph->nodes[0], "then_branch") : NULL;
    CHECK(a != NULL);
    if (a != NULL) {
        CHECK_EQ_INT(a->type, VB_ONNX_ATTR_GRAPH);
        CHECK(a->g != NULL);
        CHECK_STR(a->g ? a->g->name : NULL, "body");
    }
    vbOnnxModelFree(m);
    pbFree(&model);
}

/* A graph with a sparse initializer "sp" and a node reading "sp" (used 1),
 * a graph output named "sp" (used 2) or neither (used 0). */
static void sparseModel(PbBuf *model, int used)
{
    PbBuf graph = {0}, sparse = {0}, values = {0}, node = {0};
    pbInt(&values, 1, 1);
    pbInt(&values, 2, 1);
    pbString(&values, 8, "sp");
    pbFloat(&values, 4, 1.0f);
    pbMessage(&sparse, 1, &values);
    pbMessage(&graph, 15, &sparse);
    pbString(&node, 1, used == 1 ? "sp" : "x");
    pbString(&node, 2, "y");
    pbString(&node, 3, "reader");
    pbString(&node, 4, "Relu");
    pbMessage(&graph, 1, &node);
    if (used == 2) {
        int64_t dims[1] = {1};
        pbValueInfo(&graph, 12, "sp", dims, NULL, 1);
    }
    pbModel(model, &graph);
}

static void testSparseInitializer(void)
{
    char msg[VB_ERROR_MESSAGE_MAX];
    PbBuf model = {0};
    sparseModel(&model, 0);
    CHECK_EQ_INT(loadStatus(&model, NULL, msg, sizeof msg), VB_OK);
    pbFree(&model);
    sparseModel(&model, 1);
    CHECK_EQ_INT(loadStatus(&model, NULL, msg, sizeof msg), VB_ERR_UNSUPPORTED);
    CHECK_MSG(strstr(msg, "'sp'") != NULL, "%s", msg);
    CHECK_MSG(strstr(msg, "'reader'") != NULL, "%s", msg);
    pbFree(&model);
    sparseModel(&model, 2);
    CHECK_EQ_INT(loadStatus(&model, NULL, msg, sizeof msg), VB_ERR_UNSUPPORTED);
    CHECK_MSG(strstr(msg, "graph output") != NULL, "%s", msg);
    pbFree(&model);
}

static void testTensorDecode(void)
{
    PbBuf t = {0};
    VbOnnxTensor *out = NULL;
    vb_error err = {0};

    /* double_data. */
    pbInt(&t, 1, 2);
    pbInt(&t, 2, 11);
    uint64_t bits;
    double d = 2.25;
    memcpy(&bits, &d, 8);
    for (int i = 0; i < 2; i++) {
        pbKey(&t, 10, PB_FIXED64);
        uint8_t le[8];
        for (int k = 0; k < 8; k++)
            le[k] = (uint8_t)(bits >> (8 * k));
        pbBytes(&t, le, 8);
    }
    CHECK(vbOnnxTensorDecode(t.data, t.len, &out, &err) == VB_OK);
    CHECK(out != NULL);
    if (out != NULL) {
        CHECK_EQ_INT(out->dtype, VB_DTYPE_FLOAT64);
        CHECK_NEAR(((const double *)out->data)[1], 2.25, 0);
    }
    vbOnnxTensorFree(out);
    pbFree(&t);

    /* uint64_data holding uint32 values; scalar (rank 0). */
    pbInt(&t, 2, 12);
    pbInt(&t, 11, 4000000000LL);
    CHECK(vbOnnxTensorDecode(t.data, t.len, &out, &err) == VB_OK);
    CHECK(out != NULL);
    if (out != NULL) {
        CHECK_EQ_INT(out->rank, 0);
        CHECK_EQ_INT(out->count, 1);
        CHECK_EQ_INT(((const uint32_t *)out->data)[0], 4000000000u);
    }
    vbOnnxTensorFree(out);
    pbFree(&t);

    /* float16 bits in int32_data. */
    pbInt(&t, 1, 1);
    pbInt(&t, 2, 10);
    pbInt(&t, 5, 0x3c00);
    CHECK(vbOnnxTensorDecode(t.data, t.len, &out, &err) == VB_OK);
    CHECK(out != NULL);
    if (out != NULL) {
        CHECK_EQ_INT(out->dtype, VB_DTYPE_FLOAT16);
        CHECK_EQ_INT(((const uint16_t *)out->data)[0], 0x3c00);
    }
    vbOnnxTensorFree(out);
    pbFree(&t);

    /* An empty tensor has no data. */
    pbInt(&t, 1, 0);
    pbInt(&t, 2, 1);
    CHECK(vbOnnxTensorDecode(t.data, t.len, &out, &err) == VB_OK);
    CHECK(out != NULL);
    if (out != NULL) {
        CHECK_EQ_INT(out->count, 0);
        CHECK(out->data == NULL);
    }
    vbOnnxTensorFree(out);
    pbFree(&t);

    /* Raw data is copied even when aligned: the tensor owns it. */
    int64_t dims[1] = {4};
    float values[4] = {1, 2, 3, 4};
    PbBuf holder = {0};
    pbFloatTensor(&holder, 1, "copy", dims, 1, values, 4);
    CHECK(vbOnnxTensorDecode(holder.data + 2, holder.len - 2, &out, &err) == VB_OK);
    CHECK(out != NULL);
    if (out != NULL) {
        CHECK((const uint8_t *)out->data != holder.data + holder.len - 16);
        CHECK_STR(out->name, "copy");
    }
    vbOnnxTensorFree(out);
    pbFree(&holder);

    /* Empty input: a tensor without data_type. */
    CHECK(vbOnnxTensorDecode(NULL, 0, &out, &err) == VB_ERR_PARSE);
    CHECK(out == NULL);
    vbOnnxTensorFree(NULL);
    vbOnnxModelFree(NULL);
}

int main(void)
{
    testSmallModelFields();
    testTruncatedEveryOffset();
    testRandomMutations();
    testMalformedWire();
    testShapeLimits();
    testZeroCopyAlignment();
    testExternalData();
    testGraphDepth();
    testSparseInitializer();
    testTensorDecode();
    TEST_END();
}
