/* Tests Gemm and MatMul against a naive reference: transposes, alpha and beta, every C broadcast, batched and 1-D MatMul. */
#include "kernels/sgemm.h"
#include "kernels_ref.h"

static const char *const onnxCases[] = {
    "test_gemm_all_attributes",
    "test_gemm_alpha",
    "test_gemm_beta",
    "test_gemm_default_matrix_bias",
    "test_gemm_default_no_bias",
    "test_gemm_default_scalar_bias",
    "test_gemm_default_single_elem_vector_bias",
    "test_gemm_default_vector_bias",
    "test_gemm_default_zero_bias",
    "test_gemm_transposeA",
    "test_gemm_transposeB",
    "test_matmul_2d",
    "test_matmul_3d",
    "test_matmul_4d",
};

static void runGemmCase(int m, int n, int k, int ta, int tb, float alpha, float beta, int c_rows,
                        int c_cols, int c_rank, const RefRun *cfg, const char *label)
{
    float *a = refRandArray((size_t)m * k), *b = refRandArray((size_t)k * n);
    float *c = refRandArray((size_t)c_rows * c_cols);
    float *y = calloc((size_t)m * n + 1, sizeof(float));
    double *prod = calloc((size_t)m * n + 1, sizeof(double));
    float *want = calloc((size_t)m * n + 1, sizeof(float));

    RefNode node;
    refNodeInit(&node, "Gemm");
    refNodeInt(&node, "transA", ta);
    refNodeInt(&node, "transB", tb);
    refNodeFloat(&node, "alpha", alpha);
    refNodeFloat(&node, "beta", beta);
    int64_t ad[2] = {ta ? k : m, ta ? m : k}, bd[2] = {tb ? n : k, tb ? k : n};
    int64_t cd[2] = {c_rows, c_cols};
    vb_tensor tA = refTensor(VB_DTYPE_FLOAT32, 2, ad, a);
    vb_tensor tB = refTensor(VB_DTYPE_FLOAT32, 2, bd, b);
    vb_tensor tC = refTensor(VB_DTYPE_FLOAT32, c_rank, c_rank == 1 ? cd + 1 : cd, c);
    vb_tensor tY = refTensor(VB_DTYPE_FLOAT32, 0, NULL, y);
    vb_tensor *in[3] = {&tA, &tB, c_rank >= 0 ? &tC : NULL};
    vb_tensor *out[1] = {&tY};
    vb_error err = {0};
    VbOpInferInfo info = {0, 0, 0};
    vb_status st = refRunOp(vbOpFind("", "Gemm", 13), &node.node, cfg, in, c_rank >= 0 ? 3 : 2, 0x2u, out, 1,
                            (size_t)m * n, &info, &err);
    CHECK_MSG(st == VB_OK, "%s: %s", label, err.message);
    if (st == VB_OK) {
        CHECK_EQ_INT(tY.dims[0], m);
        CHECK_EQ_INT(tY.dims[1], n);
        CHECK_EQ_INT(info.flops, 2ull * m * n * k);
        refMatMul(m, n, k, a, ta ? 1 : k, ta ? m : 1, b, tb ? 1 : n, tb ? k : 1, prod);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double v = alpha * prod[(size_t)i * n + j];
                if (c_rank >= 0)
                    v += beta * c[(size_t)(c_rows == 1 ? 0 : i) * c_cols + (c_cols == 1 ? 0 : j)];
                want[(size_t)i * n + j] = refActivate((float)v, cfg->act, cfg->alpha, cfg->beta);
            }
        refCompare(label, y, want, (size_t)m * n, 2e-5);
    }
    free(a);
    free(b);
    free(c);
    free(y);
    free(prod);
    free(want);
}

static void testGemmRandom(void)
{
    for (int i = 0; i < 80; i++) {
        refRngState = 0x5EEDull + (uint64_t)i * 6151;
        int m = refRandInt(1, 40), n = refRandInt(1, 70), k = refRandInt(1, 300);
        int ta = refRandInt(0, 1), tb = refRandInt(0, 1);
        int c_kind = i % 6;  /* none, scalar, [N], [1,N], [M,1], [M,N] */
        static const int c_ranks[6] = {-1, 0, 1, 2, 2, 2};
        int c_rank = c_ranks[c_kind];
        int c_rows = c_kind == 4 || c_kind == 5 ? m : 1;
        int c_cols = c_kind == 2 || c_kind == 3 || c_kind == 5 ? n : 1;
        RefRun cfg = {13, 1 + i % 2, i % 3 == 2, 0, i % 4 == 1 ? VB_ACT_RELU : VB_ACT_NONE, 0, 0};
        char label[128];
        snprintf(label, sizeof label, "gemm %d: %dx%dx%d tA%d tB%d C kind %d threads %d simd off %d", i, m,
                 n, k, ta, tb, c_kind, cfg.threads, cfg.disable_simd);
        runGemmCase(m, n, k, ta, tb, i % 5 == 0 ? 0.5f : 1.0f, i % 7 == 0 ? 2.0f : 1.0f, c_rows,
                    c_cols, c_rank, &cfg, label);
    }
}

/* One row of A (a classifier head) takes the GEMV path: B read in place,
 * columns split into blocks of 64 across threads. */
static void testGemmSingleRow(void)
{
    static const int sizes[][2] = {{1, 1}, {63, 17}, {64, 16}, {65, 15}, {200, 1280}, {1000, 33}};
    for (int i = 0; i < (int)(sizeof sizes / sizeof sizes[0]); i++) {
        for (int tb = 0; tb <= 1; tb++) {
            refRngState = 0x6E11ull + (uint64_t)i * 977 + (uint64_t)tb;
            int n = sizes[i][0], k = sizes[i][1];
            RefRun cfg = {13, 1 + (i + tb) % 2, 0, 0, i % 2 ? VB_ACT_RELU : VB_ACT_NONE, 0, 0};
            char label[128];
            snprintf(label, sizeof label, "gemm row %d: 1x%dx%d tB%d threads %d", i, n, k, tb,
                     cfg.threads);
            runGemmCase(1, n, k, i % 2, tb, 1.0f, 1.0f, 1, n, 1, &cfg, label);
        }
    }
}

static void testGemmRejects(void)
{
    float data[16] = {0};
    RefNode node;
    refNodeInit(&node, "Gemm");
    int64_t ad[2] = {2, 3}, bd[2] = {2, 3};
    vb_tensor tA = refTensor(VB_DTYPE_FLOAT32, 2, ad, data);
    vb_tensor tB = refTensor(VB_DTYPE_FLOAT32, 2, bd, data);
    vb_tensor tY = refTensor(VB_DTYPE_FLOAT32, 0, NULL, data);
    vb_tensor *in[2] = {&tA, &tB};
    vb_tensor *out[1] = {&tY};
    RefRun cfg = {13, 1, 0, 0, VB_ACT_NONE, 0, 0};
    vb_error err = {0};
    CHECK_EQ_INT(refRunOp(vbOpFind("", "Gemm", 13), &node.node, &cfg, in, 2, 0, out, 1, 16, NULL, &err),
                 VB_ERR_SHAPE);
    CHECK(strstr(err.message, "2x3") != NULL);
}

/* Runs MatMul on A and B of the given shapes and checks every output
 * element against the reference, walking the broadcast batch dims. */
static void runMatMulCase(int a_rank, const int64_t *a_dims, int b_rank, const int64_t *b_dims,
                          int want_rank, const int64_t *want_dims, int threads, const char *label)
{
    vb_tensor ta = refTensor(VB_DTYPE_FLOAT32, a_rank, a_dims, NULL);
    vb_tensor tb = refTensor(VB_DTYPE_FLOAT32, b_rank, b_dims, NULL);
    size_t an = vbTensorCount(&ta), bn = vbTensorCount(&tb);
    float *a = refRandArray(an), *b = refRandArray(bn);
    ta.data = a;
    tb.data = b;
    vb_tensor tw = refTensor(VB_DTYPE_FLOAT32, want_rank, want_dims, NULL);
    size_t yn = vbTensorCount(&tw);
    float *y = calloc(yn + 1, sizeof(float)), *want = calloc(yn + 1, sizeof(float));
    vb_tensor ty = refTensor(VB_DTYPE_FLOAT32, 0, NULL, y);
    vb_tensor *in[2] = {&ta, &tb};
    vb_tensor *out[1] = {&ty};
    RefNode node;
    refNodeInit(&node, "MatMul");
    RefRun cfg = {13, threads, 0, 0, VB_ACT_NONE, 0, 0};
    vb_error err = {0};
    vb_status st = refRunOp(vbOpFind("", "MatMul", 13), &node.node, &cfg, in, 2, 0, out, 1, yn, NULL, &err);
    CHECK_MSG(st == VB_OK, "%s: %s", label, err.message);
    if (st != VB_OK)
        goto done;
    CHECK_EQ_INT(ty.rank, want_rank);
    for (int i = 0; i < want_rank; i++)
        CHECK_EQ_INT(ty.dims[i], want_dims[i]);

    /* Reference: promote 1-D operands, broadcast batch dims by hand. */
    int64_t m = a_rank == 1 ? 1 : a_dims[a_rank - 2], k = a_dims[a_rank - 1];
    int64_t n = b_rank == 1 ? 1 : b_dims[b_rank - 1];
    int abr = a_rank > 2 ? a_rank - 2 : 0, bbr = b_rank > 2 ? b_rank - 2 : 0;
    int br = abr > bbr ? abr : bbr;
    size_t batches = yn / (size_t)(m * n);
    double *prod = calloc((size_t)(m * n), sizeof(double));
    for (size_t t = 0; t < batches; t++) {
        /* decompose t over the output batch dims */
        size_t rest = t, aoff = 0, boff = 0, astride = 1, bstride = 1;
        for (int i = br - 1; i >= 0; i--) {
            int64_t d = want_dims[i];
            size_t idx = rest % (size_t)d;
            rest /= (size_t)d;
            int ia = i - (br - abr), ib = i - (br - bbr);
            if (ia >= 0) {
                aoff += (a_dims[ia] == 1 ? 0 : idx) * astride;
                astride *= (size_t)a_dims[ia];
            }
            if (ib >= 0) {
                boff += (b_dims[ib] == 1 ? 0 : idx) * bstride;
                bstride *= (size_t)b_dims[ib];
            }
        }
        refMatMul((int)m, (int)n, (int)k, a + aoff * (size_t)(m * k), (size_t)k, 1,
                  b + boff * (size_t)(k * n), (size_t)n, 1, prod);
        for (int64_t i = 0; i < m * n; i++)
            want[t * (size_t)(m * n) + (size_t)i] = (float)prod[i];
    }
    free(prod);
    refCompare(label, y, want, yn, 2e-5);
done:
    free(a);
    free(b);
    free(y);
    free(want);
}

static void testMatMulShapes(void)
{
    int64_t a1[2] = {5, 7}, b1[2] = {7, 9}, w1[2] = {5, 9};
    runMatMulCase(2, a1, 2, b1, 2, w1, 1, "matmul 2-D");
    int64_t a2[3] = {3, 5, 7}, w2[3] = {3, 5, 9};
    runMatMulCase(3, a2, 2, b1, 3, w2, 2, "matmul batched A, 2-D B");
    int64_t a3[4] = {2, 1, 4, 6}, b3[3] = {3, 6, 33}, w3[4] = {2, 3, 4, 33};
    runMatMulCase(4, a3, 3, b3, 4, w3, 2, "matmul broadcast batch");
    int64_t a4[1] = {7}, w4[1] = {9};
    runMatMulCase(1, a4, 2, b1, 1, w4, 1, "matmul 1-D A");
    int64_t b5[1] = {7}, w5[1] = {5};
    runMatMulCase(2, a1, 1, b5, 1, w5, 1, "matmul 1-D B");
    int64_t a6[3] = {3, 5, 7}, w6[2] = {3, 5};
    runMatMulCase(3, a6, 1, b5, 2, w6, 1, "matmul batched A, 1-D B");
    int64_t w7[1] = {1};
    runMatMulCase(1, a4, 1, b5, 0, w7, 1, "matmul 1-D dot");
    int64_t a8[3] = {1, 40, 300}, b8[3] = {2, 300, 70}, w8[3] = {2, 40, 70};
    runMatMulCase(3, a8, 3, b8, 3, w8, 2, "matmul large broadcast A");

    /* K mismatch */
    int64_t bad[2] = {8, 9};
    float data[128] = {0};
    vb_tensor ta = refTensor(VB_DTYPE_FLOAT32, 2, a1, data), tb = refTensor(VB_DTYPE_FLOAT32, 2, bad, data);
    vb_tensor ty = refTensor(VB_DTYPE_FLOAT32, 0, NULL, data);
    vb_tensor *in[2] = {&ta, &tb};
    vb_tensor *out[1] = {&ty};
    RefNode node;
    refNodeInit(&node, "MatMul");
    RefRun cfg = {13, 1, 0, 0, VB_ACT_NONE, 0, 0};
    vb_error err = {0};
    CHECK_EQ_INT(refRunOp(vbOpFind("", "MatMul", 13), &node.node, &cfg, in, 2, 0, out, 1, 128, NULL, &err),
                 VB_ERR_SHAPE);
}

int main(void)
{
    refRunOnnxCases(onnxCases, (int)(sizeof onnxCases / sizeof onnxCases[0]), 1e-5);
    testGemmRandom();
    testGemmSingleRow();
    testGemmRejects();
    testMatMulShapes();

    /* the AVX2 (6x16) and portable layouts */
    vbSgemmSetIsa(VB_SGEMM_ISA_AVX2);
    testGemmRandom();
    testMatMulShapes();
    vbSgemmSetIsa(VB_SGEMM_ISA_PORTABLE);
    testGemmRandom();
    vbSgemmSetIsa(VB_SGEMM_ISA_AUTO);
    TEST_END();
}
