/* Writes the broken model files that the bad_models CLI tests feed to `visionbench inspect`. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bad_models/pb_writer.h"

/* Writes b to dir/name; returns 0 on success. */
static int writeCase(const char *dir, const char *name, const PbBuf *b)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (pbWriteFile(b, path) != 0) {
        fprintf(stderr, "make_bad_models: cannot write %s\n", path);
        return 1;
    }
    return 0;
}

/* A JFIF file cut short: SOI, an APP0 segment, the start of a
 * quantization table, and EOI. */
static void jpegBytes(PbBuf *b)
{
    static const uint8_t jfif[] = {
        0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00, 0x01, 0x01, 0x00,
        0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0xff, 0xdb, 0x00, 0x43, 0x00, 0x08, 0x06, 0x06,
        0x07, 0x06, 0x05, 0x08, 0x07, 0x07, 0x07, 0x09, 0x09, 0x08, 0x0a, 0x0c, 0x14, 0x0d,
        0xff, 0xd9};
    pbBytes(b, jfif, sizeof jfif);
}

/* Writes prefixes of the model at source: 10 bytes, 1000 bytes, half, and
 * all but the last byte. A missing source writes nothing (the tests that
 * read these files then skip). */
static int writeTruncated(const char *dir, const char *source)
{
    FILE *f = fopen(source, "rb");
    if (f == NULL) {
        printf("no %s: truncated-model cases will skip\n", source);
        return 0;
    }
    PbBuf whole = {0};
    uint8_t chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        pbBytes(&whole, chunk, n);
    fclose(f);
    if (whole.len < 2000) {
        fprintf(stderr, "make_bad_models: %s is too small (%zu bytes) to truncate\n", source, whole.len);
        pbFree(&whole);
        return 1;
    }

    struct { const char *name; size_t len; } cuts[] = {
        {"truncated_10.onnx", 10},
        {"truncated_1000.onnx", 1000},
        {"truncated_half.onnx", whole.len / 2},
        {"truncated_last.onnx", whole.len - 1},
    };
    int failed = 0;
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        PbBuf prefix = {whole.data, cuts[i].len, cuts[i].len};
        failed |= writeCase(dir, cuts[i].name, &prefix);
    }
    pbFree(&whole);
    return failed;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: make_bad_models OUTDIR [MODEL.onnx to truncate]\n");
        return 2;
    }
    const char *dir = argv[1];
    int failed = 0;
    mkdir(dir, 0777);
    PbBuf b = {0}, t = {0}, entry = {0}, graph = {0};

    /* empty.onnx: 0 bytes. */
    failed |= writeCase(dir, "empty.onnx", &b);

    /* jpeg.onnx: a JPEG renamed. */
    jpegBytes(&b);
    failed |= writeCase(dir, "jpeg.onnx", &b);
    pbFree(&b);

    /* huge_dim.onnx: a float tensor of 2^40 elements holding 4 bytes. */
    pbInt(&t, 1, (int64_t)1 << 40);
    pbInt(&t, 2, 1);
    pbString(&t, 8, "huge");
    pbLen(&t, 9, "\0\0\0\0", 4);
    pbModelWithTensor(&b, &t);
    failed |= writeCase(dir, "huge_dim.onnx", &b);
    pbFree(&b);

    /* missing_external.onnx: external data in a file that does not exist. */
    pbInt(&t, 1, 4);
    pbInt(&t, 2, 1);
    pbString(&t, 8, "weights");
    pbString(&entry, 1, "location");
    pbString(&entry, 2, "missing_weights.bin");
    pbMessage(&t, 13, &entry);
    pbInt(&t, 14, 1);
    pbModelWithTensor(&b, &t);
    failed |= writeCase(dir, "missing_external.onnx", &b);
    pbFree(&b);

    /* good.onnx: a valid one-node model, so the tests also see success. */
    PbBuf node = {0};
    int64_t dims[4] = {1, 3, -1, -1};
    const char *params[4] = {NULL, NULL, "height", "width"};
    pbString(&node, 1, "x");
    pbString(&node, 2, "y");
    pbString(&node, 4, "Relu");
    pbMessage(&graph, 1, &node);
    pbValueInfo(&graph, 11, "x", dims, params, 4);
    pbValueInfo(&graph, 12, "y", dims, params, 4);
    pbModel(&b, &graph);
    failed |= writeCase(dir, "good.onnx", &b);
    pbFree(&b);

    if (argc == 3)
        failed |= writeTruncated(dir, argv[2]);
    return failed ? 1 : 0;
}
