/* Pieces of the surrogate workflow shared between its files. */
#ifndef HD_SURROGATE_INTERNAL_H
#define HD_SURROGATE_INTERNAL_H

#include "hadron/hadron.h"

/* Efficiency-vs-pT plots per eta slice at one phi bin, and the loss plot. */
int hd_surrogate_plots(const char *out_dir, const hd_hist3 *h, hd_model *m, int phi_bin);

#endif
