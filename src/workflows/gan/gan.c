/* The gan workflow: DCGAN training on 28 x 28 images with checkpoints that
 * resume bit-identically, sample grids per epoch, and a quality figure
 * (Frechet distance in the features of a classifier trained by hadron). */
#include "gan_internal.h"
#include "hadron/metrics.h"
#include "workflows/classifier/image_classifier.h"
#include "workflows/report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define N_CLASSES 10
#define CLASS_MIN_FRACTION 0.02
#define STEP_BLOCKS 24 /* latent noise of step s: blocks from s << 24 of (seed, NOISE) */
#define STREAM_GRID (HD_STREAM_USER + 1)
#define STREAM_FD (HD_STREAM_USER + 2)

hd_gan_opts hd_gan_opts_default(void)
{
    hd_gan_opts o = {.seed = 1, .epochs = 10, .batch = 256, .latent = 100, .optim = hd_optim_opts_default(HD_ADAM),
                     .checkpoint_every = 1, .fd_samples = 10000, .grid = 16};
    o.optim.lr = 1e-4f;
    o.optim.beta1 = 0.5f;
    return o;
}

typedef struct {
    const hd_gan_opts *o;
    hd_tensor *train, *test;
    int32_t *train_labels, *test_labels;
    hd_image_classifier *clf;
    float *real_features, *fd_z, *fd_images, *fd_features;
    int32_t *fd_labels;
    int64_t n_fd;
    hd_gan_net net;
    hd_gan_sampler smp;
    hd_gan_state st;
    FILE *hist;
    double *step_seconds;
} run;

static void path_in(char *buf, size_t size, const run *r, const char *name)
{
    snprintf(buf, size, "%s/%s", r->o->out_dir, name);
}

static void stage(const run *r, const char *what)
{
    if (r->o->on_stage) r->o->on_stage(r->o->user, what);
}

int hd_gan_check(const hd_gan_opts *o)
{
    if (!o->out_dir) return hd_error(HD_EINVAL, "gan: an output directory is needed");
    if (o->epochs < 1 || o->batch < 2 || o->latent < 1 || o->latent > 4096 || o->checkpoint_every < 1 ||
        o->fd_samples < 2 || o->grid < 1 || o->grid > 1024 || o->n_train < 0)
        return hd_error(HD_EINVAL, "gan: epochs, checkpoint interval, grid >= 1, batch and fd samples >= 2, "
                                   "latent 1..4096, n_train >= 0");
    if (o->batch % hd_dist_size() != 0)
        return hd_error(HD_EINVAL, "gan: batch %lld is not a multiple of the %d ranks", (long long)o->batch,
                        hd_dist_size());
    return hd_optim_check(&o->optim);
}

/* ---- the classifier and the Frechet distance -------------------------------- */

static int get_classifier(run *r, hd_gan_result *res)
{
    char path[4096];
    int rc;
    if (r->o->classifier) {
        rc = hd_image_classifier_load(r->o->classifier, &r->clf);
    } else {
        stage(r, "training the classifier for the quality figure");
        hd_image_classifier_opts co = hd_image_classifier_opts_default();
        co.seed = r->o->seed;
        rc = hd_image_classifier_train(&co, r->train, r->train_labels, N_CLASSES, &r->clf);
        path_in(path, sizeof path, r, "classifier.safetensors");
        if (rc == HD_OK) rc = hd_image_classifier_save(r->clf, path);
    }
    if (rc != HD_OK) return rc;
    res->classifier_accuracy =
        hd_image_classifier_accuracy(r->clf, r->test->shape[0], r->test->data, r->test_labels);
    return HD_OK;
}

/* Features of the first n_fd test images, and a fixed latent batch for the
 * generated ones: the same for fd_initial and fd_final. */
static int prepare_fd(run *r)
{
    int64_t d = hd_image_classifier_feature_dim(r->clf);
    r->n_fd = r->o->fd_samples < r->test->shape[0] ? r->o->fd_samples : r->test->shape[0];
    r->real_features = hd_malloc((size_t)(r->n_fd * d) * sizeof(float));
    r->fd_features = hd_malloc((size_t)(r->n_fd * d) * sizeof(float));
    r->fd_z = hd_malloc((size_t)(r->n_fd * r->o->latent) * sizeof(float));
    r->fd_images = hd_malloc((size_t)(r->n_fd * HD_GAN_PIXELS) * sizeof(float));
    r->fd_labels = hd_malloc((size_t)r->n_fd * sizeof(int32_t));
    if (!r->real_features || !r->fd_features || !r->fd_z || !r->fd_images || !r->fd_labels) return HD_ENOMEM;
    hd_rng rng;
    hd_rng_init(&rng, r->o->seed, STREAM_FD);
    hd_rng_fill_normal(&rng, r->fd_z, r->n_fd * r->o->latent, 0.0f, 1.0f);
    return hd_image_classifier_apply(r->clf, r->n_fd, r->test->data, r->real_features, NULL);
}

/* The Frechet distance of the generator now; fills class fractions too. */
static int measure(run *r, double *fd, hd_gan_result *res)
{
    int rc = hd_gan_sampler_copy(&r->smp, r->net.g);
    if (rc == HD_OK) rc = hd_gan_sampler_run(&r->smp, r->n_fd, r->fd_z, r->fd_images);
    if (rc == HD_OK) rc = hd_image_classifier_apply(r->clf, r->n_fd, r->fd_images, r->fd_features, r->fd_labels);
    if (rc == HD_OK)
        rc = hd_frechet_distance(r->n_fd, r->real_features, r->n_fd, r->fd_features,
                                 hd_image_classifier_feature_dim(r->clf), fd);
    if (rc != HD_OK || !res) return rc;
    int64_t count[N_CLASSES] = {0};
    for (int64_t i = 0; i < r->n_fd; i++)
        if (r->fd_labels[i] >= 0 && r->fd_labels[i] < N_CLASSES) count[r->fd_labels[i]]++;
    res->classes_present = 0;
    for (int c = 0; c < N_CLASSES; c++) {
        res->class_fraction[c] = (double)count[c] / (double)r->n_fd;
        res->classes_present += res->class_fraction[c] >= CLASS_MIN_FRACTION;
    }
    return HD_OK;
}

/* ---- history ------------------------------------------------------------------ */

static const char HISTORY_HEADER[] = "step,epoch,d_loss,g_loss,d_real,d_fake\n";

/* Fresh, or on resume cut back to the checkpoint's step (a killed run may
 * have written more) and appended to. */
static int open_history(run *r)
{
    char path[4096];
    path_in(path, sizeof path, r, "history.csv");
    return hd_history_open(path, HISTORY_HEADER, r->o->resume ? r->st.step : 0, &r->hist);
}

/* ---- training ------------------------------------------------------------------- */

static int epoch_grid(run *r, int epoch)
{
    char name[64], path[4096];
    int64_t n = r->o->grid;
    float *z = hd_malloc((size_t)(n * r->o->latent) * sizeof(float));
    float *img = hd_malloc((size_t)(n * HD_GAN_PIXELS) * sizeof(float));
    int rc = z && img ? HD_OK : HD_ENOMEM;
    if (rc == HD_OK) {
        hd_rng rng;
        hd_rng_init(&rng, r->o->seed, STREAM_GRID);
        hd_rng_fill_normal(&rng, z, n * r->o->latent, 0.0f, 1.0f);
        snprintf(name, sizeof name, "samples/epoch_%03d.png", epoch);
        path_in(path, sizeof path, r, name);
        int cols = 1;
        while ((int64_t)cols * cols < n) cols++;
        if ((rc = hd_gan_sampler_copy(&r->smp, r->net.g)) == HD_OK &&
            (rc = hd_gan_sampler_run(&r->smp, n, z, img)) == HD_OK)
            rc = hd_gan_grid(path, n, img, cols);
    }
    hd_free(z);
    hd_free(img);
    return rc;
}

/* Copies this rank's rows of batch k of the epoch's order into the graph,
 * and their noise (the rows of the global batch's noise). */
static void load_batch(run *r, const int64_t *order, int64_t k)
{
    int64_t b = r->o->batch, rank = hd_dist_rank(), parts = hd_dist_size();
    float *dst = hd_node_value(r->net.real)->data;
    for (int64_t i = rank, j = 0; i < b; i += parts, j++)
        memcpy(dst + j * HD_GAN_PIXELS, r->train->data + order[k * b + i] * HD_GAN_PIXELS, HD_GAN_PIXELS * sizeof(float));
    hd_rng rng;
    hd_rng_init(&rng, r->o->seed, HD_STREAM_NOISE);
    rng.counter = (uint64_t)r->st.step << STEP_BLOCKS;
    hd_rows rows = {r->net.local, rank, parts, b};
    hd_rng_fill_normal_rows(&rng, hd_node_value(r->net.z)->data, &rows, r->o->latent, 0.0f, 1.0f);
}

static int train_epoch(run *r, int epoch, int64_t *order, hd_gan_losses *mean)
{
    int64_t n = r->train->shape[0], spe = n / r->o->batch;
    hd_rng rng;
    hd_rng_init(&rng, r->o->seed, HD_STREAM_SHUFFLE);
    rng.counter = (uint64_t)epoch << 32;
    hd_rng_permutation(&rng, n, order);
    memset(mean, 0, sizeof *mean);
    int rc = HD_OK;
    for (int64_t k = 0; rc == HD_OK && k < spe; k++) {
        hd_gan_losses l;
        load_batch(r, order, k);
        double t0 = hd_now();
        if ((rc = hd_gan_net_step(&r->net, &l))) break;
        r->step_seconds[k] = hd_now() - t0;
        r->st.step++;
        if (r->hist) fprintf(r->hist, "%" PRId64 ",%d,%.7g,%.7g,%.5g,%.5g\n", r->st.step, epoch, l.d_loss, l.g_loss, l.d_real,
                l.d_fake);
        mean->d_loss += l.d_loss / (double)spe;
        mean->g_loss += l.g_loss / (double)spe;
        mean->d_real += l.d_real / (double)spe;
        mean->d_fake += l.d_fake / (double)spe;
        if (r->o->on_step) r->o->on_step(r->o->user, epoch, k + 1, spe, &l);
    }
    if (r->hist && fflush(r->hist) != 0) rc = hd_error(HD_EIO, "writing %s/history.csv failed", r->o->out_dir);
    return rc;
}

static int save(run *r)
{
    char path[4096];
    path_in(path, sizeof path, r, "checkpoint.safetensors");
    r->st.graph_step = hd_graph_step(r->net.g);
    return hd_gan_save(path, r->o, &r->net, &r->st);
}

static int train(run *r, hd_gan_result *res)
{
    int64_t n = r->train->shape[0];
    int64_t *order = hd_malloc((size_t)n * sizeof(int64_t));
    r->step_seconds = hd_malloc((size_t)(n / r->o->batch) * sizeof(double));
    int rc = order && r->step_seconds ? HD_OK : HD_ENOMEM;
    for (int e = r->st.epoch + 1; rc == HD_OK && e <= r->o->epochs; e++) {
        hd_gan_losses mean;
        double t0 = hd_now();
        if ((rc = train_epoch(r, e, order, &mean))) break;
        double secs = hd_now() - t0;
        r->st.epoch = e;
        uint64_t weights = hd_dist_hash(r->net.pd, (size_t)r->net.nd * sizeof(float)) ^
                           hd_dist_hash(r->net.pg, (size_t)r->net.ng * sizeof(float));
        if ((rc = hd_dist_same(weights, "the networks' weights"))) break;
        if (hd_dist_rank() == 0 && (rc = epoch_grid(r, e))) break;
        if (hd_dist_rank() == 0 && (e % r->o->checkpoint_every == 0 || e == r->o->epochs)) rc = save(r);
        res->seconds_per_step = hd_quantile(r->step_seconds, n / r->o->batch, 0.5);
        if (r->o->on_epoch) r->o->on_epoch(r->o->user, e, &mean, secs);
    }
    res->epochs = r->st.epoch;
    res->steps = r->st.step;
    hd_free(order);
    return rc;
}

/* ---- outputs -------------------------------------------------------------------- */

static int write_metrics(const run *r, const hd_gan_result *res)
{
    char path[4096];
    path_in(path, sizeof path, r, "metrics.json");
    hd_atomic_file af;
    int rc = hd_atomic_open(&af, path);
    if (rc != HD_OK) return rc;
    fprintf(af.f, "{\n");
    hd_report_number(af.f, "fd_initial", res->fd_initial, 0);
    hd_report_number(af.f, "fd_final", res->fd_final, 0);
    hd_report_number(af.f, "fd_ratio", res->fd_ratio, 0);
    hd_report_number(af.f, "classes_present", res->classes_present, 0);
    fprintf(af.f, "  \"class_fraction\": [");
    for (int c = 0; c < N_CLASSES; c++) fprintf(af.f, "%s%.4f", c ? ", " : "", res->class_fraction[c]);
    fprintf(af.f, "],\n");
    hd_report_number(af.f, "classifier_accuracy", res->classifier_accuracy, 0);
    hd_report_number(af.f, "fd_samples", (double)r->n_fd, 0);
    hd_report_number(af.f, "epochs", res->epochs, 0);
    hd_report_number(af.f, "steps", (double)res->steps, 0);
    hd_report_number(af.f, "n_train", (double)r->train->shape[0], 0);
    hd_report_number(af.f, "seconds_per_step", res->seconds_per_step, 1);
    fprintf(af.f, "}\n");
    return hd_atomic_commit(&af);
}

static int plot_losses(const run *r)
{
    char stem[4096];
    path_in(stem, sizeof stem, r, "loss");
    hd_line_plot p = {.csv = "history.csv", .title = "DCGAN losses", .xlabel = "step", .ylabel = "loss",
                      .x_col = 1, .n_series = 2, .y_cols = {3, 4},
                      .y_titles = {"discriminator", "generator (non-saturating)"}};
    return hd_plot_lines(stem, &p, NULL);
}

/* ---- the whole run ---------------------------------------------------------------- */

static int load_data(run *r)
{
    const char *dir = r->o->data_dir ? r->o->data_dir : hd_idx_default_dir();
    int need_labels = r->o->classifier == NULL; /* to train the classifier */
    int rc = hd_gan_read_images(dir, "train", r->o->n_train, &r->train, need_labels ? &r->train_labels : NULL);
    if (rc == HD_OK) rc = hd_gan_read_images(dir, "t10k", 0, &r->test, &r->test_labels);
    if (rc == HD_OK && r->train->shape[0] < r->o->batch)
        rc = hd_error(HD_EINVAL, "gan: %lld training images, fewer than one batch of %lld",
                      (long long)r->train->shape[0], (long long)r->o->batch);
    return rc;
}

/* Under mpirun every rank reads the checkpoint; rank 0 alone measures,
 * plots and writes (docs/distributed.md). */
static int start(run *r, hd_gan_result *res)
{
    char path[4096], dir[4096];
    int lead = hd_dist_rank() == 0;
    path_in(dir, sizeof dir, r, "samples");
    if (lead && mkdir(dir, 0777) != 0 && errno != EEXIST)
        return hd_error(HD_EIO, "cannot make %s: %s", dir, strerror(errno));
    if (r->o->resume) {
        path_in(path, sizeof path, r, "checkpoint.safetensors");
        int rc = hd_gan_load(path, r->o, &r->net, &r->st);
        if (rc == HD_OK && r->st.epoch > r->o->epochs)
            rc = hd_error(HD_EINVAL, "%s: already %d epochs, more than --epochs %d", path, r->st.epoch, r->o->epochs);
        res->fd_initial = r->st.fd_initial;
        return rc == HD_OK && lead ? open_history(r) : rc;
    }
    if (!lead) return HD_OK;
    stage(r, "Frechet distance of the untrained generator");
    int rc = measure(r, &r->st.fd_initial, NULL);
    res->fd_initial = r->st.fd_initial;
    if (rc == HD_OK) rc = epoch_grid(r, 0);
    return rc == HD_OK ? open_history(r) : rc;
}

static void run_free(run *r)
{
    if (r->hist) fclose(r->hist);
    hd_tensor_free(r->train);
    hd_tensor_free(r->test);
    hd_free(r->train_labels);
    hd_free(r->test_labels);
    hd_image_classifier_free(r->clf);
    hd_free(r->real_features);
    hd_free(r->fd_features);
    hd_free(r->fd_z);
    hd_free(r->fd_images);
    hd_free(r->fd_labels);
    hd_free(r->step_seconds);
    hd_gan_net_free(&r->net);
    hd_gan_sampler_free(&r->smp);
}

int hd_gan_train(const hd_gan_opts *o, hd_gan_result *res)
{
    memset(res, 0, sizeof *res);
    int rc = hd_gan_check(o);
    if (rc != HD_OK) return rc;
    run r = {.o = o};
    int lead = hd_dist_rank() == 0; /* the other ranks only train */
    if ((rc = load_data(&r)) == HD_OK && (!lead || (rc = get_classifier(&r, res)) == HD_OK) &&
        (!lead || (rc = prepare_fd(&r)) == HD_OK) &&
        (rc = hd_gan_net_build(&r.net, o->seed, o->batch, o->latent, &o->optim)) == HD_OK &&
        (rc = hd_gan_sampler_build(&r.smp, o->latent)) == HD_OK && (rc = start(&r, res)) == HD_OK &&
        (rc = train(&r, res)) == HD_OK && lead) {
        stage(&r, "Frechet distance of the trained generator");
        if ((rc = measure(&r, &res->fd_final, res)) == HD_OK) {
            res->fd_ratio = res->fd_initial / res->fd_final;
            if ((rc = write_metrics(&r, res)) == HD_OK) rc = plot_losses(&r);
        }
    }
    run_free(&r);
    return rc;
}
