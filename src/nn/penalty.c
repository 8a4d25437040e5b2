/* Gradient penalties: a norm of the critic's gradient with respect to its
 * input, as graph nodes (hd_grad), so that the critic's own gradient
 * includes the penalty's exactly. */
#include "hadron/nn.h"

hd_node *hd_gradient_penalty(hd_graph *g, hd_node *d, hd_node *x, float center)
{
    hd_node *norm = hd_row_norm(g, hd_grad(g, d, x), NULL);
    if (center != 0.0f) norm = hd_add_scalar(g, norm, -center);
    return hd_mean(g, hd_square(g, norm), HD_AXIS_ALL);
}
