/* Placeholder table for the Shape op family; the kernels are added with their tests. */
#include "engine/op.h"

const VbOpDef *const vbOpsShape[] = {NULL};
