/* Internal state shared by the ONNX decoder's files: the arena that owns a model's memory and the decoding context. */
#ifndef VB_ONNX_DECODE_H
#define VB_ONNX_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "onnx/onnx.h"
#include "onnx/wire.h"

/* Alignment of every copied tensor buffer, enough for any SIMD load. */
#define VB_ONNX_DATA_ALIGN 64

/* A bump allocator: memory is handed out from large blocks and freed all at
 * once. Allocations past max bytes in total fail with VB_ERR_LIMIT. */
typedef struct VbOnnxArena {
    struct VbOnnxArenaBlock *blocks;
    size_t used;           /* bytes handed out, padding included */
    size_t max;
} VbOnnxArena;

void vbOnnxArenaInit(VbOnnxArena *arena, size_t max);

/* Returns size zeroed bytes aligned to align (a power of two, at most
 * VB_ONNX_DATA_ALIGN), owned by the arena. size 0 returns a valid unique
 * pointer. Errors: VB_ERR_LIMIT, VB_ERR_NO_MEMORY. */
void *vbOnnxArenaAlloc(VbOnnxArena *arena, size_t size, size_t align, vb_error *err);

/* Like vbOnnxArenaAlloc but leaves the bytes uninitialized, for buffers the
 * caller fills completely. */
void *vbOnnxArenaAllocUninit(VbOnnxArena *arena, size_t size, size_t align, vb_error *err);

/* Returns a NUL-terminated copy of n bytes, or NULL with err set. */
char *vbOnnxArenaString(VbOnnxArena *arena, const uint8_t *bytes, size_t n, vb_error *err);

/* Frees every block. Accepts a zeroed arena. */
void vbOnnxArenaFree(VbOnnxArena *arena);

/* What one decoding run reads from and writes to. */
typedef struct VbOnnxDecoder {
    const uint8_t *base;   /* the whole serialized buffer */
    size_t size;
    int zero_copy;         /* nonzero: aligned raw_data may point into base */
    const char *base_dir;  /* folder for external data; NULL rejects it */
    VbOnnxArena *arena;
} VbOnnxDecoder;

/* Decodes the TensorProto in field f (read by w) into *t. Typed fields and
 * misaligned raw_data are copied into the arena; aligned raw_data points
 * into dec->base when dec->zero_copy is set. External data is read from
 * dec->base_dir. Errors name the tensor. */
vb_status vbOnnxDecodeTensor(VbOnnxDecoder *dec, const VbOnnxWire *w, const VbOnnxField *f,
                             VbOnnxTensor *t, vb_error *err);

/* Copies the payload of a LEN field as a NUL-terminated string. */
char *vbOnnxDecodeString(VbOnnxDecoder *dec, const VbOnnxField *f, vb_error *err);

/* Decodes a StringStringEntryProto (metadata_props, external_data). */
vb_status vbOnnxDecodeEntry(VbOnnxDecoder *dec, const VbOnnxWire *w, const VbOnnxField *f,
                            const char **key, const char **value, vb_error *err);

/* Replaces control characters (from names in the file) in err's message,
 * so that it stays one line. Accepts NULL. */
void vbOnnxErrorOneLine(vb_error *err);

/* Checks that a count read from a file is at most max, naming the field
 * ("NodeProto.input") in the error. */
vb_status vbOnnxCheckCount(size_t count, size_t max, const char *field, vb_error *err);

#endif /* VB_ONNX_DECODE_H */
