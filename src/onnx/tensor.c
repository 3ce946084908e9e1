/* TensorProto decoding: shapes, raw and typed data, external data files, and standalone .pb tensors. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "onnx/decode.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "tensor data is used in place, which needs a little-endian host"
#endif

/* TensorProto field numbers (onnx.proto). */
enum {
    TENSOR_DIMS = 1,
    TENSOR_DATA_TYPE = 2,
    TENSOR_SEGMENT = 3,
    TENSOR_FLOAT_DATA = 4,
    TENSOR_INT32_DATA = 5,
    TENSOR_STRING_DATA = 6,
    TENSOR_INT64_DATA = 7,
    TENSOR_NAME = 8,
    TENSOR_RAW_DATA = 9,
    TENSOR_DOUBLE_DATA = 10,
    TENSOR_UINT64_DATA = 11,
    TENSOR_EXTERNAL_DATA = 13,
    TENSOR_DATA_LOCATION = 14,
    TENSOR_FIELD_COUNT = 15
};

static const VbOnnxFieldDesc tensorFields[TENSOR_FIELD_COUNT] = {
    [TENSOR_DIMS] = {"dims", VB_WIRE_VARINT, 1},
    [TENSOR_DATA_TYPE] = {"data_type", VB_WIRE_VARINT, 0},
    [TENSOR_SEGMENT] = {"segment", VB_WIRE_LEN, 0},
    [TENSOR_FLOAT_DATA] = {"float_data", VB_WIRE_FIXED32, 1},
    [TENSOR_INT32_DATA] = {"int32_data", VB_WIRE_VARINT, 1},
    [TENSOR_STRING_DATA] = {"string_data", VB_WIRE_LEN, 1},
    [TENSOR_INT64_DATA] = {"int64_data", VB_WIRE_VARINT, 1},
    [TENSOR_NAME] = {"name", VB_WIRE_LEN, 0},
    [TENSOR_RAW_DATA] = {"raw_data", VB_WIRE_LEN, 0},
    [TENSOR_DOUBLE_DATA] = {"double_data", VB_WIRE_FIXED64, 1},
    [TENSOR_UINT64_DATA] = {"uint64_data", VB_WIRE_VARINT, 1},
    [TENSOR_EXTERNAL_DATA] = {"external_data", VB_WIRE_LEN, 1},
    [TENSOR_DATA_LOCATION] = {"data_location", VB_WIRE_VARINT, 0},
};
static const VbOnnxMessageDesc tensorDesc = {"TensorProto", TENSOR_FIELD_COUNT, tensorFields};

static const VbOnnxFieldDesc entryFields[3] = {
    [1] = {"key", VB_WIRE_LEN, 0},
    [2] = {"value", VB_WIRE_LEN, 0},
};
static const VbOnnxMessageDesc entryDesc = {"StringStringEntryProto", 3, entryFields};

/* TensorProto.DataLocation.EXTERNAL. */
#define TENSOR_LOCATION_EXTERNAL 1

/* Maximum length of an external data location, in bytes. */
#define MAX_LOCATION_BYTES 4096

vb_status vbOnnxCheckCount(size_t count, size_t max, const char *field, vb_error *err)
{
    if (count > max)
        return vbErrorSet(err, VB_ERR_LIMIT, "%s: %zu entries, more than the limit of %zu", field, count, max);
    return VB_OK;
}

void vbOnnxErrorOneLine(vb_error *err)
{
    if (err == NULL)
        return;
    for (char *p = err->message; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    }
}

char *vbOnnxDecodeString(VbOnnxDecoder *dec, const VbOnnxField *f, vb_error *err)
{
    return vbOnnxArenaString(dec->arena, f->data, f->len, err);
}

vb_status vbOnnxDecodeEntry(VbOnnxDecoder *dec, const VbOnnxWire *w, const VbOnnxField *f,
                            const char **key, const char **value, vb_error *err)
{
    VbOnnxWire in;
    vbOnnxWireEnter(&in, w, f, &entryDesc);
    *key = "";
    *value = "";
    for (;;) {
        VbOnnxField g;
        vb_status st = vbOnnxWireNext(&in, &g, err);
        if (st != VB_OK)
            return st;
        if (g.number == 0)
            return VB_OK;
        if (g.number != 1 && g.number != 2)
            continue;
        char *s = vbOnnxDecodeString(dec, &g, err);
        if (s == NULL)
            return err ? err->status : VB_ERR_NO_MEMORY;
        if (g.number == 1)
            *key = s;
        else
            *value = s;
    }
}

/* Returns the ONNX name of a TensorProto.DataType value, including the ones
 * visionbench does not decode, for error messages. */
static const char *dataTypeName(int64_t type)
{
    static const char *const names[] = {
        "undefined", "float32", "uint8", "int8", "uint16", "int16", "int32", "int64",
        "string", "bool", "float16", "float64", "uint32", "uint64", "complex64",
        "complex128", "bfloat16", "float8e4m3fn", "float8e4m3fnuz", "float8e5m2",
        "float8e5m2fnuz", "uint4", "int4", "float4e2m1"};
    if (type < 0 || type >= (int64_t)(sizeof names / sizeof names[0]))
        return "unknown";
    return names[type];
}

/* Everything one pass over a TensorProto collects before data is placed. */
typedef struct TensorParts {
    int64_t data_type;
    int have_data_type;
    int64_t data_location;
    int have_segment;
    size_t dim_count;
    const VbOnnxField *raw;      /* NULL when absent */
    VbOnnxField raw_field;
    uint32_t typed_field;        /* field number of the typed data, 0 when none */
    size_t typed_count;          /* values in typed fields */
    const char *location;        /* external_data keys, NULL when absent */
    const char *offset;
    const char *length;
    size_t offset_at;            /* byte offset of the TensorProto, for messages */
} TensorParts;

static const char *tensorLabel(const VbOnnxTensor *t, const TensorParts *parts, char *buf,
                               size_t size)
{
    if (t->name != NULL && t->name[0] != '\0')
        snprintf(buf, size, "tensor '%s'", t->name);
    else
        snprintf(buf, size, "unnamed tensor at byte %zu", parts->offset_at);
    return buf;
}

/* Parses a decimal external data offset or length. */
static vb_status parseSize(const char *label, const char *key, const char *text, size_t *out,
                           vb_error *err)
{
    size_t v = 0;
    if (text[0] == '\0')
        return vbErrorSet(err, VB_ERR_PARSE, "%s: external data %s is empty", label, key);
    for (const char *p = text; *p != '\0'; p++) {
        if (*p < '0' || *p > '9' || vbMulSize(v, 10, &v) || vbAddSize(v, (size_t)(*p - '0'), &v))
            return vbErrorSet(err, VB_ERR_PARSE, "%s: external data %s '%.40s' is not a byte count",
                              label, key, text);
    }
    *out = v;
    return VB_OK;
}

/* Rejects external data locations that could leave the model's folder.
 * NOTE: a symbolic link inside the folder may still point outside it,
 * because only the path text is checked. */
static vb_status checkLocation(const char *label, const char *location, vb_error *err)
{
    size_t n = strlen(location);
    if (n == 0)
        return vbErrorSet(err, VB_ERR_PARSE, "%s: external data location is empty", label);
    if (n > MAX_LOCATION_BYTES)
        return vbErrorSet(err, VB_ERR_LIMIT, "%s: external data location is longer than %d bytes",
                          label, MAX_LOCATION_BYTES);
    if (location[0] == '/')
        return vbErrorSet(err, VB_ERR_UNSUPPORTED,
                          "%s: external data location '%s' is an absolute path; only paths inside the model's folder are allowed",
                          label, location);
    for (const char *p = location; *p != '\0';) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len == 2 && p[0] == '.' && p[1] == '.')
            return vbErrorSet(err, VB_ERR_UNSUPPORTED,
                              "%s: external data location '%s' contains '..'; only paths inside the model's folder are allowed",
                              label, location);
        p += len;
        if (*p == '/')
            p++;
    }
    return VB_OK;
}

/* Reads the external bytes of t into arena memory. */
static vb_status readExternal(VbOnnxDecoder *dec, VbOnnxTensor *t, const TensorParts *parts,
                              const char *label, vb_error *err)
{
    size_t offset = 0, length = 0;
    char *path = NULL;
    int fd = -1;
    vb_status st = VB_OK;

    /* Location and range from the external_data keys. */
    if (dec->base_dir == NULL)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED,
                          "%s: external data is only supported for models loaded from a file", label);
    if (parts->location == NULL)
        return vbErrorSet(err, VB_ERR_PARSE, "%s: data_location is EXTERNAL but external_data has no 'location' key",
                          label);
    st = checkLocation(label, parts->location, err);
    if (st != VB_OK)
        return st;
    if (parts->offset != NULL && (st = parseSize(label, "offset", parts->offset, &offset, err)) != VB_OK)
        return st;
    if (parts->length != NULL && (st = parseSize(label, "length", parts->length, &length, err)) != VB_OK)
        return st;

    /* Open the file and check the range against its size. */
    path = vbPathJoin(dec->base_dir, parts->location);
    if (path == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory");
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            st = vbErrorSet(err, VB_ERR_NOT_FOUND, "%s: external data file '%s' not found (looked for %s)",
                            label, parts->location, path);
        else
            st = vbErrorSet(err, VB_ERR_IO, "%s: cannot open external data file %s: %s", label, path,
                            strerror(errno));
        goto done;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = vbErrorSet(err, VB_ERR_IO, "%s: external data file %s is not a readable regular file", label, path);
        goto done;
    }
    size_t file_size = (size_t)sb.st_size;
    if (offset > file_size) {
        st = vbErrorSet(err, VB_ERR_PARSE, "%s: external data offset %zu is past the end of %s (%zu bytes)",
                        label, offset, path, file_size);
        goto done;
    }
    if (parts->length == NULL)
        length = file_size - offset;
    if (length > file_size - offset) {
        st = vbErrorSet(err, VB_ERR_PARSE,
                        "%s: external data range %zu+%zu runs past the end of %s (%zu bytes)",
                        label, offset, length, path, file_size);
        goto done;
    }
    if (length != t->nbytes && !(parts->length == NULL && length > t->nbytes)) {
        st = vbErrorSet(err, VB_ERR_PARSE, "%s: the external data range has %zu bytes, but %zu %s elements need %zu",
                        label, length, t->count, dataTypeName(t->dtype), t->nbytes);
        goto done;
    }

    /* Copy the bytes. The arena cap grows by the length, which the file has. */
    if (t->count == 0)
        goto done;
    if (vbAddSize(dec->arena->max, t->nbytes, &dec->arena->max))
        dec->arena->max = SIZE_MAX;
    uint8_t *dst = vbOnnxArenaAllocUninit(dec->arena, t->nbytes, VB_ONNX_DATA_ALIGN, err);
    if (dst == NULL) {
        st = err ? err->status : VB_ERR_NO_MEMORY;
        goto done;
    }
    size_t got = 0;
    while (got < t->nbytes) {
        ssize_t n = pread(fd, dst + got, t->nbytes - got, (off_t)(offset + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            st = vbErrorSet(err, VB_ERR_IO, "%s: reading external data file %s failed at byte %zu: %s",
                            label, path, offset + got, n < 0 ? strerror(errno) : "unexpected end of file");
            goto done;
        }
        got += (size_t)n;
    }
    t->data = dst;

done:
    if (fd >= 0)
        close(fd);
    free(path);
    return st;
}

/* Checks that the typed field matches the tensor's type. */
static int typedFieldFits(uint32_t field, vb_dtype dtype)
{
    switch (field) {
    case TENSOR_FLOAT_DATA: return dtype == VB_DTYPE_FLOAT32;
    case TENSOR_INT32_DATA:
        return dtype == VB_DTYPE_INT32 || dtype == VB_DTYPE_INT16 || dtype == VB_DTYPE_INT8 ||
               dtype == VB_DTYPE_UINT16 || dtype == VB_DTYPE_UINT8 || dtype == VB_DTYPE_BOOL ||
               dtype == VB_DTYPE_FLOAT16;
    case TENSOR_INT64_DATA: return dtype == VB_DTYPE_INT64;
    case TENSOR_DOUBLE_DATA: return dtype == VB_DTYPE_FLOAT64;
    case TENSOR_UINT64_DATA: return dtype == VB_DTYPE_UINT32 || dtype == VB_DTYPE_UINT64;
    }
    return 0;
}

/* Stores one typed-field value as element i of dst, narrowing it to the
 * element type (int32_data carries int8 to uint16, bool and float16 bits). */
static void storeTyped(uint8_t *dst, size_t i, vb_dtype dtype, uint64_t v)
{
    switch (vb_dtype_size(dtype)) {
    case 1: dst[i] = dtype == VB_DTYPE_BOOL ? (uint8_t)(v != 0) : (uint8_t)v; break;
    case 2: ((uint16_t *)dst)[i] = (uint16_t)v; break;
    case 4: ((uint32_t *)dst)[i] = (uint32_t)v; break;
    default: ((uint64_t *)dst)[i] = v; break;
    }
}

/* Copies the typed-field values of the tensor message (w) into arena memory. */
static vb_status copyTyped(VbOnnxDecoder *dec, const VbOnnxWire *w, VbOnnxTensor *t,
                           uint32_t field, vb_error *err)
{
    uint8_t *dst = vbOnnxArenaAllocUninit(dec->arena, t->nbytes, VB_ONNX_DATA_ALIGN, err);
    if (dst == NULL)
        return err ? err->status : VB_ERR_NO_MEMORY;

    VbOnnxWire scan = *w;
    size_t i = 0;
    for (;;) {
        VbOnnxField f;
        vb_status st = vbOnnxWireNext(&scan, &f, err);
        if (st != VB_OK)
            return st;
        if (f.number == 0)
            break;
        if (f.number != field)
            continue;
        VbOnnxScalars values;
        uint64_t v;
        vbOnnxScalarsBegin(&values, &f, tensorFields[field].wire_type);
        while (i < t->count && vbOnnxScalarsNext(&values, &v))
            storeTyped(dst, i++, t->dtype, v);
    }
    if (i != t->count)
        return vbErrorSet(err, VB_ERR_INTERNAL, "typed data of tensor '%s' changed between passes", t->name);
    t->data = dst;
    return VB_OK;
}

/* Reads every field of the tensor message into t (name, dims) and parts. */
static vb_status collectParts(VbOnnxDecoder *dec, const VbOnnxWire *w, VbOnnxTensor *t,
                              TensorParts *parts, vb_error *err)
{
    size_t counts[TENSOR_FIELD_COUNT];
    vb_status st = vbOnnxWireCount(w, counts, err);
    if (st != VB_OK)
        return st;
    parts->dim_count = counts[TENSOR_DIMS];

    /* Typed data: at most one kind of typed field. */
    static const uint32_t typed[] = {TENSOR_FLOAT_DATA, TENSOR_INT32_DATA, TENSOR_STRING_DATA,
                                     TENSOR_INT64_DATA, TENSOR_DOUBLE_DATA, TENSOR_UINT64_DATA};
    for (size_t k = 0; k < sizeof typed / sizeof typed[0]; k++) {
        if (counts[typed[k]] == 0)
            continue;
        if (parts->typed_field != 0)
            return vbErrorSet(err, VB_ERR_PARSE, "TensorProto at byte %zu has both %s and %s",
                              parts->offset_at, tensorFields[parts->typed_field].name,
                              tensorFields[typed[k]].name);
        parts->typed_field = typed[k];
        parts->typed_count = counts[typed[k]];
    }

    VbOnnxWire scan = *w;
    int dim = 0;
    for (;;) {
        VbOnnxField f;
        st = vbOnnxWireNext(&scan, &f, err);
        if (st != VB_OK)
            return st;
        if (f.number == 0)
            return VB_OK;

        switch (f.number) {
        case TENSOR_DIMS: {
            VbOnnxScalars values;
            uint64_t v;
            vbOnnxScalarsBegin(&values, &f, VB_WIRE_VARINT);
            while (vbOnnxScalarsNext(&values, &v)) {
                if (dim < VB_MAX_RANK)
                    t->dims[dim] = (int64_t)v;
                dim++;
            }
            break;
        }
        case TENSOR_DATA_TYPE:
            parts->data_type = (int32_t)(uint32_t)f.value;
            parts->have_data_type = 1;
            break;
        case TENSOR_SEGMENT:
            parts->have_segment = 1;
            break;
        case TENSOR_NAME:
            if ((t->name = vbOnnxDecodeString(dec, &f, err)) == NULL)
                return err ? err->status : VB_ERR_NO_MEMORY;
            break;
        case TENSOR_RAW_DATA:
            parts->raw_field = f;
            parts->raw = &parts->raw_field;
            break;
        case TENSOR_DATA_LOCATION:
            parts->data_location = (int64_t)f.value;
            break;
        case TENSOR_EXTERNAL_DATA: {
            const char *key, *value;
            st = vbOnnxDecodeEntry(dec, &scan, &f, &key, &value, err);
            if (st != VB_OK)
                return st;
            if (strcmp(key, "location") == 0)
                parts->location = value;
            else if (strcmp(key, "offset") == 0)
                parts->offset = value;
            else if (strcmp(key, "length") == 0)
                parts->length = value;
            break;
        }
        default:
            break;
        }
    }
}

/* Checks type and dims, and sets t->dtype, rank, count and nbytes. */
static vb_status checkShape(VbOnnxTensor *t, const TensorParts *parts, const char *label,
                            vb_error *err)
{
    if (!parts->have_data_type || parts->data_type == VB_DTYPE_UNDEFINED)
        return vbErrorSet(err, VB_ERR_PARSE, "%s has no data_type", label);
    int64_t type = parts->data_type;
    if (type < 0 || type > VB_DTYPE_UINT64 || type == VB_DTYPE_STRING)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED, "%s has data type %lld (%s), which visionbench does not support",
                          label, (long long)type, dataTypeName(type));
    t->dtype = (vb_dtype)type;

    if (parts->dim_count > VB_MAX_RANK)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED, "%s has rank %zu; visionbench supports up to rank %d",
                          label, parts->dim_count, VB_MAX_RANK);
    t->rank = (int)parts->dim_count;

    size_t count = 1;
    for (int i = 0; i < t->rank; i++) {
        if (t->dims[i] < 0)
            return vbErrorSet(err, VB_ERR_PARSE, "%s has negative dimension %lld at axis %d",
                              label, (long long)t->dims[i], i);
        if ((uint64_t)t->dims[i] > SIZE_MAX || vbMulSize(count, (size_t)t->dims[i], &count))
            return vbErrorSet(err, VB_ERR_LIMIT, "%s: the element count of its shape overflows (axis %d is %lld)",
                              label, i, (long long)t->dims[i]);
    }
    t->count = count;
    if (vbMulSize(count, vb_dtype_size(t->dtype), &t->nbytes))
        return vbErrorSet(err, VB_ERR_LIMIT, "%s: %zu %s elements overflow the addressable size",
                          label, count, dataTypeName(type));
    return VB_OK;
}

/* Points t->data at the raw_data payload, or copies it when it is not
 * aligned to the element size or may not be referenced. */
static vb_status placeRaw(VbOnnxDecoder *dec, VbOnnxTensor *t, const VbOnnxField *raw,
                          const char *label, vb_error *err)
{
    if (raw->len != t->nbytes)
        return vbErrorSet(err, VB_ERR_PARSE, "%s: raw_data contains %zu bytes, but %zu %s elements need %zu",
                          label, raw->len, t->count, dataTypeName(t->dtype), t->nbytes);
    if (t->count == 0)
        return VB_OK;
    size_t elem = vb_dtype_size(t->dtype);
    if (dec->zero_copy && (uintptr_t)raw->data % elem == 0) {
        t->data = raw->data;
        return VB_OK;
    }
    uint8_t *dst = vbOnnxArenaAllocUninit(dec->arena, t->nbytes, VB_ONNX_DATA_ALIGN, err);
    if (dst == NULL)
        return err ? err->status : VB_ERR_NO_MEMORY;
    memcpy(dst, raw->data, t->nbytes);
    t->data = dst;
    return VB_OK;
}

vb_status vbOnnxDecodeTensor(VbOnnxDecoder *dec, const VbOnnxWire *w, const VbOnnxField *f,
                             VbOnnxTensor *t, vb_error *err)
{
    char label[160];
    TensorParts parts;
    memset(&parts, 0, sizeof parts);
    memset(t, 0, sizeof *t);
    t->name = "";
    parts.offset_at = f->offset;

    /* Collect the fields, then check type and shape. */
    VbOnnxWire in;
    vbOnnxWireEnter(&in, w, f, &tensorDesc);
    vb_status st = collectParts(dec, &in, t, &parts, err);
    if (st != VB_OK)
        return st;
    tensorLabel(t, &parts, label, sizeof label);
    if (parts.have_segment)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED, "%s is stored in segments, which visionbench does not support",
                          label);
    st = checkShape(t, &parts, label, err);
    if (st != VB_OK)
        return st;

    /* Place the data from exactly one source. */
    if (parts.data_location != 0 && parts.data_location != TENSOR_LOCATION_EXTERNAL)
        return vbErrorSet(err, VB_ERR_PARSE, "%s has invalid data_location %lld", label,
                          (long long)parts.data_location);
    if (parts.data_location == TENSOR_LOCATION_EXTERNAL) {
        if (parts.raw != NULL || parts.typed_field != 0)
            return vbErrorSet(err, VB_ERR_PARSE, "%s has external data and data in the file", label);
        t->is_external = 1;
        return readExternal(dec, t, &parts, label, err);
    }
    if (parts.raw != NULL) {
        if (parts.typed_field != 0)
            return vbErrorSet(err, VB_ERR_PARSE, "%s has both raw_data and %s", label,
                              tensorFields[parts.typed_field].name);
        return placeRaw(dec, t, parts.raw, label, err);
    }
    if (parts.typed_count != t->count)
        return vbErrorSet(err, VB_ERR_PARSE, "%s contains %zu typed values, but its shape needs %zu", label,
                          parts.typed_count, t->count);
    if (t->count == 0)
        return VB_OK;
    if (!typedFieldFits(parts.typed_field, t->dtype))
        return vbErrorSet(err, VB_ERR_PARSE, "%s: %s cannot hold %s elements", label,
                          tensorFields[parts.typed_field].name, dataTypeName(t->dtype));
    return copyTyped(dec, &in, t, parts.typed_field, err);
}

/* A standalone tensor and the arena that owns its name and data. */
typedef struct StandaloneTensor {
    VbOnnxTensor tensor;   /* first, so the public pointer converts back */
    VbOnnxArena arena;
} StandaloneTensor;

vb_status vbOnnxTensorDecode(const uint8_t *data, size_t size, VbOnnxTensor **out,
                             vb_error *err)
{
    *out = NULL;
    if (data == NULL && size > 0)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT, "tensor data is NULL");
    StandaloneTensor *st_tensor = calloc(1, sizeof *st_tensor);
    if (st_tensor == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory");

    /* The tensor may need its size in data plus widened typed values. */
    size_t max = SIZE_MAX;
    if (!vbMulSize(size, 8, &max))
        vbAddSize(max, 1 << 20, &max);
    vbOnnxArenaInit(&st_tensor->arena, max);
    VbOnnxDecoder dec = {data, size, 0, NULL, &st_tensor->arena};

    /* Wrap the buffer as one LEN field so the message decoder can read it. */
    static const uint8_t empty[1];
    VbOnnxField whole = {0};
    whole.wire_type = VB_WIRE_LEN;
    whole.data = data != NULL ? data : empty;
    whole.len = size;
    VbOnnxWire outer;
    vbOnnxWireInit(&outer, whole.data, whole.data, size, &tensorDesc);
    vb_status st = vbOnnxDecodeTensor(&dec, &outer, &whole, &st_tensor->tensor, err);
    if (st != VB_OK) {
        vbOnnxErrorOneLine(err);
        vbOnnxTensorFree(&st_tensor->tensor);
        return st;
    }
    *out = &st_tensor->tensor;
    return VB_OK;
}

void vbOnnxTensorFree(VbOnnxTensor *tensor)
{
    if (tensor == NULL)
        return;
    StandaloneTensor *st_tensor = (StandaloneTensor *)tensor;
    vbOnnxArenaFree(&st_tensor->arena);
    free(st_tensor);
}
