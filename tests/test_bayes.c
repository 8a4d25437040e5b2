/* Bayesian dense layers: draws differ between steps and repeat when the step
 * is set back, the weights have the mean and width asked for, the KL term
 * matches its closed form, and minimising it alone reaches the prior. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "hadron/hadron.h"

typedef struct {
    hd_graph *g;
    hd_node *x, *y, *kl;
} bnet;

static void build(bnet *n, int64_t in, int64_t out, float prior)
{
    n->g = hd_graph_new(11);
    n->x = hd_input(n->g, "x", 2, (int64_t[]){HD_BATCH, in});
    hd_mlp_spec spec = {.n_in = in, .n_out = out, .n_hidden = 1, .hidden = {16}, .act = HD_ACT_TANH};
    n->y = hd_bayes_mlp(n->g, &spec, "b", prior, n->x, &n->kl);
    assert_non_null(n->y);
    assert_int_equal(hd_graph_compile(n->g), HD_OK);
    assert_int_equal(hd_graph_set_batch(n->g, 4), HD_OK);
    float *x = hd_node_value(n->x)->data;
    for (int i = 0; i < 4 * in; i++) x[i] = 0.1f * (float)(i % 7) - 0.3f;
}

static void forward_copy(bnet *n, float *dst)
{
    assert_int_equal(hd_graph_forward(n->g, n->y), HD_OK);
    memcpy(dst, hd_node_value(n->y)->data, 8 * sizeof(float));
}

static void test_draws_differ_and_repeat(void **state)
{
    (void)state;
    bnet n;
    build(&n, 3, 2, 1.0f);
    /* widen the weights so draws differ visibly */
    for (int i = 0; i < hd_graph_n_params(n.g); i++) {
        hd_node *p = hd_graph_param(n.g, i);
        if (strstr(hd_node_name(p), "logvar")) {
            hd_tensor *t = hd_node_value(p);
            for (int64_t k = 0; k < hd_tensor_numel(t); k++) t->data[k] = -2.0f;
        }
    }
    float a[8], b[8], c[8];
    uint64_t s = hd_graph_step(n.g);
    forward_copy(&n, a); /* training mode: the step advances */
    forward_copy(&n, b);
    assert_true(memcmp(a, b, sizeof a) != 0);
    hd_graph_set_step(n.g, s); /* the first draw again, bit for bit */
    forward_copy(&n, c);
    assert_memory_equal(a, c, sizeof a);
    hd_graph_set_training(n.g, 0); /* evaluation samples too, and holds its step */
    hd_graph_set_step(n.g, 1000);
    forward_copy(&n, a);
    forward_copy(&n, b);
    assert_memory_equal(a, b, sizeof a);
    hd_graph_set_step(n.g, 1001);
    forward_copy(&n, c);
    assert_true(memcmp(a, c, sizeof a) != 0);
    hd_graph_free(n.g);
}

/* y = w x + b with x = 1 and 2000 weights: their sample moments are the
 * layer's mean and width. */
static void test_weights_have_the_asked_distribution(void **state)
{
    (void)state;
    hd_graph *g = hd_graph_new(5);
    hd_node *x = hd_input(g, "x", 2, (int64_t[]){HD_BATCH, 1});
    hd_bayes_dense_layer l;
    assert_int_equal(hd_bayes_dense_init(g, &l, "l", 1, 2000, 1.0f), HD_OK);
    hd_node *y = hd_bayes_dense_apply(g, &l, x);
    assert_int_equal(hd_graph_compile(g), HD_OK);
    assert_int_equal(hd_graph_set_batch(g, 1), HD_OK);
    hd_node_value(x)->data[0] = 1.0f;
    for (int i = 0; i < 2000; i++) {
        hd_node_value(l.mean)->data[i] = 0.3f;
        hd_node_value(l.logvar)->data[i] = logf(0.25f);
        hd_node_value(l.bias)->data[i] = 0.0f;
    }
    assert_int_equal(hd_graph_forward(g, y), HD_OK);
    double s = 0, s2 = 0;
    for (int i = 0; i < 2000; i++) {
        double v = hd_node_value(y)->data[i];
        s += v;
        s2 += v * v;
    }
    double mean = s / 2000, sd = sqrt(s2 / 2000 - mean * mean);
    assert_true(fabs(mean - 0.3) < 4 * 0.5 / sqrt(2000.0));
    assert_true(fabs(sd - 0.5) < 0.03);
    hd_graph_free(g);
}

static void test_kl_closed_form(void **state)
{
    (void)state;
    bnet n;
    build(&n, 3, 2, 0.5f);
    double want = 0;
    for (int i = 0; i < hd_graph_n_params(n.g); i++) {
        hd_node *p = hd_graph_param(n.g, i);
        const char *name = hd_node_name(p);
        if (!strstr(name, "weight_mean")) continue;
        char lv_name[64];
        snprintf(lv_name, sizeof lv_name, "%.*s.weight_logvar", (int)(strstr(name, ".weight_mean") - name), name);
        hd_tensor *m = hd_node_value(p), *lv = hd_node_value(hd_graph_find(n.g, lv_name));
        for (int64_t k = 0; k < hd_tensor_numel(m); k++) {
            lv->data[k] = -1.0f + 0.01f * (float)k;
            double var = exp((double)lv->data[k]), mu = m->data[k], s2 = 0.25;
            /* KL(N(mu, var) || N(0, s2)) */
            want += 0.5 * (var / s2 + mu * mu / s2 - 1 + log(s2 / var));
        }
    }
    assert_int_equal(hd_graph_forward(n.g, n.kl), HD_OK);
    assert_true(fabs(hd_node_scalar(n.kl) - want) < 1e-4 * want);
    hd_graph_free(n.g);
}

/* Minimising the KL alone pulls every weight to the prior N(0, s^2). */
static void test_kl_alone_reaches_the_prior(void **state)
{
    (void)state;
    bnet n;
    build(&n, 3, 2, 0.5f);
    float *params, *grads;
    int64_t np;
    hd_graph_param_range(n.g, HD_ALL, &params, &grads, &np);
    hd_optim_opts oo = hd_optim_opts_default(HD_ADAM);
    oo.lr = 0.05f;
    hd_optim *o = hd_optim_new(&oo, np);
    for (int it = 0; it < 2000; it++) {
        hd_graph_zero_grad(n.g, HD_ALL);
        assert_int_equal(hd_graph_forward(n.g, n.kl), HD_OK);
        assert_int_equal(hd_graph_backward(n.g, n.kl, HD_ALL), HD_OK);
        hd_optim_step(o, params, grads);
    }
    assert_true(hd_node_scalar(n.kl) < 1e-3);
    hd_node *lv = hd_graph_find(n.g, "b.bayes0.weight_logvar");
    assert_non_null(lv);
    assert_true(fabs(hd_node_value(lv)->data[0] - logf(0.25f)) < 0.01);
    hd_optim_free(o);
    hd_graph_free(n.g);
}

static void test_bad_prior(void **state)
{
    (void)state;
    hd_graph *g = hd_graph_new(1);
    hd_bayes_dense_layer l;
    assert_int_equal(hd_bayes_dense_init(g, &l, "l", 2, 2, 0.0f), HD_EINVAL);
    assert_non_null(strstr(hd_last_error(), "prior width"));
    hd_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_draws_differ_and_repeat),
        cmocka_unit_test(test_weights_have_the_asked_distribution),
        cmocka_unit_test(test_kl_closed_form),
        cmocka_unit_test(test_kl_alone_reaches_the_prior),
        cmocka_unit_test(test_bad_prior),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
