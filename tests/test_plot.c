/* Plots: the gnuplot script is written beside the data, and rendered to a
 * PNG when gnuplot runs; without gnuplot the script alone is not an error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hadron/hadron.h"

static char dir[] = "/tmp/hd_plot_XXXXXX";

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
    char path[64];
    snprintf(path, sizeof path, "%s/h.csv", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "epoch,train,test\n1,1.0,1.2\n2,0.5,0.6\n3,0.1,0.2\n");
    fclose(f);
}

static void test_script_and_png(void **state)
{
    (void)state;
    char stem[64], buf[4096];
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

static void test_missing_gnuplot_is_not_an_error(void **state)
{
    (void)state;
    char stem[64], path[80];
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

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(dir)) return -1;
    write_csv();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char path[64];
    snprintf(path, sizeof path, "%s/h.csv", dir);
    remove(path);
    return rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_script_and_png),
        cmocka_unit_test(test_missing_gnuplot_is_not_an_error),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
