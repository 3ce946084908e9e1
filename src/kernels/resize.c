/* Placeholder table for the Resize op family; the kernels are added with their tests. */
#include "engine/op.h"

const VbOpDef *const vbOpsResize[] = {NULL};
