/* Placeholder table for the Softmax op family; the kernels are added with their tests. */
#include "engine/op.h"

const VbOpDef *const vbOpsSoftmax[] = {NULL};
