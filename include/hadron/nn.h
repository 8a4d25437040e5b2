/* hadron nn: layers (graph builders), optimisers, schedules, checkpoints. */
#ifndef HADRON_NN_H
#define HADRON_NN_H

#include "data.h"
#include "graph.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- layers (nn/layers.c) ------------------------------------------------ */

typedef enum { HD_ACT_NONE, HD_ACT_RELU, HD_ACT_LEAKY_RELU, HD_ACT_SIGMOID, HD_ACT_TANH,
               HD_ACT_SOFTPLUS } hd_activation;

const char *hd_activation_name(hd_activation a);
int hd_activation_parse(const char *s, hd_activation *out); /* "relu", "tanh", ... */
hd_node *hd_activate(hd_graph *g, hd_node *x, hd_activation a); /* leaky slope 0.2 */

/* Dense layer y = x W^T + b, W [out, in] and b [out] as in PyTorch's Linear,
 * named "<name>.weight" and "<name>.bias", PyTorch's default initialisation.
 * Apply it to several inputs to share its parameters. */
typedef struct { hd_node *weight, *bias; int64_t in, out; } hd_dense_layer;

int hd_dense_init(hd_graph *g, hd_dense_layer *layer, const char *name, int64_t in, int64_t out,
                  int with_bias);
hd_node *hd_dense_apply(hd_graph *g, const hd_dense_layer *layer, hd_node *x); /* x [B, in] -> [B, out] */

/* 2-D convolution layers on NCHW tensors with PyTorch's names and default
 * initialisation: "<name>.weight" [out, in, k, k] (transposed: [in, out, k, k])
 * and "<name>.bias" [out], both U(+-1/sqrt(fan_in)), fan_in = in k k
 * (transposed: out k k).  Padding as hd_conv2d (HD_PAD_SAME: Keras's). */
typedef struct {
    hd_node *weight, *bias; /* bias NULL without one */
    int64_t in, out;
    int kernel, stride, transposed;
    hd_padding pad;
} hd_conv2d_layer;

typedef struct {
    int64_t in, out;
    int kernel, stride;
    hd_padding pad;
    int bias;       /* 1: with a bias */
    int transposed; /* 1: conv_transpose2d */
} hd_conv2d_opts;

int hd_conv2d_init(hd_graph *g, hd_conv2d_layer *layer, const char *name, const hd_conv2d_opts *opts);
hd_node *hd_conv2d_apply(hd_graph *g, const hd_conv2d_layer *layer, hd_node *x); /* [B,in,H,W] -> [B,out,.,.] */

/* Keras's default initialisation instead of PyTorch's (before compile):
 * Glorot-uniform weights, fan_in + fan_out = (in + out) k k, and zero bias.
 * For a stride-2 transposed convolution to few channels PyTorch's bound is
 * several times larger (1/sqrt(out k k)); see docs/gan.md. */
int hd_dense_keras_init(hd_graph *g, const hd_dense_layer *layer);
int hd_conv2d_keras_init(hd_graph *g, const hd_conv2d_layer *layer);

/* Batch norm over dim 1 ([B, F] or [B, C, H, W]) as PyTorch's BatchNorm1d/2d:
 * "<name>.weight" (gamma, ones) and "<name>.bias" (beta, zeros) when affine,
 * and the buffers "<name>.running_mean" (zeros) and "<name>.running_var"
 * (ones), saved in checkpoints with the layer's group but never trained.
 * momentum 0.1 and eps 1e-5 are PyTorch's defaults; set the fields before
 * apply for others (Keras's BatchNormalization: momentum 0.01, eps 1e-3). */
typedef struct {
    hd_node *weight, *bias, *running_mean, *running_var; /* weight, bias NULL unless affine */
    int64_t features;
    float momentum, eps;
} hd_batch_norm_layer;

int hd_batch_norm_init(hd_graph *g, hd_batch_norm_layer *layer, const char *name, int64_t features, int affine);
hd_node *hd_batch_norm_apply(hd_graph *g, const hd_batch_norm_layer *layer, hd_node *x);

/* Layer norm per sample (PyTorch's LayerNorm(shape)): "<name>.weight" (ones)
 * and "<name>.bias" (zeros) of the sample's shape, eps 1e-5 (set the field
 * before apply for another).  Critics with a gradient penalty use it where a
 * classifier would use batch norm, which mixes the samples of a batch. */
typedef struct { hd_node *weight, *bias; float eps; } hd_layer_norm_layer;

int hd_layer_norm_init(hd_graph *g, hd_layer_norm_layer *layer, const char *name, int ndim, const int64_t *shape);
hd_node *hd_layer_norm_apply(hd_graph *g, const hd_layer_norm_layer *layer, hd_node *x);

/* ---- gradient penalties (nn/penalty.c) --------------------------------------
 * mean over samples of (||grad_x sum(d)|| - center)^2, the gradient exact
 * (hd_grad) and differentiable, so a critic loss may contain it:
 * center 1 is WGAN-GP's penalty (Gulrajani et al.), center 0 gives R1's
 * E ||grad D||^2 (Mescheder et al.; scale it by gamma / 2). */
hd_node *hd_gradient_penalty(hd_graph *g, hd_node *d, hd_node *x, float center);

/* Multi-layer perceptron: n_hidden dense+activation layers, then a dense
 * output layer with out_act.  Layers are named "<prefix>.dense<i>". */
#define HD_MLP_MAX_LAYERS 16
typedef struct {
    int64_t n_in, n_out;
    int n_hidden;
    int64_t hidden[HD_MLP_MAX_LAYERS];
    hd_activation act, out_act;
} hd_mlp_spec;

hd_node *hd_mlp(hd_graph *g, const hd_mlp_spec *spec, const char *prefix, hd_node *x);
int hd_mlp_spec_parse_layers(hd_mlp_spec *spec, const char *csv); /* "128,128,128" */
void hd_mlp_spec_layers_text(const hd_mlp_spec *spec, char *buf, size_t size); /* the inverse */
/* JSON text for checkpoint metadata; release it with hd_free. */
char *hd_mlp_spec_to_json(const hd_mlp_spec *spec);
int hd_mlp_spec_from_json(const char *json, hd_mlp_spec *spec);

/* ---- Bayesian layers (nn/bayes.c) ----------------------------------------------
 * Dense layer whose weights are Gaussians N(mean, e^logvar) ("<name>.weight_mean",
 * "<name>.weight_logvar", [out, in]) with a deterministic bias ("<name>.bias").
 * Every forward pass draws new weights (one draw for the whole batch): the
 * graph step keys the draw, so hd_graph_set_step(g, s) before a forward
 * repeats sample s exactly (the seed notebook's resample = False). */
typedef struct { hd_node *mean, *logvar, *bias; int64_t in, out; float prior_std; } hd_bayes_dense_layer;

int hd_bayes_dense_init(hd_graph *g, hd_bayes_dense_layer *layer, const char *name, int64_t in, int64_t out,
                        float prior_std);
hd_node *hd_bayes_dense_apply(hd_graph *g, const hd_bayes_dense_layer *layer, hd_node *x);
/* KL of the weights to the prior N(0, prior_std^2), closed form, summed. */
hd_node *hd_bayes_dense_kl(hd_graph *g, const hd_bayes_dense_layer *layer);
/* An MLP of Bayesian layers "<prefix>.bayes<i>"; *kl gets the sum of their KL terms. */
hd_node *hd_bayes_mlp(hd_graph *g, const hd_mlp_spec *spec, const char *prefix, float prior_std, hd_node *x,
                      hd_node **kl);

/* ---- optimisers (nn/optim.c) ------------------------------------------------
 * An optimiser owns its moments for n parameters and updates flat arrays, so
 * it serves any contiguous parameter range (hd_graph_param_range). */

typedef enum { HD_SGD, HD_ADAM, HD_ADAMW, HD_NADAM, HD_NADAMW } hd_optim_kind;

typedef struct {
    hd_optim_kind kind;
    float lr;           /* learning rate */
    float momentum;     /* SGD: heavy-ball momentum as torch.optim.SGD (0 = plain) */
    float beta1, beta2; /* Adam family */
    float eps;          /* added to sqrt(v_hat) */
    float weight_decay; /* AdamW/NAdamW: decoupled, p -= lr * wd * p */
    float clip_norm;    /* > 0: scale gradients so their global L2 norm <= clip_norm */
} hd_optim_opts;

/* kind, lr 1e-3, betas (0.9, 0.999), eps 1e-8, wd 1e-4 for *W */
hd_optim_opts hd_optim_opts_default(hd_optim_kind kind);
typedef struct hd_optim hd_optim;
hd_optim *hd_optim_new(const hd_optim_opts *opts, int64_t n); /* NULL (error set) on bad options */
int hd_optim_check(const hd_optim_opts *opts); /* every setting in range; the error names the bad one */
void hd_optim_free(hd_optim *o);
/* One update of params[0..n) from grads (clipped in place when clip_norm > 0). */
int hd_optim_step(hd_optim *o, float *params, float *grads);
void hd_optim_set_lr(hd_optim *o, float lr);
float hd_optim_lr(const hd_optim *o);
int64_t hd_optim_steps(const hd_optim *o);
/* The state a checkpoint needs to resume exactly: the moment arrays of n
 * floats each, read and written in place (*m NULL for plain SGD, *v NULL
 * unless Adam-like), and the step count (bias corrections). */
int hd_optim_state(hd_optim *o, float **m, float **v, int64_t *n);
int hd_optim_set_steps(hd_optim *o, int64_t t);
const char *hd_optim_name(hd_optim_kind kind);
int hd_optim_parse(const char *s, hd_optim_kind *out);
/* Global L2 norm of g; if above max_norm, scale g by max_norm / (norm + 1e-6)
 * as torch.nn.utils.clip_grad_norm_.  Returns the norm before clipping. */
double hd_clip_grad_norm(float *g, int64_t n, double max_norm);

/* ---- schedules (nn/sched.c) --------------------------------------------------- */

float hd_lr_exponential(float lr0, float decay, int epoch); /* lr0 * decay^epoch */

/* Reduce-on-plateau: every `window` epochs compare the best loss of the last
 * window with the best of the window before; if it did not improve, multiply
 * the rate by `factor`.  Training should stop once the rate is below `min_lr`. */
typedef struct {
    int window;     /* K, default 10 */
    float factor;   /* default 0.5 */
    float min_lr;   /* default 1e-10 */
    int epoch;      /* epochs seen */
    double best_prev, best_cur; /* best of the previous and current window */
} hd_plateau;

hd_plateau hd_plateau_default(void);
/* Feed one epoch's loss; updates *lr; returns 1 when training should stop. */
int hd_plateau_update(hd_plateau *p, double loss, float *lr);

/* A schedule owns no rate of its own: after each epoch it sets the
 * optimiser's rate for the next one, from the rate the optimiser was made
 * with (lr0) and, for the plateau, the monitored loss. */
typedef enum { HD_SCHED_CONSTANT, HD_SCHED_EXPONENTIAL, HD_SCHED_PLATEAU } hd_sched_kind;

typedef struct {
    hd_sched_kind kind;
    float lr_final;     /* exponential: the rate of the last epoch, lr0 (lr_final / lr0)^((e-1) / (epochs-1)) */
    hd_plateau plateau; /* plateau: its settings and state */
} hd_schedule;

hd_schedule hd_schedule_constant(void);
hd_schedule hd_schedule_exponential(float lr_final);
hd_schedule hd_schedule_plateau(void); /* hd_plateau_default() */
const char *hd_schedule_name(hd_sched_kind kind);
int hd_schedule_check(const hd_schedule *s); /* settings in range (names the bad one) */
/* After epoch `epoch` (1-based) of `epochs`: the optimiser's rate for the
 * next epoch.  Returns 1 when training should stop (plateau: rate below
 * min_lr), 0 to go on, or an error code. */
int hd_schedule_update(hd_schedule *s, hd_optim *o, float lr0, int epoch, int epochs, double loss);

/* ---- checkpoints (nn/checkpoint.c) --------------------------------------------
 * safetensors files (data.h), written atomically, model description in the
 * metadata so a model can be rebuilt from the file alone. */

/* Saves the params of group (HD_ALL: every one) under their names; with
 * further tensors (a scaler, optimiser moments) see hd_checkpoint_write. */
int hd_checkpoint_save(hd_graph *g, const char *path, int group, int n_meta, const hd_meta *meta);
/* Loads every param of group from path.  The whole file is checked (names,
 * dtypes, shapes, byte ranges) before any param changes: on error nothing is. */
int hd_checkpoint_load(hd_graph *g, const char *path, int group);
/* The same from a file already parsed (path names it in errors): a caller
 * that read the metadata first does not parse the file twice. */
int hd_checkpoint_load_parsed(hd_graph *g, const hd_safetensors *st, const char *path, int group);
/* Before compile: every param of group has its tensor in the parsed file,
 * with its shape.  A loader calls it between building a graph from a file's
 * description and compiling it, so that a description the file's tensors
 * do not back (a few bytes claiming gigabytes of layers) allocates nothing. */
int hd_checkpoint_check(const hd_graph *g, const hd_safetensors *st, const char *path, int group);

/* ---- checkpoint entries (nn/checkpoint_entries.c) -------------------------------
 * Metadata and further tensors gathered from several owners (a workflow,
 * optimisers, the trainer) before one atomic write; and typed reading of
 * metadata back, errors naming the file and the key.  The entries copy keys,
 * names and values; tensors are views of the caller's arrays until written. */

#define HD_CHECKPOINT_MAX_ENTRIES 64

typedef struct {
    int n_meta, n_tensors, failed;
    char *keys[HD_CHECKPOINT_MAX_ENTRIES], *values[HD_CHECKPOINT_MAX_ENTRIES];
    char *names[HD_CHECKPOINT_MAX_ENTRIES];
    hd_tensor tensors[HD_CHECKPOINT_MAX_ENTRIES];
    int64_t lengths[HD_CHECKPOINT_MAX_ENTRIES];
} hd_checkpoint_entries;

void hd_checkpoint_entries_init(hd_checkpoint_entries *e);
void hd_checkpoint_entries_release(hd_checkpoint_entries *e);
int hd_checkpoint_meta(hd_checkpoint_entries *e, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int hd_checkpoint_tensor(hd_checkpoint_entries *e, const char *name, float *data, int64_t n); /* 1-D view */
/* The params of group and the entries, atomically; a failed add is refused
 * here, and so is a tensor named as a param. */
int hd_checkpoint_write(hd_graph *g, const char *path, int group, const hd_checkpoint_entries *e);

int hd_checkpoint_meta_u64(const hd_safetensors *st, const char *path, const char *key, uint64_t *out);
int hd_checkpoint_meta_double(const hd_safetensors *st, const char *path, const char *key, double *out);
/* A setting a resumed run must share: refused as "trained with --<key> A;
 * resume with the same (not B)" (key after its last '.', '_' as '-'). */
int hd_checkpoint_meta_same(const hd_safetensors *st, const char *path, const char *key, const char *want);
/* The shortest text that reads back as f (0.001, not 0.00100000005): for
 * settings that are compared as text and shown in messages. */
void hd_checkpoint_float_text(char *buf, size_t size, float f);
/* A 1-D float tensor of exactly n values. */
int hd_checkpoint_get(const hd_safetensors *st, const char *path, const char *name, int64_t n, const float **out);

/* ---- optimisers in checkpoints (nn/optim_record.c) ---------------------------------
 * An optimiser's settings, step count, current rate and moments under a
 * prefix ("optim." or "optim.gen."): what a resumed run needs and checks. */

/* made_with: the settings it was made with (the resume check compares them). */
int hd_optim_record(hd_checkpoint_entries *e, const char *prefix, hd_optim *o, const hd_optim_opts *made_with);
/* Refuses settings other than want, naming the option, and moments of
 * another size; then restores moments, step count and rate. */
int hd_optim_restore(hd_optim *o, const char *prefix, const hd_optim_opts *want, const hd_safetensors *st,
                     const char *path);

/* ---- the trainer (nn/trainer.c) --------------------------------------------------
 * One supervised loop: columns of in-memory rows feed the graph's inputs in
 * shuffled batches; one optimiser over every param with a schedule; the
 * workflow's metrics after each epoch; a history file; the best epoch's
 * weights; a checkpoint every N epochs from which resume continues
 * bit-identically (params, moments, rate, schedule, shuffle stream, random
 * ops' step, best weights; the history is cut back to the checkpoint). */

#define HD_TRAIN_MAX_METRICS 16

typedef struct {
    int epoch, epochs;      /* just finished (1-based), planned */
    double pass_loss;       /* mean loss per row over the epoch's training batches */
    const double *metrics;  /* the workflow's, in metric_names order */
    float lr;               /* the rate this epoch trained with */
    double seconds;         /* of the training pass */
    int best;               /* the best monitored epoch so far */
} hd_train_epoch;

typedef struct {
    hd_graph *g;            /* compiled; borrowed */
    hd_node *loss;          /* scalar, minimised over the params of HD_ALL */
    int n_columns;          /* column i fills input node inputs[i] */
    hd_node *inputs[HD_LOADER_MAX_ARRAYS];
    const float *columns[HD_LOADER_MAX_ARRAYS]; /* [n_rows, the input's values per row] */
    int64_t n_rows, batch;
    uint64_t seed;          /* the shuffle stream */
    hd_optim_opts optim;
    hd_schedule sched;
    int epochs;
    int n_metrics;
    const char *metric_names[HD_TRAIN_MAX_METRICS];
    /* After each training pass; may change the graph's batch and mode. */
    int (*metrics)(void *user, const hd_train_epoch *e, double *values);
    int monitor;            /* metric the schedule and the best epoch watch; -1: pass_loss */
    int keep_best;          /* end with the best monitored epoch's weights */
    /* After backward; index 0 starts an epoch; rows: the graph's (a rank's share, data-parallel). */
    void (*on_batch)(void *user, int64_t index, int64_t rows);
    void (*on_epoch)(void *user, const hd_train_epoch *e);
    void *user;
    const char *history;    /* CSV: epoch, the metrics, pass_loss, lr, seconds; NULL: none */
    const char *checkpoint; /* NULL: none */
    int checkpoint_every;   /* epochs; the last epoch is always saved */
    int resume;             /* continue from checkpoint */
    /* Under mpirun (hd_dist_size() > 1): each rank computes its rows of every
     * batch, the gradients are summed, rank 0 alone writes the history and
     * the checkpoints (docs/distributed.md).  Every rank must call hd_train
     * with the same options and data.  Ignored in one process. */
    int data_parallel;
    /* The workflow's settings (key: its option's name): saved, and a resume
     * with other values is refused naming the option. */
    int n_meta;
    const hd_meta *meta;
} hd_train_opts;

typedef struct {
    int epochs;             /* last epoch trained, counting those before a resume */
    int best_epoch;         /* of the monitored value (0 before any) */
    double best;
    int stopped;            /* the schedule ended training early */
    int resumed_from;       /* the checkpoint's epoch; 0 for a fresh run */
} hd_train_result;

/* All zero but monitor -1, constant schedule, checkpoint_every 1. */
hd_train_opts hd_train_opts_default(void);
int hd_train(const hd_train_opts *o, hd_train_result *r);
/* One step of the params of group: zero their gradients, forward, backward
 * through loss, one update. */
int hd_train_step(hd_graph *g, hd_node *loss, int group, hd_optim *o);
/* The same for a data-parallel rank whose graph holds local_rows of a
 * global batch of global_rows (loss: the mean over the local rows; none
 * when local_rows is 0): the gradients are summed over the ranks into the
 * global batch's before the update (hd_dist_mean_grads), so every rank
 * takes the same step.  Every rank must call it. */
int hd_train_step_rows(hd_graph *g, hd_node *loss, int group, hd_optim *o, int64_t local_rows, int64_t global_rows);
/* A CSV history, one row per epoch or step with that count first, flushed
 * as it goes: fresh (header written) when resume_last is 0, else cut back
 * (atomically) to its rows up to resume_last, which must all be there, and
 * opened to append.  Close with fclose. */
int hd_history_open(const char *path, const char *header, int64_t resume_last, FILE **out);

/* ---- PCA (nn/pca.c) -------------------------------------------------------------
 * Principal components of float32 rows x [n, d] (row major), in double:
 * mean[d]; components[k*d], its rows the unit eigenvectors of the sample
 * covariance (n - 1 normalisation) by decreasing eigenvalue, each with the
 * sign that makes its largest-|.| entry positive (the first such entry on a
 * tie), so a fit is deterministic; variance[k] their eigenvalues, >= 0 (a
 * direction without spread, which exists when k exceeds the data's rank,
 * e.g. k >= n or constant columns, has 0, or rounding noise of order
 * 1e-16 of the largest); total_variance the covariance's trace (the sum of
 * all d eigenvalues).  The arrays are hd_malloc'ed; hd_pca_release frees
 * them and zeroes the struct (a zeroed struct is fine).  A PCA filled by
 * hand (loaded from a file) needs d, k, mean, components; variance and
 * total_variance only describe. */

typedef struct {
    int64_t d, k;
    double *mean;           /* [d] */
    double *components;     /* [k*d] */
    double *variance;       /* [k] */
    double total_variance;
} hd_pca;

/* n >= 2, d >= 1, 1 <= k <= d, x finite (the error names the row and column). */
int hd_pca_fit(int64_t n, int64_t d, const float *x, int64_t k, hd_pca *out);
void hd_pca_release(hd_pca *p);
int hd_pca_project(const hd_pca *p, int64_t n, const float *x, float *z);     /* z[n*k] = (x - mean) C^T */
int hd_pca_reconstruct(const hd_pca *p, int64_t n, const float *z, float *x); /* x[n*d] = mean + z C */
/* One row of hd_pca_reconstruct in plain loops: no allocation, BLAS or threads. */
void hd_pca_reconstruct_row(const hd_pca *p, const float *z, float *x);

/* ---- Gaussian mixtures (nn/gmm.c) -----------------------------------------------
 * Fitted by EM on float32 rows x [n, d] in double: responsibilities in log
 * space (log-sum-exp; those below 1e-150 count as 0, which no live
 * component's sums can notice and which keeps the M-step out of subnormal
 * numbers), M-step covariances plus reg on the diagonal (as sklearn's
 * reg_covar).  Start: k-means++ seeding from hd_rng(seed,
 * HD_STREAM_INIT), up to 10 Lloyd steps, then one M-step from the hard
 * assignment.  A component whose weight falls below 1e-12 is re-seeded at
 * the row the mixture explains worst (lowest log density, the first on a
 * tie; several such components take the next worst rows), with the
 * weight-averaged covariance of the others and weight 1/n.  Each iteration
 * is an M-step then an E-step; the fit stops when the mean log-likelihood
 * per row changes by less than tol (not counting an iteration that
 * re-seeded), or after max_iter.  mean_loglik is that of the returned
 * parameters.  Rows are processed in fixed chunks and every sum is reduced
 * in a fixed order, so a fit is bit-identical for the same input whatever
 * the thread count.
 *
 * An hd_gmm owns hd_malloc'ed arrays (hd_gmm_alloc or hd_gmm_fit fill one;
 * hd_gmm_release frees them and zeroes the struct; a zeroed struct is fine).
 * To use one loaded from a file, set k, d, cov, weight, mean, cov_data (FULL:
 * only the lower triangle is read, and an upper triangle that differs by
 * more than 1e-6 sqrt(S_ii S_jj) is refused), then hd_gmm_prepare, which
 * allocates chol and log_norm if they are NULL.  Weights need not sum to
 * exactly 1 (floats from a file): every density uses w_j / sum w.  The
 * evaluation calls (loglik, sample_cond) only read the struct: concurrent
 * calls on one hd_gmm are safe.  Additions to the first sketch:
 * hd_gmm_check, hd_gmm_alloc, hd_gmm_cov_name, hd_gmm_cov_parse. */

typedef enum { HD_GMM_FULL, HD_GMM_DIAG } hd_gmm_cov;

typedef struct {
    int k;           /* components (default 16) */
    hd_gmm_cov cov;  /* default FULL */
    int max_iter;    /* 200 */
    double tol;      /* 1e-4: stop when the mean log-likelihood per row changes by less */
    double reg;      /* 1e-6: added to each covariance diagonal (as sklearn's reg_covar) */
    uint64_t seed;   /* initialisation stream */
    void (*on_iter)(void *user, int iter, double mean_loglik); /* after each iteration's E-step (may be NULL) */
    void *user;
} hd_gmm_opts;

typedef struct {
    int k;
    int64_t d;
    hd_gmm_cov cov;
    double *weight;   /* [k] */
    double *mean;     /* [k*d] */
    double *cov_data; /* FULL: [k*d*d]; DIAG: [k*d] variances */
    double *chol;     /* FULL: lower Cholesky factors [k*d*d] (upper zero); DIAG: sqrt variances [k*d] (derived) */
    double *log_norm; /* [k] -d/2 log 2pi - log det^(1/2) (derived) */
    int iterations;   /* EM iterations run */
    double mean_loglik;
    int converged;
} hd_gmm;

hd_gmm_opts hd_gmm_opts_default(void);
int hd_gmm_check(const hd_gmm_opts *o); /* every setting in range; the error names the bad one */
const char *hd_gmm_cov_name(hd_gmm_cov c); /* "full", "diag" */
int hd_gmm_cov_parse(const char *s, hd_gmm_cov *out);
/* n >= k >= 1, d >= 1, x finite (the error names the row and column). */
int hd_gmm_fit(const hd_gmm_opts *o, int64_t n, int64_t d, const float *x, hd_gmm *out);
/* Zeroed arrays for k components of d dims (weight, mean, cov_data, chol, log_norm). */
int hd_gmm_alloc(hd_gmm *m, int k, int64_t d, hd_gmm_cov cov);
/* Recomputes chol and log_norm from weight, mean and cov_data; refuses
 * non-finite values, negative weights (or all zero), and a covariance that is
 * not positive definite, naming the component. */
int hd_gmm_prepare(hd_gmm *m);
void hd_gmm_release(hd_gmm *m);
/* out[n]: each row's log density (log-sum-exp over the components). */
int hd_gmm_loglik(const hd_gmm *m, int64_t n, const float *x, double *out);
/* Conditional sampling: the first c dims of each row are given (cond [n*c]),
 * the other d - c drawn from p(x_rest | x_first = cond): the weights become
 * w_j N(cond; mu_j,a, S_j,aa) renormalised, the component's Gaussian
 * conditional has mean mu_b + S_ba S_aa^-1 (cond - mu_a) and covariance
 * S_bb - S_ba S_aa^-1 S_ab.  Both come from the full Cholesky factor
 * L = [[L_aa, 0], [L_ba, L_bb]] with no per-c preparation: with
 * y = L_aa^-1 (cond - mu_a), the draw is mu_b + L_ba y + L_bb z.  0 <= c < d
 * (c = 0: plain sampling).  noise [n * (1 + d - c)] holds standard normals:
 * the first of each row picks the component through Phi(noise) (the normal
 * CDF, against the cumulative weights in component order), the rest are z,
 * so the draw is a deterministic function of (cond, noise); cond and noise
 * must be finite.  out [n * (d - c)]. */
int hd_gmm_sample_cond(const hd_gmm *m, int64_t c, int64_t n, const float *cond, const float *noise, float *out);
/* The same draws one row at a time, for a caller's thread: the sampler
 * holds the per-component tables of the first c dims (made once; it reads
 * m, which must outlive it), and a row needs hd_gmm_sampler_scratch(s)
 * doubles of the caller's scratch; a row allocates nothing and starts no
 * threads, and gives the bits hd_gmm_sample_cond gives. */
typedef struct hd_gmm_sampler hd_gmm_sampler;
int hd_gmm_sampler_new(const hd_gmm *m, int64_t c, hd_gmm_sampler **out);
void hd_gmm_sampler_free(hd_gmm_sampler *s);
size_t hd_gmm_sampler_scratch(const hd_gmm_sampler *s);
void hd_gmm_sampler_row(const hd_gmm_sampler *s, const float *cond, const float *noise, double *scratch, float *out);

/* ---- models for inference (nn/model.c) ----------------------------------------
 * A checkpoint that describes itself, loaded with no other information:
 *   metadata "model": "mlp", "mlp": the hd_mlp_spec as JSON, "prefix": layer prefix,
 *   "input_transform": none|log|cyclic per raw input, comma separated (optional;
 *     cyclic turns an angle into the two features cos, sin),
 *   "output": identity|sigmoid (optional, default identity);
 *   tensors "scaler.mean" and "scaler.std" [features] (optional): features
 *   become (transform(x) - mean) / std before the network.
 * Load once, then predict batches of raw inputs: a C or C++ simulation needs
 * this header, the library and the file. */

typedef struct hd_model hd_model;

int hd_model_load(const char *path, hd_model **out);
void hd_model_free(hd_model *m);
int64_t hd_model_n_in(const hd_model *m); /* raw inputs per row */
int64_t hd_model_n_out(const hd_model *m);
/* y [n, n_out] from raw inputs x [n, n_in]; any n >= 1, evaluated in chunks. */
int hd_model_predict(hd_model *m, int64_t n, const float *x, float *y);
/* A Bayesian network (hadron bnn's model.safetensors, model "bayes_mlp")
 * loads as a model too: hd_model_predict, hd_model_run and the exports give
 * its mean network (every weight at its mean) on the 20 raw momenta
 * (E, px, py, pz of 5 particles), with the outputs (log |M|^2, its
 * log-variance from the network's variance output).  hd_model_predict_bayes
 * draws `samples` networks from the seeded stream (seed; the same seed, the
 * same bits) and gives, per row, the predictive mean of log |M|^2 and its
 * total uncertainty, split as hadron bnn splits it (docs/bnn.md). */
int hd_model_predict_bayes(const hd_model *m, int64_t n, const float *x, int samples, uint64_t seed, float *mean,
                           float *sigma);

/* Sharing one model between threads: hd_model_predict changes the model's
 * graph, so one thread at a time.  Instead each thread makes a context of
 * its own (two rows' worth of buffers) and calls hd_model_run, which reads
 * the model, writes only its context and y, allocates nothing, starts no
 * threads and calls no BLAS: rows are evaluated one by one, which is the
 * fast path for one particle at a time (for batches of thousands on a free
 * machine hd_model_predict's BLAS is faster).  Results agree with
 * hd_model_predict to float rounding (the sums run in another order) and
 * are the same bits from call to call and thread to thread.  The model must
 * outlive its contexts; MLP models only. */
typedef struct hd_model_ctx hd_model_ctx;
hd_model_ctx *hd_model_ctx_new(const hd_model *m); /* NULL + error */
void hd_model_ctx_free(hd_model_ctx *c);
int hd_model_run(hd_model_ctx *c, int64_t n, const float *x, float *y); /* x [n, n_in] raw -> y [n, n_out] */
/* A generator model's context holds its own noise stream (seed 0 until
 * set: the stream hd_model_generate draws for the same seed) and one
 * shower's buffers, and reads the model's weights, mixture or library
 * showers, so threads generate at once, each through its context.  The
 * dense networks (wgan-gp, cramer, the vae's decoder), the gmm and the
 * library go row by row as hd_model_run does: no allocation, no BLAS, no
 * threads, showers within float rounding of hd_model_generate's (the
 * library's: the same bits).  The convolutional generators' contexts (of
 * ecal30 and the DCGAN) and the mdn's keep a graph of their own (a copy of the weights
 * per context), whose products go through BLAS and which allocates when a
 * call's batch grows. */
int hd_model_ctx_generate(hd_model_ctx *c, int64_t n, const float *cond, const float *noise, float *out);
void hd_model_ctx_set_seed(hd_model_ctx *c, uint64_t seed);
void hd_model_ctx_allow_extrapolation(hd_model_ctx *c, int allow);
/* Writes <stem>.c and <stem>.h (hadron export --format c): the MLP model as
 * self-contained C source, float *name(float *out, const float *in) for one
 * row of raw inputs, weights as static arrays, transforms, scaler and
 * activations inlined, only <math.h> needed; it keeps no state, so threads
 * may share it.  name: a C identifier.  A dense network generator gives
 * float *name(float *out, const float *cond, const float *noise), one
 * shower in MeV as hd_model_generate makes it from that noise; the gmm,
 * library, mdn and convolutional generators are refused. */
int hd_model_export_c(const hd_model *m, const char *name, const char *stem);
/* Writes the MLP model as an ONNX file (opset 13; hadron export --format
 * onnx): input "in" [N, n_in] raw, output "out" [N, n_out], the transforms
 * (Slice, Log, Cos, Sin, Concat), the scaler (Sub, Mul), Gemm layers and
 * the activations inside, so it computes what hd_model_predict computes.
 * A dense network generator (wgan-gp, cramer, vae) takes inputs "noise"
 * [N, noise_dim] and "cond" [N, n_cond] raw and gives the showers in MeV
 * that hd_model_generate gives from the same noise (the condition
 * features, the network, the shower transform's inverse and the threshold
 * inside); the gmm, library and convolutional generators are refused. */
int hd_model_export_onnx(const hd_model *m, const char *path);

#define HD_MODEL_MAX_INPUTS 64

/* ---- generative models (nn/generator.c, nn/shower_prep.c) ---------------------
 * A checkpoint with metadata "model": "generator" (hadron gen train,
 * docs/generative.md) is a conditional generator of calorimeter showers:
 * hd_model_load reads it, hd_model_generate draws showers in MeV for given
 * conditions.  The conditions are raw columns: the incident energy in MeV,
 * then any others the model was trained with (ecal30: momentum px, py, pz
 * in MeV and the entry point x, y in mm).  The noise is standard normals,
 * hd_model_noise_dim per row: a framework passes its own stream, or NULL
 * takes them from the model's seeded stream (hd_model_set_seed), which
 * continues from call to call.  Conditions outside the training range are
 * refused, naming the row and the column, unless extrapolation is allowed.
 * For an MLP model n_cond and noise_dim are 0 and generate refuses. */

#define HD_GEN_MAX_COND 8

/* "mlp", "bayes_mlp", "wgan-gp", "cramer", "vae", "gmm", "library", "mdn", "dcgan" */
const char *hd_model_kind(const hd_model *m);
int64_t hd_model_n_cond(const hd_model *m);
int64_t hd_model_noise_dim(const hd_model *m);
/* The training sample's range of condition column j. */
int hd_model_cond_range(const hd_model *m, int64_t j, float *lo, float *hi);
void hd_model_set_seed(hd_model *m, uint64_t seed);
void hd_model_allow_extrapolation(hd_model *m, int allow);
/* out [n, n_out] MeV from cond [n, n_cond] and noise [n, noise_dim] (or
 * NULL).  A DCGAN (hadron gan's checkpoint, n_cond 0: cond may be NULL)
 * gives images [n, 28 * 28] in (-1, 1), in evaluation mode (batch norm
 * from its running statistics), as hadron gan sample draws them. */
int hd_model_generate(hd_model *m, int64_t n, const float *cond, const float *noise, float *out);

/* Showers as network features: each voxel's fraction u = e / E_inc of the
 * incident energy, as ln(u + delta) (HD_PREP_LOG) or u (HD_PREP_FRAC), then
 * standardised per voxel over the training sample.  The inverse gives
 * energies >= 0 and sets those below the threshold to 0, as a readout. */
typedef enum { HD_PREP_LOG, HD_PREP_FRAC } hd_prep_kind;

typedef struct {
    hd_prep_kind kind;
    float delta;       /* log: added to the fraction (default 1e-6) */
    float threshold;   /* MeV (default 0.01515, the simulator's) */
    int64_t n_voxels;
    float *mean, *std; /* [n_voxels], from hd_shower_prep_fit */
} hd_shower_prep;

hd_shower_prep hd_shower_prep_default(void);
const char *hd_prep_name(hd_prep_kind k);
int hd_prep_parse(const char *s, hd_prep_kind *out);
/* Fits mean and std (a voxel that never varies gets std 1). */
int hd_shower_prep_fit(hd_shower_prep *p, int64_t n, int64_t n_voxels, const float *energy, const float *showers);
void hd_shower_prep_release(hd_shower_prep *p);
void hd_shower_prep_forward(const hd_shower_prep *p, int64_t n, const float *energy, const float *showers, float *x);
void hd_shower_prep_inverse(const hd_shower_prep *p, int64_t n, const float *energy, const float *x, float *showers);
/* One shower of hd_shower_prep_inverse, in the calling thread. */
void hd_shower_prep_inverse_row(const hd_shower_prep *p, float energy, const float *x, float *shower);
/* x[n_voxels]: each voxel's feature of an empty voxel, below which the inverse gives 0. */
void hd_shower_prep_zero(const hd_shower_prep *p, float *x);

/* Conditions as network features: column 0 (the energy) as its log, every
 * column standardised over the training sample, whose range is kept. */
typedef struct {
    int64_t n;
    float mean[HD_GEN_MAX_COND], std[HD_GEN_MAX_COND], lo[HD_GEN_MAX_COND], hi[HD_GEN_MAX_COND];
} hd_cond_scaler;

int hd_cond_scaler_fit(hd_cond_scaler *s, int64_t n_rows, int64_t n_cond, const float *cond);
void hd_cond_scaler_apply(const hd_cond_scaler *s, int64_t n_rows, const float *cond, float *features);
/* The first row and column outside the range (with a relative slack of
 * 1e-6), as an HD_EINVAL error naming them; HD_OK when all are inside. */
int hd_cond_scaler_check(const hd_cond_scaler *s, int64_t n_rows, const float *cond);
/* The convolutional generator of a 30 x 30 face (hadron gen on ecal30),
 * layers "gen.*": x [B, n_in] -> dense to 32 x 8 x 8 -> two stride-2
 * transposed 4 x 4 convolutions ('same') to 16 x 16 x 16 and 8 x 32 x 32 ->
 * a 3 x 3 'valid' convolution to 1 x 30 x 30, LeakyReLU 0.2 between, a
 * linear output -> [B, 900].  A checkpoint's "arch": "conv30" names it. */
hd_node *hd_gen_conv30(hd_graph *g, hd_node *x, int64_t n_in);
/* The generator of seed 002's DCGAN (hadron gan, nn/dcgan.c), layers
 * "gen.*": z [B, latent] -> images [B, 1, 28, 28] in (-1, 1).  A checkpoint
 * with metadata "model": "dcgan" loads as a generator model of no
 * conditions, latent normals and 784 pixels. */
#define HD_DCGAN_SIDE 28
hd_node *hd_dcgan_generator(hd_graph *g, hd_node *z, int64_t latent);

/* The entries every generator checkpoint holds (model, generator kind,
 * counts, transforms, scaler), for hadron gen train; the kind's own
 * tensors and metadata are the caller's (docs/generative.md lists them). */
int hd_generator_record(hd_checkpoint_entries *e, const char *kind, const hd_calo_layout *layout,
                        const hd_shower_prep *p, hd_cond_scaler *s);

#ifdef __cplusplus
}
#endif
#endif
