/* Placeholder table for the Pool op family; the kernels are added with their tests. */
#include "engine/op.h"

const VbOpDef *const vbOpsPool[] = {NULL};
