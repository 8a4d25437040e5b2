/* Flag parsing and help shared by the commands. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *kind_hint(flag_kind k)
{
    switch (k) {
    case FLAG_INT: case FLAG_I64: case FLAG_U64: return "N";
    case FLAG_FLOAT: return "X";
    case FLAG_STRING: return "S";
    default: return "";
    }
}

static void print_default(FILE *f, const cli_flag *fl)
{
    switch (fl->kind) {
    case FLAG_INT: fprintf(f, " (default %d)", *(int *)fl->dst); break;
    case FLAG_I64: fprintf(f, " (default %lld)", (long long)*(int64_t *)fl->dst); break;
    case FLAG_U64: fprintf(f, " (default %llu)", (unsigned long long)*(uint64_t *)fl->dst); break;
    case FLAG_FLOAT: fprintf(f, " (default %g)", (double)*(float *)fl->dst); break;
    case FLAG_STRING:
        if (*(const char **)fl->dst) fprintf(f, " (default %s)", *(const char **)fl->dst);
        break;
    case FLAG_BOOL: break;
    }
}

void cli_help(FILE *f, const cli_command *cmd, const cli_flag *flags, int n_flags)
{
    fprintf(f, "usage: hadron %s\n\n%s\n\noptions:\n", cmd->usage, cmd->summary);
    for (int i = 0; i < n_flags; i++) {
        char left[48];
        snprintf(left, sizeof left, "--%s %s", flags[i].name, kind_hint(flags[i].kind));
        fprintf(f, "  %-22s %s", left, flags[i].help);
        print_default(f, &flags[i]);
        fputc('\n', f);
    }
    fprintf(f, "  %-22s %s\n", "--help", "show this help");
}

static int set_value(const cli_command *cmd, const cli_flag *fl, const char *v)
{
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
    case FLAG_STRING: *(const char **)fl->dst = v; return 0;
    case FLAG_BOOL: *(int *)fl->dst = 1; return 0;
    }
    if (end == v || *end || errno) {
        fprintf(stderr, "hadron %s: --%s: '%s' is not a valid %s\n", cmd->name, fl->name, v,
                fl->kind == FLAG_FLOAT ? "number" : "integer");
        return 2;
    }
    return 0;
}

int cli_parse(const cli_command *cmd, int argc, char **argv, const cli_flag *flags, int n_flags)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            cli_help(stdout, cmd, flags, n_flags);
            return 1;
        }
        const cli_flag *fl = NULL;
        const char *eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        for (int k = 0; a[0] == '-' && a[1] == '-' && k < n_flags; k++)
            if (strlen(flags[k].name) == len - 2 && strncmp(a + 2, flags[k].name, len - 2) == 0) fl = &flags[k];
        if (!fl) {
            fprintf(stderr, "hadron %s: unknown option '%s' (see hadron %s --help)\n", cmd->name, a, cmd->name);
            return 2;
        }
        const char *v = eq ? eq + 1 : NULL;
        if (!v && fl->kind != FLAG_BOOL) {
            if (i + 1 >= argc) {
                fprintf(stderr, "hadron %s: --%s needs a value\n", cmd->name, fl->name);
                return 2;
            }
            v = argv[++i];
        }
        if (set_value(cmd, fl, v ? v : "")) return 2;
    }
    return 0;
}

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
