/* Flag tables, subcommands and help shared by the commands. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* FLAG_ENUM writes an int: the enums it sets must be int-sized. */
_Static_assert(sizeof(hd_activation) == sizeof(int) && sizeof(hd_optim_kind) == sizeof(int), "int-sized enums");

const cli_choice cli_activations[] = {{"none", HD_ACT_NONE},       {"relu", HD_ACT_RELU},
                                      {"leaky_relu", HD_ACT_LEAKY_RELU}, {"sigmoid", HD_ACT_SIGMOID},
                                      {"tanh", HD_ACT_TANH},       {"softplus", HD_ACT_SOFTPLUS},
                                      {NULL, 0}};
const cli_choice cli_optimizers[] = {{"sgd", HD_SGD},     {"adam", HD_ADAM},     {"adamw", HD_ADAMW},
                                     {"nadam", HD_NADAM}, {"nadamw", HD_NADAMW}, {NULL, 0}};

/* ---- blocks --------------------------------------------------------------------- */

static cli_flag block(const char *suffix, const char *heading, cli_flag *flags, int n)
{
    return (cli_flag){.name = suffix, .kind = FLAG_BLOCK, .help = heading, .aux = flags, .n = n};
}

cli_flag cli_run_flags(cli_run *b)
{
    b->flags[0] = (cli_flag)CLI_STRING("out", b->out, b->out_help ? b->out_help : "output directory");
    b->flags[1] = (cli_flag)CLI_U64("seed", b->seed, "random seed");
    b->flags[2] = (cli_flag)CLI_INT("threads", &b->threads, "threads (0: all cores)");
    return block(NULL, NULL, b->flags, CLI_COUNT(b->flags));
}

int cli_start(const cli_run *b)
{
    if (b->out && *b->out && (b->out_is_file ? cli_mkdir_parent(*b->out) : cli_mkdir(*b->out))) return 1;
    if (hd_set_threads(b->threads) != HD_OK) {
        fprintf(stderr, "hadron: %s\n", hd_last_error());
        return 1;
    }
    return 0;
}

cli_flag cli_optim_flags(cli_optim *b)
{
    hd_optim_opts *o = b->o;
    b->flags[0] = (cli_flag)CLI_ENUM("optimizer", &o->kind, cli_optimizers, "optimiser");
    b->flags[1] = (cli_flag)CLI_FLOAT("lr", &o->lr, "learning rate");
    b->flags[2] = (cli_flag)CLI_FLOAT("beta1", &o->beta1, "first-moment decay (Adam family)");
    b->flags[3] = (cli_flag)CLI_FLOAT("beta2", &o->beta2, "second-moment decay (Adam family)");
    b->flags[4] = (cli_flag)CLI_FLOAT("eps", &o->eps, "added to the root of the second moment (Adam family)");
    b->flags[5] = (cli_flag)CLI_FLOAT("weight-decay", &o->weight_decay, "decoupled weight decay (adamw, nadamw)");
    b->flags[6] = (cli_flag)CLI_FLOAT("momentum", &o->momentum, "heavy-ball momentum (sgd)");
    b->flags[7] = (cli_flag)CLI_FLOAT("clip-norm", &o->clip_norm, "clip the global L2 norm of the gradients (0: off)");
    return block(b->suffix, b->heading ? b->heading : "optimiser", b->flags, CLI_COUNT(b->flags));
}

cli_flag cli_train_flags(cli_train *b)
{
    b->flags[0] = (cli_flag)CLI_INT("epochs", b->epochs, b->epochs_help ? b->epochs_help : "training epochs");
    b->flags[1] = (cli_flag)CLI_I64("batch", b->batch, "batch size");
    b->flags[2] = (cli_flag)CLI_INT("checkpoint-every", b->checkpoint_every, "epochs between checkpoints");
    b->flags[3] = (cli_flag)CLI_BOOL("resume", b->resume, "continue from OUT/checkpoint.safetensors");
    b->flags[4] = (cli_flag)CLI_INT("print-every", b->print_every, "print the losses every N epochs");
    return block(NULL, NULL, b->flags, CLI_COUNT(b->flags));
}

/* ---- walking a table with its blocks ------------------------------------------- */

/* A flag as found in a table: its entry and the suffix of its name. */
typedef struct {
    const cli_flag *fl;
    const char *suffix;
} found;

typedef int (*visit_fn)(void *user, found f);

/* Calls visit on every flag that is in (dst set), with the flags of blocks,
 * except blocks with a heading when skip_headed. */
static int walk(const cli_flag *flags, int n, const char *suffix, int skip_headed, visit_fn visit, void *user)
{
    for (int i = 0; i < n; i++) {
        const cli_flag *fl = &flags[i];
        int rc = 0;
        if (fl->kind == FLAG_BLOCK) {
            if (!(skip_headed && fl->help))
                rc = walk(fl->aux, fl->n, fl->name ? fl->name : suffix, skip_headed, visit, user);
        } else if (fl->dst) {
            rc = visit(user, (found){fl, suffix ? suffix : ""});
        }
        if (rc) return rc;
    }
    return 0;
}

static void full_name(found f, char *buf, size_t size) { snprintf(buf, size, "%s%s", f.fl->name, f.suffix); }

/* ---- help ------------------------------------------------------------------------ */

static const char *kind_hint(const cli_flag *fl)
{
    switch (fl->kind) {
    case FLAG_INT: case FLAG_I64: case FLAG_U64: return "N";
    case FLAG_FLOAT: case FLAG_DOUBLE: return "X";
    case FLAG_STRING: return "S";
    case FLAG_ENUM: return "NAME";
    case FLAG_I64_LIST: return "N,N,...";
    case FLAG_F64_LIST: return "X,X,...";
    case FLAG_CUSTOM: return ((const cli_custom *)fl->aux)->hint;
    default: return "";
    }
}

static const char *choice_name(const cli_choice *c, int value)
{
    for (; c->name; c++)
        if (c->value == value) return c->name;
    return NULL;
}

static void print_list(FILE *f, const cli_flag *fl)
{
    for (int i = 0; i < *fl->count; i++) {
        if (fl->kind == FLAG_I64_LIST) fprintf(f, "%s%lld", i ? "," : "", (long long)((const int64_t *)fl->dst)[i]);
        else fprintf(f, "%s%g", i ? "," : "", ((const double *)fl->dst)[i]);
    }
}

/* " (default V)", or the choices of an enum and its default; nothing when there is none. */
static void print_default(FILE *f, const cli_flag *fl)
{
    if (fl->kind == FLAG_ENUM) {
        const cli_choice *c = fl->aux;
        const char *d = fl->dflt ? fl->dflt : choice_name(c, *(const int *)fl->dst);
        fputs(" (", f);
        for (int i = 0; c[i].name; i++) fprintf(f, "%s%s", i ? ", " : "", c[i].name);
        if (d) fprintf(f, "; default %s", d);
        fputc(')', f);
        return;
    }
    if (fl->dflt) {
        fprintf(f, " (default %s)", fl->dflt);
        return;
    }
    switch (fl->kind) {
    case FLAG_INT: fprintf(f, " (default %d)", *(const int *)fl->dst); break;
    case FLAG_I64: fprintf(f, " (default %lld)", (long long)*(const int64_t *)fl->dst); break;
    case FLAG_U64: fprintf(f, " (default %llu)", (unsigned long long)*(const uint64_t *)fl->dst); break;
    case FLAG_FLOAT: fprintf(f, " (default %g)", (double)*(const float *)fl->dst); break;
    case FLAG_DOUBLE: fprintf(f, " (default %g)", *(const double *)fl->dst); break;
    case FLAG_STRING:
        if (*(const char *const *)fl->dst) fprintf(f, " (default %s)", *(const char *const *)fl->dst);
        break;
    case FLAG_I64_LIST: case FLAG_F64_LIST:
        if (*fl->count > 0) {
            fputs(" (default ", f);
            print_list(f, fl);
            fputc(')', f);
        }
        break;
    case FLAG_CUSTOM:
        fputs(" (default ", f);
        ((const cli_custom *)fl->aux)->print(f, fl->dst);
        fputc(')', f);
        break;
    default: break;
    }
}

typedef struct {
    FILE *f;
    int width;
} help_ctx;

static void left_column(found fd, char *buf, size_t size)
{
    char name[64];
    full_name(fd, name, sizeof name);
    snprintf(buf, size, "--%s %s", name, kind_hint(fd.fl));
}

static int measure(void *user, found fd)
{
    help_ctx *h = user;
    char left[96];
    left_column(fd, left, sizeof left);
    int len = (int)strlen(left);
    if (len > h->width) h->width = len;
    return 0;
}

static int print_flag(void *user, found fd)
{
    help_ctx *h = user;
    char left[96];
    left_column(fd, left, sizeof left);
    fprintf(h->f, "  %-*s ", h->width, left);
    for (const char *c = fd.fl->help; *c; c++) /* lines after the first: under the first */
        if (*c == '\n') fprintf(h->f, "\n%*s", h->width + (c[1] ? 3 : 2), ""); /* the default's " (" last */
        else fputc(*c, h->f);
    print_default(h->f, fd.fl);
    fputc('\n', h->f);
    return 0;
}

void cli_help(FILE *f, const cli_command *cmd, const cli_flag *flags, int n_flags)
{
    help_ctx h = {f, 6}; /* "--help" */
    walk(flags, n_flags, NULL, 0, measure, &h);
    if (h.width > 30) h.width = 30;
    fprintf(f, "usage: hadron %s\n\n%s\n\noptions:\n", cmd->usage, cmd->summary);
    walk(flags, n_flags, NULL, 1, print_flag, &h);
    fprintf(f, "  %-*s %s\n", h.width, "--help", "show this help");
    for (int i = 0; i < n_flags; i++)
        if (flags[i].kind == FLAG_BLOCK && flags[i].help) {
            fprintf(f, "\n%s:\n", flags[i].help);
            walk(flags[i].aux, flags[i].n, flags[i].name, 0, print_flag, &h);
        }
}

/* ---- parsing --------------------------------------------------------------------- */

typedef struct {
    const char *arg; /* the name in argv, without "--" */
    size_t len;
    found hit;
    int hits;
} lookup;

static int match(void *user, found fd)
{
    lookup *l = user;
    size_t n = strlen(fd.fl->name), s = strlen(fd.suffix);
    if (n + s == l->len && strncmp(l->arg, fd.fl->name, n) == 0 && strncmp(l->arg + n, fd.suffix, s) == 0) {
        l->hit = fd;
        l->hits++;
    }
    return 0;
}

typedef struct {
    const cli_flag *flags;
    int n;
} table;

/* Every name once: a block must not bring a flag the table has already. */
static int unique(void *user, found fd)
{
    const table *t = user;
    char name[64];
    full_name(fd, name, sizeof name);
    lookup l = {name, strlen(name), {0}, 0};
    walk(t->flags, t->n, NULL, 0, match, &l);
    if (l.hits > 1) {
        fprintf(stderr, "hadron: internal error: --%s is declared %d times\n", name, l.hits);
        return 2;
    }
    return 0;
}

static int bad(const cli_command *cmd, const char *flag, const char *v, const char *what)
{
    fprintf(stderr, "hadron %s: --%s: '%s' is not a valid %s\n", cmd->name, flag, v, what);
    return 2;
}

static int set_enum(const cli_command *cmd, const char *flag, const cli_flag *fl, const char *v)
{
    const cli_choice *c = fl->aux;
    for (int i = 0; c[i].name; i++)
        if (strcmp(v, c[i].name) == 0) {
            *(int *)fl->dst = c[i].value;
            return 0;
        }
    fprintf(stderr, "hadron %s: --%s: unknown %s '%s' (", cmd->name, flag, fl->name, v);
    for (int i = 0; c[i].name; i++) fprintf(stderr, "%s%s", !i ? "" : c[i + 1].name ? ", " : " or ", c[i].name);
    fprintf(stderr, ")\n");
    return 2;
}

/* "a,b,c" into the list: every item a positive integer or a finite number, 1..n of them. */
static int set_list(const cli_command *cmd, const char *flag, const cli_flag *fl, const char *v)
{
    int ints = fl->kind == FLAG_I64_LIST, k = 0;
    const char *what = ints ? "positive integer" : "finite number";
    for (const char *s = v;; k++) {
        if (k == fl->n) {
            fprintf(stderr, "hadron %s: --%s '%s': at most %d items\n", cmd->name, flag, v, fl->n);
            return 2;
        }
        char *end;
        errno = 0;
        int ok;
        if (ints) {
            long long x = strtoll(s, &end, 10);
            ok = x >= 1;
            ((int64_t *)fl->dst)[k] = x;
        } else {
            double x = strtod(s, &end);
            ok = isfinite(x);
            ((double *)fl->dst)[k] = x;
        }
        if (end == s || errno || !ok || (*end && *end != ',')) {
            size_t len = strcspn(s, ",");
            fprintf(stderr, "hadron %s: --%s '%s': item %d ('%.*s') is not a %s\n", cmd->name, flag, v, k + 1,
                    (int)len, s, what);
            return 2;
        }
        if (!*end) break;
        s = end + 1;
    }
    *fl->count = k + 1;
    return 0;
}

static int set_value(const cli_command *cmd, found fd, const char *v)
{
    const cli_flag *fl = fd.fl;
    char flag[64];
    full_name(fd, flag, sizeof flag);
    char *end = NULL;
    errno = 0;
    switch (fl->kind) {
    case FLAG_INT: {
        long x = strtol(v, &end, 10);
        if (x < -2147483647L || x > 2147483647L) errno = ERANGE;
        *(int *)fl->dst = (int)x;
        break;
    }
    case FLAG_I64: *(int64_t *)fl->dst = strtoll(v, &end, 10); break;
    case FLAG_U64: *(uint64_t *)fl->dst = strtoull(v, &end, 10); break;
    case FLAG_FLOAT: *(float *)fl->dst = strtof(v, &end); break;
    case FLAG_DOUBLE: *(double *)fl->dst = strtod(v, &end); break;
    case FLAG_STRING: *(const char **)fl->dst = v; return 0;
    case FLAG_BOOL: *(int *)fl->dst = 1; return 0;
    case FLAG_ENUM: return set_enum(cmd, flag, fl, v);
    case FLAG_I64_LIST: case FLAG_F64_LIST: return set_list(cmd, flag, fl, v);
    case FLAG_CUSTOM: {
        const cli_custom *c = fl->aux;
        return c->parse(v, fl->dst) ? bad(cmd, flag, v, c->what) : 0;
    }
    case FLAG_BLOCK: return 2;
    }
    if (end == v || *end || errno)
        return bad(cmd, flag, v, fl->kind == FLAG_FLOAT || fl->kind == FLAG_DOUBLE ? "number" : "integer");
    return 0;
}

int cli_parse(const cli_command *cmd, int argc, char **argv, const cli_flag *flags, int n_flags)
{
    table t = {flags, n_flags};
    if (walk(flags, n_flags, NULL, 0, unique, &t)) return 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            cli_help(stdout, cmd, flags, n_flags);
            return 1;
        }
        const char *eq = strchr(a, '=');
        lookup l = {0};
        if (a[0] == '-' && a[1] == '-') {
            l = (lookup){a + 2, (eq ? (size_t)(eq - a) : strlen(a)) - 2, {0}, 0};
            walk(flags, n_flags, NULL, 0, match, &l);
        }
        if (!l.hits) {
            fprintf(stderr, "hadron %s: unknown option '%s' (see hadron %s --help)\n", cmd->name, a, cmd->name);
            return 2;
        }
        const char *v = eq ? eq + 1 : NULL;
        if (!v && l.hit.fl->kind != FLAG_BOOL) {
            if (i + 1 >= argc) {
                char flag[64];
                full_name(l.hit, flag, sizeof flag);
                fprintf(stderr, "hadron %s: --%s needs a value\n", cmd->name, flag);
                return 2;
            }
            v = argv[++i];
        }
        if (set_value(cmd, l.hit, v ? v : "")) return 2;
    }
    return 0;
}

/* The library's last error after "hadron <command>: ", without the
 * library's own "<command>: " where it starts with that. */
static void print_error(const cli_command *cmd)
{
    const char *m = hd_last_error();
    size_t n = strlen(cmd->name);
    if (strncmp(m, cmd->name, n) == 0 && m[n] == ':' && m[n + 1] == ' ') m += n + 2;
    if (hd_dist_size() > 1)
        fprintf(stderr, "hadron %s (rank %d of %d): %s\n", cmd->name, hd_dist_rank(), hd_dist_size(), m);
    else
        fprintf(stderr, "hadron %s: %s\n", cmd->name, m);
}

int cli_refuse(const cli_command *cmd)
{
    print_error(cmd);
    return 2;
}

int cli_fail(const cli_command *cmd)
{
    print_error(cmd);
    return 1;
}

const char *cli_mlp_str(const hd_mlp_spec *spec, int64_t n_in, int64_t n_out, char *buf, size_t size)
{
    size_t used = (size_t)snprintf(buf, size, "%lld", (long long)n_in);
    for (int i = 0; i < spec->n_hidden && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "-%lld", (long long)spec->hidden[i]);
    if (used < size) snprintf(buf + used, size - used, "-%lld", (long long)n_out);
    return buf;
}

/* ---- subcommands ----------------------------------------------------------------- */

static const char *last_word(const char *name)
{
    const char *s = strrchr(name, ' ');
    return s ? s + 1 : name;
}

static void usage(FILE *f, const cli_command *cmd)
{
    const char *noun = cmd->noun ? cmd->noun : "command";
    int width = 0;
    for (const cli_command *const *c = cmd->subcommands; *c; c++)
        if ((int)strlen(last_word((*c)->name)) > width) width = (int)strlen(last_word((*c)->name));
    fprintf(f, "usage: hadron %s\n\n%s\n\n%ss:\n", cmd->usage, cmd->summary, noun);
    for (const cli_command *const *c = cmd->subcommands; *c; c++)
        fprintf(f, "  %-*s  %s\n", width, last_word((*c)->name), (*c)->summary);
    fprintf(f, "\n  hadron %s%s<%s> --help   options of a %s\n", cmd->name, *cmd->name ? " " : "", noun, noun);
    if (cmd->epilog) fputs(cmd->epilog, f);
}

int cli_dispatch(const cli_command *cmd, int argc, char **argv)
{
    if (!cmd->subcommands) return cmd->run(argc, argv);
    const char *word = argc >= 2 ? argv[1] : NULL;
    if (word && (strcmp(word, "--help") == 0 || strcmp(word, "-h") == 0 || strcmp(word, "help") == 0)) {
        usage(stdout, cmd);
        return 0;
    }
    for (const cli_command *const *c = cmd->subcommands; word && *c; c++)
        if (strcmp(word, last_word((*c)->name)) == 0) return cli_dispatch(*c, argc - 1, argv + 1);
    if (word)
        fprintf(stderr, "hadron%s%s: unknown %s '%s'\n\n", *cmd->name ? " " : "", cmd->name,
                cmd->noun ? cmd->noun : "command", word);
    usage(stderr, cmd);
    return 2;
}

/* ---- files and progress ---------------------------------------------------------- */

int cli_mkdir(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", dir);
    for (char *p = path + 1; ; p++) {
        int end = *p == '\0';
        if (*p == '/' || end) {
            *p = '\0';
            if (mkdir(path, 0777) != 0 && errno != EEXIST) {
                fprintf(stderr, "hadron: cannot create directory %s: %s\n", path, strerror(errno));
                return 1;
            }
            if (end) break;
            *p = '/';
        }
    }
    return 0;
}

int cli_mkdir_parent(const char *file)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", file);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir) return 0;
    *slash = '\0';
    return cli_mkdir(dir);
}

void cli_print_above(hd_progress *bar, const char *fmt, ...)
{
    if (bar->active) fputs("\r\033[K", stderr); /* clear the bar before the line */
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
    bar->last_draw = 0; /* redraw at once */
}

void cli_report_epoch(cli_report *r, int epoch, const char *status, const char *fmt, ...)
{
    if (epoch == 1 || epoch % r->every == 0) {
        char line[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line, sizeof line, fmt, ap);
        va_end(ap);
        cli_print_above(&r->bar, "%s", line);
    }
    hd_progress_update(&r->bar, epoch, status);
}

void cli_stage_above(void *user, const char *what) { cli_print_above(user, "%s ...\n", what); }

void cli_show_fraction(void *bar, double fraction) { hd_progress_update(bar, (int64_t)(fraction * 1000), NULL); }

/* ---- energies ---------------------------------------------------------------------- */

/* An energy in MeV: a number, optionally with a unit ("1000", "1GeV", "1 TeV", "500 MeV"). */
static int parse_energy(const char *text, void *dst)
{
    static const struct {
        const char *unit;
        double scale;
    } units[] = {{"", 1}, {"MeV", 1}, {"GeV", 1e3}, {"TeV", 1e6}};
    char *end;
    errno = 0;
    double x = strtod(text, &end);
    if (end == text || errno == ERANGE || !isfinite(x)) return 1;
    while (*end == ' ') end++;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(end, units[i].unit) == 0) {
            *(double *)dst = x * units[i].scale;
            return 0;
        }
    return 1;
}

void cli_print_energy(FILE *f, const void *src)
{
    double x = *(const double *)src;
    if (x >= 1e6) fprintf(f, "%g TeV", x / 1e6);
    else if (x >= 1e3) fprintf(f, "%g GeV", x / 1e3);
    else fprintf(f, "%g MeV", x);
}

const cli_custom cli_energy = {parse_energy, cli_print_energy, "E", "energy (MeV, or with MeV, GeV, TeV)"};
