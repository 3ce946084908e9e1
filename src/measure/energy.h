/* Energy of a run: RAPL and NVML counters when readable, else an estimate from CPU time; CO2 and green score. */
#ifndef VB_MEASURE_ENERGY_H
#define VB_MEASURE_ENERGY_H

#include <stddef.h>
#include <stdint.h>

#include "visionbench/status.h"

/* ---- RAPL (Linux powercap) ---------------------------------------------- */

#define VB_RAPL_MAX_ZONES 16

/* One powercap zone whose counter a measurement sums. */
typedef struct VbRaplZone {
    char name[64];              /* the zone's "name" file: "package-0", "dram" */
    char energy_path[512];      /* .../energy_uj */
    uint64_t max_range_uj;      /* max_energy_range_uj: the counter wraps to 0 past it */
    uint64_t last_uj;           /* counter at the previous read */
    uint64_t total_uj;          /* energy summed since vbMeasureRaplStart */
} VbRaplZone;

typedef struct VbRapl {
    int zone_count;
    VbRaplZone zones[VB_RAPL_MAX_ZONES];
} VbRapl;

/* Finds the RAPL zones under powercap_dir (NULL means /sys/class/powercap).
 * It keeps every top-level zone "intel-rapl:N" except "psys", because psys
 * already contains the packages; the kernel uses this name on AMD processors
 * too. It adds every sub-zone "intel-rapl:N:M" named "dram", because the
 * package counter does not include DRAM. Errors: VB_ERR_NOT_FOUND when there is no zone,
 * VB_ERR_IO when a counter cannot be read (Linux 5.10 and later make
 * energy_uj readable by root only). */
vb_status vbMeasureRaplOpen(VbRapl *rapl, const char *powercap_dir, vb_error *err);

/* Records the current value of every counter as the start of a measurement. */
vb_status vbMeasureRaplStart(VbRapl *rapl, vb_error *err);

/* Reads every counter and adds the energy since the previous read to the
 * zone's total. A counter that wraps twice between two reads loses one
 * range, so callers read at least every few minutes: a 262 kJ range (a
 * common max_energy_range_uj) lasts about 22 minutes at 200 W. */
vb_status vbMeasureRaplUpdate(VbRapl *rapl, vb_error *err);

/* Reads the counters once more and stores in *joules the energy of all
 * zones since vbMeasureRaplStart. The counters measure the whole processor
 * package, every process on it, not one process. */
vb_status vbMeasureRaplJoules(VbRapl *rapl, double *joules, vb_error *err);

/* Returns end - start for a counter that wraps to 0 after max_range: when
 * end < start the counter wrapped once and the result is
 * (max_range - start) + end. */
uint64_t vbMeasureRaplDelta(uint64_t start, uint64_t end, uint64_t max_range);

/* ---- NVML (NVIDIA GPUs) ------------------------------------------------- */

/* A GPU energy counter read through libnvidia-ml.so.1, loaded with dlopen so
 * that visionbench neither links against nor needs the NVIDIA driver. */
typedef struct VbNvml {
    void *library;              /* dlopen handle, NULL when closed */
    void *device;               /* nvmlDevice_t */
    int (*get_energy)(void *device, unsigned long long *millijoules);
    int (*get_memory)(void *device, void *memory);
    int (*shutdown)(void);
    unsigned long long start_mj;
    char name[96];              /* GPU name, e.g. "NVIDIA H200" */
} VbNvml;

/* Loads NVML, initialises it and opens GPU device_index. Errors:
 * VB_ERR_NOT_FOUND when libnvidia-ml.so.1 is not installed or there is no
 * such GPU, VB_ERR_UNSUPPORTED when the GPU has no energy counter (NVML
 * provides it from the Volta generation on). The message names the cause. */
vb_status vbMeasureNvmlOpen(VbNvml *nvml, int device_index, vb_error *err);

/* Records the GPU's total energy counter as the start of a measurement. */
vb_status vbMeasureNvmlStart(VbNvml *nvml, vb_error *err);

/* Stores in *joules the GPU energy since vbMeasureNvmlStart. */
vb_status vbMeasureNvmlJoules(const VbNvml *nvml, double *joules, vb_error *err);

/* Stores the GPU memory in use (all processes) in *bytes. */
vb_status vbMeasureNvmlMemoryUsed(const VbNvml *nvml, uint64_t *bytes, vb_error *err);

/* Shuts NVML down and unloads it. Accepts NULL and a closed struct. */
void vbMeasureNvmlClose(VbNvml *nvml);

/* ---- Estimate from CPU time --------------------------------------------- */

/* Power of DRAM per GB resident, in watts: a rough figure for DDR4 modules
 * (about 3 W for an 8 GB module). */
#define VB_DRAM_WATTS_PER_GB 0.375

/* Returns the estimated power of one busy logical core, in watts, for the
 * processor named by vendor and model (strings from /proc/cpuinfo; either
 * may be NULL), from the small table documented in docs/energy.md. *basis,
 * when not NULL, receives a constant description of the table row used. */
double vbMeasureCpuWattsPerCore(const char *vendor, const char *model, const char **basis);

/* Returns the estimated energy in joules of a process that used cpu_seconds
 * of CPU time (user + system, all threads) and kept ram_bytes resident for
 * wall_seconds: cpu_seconds * watts_per_core + GB * VB_DRAM_WATTS_PER_GB *
 * wall_seconds. */
double vbMeasureEstimateJoules(double cpu_seconds, double watts_per_core, uint64_t ram_bytes,
                               double wall_seconds);

/* ---- CO2 and green score ------------------------------------------------ */

/* World-average carbon intensity of electricity, g CO2e per kWh: the
 * default when neither --grid-intensity nor --country is given. */
#define VB_GRID_WORLD_G_PER_KWH 475.0

/* Carbon intensity of one country's electricity. */
typedef struct VbGridIntensity {
    const char *iso2;           /* ISO 3166-1 alpha-2, upper case */
    const char *country;
    double g_per_kwh;
} VbGridIntensity;

/* Source and year of the built-in country table, for the run output. */
#define VB_GRID_TABLE_SOURCE "Our World in Data, carbon intensity of electricity, 2021 (as shipped in CodeCarbon's global_energy_mix.json)"

/* Returns the table row for an ISO 3166-1 alpha-2 code (any case), or NULL
 * when the country is not in the table. */
const VbGridIntensity *vbMeasureGridIntensity(const char *iso2);

/* Returns the rows of the built-in table and stores their number in *count. */
const VbGridIntensity *vbMeasureGridTable(size_t *count);

/* Returns kg CO2e for joules of electricity at g_per_kwh, scaled by the
 * data centre's power usage effectiveness pue (1.0 for none):
 * joules / 3.6e6 * g_per_kwh / 1000 * pue. */
double vbMeasureCo2Kg(double joules, double g_per_kwh, double pue);

/* Number of green-score bands and their upper edges in joules per image. */
#define VB_GREEN_SCORE_EDGES 9
extern const double vbGreenScoreEdges[VB_GREEN_SCORE_EDGES];

/* Returns the green score 1..10 of a model that used joules_per_image: 10
 * below 0.1 J, then one point less for each half decade (0.1, 0.316, 1,
 * 3.16, 10, 31.6, 100, 316, 1000 J), 1 at 1000 J and above. A band's lower
 * edge belongs to it. Returns 0 for a negative or non-finite input. */
int vbMeasureGreenScore(double joules_per_image);

#endif /* VB_MEASURE_ENERGY_H */
