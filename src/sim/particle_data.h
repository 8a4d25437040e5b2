/* The particle table of the event layer (particle_data.c): masses, charges,
 * lifetimes and decay channels of the particles hadron's event generator
 * makes, and the charge of any PDG code. */
#ifndef HD_PARTICLE_DATA_H
#define HD_PARTICLE_DATA_H

#include "hadron/sim.h"

enum { HD_DECAY_MAX_BODY = 3 };

typedef struct {
    double br;                   /* branching fraction; a particle's channels sum to 1 */
    int n;                       /* 2 or 3 daughters */
    int d[HD_DECAY_MAX_BODY];    /* daughters of the particle (the antiparticle's: their conjugates) */
} hd_decay_channel;

typedef struct {
    int pdg;          /* > 0; the antiparticle is -pdg unless self_conj */
    int charge3;      /* 3 x charge of the particle */
    int self_conj;    /* its own antiparticle */
    double mass;      /* GeV */
    double ctau;      /* mean proper decay length, mm; 0: decays where it is made */
    int first, n_channels; /* its decay channels in hd_decay_table; none: stable here */
} hd_pdg_info;

extern const hd_decay_channel hd_decay_table[];

/* The entry of |pdg|, NULL when the table does not list it. */
const hd_pdg_info *hd_pdg_lookup(int pdg);
/* The antiparticle's code. */
int hd_pdg_conjugate(int pdg);
/* Entries in the table, and entry i (in increasing pdg; tests walk it). */
int hd_pdg_count(void);
const hd_pdg_info *hd_pdg_entry(int i);
/* 3 x charge from the digits of the PDG numbering scheme alone (quarks,
 * leptons, bosons, diquarks, mesons, baryons, nuclei); the table's charges
 * must agree with it. */
int hd_pdg_charge3_rule(int pdg);

#endif
