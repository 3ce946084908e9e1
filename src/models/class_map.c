/* Class maps: COCO-80 defaults, `index,name` files, binding to dataset categories, --classes filters. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/core.h"
#include "dataset/coco_classes.h"
#include "models/class_map.h"

void vbModelClassMapFree(VbClassMap *map)
{
    if (map == NULL)
        return;
    for (int i = 0; i < map->count && map->names != NULL; i++)
        free(map->names[i]);
    free(map->names);
    free(map->category_ids);
    map->names = NULL;
    map->category_ids = NULL;
    map->count = 0;
}

/* Allocates the arrays of a map with count classes, names NULL, ids -1. */
static vb_status mapAlloc(VbClassMap *map, int count, vb_error *err)
{
    map->count = 0;
    map->names = calloc((size_t)count, sizeof *map->names);
    map->category_ids = malloc((size_t)count * sizeof *map->category_ids);
    if (map->names == NULL || map->category_ids == NULL) {
        free(map->names);
        free(map->category_ids);
        map->names = NULL;
        map->category_ids = NULL;
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for a map of %d classes", count);
    }
    for (int i = 0; i < count; i++)
        map->category_ids[i] = -1;
    map->count = count;
    return VB_OK;
}

vb_status vbModelClassMapCoco(VbClassMap *out, vb_error *err)
{
    vb_status status = mapAlloc(out, VB_COCO_CLASS_COUNT, err);
    if (status != VB_OK)
        return status;
    for (int i = 0; i < VB_COCO_CLASS_COUNT; i++) {
        out->names[i] = vbStrdup(vbCocoClasses[i].name);
        if (out->names[i] == NULL) {
            vbModelClassMapFree(out);
            return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for COCO class names");
        }
        out->category_ids[i] = vbCocoClasses[i].id;
    }
    return VB_OK;
}

/* Returns a copy of [start, end) without surrounding spaces, or NULL. */
static char *trimmedCopy(const char *start, const char *end)
{
    while (start < end && isspace((unsigned char)*start))
        start++;
    while (end > start && isspace((unsigned char)end[-1]))
        end--;
    char *s = malloc((size_t)(end - start) + 1);
    if (s == NULL)
        return NULL;
    memcpy(s, start, (size_t)(end - start));
    s[end - start] = '\0';
    return s;
}

/* One parsed line of a class map file. */
typedef struct MapEntry {
    long index;
    char *name;
} MapEntry;

vb_status vbModelClassMapParse(const char *text, size_t len, const char *source, VbClassMap *out,
                               vb_error *err)
{
    vb_status status = VB_OK;
    MapEntry *entries = NULL;
    size_t entry_count = 0, entry_cap = 0;
    long max_index = -1;
    int line_no = 0;
    const char *p = text, *end = text + len;

    memset(out, 0, sizeof *out);
    if (source == NULL)
        source = "class map";

    /* Step 1: parse `index,name` lines. */
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = eol ? eol : end;
        const char *s = p;
        line_no++;
        p = eol ? eol + 1 : end;
        if (line_end > s && line_end[-1] == '\r')
            line_end--;
        while (s < line_end && isspace((unsigned char)*s))
            s++;
        if (s == line_end || *s == '#')
            continue;

        const char *comma = memchr(s, ',', (size_t)(line_end - s));
        if (comma == NULL) {
            status = vbErrorSet(err, VB_ERR_PARSE,
                                "%s:%d: expected `index,name`, found no comma", source, line_no);
            goto done;
        }
        char *index_text = trimmedCopy(s, comma);
        if (index_text == NULL) {
            status = vbErrorSet(err, VB_ERR_NO_MEMORY, "%s: out of memory", source);
            goto done;
        }
        char *stop = NULL;
        long index = strtol(index_text, &stop, 10);
        int bad_index = index_text[0] == '\0' || *stop != '\0' || index < 0;
        free(index_text);
        if (bad_index) {
            status = vbErrorSet(err, VB_ERR_PARSE,
                                "%s:%d: invalid class index; expected an integer >= 0", source,
                                line_no);
            goto done;
        }
        if (index >= VB_CLASS_MAP_MAX_CLASSES) {
            status = vbErrorSet(err, VB_ERR_LIMIT, "%s:%d: class index %ld is over the limit %d",
                                source, line_no, index, VB_CLASS_MAP_MAX_CLASSES - 1);
            goto done;
        }
        char *name = trimmedCopy(comma + 1, line_end);
        if (name == NULL) {
            status = vbErrorSet(err, VB_ERR_NO_MEMORY, "%s: out of memory", source);
            goto done;
        }
        if (name[0] == '\0') {
            free(name);
            status = vbErrorSet(err, VB_ERR_PARSE, "%s:%d: empty class name for index %ld",
                                source, line_no, index);
            goto done;
        }
        if (entry_count == VB_CLASS_MAP_MAX_CLASSES) {
            free(name);
            status = vbErrorSet(err, VB_ERR_LIMIT, "%s:%d: more than %d classes", source,
                                line_no, VB_CLASS_MAP_MAX_CLASSES);
            goto done;
        }
        if (entry_count == entry_cap) {
            size_t cap = entry_cap ? entry_cap * 2 : 64;
            MapEntry *grown = realloc(entries, cap * sizeof *grown);
            if (grown == NULL) {
                free(name);
                status = vbErrorSet(err, VB_ERR_NO_MEMORY, "%s: out of memory", source);
                goto done;
            }
            entries = grown;
            entry_cap = cap;
        }
        entries[entry_count].index = index;
        entries[entry_count].name = name;
        entry_count++;
        if (index > max_index)
            max_index = index;
    }
    if (entry_count == 0) {
        status = vbErrorSet(err, VB_ERR_PARSE, "%s: no `index,name` lines", source);
        goto done;
    }

    /* Step 2: place the entries, rejecting duplicate indexes. */
    status = mapAlloc(out, (int)max_index + 1, err);
    if (status != VB_OK)
        goto done;
    for (size_t i = 0; i < entry_count; i++) {
        long index = entries[i].index;
        if (out->names[index] != NULL) {
            status = vbErrorSet(err, VB_ERR_PARSE, "%s: class index %ld appears twice", source,
                                index);
            goto done;
        }
        out->names[index] = entries[i].name;
        out->category_ids[index] = index;
        entries[i].name = NULL;
    }

done:
    for (size_t i = 0; i < entry_count; i++)
        free(entries[i].name);
    free(entries);
    if (status != VB_OK)
        vbModelClassMapFree(out);
    return status;
}

vb_status vbModelClassMapLoad(const char *path, VbClassMap *out, vb_error *err)
{
    char *text = NULL;
    size_t len = 0;
    memset(out, 0, sizeof *out);
    vb_status status = vbFileRead(path, VB_CLASS_MAP_MAX_FILE_BYTES, &text, &len, err);
    if (status != VB_OK)
        return status;
    status = vbModelClassMapParse(text, len, path, out, err);
    free(text);
    return status;
}

/* Returns the COCO spelling of a Pascal VOC class name, or name itself. */
static const char *canonicalName(const char *name)
{
    static const char *const aliases[][2] = {
        {"motorbike", "motorcycle"},     {"aeroplane", "airplane"},
        {"sofa", "couch"},               {"tvmonitor", "tv"},
        {"diningtable", "dining table"}, {"pottedplant", "potted plant"},
    };
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcasecmp(name, aliases[i][0]) == 0)
            return aliases[i][1];
    return name;
}

vb_status vbModelClassMapBind(VbClassMap *map, const VbDataset *dataset, vb_error *err)
{
    int matched = 0;
    for (int i = 0; i < map->count; i++) {
        map->category_ids[i] = -1;
        if (map->names[i] == NULL)
            continue;
        const char *name = canonicalName(map->names[i]);
        for (size_t c = 0; c < dataset->category_count; c++) {
            if (strcasecmp(canonicalName(dataset->categories[c].name), name) == 0) {
                map->category_ids[i] = dataset->categories[c].id;
                matched++;
                break;
            }
        }
    }
    if (matched > 0)
        return VB_OK;

    char names[200] = "";
    for (size_t c = 0; c < dataset->category_count && strlen(names) < 150; c++) {
        if (c > 0)
            strcat(names, ", ");
        strncat(names, dataset->categories[c].name, 40);
    }
    return vbErrorSet(err, VB_ERR_NOT_FOUND,
                      "no model class name matches a dataset category (%s); pass "
                      "--class-map FILE with `index,name` lines",
                      dataset->category_count ? names : "the dataset has none");
}

int vbModelClassMapFind(const VbClassMap *map, const char *name)
{
    for (int i = 0; i < map->count; i++)
        if (map->names[i] != NULL && strcasecmp(map->names[i], name) == 0)
            return i;
    return -1;
}

vb_status vbModelClassMapFilter(VbClassMap *map, const char *list, vb_error *err)
{
    vb_status status = VB_OK;
    char *keep = calloc((size_t)(map->count > 0 ? map->count : 1), 1);
    int named = 0;
    const char *p = list ? list : "";

    if (keep == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for the class filter");

    /* Step 1: mark every listed class. */
    while (*p != '\0') {
        const char *comma = strchr(p, ',');
        const char *item_end = comma ? comma : p + strlen(p);
        char *name = trimmedCopy(p, item_end);
        p = comma ? comma + 1 : item_end;
        if (name == NULL) {
            status = vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for the class filter");
            goto done;
        }
        if (name[0] == '\0') {
            free(name);
            continue;
        }
        int index = vbModelClassMapFind(map, name);
        if (index < 0)
            index = vbModelClassMapFind(map, canonicalName(name));
        if (index < 0) {
            status = vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                                "--classes: \"%s\" is not a class of the model; use names "
                                "such as car,truck from the class map",
                                name);
            free(name);
            goto done;
        }
        free(name);
        keep[index] = 1;
        named++;
    }
    if (named == 0) {
        status = vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                            "--classes: empty list; give class names such as car,truck");
        goto done;
    }

    /* Step 2: drop the rest. */
    for (int i = 0; i < map->count; i++)
        if (!keep[i])
            map->category_ids[i] = -1;

done:
    free(keep);
    return status;
}

int64_t vbModelClassMapLookup(const VbClassMap *map, int index)
{
    if (map == NULL || index < 0 || index >= map->count)
        return -1;
    return map->category_ids[index];
}
