/* The avo workflow's outputs: history.csv, metrics.json, the convergence
 * plot per parameter, and observed vs simulated data. */
#include "avo_internal.h"
#include "hadron/metrics.h"
#include "workflows/report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static void path_in(char *buf, size_t size, const hd_avo_opts *o, const char *name)
{
    snprintf(buf, size, "%s/%s", o->out_dir, name);
}

int hd_avo_history_open(hd_avo_history *h, const hd_avo_opts *o)
{
    char path[4096];
    path_in(path, sizeof path, o, "history.csv");
    h->k = o->sim->n_params;
    h->f = fopen(path, "w");
    if (!h->f) return hd_error(HD_EIO, "cannot write %s", path);
    fprintf(h->f, "iteration");
    for (int j = 0; j < h->k; j++) {
        const char *n = o->sim->param_names[j];
        fprintf(h->f, ",%s_mean,%s_width,%s_lo,%s_hi", n, n, n, n);
        if (o->truth) fprintf(h->f, ",%s_truth", n);
    }
    if (o->derived) {
        fprintf(h->f, ",%s", o->derived_name);
        if (o->truth) fprintf(h->f, ",%s_truth", o->derived_name);
    }
    fprintf(h->f, ",d_loss,p_loss,reward\n");
    return HD_OK;
}

void hd_avo_history_row(hd_avo_history *h, const hd_avo_opts *o, int it, const double *mean, const double *width,
                        double derived, double d_loss, double p_loss, double reward)
{
    if (!h->f) return; /* not rank 0 */
    fprintf(h->f, "%d", it);
    for (int j = 0; j < h->k; j++) {
        fprintf(h->f, ",%.7g,%.7g,%.7g,%.7g", mean[j], width[j], mean[j] - width[j], mean[j] + width[j]);
        if (o->truth) fprintf(h->f, ",%.7g", o->truth[j]);
    }
    if (o->derived) {
        fprintf(h->f, ",%.7g", derived);
        if (o->truth) fprintf(h->f, ",%.7g", o->derived(o->truth));
    }
    fprintf(h->f, ",%.7g,%.7g,%.7g\n", d_loss, p_loss, reward);
    fflush(h->f); /* a killed run keeps its history */
}

int hd_avo_history_close(hd_avo_history *h, const hd_avo_opts *o)
{
    if (!h->f) return HD_OK;
    int bad = ferror(h->f) | fclose(h->f);
    h->f = NULL;
    return bad ? hd_error(HD_EIO, "writing %s/history.csv failed", o->out_dir) : HD_OK;
}

static void json_object(FILE *f, const char *key, const hd_avo_opts *o, const double *v)
{
    fprintf(f, "  \"%s\": {", key);
    for (int j = 0; j < o->sim->n_params; j++)
        fprintf(f, "%s\"%s\": %.9g", j ? ", " : "", o->sim->param_names[j], v[j]);
    fprintf(f, "},\n");
}

int hd_avo_write_metrics(const hd_avo_opts *o, const hd_avo_result *r)
{
    char path[4096];
    path_in(path, sizeof path, o, "metrics.json");
    hd_atomic_file af;
    int rc = hd_atomic_open(&af, path);
    if (rc != HD_OK) return rc;
    fprintf(af.f, "{\n  \"simulator\": \"%s\",\n", o->sim->name);
    json_object(af.f, "mean", o, r->mean);
    json_object(af.f, "width", o, r->width);
    if (o->truth) json_object(af.f, "truth", o, o->truth);
    if (o->derived) {
        fprintf(af.f, "  \"%s\": %.9g,\n", o->derived_name, r->derived);
        if (o->truth) fprintf(af.f, "  \"%s_truth\": %.9g,\n", o->derived_name, o->derived(o->truth));
    }
    hd_report_number(af.f, "iterations", r->iterations, 0);
    hd_report_number(af.f, "seconds", r->seconds, 1);
    fprintf(af.f, "}\n");
    return hd_atomic_commit(&af);
}

/* Column of history.csv (1-based) of parameter j's first field. */
static int first_col(const hd_avo_opts *o, int j) { return 2 + j * (o->truth ? 5 : 4); }

int hd_avo_plot_convergence(const hd_avo_opts *o)
{
    char stem[4096], name[128], title[160];
    int rc = HD_OK;
    for (int j = 0; rc == HD_OK && j < o->sim->n_params; j++) {
        const char *n = o->sim->param_names[j];
        int c = first_col(o, j);
        snprintf(name, sizeof name, "convergence_%s", n);
        snprintf(title, sizeof title, "AVO: proposal of %s (mean and mean +- width)", n);
        path_in(stem, sizeof stem, o, name);
        hd_line_plot p = {.csv = "history.csv", .title = title, .xlabel = "AVO iteration", .ylabel = n, .x_col = 1,
                          .n_series = o->truth ? 4 : 3, .y_cols = {c, c + 2, c + 3, c + 4},
                          .y_titles = {"mean", "mean - width", "mean + width", "truth"}};
        rc = hd_plot_lines(stem, &p, NULL);
    }
    if (rc == HD_OK && o->derived) {
        int c = first_col(o, o->sim->n_params);
        snprintf(name, sizeof name, "convergence_%s", o->derived_name);
        snprintf(title, sizeof title, "AVO: %s of the proposal (its mean over q)", o->derived_name);
        path_in(stem, sizeof stem, o, name);
        hd_line_plot p = {.csv = "history.csv", .title = title, .xlabel = "AVO iteration", .ylabel = o->derived_name,
                          .x_col = 1, .n_series = o->truth ? 2 : 1, .y_cols = {c, c + 1},
                          .y_titles = {o->derived_name, "truth"}};
        rc = hd_plot_lines(stem, &p, NULL);
    }
    return rc;
}

/* Mean image per observation (all layers summed), unscaled. */
static void mean_image(const hd_avo_opts *o, const hd_avo_set *s, float scale, float *out)
{
    const int64_t *sh = o->sim->obs_shape, plane = sh[1] * sh[2], size = sh[0] * plane;
    memset(out, 0, (size_t)plane * sizeof(float));
    for (int64_t i = 0; i < s->n; i++)
        for (int64_t c = 0; c < sh[0]; c++)
            for (int64_t k = 0; k < plane; k++) out[k] += s->x[i * size + c * plane + k];
    for (int64_t k = 0; k < plane; k++) out[k] /= (float)s->n * scale;
}

static void split_label(const char *label, char *x, char *y, size_t size)
{
    const char *bar = label ? strchr(label, '|') : NULL;
    snprintf(x, size, "%.*s", bar ? (int)(bar - label) : 6, bar ? label : "column");
    snprintf(y, size, "%s", bar ? bar + 1 : "row");
}

static int plot_images(const hd_avo_opts *o, const hd_avo_set *sets[3], float scale)
{
    const int64_t *sh = o->sim->obs_shape, plane = sh[1] * sh[2];
    float *m = hd_malloc((size_t)(3 * plane) * sizeof(float));
    if (!m) return HD_ENOMEM;
    double zmax = 0;
    for (int i = 0; i < 3; i++) {
        mean_image(o, sets[i], scale, m + i * plane);
        for (int64_t k = 0; k < plane; k++) zmax = fmax(zmax, m[i * plane + k]);
    }
    char stem[4096], xl[128], yl[128];
    split_label(o->obs_label, xl, yl, sizeof xl);
    const double *e = o->image_extent;
    int given = e[1] > e[0] && e[3] > e[2];
    path_in(stem, sizeof stem, o, "images");
    hd_map_plot p = {.title = "mean detector image per event", .xlabel = xl, .ylabel = yl, .n = 3,
                     .maps = {m, m + plane, m + 2 * plane},
                     .titles = {"observed", "simulated, start proposal", "simulated, final proposal"},
                     .h = sh[1], .w = sh[2], .x0 = given ? e[0] : 0, .x1 = given ? e[1] : (double)sh[2],
                     .y0 = given ? e[2] : 0, .y1 = given ? e[3] : (double)sh[1], .zmax = zmax > 0 ? zmax : 1};
    int rc = hd_plot_maps(stem, &p, NULL);
    hd_free(m);
    return rc;
}

/* One histogram per component (the first 4) of vector data. */
static int plot_hists(const hd_avo_opts *o, const hd_avo_set *sets[3], float scale)
{
    int64_t size = hd_simulator_obs_size(o->sim), n_max = 0;
    for (int i = 0; i < 3; i++) n_max = sets[i]->n > n_max ? sets[i]->n : n_max;
    double *v = hd_malloc((size_t)(3 * n_max) * sizeof(double));
    if (!v) return HD_ENOMEM;
    int rc = HD_OK;
    for (int64_t c = 0; rc == HD_OK && c < size && c < 4; c++) {
        for (int i = 0; i < 3; i++)
            for (int64_t r = 0; r < sets[i]->n; r++) v[i * n_max + r] = sets[i]->x[r * size + c] / scale;
        char stem[4096], name[32], label[64];
        snprintf(name, sizeof name, size > 1 ? "hist_%lld" : "hist", (long long)c);
        snprintf(label, sizeof label, size > 1 ? "%s [%lld]" : "%s", o->obs_label ? o->obs_label : "x", (long long)c);
        path_in(stem, sizeof stem, o, name);
        hd_hist_plot p = {.title = "observed and simulated data", .xlabel = label, .n_series = 3,
                          .values = {v, v + n_max, v + 2 * n_max}, .n_values = {sets[0]->n, sets[1]->n, sets[2]->n},
                          .titles = {"observed", "simulated, start proposal", "simulated, final proposal"},
                          .bins = 40, .density = 1};
        rc = hd_plot_hist(stem, &p, NULL);
    }
    hd_free(v);
    return rc;
}

int hd_avo_plot_data(const hd_avo_opts *o, const hd_avo_set *obs, const hd_avo_set *start, const hd_avo_set *end,
                     float scale)
{
    const hd_avo_set *sets[3] = {obs, start, end};
    return o->sim->obs_ndim == 3 ? plot_images(o, sets, scale) : plot_hists(o, sets, scale);
}
