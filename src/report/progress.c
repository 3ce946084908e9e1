/* Formatting of progress lines: a bar for terminals, milestones for logs. */
#include <stdio.h>
#include <string.h>

#include "report/progress.h"

enum { BAR_WIDTH = 24 };

size_t vbReportProgressFormat(const VbRunProgress *p, int bar, char *out, size_t size)
{
    if (size == 0)
        return 0;
    char model[96] = "";
    if (p->model_index >= 0)
        snprintf(model, sizeof model, "[%d/%d %.64s] ", p->model_index + 1, p->model_count,
                 p->model_name ? p->model_name : "");

    /* Rate and remaining time from the phase so far. */
    char rate[64] = "";
    int counts_images = strcmp(p->phase, "run") == 0 || strcmp(p->phase, "decode") == 0 ||
                        strcmp(p->phase, "warmup") == 0;
    if (counts_images && p->elapsed_s > 0 && p->done > 0 && p->total >= p->done) {
        double per_s = (double)p->done / p->elapsed_s;
        double eta = (double)(p->total - p->done) / per_s;
        snprintf(rate, sizeof rate, " %.1f img/s ETA %.0fs", per_s, eta);
    }

    int n;
    if (bar) {
        char fill[BAR_WIDTH + 1];
        size_t filled = p->total > 0 ? p->done * BAR_WIDTH / p->total : 0;
        if (filled > BAR_WIDTH)
            filled = BAR_WIDTH;
        memset(fill, '#', filled);
        memset(fill + filled, '-', BAR_WIDTH - filled);
        fill[BAR_WIDTH] = '\0';
        n = snprintf(out, size, "%s%-6s %s %zu/%zu%s", model, p->phase, fill, p->done, p->total,
                     rate);
    } else {
        n = snprintf(out, size, "%s%s: %zu/%zu%s", model, p->phase, p->done, p->total, rate);
    }
    if (n < 0)
        return 0;
    return (size_t)n < size ? (size_t)n : size - 1;
}

int vbReportProgressIsMilestone(const VbRunProgress *p, int *last_tenth)
{
    int tenth = p->total > 0 ? (int)(p->done * 10 / p->total) : 10;
    if (p->done == 0) {
        *last_tenth = 0;
        return 1;
    }
    if (p->done >= p->total) {
        int fresh = *last_tenth != 10;
        *last_tenth = 10;
        return fresh;
    }
    if (strcmp(p->phase, "run") != 0 && strcmp(p->phase, "decode") != 0)
        return 0;
    if (tenth > *last_tenth) {
        *last_tenth = tenth;
        return 1;
    }
    return 0;
}
