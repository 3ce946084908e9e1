/* Broadcasting elementwise ops: arithmetic, comparisons, logic, Pow, Mod, BitShift, PRelu, variadic Max/Min/Sum/Mean, Where, plus Not, IsNaN and IsInf. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "kernels/kernel_util.h"

typedef enum BinaryKind {
    BIN_ADD, BIN_SUB, BIN_MUL, BIN_DIV, BIN_POW, BIN_MOD, BIN_FMOD, BIN_MAX, BIN_MIN, BIN_SUM,
    BIN_MEAN, BIN_PRELU, BIN_EQUAL, BIN_LESS, BIN_GREATER, BIN_LESS_EQUAL, BIN_GREATER_EQUAL,
    BIN_AND, BIN_OR, BIN_XOR, BIN_WHERE, BIN_NOT, BIN_ISNAN, BIN_ISINF, BIN_SHIFT_LEFT,
    BIN_SHIFT_RIGHT
} BinaryKind;

/* Which element types an op accepts. */
enum {
    TYPES_FLOAT = 1,  /* float32, float64 */
    TYPES_INT = 2,    /* int8..int64, uint8..uint64 */
    TYPES_BOOL = 4
};

typedef struct BinarySpec {
    const char *op_type;
    BinaryKind kind;
    int types;
    int variadic;      /* 1 for Max/Min/Sum/Mean: any number of inputs */
    int bool_output;   /* comparisons and logic produce bool */
} BinarySpec;

static const BinarySpec binarySpecs[] = {
    {"Add", BIN_ADD, TYPES_FLOAT | TYPES_INT, 0, 0},
    {"Sub", BIN_SUB, TYPES_FLOAT | TYPES_INT, 0, 0},
    {"Mul", BIN_MUL, TYPES_FLOAT | TYPES_INT, 0, 0},
    {"Div", BIN_DIV, TYPES_FLOAT | TYPES_INT, 0, 0},
    {"Pow", BIN_POW, TYPES_FLOAT | TYPES_INT, 0, 0},
    {"Mod", BIN_MOD, TYPES_FLOAT | TYPES_INT, 0, 0},
    {"PRelu", BIN_PRELU, TYPES_FLOAT | TYPES_INT, 0, 0},
    {"Max", BIN_MAX, TYPES_FLOAT | TYPES_INT, 1, 0},
    {"Min", BIN_MIN, TYPES_FLOAT | TYPES_INT, 1, 0},
    {"Sum", BIN_SUM, TYPES_FLOAT, 1, 0},
    {"Mean", BIN_MEAN, TYPES_FLOAT, 1, 0},
    {"Equal", BIN_EQUAL, TYPES_FLOAT | TYPES_INT | TYPES_BOOL, 0, 1},
    {"Less", BIN_LESS, TYPES_FLOAT | TYPES_INT, 0, 1},
    {"Greater", BIN_GREATER, TYPES_FLOAT | TYPES_INT, 0, 1},
    {"LessOrEqual", BIN_LESS_EQUAL, TYPES_FLOAT | TYPES_INT, 0, 1},
    {"GreaterOrEqual", BIN_GREATER_EQUAL, TYPES_FLOAT | TYPES_INT, 0, 1},
    {"And", BIN_AND, TYPES_BOOL, 0, 1},
    {"Or", BIN_OR, TYPES_BOOL, 0, 1},
    {"Xor", BIN_XOR, TYPES_BOOL, 0, 1},
    {"Where", BIN_WHERE, 0, 0, 0},
    {"Not", BIN_NOT, TYPES_BOOL, 0, 1},
    {"IsNaN", BIN_ISNAN, TYPES_FLOAT, 0, 1},
    {"IsInf", BIN_ISINF, TYPES_FLOAT, 0, 1},
    {"BitShift", BIN_SHIFT_LEFT, TYPES_INT, 0, 0},
};

typedef struct BinaryParams {
    const BinarySpec *spec;
    BinaryKind kind;   /* spec->kind, or BIN_FMOD for Mod with fmod=1 */
    int opset;
    int detect_negative, detect_positive;  /* IsInf */
} BinaryParams;

static vb_status binaryPrepare(const VbOnnxNode *node, int opset, void **params, vb_error *err)
{
    const BinarySpec *spec = NULL;
    for (size_t i = 0; i < sizeof binarySpecs / sizeof binarySpecs[0]; i++) {
        if (strcmp(binarySpecs[i].op_type, node->op_type) == 0)
            spec = &binarySpecs[i];
    }
    if (spec == NULL)
        return vbErrorSet(err, VB_ERR_INTERNAL, "op '%s' is not a broadcasting elementwise op",
                          node->op_type);

    /* Opsets before 7 broadcast only with the broadcast/axis attributes,
     * which the numpy rules implemented here do not cover. */
    int bad = 0;
    if (vbOnnxAttrInt(node, "broadcast", 0, &bad) != 0 || vbOnnxNodeAttr(node, "axis") != NULL)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED,
                          "%s: the legacy 'broadcast'/'axis' attributes are not supported; "
                          "re-export the model with opset 7 or later", node->op_type);

    BinaryParams *p = calloc(1, sizeof *p);
    if (p == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory preparing %s", node->op_type);
    p->spec = spec;
    p->kind = spec->kind;
    p->opset = opset;
    if (spec->kind == BIN_MOD && vbOnnxAttrInt(node, "fmod", 0, &bad) != 0)
        p->kind = BIN_FMOD;
    p->detect_negative = (int)vbOnnxAttrInt(node, "detect_negative", 1, &bad);
    p->detect_positive = (int)vbOnnxAttrInt(node, "detect_positive", 1, &bad);
    if (spec->kind == BIN_SHIFT_LEFT) {
        const char *direction = vbOnnxAttrString(node, "direction", "", &bad);
        if (strcmp(direction, "RIGHT") == 0) {
            p->kind = BIN_SHIFT_RIGHT;
        } else if (strcmp(direction, "LEFT") != 0) {
            free(p);
            return vbErrorSet(err, VB_ERR_PARSE, "BitShift '%s': direction must be LEFT or RIGHT",
                              node->name);
        }
    }
    *params = p;
    return VB_OK;
}

static int typeClass(vb_dtype t)
{
    switch (t) {
    case VB_DTYPE_FLOAT32: case VB_DTYPE_FLOAT64: return TYPES_FLOAT;
    case VB_DTYPE_INT8: case VB_DTYPE_INT16: case VB_DTYPE_INT32: case VB_DTYPE_INT64:
    case VB_DTYPE_UINT8: case VB_DTYPE_UINT16: case VB_DTYPE_UINT32: case VB_DTYPE_UINT64:
        return TYPES_INT;
    case VB_DTYPE_BOOL: return TYPES_BOOL;
    default: return 0;
    }
}

static vb_status binaryInfer(const void *params, const vb_tensor *const *in, int n_in,
                             vb_tensor *const *out, int n_out, VbOpInferInfo *info, vb_error *err)
{
    const BinaryParams *p = params;
    const BinarySpec *spec = p->spec;
    const char *op = spec->op_type;
    int first = spec->kind == BIN_WHERE ? 1 : 0;
    int needed = 2;
    if (spec->kind == BIN_WHERE)
        needed = 3;
    else if (spec->kind == BIN_NOT || spec->kind == BIN_ISNAN || spec->kind == BIN_ISINF ||
             spec->variadic)
        needed = 1;
    if (n_in < needed)
        return vbErrorSet(err, VB_ERR_SHAPE, "%s needs %d inputs, the node has %d", op, needed, n_in);
    for (int i = 0; i < n_in; i++) {
        if (in[i] == NULL)
            return vbErrorSet(err, VB_ERR_SHAPE, "%s: input %d is missing", op, i);
    }

    /* Types: one element type for all value inputs (Pow's exponent and
     * Where's condition are the exceptions). */
    vb_dtype dt = in[first]->dtype;
    if (spec->kind == BIN_WHERE) {
        if (in[0]->dtype != VB_DTYPE_BOOL)
            return vbErrorSet(err, VB_ERR_SHAPE, "Where: condition must be bool, got %s",
                              vb_dtype_to_string(in[0]->dtype));
        if (vb_dtype_size(dt) == 0)
            return vbErrorSet(err, VB_ERR_UNSUPPORTED, "Where does not support %s values",
                              vb_dtype_to_string(dt));
    } else if (spec->kind == BIN_SHIFT_LEFT && dt != VB_DTYPE_UINT8 && dt != VB_DTYPE_UINT16 &&
               dt != VB_DTYPE_UINT32 && dt != VB_DTYPE_UINT64) {
        return vbErrorSet(err, VB_ERR_SHAPE, "BitShift needs unsigned integers, got %s",
                          vb_dtype_to_string(dt));
    } else if (!(typeClass(dt) & spec->types) ||
               (spec->kind == BIN_POW && dt != VB_DTYPE_FLOAT32 && dt != VB_DTYPE_FLOAT64 &&
                dt != VB_DTYPE_INT32 && dt != VB_DTYPE_INT64)) {
        return vbErrorSet(err, VB_ERR_UNSUPPORTED, "%s does not support %s inputs", op,
                          vb_dtype_to_string(dt));
    }
    for (int i = first + 1; i < n_in; i++) {
        int ok = in[i]->dtype == dt;
        if (spec->kind == BIN_POW)
            ok = typeClass(in[i]->dtype) & (TYPES_FLOAT | TYPES_INT);
        if (!ok)
            return vbErrorSet(err, VB_ERR_SHAPE, "%s: input %d has type %s, input %d has %s", op, i,
                              vb_dtype_to_string(in[i]->dtype), first,
                              vb_dtype_to_string(dt));
    }

    /* Shape: the numpy broadcast of every input. PRelu broadcasts the slope
     * to X only. */
    vb_tensor shape = *in[0];
    for (int i = 1; i < n_in; i++) {
        vb_status st = vbBroadcastShape(&shape, in[i], &shape, err);
        if (st != VB_OK)
            return vbErrorPrefix(err, "%s: ", op);
    }
    if (spec->kind == BIN_PRELU &&
        (shape.rank != in[0]->rank ||
         memcmp(shape.dims, in[0]->dims, sizeof(int64_t) * (size_t)shape.rank) != 0))
        return vbErrorSet(err, VB_ERR_SHAPE, "PRelu: slope does not broadcast to the shape of X");
    vbKernelSetShape(out[0], spec->bool_output ? VB_DTYPE_BOOL : dt, shape.rank, shape.dims);
    info->flops = vbTensorCount(out[0]) * (uint64_t)(n_in > 1 ? n_in - 1 : 1);
    return VB_OK;
}

/* ---- Row kernels ------------------------------------------------------------
 * Each row function gets out (contiguous), a and b with element strides
 * sa and sb. The common stride patterns get their own loops so the
 * compiler can vectorize them: same shape (1, 1), scalar or per-channel b
 * (1, 0) and scalar or per-channel a (0, 1). */
#define ROW_LOOP(Tout, Ta, Tb, expr)                                                               \
    do {                                                                                           \
        Tout *o = (Tout *)ptr[0];                                                                  \
        const Ta *a = (const Ta *)ptr[1];                                                          \
        const Tb *b = (const Tb *)ptr[2];                                                          \
        int64_t sa = step[1], sb = step[2];                                                        \
        if (sa == 1 && sb == 1) {                                                                  \
            for (int64_t i = 0; i < n; i++) {                                                      \
                Ta x = a[i];                                                                       \
                Tb y = b[i];                                                                       \
                o[i] = (expr);                                                                     \
            }                                                                                      \
        } else if (sa == 1 && sb == 0) {                                                           \
            const Tb y = b[0];                                                                     \
            for (int64_t i = 0; i < n; i++) {                                                      \
                Ta x = a[i];                                                                       \
                o[i] = (expr);                                                                     \
            }                                                                                      \
        } else if (sa == 0 && sb == 1) {                                                           \
            const Ta x = a[0];                                                                     \
            for (int64_t i = 0; i < n; i++) {                                                      \
                Tb y = b[i];                                                                       \
                o[i] = (expr);                                                                     \
            }                                                                                      \
        } else {                                                                                   \
            for (int64_t i = 0; i < n; i++) {                                                      \
                Ta x = a[i * sa];                                                                  \
                Tb y = b[i * sb];                                                                  \
                o[i] = (expr);                                                                     \
            }                                                                                      \
        }                                                                                          \
    } while (0)

/* Maximum and minimum that return NaN when either operand is NaN, like numpy. */
#define VB_MAX(x, y) ((x) >= (y) || (x) != (x) ? (x) : (y))
#define VB_MIN(x, y) ((x) <= (y) || (x) != (x) ? (x) : (y))

static void rowFloat32(const void *user, char *const *ptr, const int64_t *step, int64_t n)
{
    switch (((const BinaryParams *)user)->kind) {
    case BIN_ADD: case BIN_SUM: case BIN_MEAN: ROW_LOOP(float, float, float, x + y); break;
    case BIN_SUB: ROW_LOOP(float, float, float, x - y); break;
    case BIN_MUL: ROW_LOOP(float, float, float, x * y); break;
    case BIN_DIV: ROW_LOOP(float, float, float, x / y); break;
    case BIN_POW:
        /* a constant exponent of 2 (the YOLOv5 box decoding) as one
         * multiplication, which the compiler can vectorize and which rounds
         * the square exactly */
        if (step[2] == 0 && *(const float *)ptr[2] == 2.0f)
            ROW_LOOP(float, float, float, ((void)y, x * x));
        else
            ROW_LOOP(float, float, float, powf(x, y));
        break;
    case BIN_MOD: case BIN_FMOD: ROW_LOOP(float, float, float, fmodf(x, y)); break;
    case BIN_MAX: ROW_LOOP(float, float, float, VB_MAX(x, y)); break;
    case BIN_MIN: ROW_LOOP(float, float, float, VB_MIN(x, y)); break;
    case BIN_PRELU: ROW_LOOP(float, float, float, x < 0.0f ? x * y : x); break;
    case BIN_EQUAL: ROW_LOOP(uint8_t, float, float, x == y); break;
    case BIN_LESS: ROW_LOOP(uint8_t, float, float, x < y); break;
    case BIN_GREATER: ROW_LOOP(uint8_t, float, float, x > y); break;
    case BIN_LESS_EQUAL: ROW_LOOP(uint8_t, float, float, x <= y); break;
    case BIN_GREATER_EQUAL: ROW_LOOP(uint8_t, float, float, x >= y); break;
    default: break;
    }
}

#if defined(__x86_64__)
/* rowFloat32 for Add, Sub, Mul, Div, Sum and Mean with AVX-512, on the
 * stride patterns with unit or zero steps. Every other row goes to
 * rowFloat32. Each lane computes the same IEEE operation as the scalar
 * loop, so the results are identical. */
__attribute__((target("avx512f"))) static void rowFloat32Avx512(const void *user,
                                                                char *const *ptr,
                                                                const int64_t *step, int64_t n)
{
    BinaryKind kind = ((const BinaryParams *)user)->kind;
    int64_t sa = step[1], sb = step[2];
    int arithmetic = kind == BIN_ADD || kind == BIN_SUM || kind == BIN_MEAN || kind == BIN_SUB ||
                     kind == BIN_MUL || kind == BIN_DIV;
    if (!arithmetic || sa < 0 || sa > 1 || sb < 0 || sb > 1 || (sa == 0 && sb == 0)) {
        rowFloat32(user, ptr, step, n);
        return;
    }
    float *o = (float *)ptr[0];
    const float *a = (const float *)ptr[1], *b = (const float *)ptr[2];
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1u);
        __m512 x = sa ? _mm512_maskz_loadu_ps(m, a + i) : _mm512_set1_ps(a[0]);
        __m512 y = sb ? _mm512_maskz_loadu_ps(m, b + i) : _mm512_set1_ps(b[0]);
        __m512 r;
        switch (kind) {
        case BIN_SUB: r = _mm512_sub_ps(x, y); break;
        case BIN_MUL: r = _mm512_mul_ps(x, y); break;
        case BIN_DIV: r = _mm512_maskz_div_ps(m, x, y); break;
        default: r = _mm512_add_ps(x, y); break;
        }
        _mm512_mask_storeu_ps(o + i, m, r);
    }
}
#endif

static void rowFloat64(const void *user, char *const *ptr, const int64_t *step, int64_t n)
{
    switch (((const BinaryParams *)user)->kind) {
    case BIN_ADD: case BIN_SUM: case BIN_MEAN: ROW_LOOP(double, double, double, x + y); break;
    case BIN_SUB: ROW_LOOP(double, double, double, x - y); break;
    case BIN_MUL: ROW_LOOP(double, double, double, x * y); break;
    case BIN_DIV: ROW_LOOP(double, double, double, x / y); break;
    case BIN_POW: ROW_LOOP(double, double, double, pow(x, y)); break;
    case BIN_MOD: case BIN_FMOD: ROW_LOOP(double, double, double, fmod(x, y)); break;
    case BIN_MAX: ROW_LOOP(double, double, double, VB_MAX(x, y)); break;
    case BIN_MIN: ROW_LOOP(double, double, double, VB_MIN(x, y)); break;
    case BIN_PRELU: ROW_LOOP(double, double, double, x < 0.0 ? x * y : x); break;
    case BIN_EQUAL: ROW_LOOP(uint8_t, double, double, x == y); break;
    case BIN_LESS: ROW_LOOP(uint8_t, double, double, x < y); break;
    case BIN_GREATER: ROW_LOOP(uint8_t, double, double, x > y); break;
    case BIN_LESS_EQUAL: ROW_LOOP(uint8_t, double, double, x <= y); break;
    case BIN_GREATER_EQUAL: ROW_LOOP(uint8_t, double, double, x >= y); break;
    default: break;
    }
}

/* Integer helpers: wrap on overflow (through the unsigned type) and never
 * trap. Division and modulo by zero give 0, a value ONNX leaves undefined;
 * dividing the most negative value by -1 wraps. Mod with fmod=1 keeps the
 * dividend's sign, as C's %; fmod=0 takes the divisor's sign, as Python's %. */
#define DEFINE_INT_COMMON(T, U, suffix)                                                            \
    static inline T add##suffix(T x, T y) { return (T)((U)x + (U)y); }                             \
    static inline T sub##suffix(T x, T y) { return (T)((U)x - (U)y); }                             \
    static inline T mul##suffix(T x, T y) { return (T)((U)x * (U)y); }

#define DEFINE_SIGNED_HELPERS(T, U, suffix)                                                        \
    DEFINE_INT_COMMON(T, U, suffix)                                                                \
    static inline int neg##suffix(T x) { return x < 0; }                                           \
    static inline T div##suffix(T x, T y)                                                          \
    {                                                                                              \
        if (y == 0)                                                                                \
            return 0;                                                                              \
        if (y == -1)                                                                               \
            return (T)(0 - (U)x);                                                                  \
        return (T)(x / y);                                                                         \
    }                                                                                              \
    static inline T fmod##suffix(T x, T y) { return y == 0 || y == -1 ? 0 : (T)(x % y); }          \
    static inline T mod##suffix(T x, T y)                                                          \
    {                                                                                              \
        T r = fmod##suffix(x, y);                                                                  \
        return r != 0 && ((r < 0) != (y < 0)) ? (T)(r + y) : r;                                    \
    }

#define DEFINE_UNSIGNED_HELPERS(T, suffix)                                                         \
    DEFINE_INT_COMMON(T, T, suffix)                                                                \
    /* Shifts by the type's width or more give 0. */                                               \
    static inline T shl##suffix(T x, T y) { return y >= sizeof(T) * 8 ? 0 : (T)(x << y); }        \
    static inline T shr##suffix(T x, T y) { return y >= sizeof(T) * 8 ? 0 : (T)(x >> y); }        \
    static inline int neg##suffix(T x) { return (void)x, 0; }                                      \
    static inline T div##suffix(T x, T y) { return y == 0 ? 0 : (T)(x / y); }                      \
    static inline T fmod##suffix(T x, T y) { return y == 0 ? 0 : (T)(x % y); }                     \
    static inline T mod##suffix(T x, T y) { return fmod##suffix(x, y); }

DEFINE_SIGNED_HELPERS(int8_t, uint8_t, I8)
DEFINE_SIGNED_HELPERS(int16_t, uint16_t, I16)
DEFINE_SIGNED_HELPERS(int32_t, uint32_t, I32)
DEFINE_SIGNED_HELPERS(int64_t, uint64_t, I64)
DEFINE_UNSIGNED_HELPERS(uint8_t, U8)
DEFINE_UNSIGNED_HELPERS(uint16_t, U16)
DEFINE_UNSIGNED_HELPERS(uint32_t, U32)
DEFINE_UNSIGNED_HELPERS(uint64_t, U64)

/* Integer power: the double result truncated toward zero, saturating. */
static inline int64_t powInt(double x, double y)
{
    return vbKernelToInt64(pow(x, y));
}

#define DEFINE_ROW_INT(name, T, suffix)                                                            \
    static void name(const void *user, char *const *ptr, const int64_t *step, int64_t n)           \
    {                                                                                              \
        switch (((const BinaryParams *)user)->kind) {                                              \
        case BIN_ADD: case BIN_SUM: ROW_LOOP(T, T, T, add##suffix(x, y)); break;                   \
        case BIN_SUB: ROW_LOOP(T, T, T, sub##suffix(x, y)); break;                                 \
        case BIN_MUL: ROW_LOOP(T, T, T, mul##suffix(x, y)); break;                                 \
        case BIN_DIV: ROW_LOOP(T, T, T, div##suffix(x, y)); break;                                 \
        case BIN_POW: ROW_LOOP(T, T, T, (T)powInt((double)x, (double)y)); break;                   \
        case BIN_MOD: ROW_LOOP(T, T, T, mod##suffix(x, y)); break;                                 \
        case BIN_FMOD: ROW_LOOP(T, T, T, fmod##suffix(x, y)); break;                               \
        case BIN_MAX: ROW_LOOP(T, T, T, x > y ? x : y); break;                                     \
        case BIN_MIN: ROW_LOOP(T, T, T, x < y ? x : y); break;                                     \
        case BIN_PRELU: ROW_LOOP(T, T, T, neg##suffix(x) ? mul##suffix(x, y) : x); break;           \
        case BIN_EQUAL: ROW_LOOP(uint8_t, T, T, x == y); break;                                    \
        case BIN_LESS: ROW_LOOP(uint8_t, T, T, x < y); break;                                      \
        case BIN_GREATER: ROW_LOOP(uint8_t, T, T, x > y); break;                                   \
        case BIN_LESS_EQUAL: ROW_LOOP(uint8_t, T, T, x <= y); break;                               \
        case BIN_GREATER_EQUAL: ROW_LOOP(uint8_t, T, T, x >= y); break;                            \
        default: break;                                                                            \
        }                                                                                          \
    }

#define DEFINE_ROW_SHIFT(name, T, suffix)                                                          \
    static void name(const void *user, char *const *ptr, const int64_t *step, int64_t n)           \
    {                                                                                              \
        if (((const BinaryParams *)user)->kind == BIN_SHIFT_LEFT)                                  \
            ROW_LOOP(T, T, T, shl##suffix(x, y));                                                  \
        else                                                                                       \
            ROW_LOOP(T, T, T, shr##suffix(x, y));                                                  \
    }

DEFINE_ROW_SHIFT(rowShiftU8, uint8_t, U8)
DEFINE_ROW_SHIFT(rowShiftU16, uint16_t, U16)
DEFINE_ROW_SHIFT(rowShiftU32, uint32_t, U32)
DEFINE_ROW_SHIFT(rowShiftU64, uint64_t, U64)

DEFINE_ROW_INT(rowInt8, int8_t, I8)
DEFINE_ROW_INT(rowInt16, int16_t, I16)
DEFINE_ROW_INT(rowInt32, int32_t, I32)
DEFINE_ROW_INT(rowInt64, int64_t, I64)
DEFINE_ROW_INT(rowUInt8, uint8_t, U8)
DEFINE_ROW_INT(rowUInt16, uint16_t, U16)
DEFINE_ROW_INT(rowUInt32, uint32_t, U32)
DEFINE_ROW_INT(rowUInt64, uint64_t, U64)

static void rowBool(const void *user, char *const *ptr, const int64_t *step, int64_t n)
{
    switch (((const BinaryParams *)user)->kind) {
    case BIN_EQUAL: ROW_LOOP(uint8_t, uint8_t, uint8_t, (x != 0) == (y != 0)); break;
    case BIN_AND: ROW_LOOP(uint8_t, uint8_t, uint8_t, x && y); break;
    case BIN_OR: ROW_LOOP(uint8_t, uint8_t, uint8_t, x || y); break;
    case BIN_XOR: ROW_LOOP(uint8_t, uint8_t, uint8_t, (x != 0) != (y != 0)); break;
    default: break;
    }
}

/* Pow with an exponent of another type than the base: both go through
 * double and the result is converted to the base type. */
static double loadNumber(vb_dtype t, const char *p)
{
    vb_tensor scalar = {t, 0, {0}, (void *)p};
    return vbKernelScalarAsDouble(&scalar);
}

typedef struct PowMixed {
    vb_dtype base, exponent;
} PowMixed;

static void rowPowMixed(const void *user, char *const *ptr, const int64_t *step, int64_t n)
{
    const PowMixed *m = user;
    size_t sz_base = vb_dtype_size(m->base), sz_exp = vb_dtype_size(m->exponent);
    for (int64_t i = 0; i < n; i++) {
        double x = loadNumber(m->base, ptr[1] + i * step[1] * (int64_t)sz_base);
        double y = loadNumber(m->exponent, ptr[2] + i * step[2] * (int64_t)sz_exp);
        switch (m->base) {
        case VB_DTYPE_FLOAT32: ((float *)ptr[0])[i] = (float)pow(x, y); break;
        case VB_DTYPE_FLOAT64: ((double *)ptr[0])[i] = pow(x, y); break;
        case VB_DTYPE_INT32: ((int32_t *)ptr[0])[i] = (int32_t)powInt(x, y); break;
        case VB_DTYPE_INT64: ((int64_t *)ptr[0])[i] = powInt(x, y); break;
        default: break; /* infer accepts only these four base types */
        }
    }
}

/* Runs out = a (op) b with broadcasting; out may alias a when a has out's shape. */
static void applyBinary(const BinaryParams *p, const vb_tensor *a, const vb_tensor *b,
                        vb_tensor *out, int threads, int use_avx512)
{
    VbKernelWalk walk;
    vbKernelWalkInit(&walk, out->rank, out->dims, 3);
    vbKernelWalkBroadcast(&walk, 0, out->rank, out->dims);
    vbKernelWalkBroadcast(&walk, 1, a->rank, a->dims);
    vbKernelWalkBroadcast(&walk, 2, b->rank, b->dims);
    vbKernelWalkCoalesce(&walk);
    char *base[3] = {out->data, a->data, b->data};
    size_t esize[3] = {vb_dtype_size(out->dtype), vb_dtype_size(a->dtype), vb_dtype_size(b->dtype)};

    if (p->kind == BIN_POW && a->dtype != b->dtype) {
        PowMixed mixed = {a->dtype, b->dtype};
        vbKernelWalkRun(&walk, rowPowMixed, &mixed, base, esize, threads);
        return;
    }
    VbKernelRowFn row = rowBool;
    if (p->kind == BIN_SHIFT_LEFT || p->kind == BIN_SHIFT_RIGHT) {
        switch (a->dtype) {
        case VB_DTYPE_UINT8: row = rowShiftU8; break;
        case VB_DTYPE_UINT16: row = rowShiftU16; break;
        case VB_DTYPE_UINT32: row = rowShiftU32; break;
        default: row = rowShiftU64; break;
        }
        vbKernelWalkRun(&walk, row, p, base, esize, threads);
        return;
    }
    switch (a->dtype) {
    case VB_DTYPE_FLOAT32:
        row = rowFloat32;
#if defined(__x86_64__)
        if (use_avx512)
            row = rowFloat32Avx512;
#endif
        break;
    case VB_DTYPE_FLOAT64: row = rowFloat64; break;
    case VB_DTYPE_INT8: row = rowInt8; break;
    case VB_DTYPE_INT16: row = rowInt16; break;
    case VB_DTYPE_INT32: row = rowInt32; break;
    case VB_DTYPE_INT64: row = rowInt64; break;
    case VB_DTYPE_UINT8: row = rowUInt8; break;
    case VB_DTYPE_UINT16: row = rowUInt16; break;
    case VB_DTYPE_UINT32: row = rowUInt32; break;
    case VB_DTYPE_UINT64: row = rowUInt64; break;
    default: break;
    }
    vbKernelWalkRun(&walk, row, p, base, esize, threads);
}

/* Where: out = cond ? x : y, for any element size. */
static void rowWhere(const void *user, char *const *ptr, const int64_t *step, int64_t n)
{
    size_t es = *(const size_t *)user;
    const uint8_t *c = (const uint8_t *)ptr[1];
    for (int64_t i = 0; i < n; i++) {
        const char *src = c[i * step[1]] ? ptr[2] + i * step[2] * (int64_t)es
                                         : ptr[3] + i * step[3] * (int64_t)es;
        memcpy(ptr[0] + (size_t)i * es, src, es);
    }
}

static void applyWhere(const vb_tensor *const *in, vb_tensor *out, int threads)
{
    size_t es = vb_dtype_size(out->dtype);
    VbKernelWalk walk;
    vbKernelWalkInit(&walk, out->rank, out->dims, 4);
    vbKernelWalkBroadcast(&walk, 0, out->rank, out->dims);
    for (int k = 0; k < 3; k++)
        vbKernelWalkBroadcast(&walk, k + 1, in[k]->rank, in[k]->dims);
    vbKernelWalkCoalesce(&walk);
    char *base[4] = {out->data, in[0]->data, in[1]->data, in[2]->data};
    size_t esize[4] = {es, 1, es, es};
    vbKernelWalkRun(&walk, rowWhere, &es, base, esize, threads);
}

static vb_status binaryRun(const void *params, const vb_tensor *const *in, int n_in,
                           vb_tensor *const *out, int n_out, const VbOpRunContext *ctx, vb_error *err)
{
    const BinaryParams *p = params;
    vb_tensor *o = out[0];
    int threads = ctx->threads;
    size_t count = vbTensorCount(o);

    /* Not, Where, IsNaN and IsInf have their own loops. */
    if (p->kind == BIN_NOT) {
        const uint8_t *x = in[0]->data;
        uint8_t *y = o->data;
        for (size_t i = 0; i < count; i++)
            y[i] = !x[i];
        return VB_OK;
    }
    if (p->kind == BIN_WHERE) {
        applyWhere(in, o, threads);
        return VB_OK;
    }
    if (p->kind == BIN_ISNAN || p->kind == BIN_ISINF) {
        uint8_t *y = o->data;
        for (size_t i = 0; i < count; i++) {
            double v = in[0]->dtype == VB_DTYPE_FLOAT32 ? ((const float *)in[0]->data)[i]
                                                        : ((const double *)in[0]->data)[i];
            if (p->kind == BIN_ISNAN)
                y[i] = isnan(v) != 0;
            else
                y[i] = isinf(v) && (v > 0 ? p->detect_positive : p->detect_negative);
        }
        return VB_OK;
    }

    /* A single variadic input is a (broadcast) copy. */
    if (n_in == 1) {
        vbKernelBroadcastCopy(in[0], o, threads);
        return VB_OK;
    }

    /* Fold the inputs left to right into the output. */
    int use_avx512 = 0;
#if defined(__x86_64__)
    use_avx512 = !ctx->disable_simd && __builtin_cpu_supports("avx512f");
#endif
    applyBinary(p, in[0], in[1], o, threads, use_avx512);
    for (int i = 2; i < n_in; i++)
        applyBinary(p, o, in[i], o, threads, use_avx512);

    if (p->kind == BIN_MEAN) {
        if (o->dtype == VB_DTYPE_FLOAT32) {
            float *y = o->data;
            for (size_t i = 0; i < count; i++)
                y[i] /= (float)n_in;
        } else {
            double *y = o->data;
            for (size_t i = 0; i < count; i++)
                y[i] /= (double)n_in;
        }
    }
    return VB_OK;
}

#define BINARY_OP(name, type, opset)                                                               \
    static const VbOpDef name = {type, opset, binaryPrepare, binaryInfer, binaryRun,               \
                                 vbKernelFreeParams, NULL, NULL}

BINARY_OP(opAdd, "Add", 7);
BINARY_OP(opSub, "Sub", 7);
BINARY_OP(opMul, "Mul", 7);
BINARY_OP(opDiv, "Div", 7);
BINARY_OP(opPow, "Pow", 7);
BINARY_OP(opMod, "Mod", 10);
BINARY_OP(opPRelu, "PRelu", 7);
BINARY_OP(opMax, "Max", 8);
BINARY_OP(opMin, "Min", 8);
BINARY_OP(opSum, "Sum", 8);
BINARY_OP(opMean, "Mean", 8);
BINARY_OP(opEqual, "Equal", 7);
BINARY_OP(opLess, "Less", 7);
BINARY_OP(opGreater, "Greater", 7);
BINARY_OP(opLessOrEqual, "LessOrEqual", 12);
BINARY_OP(opGreaterOrEqual, "GreaterOrEqual", 12);
BINARY_OP(opAnd, "And", 7);
BINARY_OP(opOr, "Or", 7);
BINARY_OP(opXor, "Xor", 7);
BINARY_OP(opWhere, "Where", 9);
BINARY_OP(opNot, "Not", 1);
BINARY_OP(opIsNaN, "IsNaN", 9);
BINARY_OP(opIsInf, "IsInf", 10);
BINARY_OP(opBitShift, "BitShift", 11);

const VbOpDef *const vbOpsBinary[] = {
    &opAdd, &opSub, &opMul, &opDiv, &opPow, &opMod, &opPRelu, &opMax, &opMin, &opSum, &opMean,
    &opEqual, &opLess, &opGreater, &opLessOrEqual, &opGreaterOrEqual, &opAnd, &opOr, &opXor,
    &opWhere, &opNot, &opIsNaN, &opIsInf, &opBitShift, NULL,
};
