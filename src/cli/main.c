/* hadron command-line entry point: dispatches to the commands. */
#include "cli.h"
#include "hadron/hadron.h"

#include <stdio.h>
#include <string.h>

static const cli_command *const commands[] = {&cmd_demo, &cmd_sim, &cmd_surrogate, &cmd_predict, &cmd_bnn, &cmd_gan, &cmd_avo, &cmd_fit, &cmd_info};
#define N_COMMANDS (int)(sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: hadron <command> [options]\n\n"
               "hadron %s: deep learning for the physical sciences.\n\ncommands:\n", HD_VERSION);
    for (int i = 0; i < N_COMMANDS; i++) fprintf(f, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(f, "\n  hadron <command> --help   options of a command\n"
               "  hadron --version          print the version\n\n"
               "environment: HADRON_LOG=debug|info|warn|error|silent, OMP_NUM_THREADS\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("hadron %s\n", HD_VERSION);
        return 0;
    }
    for (int i = 0; i < N_COMMANDS; i++)
        if (strcmp(argv[1], commands[i]->name) == 0) return commands[i]->run(argc - 1, argv + 1);
    fprintf(stderr, "hadron: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
