/* A generator-only graph for sampling, and sample grids. */
#include "gan_internal.h"
#include "hadron/metrics.h"

#include <string.h>

#define CHUNK 256

int hd_gan_sampler_build(hd_gan_sampler *s, int64_t latent)
{
    memset(s, 0, sizeof *s);
    s->latent = latent;
    s->g = hd_graph_new(0);
    if (!s->g) return HD_ENOMEM;
    s->z = hd_input(s->g, "z", 2, (int64_t[]){HD_BATCH, latent});
    s->out = hd_dcgan_generator(s->g, s->z, latent);
    if (!s->out) return HD_EINVAL;
    int rc = hd_graph_compile(s->g);
    hd_graph_set_training(s->g, 0);
    return rc;
}

void hd_gan_sampler_free(hd_gan_sampler *s)
{
    hd_graph_free(s->g);
    memset(s, 0, sizeof *s);
}

/* Every param and buffer of the sampler, by name, from the training graph. */
int hd_gan_sampler_copy(hd_gan_sampler *s, hd_graph *training)
{
    for (int i = 0; i < hd_graph_n_params(s->g); i++) {
        hd_node *dst = hd_graph_param(s->g, i), *src = hd_graph_find(training, hd_node_name(dst));
        if (!src) return hd_error(HD_ESTATE, "gan sampler: the training graph has no '%s'", hd_node_name(dst));
        hd_tensor *d = hd_node_value(dst);
        memcpy(d->data, hd_node_value(src)->data, (size_t)hd_tensor_numel(d) * sizeof(float));
    }
    return HD_OK;
}

int hd_gan_sampler_run(hd_gan_sampler *s, int64_t n, const float *z, float *images)
{
    int rc = HD_OK;
    for (int64_t first = 0; rc == HD_OK && first < n; first += CHUNK) {
        int64_t rows = n - first < CHUNK ? n - first : CHUNK;
        if (rows != hd_graph_batch(s->g) && (rc = hd_graph_set_batch(s->g, rows))) break;
        memcpy(hd_node_value(s->z)->data, z + first * s->latent, (size_t)(rows * s->latent) * sizeof(float));
        if ((rc = hd_graph_forward(s->g, s->out))) break;
        memcpy(images + first * HD_GAN_PIXELS, hd_node_value(s->out)->data, (size_t)(rows * HD_GAN_PIXELS) * sizeof(float));
    }
    return rc;
}

int hd_gan_grid(const char *path, int64_t n, const float *images, int cols)
{
    return hd_image_grid_png(path, n, HD_GAN_SIDE, HD_GAN_SIDE, images,
                             &(hd_image_grid_opts){.cols = cols, .lo = -1.0f, .hi = 1.0f, .zoom = 3});
}
