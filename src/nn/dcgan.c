/* The generator of seed 002's DCGAN (a Keras model) in a hadron graph: what
 * hadron gan trains and hd_model_load builds from a "dcgan" checkpoint.
 * Keras's defaults where they differ from PyTorch's: LeakyReLU slope 0.3,
 * batch norm momentum 0.01 (Keras 0.99) and eps 1e-3, Glorot-uniform weights
 * and zero biases (docs/gan.md says why this matters).  The 7 x 7 x 256
 * reshape is NCHW here: the dense units are only relabelled. */
#include "hadron/nn.h"

#define SLOPE 0.3f

static hd_node *bn_leaky(hd_graph *g, const char *name, int64_t features, hd_node *x)
{
    hd_batch_norm_layer bn;
    if (!x || hd_batch_norm_init(g, &bn, name, features, 1) != HD_OK) return NULL;
    bn.momentum = 0.01f;
    bn.eps = 1e-3f;
    return hd_leaky_relu(g, hd_batch_norm_apply(g, &bn, x), SLOPE);
}

static hd_node *up(hd_graph *g, const char *name, int64_t in, int64_t out, int stride, hd_node *x)
{
    hd_conv2d_layer c;
    if (!x || hd_conv2d_init(g, &c, name,
            &(hd_conv2d_opts){.in = in, .out = out, .kernel = 5, .stride = stride,
                              .pad = HD_PAD_SAME, .transposed = 1}) != HD_OK ||
        hd_conv2d_keras_init(g, &c) != HD_OK)
        return NULL;
    return hd_conv2d_apply(g, &c, x);
}

hd_node *hd_dcgan_generator(hd_graph *g, hd_node *z, int64_t latent)
{
    hd_dense_layer dense;
    if (hd_dense_init(g, &dense, "gen.dense", latent, 7 * 7 * 256, 0) != HD_OK ||
        hd_dense_keras_init(g, &dense) != HD_OK)
        return NULL;
    hd_node *x = bn_leaky(g, "gen.bn0", 7 * 7 * 256, hd_dense_apply(g, &dense, z));
    x = hd_reshape(g, x, 4, (int64_t[]){HD_BATCH, 256, 7, 7});
    x = bn_leaky(g, "gen.bn1", 128, up(g, "gen.up1", 256, 128, 1, x));
    x = bn_leaky(g, "gen.bn2", 64, up(g, "gen.up2", 128, 64, 2, x));
    return hd_tanh(g, up(g, "gen.up3", 64, 1, 2, x));
}
