/* The same fit as train_mlp.c, with the trainer running the loop: shuffled
 * batches of fixed rows, a plateau schedule, a history file and a
 * checkpoint to resume from.  The README shows this file; CI compiles and
 * runs it.  cc train_loop.c $(pkg-config --cflags --libs hadron) */
#include <hadron/hadron.h>
#include <stdio.h>

#define ROWS 2048

int main(void)
{
    static float xs[ROWS * 2], ts[ROWS];
    hd_rng rng;
    hd_rng_init(&rng, 42, HD_STREAM_USER);
    hd_rng_fill_uniform(&rng, xs, ROWS * 2, -1, 1);
    for (int i = 0; i < ROWS; i++) ts[i] = xs[2 * i] * xs[2 * i + 1];

    hd_graph *g = hd_graph_new(42);
    hd_node *x = hd_input(g, "x", 2, (int64_t[]){HD_BATCH, 2});
    hd_node *t = hd_input(g, "t", 2, (int64_t[]){HD_BATCH, 1});
    hd_mlp_spec spec = {.n_in = 2, .n_out = 1, .n_hidden = 2, .hidden = {16, 16}, .act = HD_ACT_TANH};
    hd_node *loss = hd_mse_loss(g, hd_mlp(g, &spec, "net", x), t);
    if (!loss || hd_graph_compile(g)) {
        fprintf(stderr, "%s\n", hd_last_error());
        return 1;
    }
    hd_train_opts tr = hd_train_opts_default();           /* Adam, constant rate */
    tr.g = g; tr.loss = loss; tr.epochs = 30; tr.batch = 64; tr.n_rows = ROWS;
    tr.n_columns = 2; tr.inputs[0] = x; tr.inputs[1] = t; /* column i fills input i */
    tr.columns[0] = xs; tr.columns[1] = ts;                /* [n_rows, 2], [n_rows, 1] */
    tr.optim.lr = 1e-2f;
    tr.sched = hd_schedule_plateau();                     /* sets the optimiser's rate itself */
    tr.history = "history.csv"; tr.checkpoint = "checkpoint.safetensors"; tr.checkpoint_every = 10;
    hd_train_result r;
    if (hd_train(&tr, &r) != HD_OK) {                     /* tr.resume = 1 continues a killed run */
        fprintf(stderr, "%s\n", hd_last_error());
        return 1;
    }
    printf("%d epochs, best %d: loss per row %.5f\n", r.epochs, r.best_epoch, r.best);
    hd_graph_free(g);
    return r.best < 1e-3 ? 0 : 1;
}
