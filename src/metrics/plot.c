/* Plots as gnuplot scripts over data files, rendered when gnuplot is there. */
#include "hadron/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
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

/* Terminal, output, title, axis labels and scales: the start of every script. */
static void write_header(FILE *f, const char *png, const char *title, const char *xlabel, const char *ylabel,
                         int log_x, int log_y)
{
    fprintf(f, "# hadron plot: edit and re-run with `gnuplot <this file>`\n");
    fprintf(f, "set terminal pngcairo size 900,600 enhanced font 'DejaVu Sans,11'\nset output ");
    quoted(f, png);
    fprintf(f, "\nset datafile separator ','\nset key top right\nset grid\nset title ");
    quoted(f, title);
    fprintf(f, "\nset xlabel ");
    quoted(f, xlabel);
    fprintf(f, "\nset ylabel ");
    quoted(f, ylabel);
    fprintf(f, "\n%s%s", log_x ? "set logscale x\nset format x '10^{%L}'\n" : "",
            log_y ? "set logscale y\nset format y '10^{%L}'\n" : "");
}

static void write_script(FILE *f, const char *png, const hd_line_plot *p)
{
    write_header(f, png, p->title, p->xlabel, p->ylabel, p->log_x, p->log_y);
    fprintf(f, "plot ");
    if (p->band_lo > 0 && p->band_hi > 0) {
        quoted(f, p->csv);
        fprintf(f, " using %d:%d:%d skip 1 with filledcurves fs transparent solid 0.3 noborder title ", p->x_col,
                p->band_lo, p->band_hi);
        quoted(f, p->band_title ? p->band_title : "");
        fprintf(f, ", \\\n     ");
    }
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

/* <stem>.gp and the PNG name beside it, relative to the script's directory. */
static void script_paths(const char *stem, char *script, char *png, size_t size)
{
    const char *slash = strrchr(stem, '/');
    snprintf(script, size, "%s.gp", stem);
    snprintf(png, size, "%s.png", slash ? slash + 1 : stem);
}

int hd_plot_lines(const char *stem, const hd_line_plot *p, int *rendered)
{
    if (p->n_series < 1 || p->n_series > HD_PLOT_MAX_SERIES)
        return hd_error(HD_EINVAL, "plot %s: %d series, need 1..%d", stem, p->n_series, HD_PLOT_MAX_SERIES);
    char script[4096], png[4096];
    script_paths(stem, script, png, sizeof script);
    hd_atomic_file af;
    int rc = hd_atomic_open(&af, script);
    if (rc != HD_OK) return rc;
    write_script(af.f, png, p);
    if ((rc = hd_atomic_commit(&af)) != HD_OK) return rc;
    return hd_plot_render(script, rendered);
}

/* ---- histograms ------------------------------------------------------------- */

/* The range: given, or the extent of the data (positive values only on a log axis). */
static int hist_range(const hd_hist_plot *p, double *lo, double *hi)
{
    *lo = p->lo;
    *hi = p->hi;
    if (*lo < *hi) return p->log_x && *lo <= 0 ? HD_EINVAL : HD_OK;
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int s = 0; s < p->n_series; s++)
        for (int64_t i = 0; i < p->n_values[s]; i++) {
            double v = p->values[s][i];
            if (!isfinite(v) || (p->log_x && v <= 0)) continue;
            *lo = fmin(*lo, v);
            *hi = fmax(*hi, v);
        }
    if (!(*lo <= *hi)) return HD_EINVAL;
    if (*lo == *hi) { /* one value: a bin around it */
        double w = *lo != 0 ? fabs(*lo) * 0.5 : 0.5;
        *lo -= p->log_x ? *lo * 0.5 : w;
        *hi += w;
    }
    return HD_OK;
}

static double hist_edge(int log_x, double lo, double hi, int bins, int b)
{
    return log_x ? lo * pow(hi / lo, (double)b / bins) : lo + (hi - lo) * b / bins;
}

/* Counts per bin of each series (values outside the range dropped), as
 * densities when asked. */
static void hist_fill(const hd_hist_plot *p, int bins, double lo, double hi, double *counts)
{
    for (int s = 0; s < p->n_series; s++) {
        double *c = counts + (size_t)s * bins, in_range = 0;
        for (int64_t i = 0; i < p->n_values[s]; i++) {
            double v = p->values[s][i];
            if (!isfinite(v) || v < lo || v > hi || (p->log_x && v <= 0)) continue;
            double t = p->log_x ? log(v / lo) / log(hi / lo) : (v - lo) / (hi - lo);
            int b = (int)(t * bins);
            c[b < bins ? b : bins - 1] += 1;
            in_range += 1;
        }
        for (int b = 0; p->density && in_range > 0 && b < bins; b++)
            c[b] /= in_range * (hist_edge(p->log_x, lo, hi, bins, b + 1) - hist_edge(p->log_x, lo, hi, bins, b));
    }
}

/* Rows of lower edge and counts, plus a closing row at the upper edge so
 * gnuplot's `steps` draws the last bin. */
static int hist_csv(const char *path, const hd_hist_plot *p, int bins, double lo, double hi, const double *counts)
{
    hd_atomic_file af;
    int rc = hd_atomic_open(&af, path);
    if (rc != HD_OK) return rc;
    fprintf(af.f, "edge");
    for (int s = 0; s < p->n_series; s++) fprintf(af.f, ",series%d", s + 1);
    fputc('\n', af.f);
    for (int b = 0; b <= bins; b++) {
        fprintf(af.f, "%.9g", hist_edge(p->log_x, lo, hi, bins, b));
        for (int s = 0; s < p->n_series; s++) fprintf(af.f, ",%.9g", counts[(size_t)s * bins + (b < bins ? b : bins - 1)]);
        fputc('\n', af.f);
    }
    return hd_atomic_commit(&af);
}

static void hist_script(FILE *f, const char *png, const char *csv, const hd_hist_plot *p)
{
    write_header(f, png, p->title, p->xlabel, p->ylabel ? p->ylabel : p->density ? "density" : "entries",
                 p->log_x, 0);
    fprintf(f, "plot ");
    for (int s = 0; s < p->n_series; s++) {
        quoted(f, csv);
        fprintf(f, " using 1:%d skip 1 with steps lw 2 title ", s + 2);
        quoted(f, p->titles[s]);
        fprintf(f, "%s", s + 1 < p->n_series || p->gaussian ? ", \\\n     " : "\n");
    }
    if (p->gaussian) fprintf(f, "exp(-x**2 / 2) / sqrt(2 * pi) with lines lw 2 dt 2 title 'unit Gaussian'\n");
}

int hd_plot_hist(const char *stem, const hd_hist_plot *p, int *rendered)
{
    if (p->n_series < 1 || p->n_series > HD_PLOT_MAX_SERIES)
        return hd_error(HD_EINVAL, "plot %s: %d series, need 1..%d", stem, p->n_series, HD_PLOT_MAX_SERIES);
    int bins = p->bins > 0 ? p->bins : 50;
    double lo, hi;
    if (hist_range(p, &lo, &hi) != HD_OK)
        return hd_error(HD_EINVAL, "plot %s: no range: give lo < hi (lo > 0 on a log axis) or finite data", stem);
    double *counts = hd_malloc((size_t)p->n_series * (size_t)bins * sizeof *counts);
    if (!counts) return HD_ENOMEM;
    memset(counts, 0, (size_t)p->n_series * (size_t)bins * sizeof *counts);
    hist_fill(p, bins, lo, hi, counts);
    char script[4096], png[4096], csv[4096];
    script_paths(stem, script, png, sizeof script);
    snprintf(csv, sizeof csv, "%s.csv", stem);
    int rc = hist_csv(csv, p, bins, lo, hi, counts);
    hd_free(counts);
    hd_atomic_file af;
    if (rc != HD_OK || (rc = hd_atomic_open(&af, script)) != HD_OK) return rc;
    const char *slash = strrchr(csv, '/');
    hist_script(af.f, png, slash ? slash + 1 : csv, p);
    if ((rc = hd_atomic_commit(&af)) != HD_OK) return rc;
    return hd_plot_render(script, rendered);
}

/* ---- heat maps ------------------------------------------------------------------- */

/* Map i as a whitespace matrix, row 0 first (gnuplot's `matrix`). */
static int map_data(const char *path, const hd_map_plot *p, int i)
{
    hd_atomic_file af;
    int rc = hd_atomic_open(&af, path);
    if (rc != HD_OK) return rc;
    for (int64_t y = 0; y < p->h; y++)
        for (int64_t x = 0; x < p->w; x++) fprintf(af.f, "%.6g%c", (double)p->maps[i][y * p->w + x], x + 1 < p->w ? ' ' : '\n');
    return hd_atomic_commit(&af);
}

static void map_script(FILE *f, const char *png, const char *stem_name, const hd_map_plot *p)
{
    double dx = (p->x1 - p->x0) / (double)p->w, dy = (p->y1 - p->y0) / (double)p->h;
    fprintf(f, "# hadron plot: edit and re-run with `gnuplot <this file>`\n");
    fprintf(f, "set terminal pngcairo size %d,480 enhanced font 'DejaVu Sans,11'\nset output ", 420 * p->n + 60);
    quoted(f, png);
    fprintf(f, "\nset multiplot layout 1,%d title ", p->n);
    quoted(f, p->title);
    fprintf(f, "\nset xlabel ");
    quoted(f, p->xlabel);
    fprintf(f, "\nset ylabel ");
    quoted(f, p->ylabel);
    fprintf(f, "\nset palette rgb 34,35,36\nset cbrange [0:%.6g]\nset size ratio -1\nset xrange [%g:%g]\nset yrange [%g:%g]\n",
            p->zmax, p->x0, p->x1, p->y0, p->y1);
    for (int i = 0; i < p->n; i++) {
        fprintf(f, "set title ");
        quoted(f, p->titles[i]);
        fprintf(f, "\nplot '%s_%d.dat' matrix using (%g + ($1 + 0.5) * %g):(%g + ($2 + 0.5) * %g):3 with image notitle\n",
                stem_name, i, p->x0, dx, p->y0, dy);
    }
    fprintf(f, "unset multiplot\n");
}

int hd_plot_maps(const char *stem, const hd_map_plot *p, int *rendered)
{
    if (p->n < 1 || p->n > HD_PLOT_MAX_SERIES || p->h < 1 || p->w < 1 || !(p->x1 > p->x0) || !(p->y1 > p->y0) ||
        !(p->zmax > 0))
        return hd_error(HD_EINVAL, "plot %s: 1..%d maps of h, w >= 1, increasing axes and zmax > 0", stem,
                        HD_PLOT_MAX_SERIES);
    char script[4096], png[4096], data[4200];
    script_paths(stem, script, png, sizeof script);
    int rc = HD_OK;
    for (int i = 0; rc == HD_OK && i < p->n; i++) {
        snprintf(data, sizeof data, "%s_%d.dat", stem, i);
        rc = map_data(data, p, i);
    }
    hd_atomic_file af;
    if (rc != HD_OK || (rc = hd_atomic_open(&af, script)) != HD_OK) return rc;
    const char *slash = strrchr(stem, '/');
    map_script(af.f, png, slash ? slash + 1 : stem, p);
    if ((rc = hd_atomic_commit(&af)) != HD_OK) return rc;
    return hd_plot_render(script, rendered);
}
