/* A parallel for loop whose caller never waits for a worker thread that has not started. */
#ifndef VB_KERNELS_PARALLEL_H
#define VB_KERNELS_PARALLEL_H

#include <stddef.h>
#include <stdint.h>

/* One loop iteration: index in [0, count), worker in [0, threads), 0 being
 * the calling thread. worker only selects per-thread scratch memory. */
typedef void (*VbParallelTask)(void *arg, int64_t index, int worker);

/* Runs task(arg, i, worker) once for every i in [0, count) on at most
 * `threads` threads and returns when all have finished. The caller claims
 * iterations too, and waits only for iterations a worker has claimed, so a
 * worker that the OS has not scheduled yet costs nothing. A task must give
 * the same result on any worker. Runs serially when threads <= 1, when
 * another call is in progress (nested or from another thread), or when no
 * worker thread could be started. count above INT32_MAX also runs serially. */
void vbParallelFor(int threads, int64_t count, VbParallelTask task, void *arg);

/* A contiguous part [begin, end) of a loop of vbParallelRanges. */
typedef void (*VbParallelRangeTask)(void *arg, size_t begin, size_t end);

/* Runs task over [0, total) cut into contiguous parts, four per thread (one
 * when threads <= 1), through vbParallelFor. The parts depend on threads, so
 * a task must give each index the same result whichever part it is in. */
void vbParallelRanges(int threads, size_t total, VbParallelRangeTask task, void *arg);

#endif
