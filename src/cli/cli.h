/* Shared pieces of the hadron commands: flag tables, subcommands, help.
 *
 * A command is a table of flags, each bound to the field it sets; the
 * table is parsed, the options are checked by the library, a summary is
 * printed, and one library call does the work.  Flags shared by several
 * commands come as blocks (cli_run_flags, cli_optim_flags,
 * cli_train_flags): one entry of the table that stands for a table of its
 * own. */
#ifndef HD_CLI_H
#define HD_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "hadron/hadron.h"

typedef enum {
    FLAG_INT, FLAG_I64, FLAG_U64, FLAG_FLOAT, FLAG_DOUBLE, FLAG_STRING, FLAG_BOOL,
    FLAG_ENUM,     /* a name of aux (cli_choice[], ending in {NULL}) into an int or an int-sized enum */
    FLAG_I64_LIST, /* "a,b,c": 1..n positive integers into int64_t[n], how many into *count */
    FLAG_F64_LIST, /* "x,y": 1..n finite numbers into double[n], how many into *count */
    FLAG_CUSTOM,   /* aux: a cli_custom, which parses and prints the value */
    FLAG_BLOCK,    /* aux: a table of n more flags, here; name: a suffix of their names ("-disc") or NULL */
} flag_kind;

typedef struct {
    const char *name;
    int value;
} cli_choice;

typedef struct {
    int (*parse)(const char *text, void *dst); /* 0, or non-zero when text is not a valid `what` */
    void (*print)(FILE *f, const void *dst);   /* the value, as the default in --help */
    const char *hint, *what;                   /* "X", "number" */
} cli_custom;

typedef struct {
    const char *name; /* without the leading "--" */
    flag_kind kind;
    void *dst;        /* what the kind sets; NULL leaves the flag out (not for a block) */
    const char *help; /* a block's: the heading of its flags in --help, or NULL to list them with the others */
    const void *aux;  /* FLAG_ENUM, FLAG_CUSTOM, FLAG_BLOCK */
    int *count;       /* lists: how many items were given */
    int n;            /* lists: room for n items; blocks: n flags */
    const char *dflt; /* the default to show instead of the value (one that depends on other flags) */
} cli_flag;

#define CLI_COUNT(a) (int)(sizeof(a) / sizeof((a)[0]))
/* Table entries; dst must point at the type the kind sets (the compiler checks). */
#define CLI_TYPED(type, dst) ((void *)(1 ? (dst) : (type)0))
#define CLI_FLAG(name, kind, type, dst, help) {name, kind, CLI_TYPED(type, dst), help, NULL, NULL, 0, NULL}
#define CLI_INT(name, dst, help) CLI_FLAG(name, FLAG_INT, int *, dst, help)
#define CLI_I64(name, dst, help) CLI_FLAG(name, FLAG_I64, int64_t *, dst, help)
#define CLI_U64(name, dst, help) CLI_FLAG(name, FLAG_U64, uint64_t *, dst, help)
#define CLI_FLOAT(name, dst, help) CLI_FLAG(name, FLAG_FLOAT, float *, dst, help)
#define CLI_DOUBLE(name, dst, help) CLI_FLAG(name, FLAG_DOUBLE, double *, dst, help)
#define CLI_STRING(name, dst, help) CLI_FLAG(name, FLAG_STRING, const char **, dst, help)
#define CLI_BOOL(name, dst, help) CLI_FLAG(name, FLAG_BOOL, int *, dst, help)
#define CLI_ENUM(name, dst, choices, help) {name, FLAG_ENUM, dst, help, choices, NULL, 0, NULL}
#define CLI_I64_LIST(name, array, count, help) \
    {name, FLAG_I64_LIST, CLI_TYPED(int64_t *, array), help, NULL, count, CLI_COUNT(array), NULL}
#define CLI_F64_LIST(name, array, count, help) \
    {name, FLAG_F64_LIST, CLI_TYPED(double *, array), help, NULL, count, CLI_COUNT(array), NULL}
#define CLI_CUSTOM(name, dst, custom, help) {name, FLAG_CUSTOM, dst, help, custom, NULL, 0, NULL}
/* --layers N,N,... and --activation NAME of an MLP's hidden layers */
#define CLI_MLP(spec)                                                                                   \
    CLI_I64_LIST("layers", (spec)->hidden, &(spec)->n_hidden, "hidden layer sizes"),                  \
        CLI_ENUM("activation", &(spec)->act, cli_activations, "hidden activation")

extern const cli_choice cli_activations[], cli_optimizers[];
/* An energy in MeV, as a number or with a unit ("1000", "1GeV", "500 MeV"): a double. */
extern const cli_custom cli_energy;
extern const cli_custom cli_enforce;     /* --enforce energy,layers,width (cmd_gen.c) */
extern const cli_choice cli_gen_models[]; /* wgan-gp, cramer, vae, gmm, library, mdn */
void cli_print_energy(FILE *f, const void *mev);

/* Shared blocks.  Each struct is filled by the command (designated
 * initialisers), then cli_*_flags(&block) is the entry of its table; the
 * struct holds the block's flags, so it stays where it is until parsing is
 * done.  A NULL pointer leaves its flag out. */

typedef struct { /* --out, --seed, --threads */
    const char **out;     /* the output directory, or file when out_is_file */
    const char *out_help; /* NULL: "output directory" */
    int out_is_file;
    uint64_t *seed;
    int threads;          /* set by --threads; 0: all cores */
    cli_flag flags[3];
} cli_run;
cli_flag cli_run_flags(cli_run *b);
/* After the options are checked: makes the output directory (or the file's)
 * and sets the threads.  0, or a message and 1. */
int cli_start(const cli_run *b);

typedef struct { /* --optimizer, --lr, --beta1, --beta2, --eps, --weight-decay, --momentum, --clip-norm */
    hd_optim_opts *o;
    const char *suffix;  /* of every name, e.g. "-disc": --lr-disc; NULL: none */
    const char *heading; /* NULL: "optimiser" */
    cli_flag flags[8];
} cli_optim;
cli_flag cli_optim_flags(cli_optim *b);

typedef struct {                    /* --epochs, --batch, --checkpoint-every, --resume, --print-every */
    int *epochs;
    const char *epochs_help;        /* NULL: "training epochs" */
    int64_t *batch;
    int *checkpoint_every, *resume; /* into out_dir/checkpoint.safetensors */
    int *print_every;               /* a line every N epochs (cli_report) */
    cli_flag flags[5];
} cli_train;
cli_flag cli_train_flags(cli_train *b);

typedef struct cli_command cli_command;
struct cli_command {
    /* A subcommand's name is its whole path ("sim tracking"); it is called by its last word. */
    const char *name, *summary, *usage;
    int (*run)(int argc, char **argv);     /* argv[0] is the command's own word */
    const cli_command *const *subcommands; /* NULL-terminated; a command with them has no run */
    const char *noun;                      /* what a subcommand is called ("simulator"; NULL: "command") */
    const char *epilog;                    /* more text at the end of the help of subcommands */
};

/* Runs a command, or the subcommand argv[1] names (refusing an unknown one
 * by name, with the list). */
int cli_dispatch(const cli_command *cmd, int argc, char **argv);

/* Parses --name value / --name=value pairs into the flags.  Returns 0 to go
 * on, 1 when --help was printed, 2 (after a message on stderr) on bad input. */
int cli_parse(const cli_command *cmd, int argc, char **argv, const cli_flag *flags, int n_flags);
#define CLI_PARSE(cmd, argc, argv, flags) cli_parse(cmd, argc, argv, flags, CLI_COUNT(flags))
void cli_help(FILE *f, const cli_command *cmd, const cli_flag *flags, int n_flags);
/* After a library call failed: its message, and 2 (cli_refuse: a check of
 * the options) or 1 (cli_fail: the work itself). */
int cli_refuse(const cli_command *cmd);
int cli_fail(const cli_command *cmd);
/* "4-128-128-1": the layers of an MLP with n_in inputs and n_out outputs. */
const char *cli_mlp_str(const hd_mlp_spec *spec, int64_t n_in, int64_t n_out, char *buf, size_t size);

/* Per-epoch reporting of a training command: a line on stdout for the first
 * epoch and every `every`-th (printf format), drawn above the progress bar,
 * which moves on every epoch with `status`. */
typedef struct { int every; hd_progress bar; } cli_report;
/* A line on stdout (printf format) above a progress bar on stderr. */
void cli_print_above(hd_progress *bar, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cli_report_epoch(cli_report *r, int epoch, const char *status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A library's on_stage callback: "what ..." above the bar; user is the
 * hd_progress, or a struct whose first member is one. */
void cli_stage_above(void *user, const char *what);
/* A progress callback of the library (fraction done) that moves a bar of 1000 steps. */
void cli_show_fraction(void *bar, double fraction);

/* Starts hadron again with better OpenBLAS kernels where OpenBLAS did not
 * know the processor (blas_kernels.c); returns otherwise. */
void cli_choose_blas_kernels(char **argv);

int cli_mkdir(const char *dir); /* mkdir -p; 0, or a message and 1 */
int cli_mkdir_parent(const char *file); /* the directory a file goes in */

extern const cli_command cmd_hadron, cmd_fit, cmd_demo, cmd_info, cmd_surrogate, cmd_sim, cmd_predict, cmd_bnn,
    cmd_gan, cmd_gen, cmd_avo, cmd_calo_eval, cmd_study, cmd_export;

#endif
