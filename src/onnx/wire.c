/* Protocol Buffers wire-format reading: keys, varints, fixed-width values and length-delimited fields. */
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "onnx/wire.h"

/* Largest field number protobuf allows (2^29 - 1). */
#define WIRE_MAX_FIELD_NUMBER 536870911u

enum { VARINT_OK = 0, VARINT_TRUNCATED, VARINT_TOO_LONG };

/* Reads one varint at *p (not past end) and advances *p. A 10th byte above 1
 * would overflow 64 bits and counts as too long. */
static int readVarint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    const uint8_t *q = *p;
    uint64_t v = 0;
    for (int i = 0; i < VB_WIRE_MAX_VARINT_BYTES; i++) {
        if (q == end)
            return VARINT_TRUNCATED;
        uint8_t b = *q++;
        if (i == VB_WIRE_MAX_VARINT_BYTES - 1 && b > 1)
            return VARINT_TOO_LONG;
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if ((b & 0x80) == 0) {
            *p = q;
            *out = v;
            return VARINT_OK;
        }
    }
    return VARINT_TOO_LONG;
}

static uint64_t loadLe(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static const char *wireTypeName(int wire_type)
{
    switch (wire_type) {
    case VB_WIRE_VARINT: return "varint";
    case VB_WIRE_FIXED64: return "64-bit";
    case VB_WIRE_LEN: return "length-delimited";
    case VB_WIRE_FIXED32: return "32-bit";
    }
    return "invalid";
}

void vbOnnxWireInit(VbOnnxWire *w, const uint8_t *base, const uint8_t *data, size_t len,
                    const VbOnnxMessageDesc *desc)
{
    w->base = base;
    w->p = data;
    w->end = data + len;
    w->desc = desc;
}

void vbOnnxWireEnter(VbOnnxWire *inner, const VbOnnxWire *outer, const VbOnnxField *f,
                     const VbOnnxMessageDesc *desc)
{
    vbOnnxWireInit(inner, outer->base, f->data, f->len, desc);
}

const char *vbOnnxWireFieldName(const VbOnnxMessageDesc *desc, uint32_t number, char *buf,
                                size_t size)
{
    if (number < (uint32_t)desc->field_count && desc->fields[number].name != NULL)
        snprintf(buf, size, "%s.%s", desc->name, desc->fields[number].name);
    else
        snprintf(buf, size, "%s field %u", desc->name, (unsigned)number);
    return buf;
}

static const VbOnnxFieldDesc *knownField(const VbOnnxMessageDesc *desc, uint32_t number)
{
    if (number >= (uint32_t)desc->field_count || desc->fields[number].name == NULL)
        return NULL;
    return &desc->fields[number];
}

static size_t offsetOf(const VbOnnxWire *w, const uint8_t *p)
{
    return (size_t)(p - w->base);
}

vb_status vbOnnxWireNext(VbOnnxWire *w, VbOnnxField *f, vb_error *err)
{
    char name[96];
    memset(f, 0, sizeof *f);
    if (w->p == w->end)
        return VB_OK;

    /* Key: field number and wire type. */
    const uint8_t *start = w->p;
    uint64_t key;
    int rc = readVarint(&w->p, w->end, &key);
    if (rc == VARINT_TRUNCATED)
        return vbErrorSet(err, VB_ERR_PARSE, "truncated at byte %zu while reading a %s field key",
                          offsetOf(w, w->end), w->desc->name);
    if (rc == VARINT_TOO_LONG)
        return vbErrorSet(err, VB_ERR_PARSE, "invalid field key at byte %zu in %s: varint longer than 10 bytes",
                          offsetOf(w, start), w->desc->name);
    uint64_t number = key >> 3;
    int wire_type = (int)(key & 7);
    if (number == 0 || number > WIRE_MAX_FIELD_NUMBER)
        return vbErrorSet(err, VB_ERR_PARSE, "invalid field number %llu at byte %zu in %s",
                          (unsigned long long)number, offsetOf(w, start), w->desc->name);
    f->number = (uint32_t)number;
    f->wire_type = wire_type;
    f->offset = offsetOf(w, start);
    vbOnnxWireFieldName(w->desc, f->number, name, sizeof name);

    /* Wire type: groups and unassigned types first, then the field's declared encoding. */
    if (wire_type == 3 || wire_type == 4)
        return vbErrorSet(err, VB_ERR_PARSE, "%s at byte %zu uses the group wire type %d, which ONNX files never contain",
                          name, f->offset, wire_type);
    if (wire_type != VB_WIRE_VARINT && wire_type != VB_WIRE_FIXED64 && wire_type != VB_WIRE_LEN &&
        wire_type != VB_WIRE_FIXED32)
        return vbErrorSet(err, VB_ERR_PARSE, "invalid wire type %d at byte %zu in %s; the file is not a protobuf message",
                          wire_type, f->offset, name);
    const VbOnnxFieldDesc *fd = knownField(w->desc, f->number);
    if (fd != NULL && wire_type != fd->wire_type &&
        !(fd->repeated && wire_type == VB_WIRE_LEN && fd->wire_type != VB_WIRE_LEN))
        return vbErrorSet(err, VB_ERR_PARSE, "%s at byte %zu has wire type %d (%s), expected %d (%s)",
                          name, f->offset, wire_type, wireTypeName(wire_type), fd->wire_type,
                          wireTypeName(fd->wire_type));

    /* Value. */
    size_t left;
    switch (wire_type) {
    case VB_WIRE_VARINT:
        rc = readVarint(&w->p, w->end, &f->value);
        if (rc == VARINT_TRUNCATED)
            return vbErrorSet(err, VB_ERR_PARSE, "truncated at byte %zu while reading %s",
                              offsetOf(w, w->end), name);
        if (rc == VARINT_TOO_LONG)
            return vbErrorSet(err, VB_ERR_PARSE, "invalid varint at byte %zu in %s: longer than 10 bytes",
                              f->offset, name);
        return VB_OK;
    case VB_WIRE_FIXED64:
    case VB_WIRE_FIXED32: {
        size_t n = wire_type == VB_WIRE_FIXED64 ? 8 : 4;
        left = (size_t)(w->end - w->p);
        if (left < n)
            return vbErrorSet(err, VB_ERR_PARSE, "truncated at byte %zu while reading %s: %zu bytes needed, %zu left",
                              offsetOf(w, w->end), name, n, left);
        f->value = loadLe(w->p, (int)n);
        w->p += n;
        return VB_OK;
    }
    case VB_WIRE_LEN: {
        uint64_t len;
        rc = readVarint(&w->p, w->end, &len);
        if (rc == VARINT_TRUNCATED)
            return vbErrorSet(err, VB_ERR_PARSE, "truncated at byte %zu while reading the length of %s",
                              offsetOf(w, w->end), name);
        if (rc == VARINT_TOO_LONG)
            return vbErrorSet(err, VB_ERR_PARSE, "invalid length at byte %zu in %s: varint longer than 10 bytes",
                              f->offset, name);
        left = (size_t)(w->end - w->p);
        if (len > left)
            return vbErrorSet(err, VB_ERR_PARSE, "truncated at byte %zu while reading %s: %llu bytes needed, %zu left",
                              offsetOf(w, w->end), name, (unsigned long long)len, left);
        f->data = w->p;
        f->len = (size_t)len;
        w->p += len;
        return VB_OK;
    }
    }
    return vbErrorSet(err, VB_ERR_INTERNAL, "unhandled wire type %d", wire_type);
}

/* Counts the values in the packed payload of f and checks that it splits
 * into whole values. */
static vb_status countPacked(const VbOnnxWire *w, const VbOnnxField *f, int value_wire_type,
                             size_t *count, vb_error *err)
{
    char name[96];
    vbOnnxWireFieldName(w->desc, f->number, name, sizeof name);
    size_t width = value_wire_type == VB_WIRE_FIXED64 ? 8 : 4;
    if (value_wire_type != VB_WIRE_VARINT) {
        if (f->len % width != 0)
            return vbErrorSet(err, VB_ERR_PARSE, "packed %s at byte %zu has %zu bytes, not a multiple of %zu",
                              name, f->offset, f->len, width);
        *count = f->len / width;
        return VB_OK;
    }

    /* Varints: every byte with the high bit clear ends one value. */
    size_t n = 0, run = 0;
    for (size_t i = 0; i < f->len; i++) {
        uint8_t b = f->data[i];
        run++;
        if (run > VB_WIRE_MAX_VARINT_BYTES ||
            (run == VB_WIRE_MAX_VARINT_BYTES && b > 1))
            return vbErrorSet(err, VB_ERR_PARSE, "invalid varint at byte %zu in packed %s: longer than 10 bytes",
                              offsetOf(w, f->data + i), name);
        if ((b & 0x80) == 0) {
            n++;
            run = 0;
        }
    }
    if (run != 0)
        return vbErrorSet(err, VB_ERR_PARSE, "truncated at byte %zu while reading packed %s: the last varint is incomplete",
                          offsetOf(w, f->data + f->len), name);
    *count = n;
    return VB_OK;
}

vb_status vbOnnxWireCount(const VbOnnxWire *w, size_t *counts, vb_error *err)
{
    VbOnnxWire scan = *w;
    for (int i = 0; i < w->desc->field_count; i++)
        counts[i] = 0;

    for (;;) {
        VbOnnxField f;
        vb_status st = vbOnnxWireNext(&scan, &f, err);
        if (st != VB_OK)
            return st;
        if (f.number == 0)
            return VB_OK;

        const VbOnnxFieldDesc *fd = knownField(w->desc, f.number);
        if (fd == NULL)
            continue;
        size_t n = 1;
        if (f.wire_type == VB_WIRE_LEN && fd->wire_type != VB_WIRE_LEN) {
            st = countPacked(&scan, &f, fd->wire_type, &n, err);
            if (st != VB_OK)
                return st;
        }
        counts[f.number] += n;
    }
}

void vbOnnxScalarsBegin(VbOnnxScalars *s, const VbOnnxField *f, int value_wire_type)
{
    s->wire_type = value_wire_type;
    if (f->wire_type == VB_WIRE_LEN) {
        s->p = f->data;
        s->end = f->data + f->len;
        s->single_left = 0;
    } else {
        s->p = s->end = NULL;
        s->single_left = 1;
        s->single = f->value;
    }
}

int vbOnnxScalarsNext(VbOnnxScalars *s, uint64_t *value)
{
    if (s->single_left) {
        s->single_left = 0;
        *value = s->single;
        return 1;
    }
    if (s->p == s->end)
        return 0;
    if (s->wire_type == VB_WIRE_VARINT)
        return readVarint(&s->p, s->end, value) == VARINT_OK;

    size_t width = s->wire_type == VB_WIRE_FIXED64 ? 8 : 4;
    if ((size_t)(s->end - s->p) < width)
        return 0;
    *value = loadLe(s->p, (int)width);
    s->p += width;
    return 1;
}
