/* End to end: the fit workflow learns its known function to a stated
 * tolerance, and the same seed gives bit-identical weights. */
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
#include "test_util.h"

static void test_fit_reaches_tolerance_and_repeats(void **state)
{
    (void)state;
    char *dir[2];
    hd_fit_result res[2];
    for (int k = 0; k < 2; k++) {
        assert_non_null(dir[k] = test_tmpdir("fit"));
        hd_fit_opts o = hd_fit_opts_default();
        o.epochs = 60;
        o.out_dir = dir[k];
        if (hd_fit_run(&o, &res[k]) != HD_OK) fail_msg("%s", hd_last_error());
    }
    /* the function has variance ~0.19; a fit to 1% of it is a real fit */
    printf("test mse %.5f -> %.5f\n", res[0].first_test_mse, res[0].final_test_mse);
    assert_true(res[0].final_test_mse < 2e-3);
    assert_true(res[0].final_test_mse < res[0].first_test_mse / 50);
    assert_memory_equal(&res[0], &res[1], sizeof res[0]);

    char path[2][4200];
    hd_safetensors *st[2];
    for (int k = 0; k < 2; k++) {
        snprintf(path[k], sizeof path[k], "%s/model.safetensors", dir[k]);
        assert_int_equal(hd_safetensors_read(path[k], &st[k]), HD_OK);
    }
    assert_int_equal(hd_safetensors_count(st[0]), 6);
    for (int i = 0; i < hd_safetensors_count(st[0]); i++) {
        const char *name = hd_safetensors_name(st[0], i);
        const hd_tensor *a = hd_safetensors_get(st[0], name), *b = hd_safetensors_get(st[1], name);
        assert_non_null(b);
        assert_memory_equal(a->data, b->data, (size_t)hd_tensor_numel(a) * sizeof(float));
    }
    /* the model can be rebuilt from the file alone */
    hd_mlp_spec spec;
    assert_int_equal(hd_mlp_spec_from_json(hd_safetensors_meta(st[0], "mlp"), &spec), HD_OK);
    assert_int_equal(spec.n_hidden, 2);
    assert_int_equal(spec.hidden[1], 32);
    assert_int_equal(spec.act, HD_ACT_TANH);
    hd_graph *g = hd_graph_new(0);
    hd_node *x = hd_input(g, "x", 2, (int64_t[]){HD_BATCH, 2});
    hd_node *y = hd_mlp(g, &spec, hd_safetensors_meta(st[0], "prefix"), x);
    assert_int_equal(hd_graph_compile(g), HD_OK);
    assert_int_equal(hd_checkpoint_load(g, path[0], HD_ALL), HD_OK);
    hd_graph_set_batch(g, 1);
    hd_graph_set_training(g, 0);
    hd_node_value(x)->data[0] = 0.5f;
    hd_node_value(x)->data[1] = 0.0f;
    hd_graph_forward(g, y);
    assert_float_equal(hd_node_scalar(y), hd_fit_target(0.5, 0.0), 0.08);
    hd_graph_free(g);
    for (int k = 0; k < 2; k++) {
        hd_safetensors_free(st[k]);
        test_tmpdir_free(dir[k]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_fit_reaches_tolerance_and_repeats)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
