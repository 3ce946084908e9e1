/* Progress display for a run: a one-line bar for terminals, plain log lines otherwise. */
#ifndef VB_REPORT_PROGRESS_H
#define VB_REPORT_PROGRESS_H

#include <stddef.h>

#include "run/run.h"

/* Formats one progress line into out (size bytes, NUL-terminated) and
 * returns its length. With bar nonzero the line is a bar for a terminal,
 * such as "[3/5 yolov8n] run    #####----- 120/500 24.1 img/s ETA 15s".
 * Otherwise it is a log line: "[3/5 yolov8n] run: 120/500 24.1 img/s ETA 15s".
 * Images per second and the ETA come from done / elapsed_s, only for the
 * decode, warmup and run phases, and only once both are above 0. */
size_t vbReportProgressFormat(const VbRunProgress *p, int bar, char *out, size_t size);

/* Returns 1 when a progress event should produce a plain log line: the
 * start and end of each phase, and each new tenth of a decode or run phase,
 * so logs stay short. *last_tenth keeps the state between calls; set it to
 * -1 before the first. */
int vbReportProgressIsMilestone(const VbRunProgress *p, int *last_tenth);

#endif /* VB_REPORT_PROGRESS_H */
