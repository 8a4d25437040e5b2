/* A complete training loop against the C API: fit y = x0 * x1 with an MLP.
 * The README shows this file; CI compiles and runs it.  Build it yourself
 * after `cmake --install`:  cc train_mlp.c $(pkg-config --cflags --libs hadron) */
#include <hadron/hadron.h>
#include <stdio.h>

int main(void)
{
    hd_graph *g = hd_graph_new(42);
    hd_node *x = hd_input(g, "x", 2, (int64_t[]){HD_BATCH, 2});
    hd_node *t = hd_input(g, "t", 2, (int64_t[]){HD_BATCH, 1});
    hd_mlp_spec spec = {.n_in = 2, .n_out = 1, .n_hidden = 2, .hidden = {16, 16}, .act = HD_ACT_TANH};
    hd_node *loss = hd_mse_loss(g, hd_mlp(g, &spec, "net", x), t);
    if (!loss || hd_graph_compile(g) || hd_graph_set_batch(g, 64)) {
        fprintf(stderr, "%s\n", hd_last_error());
        return 1;
    }
    float *params, *grads;
    int64_t n;
    hd_graph_param_range(g, HD_ALL, &params, &grads, &n);
    hd_optim_opts opts = hd_optim_opts_default(HD_ADAM);
    opts.lr = 1e-2f;
    hd_optim *opt = hd_optim_new(&opts, n);
    hd_rng rng;
    hd_rng_init(&rng, 42, HD_STREAM_USER);
    float first = 0;
    for (int step = 0; step < 500; step++) {
        float *xs = hd_node_value(x)->data, *ts = hd_node_value(t)->data;
        hd_rng_fill_uniform(&rng, xs, 128, -1, 1);
        for (int i = 0; i < 64; i++) ts[i] = xs[2 * i] * xs[2 * i + 1];
        hd_graph_zero_grad(g, HD_ALL);
        hd_graph_forward(g, loss);
        hd_graph_backward(g, loss, HD_ALL);
        hd_optim_step(opt, params, grads);
        if (step == 0) first = hd_node_scalar(loss);
        if (step % 100 == 99) printf("step %d  loss %.5f\n", step + 1, hd_node_scalar(loss));
    }
    int ok = hd_node_scalar(loss) < first / 10;
    hd_optim_free(opt);
    hd_graph_free(g);
    return ok ? 0 : 1;
}
