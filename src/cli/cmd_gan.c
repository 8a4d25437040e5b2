/* hadron gan: DCGAN training on 28 x 28 images and latent-space sampling. */
#include "cli.h"

#include <stdio.h>

typedef struct { hd_progress bar; int64_t done; } train_ui;

static void on_step(void *user, int epoch, int64_t step, int64_t steps_per_epoch, const hd_gan_losses *l)
{
    train_ui *ui = user;
    char status[96];
    snprintf(status, sizeof status, "epoch %d  step %lld/%lld  D %.3f  G %.3f", epoch, (long long)step,
             (long long)steps_per_epoch, l->d_loss, l->g_loss);
    hd_progress_update(&ui->bar, ++ui->done, status);
}

static void on_epoch(void *user, int epoch, const hd_gan_losses *m, double seconds)
{
    train_ui *ui = user;
    cli_print_above(&ui->bar, "epoch %3d  D loss %.4f  G loss %.4f  D(real) %.3f  D(fake) %.3f  %.1f s\n", epoch,
                    m->d_loss, m->g_loss, m->d_real, m->d_fake, seconds);
}

static int train(int argc, char **argv);
static int sample(int argc, char **argv);

static const cli_command cmd_train = {
    .name = "gan train",
    .summary = "train the seed's DCGAN on 28 x 28 images (Fashion-MNIST by default)",
    .usage = "gan train [--out DIR] [options]",
    .run = train,
};
static const cli_command cmd_sample = {
    .name = "gan sample",
    .summary = "latent-space grids and interpolation strips from a checkpoint",
    .usage = "gan sample --model CHECKPOINT [--out DIR] [options]",
    .run = sample,
};

static int train(int argc, char **argv)
{
    hd_gan_opts o = hd_gan_opts_default();
    o.out_dir = "out/gan";
    cli_run r = {.out = &o.out_dir, .seed = &o.seed};
    cli_train t = {.epochs = &o.epochs, .epochs_help = "epochs in all (also when resuming)", .batch = &o.batch,
                   .checkpoint_every = &o.checkpoint_every, .resume = &o.resume};
    cli_optim opt = {.o = &o.optim, .heading = "optimiser (both networks; the seed's Keras had beta1 0.9)"};
    cli_flag flags[] = {
        CLI_STRING("data", &o.data_dir, "directory of {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] "
                                           "(default: $HADRON_FASHION_MNIST or Debian's fashion-mnist)"),
        CLI_I64("n-train", &o.n_train, "use the first N training images (0: all)"),
        CLI_STRING("classifier", &o.classifier, "reuse a classifier.safetensors for the quality figure"),
        CLI_I64("fd-samples", &o.fd_samples, "images for the Frechet distance"),
        CLI_INT("grid", &o.grid, "images in the per-epoch sample grid"),
        cli_train_flags(&t),
        cli_run_flags(&r),
        cli_optim_flags(&opt),
    };
    int rc = CLI_PARSE(&cmd_train, argc, argv, flags);
    if (rc) return rc == 1 ? 0 : rc;
    if (hd_gan_check(&o) != HD_OK) return cli_refuse(&cmd_train);
    if (cli_start(&r)) return 1;
    printf("gan: DCGAN (seed 002) on %s, batch %lld, %s lr %g beta1 %g, %d epochs%s -> %s\n",
           o.data_dir ? o.data_dir : hd_idx_default_dir(), (long long)o.batch, hd_optim_name(o.optim.kind),
           (double)o.optim.lr, (double)o.optim.beta1, o.epochs, o.resume ? " (resuming)" : "", o.out_dir);
    train_ui ui = {0};
    o.on_step = on_step;
    o.on_epoch = on_epoch;
    o.on_stage = cli_stage_above;
    o.user = &ui;
    int64_t n = o.n_train > 0 ? o.n_train : 60000;
    hd_progress_begin(&ui.bar, "gan", (int64_t)o.epochs * (n / o.batch));
    hd_gan_result res;
    rc = hd_gan_train(&o, &res);
    hd_progress_end(&ui.bar);
    if (rc != HD_OK) return cli_fail(&cmd_train);
    printf("Frechet distance in classifier features (accuracy %.3f): %.4g untrained, %.4g trained, ratio %.1f\n",
           res.classifier_accuracy, res.fd_initial, res.fd_final, res.fd_ratio);
    printf("classes among generated images (>= 2%%): %d of 10; %.3f s per step\n", res.classes_present,
           res.seconds_per_step);
    printf("wrote %s/{checkpoint.safetensors, history.csv, metrics.json, loss.png, samples/epoch_*.png}\n", o.out_dir);
    return 0;
}

static int sample(int argc, char **argv)
{
    hd_gan_sample_opts o = hd_gan_sample_opts_default();
    o.out_dir = "out/gan-samples";
    cli_run r = {.out = &o.out_dir, .seed = &o.seed};
    cli_flag flags[] = {
        CLI_STRING("model", &o.checkpoint, "checkpoint.safetensors of hadron gan train"),
        CLI_INT("n", &o.n, "grid side: n x n images"),
        CLI_DOUBLE("scale-means", &o.scale_means, "latent means: scale x linspace(-1, 1)"),
        CLI_DOUBLE("scale-stds", &o.scale_stds, "latent widths: scale x linspace(-1, 1)"),
        CLI_INT("interp-steps", &o.interp_steps, "images per interpolation strip"),
        CLI_INT("interp-rows", &o.interp_rows, "interpolation strips"),
        cli_run_flags(&r),
    };
    int rc = CLI_PARSE(&cmd_sample, argc, argv, flags);
    if (rc) return rc == 1 ? 0 : rc;
    if (!o.checkpoint) {
        fprintf(stderr, "hadron gan sample: --model CHECKPOINT is required (made by hadron gan train)\n");
        return 2;
    }
    if (hd_gan_sample_check(&o) != HD_OK) return cli_refuse(&cmd_sample);
    if (cli_start(&r)) return 1;
    if (hd_gan_sample(&o) != HD_OK) return cli_fail(&cmd_sample);
    printf("wrote %s/{grid.png (%d x %d, latent means %g and widths %g times linspace(-1, 1)), samples.npy, "
           "interp_linear.png, interp_slerp.png}\n", o.out_dir, o.n, o.n, o.scale_means, o.scale_stds);
    return 0;
}

static const cli_command *const subcommands[] = {&cmd_train, &cmd_sample, NULL};

const cli_command cmd_gan = {
    .name = "gan",
    .summary = "DCGAN on 28 x 28 images: train, sample",
    .usage = "gan <train|sample> [options]",
    .subcommands = subcommands,
};
