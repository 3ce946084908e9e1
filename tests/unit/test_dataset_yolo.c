/* Tests the YOLO label-folder loader on the bad-input set and on class names files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataset/dataset.h"
#include "vbtest.h"

/* One case folder of the bad-input YOLO set, all labelling road_a.jpg. */
typedef struct YoloCase {
    const char *folder;
    vb_status status;
    const char *text;   /* substring of the error, or of the only warning */
    int annotations;
} YoloCase;

static const YoloCase YOLO_CASES[] = {
    {"good", VB_OK, NULL, 1},
    {"empty", VB_OK, NULL, 0},
    {"out_of_range", VB_ERR_PARSE, "road_a.txt: line 1: cx 1.2 is outside 0..1", 0},
    {"pixel_coords", VB_ERR_PARSE, "road_a.txt: line 1: cx 136 is outside 0..1 (pixel coordinates?); YOLO labels are normalised", 0},
    {"four_fields", VB_ERR_PARSE, "road_a.txt: line 1: 4 fields; expected 5: class cx cy w h", 0},
    {"bad_class", VB_ERR_PARSE, "road_a.txt: line 1: class -1 is out of range 0..79", 0},
    {"zero_size", VB_OK, "road_a.txt: line 1: box has zero width; skipped", 0},
    {"with_score", VB_ERR_PARSE, "road_a.txt: line 1: 6 fields; a sixth field (a score?)", 0},
    {"comma_separated", VB_ERR_PARSE, "road_a.txt: line 1: fields are separated by commas", 0},
};

/* Runs every case, or with only set the cases of that one file. Returns the
 * number of cases run. */
static int testBadInputYolo(const char *shared, const char *only)
{
    int run = 0;
    char images[4096];
    snprintf(images, sizeof images, "%s/datasets/bad-inputs/csv/images", shared);
    for (size_t i = 0; i < sizeof YOLO_CASES / sizeof YOLO_CASES[0]; i++) {
        const YoloCase *c = &YOLO_CASES[i];
        if (only != NULL && strcmp(c->folder, only) != 0)
            continue;
        run++;
        char dir[4352];
        snprintf(dir, sizeof dir, "%s/datasets/bad-inputs/yolo/%s", shared, c->folder);
        VbDataset *d = NULL;
        vb_error err = {0};
        vb_status st = vbDatasetLoad(dir, images, NULL, &d, &err);
        CHECK_MSG(st == c->status, "%s: status %d: %s", c->folder, st, err.message);
        if (st != VB_OK) {
            CHECK(d == NULL);
            CHECK_MSG(strstr(err.message, c->text) != NULL, "%s: %s", c->folder, err.message);
            continue;
        }
        CHECK_STR(d->source_format, "yolo");
        CHECK_EQ_INT(d->image_count, 7);
        CHECK_MSG((int)d->annotation_count == c->annotations, "%s: %zu boxes", c->folder,
                  d->annotation_count);
        CHECK_EQ_INT(d->warnings.count, c->text != NULL ? 1 : 0);
        if (c->text != NULL && d->warnings.count > 0)
            CHECK_MSG(strstr(d->warnings.items[0], c->text) != NULL, "%s: %s", c->folder,
                      d->warnings.items[0]);
        if (d->annotation_count == 1) {
            /* 2 0.425 0.575 0.25 0.25 on 320x240 is the car at (96, 108)-(176, 168). */
            const VbAnnotation *a = &d->annotations[0];
            CHECK_EQ_INT(a->category_id, 3);
            CHECK_NEAR(a->x, 96, 1e-6);
            CHECK_NEAR(a->y, 108, 1e-6);
            CHECK_NEAR(a->w, 80, 1e-6);
            CHECK_NEAR(a->h, 60, 1e-6);
            const VbDatasetImage *img = vbDatasetFindImage(d, a->image_id);
            CHECK(img != NULL);
            if (img != NULL)
                CHECK_STR(img->file_name, "road_a.jpg");
            CHECK_EQ_INT(d->category_count, 1);
            if (d->category_count == 1)
                CHECK_STR(d->categories[0].name, "car");
        }
        vbDatasetFree(d);
    }
    return run;
}

static void writeFile(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f != NULL) {
        fputs(text, f);
        fclose(f);
    }
}

static void removeFile(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    remove(path);
}

/* A label folder with a names file: names map to COCO ids where they are
 * COCO names and to ids after 1000 (1001 + index) otherwise. */
static void testClassNamesFiles(const char *shared)
{
    char images[4096];
    snprintf(images, sizeof images, "%s/datasets/bad-inputs/csv/images", shared);
    char dir[] = "/tmp/vb_test_yolo_XXXXXX";
    if (mkdtemp(dir) == NULL)
        return;
    writeFile(dir, "road_a.txt", "0 0.425 0.575 0.25 0.25\r\n\n1 0.5 0.5 1 1\n");
    writeFile(dir, "road_b.txt", "1 0.95 0.5 0.2 0.2\n");
    writeFile(dir, "orphan.txt", "0 0.5 0.5 0.1 0.1\n");

    static const char *const names_files[][2] = {
        {"classes.txt", "Truck\ncrane\n\n"},
        {"data.yaml", "path: x\nnames: ['truck', \"crane\"]  # two\n"},
        {"data.yaml", "nc: 2\nnames:\n  - truck\n  - crane\ntrain: a\n"},
        {"data.yaml", "names:\n  0: truck\n  1: crane\n"},
    };
    for (size_t i = 0; i < sizeof names_files / sizeof names_files[0]; i++) {
        writeFile(dir, names_files[i][0], names_files[i][1]);
        VbDataset *d = NULL;
        vb_error err = {0};
        vb_status st = vbDatasetLoad(dir, images, NULL, &d, &err);
        CHECK_MSG(st == VB_OK, "names file %zu: %s", i, err.message);
        removeFile(dir, names_files[i][0]);
        if (d == NULL)
            continue;
        CHECK_EQ_INT(d->annotation_count, 3);
        CHECK_EQ_INT(d->category_count, 2);
        if (d->category_count == 2) {
            CHECK_EQ_INT(d->categories[0].id, 8);
            CHECK_STR(d->categories[0].name, "truck");
            CHECK_EQ_INT(d->categories[1].id, 1002);
            CHECK_STR(d->categories[1].name, "crane");
        }
        /* The box at cx 0.95, w 0.2 passes the right edge by 16 px and is clipped. */
        if (d->annotation_count == 3) {
            CHECK_NEAR(d->annotations[2].x, 272, 1e-6);
            CHECK_NEAR(d->annotations[2].w, 48, 1e-6);
        }
        CHECK_EQ_INT(d->missing_image_count, 1);
        if (d->missing_image_count == 1)
            CHECK_STR(d->missing_images[0], "orphan");
        CHECK_EQ_INT(d->warnings.count, 2);
        vbDatasetFree(d);
    }

    /* The option overrides the search, and class indices are checked against it. */
    writeFile(dir, "names.txt", "car\n");
    VbDatasetOptions options = {.class_names_file = NULL};
    char names_path[512];
    snprintf(names_path, sizeof names_path, "%s/names.txt", dir);
    options.class_names_file = names_path;
    VbDataset *d = NULL;
    vb_error err = {0};
    vb_status st = vbDatasetLoadYolo(dir, images, &options, &d, &err);
    CHECK_EQ_INT(st, VB_ERR_PARSE);
    CHECK_MSG(strstr(err.message, "class 1 is out of range 0..0") != NULL, "%s", err.message);
    vbDatasetFree(d);

    writeFile(dir, "names.txt", "car\n\ntruck\n");
    st = vbDatasetLoadYolo(dir, images, &options, &d, &err);
    CHECK_EQ_INT(st, VB_ERR_PARSE);
    CHECK_MSG(strstr(err.message, "line 2 is blank") != NULL, "%s", err.message);
    vbDatasetFree(d);

    removeFile(dir, "names.txt");
    removeFile(dir, "road_a.txt");
    removeFile(dir, "road_b.txt");
    removeFile(dir, "orphan.txt");
    rmdir(dir);
}

/* With an argument (a case folder of the bad-input YOLO set) only that case
 * runs; tests/bad_inputs.cmake registers one test per case. */
int main(int argc, char **argv)
{
    if (argc > 1) {
        const char *shared = vbTestSharedDir();
        if (shared == NULL)
            return VB_TEST_SKIP;
        CHECK_MSG(testBadInputYolo(shared, argv[1]) > 0, "no expected outcome for '%s'; add it to YOLO_CASES",
                  argv[1]);
        TEST_END();
    }
    const char *shared = vbTestSharedDir();
    if (shared == NULL)
        return VB_TEST_SKIP;
    testBadInputYolo(shared, NULL);
    testClassNamesFiles(shared);
    TEST_END();
}
