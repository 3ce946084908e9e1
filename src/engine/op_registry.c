/* The table of every op type the engine implements, looked up by domain, name and opset. */
#include <string.h>

#include "engine/op.h"

static const VbOpDef *const *const opTables[] = {
    vbOpsConv, vbOpsGemm, vbOpsPool, vbOpsResize,
    vbOpsElementwise, vbOpsShape, vbOpsSoftmax, vbOpsReduce,
    vbOpsBinary, vbOpsTensor, vbOpsNormalization, vbOpsIndex, vbOpsConvTranspose,
    vbOpsDetection, vbOpsControlFlow,
};

static int isDefaultDomain(const char *domain)
{
    return domain == NULL || domain[0] == '\0' || strcmp(domain, "ai.onnx") == 0;
}

const VbOpDef *vbOpFind(const char *domain, const char *op_type, int64_t opset)
{
    if (!isDefaultDomain(domain) || op_type == NULL)
        return NULL;
    for (size_t t = 0; t < sizeof opTables / sizeof opTables[0]; t++) {
        for (const VbOpDef *const *p = opTables[t]; *p != NULL; p++) {
            if (strcmp((*p)->op_type, op_type) == 0 && opset >= (*p)->min_opset)
                return *p;
        }
    }
    return NULL;
}

void vbOpForEach(void (*fn)(const VbOpDef *op, void *user), void *user)
{
    for (size_t t = 0; t < sizeof opTables / sizeof opTables[0]; t++) {
        for (const VbOpDef *const *p = opTables[t]; *p != NULL; p++)
            fn(*p, user);
    }
}
