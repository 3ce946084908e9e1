/* Sliding-window attributes (kernel_shape, strides, dilations, pads, auto_pad, ceil_mode) and the plane reduction shared by Conv and the pooling ops. */
#ifndef VB_WINDOW_H
#define VB_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include "onnx/onnx.h"

/* Spatial ranks the window ops implement: 1-D runs as 2-D with height 1. */
#define VB_WINDOW_MAX_RANK 2
/* Largest kernel, stride, dilation or pad accepted, so that sizes derived
 * from them stay far from overflow. */
#define VB_WINDOW_MAX_VALUE (1 << 24)

typedef enum VbAutoPad {
    VB_AUTO_PAD_NOTSET = 0,
    VB_AUTO_PAD_SAME_UPPER,
    VB_AUTO_PAD_SAME_LOWER,
    VB_AUTO_PAD_VALID
} VbAutoPad;

/* Window attributes as the node gives them; counts are 0 for absent lists. */
typedef struct VbWindow {
    char node[96];         /* node name for messages */
    char op[24];           /* op type for messages */
    int kernel_count, stride_count, dilation_count, pad_count;
    int64_t kernel[VB_WINDOW_MAX_RANK];
    int64_t strides[VB_WINDOW_MAX_RANK];
    int64_t dilations[VB_WINDOW_MAX_RANK];
    int64_t pads[2 * VB_WINDOW_MAX_RANK];  /* ONNX order: every begin, then every end */
    VbAutoPad auto_pad;
    int ceil_mode;
} VbWindow;

/* The resolved window for one input shape, always 2-D (index 0 is height). */
typedef struct VbWindowGeometry {
    int64_t in[2], out[2], kernel[2], stride[2], dilation[2], pad_begin[2], pad_end[2];
} VbWindowGeometry;

/* Reads and validates the window attributes of node. Lists longer than
 * VB_WINDOW_MAX_RANK fail with VB_ERR_UNSUPPORTED naming the rank, values
 * above VB_WINDOW_MAX_VALUE with VB_ERR_LIMIT. Values below their minimum
 * (kernel and stride and dilation < 1, pads < 0) and unknown auto_pad
 * strings fail with VB_ERR_INVALID_ARGUMENT. read_ceil
 * nonzero also reads ceil_mode. */
vb_status vbWindowRead(const VbOnnxNode *node, int read_ceil, VbWindow *w, vb_error *err);

/* Resolves the window for spatial_rank (1 or 2) input dims in_dims. kernel
 * gives the kernel dims (from weights) or is NULL to use kernel_shape, which
 * must then be present. Fails with VB_ERR_SHAPE when attribute lengths do not
 * match spatial_rank, a kernel_shape disagrees with kernel, or the padded
 * input is smaller than the dilated kernel. */
vb_status vbWindowResolve(const VbWindow *w, int spatial_rank, const int64_t *in_dims,
                          const int64_t *kernel, VbWindowGeometry *g, vb_error *err);

/* Returns the range [*lo, *hi) of output positions o whose input position
 * o * stride + offset lies in [0, in). */
void vbWindowValidRange(int64_t out, int64_t in, int64_t stride, int64_t offset, int64_t *lo,
                        int64_t *hi);

/* Returns the max (is_max) or the mean of x[0..n), as GlobalMaxPool and
 * GlobalAveragePool compute each plane: -FLT_MAX or 0 when n is 0. The
 * partial results combine in a fixed order, the same with use_simd (AVX2
 * where the CPU has it) or without, so a Conv that pools its own output
 * gets the same bits as the pooling node (pool.c). */
float vbGlobalPoolPlane(const float *x, size_t n, int is_max, int use_simd);

#endif /* VB_WINDOW_H */
