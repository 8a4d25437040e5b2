/* Shared pieces of the hadron commands: flag parsing and help text. */
#ifndef HD_CLI_H
#define HD_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "hadron/core.h"

typedef enum { FLAG_INT, FLAG_I64, FLAG_U64, FLAG_FLOAT, FLAG_STRING, FLAG_BOOL } flag_kind;

typedef struct {
    const char *name; /* without the leading "--" */
    flag_kind kind;
    void *dst;        /* int*, int64_t*, uint64_t*, float*, const char**, int* */
    const char *help;
} cli_flag;

typedef struct {
    const char *name, *summary, *usage;
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
} cli_command;

/* Parses --name value / --name=value pairs into the flags.  Returns 0 to go
 * on, 1 when --help was printed, 2 (after a message on stderr) on bad input. */
int cli_parse(const cli_command *cmd, int argc, char **argv, const cli_flag *flags, int n_flags);
void cli_help(FILE *f, const cli_command *cmd, const cli_flag *flags, int n_flags);
/* Per-epoch reporting of a training command: a line on stdout for the first
 * epoch and every `every`-th (printf format), drawn above the progress bar,
 * which moves on every epoch with `status`. */
typedef struct { int every; hd_progress bar; } cli_report;
/* A line on stdout (printf format) above a progress bar on stderr. */
void cli_print_above(hd_progress *bar, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cli_report_epoch(cli_report *r, int epoch, const char *status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

int cli_mkdir(const char *dir); /* mkdir -p; 0, or a message and 1 */
int cli_mkdir_parent(const char *file); /* the directory a file goes in */

extern const cli_command cmd_fit, cmd_demo, cmd_info, cmd_surrogate, cmd_sim, cmd_predict, cmd_bnn, cmd_gan,
    cmd_avo;

#endif
