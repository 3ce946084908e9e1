/* visionbench serve: the HTTP job service, and the hidden worker mode that it starts. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/core.h"
#include "core/log.h"
#include "server/server.h"

static void printServeUsage(FILE *out)
{
    fprintf(out,
            "usage: visionbench serve --models-dir DIR [options]\n"
            "\n"
            "Serves the benchmark as an HTTP API with RunPod serverless routes (/run,\n"
            "/runsync, /status/{id}, /stream/{id}, /cancel/{id}, /retry/{id}, /purge-queue,\n"
            "/health; see docs/api.md). Jobs are rows in the database and survive restarts;\n"
            "worker processes run them and start and stop with the queue.\n"
            "\n"
            "  --listen HOST:PORT      address to listen on (default 127.0.0.1:8080); port 0\n"
            "                          picks a free port and logs it\n"
            "  --db URL                sqlite:PATH or postgresql://... (default: the SQLite file\n"
            "                          under $XDG_DATA_HOME/visionbench)\n"
            "  --workers-min N         workers kept running while idle (default 0)\n"
            "  --workers-max N         workers running at most, 1..%d (default 3)\n"
            "  --idle-timeout S        seconds before an idle worker above --workers-min stops\n"
            "                          (default 60)\n"
            "  --job-timeout S         seconds a job may run before it is killed and marked\n"
            "                          TIMED_OUT (default 300)\n"
            "  --api-key-file FILE     require \"Authorization: Bearer KEY\" with the key in FILE;\n"
            "                          required to listen on a non-loopback address\n"
            "  --models-dir DIR        required: folder whose *.onnx files clients may name (by\n"
            "                          file stem); it must exist\n"
            "  --max-body-mb N         largest request body in MiB, 1..%d (default 64)\n"
            "  -h, --help              show this help\n",
            VB_SERVER_MAX_WORKERS, VB_SERVER_MAX_BODY_MB);
}

static volatile sig_atomic_t stop_requested = 0;

static void onSignal(int sig)
{
    stop_requested = 1;
}

/* Log lines: "2026-12-04T20:40:00.123Z pid LEVEL message" on stderr. */
static void logToStderr(VbLogLevel level, const char *message, void *user)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(stderr, "%s.%03ldZ %ld %s %s\n", stamp, (long)(tv.tv_usec / 1000), (long)getpid(),
            vbLogLevelName(level), message);
}

/* Parses an integer option value within lo..hi into *out. */
static int parseInt(const char *option, const char *value, long lo, long hi, int *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (errno != 0 || end == value || *end != '\0' || v < lo || v > hi) {
        vbCliError("%s \"%s\" is invalid: give an integer from %ld to %ld", option, value, lo, hi);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* Reads the API key: the first line of path, without surrounding blanks. */
static char *readApiKey(const char *path)
{
    vb_error err;
    memset(&err, 0, sizeof err);
    char *text = NULL;
    size_t len = 0;
    if (vbFileRead(path, 4096, &text, &len, &err) != VB_OK) {
        vbCliError("--api-key-file: %s", err.message);
        return NULL;
    }
    char *start = text;
    while (*start == ' ' || *start == '\t')
        start++;
    size_t n = strcspn(start, "\r\n");
    while (n > 0 && (start[n - 1] == ' ' || start[n - 1] == '\t'))
        n--;
    start[n] = '\0';
    if (n < 16) {
        vbCliError("--api-key-file %s: the key on its first line has %zu characters; use at "
                   "least 16", path, n);
        free(text);
        return NULL;
    }
    memmove(text, start, n + 1);
    return text;
}

int vbCmdServe(int argc, char **argv)
{
    VbServerConfig config = {
        .listen = "127.0.0.1:8080",
        .workers_min = 0,
        .workers_max = 3,
        .idle_timeout_s = 60,
        .job_timeout_s = 300,
        .max_body_bytes = (size_t)64 << 20,
    };
    const char *key_file = NULL;
    int worker = 0, body_mb = 64;

    /* Options. */
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0) {
            printServeUsage(stdout);
            return 0;
        }
        if (strcmp(opt, "--worker") == 0) {
            worker = 1;
            continue;
        }
        if (i + 1 >= argc) {
            vbCliError("%s needs a value; run 'visionbench serve --help'", opt);
            return 2;
        }
        const char *value = argv[++i];
        int rc = 0;
        if (strcmp(opt, "--listen") == 0)
            config.listen = value;
        else if (strcmp(opt, "--db") == 0)
            config.db_url = value;
        else if (strcmp(opt, "--models-dir") == 0)
            config.models_dir = value;
        else if (strcmp(opt, "--api-key-file") == 0)
            key_file = value;
        else if (strcmp(opt, "--workers-min") == 0)
            rc = parseInt(opt, value, 0, VB_SERVER_MAX_WORKERS, &config.workers_min);
        else if (strcmp(opt, "--workers-max") == 0)
            rc = parseInt(opt, value, 1, VB_SERVER_MAX_WORKERS, &config.workers_max);
        else if (strcmp(opt, "--idle-timeout") == 0)
            rc = parseInt(opt, value, 1, 86400, &config.idle_timeout_s);
        else if (strcmp(opt, "--job-timeout") == 0)
            rc = parseInt(opt, value, 1, 7 * 86400, &config.job_timeout_s);
        else if (strcmp(opt, "--max-body-mb") == 0)
            rc = parseInt(opt, value, 1, VB_SERVER_MAX_BODY_MB, &body_mb);
        else {
            vbCliError("unknown option '%s'; run 'visionbench serve --help'", opt);
            return 2;
        }
        if (rc != 0)
            return 2;
    }
    config.max_body_bytes = (size_t)body_mb << 20;
    if (config.workers_min > config.workers_max) {
        vbCliError("--workers-min %d is above --workers-max %d", config.workers_min,
                   config.workers_max);
        return 2;
    }
    if (config.models_dir == NULL) {
        vbCliError("--models-dir is missing: give the folder whose *.onnx files clients may use");
        return 2;
    }
    struct stat models_stat;
    if (stat(config.models_dir, &models_stat) != 0) {
        vbCliError("--models-dir %s: %s; give an existing folder with the *.onnx models",
                   config.models_dir, strerror(errno));
        return 2;
    }
    if (!S_ISDIR(models_stat.st_mode)) {
        vbCliError("--models-dir %s is not a folder; give the folder that contains the *.onnx "
                   "models", config.models_dir);
        return 2;
    }
    vbLogConfigure(VB_LOG_INFO, logToStderr, NULL);

    /* A worker gets the database URL through the environment (see pool.c). */
    vb_error err;
    memset(&err, 0, sizeof err);
    if (worker) {
        const char *url = getenv("VB_SERVE_DB_URL");
        char *copy = vbStrdup(url != NULL && url[0] != '\0' ? url : NULL);
        unsetenv("VB_SERVE_DB_URL");
        config.db_url = copy;
        vb_status st = vbServerWorkerMain(&config, &err);
        free(copy);
        if (st != VB_OK) {
            vbCliError("worker: %s", err.message);
            return 1;
        }
        return 0;
    }

    /* The server. */
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        vbCliError("cannot find the visionbench executable through /proc/self/exe: %s",
                   strerror(errno));
        return 1;
    }
    exe[n] = '\0';
    config.exe_path = exe;
    char *key = NULL;
    if (key_file != NULL && (key = readApiKey(key_file)) == NULL)
        return 2;
    config.api_key = key;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = onSignal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    vb_status st = vbServerRun(&config, &stop_requested, &err);
    free(key);
    if (st != VB_OK) {
        vbCliError("serve: %s", err.message);
        return st == VB_ERR_INVALID_ARGUMENT ? 2 : 1;
    }
    return 0;
}
