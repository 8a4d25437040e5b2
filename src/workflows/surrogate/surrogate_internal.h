/* Pieces of the surrogate workflow shared between its files. */
#ifndef HD_SURROGATE_INTERNAL_H
#define HD_SURROGATE_INTERNAL_H

#include "hadron/hadron.h"

/* Centre of bin b: eta, pT (MeV, geometric centre of a log bin), phi. */
void hd_surrogate_bin_centre(const hd_hist3 *h, int64_t b, double *eta, double *pt, double *phi);
/* Efficiency-vs-pT plots per eta slice at one phi bin, and the loss plot. */
int hd_surrogate_plots(const char *out_dir, const hd_hist3 *h, hd_model *m, int phi_bin);

#endif
