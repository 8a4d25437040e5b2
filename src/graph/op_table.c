/* The op table: one entry per op, defined in graph/ops/<family>.c. */
#include "graph_internal.h"

extern const hd_op hd_op_input, hd_op_param, hd_op_matmul, hd_op_linear, hd_op_add, hd_op_sub, hd_op_mul,
    hd_op_div, hd_op_scale, hd_op_exp, hd_op_log, hd_op_square, hd_op_sqrt, hd_op_relu,
    hd_op_leaky_relu, hd_op_sigmoid, hd_op_tanh, hd_op_softplus, hd_op_log_sigmoid, hd_op_sum,
    hd_op_mean, hd_op_concat, hd_op_slice, hd_op_reshape, hd_op_stop_grad, hd_op_dropout, hd_op_gauss_sample,
    hd_op_mse, hd_op_bce_logits, hd_op_binomial_nll, hd_op_gaussian_nll, hd_op_gauss_kl,
    hd_op_softmax_ce,
    hd_op_conv2d, hd_op_conv_transpose2d, hd_op_max_pool2d, hd_op_batch_norm,
    hd_op_add_scalar, hd_op_rsqrt, hd_op_layer_norm, hd_op_row_norm,
    hd_op_safe_recip, hd_op_unary_grad, hd_op_sum_to, hd_op_expand, hd_op_pad, hd_op_ones_like,
    hd_op_conv_dw, hd_op_max_pool_grad;

const hd_op *const hd_ops[HD_OP_COUNT] = {
    [HD_OP_INPUT] = &hd_op_input,           [HD_OP_PARAM] = &hd_op_param,
    [HD_OP_MATMUL] = &hd_op_matmul,         [HD_OP_LINEAR] = &hd_op_linear,
    [HD_OP_ADD] = &hd_op_add,
    [HD_OP_SUB] = &hd_op_sub,               [HD_OP_MUL] = &hd_op_mul,
    [HD_OP_DIV] = &hd_op_div,               [HD_OP_SCALE] = &hd_op_scale,
    [HD_OP_EXP] = &hd_op_exp,               [HD_OP_LOG] = &hd_op_log,
    [HD_OP_SQUARE] = &hd_op_square,         [HD_OP_SQRT] = &hd_op_sqrt,
    [HD_OP_RELU] = &hd_op_relu,             [HD_OP_LEAKY_RELU] = &hd_op_leaky_relu,
    [HD_OP_SIGMOID] = &hd_op_sigmoid,       [HD_OP_TANH] = &hd_op_tanh,
    [HD_OP_SOFTPLUS] = &hd_op_softplus,     [HD_OP_LOG_SIGMOID] = &hd_op_log_sigmoid,
    [HD_OP_SUM] = &hd_op_sum,               [HD_OP_MEAN] = &hd_op_mean,
    [HD_OP_CONCAT] = &hd_op_concat,         [HD_OP_SLICE] = &hd_op_slice,
    [HD_OP_RESHAPE] = &hd_op_reshape,       [HD_OP_STOP_GRAD] = &hd_op_stop_grad,
    [HD_OP_DROPOUT] = &hd_op_dropout,       [HD_OP_MSE] = &hd_op_mse,
    [HD_OP_BCE_LOGITS] = &hd_op_bce_logits, [HD_OP_BINOMIAL_NLL] = &hd_op_binomial_nll,
    [HD_OP_GAUSSIAN_NLL] = &hd_op_gaussian_nll, [HD_OP_GAUSS_SAMPLE] = &hd_op_gauss_sample,
    [HD_OP_GAUSS_KL] = &hd_op_gauss_kl,
    [HD_OP_SOFTMAX_CE] = &hd_op_softmax_ce,
    [HD_OP_CONV2D] = &hd_op_conv2d,         [HD_OP_CONV_TRANSPOSE2D] = &hd_op_conv_transpose2d,
    [HD_OP_MAX_POOL2D] = &hd_op_max_pool2d, [HD_OP_BATCH_NORM] = &hd_op_batch_norm,
    [HD_OP_ADD_SCALAR] = &hd_op_add_scalar, [HD_OP_RSQRT] = &hd_op_rsqrt,
    [HD_OP_LAYER_NORM] = &hd_op_layer_norm, [HD_OP_ROW_NORM] = &hd_op_row_norm,
    [HD_OP_SAFE_RECIP] = &hd_op_safe_recip, [HD_OP_UNARY_GRAD] = &hd_op_unary_grad,
    [HD_OP_SUM_TO] = &hd_op_sum_to,         [HD_OP_EXPAND] = &hd_op_expand,
    [HD_OP_PAD] = &hd_op_pad,               [HD_OP_ONES_LIKE] = &hd_op_ones_like,
    [HD_OP_CONV_DW] = &hd_op_conv_dw,       [HD_OP_MAX_POOL_GRAD] = &hd_op_max_pool_grad,
};

_Static_assert(sizeof hd_ops / sizeof hd_ops[0] == HD_OP_COUNT, "one table entry per op");
