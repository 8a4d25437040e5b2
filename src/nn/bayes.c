/* Bayesian dense layers: every weight a Gaussian N(mean, e^logvar), the
 * biases deterministic.  Each forward pass draws the weights by the
 * reparameterisation trick (gauss_sample), so gradients reach mean and
 * log-variance; setting the graph step back repeats a draw. */
#include "mlp_stack.h"

#include <stdio.h>

/* Weights start as PyTorch's Linear (U(+-1/sqrt(fan_in))) with a tiny width,
 * e^-9: the network first trains as a deterministic one and the KL term
 * widens the weights it does not need. */
#define HD_BAYES_LOGVAR_INIT (-9.0f)

int hd_bayes_dense_init(hd_graph *g, hd_bayes_dense_layer *layer, const char *name, int64_t in, int64_t out,
                        float prior_std)
{
    if (!(prior_std > 0.0f)) return hd_error(HD_EINVAL, "%s: prior width %g is not positive", name, (double)prior_std);
    char key[256];
    hd_init fan_in = {HD_INIT_FAN_IN, (float)in};
    int64_t shape[2] = {out, in};
    layer->in = in;
    layer->out = out;
    layer->prior_std = prior_std;
    snprintf(key, sizeof key, "%s.weight_mean", name);
    layer->mean = hd_param(g, key, 2, shape, fan_in);
    snprintf(key, sizeof key, "%s.weight_logvar", name);
    layer->logvar = hd_param(g, key, 2, shape, (hd_init){HD_INIT_CONST, HD_BAYES_LOGVAR_INIT});
    snprintf(key, sizeof key, "%s.bias", name);
    layer->bias = hd_param(g, key, 1, &shape[0], fan_in);
    return layer->mean && layer->logvar && layer->bias ? HD_OK : HD_EINVAL;
}

hd_node *hd_bayes_dense_apply(hd_graph *g, const hd_bayes_dense_layer *layer, hd_node *x)
{
    return hd_linear(g, x, hd_gauss_sample(g, layer->mean, layer->logvar), layer->bias);
}

hd_node *hd_bayes_dense_kl(hd_graph *g, const hd_bayes_dense_layer *layer)
{
    return hd_gauss_kl(g, layer->mean, layer->logvar, layer->prior_std);
}

typedef struct { float prior_std; hd_node *kl; } bayes_ctx;

static hd_node *bayes_layer(hd_graph *g, const char *name, int64_t in, int64_t out, hd_node *x, void *ctx)
{
    bayes_ctx *c = ctx;
    hd_bayes_dense_layer layer;
    if (hd_bayes_dense_init(g, &layer, name, in, out, c->prior_std) != HD_OK) return NULL;
    hd_node *kl = hd_bayes_dense_kl(g, &layer);
    c->kl = c->kl ? hd_add(g, c->kl, kl) : kl;
    return hd_bayes_dense_apply(g, &layer, x);
}

hd_node *hd_bayes_mlp(hd_graph *g, const hd_mlp_spec *spec, const char *prefix, float prior_std, hd_node *x,
                      hd_node **kl)
{
    bayes_ctx c = {prior_std, NULL};
    hd_node *y = hd_mlp_stack(g, spec, prefix, "bayes", x, bayes_layer, &c);
    *kl = c.kl;
    return y && c.kl ? y : NULL;
}
