/* The inference model's parts, for the files that read them (model.c,
 * export_c.c). */
#ifndef HD_NN_MODEL_INTERNAL_H
#define HD_NN_MODEL_INTERNAL_H

#include "hadron/nn.h"
#include "nn/generator_internal.h"
#include "nn/row.h"

/* How a raw input becomes network features: as is, its log, or the point
 * (cos x, sin x) on the circle for an angle (two features). */
typedef enum { TF_NONE, TF_LOG, TF_CYCLIC } transform;

struct hd_model {
    hd_graph *g;
    hd_node *x, *y;
    int64_t n_raw, n_in, n_out; /* raw inputs, network features, outputs */
    transform tf[HD_MODEL_MAX_INPUTS];
    float mean[HD_MODEL_MAX_INPUTS], inv_std[HD_MODEL_MAX_INPUTS]; /* per feature */
    hd_mlp_spec spec;           /* the network: layers "<prefix>.dense<i>" */
    hd_activation out_act;      /* after the last layer (the spec's own is none) */
    char prefix[64];
    /* the layers again, for hd_model_run: widths (features, hidden..., outputs),
     * each layer's weights transposed to [in][out] and its bias */
    int n_layers;
    int64_t width[HD_MLP_MAX_LAYERS + 2];
    float *wt[HD_MLP_MAX_LAYERS + 1];
    const float *bias[HD_MLP_MAX_LAYERS + 1];
    /* after out_act, y = out_shift + out_scale * y per output (NULL: none) */
    float *out_scale, *out_shift;
    /* a Bayesian network (model "bayes_mlp"): no graph; the weights above
     * are the means, the log-variances beside them ([in][out] too), and
     * the biases are owned (bias_owned) */
    float *wt_logvar[HD_MLP_MAX_LAYERS + 1];
    float *bias_owned[HD_MLP_MAX_LAYERS + 1];
    hd_model_ctx *own; /* hd_model_predict's context when there is no graph */
    hd_generator *gen;          /* a generator checkpoint instead of an MLP */
    /* a generator's file as parsed, from which each context builds its own generator */
    hd_safetensors *gen_st;
    char gen_path[4096];
};

/* Reads a "bayes_mlp" checkpoint (hadron bnn) into m: the mean network's
 * layers, the log-variances, the momentum scaling and the output affine
 * back to log amplitude. */
int hd_model_build_bayes(const char *path, const hd_safetensors *st, hd_model *m);
/* One row through layers whose weights are w[i] ([in][out]) and biases b[i]:
 * features, hidden activations, out_act and the output affine; a and h are
 * scratch of the widest layer. */
void hd_model_row(const hd_model *m, float *const *w, const float *const *b, const float *raw, float *y, float *a,
                  float *h);

/* Prefixes the pending message with the file name (copied first: the
 * message buffer is also the destination); returns rc. */
int hd_model_with_path(int rc, const char *path);

/* The widest of the features and the layers: a row buffer's length. */
int64_t hd_model_widest(const hd_model *m);

/* Features of one raw row, transformed and scaled. */
void hd_model_features(const hd_model *m, const float *raw, float *out);

#endif
