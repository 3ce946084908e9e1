/* RAPL and NVML energy counters, the CPU-time energy estimate, CO2 and the green score. */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "measure/energy.h"

/* ---- RAPL ---------------------------------------------------------------- */

/* Reads one unsigned decimal number from a sysfs file. */
static vb_status readCounter(const char *path, uint64_t *value, vb_error *err)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        if (errno == EACCES || errno == EPERM)
            return vbErrorSet(err, VB_ERR_IO,
                              "%s: permission denied (RAPL counters are root-only since Linux 5.10; "
                              "run as root or pass --cpu-watts for an estimate)", path);
        return vbErrorSet(err, VB_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    unsigned long long v;
    int n = fscanf(f, "%llu", &v);
    fclose(f);
    if (n != 1)
        return vbErrorSet(err, VB_ERR_PARSE, "%s: expected a number", path);
    *value = (uint64_t)v;
    return VB_OK;
}

/* Reads the first line of a small text file into out, without the newline. */
static void readLine(const char *path, char *out, size_t out_size)
{
    out[0] = '\0';
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    if (fgets(out, (int)out_size, f) == NULL)
        out[0] = '\0';
    fclose(f);
    out[strcspn(out, "\n")] = '\0';
}

/* Returns the number of ':'-separated indices after "intel-rapl" in a zone
 * directory name (1 for "intel-rapl:0", 2 for "intel-rapl:0:2"), or 0 when
 * the name is not a RAPL zone. */
static int zoneDepth(const char *name)
{
    const char *prefix = "intel-rapl";
    size_t len = strlen(prefix);
    if (strncmp(name, prefix, len) != 0)
        return 0;
    int depth = 0;
    const char *p = name + len;
    while (*p == ':') {
        p++;
        if (!isdigit((unsigned char)*p))
            return 0;
        while (isdigit((unsigned char)*p))
            p++;
        depth++;
    }
    return *p == '\0' ? depth : 0;
}

static int compareZones(const void *a, const void *b)
{
    return strcmp(((const VbRaplZone *)a)->energy_path, ((const VbRaplZone *)b)->energy_path);
}

vb_status vbMeasureRaplOpen(VbRapl *rapl, const char *powercap_dir, vb_error *err)
{
    memset(rapl, 0, sizeof *rapl);
    if (powercap_dir == NULL)
        powercap_dir = "/sys/class/powercap";

    DIR *dir = opendir(powercap_dir);
    if (dir == NULL)
        return vbErrorSet(err, VB_ERR_NOT_FOUND, "%s: no powercap interface (%s)", powercap_dir,
                          strerror(errno));

    vb_status st = VB_OK;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        int depth = zoneDepth(entry->d_name);
        if (depth == 0 || depth > 2)
            continue;

        /* Keep packages (depth 1, except psys) and DRAM sub-zones. */
        char path[512], name[64];
        snprintf(path, sizeof path, "%s/%s/name", powercap_dir, entry->d_name);
        readLine(path, name, sizeof name);
        if (depth == 1 && strcmp(name, "psys") == 0)
            continue;
        if (depth == 2 && strcmp(name, "dram") != 0)
            continue;
        if (rapl->zone_count == VB_RAPL_MAX_ZONES)
            break;

        VbRaplZone *zone = &rapl->zones[rapl->zone_count];
        snprintf(zone->name, sizeof zone->name, "%.63s", name[0] ? name : entry->d_name);
        snprintf(zone->energy_path, sizeof zone->energy_path, "%s/%s/energy_uj", powercap_dir,
                 entry->d_name);
        snprintf(path, sizeof path, "%s/%s/max_energy_range_uj", powercap_dir, entry->d_name);
        st = readCounter(path, &zone->max_range_uj, err);
        if (st == VB_OK)
            st = readCounter(zone->energy_path, &zone->last_uj, err);
        if (st != VB_OK)
            goto done;
        rapl->zone_count++;
    }
    if (rapl->zone_count == 0) {
        st = vbErrorSet(err, VB_ERR_NOT_FOUND, "%s: no RAPL zone (intel-rapl:N) found",
                        powercap_dir);
        goto done;
    }
    /* readdir order is arbitrary; sort so reports list zones stably. */
    qsort(rapl->zones, (size_t)rapl->zone_count, sizeof rapl->zones[0], compareZones);

done:
    closedir(dir);
    return st;
}

uint64_t vbMeasureRaplDelta(uint64_t start, uint64_t end, uint64_t max_range)
{
    if (end >= start)
        return end - start;
    if (start > max_range)
        return end;  /* a counter above its own range: count from 0 */
    return (max_range - start) + end;
}

vb_status vbMeasureRaplStart(VbRapl *rapl, vb_error *err)
{
    for (int i = 0; i < rapl->zone_count; i++) {
        vb_status st = readCounter(rapl->zones[i].energy_path, &rapl->zones[i].last_uj, err);
        if (st != VB_OK)
            return st;
        rapl->zones[i].total_uj = 0;
    }
    return VB_OK;
}

vb_status vbMeasureRaplUpdate(VbRapl *rapl, vb_error *err)
{
    for (int i = 0; i < rapl->zone_count; i++) {
        VbRaplZone *zone = &rapl->zones[i];
        uint64_t now = 0;
        vb_status st = readCounter(zone->energy_path, &now, err);
        if (st != VB_OK)
            return st;
        zone->total_uj += vbMeasureRaplDelta(zone->last_uj, now, zone->max_range_uj);
        zone->last_uj = now;
    }
    return VB_OK;
}

vb_status vbMeasureRaplJoules(VbRapl *rapl, double *joules, vb_error *err)
{
    *joules = 0.0;
    vb_status st = vbMeasureRaplUpdate(rapl, err);
    if (st != VB_OK)
        return st;
    for (int i = 0; i < rapl->zone_count; i++)
        *joules += (double)rapl->zones[i].total_uj * 1e-6;
    return VB_OK;
}

/* ---- NVML ---------------------------------------------------------------- */

/* The subset of the NVML C API used here; values and layouts follow nvml.h. */
#define NVML_SUCCESS 0
#define NVML_ERROR_NOT_SUPPORTED 3

typedef struct NvmlMemory {
    unsigned long long total;
    unsigned long long free;
    unsigned long long used;
} NvmlMemory;

typedef int (*NvmlInitFn)(void);
typedef int (*NvmlHandleFn)(unsigned int index, void **device);
typedef int (*NvmlNameFn)(void *device, char *name, unsigned int length);
typedef int (*NvmlEnergyFn)(void *device, unsigned long long *millijoules);
typedef int (*NvmlMemoryFn)(void *device, void *memory);
typedef int (*NvmlShutdownFn)(void);

/* Looks up symbol in lib; POSIX allows the object-to-function pointer
 * conversion that dlsym needs. */
static void *findSymbol(void *lib, const char *symbol)
{
    return dlsym(lib, symbol);
}

vb_status vbMeasureNvmlOpen(VbNvml *nvml, int device_index, vb_error *err)
{
    memset(nvml, 0, sizeof *nvml);
    void *lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL)
        return vbErrorSet(err, VB_ERR_NOT_FOUND,
                          "no GPU: libnvidia-ml.so.1 not found (no NVIDIA driver installed)");

    vb_status st = VB_OK;
    NvmlInitFn init;
    NvmlHandleFn handle;
    NvmlNameFn name;
    *(void **)&init = findSymbol(lib, "nvmlInit_v2");
    *(void **)&handle = findSymbol(lib, "nvmlDeviceGetHandleByIndex_v2");
    *(void **)&name = findSymbol(lib, "nvmlDeviceGetName");
    *(void **)&nvml->get_energy = findSymbol(lib, "nvmlDeviceGetTotalEnergyConsumption");
    *(void **)&nvml->get_memory = findSymbol(lib, "nvmlDeviceGetMemoryInfo");
    *(void **)&nvml->shutdown = findSymbol(lib, "nvmlShutdown");
    if (init == NULL || handle == NULL || nvml->get_energy == NULL || nvml->get_memory == NULL ||
        nvml->shutdown == NULL) {
        st = vbErrorSet(err, VB_ERR_UNSUPPORTED,
                        "libnvidia-ml.so.1 lacks the energy API (driver too old; update the NVIDIA driver)");
        dlclose(lib);
        memset(nvml, 0, sizeof *nvml);
        return st;
    }

    int rc = init();
    if (rc != NVML_SUCCESS) {
        dlclose(lib);
        memset(nvml, 0, sizeof *nvml);
        return vbErrorSet(err, VB_ERR_NOT_FOUND, "no GPU: nvmlInit failed with NVML error %d", rc);
    }
    nvml->library = lib;

    rc = handle((unsigned int)device_index, &nvml->device);
    if (rc != NVML_SUCCESS) {
        st = vbErrorSet(err, VB_ERR_NOT_FOUND, "no GPU %d: NVML error %d", device_index, rc);
        goto fail;
    }
    if (name != NULL && name(nvml->device, nvml->name, sizeof nvml->name) != NVML_SUCCESS)
        nvml->name[0] = '\0';

    unsigned long long mj;
    rc = nvml->get_energy(nvml->device, &mj);
    if (rc != NVML_SUCCESS) {
        st = vbErrorSet(err, rc == NVML_ERROR_NOT_SUPPORTED ? VB_ERR_UNSUPPORTED : VB_ERR_IO,
                        "GPU %d (%s) has no readable energy counter: NVML error %d", device_index,
                        nvml->name, rc);
        goto fail;
    }
    nvml->start_mj = mj;
    return VB_OK;

fail:
    vbMeasureNvmlClose(nvml);
    return st;
}

vb_status vbMeasureNvmlStart(VbNvml *nvml, vb_error *err)
{
    if (nvml->library == NULL)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT, "NVML is not open");
    int rc = nvml->get_energy(nvml->device, &nvml->start_mj);
    if (rc != NVML_SUCCESS)
        return vbErrorSet(err, VB_ERR_IO, "reading the GPU energy counter failed: NVML error %d", rc);
    return VB_OK;
}

vb_status vbMeasureNvmlJoules(const VbNvml *nvml, double *joules, vb_error *err)
{
    *joules = 0.0;
    if (nvml->library == NULL)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT, "NVML is not open");
    unsigned long long now;
    int rc = nvml->get_energy(nvml->device, &now);
    if (rc != NVML_SUCCESS)
        return vbErrorSet(err, VB_ERR_IO, "reading the GPU energy counter failed: NVML error %d", rc);
    /* The counter counts millijoules since the driver loaded and never wraps
     * in practice (64 bits). */
    *joules = now >= nvml->start_mj ? (double)(now - nvml->start_mj) * 1e-3 : 0.0;
    return VB_OK;
}

vb_status vbMeasureNvmlMemoryUsed(const VbNvml *nvml, uint64_t *bytes, vb_error *err)
{
    *bytes = 0;
    if (nvml->library == NULL)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT, "NVML is not open");
    NvmlMemory memory;
    int rc = nvml->get_memory(nvml->device, &memory);
    if (rc != NVML_SUCCESS)
        return vbErrorSet(err, VB_ERR_IO, "reading GPU memory failed: NVML error %d", rc);
    *bytes = memory.used;
    return VB_OK;
}

void vbMeasureNvmlClose(VbNvml *nvml)
{
    if (nvml == NULL || nvml->library == NULL)
        return;
    nvml->shutdown();
    dlclose(nvml->library);
    memset(nvml, 0, sizeof *nvml);
}

/* ---- CPU-time estimate ---------------------------------------------------- */

/* Watts per busy logical core: rated TDP divided by core count of one
 * representative part per family, an estimate only (docs/energy.md). Rows
 * are tried in order; the first whose match string occurs in the model name
 * (or vendor) wins. */
typedef struct CpuPowerRow {
    const char *match;
    double watts_per_core;
    const char *basis;
} CpuPowerRow;

static const CpuPowerRow cpuPowerTable[] = {
    {"EPYC", 4.4, "AMD EPYC: 280 W TDP / 64 cores (EPYC 7763)"},
    {"Ryzen", 10.6, "AMD Ryzen: 170 W TDP / 16 cores (Ryzen 9 7950X)"},
    {"Xeon", 6.75, "Intel Xeon: 270 W TDP / 40 cores (Xeon Platinum 8380)"},
    {"Core(TM)", 5.2, "Intel Core: 125 W base power / 24 cores (Core i9-13900K)"},
    {"Neoverse", 2.6, "Arm server: 210 W TDP / 80 cores (Ampere Altra Q80-30)"},
    {"Altra", 2.6, "Arm server: 210 W TDP / 80 cores (Ampere Altra Q80-30)"},
};

static const CpuPowerRow cpuPowerDefault = {
    "", 6.75, "unknown processor: the Intel Xeon row (270 W TDP / 40 cores)"};

double vbMeasureCpuWattsPerCore(const char *vendor, const char *model, const char **basis)
{
    const CpuPowerRow *row = &cpuPowerDefault;
    for (size_t i = 0; i < sizeof cpuPowerTable / sizeof cpuPowerTable[0]; i++) {
        const char *m = cpuPowerTable[i].match;
        if ((model != NULL && strstr(model, m) != NULL) ||
            (vendor != NULL && strstr(vendor, m) != NULL)) {
            row = &cpuPowerTable[i];
            break;
        }
    }
    if (basis != NULL)
        *basis = row->basis;
    return row->watts_per_core;
}

double vbMeasureEstimateJoules(double cpu_seconds, double watts_per_core, uint64_t ram_bytes,
                               double wall_seconds)
{
    double ram_gb = (double)ram_bytes / (1024.0 * 1024.0 * 1024.0);
    return cpu_seconds * watts_per_core + ram_gb * VB_DRAM_WATTS_PER_GB * wall_seconds;
}

/* ---- CO2 and green score ------------------------------------------------- */

/* g CO2e per kWh in 2021, Our World in Data as shipped in CodeCarbon's
 * codecarbon/data/private_infra/global_energy_mix.json (commit 0963f175),
 * rounded to 0.1 g. Sorted by code. */
static const VbGridIntensity gridTable[] = {
    {"AE", "United Arab Emirates", 461.8},
    {"AR", "Argentina", 357.8},
    {"AT", "Austria", 147.6},
    {"AU", "Australia", 531.2},
    {"BE", "Belgium", 156.9},
    {"BG", "Bulgaria", 354.3},
    {"BR", "Brazil", 158.6},
    {"CA", "Canada", 128.5},
    {"CH", "Switzerland", 47.1},
    {"CL", "Chile", 416.9},
    {"CN", "China", 544.4},
    {"CO", "Colombia", 181.1},
    {"CZ", "Czechia", 405.6},
    {"DE", "Germany", 365.5},
    {"DK", "Denmark", 221.4},
    {"EG", "Egypt", 464.4},
    {"ES", "Spain", 193.9},
    {"FI", "Finland", 145.5},
    {"FR", "France", 67.4},
    {"GB", "United Kingdom", 268.3},
    {"GR", "Greece", 353.3},
    {"HK", "Hong Kong", 684.0},
    {"HU", "Hungary", 233.0},
    {"ID", "Indonesia", 623.2},
    {"IE", "Ireland", 363.6},
    {"IL", "Israel", 548.0},
    {"IN", "India", 637.2},
    {"IS", "Iceland", 28.6},
    {"IT", "Italy", 340.8},
    {"JP", "Japan", 478.5},
    {"KE", "Kenya", 86.2},
    {"KR", "South Korea", 458.1},
    {"MX", "Mexico", 399.9},
    {"MY", "Malaysia", 548.6},
    {"NG", "Nigeria", 377.0},
    {"NL", "Netherlands", 388.7},
    {"NO", "Norway", 27.6},
    {"NZ", "New Zealand", 132.4},
    {"PE", "Peru", 230.7},
    {"PH", "Philippines", 580.9},
    {"PK", "Pakistan", 366.1},
    {"PL", "Poland", 660.1},
    {"PT", "Portugal", 219.1},
    {"RO", "Romania", 255.9},
    {"RU", "Russia", 359.9},
    {"SA", "Saudi Arabia", 571.3},
    {"SE", "Sweden", 45.8},
    {"SG", "Singapore", 487.9},
    {"TH", "Thailand", 506.6},
    {"TR", "Turkey", 430.4},
    {"TW", "Taiwan", 573.3},
    {"UA", "Ukraine", 240.2},
    {"US", "United States", 379.3},
    {"VN", "Vietnam", 448.2},
    {"ZA", "South Africa", 715.7},
};

const VbGridIntensity *vbMeasureGridTable(size_t *count)
{
    *count = sizeof gridTable / sizeof gridTable[0];
    return gridTable;
}

const VbGridIntensity *vbMeasureGridIntensity(const char *iso2)
{
    if (iso2 == NULL || strlen(iso2) != 2)
        return NULL;
    char code[3] = {(char)toupper((unsigned char)iso2[0]), (char)toupper((unsigned char)iso2[1]), 0};
    for (size_t i = 0; i < sizeof gridTable / sizeof gridTable[0]; i++) {
        if (strcmp(gridTable[i].iso2, code) == 0)
            return &gridTable[i];
    }
    return NULL;
}

double vbMeasureCo2Kg(double joules, double g_per_kwh, double pue)
{
    return joules / 3.6e6 * g_per_kwh / 1000.0 * pue;
}

const double vbGreenScoreEdges[VB_GREEN_SCORE_EDGES] = {
    0.1, 0.316, 1.0, 3.16, 10.0, 31.6, 100.0, 316.0, 1000.0,
};

int vbMeasureGreenScore(double joules_per_image)
{
    if (!isfinite(joules_per_image) || joules_per_image < 0.0)
        return 0;
    int score = 10;
    for (int i = 0; i < VB_GREEN_SCORE_EDGES; i++) {
        if (joules_per_image >= vbGreenScoreEdges[i])
            score = 9 - i;
    }
    return score;
}
