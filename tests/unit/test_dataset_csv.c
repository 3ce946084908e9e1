/* Tests the CSV ground-truth loader: in-memory edge cases and every file of the bad-input CSV set. */
#include <stdio.h>
#include <string.h>

#include "dataset/dataset.h"
#include "vbtest.h"

/* Parses text without an image folder; returns the status and fills *out. */
static vb_status parse(const char *text, const VbDatasetOptions *options, VbDataset **out,
                       vb_error *err)
{
    return vbDatasetParseCsv(text, strlen(text), "t.csv", NULL, options, out, err);
}

static int hasWarning(const VbDataset *d, const char *text)
{
    for (int i = 0; i < d->warnings.count; i++)
        if (strstr(d->warnings.items[i], text) != NULL)
            return 1;
    return 0;
}

static void checkBox(const VbAnnotation *a, double x, double y, double w, double h)
{
    CHECK_NEAR(a->x, x, 1e-9);
    CHECK_NEAR(a->y, y, 1e-9);
    CHECK_NEAR(a->w, w, 1e-9);
    CHECK_NEAR(a->h, h, 1e-9);
    CHECK_NEAR(a->area, w * h, 1e-9);
}

/* Expects parse(text) to fail with a message containing want. */
static void expectError(const char *text, const char *want)
{
    VbDataset *d = NULL;
    vb_error err = {0};
    vb_status st = parse(text, NULL, &d, &err);
    CHECK_MSG(st != VB_OK, "accepted: %s", text);
    CHECK(d == NULL);
    CHECK_MSG(strstr(err.message, want) != NULL, "message '%s' lacks '%s'", err.message, want);
    vbDatasetFree(d);
}

static void testQuotingAndLayout(void)
{
    VbDataset *d = NULL;
    vb_error err = {0};
    /* BOM, blank lines before the header, quoted separator, "" escapes, a
     * line break inside quotes, CRLF, no final newline. */
    const char *text = "\xEF\xBB\xBF\n  \n Image , XMIN,ymin,xmax,ymax,label\r\n"
                       "\"a, b.jpg\",1,2,11,22,car\r\n"
                       "\"say \"\"hi\"\".jpg\" , 1.5 ,2e1, 3.5, 40 , \" Truck \"\r\n"
                       "\"two\nlines.jpg\",0,0,1,1,bus";
    vb_status st = parse(text, NULL, &d, &err);
    CHECK_MSG(st == VB_OK, "%s", err.message);
    if (d == NULL)
        return;
    CHECK_EQ_INT(d->image_count, 3);
    CHECK_EQ_INT(d->annotation_count, 3);
    CHECK_STR(d->images[0].file_name, "a, b.jpg");
    CHECK_STR(d->images[1].file_name, "say \"hi\".jpg");
    CHECK_STR(d->images[2].file_name, "two\nlines.jpg");
    checkBox(&d->annotations[0], 1, 2, 10, 20);
    checkBox(&d->annotations[1], 1.5, 20, 2, 20);
    CHECK_EQ_INT(d->annotations[0].category_id, 3);
    CHECK_EQ_INT(d->annotations[1].category_id, 8); /* labels are trimmed even inside quotes */
    CHECK_EQ_INT(d->annotations[2].category_id, 6);
    CHECK_EQ_INT(d->warnings.count, 0);
    vbDatasetFree(d);
}

static void testLabelsAndCategories(void)
{
    VbDataset *d = NULL;
    vb_error err = {0};
    const char *text = "image,xmin,ymin,xmax,ymax,label\n"
                       "a.jpg,0,0,1,1,Car\n"
                       "a.jpg,0,0,2,2, CAR \n"
                       "a.jpg,0,0,3,3,vehicle\n"
                       "a.jpg,0,0,4,4,Vehicle\n"
                       "a.jpg,0,0,5,5,bus\n";
    CHECK_EQ_INT(parse(text, NULL, &d, &err), VB_OK);
    if (d == NULL)
        return;
    CHECK_EQ_INT(d->category_count, 3);
    CHECK_EQ_INT(d->categories[0].id, 3);
    CHECK_STR(d->categories[0].name, "car");
    CHECK_EQ_INT(d->categories[1].id, 6);
    CHECK_EQ_INT(d->categories[2].id, 1001);
    CHECK_STR(d->categories[2].name, "vehicle");
    CHECK_EQ_INT(d->annotations[1].category_id, 3);
    CHECK_EQ_INT(d->annotations[3].category_id, 1001);
    CHECK_EQ_INT(d->warnings.count, 1);
    CHECK(hasWarning(d, "t.csv: line 4: label 'vehicle' is not a COCO-80 class name"));
    vbDatasetFree(d);

    /* An allowed list replaces the COCO-80 names as the expected set. */
    VbDatasetOptions options = {.allowed_labels = "Vehicle, car"};
    CHECK_EQ_INT(parse(text, &options, &d, &err), VB_OK);
    if (d != NULL) {
        CHECK_EQ_INT(d->warnings.count, 1);
        CHECK(hasWarning(d, "line 6: label 'bus' is not in the allowed labels"));
    }
    vbDatasetFree(d);

    /* Without a label column every box gets the default label. */
    options = (VbDatasetOptions){.default_label = "Truck"};
    CHECK_EQ_INT(parse("image,xmin,ymin,xmax,ymax\na.jpg,0,0,1,1\n", &options, &d, &err), VB_OK);
    if (d != NULL) {
        CHECK_EQ_INT(d->category_count, 1);
        CHECK_EQ_INT(d->categories[0].id, 8);
    }
    vbDatasetFree(d);
    CHECK_EQ_INT(parse("image,xmin,ymin,xmax,ymax\na.jpg,0,0,1,1\n", NULL, &d, &err), VB_OK);
    if (d != NULL)
        CHECK_STR(d->categories[0].name, "car");
    vbDatasetFree(d);
}

static void testNumbers(void)
{
    VbDataset *d = NULL;
    vb_error err = {0};
    CHECK_EQ_INT(parse("image;xmin;ymin;xmax;ymax\na.jpg;1,5;+2;3.25;4E0\n", NULL, &d, &err),
                 VB_OK);
    if (d != NULL)
        checkBox(&d->annotations[0], 1.5, 2, 1.75, 2);
    vbDatasetFree(d);

    expectError("image,xmin,ymin,xmax,ymax\na.jpg,inf,0,1,1\n", "line 2, column 2 (xmin): 'inf'");
    expectError("image,xmin,ymin,xmax,ymax\na.jpg,0,0x10,1,1\n", "line 2, column 3 (ymin): '0x10'");
    expectError("image,xmin,ymin,xmax,ymax\na.jpg,0,0,,1\n", "line 2, column 4 (xmax): ''");
    expectError("image,xmin,ymin,xmax,ymax\na.jpg,0,0,1,1e999\n", "column 5 (ymax)");
    expectError("image,xmin,ymin,xmax,ymax\na.jpg,0,0,1,-\n", "column 5 (ymax)");
    /* A decimal comma is read only with the ';' separator. */
    expectError("image\txmin\tymin\txmax\tymax\na.jpg\t1,5\t0\t2\t2\n", "column 2 (xmin): '1,5'");
}

static void testStructureErrors(void)
{
    expectError("", "t.csv: empty ground-truth file");
    expectError("\n \n", "contains only blank lines");
    expectError("\xFF\xFEi\0m\0", "UTF-16 not supported; save as UTF-8");
    expectError("image,xmin,ymin,xmax,ymax\na\xC3.jpg,0,0,1,1\n", "line 2: not valid UTF-8");
    expectError("image,xmin,ymin,xmax,ymax\na\xC0\xAF.jpg,0,0,1,1\n", "line 2: not valid UTF-8");
    expectError("a.jpg,1,2,3,4,car\n", "line 1 is not a header; expected image,xmin,ymin,xmax,ymax,label");
    expectError("image,x,y,w,h\n", "header has no 'xmin' column");
    expectError("image,xmin,ymin,xmax,ymax,XMIN\n", "column 'xmin' appears twice");
    expectError("image,xmin,ymin,xmax,ymax\n\"a.jpg,0,0,1,1\n", "line 2: quoted field never closed");
    expectError("image,xmin,ymin,xmax,ymax\n\"a\"b.jpg,0,0,1,1\n", "unexpected 'b' after a closing quote");
    expectError("image,xmin,ymin,xmax,ymax\na, b.jpg,0,0,1,1\n", "line 2: 6 fields, but the header has 5");
    expectError("image,xmin,ymin,xmax,ymax\na.jpg,0,0,1\n", "line 2: 4 fields");
    expectError("image,xmin,ymin,xmax,ymax\n,0,0,1,1\n", "line 2, column 1 (image): empty image name");
    expectError("image,xmin,ymin,xmax,ymax,label\na.jpg,0,0,1,1,\n", "line 2, column 6 (label): empty label");
    expectError("image,xmin,ymin,xmax,ymax\na.jpg,5,0,1,1\n", "line 2: xmin 5 > xmax 1");
    expectError("image,xmin,ymin,xmax,ymax\na.jpg,0,5,1,1\n", "line 2: ymin 5 > ymax 1");
}

static void testDuplicatesAndZeroSize(void)
{
    VbDataset *d = NULL;
    vb_error err = {0};
    const char *text = "image,xmin,ymin,xmax,ymax,label\n"
                       "a.jpg,0,0,1,1,car\n"
                       "a.jpg,0,0,1,1,bus\n"
                       "a.jpg,0,0,1,1,car\n"
                       "b.jpg,0,0,1,1,car\n"
                       "a.jpg,3,3,3,9,car\n"
                       "a.jpg,0,0,1,1,CAR\n";
    CHECK_EQ_INT(parse(text, NULL, &d, &err), VB_OK);
    if (d == NULL)
        return;
    CHECK_EQ_INT(d->annotation_count, 3);
    CHECK(hasWarning(d, "line 4 repeats the box and label of line 2"));
    CHECK(hasWarning(d, "line 7 repeats the box and label of line 2"));
    CHECK(hasWarning(d, "line 6: box has zero width; skipped"));
    CHECK_EQ_INT(d->warnings.count, 3);
    for (size_t i = 0; i < d->annotation_count; i++)
        CHECK_EQ_INT(d->annotations[i].id, (int64_t)i + 1);
    vbDatasetFree(d);
}

/* One file of the bad-input CSV set and what loading it must give. */
typedef struct CsvCase {
    const char *file;
    vb_status status;
    const char *text;    /* substring of the error, or of one warning */
    int annotations;     /* expected boxes when accepted */
    int warnings;        /* expected warning count when accepted */
} CsvCase;

static const CsvCase CSV_CASES[] = {
    {"good.csv", VB_OK, NULL, 3, 0},
    {"missing_header.csv", VB_ERR_PARSE, "line 1 is not a header; expected image,xmin,ymin,xmax,ymax,label", 0, 0},
    {"extra_columns.csv", VB_OK, "ignoring unknown columns 'score', 'occluded', 'note'", 3, 1},
    {"reordered_columns.csv", VB_OK, NULL, 3, 0},
    {"xmin_gt_xmax.csv", VB_ERR_PARSE, "line 3: xmin 230 > xmax 150", 0, 0},
    {"negative_coords.csv", VB_OK, "line 4: box (-80, -80, -10, -10) lies entirely outside", 2, 2},
    {"beyond_image.csv", VB_OK, "line 3: box (300, 200, 360, 260) extends past the 320x240 image", 3, 2},
    {"nan.csv", VB_ERR_PARSE, "line 3, column 2 (xmin): 'NaN' is not a finite number", 0, 0},
    {"empty.csv", VB_ERR_PARSE, "empty ground-truth file", 0, 0},
    {"header_only.csv", VB_OK, "header but no boxes", 0, 1},
    {"bom.csv", VB_OK, NULL, 3, 0},
    {"crlf.csv", VB_OK, NULL, 3, 0},
    {"no_final_newline.csv", VB_OK, NULL, 3, 0},
    {"semicolon.csv", VB_OK, NULL, 3, 0},
    {"tab_separated.csv", VB_OK, NULL, 3, 0},
    {"duplicate_rows.csv", VB_OK, "line 6 repeats the box and label of line 4", 3, 3},
    {"missing_images.csv", VB_OK, "'ROAD_C.JPG' not found; 'road_c.jpg' differs only in letter case", 1, 3},
    {"unicode_names.csv", VB_OK, NULL, 4, 0},
    {"latin1.csv", VB_ERR_PARSE, "line 3: not valid UTF-8 (byte 0xe9", 0, 0},
    {"utf16.csv", VB_ERR_PARSE, "UTF-16 not supported; save as UTF-8", 0, 0},
    {"label_variants.csv", VB_ERR_PARSE, "line 5, column 6 (label): empty label", 0, 0},
    {"blank_lines_spaces.csv", VB_OK, NULL, 3, 0},
};

static const VbAnnotation *boxOf(const VbDataset *d, const char *file_name)
{
    for (size_t i = 0; i < d->image_count; i++)
        if (strcmp(d->images[i].file_name, file_name) == 0)
            for (size_t k = 0; k < d->annotation_count; k++)
                if (d->annotations[k].image_id == d->images[i].id)
                    return &d->annotations[k];
    return NULL;
}

/* Runs every case, or with only set the cases of that one file. Returns the
 * number of cases run. */
static int testBadInputCsv(const char *shared, const char *only)
{
    int run = 0;
    char dir[4096], images[4160];
    snprintf(dir, sizeof dir, "%s/datasets/bad-inputs/csv", shared);
    snprintf(images, sizeof images, "%s/images", dir);
    for (size_t i = 0; i < sizeof CSV_CASES / sizeof CSV_CASES[0]; i++) {
        const CsvCase *c = &CSV_CASES[i];
        if (only != NULL && strcmp(c->file, only) != 0)
            continue;
        run++;
        char path[4352];
        snprintf(path, sizeof path, "%s/%s", dir, c->file);
        VbDataset *d = NULL;
        vb_error err = {0};
        vb_status st = vbDatasetLoadCsv(path, images, NULL, &d, &err);
        CHECK_MSG(st == c->status, "%s: status %d: %s", c->file, st, err.message);
        if (st != VB_OK) {
            CHECK_MSG(strstr(err.message, c->file) != NULL, "%s: message lacks the file: %s", c->file,
                      err.message);
            CHECK_MSG(c->text == NULL || strstr(err.message, c->text) != NULL, "%s: %s", c->file,
                      err.message);
            continue;
        }
        CHECK_STR(d->source_format, "csv");
        CHECK_MSG(d->image_count == 7, "%s: %zu images", c->file, d->image_count);
        CHECK_MSG((int)d->annotation_count == c->annotations, "%s: %zu boxes", c->file,
                  d->annotation_count);
        CHECK_MSG(d->warnings.count == c->warnings, "%s: %d warnings (first: %s)", c->file,
                  d->warnings.count, d->warnings.count ? d->warnings.items[0] : "");
        if (c->text != NULL)
            CHECK_MSG(hasWarning(d, c->text), "%s: no warning '%s'", c->file, c->text);
        for (int w = 0; w < d->warnings.count; w++)
            CHECK_MSG(strstr(d->warnings.items[w], "line") == NULL ||
                          strstr(d->warnings.items[w], c->file) != NULL,
                      "%s: warning lacks the file: %s", c->file, d->warnings.items[w]);

        /* Accepted files that mirror good.csv give its boxes. */
        const VbAnnotation *a = boxOf(d, "road_a.jpg");
        if (c->annotations == 3 && strcmp(c->file, "beyond_image.csv") != 0 &&
            strcmp(c->file, "semicolon.csv") != 0) {
            CHECK_MSG(a != NULL, "%s: no box on road_a.jpg", c->file);
            if (a != NULL)
                checkBox(a, 96, 108, 80, 60);
            a = boxOf(d, "road_c.jpg");
            if (a != NULL)
                checkBox(a, 204, 108, 80, 60);
            CHECK_EQ_INT(d->category_count, 1);
            CHECK_EQ_INT(d->categories[0].id, 3);
        }
        if (strcmp(c->file, "semicolon.csv") == 0 && (a = boxOf(d, "road_c.jpg")) != NULL)
            checkBox(a, 10.5, 20.25, 50.25, 70.25);
        if (strcmp(c->file, "negative_coords.csv") == 0 && (a = boxOf(d, "road_b.jpg")) != NULL)
            checkBox(a, 0, 0, 40, 60);
        if (strcmp(c->file, "beyond_image.csv") == 0) {
            if ((a = boxOf(d, "road_b.jpg")) != NULL)
                checkBox(a, 300, 200, 20, 40);
            if ((a = boxOf(d, "road_c.jpg")) != NULL)
                checkBox(a, 0, 0, 320, 240);
        }
        if (strcmp(c->file, "missing_images.csv") == 0) {
            CHECK_EQ_INT(d->missing_image_count, 3);
            if (d->missing_image_count == 3) {
                CHECK_STR(d->missing_images[0], "no_such_file.jpg");
                CHECK_STR(d->missing_images[1], "images/road_b.jpg");
                CHECK_STR(d->missing_images[2], "ROAD_C.JPG");
            }
        }
        if (strcmp(c->file, "unicode_names.csv") == 0) {
            CHECK((a = boxOf(d, "road, left.jpg")) != NULL);
            if (a != NULL)
                checkBox(a, 19, 108, 80, 60);
            CHECK(boxOf(d, "stra\xC3\x9F" "e_\xC3\xBC.jpg") != NULL);
            CHECK(boxOf(d, "\xE8\xBB\x8A\xE4\xB8\xA1.jpg") != NULL);
            CHECK(boxOf(d, "caf\xC3\xA9 \xC3\xA9.jpg") != NULL);
        }
        /* Every image of the folder has its header size. */
        for (size_t k = 0; k < d->image_count; k++) {
            CHECK_EQ_INT(d->images[k].width, 320);
            CHECK_EQ_INT(d->images[k].height, 240);
            CHECK_EQ_INT(d->images[k].id, (int64_t)k + 1);
        }
        vbDatasetFree(d);
    }
    return run;
}

/* The bad-input image folder as an image folder: files whose header cannot
 * be read are left out and listed; header warnings reach the dataset. */
static void testUnreadableImages(const char *shared)
{
    char csv[4096], images[4096];
    snprintf(csv, sizeof csv, "%s/datasets/bad-inputs/csv/header_only.csv", shared);
    snprintf(images, sizeof images, "%s/datasets/bad-inputs/images", shared);
    VbDataset *d = NULL;
    vb_error err = {0};
    vb_status st = vbDatasetLoadCsv(csv, images, NULL, &d, &err);
    CHECK_MSG(st == VB_OK, "%s", err.message);
    if (d == NULL)
        return;
    /* bad_crc_ihdr.png, text_named.jpg and zero_bytes.jpg; the IDAT CRC and
     * the truncated JPEG show only when the pixels are decoded. */
    CHECK_EQ_INT(d->unreadable_image_count, 3);
    CHECK_EQ_INT(d->image_count, 16);
    for (size_t i = 0; i < d->unreadable_image_count; i++)
        CHECK_MSG(strstr(d->unreadable_images[i], "bad_crc_ihdr.png: ") == d->unreadable_images[i] ||
                      strstr(d->unreadable_images[i], "text_named.jpg: ") == d->unreadable_images[i] ||
                      strstr(d->unreadable_images[i], "zero_bytes.jpg: ") == d->unreadable_images[i],
                  "%s", d->unreadable_images[i]);
    CHECK(hasWarning(d, "EXIF orientation 6 ignored"));
    CHECK(hasWarning(d, "JPEG data despite its extension"));
    CHECK(hasWarning(d, "image skipped: "));
    vbDatasetFree(d);

    /* Rows naming an unreadable file are skipped, and the file is not "missing". */
    const char *text = "image,xmin,ymin,xmax,ymax\ntext_named.jpg,0,0,1,1\n";
    st = vbDatasetParseCsv(text, strlen(text), "rows.csv", images, NULL, &d, &err);
    CHECK_MSG(st == VB_OK, "%s", err.message);
    if (d == NULL)
        return;
    CHECK_EQ_INT(d->annotation_count, 0);
    CHECK_EQ_INT(d->missing_image_count, 0);
    CHECK(hasWarning(d, "rows.csv: line 2: image 'text_named.jpg' could not be read"));
    vbDatasetFree(d);
}

/* With an argument (a file name of the bad-input CSV set) only that case
 * runs; tests/bad_inputs.cmake registers one test per case. */
int main(int argc, char **argv)
{
    if (argc > 1) {
        const char *shared = vbTestSharedDir();
        if (shared == NULL)
            return VB_TEST_SKIP;
        CHECK_MSG(testBadInputCsv(shared, argv[1]) > 0, "no expected outcome for '%s'; add it to CSV_CASES",
                  argv[1]);
        TEST_END();
    }
    testQuotingAndLayout();
    testLabelsAndCategories();
    testNumbers();
    testStructureErrors();
    testDuplicatesAndZeroSize();

    const char *shared = vbTestSharedDir();
    if (shared == NULL) {
        if (vbTestFailures)
            TEST_END();
        return VB_TEST_SKIP;
    }
    testBadInputCsv(shared, NULL);
    testUnreadableImages(shared);
    TEST_END();
}
