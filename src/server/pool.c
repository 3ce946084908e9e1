/* The server's worker processes: start, stop, read their lines, time out and cancel their jobs. */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"
#include "server/server_internal.h"

extern char **environ;

/* Maximum length of a worker line (an event's JSON). Longer lines are dropped. */
#define LINE_MAX_BYTES ((size_t)1 << 20)

/* Environment variable that passes the store URL to a worker, so a
 * password never shows in its command line. */
#define DB_URL_ENV "VB_SERVE_DB_URL"

static uint64_t msToNs(int64_t ms)
{
    return (uint64_t)ms * 1000000u;
}

/* Finds the event slot of id, or takes a free or the least recently used
 * one when create is set. Call with server->lock held. */
static VbJobEvents *findEvents(VbServer *server, const char *id, int create)
{
    VbJobEvents *oldest = NULL;
    for (int i = 0; i < VB_SERVER_EVENT_JOBS; i++) {
        VbJobEvents *e = &server->jobs[i];
        if (strcmp(e->id, id) == 0)
            return e;
        if (oldest == NULL || e->touched_ns < oldest->touched_ns)
            oldest = e;
    }
    if (!create)
        return NULL;
    for (size_t i = 0; i < oldest->count; i++)
        free(oldest->events[i]);
    free(oldest->events);
    memset(oldest, 0, sizeof *oldest);
    snprintf(oldest->id, sizeof oldest->id, "%s", id);
    oldest->touched_ns = vbNowNs();
    return oldest;
}

char *vbServerEventGet(VbServer *server, const char *id, size_t index, int *ended)
{
    VbJobEvents *e = findEvents(server, id, 0);
    *ended = e == NULL || e->ended;
    if (e == NULL || index >= e->count)
        return NULL;
    return vbStrdup(e->events[index]);
}

void vbServerEventsEnd(VbServer *server, const char *id)
{
    pthread_mutex_lock(&server->lock);
    VbJobEvents *e = findEvents(server, id, 1);
    e->ended = 1;
    pthread_cond_broadcast(&server->changed);
    pthread_mutex_unlock(&server->lock);
}

static void appendEvent(VbServer *server, const char *id, const char *text)
{
    VbJobEvents *e = findEvents(server, id, 1);
    e->touched_ns = vbNowNs();
    if (e->count >= VB_SERVER_EVENTS_PER_JOB)
        return;
    char **grown = realloc(e->events, (e->count + 1) * sizeof *grown);
    char *copy = vbStrdup(text);
    if (grown == NULL || copy == NULL) {
        free(copy);
        if (grown != NULL)
            e->events = grown;
        return;
    }
    e->events = grown;
    e->events[e->count++] = copy;
}

/* Handles one line from worker w: "claim ID", "event ID JSON" or "end ID".
 * Call with server->lock held. */
static void handleLine(VbServer *server, VbWorker *w, char *line)
{
    char *space = strchr(line, ' ');
    if (space == NULL)
        return;
    *space = '\0';
    char *id = space + 1;
    char *payload = strchr(id, ' ');
    if (payload != NULL)
        *payload++ = '\0';
    if (strlen(id) >= VB_STORE_ID_SIZE)
        return;

    if (strcmp(line, "claim") == 0) {
        snprintf(w->job_id, sizeof w->job_id, "%s", id);
        w->job_started_ns = vbNowNs();
        findEvents(server, id, 1)->touched_ns = vbNowNs();
        vbInfo("job %s: claimed by worker %ld", id, (long)w->pid);
    } else if (strcmp(line, "event") == 0 && payload != NULL) {
        appendEvent(server, id, payload);
    } else if (strcmp(line, "end") == 0) {
        findEvents(server, id, 1)->ended = 1;
        if (strcmp(w->job_id, id) == 0)
            w->job_id[0] = '\0';
        w->idle_since_ns = vbNowNs();
    }
    pthread_cond_broadcast(&server->changed);
}

/* Reads what worker w has written and handles each full line. Call with
 * server->lock held; out_fd is non-blocking. */
static void drainWorker(VbServer *server, VbWorker *w)
{
    char chunk[65536];
    for (;;) {
        ssize_t n = read(w->out_fd, chunk, sizeof chunk);
        if (n <= 0)
            return;
        for (ssize_t i = 0; i < n; i++) {
            if (chunk[i] != '\n') {
                /* A line past the cap is dropped up to its newline. */
                if (w->line.len < LINE_MAX_BYTES)
                    vbBufAppend(&w->line, &chunk[i], 1, NULL);
                continue;
            }
            if (w->line.data != NULL)
                handleLine(server, w, w->line.data);
            w->line.len = 0;
            if (w->line.data != NULL)
                w->line.data[0] = '\0';
        }
    }
}

/* Starts one worker: `exe serve --worker` in its own process group, with
 * stdin and stdout on pipes to this process. */
static void spawnWorker(VbServer *server)
{
    const VbServerConfig *c = server->config;
    if (server->worker_count >= VB_SERVER_MAX_WORKERS)
        return;

    /* Everything the child needs is built before fork: it only calls
     * async-signal-safe functions until exec. */
    char timeout[32], idle[32];
    snprintf(timeout, sizeof timeout, "%d", c->job_timeout_s);
    snprintf(idle, sizeof idle, "%d", c->idle_timeout_s);
    char *argv[] = {(char *)c->exe_path, "serve", "--worker", "--models-dir",
                    (char *)c->models_dir, "--job-timeout", timeout, "--idle-timeout", idle, NULL};
    size_t env_count = 0;
    while (environ[env_count] != NULL)
        env_count++;
    char **envp = calloc(env_count + 2, sizeof *envp);
    size_t url_len = strlen(DB_URL_ENV) + 2 + (c->db_url != NULL ? strlen(c->db_url) : 0);
    char *url_var = malloc(url_len);
    int in_pipe[2] = {-1, -1}, out_pipe[2] = {-1, -1};
    if (envp == NULL || url_var == NULL || pipe2(in_pipe, O_CLOEXEC) != 0 ||
        pipe2(out_pipe, O_CLOEXEC) != 0) {
        vbLogError("cannot start a worker: %s", strerror(errno));
        goto fail;
    }
    size_t k = 0;
    for (size_t i = 0; i < env_count; i++)
        if (strncmp(environ[i], DB_URL_ENV "=", strlen(DB_URL_ENV) + 1) != 0)
            envp[k++] = environ[i];
    snprintf(url_var, url_len, "%s=%s", DB_URL_ENV, c->db_url != NULL ? c->db_url : "");
    envp[k++] = url_var;
    envp[k] = NULL;

    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        vbLogError("cannot start a worker: fork failed: %s", strerror(errno));
        goto fail;
    }
    if (pid == 0) {
        /* The worker dies with the server. Its process group contains the
         * model processes that the run starts, so one kill stops them all. */
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        if (dup2(in_pipe[0], STDIN_FILENO) < 0 || dup2(out_pipe[1], STDOUT_FILENO) < 0)
            _exit(127);
        execve(c->exe_path, argv, envp);
        _exit(127);
    }
    setpgid(pid, pid);

    close(in_pipe[0]);
    close(out_pipe[1]);
    fcntl(in_pipe[1], F_SETFL, O_NONBLOCK);
    fcntl(out_pipe[0], F_SETFL, O_NONBLOCK);
    VbWorker *w = &server->workers[server->worker_count++];
    memset(w, 0, sizeof *w);
    w->pid = pid;
    w->in_fd = in_pipe[1];
    w->out_fd = out_pipe[0];
    vbBufInit(&w->line, LINE_MAX_BYTES + 1);
    w->idle_since_ns = vbNowNs();
    vbInfo("worker %ld started (%d running)", (long)pid, server->worker_count);
    free(envp);
    free(url_var);
    return;

fail:
    for (int i = 0; i < 2; i++) {
        if (in_pipe[i] >= 0)
            close(in_pipe[i]);
        if (out_pipe[i] >= 0)
            close(out_pipe[i]);
    }
    free(envp);
    free(url_var);
}

/* Finishes a job whose worker is gone; the store keeps a final state that
 * is already there. Call without server->lock. */
static void finishOrphan(VbServer *server, const char *id, VbJobStatus final, const char *reason)
{
    vb_error err;
    memset(&err, 0, sizeof err);
    int applied = 0;
    vb_status st;
    VB_STORE_LOCKED(server,
                    st = vbStoreJobFinish(server->store, id, final, NULL, reason, &applied, &err));
    if (st != VB_OK)
        vbLogError("job %s: cannot store %s: %s", id, vbJobStatusName(final), err.message);
    else if (applied)
        vbWarn("job %s: %s: %s", id, vbJobStatusName(final), reason);
    vbServerEventsEnd(server, id);
}

void vbServerPoolStart(VbServer *server)
{
    pthread_mutex_lock(&server->lock);
    while (server->worker_count < server->config->workers_min)
        spawnWorker(server);
    pthread_mutex_unlock(&server->lock);
}

void vbServerPoolCounts(VbServer *server, int *idle, int *running)
{
    *idle = 0;
    *running = 0;
    pthread_mutex_lock(&server->lock);
    for (int i = 0; i < server->worker_count; i++) {
        const VbWorker *w = &server->workers[i];
        if (w->job_id[0] != '\0')
            (*running)++;
        else if (!w->killed && !w->stopping)
            (*idle)++;
    }
    pthread_mutex_unlock(&server->lock);
}

void vbServerPoolNudge(VbServer *server)
{
    pthread_mutex_lock(&server->lock);
    for (int i = 0; i < server->worker_count; i++) {
        VbWorker *w = &server->workers[i];
        if (w->job_id[0] == '\0' && !w->stopping && !w->killed && write(w->in_fd, "j", 1) < 0 &&
            errno != EAGAIN)
            vbDebug("worker %ld: cannot wake it: %s", (long)w->pid, strerror(errno));
    }
    pthread_mutex_unlock(&server->lock);
}

int vbServerPoolKillJob(VbServer *server, const char *job_id)
{
    int killed = 0;
    pthread_mutex_lock(&server->lock);
    for (int i = 0; i < server->worker_count; i++) {
        VbWorker *w = &server->workers[i];
        if (strcmp(w->job_id, job_id) == 0 && !w->killed) {
            kill(-w->pid, SIGKILL);
            w->killed = 1;
            killed = 1;
            vbInfo("job %s: worker %ld killed", job_id, (long)w->pid);
        }
    }
    pthread_mutex_unlock(&server->lock);
    return killed;
}

/* Reaps exited workers. Jobs they left IN_PROGRESS become FAILED, unless a
 * timeout or cancel already ended them. Call with server->lock held; ids
 * of orphaned jobs go to orphans (at most VB_SERVER_MAX_WORKERS). */
static int reapWorkers(VbServer *server, char orphans[][VB_STORE_ID_SIZE], char reasons[][96])
{
    int orphan_count = 0;
    for (int i = 0; i < server->worker_count;) {
        VbWorker *w = &server->workers[i];
        int status = 0;
        pid_t r = waitpid(w->pid, &status, WNOHANG);
        if (r == 0) {
            i++;
            continue;
        }

        /* Lines written before the exit still count. */
        drainWorker(server, w);
        char reason[96];
        if (WIFSIGNALED(status))
            snprintf(reason, sizeof reason, "worker process killed by signal %d", WTERMSIG(status));
        else
            snprintf(reason, sizeof reason, "worker process exited with status %d",
                     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        /* NOTE: a worker that dies between its claim in the database and
         * its claim line leaves the job IN_PROGRESS until the next start-up
         * recovery, because the server does not know the job yet. */
        if (w->job_id[0] != '\0') {
            /* A killed worker leaves its job folder behind. */
            char dir[96];
            vbServerJobDir(w->job_id, dir, sizeof dir);
            if (vbServerJobDirRemove(dir) != 0)
                vbWarn("job %s: cannot remove the job folder %s: %s", w->job_id, dir,
                       strerror(errno));
        }
        if (w->job_id[0] != '\0' && !w->killed) {
            snprintf(orphans[orphan_count], VB_STORE_ID_SIZE, "%s", w->job_id);
            snprintf(reasons[orphan_count], 96, "%s", reason);
            orphan_count++;
        }
        if (w->stopping || w->killed)
            vbInfo("worker %ld stopped", (long)w->pid);
        else
            vbWarn("worker %ld: %s", (long)w->pid, reason);
        close(w->in_fd);
        close(w->out_fd);
        vbBufFree(&w->line);
        server->workers[i] = server->workers[--server->worker_count];
        pthread_cond_broadcast(&server->changed);
    }
    return orphan_count;
}

void vbServerPoolTick(VbServer *server, int timeout_ms)
{
    const VbServerConfig *c = server->config;

    /* Wait for worker lines. */
    struct pollfd fds[VB_SERVER_MAX_WORKERS];
    pthread_mutex_lock(&server->lock);
    int n = server->worker_count;
    for (int i = 0; i < n; i++)
        fds[i] = (struct pollfd){server->workers[i].out_fd, POLLIN, 0};
    pthread_mutex_unlock(&server->lock);
    if (n > 0)
        poll(fds, (nfds_t)n, timeout_ms);
    else
        usleep((useconds_t)timeout_ms * 1000);

    /* Lines, exits and timeouts. */
    char orphans[VB_SERVER_MAX_WORKERS][VB_STORE_ID_SIZE];
    char reasons[VB_SERVER_MAX_WORKERS][96];
    char timed_out[VB_SERVER_MAX_WORKERS][VB_STORE_ID_SIZE];
    int timed_out_count = 0;
    pthread_mutex_lock(&server->lock);
    for (int i = 0; i < server->worker_count; i++)
        drainWorker(server, &server->workers[i]);
    uint64_t now = vbNowNs();
    int orphan_count = reapWorkers(server, orphans, reasons);
    for (int i = 0; i < server->worker_count; i++) {
        VbWorker *w = &server->workers[i];
        if (w->job_id[0] == '\0' || w->killed ||
            now < w->job_started_ns + msToNs((int64_t)c->job_timeout_s * 1000))
            continue;
        kill(-w->pid, SIGKILL);
        w->killed = 1;
        snprintf(timed_out[timed_out_count++], VB_STORE_ID_SIZE, "%s", w->job_id);
    }
    pthread_mutex_unlock(&server->lock);

    char reason[128];
    snprintf(reason, sizeof reason, "the job ran past the job timeout of %d s and was killed",
             c->job_timeout_s);
    for (int i = 0; i < timed_out_count; i++)
        finishOrphan(server, timed_out[i], VB_JOB_TIMED_OUT, reason);
    for (int i = 0; i < orphan_count; i++)
        finishOrphan(server, orphans[i], VB_JOB_FAILED, reasons[i]);

    /* Scale: a worker per queued job up to workers_max, idle ones above
     * workers_min stop after idle_timeout_s. */
    int64_t counts[VB_JOB_STATUS_COUNT] = {0};
    vb_error err;
    memset(&err, 0, sizeof err);
    vb_status st;
    VB_STORE_LOCKED(server, st = vbStoreJobCounts(server->store, counts, &err));
    if (st != VB_OK) {
        vbLogError("cannot count jobs: %s", err.message);
        return;
    }
    pthread_mutex_lock(&server->lock);
    int idle = 0, live = 0;
    for (int i = 0; i < server->worker_count; i++) {
        const VbWorker *w = &server->workers[i];
        if (w->killed || w->stopping)
            continue;
        live++;
        idle += w->job_id[0] == '\0';
    }
    int64_t missing = counts[VB_JOB_IN_QUEUE] - idle;
    while (missing-- > 0 && live < c->workers_max) {
        spawnWorker(server);
        live++;
    }
    while (live < c->workers_min) {
        spawnWorker(server);
        live++;
    }
    for (int i = 0; i < server->worker_count && live > c->workers_min; i++) {
        VbWorker *w = &server->workers[i];
        if (w->killed || w->stopping || w->job_id[0] != '\0' || counts[VB_JOB_IN_QUEUE] > 0 ||
            now < w->idle_since_ns + msToNs((int64_t)c->idle_timeout_s * 1000))
            continue;
        close(w->in_fd);
        w->in_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        w->stopping = 1;
        live--;
        vbInfo("worker %ld: idle for %d s, stopping it", (long)w->pid, c->idle_timeout_s);
    }
    pthread_mutex_unlock(&server->lock);
}

void vbServerPoolStop(VbServer *server)
{
    pthread_mutex_lock(&server->lock);
    for (int i = 0; i < server->worker_count; i++)
        kill(-server->workers[i].pid, SIGKILL);
    for (int i = 0; i < server->worker_count; i++) {
        VbWorker *w = &server->workers[i];
        waitpid(w->pid, NULL, 0);
        close(w->in_fd);
        close(w->out_fd);
        vbBufFree(&w->line);
    }
    server->worker_count = 0;
    for (int i = 0; i < VB_SERVER_EVENT_JOBS; i++) {
        for (size_t j = 0; j < server->jobs[i].count; j++)
            free(server->jobs[i].events[j]);
        free(server->jobs[i].events);
        memset(&server->jobs[i], 0, sizeof server->jobs[i]);
    }
    pthread_mutex_unlock(&server->lock);
}
