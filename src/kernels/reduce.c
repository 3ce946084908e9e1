/* Placeholder table for the Reduce op family; the kernels are added with their tests. */
#include "engine/op.h"

const VbOpDef *const vbOpsReduce[] = {NULL};
