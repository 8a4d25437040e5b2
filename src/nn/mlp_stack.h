/* The layer loop shared by the MLP builders (nn/layers.c, nn/bayes.c). */
#ifndef HD_MLP_STACK_H
#define HD_MLP_STACK_H

#include "hadron/nn.h"

/* Builds one layer named `name` from in to out features and applies it to x. */
typedef hd_node *(*hd_mlp_layer_fn)(hd_graph *g, const char *name, int64_t in, int64_t out, hd_node *x, void *ctx);

/* spec's hidden layers with spec->act, then the output layer with
 * spec->out_act; layer i is named "<prefix>.<kind><i>".  NULL on error. */
hd_node *hd_mlp_stack(hd_graph *g, const hd_mlp_spec *spec, const char *prefix, const char *kind, hd_node *x,
                      hd_mlp_layer_fn layer, void *ctx);

#endif
