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
