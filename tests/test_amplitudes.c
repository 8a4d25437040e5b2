/* Amplitude simulator: RAMBO phase space (conservation, mass shell,
 * flatness), the cuts and the layout, the closed |M|^2 formulas of both
 * processes (q qbar -> gamma gamma g, e+e- -> q qbar g) against an explicit
 * sum over Feynman diagrams, their symmetries and Lorentz invariance, the
 * soft-gluon limits, options and reproducibility. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <complex.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hadron/hadron.h"
#include "sim/amplitudes_internal.h"
#include "test_util.h"

#define PI 3.14159265358979323846

/* cmocka compares floats in single precision; these need double. */
#define assert_near(a, b, tol) check_near((a), (b), (tol), #a, __LINE__)
static void check_near(double a, double b, double tol, const char *what, int line)
{
    if (!(fabs(a - b) <= tol)) fail_msg("line %d: %s = %.17g, expected %.17g +- %g", line, what, a, b, tol);
}
#define assert_rel(a, b, tol) check_near((a) / (b), 1.0, (tol), #a " / " #b, __LINE__)

enum { N_EVENTS = 4000 };

typedef struct {
    double *p, *amp;
    int64_t n;
} events;

static events simulate(const hd_amplitude_opts *o)
{
    events e = {malloc((size_t)o->n_events * 20 * sizeof(double)), malloc((size_t)o->n_events * sizeof(double)),
                o->n_events};
    assert_non_null(e.p);
    assert_non_null(e.amp);
    int rc = hd_sim_amplitudes(o, e.p, e.amp);
    if (rc) fail_msg("hd_sim_amplitudes: %s", hd_last_error());
    return e;
}

static void events_free(events *e)
{
    free(e->p);
    free(e->amp);
}

static hd_amplitude_opts opts_n(int64_t n)
{
    hd_amplitude_opts o = hd_amplitude_opts_default();
    o.n_events = n;
    return o;
}

/* A process as the tests see it: its 2 -> 3 and 2 -> 2 formulas, and the
 * rows of the two particles a soft gluon is radiated from. */
typedef struct {
    hd_amp_process id;
    double (*me2)(const double *p, double charge);
    double (*born)(const double *p, double charge);
    int emitter; /* rows emitter and emitter + 1: 0 the incoming quarks, 2 the outgoing ones */
} process;

static const process processes[] = { /* indexed by hd_amp_process */
    {HD_AMP_QQBAR_AAG, hd_me2_qqbar_aag, hd_me2_qqbar_aa, 0},
    {HD_AMP_EE_QQG, hd_me2_ee_qqg, hd_me2_ee_qq, 2},
};
enum { N_PROCESSES = sizeof processes / sizeof processes[0] };

/* ---- phase space ---------------------------------------------------------- */

static void check_conservation(const hd_amplitude_opts *o)
{
    events e = simulate(o);
    double w = o->sqrt_s, half = 0.5 * w;
    for (int64_t i = 0; i < e.n; i++) {
        const double *p = e.p + 20 * i;
        const double beam[8] = {half, 0, 0, half, half, 0, 0, -half};
        for (int j = 0; j < 8; j++) assert_true(p[j] == beam[j]);
        for (int mu = 0; mu < 4; mu++) {
            double out = p[8 + mu] + p[12 + mu] + p[16 + mu], in = p[mu] + p[4 + mu];
            assert_near(out, in, 1e-12 * w);
        }
        for (int k = 0; k < 5; k++) {
            const double *q = p + 4 * k;
            assert_true(q[0] > 0);
            assert_near(hd_amp_dot(q, q) / (q[0] * q[0]), 0, 1e-12);
        }
    }
    events_free(&e);
}

static void test_conservation_and_mass_shell(void **state)
{
    (void)state;
    hd_amplitude_opts o = opts_n(N_EVENTS);
    for (int pr = 0; pr < N_PROCESSES; pr++) {
        o.process = processes[pr].id;
        check_conservation(&o);
    }
}

static void check_cuts(const hd_amplitude_opts *o)
{
    events e = simulate(o);
    for (int64_t i = 0; i < e.n; i++) {
        const double *p = e.p + 20 * i;
        for (int k = 2; k < 5; k++) {
            assert_true(hd_amp_pt(p + 4 * k) > o->pt_min);
            assert_true(fabs(hd_amp_eta(p + 4 * k)) < o->eta_max);
            for (int l = k + 1; l < 5; l++) assert_true(hd_amp_delta_r(p + 4 * k, p + 4 * l) > o->dr_min);
        }
        assert_true(hd_amp_pt(p + 8) >= hd_amp_pt(p + 12)); /* leading photon (quark or antiquark) first */
        assert_true(e.amp[i] > 0 && isfinite(e.amp[i]));
        assert_true(e.amp[i] == processes[o->process].me2(p, o->charge));
    }
    events_free(&e);
}

static void test_cuts_and_ordering(void **state)
{
    (void)state;
    for (int pr = 0; pr < N_PROCESSES; pr++) {
        hd_amplitude_opts o = opts_n(N_EVENTS);
        o.process = processes[pr].id;
        check_cuts(&o);
        /* other cuts take effect: each of these alone removes many default events */
        o.n_events = 1000;
        o.sqrt_s = 1000;
        o.pt_min = 150;
        o.eta_max = 1.2;
        o.dr_min = 1.5;
        check_cuts(&o);
    }
}

/* The photons are never always the leading pair: the gluon is not sorted with them. */
static void test_gluon_is_not_sorted(void **state)
{
    (void)state;
    hd_amplitude_opts o = opts_n(N_EVENTS);
    events e = simulate(&o);
    int64_t gluon_leads = 0;
    for (int64_t i = 0; i < e.n; i++) gluon_leads += hd_amp_pt(e.p + 20 * i + 16) > hd_amp_pt(e.p + 20 * i + 8);
    /* flat phase space: each of the three is the hardest a third of the time */
    assert_true(gluon_leads > e.n / 4 && gluon_leads < e.n * 5 / 12);
    events_free(&e);
}

/* Flat massless 3-body phase space is uniform in the Dalitz triangle
 * x1 + x2 >= 1, x1, x2 <= 1 (x_i = 2 E_i / sqrt(s)), and each direction is
 * isotropic.  Chi-square of a 10 x 10 grid in (x1, x2) and of cos theta. */
static void test_rambo_is_flat(void **state)
{
    (void)state;
    enum { N = 20000, B = 10 };
    double grid[B][B] = {{0}}, cos_hist[B] = {0};
    hd_rng rng;
    hd_rng_init(&rng, 42, HD_STREAM_USER);
    const double w = 91.0;
    for (int n = 0; n < N; n++) {
        double u[12], k[12];
        for (int j = 0; j < 12; j++) u[j] = hd_amp_uniform(&rng);
        hd_rambo_massless(w, 3, u, k);
        double x1 = 2 * k[0] / w, x2 = 2 * k[4] / w;
        grid[(int)(x1 * B)][(int)(x2 * B)] += 1; /* x_i < 1 strictly away from a measure-zero set */
        cos_hist[(int)((k[3] / k[0] + 1) / 2 * B)] += 1;
    }
    double chi2 = 0;
    int cells = 0;
    for (int i = 0; i < B; i++)
        for (int j = 0; j < B; j++) {
            /* area of the cell inside the triangle, over the triangle's area 1/2 */
            double prob = (i + j >= B ? 1.0 : i + j == B - 1 ? 0.5 : 0.0) / (B * B) / 0.5;
            if (prob == 0) {
                assert_true(grid[i][j] == 0); /* nothing outside the kinematic boundary */
                continue;
            }
            double expect = prob * N;
            chi2 += (grid[i][j] - expect) * (grid[i][j] - expect) / expect;
            cells++;
        }
    assert_int_equal(cells, 55);
    /* 54 degrees of freedom: mean 54, sd 10.4; 110 is p ~ 1e-5 */
    if (chi2 > 110) fail_msg("Dalitz plot chi2 = %g for 54 dof", chi2);
    double chi2_cos = 0;
    for (int b = 0; b < B; b++) chi2_cos += (cos_hist[b] - N / B) * (cos_hist[b] - N / B) / (N / B);
    if (chi2_cos > 35) fail_msg("cos theta chi2 = %g for 9 dof", chi2_cos);
}

/* ---- matrix elements against Feynman diagrams --------------------------------
 * The fermion line v(p2) Gamma u(p1) with Gamma the sum over the orderings
 * of the bosons along the line of eps_n S(..) ... S(p1 - k_first) eps_first,
 * per unit couplings.  Summed over spins, |v Gamma u|^2 = Tr[Gamma p1/ Gamma-bar
 * p2/]; summed over two real transverse polarisations per boson.  For
 * e+e- -> q qbar g the same line, crossed, is the quark's, contracted with
 * the lepton current through the photon propagator. */

typedef double complex cplx;
typedef struct {
    cplx a[4][4];
} mat4;

static mat4 gamma_mu[4];

static void init_gammas(void)
{
    static const cplx sigma[3][2][2] = {{{0, 1}, {1, 0}}, {{0, -I}, {I, 0}}, {{1, 0}, {0, -1}}};
    memset(gamma_mu, 0, sizeof gamma_mu);
    for (int i = 0; i < 4; i++) gamma_mu[0].a[i][i] = i < 2 ? 1 : -1;
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++) {
                gamma_mu[k + 1].a[i][j + 2] = sigma[k][i][j];
                gamma_mu[k + 1].a[i + 2][j] = -sigma[k][i][j];
            }
}

static mat4 mul(mat4 x, mat4 y)
{
    mat4 z;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            cplx s = 0;
            for (int l = 0; l < 4; l++) s += x.a[i][l] * y.a[l][j];
            z.a[i][j] = s;
        }
    return z;
}

static mat4 add_scaled(mat4 x, mat4 y, double c)
{
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) x.a[i][j] += c * y.a[i][j];
    return x;
}

static mat4 slash(const double *p)
{
    mat4 z;
    memset(&z, 0, sizeof z);
    z = add_scaled(z, gamma_mu[0], p[0]);
    for (int k = 1; k < 4; k++) z = add_scaled(z, gamma_mu[k], -p[k]);
    return z;
}

static mat4 dirac_bar(mat4 x) /* gamma0 x^dagger gamma0 */
{
    mat4 d;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) d.a[i][j] = conj(x.a[j][i]);
    return mul(gamma_mu[0], mul(d, gamma_mu[0]));
}

/* Tr[g p1/ h-bar p2/]: the sum over spins of (v-bar(p2) g u(p1)) (v-bar(p2) h u(p1))^*
 * (or, read the other way, of (u-bar(p2) g v(p1)) (u-bar(p2) h v(p1))^*). */
static cplx line_trace(mat4 g, mat4 h, const double *p1, const double *p2)
{
    mat4 t = mul(mul(g, slash(p1)), mul(dirac_bar(h), slash(p2)));
    return t.a[0][0] + t.a[1][1] + t.a[2][2] + t.a[3][3];
}

static double spin_sum(mat4 g, const double *p1, const double *p2) { return creal(line_trace(g, g, p1, p2)); }

/* Gamma for n = 2 or 3 bosons with momenta k [n x 4], polarisations eps [n x 4]. */
static mat4 fermion_line(const double *p1, int n, const double *k, const double *eps)
{
    static const int perm3[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    static const int perm2[2][3] = {{0, 1, 0}, {1, 0, 0}};
    mat4 sum;
    memset(&sum, 0, sizeof sum);
    for (int s = 0; s < (n == 3 ? 6 : 2); s++) {
        const int *o = n == 3 ? perm3[s] : perm2[s];
        mat4 g = slash(eps + 4 * o[0]);
        double q[4] = {p1[0], p1[1], p1[2], p1[3]};
        for (int j = 1; j < n; j++) {
            for (int mu = 0; mu < 4; mu++) q[mu] -= k[4 * o[j - 1] + mu];
            g = mul(slash(eps + 4 * o[j]), mul(slash(q), g));
            double q2 = hd_amp_dot(q, q);
            for (int a = 0; a < 4; a++)
                for (int b = 0; b < 4; b++) g.a[a][b] /= q2;
        }
        sum = add_scaled(sum, g, 1.0);
    }
    return sum;
}

/* Two real polarisation vectors (0, e) with e orthogonal to k and to each other. */
static void polarisations(const double *k, double eps[2][4])
{
    double n[3] = {k[1], k[2], k[3]}, len = sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);
    for (int d = 0; d < 3; d++) n[d] /= len;
    double a[3] = {n[1], -n[0], 0}; /* n x z */
    double la = hypot(a[0], a[1]);
    for (int d = 0; d < 3; d++) a[d] /= la;
    double b[3] = {n[1] * a[2] - n[2] * a[1], n[2] * a[0] - n[0] * a[2], n[0] * a[1] - n[1] * a[0]};
    eps[0][0] = eps[1][0] = 0;
    for (int d = 0; d < 3; d++) {
        eps[0][1 + d] = a[d];
        eps[1][1 + d] = b[d];
    }
}

/* Sum over spins and polarisations of |M|^2 per unit couplings, no colour. */
static double diagrams(const double *p, int n)
{
    double pol[3][2][4], eps[12];
    for (int j = 0; j < n; j++) polarisations(p + 8 + 4 * j, pol[j]);
    double sum = 0;
    for (int h = 0; h < 1 << n; h++) {
        for (int j = 0; j < n; j++) memcpy(eps + 4 * j, pol[j][h >> j & 1], sizeof pol[j][0]);
        sum += spin_sum(fermion_line(p, n, p + 8, eps), p, p + 4);
    }
    return sum;
}

/* gamma_a = slash(e_a), the unit vector e_a^mu = delta_a^mu */
static mat4 slash_basis(int a)
{
    double e[4] = {0, 0, 0, 0};
    e[a] = 1;
    return slash(e);
}

/* e+(p1) e-(p2) -> gamma* -> q(k1) qbar(k2) [g(k3)]: the lepton current
 * J_a = v-bar(p1) gamma_a u(p2), the propagator -g^ab / s and the quark line
 * K_b = u-bar(k1) Gamma_b v(k2), given Gamma_a for a = 0..3.  Summed over spins,
 * sum_ab g^aa g^bb Tr[gamma_a p2/ gamma_b p1/] Tr[Gamma_a k2/ Gamma-bar_b k1/] / s^2. */
static double photon_exchange(const double *p, const mat4 quark[4])
{
    static const double metric[4] = {1, -1, -1, -1};
    cplx sum = 0;
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++)
            sum += metric[a] * metric[b] * line_trace(slash_basis(a), slash_basis(b), p + 4, p) *
                   line_trace(quark[a], quark[b], p + 12, p + 8);
    double s = 2 * hd_amp_dot(p, p + 4);
    return creal(sum) / (s * s);
}

/* Gamma_a of u-bar(k1) Gamma_a v(k2) with a gluon of polarisation eps on the
 * quark or the antiquark: fermion_line crossed, with the incoming fermion -k2
 * and the bosons outgoing with -(p1 + p2) (the photon, polarisation e_a) and k3. */
static void quark_lines(const double *p, const double *eps_g, mat4 quark[4])
{
    double anti[4], bosons[8], eps[8] = {0};
    for (int mu = 0; mu < 4; mu++) {
        anti[mu] = -p[12 + mu];
        bosons[mu] = -(p[mu] + p[4 + mu]);
        bosons[4 + mu] = p[16 + mu];
        eps[4 + mu] = eps_g[mu];
    }
    for (int a = 0; a < 4; a++) {
        for (int mu = 0; mu < 4; mu++) eps[mu] = mu == a;
        quark[a] = fermion_line(anti, 2, bosons, eps);
    }
}

/* Sum over spins and polarisations of |M|^2(e+e- -> q qbar g) per unit
 * couplings, no colour; n = 2: of e+e- -> q qbar from p [4 x 4]. */
static double ee_diagrams(const double *p, int n)
{
    mat4 quark[4];
    if (n == 2) {
        for (int a = 0; a < 4; a++) quark[a] = slash_basis(a);
        return photon_exchange(p, quark);
    }
    double pol[2][4], sum = 0;
    polarisations(p + 16, pol);
    for (int h = 0; h < 2; h++) {
        quark_lines(p, pol[h], quark);
        sum += photon_exchange(p, quark);
    }
    return sum;
}

static void test_diagrams_obey_ward_identity(void **state)
{
    (void)state;
    init_gammas();
    hd_amplitude_opts o = opts_n(5);
    events e = simulate(&o);
    for (int64_t i = 0; i < e.n; i++) {
        const double *p = e.p + 20 * i;
        for (int j = 0; j < 3; j++) {
            double pol[3][2][4], eps[12], ref[12];
            for (int l = 0; l < 3; l++) {
                polarisations(p + 8 + 4 * l, pol[l]);
                memcpy(eps + 4 * l, pol[l][0], sizeof pol[l][0]);
            }
            memcpy(ref, eps, sizeof eps);
            /* eps_j -> k_j gives zero; (0, k_j) of the same size does not */
            memcpy(eps + 4 * j, p + 8 + 4 * j, 4 * sizeof(double));
            memcpy(ref + 4 * j, p + 8 + 4 * j, 4 * sizeof(double));
            ref[4 * j] = 0;
            double gauge = spin_sum(fermion_line(p, 3, p + 8, eps), p, p + 4);
            double scale = spin_sum(fermion_line(p, 3, p + 8, ref), p, p + 4);
            assert_true(scale > 0);
            assert_near(gauge / scale, 0, 1e-12);
        }
        /* e+e- -> q qbar g: the gluon on the quark and on the antiquark cancel for eps -> k3 */
        double ref[4] = {0, p[17], p[18], p[19]};
        mat4 quark[4];
        quark_lines(p, p + 16, quark);
        double gauge = photon_exchange(p, quark);
        quark_lines(p, ref, quark);
        double scale = photon_exchange(p, quark);
        assert_true(scale > 0);
        assert_near(gauge / scale, 0, 1e-12);
    }
    events_free(&e);
}

/* The 2 -> 2 event of p: its beams, and two particles back to back along p's third row. */
static void born_event(const double *p, double r[16])
{
    double len = sqrt(p[9] * p[9] + p[10] * p[10] + p[11] * p[11]), half = p[0];
    memcpy(r, p, 8 * sizeof(double));
    r[8] = r[12] = half;
    for (int d = 1; d < 4; d++) {
        r[8 + d] = half * p[8 + d] / len;
        r[12 + d] = -r[8 + d];
    }
}

static void test_formulas_match_diagrams(void **state)
{
    (void)state;
    init_gammas();
    hd_amplitude_opts o = opts_n(20);
    events e = simulate(&o);
    double e2 = 4 * PI * HD_AMP_ALPHA, gs2 = 4 * PI * HD_AMP_ALPHA_S;
    for (int64_t i = 0; i < e.n; i++) {
        const double *p = e.p + 20 * i;
        for (int c = 0; c < 2; c++) {
            double q = c ? -1.0 / 3 : 2.0 / 3, q4 = q * q * q * q;
            /* colour: Tr(T^a T^a) = C_F N_c = 4 with a gluon, N_c = 3 without; average 1/(4 * 9) */
            double aag = e2 * e2 * q4 * gs2 * 4 * diagrams(p, 3) / 36;
            assert_rel(hd_me2_qqbar_aag(p, q), aag, 1e-10);
            /* 2 -> 2: the photons back to back along the leading photon's direction */
            double r[16];
            born_event(p, r);
            double aa = e2 * e2 * q4 * 3 * diagrams(r, 2) / 36;
            assert_rel(hd_me2_qqbar_aa(r, q), aa, 1e-10);
        }
    }
    events_free(&e);
}

static void test_ee_formulas_match_diagrams(void **state)
{
    (void)state;
    init_gammas();
    hd_amplitude_opts o = opts_n(20);
    o.process = HD_AMP_EE_QQG;
    events e = simulate(&o);
    double e2 = 4 * PI * HD_AMP_ALPHA, gs2 = 4 * PI * HD_AMP_ALPHA_S;
    for (int64_t i = 0; i < e.n; i++) {
        const double *p = e.p + 20 * i;
        double r[16];
        born_event(p, r);
        for (int c = 0; c < 2; c++) {
            double q = c ? -1.0 / 3 : 2.0 / 3, q2 = q * q;
            /* colour: C_F N_c = 4 with the gluon, N_c = 3 without; average over the 2 x 2 lepton spins */
            assert_rel(hd_me2_ee_qqg(p, q), e2 * e2 * q2 * gs2 * 4 * ee_diagrams(p, 3) / 4, 1e-10);
            assert_rel(hd_me2_ee_qq(r, q), e2 * e2 * q2 * 3 * ee_diagrams(r, 2) / 4, 1e-10);
        }
    }
    events_free(&e);
}

/* ---- symmetries and invariance --------------------------------------------- */

static void permute(const double *p, const int order[5], double *out)
{
    for (int k = 0; k < 5; k++) memcpy(out + 4 * k, p + 4 * order[k], 4 * sizeof(double));
}

/* |M|^2 of pr is unchanged by the row orders, changed by broken (NULL: none),
 * and a down-type quark gives down_over_up of an up-type one. */
static void check_symmetries(const process *pr, const int (*orders)[5], int n_orders, const int *broken,
                             double down_over_up)
{
    hd_amplitude_opts o = opts_n(200);
    o.process = pr->id;
    events e = simulate(&o);
    for (int64_t i = 0; i < e.n; i++) {
        const double *p = e.p + 20 * i;
        double m = pr->me2(p, 2.0 / 3), q[20];
        assert_true(m > 0 && isfinite(m));
        for (int s = 0; s < n_orders; s++) {
            permute(p, orders[s], q);
            assert_rel(pr->me2(q, 2.0 / 3), m, 1e-12);
        }
        if (broken) {
            permute(p, broken, q);
            assert_true(fabs(pr->me2(q, 2.0 / 3) / m - 1) > 1e-6);
        }
        assert_rel(pr->me2(p, -1.0 / 3), m * down_over_up, 1e-12);
    }
    events_free(&e);
}

static void test_symmetries(void **state)
{
    (void)state;
    /* q qbar -> gamma gamma g: p1 <-> p2 and any permutation of the three bosons; Q^4 */
    static const int aag[][5] = {{0, 1, 3, 2, 4}, {1, 0, 2, 3, 4}, {0, 1, 4, 2, 3}, {0, 1, 2, 4, 3},
                                 {0, 1, 3, 4, 2}, {1, 0, 4, 3, 2}};
    check_symmetries(&processes[HD_AMP_QQBAR_AAG], aag, 6, NULL, 1.0 / 16);
    /* e+e- -> q qbar g: p1 <-> p2, q <-> qbar, and both at once (C); not the gluon
     * with a quark, so the network must know which row is the gluon; Q^2 */
    static const int qqg[][5] = {{1, 0, 2, 3, 4}, {0, 1, 3, 2, 4}, {1, 0, 3, 2, 4}};
    check_symmetries(&processes[HD_AMP_EE_QQG], qqg, 3, (const int[5]){0, 1, 4, 3, 2}, 1.0 / 4);
}

static void boost(double *p, int n, int axis, double rapidity)
{
    double ch = cosh(rapidity), sh = sinh(rapidity);
    for (int k = 0; k < n; k++) {
        double *q = p + 4 * k, e = q[0], z = q[axis];
        q[0] = ch * e + sh * z;
        q[axis] = sh * e + ch * z;
    }
}

static void rotate_xy(double *p, int n, double angle)
{
    double c = cos(angle), s = sin(angle);
    for (int k = 0; k < n; k++) {
        double *q = p + 4 * k, x = q[1], y = q[2];
        q[1] = c * x - s * y;
        q[2] = s * x + c * y;
    }
}

static void test_lorentz_invariance(void **state)
{
    (void)state;
    for (int pr = 0; pr < N_PROCESSES; pr++) {
        hd_amplitude_opts o = opts_n(200);
        o.process = processes[pr].id;
        events e = simulate(&o);
        double (*me2)(const double *, double) = processes[pr].me2;
        for (int64_t i = 0; i < e.n; i++) {
            const double *p = e.p + 20 * i;
            double m = me2(p, o.charge), q[20];
            memcpy(q, p, sizeof q);
            boost(q, 5, 3, 0.8); /* along z: a partonic event with unequal x1, x2 */
            assert_near(hd_amp_dot(q, q + 4), hd_amp_dot(p, p + 4), 1e-9 * o.sqrt_s * o.sqrt_s);
            assert_rel(me2(q, o.charge), m, 1e-10);
            rotate_xy(q, 5, 0.3); /* a rotation and a transverse boost on top */
            boost(q, 5, 1, -1.1);
            assert_rel(me2(q, o.charge), m, 1e-10);
        }
        events_free(&e);
    }
}

/* ---- the soft-gluon limit -------------------------------------------------------
 * A 2 -> 2 event p1 p2 -> k1 k2 plus a gluon of energy lambda E: the pair k1
 * k2 takes the recoil (its rest frame is boosted, its direction there kept).
 * As lambda -> 0, |M|^2(2 -> 3) -> g_s^2 C_F 2 a.b / (a.k b.k) |M|^2(2 -> 2),
 * with a, b the quarks the gluon comes from: p1, p2 in q qbar -> gamma gamma g,
 * k1, k2 in e+e- -> q qbar g. */

static void soft_event(double e, const double n[3], const double m[3], double lambda, double *p)
{
    double *k1 = p + 8, *k2 = p + 12, *g = p + 16;
    const double beam[8] = {e, 0, 0, e, e, 0, 0, -e};
    memcpy(p, beam, sizeof beam);
    g[0] = lambda * e;
    for (int d = 0; d < 3; d++) g[1 + d] = lambda * e * m[d];
    double pair[4] = {2 * e - g[0], -g[1], -g[2], -g[3]}, mass = sqrt(hd_amp_dot(pair, pair));
    /* back to back in the pair's rest frame, then boosted to the pair's velocity */
    double b[3] = {pair[1] / pair[0], pair[2] / pair[0], pair[3] / pair[0]};
    double b2 = b[0] * b[0] + b[1] * b[1] + b[2] * b[2], gam = 1 / sqrt(1 - b2);
    for (int s = 0; s < 2; s++) {
        double *k = s ? k2 : k1, sign = s ? -1 : 1, half = mass / 2;
        double v[3] = {sign * half * n[0], sign * half * n[1], sign * half * n[2]};
        double bv = b[0] * v[0] + b[1] * v[1] + b[2] * v[2];
        k[0] = gam * (half + bv);
        for (int d = 0; d < 3; d++) k[1 + d] = v[d] + ((gam - 1) * bv / (b2 > 0 ? b2 : 1) + gam * half) * b[d];
    }
}

static double soft_ratio(const process *pr, double e, const double n[3], const double m[3], double lambda)
{
    double p[20], ref[20];
    soft_event(e, n, m, lambda, p);
    soft_event(e, n, m, 0, ref);
    for (int mu = 0; mu < 4; mu++) /* momentum balance by construction */
        assert_near(p[mu] + p[4 + mu], p[8 + mu] + p[12 + mu] + p[16 + mu], 1e-12 * e);
    const double *k = p + 16, *a = p + 4 * pr->emitter, *b = a + 4;
    double cf = 4.0 / 3, gs2 = 4 * PI * HD_AMP_ALPHA_S;
    double eikonal = gs2 * cf * 2 * hd_amp_dot(a, b) / (hd_amp_dot(a, k) * hd_amp_dot(b, k));
    return pr->me2(p, 2.0 / 3) / (eikonal * pr->born(ref, 2.0 / 3));
}

static void unit(double x, double y, double z, double *n)
{
    double l = sqrt(x * x + y * y + z * z);
    n[0] = x / l;
    n[1] = y / l;
    n[2] = z / l;
}

/* |ratio - 1| < 0.01 lambda for lambda = 1e-2, 1e-3, 1e-4 in three configurations,
 * falling by more than 30 each decade. */
static void check_soft_limit(const process *pr)
{
    const double dirs[][2][3] = {{{0.6, 0.2, 0.3}, {-0.4, 0.9, 0.1}},
                                 {{0.1, -0.5, 0.8}, {0.7, 0.1, -0.5}},
                                 {{1.0, 0.0, -0.1}, {0.0, 0.3, 0.9}}};
    for (size_t c = 0; c < sizeof dirs / sizeof dirs[0]; c++) {
        double n[3], m[3];
        unit(dirs[c][0][0], dirs[c][0][1], dirs[c][0][2], n);
        unit(dirs[c][1][0], dirs[c][1][1], dirs[c][1][2], m);
        double prev = INFINITY;
        for (int d = 2; d <= 4; d++) {
            double lambda = pow(10, -d);
            double dev = fabs(soft_ratio(pr, 250, n, m, lambda) - 1);
            /* Next-to-soft corrections are O(lambda) in general; with the recoil
             * taken by boosting the pair k1 k2 they cancel at that order here,
             * and each decade takes two digits off (4.5e-5 at lambda = 1e-2 in
             * q qbar -> gamma gamma g, 2e-5 to 5e-5 in e+e- -> q qbar g).
             * A wrong normalisation fails at every lambda. */
            if (!(dev < 0.01 * lambda)) fail_msg("config %zu, lambda %g: |ratio - 1| = %g", c, lambda, dev);
            assert_true(dev < prev / 30);
            prev = dev;
        }
        assert_true(prev < 1e-8);
    }
}

static void test_soft_gluon_limit(void **state)
{
    (void)state;
    for (int pr = 0; pr < N_PROCESSES; pr++) check_soft_limit(&processes[pr]);
}

/* ---- options and reproducibility ---------------------------------------------- */

static void test_reproducible(void **state)
{
    (void)state;
    hd_amplitude_opts o = opts_n(3000);
    hd_set_threads(1);
    events a = simulate(&o);
    hd_set_threads(3);
    events b = simulate(&o);
    hd_set_threads(0);
    assert_memory_equal(a.p, b.p, 20 * 3000 * sizeof(double));
    assert_memory_equal(a.amp, b.amp, 3000 * sizeof(double));
    /* a shorter run is the start of a longer one */
    hd_amplitude_opts s = opts_n(100);
    events c = simulate(&s);
    assert_memory_equal(a.p, c.p, 20 * 100 * sizeof(double));
    /* the other process draws the same points, and gives them its own |M|^2 */
    hd_amplitude_opts ee = s;
    ee.process = HD_AMP_EE_QQG;
    events g = simulate(&ee);
    assert_memory_equal(c.p, g.p, 20 * 100 * sizeof(double));
    for (int64_t i = 0; i < g.n; i++) assert_true(g.amp[i] == hd_me2_ee_qqg(g.p + 20 * i, ee.charge));
    events_free(&b);
    events_free(&c);
    events_free(&g);

    hd_amplitude_opts other_seed = o, other_part = o;
    other_seed.seed = 2;
    other_part.part = 1;
    events d = simulate(&other_seed), f = simulate(&other_part);
    for (int64_t i = 0; i < a.n; i++) /* no event repeats */
        for (int64_t j = 0; j < 50; j++) {
            assert_true(a.amp[i] != d.amp[j]);
            assert_true(a.amp[i] != f.amp[j]);
        }
    events_free(&a);
    events_free(&d);
    events_free(&f);
}

static void test_bad_options(void **state)
{
    (void)state;
    double p[20], amp[1];
    hd_amplitude_opts o = opts_n(1);
    assert_error(hd_sim_amplitudes(NULL, p, amp), HD_EINVAL, "NULL opts", NULL);
    assert_error(hd_sim_amplitudes(&o, NULL, amp), HD_EINVAL, "NULL momenta", NULL);
    hd_amplitude_opts b = o;
    b.process = (hd_amp_process)2;
    assert_error(hd_sim_amplitudes(&b, p, amp), HD_EINVAL, "process = 2", "HD_AMP_EE_QQG");
    b = o;
    b.n_events = 0;
    assert_error(hd_sim_amplitudes(&b, p, amp), HD_EINVAL, "n_events = 0", NULL);
    b = o;
    b.part = HD_AMP_MAX_PARTS;
    assert_error(hd_sim_amplitudes(&b, p, amp), HD_EINVAL, "part = 16", NULL);
    b = o;
    b.pt_min = 0;
    assert_error(hd_sim_amplitudes(&b, p, amp), HD_EINVAL, "pt_min = 0", NULL);
    b = o;
    b.pt_min = 170;
    assert_error(hd_sim_amplitudes(&b, p, amp), HD_EINVAL, "pt_min = 170", "sqrt_s / 3");
    b = o;
    b.sqrt_s = NAN;
    assert_error(hd_sim_amplitudes(&b, p, amp), HD_EINVAL, "sqrt_s = nan", NULL);
    b = o;
    b.eta_max = -1;
    assert_error(hd_sim_amplitudes(&b, p, amp), HD_EINVAL, "eta_max = -1", NULL);
    b = o;
    b.dr_min = -0.1;
    assert_error(hd_sim_amplitudes(&b, p, amp), HD_EINVAL, "dr_min = -0.1", NULL);
    b = o;
    b.charge = 0;
    assert_error(hd_sim_amplitudes(&b, p, amp), HD_EINVAL, "charge = 0", NULL);
    /* three particles within |eta| < 0.1 cannot all be 2.5 apart in Delta R */
    b = o;
    b.eta_max = 0.1;
    b.dr_min = 2.5;
    assert_error(hd_sim_amplitudes(&b, p, amp), HD_EINVAL, "passed the cuts", "loosen");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conservation_and_mass_shell),
        cmocka_unit_test(test_cuts_and_ordering),
        cmocka_unit_test(test_gluon_is_not_sorted),
        cmocka_unit_test(test_rambo_is_flat),
        cmocka_unit_test(test_diagrams_obey_ward_identity),
        cmocka_unit_test(test_formulas_match_diagrams),
        cmocka_unit_test(test_ee_formulas_match_diagrams),
        cmocka_unit_test(test_symmetries),
        cmocka_unit_test(test_lorentz_invariance),
        cmocka_unit_test(test_soft_gluon_limit),
        cmocka_unit_test(test_reproducible),
        cmocka_unit_test(test_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
