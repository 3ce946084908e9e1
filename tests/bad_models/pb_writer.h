/* A tiny protobuf encoder for tests that build ONNX models and tensors byte by byte. */
#ifndef VB_TEST_PB_WRITER_H
#define VB_TEST_PB_WRITER_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Wire types. */
#define PB_VARINT 0
#define PB_FIXED64 1
#define PB_LEN 2
#define PB_FIXED32 5

/* A growing byte buffer. Tests abort on allocation failure, as nothing
 * useful can follow it. */
typedef struct PbBuf {
    uint8_t *data;
    size_t len;
    size_t cap;
} PbBuf;

static inline void pbBytes(PbBuf *b, const void *bytes, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->len + n)
            cap *= 2;
        b->data = realloc(b->data, cap);
        if (b->data == NULL) {
            fprintf(stderr, "pb_writer: out of memory\n");
            exit(1);
        }
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->data + b->len, bytes, n);
    b->len += n;
}

static inline void pbVarint(PbBuf *b, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    do {
        tmp[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v != 0)
            tmp[n] |= 0x80;
        n++;
    } while (v != 0);
    pbBytes(b, tmp, n);
}

static inline void pbKey(PbBuf *b, uint32_t field, int wire_type)
{
    pbVarint(b, ((uint64_t)field << 3) | (uint64_t)wire_type);
}

/* A varint field; negative values take 10 bytes, as protobuf writes int64. */
static inline void pbInt(PbBuf *b, uint32_t field, int64_t v)
{
    pbKey(b, field, PB_VARINT);
    pbVarint(b, (uint64_t)v);
}

static inline void pbFixed32(PbBuf *b, uint32_t field, uint32_t v)
{
    uint8_t le[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    pbKey(b, field, PB_FIXED32);
    pbBytes(b, le, 4);
}

static inline void pbFloat(PbBuf *b, uint32_t field, float f)
{
    uint32_t bits;
    memcpy(&bits, &f, 4);
    pbFixed32(b, field, bits);
}

static inline void pbLen(PbBuf *b, uint32_t field, const void *bytes, size_t n)
{
    pbKey(b, field, PB_LEN);
    pbVarint(b, n);
    pbBytes(b, bytes, n);
}

static inline void pbString(PbBuf *b, uint32_t field, const char *s)
{
    pbLen(b, field, s, strlen(s));
}

/* Embeds sub as a LEN field and frees it. */
static inline void pbMessage(PbBuf *b, uint32_t field, PbBuf *sub)
{
    pbLen(b, field, sub->data, sub->len);
    free(sub->data);
    memset(sub, 0, sizeof *sub);
}

/* A packed repeated varint field. */
static inline void pbPackedInts(PbBuf *b, uint32_t field, const int64_t *v, size_t n)
{
    PbBuf payload = {0};
    for (size_t i = 0; i < n; i++)
        pbVarint(&payload, (uint64_t)v[i]);
    pbMessage(b, field, &payload);
}

static inline void pbFree(PbBuf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* ONNX helpers (field numbers from onnx.proto). */

/* A float TensorProto with dims and raw_data. */
static inline void pbFloatTensor(PbBuf *out, uint32_t field, const char *name, const int64_t *dims,
                          int rank, const float *values, size_t count)
{
    PbBuf t = {0};
    for (int i = 0; i < rank; i++)
        pbInt(&t, 1, dims[i]);            /* dims */
    pbInt(&t, 2, 1);                      /* data_type FLOAT */
    pbString(&t, 8, name);                /* name */
    pbLen(&t, 9, values, count * sizeof(float));  /* raw_data */
    pbMessage(out, field, &t);
}

/* A ValueInfoProto with a float tensor type; dims[i] < 0 writes
 * dim_param params[i] instead of a value. */
static inline void pbValueInfo(PbBuf *out, uint32_t field, const char *name, const int64_t *dims,
                        const char *const *params, int rank)
{
    PbBuf shape = {0}, tensor_type = {0}, type = {0}, vi = {0};
    for (int i = 0; i < rank; i++) {
        PbBuf dim = {0};
        if (dims[i] >= 0)
            pbInt(&dim, 1, dims[i]);
        else
            pbString(&dim, 2, params[i]);
        pbMessage(&shape, 1, &dim);
    }
    pbInt(&tensor_type, 1, 1);            /* elem_type FLOAT */
    pbMessage(&tensor_type, 2, &shape);
    pbMessage(&type, 1, &tensor_type);
    pbString(&vi, 1, name);
    pbMessage(&vi, 2, &type);
    pbMessage(out, field, &vi);
}

/* Wraps graph into a ModelProto (IR 8, default opset 17) in *model. The
 * graph comes last, so that every proper prefix of the model lacks it or
 * cuts it short. */
static inline void pbModel(PbBuf *model, PbBuf *graph)
{
    PbBuf opset = {0};
    pbInt(model, 1, 8);                   /* ir_version */
    pbString(model, 2, "vbtest");         /* producer_name */
    pbString(model, 3, "1.0");            /* producer_version */
    pbString(&opset, 1, "");
    pbInt(&opset, 2, 17);
    pbMessage(model, 8, &opset);          /* opset_import */
    pbMessage(model, 7, graph);           /* graph */
}

/* Wraps tensor as the only initializer of a graph, in a model as pbModel
 * builds it. Frees tensor. */
static inline void pbModelWithTensor(PbBuf *model, PbBuf *tensor)
{
    PbBuf graph = {0};
    pbMessage(&graph, 5, tensor);
    pbModel(model, &graph);
}

/* Writes b to path; returns 0 on success. */
static inline int pbWriteFile(const PbBuf *b, const char *path)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    size_t n = b->len ? fwrite(b->data, 1, b->len, f) : 0;
    int rc = fclose(f);
    return n == b->len && rc == 0 ? 0 : -1;
}

#endif /* VB_TEST_PB_WRITER_H */
