/* The WGAN-GP critic loss against PyTorch (fixtures/gp/, made by
 * fixtures/make_gp_fixtures.py with create_graph=True): for a dense critic
 * with layer norm and a convolutional one with layer norm, softplus and
 * max-pooling, one step's loss, penalty and the gradient of every weight
 * agree with the float64 reference to 1e-5 relative (|got - want| over
 * |want|, as vectors).  Those gradients contain the second derivatives of
 * the critic, through hd_grad. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "hadron/hadron.h"

#define RTOL 1e-5

typedef struct {
    hd_npz *z;
    char path[512];
    hd_graph *g;
} fixture;

static const hd_array *get(const fixture *f, const char *key)
{
    const hd_array *a = hd_npz_get(f->z, key);
    if (!a) fail_msg("%s: no array '%s'", f->path, key);
    return a;
}

/* A parameter named like the fixture's "w.<name>", filled after compile. */
static hd_node *param(fixture *f, const char *name)
{
    char key[64];
    snprintf(key, sizeof key, "w.%s", name);
    const hd_array *a = get(f, key);
    hd_node *p = hd_param(f->g, name, a->ndim, a->shape, (hd_init){HD_INIT_ZEROS, 0});
    assert_non_null(p);
    return p;
}

static hd_node *input(fixture *f, const char *key)
{
    const hd_array *a = get(f, key);
    int64_t shape[HD_MAX_DIM];
    memcpy(shape, a->shape, sizeof shape);
    shape[0] = HD_BATCH;
    return hd_input(f->g, key, a->ndim, shape);
}

static double rel_error(const float *got, const hd_array *want)
{
    double num = 0, den = 0;
    for (int64_t i = 0; i < hd_array_numel(want); i++) {
        double w = hd_array_get(want, i), d = got[i] - w;
        num += d * d;
        den += w * w;
    }
    return sqrt(num / (den > 0 ? den : 1));
}

typedef hd_node *(*critic_fn)(fixture *f, hd_node *x);

static hd_node *mlp(fixture *f, hd_node *x)
{
    hd_graph *g = f->g;
    hd_node *h = hd_leaky_relu(g, hd_linear(g, x, hd_graph_find(g, "d0.weight"), hd_graph_find(g, "d0.bias")), 0.2f);
    h = hd_layer_norm(g, h, hd_graph_find(g, "ln.weight"), hd_graph_find(g, "ln.bias"), 1e-5f);
    h = hd_tanh(g, hd_linear(g, h, hd_graph_find(g, "d1.weight"), hd_graph_find(g, "d1.bias")));
    return hd_linear(g, h, hd_graph_find(g, "d2.weight"), hd_graph_find(g, "d2.bias"));
}

static hd_node *conv(fixture *f, hd_node *x)
{
    hd_graph *g = f->g;
    hd_node *h = hd_conv2d(g, x, hd_graph_find(g, "c0.weight"), hd_graph_find(g, "c0.bias"), 1, 1, HD_PAD_SAME);
    h = hd_layer_norm(g, h, hd_graph_find(g, "ln.weight"), hd_graph_find(g, "ln.bias"), 1e-5f);
    h = hd_leaky_relu(g, h, 0.2f);
    h = hd_conv2d(g, h, hd_graph_find(g, "c1.weight"), hd_graph_find(g, "c1.bias"), 2, 2, HD_PAD_SAME);
    h = hd_max_pool2d(g, hd_softplus(g, h), 2, 2, 1, 1);
    h = hd_reshape(g, h, 2, (int64_t[]){HD_BATCH, 24});
    return hd_linear(g, h, hd_graph_find(g, "d.weight"), hd_graph_find(g, "d.bias"));
}

static void check(const char *name, const char *const *params, int n_params, critic_fn critic)
{
    fixture f = {0};
    snprintf(f.path, sizeof f.path, "%s/gp/%s.npz", HD_FIXTURES, name);
    if (hd_npz_read(f.path, &f.z) != HD_OK) fail_msg("%s", hd_last_error());
    hd_graph *g = f.g = hd_graph_new(1);
    hd_node *p[16];
    for (int i = 0; i < n_params; i++) p[i] = param(&f, params[i]);
    hd_node *real = input(&f, "real"), *fake = input(&f, "fake"), *eps = input(&f, "eps");
    hd_node *x_hat = hd_add(g, real, hd_mul(g, eps, hd_sub(g, fake, real)));
    hd_node *gp = hd_gradient_penalty(g, critic(&f, x_hat), x_hat, 1.0f);
    float lam = (float)hd_array_get(get(&f, "lam"), 0);
    hd_node *wdist = hd_sub(g, hd_mean(g, critic(&f, fake), HD_AXIS_ALL), hd_mean(g, critic(&f, real), HD_AXIS_ALL));
    hd_node *loss = hd_add(g, wdist, hd_scale(g, gp, lam));
    if (!loss) fail_msg("%s: %s", name, hd_last_error());
    assert_int_equal(hd_graph_compile(g), HD_OK);
    const hd_array *ra = get(&f, "real");
    assert_int_equal(hd_graph_set_batch(g, ra->shape[0]), HD_OK);
    hd_array_to_f32(ra, hd_node_value(real)->data);
    hd_array_to_f32(get(&f, "fake"), hd_node_value(fake)->data);
    hd_array_to_f32(get(&f, "eps"), hd_node_value(eps)->data);
    for (int i = 0; i < n_params; i++) {
        char key[64];
        snprintf(key, sizeof key, "w.%s", params[i]);
        hd_array_to_f32(get(&f, key), hd_node_value(p[i])->data);
    }
    hd_graph_zero_grad(g, HD_ALL);
    assert_int_equal(hd_graph_forward(g, loss), HD_OK);
    assert_int_equal(hd_graph_backward(g, loss, HD_ALL), HD_OK);
    double want_loss = hd_array_get(get(&f, "loss"), 0), want_gp = hd_array_get(get(&f, "gp"), 0);
    printf("%s: loss %.7g (torch %.7g), penalty %.7g (torch %.7g)\n", name, (double)hd_node_scalar(loss), want_loss,
           (double)hd_node_scalar(gp), want_gp);
    assert_true(fabs(hd_node_scalar(loss) - want_loss) <= RTOL * fabs(want_loss));
    assert_true(fabs(hd_node_scalar(gp) - want_gp) <= RTOL * fabs(want_gp));
    for (int i = 0; i < n_params; i++) {
        char key[64];
        snprintf(key, sizeof key, "g.%s", params[i]);
        double e = rel_error(hd_node_grad(p[i])->data, get(&f, key));
        printf("  d loss / d %-10s relative error %.2e\n", params[i], e);
        if (!(e <= RTOL)) fail_msg("%s: gradient of %s off by %.3g relative", name, params[i], e);
    }
    hd_graph_free(g);
    hd_npz_free(f.z);
}

static void test_mlp_critic(void **state)
{
    (void)state;
    static const char *const params[] = {"d0.weight", "d0.bias", "ln.weight", "ln.bias",
                                         "d1.weight", "d1.bias", "d2.weight", "d2.bias"};
    check("mlp", params, 8, mlp);
}

static void test_conv_critic(void **state)
{
    (void)state;
    static const char *const params[] = {"c0.weight", "c0.bias", "ln.weight", "ln.bias",
                                         "c1.weight", "c1.bias", "d.weight",  "d.bias"};
    check("conv", params, 8, conv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mlp_critic),
        cmocka_unit_test(test_conv_critic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
