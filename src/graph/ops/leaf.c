/* Leaves: inputs are written by the caller, params live in the param buffer. */
#include "ops_common.h"

const hd_op hd_op_input = {.name = "input"};
const hd_op hd_op_param = {.name = "param"};
