/* The run report as JSON (the public format documented in docs/run-json.md) and the terminal table. */
#ifndef VB_REPORT_RUN_JSON_H
#define VB_REPORT_RUN_JSON_H

#include <jansson.h>

#include "core/core.h"
#include "run/run.h"

/* Builds the run report of result, made with options, as a new JSON object
 * (the caller owns the reference). Non-finite numbers become null. Returns
 * NULL when out of memory. */
json_t *vbReportRunJson(const VbRunResult *result, const VbRunOptions *options);

/* Returns the run status: "ok" when every model finished, "partial" when
 * some did, "failed" when none did. */
const char *vbReportRunStatus(const VbRunResult *result);

/* Renders the comparison table (one row per model: status, mAP, mAP50,
 * F1, median and p95 latency, throughput, peak memory, energy per image,
 * CO2, green score) and the winners into out, a capped buffer. Errors:
 * VB_ERR_LIMIT, VB_ERR_NO_MEMORY from the buffer. */
vb_status vbReportRunTable(const VbRunResult *result, VbBuf *out, vb_error *err);

#endif /* VB_REPORT_RUN_JSON_H */
