/* YOLO ground truth: a folder of .txt files (`class cx cy w h`, normalised) with one file per image. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/core.h"
#include "dataset/coco_classes.h"
#include "dataset/loader.h"

/* Class names in index order; names[i] is owned. */
typedef struct ClassNames {
    char **names;
    size_t count;
    char *source;            /* the names file, or NULL for the built-in COCO-80 list */
} ClassNames;

static void classNamesFree(ClassNames *c)
{
    vbDatasetFreeList(c->names, c->count);
    free(c->source);
    memset(c, 0, sizeof *c);
}

static int isDir(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int isFile(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* Trims blanks and one pair of matching quotes in place; returns the start. */
static char *trimName(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    if (n >= 2 && (s[0] == '\'' || s[0] == '"') && s[n - 1] == s[0]) {
        s[n - 1] = '\0';
        s++;
    }
    return s;
}

static vb_status addName(ClassNames *c, const char *name, const char *path, long line,
                         vb_error *err)
{
    if (name[0] == '\0')
        return vbErrorSet(err, VB_ERR_PARSE, "%s: line %ld: empty class name", path, line);
    if (c->count >= VB_DATASET_MAX_CATEGORIES)
        return vbErrorSet(err, VB_ERR_LIMIT, "%s: more than %d class names", path,
                          VB_DATASET_MAX_CATEGORIES);
    char **grown = realloc(c->names, (c->count + 1) * sizeof *grown);
    if (grown == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory");
    c->names = grown;
    if ((c->names[c->count] = vbStrdup(name)) == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory");
    vbDatasetLowerAscii(c->names[c->count++]);
    return VB_OK;
}

/* Reads the `names:` entry of a data.yaml: an inline list `[a, b]`, a block
 * list of `- a` lines, or a block mapping of `0: a` lines in index order. */
static vb_status parseYamlNames(char *text, const char *path, ClassNames *c, vb_error *err)
{
    long line = 0;
    int in_names = 0;
    for (char *s = text; s != NULL && *s;) {
        char *next = strchr(s, '\n');
        if (next != NULL)
            *next++ = '\0';
        line++;
        char *hash = strstr(s, " #");
        if (hash != NULL)
            *hash = '\0';
        int indented = s[0] == ' ' || s[0] == '\t';
        char *t = trimName(s);
        s = next;
        if (!in_names) {
            if (indented || strncmp(t, "names:", 6) != 0)
                continue;
            t = trimName(t + 6);
            in_names = 1;
            if (*t == '\0')
                continue;
            if (*t != '[' || t[strlen(t) - 1] != ']')
                return vbErrorSet(err, VB_ERR_PARSE,
                                  "%s: line %ld: 'names:' must be followed by [a, b, ...] or by "
                                  "indented '- name' or 'index: name' lines",
                                  path, line);
            t[strlen(t) - 1] = '\0';
            for (char *item = t + 1; item != NULL;) {
                char *comma = strchr(item, ',');
                if (comma != NULL)
                    *comma++ = '\0';
                char *name = trimName(item);
                if (*name != '\0' || comma != NULL) {
                    vb_status st = addName(c, name, path, line, err);
                    if (st != VB_OK)
                        return st;
                }
                item = comma;
            }
            return VB_OK;
        }
        if (*t == '\0')
            continue;
        if (!indented)
            break;
        if (t[0] == '-') {
            vb_status st = addName(c, trimName(t + 1), path, line, err);
            if (st != VB_OK)
                return st;
            continue;
        }
        char *colon = strchr(t, ':');
        char *end = NULL;
        long index = colon != NULL ? strtol(t, &end, 10) : -1;
        if (colon == NULL || end != colon || index != (long)c->count)
            return vbErrorSet(err, VB_ERR_PARSE,
                              "%s: line %ld: expected '- name' or '%zu: name' under 'names:'", path,
                              line, c->count);
        vb_status st = addName(c, trimName(colon + 1), path, line, err);
        if (st != VB_OK)
            return st;
    }
    if (c->count == 0)
        return vbErrorSet(err, VB_ERR_PARSE, "%s: no 'names:' list found", path);
    return VB_OK;
}

/* Reads a class names file: data.yaml style when it ends in .yaml or .yml,
 * else one name per line (blank lines allowed only at the end). */
static vb_status readClassNames(const char *path, ClassNames *c, vb_error *err)
{
    char *text = NULL;
    vb_status st = vbFileRead(path, VB_DATASET_MAX_LABEL_FILE_BYTES, &text, NULL, err);
    if (st != VB_OK)
        return st;
    if ((c->source = vbStrdup(path)) == NULL) {
        free(text);
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory");
    }
    size_t plen = strlen(path);
    if ((plen > 5 && strcmp(path + plen - 5, ".yaml") == 0) ||
        (plen > 4 && strcmp(path + plen - 4, ".yml") == 0)) {
        st = parseYamlNames(text, path, c, err);
        free(text);
        return st;
    }

    long line = 0, blank_line = 0;
    for (char *s = text; s != NULL && *s && st == VB_OK;) {
        char *next = strchr(s, '\n');
        if (next != NULL)
            *next++ = '\0';
        line++;
        char *name = trimName(s);
        s = next;
        if (*name == '\0') {
            if (blank_line == 0)
                blank_line = line;
            continue;
        }
        if (blank_line != 0)
            st = vbErrorSet(err, VB_ERR_PARSE,
                            "%s: line %ld is blank; class names are one per line, with no gaps",
                            path, blank_line);
        else
            st = addName(c, name, path, line, err);
    }
    free(text);
    if (st == VB_OK && c->count == 0)
        st = vbErrorSet(err, VB_ERR_PARSE, "%s: no class names", path);
    return st;
}

/* Finds the class names: the option, else classes.txt, obj.names or
 * data.yaml in the label folder or its parent, else the COCO-80 names. */
static vb_status findClassNames(const char *label_dir, const VbDatasetOptions *options,
                                ClassNames *c, vb_error *err)
{
    if (options != NULL && options->class_names_file != NULL)
        return readClassNames(options->class_names_file, c, err);

    static const char *const candidates[] = {"classes.txt", "obj.names", "data.yaml"};
    char *parent = vbDatasetDirName(label_dir);
    const char *dirs[2] = {label_dir, parent};
    vb_status st = VB_OK;
    for (int d = 0; d < 2 && dirs[d] != NULL; d++) {
        for (size_t k = 0; k < 3; k++) {
            char *path = vbPathJoin(dirs[d], candidates[k]);
            int found = path != NULL && isFile(path);
            if (found)
                st = readClassNames(path, c, err);
            free(path);
            if (found)
                goto done;
        }
    }
    for (int i = 0; i < VB_COCO_CLASS_COUNT && st == VB_OK; i++)
        st = addName(c, vbCocoClasses[i].name, "COCO-80", i + 1, err);

done:
    free(parent);
    return st;
}

/* Picks the image folder: the sibling "images" of a "labels" folder, else
 * the label folder itself. Returns a new string. */
static char *defaultImagesDir(const char *label_dir)
{
    size_t n = strlen(label_dir);
    while (n > 1 && label_dir[n - 1] == '/')
        n--;
    if (n >= 6 && strncmp(label_dir + n - 6, "labels", 6) == 0 &&
        (n == 6 || label_dir[n - 7] == '/')) {
        char *dir = malloc(n + 1);
        if (dir == NULL)
            return NULL;
        memcpy(dir, label_dir, n - 6);
        memcpy(dir + n - 6, "images", 7);
        if (isDir(dir))
            return dir;
        free(dir);
    }
    return vbStrdup(label_dir);
}

/* Parses a finite decimal number, the whole token. */
static int parseValue(const char *s, double *out)
{
    char *end;
    if (*s == '\0' || strchr(s, 'x') != NULL || strchr(s, 'X') != NULL)
        return 0;
    double v = strtod(s, &end);
    if (*end != '\0' || !isfinite(v))
        return 0;
    *out = v;
    return 1;
}

/* Per-loader state: the builder, the class names and their category ids. */
typedef struct YoloLoader {
    VbDatasetBuilder b;
    ClassNames classes;
    int64_t *category_of; /* per class index; 0 until the class is first used */
} YoloLoader;

/* Parses one line `class cx cy w h` and adds its box to image. */
static vb_status readLine(YoloLoader *y, char *text, const char *where, const VbDatasetImage *image,
                          vb_error *err)
{
    if (strchr(text, ',') != NULL)
        return vbErrorSet(err, VB_ERR_PARSE,
                          "%s: fields are separated by commas; YOLO labels use spaces: class cx cy w h",
                          where);
    char *fields[8];
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(text, " \t\r", &save); tok != NULL;
         tok = strtok_r(NULL, " \t\r", &save)) {
        if (n < 8)
            fields[n] = tok;
        n++;
    }
    if (n == 6)
        return vbErrorSet(err, VB_ERR_PARSE,
                          "%s: 6 fields; a sixth field (a score?) belongs to a prediction file, "
                          "ground truth has 5: class cx cy w h",
                          where);
    if (n != 5)
        return vbErrorSet(err, VB_ERR_PARSE, "%s: %d fields; expected 5: class cx cy w h", where, n);

    /* Step 1: the class index. */
    char *end;
    long cls = strtol(fields[0], &end, 10);
    if (*end != '\0' || end == fields[0])
        return vbErrorSet(err, VB_ERR_PARSE, "%s: class '%s' is not an integer", where, fields[0]);
    if (cls < 0 || (size_t)cls >= y->classes.count)
        return vbErrorSet(err, VB_ERR_PARSE,
                          "%s: class %ld is out of range 0..%zu (%s)", where, cls,
                          y->classes.count - 1,
                          y->classes.source != NULL ? y->classes.source
                                                    : "COCO-80 class indices; give a class names "
                                                      "file for other classes");

    /* Step 2: normalised center and size in 0..1. */
    static const char *const names[4] = {"cx", "cy", "w", "h"};
    double v[4];
    for (int k = 0; k < 4; k++) {
        if (!parseValue(fields[k + 1], &v[k]))
            return vbErrorSet(err, VB_ERR_PARSE, "%s: %s '%s' is not a finite number", where,
                              names[k], fields[k + 1]);
        if (v[k] < 0 || v[k] > 1)
            return vbErrorSet(err, VB_ERR_PARSE,
                              "%s: %s %g is outside 0..1%s; YOLO labels are normalised (divide x "
                              "and w by the image width, y and h by the height)",
                              where, names[k], v[k], v[k] > 1.5 ? " (pixel coordinates?)" : "");
    }
    if (v[2] == 0 || v[3] == 0) {
        vbWarningsAdd(&y->b.dataset->warnings, "%s: box has zero %s; skipped", where,
                      v[2] == 0 ? "width" : "height");
        return VB_OK;
    }

    /* Step 3: pixel corners, clipped to the image. */
    double x0 = (v[0] - v[2] / 2) * image->width, x1 = (v[0] + v[2] / 2) * image->width;
    double y0 = (v[1] - v[3] / 2) * image->height, y1 = (v[1] + v[3] / 2) * image->height;
    if (!vbDatasetClipBox(&y->b, where, image->width, image->height, &x0, &y0, &x1, &y1))
        return VB_OK;

    if (y->category_of[cls] == 0) {
        const char *name = y->classes.names[cls];
        const VbCocoClass *coco = vbCocoClassByName(name);
        int64_t id = coco != NULL ? coco->id : VB_DATASET_CUSTOM_CATEGORY_BASE + 1 + cls;
        vb_status st = vbDatasetAddCategory(&y->b, id, name, err);
        if (st != VB_OK)
            return st;
        y->category_of[cls] = id;
    }
    VbAnnotation a = {.id = (int64_t)y->b.dataset->annotation_count + 1,
                      .image_id = image->id, .category_id = y->category_of[cls],
                      .x = x0, .y = y0, .w = x1 - x0, .h = y1 - y0,
                      .area = (x1 - x0) * (y1 - y0)};
    return vbDatasetAddAnnotation(&y->b, &a, err);
}

/* Reads one label file and adds its boxes to image. */
static vb_status readLabelFile(YoloLoader *y, const char *label_dir, const char *file,
                               const VbDatasetImage *image, vb_error *err)
{
    char *path = vbPathJoin(label_dir, file);
    char *text = NULL;
    size_t len = 0;
    if (path == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory");
    vb_status st = vbFileRead(path, VB_DATASET_MAX_LABEL_FILE_BYTES, &text, &len, err);
    if (st != VB_OK)
        goto done;
    if (strlen(text) != len) {
        st = vbErrorSet(err, VB_ERR_PARSE, "%s: contains NUL bytes; save it as UTF-8 text", path);
        goto done;
    }

    long line = 0;
    for (char *s = text; s != NULL && *s && st == VB_OK;) {
        char *next = strchr(s, '\n');
        if (next != NULL)
            *next++ = '\0';
        line++;
        char *t = s;
        s = next;
        while (*t == ' ' || *t == '\t' || *t == '\r')
            t++;
        if (*t == '\0')
            continue;
        char where[4400];
        snprintf(where, sizeof where, "%s: line %ld", path, line);
        st = readLine(y, t, where, image, err);
    }

done:
    free(text);
    free(path);
    return st;
}

vb_status vbDatasetLoadYolo(const char *label_dir, const char *images_dir,
                            const VbDatasetOptions *options, VbDataset **out, vb_error *err)
{
    *out = NULL;
    YoloLoader y = {0};
    char **files = NULL, *default_dir = NULL;
    size_t file_count = 0;
    VbStemIndex stems = {0};

    /* Step 1: classes, image folder, label files. */
    vb_status st = vbDatasetBuilderInit(&y.b, "yolo", options, err);
    if (st == VB_OK)
        st = findClassNames(label_dir, options, &y.classes, err);
    if (st != VB_OK)
        goto done;
    y.category_of = calloc(y.classes.count, sizeof *y.category_of);
    if (images_dir == NULL)
        images_dir = default_dir = defaultImagesDir(label_dir);
    if (y.category_of == NULL || images_dir == NULL) {
        st = vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory");
        goto done;
    }
    st = vbDatasetScanImages(&y.b, images_dir, err);
    if (st == VB_OK)
        st = vbDatasetListFiles(label_dir, ".txt", &files, &file_count, err);
    if (st != VB_OK)
        goto done;

    st = vbDatasetStemIndexBuild(y.b.dataset, &stems, err);
    if (st != VB_OK)
        goto done;

    /* Step 2: each label file; images without one are negatives. */
    for (size_t i = 0; i < file_count && st == VB_OK; i++) {
        if (strcmp(files[i], "classes.txt") == 0)
            continue;
        const VbDatasetImage *image = vbDatasetFindImageByStem(&y.b, &stems, files[i]);
        if (image == NULL) {
            char where[4400];
            snprintf(where, sizeof where, "%s/%s", label_dir, files[i]);
            files[i][vbDatasetStemLength(files[i])] = '\0';
            st = vbDatasetAddMissing(&y.b, files[i], where, err);
            continue;
        }
        st = readLabelFile(&y, label_dir, files[i], image, err);
    }
    if (st == VB_OK)
        *out = vbDatasetBuilderFinish(&y.b);

done:
    free(stems.names);
    vbDatasetFreeList(files, file_count);
    free(default_dir);
    free(y.category_of);
    classNamesFree(&y.classes);
    vbDatasetBuilderFree(&y.b);
    return st;
}
