/* Leveled logging with one process-wide sink chosen by the application. */
#include <stdio.h>
#include <time.h>

#include "core/log.h"

/* The configuration is process-wide by design: one application owns stderr.
 * It starts silent so that library users see nothing they did not ask for. */
static VbLogLevel logMinLevel = VB_LOG_OFF;
static VbLogSink logSink = NULL;
static void *logUser = NULL;

void vbLogConfigure(VbLogLevel min_level, VbLogSink sink, void *user)
{
    logMinLevel = min_level;
    logSink = sink;
    logUser = user;
}

int vbLogEnabled(VbLogLevel level)
{
    return level >= logMinLevel && level < VB_LOG_OFF;
}

const char *vbLogLevelName(VbLogLevel level)
{
    switch (level) {
    case VB_LOG_DEBUG: return "debug";
    case VB_LOG_INFO: return "info";
    case VB_LOG_WARN: return "warning";
    case VB_LOG_ERROR: return "error";
    case VB_LOG_OFF: break;
    }
    return "off";
}

void vbLog(VbLogLevel level, const char *fmt, ...)
{
    if (!vbLogEnabled(level))
        return;

    char message[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);

    if (logSink != NULL) {
        logSink(level, message, logUser);
        return;
    }
    fprintf(stderr, "%s: %s\n", vbLogLevelName(level), message);
}
