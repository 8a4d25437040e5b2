/* Bayesian dense layers: every weight a Gaussian N(mean, e^logvar), the
 * biases deterministic.  Each forward pass draws the weights by the
 * reparameterisation trick (gauss_sample), so gradients reach mean and
 * log-variance; setting the graph step back repeats a draw. */
#include "hadron/nn.h"

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

hd_node *hd_bayes_mlp(hd_graph *g, const hd_mlp_spec *spec, const char *prefix, float prior_std, hd_node *x,
                      hd_node **kl)
{
    if (spec->n_hidden < 0 || spec->n_hidden > HD_MLP_MAX_LAYERS) {
        hd_error(HD_EINVAL, "bayes mlp: %d hidden layers, at most %d", spec->n_hidden, HD_MLP_MAX_LAYERS);
        return NULL;
    }
    int64_t in = spec->n_in;
    *kl = NULL;
    for (int i = 0; i <= spec->n_hidden && x; i++) {
        int last = i == spec->n_hidden;
        int64_t out = last ? spec->n_out : spec->hidden[i];
        char name[128];
        hd_bayes_dense_layer layer;
        snprintf(name, sizeof name, "%s.bayes%d", prefix, i);
        if (hd_bayes_dense_init(g, &layer, name, in, out, prior_std) != HD_OK) return NULL;
        x = hd_activate(g, hd_bayes_dense_apply(g, &layer, x), last ? spec->out_act : spec->act);
        hd_node *k = hd_bayes_dense_kl(g, &layer);
        *kl = *kl ? hd_add(g, *kl, k) : k;
        in = out;
    }
    return *kl ? x : NULL;
}
