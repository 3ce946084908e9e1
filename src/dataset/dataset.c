/* Ownership helpers for the in-memory dataset and its warning list. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/core.h"
#include "dataset/dataset.h"

vb_status vbWarningsAdd(VbWarnings *w, const char *fmt, ...)
{
    if (w->count >= VB_WARNINGS_MAX) {
        w->dropped++;
        return VB_OK;
    }
    if (w->items == NULL) {
        w->items = calloc(VB_WARNINGS_MAX, sizeof *w->items);
        if (w->items == NULL)
            return VB_ERR_NO_MEMORY;
    }
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    char *copy = vbStrdup(message);
    if (copy == NULL)
        return VB_ERR_NO_MEMORY;
    w->items[w->count++] = copy;
    return VB_OK;
}

void vbWarningsClear(VbWarnings *w)
{
    if (w == NULL)
        return;
    for (int i = 0; i < w->count; i++)
        free(w->items[i]);
    free(w->items);
    w->items = NULL;
    w->count = 0;
    w->dropped = 0;
}

const VbDatasetImage *vbDatasetFindImage(const VbDataset *dataset, int64_t id)
{
    for (size_t i = 0; i < dataset->image_count; i++)
        if (dataset->images[i].id == id)
            return &dataset->images[i];
    return NULL;
}

const VbCategory *vbDatasetFindCategory(const VbDataset *dataset, int64_t id)
{
    for (size_t i = 0; i < dataset->category_count; i++)
        if (dataset->categories[i].id == id)
            return &dataset->categories[i];
    return NULL;
}

void vbDatasetFree(VbDataset *dataset)
{
    if (dataset == NULL)
        return;
    for (size_t i = 0; i < dataset->image_count; i++)
        free(dataset->images[i].file_name);
    for (size_t i = 0; i < dataset->category_count; i++)
        free(dataset->categories[i].name);
    free(dataset->images);
    free(dataset->annotations);
    free(dataset->categories);
    free(dataset->source_format);
    for (size_t i = 0; i < dataset->missing_image_count; i++)
        free(dataset->missing_images[i]);
    free(dataset->missing_images);
    for (size_t i = 0; i < dataset->unreadable_image_count; i++)
        free(dataset->unreadable_images[i]);
    free(dataset->unreadable_images);
    vbWarningsClear(&dataset->warnings);
    free(dataset);
}
