/* Embedding a trained surrogate in a simulation: load the model once, then
 * ask for the tracking efficiency of particles in batches.
 *
 *   hadron sim tracking --out hist.npz && hadron surrogate --input hist.npz --out sur
 *   cc efficiency.c $(pkg-config --cflags --libs hadron) -o efficiency
 *   ./efficiency sur/model.safetensors
 *
 * A C++ simulation does the same through the C API (the headers are
 * extern "C"): keep one hd_model per thread, fill a batch of (eta, pT [MeV],
 * phi) rows, call hd_model_predict, and use each efficiency as the
 * probability to keep the particle's track. */
#include <hadron/hadron.h>
#include <math.h>
#include <stdio.h>

enum { BATCH = 4096, ROUNDS = 50 };

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODEL.safetensors\n", argv[0]);
        return 2;
    }
    hd_model *model;
    if (hd_model_load(argv[1], &model) != HD_OK) {
        fprintf(stderr, "%s\n", hd_last_error());
        return 1;
    }
    static float x[BATCH * 3], eff[BATCH];
    hd_rng rng;
    hd_rng_init(&rng, 1, HD_STREAM_USER);
    for (int i = 0; i < BATCH; i++) { /* particles in the acceptance */
        x[3 * i] = 2.0f + 3.0f * hd_rng_uniform(&rng);                  /* eta */
        x[3 * i + 1] = 10.0f * powf(1000.0f, hd_rng_uniform(&rng)); /* pT, 10 MeV..10 GeV */
        x[3 * i + 2] = 6.2831853f * hd_rng_uniform(&rng);                /* phi */
    }
    double t0 = hd_now();
    for (int r = 0; r < ROUNDS; r++)
        if (hd_model_predict(model, BATCH, x, eff) != HD_OK) {
            fprintf(stderr, "%s\n", hd_last_error());
            return 1;
        }
    double per_particle = (hd_now() - t0) / ((double)BATCH * ROUNDS);
    double mean = 0;
    for (int i = 0; i < BATCH; i++) mean += eff[i];
    printf("eta %.2f  pT %7.1f MeV  phi %.2f  ->  efficiency %.3f\n", (double)x[0], (double)x[1], (double)x[2],
           (double)eff[0]);
    printf("mean efficiency of %d particles: %.3f\n", BATCH, mean / BATCH);
    printf("%.1f ns per particle in batches of %d\n", per_particle * 1e9, BATCH);
    hd_model_free(model);
    return 0;
}
