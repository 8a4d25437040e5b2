/* hadron demo: every workflow at a small size, ending with where the outputs are. */
#include "cli.h"
#include "hadron/hadron.h"

#include <stdio.h>

static int run(int argc, char **argv)
{
    const char *out = "out/demo";
    cli_flag flags[] = {{"out", FLAG_STRING, &out, "output directory"}};
    int rc = cli_parse(&cmd_demo, argc, argv, flags, 1);
    if (rc) return rc == 1 ? 0 : rc;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/fit", out);
    char *fit_argv[] = {"fit", "--out", dir, "--print-every", "15"};
    printf("== fit: an MLP learns a known function ==\n");
    if ((rc = cmd_fit.run(5, fit_argv)) != 0) return rc;
    printf("\ndemo done: outputs under %s/\n", out);
    return 0;
}

const cli_command cmd_demo = {"demo", "run every workflow at a small size", "demo [options]", run};
