/* hadron: deep learning for the physical sciences, in C11.  Umbrella header. */
#ifndef HADRON_H
#define HADRON_H

#include "core.h"
#include "data.h"
#include "graph.h"
#include "metrics.h"
#include "nn.h"
#include "sim.h"
#include "workflows.h"

#endif
