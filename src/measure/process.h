/* Memory and CPU time of the calling process, and a description of the machine. */
#ifndef VB_MEASURE_PROCESS_H
#define VB_MEASURE_PROCESS_H

#include <stdint.h>

#include "visionbench/status.h"

/* Resident set size of the calling process, in bytes. */
typedef struct VbMemoryUsage {
    uint64_t rss_bytes;        /* VmRSS: resident now */
    uint64_t peak_rss_bytes;   /* VmHWM: the highest resident size so far */
} VbMemoryUsage;

/* Reads VmRSS and VmHWM from /proc/self/status. Errors: VB_ERR_IO when the
 * file cannot be read, VB_ERR_PARSE when a field is missing. */
vb_status vbMeasureMemory(VbMemoryUsage *out, vb_error *err);

/* Parses the text of a /proc/PID/status file (NUL-terminated) into *out. The
 * kernel writes both fields in kB (1024 bytes). Errors: VB_ERR_PARSE naming
 * the missing field. */
vb_status vbMeasureParseProcStatus(const char *text, VbMemoryUsage *out, vb_error *err);

/* CPU time consumed by the calling process (all its threads), in seconds,
 * from getrusage(RUSAGE_SELF). Never fails; returns zeros if the call does. */
typedef struct VbCpuTime {
    double user_s;
    double system_s;
} VbCpuTime;

void vbMeasureCpuTime(VbCpuTime *out);

/* The machine a run happens on. Strings are empty when unknown. */
typedef struct VbMachineInfo {
    char cpu_vendor[64];       /* vendor_id from /proc/cpuinfo, e.g. "GenuineIntel" */
    char cpu_model[128];       /* model name from /proc/cpuinfo */
    int cores;                 /* online logical cores */
    uint64_t ram_bytes;        /* MemTotal from /proc/meminfo */
    char kernel[128];          /* uname: sysname release */
    char arch[32];             /* uname: machine */
    char hostname[64];
} VbMachineInfo;

/* Fills *out from /proc/cpuinfo, /proc/meminfo and uname(2). Fields it
 * cannot read stay empty or 0; it never fails. */
void vbMeasureMachineInfo(VbMachineInfo *out);

#endif /* VB_MEASURE_PROCESS_H */
