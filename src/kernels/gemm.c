/* Placeholder table for the Gemm op family; the kernels are added with their tests. */
#include "engine/op.h"

const VbOpDef *const vbOpsGemm[] = {NULL};
