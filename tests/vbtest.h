/* A minimal test harness: CHECK macros that report file and line, and helpers for shared data. */
#ifndef VB_TEST_H
#define VB_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* CTest treats this exit code as "skipped" (SKIP_RETURN_CODE). */
#define VB_TEST_SKIP 77

static int vbTestFailures = 0;

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            vbTestFailures++;                                                    \
        }                                                                        \
    } while (0)

#define CHECK_MSG(cond, ...)                                                     \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                        \
            fputc('\n', stderr);                                                 \
            vbTestFailures++;                                                    \
        }                                                                        \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                       \
    do {                                                                         \
        long long va_ = (long long)(a), vb_ = (long long)(b);                    \
        if (va_ != vb_) {                                                        \
            fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__,  \
                    __LINE__, #a, #b, va_, vb_);                                 \
            vbTestFailures++;                                                    \
        }                                                                        \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                    \
    do {                                                                         \
        double va_ = (double)(a), vb_ = (double)(b);                             \
        if (!(fabs(va_ - vb_) <= (tol))) {                                       \
            fprintf(stderr, "%s:%d: %s ~= %s failed: %.17g vs %.17g (tol %g)\n", \
                    __FILE__, __LINE__, #a, #b, va_, vb_, (double)(tol));        \
            vbTestFailures++;                                                    \
        }                                                                        \
    } while (0)

#define CHECK_STR(a, b)                                                          \
    do {                                                                         \
        const char *sa_ = (a), *sb_ = (b);                                       \
        if (sa_ == NULL || sb_ == NULL || strcmp(sa_, sb_) != 0) {               \
            fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n",        \
                    __FILE__, __LINE__, #a, #b, sa_ ? sa_ : "(null)",            \
                    sb_ ? sb_ : "(null)");                                       \
            vbTestFailures++;                                                    \
        }                                                                        \
    } while (0)

/* Ends a test's main: prints a summary and returns the exit status. */
#define TEST_END()                                                               \
    do {                                                                         \
        if (vbTestFailures) {                                                    \
            fprintf(stderr, "%d check(s) failed\n", vbTestFailures);             \
            return 1;                                                            \
        }                                                                        \
        return 0;                                                                \
    } while (0)

/* Returns the shared data folder (models, datasets, coco-cases) or NULL when
 * it is absent, after printing why the caller will skip. */
static inline const char *vbTestSharedDir(void)
{
    const char *dir = getenv("VB_SHARED_DIR");
    struct stat sb;
    if (dir == NULL || stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        printf("skipped: shared data folder not found (set VB_SHARED_DIR; got %s)\n",
               dir ? dir : "(unset)");
        return NULL;
    }
    return dir;
}

#endif /* VB_TEST_H */
