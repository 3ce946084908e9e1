/* Tests the COCO JSON loader on the bad-input set and the real datasets, whose CSV and COCO forms must agree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataset/coco_classes.h"
#include "dataset/dataset.h"
#include "vbtest.h"

static int hasWarning(const VbDataset *d, const char *text)
{
    for (int i = 0; i < d->warnings.count; i++)
        if (strstr(d->warnings.items[i], text) != NULL)
            return 1;
    return 0;
}

/* One file of the bad-input COCO set. With use_images the CSV image folder
 * is passed, so the loader checks names and sizes against the files. */
typedef struct CocoCase {
    const char *file;
    int use_images;
    vb_status status;
    const char *text;   /* substring of the error, or of one warning */
    int images, annotations;
} CocoCase;

static const CocoCase COCO_CASES[] = {
    {"good.json", 0, VB_OK, NULL, 3, 3},
    {"good.json", 1, VB_OK, "4 image files in", 3, 3},
    {"truncated.json", 0, VB_ERR_PARSE, "invalid JSON at line 24, column 5 (byte 300)", 0, 0},
    {"negative_wh.json", 0, VB_ERR_PARSE, "annotation 2: bbox width -80 is negative", 0, 0},
    {"unknown_image_id.json", 0, VB_ERR_PARSE, "annotation 3: image_id 77 is not in 'images'", 0, 0},
    {"missing_categories.json", 0, VB_OK, "no 'categories' list", 3, 3},
    {"unknown_category.json", 0, VB_ERR_PARSE, "annotation 1: category_id 1 is not in 'categories' (ids: 3)", 0, 0},
    {"duplicate_image_ids.json", 0, VB_ERR_PARSE, "image id 1 appears twice ('road_a.jpg' and 'road_c.jpg')", 0, 0},
    {"wrong_size.json", 0, VB_OK, NULL, 3, 3},
    {"wrong_size.json", 1, VB_OK, "'road_a.jpg' is 640x480 in the JSON but 320x240 in the file; using the file's size", 3, 3},
    {"file_name_with_folder.json", 0, VB_OK, NULL, 3, 3},
    {"file_name_with_folder.json", 1, VB_OK, "image 'images/road_b.jpg' not found; names are relative to the image folder", 2, 2},
    {"short_bbox.json", 0, VB_ERR_PARSE, "annotation 1: bbox has 3 numbers; expected [x, y, width, height]", 0, 0},
    {"detections_list_not_gt.json", 0, VB_ERR_PARSE, "this is a detections list, not a ground-truth file", 0, 0},
};

/* Runs every case, or with only set the cases of that one file. Returns the
 * number of cases run. */
static int testBadInputCoco(const char *shared, const char *only)
{
    int run = 0;
    char dir[4096], images[4160];
    snprintf(dir, sizeof dir, "%s/datasets/bad-inputs/coco", shared);
    snprintf(images, sizeof images, "%s/datasets/bad-inputs/csv/images", shared);
    for (size_t i = 0; i < sizeof COCO_CASES / sizeof COCO_CASES[0]; i++) {
        const CocoCase *c = &COCO_CASES[i];
        if (only != NULL && strcmp(c->file, only) != 0)
            continue;
        run++;
        char path[4352];
        snprintf(path, sizeof path, "%s/%s", dir, c->file);
        VbDataset *d = NULL;
        vb_error err = {0};
        vb_status st = vbDatasetLoad(path, c->use_images ? images : NULL, NULL, &d, &err);
        CHECK_MSG(st == c->status, "%s: status %d: %s", c->file, st, err.message);
        if (st != VB_OK) {
            CHECK(d == NULL);
            CHECK_MSG(strstr(err.message, c->file) != NULL, "%s: message lacks the file: %s",
                      c->file, err.message);
            CHECK_MSG(strstr(err.message, c->text) != NULL, "%s: %s", c->file, err.message);
            continue;
        }
        CHECK_STR(d->source_format, "coco");
        CHECK_MSG((int)d->image_count == c->images, "%s: %zu images", c->file, d->image_count);
        CHECK_MSG((int)d->annotation_count == c->annotations, "%s: %zu annotations", c->file,
                  d->annotation_count);
        if (c->text != NULL)
            CHECK_MSG(hasWarning(d, c->text), "%s: no warning '%s'", c->file, c->text);
        if (!c->use_images && strcmp(c->file, "missing_categories.json") != 0)
            CHECK_MSG(d->warnings.count == 0, "%s: %s", c->file, d->warnings.items[0]);
        CHECK_EQ_INT(d->category_count, 1);
        if (d->category_count == 1) {
            CHECK_EQ_INT(d->categories[0].id, 3);
            CHECK_STR(d->categories[0].name, "car");
        }
        /* Ids, area and iscrowd come through as the file gives them. */
        for (size_t k = 0; k < d->annotation_count; k++) {
            const VbAnnotation *a = &d->annotations[k];
            CHECK_NEAR(a->area, 4800, 0);
            CHECK_EQ_INT(a->iscrowd, 0);
            CHECK_EQ_INT(a->category_id, 3);
            CHECK(vbDatasetFindImage(d, a->image_id) != NULL);
        }
        if (strcmp(c->file, "wrong_size.json") == 0) {
            const VbDatasetImage *img = vbDatasetFindImage(d, 1);
            CHECK(img != NULL);
            if (img != NULL)
                CHECK_EQ_INT(img->width, c->use_images ? 320 : 640);
        }
        if (strcmp(c->file, "file_name_with_folder.json") == 0 && c->use_images) {
            CHECK_EQ_INT(d->missing_image_count, 1);
            CHECK(vbDatasetFindImage(d, 2) == NULL);
        }
        vbDatasetFree(d);
    }
    return run;
}

/* Writes text to gt.json in a temporary folder and loads it. */
static vb_status loadText(const char *text, VbDataset **d, vb_error *err)
{
    char dir[] = "/tmp/vb_test_coco_XXXXXX";
    if (mkdtemp(dir) == NULL)
        return VB_ERR_IO;
    char path[64];
    snprintf(path, sizeof path, "%s/gt.json", dir);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return VB_ERR_IO;
    fputs(text, f);
    fclose(f);
    vb_status st = vbDatasetLoad(path, NULL, NULL, d, err);
    remove(path);
    rmdir(dir);
    return st;
}

static void testFieldsAsGiven(void)
{
    const char *text =
        "{\"images\": [{\"id\": 42, \"file_name\": \"a.jpg\", \"width\": 10, \"height\": 20},"
        " {\"id\": 7, \"file_name\": \"b.jpg\", \"width\": 30, \"height\": 40}],"
        " \"annotations\": [{\"id\": 0, \"image_id\": 42, \"category_id\": 1, \"bbox\": [1.5, 2, 3, 4],"
        " \"area\": 99.5, \"iscrowd\": 1},"
        " {\"id\": 900, \"image_id\": 7, \"category_id\": 90, \"bbox\": [0, 0, 0, 5]}],"
        " \"categories\": [{\"id\": 90, \"name\": \"Toothbrush\"}, {\"id\": 1, \"name\": \"person\"}]}";
    VbDataset *d = NULL;
    vb_error err = {0};
    vb_status st = loadText(text, &d, &err);
    CHECK_MSG(st == VB_OK, "%s", err.message);
    if (d == NULL)
        return;
    CHECK_EQ_INT(d->image_count, 2);
    CHECK_EQ_INT(d->images[0].id, 42);
    CHECK_EQ_INT(d->images[1].height, 40);
    CHECK_EQ_INT(d->annotation_count, 2);
    CHECK_EQ_INT(d->annotations[0].id, 0);
    CHECK_NEAR(d->annotations[0].area, 99.5, 0);
    CHECK_EQ_INT(d->annotations[0].iscrowd, 1);
    CHECK_NEAR(d->annotations[0].x, 1.5, 0);
    CHECK_EQ_INT(d->annotations[1].id, 900);
    CHECK_NEAR(d->annotations[1].area, 0, 0);
    CHECK(hasWarning(d, "annotation 900: bbox has zero width"));
    CHECK_EQ_INT(d->categories[0].id, 1);
    CHECK_STR(d->categories[1].name, "toothbrush");
    vbDatasetFree(d);

    static const struct {
        const char *text, *want;
    } errors[] = {
        {"", "empty ground-truth file"},
        {"[1, 2]", "top level is an array"},
        {"[]", "this is a detections list"},
        {"{\"images\": []}", "expected an object with 'images' and 'annotations' arrays"},
        {"{\"images\": [{\"id\": 1, \"file_name\": \"a.jpg\", \"width\": 0, \"height\": 5}], \"annotations\": []}",
         "image 1: 'width' and 'height' must be integers from 1 to 1000000"},
        {"{\"images\": [{\"id\": 1, \"file_name\": \"a.jpg\", \"width\": 1, \"height\": 1}], \"annotations\": ["
         "{\"id\": 5, \"image_id\": 1, \"category_id\": 1, \"bbox\": [0, 0, 1, 1]},"
         "{\"id\": 5, \"image_id\": 1, \"category_id\": 1, \"bbox\": [0, 0, 1, 1]}],"
         " \"categories\": [{\"id\": 1, \"name\": \"person\"}]}",
         "annotation id 5 appears twice"},
        {"{\"images\": [{\"id\": 1, \"file_name\": \"a.jpg\", \"width\": 1, \"height\": 1}], \"annotations\": ["
         "{\"id\": 5, \"image_id\": 1, \"category_id\": 1, \"bbox\": [0, \"x\", 1, 1]}],"
         " \"categories\": [{\"id\": 1, \"name\": \"person\"}]}",
         "annotation 5: bbox[1] is not a finite number"},
        {"{\"images\": [], \"annotations\": [], \"images\": []}", "invalid JSON"},
    };
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++) {
        d = NULL;
        st = loadText(errors[i].text, &d, &err);
        CHECK_MSG(st != VB_OK, "accepted: %s", errors[i].text);
        CHECK(d == NULL);
        CHECK_MSG(strstr(err.message, errors[i].want) != NULL, "'%s' lacks '%s'", err.message,
                  errors[i].want);
        vbDatasetFree(d);
    }
}

static void testCocoClasses(void)
{
    CHECK_EQ_INT(vbCocoClasses[2].id, 3);
    CHECK_STR(vbCocoClasses[2].name, "car");
    CHECK_EQ_INT(vbCocoClasses[79].id, 90);
    const VbCocoClass *truck = vbCocoClassByName("truck");
    const VbCocoClass *motorcycle = vbCocoClassByName("motorcycle");
    const VbCocoClass *bus = vbCocoClassById(6);
    CHECK(truck != NULL);
    CHECK(motorcycle != NULL);
    CHECK(bus != NULL);
    if (truck != NULL)
        CHECK_EQ_INT(truck->id, 8);
    if (motorcycle != NULL)
        CHECK_EQ_INT(motorcycle->index, 3);
    if (bus != NULL)
        CHECK_STR(bus->name, "bus");
    CHECK(vbCocoClassById(12) == NULL);
    CHECK(vbCocoClassByName("vehicle") == NULL);
    for (int i = 0; i < VB_COCO_CLASS_COUNT; i++) {
        CHECK_EQ_INT(vbCocoClasses[i].index, i);
        if (i > 0)
            CHECK(vbCocoClasses[i].id > vbCocoClasses[i - 1].id);
    }
}

/* Returns nonzero when image file_name has a box equal to a's within 1e-3
 * px: gt_coco.json rounds coordinates to 4 decimals, gt.csv keeps them. */
static int hasSameBox(const VbDataset *d, const char *file_name, const VbAnnotation *a)
{
    for (size_t i = 0; i < d->image_count; i++) {
        if (strcmp(d->images[i].file_name, file_name) != 0)
            continue;
        for (size_t k = 0; k < d->annotation_count; k++) {
            const VbAnnotation *b = &d->annotations[k];
            if (b->image_id == d->images[i].id && b->category_id == a->category_id &&
                fabs(b->x - a->x) < 1e-3 && fabs(b->y - a->y) < 1e-3 &&
                fabs(b->w - a->w) < 1e-3 && fabs(b->h - a->h) < 1e-3)
                return 1;
        }
    }
    return 0;
}

static void testRealDatasets(const char *shared)
{
    static const struct {
        const char *name;
        size_t images, boxes;
    } sets[] = {
        {"kaggle-car-video", 120, 180},
        {"coco128-street", 40, 70},
        {"kitti-mini", 6, 6},
    };
    for (size_t s = 0; s < sizeof sets / sizeof sets[0]; s++) {
        char csv_path[4352], json_path[4352];
        snprintf(csv_path, sizeof csv_path, "%s/datasets/%s/gt.csv", shared, sets[s].name);
        snprintf(json_path, sizeof json_path, "%s/datasets/%s/gt_coco.json", shared, sets[s].name);
        char images[4352];
        snprintf(images, sizeof images, "%s/datasets/%s/images", shared, sets[s].name);
        VbDataset *csv = NULL, *coco = NULL;
        vb_error err = {0};
        vb_status st = vbDatasetLoad(csv_path, NULL, NULL, &csv, &err);
        CHECK_MSG(st == VB_OK, "%s", err.message);
        st = vbDatasetLoad(json_path, images, NULL, &coco, &err);
        CHECK_MSG(st == VB_OK, "%s", err.message);
        if (csv == NULL || coco == NULL) {
            vbDatasetFree(csv);
            vbDatasetFree(coco);
            continue;
        }
        CHECK_MSG(csv->image_count == sets[s].images, "%s csv: %zu images", sets[s].name,
                  csv->image_count);
        CHECK_MSG(csv->annotation_count == sets[s].boxes, "%s csv: %zu boxes", sets[s].name,
                  csv->annotation_count);
        CHECK_MSG(coco->image_count == sets[s].images, "%s coco: %zu images", sets[s].name,
                  coco->image_count);
        CHECK_MSG(coco->annotation_count == sets[s].boxes, "%s coco: %zu boxes", sets[s].name,
                  coco->annotation_count);
        CHECK_MSG(csv->warnings.count == 0, "%s csv: %s", sets[s].name,
                  csv->warnings.count ? csv->warnings.items[0] : "");
        CHECK_MSG(coco->warnings.count == 0, "%s coco: %s", sets[s].name,
                  coco->warnings.count ? coco->warnings.items[0] : "");
        CHECK_EQ_INT(csv->category_count, coco->category_count);

        /* Every COCO box is in the CSV form on the same image, and the sizes agree. */
        int missing = 0;
        for (size_t k = 0; k < coco->annotation_count; k++) {
            const VbAnnotation *a = &coco->annotations[k];
            const VbDatasetImage *img = vbDatasetFindImage(coco, a->image_id);
            missing += img == NULL || !hasSameBox(csv, img->file_name, a);
        }
        CHECK_MSG(missing == 0, "%s: %d COCO boxes not in the CSV", sets[s].name, missing);
        for (size_t i = 0; i < coco->image_count; i++) {
            const VbDatasetImage *ci = &coco->images[i];
            int found = 0;
            for (size_t j = 0; j < csv->image_count; j++)
                if (strcmp(csv->images[j].file_name, ci->file_name) == 0) {
                    found = 1;
                    CHECK_EQ_INT(csv->images[j].width, ci->width);
                    CHECK_EQ_INT(csv->images[j].height, ci->height);
                }
            CHECK_MSG(found, "%s: %s not in the CSV dataset", sets[s].name, ci->file_name);
        }
        vbDatasetFree(csv);
        vbDatasetFree(coco);
    }
}

/* With an argument (a file name of the bad-input COCO set) only that case
 * runs; tests/bad_inputs.cmake registers one test per case. */
int main(int argc, char **argv)
{
    if (argc > 1) {
        const char *shared = vbTestSharedDir();
        if (shared == NULL)
            return VB_TEST_SKIP;
        CHECK_MSG(testBadInputCoco(shared, argv[1]) > 0, "no expected outcome for '%s'; add it to COCO_CASES",
                  argv[1]);
        TEST_END();
    }
    testFieldsAsGiven();
    testCocoClasses();

    vb_error err = {0};
    VbDataset *d = NULL;
    CHECK_EQ_INT(vbDatasetLoad("/nonexistent/gt.json", NULL, NULL, &d, &err), VB_ERR_NOT_FOUND);
    CHECK(strstr(err.message, "/nonexistent/gt.json") != NULL);

    const char *shared = vbTestSharedDir();
    if (shared == NULL) {
        if (vbTestFailures)
            TEST_END();
        return VB_TEST_SKIP;
    }
    testBadInputCoco(shared, NULL);
    testRealDatasets(shared);
    TEST_END();
}
