/* hadron command-line entry point: the table of commands. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const cli_command *const commands[] = {&cmd_demo, &cmd_sim, &cmd_surrogate, &cmd_predict, &cmd_bnn, &cmd_gan, &cmd_gen,
                                              &cmd_avo,  &cmd_calo_eval, &cmd_fit, &cmd_study, &cmd_info, &cmd_export, NULL};

const cli_command cmd_hadron = {
    .name = "",
    .summary = "hadron " HD_VERSION ": deep learning for the physical sciences.",
    .usage = "<command> [options]",
    .subcommands = commands,
    .epilog = "  hadron --version          print the version\n\n"
              "environment: HADRON_LOG=debug|info|warn|error|silent, OMP_NUM_THREADS, OPENBLAS_CORETYPE\n",
};

int main(int argc, char **argv)
{
    cli_choose_blas_kernels(argv);
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        printf("hadron %s\n", HD_VERSION);
        return 0;
    }
    return cli_dispatch(&cmd_hadron, argc, argv);
}
