/* Winograd F(2x2, 3x3) convolution for 3x3, stride-1, ungrouped Conv nodes. */
#ifndef VB_WINOGRAD_H
#define VB_WINOGRAD_H

#include <stddef.h>

#include "engine/op.h"
#include "kernels/sgemm.h"

/* Geometry of one image of a 3x3, stride-1, dilation-1 convolution. */
typedef struct VbWinogradShape {
    int channels, out_channels;     /* C and M */
    int height, width;              /* input H and W */
    int out_height, out_width;      /* output OH and OW */
    int pad_top, pad_left;
} VbWinogradShape;

/* Returns nonzero when s should take the Winograd path: at least 16 input
 * and output channels and an output of at least 4x4. On yolov8n's 3x3
 * layers every such shape ran faster than the direct path. */
int vbWinogradSuits(const VbWinogradShape *s);

/* Returns the float count of weights packed by vbWinogradPackWeights. */
size_t vbWinogradPackedFloats(int out_channels, int channels);

/* Transforms the 3x3 weights w [M][C][3][3] into the 16 matrices
 * U[i] = G g G^T (each M x C) and packs each with vbSgemmPackA into packed
 * (vbWinogradPackedFloats floats). scratch has room for M * C floats. */
void vbWinogradPackWeights(int out_channels, int channels, const float *w, float *scratch,
                           float *packed);

/* Returns the scratch bytes one thread needs for vbWinogradConv. */
size_t vbWinogradThreadWorkspace(const VbWinogradShape *s);

/* Convolves one image x [C][H][W] into y [M][OH][OW] with the packed
 * weights, then adds ep->bias (may be NULL) and applies ep->act. Output
 * tiles of 2x2 are processed in blocks, one block per task, so every output
 * is computed the same way whatever the thread count. workspace has
 * workspace_bytes: one vbWinogradThreadWorkspace block per thread, at
 * least one. */
void vbWinogradConv(const VbWinogradShape *s, const float *packed, const float *x, float *y,
                    const VbSgemmEpilogue *ep, const VbOpRunContext *ctx, void *workspace,
                    size_t workspace_bytes);

#endif /* VB_WINOGRAD_H */
