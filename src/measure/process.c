/* Memory (VmRSS, VmHWM), CPU time (getrusage) and machine description, read from Linux. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "core/core.h"
#include "measure/process.h"

/* Finds "name:" at the start of a line in text and parses the number after
 * it. Returns 0 on success. */
static int findField(const char *text, const char *name, unsigned long long *value)
{
    size_t len = strlen(name);
    const char *line = text;
    while (line != NULL && *line != '\0') {
        if (strncmp(line, name, len) == 0 && line[len] == ':') {
            char *end;
            unsigned long long v = strtoull(line + len + 1, &end, 10);
            if (end == line + len + 1)
                return 1;
            *value = v;
            return 0;
        }
        line = strchr(line, '\n');
        if (line != NULL)
            line++;
    }
    return 1;
}

vb_status vbMeasureParseProcStatus(const char *text, VbMemoryUsage *out, vb_error *err)
{
    unsigned long long rss_kb, hwm_kb;
    if (findField(text, "VmRSS", &rss_kb))
        return vbErrorSet(err, VB_ERR_PARSE, "process status has no VmRSS field");
    if (findField(text, "VmHWM", &hwm_kb))
        return vbErrorSet(err, VB_ERR_PARSE, "process status has no VmHWM field");
    out->rss_bytes = (uint64_t)rss_kb * 1024u;
    out->peak_rss_bytes = (uint64_t)hwm_kb * 1024u;
    return VB_OK;
}

vb_status vbMeasureMemory(VbMemoryUsage *out, vb_error *err)
{
    memset(out, 0, sizeof *out);
    char *text = NULL;
    vb_status st = vbFileRead("/proc/self/status", 1u << 20, &text, NULL, err);
    if (st != VB_OK)
        return st;
    st = vbMeasureParseProcStatus(text, out, err);
    free(text);
    return st;
}

void vbMeasureCpuTime(VbCpuTime *out)
{
    struct rusage ru;
    memset(out, 0, sizeof *out);
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return;
    out->user_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6;
    out->system_s = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

/* Copies the value of the first "key<spaces>: value" line of text into out,
 * trimmed. Leaves out empty when the key is absent. */
static void copyCpuinfoValue(const char *text, const char *key, char *out, size_t out_size)
{
    size_t len = strlen(key);
    out[0] = '\0';
    for (const char *line = text; line != NULL && *line != '\0';) {
        if (strncmp(line, key, len) == 0) {
            const char *p = line + len;
            while (*p == ' ' || *p == '\t')
                p++;
            if (*p == ':') {
                p++;
                while (*p == ' ' || *p == '\t')
                    p++;
                size_t n = strcspn(p, "\n");
                if (n >= out_size)
                    n = out_size - 1;
                memcpy(out, p, n);
                out[n] = '\0';
                return;
            }
        }
        line = strchr(line, '\n');
        if (line != NULL)
            line++;
    }
}

void vbMeasureMachineInfo(VbMachineInfo *out)
{
    memset(out, 0, sizeof *out);
    out->cores = vbCpuCount();

    char *text = NULL;
    if (vbFileRead("/proc/cpuinfo", 8u << 20, &text, NULL, NULL) == VB_OK) {
        copyCpuinfoValue(text, "vendor_id", out->cpu_vendor, sizeof out->cpu_vendor);
        copyCpuinfoValue(text, "model name", out->cpu_model, sizeof out->cpu_model);
        /* ARM kernels name the part differently. */
        if (out->cpu_vendor[0] == '\0')
            copyCpuinfoValue(text, "CPU implementer", out->cpu_vendor, sizeof out->cpu_vendor);
        free(text);
        text = NULL;
    }

    if (vbFileRead("/proc/meminfo", 1u << 20, &text, NULL, NULL) == VB_OK) {
        unsigned long long kb;
        if (findField(text, "MemTotal", &kb) == 0)
            out->ram_bytes = (uint64_t)kb * 1024u;
        free(text);
    }

    struct utsname u;
    if (uname(&u) == 0) {
        snprintf(out->kernel, sizeof out->kernel, "%.40s %.80s", u.sysname, u.release);
        snprintf(out->arch, sizeof out->arch, "%.31s", u.machine);
        snprintf(out->hostname, sizeof out->hostname, "%.63s", u.nodename);
    }
}
