/* Fast simulation in a C simulation: a trained shower generator replaces
 * the full shower for electrons, here for a batch of incident energies,
 * with the framework's own random numbers as the noise.
 *
 *   hadron sim calo --n 50000 --out train.h5 && hadron gen train --model wgan-gp --data train.h5 --out gen
 *   cc fast_sim.c $(pkg-config --cflags --libs hadron) -o fast_sim
 *   ./fast_sim gen/checkpoint.safetensors
 *
 * Each row of cond is one particle's conditions (the incident energy in
 * MeV; an ecal30 model also takes px, py, pz and the entry point x, y); the
 * showers come back in the model's voxel layout, in MeV. */
#include <hadron/hadron.h>
#include <stdio.h>
#include <stdlib.h>

enum { N = 1000 };

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s GENERATOR.safetensors\n", argv[0]);
        return 2;
    }
    hd_model *m;
    if (hd_model_load(argv[1], &m) != HD_OK) {
        fprintf(stderr, "%s\n", hd_last_error());
        return 1;
    }
    if (hd_model_n_cond(m) != 1) {
        fprintf(stderr, "%s: want a generator conditioned on the energy alone\n", argv[1]);
        return 1;
    }
    int64_t nv = hd_model_n_out(m), nz = hd_model_noise_dim(m);
    float lo, hi, *cond = malloc(N * sizeof(float)), *noise = malloc((size_t)(N * (nz > 0 ? nz : 1)) * sizeof(float));
    float *showers = malloc((size_t)(N * nv) * sizeof(float));
    hd_model_cond_range(m, 0, &lo, &hi);
    hd_rng rng; /* stands in for the framework's random engine */
    hd_rng_init(&rng, 1, HD_STREAM_USER);
    for (int i = 0; i < N; i++) cond[i] = lo + (hi - lo) * hd_rng_uniform(&rng);
    hd_rng_fill_normal(&rng, noise, N * nz, 0.0f, 1.0f);
    double t0 = hd_now();
    if (hd_model_generate(m, N, cond, noise, showers) != HD_OK) {
        fprintf(stderr, "%s\n", hd_last_error());
        return 1;
    }
    double seconds = hd_now() - t0, ratio = 0;
    for (int i = 0; i < N; i++) {
        double e = 0;
        for (int64_t v = 0; v < nv; v++) e += showers[i * nv + v];
        ratio += e / cond[i] / N;
    }
    printf("%s model: %d showers of %lld voxels in %.1f ms; mean deposited fraction %.3f\n", hd_model_kind(m), N,
           (long long)nv, 1e3 * seconds, ratio);
    hd_model_free(m);
    free(cond);
    free(noise);
    free(showers);
    return 0;
}
