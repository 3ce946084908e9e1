/* Tests the Pascal VOC XML loader: coordinates, difficult flags, sizes, malformed files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataset/dataset.h"
#include "vbtest.h"

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

static int hasWarning(const VbDataset *d, const char *text)
{
    for (int i = 0; i < d->warnings.count; i++)
        if (strstr(d->warnings.items[i], text) != NULL)
            return 1;
    return 0;
}

/* The images are the 320x240 road_a/b/c.jpg set, each with one car at
 * (96, 108)-(176, 168), (150, 108)-(230, 168), (204, 108)-(284, 168). */
static const char ROAD_A[] =
    "<?xml version=\"1.0\"?>\n<annotation>\n  <folder>VOC</folder>\n  <filename>road_a.jpg</filename>\n"
    "  <size><width>320</width><height>240</height><depth>3</depth></size>\n"
    "  <object>\n    <name> Car </name><pose>Left</pose><truncated>0</truncated><difficult>0</difficult>\n"
    "    <bndbox><xmin>97</xmin><ymin>109</ymin><xmax>176</xmax><ymax>168</ymax></bndbox>\n  </object>\n"
    "  <object>\n    <name>truck</name><difficult>1</difficult>\n"
    "    <bndbox><xmin>1</xmin><ymin>1</ymin><xmax>400</xmax><ymax>20</ymax></bndbox>\n  </object>\n"
    "</annotation>\n";

/* No <filename>: the image is found by the XML file's stem. */
static const char ROAD_B[] =
    "<annotation><size><width>640</width><height>240</height></size>"
    "<object><name>vehicle</name><bndbox><xmin>151</xmin><ymin>109</ymin><xmax>230</xmax>"
    "<ymax>168</ymax></bndbox></object></annotation>";

static void testVocFolder(const char *shared)
{
    char images[4096];
    snprintf(images, sizeof images, "%s/datasets/bad-inputs/csv/images", shared);
    char dir[] = "/tmp/vb_test_voc_XXXXXX";
    if (mkdtemp(dir) == NULL)
        return;
    writeFile(dir, "road_a.xml", ROAD_A);
    writeFile(dir, "road_b.xml", ROAD_B);

    VbDataset *d = NULL;
    vb_error err = {0};
    vb_status st = vbDatasetLoad(dir, images, NULL, &d, &err);
    CHECK_MSG(st == VB_OK, "%s", err.message);
    if (d != NULL) {
        CHECK_STR(d->source_format, "voc");
        CHECK_EQ_INT(d->image_count, 7);
        CHECK_EQ_INT(d->annotation_count, 3);
        if (d->annotation_count == 3) {
            /* 1-based inclusive 97..176 is the 0-based corner 96 and width 80. */
            const VbAnnotation *a = &d->annotations[0];
            CHECK_NEAR(a->x, 96, 0);
            CHECK_NEAR(a->y, 108, 0);
            CHECK_NEAR(a->w, 80, 0);
            CHECK_NEAR(a->h, 60, 0);
            CHECK_EQ_INT(a->category_id, 3);
            CHECK_EQ_INT(a->iscrowd, 0);
            /* difficult=1 becomes iscrowd=1; the box is clipped to the image. */
            CHECK_EQ_INT(d->annotations[1].iscrowd, 1);
            CHECK_EQ_INT(d->annotations[1].category_id, 8);
            CHECK_NEAR(d->annotations[1].w, 320, 0);
            CHECK_EQ_INT(d->annotations[2].category_id, 1001);
            CHECK_NEAR(d->annotations[2].x, 150, 0);
            const VbDatasetImage *img = vbDatasetFindImage(d, d->annotations[2].image_id);
            CHECK(img != NULL);
            if (img != NULL)
                CHECK_STR(img->file_name, "road_b.jpg");
        }
        CHECK(hasWarning(d, "road_a.xml: line 10, object 2: box (0, 0, 400, 20) extends past"));
        CHECK(hasWarning(d, "road_b.xml: <size> is 640x240 but 'road_b.jpg' is 320x240"));
        CHECK(hasWarning(d, "label 'vehicle' is not a COCO-80 class name"));
        CHECK_EQ_INT(d->warnings.count, 3);
    }
    vbDatasetFree(d);

    /* Broken files: each is an error naming the file. */
    static const struct {
        const char *text, *want;
    } errors[] = {
        {"<annotation><object><name>car</name>", "road_c.xml: invalid XML at line 1"},
        {"<voc></voc>", "road_c.xml: root element is not <annotation>"},
        {"<annotation><object><name></name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax>"
         "<ymax>2</ymax></bndbox></object></annotation>",
         "road_c.xml: line 1, object 1: missing or empty <name>"},
        {"<annotation><object><name>car</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax>"
         "</bndbox></object></annotation>",
         "lacks a numeric <ymax>"},
        {"<annotation><object><name>car</name><bndbox><xmin>9</xmin><ymin>1</ymin><xmax>2</xmax>"
         "<ymax>5</ymax></bndbox></object></annotation>",
         "object 1: xmin 9 > xmax 2"},
        {"<annotation><object><name>car</name><difficult>yes</difficult><bndbox><xmin>1</xmin>"
         "<ymin>1</ymin><xmax>2</xmax><ymax>5</ymax></bndbox></object></annotation>",
         "<difficult> is 'yes'; expected 0 or 1"},
    };
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++) {
        writeFile(dir, "road_c.xml", errors[i].text);
        d = NULL;
        st = vbDatasetLoad(dir, images, NULL, &d, &err);
        CHECK_MSG(st == VB_ERR_PARSE, "case %zu accepted", i);
        CHECK(d == NULL);
        CHECK_MSG(strstr(err.message, errors[i].want) != NULL, "case %zu: %s", i, err.message);
        vbDatasetFree(d);
    }

    /* A <filename> the folder lacks falls back to the XML file's stem with a
     * warning; with no image of that stem either, the name is listed as missing. */
    writeFile(dir, "road_c.xml", "<annotation><filename>gone.jpg</filename></annotation>");
    writeFile(dir, "zzz.xml", "<annotation><filename>gone.jpg</filename></annotation>");
    st = vbDatasetLoad(dir, images, NULL, &d, &err);
    CHECK_EQ_INT(st, VB_OK);
    if (d != NULL) {
        CHECK(hasWarning(d, "road_c.xml: <filename> 'gone.jpg' is not in the image folder; using 'road_c.jpg'"));
        CHECK_EQ_INT(d->missing_image_count, 1);
        if (d->missing_image_count == 1)
            CHECK_STR(d->missing_images[0], "gone.jpg");
    }
    vbDatasetFree(d);
    removeFile(dir, "zzz.xml");

    /* A folder with both label formats, each named like an image, is
     * rejected. (A .txt file named like no image does not count.) */
    writeFile(dir, "road_a.txt", "2 0.5 0.5 0.1 0.1\n");
    st = vbDatasetLoad(dir, images, NULL, &d, &err);
    CHECK_EQ_INT(st, VB_ERR_PARSE);
    CHECK_MSG(strstr(err.message, "both .txt (YOLO) and .xml (Pascal VOC)") != NULL, "%s",
              err.message);
    vbDatasetFree(d);
    d = NULL;
    removeFile(dir, "road_a.txt");

    removeFile(dir, "road_a.xml");
    removeFile(dir, "road_b.xml");
    removeFile(dir, "road_c.xml");
    rmdir(dir);
}

int main(void)
{
    const char *shared = vbTestSharedDir();
    if (shared == NULL)
        return VB_TEST_SKIP;
    testVocFolder(shared);
    TEST_END();
}
