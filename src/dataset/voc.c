/* Pascal VOC ground truth: a folder of .xml files (one per image) read with libxml2. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "core/core.h"
#include "dataset/loader.h"

/* Returns the first element child of node named name, or NULL. */
static xmlNodePtr child(xmlNodePtr node, const char *name)
{
    for (xmlNodePtr c = node != NULL ? node->children : NULL; c != NULL; c = c->next)
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0)
            return c;
    return NULL;
}

/* Copies the trimmed text of an element into out (size bytes); "" when
 * the element is absent. Returns 0 when the text does not fit. */
static int textOf(xmlNodePtr node, char *out, size_t size)
{
    out[0] = '\0';
    if (node == NULL)
        return 1;
    xmlChar *content = xmlNodeGetContent(node);
    if (content == NULL)
        return 1;
    const char *s = (const char *)content;
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        n--;
    int fits = n < size;
    if (fits) {
        memcpy(out, s, n);
        out[n] = '\0';
    }
    xmlFree(content);
    return fits;
}

/* Reads a finite number from an element's text. */
static int numberOf(xmlNodePtr node, double *out)
{
    char text[64], *end;
    if (node == NULL || !textOf(node, text, sizeof text) || text[0] == '\0')
        return 0;
    double v = strtod(text, &end);
    if (*end != '\0' || !isfinite(v))
        return 0;
    *out = v;
    return 1;
}

/* Adds the boxes of one <object>; errors name the file, object and line. */
static vb_status readObject(VbDatasetBuilder *b, xmlNodePtr object, int number, const char *path,
                            const VbDatasetImage *image, vb_error *err)
{
    char where[4400];
    snprintf(where, sizeof where, "%s: line %ld, object %d", path, xmlGetLineNo(object), number);

    /* Step 1: name and difficult flag. */
    char name[256];
    if (!textOf(child(object, "name"), name, sizeof name) || name[0] == '\0')
        return vbErrorSet(err, VB_ERR_PARSE, "%s: missing or empty <name>", where);
    vbDatasetLowerAscii(name);
    char difficult[16];
    textOf(child(object, "difficult"), difficult, sizeof difficult);
    if (difficult[0] != '\0' && strcmp(difficult, "0") != 0 && strcmp(difficult, "1") != 0)
        return vbErrorSet(err, VB_ERR_PARSE, "%s: <difficult> is '%s'; expected 0 or 1", where,
                          difficult);

    /* Step 2: 1-based inclusive pixel indices to 0-based corners. */
    xmlNodePtr box = child(object, "bndbox");
    static const char *const names[4] = {"xmin", "ymin", "xmax", "ymax"};
    double v[4];
    for (int k = 0; k < 4; k++)
        if (!numberOf(child(box, names[k]), &v[k]))
            return vbErrorSet(err, VB_ERR_PARSE,
                              "%s: <bndbox> lacks a numeric <%s>; expected xmin, ymin, xmax, ymax",
                              where, names[k]);
    if (v[0] > v[2] || v[1] > v[3])
        return vbErrorSet(err, VB_ERR_PARSE, "%s: %s %g > %s %g", where,
                          v[0] > v[2] ? "xmin" : "ymin", v[0] > v[2] ? v[0] : v[1],
                          v[0] > v[2] ? "xmax" : "ymax", v[0] > v[2] ? v[2] : v[3]);
    double x0 = v[0] - 1, y0 = v[1] - 1, x1 = v[2], y1 = v[3];
    if (!vbDatasetClipBox(b, where, image->width, image->height, &x0, &y0, &x1, &y1))
        return VB_OK;

    int64_t category;
    vb_status st = vbDatasetLabelCategory(b, name, where, &category, err);
    if (st != VB_OK)
        return st;
    VbAnnotation a = {.id = (int64_t)b->dataset->annotation_count + 1,
                      .image_id = image->id, .category_id = category,
                      .x = x0, .y = y0, .w = x1 - x0, .h = y1 - y0,
                      .area = (x1 - x0) * (y1 - y0), .iscrowd = difficult[0] == '1'};
    return vbDatasetAddAnnotation(b, &a, err);
}

/* Reads one annotation file. The image is the one named by <filename>,
 * else (with a warning when <filename> is given) the one whose name matches
 * the XML file's stem. */
static vb_status readFile(VbDatasetBuilder *b, const VbStemIndex *stems, const char *dir,
                          const char *file, vb_error *err)
{
    VbDataset *d = b->dataset;
    char *path = vbPathJoin(dir, file), *text = NULL;
    size_t len = 0;
    xmlDocPtr doc = NULL;
    if (path == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory");
    vb_status st = vbFileRead(path, VB_DATASET_MAX_LABEL_FILE_BYTES, &text, &len, err);
    if (st != VB_OK)
        goto done;

    /* Step 1: parse without network access or external entities. */
    xmlResetLastError();
    doc = xmlReadMemory(text, (int)len, path, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR |
                                                        XML_PARSE_NOWARNING);
    /* libxml2 stops at an allocation failure but may still return the
     * part of the document it built, which would lose objects silently. */
    const xmlError *last = xmlGetLastError();
    if (doc != NULL && last != NULL && last->code == XML_ERR_NO_MEMORY) {
        st = vbErrorSet(err, VB_ERR_NO_MEMORY, "%s: out of memory parsing the XML", path);
        goto done;
    }
    if (doc == NULL) {
        const xmlError *xml_err = xmlGetLastError();
        char message[256] = "not well-formed";
        if (xml_err != NULL && xml_err->message != NULL) {
            snprintf(message, sizeof message, "%s", xml_err->message);
            message[strcspn(message, "\n")] = '\0';
        }
        st = vbErrorSet(err, VB_ERR_PARSE, "%s: invalid XML at line %d: %s", path,
                        xml_err != NULL ? xml_err->line : 0, message);
        goto done;
    }
    xmlNodePtr root = xmlDocGetRootElement(doc);
    if (root == NULL || strcmp((const char *)root->name, "annotation") != 0) {
        st = vbErrorSet(err, VB_ERR_PARSE, "%s: root element is not <annotation>; not a Pascal VOC file",
                        path);
        goto done;
    }

    /* Step 2: the image, and its size checked against <size>. */
    char file_name[1024];
    textOf(child(root, "filename"), file_name, sizeof file_name);
    long index = file_name[0] != '\0' ? vbDatasetFindImageByName(b, file_name) : -1;
    const VbDatasetImage *image =
        index >= 0 ? &d->images[index] : vbDatasetFindImageByStem(b, stems, file);
    if (image != NULL && index < 0 && file_name[0] != '\0')
        vbWarningsAdd(&d->warnings,
                      "%s: <filename> '%s' is not in the image folder; using '%s', which matches "
                      "the XML file's name",
                      path, file_name, image->file_name);
    if (image == NULL) {
        char stem[1024];
        snprintf(stem, sizeof stem, "%.*s", (int)vbDatasetStemLength(file), file);
        st = vbDatasetAddMissing(b, file_name[0] != '\0' ? file_name : stem, path, err);
        goto done;
    }
    xmlNodePtr size = child(root, "size");
    double width, height;
    if (numberOf(child(size, "width"), &width) && numberOf(child(size, "height"), &height) &&
        (width != image->width || height != image->height))
        vbWarningsAdd(&d->warnings,
                      "%s: <size> is %gx%g but '%s' is %dx%d; using the image file's size", path,
                      width, height, image->file_name, image->width, image->height);

    /* Step 3: every <object>. */
    int number = 0;
    for (xmlNodePtr c = root->children; c != NULL && st == VB_OK; c = c->next)
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, "object") == 0)
            st = readObject(b, c, ++number, path, image, err);

done:
    xmlFreeDoc(doc);
    free(text);
    free(path);
    return st;
}

vb_status vbDatasetLoadVoc(const char *xml_dir, const char *images_dir,
                           const VbDatasetOptions *options, VbDataset **out, vb_error *err)
{
    *out = NULL;
    VbDatasetBuilder b = {0};
    VbStemIndex stems = {0};
    char **files = NULL, *default_dir = NULL;
    size_t file_count = 0;

    /* Step 1: image folder (default: "JPEGImages" beside an "Annotations"
     * folder, as the VOC layout has it, else the XML folder), then the files. */
    vb_status st = vbDatasetBuilderInit(&b, "voc", options, err);
    if (st != VB_OK)
        goto done;
    if (images_dir == NULL) {
        char *parent = vbDatasetDirName(xml_dir);
        default_dir = parent != NULL ? vbPathJoin(parent, "JPEGImages") : NULL;
        free(parent);
        char **listed = NULL;
        size_t n = 0;
        vb_error ignored;
        if (default_dir != NULL &&
            vbDatasetListFiles(default_dir, NULL, &listed, &n, &ignored) != VB_OK) {
            free(default_dir);
            default_dir = vbStrdup(xml_dir);
        }
        vbDatasetFreeList(listed, n);
        if (default_dir == NULL) {
            st = vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory");
            goto done;
        }
        images_dir = default_dir;
    }
    st = vbDatasetScanImages(&b, images_dir, err);
    if (st == VB_OK)
        st = vbDatasetStemIndexBuild(b.dataset, &stems, err);
    if (st == VB_OK)
        st = vbDatasetListFiles(xml_dir, ".xml", &files, &file_count, err);

    /* Step 2: each file; images without one are negatives. */
    for (size_t i = 0; i < file_count && st == VB_OK; i++)
        st = readFile(&b, &stems, xml_dir, files[i], err);
    if (st == VB_OK)
        *out = vbDatasetBuilderFinish(&b);

done:
    vbDatasetFreeList(files, file_count);
    free(stems.names);
    free(default_dir);
    vbDatasetBuilderFree(&b);
    return st;
}
