/* Ownership helpers for decoded images. */
#include <stdlib.h>

#include "image/image.h"

void vbImageFree(VbImage *image)
{
    if (image == NULL)
        return;
    free(image->pixels);
    image->pixels = NULL;
    image->width = 0;
    image->height = 0;
}
