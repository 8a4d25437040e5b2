/* Convolutions on NCHW float32 tensors: the ops conv2d, its adjoint
 * conv_transpose2d, and conv_dw (the weight gradient as a node of its own);
 * their kernels are in conv_kernels.c.
 *
 * The ops share one geometry (conv_kernels.h): an "image" side (C channels,
 * H x W) and a "grid" side (G channels, OH x OW positions), linked by a
 * kernel kh x kw, strides and a top/left padding.  conv2d reads the image
 * (x) and writes the grid (y); conv_transpose2d is its adjoint: it reads the
 * grid (x) and writes the image (y), so its 'same' output is exactly
 * TensorFlow's gradient of a 'same' conv2d (see docs/conv.md).  Both
 * weights are w [G, C, kh, kw].  All scratch lives in the node's aux buffer. */
#include "conv_kernels.h"
#include "ops_common.h"

/* ---- shape rules ------------------------------------------------------------ */

/* n->ip: strides, hd_padding, top/left padding, and the output size when
 * the padding is PAD_EXPLICIT (the nodes of gradients, hd_conv_to_grid and
 * hd_conv_to_image: the geometry copied from another conv node).  conv_dw
 * keeps its kernel size in IP_OH, IP_OW. */
enum { IP_SH, IP_SW, IP_PAD, IP_PT, IP_PL, IP_OH, IP_OW };
#define PAD_EXPLICIT 2

static int check_conv_inputs(hd_node *n, int64_t w_out_dim)
{
    const hd_node *x = n->in[0], *w = n->in[1];
    if (x->ndim != 4 || w->ndim != 4) return hd_shape_error2(n, x, w, "must both be 4-D (x [B,C,H,W], w [.,.,kh,kw])");
    for (int i = 1; i < 4; i++)
        if (x->shape[i] == HD_BATCH) return hd_shape_error1(n, x, "has HD_BATCH outside dim 0");
    for (int i = 0; i < 4; i++)
        if (w->shape[i] == HD_BATCH) return hd_shape_error2(n, x, w, "do not match: the weight cannot be batched");
    if (n->ip[IP_SH] < 1 || n->ip[IP_SW] < 1)
        return hd_error(HD_EINVAL, "%s: strides %lld x %lld must be >= 1", hd_ops[n->op]->name,
                        (long long)n->ip[IP_SH], (long long)n->ip[IP_SW]);
    if (n->ip[IP_PAD] != HD_PAD_VALID && n->ip[IP_PAD] != HD_PAD_SAME && n->ip[IP_PAD] != PAD_EXPLICIT)
        return hd_error(HD_EINVAL, "%s: padding %lld is neither HD_PAD_VALID nor HD_PAD_SAME", hd_ops[n->op]->name,
                        (long long)n->ip[IP_PAD]);
    if (n->n_in == 3) {
        const hd_node *b = n->in[2];
        if (b->ndim != 1 || b->shape[0] != w->shape[w_out_dim])
            return hd_shape_error2(n, w, b, "do not match (output channels of w vs bias)");
    }
    return HD_OK;
}

/* Output size and leading padding of a conv2d along one axis. */
static int conv_axis(hd_node *n, int64_t in, int64_t k, int64_t s, int64_t *out, int64_t *pad)
{
    if (n->ip[IP_PAD] == HD_PAD_SAME) { /* TensorFlow: out = ceil(in / s), extra padding at the end */
        *out = (in + s - 1) / s;
        int64_t total = (*out - 1) * s + k - in;
        *pad = total > 0 ? total / 2 : 0;
        return HD_OK;
    }
    if (in < k) return HD_ESHAPE;
    *out = (in - k) / s + 1;
    *pad = 0;
    return HD_OK;
}

/* [B, channels, OH, OW] as given (the geometry was checked on the node it was copied from). */
static int explicit_shape(hd_node *n, int64_t channels)
{
    n->ndim = 4;
    n->shape[0] = n->in[0]->shape[0];
    n->shape[1] = channels;
    n->shape[2] = n->ip[IP_OH];
    n->shape[3] = n->ip[IP_OW];
    return HD_OK;
}

static int shape_conv2d(hd_node *n)
{
    int rc = check_conv_inputs(n, 0);
    if (rc != HD_OK) return rc;
    const hd_node *x = n->in[0], *w = n->in[1];
    if (x->shape[1] != w->shape[1])
        return hd_shape_error2(n, x, w, "do not match (input channels of x vs w [Co,Ci,kh,kw])");
    if (n->ip[IP_PAD] == PAD_EXPLICIT) return explicit_shape(n, w->shape[0]);
    int64_t oh, ow, pt, pl;
    if (conv_axis(n, x->shape[2], w->shape[2], n->ip[IP_SH], &oh, &pt) != HD_OK ||
        conv_axis(n, x->shape[3], w->shape[3], n->ip[IP_SW], &ow, &pl) != HD_OK)
        return hd_shape_error2(n, x, w, "do not fit: the kernel is larger than the image ('valid' padding)");
    n->ip[IP_PT] = pt;
    n->ip[IP_PL] = pl;
    n->ndim = 4;
    n->shape[0] = x->shape[0];
    n->shape[1] = w->shape[0];
    n->shape[2] = oh;
    n->shape[3] = ow;
    return HD_OK;
}

/* conv_transpose2d: the output size is H s ('same', Keras) or (H-1) s + k
 * ('valid'); the leading crop is the padding of the conv2d it is the adjoint of. */
static int shape_conv_transpose2d(hd_node *n)
{
    int rc = check_conv_inputs(n, 1);
    if (rc != HD_OK) return rc;
    const hd_node *x = n->in[0], *w = n->in[1];
    if (x->shape[1] != w->shape[0])
        return hd_shape_error2(n, x, w, "do not match (input channels of x vs w [Ci,Co,kh,kw])");
    if (n->ip[IP_PAD] == PAD_EXPLICIT) return explicit_shape(n, w->shape[1]);
    int64_t sz[2];
    for (int a = 0; a < 2; a++) {
        int64_t in = x->shape[2 + a], k = w->shape[2 + a], s = n->ip[IP_SH + a], out = 0, pad = 0;
        sz[a] = n->ip[IP_PAD] == HD_PAD_SAME ? in * s : (in - 1) * s + k;
        conv_axis(n, sz[a], k, s, &out, &pad); /* always fits; out == in */
        n->ip[IP_PT + a] = pad;
    }
    n->ndim = 4;
    n->shape[0] = x->shape[0];
    n->shape[1] = w->shape[1];
    n->shape[2] = sz[0];
    n->shape[3] = sz[1];
    return HD_OK;
}

/* ---- concrete geometry ----------------------------------------------------------- */

/* img: the image-side tensor, grid: the grid-side tensor, w: the weight [G, C, kh, kw]. */
static hd_conv_geom geom_of(const hd_node *n, const hd_tensor *img, const hd_tensor *grid, const hd_tensor *w)
{
    return (hd_conv_geom){.c = img->shape[1], .h = img->shape[2], .w = img->shape[3], .g = grid->shape[1],
                          .oh = grid->shape[2], .ow = grid->shape[3], .kh = w->shape[2], .kw = w->shape[3],
                          .sh = n->ip[IP_SH], .sw = n->ip[IP_SW], .pt = n->ip[IP_PT], .pl = n->ip[IP_PL]};
}

static float *grad_or_null(hd_node *n) { return n->needs_grad ? n->grad.data : NULL; }

/* ---- conv2d: x is the image, y the grid --------------------------------------- */

static hd_conv_geom conv2d_geom(const hd_node *n) { return geom_of(n, &n->in[0]->val, &n->val, &n->in[1]->val); }

static int64_t conv2d_aux(const hd_node *n)
{
    hd_conv_geom g = conv2d_geom(n);
    return hd_conv_aux_floats(&g, n->val.shape[0]);
}

static void conv2d_fwd(hd_graph *gr, hd_node *n)
{
    (void)gr;
    const hd_conv_geom g = conv2d_geom(n);
    const float *bias = n->n_in == 3 ? n->in[2]->val.data : NULL;
    hd_conv_fwd_grid(&g, n->val.shape[0], n->in[0]->val.data, n->in[1]->val.data, bias, n->val.data, n->aux);
}

static void conv2d_bwd(hd_graph *gr, hd_node *n)
{
    (void)gr;
    hd_node *xn = n->in[0], *wn = n->in[1], *bn = n->n_in == 3 ? n->in[2] : NULL;
    const hd_conv_geom g = conv2d_geom(n);
    const int64_t B = n->val.shape[0];
    if (bn && bn->needs_grad) hd_conv_bias_grad(n->grad.data, B, g.g, g.oh * g.ow, bn->grad.data);
    hd_conv_bwd_grid(&g, B, xn->val.data, wn->val.data, n->grad.data, grad_or_null(xn), grad_or_null(wn), n->aux);
}

/* The gradient of the bias: gy summed over the batch and the positions. */
static hd_node *bias_sum(hd_graph *g, hd_node *gy) { return hd_sum(g, hd_sum(g, hd_sum(g, gy, 3), 2), 0); }

static int conv2d_vjp(hd_graph *g, hd_node *n, int i, hd_node *gy, hd_node **gx)
{
    *gx = i == 0   ? hd_conv_to_image(g, n, gy, n->in[1])
          : i == 1 ? hd_conv_dw(g, n, n->in[0], gy)
                   : bias_sum(g, gy);
    return *gx ? HD_OK : HD_EINVAL;
}

const hd_op hd_op_conv2d = {"conv2d", shape_conv2d, conv2d_fwd, conv2d_bwd, conv2d_aux, conv2d_vjp};

static hd_node *conv_node(hd_graph *g, int op, hd_node *x, hd_node *w, hd_node *b, int sh, int sw, hd_padding pad)
{
    if (pad != HD_PAD_VALID && pad != HD_PAD_SAME) {
        hd_error(HD_EINVAL, "%s: padding %d is neither HD_PAD_VALID nor HD_PAD_SAME", hd_ops[op]->name, (int)pad);
        return NULL;
    }
    hd_node *in[3] = {x, w, b};
    hd_op_args args = {.i = {[IP_SH] = sh, [IP_SW] = sw, [IP_PAD] = pad}};
    return hd_node_add(g, op, b ? 3 : 2, in, &args);
}

hd_node *hd_conv2d(hd_graph *g, hd_node *x, hd_node *w, hd_node *b, int stride_h, int stride_w, hd_padding pad)
{
    return conv_node(g, HD_OP_CONV2D, x, w, b, stride_h, stride_w, pad);
}

/* ---- conv_transpose2d: y is the image, x the grid -------------------------------- */

static hd_conv_geom convt_geom(const hd_node *n) { return geom_of(n, &n->val, &n->in[0]->val, &n->in[1]->val); }

static int64_t convt_aux(const hd_node *n)
{
    hd_conv_geom g = convt_geom(n);
    return hd_conv_aux_floats(&g, n->val.shape[0]);
}

static void convt_fwd(hd_graph *gr, hd_node *n)
{
    (void)gr;
    const hd_conv_geom g = convt_geom(n);
    const float *bias = n->n_in == 3 ? n->in[2]->val.data : NULL;
    hd_conv_fwd_image(&g, n->val.shape[0], n->in[0]->val.data, n->in[1]->val.data, bias, n->val.data, n->aux);
}

static void convt_bwd(hd_graph *gr, hd_node *n)
{
    (void)gr;
    hd_node *xn = n->in[0], *wn = n->in[1], *bn = n->n_in == 3 ? n->in[2] : NULL;
    const hd_conv_geom g = convt_geom(n);
    const int64_t B = n->val.shape[0];
    if (bn && bn->needs_grad) hd_conv_bias_grad(n->grad.data, B, g.c, g.h * g.w, bn->grad.data);
    hd_conv_bwd_image(&g, B, xn->val.data, wn->val.data, n->grad.data, grad_or_null(xn), grad_or_null(wn), n->aux);
}

static int convt_vjp(hd_graph *g, hd_node *n, int i, hd_node *gy, hd_node **gx)
{
    *gx = i == 0   ? hd_conv_to_grid(g, n, gy, n->in[1])
          : i == 1 ? hd_conv_dw(g, n, gy, n->in[0])
                   : bias_sum(g, gy);
    return *gx ? HD_OK : HD_EINVAL;
}

const hd_op hd_op_conv_transpose2d = {"conv_transpose2d", shape_conv_transpose2d, convt_fwd, convt_bwd, convt_aux,
                                      convt_vjp};

hd_node *hd_conv_transpose2d(hd_graph *g, hd_node *x, hd_node *w, hd_node *b, int stride_h, int stride_w,
                             hd_padding pad)
{
    return conv_node(g, HD_OP_CONV_TRANSPOSE2D, x, w, b, stride_h, stride_w, pad);
}

/* ---- conv_dw: the weight gradient of image and grid, a node of its own ----------------- */

static int shape_conv_dw(hd_node *n)
{
    const hd_node *img = n->in[0], *grid = n->in[1];
    if (img->ndim != 4 || grid->ndim != 4 || img->shape[0] != grid->shape[0])
        return hd_shape_error2(n, img, grid, "must be 4-D images and grids of one batch");
    n->ndim = 4;
    n->shape[0] = grid->shape[1];
    n->shape[1] = img->shape[1];
    n->shape[2] = n->ip[IP_OH];
    n->shape[3] = n->ip[IP_OW];
    return HD_OK;
}

static hd_conv_geom conv_dw_geom(const hd_node *n) { return geom_of(n, &n->in[0]->val, &n->in[1]->val, &n->val); }

static int64_t conv_dw_aux(const hd_node *n)
{
    hd_conv_geom g = conv_dw_geom(n);
    return hd_conv_aux_floats(&g, n->in[0]->val.shape[0]);
}

static void conv_dw_fwd(hd_graph *gr, hd_node *n)
{
    (void)gr;
    const hd_conv_geom g = conv_dw_geom(n);
    hd_conv_fwd_dw(&g, n->in[0]->val.shape[0], n->in[0]->val.data, n->in[1]->val.data, n->val.data, n->aux);
}

/* With V = dL/d(dw): d grid += conv2d(img, V), d img += conv_transpose2d(grid, V). */
static void conv_dw_bwd(hd_graph *gr, hd_node *n)
{
    (void)gr;
    hd_node *in = n->in[0], *gn = n->in[1];
    const hd_conv_geom g = conv_dw_geom(n);
    hd_conv_bwd_dw(&g, in->val.shape[0], in->val.data, gn->val.data, n->grad.data, grad_or_null(in), grad_or_null(gn),
                   n->aux);
}

static int conv_dw_vjp(hd_graph *g, hd_node *n, int i, hd_node *gy, hd_node **gx)
{
    *gx = i == 0 ? hd_conv_to_image(g, n, n->in[1], gy) : hd_conv_to_grid(g, n, n->in[0], gy);
    return *gx ? HD_OK : HD_EINVAL;
}

const hd_op hd_op_conv_dw = {"conv_dw", shape_conv_dw, conv_dw_fwd, conv_dw_bwd, conv_dw_aux, conv_dw_vjp};

/* ---- the nodes of conv gradients: another conv node's geometry ------------------------- */

/* The image and grid sides of c: conv2d reads the image, conv_transpose2d
 * writes it, conv_dw reads both. */
static void sides(const hd_node *c, const hd_node **img, const hd_node **grid)
{
    *img = c->op == HD_OP_CONV_TRANSPOSE2D ? c : c->in[0];
    *grid = c->op == HD_OP_CONV2D ? c : c->op == HD_OP_CONV_TRANSPOSE2D ? c->in[0] : c->in[1];
}

static hd_op_args geometry_of(const hd_node *c, int64_t oh, int64_t ow)
{
    return (hd_op_args){.i = {[IP_SH] = c->ip[IP_SH], [IP_SW] = c->ip[IP_SW], [IP_PAD] = PAD_EXPLICIT,
                              [IP_PT] = c->ip[IP_PT], [IP_PL] = c->ip[IP_PL], [IP_OH] = oh, [IP_OW] = ow}};
}

/* A conv2d (to the grid) or conv_transpose2d (to the image) of a and w with c's geometry. */
static hd_node *with_geometry(hd_graph *g, const hd_node *c, int op, hd_node *a, hd_node *w)
{
    const hd_node *img, *grid;
    sides(c, &img, &grid);
    const hd_node *out = op == HD_OP_CONV2D ? grid : img;
    hd_op_args args = geometry_of(c, out->shape[2], out->shape[3]);
    hd_node *in[2] = {a, w};
    return hd_node_add(g, op, 2, in, &args);
}

hd_node *hd_conv_to_grid(hd_graph *g, const hd_node *c, hd_node *img, hd_node *w)
{
    return with_geometry(g, c, HD_OP_CONV2D, img, w);
}

hd_node *hd_conv_to_image(hd_graph *g, const hd_node *c, hd_node *grid, hd_node *w)
{
    return with_geometry(g, c, HD_OP_CONV_TRANSPOSE2D, grid, w);
}

hd_node *hd_conv_dw(hd_graph *g, const hd_node *c, hd_node *img, hd_node *grid)
{
    int64_t kh = c->op == HD_OP_CONV_DW ? c->ip[IP_OH] : c->in[1]->shape[2];
    int64_t kw = c->op == HD_OP_CONV_DW ? c->ip[IP_OW] : c->in[1]->shape[3];
    hd_op_args args = geometry_of(c, kh, kw);
    hd_node *in[2] = {img, grid};
    return hd_node_add(g, HD_OP_CONV_DW, 2, in, &args);
}
