/* WGAN-GP end to end on the classic 2-D toy: eight Gaussians on a ring
 * (Gulrajani et al. 2017, section 5.1).  A generator and a critic of two
 * hidden ReLU layers each; the critic minimises E[D(fake)] - E[D(real)] +
 * lambda E[(||grad D(x_hat)|| - 1)^2] on x_hat between real and fake
 * samples, the penalty's gradient exact through hd_grad.  After training,
 * every one of the eight modes holds a fair share of the generated samples,
 * most samples lie near a mode, and the critic's gradient norm on x_hat is
 * near 1, which is what the penalty asks (without the penalty, lambda = 0,
 * the slope runs to hundreds and a third of the samples land near a mode). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "hadron/hadron.h"

#define BATCH 256
#define HIDDEN 64
#define LAMBDA 1.0f
#define N_CRITIC 5
#define RADIUS 2.0f
#define SIGMA 0.05f

typedef struct { hd_dense_layer l[3]; } mlp3;

static void mlp_init(hd_graph *g, mlp3 *m, const char *name, int64_t in, int64_t out)
{
    char key[32];
    int64_t dims[4] = {in, HIDDEN, HIDDEN, out};
    for (int i = 0; i < 3; i++) {
        snprintf(key, sizeof key, "%s.dense%d", name, i);
        assert_int_equal(hd_dense_init(g, &m->l[i], key, dims[i], dims[i + 1], 1), HD_OK);
    }
}

static hd_node *mlp_apply(hd_graph *g, const mlp3 *m, hd_node *x)
{
    for (int i = 0; i < 3; i++) {
        x = hd_dense_apply(g, &m->l[i], x);
        if (i < 2) x = hd_relu(g, x);
    }
    return x;
}

static void ring_sample(hd_rng *r, float *x, int n)
{
    for (int i = 0; i < n; i++) {
        double a = 2 * HD_PI * (double)hd_rng_below(r, 8) / 8;
        x[2 * i] = RADIUS * (float)cos(a) + SIGMA * hd_rng_normal(r);
        x[2 * i + 1] = RADIUS * (float)sin(a) + SIGMA * hd_rng_normal(r);
    }
}

static void test_eight_gaussians(void **state)
{
    (void)state;
    hd_set_threads(1); /* 64-wide layers: a second thread only adds fork-join overhead */
    hd_graph *g = hd_graph_new(11);
    mlp3 gen, critic;
    hd_graph_set_group(g, 0);
    mlp_init(g, &gen, "gen", 2, 2);
    hd_graph_set_group(g, 1);
    mlp_init(g, &critic, "critic", 2, 1);
    hd_node *z = hd_input(g, "z", 2, (int64_t[]){HD_BATCH, 2});
    hd_node *real = hd_input(g, "real", 2, (int64_t[]){HD_BATCH, 2});
    hd_node *eps = hd_input(g, "eps", 2, (int64_t[]){HD_BATCH, 1});
    hd_node *fake = mlp_apply(g, &gen, z);
    hd_node *d_real = hd_mean(g, mlp_apply(g, &critic, real), HD_AXIS_ALL);
    hd_node *d_fake = hd_mean(g, mlp_apply(g, &critic, fake), HD_AXIS_ALL);
    hd_node *x_hat = hd_add(g, real, hd_mul(g, eps, hd_sub(g, fake, real)));
    hd_node *d_hat = mlp_apply(g, &critic, x_hat);
    hd_node *gp = hd_gradient_penalty(g, d_hat, x_hat, 1.0f);
    hd_node *grad_norm = hd_mean(g, hd_row_norm(g, hd_grad(g, d_hat, x_hat), NULL), HD_AXIS_ALL);
    hd_node *critic_loss = hd_add(g, hd_sub(g, d_fake, d_real), hd_scale(g, gp, LAMBDA));
    hd_node *gen_loss = hd_scale(g, d_fake, -1.0f);
    assert_non_null(critic_loss);
    assert_non_null(grad_norm);
    assert_int_equal(hd_graph_compile(g), HD_OK);
    assert_int_equal(hd_graph_set_batch(g, BATCH), HD_OK);

    float *pg, *gg, *pc, *gc;
    int64_t ng, nc;
    hd_graph_param_range(g, 0, &pg, &gg, &ng);
    hd_graph_param_range(g, 1, &pc, &gc, &nc);
    hd_optim_opts oo = hd_optim_opts_default(HD_ADAM);
    oo.lr = 1e-3f;
    oo.beta1 = 0.5f;
    oo.beta2 = 0.9f;
    hd_optim *opt_g = hd_optim_new(&oo, ng), *opt_c = hd_optim_new(&oo, nc);
    assert_true(opt_g && opt_c);

    hd_rng r;
    hd_rng_init(&r, 5, HD_STREAM_USER);
    float *zv = hd_node_value(z)->data, *rv = hd_node_value(real)->data, *ev = hd_node_value(eps)->data;
    const int iterations = 1500;
    for (int it = 0; it < iterations; it++) {
        for (int k = 0; k < N_CRITIC; k++) {
            hd_rng_fill_normal(&r, zv, 2 * BATCH, 0.0f, 1.0f);
            ring_sample(&r, rv, BATCH);
            hd_rng_fill_uniform(&r, ev, BATCH, 0.0f, 1.0f);
            hd_graph_zero_grad(g, 1);
            assert_int_equal(hd_graph_forward(g, critic_loss), HD_OK);
            assert_int_equal(hd_graph_backward(g, critic_loss, 1), HD_OK);
            assert_int_equal(hd_optim_step(opt_c, pc, gc), HD_OK);
        }
        hd_rng_fill_normal(&r, zv, 2 * BATCH, 0.0f, 1.0f);
        hd_graph_zero_grad(g, 0);
        assert_int_equal(hd_graph_forward(g, gen_loss), HD_OK);
        assert_int_equal(hd_graph_backward(g, gen_loss, 0), HD_OK);
        assert_int_equal(hd_optim_step(opt_g, pg, gg), HD_OK);
    }

    /* the critic's slope on x_hat, what the penalty holds near 1 */
    hd_rng_fill_normal(&r, zv, 2 * BATCH, 0.0f, 1.0f);
    ring_sample(&r, rv, BATCH);
    hd_rng_fill_uniform(&r, ev, BATCH, 0.0f, 1.0f);
    assert_int_equal(hd_graph_forward(g, grad_norm), HD_OK);
    float slope = hd_node_scalar(grad_norm);

    /* modes of 8 x 256 generated samples: nearest centre, and near it (4 sigma) */
    int count[8] = {0}, near = 0, total = 0;
    for (int rep = 0; rep < 8; rep++) {
        hd_rng_fill_normal(&r, zv, 2 * BATCH, 0.0f, 1.0f);
        assert_int_equal(hd_graph_forward(g, fake), HD_OK);
        const float *f = hd_node_value(fake)->data;
        for (int i = 0; i < BATCH; i++, total++) {
            double a = atan2(f[2 * i + 1], f[2 * i]);
            int k = ((int)lround(a / (2 * HD_PI / 8)) + 8) % 8;
            double dx = f[2 * i] - RADIUS * cos(2 * HD_PI * k / 8), dy = f[2 * i + 1] - RADIUS * sin(2 * HD_PI * k / 8);
            count[k]++;
            near += sqrt(dx * dx + dy * dy) < 4 * SIGMA;
        }
    }
    printf("critic slope on x_hat %.3f; near a mode %.1f%%; per mode:", (double)slope, 100.0 * near / total);
    int smallest = total;
    for (int k = 0; k < 8; k++) {
        printf(" %.1f%%", 100.0 * count[k] / total);
        if (count[k] < smallest) smallest = count[k];
    }
    printf("\n");
    assert_true(smallest > total / 8 / 3);   /* every mode: at least a third of its fair share */
    assert_true(near > total / 2);            /* most samples on a mode, not between them */
    assert_true(slope > 0.7f && slope < 1.3f);
    hd_optim_free(opt_g);
    hd_optim_free(opt_c);
    hd_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eight_gaussians),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
