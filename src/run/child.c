/* One model per child process: the child's measured work, the pipe protocol and the parent's timeout. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "measure/energy.h"
#include "measure/process.h"
#include "run/child.h"

/* ---- Messages ------------------------------------------------------------
 *
 * The child writes frames to a pipe: a FrameHeader, then length payload
 * bytes. Both sides are the same executable, so structs travel as raw
 * bytes. The parent checks every length against the frame before using it. */

enum { FRAME_PROGRESS = 1, FRAME_REPORT = 2 };
enum { PHASE_LOAD = 0, PHASE_WARMUP = 1, PHASE_RUN = 2 };

typedef struct FrameHeader {
    uint32_t type;
    uint32_t reserved;
    uint64_t length;
} FrameHeader;

typedef struct ProgressFrame {
    uint64_t done;
    uint64_t total;
    uint32_t phase;
    uint32_t reserved;
} ProgressFrame;

/* The fixed part of a report; sample_count doubles of preprocess,
 * inference and postprocess seconds follow, then detection_count
 * VbDetection records. */
typedef struct ReportFixed {
    int32_t status;              /* vb_status of the child's work */
    int32_t reserved;
    char error[VB_ERROR_MESSAGE_MAX];
    VbChildMeasurements m;
    uint64_t sample_count;
    uint64_t detection_count;
} ReportFixed;

static const char *phaseName(uint32_t phase)
{
    switch (phase) {
    case PHASE_LOAD: return "load";
    case PHASE_WARMUP: return "warmup";
    default: return "run";
    }
}

/* Writes all n bytes, retrying after signals. Returns 0 on success. */
static int writeAll(int fd, const void *data, size_t n)
{
    const char *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void sendProgress(int fd, uint32_t phase, size_t done, size_t total)
{
    struct {
        FrameHeader header;
        ProgressFrame body;
    } frame;
    memset(&frame, 0, sizeof frame);
    frame.header.type = FRAME_PROGRESS;
    frame.header.length = sizeof frame.body;
    frame.body.done = done;
    frame.body.total = total;
    frame.body.phase = phase;
    (void)writeAll(fd, &frame, sizeof frame);
}

/* ---- The child ------------------------------------------------------------ */

/* Test hooks, read only in the child of a timed run. When
 * VB_TEST_CRASH_MODEL names this model, the child raises SIGSEGV. With
 * VB_TEST_OOM_MODEL it raises SIGKILL, as the kernel's out-of-memory killer
 * does. With VB_TEST_HANG_MODEL it sleeps until the parent's timeout.
 * tests/run.cmake uses them; they are not options. */
static void applyTestHooks(const char *name)
{
    const char *crash = getenv("VB_TEST_CRASH_MODEL");
    const char *oom = getenv("VB_TEST_OOM_MODEL");
    const char *hang = getenv("VB_TEST_HANG_MODEL");
    if (crash != NULL && strcmp(crash, name) == 0)
        raise(SIGSEGV);
    if (oom != NULL && strcmp(oom, name) == 0)
        raise(SIGKILL);
    if (hang != NULL && strcmp(hang, name) == 0) {
        for (;;)
            pause();
    }
}

/* Picks the energy source for the timed pass: RAPL when its counters are
 * readable, else the CPU-time estimate. The engine runs on the CPU, so the
 * GPU counter (NVML) never applies; the note records why. */
static void startEnergy(VbRapl *rapl, int *use_rapl, VbChildMeasurements *m)
{
    vb_error err;
    *use_rapl = 0;
    m->energy_source = VB_ENERGY_ESTIMATE;
    if (vbMeasureRaplOpen(rapl, NULL, &err) == VB_OK && vbMeasureRaplStart(rapl, &err) == VB_OK) {
        *use_rapl = 1;
        m->energy_source = VB_ENERGY_RAPL;
        snprintf(m->energy_note, sizeof m->energy_note,
                 "RAPL, %d zone(s): whole-package energy, includes other processes",
                 rapl->zone_count);
        return;
    }
    snprintf(m->energy_note, sizeof m->energy_note,
             "RAPL unavailable: %.80s; NVML not used: the engine runs on the CPU", err.message);
}

static vb_status runOneImage(const VbRunBackend *backend, void *model, const VbImage *image,
                             int64_t id, VbDetectionList *dets, double seconds[3], vb_error *err)
{
    uint64_t t0 = vbNowNs();
    vb_status st = backend->preprocess(model, image, err);
    uint64_t t1 = vbNowNs();
    if (st == VB_OK)
        st = backend->infer(model, err);
    uint64_t t2 = vbNowNs();
    if (st == VB_OK)
        st = backend->postprocess(model, image, id, dets, err);
    uint64_t t3 = vbNowNs();
    seconds[0] = (double)(t1 - t0) * 1e-9;
    seconds[1] = (double)(t2 - t1) * 1e-9;
    seconds[2] = (double)(t3 - t2) * 1e-9;
    return st;
}

/* The measured passes: warm-up (untimed, detections dropped), then repeat
 * timed passes over every image. Detections come from the first pass. */
static vb_status runPasses(int fd, const VbRunBackend *backend, void *model,
                           const VbRunOptions *options, const VbRunImages *images,
                           ReportFixed *report, double *samples, VbDetectionList *dets,
                           vb_error *err)
{
    vb_status st = VB_OK;
    VbDetectionList scratch = {0};
    double seconds[3];

    /* Warm-up: caches, page faults of the arena, thread start-up. */
    if (options->warmup > 0)
        sendProgress(fd, PHASE_WARMUP, 0, (size_t)options->warmup);
    uint64_t warmup_start = vbNowNs();
    for (int i = 0; i < options->warmup && images->count > 0; i++) {
        size_t k = (size_t)i % images->count;
        scratch.count = 0;
        st = runOneImage(backend, model, &images->images[k], images->ids[k], &scratch, seconds, err);
        if (st != VB_OK)
            goto done;
        sendProgress(fd, PHASE_WARMUP, (size_t)i + 1, (size_t)options->warmup);
    }
    report->m.warmup_s = (double)(vbNowNs() - warmup_start) * 1e-9;

    /* Timed passes. */
    VbRapl rapl;
    int use_rapl;
    startEnergy(&rapl, &use_rapl, &report->m);
    size_t total = images->count * (size_t)options->repeat;
    sendProgress(fd, PHASE_RUN, 0, total);
    VbCpuTime cpu0, cpu1;
    vbMeasureCpuTime(&cpu0);
    uint64_t wall0 = vbNowNs();
    uint64_t last_poll = wall0;
    size_t n = 0;
    for (int r = 0; r < options->repeat; r++) {
        for (size_t k = 0; k < images->count; k++, n++) {
            VbDetectionList *out = r == 0 ? dets : &scratch;
            scratch.count = 0;
            st = runOneImage(backend, model, &images->images[k], images->ids[k], out,
                             &samples[3 * n], err);
            if (st != VB_OK) {
                vbErrorPrefix(err, "image id %lld: ", (long long)images->ids[k]);
                goto done;
            }

            /* Progress and RAPL reads at most every 200 ms, outside the
             * per-image times. */
            uint64_t now = vbNowNs();
            if (now - last_poll > 200000000u || n + 1 == total) {
                sendProgress(fd, PHASE_RUN, n + 1, total);
                if (use_rapl && vbMeasureRaplUpdate(&rapl, err) != VB_OK)
                    use_rapl = 0;
                last_poll = now;
            }
        }
    }
    report->m.timed_wall_s = (double)(vbNowNs() - wall0) * 1e-9;
    vbMeasureCpuTime(&cpu1);
    report->m.cpu_s = (cpu1.user_s - cpu0.user_s) + (cpu1.system_s - cpu0.system_s);
    report->sample_count = n;

    /* A RAPL read that failed midway falls back to the estimate. */
    if (report->m.energy_source == VB_ENERGY_RAPL) {
        if (use_rapl && vbMeasureRaplJoules(&rapl, &report->m.measured_energy_j, err) == VB_OK)
            goto done;
        report->m.energy_source = VB_ENERGY_ESTIMATE;
        report->m.measured_energy_j = 0.0;
        snprintf(report->m.energy_note, sizeof report->m.energy_note,
                 "RAPL read failed during the run: %.100s", err->message);
    }

done:
    vbDetectionListFree(&scratch);
    return st;
}

/* Runs in the forked child: loads the model, runs the passes, writes one
 * report frame and exits without returning (no atexit handlers, no stdio
 * flush of the parent's buffers). */
static void childMain(int fd, const VbRunBackend *backend, const VbRunModelSpec *spec,
                      const VbRunOptions *options, const VbDataset *dataset,
                      const VbRunImages *images, int load_only)
{
    signal(SIGPIPE, SIG_IGN);

    ReportFixed report;
    memset(&report, 0, sizeof report);
    vb_error err;
    memset(&err, 0, sizeof err);
    VbDetectionList dets = {0};
    double *samples = NULL;
    void *model = NULL;
    vb_status st = VB_OK;

    VbMemoryUsage memory;
    if (vbMeasureMemory(&memory, NULL) == VB_OK)
        report.m.rss_start_bytes = memory.rss_bytes;

    /* Load. */
    sendProgress(fd, PHASE_LOAD, 0, 1);
    uint64_t t0 = vbNowNs();
    st = backend->load(spec, options, dataset, &model, &report.m, &err);
    report.m.load_s = (double)(vbNowNs() - t0) * 1e-9;
    if (st != VB_OK)
        goto report;
    if (vbMeasureMemory(&memory, NULL) == VB_OK)
        report.m.rss_after_load_bytes = memory.rss_bytes;
    sendProgress(fd, PHASE_LOAD, 1, 1);
    if (load_only)
        goto report;
    applyTestHooks(spec->name);

    /* Timed passes; samples contains 3 doubles per image and pass. */
    size_t sample_count, bytes;
    if (vbMulSize(images->count, (size_t)options->repeat, &sample_count) ||
        vbMulSize(sample_count, 3 * sizeof(double), &bytes)) {
        st = vbErrorSet(&err, VB_ERR_LIMIT, "%zu images x %d repeats is too many samples",
                        images->count, options->repeat);
        goto report;
    }
    samples = malloc(bytes > 0 ? bytes : 1);
    if (samples == NULL) {
        st = vbErrorSet(&err, VB_ERR_NO_MEMORY, "out of memory for %zu timing samples",
                        sample_count);
        goto report;
    }
    st = runPasses(fd, backend, model, options, images, &report, samples, &dets, &err);

report:
    report.status = (int32_t)st;
    if (st != VB_OK)
        snprintf(report.error, sizeof report.error, "%s", err.message);
    if (vbMeasureMemory(&memory, NULL) == VB_OK)
        report.m.peak_rss_bytes = memory.peak_rss_bytes;
    if (st != VB_OK)
        report.sample_count = 0;
    report.detection_count = st == VB_OK ? dets.count : 0;

    /* Header, fixed part, the three sample arrays (de-interleaved), detections. */
    size_t n = (size_t)report.sample_count;
    FrameHeader header = {FRAME_REPORT, 0, 0};
    header.length = sizeof report + 3 * n * sizeof(double) +
                    (size_t)report.detection_count * sizeof(VbDetection);
    int failed = writeAll(fd, &header, sizeof header) || writeAll(fd, &report, sizeof report);
    if (n > 0) {
        /* samples is [n][3] (stage per image); the report wants [3][n]. */
        double *columns = malloc(3 * n * sizeof(double));
        if (columns == NULL) {
            failed = 1;
        } else {
            for (size_t i = 0; i < n; i++) {
                for (size_t column = 0; column < 3; column++)
                    columns[column * n + i] = samples[3 * i + column];
            }
            failed = failed || writeAll(fd, columns, 3 * n * sizeof(double));
            free(columns);
        }
    }
    if (!failed && report.detection_count > 0)
        failed = writeAll(fd, dets.items, (size_t)report.detection_count * sizeof(VbDetection));

    if (model != NULL)
        backend->release(model);
    free(samples);
    vbDetectionListFree(&dets);
    close(fd);
    _exit(failed ? 3 : 0);
}

/* ---- The parent ---------------------------------------------------------- */

void vbChildOutcomeFree(VbChildOutcome *outcome)
{
    if (outcome == NULL)
        return;
    free(outcome->preprocess_s);
    free(outcome->inference_s);
    free(outcome->postprocess_s);
    vbDetectionListFree(&outcome->detections);
    memset(outcome, 0, sizeof *outcome);
}

/* Copies a report frame's payload into outcome after checking its sizes. */
static vb_status parseReport(const char *payload, size_t length, VbChildOutcome *outcome,
                             vb_error *err)
{
    ReportFixed report;
    if (length < sizeof report)
        return vbErrorSet(err, VB_ERR_PARSE, "child report is %zu bytes, shorter than its header",
                          length);
    memcpy(&report, payload, sizeof report);
    report.error[sizeof report.error - 1] = '\0';

    size_t samples_bytes, dets_bytes, expected;
    if (report.sample_count > VB_RUN_MESSAGE_MAX || report.detection_count > VB_DETECTIONS_MAX ||
        vbMulSize((size_t)report.sample_count, 3 * sizeof(double), &samples_bytes) ||
        vbMulSize((size_t)report.detection_count, sizeof(VbDetection), &dets_bytes) ||
        vbAddSize(sizeof report, samples_bytes, &expected) ||
        vbAddSize(expected, dets_bytes, &expected) || expected != length)
        return vbErrorSet(err, VB_ERR_PARSE, "child report sizes do not add up (%zu bytes)",
                          length);

    outcome->m = report.m;
    outcome->status = report.status == VB_OK ? VB_MODEL_OK
                      : report.status == VB_ERR_NO_MEMORY ? VB_MODEL_OOM
                                                         : VB_MODEL_ERROR;
    snprintf(outcome->error, sizeof outcome->error, "%s", report.error);

    /* Samples, one array per stage. */
    size_t n = (size_t)report.sample_count;
    const char *p = payload + sizeof report;
    outcome->preprocess_s = malloc(n * sizeof(double) + 1);
    outcome->inference_s = malloc(n * sizeof(double) + 1);
    outcome->postprocess_s = malloc(n * sizeof(double) + 1);
    if (outcome->preprocess_s == NULL || outcome->inference_s == NULL ||
        outcome->postprocess_s == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for %zu timing samples", n);
    memcpy(outcome->preprocess_s, p, n * sizeof(double));
    memcpy(outcome->inference_s, p + n * sizeof(double), n * sizeof(double));
    memcpy(outcome->postprocess_s, p + 2 * n * sizeof(double), n * sizeof(double));
    outcome->sample_count = n;

    /* Detections. */
    size_t count = (size_t)report.detection_count;
    if (count > 0) {
        outcome->detections.items = malloc(dets_bytes);
        if (outcome->detections.items == NULL)
            return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for %zu detections", count);
        memcpy(outcome->detections.items, p + samples_bytes, dets_bytes);
        outcome->detections.count = count;
        outcome->detections.capacity = count;
    }
    return VB_OK;
}

/* Consumes every complete frame at the start of buf. Sets *got_report when
 * the report arrived. */
static vb_status consumeFrames(VbBuf *buf, VbChildProgressFn progress, void *user,
                               VbChildOutcome *outcome, int *got_report, vb_error *err)
{
    size_t offset = 0;
    while (buf->len - offset >= sizeof(FrameHeader)) {
        FrameHeader header;
        memcpy(&header, buf->data + offset, sizeof header);
        if (header.length > VB_RUN_MESSAGE_MAX)
            return vbErrorSet(err, VB_ERR_LIMIT, "child message of %llu bytes exceeds the %zu-byte cap",
                              (unsigned long long)header.length, VB_RUN_MESSAGE_MAX);
        if (buf->len - offset - sizeof header < header.length)
            break;
        const char *payload = buf->data + offset + sizeof header;
        if (header.type == FRAME_PROGRESS && header.length == sizeof(ProgressFrame)) {
            ProgressFrame frame;
            memcpy(&frame, payload, sizeof frame);
            if (progress != NULL)
                progress(phaseName(frame.phase), (size_t)frame.done, (size_t)frame.total, user);
        } else if (header.type == FRAME_REPORT) {
            vb_status st = parseReport(payload, (size_t)header.length, outcome, err);
            if (st != VB_OK)
                return st;
            *got_report = 1;
        } else {
            return vbErrorSet(err, VB_ERR_PARSE, "child sent an unknown message type %u",
                              header.type);
        }
        offset += sizeof header + (size_t)header.length;
    }
    memmove(buf->data, buf->data + offset, buf->len - offset);
    buf->len -= offset;
    return VB_OK;
}

/* Sets the outcome of a child that ended without a complete report. */
static void classifyDeath(int wait_status, int timed_out, double timeout_s,
                          VbChildOutcome *outcome)
{
    if (timed_out) {
        outcome->status = VB_MODEL_TIMEOUT;
        snprintf(outcome->error, sizeof outcome->error,
                 "timed out after %g s and was killed; raise --timeout or use fewer images",
                 timeout_s);
    } else if (WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGKILL) {
        outcome->status = VB_MODEL_OOM;
        snprintf(outcome->error, sizeof outcome->error,
                 "killed by SIGKILL, most likely by the kernel's out-of-memory killer; free "
                 "memory or use fewer threads");
    } else if (WIFSIGNALED(wait_status)) {
        int sig = WTERMSIG(wait_status);
        outcome->status = VB_MODEL_CRASHED;
        snprintf(outcome->error, sizeof outcome->error,
                 "crashed with signal %d (%s); the other models are not affected", sig,
                 strsignal(sig));
    } else if (WIFEXITED(wait_status)) {
        outcome->status = VB_MODEL_CRASHED;
        snprintf(outcome->error, sizeof outcome->error,
                 "the model's process exited with status %d without sending results",
                 WEXITSTATUS(wait_status));
    } else {
        outcome->status = VB_MODEL_CRASHED;
        snprintf(outcome->error, sizeof outcome->error, "the model's process ended abnormally");
    }
}

vb_status vbRunChild(const VbRunBackend *backend, const VbRunModelSpec *spec,
                     const VbRunOptions *options, const VbDataset *dataset,
                     const VbRunImages *images, int load_only,
                     VbChildProgressFn progress, void *user, VbChildOutcome *outcome,
                     vb_error *err)
{
    memset(outcome, 0, sizeof *outcome);
    int fds[2];
    if (pipe(fds) != 0)
        return vbErrorSet(err, VB_ERR_IO, "cannot create a pipe for model '%s': %s", spec->name,
                          strerror(errno));

    /* Flush so the child does not inherit and write out buffered output. */
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return vbErrorSet(err, VB_ERR_IO, "cannot start a process for model '%s': %s",
                          spec->name, strerror(errno));
    }
    if (pid == 0) {
#if defined(__linux__)
        /* The model process dies with its parent, so a killed run or
         * server worker leaves no inference running on. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(4);
#else
        (void)parent;
#endif
        close(fds[0]);
        childMain(fds[1], backend, spec, options, dataset, images, load_only);
        _exit(4); /* not reached */
    }
    close(fds[1]);

    /* Read frames until end of file or the deadline. */
    vb_status st = VB_OK;
    VbBuf buf;
    vbBufInit(&buf, VB_RUN_MESSAGE_MAX + sizeof(FrameHeader) + 4096);
    uint64_t deadline = vbNowNs() + (uint64_t)(options->timeout_s * 1e9);
    int timed_out = 0, got_report = 0, protocol_error = 0;
    char chunk[65536];
    for (;;) {
        uint64_t now = vbNowNs();
        if (now >= deadline) {
            timed_out = 1;
            kill(pid, SIGKILL);
            break;
        }
        uint64_t wait_ms = (deadline - now) / 1000000u + 1;
        struct pollfd pfd = {fds[0], POLLIN, 0};
        int rc = poll(&pfd, 1, wait_ms > 1000 ? 1000 : (int)wait_ms);
        if (rc == 0 || (rc < 0 && errno == EINTR))
            continue;
        ssize_t got = read(fds[0], chunk, sizeof chunk);
        if (got == 0)
            break;
        if (got < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            break;
        }
        vb_error frame_err;
        if (vbBufAppend(&buf, chunk, (size_t)got, &frame_err) != VB_OK ||
            consumeFrames(&buf, progress, user, outcome, &got_report, &frame_err) != VB_OK) {
            protocol_error = 1;
            kill(pid, SIGKILL);
            snprintf(outcome->error, sizeof outcome->error,
                     "invalid message from the model's process: %.400s", frame_err.message);
            break;
        }
    }
    close(fds[0]);
    vbBufFree(&buf);

    int wait_status = 0;
    while (waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
    }

    if (protocol_error) {
        outcome->status = VB_MODEL_ERROR;
    } else if (!got_report) {
        classifyDeath(wait_status, timed_out, options->timeout_s, outcome);
    }
    if (outcome->status != VB_MODEL_OK) {
        /* Keep the error, drop partial data. */
        char error[VB_ERROR_MESSAGE_MAX];
        VbModelStatus status = outcome->status;
        VbChildMeasurements m = outcome->m;
        snprintf(error, sizeof error, "%s", outcome->error);
        vbChildOutcomeFree(outcome);
        outcome->status = status;
        outcome->m = m;
        snprintf(outcome->error, sizeof outcome->error, "%s", error);
    }
    return st;
}
