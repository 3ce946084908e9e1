/* visionbench synth: writes deterministic synthetic road scenes with exact ground truth. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "synth/synth.h"

static void printSynthUsage(FILE *out)
{
    fprintf(out,
            "usage: visionbench synth --out DIR [--count N] [--seed S] [--size WxH]\n"
            "\n"
            "Writes N synthetic road scenes (cars, trucks, buses) as DIR/images/NNNNNN.png\n"
            "with exact ground truth in DIR/gt.csv and DIR/gt.json (COCO). The same seed,\n"
            "count and size give the same bytes on every run.\n"
            "\n"
            "  --out DIR     output folder, created when missing\n"
            "  --count N     number of scenes, 1..%d (default 100)\n"
            "  --seed S      unsigned 64-bit seed (default 1)\n"
            "  --size WxH    image size in pixels, each side %d..%d (default 320x240)\n"
            "  -h, --help    show this help\n",
            VB_SYNTH_MAX_COUNT, VB_SYNTH_MIN_SIDE, VB_SYNTH_MAX_SIDE);
}

/* Parses a whole unsigned decimal number into *out; returns 0 on junk. */
static int parseU64(const char *s, unsigned long long *out)
{
    if (s == NULL || *s < '0' || *s > '9')
        return 0;
    char *end = NULL;
    errno = 0;
    *out = strtoull(s, &end, 10);
    return errno == 0 && *end == '\0';
}

/* Parses "WxH" into two sides within the generator's range. */
static int parseSize(const char *s, int *width, int *height)
{
    char *end = NULL;
    long w = strtol(s, &end, 10);
    if (end == s || (*end != 'x' && *end != 'X'))
        return 0;
    const char *rest = end + 1;
    long h = strtol(rest, &end, 10);
    if (end == rest || *end != '\0')
        return 0;
    if (w < VB_SYNTH_MIN_SIDE || w > VB_SYNTH_MAX_SIDE || h < VB_SYNTH_MIN_SIDE ||
        h > VB_SYNTH_MAX_SIDE)
        return 0;
    *width = (int)w;
    *height = (int)h;
    return 1;
}

int vbCmdSynth(int argc, char **argv)
{
    VbSynthOptions options = {NULL, 100, 1, 320, 240};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            printSynthUsage(stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            vbCliError("'%s' is not an option or lacks its value; run 'visionbench synth --help'",
                       arg);
            return 2;
        }
        const char *value = argv[++i];
        unsigned long long n;
        if (strcmp(arg, "--out") == 0) {
            options.out_dir = value;
        } else if (strcmp(arg, "--count") == 0) {
            if (!parseU64(value, &n) || n < 1 || n > VB_SYNTH_MAX_COUNT) {
                vbCliError("--count: invalid value '%s'; expected 1 to %d", value, VB_SYNTH_MAX_COUNT);
                return 2;
            }
            options.count = (uint32_t)n;
        } else if (strcmp(arg, "--seed") == 0) {
            if (!parseU64(value, &n)) {
                vbCliError("--seed: invalid value '%s'; expected an unsigned 64-bit integer", value);
                return 2;
            }
            options.seed = n;
        } else if (strcmp(arg, "--size") == 0) {
            if (!parseSize(value, &options.width, &options.height)) {
                vbCliError("--size: invalid value '%s'; expected WxH with sides %d to %d", value,
                           VB_SYNTH_MIN_SIDE, VB_SYNTH_MAX_SIDE);
                return 2;
            }
        } else {
            vbCliError("unknown option '%s'; run 'visionbench synth --help'", arg);
            return 2;
        }
    }
    if (options.out_dir == NULL) {
        vbCliError("--out DIR is required");
        return 2;
    }

    vb_error err;
    memset(&err, 0, sizeof err);
    if (vbSynthWriteDataset(&options, &err) != VB_OK) {
        vbCliError("%s", err.message);
        return 1;
    }
    fprintf(stderr, "visionbench: %u scenes written to %s (images/, gt.csv, gt.json)\n",
            options.count, options.out_dir);
    return 0;
}
