/* Generators for inference: what hd_model_load builds from a "model":
 * "generator" checkpoint (conditional shower generators) or a "dcgan" one
 * (seed 002's images), and hd_model_generate runs.  Three families of
 * shower generators share the transforms of nn/shower_prep.c:
 *   net      a generator network z, c -> features (wgan-gp, cramer, and the
 *            decoder of the vae), the MLP "gen" of its spec;
 *   gmm      a Gaussian mixture over (condition features, whitened PCA
 *            coordinates of the shower features), sampled conditionally;
 *   library  the training showers themselves: the k nearest in condition
 *            features, mixed with Dirichlet(1) weights for k > 1, each
 *            scaled to the requested energy (and a grid layout's moved by
 *            whole cells to the requested entry point).
 *   mdn      the two-stage mixture density network (nn/mdn.h): the layer
 *            energies drawn position by position, then every layer's voxels.
 * The fifth, image, is the DCGAN's generator: no conditions, the latent
 * normals in, 28 x 28 pixels in (-1, 1) out. */
#include "nn/generator_internal.h"
#include "core/fpmode.h"
#include "nn/mdn.h"
#include "nn/row.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define CHUNK 4096
#define IMAGE_BATCH 256 /* the DCGAN's graph: its activations are 200 times its images */
#define MDN_VOXEL_SHOWERS 256 /* showers per pass of the mdn's voxel net (L rows each) */

typedef enum { FAMILY_NET, FAMILY_GMM, FAMILY_LIBRARY, FAMILY_IMAGE, FAMILY_MDN } family;

struct hd_generator {
    char kind[16];
    family fam;
    int64_t n_vox, n_cond, noise_dim;
    hd_shower_prep prep;
    hd_cond_scaler cs;
    int extrapolate;
    hd_rng rng;
    float *noise, *features, *x; /* CHUNK rows of noise, condition features, shower features (the gmm's) */
    /* net */
    hd_graph *g;
    hd_node *z, *c, *y;
    hd_mlp_spec spec;
    int conv; /* the convolutional generator of grid layouts */
    /* a dense network's row path: widths (inputs, hidden..., voxels), each
     * layer's weights transposed to [in][out] and its bias (the graph's) */
    int n_layers;
    int64_t width[HD_MLP_MAX_LAYERS + 2];
    float *wt[HD_MLP_MAX_LAYERS + 1];
    const float *bias[HD_MLP_MAX_LAYERS + 1];
    /* gmm */
    hd_gmm gmm;
    hd_pca pca;
    float *joint; /* CHUNK * pca.k */
    hd_gmm_sampler *sampler; /* the row path's */
    /* library */
    hd_calo_layout layout; /* the checkpoint's "layout" (has_layout) */
    int has_layout;
    int k;
    int64_t n_lib;
    float *lib_features, *lib_energy, *lib_showers, *lib_cond; /* lib_cond: raw, [n_lib, n_cond] */
    /* mdn: its graph g holds both nets (inputs z: the energy net's rows, c: the voxel net's) */
    hd_mdn mdn;
    hd_node *e_out;
    hd_mdn_state *states; /* CHUNK */
};

static const char *const kinds[] = {"wgan-gp", "cramer", "vae", "gmm", "library", "dcgan", "mdn"};

/* ---- the convolutional generator -------------------------------------------------- */

hd_node *hd_gen_conv30(hd_graph *g, hd_node *x, int64_t n_in)
{
    hd_dense_layer d;
    hd_conv2d_layer up0, up1, out;
    if (hd_dense_init(g, &d, "gen.dense0", n_in, 32 * 8 * 8, 1) ||
        hd_conv2d_init(g, &up0, "gen.up0", &(hd_conv2d_opts){.in = 32, .out = 16, .kernel = 4, .stride = 2,
                                                               .pad = HD_PAD_SAME, .bias = 1, .transposed = 1}) ||
        hd_conv2d_init(g, &up1, "gen.up1", &(hd_conv2d_opts){.in = 16, .out = 8, .kernel = 4, .stride = 2,
                                                               .pad = HD_PAD_SAME, .bias = 1, .transposed = 1}) ||
        hd_conv2d_init(g, &out, "gen.out", &(hd_conv2d_opts){.in = 8, .out = 1, .kernel = 3, .stride = 1,
                                                               .pad = HD_PAD_VALID, .bias = 1}))
        return NULL;
    hd_node *h = hd_leaky_relu(g, hd_dense_apply(g, &d, x), 0.2f);
    int64_t b = x ? hd_node_shape(x)[0] : HD_BATCH; /* HD_BATCH, or a training graph's fixed batch */
    h = hd_reshape(g, h, 4, (int64_t[]){b, 32, 8, 8});
    h = hd_leaky_relu(g, hd_conv2d_apply(g, &up0, h), 0.2f);
    h = hd_leaky_relu(g, hd_conv2d_apply(g, &up1, h), 0.2f);
    return hd_reshape(g, hd_conv2d_apply(g, &out, h), 2, (int64_t[]){b, 900});
}

/* ---- writing ------------------------------------------------------------------- */

int hd_generator_record(hd_checkpoint_entries *e, const char *kind, const hd_calo_layout *layout,
                        const hd_shower_prep *p, hd_cond_scaler *s)
{
    int rc = hd_checkpoint_meta(e, "model", "generator");
    if (rc == HD_OK) rc = hd_checkpoint_meta(e, "generator", "%s", kind);
    if (rc == HD_OK) rc = hd_checkpoint_meta(e, "layout", "%s", layout->name);
    if (rc == HD_OK) rc = hd_checkpoint_meta(e, "n_voxels", "%" PRId64, p->n_voxels);
    if (rc == HD_OK) rc = hd_checkpoint_meta(e, "n_cond", "%" PRId64, s->n);
    if (rc == HD_OK) rc = hd_checkpoint_meta(e, "prep", "%s", hd_prep_name(p->kind));
    if (rc == HD_OK) rc = hd_checkpoint_meta(e, "prep_delta", "%.9g", (double)p->delta);
    if (rc == HD_OK) rc = hd_checkpoint_meta(e, "threshold", "%.9g", (double)p->threshold);
    if (rc == HD_OK) rc = hd_checkpoint_tensor(e, "prep.mean", p->mean, p->n_voxels);
    if (rc == HD_OK) rc = hd_checkpoint_tensor(e, "prep.std", p->std, p->n_voxels);
    if (rc == HD_OK) rc = hd_checkpoint_tensor(e, "cond.mean", s->mean, s->n);
    if (rc == HD_OK) rc = hd_checkpoint_tensor(e, "cond.std", s->std, s->n);
    if (rc == HD_OK) rc = hd_checkpoint_tensor(e, "cond.lo", s->lo, s->n);
    if (rc == HD_OK) rc = hd_checkpoint_tensor(e, "cond.hi", s->hi, s->n);
    return rc;
}

/* ---- reading ------------------------------------------------------------------- */

static int meta_count(const hd_safetensors *st, const char *path, const char *key, uint64_t lo, uint64_t hi,
                      int64_t *out)
{
    uint64_t v;
    int rc = hd_checkpoint_meta_u64(st, path, key, &v);
    if (rc != HD_OK) return rc;
    if (v < lo || v > hi)
        return hd_error(HD_EFORMAT, "%s: metadata %s = %" PRIu64 " outside %" PRIu64 "..%" PRIu64, path, key, v, lo, hi);
    *out = (int64_t)v;
    return HD_OK;
}

static int copy_tensor(const hd_safetensors *st, const char *path, const char *name, int64_t n, float *dst)
{
    const float *src;
    int rc = hd_checkpoint_get(st, path, name, n, &src);
    if (rc != HD_OK) return rc;
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(src[i]))
            return hd_error(HD_EFORMAT, "%s: tensor '%s' element %lld is not finite", path, name, (long long)i);
    memcpy(dst, src, (size_t)n * sizeof(float));
    return HD_OK;
}

static int read_common(hd_generator *G, const hd_safetensors *st, const char *path)
{
    int64_t nv = 0, nc = 0;
    double delta, threshold;
    const char *prep = hd_safetensors_meta(st, "prep");
    int rc = meta_count(st, path, "n_voxels", 1, 1 << 22, &nv);
    if (rc == HD_OK) rc = meta_count(st, path, "n_cond", 1, HD_GEN_MAX_COND, &nc);
    if (rc == HD_OK) rc = hd_checkpoint_meta_double(st, path, "prep_delta", &delta);
    if (rc == HD_OK) rc = hd_checkpoint_meta_double(st, path, "threshold", &threshold);
    if (rc != HD_OK) return rc;
    if (!prep || hd_prep_parse(prep, &G->prep.kind) != HD_OK)
        return hd_error(HD_EFORMAT, "%s: metadata prep '%s' (log, frac)", path, prep ? prep : "missing");
    if (!(delta > 0) || !(threshold >= 0) || !isfinite(threshold))
        return hd_error(HD_EFORMAT, "%s: prep_delta %g, threshold %g", path, delta, threshold);
    const char *lname = hd_safetensors_meta(st, "layout");
    if (lname) {
        if (hd_calo_layout_get(lname, &G->layout) != HD_OK || hd_calo_layout_voxels(&G->layout) != nv)
            return hd_error(HD_EFORMAT, "%s: layout '%s' is not a known layout of %lld voxels", path, lname, (long long)nv);
        G->has_layout = 1;
    }
    G->n_vox = nv;
    G->n_cond = nc;
    G->prep.delta = (float)delta;
    G->prep.threshold = (float)threshold;
    G->prep.n_voxels = nv;
    G->prep.mean = hd_malloc((size_t)nv * sizeof(float));
    G->prep.std = hd_malloc((size_t)nv * sizeof(float));
    if (!G->prep.mean || !G->prep.std) return HD_ENOMEM;
    G->cs.n = nc;
    if ((rc = copy_tensor(st, path, "prep.mean", nv, G->prep.mean)) || (rc = copy_tensor(st, path, "prep.std", nv, G->prep.std)) ||
        (rc = copy_tensor(st, path, "cond.mean", nc, G->cs.mean)) || (rc = copy_tensor(st, path, "cond.std", nc, G->cs.std)) ||
        (rc = copy_tensor(st, path, "cond.lo", nc, G->cs.lo)) || (rc = copy_tensor(st, path, "cond.hi", nc, G->cs.hi)))
        return rc;
    for (int64_t j = 0; j < nc; j++)
        if (!(G->cs.std[j] > 0) || G->cs.lo[j] > G->cs.hi[j] || (j == 0 && !(G->cs.lo[0] > 0)))
            return hd_error(HD_EFORMAT, "%s: condition %lld: std %g, range [%g, %g]", path, (long long)j,
                            (double)G->cs.std[j], (double)G->cs.lo[j], (double)G->cs.hi[j]);
    for (int64_t v = 0; v < nv; v++)
        if (!(G->prep.std[v] > 0))
            return hd_error(HD_EFORMAT, "%s: prep.std element %lld is %g, must be > 0", path, (long long)v,
                            (double)G->prep.std[v]);
    return HD_OK;
}

/* The dense layers "gen.dense<i>" again for the row path. */
static int net_rows(hd_generator *G)
{
    G->n_layers = G->spec.n_hidden + 1;
    G->width[0] = G->spec.n_in;
    for (int i = 0; i < G->n_layers; i++) {
        char key[64];
        snprintf(key, sizeof key, "gen.dense%d.weight", i);
        const hd_tensor *w = hd_node_value(hd_graph_find(G->g, key));
        snprintf(key, sizeof key, "gen.dense%d.bias", i);
        G->bias[i] = hd_node_value(hd_graph_find(G->g, key))->data;
        G->width[i + 1] = w->shape[0];
        if (!(G->wt[i] = hd_row_transposed(w->data, w->shape[0], w->shape[1]))) return HD_ENOMEM;
    }
    return HD_OK;
}

static int load_net(hd_generator *G, const hd_safetensors *st, const char *path)
{
    const char *arch = hd_safetensors_meta(st, "mlp"), *kind = hd_safetensors_meta(st, "arch");
    int64_t latent = 0;
    int rc = meta_count(st, path, "latent", 1, 4096, &latent);
    if (rc != HD_OK) return rc;
    int conv = kind && strcmp(kind, "conv30") == 0;
    if (kind && !conv && strcmp(kind, "mlp") != 0)
        return hd_error(HD_EFORMAT, "%s: arch '%s' (mlp, conv30)", path, kind);
    if (conv && G->n_vox != 900) return hd_error(HD_EFORMAT, "%s: a conv30 generator makes 900 voxels, not %lld", path, (long long)G->n_vox);
    if (!arch) return hd_error(HD_EFORMAT, "%s: a %s generator needs the metadata 'mlp'", path, G->kind);
    hd_mlp_spec spec;
    if ((rc = hd_mlp_spec_from_json(arch, &spec)) != HD_OK) return rc;
    if (spec.n_in != latent + G->n_cond || spec.n_out != G->n_vox)
        return hd_error(HD_EFORMAT, "%s: the generator takes %lld inputs and makes %lld; want latent %lld + %lld "
                        "conditions and %lld voxels", path, (long long)spec.n_in, (long long)spec.n_out,
                        (long long)latent, (long long)G->n_cond, (long long)G->n_vox);
    G->noise_dim = latent;
    G->spec = spec;
    G->conv = conv;
    G->g = hd_graph_new(0);
    if (!G->g || hd_graph_set_no_grad(G->g)) return HD_ENOMEM;
    G->z = hd_input(G->g, "z", 2, (int64_t[]){HD_BATCH, latent});
    G->c = hd_input(G->g, "c", 2, (int64_t[]){HD_BATCH, G->n_cond});
    hd_node *zc = hd_concat(G->g, 2, (hd_node *[]){G->z, G->c}, 1);
    G->y = conv ? hd_gen_conv30(G->g, zc, spec.n_in) : hd_mlp(G->g, &spec, "gen", zc);
    if (!G->y) return HD_EFORMAT;
    if ((rc = hd_checkpoint_check(G->g, st, path, 0)) || (rc = hd_graph_compile(G->g)) ||
        (rc = hd_checkpoint_load_parsed(G->g, st, path, 0)))
        return rc;
    hd_graph_set_training(G->g, 0);
    /* no batch yet: the first call sizes the activations to its rows (a
     * thread's context of a convolutional generator would otherwise hold
     * CHUNK rows of them, 0.7 GB) */
    return conv ? HD_OK : net_rows(G);
}

/* hadron gan's checkpoint: the generator's layers and batch-norm statistics. */
static int load_image(hd_generator *G, const hd_safetensors *st, const char *path)
{
    int64_t latent = 0;
    int rc = meta_count(st, path, "latent", 1, 4096, &latent);
    if (rc != HD_OK) return rc;
    G->noise_dim = latent;
    G->n_vox = HD_DCGAN_SIDE * HD_DCGAN_SIDE;
    G->g = hd_graph_new(0);
    if (!G->g || hd_graph_set_no_grad(G->g)) return HD_ENOMEM;
    G->z = hd_input(G->g, "z", 2, (int64_t[]){HD_BATCH, latent});
    G->y = hd_dcgan_generator(G->g, G->z, latent);
    if (!G->y) return HD_EFORMAT;
    if ((rc = hd_checkpoint_check(G->g, st, path, HD_ALL)) || (rc = hd_graph_compile(G->g)) ||
        (rc = hd_checkpoint_load_parsed(G->g, st, path, HD_ALL)))
        return rc;
    hd_graph_set_training(G->g, 0);
    return hd_graph_set_batch(G->g, IMAGE_BATCH);
}

/* cov_data holds lower Cholesky factors L (as written); make them L L^T. */
static int covariances_from_factors(const char *path, hd_gmm *m)
{
    int64_t d = m->d;
    double *l = hd_malloc((size_t)(d * d) * sizeof(double));
    if (!l) return HD_ENOMEM;
    int rc = HD_OK;
    for (int j = 0; rc == HD_OK && j < m->k; j++) {
        double *c = m->cov_data + (int64_t)j * d * d;
        memcpy(l, c, (size_t)(d * d) * sizeof(double));
        for (int64_t a = 0; a < d && rc == HD_OK; a++) {
            if (!(l[a * d + a] > 0))
                rc = hd_error(HD_EFORMAT, "%s: gmm.chol component %d: diagonal %lld is %g, must be > 0", path, j,
                              (long long)a, l[a * d + a]);
            for (int64_t b = 0; b <= a; b++) {
                double s = 0;
                for (int64_t t = 0; t <= b; t++) s += l[a * d + t] * l[b * d + t];
                c[a * d + b] = c[b * d + a] = s;
            }
        }
    }
    hd_free(l);
    return rc;
}

static int load_gmm(hd_generator *G, const hd_safetensors *st, const char *path)
{
    int64_t k = 0, pk = 0;
    const char *cov = hd_safetensors_meta(st, "gmm_cov");
    int rc = meta_count(st, path, "gmm_k", 1, 1024, &k);
    if (rc == HD_OK) rc = meta_count(st, path, "pca_k", 1, G->n_vox, &pk);
    if (rc != HD_OK) return rc;
    if (!cov || (strcmp(cov, "full") != 0 && strcmp(cov, "diag") != 0))
        return hd_error(HD_EFORMAT, "%s: metadata gmm_cov '%s' (full, diag)", path, cov ? cov : "missing");
    int64_t d = G->n_cond + pk, ncov = strcmp(cov, "full") == 0 ? k * d * d : k * d;
    hd_pca *p = &G->pca;
    p->d = G->n_vox;
    p->k = pk;
    p->mean = hd_calloc((size_t)G->n_vox, sizeof(double));
    p->components = hd_calloc((size_t)(pk * G->n_vox), sizeof(double));
    p->variance = hd_calloc((size_t)pk, sizeof(double));
    hd_gmm *m = &G->gmm;
    m->k = (int)k;
    m->d = d;
    m->cov = strcmp(cov, "full") == 0 ? HD_GMM_FULL : HD_GMM_DIAG;
    m->weight = hd_calloc((size_t)k, sizeof(double));
    m->mean = hd_calloc((size_t)(k * d), sizeof(double));
    m->cov_data = hd_calloc((size_t)ncov, sizeof(double));
    float *buf = hd_malloc((size_t)(ncov > pk * G->n_vox ? ncov : pk * G->n_vox) * sizeof(float));
    G->joint = hd_malloc((size_t)(CHUNK * pk) * sizeof(float));
    if (!p->mean || !p->components || !p->variance || !m->weight || !m->mean || !m->cov_data || !buf || !G->joint) rc = HD_ENOMEM;
    struct { const char *name; int64_t n; double *dst; } t[] = {
        {"pca.mean", G->n_vox, p->mean}, {"pca.components", pk * G->n_vox, p->components},
        {"pca.variance", pk, p->variance}, {"gmm.weight", k, m->weight}, {"gmm.mean", k * d, m->mean},
        {m->cov == HD_GMM_FULL ? "gmm.chol" : "gmm.var", ncov, m->cov_data}};
    for (size_t i = 0; rc == HD_OK && i < sizeof t / sizeof t[0]; i++)
        if ((rc = copy_tensor(st, path, t[i].name, t[i].n, buf)) == HD_OK)
            for (int64_t j = 0; j < t[i].n; j++) t[i].dst[j] = buf[j];
    hd_free(buf);
    if (rc == HD_OK && m->cov == HD_GMM_FULL) rc = covariances_from_factors(path, m);
    for (int64_t j = 0; rc == HD_OK && j < pk; j++)
        if (!(p->variance[j] > 0)) rc = hd_error(HD_EFORMAT, "%s: pca.variance element %lld must be > 0", path, (long long)j);
    if (rc == HD_OK) rc = hd_gmm_prepare(m);
    if (rc == HD_OK) rc = hd_gmm_sampler_new(m, G->n_cond, &G->sampler);
    G->noise_dim = 1 + pk;
    return rc;
}

static int load_library(hd_generator *G, const hd_safetensors *st, const char *path)
{
    int64_t k = 0;
    const hd_tensor *cond = hd_safetensors_get(st, "library.cond");
    int rc = meta_count(st, path, "library_k", 1, 64, &k);
    if (rc != HD_OK) return rc;
    if (!cond || cond->ndim != 1 || cond->shape[0] % G->n_cond != 0 || cond->shape[0] / G->n_cond < k)
        return hd_error(HD_EFORMAT, "%s: library.cond must be a 1-D tensor of rows of %lld conditions, at least %lld rows",
                        path, (long long)G->n_cond, (long long)k);
    int64_t n = cond->shape[0] / G->n_cond;
    G->k = (int)k;
    G->n_lib = n;
    G->noise_dim = k > 1 ? k : 0;
    G->lib_features = hd_malloc((size_t)(n * G->n_cond) * sizeof(float));
    G->lib_energy = hd_malloc((size_t)n * sizeof(float));
    G->lib_showers = hd_malloc((size_t)(n * G->n_vox) * sizeof(float));
    G->lib_cond = hd_malloc((size_t)(n * G->n_cond) * sizeof(float));
    if (!G->lib_features || !G->lib_energy || !G->lib_showers || !G->lib_cond) return HD_ENOMEM;
    memcpy(G->lib_cond, cond->data, (size_t)(n * G->n_cond) * sizeof(float));
    if ((rc = copy_tensor(st, path, "library.showers", n * G->n_vox, G->lib_showers))) return rc;
    for (int64_t i = 0; i < n; i++) {
        G->lib_energy[i] = cond->data[i * G->n_cond];
        if (!(G->lib_energy[i] > 0) || !isfinite(G->lib_energy[i]))
            return hd_error(HD_EFORMAT, "%s: library.cond row %lld: energy %g", path, (long long)i, (double)G->lib_energy[i]);
    }
    hd_cond_scaler_apply(&G->cs, n, cond->data, G->lib_features);
    return HD_OK;
}

/* An mlp spec of the metadata key, which must take n_in and make n_out. */
static int mdn_spec(const hd_safetensors *st, const char *path, const char *key, int64_t n_in, int64_t n_out,
                    hd_mlp_spec *spec)
{
    const char *json = hd_safetensors_meta(st, key);
    if (!json) return hd_error(HD_EFORMAT, "%s: an mdn generator needs the metadata '%s'", path, key);
    int rc = hd_mlp_spec_from_json(json, spec);
    if (rc == HD_OK && (spec->n_in != n_in || spec->n_out != n_out || spec->n_hidden < 1))
        rc = hd_error(HD_EFORMAT, "%s: %s takes %lld inputs and makes %lld; the layout and mdn_k want %lld and %lld",
                      path, key, (long long)spec->n_in, (long long)spec->n_out, (long long)n_in, (long long)n_out);
    return rc;
}

static int load_mdn(hd_generator *G, const hd_safetensors *st, const char *path)
{
    hd_mdn *m = &G->mdn;
    int64_t k = 0, L = 0;
    int rc = meta_count(st, path, "mdn_k", 1, HD_MDN_MAX_K, &k);
    if (rc == HD_OK) rc = meta_count(st, path, "mdn_layers", 1, HD_CALO_MAX_LAYERS, &L);
    if (rc != HD_OK) return rc;
    if (G->n_vox % L) return hd_error(HD_EFORMAT, "%s: %lld voxels do not make %lld layers", path, (long long)G->n_vox, (long long)L);
    *m = (hd_mdn){.n_layers = L, .n_per_layer = G->n_vox / L, .n_cond = G->n_cond, .k = (int)k};
    if ((rc = hd_mdn_alloc(m)) != HD_OK) return rc;
    float ratio[2];
    if ((rc = copy_tensor(st, path, "mdn.ratio", 2, ratio)) ||
        (L > 1 && ((rc = copy_tensor(st, path, "mdn.share_mean", L - 1, m->share_mean)) ||
                   (rc = copy_tensor(st, path, "mdn.share_std", L - 1, m->share_std)))) ||
        (rc = copy_tensor(st, path, "mdn.frac_mean", L, m->frac_mean)) ||
        (rc = copy_tensor(st, path, "mdn.frac_std", L, m->frac_std)) ||
        (rc = copy_tensor(st, path, "mdn.vox_mean", G->n_vox, m->vox_mean)) ||
        (rc = copy_tensor(st, path, "mdn.vox_std", G->n_vox, m->vox_std)))
        return rc;
    m->ratio_mean = ratio[0], m->ratio_std = ratio[1];
    const float *stds[4] = {&m->ratio_std, m->share_std, m->frac_std, m->vox_std};
    const int64_t lens[4] = {1, L - 1, L, G->n_vox};
    static const char *const names[4] = {"mdn.ratio", "mdn.share_std", "mdn.frac_std", "mdn.vox_std"};
    for (int t = 0; t < 4; t++)
        for (int64_t i = 0; i < lens[t]; i++)
            if (!(stds[t][i] > 0))
                return hd_error(HD_EFORMAT, "%s: %s element %lld is %g, must be > 0", path, names[t],
                                (long long)(t == 0 ? 1 : i), (double)stds[t][i]);
    hd_mlp_spec es, vs;
    if ((rc = mdn_spec(st, path, "mlp_energy", hd_mdn_energy_in(m), hd_mdn_energy_out(m), &es)) ||
        (rc = mdn_spec(st, path, "mlp", hd_mdn_voxel_in(m), hd_mdn_voxel_out(m), &vs)))
        return rc;
    G->noise_dim = hd_mdn_noise_dim(m);
    G->g = hd_graph_new(0);
    if (!G->g || hd_graph_set_no_grad(G->g)) return HD_ENOMEM;
    G->z = hd_input(G->g, "e_in", 2, (int64_t[]){HD_BATCH, hd_mdn_energy_in(m)});
    G->c = hd_input(G->g, "v_in", 2, (int64_t[]){HD_BATCH, hd_mdn_voxel_in(m)});
    if ((rc = hd_mdn_nets(G->g, &es, &vs, G->z, G->c, &G->e_out, &G->y)) != HD_OK) return HD_EFORMAT;
    if ((rc = hd_checkpoint_check(G->g, st, path, 0)) || (rc = hd_graph_compile(G->g)) ||
        (rc = hd_checkpoint_load_parsed(G->g, st, path, 0)))
        return rc;
    hd_graph_set_training(G->g, 0);
    G->states = hd_malloc((size_t)CHUNK * sizeof(hd_mdn_state));
    return G->states ? HD_OK : HD_ENOMEM;
}

int hd_generator_load(const char *path, const hd_safetensors *st, hd_generator **out)
{
    *out = NULL;
    const char *model = hd_safetensors_meta(st, "model");
    const char *kind = model && strcmp(model, "dcgan") == 0 ? model : hd_safetensors_meta(st, "generator");
    int k = -1;
    for (int i = 0; kind && i < (int)(sizeof kinds / sizeof kinds[0]); i++)
        if (strcmp(kind, kinds[i]) == 0) k = i;
    if (k < 0)
        return hd_error(HD_EFORMAT, "%s: generator '%s' (wgan-gp, cramer, vae, gmm, library, mdn)", path,
                        kind ? kind : "missing");
    hd_generator *G = hd_calloc(1, sizeof *G);
    if (!G) return HD_ENOMEM;
    snprintf(G->kind, sizeof G->kind, "%s", kind);
    static const family fams[] = {FAMILY_NET, FAMILY_NET, FAMILY_NET, FAMILY_GMM, FAMILY_LIBRARY, FAMILY_IMAGE, FAMILY_MDN};
    G->fam = fams[k];
    int rc = G->fam == FAMILY_IMAGE ? load_image(G, st, path) : read_common(G, st, path);
    if (rc == HD_OK && G->fam != FAMILY_IMAGE)
        rc = G->fam == FAMILY_NET ? load_net(G, st, path) : G->fam == FAMILY_GMM ? load_gmm(G, st, path)
             : G->fam == FAMILY_MDN ? load_mdn(G, st, path) : load_library(G, st, path);
    if (rc == HD_OK) {
        G->noise = hd_malloc((size_t)(CHUNK * (G->noise_dim > 0 ? G->noise_dim : 1)) * sizeof(float));
        G->features = hd_malloc((size_t)(CHUNK * (G->n_cond > 0 ? G->n_cond : 1)) * sizeof(float));
        G->x = G->fam == FAMILY_GMM ? hd_malloc((size_t)(CHUNK * G->n_vox) * sizeof(float)) : NULL;
        if (!G->noise || !G->features || (G->fam == FAMILY_GMM && !G->x)) rc = HD_ENOMEM;
    }
    hd_rng_init(&G->rng, 0, HD_STREAM_NOISE);
    if (rc != HD_OK) {
        hd_generator_free(G);
        return rc;
    }
    *out = G;
    return HD_OK;
}

void hd_generator_free(hd_generator *G)
{
    if (!G) return;
    hd_shower_prep_release(&G->prep);
    hd_graph_free(G->g);
    for (int i = 0; i < G->n_layers; i++) hd_free(G->wt[i]);
    hd_gmm_sampler_free(G->sampler);
    hd_gmm_release(&G->gmm);
    hd_pca_release(&G->pca);
    hd_free(G->joint);
    hd_free(G->lib_features);
    hd_free(G->lib_energy);
    hd_free(G->lib_showers);
    hd_free(G->lib_cond);
    hd_mdn_release(&G->mdn);
    hd_free(G->states);
    hd_free(G->noise);
    hd_free(G->features);
    hd_free(G->x);
    hd_free(G);
}

int hd_generator_net_parts(const hd_generator *G, hd_generator_net *out)
{
    if (G->fam != FAMILY_NET || G->conv)
        return hd_error(HD_EINVAL, "a %s%s generator: only dense network generators are exported", G->kind,
                        G->conv ? " (convolutional)" : "");
    *out = (hd_generator_net){.spec = &G->spec, .g = G->g, .cs = &G->cs, .prep = &G->prep, .latent = G->noise_dim,
                              .n_cond = G->n_cond, .n_vox = G->n_vox};
    return HD_OK;
}

const char *hd_generator_kind(const hd_generator *G) { return G->kind; }
int64_t hd_generator_n_cond(const hd_generator *G) { return G->n_cond; }
int64_t hd_generator_n_vox(const hd_generator *G) { return G->n_vox; }
int64_t hd_generator_noise_dim(const hd_generator *G) { return G->noise_dim; }
const hd_cond_scaler *hd_generator_scaler(const hd_generator *G) { return &G->cs; }
void hd_generator_set_seed(hd_generator *G, uint64_t seed) { hd_rng_init(&G->rng, seed, HD_STREAM_NOISE); }
void hd_generator_allow_extrapolation(hd_generator *G, int allow) { G->extrapolate = allow; }

/* ---- generating ---------------------------------------------------------------- */

static int run_net(hd_generator *G, int64_t rows, const float *noise, const float *energy, float *out)
{
    int rc;
    if (rows != hd_graph_batch(G->g) && (rc = hd_graph_set_batch(G->g, rows))) return rc;
    memcpy(hd_node_value(G->z)->data, noise, (size_t)(rows * G->noise_dim) * sizeof(float));
    memcpy(hd_node_value(G->c)->data, G->features, (size_t)(rows * G->n_cond) * sizeof(float));
    if ((rc = hd_graph_forward(G->g, G->y))) return rc;
    hd_shower_prep_inverse(&G->prep, rows, energy, hd_node_value(G->y)->data, out);
    return HD_OK;
}

static int run_image(hd_generator *G, int64_t rows, const float *noise, float *out)
{
    int rc = HD_OK;
    for (int64_t first = 0; rc == HD_OK && first < rows; first += IMAGE_BATCH) {
        int64_t b = rows - first < IMAGE_BATCH ? rows - first : IMAGE_BATCH;
        if (b != hd_graph_batch(G->g) && (rc = hd_graph_set_batch(G->g, b))) break;
        memcpy(hd_node_value(G->z)->data, noise + first * G->noise_dim, (size_t)(b * G->noise_dim) * sizeof(float));
        if ((rc = hd_graph_forward(G->g, G->y)) == HD_OK)
            memcpy(out + first * G->n_vox, hd_node_value(G->y)->data, (size_t)(b * G->n_vox) * sizeof(float));
    }
    return rc;
}

static int run_gmm(hd_generator *G, int64_t rows, const float *noise, const float *energy, float *out)
{
    int64_t pk = G->pca.k;
    int rc = hd_gmm_sample_cond(&G->gmm, G->n_cond, rows, G->features, noise, G->joint);
    if (rc != HD_OK) return rc;
    for (int64_t i = 0; i < rows * pk; i++) G->joint[i] *= (float)sqrt(G->pca.variance[i % pk]); /* whitened */
    if ((rc = hd_pca_reconstruct(&G->pca, rows, G->joint, G->x))) return rc;
    hd_shower_prep_inverse(&G->prep, rows, energy, G->x, out);
    return HD_OK;
}

/* The mdn: the energy net at each of its L positions for all rows, then
 * the voxel net, MDN_VOXEL_SHOWERS showers (L rows each) at a time.  Noise
 * per shower: 3 normals per position, then 3 per voxel. */
static int run_mdn(hd_generator *G, int64_t rows, const float *noise, const float *energy, float *out)
{
    const hd_mdn *m = &G->mdn;
    int64_t L = m->n_layers, M = m->n_per_layer, nd = G->noise_dim, C = G->n_cond;
    int64_t ew = hd_mdn_energy_in(m), eo = hd_mdn_energy_out(m), vw = hd_mdn_voxel_in(m), vo = hd_mdn_voxel_out(m);
    int rc = hd_graph_set_batch(G->g, rows);
    for (int p = 0; rc == HD_OK && p < L; p++) {
        float *in = hd_node_value(G->z)->data;
        for (int64_t r = 0; r < rows; r++) hd_mdn_energy_row(m, G->features + r * C, &G->states[r], p, in + r * ew);
        if ((rc = hd_graph_forward(G->g, G->e_out)) != HD_OK) break;
        const float *o = hd_node_value(G->e_out)->data;
        for (int64_t r = 0; r < rows; r++)
            hd_mdn_energy_draw(m, &G->states[r], energy[r], p, o + r * eo, noise + r * nd + 3 * p);
    }
    for (int64_t first = 0; rc == HD_OK && first < rows; first += MDN_VOXEL_SHOWERS) {
        int64_t b = rows - first < MDN_VOXEL_SHOWERS ? rows - first : MDN_VOXEL_SHOWERS;
        if ((rc = hd_graph_set_batch(G->g, b * L))) break;
        float *in = hd_node_value(G->c)->data;
        for (int64_t r = 0; r < b; r++)
            for (int64_t l = 0; l < L; l++)
                hd_mdn_voxel_row(m, G->features + (first + r) * C, energy[first + r], &G->states[first + r], (int)l,
                                 in + (r * L + l) * vw);
        if ((rc = hd_graph_forward(G->g, G->y)) != HD_OK) break;
        const float *o = hd_node_value(G->y)->data;
        for (int64_t r = 0; r < b; r++)
            for (int64_t l = 0; l < L; l++)
                hd_mdn_voxel_draw(m, &G->states[first + r], (int)l, o + (r * L + l) * vo,
                                  noise + (first + r) * nd + 3 * L + 3 * l * M, G->prep.threshold,
                                  out + (first + r) * G->n_vox + l * M);
    }
    return rc;
}

/* A grid shower moved by (dx, dy) whole cells into out (what leaves the face is lost), scaled by s. */
static void add_shifted(const hd_calo_layout *l, const float *sh, int dx, int dy, float s, float *out)
{
    for (int i = 0; i < l->ny; i++) {
        int si = i - dy;
        if (si < 0 || si >= l->ny) continue;
        for (int j = 0; j < l->nx; j++) {
            int sj = j - dx;
            if (sj >= 0 && sj < l->nx) out[(int64_t)i * l->nx + j] += s * sh[(int64_t)si * l->nx + sj];
        }
    }
}

/* A row's incident energy must be > 0 and finite. */
static int check_energy(float e, int64_t row)
{
    return e > 0 && isfinite(e) ? HD_OK : hd_error(HD_EINVAL, "generate: row %lld has energy %g", (long long)row, (double)e);
}

static double normal_cdf(double z) { return 0.5 * erfc(-z / sqrt(2.0)); }

/* One library shower: the k nearest training showers to the condition
 * features c (raw conditions cond), mixed by the weights from the normals
 * z, scaled to the energy and moved to the entry point. */
static void library_row(const hd_generator *G, const float *cond, const float *c, const float *z, float energy,
                        float *o)
{
    int64_t best[64];
    float dist[64];
    int have = 0;
    for (int64_t i = 0; i < G->n_lib; i++) {
        float d = 0;
        for (int64_t j = 0; j < G->n_cond; j++) {
            float t = G->lib_features[i * G->n_cond + j] - c[j];
            d += t * t;
        }
        if (have == G->k && d >= dist[have - 1]) continue;
        int at = have < G->k ? have++ : have - 1;
        while (at > 0 && dist[at - 1] > d) {
            dist[at] = dist[at - 1];
            best[at] = best[at - 1];
            at--;
        }
        dist[at] = d;
        best[at] = i;
    }
    double w[64], wsum = 0;
    for (int i = 0; i < G->k; i++) {
        w[i] = G->k == 1 ? 1.0 : -log(fmax(normal_cdf(z[i]), 1e-300));
        wsum += w[i];
    }
    memset(o, 0, (size_t)G->n_vox * sizeof(float));
    /* a grid shower from another entry point moves to the requested one (conditions 4, 5: x, y in mm) */
    int grid = G->has_layout && G->layout.kind == HD_CALO_GRID && G->n_cond == 6;
    for (int i = 0; i < G->k; i++) {
        float s = (float)(w[i] / wsum) * energy / G->lib_energy[best[i]];
        const float *sh = G->lib_showers + best[i] * G->n_vox;
        if (grid) {
            const float *from = G->lib_cond + best[i] * 6;
            int dx = (int)lround((cond[4] - from[4]) / G->layout.cell);
            int dy = (int)lround((cond[5] - from[5]) / G->layout.cell);
            add_shifted(&G->layout, sh, dx, dy, s, o);
        } else {
            for (int64_t v = 0; v < G->n_vox; v++) o[v] += s * sh[v];
        }
    }
    for (int64_t v = 0; v < G->n_vox; v++)
        if (o[v] < G->prep.threshold) o[v] = 0.0f;
}

static void run_library(const hd_generator *G, int64_t rows, const float *cond, const float *noise, const float *energy,
                        float *out)
{
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; r++)
        library_row(G, cond + r * G->n_cond, G->features + r * G->n_cond, noise + r * G->noise_dim, energy[r],
                    out + r * G->n_vox);
}

int hd_generator_run(hd_generator *G, int64_t n, const float *cond, const float *noise, float *out)
{
    if (n < 1) return hd_error(HD_EINVAL, "generate: %lld showers", (long long)n);
    int rc = HD_OK;
    if (G->n_cond && !G->extrapolate && (rc = hd_cond_scaler_check(&G->cs, n, cond)) != HD_OK) return rc;
    float energy[CHUNK];
    for (int64_t start = 0; rc == HD_OK && start < n; start += CHUNK) {
        int64_t rows = n - start < CHUNK ? n - start : CHUNK;
        const float *c = G->n_cond ? cond + start * G->n_cond : NULL, *z = G->noise;
        for (int64_t i = 0; G->n_cond && i < rows; i++)
            if ((rc = check_energy(energy[i] = c[i * G->n_cond], start + i)) != HD_OK) return rc;
        if (noise) z = noise + start * G->noise_dim;
        else hd_rng_fill_normal(&G->rng, G->noise, rows * G->noise_dim, 0.0f, 1.0f);
        hd_cond_scaler_apply(&G->cs, rows, c, G->features);
        float *o = out + start * G->n_vox;
        if (G->fam == FAMILY_IMAGE) rc = run_image(G, rows, z, o);
        else if (G->fam == FAMILY_NET) rc = run_net(G, rows, z, energy, o);
        else if (G->fam == FAMILY_GMM) rc = run_gmm(G, rows, z, energy, o);
        else if (G->fam == FAMILY_MDN) rc = run_mdn(G, rows, z, energy, o);
        else run_library(G, rows, c, z, energy, o);
    }
    return rc;
}

/* ---- one thread's generation, row by row ------------------------------------------- */

struct hd_generator_thread {
    hd_rng rng;
    int extrapolate;
    hd_generator *own; /* the convolutional generator's: a graph of its own */
    float *noise;      /* two rows: a pair of rows draws what one draw of the whole call draws */
    float *features, *x, *a, *h, *joint;
    double *scratch; /* the mixture's */
};

int hd_generator_thread_new(const hd_generator *G, const char *path, const hd_safetensors *st, hd_generator_thread **out)
{
    *out = NULL;
    hd_generator_thread *T = hd_calloc(1, sizeof *T);
    if (!T) return HD_ENOMEM;
    hd_rng_init(&T->rng, 0, HD_STREAM_NOISE);
    int rc = HD_OK;
    if (G->conv || G->fam == FAMILY_IMAGE || G->fam == FAMILY_MDN) {
        rc = hd_generator_load(path, st, &T->own);
    } else {
        int64_t wide = G->n_vox;
        for (int i = 0; i <= G->n_layers; i++) wide = G->width[i] > wide ? G->width[i] : wide;
        T->noise = hd_malloc((size_t)(2 * (G->noise_dim > 0 ? G->noise_dim : 1)) * sizeof(float));
        T->features = hd_malloc((size_t)G->n_cond * sizeof(float));
        T->x = hd_malloc((size_t)wide * sizeof(float));
        T->a = hd_malloc((size_t)wide * sizeof(float));
        T->h = hd_malloc((size_t)wide * sizeof(float));
        T->joint = G->sampler ? hd_malloc((size_t)G->pca.k * sizeof(float)) : NULL;
        T->scratch = G->sampler ? hd_malloc(hd_gmm_sampler_scratch(G->sampler) * sizeof(double)) : NULL;
        if (!T->noise || !T->features || !T->x || !T->a || !T->h || (G->sampler && (!T->joint || !T->scratch)))
            rc = HD_ENOMEM;
    }
    if (rc != HD_OK) {
        hd_generator_thread_free(T);
        return rc;
    }
    *out = T;
    return HD_OK;
}

void hd_generator_thread_free(hd_generator_thread *T)
{
    if (!T) return;
    hd_generator_free(T->own);
    hd_free(T->noise);
    hd_free(T->features);
    hd_free(T->x);
    hd_free(T->a);
    hd_free(T->h);
    hd_free(T->joint);
    hd_free(T->scratch);
    hd_free(T);
}

void hd_generator_thread_set_seed(hd_generator_thread *T, uint64_t seed)
{
    hd_rng_init(&T->rng, seed, HD_STREAM_NOISE);
    if (T->own) hd_generator_set_seed(T->own, seed);
}

void hd_generator_thread_allow_extrapolation(hd_generator_thread *T, int allow)
{
    T->extrapolate = allow;
    if (T->own) hd_generator_allow_extrapolation(T->own, allow);
}

/* One shower from the features and the normals z. */
static void shower_row(const hd_generator *G, hd_generator_thread *T, const float *cond, const float *z, float *out)
{
    const float energy = cond[0];
    if (G->fam == FAMILY_LIBRARY) {
        library_row(G, cond, T->features, z, energy, out);
        return;
    }
    if (G->fam == FAMILY_GMM) {
        hd_gmm_sampler_row(G->sampler, T->features, z, T->scratch, T->joint);
        for (int64_t j = 0; j < G->pca.k; j++) T->joint[j] *= (float)sqrt(G->pca.variance[j]); /* whitened */
        hd_pca_reconstruct_row(&G->pca, T->joint, T->x);
    } else {
        float *in = T->a, *o = T->h;
        memcpy(in, z, (size_t)G->noise_dim * sizeof(float));
        memcpy(in + G->noise_dim, T->features, (size_t)G->n_cond * sizeof(float));
        for (int i = 0; i < G->n_layers; i++) {
            hd_row_dense(G->wt[i], G->bias[i], G->width[i], G->width[i + 1], in, i + 1 < G->n_layers ? o : T->x,
                         i + 1 < G->n_layers ? G->spec.act : G->spec.out_act);
            float *t = in;
            in = o;
            o = t;
        }
    }
    hd_shower_prep_inverse_row(&G->prep, energy, T->x, out);
}

int hd_generator_thread_run(const hd_generator *G, hd_generator_thread *T, int64_t n, const float *cond,
                            const float *noise, float *out)
{
    if (T->own) return hd_generator_run(T->own, n, cond, noise, out);
    if (n < 1) return hd_error(HD_EINVAL, "generate: %lld showers", (long long)n);
    int rc;
    if (!T->extrapolate && (rc = hd_cond_scaler_check(&G->cs, n, cond)) != HD_OK) return rc;
    for (int64_t r = 0; r < n; r++)
        if ((rc = check_energy(cond[r * G->n_cond], r)) != HD_OK) return rc;
    unsigned int mode = hd_ftz_begin(); /* as the graph's forward: no denormals */
    const int64_t nd = G->noise_dim;
    for (int64_t r = 0; r < n; r++) {
        const float *z = noise ? noise + r * nd : T->noise + (r % 2) * nd;
        if (!noise && r % 2 == 0) hd_rng_fill_normal(&T->rng, T->noise, (n - r < 2 ? 1 : 2) * nd, 0.0f, 1.0f);
        hd_cond_scaler_apply(&G->cs, 1, cond + r * G->n_cond, T->features);
        shower_row(G, T, cond + r * G->n_cond, z, out + r * G->n_vox);
    }
    hd_ftz_end(mode);
    return HD_OK;
}
