/* The bump allocator that owns every string, array and copied tensor of a decoded model. */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "onnx/decode.h"

/* Size of the shared blocks. A request over a quarter of it gets a block of
 * its own, so big tensors waste no shared space. */
#define ARENA_BLOCK_BYTES (256 * 1024)

typedef struct VbOnnxArenaBlock {
    struct VbOnnxArenaBlock *next;
    size_t size;           /* usable bytes after the header */
    size_t used;
} VbOnnxArenaBlock;

/* Block headers are padded so that block data starts on a
 * VB_ONNX_DATA_ALIGN boundary. */
#define ARENA_HEADER_BYTES \
    ((sizeof(VbOnnxArenaBlock) + VB_ONNX_DATA_ALIGN - 1) / VB_ONNX_DATA_ALIGN * VB_ONNX_DATA_ALIGN)

static uint8_t *blockData(VbOnnxArenaBlock *b)
{
    return (uint8_t *)b + ARENA_HEADER_BYTES;
}

void vbOnnxArenaInit(VbOnnxArena *arena, size_t max)
{
    arena->blocks = NULL;
    arena->used = 0;
    arena->max = max;
}

static VbOnnxArenaBlock *newBlock(size_t size, vb_error *err)
{
    size_t total;
    if (vbAddSize(ARENA_HEADER_BYTES, size, &total) ||
        vbAddSize(total, VB_ONNX_DATA_ALIGN - 1, &total)) {
        vbErrorSet(err, VB_ERR_LIMIT, "allocation of %zu bytes overflows", size);
        return NULL;
    }
    total = total / VB_ONNX_DATA_ALIGN * VB_ONNX_DATA_ALIGN;
    VbOnnxArenaBlock *b = aligned_alloc(VB_ONNX_DATA_ALIGN, total);
    if (b == NULL) {
        vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory allocating %zu bytes for the model", size);
        return NULL;
    }
    b->next = NULL;
    b->size = total - ARENA_HEADER_BYTES;
    b->used = 0;
    return b;
}

void *vbOnnxArenaAllocUninit(VbOnnxArena *arena, size_t size, size_t align, vb_error *err)
{
    if (size == 0)
        size = 1;
    if (arena->used > arena->max || size > arena->max - arena->used) {
        vbErrorSet(err, VB_ERR_LIMIT,
                   "decoding needs more than %zu bytes of memory; the model is malformed or too large",
                   arena->max);
        return NULL;
    }

    /* Try the current block, then start a new one (own block for big requests). */
    VbOnnxArenaBlock *b = arena->blocks;
    size_t start = 0;
    if (b != NULL)
        start = (b->used + align - 1) & ~(align - 1);
    if (b == NULL || start > b->size || size > b->size - start) {
        VbOnnxArenaBlock *nb = newBlock(size > ARENA_BLOCK_BYTES / 4 ? size : ARENA_BLOCK_BYTES, err);
        if (nb == NULL)
            return NULL;
        if (b != NULL && size > ARENA_BLOCK_BYTES / 4) {
            /* Keep filling the current small block: put the big one behind it. */
            nb->next = b->next;
            b->next = nb;
        } else {
            nb->next = b;
            arena->blocks = nb;
        }
        b = nb;
        start = 0;
    }

    uint8_t *p = blockData(b) + start;
    arena->used += size + (start - b->used);
    b->used = start + size;
    return p;
}

void *vbOnnxArenaAlloc(VbOnnxArena *arena, size_t size, size_t align, vb_error *err)
{
    void *p = vbOnnxArenaAllocUninit(arena, size, align, err);
    if (p != NULL)
        memset(p, 0, size);
    return p;
}

char *vbOnnxArenaString(VbOnnxArena *arena, const uint8_t *bytes, size_t n, vb_error *err)
{
    size_t total;
    if (vbAddSize(n, 1, &total)) {
        vbErrorSet(err, VB_ERR_LIMIT, "string of %zu bytes is too long", n);
        return NULL;
    }
    char *s = vbOnnxArenaAllocUninit(arena, total, 1, err);
    if (s == NULL)
        return NULL;
    if (n > 0)
        memcpy(s, bytes, n);
    s[n] = '\0';
    return s;
}

void vbOnnxArenaFree(VbOnnxArena *arena)
{
    if (arena == NULL)
        return;
    VbOnnxArenaBlock *b = arena->blocks;
    while (b != NULL) {
        VbOnnxArenaBlock *next = b->next;
        free(b);
        b = next;
    }
    arena->blocks = NULL;
    arena->used = 0;
}
