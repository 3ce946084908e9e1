/* CSV ground truth: header `image,xmin,ymin,xmax,ymax[,label]` in any column order, pixel corner coordinates. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "dataset/loader.h"

#define MAX_FIELDS 1024

enum { COL_IMAGE, COL_XMIN, COL_YMIN, COL_XMAX, COL_YMAX, COL_LABEL, COL_COUNT };
static const char *const COLUMN_NAMES[COL_COUNT] = {"image", "xmin", "ymin", "xmax", "ymax", "label"};
#define EXPECTED_HEADER "image,xmin,ymin,xmax,ymax,label"

/* A cursor over the CSV text and the fields of the record it last read. */
typedef struct CsvReader {
    const char *text;
    size_t len, pos;
    long line;               /* line of the next byte, from 1 */
    char sep;
    const char *name;        /* file name for messages */
    VbBuf scratch;           /* field bytes, each NUL-terminated */
    size_t offsets[MAX_FIELDS];
    int count;
    int header_count;        /* fields of the header record */
} CsvReader;

static const char *field(const CsvReader *r, int i)
{
    return r->scratch.data + r->offsets[i];
}

static int isBlank(char c, char sep)
{
    return c == ' ' || (c == '\t' && sep != '\t');
}

/* Checks that text is UTF-8 and free of NUL bytes, naming the line of the
 * first bad byte. */
static vb_status checkEncoding(const char *text, size_t len, const char *name, vb_error *err)
{
    const unsigned char *s = (const unsigned char *)text;
    long line = 1;
    size_t line_start = 0;
    for (size_t i = 0; i < len;) {
        unsigned c = s[i];
        if (c == '\n') {
            line++;
            line_start = ++i;
            continue;
        }
        if (c == 0)
            return vbErrorSet(err, VB_ERR_PARSE,
                              "%s: line %ld: contains a NUL byte (UTF-16 text?); save the file as UTF-8",
                              name, line);
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n = 0;
        if (c >= 0xC2 && c <= 0xDF)
            n = 2;
        else if (c >= 0xE0 && c <= 0xEF)
            n = 3;
        else if (c >= 0xF0 && c <= 0xF4)
            n = 4;
        int ok = n != 0 && i + n <= len;
        for (size_t k = 1; ok && k < n; k++)
            ok = (s[i + k] & 0xC0) == 0x80;
        /* Overlong 3/4-byte forms, surrogates and code points past U+10FFFF. */
        if (ok && n == 3)
            ok = !(c == 0xE0 && s[i + 1] < 0xA0) && !(c == 0xED && s[i + 1] >= 0xA0);
        if (ok && n == 4)
            ok = !(c == 0xF0 && s[i + 1] < 0x90) && !(c == 0xF4 && s[i + 1] >= 0x90);
        if (!ok)
            return vbErrorSet(err, VB_ERR_PARSE,
                              "%s: line %ld: not valid UTF-8 (byte 0x%02x at byte %zu of the line); "
                              "save the file as UTF-8",
                              name, line, c, i - line_start + 1);
        i += n;
    }
    return VB_OK;
}

/* Picks the separator of the header line: the most frequent of ',', ';' and
 * tab outside quotes; ',' on a tie or when none occurs. */
static char detectSeparator(const char *text, size_t len)
{
    size_t counts[3] = {0, 0, 0};
    int quoted = 0;
    for (size_t i = 0; i < len && (quoted || (text[i] != '\n' && text[i] != '\r')); i++) {
        char c = text[i];
        if (c == '"')
            quoted = !quoted;
        else if (!quoted)
            counts[0] += c == ',', counts[1] += c == ';', counts[2] += c == '\t';
    }
    if (counts[1] > counts[0] && counts[1] >= counts[2])
        return ';';
    if (counts[2] > counts[0] && counts[2] > counts[1])
        return '\t';
    return ',';
}

static vb_status pushField(CsvReader *r, const char *bytes, size_t n, vb_error *err)
{
    if (r->count >= MAX_FIELDS)
        return vbErrorSet(err, VB_ERR_LIMIT, "%s: line %ld: more than %d fields", r->name, r->line,
                          MAX_FIELDS);
    r->offsets[r->count++] = r->scratch.len;
    vb_status st = vbBufAppend(&r->scratch, bytes, n, err);
    if (st == VB_OK)
        st = vbBufAppend(&r->scratch, "", 1, err);
    return st;
}

/* Reads one record (RFC 4180: quoted fields may contain separators, "" and
 * line breaks). Fields are trimmed outside quotes. Sets *line to the line the
 * record starts on. Returns VB_OK with r->count 0 at the end of the text. */
static vb_status readRecord(CsvReader *r, long *line, vb_error *err)
{
    r->count = 0;
    r->scratch.len = 0;
    *line = r->line;
    if (r->pos >= r->len)
        return VB_OK;

    for (;;) {
        /* Step 1: leading blanks, then a quoted or a plain field. */
        while (r->pos < r->len && isBlank(r->text[r->pos], r->sep))
            r->pos++;
        size_t start = r->scratch.len;
        vb_status st;
        if (r->pos < r->len && r->text[r->pos] == '"') {
            long quote_line = r->line;
            VbBuf *b = &r->scratch;
            if (r->count >= MAX_FIELDS)
                return vbErrorSet(err, VB_ERR_LIMIT, "%s: line %ld: more than %d fields", r->name,
                                  r->line, MAX_FIELDS);
            r->offsets[r->count] = start;
            r->pos++;
            for (;;) {
                if (r->pos >= r->len)
                    return vbErrorSet(err, VB_ERR_PARSE,
                                      "%s: line %ld: quoted field never closed (a '\"' is missing)",
                                      r->name, quote_line);
                char c = r->text[r->pos++];
                if (c == '"') {
                    if (r->pos < r->len && r->text[r->pos] == '"') {
                        r->pos++;
                    } else {
                        break;
                    }
                }
                if (c == '\n')
                    r->line++;
                st = vbBufAppend(b, &c, 1, err);
                if (st != VB_OK)
                    return st;
            }
            st = vbBufAppend(b, "", 1, err);
            if (st != VB_OK)
                return st;
            r->count++;
            while (r->pos < r->len && isBlank(r->text[r->pos], r->sep))
                r->pos++;
            if (r->pos < r->len && r->text[r->pos] != r->sep && r->text[r->pos] != '\n' &&
                r->text[r->pos] != '\r')
                return vbErrorSet(err, VB_ERR_PARSE,
                                  "%s: line %ld, column %d: unexpected '%c' after a closing quote; "
                                  "double quotes inside a quoted field must be written as \"\"",
                                  r->name, r->line, r->count, r->text[r->pos]);
        } else {
            size_t begin = r->pos;
            while (r->pos < r->len && r->text[r->pos] != r->sep && r->text[r->pos] != '\n' &&
                   r->text[r->pos] != '\r')
                r->pos++;
            size_t end = r->pos;
            while (end > begin && isBlank(r->text[end - 1], r->sep))
                end--;
            st = pushField(r, r->text + begin, end - begin, err);
            if (st != VB_OK)
                return st;
        }

        /* Step 2: a separator continues the record, a line break ends it. */
        if (r->pos >= r->len)
            return VB_OK;
        char c = r->text[r->pos++];
        if (c == r->sep)
            continue;
        if (c == '\r' && r->pos < r->len && r->text[r->pos] == '\n')
            r->pos++;
        r->line++;
        return VB_OK;
    }
}

static int recordIsBlank(const CsvReader *r)
{
    for (int i = 0; i < r->count; i++)
        if (field(r, i)[0] != '\0')
            return 0;
    return 1;
}

/* Parses a coordinate: a finite decimal number (sign, digits, one point,
 * exponent). With the ';' separator a single decimal comma is accepted. */
static int parseNumber(const char *s, char sep, double *out)
{
    char buf[64];
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof buf)
        return 0;
    memcpy(buf, s, n + 1);
    if (sep == ';') {
        char *comma = strchr(buf, ',');
        if (comma != NULL && strchr(buf, '.') == NULL && strchr(comma + 1, ',') == NULL)
            *comma = '.';
    }

    const char *p = buf;
    if (*p == '+' || *p == '-')
        p++;
    int digits = 0;
    while (*p >= '0' && *p <= '9')
        p++, digits++;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9')
            p++, digits++;
    }
    if (digits == 0)
        return 0;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return 0;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p != '\0')
        return 0;
    double v = strtod(buf, NULL);
    if (!isfinite(v))
        return 0;
    *out = v;
    return 1;
}

/* Maps header fields to the known columns; unknown names add one warning. */
static vb_status readHeader(CsvReader *r, long line, VbDatasetBuilder *b, int columns[COL_COUNT],
                            vb_error *err)
{
    for (int k = 0; k < COL_COUNT; k++)
        columns[k] = -1;
    VbBuf unknown;
    vbBufInit(&unknown, 4096);
    vb_status st = VB_OK;

    for (int i = 0; i < r->count; i++) {
        char *name = r->scratch.data + r->offsets[i];
        vbDatasetLowerAscii(name);
        int k = 0;
        while (k < COL_COUNT && strcmp(name, COLUMN_NAMES[k]) != 0)
            k++;
        if (k == COL_COUNT) {
            if (unknown.len < 1000)
                vbBufPrintf(&unknown, NULL, "%s'%s'", unknown.len ? ", " : "", name);
            continue;
        }
        if (columns[k] >= 0) {
            st = vbErrorSet(err, VB_ERR_PARSE, "%s: line %ld: column '%s' appears twice in the header",
                            r->name, line, name);
            goto done;
        }
        columns[k] = i;
    }

    for (int k = 0; k < COL_LABEL; k++) {
        if (columns[k] >= 0)
            continue;
        /* A first line whose first field names an image is a box, not a header. */
        if (r->count > 0 && vbDatasetIsImageName(field(r, 0)))
            st = vbErrorSet(err, VB_ERR_PARSE,
                            "%s: line %ld is not a header; expected " EXPECTED_HEADER
                            " (add this header line above the boxes)",
                            r->name, line);
        else
            st = vbErrorSet(err, VB_ERR_PARSE,
                            "%s: line %ld: header has no '%s' column; expected " EXPECTED_HEADER
                            " (label optional, any order)",
                            r->name, line, COLUMN_NAMES[k]);
        goto done;
    }
    if (unknown.len > 0)
        vbWarningsAdd(&b->dataset->warnings, "%s: line %ld: ignoring unknown columns %s", r->name,
                      line, unknown.data);

done:
    vbBufFree(&unknown);
    return st;
}

/* Finds or (without an image folder) adds the image a row names. Returns the
 * index, or -1 when the folder lacks it (recorded as missing). */
static long imageForRow(VbDatasetBuilder *b, const char *images_dir, const char *image,
                        const char *where, long *last, vb_error *err, vb_status *st)
{
    VbDataset *d = b->dataset;
    if (images_dir != NULL) {
        long index = vbDatasetFindImageByName(b, image);
        if (index < 0)
            *st = vbDatasetAddMissing(b, image, where, err);
        return index;
    }
    if (*last >= 0 && strcmp(d->images[*last].file_name, image) == 0)
        return *last;
    for (size_t i = 0; i < d->image_count; i++)
        if (strcmp(d->images[i].file_name, image) == 0)
            return *last = (long)i;
    *st = vbDatasetAddImage(b, (int64_t)d->image_count + 1, image, 0, 0, err);
    return *st == VB_OK ? (*last = (long)d->image_count - 1) : -1;
}

/* An annotation and its position, sorted so that exact duplicates end up
 * next to each other. */
typedef struct BoxKey {
    const VbAnnotation *a;
    size_t index;
} BoxKey;

/* Orders by image, category, box, then line (the id before renumbering). */
static int compareBoxes(const void *pa, const void *pb)
{
    const VbAnnotation *a = ((const BoxKey *)pa)->a, *b = ((const BoxKey *)pb)->a;
    if (a->image_id != b->image_id)
        return a->image_id < b->image_id ? -1 : 1;
    if (a->category_id != b->category_id)
        return a->category_id < b->category_id ? -1 : 1;
    const double va[4] = {a->x, a->y, a->w, a->h}, vb[4] = {b->x, b->y, b->w, b->h};
    for (int k = 0; k < 4; k++)
        if (va[k] != vb[k])
            return va[k] < vb[k] ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

static int sameBox(const VbAnnotation *a, const VbAnnotation *b)
{
    return a->image_id == b->image_id && a->category_id == b->category_id && a->x == b->x &&
           a->y == b->y && a->w == b->w && a->h == b->h;
}

/* Drops rows that repeat an earlier row's image, box and label, with one
 * warning each. Annotation ids are the source lines until renumbered here. */
static vb_status dropDuplicates(VbDatasetBuilder *b, const char *name, vb_error *err)
{
    VbDataset *d = b->dataset;
    size_t n = d->annotation_count;
    if (n < 2)
        goto renumber;
    BoxKey *order = malloc(n * sizeof *order);
    unsigned char *drop = calloc(n, 1);
    if (order == NULL || drop == NULL) {
        free(order);
        free(drop);
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        order[i] = (BoxKey){&d->annotations[i], i};
    qsort(order, n, sizeof *order, compareBoxes);

    /* In each run of equal boxes the first (lowest line) is kept. */
    size_t first = 0;
    for (size_t i = 1; i < n; i++) {
        if (!sameBox(order[first].a, order[i].a)) {
            first = i;
            continue;
        }
        drop[order[i].index] = 1;
        vbWarningsAdd(&d->warnings,
                      "%s: line %lld repeats the box and label of line %lld; duplicate dropped",
                      name, (long long)order[i].a->id, (long long)order[first].a->id);
    }
    size_t remaining = 0;
    for (size_t i = 0; i < n; i++)
        if (!drop[i])
            d->annotations[remaining++] = d->annotations[i];
    d->annotation_count = remaining;
    free(order);
    free(drop);

renumber:
    for (size_t i = 0; i < d->annotation_count; i++)
        d->annotations[i].id = (int64_t)i + 1;
    return VB_OK;
}

/* Returns the separator as it is shown in messages. */
static const char *separatorName(char sep)
{
    if (sep == '\t')
        return "\\t";
    if (sep == ';')
        return ";";
    return ",";
}

/* Turns one data record into an annotation, or skips it with a warning. */
static vb_status readRow(CsvReader *r, long line, VbDatasetBuilder *b, const int columns[COL_COUNT],
                         const char *images_dir, const char *default_label, long *last_image,
                         vb_error *err)
{
    VbDataset *d = b->dataset;
    char where[512];
    snprintf(where, sizeof where, "%s: line %ld", r->name, line);

    /* Step 1: as many fields as the header, image named, coordinates finite. */
    if (r->count != r->header_count)
        return vbErrorSet(err, VB_ERR_PARSE,
                          "%s: %d fields, but the header has %d; quote fields that contain the "
                          "separator '%s'",
                          where, r->count, r->header_count, separatorName(r->sep));
    const char *image = field(r, columns[COL_IMAGE]);
    if (image[0] == '\0')
        return vbErrorSet(err, VB_ERR_PARSE, "%s, column %d (image): empty image name", where,
                          columns[COL_IMAGE] + 1);
    double v[4];
    for (int k = 0; k < 4; k++) {
        int col = columns[COL_XMIN + k];
        if (!parseNumber(field(r, col), r->sep, &v[k]))
            return vbErrorSet(err, VB_ERR_PARSE,
                              "%s, column %d (%s): '%s' is not a finite number; coordinates are "
                              "pixels, like 96 or 12.5",
                              where, col + 1, COLUMN_NAMES[COL_XMIN + k], field(r, col));
    }
    double x0 = v[0], y0 = v[1], x1 = v[2], y1 = v[3];

    /* Step 2: the label. */
    char label[256];
    if (columns[COL_LABEL] >= 0) {
        const char *s = field(r, columns[COL_LABEL]);
        while (*s == ' ' || *s == '\t')
            s++;
        size_t n = strlen(s);
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        if (n >= sizeof label)
            return vbErrorSet(err, VB_ERR_LIMIT, "%s, column %d (label): label longer than %zu bytes",
                              where, columns[COL_LABEL] + 1, sizeof label - 1);
        memcpy(label, s, n);
        label[n] = '\0';
        if (label[0] == '\0')
            return vbErrorSet(err, VB_ERR_PARSE, "%s, column %d (label): empty label; name the class",
                              where, columns[COL_LABEL] + 1);
    } else {
        snprintf(label, sizeof label, "%s", default_label);
    }
    vbDatasetLowerAscii(label);

    /* Step 3: box shape. Inverted corners are an error, empty boxes a warning. */
    if (x0 > x1 || y0 > y1)
        return vbErrorSet(err, VB_ERR_PARSE,
                          "%s: %s %g > %s %g; columns are corners (xmax, ymax are the far edges), "
                          "convert x,y,width,height data first",
                          where, x0 > x1 ? "xmin" : "ymin", x0 > x1 ? x0 : y0,
                          x0 > x1 ? "xmax" : "ymax", x0 > x1 ? x1 : y1);
    if (x0 == x1 || y0 == y1) {
        vbWarningsAdd(&d->warnings, "%s: box has zero %s; skipped", where,
                      x0 == x1 ? "width" : "height");
        return VB_OK;
    }

    /* Step 4: the image, then clipping to it. */
    vb_status st = VB_OK;
    long index = imageForRow(b, images_dir, image, where, last_image, err, &st);
    if (index < 0)
        return st;
    const VbDatasetImage *img = &d->images[index];
    if (!vbDatasetClipBox(b, where, img->width, img->height, &x0, &y0, &x1, &y1))
        return VB_OK;

    int64_t category;
    st = vbDatasetLabelCategory(b, label, where, &category, err);
    if (st != VB_OK)
        return st;
    /* The id stores the line until dropDuplicates renumbers the annotations. */
    VbAnnotation a = {.id = line, .image_id = img->id, .category_id = category,
                      .x = x0, .y = y0, .w = x1 - x0, .h = y1 - y0,
                      .area = (x1 - x0) * (y1 - y0), .iscrowd = 0};
    return vbDatasetAddAnnotation(b, &a, err);
}

vb_status vbDatasetParseCsv(const char *text, size_t len, const char *name,
                            const char *images_dir, const VbDatasetOptions *options,
                            VbDataset **out, vb_error *err)
{
    *out = NULL;
    const unsigned char *u = (const unsigned char *)text;
    if (name == NULL)
        name = "CSV";

    /* Step 1: encoding. */
    if (len == 0)
        return vbErrorSet(err, VB_ERR_PARSE,
                          "%s: empty ground-truth file (0 bytes); expected the header " EXPECTED_HEADER
                          " and one line per box",
                          name);
    if (len >= 2 && ((u[0] == 0xFF && u[1] == 0xFE) || (u[0] == 0xFE && u[1] == 0xFF)))
        return vbErrorSet(err, VB_ERR_PARSE, "%s: UTF-16 not supported; save as UTF-8", name);
    if (len >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF) {
        text += 3;
        len -= 3;
    }
    vb_status st = checkEncoding(text, len, name, err);
    if (st != VB_OK)
        return st;

    VbDatasetBuilder b;
    st = vbDatasetBuilderInit(&b, "csv", options, err);
    if (st != VB_OK)
        return st;
    CsvReader r = {.text = text, .len = len, .line = 1, .name = name};
    vbBufInit(&r.scratch, VB_DATASET_MAX_FILE_BYTES);
    const char *default_label =
        options != NULL && options->default_label != NULL ? options->default_label : "car";

    /* Step 2: the header, the first non-blank record; its line sets the
     * separator for the whole file. */
    size_t header_start = 0;
    while (header_start < len && strchr("\r\n \t", text[header_start]) != NULL)
        header_start++;
    if (header_start == len) {
        st = vbErrorSet(err, VB_ERR_PARSE,
                        "%s: contains only blank lines; expected the header " EXPECTED_HEADER, name);
        goto done;
    }
    r.sep = detectSeparator(text + header_start, len - header_start);
    long line;
    do {
        st = readRecord(&r, &line, err);
    } while (st == VB_OK && r.count > 0 && recordIsBlank(&r));
    if (st != VB_OK)
        goto done;
    int columns[COL_COUNT];
    r.header_count = r.count;
    st = readHeader(&r, line, &b, columns, err);
    if (st != VB_OK)
        goto done;

    /* Step 3: the image folder, then every row. */
    if (images_dir != NULL) {
        st = vbDatasetScanImages(&b, images_dir, err);
        if (st != VB_OK)
            goto done;
    }
    long last_image = -1, rows = 0;
    for (;;) {
        st = readRecord(&r, &line, err);
        if (st != VB_OK || r.count == 0)
            break;
        if (recordIsBlank(&r))
            continue;
        rows++;
        st = readRow(&r, line, &b, columns, images_dir, default_label, &last_image, err);
        if (st != VB_OK)
            break;
    }
    if (st != VB_OK)
        goto done;

    /* Step 4: duplicates, and a note when there is no box at all. */
    st = dropDuplicates(&b, name, err);
    if (st != VB_OK)
        goto done;
    if (rows == 0)
        vbWarningsAdd(&b.dataset->warnings,
                      "%s: header but no boxes; every image has zero objects, so mAP is undefined",
                      name);
    *out = vbDatasetBuilderFinish(&b);

done:
    vbBufFree(&r.scratch);
    vbDatasetBuilderFree(&b);
    return st;
}

vb_status vbDatasetLoadCsv(const char *path, const char *images_dir,
                           const VbDatasetOptions *options, VbDataset **out, vb_error *err)
{
    *out = NULL;
    char *text = NULL, *default_dir = NULL;
    size_t len = 0;
    vb_status st = vbFileRead(path, VB_DATASET_MAX_FILE_BYTES, &text, &len, err);
    if (st != VB_OK)
        return st;
    if (images_dir == NULL) {
        char *dir = vbDatasetDirName(path);
        default_dir = dir != NULL ? vbPathJoin(dir, "images") : NULL;
        free(dir);
        if (default_dir == NULL) {
            free(text);
            return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory");
        }
        images_dir = default_dir;
    }
    st = vbDatasetParseCsv(text, len, path, images_dir, options, out, err);
    free(text);
    free(default_dir);
    return st;
}
