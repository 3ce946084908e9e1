/* visionbench infer: placeholder until the command lands. */
#include "cli/cli.h"

int vbCmdInfer(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    vbCliError("'infer' is not implemented yet");
    return 1;
}
