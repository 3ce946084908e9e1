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

/* Chooses between YOLO and VOC for a folder by the label files it holds. */
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
    if (labels > 0 && xml_count > 0)
        st = vbErrorSet(err, VB_ERR_PARSE,
                        "%s: folder has both .txt (YOLO) and .xml (Pascal VOC) label files; keep "
                        "one format per folder",
                        path);
    else if (xml_count > 0)
        st = vbDatasetLoadVoc(path, images_dir, options, out, err);
    else if (txt_count > 0)
        st = vbDatasetLoadYolo(path, images_dir, options, out, err);
    else
        st = vbErrorSet(err, VB_ERR_PARSE,
                        "%s: folder has no .txt (YOLO) or .xml (Pascal VOC) label files; give a "
                        "label folder, a .csv or a COCO .json file",
                        path);

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
