/* Electromagnetic showers in a W/Si sampling calorimeter, GFlash style
 * (sim.h; the formulas and their sources are in docs/calo.md).
 *
 * One shower: its energy (log-uniform), a start depth (photons: the
 * conversion), correlated (ln T, ln alpha) of the energy profile
 * f_E(t) = Gamma(alpha, beta = (alpha - 1) / T), the spot profile f_S
 * (T_s, alpha_s) and N_spot spots.  Each spot's depth t is drawn from f_S
 * and carries the weight f_E(t) / f_S(t), so the energy follows f_E while
 * the spots follow f_S (what GFlash's energy per spot in a step,
 * dE / dN, does); the weights are normalised to the shower's energy.  The
 * radius comes from the two-component radial profile at the spot's
 * tau = t / T (sampled exactly: r = R_M R sqrt(u / (1 - u))), the azimuth
 * is uniform.  Sampling fluctuations: each voxel's energy E_v becomes
 * Gamma(E_v / s^2, scale s^2), s^2 = a^2 GeV, which is the same in
 * distribution as smearing every spot so (Gamma's additivity) and gives
 * sigma/E = a / sqrt(E/GeV).  Then the threshold. */
#include "sim/calo_internal.h"

#include <math.h>
#include <string.h>

#include <Random123/philox.h>

/* ---- materials --------------------------------------------------------------------- */

typedef struct {
    double z, a, density, x0; /* Z, A (g/mol), g/cm^3, radiation length g/cm^2 (PDG) */
} material;

static const material TUNGSTEN = {74, 183.84, 19.30, 6.76};
static const material SILICON = {14, 28.0855, 2.329, 21.82};
#define E_S 21.2         /* MeV, the scale energy of the Moliere radius (Geant4's GFlash) */
#define ELECTRON_MASS 0.51099895 /* MeV */

static double critical_energy(const material *m) { return 2.66 * pow(m->x0 * m->z / m->a, 1.1); } /* MeV */

static void stack_of(double d1, double d2, hd_calo_stack *s)
{
    const material *m1 = &TUNGSTEN, *m2 = &SILICON;
    double g1 = d1 * m1->density, g2 = d2 * m2->density; /* mass per area, proportional */
    double w1 = g1 / (g1 + g2), w2 = g2 / (g1 + g2);
    s->z = w1 * m1->z + w2 * m2->z;
    s->a = w1 * m1->a + w2 * m2->a;
    s->density = (g1 + g2) / (d1 + d2);
    double x01 = 10 * m1->x0 / m1->density, x02 = 10 * m2->x0 / m2->density; /* mm */
    s->x0 = (d1 + d2) / (d1 / x01 + d2 / x02);
    double x0_g = s->density * s->x0 / 10; /* g/cm^2 */
    double ec_per_x0 = w1 * critical_energy(m1) / m1->x0 + w2 * critical_energy(m2) / m2->x0;
    s->ec = x0_g * ec_per_x0;
    s->rm = 10 * (E_S / ec_per_x0) / s->density;
    s->fs = s->x0 / (d1 + d2);
    s->ehat = 1 / (1 + 0.007 * (m1->z - m2->z));
}

/* ---- bins ------------------------------------------------------------------------- */

/* Bin of x, or -1 outside [edges[0], edges[n]). */
static inline int bin_of(const calo_bins *b, double x)
{
    if (!(x >= b->lo && x < b->hi)) return -1;
    int cell = (int)((x - b->lo) * b->inv), i = b->first[cell < HD_CALO_LUT ? cell : HD_CALO_LUT - 1];
    while (i < b->n - 1 && x >= b->edges[i + 1]) i++;
    return i;
}

static void bins_init(calo_bins *b, const double *edges, int n)
{
    b->edges = edges;
    b->n = n;
    b->lo = edges[0];
    b->hi = edges[n];
    b->inv = HD_CALO_LUT / (b->hi - b->lo);
    int i = 0;
    for (int c = 0; c < HD_CALO_LUT; c++) {
        double x = b->lo + c / b->inv; /* the cell's lowest value */
        while (i < n - 1 && x >= edges[i + 1]) i++;
        b->first[c] = (uint8_t)i;
    }
}

/* ---- options ------------------------------------------------------------------------ */

hd_calo_opts hd_calo_opts_default(void)
{
    hd_calo_opts o;
    memset(&o, 0, sizeof o);
    hd_calo_layout_get("reduced", &o.layout);
    o.particle = HD_CALO_ELECTRON;
    o.seed = 1;
    o.n_showers = 10000;
    o.absorber_mm = 1.4;
    o.active_mm = 0.3;
    o.sampling = 0.11;
    o.threshold = 0.01515;
    o.entry_x[0] = o.entry_y[0] = -10;
    o.entry_x[1] = o.entry_y[1] = 10;
    o.slope_x[0] = o.slope_y[0] = -0.3;
    o.slope_x[1] = o.slope_y[1] = 0.3;
    o.format = HD_CALO_H5;
    return o;
}

void hd_calo_energy_range(const hd_calo_opts *o, double *e_min, double *e_max)
{
    int full = strcmp(o->layout.name, "ds2") == 0 || strcmp(o->layout.name, "ds3") == 0;
    *e_min = o->e_min != 0 ? o->e_min : 1e3;
    *e_max = o->e_max != 0 ? o->e_max : full ? 1e6 : 1e5;
}

int hd_calo_stack_of(const hd_calo_opts *o, hd_calo_stack *out)
{
    if (!o || !out) return hd_error(HD_EINVAL, "hd_calo_stack_of: NULL argument");
    if (!(o->absorber_mm > 0 && o->absorber_mm <= 100))
        return hd_error(HD_EINVAL, "calorimeter: absorber_mm = %g must be in (0, 100] mm of tungsten", o->absorber_mm);
    if (!(o->active_mm > 0 && o->active_mm <= 100))
        return hd_error(HD_EINVAL, "calorimeter: active_mm = %g must be in (0, 100] mm of silicon", o->active_mm);
    stack_of(o->absorber_mm, o->active_mm, out);
    return HD_OK;
}

static int check_range(const char *what, const double r[2], double limit)
{
    if (!(isfinite(r[0]) && isfinite(r[1]) && r[0] <= r[1] && fabs(r[0]) <= limit && fabs(r[1]) <= limit))
        return hd_error(HD_EINVAL, "calorimeter: %s = [%g, %g] must be an interval within [-%g, %g]", what, r[0], r[1],
                        limit, limit);
    return HD_OK;
}

int hd_calo_check(const hd_calo_opts *o)
{
    if (!o) return hd_error(HD_EINVAL, "hd_calo_check: NULL options");
    int rc = hd_calo_layout_check(&o->layout);
    if (rc) return rc;
    if (o->particle != HD_CALO_ELECTRON && o->particle != HD_CALO_PHOTON)
        return hd_error(HD_EINVAL, "calorimeter: particle %d is neither electron nor photon", (int)o->particle);
    if (o->n_showers < 1 || o->n_showers > (int64_t)UINT32_MAX)
        return hd_error(HD_EINVAL, "calorimeter: n_showers = %lld must be in [1, 2^32 - 1]", (long long)o->n_showers);
    double lo, hi;
    hd_calo_energy_range(o, &lo, &hi);
    if (!(lo >= HD_CALO_E_LIMIT_LO && lo <= HD_CALO_E_LIMIT_HI))
        return hd_error(HD_EINVAL, "calorimeter: e_min = %g MeV must be in [%g, %g] MeV", lo, HD_CALO_E_LIMIT_LO,
                        HD_CALO_E_LIMIT_HI);
    if (!(hi >= HD_CALO_E_LIMIT_LO && hi <= HD_CALO_E_LIMIT_HI))
        return hd_error(HD_EINVAL, "calorimeter: e_max = %g MeV must be in [%g, %g] MeV", hi, HD_CALO_E_LIMIT_LO,
                        HD_CALO_E_LIMIT_HI);
    if (lo > hi) return hd_error(HD_EINVAL, "calorimeter: e_min = %g MeV is above e_max = %g MeV", lo, hi);
    hd_calo_stack st;
    if ((rc = hd_calo_stack_of(o, &st))) return rc;
    if (!(o->sampling == 0 || (o->sampling >= 0.02 && o->sampling <= 1)))
        return hd_error(HD_EINVAL, "calorimeter: sampling = %g must be 0 (none) or in [0.02, 1] sqrt(GeV)",
                        o->sampling);
    if (!(o->threshold >= 0 && o->threshold <= 1e6))
        return hd_error(HD_EINVAL, "calorimeter: threshold = %g MeV must be in [0, 1e6]", o->threshold);
    if (o->layout.kind == HD_CALO_GRID) {
        double half = 0.5 * o->layout.cell * (o->layout.nx > o->layout.ny ? o->layout.nx : o->layout.ny);
        if ((rc = check_range("entry_x", o->entry_x, half)) || (rc = check_range("entry_y", o->entry_y, half)) ||
            (rc = check_range("slope_x", o->slope_x, 1)) || (rc = check_range("slope_y", o->slope_y, 1)))
            return rc;
    }
    if (o->format != HD_CALO_H5 && o->format != HD_CALO_NPZ)
        return hd_error(HD_EINVAL, "calorimeter: format %d is neither h5 nor npz", (int)o->format);
    uint64_t bytes = (uint64_t)o->n_showers * (uint64_t)hd_calo_layout_voxels(&o->layout) * sizeof(float);
    if (bytes > HD_CALO_MAX_BYTES)
        return hd_error(HD_EINVAL,
                        "calorimeter: %lld showers of %lld voxels are %.1f GiB, more than the %.0f GiB a file may "
                        "hold in memory; write several files with other seeds",
                        (long long)o->n_showers, (long long)hd_calo_layout_voxels(&o->layout),
                        (double)bytes / (1 << 30), (double)HD_CALO_MAX_BYTES / (1 << 30));
    return HD_OK;
}

int calo_setup_init(const hd_calo_opts *o, calo_setup *s)
{
    int rc = hd_calo_check(o);
    if (rc) return rc;
    memset(s, 0, sizeof *s);
    stack_of(o->absorber_mm, o->active_mm, &s->st);
    hd_calo_energy_range(o, &s->e_lo, &s->e_hi);
    s->voxels = hd_calo_layout_voxels(&o->layout);
    if (o->layout.kind == HD_CALO_GRID) {
        s->depth = o->layout.layer_x0[0];
    } else {
        for (int l = 0; l < o->layout.n_layers; l++) s->bounds[l + 1] = s->bounds[l] + o->layout.layer_x0[l];
        s->depth = s->bounds[o->layout.n_layers];
        bins_init(&s->layer_bins, s->bounds, o->layout.n_layers);
        bins_init(&s->r_bins, o->layout.r_edges, o->layout.n_r);
    }
    return HD_OK;
}

const char *hd_calo_truth_name(int k)
{
    static const char *const names[HD_CALO_TRUTH] = {"T", "alpha", "start_depth", "n_spots", "spot_T", "contained"};
    return k >= 0 && k < HD_CALO_TRUTH ? names[k] : NULL;
}

/* ---- random variates ---------------------------------------------------------------- */

void calo_rng_init(calo_rng *g, uint64_t seed, uint64_t shower)
{
    memset(g, 0, sizeof *g);
    g->seed = seed;
    g->counter = shower << 32;
}

/* Block `counter` of (seed, HD_STREAM_SIM): the key and counter words of core/rng.c. */
static inline void refill(calo_rng *g)
{
    philox4x32_key_t k = {{(uint32_t)g->seed, (uint32_t)(g->seed >> 32)}};
    philox4x32_ctr_t c = {{(uint32_t)g->counter, (uint32_t)(g->counter >> 32), (uint32_t)HD_STREAM_SIM, 0}};
    philox4x32_ctr_t b = philox4x32(c, k);
    g->counter++;
    for (int i = 0; i < 4; i++) g->buf[i] = b.v[i];
    g->nbuf = 4;
}

inline uint32_t calo_u32(calo_rng *g)
{
    if (g->nbuf == 0) refill(g);
    return g->buf[4 - g->nbuf--];
}

inline double calo_uniform(calo_rng *g) { return ((double)calo_u32(g) + 0.5) * 0x1p-32; }

/* A point (x, y) uniform in the unit disc; returns x^2 + y^2, never 0 (the
 * uniforms are odd multiples of 2^-33, so 2u - 1 is never 0). */
static inline double in_disc(calo_rng *g, double *x, double *y)
{
    double q;
    do {
        *x = 2 * calo_uniform(g) - 1;
        *y = 2 * calo_uniform(g) - 1;
        q = *x * *x + *y * *y;
    } while (q >= 1);
    return q;
}

double calo_normal(calo_rng *g)
{
    if (g->has_spare) {
        g->has_spare = 0;
        return g->spare;
    }
    double x, y, q = in_disc(g, &x, &y);
    double f = sqrt(-2 * log(q) / q);
    g->spare = y * f;
    g->has_spare = 1;
    return x * f;
}

/* Marsaglia & Tsang (2000) for shape >= 1, with d = shape - 1/3 and
 * c = 1 / sqrt(9 d) given. */
static double gamma_mt(calo_rng *g, double d, double c)
{
    for (;;) {
        double x, v;
        do {
            x = calo_normal(g);
            v = 1 + c * x;
        } while (v <= 0);
        v = v * v * v;
        double u = calo_uniform(g), x2 = x * x;
        if (u < 1 - 0.0331 * x2 * x2) return d * v;
        if (log(u) < 0.5 * x2 + d * (1 - v + log(v))) return d * v;
    }
}

double calo_gamma(calo_rng *g, double shape)
{
    if (shape >= 1) {
        double d = shape - 1.0 / 3;
        return gamma_mt(g, d, 1 / sqrt(9 * d));
    }
    double d = shape + 1 - 1.0 / 3; /* Gamma(k) = Gamma(k + 1) U^(1/k) */
    double x = gamma_mt(g, d, 1 / sqrt(9 * d));
    return x * exp(log(calo_uniform(g)) / shape);
}

/* ---- one shower --------------------------------------------------------------------- */

/* The per-shower parameters of the energy and spot profiles. */
typedef struct {
    double e, t0;                 /* MeV, start depth X0 */
    double T, alpha, beta;        /* energy profile */
    double Ts, alpha_s, beta_s;   /* spot profile */
    double tau_per_x0;            /* tau = t' * tau_per_x0, t' from the start */
    int64_t n_spots;
    double dir[3], entry[2];      /* grid: axis and entry point */
} shower_params;

static double inv_sigma(double den) { return den > 2 ? 1 / den : 0.5; } /* min(0.5, 1 / den), 0.5 when den <= 0 */

static void draw_params(const hd_calo_opts *o, const calo_setup *s, calo_rng *g, shower_params *p)
{
    const double Z = s->st.z, Fs = s->st.fs, eh = s->st.ehat;
    memset(p, 0, sizeof *p);
    double u = calo_uniform(g);
    p->e = s->e_hi > s->e_lo ? s->e_lo * exp(u * log(s->e_hi / s->e_lo)) : s->e_lo;
    double lny = log(p->e / s->st.ec);
    /* homogeneous means (GFlash), then the sampling shifts */
    double T_hom = fmax(lny - 0.812, 0.1), a_hom = fmax(0.81 + (0.458 + 2.26 / Z) * lny, 0.1);
    double mean_lnT = log(fmax(T_hom - 0.55 / Fs - 0.69 * (1 - eh), exp(0.1)));
    double mean_lna = log(fmax(a_hom - 0.476 / Fs, exp(0.1)));
    double sig_lnT = inv_sigma(-2.5 + 1.25 * lny), sig_lna = inv_sigma(-0.82 + 0.79 * lny);
    double rho = fmin(1, fmax(-1, 0.784 - 0.023 * lny));
    double c1 = sqrt((1 + rho) / 2), c2 = sqrt((1 - rho) / 2);
    double g1 = calo_normal(g), g2 = calo_normal(g);
    p->T = fmax(1, exp(mean_lnT + sig_lnT * (c1 * g1 + c2 * g2)));
    p->alpha = fmax(1.1, exp(mean_lna + sig_lna * (c1 * g1 - c2 * g2)));
    p->beta = (p->alpha - 1) / p->T;
    /* spots (the paper's sampling values) */
    p->Ts = p->T * (0.813 + 0.0019 * Z);
    p->alpha_s = fmax(1.05, p->alpha * (0.844 + 0.0026 * Z));
    p->beta_s = (p->alpha_s - 1) / p->Ts;
    double mean_a = exp(mean_lna);
    p->tau_per_x0 = (p->alpha - 1) / (p->alpha * p->T) * mean_a / (mean_a - 1); /* Geant4's ComputeTau */
    double c = o->sampling > 0 ? o->sampling : 0.11;
    double n = 10.3 / c * pow(p->e / 1000, 0.959);
    p->n_spots = (int64_t)floor(n + calo_uniform(g));
    if (p->n_spots < 1) p->n_spots = 1;
    p->t0 = o->particle == HD_CALO_PHOTON ? -9.0 / 7.0 * log(calo_uniform(g)) : 0;
    if (o->layout.kind == HD_CALO_GRID) {
        double x = o->entry_x[0] + (o->entry_x[1] - o->entry_x[0]) * calo_uniform(g);
        double y = o->entry_y[0] + (o->entry_y[1] - o->entry_y[0]) * calo_uniform(g);
        double sx = o->slope_x[0] + (o->slope_x[1] - o->slope_x[0]) * calo_uniform(g);
        double sy = o->slope_y[0] + (o->slope_y[1] - o->slope_y[0]) * calo_uniform(g);
        double norm = sqrt(sx * sx + sy * sy + 1);
        p->dir[0] = sx / norm;
        p->dir[1] = sy / norm;
        p->dir[2] = 1 / norm;
        p->entry[0] = x;
        p->entry[1] = y;
    }
}

/* Radial parameters at tau (GFlash homogeneous + sampling terms), E in GeV. */
static void radial_at(const calo_setup *s, double ln_e, double tau, double *rc, double *rt, double *pc)
{
    const double Z = s->st.z, Fs = s->st.fs, om = 1 - s->st.ehat;
    double r_c = 0.0251 + 0.00319 * ln_e + (0.1162 - 0.000381 * Z) * tau;
    double p1 = 2.632 - 0.00094 * Z, p2 = 0.401 + 0.00187 * Z, p3 = 1.313 - 0.0686 * ln_e;
    double q = (p2 - tau) / p3;
    double p = p1 * exp(q - exp(q));
    double k1 = 0.659 - 0.00309 * Z, k4 = 0.3585 + 0.0412 * ln_e;
    double r_t = k1 * (exp(-2.59 * (tau - 0.645)) + exp(k4 * (tau - 0.645)));
    double e_tau = exp(-tau);
    r_c += -0.0203 * om + 0.0397 / Fs * e_tau;
    p += om * (0.348 - 0.642 / Fs * exp(-(tau - 1) * (tau - 1)));
    r_t += -0.14 * om - 0.495 / Fs * e_tau;
    *rc = fmax(r_c, 1e-3);
    *rt = fmax(r_t, 1e-3);
    *pc = fmin(1, fmax(0, p));
}

/* Per-thread scratch: the voxel sums and the radial table. */
typedef struct {
    double *acc;
    double tab[HD_CALO_TABLE][3];
} scratch;

static void shower(const hd_calo_opts *o, const calo_setup *s, uint64_t index, scratch *w, float *out,
                   double *e_inc, double *cond, double *truth)
{
    const hd_calo_layout *L = &o->layout;
    const int grid = L->kind == HD_CALO_GRID;
    calo_rng g;
    calo_rng_init(&g, o->seed, index);
    shower_params p;
    draw_params(o, s, &g, &p);

    /* the radial table over the depths a spot in the readout can have */
    double t_max = grid ? s->depth / p.dir[2] + 3 : s->depth; /* grid: along the slanted axis, plus a margin */
    double h = t_max / (HD_CALO_TABLE - 1), inv_h = 1 / h, ln_e = log(p.e / 1000);
    for (int k = 0; k < HD_CALO_TABLE; k++)
        radial_at(s, ln_e, k * h * p.tau_per_x0, &w->tab[k][0], &w->tab[k][1], &w->tab[k][2]);

    const double d = p.alpha_s - 1.0 / 3, c = 1 / sqrt(9 * d), inv_beta_s = 1 / p.beta_s;
    const double da = p.alpha - p.alpha_s, db = p.beta - p.beta_s, rm = s->st.rm;
    /* grid: the face, the depth in mm and two axes across the shower */
    const double x0 = s->st.x0, depth_mm = s->depth * x0, x_lo = -0.5 * L->nx * L->cell,
                 y_lo = -0.5 * L->ny * L->cell, inv_cell = grid ? 1 / L->cell : 0;
    double e1[3] = {0, 0, 0}, e2[3] = {0, 0, 0};
    if (grid) {
        double n1 = sqrt(p.dir[0] * p.dir[0] + p.dir[2] * p.dir[2]);
        e1[0] = p.dir[2] / n1;
        e1[2] = -p.dir[0] / n1;
        e2[0] = p.dir[1] * e1[2];
        e2[1] = p.dir[2] * e1[0] - p.dir[0] * e1[2];
        e2[2] = -p.dir[1] * e1[0];
    }
    double sum_w = 0;
    for (int64_t j = 0; j < p.n_spots; j++) {
        double tp = gamma_mt(&g, d, c) * inv_beta_s; /* depth from the start, X0 */
        double wgt = exp(da * log(tp) - db * tp); /* f_E / f_S, up to a constant */
        sum_w += wgt;
        double t = p.t0 + tp;
        if (!grid && t >= s->depth) continue;
        double f = tp * inv_h;
        int k = (int)f;
        double fr;
        if (k >= HD_CALO_TABLE - 1) {
            k = HD_CALO_TABLE - 2;
            fr = 1;
        } else
            fr = f - k;
        const double *a = w->tab[k], *b = w->tab[k + 1];
        double pc = a[2] + fr * (b[2] - a[2]);
        double R = calo_uniform(&g) < pc ? a[0] + fr * (b[0] - a[0]) : a[1] + fr * (b[1] - a[1]);
        double v = calo_uniform(&g);
        double r = rm * R * sqrt(v / (1 - v)); /* mm */
        if (!grid) {
            int rb = bin_of(&s->r_bins, r);
            if (rb < 0) continue;
            int l = bin_of(&s->layer_bins, t);
            int al = (int)(((uint64_t)calo_u32(&g) * (uint64_t)L->n_alpha) >> 32);
            if (l < 0) continue;
            w->acc[((int64_t)l * L->n_alpha + al) * L->n_r + rb] += wgt;
        } else {
            double cx, cy, q = in_disc(&g, &cx, &cy); /* the azimuth as (cos, sin) = (cx^2 - cy^2, 2 cx cy) / q */
            double cs = (cx * cx - cy * cy) / q * r, sn = 2 * cx * cy / q * r, sa = t * x0;
            double z = sa * p.dir[2] + cs * e1[2] + sn * e2[2];
            if (!(z >= 0 && z < depth_mm)) continue;
            double x = p.entry[0] + sa * p.dir[0] + cs * e1[0] + sn * e2[0] - x_lo;
            double y = p.entry[1] + sa * p.dir[1] + cs * e1[1] + sn * e2[1] - y_lo;
            if (!(x >= 0 && y >= 0)) continue;
            int64_t ix = (int64_t)(x * inv_cell), iy = (int64_t)(y * inv_cell);
            if (ix >= L->nx || iy >= L->ny) continue;
            w->acc[iy * L->nx + ix] += wgt;
        }
    }

    /* energies, sampling fluctuations, threshold */
    const double scale = p.e / sum_w, s2 = o->sampling * o->sampling * 1000; /* MeV */
    double contained = 0;
    for (int64_t v = 0; v < s->voxels; v++) {
        double ev = w->acc[v] * scale;
        w->acc[v] = 0;
        contained += ev;
        if (ev > 0 && s2 > 0) ev = calo_gamma(&g, ev / s2) * s2;
        out[v] = ev >= o->threshold ? (float)ev : 0.0f;
    }
    *e_inc = p.e;
    if (cond && grid) {
        double pm = o->particle == HD_CALO_PHOTON ? p.e : sqrt(p.e * p.e - ELECTRON_MASS * ELECTRON_MASS);
        cond[0] = pm * p.dir[0];
        cond[1] = pm * p.dir[1];
        cond[2] = pm * p.dir[2];
        cond[3] = p.entry[0];
        cond[4] = p.entry[1];
    }
    if (truth) {
        truth[0] = p.T;
        truth[1] = p.alpha;
        truth[2] = p.t0;
        truth[3] = (double)p.n_spots;
        truth[4] = p.Ts;
        truth[5] = contained;
    }
}

int hd_calo_simulate(const hd_calo_opts *o, int64_t first, int64_t n, float *showers, double *e_inc, double *cond,
                     double *truth)
{
    if (!o || !showers || !e_inc)
        return hd_error(HD_EINVAL, "hd_calo_simulate: NULL %s", !o ? "options" : !showers ? "showers" : "e_inc");
    calo_setup s;
    int rc = calo_setup_init(o, &s);
    if (rc) return rc;
    if (first < 0 || n < 1 || first > (int64_t)UINT32_MAX || n > (int64_t)UINT32_MAX - first)
        return hd_error(HD_EINVAL, "hd_calo_simulate: showers %lld .. %lld + %lld must lie in [0, 2^32 - 1)",
                        (long long)first, (long long)first, (long long)n);
    int failed = 0;
#pragma omp parallel
    {
        scratch *w = hd_malloc(sizeof *w);
        double *acc = hd_calloc((size_t)s.voxels, sizeof *acc);
        if (!w || !acc) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp barrier
        int stop;
#pragma omp atomic read
        stop = failed;
        if (!stop) {
            w->acc = acc;
#pragma omp for schedule(dynamic, 4)
            for (int64_t i = 0; i < n; i++)
                shower(o, &s, (uint64_t)(first + i), w, showers + i * s.voxels, e_inc + i,
                       cond ? cond + i * HD_CALO_COND : NULL, truth ? truth + i * HD_CALO_TRUTH : NULL);
        }
        hd_free(acc);
        hd_free(w);
    }
    if (failed) return hd_error(HD_ENOMEM, "hd_calo_simulate: out of memory for %lld voxels", (long long)s.voxels);
    return HD_OK;
}
