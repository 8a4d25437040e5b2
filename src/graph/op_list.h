/* The list of ops, in id order: HD_OP(ID, name) makes the id HD_OP_<ID>
 * (graph_internal.h), the definition `const hd_op hd_op_<name>` it expects
 * in its family file src/graph/ops/<family>.c, and its entry in the op table
 * (op_table.c).  Ids may be relied on (white-box tests, tables indexed by
 * op): append a new op, do not reorder.  No include guard: each user
 * defines HD_OP, includes this file and undefines HD_OP. */

/* leaves */
HD_OP(INPUT, input)
HD_OP(PARAM, param)
/* dense */
HD_OP(MATMUL, matmul)
HD_OP(LINEAR, linear)
/* binary elementwise, scale */
HD_OP(ADD, add)
HD_OP(SUB, sub)
HD_OP(MUL, mul)
HD_OP(DIV, div)
HD_OP(SCALE, scale)
/* unary elementwise */
HD_OP(EXP, exp)
HD_OP(LOG, log)
HD_OP(SQUARE, square)
HD_OP(SQRT, sqrt)
HD_OP(RELU, relu)
HD_OP(LEAKY_RELU, leaky_relu)
HD_OP(SIGMOID, sigmoid)
HD_OP(TANH, tanh)
HD_OP(SOFTPLUS, softplus)
HD_OP(LOG_SIGMOID, log_sigmoid)
/* reductions */
HD_OP(SUM, sum)
HD_OP(MEAN, mean)
/* shape */
HD_OP(CONCAT, concat)
HD_OP(SLICE, slice)
HD_OP(RESHAPE, reshape)
HD_OP(STOP_GRAD, stop_grad)
/* random */
HD_OP(DROPOUT, dropout)
HD_OP(GAUSS_SAMPLE, gauss_sample)
/* losses */
HD_OP(MSE, mse)
HD_OP(BCE_LOGITS, bce_logits)
HD_OP(BINOMIAL_NLL, binomial_nll)
HD_OP(GAUSSIAN_NLL, gaussian_nll)
HD_OP(GAUSS_KL, gauss_kl)
HD_OP(SOFTMAX_CE, softmax_ce)
/* convolutions, pooling, batch norm */
HD_OP(CONV2D, conv2d)
HD_OP(CONV_TRANSPOSE2D, conv_transpose2d)
HD_OP(MAX_POOL2D, max_pool2d)
HD_OP(BATCH_NORM, batch_norm)
/* added later, for layer norm and the gradient penalties */
HD_OP(ADD_SCALAR, add_scalar)
HD_OP(RSQRT, rsqrt)
HD_OP(LAYER_NORM, layer_norm)
HD_OP(ROW_NORM, row_norm)
/* internal: the nodes hd_grad builds */
HD_OP(SAFE_RECIP, safe_recip)
HD_OP(UNARY_GRAD, unary_grad)
HD_OP(SUM_TO, sum_to)
HD_OP(EXPAND, expand)
HD_OP(PAD, pad)
HD_OP(ONES_LIKE, ones_like)
HD_OP(CONV_DW, conv_dw)
HD_OP(MAX_POOL_GRAD, max_pool_grad)
/* added for the mixture density networks of hadron gen */
HD_OP(MIXTURE_NLL, mixture_nll)
