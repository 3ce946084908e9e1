/* visionbench inspect: placeholder until the command lands. */
#include "cli/cli.h"

int vbCmdInspect(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    vbCliError("'inspect' is not implemented yet");
    return 1;
}
