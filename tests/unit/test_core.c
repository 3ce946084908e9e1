/* Unit tests for the core helpers: status names, checked arithmetic, capped buffers, files. */
#include <stdint.h>

#include "core/core.h"
#include "vbtest.h"

static void testStatusNames(void)
{
    for (int s = 0; s < VB_STATUS_COUNT; s++)
        CHECK(strcmp(vb_status_to_string((vb_status)s), "unknown status") != 0);
    CHECK_STR(vb_status_to_string((vb_status)999), "unknown status");
}

static void testCheckedMath(void)
{
    size_t r = 0;
    CHECK(vbMulSize(SIZE_MAX, 2, &r) == 1);
    CHECK(vbMulSize(3, 4, &r) == 0 && r == 12);
    CHECK(vbAddSize(SIZE_MAX, 1, &r) == 1);
    int64_t q = 0;
    CHECK(vbMulI64((int64_t)1 << 40, (int64_t)1 << 30, &q) == 1);
}

static void testBufferCap(void)
{
    VbBuf buf;
    vbBufInit(&buf, 8);
    vb_error err;
    CHECK(vbBufAppend(&buf, "abcd", 4, &err) == VB_OK);
    CHECK(vbBufPrintf(&buf, &err, "%d", 123) == VB_OK);
    CHECK_STR(buf.data, "abcd123");
    CHECK(vbBufAppend(&buf, "xy", 2, &err) == VB_ERR_LIMIT);
    CHECK_EQ_INT(buf.len, 7);
    vbBufFree(&buf);
    vbBufFree(NULL);
}

static void testFileErrors(void)
{
    vb_error err;
    char *data = NULL;
    CHECK(vbFileRead("/nonexistent/file", 100, &data, NULL, &err) == VB_ERR_NOT_FOUND);
    CHECK(strstr(err.message, "/nonexistent/file") != NULL);
    VbMappedFile map;
    CHECK(vbFileMap("/nonexistent/file", &map, &err) == VB_ERR_NOT_FOUND);
    vbFileUnmap(&map);
    vbFileUnmap(NULL);
}

int main(void)
{
    testStatusNames();
    testCheckedMath();
    testBufferCap();
    testFileErrors();
    TEST_END();
}
