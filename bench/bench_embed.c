/* Nanoseconds per row of one MLP model through each embedding path, on one
 * thread: hd_model_predict and hd_model_run (a thread context) at batch 1
 * and 4096, and the exported C source (hadron export --format c, name
 * "model", compiled in beside this file).  One JSON line per case; built
 * and run by bench/embed.sh, which times OpenCV's DNN on the ONNX export
 * in the same run.  Usage: bench_embed MODEL.safetensors SECONDS */
#include <stdio.h>
#include <stdlib.h>

#include "hadron/hadron.h"
#include "model.h"

#define ROWS 4096

typedef struct {
    hd_model *m;
    hd_model_ctx *c;
    const float *x;
    float *y;
} args;

static void predict_1(const args *a)
{
    for (int i = 0; i < ROWS; i++) hd_model_predict(a->m, 1, a->x + i * MODEL_N_IN, a->y + i * MODEL_N_OUT);
}
static void predict_4096(const args *a) { hd_model_predict(a->m, ROWS, a->x, a->y); }
static void run_1(const args *a)
{
    for (int i = 0; i < ROWS; i++) hd_model_run(a->c, 1, a->x + i * MODEL_N_IN, a->y + i * MODEL_N_OUT);
}
static void run_4096(const args *a) { hd_model_run(a->c, ROWS, a->x, a->y); }
static void exported(const args *a)
{
    for (int i = 0; i < ROWS; i++) model(a->y + i * MODEL_N_OUT, a->x + i * MODEL_N_IN);
}

/* The median over repeats of one pass over ROWS rows, in ns per row. */
static double time_case(void (*f)(const args *), const args *a, double budget)
{
    double t[64];
    int n = 0;
    f(a); /* warm */
    for (double start = hd_now(); n < 64 && (n < 5 || hd_now() - start < budget); n++) {
        double t0 = hd_now();
        f(a);
        t[n] = (hd_now() - t0) / ROWS * 1e9;
    }
    for (int i = 1; i < n; i++) /* insertion sort: a few dozen values */
        for (int j = i; j > 0 && t[j] < t[j - 1]; j--) {
            double s = t[j];
            t[j] = t[j - 1];
            t[j - 1] = s;
        }
    return t[n / 2];
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: bench_embed MODEL.safetensors SECONDS\n");
        return 2;
    }
    hd_set_threads(1);
    args a = {0};
    if (hd_model_load(argv[1], &a.m) != HD_OK || !(a.c = hd_model_ctx_new(a.m))) {
        fprintf(stderr, "bench_embed: %s\n", hd_last_error());
        return 1;
    }
    static float x[ROWS * MODEL_N_IN], y[ROWS * MODEL_N_OUT];
    hd_rng r;
    hd_rng_init(&r, 1, 0);
    for (int i = 0; i < ROWS; i++) { /* the surrogate's raw inputs: eta, pT [MeV], phi */
        x[i * MODEL_N_IN] = 2 + 3 * hd_rng_uniform(&r);
        if (MODEL_N_IN > 1) x[i * MODEL_N_IN + 1] = 200 + 19800 * hd_rng_uniform(&r);
        if (MODEL_N_IN > 2) x[i * MODEL_N_IN + 2] = 6.2831853f * hd_rng_uniform(&r) - 3.1415927f;
    }
    a.x = x;
    a.y = y;
    double budget = atof(argv[2]);
    static const struct { const char *name; void (*f)(const args *); } cases[] = {
        {"hd_model_predict_batch1", predict_1}, {"hd_model_predict_batch4096", predict_4096},
        {"hd_model_run_batch1", run_1},         {"hd_model_run_batch4096", run_4096},
        {"exported_c_batch1", exported},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        printf("{\"case\": \"%s\", \"threads\": 1, \"ns_per_row\": %.1f}\n", cases[k].name,
               time_case(cases[k].f, &a, budget));
    hd_model_ctx_free(a.c);
    hd_model_free(a.m);
    return 0;
}
