/* hadron gan sample: the seed's latent-space exploration and interpolation
 * strips from a trained generator. */
#include "gan_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define STREAM_EXPLORE (HD_STREAM_USER + 3)
#define STREAM_INTERP (HD_STREAM_USER + 4)

hd_gan_sample_opts hd_gan_sample_opts_default(void)
{
    return (hd_gan_sample_opts){.seed = 1, .n = 10, .scale_means = 1, .scale_stds = 1, .interp_steps = 10,
                                .interp_rows = 4};
}

/* z_ij = scale_means m_j + scale_stds s_j eps_ij with m = s = linspace(-1, 1)
 * over the latent dimensions j (the seed's generate_latent_points). */
static void explore_latent(const hd_gan_sample_opts *o, int64_t count, int64_t latent, float *z)
{
    hd_rng rng;
    hd_rng_init(&rng, o->seed, STREAM_EXPLORE);
    hd_rng_fill_normal(&rng, z, count * latent, 0.0f, 1.0f);
    for (int64_t i = 0; i < count; i++)
        for (int64_t j = 0; j < latent; j++) {
            double m = latent > 1 ? -1.0 + 2.0 * (double)j / (double)(latent - 1) : 0.0;
            z[i * latent + j] = (float)(o->scale_means * m + o->scale_stds * m * z[i * latent + j]);
        }
}

/* Point t in [0, 1] between a and b: linear, or along the great circle
 * (slerp, as for Gaussian latent points; linear when a and b are parallel). */
static void interpolate(const float *a, const float *b, int64_t d, double t, int spherical, float *out)
{
    double wa = 1 - t, wb = t;
    if (spherical) {
        double ab = 0, aa = 0, bb = 0;
        for (int64_t j = 0; j < d; j++) {
            ab += (double)a[j] * b[j];
            aa += (double)a[j] * a[j];
            bb += (double)b[j] * b[j];
        }
        double c = aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 1.0;
        double omega = acos(c < -1 ? -1 : c > 1 ? 1 : c), s = sin(omega);
        if (s > 1e-6) {
            wa = sin((1 - t) * omega) / s;
            wb = sin(t * omega) / s;
        }
    }
    for (int64_t j = 0; j < d; j++) out[j] = (float)(wa * a[j] + wb * b[j]);
}

static void interp_latent(const hd_gan_sample_opts *o, int64_t latent, int spherical, float *z)
{
    float *ends = z + (int64_t)o->interp_rows * o->interp_steps * latent; /* scratch after z */
    hd_rng rng;
    hd_rng_init(&rng, o->seed, STREAM_INTERP);
    hd_rng_fill_normal(&rng, ends, 2 * (int64_t)o->interp_rows * latent, 0.0f, 1.0f);
    for (int r = 0; r < o->interp_rows; r++)
        for (int k = 0; k < o->interp_steps; k++) {
            double t = o->interp_steps > 1 ? (double)k / (o->interp_steps - 1) : 0.0;
            interpolate(ends + 2 * r * latent, ends + (2 * r + 1) * latent, latent, t, spherical,
                        z + ((int64_t)r * o->interp_steps + k) * latent);
        }
}

static int save_npy(const char *path, int64_t n, const float *images)
{
    hd_array a = {.dtype = HD_F32, .ndim = 3, .shape = {n, HD_GAN_SIDE, HD_GAN_SIDE}, .data = (void *)images};
    return hd_npy_write(path, &a);
}

int hd_gan_sample_check(const hd_gan_sample_opts *o)
{
    if (!o->checkpoint || !o->out_dir) return hd_error(HD_EINVAL, "gan sample: a checkpoint and an output directory are needed");
    if (o->n < 1 || o->n > 64 || o->interp_steps < 2 || o->interp_steps > 64 || o->interp_rows < 1 ||
        o->interp_rows > 64 || !isfinite(o->scale_means) || !isfinite(o->scale_stds))
        return hd_error(HD_EINVAL, "gan sample: grid side 1..64, interpolation steps 2..64 and rows 1..64, finite scales");
    return HD_OK;
}

int hd_gan_sample(const hd_gan_sample_opts *o)
{
    int rc = hd_gan_sample_check(o);
    if (rc != HD_OK) return rc;
    int64_t latent;
    if ((rc = hd_gan_checkpoint_latent(o->checkpoint, &latent)) != HD_OK) return rc;
    hd_gan_sampler s = {0};
    int64_t n_grid = (int64_t)o->n * o->n, n_interp = (int64_t)o->interp_rows * o->interp_steps;
    int64_t n_max = n_grid > n_interp ? n_grid : n_interp;
    float *z = hd_malloc((size_t)((n_max + 2 * o->interp_rows) * latent) * sizeof(float));
    float *img = hd_malloc((size_t)(n_max * HD_GAN_PIXELS) * sizeof(float));
    char path[4096];
    rc = z && img ? hd_gan_sampler_build(&s, latent) : HD_ENOMEM;
    if (rc == HD_OK) rc = hd_checkpoint_load(s.g, o->checkpoint, HD_ALL);
    if (rc == HD_OK) {
        explore_latent(o, n_grid, latent, z);
        snprintf(path, sizeof path, "%s/grid.png", o->out_dir);
        if ((rc = hd_gan_sampler_run(&s, n_grid, z, img)) == HD_OK && (rc = hd_gan_grid(path, n_grid, img, o->n)) == HD_OK) {
            snprintf(path, sizeof path, "%s/samples.npy", o->out_dir);
            rc = save_npy(path, n_grid, img);
        }
    }
    for (int spherical = 0; rc == HD_OK && spherical <= 1; spherical++) {
        interp_latent(o, latent, spherical, z);
        snprintf(path, sizeof path, "%s/interp_%s.png", o->out_dir, spherical ? "slerp" : "linear");
        if ((rc = hd_gan_sampler_run(&s, n_interp, z, img)) == HD_OK) rc = hd_gan_grid(path, n_interp, img, o->interp_steps);
    }
    hd_gan_sampler_free(&s);
    hd_free(z);
    hd_free(img);
    return rc;
}
