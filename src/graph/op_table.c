/* The op table: one entry per op of op_list.h, each defined in its family
 * file graph/ops/<family>.c. */
#include "graph_internal.h"

#define HD_OP(ID, name) extern const hd_op hd_op_##name;
#include "op_list.h"
#undef HD_OP

const hd_op *const hd_ops[HD_OP_COUNT] = {
#define HD_OP(ID, name) [HD_OP_##ID] = &hd_op_##name,
#include "op_list.h"
#undef HD_OP
};

/* The convolutions' im2col columns, padded planes and packed weights. */
const unsigned char hd_op_aux_scratch[HD_OP_COUNT] = {
    [HD_OP_CONV2D] = 1, [HD_OP_CONV_TRANSPOSE2D] = 1, [HD_OP_CONV_DW] = 1};
