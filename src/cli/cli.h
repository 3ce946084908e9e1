/* Entry points of the visionbench subcommands, one file each under src/cli/. */
#ifndef VB_CLI_H
#define VB_CLI_H

/* Each command receives argv with argv[0] being the command name and returns
 * the process exit status: 0 success, 1 failure, 2 usage error. */
int vbCmdInspect(int argc, char **argv);
int vbCmdInfer(int argc, char **argv);
int vbCmdEval(int argc, char **argv);
int vbCmdRun(int argc, char **argv);
int vbCmdHistory(int argc, char **argv);
int vbCmdServe(int argc, char **argv);
int vbCmdSynth(int argc, char **argv);
int vbCmdDemo(int argc, char **argv);

/* Prints "visionbench: error: MESSAGE" to stderr (one line). */
void vbCliError(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* VB_CLI_H */
