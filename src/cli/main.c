/* The visionbench command: dispatches to one subcommand per file. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/log.h"
#include "visionbench/version.h"

typedef struct CliCommand {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} CliCommand;

static const CliCommand commands[] = {
    {"inspect", vbCmdInspect, "describe an ONNX model: inputs, outputs, ops, parameters, FLOPs"},
    {"infer", vbCmdInfer, "run one model on a raw float32 input, dump or time its outputs"},
    {"eval", vbCmdEval, "evaluate a COCO results file against ground truth (pycocotools-exact)"},
    {"run", vbCmdRun, "benchmark models on an image set: accuracy, speed, memory, energy, CO2"},
    {"history", vbCmdHistory, "list the runs stored in the database (visionbench run --db)"},
    {"serve", vbCmdServe, "serve benchmarks over HTTP with a durable job queue and workers"},
    {"synth", vbCmdSynth, "write deterministic synthetic road scenes with exact ground truth"},
    {"demo", vbCmdDemo, "benchmark the bundled models on synthetic scenes (generated once)"},
};

void vbCliError(const char *fmt, ...)
{
    char message[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    fprintf(stderr, "visionbench: error: %s\n", message);
}

static void printUsage(FILE *out)
{
    fprintf(out, "usage: visionbench COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun 'visionbench COMMAND --help' for the options of a command.\n");
}

int main(int argc, char **argv)
{
    vbLogConfigure(VB_LOG_WARN, NULL, NULL);

    if (argc < 2) {
        printUsage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        printUsage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("visionbench %s\n", VB_VERSION_STRING);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    }
    vbCliError("unknown command '%s'; run 'visionbench --help' for the list", argv[1]);
    return 2;
}
