/* Tests vbParallelFor and vbParallelRanges: every index runs exactly once, on a valid worker, nested and after fork(). */
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kernels/parallel.h"
#include "vbtest.h"

#define MAX_COUNT 5000

typedef struct Visits {
    _Atomic int hits[MAX_COUNT];
    _Atomic int bad_worker;
    int threads;
} Visits;

static void countVisit(void *arg, int64_t index, int worker)
{
    Visits *v = arg;
    atomic_fetch_add(&v->hits[index], 1);
    if (worker < 0 || worker >= v->threads)
        atomic_store(&v->bad_worker, 1);
}

static void countRange(void *arg, size_t begin, size_t end)
{
    Visits *v = arg;
    for (size_t i = begin; i < end; i++)
        atomic_fetch_add(&v->hits[i], 1);
}

/* Checks that hits[0..count) are all 1 and the rest 0. */
static void checkOnce(Visits *v, int count)
{
    int wrong = 0;
    for (int i = 0; i < MAX_COUNT; i++)
        wrong += atomic_load(&v->hits[i]) != (i < count ? 1 : 0);
    CHECK_EQ_INT(wrong, 0);
    CHECK_EQ_INT(atomic_load(&v->bad_worker), 0);
}

static void testEachIndexOnce(void)
{
    static const int counts[] = {0, 1, 2, 7, 64, 1000, MAX_COUNT};
    for (int threads = 1; threads <= 4; threads++) {
        for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
            Visits *v = calloc(1, sizeof *v);
            v->threads = threads;
            vbParallelFor(threads, counts[c], countVisit, v);
            checkOnce(v, counts[c]);
            free(v);
        }
    }
}

static void testRangesCover(void)
{
    static const int totals[] = {0, 1, 3, 8, 9, 4999};
    for (int threads = 1; threads <= 3; threads++) {
        for (size_t c = 0; c < sizeof totals / sizeof totals[0]; c++) {
            Visits *v = calloc(1, sizeof *v);
            v->threads = threads;
            vbParallelRanges(threads, (size_t)totals[c], countRange, v);
            checkOnce(v, totals[c]);
            free(v);
        }
    }
}

/* A task that starts another parallel loop: the inner one runs serially. */
static void nestedTask(void *arg, int64_t index, int worker)
{
    Visits *v = arg;
    (void)worker;
    Visits inner = {.threads = 2};
    vbParallelFor(2, 10, countVisit, &inner);
    int ok = 1;
    for (int i = 0; i < 10; i++)
        ok &= atomic_load(&inner.hits[i]) == 1;
    if (ok)
        atomic_fetch_add(&v->hits[index], 1);
}

static void testNestedCall(void)
{
    Visits *v = calloc(1, sizeof *v);
    v->threads = 2;
    vbParallelFor(2, 20, nestedTask, v);
    checkOnce(v, 20);
    free(v);
}

/* After fork() the child has none of the parent's workers: it must still
 * run every index exactly once. */
static void testAfterFork(void)
{
    Visits *v = calloc(1, sizeof *v);
    v->threads = 2;
    vbParallelFor(2, 100, countVisit, v);  /* starts the parent's worker */
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        Visits *child = calloc(1, sizeof *child);
        child->threads = 2;
        vbParallelFor(2, 1000, countVisit, child);
        int wrong = 0;
        for (int i = 0; i < 1000; i++)
            wrong += atomic_load(&child->hits[i]) != 1;
        _exit(wrong == 0 && atomic_load(&child->bad_worker) == 0 ? 0 : 1);
    }
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK_EQ_INT(WEXITSTATUS(status), 0);
    free(v);
}

int main(void)
{
    testEachIndexOnce();
    testRangesCover();
    testNestedCall();
    testAfterFork();
    TEST_END();
}
