/* The two-stage mixture density network's rows, targets and draws
 * (nn/mdn.h); the loss is the gen workflow's, the nets are hd_mlp's. */
#include "nn/mdn.h"

#include <math.h>
#include <string.h>

#define FRAC_EPS 1e-7  /* added to E_layer / E_inc before the log */
#define LEFT_MIN 1e-9  /* a fraction of E_tot left at or below it: nothing left */
#define SHARE_EDGE 1e-12
#define STD_MIN 1e-3f

int64_t hd_mdn_energy_in(const hd_mdn *m) { return m->n_cond + 1 + 4 * (m->n_layers - 1) + 1 + m->n_layers; }
int64_t hd_mdn_energy_out(const hd_mdn *m) { return HD_MDN_CLASSES + 3 * m->k; }
int64_t hd_mdn_voxel_in(const hd_mdn *m) { return m->n_cond + 2 * m->n_layers; }
int64_t hd_mdn_voxel_out(const hd_mdn *m) { return m->n_per_layer * (1 + 3 * m->k); }
int64_t hd_mdn_noise_dim(const hd_mdn *m) { return 3 * (m->n_layers + m->n_layers * m->n_per_layer); }

int hd_mdn_alloc(hd_mdn *m)
{
    int64_t L = m->n_layers, V = L * m->n_per_layer;
    m->share_mean = hd_malloc((size_t)(L > 1 ? L - 1 : 1) * sizeof(float));
    m->share_std = hd_malloc((size_t)(L > 1 ? L - 1 : 1) * sizeof(float));
    m->frac_mean = hd_malloc((size_t)L * sizeof(float));
    m->frac_std = hd_malloc((size_t)L * sizeof(float));
    m->vox_mean = hd_malloc((size_t)V * sizeof(float));
    m->vox_std = hd_malloc((size_t)V * sizeof(float));
    if (!m->share_mean || !m->share_std || !m->frac_mean || !m->frac_std || !m->vox_mean || !m->vox_std) {
        hd_mdn_release(m);
        return HD_ENOMEM;
    }
    return HD_OK;
}

void hd_mdn_release(hd_mdn *m)
{
    hd_free(m->share_mean);
    hd_free(m->share_std);
    hd_free(m->frac_mean);
    hd_free(m->frac_std);
    hd_free(m->vox_mean);
    hd_free(m->vox_std);
    m->share_mean = m->share_std = m->frac_mean = m->frac_std = m->vox_mean = m->vox_std = NULL;
}

/* The state before standardising: ratio and z raw (ln, logit). */
static void raw_state(const hd_mdn *m, float energy, const float *shower, hd_mdn_state *s)
{
    int64_t L = m->n_layers, M = m->n_per_layer;
    double tot = 0;
    for (int64_t l = 0; l < L; l++) {
        double e = 0;
        for (int64_t j = 0; j < M; j++) e += shower[l * M + j];
        s->e_layer[l] = e;
        tot += e;
    }
    s->e_tot = tot;
    double ratio = tot / energy;
    s->ratio = (float)log(ratio > 1e-6 ? ratio : 1e-6);
    double before = 0;
    for (int64_t l = 0; l < L; l++) {
        s->left[l] = tot > 0 ? fmax(0.0, (tot - before) / tot) : 0;
        double rest = tot - before - s->e_layer[l];
        before += s->e_layer[l];
        s->z[l] = 0;
        if (l == L - 1 || !(s->left[l] > LEFT_MIN)) s->cls[l] = 0;
        else if (s->e_layer[l] <= 0) s->cls[l] = 0;
        else if (rest <= LEFT_MIN * tot) s->cls[l] = 1;
        else {
            double f = s->e_layer[l] / (s->left[l] * tot);
            f = fmin(fmax(f, SHARE_EDGE), 1 - SHARE_EDGE);
            s->cls[l] = 2;
            s->z[l] = (float)log(f / (1 - f));
        }
    }
}

static float frac_feature(const hd_mdn_state *s, float energy, int64_t l)
{
    return (float)log(s->e_layer[l] / energy + FRAC_EPS);
}

static void finish(float *mean, float *std, const double *sum, const double *sq, const int64_t *cnt, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        if (cnt[i] < 2) {
            mean[i] = 0;
            std[i] = 1;
            continue;
        }
        double mu = sum[i] / (double)cnt[i], var = sq[i] / (double)cnt[i] - mu * mu;
        mean[i] = (float)mu;
        std[i] = var > (double)STD_MIN * STD_MIN ? (float)sqrt(var) : STD_MIN;
    }
}

int hd_mdn_fit(hd_mdn *m, int64_t n_layers, int64_t n_per_layer, int64_t n_cond, int k, int64_t n,
               const float *energy, const float *showers)
{
    if (n_layers < 1 || n_layers > HD_CALO_MAX_LAYERS || n_per_layer < 1 || k < 1 || k > HD_MDN_MAX_K || n < 2)
        return hd_error(HD_EINVAL, "mdn: %lld layers of %lld voxels, %d components, %lld showers (want 1..%d layers, "
                        "1..%d components, 2 or more showers)", (long long)n_layers, (long long)n_per_layer, k,
                        (long long)n, HD_CALO_MAX_LAYERS, HD_MDN_MAX_K);
    *m = (hd_mdn){.n_layers = n_layers, .n_per_layer = n_per_layer, .n_cond = n_cond, .k = k};
    int64_t L = n_layers, V = L * n_per_layer, cols = 1 + L + L + V; /* ratio, shares, fracs, voxels */
    int rc = hd_mdn_alloc(m);
    double *sum = hd_calloc((size_t)(3 * cols), sizeof(double));
    int64_t *cnt = hd_calloc((size_t)cols, sizeof(int64_t));
    if (rc != HD_OK || !sum || !cnt) {
        hd_free(sum);
        hd_free(cnt);
        hd_mdn_release(m);
        return HD_ENOMEM;
    }
    double *sq = sum + cols;
    hd_mdn_state s;
    for (int64_t i = 0; i < n; i++) {
        const float *sh = showers + i * V;
        raw_state(m, energy[i], sh, &s);
        double v[1 + 2 * HD_CALO_MAX_LAYERS];
        int use[1 + 2 * HD_CALO_MAX_LAYERS];
        v[0] = s.ratio, use[0] = 1;
        for (int64_t l = 0; l < L; l++) {
            v[1 + l] = s.z[l], use[1 + l] = s.cls[l] == 2;
            v[1 + L + l] = frac_feature(&s, energy[i], l), use[1 + L + l] = 1;
        }
        for (int64_t c = 0; c < 1 + 2 * L; c++)
            if (use[c]) sum[c] += v[c], sq[c] += v[c] * v[c], cnt[c]++;
        for (int64_t j = 0; j < V; j++) {
            double el = s.e_layer[j / n_per_layer];
            if (!(sh[j] > 0) || !(el > 0)) continue;
            double y = log(sh[j] / el);
            sum[1 + 2 * L + j] += y, sq[1 + 2 * L + j] += y * y, cnt[1 + 2 * L + j]++;
        }
    }
    float rm, rs;
    finish(&rm, &rs, sum, sq, cnt, 1);
    m->ratio_mean = rm, m->ratio_std = rs;
    if (L > 1) finish(m->share_mean, m->share_std, sum + 1, sq + 1, cnt + 1, L - 1);
    finish(m->frac_mean, m->frac_std, sum + 1 + L, sq + 1 + L, cnt + 1 + L, L);
    finish(m->vox_mean, m->vox_std, sum + 1 + 2 * L, sq + 1 + 2 * L, cnt + 1 + 2 * L, V);
    hd_free(sum);
    hd_free(cnt);
    return HD_OK;
}

void hd_mdn_state_of(const hd_mdn *m, float energy, const float *shower, hd_mdn_state *s)
{
    raw_state(m, energy, shower, s);
    s->ratio = (s->ratio - m->ratio_mean) / m->ratio_std;
    for (int64_t l = 0; l + 1 < m->n_layers; l++)
        if (s->cls[l] == 2) s->z[l] = (s->z[l] - m->share_mean[l]) / m->share_std[l];
}

static int active(const hd_mdn_state *s, int p) { return p == 0 || s->left[p - 1] > LEFT_MIN; }

void hd_mdn_energy_row(const hd_mdn *m, const float *c, const hd_mdn_state *s, int p, float *in)
{
    int64_t L = m->n_layers;
    memcpy(in, c, (size_t)m->n_cond * sizeof(float));
    float *o = in + m->n_cond;
    *o++ = p > 0 ? s->ratio : 0.0f;
    for (int64_t j = 0; j + 1 < L; j++) *o++ = j < p - 1 ? s->z[j] : 0.0f;
    for (int64_t j = 0; j + 1 < L; j++)
        for (int q = 0; q < HD_MDN_CLASSES; q++) *o++ = j < p - 1 && s->cls[j] == q ? 1.0f : 0.0f;
    *o++ = p > 0 ? (float)(log(fmax(s->left[p - 1], 1e-12)) / 5) : 0.0f;
    for (int64_t q = 0; q < L; q++) *o++ = q == p ? 1.0f : 0.0f;
}

void hd_mdn_energy_target(const hd_mdn *m, const hd_mdn_state *s, int p, float *cls, float *val, float *w)
{
    (void)m;
    for (int q = 0; q < HD_MDN_CLASSES; q++) cls[q] = 0;
    if (p == 0) {
        *val = s->ratio, *w = 1;
        return;
    }
    int l = p - 1;
    *val = 0, *w = 0;
    if (!active(s, p)) return;
    cls[s->cls[l]] = 1;
    if (s->cls[l] == 2) *val = s->z[l], *w = 1;
}

void hd_mdn_voxel_row(const hd_mdn *m, const float *c, float energy, const hd_mdn_state *s, int l, float *in)
{
    int64_t L = m->n_layers;
    memcpy(in, c, (size_t)m->n_cond * sizeof(float));
    float *o = in + m->n_cond;
    for (int64_t j = 0; j < L; j++) *o++ = (frac_feature(s, energy, j) - m->frac_mean[j]) / m->frac_std[j];
    for (int64_t q = 0; q < L; q++) *o++ = q == l ? 1.0f : 0.0f;
}

void hd_mdn_voxel_target(const hd_mdn *m, const hd_mdn_state *s, const float *shower, int l, float *nz, float *y)
{
    int64_t M = m->n_per_layer;
    double el = s->e_layer[l];
    for (int64_t j = 0; j < M; j++) {
        int64_t v = l * M + j;
        int on = shower[v] > 0 && el > 0;
        nz[j] = (float)on;
        y[j] = on ? (float)((log(shower[v] / el) - m->vox_mean[v]) / m->vox_std[v]) : 0.0f;
    }
}

/* ---- drawing ---------------------------------------------------------------- */

static double phi(float z) { return 0.5 * erfc(-(double)z / sqrt(2.0)); }

/* The index whose softmax(logits) cumulative first reaches u. */
static int categorical(const float *logits, int n, double u)
{
    double mx = logits[0], p[HD_MDN_MAX_K > HD_MDN_CLASSES ? HD_MDN_MAX_K : HD_MDN_CLASSES], tot = 0;
    for (int i = 1; i < n; i++) mx = fmax(mx, (double)logits[i]);
    for (int i = 0; i < n; i++) tot += p[i] = exp((double)logits[i] - mx);
    double acc = 0;
    for (int i = 0; i < n; i++)
        if ((acc += p[i]) >= u * tot) return i;
    return n - 1;
}

/* A draw from the mixture par (K logits, K means, K log sigmas): the
 * component from u, then mean + sigma z. */
static double mixture_draw(const float *par, int k, double u, float z)
{
    int c = categorical(par, k, u);
    double ls = fmin(fmax((double)par[2 * k + c], -10.0), 10.0);
    return (double)par[k + c] + exp(ls) * z;
}

void hd_mdn_energy_draw(const hd_mdn *m, hd_mdn_state *s, float energy, int p, const float *out, const float *z3)
{
    int64_t L = m->n_layers;
    const float *mix = out + HD_MDN_CLASSES;
    if (p == 0) {
        s->ratio = (float)mixture_draw(mix, m->k, phi(z3[1]), z3[2]);
        double r = fmin((double)s->ratio * m->ratio_std + m->ratio_mean, 1.0); /* E_tot <= e E_inc */
        s->e_tot = energy * exp(r);
        s->left[0] = 1;
    } else {
        int l = p - 1;
        double f = 0;
        s->z[l] = 0;
        s->cls[l] = 0;
        if (s->left[l] > LEFT_MIN) {
            s->cls[l] = categorical(out, HD_MDN_CLASSES, phi(z3[0]));
            if (s->cls[l] == 2) {
                s->z[l] = (float)mixture_draw(mix, m->k, phi(z3[1]), z3[2]);
                f = 1 / (1 + exp(-((double)s->z[l] * m->share_std[l] + m->share_mean[l])));
            } else {
                f = s->cls[l];
            }
        }
        s->e_layer[l] = f * s->left[l] * s->e_tot;
        s->left[l + 1] = s->left[l] * (1 - f);
    }
    if (p == L - 1) s->e_layer[L - 1] = s->left[L - 1] * s->e_tot;
}

void hd_mdn_voxel_draw(const hd_mdn *m, const hd_mdn_state *s, int l, const float *out, const float *z3m,
                       float threshold, float *vox)
{
    int64_t M = m->n_per_layer;
    int k = m->k;
    double el = s->e_layer[l], sum = 0;
    const float *par = out + M;
    int64_t best = 0;
    double best_v = 0;
    for (int64_t j = 0; j < M; j++) {
        int64_t v = l * M + j;
        const float *z = z3m + 3 * j;
        double y = mixture_draw(par + 3 * k * j, k, phi(z[1]), z[2]) * m->vox_std[v] + m->vox_mean[v];
        double x = exp(fmin(fmax(y, -60.0), 5.0));
        int on = phi(z[0]) < 1 / (1 + exp(-(double)out[j]));
        vox[j] = on ? (float)x : 0.0f;
        sum += vox[j];
        if (j == 0 || out[j] > out[best]) best = j, best_v = x;
    }
    if (!(el > 0)) {
        memset(vox, 0, (size_t)M * sizeof(float));
        return;
    }
    if (sum <= 0) vox[best] = (float)best_v; /* a layer with energy has a voxel with energy */
    for (int pass = 0; pass < 3; pass++) { /* to the layer's energy, then the threshold */
        sum = 0;
        for (int64_t j = 0; j < M; j++) sum += vox[j];
        if (!(sum > 0)) break;
        double scale = el / sum;
        for (int64_t j = 0; j < M; j++) {
            vox[j] = (float)(vox[j] * scale);
            if (vox[j] < threshold) vox[j] = 0;
        }
    }
}

/* ---- the nets ------------------------------------------------------------------ */

static hd_mlp_spec spec_of(const hd_mlp_spec *layers, int64_t n_in, int64_t n_out)
{
    hd_mlp_spec spec = *layers;
    spec.n_in = n_in;
    spec.n_out = n_out;
    spec.act = HD_ACT_LEAKY_RELU;
    spec.out_act = HD_ACT_NONE;
    return spec;
}

void hd_mdn_specs(const hd_mdn *m, const hd_mlp_spec *energy_layers, const hd_mlp_spec *voxel_layers,
                  hd_mlp_spec *energy, hd_mlp_spec *voxel)
{
    *energy = spec_of(energy_layers, hd_mdn_energy_in(m), hd_mdn_energy_out(m));
    *voxel = spec_of(voxel_layers, hd_mdn_voxel_in(m), hd_mdn_voxel_out(m));
}

int hd_mdn_nets(hd_graph *g, const hd_mlp_spec *energy, const hd_mlp_spec *voxel, hd_node *e_in, hd_node *v_in,
                hd_node **e_out, hd_node **v_out)
{
    *e_out = hd_mlp(g, energy, "mdn_e", e_in);
    *v_out = hd_mlp(g, voxel, "mdn_v", v_in);
    return *e_out && *v_out ? HD_OK : HD_EINVAL;
}
