/* hadron gen train: data, transforms, one of six models, and the
 * evaluation of the trained generator on held-out showers. */
#include "gen_internal.h"
#include "nn/mdn.h"
#include "workflows/report.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

static const char *const model_names[] = {"wgan-gp", "cramer", "vae", "gmm", "library", "mdn"};
#define N_MODELS 6

const char *hd_gen_model_name(hd_gen_model m) { return (unsigned)m < N_MODELS ? model_names[m] : "?"; }

int hd_gen_model_parse(const char *s, hd_gen_model *out)
{
    for (int i = 0; i < N_MODELS; i++)
        if (strcmp(s, model_names[i]) == 0) {
            *out = (hd_gen_model)i;
            return HD_OK;
        }
    return hd_error(HD_EINVAL, "unknown model '%s' (wgan-gp, cramer, vae, gmm, library, mdn)", s);
}

hd_gen_opts hd_gen_opts_default(hd_gen_model model)
{
    hd_gen_opts o = {.model = model, .heldout_fraction = 0.2, .seed = 1, .prep = hd_shower_prep_default(),
                     .epochs = 100, .batch = 128, .latent = 64, .n_critic = 5, .gp_lambda = 10.0f,
                     .cramer_dim = 256, .kl_weight = 1.0f, .enforce_weight = 1.0f, .checkpoint_every = 5,
                     .library_k = 1, .gmm_k = 16, .gmm_cov = HD_GMM_FULL, .pca_k = 32, .evaluate = 1,
                     .eval_epochs = 30, .critic_norm = 1, .mdn_k = 5};
    o.gen_layers.n_hidden = 3;
    o.gen_layers.hidden[0] = 256;
    o.gen_layers.hidden[1] = 512;
    o.gen_layers.hidden[2] = 512;
    o.critic_layers.n_hidden = 3;
    o.critic_layers.hidden[0] = 512;
    o.critic_layers.hidden[1] = 512;
    o.critic_layers.hidden[2] = 256;
    o.energy_layers.n_hidden = 2;
    o.energy_layers.hidden[0] = 128;
    o.energy_layers.hidden[1] = 128;
    o.optim_gen = hd_optim_opts_default(HD_ADAM);
    o.optim_gen.lr = 1e-4f;
    o.optim_gen.beta1 = 0.5f;
    o.optim_gen.beta2 = 0.9f;
    o.optim_critic = o.optim_gen;
    if (model == HD_GEN_GMM || model == HD_GEN_VAE) o.prep.kind = HD_PREP_FRAC;
    if (model == HD_GEN_MDN) { /* the voxel net; maximum likelihood, decaying to lr / 100 over the epochs */
        o.epochs = 30;
        o.gen_layers.n_hidden = 2;
        o.gen_layers.hidden[1] = 256;
    }
    if (model == HD_GEN_VAE || model == HD_GEN_MDN) { /* no adversary: Adam's defaults, and a larger rate */
        o.optim_gen = hd_optim_opts_default(HD_ADAM);
        o.optim_gen.lr = 1e-3f;
        o.optim_gen.clip_norm = 100.0f; /* a rare large gradient (a shower far in a tail) does not throw it off */
        o.optim_critic = o.optim_gen;
    }
    return o;
}

int hd_gen_check(const hd_gen_opts *o)
{
    if (!o->data || !o->out_dir) return hd_error(HD_EINVAL, "gen: a data file and an output directory are needed");
    if ((unsigned)o->model > HD_GEN_MDN) return hd_error(HD_EINVAL, "gen: model %d", (int)o->model);
    if (!o->heldout && !(o->heldout_fraction > 0 && o->heldout_fraction < 0.9))
        return hd_error(HD_EINVAL, "gen: held-out fraction %g outside (0, 0.9)", o->heldout_fraction);
    if (o->max_showers < 0 || o->eval_showers < 0) return hd_error(HD_EINVAL, "gen: negative shower count");
    if (o->epochs < 1 || o->epochs > 1000000) return hd_error(HD_EINVAL, "gen: epochs %d outside 1..1000000", o->epochs);
    if (o->batch < 2 || o->batch > 65536 || o->batch % 2)
        return hd_error(HD_EINVAL, "gen: batch %lld must be even, 2..65536", (long long)o->batch);
    if (o->latent < 1 || o->latent > 4096) return hd_error(HD_EINVAL, "gen: latent %lld outside 1..4096", (long long)o->latent);
    if (o->batch * o->latent > (INT64_C(1) << 23))
        return hd_error(HD_EINVAL, "gen: batch x latent %lld is more than a step's noise stream holds (2^23)",
                        (long long)(o->batch * o->latent));
    if (o->n_critic < 1 || o->n_critic > 100) return hd_error(HD_EINVAL, "gen: n-critic %d outside 1..100", o->n_critic);
    if (!(o->gp_lambda >= 0) || !(o->kl_weight >= 0) || !(o->enforce_weight >= 0))
        return hd_error(HD_EINVAL, "gen: gp-lambda, kl-weight and enforce-weight must be >= 0");
    if (o->cramer_dim < 1 || o->cramer_dim > 4096) return hd_error(HD_EINVAL, "gen: cramer-dim %lld outside 1..4096", (long long)o->cramer_dim);
    if (o->checkpoint_every < 1) return hd_error(HD_EINVAL, "gen: checkpoint-every %d < 1", o->checkpoint_every);
    if (o->library_k < 1 || o->library_k > 64) return hd_error(HD_EINVAL, "gen: library-k %d outside 1..64", o->library_k);
    if (o->gmm_k < 1 || o->gmm_k > 1024) return hd_error(HD_EINVAL, "gen: gmm-k %d outside 1..1024", o->gmm_k);
    if (o->pca_k < 1) return hd_error(HD_EINVAL, "gen: pca-k %lld < 1", (long long)o->pca_k);
    if (o->mdn_k < 1 || o->mdn_k > HD_MDN_MAX_K) return hd_error(HD_EINVAL, "gen: mdn-k %d outside 1..%d", o->mdn_k, HD_MDN_MAX_K);
    if (o->model == HD_GEN_MDN && (o->gen_layers.n_hidden < 1 || o->energy_layers.n_hidden < 1))
        return hd_error(HD_EINVAL, "gen: the mdn's nets need hidden layers (--gen-layers, --energy-layers)");
    if (o->eval_epochs < 1) return hd_error(HD_EINVAL, "gen: eval-epochs %d < 1", o->eval_epochs);
    if (o->enforce & ~(HD_GEN_ENFORCE_ENERGY | HD_GEN_ENFORCE_LAYERS | HD_GEN_ENFORCE_WIDTH)) return hd_error(HD_EINVAL, "gen: enforce bits %#x", o->enforce);
    if (o->enforce && (o->model != HD_GEN_WGAN_GP && o->model != HD_GEN_CRAMER))
        return hd_error(HD_EINVAL, "gen: --enforce adds to a generator's loss: wgan-gp or cramer, not %s",
                        hd_gen_model_name(o->model));
    int64_t ranks = hd_dist_size(), share = o->model == HD_GEN_CRAMER ? 2 * ranks : ranks;
    if (o->enforce && ranks > 1) /* its batch moments would be each rank's, not the batch's */
        return hd_error(HD_EINVAL, "gen: --enforce is not available under mpirun (%lld ranks): its batch moments "
                                   "would be each rank's (docs/distributed.md)", (long long)ranks);
    if (o->model <= HD_GEN_VAE && o->batch % share)
        return hd_error(HD_EINVAL, "gen: batch %lld over %lld ranks: it must be a multiple of %lld%s", (long long)o->batch,
                        (long long)ranks, (long long)share, o->model == HD_GEN_CRAMER ? " (each rank holds both halves)" : "");
    if (o->resume && (o->model == HD_GEN_GMM || o->model == HD_GEN_LIBRARY))
        return hd_error(HD_EINVAL, "gen: a %s is fitted in one go; there is nothing to resume", hd_gen_model_name(o->model));
    int rc = hd_optim_check(&o->optim_gen);
    if (rc == HD_OK) rc = hd_optim_check(&o->optim_critic);
    return rc;
}

static void stage(const hd_gen_opts *o, const char *what)
{
    if (o->on_stage) o->on_stage(o->user, what);
}

/* ---- the run -------------------------------------------------------------------------- */

typedef struct {
    const hd_gen_opts *o;
    hd_calo_layout layout;
    gen_sample all, held_file, train, heldout;
    hd_shower_prep prep;
    hd_cond_scaler cs;
    float *x, *c;
} run;

static int read_data(run *r)
{
    const hd_gen_opts *o = r->o;
    stage(o, "reading the showers");
    int rc = gen_read(o->data, o->max_showers, &r->layout, &r->all);
    if (rc != HD_OK) return rc;
    if (o->heldout) {
        hd_calo_layout hl;
        if ((rc = gen_read(o->heldout, o->eval_showers, &hl, &r->held_file)) != HD_OK) return rc;
        if (strcmp(hl.name, r->layout.name) != 0)
            return hd_error(HD_EINVAL, "%s: layout %s, but the training showers of %s are %s", o->heldout, hl.name,
                            o->data, r->layout.name);
        r->train = gen_rows(&r->all, 0, r->all.n);
        r->heldout = gen_rows(&r->held_file, 0, r->held_file.n);
    } else {
        int64_t nh = (int64_t)llround(o->heldout_fraction * (double)r->all.n);
        if (nh < 2 || r->all.n - nh < 2)
            return hd_error(HD_EINVAL, "%s: %lld showers are too few to hold %g of them out", o->data,
                            (long long)r->all.n, o->heldout_fraction);
        r->train = gen_rows(&r->all, 0, r->all.n - nh);
        r->heldout = gen_rows(&r->all, r->all.n - nh, nh);
    }
    if (o->eval_showers > 0 && r->heldout.n > o->eval_showers) r->heldout.n = o->eval_showers;
    int net = o->model <= HD_GEN_VAE || o->model == HD_GEN_MDN;
    if (net && r->train.n < o->batch)
        return hd_error(HD_EINVAL, "%s: %lld training showers, fewer than one batch of %lld", o->data,
                        (long long)r->train.n, (long long)o->batch);
    if ((o->enforce & HD_GEN_ENFORCE_LAYERS) && r->layout.kind != HD_CALO_CYLINDRICAL)
        return hd_error(HD_EINVAL, "gen: --enforce layers needs a layout of layers, not %s", r->layout.name);
    return HD_OK;
}

static int prepare(run *r)
{
    const hd_gen_opts *o = r->o;
    r->prep = o->prep;
    r->prep.mean = r->prep.std = NULL;
    int rc = hd_shower_prep_fit(&r->prep, r->train.n, r->train.n_vox, r->train.energy, r->train.showers);
    if (rc != HD_OK) return rc;
    if ((rc = hd_cond_scaler_fit(&r->cs, r->train.n, r->train.n_cond, r->train.cond))) return rc;
    if (o->model == HD_GEN_LIBRARY) return HD_OK;
    int features = o->model != HD_GEN_MDN; /* the mdn makes rows of its own */
    r->x = features ? hd_malloc((size_t)(r->train.n * r->train.n_vox) * sizeof(float)) : NULL;
    r->c = hd_malloc((size_t)(r->train.n * r->train.n_cond) * sizeof(float));
    if ((features && !r->x) || !r->c) return HD_ENOMEM;
    if (features) hd_shower_prep_forward(&r->prep, r->train.n, r->train.energy, r->train.showers, r->x);
    hd_cond_scaler_apply(&r->cs, r->train.n, r->train.cond, r->c);
    return HD_OK;
}

/* loss.png from history.csv: the losses and the critic's (vae: held-out ELBO) per epoch */
static int plot_history(const hd_gen_opts *o)
{
    char stem[4096];
    snprintf(stem, sizeof stem, "%s/loss", o->out_dir);
    hd_line_plot p = {.csv = "history.csv", .xlabel = "epoch", .x_col = 1, .n_series = 3, .y_cols = {2, 3, 4}};
    if (o->model == HD_GEN_MDN) {
        p.title = "two-stage mixture density network";
        p.ylabel = "NLL per shower (nats, Gaussian constants dropped)";
        p.n_series = 2;
        p.y_titles[0] = "training";
        p.y_titles[1] = "held-out";
    } else if (o->model == HD_GEN_VAE) {
        p.title = "conditional VAE";
        p.ylabel = "nats per shower";
        p.n_series = 2;
        p.y_cols[1] = 4;
        p.y_titles[0] = "loss (-ELBO, beta KL)";
        p.y_titles[1] = "held-out ELBO";
    } else {
        p.title = o->model == HD_GEN_CRAMER ? "CramerGAN" : "WGAN-GP";
        p.ylabel = "loss";
        p.y_titles[0] = "critic loss";
        p.y_titles[1] = "generator loss";
        p.y_titles[2] = o->model == HD_GEN_CRAMER ? "energy distance (critic)" : "W1 estimate (critic)";
    }
    return hd_plot_lines(stem, &p, NULL);
}

static int train_model(run *r, hd_gen_result *res)
{
    const hd_gen_opts *o = r->o;
    char path[4096];
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", o->out_dir);
    double t0 = hd_now();
    int rc;
    if (o->model == HD_GEN_GMM) {
        stage(o, "fitting the Gaussian mixture (PCA, then EM)");
        rc = gen_fit_gmm(o, path, &r->layout, &r->train, &r->prep, &r->cs, r->x, r->c);
    } else if (o->model == HD_GEN_LIBRARY) {
        stage(o, "writing the library of training showers");
        rc = gen_fit_library(o, path, &r->layout, &r->train, &r->prep, &r->cs);
    } else if (o->model == HD_GEN_MDN) {
        gen_train_ctx t = {.o = o, .layout = &r->layout, .train = &r->train, .prep = &r->prep, .cs = &r->cs,
                           .c = r->c};
        stage(o, o->resume ? "resuming the training" : "training");
        rc = gen_fit_mdn(&t, &r->heldout);
        if (rc == HD_OK && hd_dist_rank() == 0) rc = plot_history(o);
        res->epochs = t.epochs;
        res->heldout_nll = t.heldout_nll;
    } else {
        gen_train_ctx t = {.o = o, .layout = &r->layout, .train = &r->train, .prep = &r->prep, .cs = &r->cs,
                           .x = r->x, .c = r->c};
        float *hx = NULL, *hc = NULL;
        if (o->model == HD_GEN_VAE) { /* the held-out ELBO's showers, whole batches */
            int64_t nh = r->heldout.n < 2000 ? r->heldout.n : 2000;
            t.n_elbo = nh / o->batch * o->batch;
            hx = hd_malloc((size_t)(nh * r->train.n_vox) * sizeof(float) + 1);
            hc = hd_malloc((size_t)(nh * r->train.n_cond) * sizeof(float) + 1);
            if (!hx || !hc) {
                hd_free(hx);
                hd_free(hc);
                return HD_ENOMEM;
            }
            hd_shower_prep_forward(&r->prep, nh, r->heldout.energy, r->heldout.showers, hx);
            hd_cond_scaler_apply(&r->cs, nh, r->heldout.cond, hc);
            t.hx = hx;
            t.hc = hc;
        }
        stage(o, o->resume ? "resuming the training" : "training");
        rc = gen_train_net(&t);
        if (rc == HD_OK && hd_dist_rank() == 0) rc = plot_history(o);
        res->epochs = t.epochs;
        res->heldout_elbo = t.heldout_elbo;
        hd_free(hx);
        hd_free(hc);
    }
    res->train_seconds = hd_now() - t0;
    return rc;
}

/* ---- evaluation ------------------------------------------------------------------------- */

static double e_ratio_w1(const gen_sample *ref, const float *gen_showers)
{
    int64_t n = ref->n, nv = ref->n_vox;
    float *a = hd_malloc((size_t)n * sizeof(float)), *b = hd_malloc((size_t)n * sizeof(float));
    double w = NAN;
    if (a && b) {
        for (int64_t i = 0; i < n; i++) {
            double sa = 0, sb = 0;
            for (int64_t v = 0; v < nv; v++) {
                sa += ref->showers[i * nv + v];
                sb += gen_showers[i * nv + v];
            }
            a[i] = (float)(sa / ref->energy[i]);
            b[i] = (float)(sb / ref->energy[i]);
        }
        if (hd_wasserstein1(n, a, n, b, &w) != HD_OK) w = NAN;
    }
    hd_free(a);
    hd_free(b);
    return w;
}

static void on_eval_stage(void *user, const char *what)
{
    const hd_gen_opts *o = user;
    char s[256];
    snprintf(s, sizeof s, "calo-eval: %s", what);
    stage(o, s);
}

static int evaluate(run *r, hd_gen_result *res)
{
    const hd_gen_opts *o = r->o;
    char path[4096], ref[4096], gen[4096], dir[4096];
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", o->out_dir);
    snprintf(ref, sizeof ref, "%s/heldout.h5", o->out_dir);
    snprintf(gen, sizeof gen, "%s/generated.h5", o->out_dir);
    snprintf(dir, sizeof dir, "%s/eval", o->out_dir);
    const gen_sample *h = &r->heldout;
    stage(o, "generating showers for the held-out conditions");
    hd_model *m = NULL;
    float *showers = hd_malloc((size_t)(h->n * h->n_vox) * sizeof(float));
    int rc = showers ? hd_model_load(path, &m) : HD_ENOMEM;
    if (rc == HD_OK) {
        hd_model_set_seed(m, o->seed + 1);
        hd_model_allow_extrapolation(m, 1); /* held-out showers may lie just outside the training range */
        double t0 = hd_now();
        rc = hd_model_generate(m, h->n, h->cond, NULL, showers);
        res->sample_rate = (double)h->n / (hd_now() - t0);
    }
    hd_model_free(m);
    if (rc == HD_OK) rc = gen_write(gen, &r->layout, h->n, h->n_cond, h->cond, showers);
    if (rc == HD_OK) rc = gen_write(ref, &r->layout, h->n, h->n_cond, h->cond, h->showers);
    if (rc == HD_OK) {
        res->w1_energy = e_ratio_w1(h, showers);
        char png[4096];
        snprintf(png, sizeof png, "%s/showers.png", o->out_dir);
        rc = gen_plot_showers(png, &r->layout, h->n, h->showers, h->n, showers);
    }
    hd_free(showers);
    if (rc == HD_OK && mkdir(dir, 0777) != 0 && errno != EEXIST)
        rc = hd_error(HD_EIO, "cannot make %s: %s", dir, strerror(errno));
    if (rc != HD_OK) return rc;
    hd_calo_eval_opts e = hd_calo_eval_opts_default();
    e.reference = ref;
    e.generated = gen;
    e.out_dir = dir;
    e.seed = o->seed;
    e.c2st.epochs = o->eval_epochs;
    e.on_stage = on_eval_stage;
    e.user = (void *)o;
    rc = hd_calo_eval_run(&e, &res->eval);
    res->evaluated = rc == HD_OK;
    return rc;
}

static void scores_json(FILE *f, const hd_calo_scores *s)
{
    hd_report_number(f, "auc_low", s->auc_low, 0);
    hd_report_number(f, "auc_low_err", s->auc_low_err, 0);
    hd_report_number(f, "auc_high", s->auc_high, 0);
    hd_report_number(f, "auc_high_err", s->auc_high_err, 0);
    hd_report_number(f, "jsd_low", s->jsd_low, 0);
    hd_report_number(f, "jsd_high", s->jsd_high, 0);
    hd_report_number(f, "fpd", s->fpd, 0);
    hd_report_number(f, "fpd_err", s->fpd_err, 0);
    hd_report_number(f, "kpd", s->kpd, 0);
    hd_report_number(f, "kpd_err", s->kpd_err, 0);
    hd_report_number(f, "separation_mean", s->separation_mean, 0);
    hd_report_number(f, "separation", s->separation_max, 1);
}

static int write_metrics(const run *r, const hd_gen_result *res)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/metrics.json", r->o->out_dir);
    hd_atomic_file af;
    int rc = hd_atomic_open(&af, path);
    if (rc != HD_OK) return rc;
    FILE *f = af.f;
    fprintf(f, "{\n  \"model\": \"%s\",\n  \"layout\": \"%s\",\n", hd_gen_model_name(r->o->model), r->layout.name);
    hd_report_number(f, "n_train", (double)res->n_train, 0);
    hd_report_number(f, "n_heldout", (double)res->n_heldout, 0);
    hd_report_number(f, "epochs", res->epochs, 0);
    hd_report_number(f, "train_seconds", res->train_seconds, 0);
    hd_report_number(f, "sample_showers_per_s", res->sample_rate, 0);
    hd_report_number(f, "heldout_elbo", res->heldout_elbo, 0);
    hd_report_number(f, "heldout_nll", res->heldout_nll, 0);
    hd_report_number(f, "w1_e_ratio", res->w1_energy, !res->evaluated);
    if (res->evaluated) {
        scores_json(f, &res->eval.model);
        fprintf(f, ",\n  \"floor\": {\n");
        scores_json(f, &res->eval.floor);
        fprintf(f, "  }\n");
    }
    fprintf(f, "}\n");
    return hd_atomic_commit(&af);
}

static void run_free(run *r)
{
    gen_sample_release(&r->all);
    gen_sample_release(&r->held_file);
    hd_shower_prep_release(&r->prep);
    hd_free(r->x);
    hd_free(r->c);
}

int hd_gen_train(const hd_gen_opts *o, hd_gen_result *res)
{
    memset(res, 0, sizeof *res);
    res->heldout_elbo = res->heldout_nll = res->w1_energy = res->sample_rate = NAN;
    int rc = hd_gen_check(o);
    if (rc != HD_OK) return rc;
    /* Under mpirun the networks (the mdn through hd_train) train
     * data-parallel; a mixture or a library is fitted by rank 0 alone, and
     * rank 0 alone evaluates and writes. */
    int rank = hd_dist_rank();
    if (rank != 0 && (o->model == HD_GEN_GMM || o->model == HD_GEN_LIBRARY)) return HD_OK;
    run r = {.o = o};
    if ((rc = read_data(&r)) == HD_OK && (rc = prepare(&r)) == HD_OK) {
        res->n_train = r.train.n;
        res->n_heldout = r.heldout.n;
        rc = train_model(&r, res);
    }
    if (rc == HD_OK && o->evaluate && rank == 0) rc = evaluate(&r, res);
    if (rc == HD_OK && rank == 0) rc = write_metrics(&r, res);
    run_free(&r);
    return rc;
}
