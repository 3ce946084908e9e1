/* visionbench eval: placeholder until the command lands. */
#include "cli/cli.h"

int vbCmdEval(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    vbCliError("'eval' is not implemented yet");
    return 1;
}
