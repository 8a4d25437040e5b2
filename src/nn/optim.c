/* Optimisers over flat parameter arrays: SGD, Adam, AdamW (as torch.optim),
 * NAdam, NAdamW (as optax, scale_by_adam with nesterov=True), and global-norm
 * gradient clipping (as torch.nn.utils.clip_grad_norm_).  See docs/optimisers.md. */
#include "core/fpmode.h"
#include "hadron/nn.h"

#include <math.h>
#include <string.h>

/* The struct and its moments share one allocation; the moments start on a
 * 64-byte boundary after the header. */
struct hd_optim {
    hd_optim_kind kind; /* opts.kind, checked once */
    hd_optim_opts opts;
    int64_t n, t; /* parameters, steps taken */
    float *m, *v; /* first moment (or SGD momentum buffer), second moment; NULL when unused */
};


#define HEADER_BYTES ((sizeof(struct hd_optim) + 63) / 64 * 64)

static const char *optim_names[] = {"sgd", "adam", "adamw", "nadam", "nadamw"};
#define N_OPTIMS (int)(sizeof optim_names / sizeof optim_names[0])

const char *hd_optim_name(hd_optim_kind kind)
{
    return (int)kind >= 0 && (int)kind < N_OPTIMS ? optim_names[kind] : "unknown";
}

int hd_optim_parse(const char *s, hd_optim_kind *out)
{
    if (!s || !out) return hd_error(HD_EINVAL, "hd_optim_parse: NULL argument");
    for (int i = 0; i < N_OPTIMS; i++)
        if (strcmp(s, optim_names[i]) == 0) {
            *out = (hd_optim_kind)i;
            return HD_OK;
        }
    return hd_error(HD_EINVAL, "unknown optimiser '%s' (sgd, adam, adamw, nadam, nadamw)", s);
}

hd_optim_opts hd_optim_opts_default(hd_optim_kind kind)
{
    hd_optim_opts o = {.kind = kind, .lr = 1e-3f, .momentum = 0.0f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                       .weight_decay = 0.0f, .clip_norm = 0.0f};
    if (kind == HD_ADAMW || kind == HD_NADAMW) o.weight_decay = 1e-4f;
    return o;
}

int hd_optim_check(const hd_optim_opts *o)
{
    if (!o) return hd_error(HD_EINVAL, "optimiser: NULL options");
    hd_optim_kind kind = o->kind;
    if ((int)kind < 0 || (int)kind >= N_OPTIMS) return hd_error(HD_EINVAL, "unknown optimiser kind %d", (int)kind);
    if (!(o->lr >= 0.0f) || !isfinite(o->lr))
        return hd_error(HD_EINVAL, "%s: learning rate %g must be finite and >= 0", optim_names[kind], (double)o->lr);
    if (!(o->momentum >= 0.0f && o->momentum < 1.0f))
        return hd_error(HD_EINVAL, "%s: momentum %g must be in [0, 1)", optim_names[kind], (double)o->momentum);
    if (!(o->beta1 >= 0.0f && o->beta1 < 1.0f) || !(o->beta2 >= 0.0f && o->beta2 < 1.0f))
        return hd_error(HD_EINVAL, "%s: betas (%g, %g) must be in [0, 1)", optim_names[kind], (double)o->beta1,
                        (double)o->beta2);
    if (!(o->eps >= 0.0f) || !isfinite(o->eps))
        return hd_error(HD_EINVAL, "%s: eps %g must be finite and >= 0", optim_names[kind], (double)o->eps);
    if (!(o->weight_decay >= 0.0f) || !isfinite(o->weight_decay))
        return hd_error(HD_EINVAL, "%s: weight decay %g must be finite and >= 0", optim_names[kind],
                        (double)o->weight_decay);
    if (isnan(o->clip_norm) || isinf(o->clip_norm))
        return hd_error(HD_EINVAL, "%s: clip norm %g must be finite", optim_names[kind], (double)o->clip_norm);
    return HD_OK;
}

hd_optim *hd_optim_new(const hd_optim_opts *opts, int64_t n)
{
    if (!opts) {
        hd_error(HD_EINVAL, "hd_optim_new: NULL options (start from hd_optim_opts_default)");
        return NULL;
    }
    hd_optim_opts o = *opts;
    hd_optim_kind kind = o.kind;
    if (hd_optim_check(&o) != HD_OK) return NULL;
    if (n <= 0) {
        hd_error(HD_EINVAL, "%s: parameter count %lld must be positive", optim_names[kind], (long long)n);
        return NULL;
    }
    int n_moments = kind == HD_SGD ? (o.momentum > 0.0f) : 2;
    if ((uint64_t)n > (SIZE_MAX - HEADER_BYTES) / sizeof(float) / 2) {
        hd_error(HD_ENOMEM, "%s: %lld parameters overflow the moment buffer", optim_names[kind], (long long)n);
        return NULL;
    }
    char *block = hd_calloc(1, HEADER_BYTES + (size_t)n_moments * (size_t)n * sizeof(float));
    if (!block) return NULL;
    hd_optim *opt = (hd_optim *)block;
    opt->kind = kind;
    opt->opts = o;
    opt->n = n;
    float *moments = (float *)(block + HEADER_BYTES);
    opt->m = n_moments >= 1 ? moments : NULL;
    opt->v = n_moments == 2 ? moments + n : NULL;
    return opt;
}

void hd_optim_free(hd_optim *o) { hd_free(o); }

void hd_optim_set_lr(hd_optim *o, float lr)
{
    if (o) o->opts.lr = lr;
}

float hd_optim_lr(const hd_optim *o) { return o ? o->opts.lr : 0.0f; }

int64_t hd_optim_steps(const hd_optim *o) { return o ? o->t : 0; }

int hd_optim_state(hd_optim *o, float **m, float **v, int64_t *n)
{
    if (!o || !m || !v || !n) return hd_error(HD_EINVAL, "hd_optim_state: NULL argument");
    *m = o->m;
    *v = o->v;
    *n = o->n;
    return HD_OK;
}

int hd_optim_set_steps(hd_optim *o, int64_t t)
{
    if (!o) return hd_error(HD_EINVAL, "hd_optim_set_steps: NULL optimiser");
    if (t < 0) return hd_error(HD_EINVAL, "%s: step count %lld must be >= 0", optim_names[o->kind], (long long)t);
    o->t = t;
    return HD_OK;
}

double hd_clip_grad_norm(float *g, int64_t n, double max_norm)
{
    if (!g || n <= 0) return 0.0;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += (double)g[i] * (double)g[i];
    double norm = sqrt(sum);
    if (!(max_norm >= 0.0)) return norm; /* a negative or NaN limit clips nothing */
    /* As torch 1.13: an infinite norm zeroes g and a NaN norm spreads NaN. */
    double coef = max_norm / (norm + 1e-6);
    if (coef < 1.0 || isnan(coef)) {
        float c = (float)coef;
        for (int64_t i = 0; i < n; i++) g[i] *= c;
    }
    return norm;
}

/* torch.optim.SGD, dampening 0, no Nesterov: b = momentum*b + g (b starts at
 * zero, so the first step gives b = g as torch's clone), p -= lr*b. */
static void step_sgd(hd_optim *o, float *restrict p, const float *restrict g)
{
    const float lr = o->opts.lr, mu = o->opts.momentum;
    const int64_t n = o->n;
    if (!o->m) {
        for (int64_t i = 0; i < n; i++) p[i] -= lr * g[i];
        return;
    }
    float *restrict b = o->m;
    for (int64_t i = 0; i < n; i++) {
        b[i] = mu * b[i] + g[i];
        p[i] -= lr * b[i];
    }
}

/* torch.optim.Adam / AdamW.  Bias corrections in double: 1 - b2^t loses most
 * of its digits in float32 for t small. */
static void step_adam(hd_optim *o, float *restrict p, const float *restrict g)
{
    const hd_optim_opts *op = &o->opts;
    const double t = (double)o->t;
    const float b1 = op->beta1, b2 = op->beta2, eps = op->eps;
    const float step_size = (float)((double)op->lr / (1.0 - pow((double)b1, t)));
    const float inv_sqrt_bc2 = (float)(1.0 / sqrt(1.0 - pow((double)b2, t)));
    const float decay = o->kind == HD_ADAMW ? 1.0f - op->lr * op->weight_decay : 1.0f;
    const int64_t n = o->n;
    float *restrict m = o->m, *restrict v = o->v;
    for (int64_t i = 0; i < n; i++) {
        m[i] = b1 * m[i] + (1.0f - b1) * g[i];
        v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
        p[i] = p[i] * decay - step_size * m[i] / (sqrtf(v[i]) * inv_sqrt_bc2 + eps);
    }
}

/* optax.nadam / optax.nadamw: scale_by_adam(nesterov=True), then (NAdamW)
 * add_decayed_weights, then scale by -lr:
 *   m_hat = b1 m / (1 - b1^(t+1)) + (1 - b1) g / (1 - b1^t),  v_hat = v / (1 - b2^t),
 *   p -= lr * (m_hat / (sqrt(v_hat) + eps) + wd p). */
static void step_nadam(hd_optim *o, float *restrict p, const float *restrict g)
{
    const hd_optim_opts *op = &o->opts;
    const double t = (double)o->t, db1 = op->beta1;
    const float b1 = op->beta1, b2 = op->beta2, eps = op->eps, lr = op->lr;
    const float cm = (float)(db1 / (1.0 - pow(db1, t + 1.0)));
    const float cg = (float)((1.0 - db1) / (1.0 - pow(db1, t)));
    const float inv_sqrt_bc2 = (float)(1.0 / sqrt(1.0 - pow((double)op->beta2, t)));
    const float wd = o->kind == HD_NADAMW ? op->weight_decay : 0.0f;
    const int64_t n = o->n;
    float *restrict m = o->m, *restrict v = o->v;
    for (int64_t i = 0; i < n; i++) {
        m[i] = b1 * m[i] + (1.0f - b1) * g[i];
        v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
        float u = (cm * m[i] + cg * g[i]) / (sqrtf(v[i]) * inv_sqrt_bc2 + eps);
        p[i] -= lr * (u + wd * p[i]);
    }
}

int hd_optim_step(hd_optim *o, float *params, float *grads)
{
    if (!o || !params || !grads) return hd_error(HD_EINVAL, "hd_optim_step: NULL argument");
    if (params == grads) return hd_error(HD_EINVAL, "hd_optim_step: params and grads are the same array");
    if (o->opts.clip_norm > 0.0f) hd_clip_grad_norm(grads, o->n, (double)o->opts.clip_norm);
    o->t++;
    unsigned int mode = hd_ftz_begin(); /* core/fpmode.h: why */
    switch (o->kind) {
    case HD_SGD: step_sgd(o, params, grads); break;
    case HD_ADAM:
    case HD_ADAMW: step_adam(o, params, grads); break;
    case HD_NADAM:
    case HD_NADAMW: step_nadam(o, params, grads); break;
    }
    hd_ftz_end(mode);
    return HD_OK;
}
