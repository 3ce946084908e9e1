/* A process-wide pool of worker threads for vbParallelFor, with iterations claimed one at a time. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#include "kernels/parallel.h"

/* Maximum number of worker threads; a request for more threads runs with fewer. */
#define POOL_MAX_WORKERS 63
/* Polls of the job word before an idle worker blocks on the condition
 * variable: about 0.3 ms on a 2026 Xeon, long enough to bridge the serial
 * nodes between two parallel ones, whose wake-up from the condition
 * variable otherwise cost more than a small node's work. On a loaded
 * machine the spin takes CPU time from other threads for that long. */
#define POOL_SPIN 30000
/* Index part of the job word while the caller is writing a job. */
#define JOB_CLOSED UINT32_MAX

/* The job word is (generation << 32) | next index. A worker claims an index
 * with a compare-and-swap that also checks the generation, so it can never
 * run an iteration of a job that has already finished. The caller changes
 * task, arg and count only while the word is closed for the new generation. */
typedef struct Pool {
    pthread_mutex_t job_lock;  /* held by the caller for the whole job */
    pthread_mutex_t lock;      /* guards the sleep on wake */
    pthread_cond_t wake;
    int workers;               /* started worker threads, ids 1..workers */
    _Atomic uint32_t generation;
    _Atomic uint64_t job;
    _Atomic(VbParallelTask) task;
    _Atomic(void *) arg;
    _Atomic int64_t count;
    _Atomic int threads;       /* workers with id < threads take part */
    _Atomic int64_t done;      /* finished iterations of the current job */
} Pool;

static Pool pool = {.job_lock = PTHREAD_MUTEX_INITIALIZER,
                    .lock = PTHREAD_MUTEX_INITIALIZER,
                    .wake = PTHREAD_COND_INITIALIZER};

/* Claims and runs iterations of job generation gen until none is left or
 * the job word moves to another generation. */
static void runClaims(uint32_t gen, int worker)
{
    for (;;) {
        uint64_t word = atomic_load_explicit(&pool.job, memory_order_acquire);
        uint32_t index = (uint32_t)word;
        if ((uint32_t)(word >> 32) != gen || index == JOB_CLOSED)
            return;
        VbParallelTask task = atomic_load_explicit(&pool.task, memory_order_relaxed);
        void *arg = atomic_load_explicit(&pool.arg, memory_order_relaxed);
        int64_t count = atomic_load_explicit(&pool.count, memory_order_relaxed);
        if ((int64_t)index >= count)
            return;
        if (!atomic_compare_exchange_weak_explicit(&pool.job, &word, word + 1,
                                                   memory_order_acq_rel, memory_order_relaxed))
            continue;
        task(arg, (int64_t)index, worker);
        atomic_fetch_add_explicit(&pool.done, 1, memory_order_release);
    }
}

static void *workerMain(void *param)
{
    int id = (int)(intptr_t)param;
    uint32_t seen = 0;
    for (;;) {
        /* Wait for a new generation: spin briefly, then sleep. */
        uint32_t gen = atomic_load_explicit(&pool.generation, memory_order_acquire);
        for (int spin = 0; gen == seen && spin < POOL_SPIN; spin++) {
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
            gen = atomic_load_explicit(&pool.generation, memory_order_acquire);
        }
        if (gen == seen) {
            pthread_mutex_lock(&pool.lock);
            while ((gen = atomic_load_explicit(&pool.generation, memory_order_acquire)) == seen)
                pthread_cond_wait(&pool.wake, &pool.lock);
            pthread_mutex_unlock(&pool.lock);
        }
        seen = gen;
        if (id < atomic_load_explicit(&pool.threads, memory_order_relaxed))
            runClaims(gen, id);
    }
    return NULL;
}

/* Resets the pool in a child process after fork(), which copies no worker
 * threads, so that the child starts its own workers (`visionbench run` runs
 * each model in a forked child). */
static void resetAfterFork(void)
{
    pthread_mutex_init(&pool.job_lock, NULL);
    pthread_mutex_init(&pool.lock, NULL);
    pthread_cond_init(&pool.wake, NULL);
    pool.workers = 0;
}

static pthread_once_t fork_handler_once = PTHREAD_ONCE_INIT;

static void installForkHandler(void)
{
    pthread_atfork(NULL, NULL, resetAfterFork);
}

/* Starts workers until `requested` run or one fails to start. Call with
 * job_lock held. Returns the number running. */
static int startWorkers(int requested)
{
    pthread_once(&fork_handler_once, installForkHandler);
    if (requested > POOL_MAX_WORKERS)
        requested = POOL_MAX_WORKERS;
    while (pool.workers < requested) {
        pthread_t thread;
        pthread_attr_t attr;
        if (pthread_attr_init(&attr) != 0)
            break;
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int failed = pthread_create(&thread, &attr, workerMain,
                                    (void *)(intptr_t)(pool.workers + 1)) != 0;
        pthread_attr_destroy(&attr);
        if (failed)
            break;
        pool.workers++;
    }
    return pool.workers;
}

void vbParallelFor(int threads, int64_t count, VbParallelTask task, void *arg)
{
    if (count <= 0)
        return;
    int serial = threads <= 1 || count == 1 || count > INT32_MAX ||
                 pthread_mutex_trylock(&pool.job_lock) != 0;
    if (!serial && startWorkers(threads - 1) == 0) {
        pthread_mutex_unlock(&pool.job_lock);
        serial = 1;
    }
    if (serial) {
        for (int64_t i = 0; i < count; i++)
            task(arg, i, 0);
        return;
    }

    /* Close the job word for the next generation, write the job, open it. */
    uint32_t gen = atomic_load_explicit(&pool.generation, memory_order_relaxed) + 1;
    atomic_store_explicit(&pool.job, ((uint64_t)gen << 32) | JOB_CLOSED, memory_order_release);
    atomic_store_explicit(&pool.task, task, memory_order_relaxed);
    atomic_store_explicit(&pool.arg, arg, memory_order_relaxed);
    atomic_store_explicit(&pool.count, count, memory_order_relaxed);
    atomic_store_explicit(&pool.threads, threads, memory_order_relaxed);
    atomic_store_explicit(&pool.done, 0, memory_order_relaxed);
    atomic_store_explicit(&pool.job, (uint64_t)gen << 32, memory_order_release);

    /* Wake the workers, then work alongside them. */
    pthread_mutex_lock(&pool.lock);
    atomic_store_explicit(&pool.generation, gen, memory_order_release);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
    runClaims(gen, 0);

    /* Every index is claimed; wait for the ones running on workers. */
    for (int spin = 0; atomic_load_explicit(&pool.done, memory_order_acquire) < count; spin++) {
        if (spin >= POOL_SPIN)
            sched_yield();
    }
    pthread_mutex_unlock(&pool.job_lock);
}

/* Arguments of one vbParallelRanges call for rangeTask. */
typedef struct RangeJob {
    VbParallelRangeTask task;
    void *arg;
    size_t total, parts;
} RangeJob;

static void rangeTask(void *arg, int64_t index, int worker)
{
    const RangeJob *job = arg;
    size_t i = (size_t)index, base = job->total / job->parts, extra = job->total % job->parts;
    size_t begin = i * base + (i < extra ? i : extra);
    size_t end = begin + base + (i < extra ? 1 : 0);
    (void)worker;
    job->task(job->arg, begin, end);
}

void vbParallelRanges(int threads, size_t total, VbParallelRangeTask task, void *arg)
{
    if (total == 0)
        return;
    size_t parts = threads > 1 ? (size_t)threads * 4 : 1;
    if (parts > total)
        parts = total;
    if (parts == 1) {
        task(arg, 0, total);
        return;
    }
    RangeJob job = {task, arg, total, parts};
    vbParallelFor(threads, (int64_t)parts, rangeTask, &job);
}
