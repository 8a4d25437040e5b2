/* Helpers shared by the op files. */
#ifndef HD_OPS_COMMON_H
#define HD_OPS_COMMON_H

#include "../graph_internal.h"

#include <string.h>

#define HD_PAR_MIN 32768 /* elements below which a loop stays on one thread */

/* For ops whose gradient is zero by definition (stop_grad, ones_like). */
void hd_no_backward(hd_graph *g, hd_node *n);
int hd_zero_vjp(hd_graph *g, hd_node *n, int i, hd_node *gy, hd_node **gx);

/* n rounded up to 16 floats: 64-byte aligned offsets in an aux buffer. */
static inline int64_t pad16(int64_t n) { return (n + 15) / 16 * 16; }

static inline int64_t numel_of(const hd_node *n) { return hd_tensor_numel(&n->val); }

/* Output shape = input shape (unary ops). */
static inline int shape_same(hd_node *n)
{
    n->ndim = n->in[0]->ndim;
    memcpy(n->shape, n->in[0]->shape, sizeof n->shape);
    return HD_OK;
}

static inline int same_shape(const hd_node *a, const hd_node *b)
{
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return 0;
    return 1;
}

/* Product of concrete dims [from, to). */
static inline int64_t dims_prod(const hd_tensor *t, int from, int to)
{
    int64_t p = 1;
    for (int i = from; i < to; i++) p *= t->shape[i];
    return p;
}

#endif
