/* hadron command-line entry point: the table of commands. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Under mpirun: rank 0 alone speaks (stdout, information and warnings);
 * every rank reports its own errors. */
static void quiet_other_ranks(void)
{
    if (hd_dist_rank() == 0) return;
    if (!freopen("/dev/null", "w", stdout)) fprintf(stderr, "hadron: rank %d: cannot silence stdout\n", hd_dist_rank());
    if (!getenv("HADRON_LOG")) hd_log_set_level(HD_LOG_ERROR);
}

/* A rank that failed ends the whole job, so that no other rank waits for it in a sum. */
static int finish(int rc)
{
    if (rc != 0 && hd_dist_size() > 1) {
        fprintf(stderr, "hadron: rank %d of %d failed (exit status %d); ending every rank\n", hd_dist_rank(),
                hd_dist_size(), rc);
        fflush(NULL);
        hd_dist_abort(rc);
    }
    hd_dist_finalize();
    return rc;
}

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
    if (hd_dist_init(&argc, &argv) != HD_OK) {
        fprintf(stderr, "hadron: %s\n", hd_last_error());
        return 1;
    }
    quiet_other_ranks();
    return finish(cli_dispatch(&cmd_hadron, argc, argv));
}
