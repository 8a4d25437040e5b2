/* Reference against generated histograms with a ratio panel under each, a
 * grid of them in one PNG (metrics.h): the picture of a shower evaluation. */
#include "hadron/metrics.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* One data block per panel: lower edge, reference, generated, ratio; a last
 * row at the upper edge closes the steps. */
static void write_data(FILE *f, const hd_compare_plot *p)
{
    fprintf(f, "# panel blocks: edge, reference, generated, generated/reference\n");
    for (int k = 0; k < p->n_panels; k++) {
        const double *e = p->edges[k], *r = p->ref[k], *g = p->gen[k];
        int n = p->n_bins[k];
        for (int b = 0; b <= n; b++) {
            double rv = r[b < n ? b : n - 1], gv = g[b < n ? b : n - 1];
            if (rv > 0) fprintf(f, "%.9g %.9g %.9g %.9g\n", e[b], rv, gv, gv / rv);
            else fprintf(f, "%.9g %.9g %.9g NaN\n", e[b], rv, gv);
        }
        fprintf(f, "\n\n");
    }
}

static void quoted(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', f);
        fputc(*s == '_' ? ' ' : *s, f); /* enhanced text would subscript after '_' */
    }
    fputc('"', f);
}

static void write_script(FILE *f, const char *png, const char *dat, const hd_compare_plot *p)
{
    int cols = p->cols > 0 ? p->cols : (int)ceil(sqrt((double)p->n_panels));
    int rows = (p->n_panels + cols - 1) / cols;
    fprintf(f, "set terminal pngcairo size %d,%d enhanced font 'DejaVu Sans,9'\nset output \"%s\"\n", 300 * cols,
            260 * rows + 40, png);
    fprintf(f, "set multiplot title ");
    quoted(f, p->title);
    fprintf(f, "\nset datafile missing 'NaN'\nset key top right font ',7' samplen 2\n");
    double w = 1.0 / cols, h = (1.0 - 40.0 / (260 * rows + 40)) / rows;
    for (int k = 0; k < p->n_panels; k++) {
        int c = k % cols, r = k / cols;
        double x0 = c * w, y0 = (rows - 1 - r) * h;
        fprintf(f, "%s", p->log_x && p->log_x[k] ? "set logscale x\n" : "unset logscale x\n");
        /* both panels span the bins, so a ratio panel without any point still has an x range */
        fprintf(f, "set xrange [%.9g:%.9g]\n", p->edges[k][0], p->edges[k][p->n_bins[k]]);
        fprintf(f, "set origin %.5f,%.5f\nset size %.5f,%.5f\nset lmargin 7\nset rmargin 1\nset tmargin 1.5\n"
                   "set bmargin 0\nset format x ''\nset ylabel ''\nset title ",
                x0, y0 + 0.32 * h, w, 0.68 * h);
        quoted(f, p->panel_titles[k]);
        fprintf(f, " offset 0,-0.8\nplot \"%s\" index %d using 1:2 with steps lw 2 lc rgb '#888888' title ", dat, k);
        quoted(f, k == 0 ? p->ref_title : "");
        fprintf(f, ", '' index %d using 1:3 with steps lw 1.5 lc rgb '#d62728' title ", k);
        quoted(f, k == 0 ? p->gen_title : "");
        fprintf(f, "\nset origin %.5f,%.5f\nset size %.5f,%.5f\nset tmargin 0\nset bmargin 2\nset format x\n"
                   "unset title\nset yrange [0.5:1.5]\nset ytics 0.5 font ',7'\n"
                   "plot \"%s\" index %d using 1:4 with steps lw 1.5 lc rgb '#d62728' notitle, 1 lc rgb '#888888' "
                   "notitle\nset autoscale y\nset ytics autofreq font ',9'\n",
                x0, y0, w, 0.32 * h, dat, k);
    }
    fprintf(f, "unset multiplot\n");
}

int hd_plot_compare(const char *stem, const hd_compare_plot *p, int *rendered)
{
    if (rendered) *rendered = 0;
    if (!stem || !p || p->n_panels < 1 || !p->edges || !p->ref || !p->gen || !p->n_bins || !p->panel_titles)
        return hd_error(HD_EINVAL, "comparison plot %s: no panels", stem ? stem : "(null)");
    for (int k = 0; k < p->n_panels; k++)
        if (p->n_bins[k] < 1) return hd_error(HD_EINVAL, "comparison plot %s: panel %d has no bins", stem, k);
    char dat[4096], script[4096], png[4096];
    const char *base = strrchr(stem, '/');
    base = base ? base + 1 : stem;
    snprintf(dat, sizeof dat, "%s.dat", stem);
    snprintf(script, sizeof script, "%s.gp", stem);
    hd_atomic_file af;
    int rc = hd_atomic_open(&af, dat);
    if (rc != HD_OK) return rc;
    write_data(af.f, p);
    if ((rc = hd_atomic_commit(&af)) != HD_OK) return rc;
    if ((rc = hd_atomic_open(&af, script)) != HD_OK) return rc;
    snprintf(dat, sizeof dat, "%s.dat", base);
    snprintf(png, sizeof png, "%s.png", base);
    write_script(af.f, png, dat, p);
    if ((rc = hd_atomic_commit(&af)) != HD_OK) return rc;
    return hd_plot_render(script, rendered);
}
