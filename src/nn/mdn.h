/* The two-stage mixture density network of hadron gen ("mdn"), for a
 * layered (cylindrical) readout of L layers of M voxels:
 *   energy net  the shower's energies, autoregressively, at L positions:
 *               position 0 draws ln(E_tot / E_inc); position p >= 1 draws
 *               layer p - 1's share of the energy left for it (empty, all
 *               of it, or a share whose logit is a Gaussian mixture); the
 *               last layer takes what is left;
 *   voxel net   given the conditions and the L layer energies, one row per
 *               layer: each of its M voxels is empty or not (Bernoulli)
 *               and, if not, its log fraction of the layer's energy is a
 *               Gaussian mixture; independent given the row.  The voxels
 *               are then scaled to the layer's energy and cut at the
 *               threshold, as a readout.
 * Both nets are MLPs of one row each (training rows are independent:
 * teacher forcing), trained together by maximum likelihood
 * (docs/generative.md).  Shared by the workflow (training rows, the loss)
 * and the generator (drawing). */
#ifndef HADRON_NN_MDN_H
#define HADRON_NN_MDN_H

#include "hadron/nn.h"

#define HD_MDN_MAX_K 16
#define HD_MDN_CLASSES 3 /* a layer's share: 0 empty, 1 all that is left, 2 a share in (0, 1) */

typedef struct {
    int64_t n_layers, n_per_layer, n_cond; /* L, M, C */
    int k;                                 /* mixture components of every drawn value */
    /* standardisation, from the training showers */
    float ratio_mean, ratio_std;           /* ln(E_tot / E_inc) */
    float *share_mean, *share_std;         /* [L - 1] logit of a layer's share (class 2) */
    float *frac_mean, *frac_std;           /* [L] ln(E_layer / E_inc + 1e-7): the voxel net's conditions */
    float *vox_mean, *vox_std;             /* [L M] ln(e / E_layer) of the non-empty voxels */
} hd_mdn;

/* One shower's energies, true (training) or being drawn. */
typedef struct {
    float ratio;                           /* standardised ln(E_tot / E_inc) */
    float z[HD_CALO_MAX_LAYERS];           /* standardised logit of layer l's share (class 2), else 0 */
    int cls[HD_CALO_MAX_LAYERS];
    double left[HD_CALO_MAX_LAYERS];       /* fraction of E_tot left before layer l */
    double e_tot, e_layer[HD_CALO_MAX_LAYERS]; /* MeV */
} hd_mdn_state;

/* The statistics above from n training showers [n, L M] of energies [n]. */
int hd_mdn_fit(hd_mdn *m, int64_t n_layers, int64_t n_per_layer, int64_t n_cond, int k, int64_t n,
               const float *energy, const float *showers);
void hd_mdn_release(hd_mdn *m);
/* Allocates the statistics' arrays (for a checkpoint to fill). */
int hd_mdn_alloc(hd_mdn *m);

/* Widths of the nets' rows. */
int64_t hd_mdn_energy_in(const hd_mdn *m);  /* C + 1 + 4 (L - 1) + 1 + L */
int64_t hd_mdn_energy_out(const hd_mdn *m); /* 3 + 3K */
int64_t hd_mdn_voxel_in(const hd_mdn *m);   /* C + 2L */
int64_t hd_mdn_voxel_out(const hd_mdn *m);  /* M (1 + 3K): M logits, then 3K per voxel */
int64_t hd_mdn_noise_dim(const hd_mdn *m);  /* 3 (L + L M) */

/* The two nets' whole specs from their hidden sizes: the widths above,
 * LeakyReLU 0.2, linear outputs. */
void hd_mdn_specs(const hd_mdn *m, const hd_mlp_spec *energy_layers, const hd_mlp_spec *voxel_layers,
                  hd_mlp_spec *energy, hd_mlp_spec *voxel);
/* The two MLPs, "mdn_e.dense<i>" and "mdn_v.dense<i>", on [B, energy_in] and [B, voxel_in]. */
int hd_mdn_nets(hd_graph *g, const hd_mlp_spec *energy, const hd_mlp_spec *voxel, hd_node *e_in, hd_node *v_in,
                hd_node **e_out, hd_node **v_out);

/* A shower's true state (energy MeV, shower [L M]). */
void hd_mdn_state_of(const hd_mdn *m, float energy, const float *shower, hd_mdn_state *s);
/* The energy net's input at position p (0..L-1) from what is drawn before it. */
void hd_mdn_energy_row(const hd_mdn *m, const float *c, const hd_mdn_state *s, int p, float *in);
/* Position p's training targets: class one-hot (zeros: inactive), value, its weight. */
void hd_mdn_energy_target(const hd_mdn *m, const hd_mdn_state *s, int p, float *cls, float *val, float *w);
/* The voxel net's input for layer l. */
void hd_mdn_voxel_row(const hd_mdn *m, const float *c, float energy, const hd_mdn_state *s, int l, float *in);
/* Layer l's targets: non-empty (0/1) and the standardised log fraction (0 if empty). */
void hd_mdn_voxel_target(const hd_mdn *m, const hd_mdn_state *s, const float *shower, int l, float *nz, float *y);

/* Drawing: position p of the energy net from its output row and three
 * normals; after position L - 1 the state holds every layer's energy. */
void hd_mdn_energy_draw(const hd_mdn *m, hd_mdn_state *s, float energy, int p, const float *out, const float *z3);
/* Layer l's M voxels (MeV) from the voxel net's output row, 3 M normals and
 * the threshold. */
void hd_mdn_voxel_draw(const hd_mdn *m, const hd_mdn_state *s, int l, const float *out, const float *z3m,
                       float threshold, float *vox);

#endif
