/* Placeholder table for the Conv op family; the kernels are added with their tests. */
#include "engine/op.h"

const VbOpDef *const vbOpsConv[] = {NULL};
