/* The models of hadron gen without networks: the Gaussian-mixture baseline
 * and the library of training showers, each fitted once and written as a
 * generator checkpoint (nn/generator.c reads them). */
#include "gen_internal.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

/* A checkpoint of entries only: an empty graph has no params to add. */
static int write_entries(const char *path, const hd_checkpoint_entries *e)
{
    hd_graph *g = hd_graph_new(0);
    int rc = g ? hd_graph_compile(g) : HD_ENOMEM;
    if (rc == HD_OK) rc = hd_checkpoint_write(g, path, HD_ALL, e);
    hd_graph_free(g);
    return rc;
}

static float *to_float(const double *x, int64_t n)
{
    float *f = hd_malloc((size_t)n * sizeof(float));
    for (int64_t i = 0; f && i < n; i++) f[i] = (float)x[i];
    return f;
}

/* Rows [condition features, PCA coordinates / sqrt(variance)]: the mixture
 * sees every direction at unit scale, so float32 keeps its covariances
 * positive definite. */
static int joint_rows(const hd_pca *p, int64_t n, int64_t n_cond, const float *x, const float *c, float **out)
{
    int64_t d = n_cond + p->k;
    float *z = hd_malloc((size_t)(n * p->k) * sizeof(float)), *j = hd_malloc((size_t)(n * d) * sizeof(float));
    int rc = z && j ? hd_pca_project(p, n, x, z) : HD_ENOMEM;
    for (int64_t i = 0; rc == HD_OK && i < n; i++) {
        memcpy(j + i * d, c + i * n_cond, (size_t)n_cond * sizeof(float));
        for (int64_t k = 0; k < p->k; k++) j[i * d + n_cond + k] = z[i * p->k + k] / (float)sqrt(p->variance[k]);
    }
    hd_free(z);
    if (rc != HD_OK) hd_free(j);
    *out = rc == HD_OK ? j : NULL;
    return rc;
}

int gen_fit_gmm(const hd_gen_opts *o, const char *path, const hd_calo_layout *layout, const gen_sample *train,
                const hd_shower_prep *prep, hd_cond_scaler *cs, const float *x, const float *c)
{
    hd_pca pca = {0};
    hd_gmm gmm = {0};
    float *joint = NULL, *f[6] = {0};
    int64_t k = o->pca_k < train->n_vox ? o->pca_k : train->n_vox;
    int rc = hd_pca_fit(train->n, train->n_vox, x, k, &pca);
    /* directions the showers never vary in (voxels that are always empty) are left out */
    while (rc == HD_OK && pca.k > 1 && !(pca.variance[pca.k - 1] > 1e-9 * pca.variance[0])) pca.k--;
    if (rc == HD_OK) rc = joint_rows(&pca, train->n, train->n_cond, x, c, &joint);
    hd_gmm_opts go = hd_gmm_opts_default();
    go.k = o->gmm_k;
    go.cov = o->gmm_cov;
    go.seed = o->seed;
    if (rc == HD_OK) rc = hd_gmm_fit(&go, train->n, train->n_cond + pca.k, joint, &gmm);
    int64_t d = gmm.d, ncov = gmm.cov == HD_GMM_FULL ? gmm.k * d * d : gmm.k * d;
    if (rc == HD_OK) {
        f[0] = to_float(pca.mean, pca.d);
        f[1] = to_float(pca.components, pca.k * pca.d);
        f[2] = to_float(pca.variance, pca.k);
        f[3] = to_float(gmm.weight, gmm.k);
        f[4] = to_float(gmm.mean, gmm.k * d);
        /* a full covariance as its Cholesky factor: L L^T of rounded L stays positive definite */
        f[5] = to_float(gmm.cov == HD_GMM_FULL ? gmm.chol : gmm.cov_data, ncov);
        for (int i = 0; i < 6; i++)
            if (!f[i]) rc = HD_ENOMEM;
    }
    hd_checkpoint_entries e;
    hd_checkpoint_entries_init(&e);
    if (rc == HD_OK) rc = hd_generator_record(&e, "gmm", layout, prep, cs);
    if (rc == HD_OK) rc = hd_checkpoint_meta(&e, "gmm_k", "%d", gmm.k);
    if (rc == HD_OK) rc = hd_checkpoint_meta(&e, "gmm_cov", "%s", gmm.cov == HD_GMM_FULL ? "full" : "diag");
    if (rc == HD_OK) rc = hd_checkpoint_meta(&e, "pca_k", "%" PRId64, pca.k);
    if (rc == HD_OK) rc = hd_checkpoint_meta(&e, "gmm_mean_loglik", "%.9g", gmm.mean_loglik);
    if (rc == HD_OK) rc = hd_checkpoint_meta(&e, "gmm_iterations", "%d", gmm.iterations);
    const char *names[6] = {"pca.mean", "pca.components", "pca.variance", "gmm.weight", "gmm.mean",
                            gmm.cov == HD_GMM_FULL ? "gmm.chol" : "gmm.var"};
    int64_t lens[6] = {pca.d, pca.k * pca.d, pca.k, gmm.k, gmm.k * d, ncov};
    for (int i = 0; rc == HD_OK && i < 6; i++) rc = hd_checkpoint_tensor(&e, names[i], f[i], lens[i]);
    if (rc == HD_OK) rc = write_entries(path, &e);
    hd_checkpoint_entries_release(&e);
    for (int i = 0; i < 6; i++) hd_free(f[i]);
    hd_free(joint);
    hd_pca_release(&pca);
    hd_gmm_release(&gmm);
    return rc;
}

int gen_fit_library(const hd_gen_opts *o, const char *path, const hd_calo_layout *layout, const gen_sample *train,
                    const hd_shower_prep *prep, hd_cond_scaler *cs)
{
    hd_checkpoint_entries e;
    hd_checkpoint_entries_init(&e);
    int rc = hd_generator_record(&e, "library", layout, prep, cs);
    if (rc == HD_OK) rc = hd_checkpoint_meta(&e, "library_k", "%d", o->library_k);
    if (rc == HD_OK) rc = hd_checkpoint_tensor(&e, "library.cond", train->cond, train->n * train->n_cond);
    if (rc == HD_OK) rc = hd_checkpoint_tensor(&e, "library.showers", train->showers, train->n * train->n_vox);
    if (rc == HD_OK) rc = write_entries(path, &e);
    hd_checkpoint_entries_release(&e);
    return rc;
}
