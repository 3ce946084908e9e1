/* Leveled logging: the one way visionbench code reports progress and diagnostics. */
#ifndef VB_LOG_H
#define VB_LOG_H

#include "core/core.h"

typedef enum VbLogLevel {
    VB_LOG_DEBUG = 0,
    VB_LOG_INFO,
    VB_LOG_WARN,
    VB_LOG_ERROR,
    VB_LOG_OFF
} VbLogLevel;

/* Receives each message at or above the configured level. message has no
 * trailing newline. */
typedef void (*VbLogSink)(VbLogLevel level, const char *message, void *user);

/* Configures logging for the whole process. Only applications (the CLI, the
 * server) call this, once at start-up; until then every message is dropped,
 * so library code stays silent. sink NULL writes "LEVEL message" to stderr. */
void vbLogConfigure(VbLogLevel min_level, VbLogSink sink, void *user);

/* Returns nonzero when a message at level would be delivered. */
int vbLogEnabled(VbLogLevel level);

void vbLog(VbLogLevel level, const char *fmt, ...) VB_PRINTF(2, 3);

const char *vbLogLevelName(VbLogLevel level);

#define vbDebug(...) vbLog(VB_LOG_DEBUG, __VA_ARGS__)
#define vbInfo(...) vbLog(VB_LOG_INFO, __VA_ARGS__)
#define vbWarn(...) vbLog(VB_LOG_WARN, __VA_ARGS__)
#define vbLogError(...) vbLog(VB_LOG_ERROR, __VA_ARGS__)

#endif /* VB_LOG_H */
