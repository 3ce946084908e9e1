/* Unary elementwise ops (math functions, activations, Clip) and the type conversions Cast and CastLike. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernel_util.h"
#include "kernels/parallel.h"
#include "kernels/sgemm.h"

/* Reads element i of an integer or bool tensor as int64 (uint64 wraps). */
static int64_t loadInt(vb_dtype t, const void *p, size_t i)
{
    switch (t) {
    case VB_DTYPE_INT8: return ((const int8_t *)p)[i];
    case VB_DTYPE_INT16: return ((const int16_t *)p)[i];
    case VB_DTYPE_INT32: return ((const int32_t *)p)[i];
    case VB_DTYPE_INT64: return ((const int64_t *)p)[i];
    case VB_DTYPE_UINT16: return ((const uint16_t *)p)[i];
    case VB_DTYPE_UINT32: return ((const uint32_t *)p)[i];
    case VB_DTYPE_UINT64: return (int64_t)((const uint64_t *)p)[i];
    default: return ((const uint8_t *)p)[i];
    }
}

/* Stores v into element i of an integer or bool tensor, wrapping like a C
 * conversion through uint64 (bool stores v != 0). */
static void storeInt(vb_dtype t, void *p, size_t i, int64_t v)
{
    uint64_t u = (uint64_t)v;
    switch (t) {
    case VB_DTYPE_INT8: ((int8_t *)p)[i] = (int8_t)(uint8_t)u; break;
    case VB_DTYPE_INT16: ((int16_t *)p)[i] = (int16_t)(uint16_t)u; break;
    case VB_DTYPE_INT32: ((int32_t *)p)[i] = (int32_t)(uint32_t)u; break;
    case VB_DTYPE_INT64: ((int64_t *)p)[i] = v; break;
    case VB_DTYPE_UINT16: ((uint16_t *)p)[i] = (uint16_t)u; break;
    case VB_DTYPE_UINT32: ((uint32_t *)p)[i] = (uint32_t)u; break;
    case VB_DTYPE_UINT64: ((uint64_t *)p)[i] = u; break;
    case VB_DTYPE_BOOL: ((uint8_t *)p)[i] = v != 0; break;
    default: ((uint8_t *)p)[i] = (uint8_t)u; break;
    }
}

typedef enum UnaryKind {
    UNARY_NEG, UNARY_ABS, UNARY_EXP, UNARY_LOG, UNARY_SQRT, UNARY_RECIPROCAL, UNARY_FLOOR,
    UNARY_CEIL, UNARY_ROUND, UNARY_SIGN, UNARY_TANH, UNARY_ERF, UNARY_SIN, UNARY_COS, UNARY_TAN,
    UNARY_ASIN, UNARY_ACOS, UNARY_ATAN, UNARY_SINH, UNARY_COSH, UNARY_ASINH, UNARY_ACOSH,
    UNARY_ATANH, UNARY_SIGMOID, UNARY_RELU, UNARY_LEAKYRELU, UNARY_HARDSIGMOID, UNARY_HARDSWISH,
    UNARY_ELU, UNARY_SELU, UNARY_CELU, UNARY_SOFTPLUS, UNARY_SOFTSIGN, UNARY_THRESHOLDEDRELU,
    UNARY_SHRINK, UNARY_MISH, UNARY_CLIP
} UnaryKind;

/* One unary op type: its kind, the attributes it reads and their defaults. */
typedef struct UnarySpec {
    const char *op_type;
    UnaryKind kind;
    int int_types;          /* the opset from which integer types are accepted, 0 for never */
    const char *alpha_name; /* attribute stored in alpha, or NULL */
    float alpha;
    const char *beta_name;  /* attribute stored in beta, or NULL */
    float beta;
} UnarySpec;

static const UnarySpec unarySpecs[] = {
    {"Neg", UNARY_NEG, 6, NULL, 0, NULL, 0},
    {"Abs", UNARY_ABS, 6, NULL, 0, NULL, 0},
    {"Exp", UNARY_EXP, 0, NULL, 0, NULL, 0},
    {"Log", UNARY_LOG, 0, NULL, 0, NULL, 0},
    {"Sqrt", UNARY_SQRT, 0, NULL, 0, NULL, 0},
    {"Reciprocal", UNARY_RECIPROCAL, 0, NULL, 0, NULL, 0},
    {"Floor", UNARY_FLOOR, 0, NULL, 0, NULL, 0},
    {"Ceil", UNARY_CEIL, 0, NULL, 0, NULL, 0},
    {"Round", UNARY_ROUND, 0, NULL, 0, NULL, 0},
    {"Sign", UNARY_SIGN, 9, NULL, 0, NULL, 0},
    {"Tanh", UNARY_TANH, 0, NULL, 0, NULL, 0},
    {"Erf", UNARY_ERF, 0, NULL, 0, NULL, 0},
    {"Sin", UNARY_SIN, 0, NULL, 0, NULL, 0},
    {"Cos", UNARY_COS, 0, NULL, 0, NULL, 0},
    {"Tan", UNARY_TAN, 0, NULL, 0, NULL, 0},
    {"Asin", UNARY_ASIN, 0, NULL, 0, NULL, 0},
    {"Acos", UNARY_ACOS, 0, NULL, 0, NULL, 0},
    {"Atan", UNARY_ATAN, 0, NULL, 0, NULL, 0},
    {"Sinh", UNARY_SINH, 0, NULL, 0, NULL, 0},
    {"Cosh", UNARY_COSH, 0, NULL, 0, NULL, 0},
    {"Asinh", UNARY_ASINH, 0, NULL, 0, NULL, 0},
    {"Acosh", UNARY_ACOSH, 0, NULL, 0, NULL, 0},
    {"Atanh", UNARY_ATANH, 0, NULL, 0, NULL, 0},
    {"Sigmoid", UNARY_SIGMOID, 0, NULL, 0, NULL, 0},
    {"Relu", UNARY_RELU, 14, NULL, 0, NULL, 0},
    {"LeakyRelu", UNARY_LEAKYRELU, 0, "alpha", 0.01f, NULL, 0},
    {"HardSigmoid", UNARY_HARDSIGMOID, 0, "alpha", 0.2f, "beta", 0.5f},
    {"HardSwish", UNARY_HARDSWISH, 0, NULL, 0, NULL, 0},
    {"Elu", UNARY_ELU, 0, "alpha", 1.0f, NULL, 0},
    {"Selu", UNARY_SELU, 0, "alpha", 1.67326319217681884765625f, "gamma",
     1.05070102214813232421875f},
    {"Celu", UNARY_CELU, 0, "alpha", 1.0f, NULL, 0},
    {"Softplus", UNARY_SOFTPLUS, 0, NULL, 0, NULL, 0},
    {"Softsign", UNARY_SOFTSIGN, 0, NULL, 0, NULL, 0},
    {"ThresholdedRelu", UNARY_THRESHOLDEDRELU, 0, "alpha", 1.0f, NULL, 0},
    {"Shrink", UNARY_SHRINK, 0, "lambd", 0.5f, "bias", 0.0f},
    {"Mish", UNARY_MISH, 0, NULL, 0, NULL, 0},
    {"Clip", UNARY_CLIP, 12, "min", -FLT_MAX, "max", FLT_MAX},
};

typedef struct UnaryParams {
    const UnarySpec *spec;
    int opset;
    float alpha, beta;
} UnaryParams;

static vb_status unaryPrepare(const VbOnnxNode *node, int opset, void **params, vb_error *err)
{
    const UnarySpec *spec = NULL;
    for (size_t i = 0; i < sizeof unarySpecs / sizeof unarySpecs[0]; i++) {
        if (strcmp(unarySpecs[i].op_type, node->op_type) == 0)
            spec = &unarySpecs[i];
    }
    if (spec == NULL)
        return vbErrorSet(err, VB_ERR_INTERNAL, "op '%s' is not a unary elementwise op",
                          node->op_type);

    UnaryParams *p = calloc(1, sizeof *p);
    if (p == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory preparing %s", node->op_type);
    p->spec = spec;
    p->opset = opset;
    p->alpha = spec->alpha;
    p->beta = spec->beta;

    /* Clip takes min and max as inputs from opset 11, as attributes before. */
    int bad = 0;
    if (spec->kind != UNARY_CLIP || opset < 11) {
        if (spec->alpha_name)
            p->alpha = vbOnnxAttrFloat(node, spec->alpha_name, spec->alpha, &bad);
        if (spec->beta_name)
            p->beta = vbOnnxAttrFloat(node, spec->beta_name, spec->beta, &bad);
    }
    if (bad) {
        free(p);
        return vbErrorSet(err, VB_ERR_PARSE, "%s: attribute %s/%s must be a float", node->op_type,
                          spec->alpha_name ? spec->alpha_name : "-",
                          spec->beta_name ? spec->beta_name : "-");
    }
    *params = p;
    return VB_OK;
}

static vb_status unaryInfer(const void *params, const vb_tensor *const *in, int n_in,
                            vb_tensor *const *out, int n_out, VbOpInferInfo *info, vb_error *err)
{
    const UnaryParams *p = params;
    const UnarySpec *spec = p->spec;
    vb_dtype dt = in[0]->dtype;
    int int_ok = spec->int_types && p->opset >= spec->int_types && dt != VB_DTYPE_FLOAT32 &&
                 dt != VB_DTYPE_BOOL && dt != VB_DTYPE_FLOAT16 && dt != VB_DTYPE_FLOAT64 &&
                 vb_dtype_size(dt) > 0;
    if (dt != VB_DTYPE_FLOAT32 && !int_ok)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED, "%s (opset %d) does not support %s inputs%s",
                          spec->op_type, p->opset, vb_dtype_to_string(dt),
                          spec->int_types ? "; float32 and integer types are supported"
                                          : "; only float32 is supported");
    for (int i = 1; i < n_in; i++) {
        if (in[i] != NULL && (in[i]->dtype != dt || vbTensorCount(in[i]) != 1))
            return vbErrorSet(err, VB_ERR_SHAPE, "%s: input %d must be a %s scalar", spec->op_type, i,
                              vb_dtype_to_string(dt));
    }
    vbKernelSetShape(out[0], dt, in[0]->rank, in[0]->dims);
    info->flops = vbTensorCount(in[0]);
    return VB_OK;
}

static inline float clampFloat(float x, float lo, float hi)
{
    if (x < lo)
        return lo;
    if (x > hi)
        return hi;
    return x;
}

/* Returns 1, -1 or x itself for 0 and NaN. */
static inline float signFloat(float x)
{
    if (x > 0.0f)
        return 1.0f;
    if (x < 0.0f)
        return -1.0f;
    return x;
}

static inline float shrinkFloat(float x, float lambd, float bias)
{
    if (x < -lambd)
        return x + bias;
    if (x > lambd)
        return x - bias;
    return 0.0f;
}

/* Applies a float32 unary op to in[begin..end) (1-D, contiguous). */
VB_KERNEL_CLONES static void unaryFloatRange(const UnaryParams *p, float lo, float hi, const float *in, float *out,
                            size_t begin, size_t end)
{
    const float a = p->alpha, b = p->beta;
#define MAP(expr)                                                                                  \
    for (size_t i = begin; i < end; i++) {                                                         \
        float x = in[i];                                                                           \
        out[i] = (expr);                                                                           \
    }                                                                                              \
    break

    switch (p->spec->kind) {
    case UNARY_NEG: MAP(-x);
    case UNARY_ABS: MAP(fabsf(x));
    case UNARY_EXP: MAP(expf(x));
    case UNARY_LOG: MAP(logf(x));
    case UNARY_SQRT: MAP(sqrtf(x));
    case UNARY_RECIPROCAL: MAP(1.0f / x);
    case UNARY_FLOOR: MAP(floorf(x));
    case UNARY_CEIL: MAP(ceilf(x));
    case UNARY_ROUND: MAP(rintf(x)); /* the default rounding mode rounds halves to even */
    case UNARY_SIGN: MAP(signFloat(x));
    case UNARY_TANH: MAP(tanhf(x));
    case UNARY_ERF: MAP(erff(x));
    case UNARY_SIN: MAP(sinf(x));
    case UNARY_COS: MAP(cosf(x));
    case UNARY_TAN: MAP(tanf(x));
    case UNARY_ASIN: MAP(asinf(x));
    case UNARY_ACOS: MAP(acosf(x));
    case UNARY_ATAN: MAP(atanf(x));
    case UNARY_SINH: MAP(sinhf(x));
    case UNARY_COSH: MAP(coshf(x));
    case UNARY_ASINH: MAP(asinhf(x));
    case UNARY_ACOSH: MAP(acoshf(x));
    case UNARY_ATANH: MAP(atanhf(x));
    case UNARY_SIGMOID: MAP(1.0f / (1.0f + vbKernelExpf(-x)));
    case UNARY_RELU: MAP(x > 0.0f ? x : 0.0f);
    case UNARY_LEAKYRELU: MAP(x >= 0.0f ? x : a * x);
    case UNARY_HARDSIGMOID: MAP(fmaxf(0.0f, fminf(1.0f, a * x + b)));
    case UNARY_HARDSWISH: MAP(x * fmaxf(0.0f, fminf(1.0f, x / 6.0f + 0.5f)));
    case UNARY_ELU: MAP(x >= 0.0f ? x : a * expm1f(x));
    case UNARY_SELU: MAP(x > 0.0f ? b * x : b * a * expm1f(x));
    case UNARY_CELU: MAP(fmaxf(0.0f, x) + fminf(0.0f, a * expm1f(x / a)));
    /* log(1 + e^x) without overflow for large x. */
    case UNARY_SOFTPLUS: MAP(x > 0.0f ? x + log1pf(expf(-x)) : log1pf(expf(x)));
    case UNARY_SOFTSIGN: MAP(x / (1.0f + fabsf(x)));
    case UNARY_THRESHOLDEDRELU: MAP(x > a ? x : 0.0f);
    case UNARY_SHRINK: MAP(shrinkFloat(x, a, b));
    case UNARY_MISH: MAP(x * tanhf(x > 0.0f ? x + log1pf(expf(-x)) : log1pf(expf(x))));
    case UNARY_CLIP: MAP(clampFloat(x, lo, hi));
    }
#undef MAP
}

/* Applies an integer unary op (Neg, Abs, Sign, Relu, Clip) to n values of
 * integer type t through int64; lo and hi are Clip's bounds. */
static void unaryInt(UnaryKind kind, vb_dtype t, int64_t lo, int64_t hi, const void *in, void *out,
                     size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int64_t x = loadInt(t, in, i), y;
        switch (kind) {
        case UNARY_NEG: y = (int64_t)(0 - (uint64_t)x); break;
        case UNARY_ABS: y = x < 0 ? (int64_t)(0 - (uint64_t)x) : x; break;
        case UNARY_SIGN: y = (x > 0) - (x < 0); break;
        case UNARY_RELU: y = x > 0 ? x : 0; break;
        default: y = vbKernelClamp(x, lo, hi); break;
        }
        storeInt(t, out, i, y);
    }
}

/* Arguments of one float unary run for unaryTask. */
typedef struct UnaryJob {
    const UnaryParams *p;
    float lo, hi;
    const float *src;
    float *dst;
} UnaryJob;

static void unaryTask(void *arg, size_t begin, size_t end)
{
    const UnaryJob *job = arg;
    unaryFloatRange(job->p, job->lo, job->hi, job->src, job->dst, begin, end);
}

/* Sigmoid and Relu with SIMD: the fused-activation loop of the GEMM
 * epilogues (vbActivationApply), which has the same NaN behaviour and
 * computes exp with a vector polynomial. */
static void activationTask(void *arg, size_t begin, size_t end)
{
    const UnaryJob *job = arg;
    VbActivation act = job->p->spec->kind == UNARY_SIGMOID ? VB_ACT_SIGMOID : VB_ACT_RELU;
    if (job->dst != job->src)
        memcpy(job->dst + begin, job->src + begin, sizeof(float) * (end - begin));
    vbActivationApply(job->dst + begin, end - begin, 0.0f, act, 0.0f, 0.0f, 1);
}

static vb_status unaryRun(const void *params, const vb_tensor *const *in, int n_in,
                          vb_tensor *const *out, int n_out, const VbOpRunContext *ctx, vb_error *err)
{
    const UnaryParams *p = params;
    size_t n = vbTensorCount(in[0]);
    const vb_tensor *min_t = n_in > 1 ? in[1] : NULL, *max_t = n_in > 2 ? in[2] : NULL;
    int clip_inputs = p->spec->kind == UNARY_CLIP && p->opset >= 11;

    if (in[0]->dtype != VB_DTYPE_FLOAT32) {
        int64_t lo = INT64_MIN, hi = INT64_MAX;
        if (clip_inputs && min_t)
            lo = loadInt(min_t->dtype, min_t->data, 0);
        if (clip_inputs && max_t)
            hi = loadInt(max_t->dtype, max_t->data, 0);
        unaryInt(p->spec->kind, in[0]->dtype, lo, hi, in[0]->data, out[0]->data, n);
        return VB_OK;
    }

    float lo = p->alpha, hi = p->beta;
    if (clip_inputs) {
        lo = min_t ? *(const float *)min_t->data : -INFINITY;
        hi = max_t ? *(const float *)max_t->data : INFINITY;
    }
    const float *src = in[0]->data;
    float *dst = out[0]->data;
    int threads = n >= VB_KERNEL_PARALLEL_MIN ? ctx->threads : 1;
    UnaryKind kind = p->spec->kind;
    if (!ctx->disable_simd && (kind == UNARY_SIGMOID || kind == UNARY_RELU)) {
        UnaryJob job = {p, lo, hi, src, dst};
        vbParallelRanges(threads < 1 ? 1 : threads, n, activationTask, &job);
        return VB_OK;
    }
    if (threads <= 1) {
        unaryFloatRange(p, lo, hi, src, dst, 0, n);
        return VB_OK;
    }
    UnaryJob job = {p, lo, hi, src, dst};
    vbParallelRanges(threads, n, unaryTask, &job);
    return VB_OK;
}

#define UNARY_OP(name, type, opset)                                                                \
    static const VbOpDef name = {type, opset, unaryPrepare, unaryInfer, unaryRun,                  \
                                 vbKernelFreeParams, NULL, NULL}

UNARY_OP(opNeg, "Neg", 6);
UNARY_OP(opAbs, "Abs", 6);
UNARY_OP(opExp, "Exp", 6);
UNARY_OP(opLog, "Log", 6);
UNARY_OP(opSqrt, "Sqrt", 6);
UNARY_OP(opReciprocal, "Reciprocal", 6);
UNARY_OP(opFloor, "Floor", 6);
UNARY_OP(opCeil, "Ceil", 6);
UNARY_OP(opRound, "Round", 11);
UNARY_OP(opSign, "Sign", 9);
UNARY_OP(opTanh, "Tanh", 6);
UNARY_OP(opErf, "Erf", 9);
UNARY_OP(opSin, "Sin", 7);
UNARY_OP(opCos, "Cos", 7);
UNARY_OP(opTan, "Tan", 7);
UNARY_OP(opAsin, "Asin", 7);
UNARY_OP(opAcos, "Acos", 7);
UNARY_OP(opAtan, "Atan", 7);
UNARY_OP(opSinh, "Sinh", 9);
UNARY_OP(opCosh, "Cosh", 9);
UNARY_OP(opAsinh, "Asinh", 9);
UNARY_OP(opAcosh, "Acosh", 9);
UNARY_OP(opAtanh, "Atanh", 9);
UNARY_OP(opSigmoid, "Sigmoid", 6);
UNARY_OP(opRelu, "Relu", 6);
UNARY_OP(opLeakyRelu, "LeakyRelu", 6);
UNARY_OP(opHardSigmoid, "HardSigmoid", 6);
UNARY_OP(opHardSwish, "HardSwish", 14);
UNARY_OP(opElu, "Elu", 6);
UNARY_OP(opSelu, "Selu", 6);
UNARY_OP(opCelu, "Celu", 12);
UNARY_OP(opSoftplus, "Softplus", 1);
UNARY_OP(opSoftsign, "Softsign", 1);
UNARY_OP(opThresholdedRelu, "ThresholdedRelu", 10);
UNARY_OP(opShrink, "Shrink", 9);
UNARY_OP(opMish, "Mish", 18);
UNARY_OP(opClip, "Clip", 6);

/* ---- Cast and CastLike ---------------------------------------------------- */

typedef struct CastParams {
    vb_dtype to;     /* VB_DTYPE_UNDEFINED for CastLike: the second input's type */
} CastParams;

static int castSupported(vb_dtype t)
{
    switch (t) {
    case VB_DTYPE_FLOAT32: case VB_DTYPE_FLOAT64: case VB_DTYPE_FLOAT16: case VB_DTYPE_INT8: case VB_DTYPE_INT16:
    case VB_DTYPE_INT32: case VB_DTYPE_INT64: case VB_DTYPE_UINT8: case VB_DTYPE_UINT16:
    case VB_DTYPE_UINT32: case VB_DTYPE_UINT64: case VB_DTYPE_BOOL:
        return 1;
    default:
        return 0;
    }
}

static vb_status castPrepare(const VbOnnxNode *node, int opset, void **params, vb_error *err)
{
    CastParams *p = calloc(1, sizeof *p);
    if (p == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory preparing %s", node->op_type);
    if (strcmp(node->op_type, "Cast") == 0) {
        int bad = 0;
        int64_t to = vbOnnxAttrInt(node, "to", -1, &bad);
        if (bad || to < 0 || !castSupported((vb_dtype)to)) {
            free(p);
            return vbErrorSet(err, VB_ERR_UNSUPPORTED,
                              "Cast: attribute 'to' = %lld is missing or not a supported type "
                              "(float16, float32, float64, int8..int64, uint8..uint64, bool)",
                              (long long)to);
        }
        p->to = (vb_dtype)to;
    }
    *params = p;
    return VB_OK;
}

static vb_status castInfer(const void *params, const vb_tensor *const *in, int n_in,
                           vb_tensor *const *out, int n_out, VbOpInferInfo *info, vb_error *err)
{
    const CastParams *p = params;
    vb_dtype to = p->to;
    if (to == VB_DTYPE_UNDEFINED) {
        if (n_in < 2 || in[1] == NULL)
            return vbErrorSet(err, VB_ERR_SHAPE, "CastLike needs the target_type input");
        to = in[1]->dtype;
    }
    if (!castSupported(in[0]->dtype) || !castSupported(to))
        return vbErrorSet(err, VB_ERR_UNSUPPORTED,
                          "Cast from %s to %s is not supported (float16, float32, float64, int8..int64, "
                          "uint8..uint64 and bool are)",
                          vb_dtype_to_string(in[0]->dtype), vb_dtype_to_string(to));
    vbKernelSetShape(out[0], to, in[0]->rank, in[0]->dims);
    return VB_OK;
}

static int isFloatType(vb_dtype t)
{
    return t == VB_DTYPE_FLOAT32 || t == VB_DTYPE_FLOAT64 || t == VB_DTYPE_FLOAT16;
}

/* Converts IEEE 754 binary16 to float (exact). */
static float halfToFloat(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
    if (exponent == 0) {
        float f = ldexpf((float)mantissa, -24); /* zero or subnormal */
        return sign ? -f : f;
    }
    uint32_t bits = exponent == 31 ? sign | 0x7f800000u | (mantissa << 13)
                                   : sign | ((exponent + 112) << 23) | (mantissa << 13);
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* Converts float to binary16, rounding to nearest even; values from 65520
 * up become infinity and NaN stays NaN. */
static uint16_t floatToHalf(float f)
{
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    uint16_t sign = (uint16_t)((bits >> 16) & 0x8000);
    uint32_t magnitude = bits & 0x7fffffffu;
    if (magnitude > 0x7f800000u)
        return sign | 0x7e00;
    if (magnitude >= 0x477ff000u)
        return sign | 0x7c00;
    if (magnitude < 0x38800000u) {
        /* Below 2^-14: a multiple of 2^-24, and scaling by 2^24 is exact. */
        float v;
        memcpy(&v, &magnitude, sizeof v);
        return sign | (uint16_t)nearbyintf(v * 16777216.0f);
    }
    uint32_t half = ((magnitude >> 23) - 112) << 10 | ((magnitude & 0x7fffff) >> 13);
    uint32_t rest = magnitude & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (half & 1)))
        half++;
    return sign | (uint16_t)half;
}

static double loadFloat(vb_dtype t, const void *p, size_t i)
{
    switch (t) {
    case VB_DTYPE_FLOAT32: return ((const float *)p)[i];
    case VB_DTYPE_FLOAT16: return halfToFloat(((const uint16_t *)p)[i]);
    default: return ((const double *)p)[i];
    }
}

static vb_status castRun(const void *params, const vb_tensor *const *in, int n_in,
                         vb_tensor *const *out, int n_out, const VbOpRunContext *ctx, vb_error *err)
{
    vb_dtype from = in[0]->dtype, to = out[0]->dtype;
    const void *src = in[0]->data;
    void *dst = out[0]->data;
    size_t n = vbTensorCount(in[0]);

    /* Same type: a copy. */
    if (from == to) {
        vbKernelCopy(dst, src, n * vb_dtype_size(to), ctx->threads);
        return VB_OK;
    }

    /* Float sources go through double, integer sources through int64, so no
     * precision is lost on the way. */
    for (size_t i = 0; i < n; i++) {
        if (isFloatType(from)) {
            double v = loadFloat(from, src, i);
            if (to == VB_DTYPE_FLOAT16)
                ((uint16_t *)dst)[i] = floatToHalf((float)v);
            else if (to == VB_DTYPE_FLOAT32)
                ((float *)dst)[i] = (float)v;
            else if (to == VB_DTYPE_FLOAT64)
                ((double *)dst)[i] = v;
            else if (to == VB_DTYPE_BOOL)
                ((uint8_t *)dst)[i] = v != 0.0;
            else if (to == VB_DTYPE_UINT64 && v >= 9223372036854775808.0)
                ((uint64_t *)dst)[i] = v >= 18446744073709551616.0 ? UINT64_MAX : (uint64_t)v;
            else
                storeInt(to, dst, i, vbKernelToInt64(v));
        } else {
            int64_t v = loadInt(from, src, i);
            if (to == VB_DTYPE_FLOAT16)
                ((uint16_t *)dst)[i] = floatToHalf(from == VB_DTYPE_UINT64 ? (float)(uint64_t)v
                                                                           : (float)v);
            else if (to == VB_DTYPE_FLOAT32)
                ((float *)dst)[i] = from == VB_DTYPE_UINT64 ? (float)(uint64_t)v : (float)v;
            else if (to == VB_DTYPE_FLOAT64)
                ((double *)dst)[i] = from == VB_DTYPE_UINT64 ? (double)(uint64_t)v : (double)v;
            else
                storeInt(to, dst, i, v);
        }
    }
    return VB_OK;
}

static const VbOpDef opCast = {"Cast", 6, castPrepare, castInfer, castRun, vbKernelFreeParams,
                               NULL, NULL};
static const VbOpDef opCastLike = {"CastLike", 15, castPrepare, castInfer, castRun,
                                   vbKernelFreeParams, NULL, NULL};

const VbOpDef *const vbOpsElementwise[] = {
    &opNeg, &opAbs, &opExp, &opLog, &opSqrt, &opReciprocal, &opFloor, &opCeil, &opRound, &opSign,
    &opTanh, &opErf, &opSin, &opCos, &opTan, &opAsin, &opAcos, &opAtan, &opSinh, &opCosh,
    &opAsinh, &opAcosh, &opAtanh, &opSigmoid, &opRelu, &opLeakyRelu, &opHardSigmoid,
    &opHardSwish, &opElu, &opSelu, &opCelu, &opSoftplus, &opSoftsign, &opThresholdedRelu,
    &opShrink, &opMish, &opClip, &opCast, &opCastLike, NULL,
};
