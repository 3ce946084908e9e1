/* Unit tests for src/measure: percentiles, stddev, /proc parsing, RAPL wraparound, CO2, green score. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "measure/energy.h"
#include "measure/process.h"
#include "measure/stats.h"
#include "vbtest.h"

static void testPercentileLinear(void)
{
    const double x[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    /* numpy.percentile(x, p) with the default method gives these. */
    CHECK_NEAR(vbMeasurePercentile(x, 10, 50), 5.5, 1e-12);
    CHECK_NEAR(vbMeasurePercentile(x, 10, 90), 9.1, 1e-12);
    CHECK_NEAR(vbMeasurePercentile(x, 10, 95), 9.55, 1e-12);
    CHECK_NEAR(vbMeasurePercentile(x, 10, 99), 9.91, 1e-12);
    CHECK_NEAR(vbMeasurePercentile(x, 10, 0), 1.0, 0);
    CHECK_NEAR(vbMeasurePercentile(x, 10, 100), 10.0, 0);
    CHECK_NEAR(vbMeasurePercentile(x, 10, 150), 10.0, 0);
    CHECK_NEAR(vbMeasurePercentile(x, 10, -5), 1.0, 0);
}

static void testPercentileEdgeCounts(void)
{
    const double one[] = {42.0};
    CHECK_NEAR(vbMeasurePercentile(one, 1, 50), 42.0, 0);
    CHECK_NEAR(vbMeasurePercentile(one, 1, 99), 42.0, 0);
    CHECK_NEAR(vbMeasurePercentile(NULL, 0, 50), 0.0, 0);
    const double two[] = {10.0, 20.0};
    CHECK_NEAR(vbMeasurePercentile(two, 2, 50), 15.0, 1e-12);
    CHECK_NEAR(vbMeasurePercentile(two, 2, 95), 19.5, 1e-12);
}

static void testSummarizeUnsorted(void)
{
    const double x[] = {4, 1, 3, 2, 5};
    VbSampleStats s;
    vb_error err;
    CHECK(vbMeasureSummarize(x, 5, &s, &err) == VB_OK);
    CHECK_EQ_INT(s.count, 5);
    CHECK_NEAR(s.min, 1, 0);
    CHECK_NEAR(s.max, 5, 0);
    CHECK_NEAR(s.mean, 3, 1e-12);
    CHECK_NEAR(s.p50, 3, 1e-12);
    CHECK_NEAR(s.p90, 4.6, 1e-12);
    /* Sample standard deviation of 1..5: sqrt(10 / 4). */
    CHECK_NEAR(s.stddev, sqrt(2.5), 1e-12);
    /* The input stays in its order. */
    CHECK_NEAR(x[0], 4, 0);
}

static void testSummarizeEdgeCases(void)
{
    VbSampleStats s;
    vb_error err;
    CHECK(vbMeasureSummarize(NULL, 0, &s, &err) == VB_OK);
    CHECK_EQ_INT(s.count, 0);
    CHECK_NEAR(s.mean, 0, 0);

    const double one[] = {7.0};
    CHECK(vbMeasureSummarize(one, 1, &s, &err) == VB_OK);
    CHECK_NEAR(s.stddev, 0, 0);
    CHECK_NEAR(s.p99, 7.0, 0);

    /* Large offset: the two-pass formula keeps the small spread exact. */
    const double offset[] = {1e9 + 1, 1e9 + 2, 1e9 + 3};
    CHECK(vbMeasureSummarize(offset, 3, &s, &err) == VB_OK);
    CHECK_NEAR(s.stddev, 1.0, 1e-6);

    const double bad[] = {1.0, NAN};
    CHECK(vbMeasureSummarize(bad, 2, &s, &err) == VB_ERR_INVALID_ARGUMENT);
    CHECK(strstr(err.message, "sample 1") != NULL);
}

static void testProcStatusParse(void)
{
    const char *text = "Name:\tvisionbench\nVmPeak:\t  300000 kB\nVmHWM:\t  204800 kB\n"
                       "VmRSS:\t  102400 kB\nThreads:\t4\n";
    VbMemoryUsage m;
    vb_error err;
    CHECK(vbMeasureParseProcStatus(text, &m, &err) == VB_OK);
    CHECK_EQ_INT(m.rss_bytes, 102400ull * 1024);
    CHECK_EQ_INT(m.peak_rss_bytes, 204800ull * 1024);

    CHECK(vbMeasureParseProcStatus("Name:\tx\nVmRSS:\t1 kB\n", &m, &err) == VB_ERR_PARSE);
    CHECK(strstr(err.message, "VmHWM") != NULL);

    /* The live process has a resident size and a peak at least as large. */
    CHECK(vbMeasureMemory(&m, &err) == VB_OK);
    CHECK(m.rss_bytes > 0);
    CHECK(m.peak_rss_bytes >= m.rss_bytes);
}

static void testMachineInfo(void)
{
    VbMachineInfo info;
    vbMeasureMachineInfo(&info);
    CHECK(info.cores >= 1);
    CHECK(info.ram_bytes > 0);
    CHECK(strncmp(info.kernel, "Linux", 5) == 0);
}

static void testRaplDelta(void)
{
    const uint64_t range = 262143328850ull;
    CHECK_EQ_INT(vbMeasureRaplDelta(100, 250, range), 150);
    CHECK_EQ_INT(vbMeasureRaplDelta(range - 50, 30, range), 80);
    CHECK_EQ_INT(vbMeasureRaplDelta(0, 0, range), 0);
    CHECK_EQ_INT(vbMeasureRaplDelta(range, 0, range), 0);
    /* A start above the declared range counts from zero. */
    CHECK_EQ_INT(vbMeasureRaplDelta(range + 10, 5, range), 5);
}

/* Writes text to dir/name. */
static void writeFile(const char *dir, const char *name, const char *text)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        return;
    }
    fputs(text, f);
    fclose(f);
}

/* Builds a fake powercap tree: package-0 (wrapping), its core sub-zone
 * (ignored), a dram sub-zone and psys (ignored). */
static void testRaplFakeTree(void)
{
    char root[] = "/tmp/vb_rapl_XXXXXX";
    if (mkdtemp(root) == NULL) {
        perror("mkdtemp");
        vbTestFailures++;
        return;
    }
    const char *zones[] = {"intel-rapl:0", "intel-rapl:0:0", "intel-rapl:0:1", "intel-rapl:1"};
    const char *names[] = {"package-0\n", "core\n", "dram\n", "psys\n"};
    const char *energy[] = {"999000000\n", "5\n", "1000000\n", "7\n"};
    char dir[512];
    for (int i = 0; i < 4; i++) {
        snprintf(dir, sizeof dir, "%s/%s", root, zones[i]);
        mkdir(dir, 0755);
        writeFile(dir, "name", names[i]);
        writeFile(dir, "energy_uj", energy[i]);
        writeFile(dir, "max_energy_range_uj", "1000000000\n");
    }

    VbRapl rapl;
    vb_error err;
    CHECK(vbMeasureRaplOpen(&rapl, root, &err) == VB_OK);
    CHECK_EQ_INT(rapl.zone_count, 2);
    CHECK_STR(rapl.zones[0].name, "package-0");
    CHECK_STR(rapl.zones[1].name, "dram");
    CHECK(vbMeasureRaplStart(&rapl, &err) == VB_OK);

    /* The package wraps: 999 J -> range 1000 J -> 1.5 J is 2.5 J; DRAM adds 0.5 J. */
    snprintf(dir, sizeof dir, "%s/intel-rapl:0", root);
    writeFile(dir, "energy_uj", "1500000\n");
    snprintf(dir, sizeof dir, "%s/intel-rapl:0:1", root);
    writeFile(dir, "energy_uj", "1500000\n");
    double joules = -1;
    CHECK(vbMeasureRaplJoules(&rapl, &joules, &err) == VB_OK);
    CHECK_NEAR(joules, 3.0, 1e-9);

    /* A second read adds only the new energy. */
    writeFile(dir, "energy_uj", "2500000\n");
    CHECK(vbMeasureRaplJoules(&rapl, &joules, &err) == VB_OK);
    CHECK_NEAR(joules, 4.0, 1e-9);

    for (int i = 3; i >= 0; i--) {
        snprintf(dir, sizeof dir, "%s/%s", root, zones[i]);
        char path[600];
        const char *files[] = {"name", "energy_uj", "max_energy_range_uj"};
        for (int j = 0; j < 3; j++) {
            snprintf(path, sizeof path, "%s/%s", dir, files[j]);
            unlink(path);
        }
        rmdir(dir);
    }
    rmdir(root);

    CHECK(vbMeasureRaplOpen(&rapl, "/nonexistent/powercap", &err) == VB_ERR_NOT_FOUND);
}

static void testNvmlUnavailableIsClean(void)
{
    VbNvml nvml;
    vb_error err;
    vb_status st = vbMeasureNvmlOpen(&nvml, 0, &err);
    if (st == VB_OK) {
        /* A machine with an NVIDIA GPU: the counter reads and does not go back. */
        double joules = -1;
        CHECK(vbMeasureNvmlJoules(&nvml, &joules, &err) == VB_OK);
        CHECK(joules >= 0);
        vbMeasureNvmlClose(&nvml);
    } else {
        CHECK(st == VB_ERR_NOT_FOUND || st == VB_ERR_UNSUPPORTED);
        CHECK(err.message[0] != '\0');
        CHECK(nvml.library == NULL);
    }
    vbMeasureNvmlClose(&nvml);
    vbMeasureNvmlClose(NULL);
}

static void testEstimate(void)
{
    const char *basis = NULL;
    CHECK_NEAR(vbMeasureCpuWattsPerCore("AuthenticAMD", "AMD EPYC 7763 64-Core Processor", &basis),
               4.4, 0);
    CHECK(strstr(basis, "EPYC") != NULL);
    CHECK_NEAR(vbMeasureCpuWattsPerCore("GenuineIntel", "Intel(R) Xeon(R) Processor", NULL), 6.75, 0);
    CHECK_NEAR(vbMeasureCpuWattsPerCore(NULL, NULL, &basis), 6.75, 0);
    CHECK(strstr(basis, "unknown") != NULL);

    /* 10 CPU-seconds at 5 W plus 2 GB for 4 s at 0.375 W/GB = 50 + 3 J. */
    CHECK_NEAR(vbMeasureEstimateJoules(10.0, 5.0, 2ull << 30, 4.0), 53.0, 1e-9);
    CHECK_NEAR(vbMeasureEstimateJoules(0.0, 5.0, 0, 0.0), 0.0, 0);
}

static void testCo2(void)
{
    /* 1 kWh at 475 g/kWh is 0.475 kg; a PUE of 1.5 adds half. */
    CHECK_NEAR(vbMeasureCo2Kg(3.6e6, 475.0, 1.0), 0.475, 1e-12);
    CHECK_NEAR(vbMeasureCo2Kg(3.6e6, 475.0, 1.5), 0.7125, 1e-12);
    CHECK_NEAR(vbMeasureCo2Kg(0.0, 475.0, 1.0), 0.0, 0);

    const VbGridIntensity *fr = vbMeasureGridIntensity("fr");
    CHECK(fr != NULL);
    if (fr != NULL)
        CHECK_NEAR(fr->g_per_kwh, 67.4, 1e-9);
    CHECK(vbMeasureGridIntensity("XX") == NULL);
    CHECK(vbMeasureGridIntensity("USA") == NULL);
    CHECK(vbMeasureGridIntensity(NULL) == NULL);

    /* The table is sorted and every value is plausible. */
    size_t n;
    const VbGridIntensity *table = vbMeasureGridTable(&n);
    CHECK(n > 40);
    for (size_t i = 0; i < n; i++) {
        CHECK(table[i].g_per_kwh > 0);
        CHECK(table[i].g_per_kwh < 1200);
        if (i > 0)
            CHECK(strcmp(table[i - 1].iso2, table[i].iso2) < 0);
    }
}

static void testGreenScoreBands(void)
{
    CHECK_EQ_INT(vbMeasureGreenScore(0.0), 10);
    CHECK_EQ_INT(vbMeasureGreenScore(0.0999), 10);
    CHECK_EQ_INT(vbMeasureGreenScore(0.1), 9);     /* a lower edge belongs to its band */
    CHECK_EQ_INT(vbMeasureGreenScore(0.5), 8);
    CHECK_EQ_INT(vbMeasureGreenScore(1.0), 7);
    CHECK_EQ_INT(vbMeasureGreenScore(5.0), 6);
    CHECK_EQ_INT(vbMeasureGreenScore(10.0), 5);
    CHECK_EQ_INT(vbMeasureGreenScore(50.0), 4);
    CHECK_EQ_INT(vbMeasureGreenScore(100.0), 3);
    CHECK_EQ_INT(vbMeasureGreenScore(500.0), 2);
    CHECK_EQ_INT(vbMeasureGreenScore(999.9), 2);
    CHECK_EQ_INT(vbMeasureGreenScore(1000.0), 1);
    CHECK_EQ_INT(vbMeasureGreenScore(1e9), 1);
    CHECK_EQ_INT(vbMeasureGreenScore(-1.0), 0);
    CHECK_EQ_INT(vbMeasureGreenScore(NAN), 0);
    CHECK_EQ_INT(vbMeasureGreenScore(INFINITY), 0);
}

int main(void)
{
    testPercentileLinear();
    testPercentileEdgeCounts();
    testSummarizeUnsorted();
    testSummarizeEdgeCases();
    testProcStatusParse();
    testMachineInfo();
    testRaplDelta();
    testRaplFakeTree();
    testNvmlUnavailableIsClean();
    testEstimate();
    testCo2();
    testGreenScoreBands();
    TEST_END();
}
