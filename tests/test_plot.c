/* Plots: the gnuplot script is written beside the data, and rendered to a
 * PNG when gnuplot runs; without gnuplot the script alone is not an error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hadron/hadron.h"
#include "test_util.h"

static char *dir; /* test_tmpdir() */

static void read_all(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';
    fclose(f);
}

static hd_line_plot loss_plot(void)
{
    return (hd_line_plot){.csv = "h.csv", .title = "it's a title", .xlabel = "epoch", .ylabel = "loss",
                          .x_col = 1, .n_series = 2, .y_cols = {2, 3}, .y_titles = {"train", "test"}, .log_y = 1};
}

static void write_csv(void)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/h.csv", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "epoch,train,test\n1,1.0,1.2\n2,0.5,0.6\n3,0.1,0.2\n");
    fclose(f);
}

static void test_script_and_png(void **state)
{
    (void)state;
    char stem[4000], buf[4096];
    snprintf(stem, sizeof stem, "%s/loss", dir);
    hd_line_plot p = loss_plot();
    int rendered = -1;
    assert_int_equal(hd_plot_lines(stem, &p, &rendered), HD_OK);
    snprintf(buf, sizeof buf, "%s.gp", stem);
    char gp[4096];
    read_all(buf, gp, sizeof gp);
    assert_non_null(strstr(gp, "set logscale y"));
    assert_non_null(strstr(gp, "'h.csv' using 1:2"));
    assert_non_null(strstr(gp, "'h.csv' using 1:3"));
    assert_non_null(strstr(gp, "'it''s a title'")); /* quotes escaped */
    assert_non_null(strstr(gp, "set output 'loss.png'"));
    int have_gnuplot = system("command -v gnuplot >/dev/null 2>&1") == 0;
    assert_int_equal(rendered, have_gnuplot);
    if (have_gnuplot) {
        snprintf(buf, sizeof buf, "%s.png", stem);
        char png[16];
        read_all(buf, png, sizeof png);
        assert_memory_equal(png + 1, "PNG", 3);
        remove(buf);
    }
    snprintf(buf, sizeof buf, "%s.gp", stem);
    remove(buf);
}

/* A band between two columns, under the lines, renders too. */
static void test_band(void **state)
{
    (void)state;
    char stem[4000], buf[4096], gp[4096];
    snprintf(stem, sizeof stem, "%s/band", dir);
    hd_line_plot p = loss_plot();
    p.n_series = 1;
    p.band_lo = 2;
    p.band_hi = 3;
    p.band_title = "68% band";
    int rendered = -1;
    assert_int_equal(hd_plot_lines(stem, &p, &rendered), HD_OK);
    snprintf(buf, sizeof buf, "%s.gp", stem);
    read_all(buf, gp, sizeof gp);
    const char *band = strstr(gp, "'h.csv' using 1:2:3 skip 1 with filledcurves");
    assert_non_null(band);
    assert_non_null(strstr(band, "'68% band'"));
    assert_non_null(strstr(band, "'h.csv' using 1:2 skip 1 with lines")); /* the line after the band */
    assert_int_equal(rendered, system("command -v gnuplot >/dev/null 2>&1") == 0);
    remove(buf);
    snprintf(buf, sizeof buf, "%s.png", stem);
    remove(buf);
}

static void test_missing_gnuplot_is_not_an_error(void **state)
{
    (void)state;
    char stem[4000], path[4096];
    snprintf(stem, sizeof stem, "%s/nognuplot", dir);
    const char *old = getenv("PATH");
    char *saved = old ? strdup(old) : NULL;
    setenv("PATH", "/nonexistent", 1);
    hd_line_plot p = loss_plot();
    int rendered = -1;
    int rc = hd_plot_lines(stem, &p, &rendered);
    if (saved) setenv("PATH", saved, 1);
    free(saved);
    assert_int_equal(rc, HD_OK);
    assert_int_equal(rendered, 0);
    snprintf(path, sizeof path, "%s.gp", stem);
    assert_int_equal(access(path, F_OK), 0);
    remove(path);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    hd_line_plot p = loss_plot();
    p.n_series = 0;
    assert_int_equal(hd_plot_lines("/tmp/x", &p, NULL), HD_EINVAL);
    p = loss_plot();
    assert_int_equal(hd_plot_lines("/nonexistent/dir/loss", &p, NULL), HD_EIO);
    assert_non_null(strstr(hd_last_error(), "/nonexistent/dir/loss.gp"));
}

/* Reads the histogram CSV back: edges[b] and the first series' counts[b]. */
static int read_hist(const char *path, double *edges, double *counts, int max)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[256];
    assert_non_null(fgets(line, sizeof line, f)); /* header */
    int n = 0;
    while (n < max && fscanf(f, "%lf,%lf%*[^\n]", &edges[n], &counts[n]) == 2) n++;
    fclose(f);
    return n;
}

static void test_histogram_counts_and_density(void **state)
{
    (void)state;
    double v[12] = {0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5, -1.0, 11.0}; /* last two outside */
    hd_hist_plot p = {.title = "h", .xlabel = "x", .n_series = 1, .values = {v}, .n_values = {12},
                      .titles = {"v"}, .bins = 5, .lo = 0, .hi = 10};
    char stem[4000], path[4096];
    double edges[16], counts[16];
    snprintf(stem, sizeof stem, "%s/hist", dir);
    assert_int_equal(hd_plot_hist(stem, &p, NULL), HD_OK);
    snprintf(path, sizeof path, "%s.csv", stem);
    assert_int_equal(read_hist(path, edges, counts, 16), 6); /* 5 bins + closing edge */
    for (int b = 0; b < 5; b++) {
        assert_true(edges[b] == 2.0 * b);
        assert_true(counts[b] == 2.0);
    }
    assert_true(edges[5] == 10.0);
    p.density = 1; /* unit area over the 10 values in range */
    assert_int_equal(hd_plot_hist(stem, &p, NULL), HD_OK);
    read_hist(path, edges, counts, 16);
    double area = 0;
    for (int b = 0; b < 5; b++) area += counts[b] * (edges[b + 1] - edges[b]);
    assert_true(area > 1 - 1e-9 && area < 1 + 1e-9);
    p = (hd_hist_plot){.title = "log", .xlabel = "x", .n_series = 1, .values = {(double[]){1, 10, 100, 1000, -5}},
                       .n_values = {5}, .titles = {"v"}, .bins = 3, .log_x = 1, .gaussian = 1};
    assert_int_equal(hd_plot_hist(stem, &p, NULL), HD_OK); /* range from the positive data */
    assert_int_equal(read_hist(path, edges, counts, 16), 4);
    assert_true(fabs(edges[0] - 1) < 1e-9 && fabs(edges[1] - 10) < 1e-6 && fabs(edges[3] - 1000) < 1e-6);
    assert_true(counts[0] == 1 && counts[1] == 1 && counts[2] == 2);
    char gp[4096];
    snprintf(path, sizeof path, "%s.gp", stem);
    read_all(path, gp, sizeof gp);
    assert_non_null(strstr(gp, "'hist.csv' using 1:2 skip 1 with steps"));
    assert_non_null(strstr(gp, "unit Gaussian"));
    assert_non_null(strstr(gp, "set logscale x"));
    remove(path);
    snprintf(path, sizeof path, "%s.csv", stem);
    remove(path);
    snprintf(path, sizeof path, "%s.png", stem);
    remove(path);
    p.n_values[0] = 0; /* no data, no range */
    assert_int_equal(hd_plot_hist(stem, &p, NULL), HD_EINVAL);
    assert_non_null(strstr(hd_last_error(), "no range"));
}

/* Two 2 x 3 maps: each a matrix file, row 0 first, drawn at bin centres. */
static void test_heat_maps(void **state)
{
    (void)state;
    const float a[6] = {0, 1, 2, 3, 4, 5}, b[6] = {5, 4, 3, 2, 1, 0};
    hd_map_plot p = {.title = "maps", .xlabel = "phi", .ylabel = "eta", .n = 2, .maps = {a, b},
                     .titles = {"observed", "simulated"}, .h = 2, .w = 3, .x0 = 0, .x1 = 3, .y0 = -1, .y1 = 1,
                     .zmax = 5};
    char stem[4000], path[4096], buf[4096];
    snprintf(stem, sizeof stem, "%s/maps", dir);
    int rendered = -1;
    assert_int_equal(hd_plot_maps(stem, &p, &rendered), HD_OK);
    snprintf(path, sizeof path, "%s_0.dat", stem);
    read_all(path, buf, sizeof buf);
    assert_string_equal(buf, "0 1 2\n3 4 5\n");
    remove(path);
    snprintf(path, sizeof path, "%s_1.dat", stem);
    read_all(path, buf, sizeof buf);
    assert_string_equal(buf, "5 4 3\n2 1 0\n");
    remove(path);
    snprintf(path, sizeof path, "%s.gp", stem);
    read_all(path, buf, sizeof buf);
    assert_non_null(strstr(buf, "set multiplot layout 1,2"));
    assert_non_null(strstr(buf, "set cbrange [0:5]"));
    /* bin width 1 in x, 1 in y: the first bin's centre is at (0.5, -0.5) */
    assert_non_null(strstr(buf, "'maps_1.dat' matrix using (0 + ($1 + 0.5) * 1):(-1 + ($2 + 0.5) * 1):3"));
    remove(path);
    if (rendered) {
        snprintf(path, sizeof path, "%s.png", stem);
        read_all(path, buf, 16);
        assert_memory_equal(buf + 1, "PNG", 3);
        remove(path);
    }
    p.zmax = 0; /* an empty image has no colour scale */
    assert_int_equal(hd_plot_maps(stem, &p, NULL), HD_EINVAL);
    assert_non_null(strstr(hd_last_error(), "zmax > 0"));
}

static int setup(void **state)
{
    (void)state;
    if (!(dir = test_tmpdir("plot"))) return -1;
    write_csv();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return test_tmpdir_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_script_and_png), cmocka_unit_test(test_band),
        cmocka_unit_test(test_missing_gnuplot_is_not_an_error),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_histogram_counts_and_density),
        cmocka_unit_test(test_heat_maps),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
