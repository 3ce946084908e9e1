/* Detects the ground-truth format of a path (CSV, COCO JSON, YOLO or VOC folder) and runs its loader. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/core.h"
#include "dataset/loader.h"

static int hasExtension(const char *path, const char *ext)
{
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    return dot != NULL && (slash == NULL || dot > slash) && strcasecmp(dot, ext) == 0;
}

/* Returns the first non-blank byte of a file, or 0 when it is empty or unreadable. */
static int firstByte(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return 0;
    int c;
    while ((c = fgetc(f)) != EOF && (c == ' ' || c == '\t' || c == '\r' || c == '\n'))
        ;
    fclose(f);
    return c == EOF ? 0 : c;
}

static int compareStrings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Cuts the extension off name in place and returns name. */
static char *stripExtension(char *name)
{
    char *dot = strrchr(name, '.');
    if (dot != NULL && dot != name)
        *dot = '\0';
    return name;
}

/* Counts the label files in labels (sorted names) whose name without the
 * extension matches an image of images_dir without its extension, so that
 * notes like negatives.txt or a folder of unrelated files do not pass for
 * a label folder. classes.txt never counts. */
static vb_status countMatchingLabels(const char *images_dir, char **labels, size_t label_count,
                                     size_t *matches, vb_error *err)
{
    *matches = 0;
    char **images = NULL;
    size_t image_count = 0;
    char *stem = NULL;
    vb_status st = vbDatasetListFiles(images_dir, NULL, &images, &image_count, err);
    if (st != VB_OK)
        goto done;
    for (size_t i = 0; i < image_count; i++)
        stripExtension(images[i]);
    if (image_count > 1)
        qsort(images, image_count, sizeof *images, compareStrings);

    for (size_t i = 0; i < label_count; i++) {
        if (strcmp(labels[i], "classes.txt") == 0)
            continue;
        free(stem);
        if ((stem = vbStrdup(labels[i])) == NULL) {
            st = vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory matching label files");
            goto done;
        }
        stripExtension(stem);
        if (bsearch(&stem, images, image_count, sizeof *images, compareStrings) != NULL)
            (*matches)++;
    }

done:
    free(stem);
    vbDatasetFreeList(images, image_count);
    return st;
}

/* Lists up to three ground-truth files (".csv", ".json") of a dataset
 * folder into found, for the error message, and the one to suggest into
 * suggested: gt.csv when present, else the first listed. Both are "" when
 * there is none. */
static void findGroundTruthFiles(const char *path, char *found, size_t found_size,
                                 char *suggested, size_t suggested_size)
{
    enum { LISTED_MAX = 3 };
    static const char *const suffixes[] = {".csv", ".json"};
    size_t listed = 0, total = 0;
    found[0] = '\0';
    suggested[0] = '\0';
    for (size_t k = 0; k < sizeof suffixes / sizeof suffixes[0]; k++) {
        char **names = NULL;
        size_t count = 0;
        vb_error ignored = {0};
        if (vbDatasetListFiles(path, suffixes[k], &names, &count, &ignored) != VB_OK)
            continue;
        for (size_t i = 0; i < count; i++) {
            if (suggested[0] == '\0' || strcmp(names[i], "gt.csv") == 0)
                snprintf(suggested, suggested_size, "%s", names[i]);
            if (listed < LISTED_MAX) {
                size_t used = strlen(found);
                snprintf(found + used, found_size - used, "%s%s", used > 0 ? ", " : "", names[i]);
                listed++;
            }
        }
        total += count;
        vbDatasetFreeList(names, count);
    }
    if (total > listed) {
        size_t used = strlen(found);
        snprintf(found + used, found_size - used, " and %zu more", total - listed);
    }
}

/* Sets the error for a folder with no label file named like an image. The
 * message names the CSV or JSON ground truth inside when there is one. */
static vb_status rejectFolder(const char *path, vb_error *err)
{
    char found[512], suggested[256];
    findGroundTruthFiles(path, found, sizeof found, suggested, sizeof suggested);
    if (found[0] != '\0')
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                          "%s: not a YOLO or Pascal VOC label folder (no .txt or .xml file named "
                          "like an image); it contains %s: give one of those files, e.g. --gt "
                          "%s/%s",
                          path, found, path, suggested);
    return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                      "%s: not a YOLO or Pascal VOC label folder (no .txt or .xml file named like "
                      "an image of the image folder); give a label folder, a .csv or a COCO .json "
                      "file",
                      path);
}

/* Chooses between YOLO and VOC for a folder by the label files it contains.
 * Only label files named like an image (photo.jpg, photo.txt) count, so a
 * dataset folder with a notes file is rejected instead of loaded with no
 * boxes. Without images_dir every file counts. */
static vb_status loadFolder(const char *path, const char *images_dir,
                            const VbDatasetOptions *options, VbDataset **out, vb_error *err)
{
    char **txt = NULL, **xml = NULL;
    size_t txt_count = 0, xml_count = 0;
    vb_status st = vbDatasetListFiles(path, ".txt", &txt, &txt_count, err);
    if (st == VB_OK)
        st = vbDatasetListFiles(path, ".xml", &xml, &xml_count, err);
    if (st != VB_OK)
        goto done;

    /* A classes.txt beside .xml files does not make the folder mixed. */
    size_t labels = txt_count;
    for (size_t i = 0; i < txt_count; i++)
        if (strcmp(txt[i], "classes.txt") == 0)
            labels--;
    size_t xml_labels = xml_count;
    if (images_dir != NULL) {
        st = countMatchingLabels(images_dir, txt, txt_count, &labels, err);
        if (st == VB_OK)
            st = countMatchingLabels(images_dir, xml, xml_count, &xml_labels, err);
        if (st != VB_OK)
            goto done;
    }

    if (labels > 0 && xml_labels > 0)
        st = vbErrorSet(err, VB_ERR_PARSE,
                        "%s: folder has both .txt (YOLO) and .xml (Pascal VOC) label files; keep "
                        "one format per folder",
                        path);
    else if (xml_labels > 0)
        st = vbDatasetLoadVoc(path, images_dir, options, out, err);
    else if (labels > 0)
        st = vbDatasetLoadYolo(path, images_dir, options, out, err);
    else
        st = rejectFolder(path, err);

done:
    vbDatasetFreeList(txt, txt_count);
    vbDatasetFreeList(xml, xml_count);
    return st;
}

vb_status vbDatasetLoad(const char *path, const char *images_dir, const VbDatasetOptions *options,
                        VbDataset **out, vb_error *err)
{
    *out = NULL;
    if (path == NULL || path[0] == '\0')
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT, "no ground-truth path given");
    struct stat sb;
    if (stat(path, &sb) != 0) {
        if (errno == ENOENT)
            return vbErrorSet(err, VB_ERR_NOT_FOUND, "%s: ground-truth file not found", path);
        return vbErrorSet(err, VB_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    if (S_ISDIR(sb.st_mode))
        return loadFolder(path, images_dir, options, out, err);

    /* A file: by extension, else by its first byte ('{' or '[' is JSON). */
    if (hasExtension(path, ".csv"))
        return vbDatasetLoadCsv(path, images_dir, options, out, err);
    if (hasExtension(path, ".json"))
        return vbDatasetLoadCoco(path, images_dir, options, out, err);
    int c = firstByte(path);
    if (c == '{' || c == '[')
        return vbDatasetLoadCoco(path, images_dir, options, out, err);
    if (hasExtension(path, ".txt") || hasExtension(path, ".xml"))
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                          "%s: give the folder that holds the label files, not one label file", path);
    return vbDatasetLoadCsv(path, images_dir, options, out, err);
}
