/* The comparison table printed at the end of a run. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "measure/energy.h"
#include "report/run_json.h"

/* Formats v with fmt into out, or "-" when has is 0 or v is not finite. */
static void cell(char *out, size_t size, int has, const char *fmt, double v)
{
    if (!has || !isfinite(v) || v < 0.0)
        snprintf(out, size, "-");
    else
        snprintf(out, size, fmt, v);
}

static const char *nameAt(const VbRunResult *result, int index)
{
    return index >= 0 ? result->models[index].spec.name : "-";
}

vb_status vbReportRunTable(const VbRunResult *result, VbBuf *out, vb_error *err)
{
    vb_status st = vbBufPrintf(out, err, "%-20s %-8s %7s %7s %6s %9s %9s %8s %8s %9s %10s %5s\n",
                               "model", "status", "mAP", "mAP50", "F1", "p50 ms", "p95 ms", "img/s",
                               "peak MiB", "J/img", "CO2 mg/img", "green");
    for (int i = 0; st == VB_OK && i < result->model_count; i++) {
        const VbModelResult *m = &result->models[i];
        int done = m->status == VB_MODEL_OK && m->end_to_end_ms.count > 0;
        char map[16], map50[16], f1[16], p50[16], p95[16], ips[16], peak[16], jpi[16], co2[16],
            green[8];
        cell(map, sizeof map, m->has_accuracy, "%.4f", m->map);
        cell(map50, sizeof map50, m->has_accuracy, "%.4f", m->map50);
        cell(f1, sizeof f1, m->has_accuracy, "%.3f", m->f1);
        cell(p50, sizeof p50, done, "%.2f", m->end_to_end_ms.p50);
        cell(p95, sizeof p95, done, "%.2f", m->end_to_end_ms.p95);
        cell(ips, sizeof ips, done, "%.2f", m->throughput);
        double peak_mb = m->m.peak_rss_bytes > m->m.rss_start_bytes
                             ? (double)(m->m.peak_rss_bytes - m->m.rss_start_bytes) / (1024.0 * 1024.0)
                             : 0.0;
        cell(peak, sizeof peak, done, "%.1f", peak_mb);
        cell(jpi, sizeof jpi, done, "%.3f", m->energy_per_image_j);
        /* Per image like J/img; the JSON keeps the run total in co2_kg. */
        cell(co2, sizeof co2, done, "%.4f", m->co2_kg * 1e6 / (double)m->end_to_end_ms.count);
        cell(green, sizeof green, done && m->green_score > 0, "%.0f", (double)m->green_score);
        st = vbBufPrintf(out, err, "%-20.20s %-8s %7s %7s %6s %9s %9s %8s %8s %9s %10s %5s\n",
                         m->spec.name, vbModelStatusName(m->status), map, map50, f1, p50, p95, ips,
                         peak, jpi, co2, green);
        if (st == VB_OK && m->status != VB_MODEL_OK)
            st = vbBufPrintf(out, err, "  %s: %s\n", m->spec.name, m->error);
    }
    if (st != VB_OK)
        return st;

    const VbRunComparison *c = &result->comparison;
    st = vbBufPrintf(out, err,
                     "\nbest accuracy: %s   fastest: %s   most efficient: %s   greenest: %s\n",
                     nameAt(result, c->best_accuracy), nameAt(result, c->fastest),
                     nameAt(result, c->most_efficient), nameAt(result, c->greenest));
    if (st == VB_OK && c->best_classifier >= 0)
        st = vbBufPrintf(out, err, "best classifier (F1): %s\n", nameAt(result, c->best_classifier));
    if (st == VB_OK && c->pareto_count > 0) {
        st = vbBufPrintf(out, err, "accuracy/latency Pareto front:");
        for (int i = 0; st == VB_OK && i < c->pareto_count; i++)
            st = vbBufPrintf(out, err, " %s", nameAt(result, c->pareto[i]));
        if (st == VB_OK)
            st = vbBufPrintf(out, err, "\n");
    }
    char missing[64] = "";
    if (result->missing_count > 0)
        snprintf(missing, sizeof missing, "; %zu ground-truth name%s not found",
                 result->missing_count, result->missing_count == 1 ? "" : "s");
    if (st == VB_OK)
        st = vbBufPrintf(out, err,
                         "%zu image%s (%zu skipped%s), decode %.2f s once; energy %s, "
                         "grid %.1f g/kWh, PUE %.2f; run took %.2f s\n",
                         result->image_count, result->image_count == 1 ? "" : "s",
                         result->skipped_count - result->missing_count, missing,
                         result->decode_total_s,
                         result->model_count > 0 ? vbEnergySourceName(result->models[0].m.energy_source)
                                                 : "-",
                         result->grid_g_per_kwh, result->pue, result->execution_time_s);

    if (st == VB_OK && result->machine_busy)
        st = vbBufPrintf(out, err,
                         "warning: timings are unreliable: the machine was busy (load %.1f on %d "
                         "core%s at the start)\n",
                         result->load_average_start, result->machine.cores,
                         result->machine.cores == 1 ? "" : "s");

    /* Skipped images with their reasons; the JSON report lists them all. */
    enum { LISTED_MAX = 20 };
    for (size_t i = 0; st == VB_OK && i < result->skipped_count && i < LISTED_MAX; i++)
        st = vbBufPrintf(out, err, "skipped %s: %s\n", result->skipped[i].file_name,
                         result->skipped[i].reason);
    if (st == VB_OK && result->skipped_count > LISTED_MAX)
        st = vbBufPrintf(out, err, "... and %zu more skipped images (see the JSON report)\n",
                         result->skipped_count - LISTED_MAX);
    return st;
}
