/* The one particle table of the event layer: what hd_eeqq_event makes and
 * decays (PDG 2022 masses, proper decay lengths and the main branching
 * fractions, renormalised over the channels kept; docs/events.md), and the
 * charge of any PDG code.  Codes the table lacks get their charge from the
 * digits of the PDG numbering scheme, so a HepMC3 file from any generator
 * has charged Sigma, Xi, D, B, deuterons... where they should be. */
#include "particle_data.h"

#include <pthread.h>
#include <stdlib.h>

/* Channels, grouped per particle (first, n_channels in the table below). */
const hd_decay_channel hd_decay_table[] = {
    /* 0: pi0 */ {1.0, 2, {22, 22}},
    /* 1: rho0 */ {1.0, 2, {211, -211}},
    /* 2: K0S */ {0.6928, 2, {211, -211}}, {0.3072, 2, {111, 111}},
    /* 4: rho+ */ {1.0, 2, {211, 111}},
    /* 5: eta */ {0.4152, 2, {22, 22}}, {0.3435, 3, {111, 111, 111}}, {0.2413, 3, {211, -211, 111}},
    /* 8: omega */ {0.9145, 3, {211, -211, 111}}, {0.0855, 2, {111, 22}},
    /* 10: K*0 */ {2.0 / 3, 2, {321, -211}}, {1.0 / 3, 2, {311, 111}},
    /* 12: K*+ */ {2.0 / 3, 2, {311, 211}}, {1.0 / 3, 2, {321, 111}},
    /* 14: phi */ {0.4995, 2, {321, -321}}, {0.3442, 2, {130, 310}}, {0.1563, 3, {211, -211, 111}},
    /* 17: Lambda */ {0.6410, 2, {2212, -211}}, {0.3590, 2, {2112, 111}},
};

/* In increasing pdg (binary search).  ctau of the stable ones is for
 * reference: hadron does not decay them (Pythia's default too). */
static const hd_pdg_info table[] = {
    {1, -1, 0, 0.33, 0, 0, 0},          /* d */
    {2, 2, 0, 0.33, 0, 0, 0},           /* u */
    {3, -1, 0, 0.50, 0, 0, 0},          /* s */
    {4, 2, 0, 1.50, 0, 0, 0},           /* c */
    {5, -1, 0, 4.80, 0, 0, 0},          /* b */
    {6, 2, 0, 172.5, 0, 0, 0},          /* t */
    {11, -3, 0, 0.51099895e-3, 0, 0, 0}, /* e- */
    {12, 0, 0, 0, 0, 0, 0},             /* nu_e */
    {13, -3, 0, 0.1056583755, 658638.4, 0, 0}, /* mu- */
    {14, 0, 0, 0, 0, 0, 0},             /* nu_mu */
    {15, -3, 0, 1.77686, 0.08703, 0, 0}, /* tau- */
    {16, 0, 0, 0, 0, 0, 0},             /* nu_tau */
    {21, 0, 1, 0, 0, 0, 0},             /* g */
    {22, 0, 1, 0, 0, 0, 0},             /* gamma */
    {23, 0, 1, 91.1876, 0, 0, 0},       /* Z */
    {24, 3, 0, 80.377, 0, 0, 0},        /* W+ */
    {25, 0, 1, 125.25, 0, 0, 0},        /* h */
    {111, 0, 1, 0.1349768, 2.55e-5, 0, 1}, /* pi0 */
    {113, 0, 1, 0.77526, 0, 1, 1},      /* rho0 */
    {130, 0, 1, 0.497611, 15340, 0, 0}, /* K0L */
    {211, 3, 0, 0.13957039, 7804.5, 0, 0}, /* pi+ */
    {213, 3, 0, 0.77511, 0, 4, 1},      /* rho+ */
    {221, 0, 1, 0.547862, 0, 5, 3},     /* eta */
    {223, 0, 1, 0.78266, 0, 8, 2},      /* omega */
    {310, 0, 1, 0.497611, 26.844, 2, 2}, /* K0S */
    {311, 0, 0, 0.497611, 0, 0, 0},     /* K0: made as K0S or K0L */
    {313, 0, 0, 0.89555, 0, 10, 2},     /* K*0 */
    {321, 3, 0, 0.493677, 3711.0, 0, 0}, /* K+ */
    {323, 3, 0, 0.89166, 0, 12, 2},     /* K*+ */
    {333, 0, 1, 1.019461, 0, 14, 3},    /* phi */
    {2112, 0, 0, 0.93956542052, 0, 0, 0}, /* n */
    {2212, 3, 0, 0.93827208816, 0, 0, 0}, /* p */
    {3122, 0, 0, 1.115683, 78.9, 17, 2}, /* Lambda */
};

int hd_pdg_count(void) { return (int)(sizeof table / sizeof table[0]); }

const hd_pdg_info *hd_pdg_entry(int i) { return i >= 0 && i < hd_pdg_count() ? &table[i] : NULL; }

/* Codes below DIRECT are found through an index built once (the generator
 * and the tracker look up every particle); the rest by binary search. */
enum { DIRECT = 4096 };
static unsigned char direct[DIRECT]; /* 1 + position in the table; 0: not listed */
static pthread_once_t direct_once = PTHREAD_ONCE_INIT;

static void build_direct(void)
{
    for (int i = 0; i < hd_pdg_count(); i++)
        if (table[i].pdg < DIRECT) direct[table[i].pdg] = (unsigned char)(i + 1);
}

const hd_pdg_info *hd_pdg_lookup(int pdg)
{
    long long key = llabs((long long)pdg);
    if (key < DIRECT) {
        pthread_once(&direct_once, build_direct);
        return direct[key] ? &table[direct[key] - 1] : NULL;
    }
    int lo = 0, hi = hd_pdg_count() - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (table[mid].pdg == key) return &table[mid];
        if (table[mid].pdg < key) lo = mid + 1;
        else hi = mid - 1;
    }
    return NULL;
}

int hd_pdg_conjugate(int pdg)
{
    const hd_pdg_info *e = hd_pdg_lookup(pdg);
    return e && e->self_conj ? pdg : -pdg;
}

/* 3 x charge of the quarks 1..8 (d u s c b t b' t'). */
static int quark3(int q)
{
    static const int charge[9] = {0, -1, 2, -1, 2, -1, 2, -1, 2};
    return q >= 1 && q <= 8 ? charge[q] : 0;
}

/* Codes below 100: quarks, leptons, gauge and Higgs bosons. */
static int fundamental3(long long a)
{
    if (a <= 8) return quark3((int)a);
    if (a >= 11 && a <= 18) return a % 2 ? -3 : 0;
    return a == 24 || a == 34 || a == 37 ? 3 : 0; /* W+, W'+, H+ */
}

/* Hadrons and diquarks from the quark digits n_q1 n_q2 n_q3 and n_J. */
static int hadron3(long long a)
{
    int q1 = (int)(a / 1000 % 10), q2 = (int)(a / 100 % 10), q3 = (int)(a / 10 % 10), j = (int)(a % 10);
    if (j == 0) return 0; /* K0L, K0S and the like */
    if (q1 == 0) {        /* meson q2 qbar3; the sign convention flips it for down-type q2 */
        if (q2 == 0 || q3 == 0) return 0;
        int c = quark3(q2) - quark3(q3);
        return q2 == 3 || q2 == 5 ? -c : c;
    }
    if (q3 == 0) return quark3(q1) + quark3(q2); /* diquark */
    return quark3(q1) + quark3(q2) + quark3(q3);
}

int hd_pdg_charge3_rule(int pdg)
{
    long long a = llabs((long long)pdg);
    int c;
    if (a >= 1000000000LL) /* nucleus 10LZZZAAAI */
        c = a / 1000000000LL == 1 ? 3 * (int)(a / 10000 % 1000) : 0;
    else if (a >= 10000000LL)
        c = 0;
    else if (a >= 1000000LL && a / 1000000 != 9) /* SUSY, excited fermions, technicolor: unknown */
        c = 0;
    else if (a < 100)
        c = fundamental3(a);
    else
        c = hadron3(a);
    return pdg < 0 ? -c : c;
}

int hd_pdg_charge3(int pdg)
{
    const hd_pdg_info *e = hd_pdg_lookup(pdg);
    if (!e) return hd_pdg_charge3_rule(pdg);
    return pdg < 0 ? -e->charge3 : e->charge3;
}
