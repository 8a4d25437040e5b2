/* hadron workflows: whole jobs behind the CLI commands, one options struct
 * with a _default() constructor each.  They report progress through
 * callbacks and never print to stdout. */
#ifndef HADRON_WORKFLOWS_H
#define HADRON_WORKFLOWS_H

#include "metrics.h"
#include "nn.h"
#include "sim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- fit (workflows/fit.c): the engine's smoke test and first demo --------
 * Fits an MLP to f(x0, x1) = sin(pi x0) cos(pi x1 / 2) on points drawn
 * uniformly in [-1, 1]^2, with MSE and Adam, and reports the loss per epoch. */

typedef struct {
    uint64_t seed;
    int epochs;
    int64_t n_train, n_test, batch;
    hd_optim_opts optim;     /* Adam, lr 3e-3 */
    hd_mlp_spec model;       /* n_in 2, n_out 1 */
    const char *out_dir;     /* NULL: write nothing; else history.csv + model.safetensors */
    void (*on_epoch)(void *user, int epoch, double train_mse, double test_mse);
    void *user;
} hd_fit_opts;

typedef struct {
    double first_test_mse, final_train_mse, final_test_mse;
    int epochs;
} hd_fit_result;

hd_fit_opts hd_fit_opts_default(void); /* 2-32-32-1 tanh, 1024 points, batch 32, 150 epochs, Adam lr 3e-3 */
int hd_fit_check(const hd_fit_opts *opts); /* what _run refuses, before it starts */
int hd_fit_run(const hd_fit_opts *opts, hd_fit_result *result);
double hd_fit_target(double x0, double x1); /* the function being fitted */

/* ---- surrogate (workflows/surrogate.c): efficiency from histograms ----------
 * Learns eff(eta, pT, phi) from generated/reconstructed counts (an hd_hist3
 * .npz): inputs (eta, log pT, phi) at bin centres, phi as (cos phi, sin phi)
 * unless phi_linear (the seed's choice), standard scaling fitted on
 * the training bins, the checkerboard split ((i + j + k) even -> train),
 * empty bins skipped, an MLP trained with NAdamW and reduce-on-plateau on
 * the test loss, the best epoch's weights kept. */

typedef enum { HD_LOSS_L2, HD_LOSS_SIGMOID_L2, HD_LOSS_BINOMIAL } hd_surrogate_loss;

typedef struct {
    const char *input;   /* .npz histogram file */
    const char *out_dir; /* model.safetensors, metrics.json, history.csv, plots */
    hd_mlp_spec model;   /* hidden layers and activation; default 128,128,128 relu (n_in, n_out set here) */
    int phi_linear;      /* 1: phi as one linear feature; 0 (default): cos and sin, periodic */
    hd_surrogate_loss loss;
    hd_optim_opts optim; /* NAdamW, lr 1e-3, weight decay 1e-4 */
    hd_schedule sched;   /* reduce-on-plateau on the test loss */
    int64_t batch;
    int epochs;
    uint64_t seed;
    int checkpoint_every; /* epochs between checkpoints (out_dir/checkpoint.safetensors; 10) */
    int resume;           /* continue from the checkpoint, bit-identically */
    int plot_phi_bin;    /* phi bin of the efficiency plots; -1: the middle one */
    void (*on_epoch)(void *user, int epoch, double train_loss, double test_loss, float lr);
    void *user;
} hd_surrogate_opts;

typedef struct {
    double train_loss, test_loss, chi2_ndf; /* at the best epoch; chi2 over test bins */
    double mae_truth, max_abs_truth;        /* over bins with counts; NaN without truth */
    int best_epoch, epochs, has_truth;
    int64_t n_train, n_test;
} hd_surrogate_result;

hd_surrogate_opts hd_surrogate_opts_default(void);
int hd_surrogate_check(const hd_surrogate_opts *opts);
int hd_surrogate_run(const hd_surrogate_opts *opts, hd_surrogate_result *result);
const char *hd_surrogate_loss_name(hd_surrogate_loss loss);
int hd_surrogate_loss_parse(const char *s, hd_surrogate_loss *out); /* l2, sigmoid-l2, binomial */

/* ---- bnn (workflows/bnn.c): amplitude regression with uncertainties ---------
 * A Bayesian MLP (nn.h: hd_bayes_mlp) regresses the log squared amplitude of
 * 2 -> 3 events from their momenta (seed 004).  Data: <data_dir>/{trn,val,tst}
 * _{dat,amp}.npy, momenta (N, 5, 4) and amplitudes (N,).  Preprocessing as the
 * notebook: momenta flattened and divided by the mean gluon pT, target log
 * amplitude standardised (all fitted on trn, stored in the checkpoint).  Two
 * outputs, mean and log-variance; loss = Gaussian NLL + KL / N_train; Adam,
 * shuffled batches.  The test set is predicted by K sampled networks:
 * predictive mean m (mean of their means), epistemic variance (spread of
 * their means), aleatoric variance max(mean of e^logvar - 2 epistemic, 0),
 * total = aleatoric + epistemic (docs/bnn.md: the log-variance output learns
 * one sampled network's squared error, which holds the spread once).  The
 * validation set, predicted the same way, fits an offset of m and a scale
 * of sigma that make its pulls mean 0 and RMS 1; --calibrate applies them
 * to the test set. */

typedef struct { double loss, nll, kl, mse; } hd_bnn_losses; /* kl: the KL / N_train that enters the loss */

typedef struct {
    const char *data_dir, *out_dir; /* out: model.safetensors, history.csv, metrics.json, plots */
    hd_mlp_spec model;  /* hidden layers and activation; default 20,20 relu */
    float prior_std;    /* width of the Gaussian weight prior (default 1) */
    hd_optim_opts optim; /* Adam, lr 1e-3 */
    hd_schedule sched;  /* exponential decay to lr_final 1e-4 at the last epoch */
    int64_t batch;      /* default 64 */
    int epochs;         /* default 200 */
    int samples;        /* K networks sampled on the test set (default 50) */
    uint64_t seed;
    int checkpoint_every; /* epochs between checkpoints (out_dir/checkpoint.safetensors; 10) */
    int resume;           /* continue from the checkpoint, bit-identically */
    /* optional: start from these weights instead of the seed's draw (a
     * safetensors file with the network's names, e.g. a model.safetensors of
     * the same layers, or bench/torch_bnn.py --save-init) */
    const char *init_path;
    int calibrate;        /* apply the validation set's offset and scale to the test predictions */
    void (*on_epoch)(void *user, int epoch, const hd_bnn_losses *train, const hd_bnn_losses *val);
    void *user;
} hd_bnn_opts;

/* Fitted on the validation set's pulls z = (log A_true - log A_pred) / sigma:
 * offset (log amplitude) makes their 1/sigma-weighted mean 0, then scale is
 * the RMS of the shifted pulls; errors from the pulls' own moments. */
typedef struct {
    double offset, offset_err, scale, scale_err;
    double val_pull_mean, val_pull_std; /* before the calibration */
    int applied;                        /* to the test set (opts.calibrate) */
} hd_bnn_calibration;

typedef struct {
    double test_mse;                     /* of the predictive mean, standardised log amplitude */
    double rel_err_median, rel_err_p90;  /* |A_pred / A_true - 1| */
    double pull_mean, pull_std;          /* (log A_true - log A_pred) / sigma_total */
    double coverage1, coverage2;         /* fractions of test events with |pull| < 1 and < 2 */
    double sigma_aleatoric, sigma_epistemic, sigma_total; /* medians, in log amplitude */
    hd_bnn_calibration calibration;
    hd_bnn_losses train, val;            /* last epoch */
    int epochs;
    int64_t n_train, n_val, n_test;
    double seconds_per_epoch;            /* training part, median over epochs */
} hd_bnn_result;

hd_bnn_opts hd_bnn_opts_default(void);
int hd_bnn_check(const hd_bnn_opts *opts);
int hd_bnn_run(const hd_bnn_opts *opts, hd_bnn_result *result);


/* ---- gan (workflows/gan.c, gan_sample.c): DCGAN on 28 x 28 images (seed 002) --
 * The seed's generator (dense 100 -> 7x7x256, batch norm, LeakyReLU,
 * transposed convolutions to 28 x 28, tanh) and discriminator (two strided
 * convolutions with LeakyReLU and dropout 0.3, one logit), binary cross-
 * entropy from logits with the non-saturating generator loss, Adam for both.
 * Images are IDX files (data.h) scaled to [-1, 1]; Fashion-MNIST by default.
 * Outputs in out_dir (docs/gan.md): checkpoint.safetensors (both networks,
 * both optimisers, every epoch or checkpoint_every epochs, atomic),
 * history.csv (losses per step), samples/epoch_NNN.png (a fixed latent
 * batch), loss.png, classifier.safetensors (unless given), metrics.json.
 * resume continues from the checkpoint bit-identically: the same seed gives
 * the same weights as a run that was never stopped. */

typedef struct { double d_loss, g_loss, d_real, d_fake; } hd_gan_losses; /* d_real/d_fake: mean D output */

typedef struct {
    const char *data_dir;    /* {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]; NULL: hd_idx_default_dir() */
    const char *out_dir;
    const char *classifier;  /* a classifier.safetensors to reuse; NULL: train one */
    uint64_t seed;
    int epochs;              /* total, also when resuming (default 10) */
    int64_t batch;           /* 256; a last partial batch of an epoch is dropped */
    int64_t n_train;         /* first n training images (0: all) */
    int64_t latent;          /* 100 */
    hd_optim_opts optim;     /* both networks: Adam, lr 1e-4, beta1 0.5 (DCGAN paper; the seed's Keras: 0.9) */
    int checkpoint_every;    /* epochs (1) */
    int resume;              /* continue from out_dir/checkpoint.safetensors */
    int64_t fd_samples;      /* generated and real images for the Frechet distance (10000) */
    int grid;                /* images in the per-epoch grid (16) */
    void (*on_step)(void *user, int epoch, int64_t step_in_epoch, int64_t steps_per_epoch, const hd_gan_losses *l);
    void (*on_epoch)(void *user, int epoch, const hd_gan_losses *mean, double seconds);
    void (*on_stage)(void *user, const char *what); /* "training the classifier", ... */
    void *user;
} hd_gan_opts;

typedef struct {
    double fd_initial, fd_final, fd_ratio; /* Frechet distance in classifier features: untrained, trained, quotient */
    int classes_present;                   /* labels given to >= 2% of generated images */
    double class_fraction[10];
    double classifier_accuracy;            /* on the t10k images */
    int epochs;
    int64_t steps;
    double seconds_per_step;               /* median */
} hd_gan_result;

hd_gan_opts hd_gan_opts_default(void);
int hd_gan_check(const hd_gan_opts *opts);
int hd_gan_train(const hd_gan_opts *opts, hd_gan_result *result);

/* Latent-space exploration from a trained generator (the seed's last part):
 * an n x n grid of images whose latent dimension j has mean
 * scale_means * m_j and standard deviation scale_stds * s_j, with m and s
 * evenly spaced over [-1, 1]; and interpolation strips between two latent
 * points, linear and spherical. */
typedef struct {
    const char *checkpoint;  /* a gan train checkpoint.safetensors */
    const char *out_dir;     /* grid.png, interp_linear.png, interp_slerp.png, samples.npy */
    uint64_t seed;
    int n;                   /* grid side (10) */
    double scale_means, scale_stds; /* 1, 1 */
    int interp_steps;        /* images per strip (10) */
    int interp_rows;         /* strips, each between two new latent points (4) */
} hd_gan_sample_opts;

hd_gan_sample_opts hd_gan_sample_opts_default(void);
int hd_gan_sample_check(const hd_gan_sample_opts *opts);
int hd_gan_sample(const hd_gan_sample_opts *opts);


/* ---- avo (workflows/avo.c): adversarial variational optimisation (seed 000) --
 * Tunes the parameters theta of a non-differentiable simulator (sim.h) so
 * that simulated data match observed data (arXiv:1707.07113): a factorised
 * Gaussian proposal q(theta | mean, softplus(rho)), a discriminator between
 * simulated and observed data trained alternately with it, and the
 * score-function (REINFORCE) gradient of the adversarial loss with respect
 * to (mean, rho).  Outputs in out_dir (docs/avo.md): history.csv,
 * metrics.json, convergence.png, and images.png (detector images) or
 * hist.png (vector data). */

typedef enum { HD_AVO_BCE, HD_AVO_WASSERSTEIN } hd_avo_loss;

typedef struct {
    hd_simulator *sim;            /* borrowed */
    const char *out_dir;
    const float *observed;        /* [n_observed, obs...] or NULL: simulate at truth */
    int64_t n_observed;           /* 4096 */
    const double *truth;          /* [n_params] or NULL (then observed is needed) */
    double mean0[HD_SIM_MAX_PARAMS], width0[HD_SIM_MAX_PARAMS]; /* the proposal's start */
    uint64_t seed;
    int iterations;               /* 256 */
    int64_t per_draw;             /* observations per parameter draw (8) */
    int64_t disc_samples;         /* simulated observations per discriminator epoch (4096) */
    int64_t pretrain_samples;     /* simulated observations for pre-training (65536) */
    int pretrain_epochs;          /* 4 */
    int64_t proposal_draws;       /* parameter draws per proposal step (256) */
    int64_t batch;                /* discriminator batch, half simulated, half observed (32) */
    hd_optim_opts optim_disc;     /* Adam, lr 1e-3 (the seed's) */
    hd_optim_opts optim_proposal; /* Adam, lr 0.02 (the seed's) */
    hd_avo_loss loss;
    float r1;                     /* R1 penalty weight on observed data (0: off) */
    float gamma;                  /* entropy regularisation: + gamma H(q), shrinks the widths (0; docs/avo.md) */
    int baseline;                 /* 1: subtract the mean reward (variance reduction) */
    int64_t disc_hidden;          /* MLP discriminator of vector data: two hidden layers of this width (64) */
    const char *obs_label;        /* axis label of vector data, or "x label|y label" of images (NULL: the sim's) */
    double image_extent[4];       /* images: x0, x1 (columns), y0, y1 (rows); all 0: the sim's (or bin indices) */
    /* Optional: a function of theta reported too, e.g. "c" of the Weinberg
     * model, as its mean over the proposal (theta clamped to the box as the
     * simulator sees it): where the data depend on theta only through a
     * linear mixture in it, that is the value the simulated data show.
     * NULL: the simulator's (sim.h), if it has one. */
    const char *derived_name;
    double (*derived)(const double *theta);
    void (*on_iteration)(void *user, int it, const double *mean, const double *width, double d_loss, double p_loss);
    void (*on_stage)(void *user, const char *what);
    void *user;
} hd_avo_opts;

typedef struct {
    double mean[HD_SIM_MAX_PARAMS], width[HD_SIM_MAX_PARAMS];
    double derived;               /* E_q[derived(theta)] of the final proposal (NAN without one) */
    double seconds;
    int iterations;
} hd_avo_result;

/* Defaults; mean0/width0 are the middle of the simulator's box and
 * softplus(2) (the seed's start).  obs_label, image_extent and derived left
 * unset (NULL, all 0) are the simulator's own (sim.h). */
hd_avo_opts hd_avo_opts_default(hd_simulator *sim);
int hd_avo_check(const hd_avo_opts *opts);
int hd_avo_run(const hd_avo_opts *opts, hd_avo_result *result);
/* Observed data for opts.observed from a .npy of shape (N, observation
 * shape) (or (N,) for one number per observation), float32 or float64,
 * N >= 2, every entry finite: *observed gets N rows as float32 (hd_free
 * it), *n gets N.  Errors name the file, the field (dtype, shape, entry)
 * and the problem. */
int hd_avo_read_observed(const char *path, const hd_simulator *sim, float **observed, int64_t *n);

/* ---- calo-eval (workflows/calo_eval/): generated showers against reference ---
 * Reads two CaloChallenge-layout files (data.h: hd_calo_file_read's checks;
 * an HDF5 file's showers streamed in chunks, an .npz read whole), computes
 * the high-level features (metrics.h: hd_calo_features), and measures the
 * generated sample against the reference: classifier AUC and JSD on the
 * voxels and on the features (hd_c2st), FPD and KPD of the features, W1
 * and the separation power of each feature's histogram (CaloChallenge
 * binning, from the reference).  The floor is the same measures between
 * the reference and a second reference sample (reference2, or the other
 * half of the reference, split in a seeded order, when none is given): how
 * close "indistinguishable" is at these sample sizes.  Outputs in out_dir:
 * metrics.json (auc_low, auc_high, jsd_low, fpd, fpd_err, kpd, kpd_err,
 * separation {histogram: value}, w1, and a floor object with the same keys),
 * report.md, and features_<kind>.png, reference against generated with a
 * ratio panel per histogram.  Memory: the feature rows of each sample
 * (float32; 144 MB for 100k ds2 showers) and the voxel classifier's inputs
 * of at most voxel_showers showers per sample, a seeded subsample (ds2:
 * 26 KB a shower).  docs/calo_eval.md. */

#define HD_CALO_EVAL_VOXEL_SHOWERS 10000 /* ds2: 259 MB of voxel inputs per sample */

typedef struct {
    const char *reference, *generated, *reference2; /* .h5/.hdf5 or .npz; reference2 may be NULL */
    const char *out_dir;
    const char *geometry;      /* layout name; NULL: the known layout of the files' voxel count */
    int64_t max_showers;       /* per file, the first ones (0: all) */
    uint64_t seed;             /* the halves of the reference */
    hd_c2st_opts c2st;         /* both classifier tests */
    int skip_low_level;        /* 1: no classifier on the voxels (slow for large layouts) */
    int64_t voxel_showers;     /* showers per sample the voxel classifier sees, a seeded subsample (0: all) */
    int64_t chunk_showers;     /* showers read at a time (0: 16 MiB of them); the results do not depend on it */
    hd_fpd_opts fpd;
    hd_kpd_opts kpd;
    hd_w1_opts w1;
    hd_calo_feature_opts features;
    void (*on_stage)(void *user, const char *what);
    void *user;
} hd_calo_eval_opts;

typedef struct {
    double auc_low, auc_low_err, auc_high, auc_high_err;
    double jsd_low, jsd_low_err, jsd_high, jsd_high_err;
    double fpd, fpd_err, kpd, kpd_err;
    double separation_mean, separation_max; /* over the feature histograms */
} hd_calo_scores;

typedef struct {
    hd_calo_scores model, floor;            /* generated vs reference; reference vs reference */
    int64_t n_reference, n_generated, n_floor;
    int64_t n_voxel_reference, n_voxel_generated, n_voxel_floor; /* the voxel classifier's subsamples */
    int64_t n_clipped;                      /* negative voxels of the generated showers, set to 0 */
    int n_features;
    double seconds;
} hd_calo_eval_result;

hd_calo_eval_opts hd_calo_eval_opts_default(void);
int hd_calo_eval_check(const hd_calo_eval_opts *opts);
int hd_calo_eval_run(const hd_calo_eval_opts *opts, hd_calo_eval_result *result);

/* ---- gen (workflows/gen/): conditional generative models of showers ----------
 * Trains a generator of calorimeter showers conditioned on the incident
 * energy (and for ecal30 on the momentum and entry point) from a
 * CaloChallenge-layout file, as one of six models (docs/generative.md):
 * WGAN-GP (critic with layer norm and the gradient penalty, n_critic critic
 * steps per generator step), CramerGAN (the energy-distance generator loss
 * of seed 001 with a gradient penalty on its critic), a conditional VAE
 * (ELBO; its value on held-out showers each epoch), the library (the k
 * nearest training showers in condition space, scaled to the requested
 * energy), a Gaussian mixture fitted by EM on whitened PCA coordinates
 * of the shower features (the baseline), and a two-stage mixture density
 * network (the layer energies autoregressively, then each layer's voxels
 * given them; its training state is out_dir/train.safetensors).  The other
 * networks train on the features
 * of hd_shower_prep: MLPs, and on a 30 x 30 face convolutional GANs
 * (hd_gen_conv30).  Outputs in out_dir: checkpoint.safetensors (a
 * "generator" model for hd_model_load, with the training state: resume
 * continues bit-identically), history.csv, showers.png (mean shower per
 * layer and single showers against the simulator's), and after training
 * an evaluation: generated.h5 for the held-out showers' conditions,
 * hadron calo-eval against heldout.h5 (in out_dir/eval), metrics.json. */

typedef enum { HD_GEN_WGAN_GP, HD_GEN_CRAMER, HD_GEN_VAE, HD_GEN_GMM, HD_GEN_LIBRARY, HD_GEN_MDN } hd_gen_model;
#define HD_GEN_ENFORCE_ENERGY 1u /* E_tot / E_inc: batch mean and spread */
#define HD_GEN_ENFORCE_LAYERS 2u /* each layer's energy fraction: batch means */
#define HD_GEN_ENFORCE_WIDTH 4u  /* the transverse width about the shower's centre: batch mean and spread */

typedef struct {
    int epoch;
    double critic_loss, gen_loss; /* GANs; the vae: its loss (-ELBO) and KL per shower */
    double extra;                 /* wgan-gp: W1 estimate; cramer: energy distance; vae: held-out ELBO per shower */
    double seconds;
} hd_gen_epoch;

typedef struct {
    hd_gen_model model;
    const char *data;          /* training showers (.h5 or .npz, CaloChallenge layout) */
    const char *heldout;       /* showers for the evaluation; NULL: the last heldout_fraction of data */
    double heldout_fraction;   /* 0.2 */
    const char *out_dir;
    int64_t max_showers;       /* of data, the first ones (0: all) */
    uint64_t seed;
    hd_shower_prep prep;       /* transform, delta, threshold (hd_shower_prep_default) */
    /* networks */
    int epochs;                /* passes of the critic (vae: the network) over the data (100) */
    int64_t batch;             /* 128 */
    int64_t latent;            /* 64 */
    hd_mlp_spec gen_layers;    /* hidden widths of the generator (decoder): 256,512,512 */
    hd_mlp_spec critic_layers; /* of the critic (encoder): 512,512,256 */
    int critic_norm;           /* 1: layer norm after each of the dense critic's hidden layers (default) */
    int n_critic;              /* critic steps per generator step (5) */
    float gp_lambda;           /* 10 */
    int64_t cramer_dim;        /* the Cramer critic's output size (256) */
    float kl_weight;           /* vae: beta (1) */
    hd_optim_opts optim_gen, optim_critic; /* Adam, lr 1e-4, betas (0.5, 0.9); vae: 1e-3, (0.9, 0.999) */
    unsigned enforce;          /* HD_GEN_ENFORCE_* bits, added to the generator loss */
    float enforce_weight;      /* 1 */
    int checkpoint_every;      /* epochs (5) */
    int resume;
    /* the others */
    int library_k;             /* 1 */
    int gmm_k;                 /* 16 */
    hd_gmm_cov gmm_cov;        /* full */
    int64_t pca_k;             /* 32 */
    /* mdn: the voxel net's hidden widths are gen_layers (256,256) */
    int mdn_k;                 /* mixture components of every drawn value (5) */
    hd_mlp_spec energy_layers; /* the energy net's hidden widths (128,128) */
    /* evaluation */
    int evaluate;              /* 1: generate for the held-out conditions and run calo-eval */
    int64_t eval_showers;      /* held-out showers evaluated (0: all) */
    int eval_epochs;           /* of calo-eval's classifiers (30) */
    void (*on_epoch)(void *user, const hd_gen_epoch *e);
    void (*on_stage)(void *user, const char *what);
    void *user;
} hd_gen_opts;

typedef struct {
    hd_calo_eval_result eval;  /* when evaluated */
    int evaluated;
    int epochs;
    double train_seconds;      /* of this run (a resumed run: since the resume) */
    double sample_rate;        /* showers per second, generating the evaluation sample */
    double heldout_elbo;       /* vae: per shower, nats (NAN otherwise) */
    double heldout_nll;        /* mdn: per shower, nats, Gaussian constants dropped (NAN otherwise) */
    double w1_energy;          /* W1 of E_tot / E_inc, generated against held-out */
    int64_t n_train, n_heldout;
} hd_gen_result;

/* Defaults for a model: the same for all but the transform of the gmm and
 * the vae, the energy fraction (docs/generative.md: a Gaussian mean in log
 * space loses the energy scale when exponentiated), and the vae's
 * optimisers, Adam at lr 1e-3 with betas (0.9, 0.999) (the GANs': lr 1e-4,
 * (0.5, 0.9)). */
hd_gen_opts hd_gen_opts_default(hd_gen_model model);
const char *hd_gen_model_name(hd_gen_model m);
int hd_gen_model_parse(const char *s, hd_gen_model *out);
int hd_gen_check(const hd_gen_opts *opts);
int hd_gen_train(const hd_gen_opts *opts, hd_gen_result *result);

/* hadron gen sample: n showers from a generator checkpoint, for conditions
 * taken from a file's rows (cycled) or drawn log-uniformly in [e_min, e_max]
 * (a grid model's other conditions: the middle of their training range),
 * written in the layout calo-eval reads (with momentum and entry_point for
 * a grid model). */
typedef struct {
    const char *model, *out;
    const char *conditions;    /* a shower file whose conditions are used; NULL: e_min, e_max */
    const char *noise;         /* an .npy of (n, noise_dim) standard normals to use; NULL: the seeded stream */
    double e_min, e_max;       /* MeV; 0: the training range */
    int64_t n;
    uint64_t seed;
    int extrapolate;           /* 1: allow conditions outside the training range */
    double seconds;            /* out: generating */
} hd_gen_sample_opts;

hd_gen_sample_opts hd_gen_sample_opts_default(void);
int hd_gen_sample(hd_gen_sample_opts *opts);

/* ---- hadron study (workflows/study/) ---------------------------------------------
 * The statistical studies of seed 001: what a generative model can know
 * beyond its training sample (docs/studies.md).  Each writes CSV tables,
 * plots and metrics.json into out_dir (which must exist). */

/* toy-lognormal: X1, X2 independent LogNormal(mu, sigma); a training sample
 * of n_train events (x1, x2); the statistics of S = X1 + X2 for a large
 * target, estimated from each of many training samples by the estimators
 * below, against the exact distribution (hd_lognormal_sum_*, cross-checked
 * against n_check direct samples).  The statistics: the quantiles 0.5, 0.9,
 * 0.99, 0.999, 0.9999 and P(S > t) for t = cut, 2 cut, 3 cut. */
#define HD_TOY_STATS 8
typedef enum { HD_TOY_SAMPLE, HD_TOY_LIBRARY_CUT, HD_TOY_LIBRARY, HD_TOY_FIT, HD_TOY_GMM, HD_TOY_WGAN,
               HD_TOY_ESTIMATORS } hd_toy_estimator;

typedef struct {
    const char *out_dir;
    uint64_t seed;          /* 1 */
    double mu, sigma;       /* of ln x: 0, 1 */
    int64_t n_train;        /* 1000 */
    double cut;             /* 12: the library-cut estimator's training sample has x1, x2 < cut */
    int64_t n_target;       /* 10^6 events drawn by the gmm and the wgan-gp (the library has n_train^2) */
    int resamplings;        /* 200 training samples for sample, library(-cut) and the fit */
    int gmm_resamplings;    /* 50 */
    int gan_resamplings;    /* 10 */
    int gmm_k;              /* 3 components, full covariance, on (ln x1, ln x2) */
    int gan_steps;          /* 7500 critic steps (5 per generator step) */
    int64_t n_check;        /* 10^7 direct samples against the convolution */
    void (*on_stage)(void *user, const char *what);
    void (*on_progress)(void *user, int done, int total); /* estimates made */
    void *user;
} hd_toy_lognormal_opts;

typedef struct {
    double truth[HD_TOY_STATS];
    double check_max_pull;  /* the largest |direct - exact| / (its statistical error) over the statistics */
    /* per estimator and statistic, over the resamplings */
    double mean[HD_TOY_ESTIMATORS][HD_TOY_STATS];
    double bias_rel[HD_TOY_ESTIMATORS][HD_TOY_STATS];   /* (mean - truth) / truth */
    double spread_rel[HD_TOY_ESTIMATORS][HD_TOY_STATS]; /* standard deviation / truth */
    double n_equiv[HD_TOY_ESTIMATORS][HD_TOY_STATS];    /* independent events with the same mean squared error */
    int resamplings[HD_TOY_ESTIMATORS];
    double seconds;
} hd_toy_lognormal_result;

hd_toy_lognormal_opts hd_toy_lognormal_opts_default(void);
int hd_toy_lognormal_check(const hd_toy_lognormal_opts *o);
int hd_toy_lognormal_run(const hd_toy_lognormal_opts *o, hd_toy_lognormal_result *r);
const char *hd_toy_estimator_name(hd_toy_estimator e); /* "sample", "library-cut", ... */
const char *hd_toy_stat_name(int i);                    /* "q0.5", ..., "P(S>12)" style: "tail1".."tail3" */

/* decompose: events of `particles` electrons of one energy in the reduced
 * calorimeter, the event's response R = sum E_dep / sum E_inc.  From each
 * training sample of n_train simulated showers, two fast simulations:
 * "particle", each event built from `particles` showers drawn
 * independently from the per-particle library (all n_train showers), and
 * "event", the library of the n_train / particles whole training events.
 * The truth: responses of n_pool further showers, R's mean and spread
 * exactly, its quantiles from events drawn from that pool.  The
 * statistics: mean, standard deviation, and quantiles 0.01, 0.5, 0.99,
 * 0.999 of R. */
#define HD_DECOMPOSE_STATS 6
typedef enum { HD_DECOMPOSE_PARTICLE, HD_DECOMPOSE_EVENT, HD_DECOMPOSE_METHODS } hd_decompose_method;

typedef struct {
    const char *out_dir;
    uint64_t seed;          /* 1 */
    double energy;          /* MeV per particle: 10 GeV */
    int particles;          /* 50 per event */
    int64_t n_train;        /* 5000 showers per training sample */
    int resamplings;        /* 50 training samples */
    int64_t n_events;       /* 100000 events the per-particle library builds per training sample */
    int64_t n_pool;         /* 500000 showers behind the truth */
    void (*on_stage)(void *user, const char *what);
    void (*on_progress)(void *user, int done, int total); /* training samples done */
    void *user;
} hd_decompose_opts;

typedef struct {
    double truth[HD_DECOMPOSE_STATS];
    double bias_rel[HD_DECOMPOSE_METHODS][HD_DECOMPOSE_STATS];
    double spread_rel[HD_DECOMPOSE_METHODS][HD_DECOMPOSE_STATS];
    double n_equiv[HD_DECOMPOSE_METHODS][HD_DECOMPOSE_STATS]; /* independent events with the same mean squared error */
    double log10_distinct[HD_DECOMPOSE_METHODS]; /* distinct events each can make: n_train^particles, n_train / particles */
    double shared_showers;  /* showers two "particle" events share on average: particles^2 / n_train */
    double seconds;
} hd_decompose_result;

hd_decompose_opts hd_decompose_opts_default(void);
int hd_decompose_check(const hd_decompose_opts *o);
int hd_decompose_run(const hd_decompose_opts *o, hd_decompose_result *r);
const char *hd_decompose_stat_name(int i);   /* "mean", "std", "q0.01", ... */
const char *hd_decompose_method_name(hd_decompose_method m); /* "particle", "event" */

/* enforce: the same generator trained twice on n_train simulated showers,
 * without and with statistics added to its loss (--enforce), each judged
 * on the statistics of held-out and of training showers: E_tot / E_inc,
 * the transverse width, the occupancy (moment mismatches
 * sqrt(dmean^2 + dstd^2) in units of the simulator's spread) and the
 * layers' energy fractions (the rms over layers of dmean / std). */
#define HD_SHOWER_STATS 4
const char *hd_shower_stat_name(int i); /* "E_ratio", "width", "occupancy", "layer_fractions" */

typedef struct {
    const char *out_dir;
    uint64_t seed;          /* 1 */
    hd_gen_model model;     /* wgan-gp (or cramer) */
    unsigned enforce;       /* HD_GEN_ENFORCE_ENERGY */
    int64_t n_train;        /* 10000 */
    int64_t n_heldout;      /* 10000 */
    int epochs;             /* 40 */
    void (*on_stage)(void *user, const char *what);
    void (*on_epoch)(void *user, const hd_gen_epoch *e);
    void *user;
} hd_enforce_opts;

typedef struct {
    double floor[HD_SHOWER_STATS];      /* training against held-out simulator showers */
    double heldout[2][HD_SHOWER_STATS]; /* [free, enforced]: generated for the held-out energies against them */
    double train[2][HD_SHOWER_STATS];   /* generated for the training energies against the training showers */
    double seconds[2];                   /* training */
} hd_enforce_result;

hd_enforce_opts hd_enforce_opts_default(void);
int hd_enforce_check(const hd_enforce_opts *o);
int hd_enforce_run(const hd_enforce_opts *o, hd_enforce_result *r);

/* amplify: how many training showers a generated shower is worth (in the
 * spirit of GANplifying, arXiv:2008.06545).  Each model is trained on the
 * first N of a simulated sample for each size N, then generates showers for
 * the energies of n_truth further simulated showers.  For each observable
 * (E_tot / E_inc, the width, the occupancy, each layer's fraction),
 * B quantile bins of the truth; a sample's quantile-binned error is
 * MSE = mean_b (f_b - 1/B)^2, less the expected noise of the truth's and of
 * the sample's own size; n_equiv = (1 - 1/B) / (B MSE) is the size of an
 * independent simulator sample with that error (the layers: their mean
 * MSE).  The training sample itself is row HD_AMPLIFY_SAMPLE. */
#define HD_AMPLIFY_MAX_SIZES 8
#define HD_AMPLIFY_SAMPLE 6 /* after the six hd_gen_model rows */
typedef struct {
    const char *out_dir;
    uint64_t seed;          /* 1 */
    unsigned models;        /* bits 1u << hd_gen_model: gmm, library, vae and wgan-gp */
    int n_sizes;
    int64_t sizes[HD_AMPLIFY_MAX_SIZES]; /* 1000, 4000, 16000 */
    int64_t n_truth;        /* 200000, at least 10 times the largest size */
    int steps;              /* 2000 steps of each network (critic steps of a GAN), batch 128 */
    int bins;               /* 10 */
    void (*on_stage)(void *user, const char *what);
    void *user;
} hd_amplify_opts;

typedef struct {
    double mse[HD_AMPLIFY_SAMPLE + 1][HD_AMPLIFY_MAX_SIZES][HD_SHOWER_STATS];     /* after the corrections */
    double n_equiv[HD_AMPLIFY_SAMPLE + 1][HD_AMPLIFY_MAX_SIZES][HD_SHOWER_STATS]; /* inf where MSE <= 0 */
    double train_seconds[HD_AMPLIFY_SAMPLE][HD_AMPLIFY_MAX_SIZES];
    double seconds;
} hd_amplify_result;

hd_amplify_opts hd_amplify_opts_default(void);
int hd_amplify_check(const hd_amplify_opts *o);
int hd_amplify_run(const hd_amplify_opts *o, hd_amplify_result *r);

#ifdef __cplusplus
}
#endif
#endif
