/* The generator behind a "model": "generator" checkpoint (nn/generator.c),
 * for model.c, which owns the public hd_model calls. */
#ifndef HADRON_GENERATOR_INTERNAL_H
#define HADRON_GENERATOR_INTERNAL_H

#include "hadron/nn.h"

typedef struct hd_generator hd_generator;

int hd_generator_load(const char *path, const hd_safetensors *st, hd_generator **out);
void hd_generator_free(hd_generator *G);
const char *hd_generator_kind(const hd_generator *G);
int64_t hd_generator_n_cond(const hd_generator *G);
int64_t hd_generator_n_vox(const hd_generator *G);
int64_t hd_generator_noise_dim(const hd_generator *G);
const hd_cond_scaler *hd_generator_scaler(const hd_generator *G);
void hd_generator_set_seed(hd_generator *G, uint64_t seed);
void hd_generator_allow_extrapolation(hd_generator *G, int allow);
int hd_generator_run(hd_generator *G, int64_t n, const float *cond, const float *noise, float *out);

/* One thread's generation from a shared generator G, which it only reads:
 * the dense networks, the mixture and the library go row by row (no
 * allocation, no BLAS, no threads; the same noise stream as
 * hd_generator_run for the same seed); the convolutional generators (of
 * ecal30 and the DCGAN) and the mdn have a graph of their own, built from the file
 * (path, st) G was loaded from. */
typedef struct hd_generator_thread hd_generator_thread;
int hd_generator_thread_new(const hd_generator *G, const char *path, const hd_safetensors *st, hd_generator_thread **out);
void hd_generator_thread_free(hd_generator_thread *T);
void hd_generator_thread_set_seed(hd_generator_thread *T, uint64_t seed);
void hd_generator_thread_allow_extrapolation(hd_generator_thread *T, int allow);
int hd_generator_thread_run(const hd_generator *G, hd_generator_thread *T, int64_t n, const float *cond,
                            const float *noise, float *out);

/* A network generator's parts, for the ONNX export: its MLP (layers
 * "gen.dense<i>" in g), the condition scaler and the shower transform.
 * HD_EINVAL for the gmm, the library and the convolutional generator. */
typedef struct {
    const hd_mlp_spec *spec;
    hd_graph *g;
    const hd_cond_scaler *cs;
    const hd_shower_prep *prep;
    int64_t latent, n_cond, n_vox;
} hd_generator_net;
int hd_generator_net_parts(const hd_generator *G, hd_generator_net *out);

#endif
