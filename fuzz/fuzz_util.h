/* Helpers the libFuzzer harnesses share: a scratch folder, file writes and small valid images. */
#ifndef VB_FUZZ_UTIL_H
#define VB_FUZZ_UTIL_H

#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Returns a folder of this process for scratch files, created on the first
 * call under /dev/shm when it exists (no disk writes per input), else /tmp.
 * The harness never removes it: libFuzzer may stop a process at any time.
 * Aborts when the folder cannot be created, since no input can run then. */
static inline const char *fuzzScratchDir(void)
{
    static char dir[64];
    if (dir[0] != '\0')
        return dir;
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof dir, "%s/vb_fuzz_XXXXXX", base);
    if (mkdtemp(dir) == NULL) {
        perror("fuzz: mkdtemp");
        abort();
    }
    return dir;
}

/* Writes n bytes to dir/name and returns the path in a static buffer, or
 * aborts: a harness cannot test anything without its input file. */
static inline const char *fuzzWriteFile(const char *dir, const char *name, const uint8_t *data, size_t n)
{
    static char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || (n > 0 && fwrite(data, 1, n, f) != n) || fclose(f) != 0) {
        perror(path);
        abort();
    }
    return path;
}

/* Writes a w x h RGB PNG of a fixed pattern to path with libpng's
 * simplified API. Returns 0 on success. */
static inline int fuzzWritePng(const char *path, int w, int h)
{
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = (png_uint_32)w;
    image.height = (png_uint_32)h;
    image.format = PNG_FORMAT_RGB;
    unsigned char *pixels = malloc((size_t)w * (size_t)h * 3);
    if (pixels == NULL)
        return -1;
    for (int i = 0; i < w * h * 3; i++)
        pixels[i] = (unsigned char)(i * 7);
    int ok = png_image_write_to_file(&image, path, 0, pixels, 0, NULL);
    free(pixels);
    return ok ? 0 : -1;
}

/* Returns a folder containing road_a.png and road_b.png (32 x 24 each),
 * created on the first call, for the ground-truth loaders. */
static inline const char *fuzzImagesDir(void)
{
    static char dir[128];
    if (dir[0] != '\0')
        return dir;
    snprintf(dir, sizeof dir, "%s/images", fuzzScratchDir());
    char path[256];
    int failed = mkdir(dir, 0700) != 0;
    snprintf(path, sizeof path, "%s/road_a.png", dir);
    failed |= fuzzWritePng(path, 32, 24);
    snprintf(path, sizeof path, "%s/road_b.png", dir);
    failed |= fuzzWritePng(path, 32, 24);
    if (failed) {
        fprintf(stderr, "fuzz: cannot write the images under %s\n", dir);
        abort();
    }
    return dir;
}

#endif /* VB_FUZZ_UTIL_H */
