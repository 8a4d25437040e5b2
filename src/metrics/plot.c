/* Plots as gnuplot scripts over data files, rendered when gnuplot is there. */
#include "hadron/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* gnuplot string literal: single quotes, doubled inside. */
static void quoted(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; s && *s; s++) {
        if (*s == '\'') fputc('\'', f);
        fputc(*s, f);
    }
    fputc('\'', f);
}

static void write_script(FILE *f, const char *png, const hd_line_plot *p)
{
    fprintf(f, "# hadron plot: edit and re-run with `gnuplot <this file>`\n");
    fprintf(f, "set terminal pngcairo size 900,600 enhanced font 'DejaVu Sans,11'\nset output ");
    quoted(f, png);
    fprintf(f, "\nset datafile separator ','\nset key top right\nset grid\nset title ");
    quoted(f, p->title);
    fprintf(f, "\nset xlabel ");
    quoted(f, p->xlabel);
    fprintf(f, "\nset ylabel ");
    quoted(f, p->ylabel);
    fprintf(f, "\n%s%s", p->log_x ? "set logscale x\n" : "", p->log_y ? "set logscale y\n" : "");
    fprintf(f, "plot ");
    for (int i = 0; i < p->n_series; i++) {
        quoted(f, p->csv);
        fprintf(f, " using %d:%d skip 1 with lines lw 2 title ", p->x_col, p->y_cols[i]);
        quoted(f, p->y_titles[i]);
        fprintf(f, "%s", i + 1 < p->n_series ? ", \\\n     " : "\n");
    }
}

int hd_plot_render(const char *script, int *rendered)
{
    if (rendered) *rendered = 0;
    /* paths in the script are relative to its directory: run gnuplot there */
    char cd[4200];
    const char *slash = strrchr(script, '/');
    int dir_len = slash ? (int)(slash - script) : 1;
    snprintf(cd, sizeof cd, "cd '%.*s'", dir_len, slash ? script : ".");
    pid_t pid;
    char *argv[] = {"gnuplot", "-e", cd, (char *)(slash ? slash + 1 : script), NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    int err = posix_spawnp(&pid, "gnuplot", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (err == ENOENT) {
        hd_message(HD_LOG_INFO, "gnuplot is not installed: wrote %s without rendering it", script);
        return HD_OK;
    }
    if (err) return hd_error(HD_EIO, "cannot run gnuplot on %s: %s", script, strerror(err));
    int status;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        /* posix_spawnp reports a missing program as exit status 127 on glibc */
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
            hd_message(HD_LOG_INFO, "gnuplot is not installed: wrote %s without rendering it", script);
            return HD_OK;
        }
        return hd_error(HD_EIO, "gnuplot failed on %s", script);
    }
    if (rendered) *rendered = 1;
    return HD_OK;
}

int hd_plot_lines(const char *stem, const hd_line_plot *p, int *rendered)
{
    if (p->n_series < 1 || p->n_series > HD_PLOT_MAX_SERIES)
        return hd_error(HD_EINVAL, "plot %s: %d series, need 1..%d", stem, p->n_series, HD_PLOT_MAX_SERIES);
    char script[4096], png[4096];
    const char *slash = strrchr(stem, '/');
    snprintf(script, sizeof script, "%s.gp", stem);
    snprintf(png, sizeof png, "%s.png", slash ? slash + 1 : stem);
    hd_atomic_file af;
    int rc = hd_atomic_open(&af, script);
    if (rc != HD_OK) return rc;
    write_script(af.f, png, p);
    if ((rc = hd_atomic_commit(&af)) != HD_OK) return rc;
    return hd_plot_render(script, rendered);
}
