/* Protocol Buffers wire-format reading over a bounded byte range, as the ONNX decoder needs it. */
#ifndef VB_ONNX_WIRE_H
#define VB_ONNX_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "visionbench/status.h"

/* Wire types of the protobuf encoding. Groups (3 and 4) and the unassigned
 * values 6 and 7 are rejected. */
enum {
    VB_WIRE_VARINT = 0,
    VB_WIRE_FIXED64 = 1,
    VB_WIRE_LEN = 2,
    VB_WIRE_FIXED32 = 5
};

/* Maximum varint length: 64 bits in groups of 7. */
#define VB_WIRE_MAX_VARINT_BYTES 10

/* Encoding of one known field. A repeated scalar field (VARINT, FIXED32,
 * FIXED64) is also accepted in packed form, as one LEN field. */
typedef struct VbOnnxFieldDesc {
    const char *name;      /* NULL: unknown to the decoder and skipped */
    int wire_type;
    int repeated;
} VbOnnxFieldDesc;

/* A message type: its name and its fields indexed by field number. Field
 * numbers at or above field_count are unknown and skipped. */
typedef struct VbOnnxMessageDesc {
    const char *name;      /* "NodeProto" */
    int field_count;
    const VbOnnxFieldDesc *fields;
} VbOnnxMessageDesc;

/* A cursor over the fields of one message. */
typedef struct VbOnnxWire {
    const uint8_t *base;   /* start of the whole buffer: error offsets count from it */
    const uint8_t *p;
    const uint8_t *end;
    const VbOnnxMessageDesc *desc;
} VbOnnxWire;

/* One field as read from the wire. */
typedef struct VbOnnxField {
    uint32_t number;       /* 0 after the last field */
    int wire_type;
    uint64_t value;        /* VARINT, FIXED32 and FIXED64 fields */
    const uint8_t *data;   /* LEN fields: the payload */
    size_t len;
    size_t offset;         /* offset of the field's key from base */
} VbOnnxField;

void vbOnnxWireInit(VbOnnxWire *w, const uint8_t *base, const uint8_t *data, size_t len,
                    const VbOnnxMessageDesc *desc);

/* Starts a cursor over the payload of the LEN field f, as message desc. */
void vbOnnxWireEnter(VbOnnxWire *inner, const VbOnnxWire *outer, const VbOnnxField *f,
                     const VbOnnxMessageDesc *desc);

/* Reads the next field into *f. Unknown fields are returned too (their desc
 * entry is absent), and the caller ignores them. At the end of the message
 * f->number is 0. Truncation, varints over 10 bytes, groups, invalid wire
 * types and a known field with another wire type than its desc give
 * VB_ERR_PARSE. The message names the byte offset and the field. */
vb_status vbOnnxWireNext(VbOnnxWire *w, VbOnnxField *f, vb_error *err);

/* Scans the whole message without moving w and stores in counts[n] (for
 * every n below desc->field_count) how many values field n holds, where a
 * packed field counts each value. Validates the framing of every field and
 * the contents of packed fields, so decoding them later cannot fail. */
vb_status vbOnnxWireCount(const VbOnnxWire *w, size_t *counts, vb_error *err);

/* Returns "NodeProto.input" (or "NodeProto field 99") for field number in
 * buf. */
const char *vbOnnxWireFieldName(const VbOnnxMessageDesc *desc, uint32_t number, char *buf,
                                size_t size);

/* The values of one occurrence of a repeated scalar field: either the single
 * value of an unpacked field or every value of a packed one. */
typedef struct VbOnnxScalars {
    const uint8_t *p;
    const uint8_t *end;
    int wire_type;         /* encoding of each value */
    int single_left;       /* unpacked: 1 until the value is taken */
    uint64_t single;
} VbOnnxScalars;

/* Starts reading the values of field f, whose values are encoded as
 * value_wire_type (VARINT, FIXED32 or FIXED64). */
void vbOnnxScalarsBegin(VbOnnxScalars *s, const VbOnnxField *f, int value_wire_type);

/* Stores the next value in *value and returns 1, or returns 0 after the last
 * one. FIXED32 values come as their 32 bits, FIXED64 as their 64 bits. A
 * malformed packed run also ends the values early, but vbOnnxWireCount has
 * already rejected those. */
int vbOnnxScalarsNext(VbOnnxScalars *s, uint64_t *value);

#endif /* VB_ONNX_WIRE_H */
