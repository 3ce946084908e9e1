/* Placeholder table for the Elementwise op family; the kernels are added with their tests. */
#include "engine/op.h"

const VbOpDef *const vbOpsElementwise[] = {NULL};
