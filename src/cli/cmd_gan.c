/* hadron gan: DCGAN training on 28 x 28 images and latent-space sampling. */
#include "cli.h"
#include "hadron/hadron.h"

#include <stdio.h>
#include <string.h>

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

static void on_stage(void *user, const char *what)
{
    train_ui *ui = user;
    cli_print_above(&ui->bar, "%s ...\n", what);
}

static int train(int argc, char **argv)
{
    static const cli_command cmd = {"gan train", "train the seed's DCGAN on 28 x 28 images (Fashion-MNIST by default)",
                                    "gan train [--out DIR] [options]", NULL};
    hd_gan_opts o = hd_gan_opts_default();
    int threads = 0;
    o.out_dir = "out/gan";
    cli_flag flags[] = {
        {"data", FLAG_STRING, &o.data_dir, "directory of {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] "
                                           "(default: $HADRON_FASHION_MNIST or Debian's fashion-mnist)"},
        {"out", FLAG_STRING, &o.out_dir, "output directory"},
        {"epochs", FLAG_INT, &o.epochs, "epochs in all (also when resuming)"},
        {"batch", FLAG_I64, &o.batch, "batch size"},
        {"lr", FLAG_FLOAT, &o.optim.lr, "Adam learning rate of both networks"},
        {"beta1", FLAG_FLOAT, &o.optim.beta1, "Adam first-moment decay of both (the seed's Keras default: 0.9)"},
        {"n-train", FLAG_I64, &o.n_train, "use the first N training images (0: all)"},
        {"checkpoint-every", FLAG_INT, &o.checkpoint_every, "epochs between checkpoints"},
        {"resume", FLAG_BOOL, &o.resume, "continue from OUT/checkpoint.safetensors"},
        {"classifier", FLAG_STRING, &o.classifier, "reuse a classifier.safetensors for the quality figure"},
        {"fd-samples", FLAG_I64, &o.fd_samples, "images for the Frechet distance"},
        {"grid", FLAG_INT, &o.grid, "images in the per-epoch sample grid"},
        {"seed", FLAG_U64, &o.seed, "random seed"},
        {"threads", FLAG_INT, &threads, "threads (0: all cores; resume with the same count for identical bits)"},
    };
    int rc = cli_parse(&cmd, argc, argv, flags, (int)(sizeof flags / sizeof flags[0]));
    if (rc) return rc == 1 ? 0 : rc;
    if (cli_mkdir(o.out_dir)) return 1;
    hd_set_threads(threads);
    printf("gan: DCGAN (seed 002) on %s, batch %lld, Adam lr %g beta1 %g, %d epochs%s -> %s\n",
           o.data_dir ? o.data_dir : hd_idx_default_dir(), (long long)o.batch, (double)o.optim.lr, (double)o.optim.beta1, o.epochs,
           o.resume ? " (resuming)" : "", o.out_dir);
    train_ui ui = {0};
    o.on_step = on_step;
    o.on_epoch = on_epoch;
    o.on_stage = on_stage;
    o.user = &ui;
    int64_t n = o.n_train > 0 ? o.n_train : 60000;
    hd_progress_begin(&ui.bar, "gan", (int64_t)o.epochs * (n / (o.batch > 0 ? o.batch : 1)));
    hd_gan_result r;
    rc = hd_gan_train(&o, &r);
    hd_progress_end(&ui.bar);
    if (rc != HD_OK) {
        fprintf(stderr, "hadron gan train: %s\n", hd_last_error());
        return 1;
    }
    printf("Frechet distance in classifier features (accuracy %.3f): %.4g untrained, %.4g trained, ratio %.1f\n",
           r.classifier_accuracy, r.fd_initial, r.fd_final, r.fd_ratio);
    printf("classes among generated images (>= 2%%): %d of 10; %.3f s per step\n", r.classes_present,
           r.seconds_per_step);
    printf("wrote %s/{checkpoint.safetensors, history.csv, metrics.json, loss.png, samples/epoch_*.png}\n", o.out_dir);
    return 0;
}

static int sample(int argc, char **argv)
{
    static const cli_command cmd = {"gan sample", "latent-space grids and interpolation strips from a trained generator",
                                    "gan sample --model CHECKPOINT [--out DIR] [options]", NULL};
    hd_gan_sample_opts o = hd_gan_sample_opts_default();
    o.out_dir = "out/gan-samples";
    float scale_means = (float)o.scale_means, scale_stds = (float)o.scale_stds;
    cli_flag flags[] = {
        {"model", FLAG_STRING, &o.checkpoint, "checkpoint.safetensors of hadron gan train"},
        {"out", FLAG_STRING, &o.out_dir, "output directory"},
        {"n", FLAG_INT, &o.n, "grid side: n x n images"},
        {"scale-means", FLAG_FLOAT, &scale_means, "latent means: scale x linspace(-1, 1)"},
        {"scale-stds", FLAG_FLOAT, &scale_stds, "latent widths: scale x linspace(-1, 1)"},
        {"interp-steps", FLAG_INT, &o.interp_steps, "images per interpolation strip"},
        {"interp-rows", FLAG_INT, &o.interp_rows, "interpolation strips"},
        {"seed", FLAG_U64, &o.seed, "random seed"},
    };
    int rc = cli_parse(&cmd, argc, argv, flags, (int)(sizeof flags / sizeof flags[0]));
    if (rc) return rc == 1 ? 0 : rc;
    if (!o.checkpoint) {
        fprintf(stderr, "hadron gan sample: --model CHECKPOINT is required (made by hadron gan train)\n");
        return 2;
    }
    o.scale_means = scale_means;
    o.scale_stds = scale_stds;
    if (cli_mkdir(o.out_dir)) return 1;
    if ((rc = hd_gan_sample(&o)) != HD_OK) {
        fprintf(stderr, "hadron gan sample: %s\n", hd_last_error());
        return 1;
    }
    printf("wrote %s/{grid.png (%d x %d, latent means %g and widths %g times linspace(-1, 1)), samples.npy, "
           "interp_linear.png, interp_slerp.png}\n", o.out_dir, o.n, o.n, o.scale_means, o.scale_stds);
    return 0;
}

static int run(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "train") == 0) return train(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "sample") == 0) return sample(argc - 1, argv + 1);
    FILE *f = argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) ? stdout : stderr;
    fprintf(f, "usage: hadron gan <train|sample> [options]\n\n"
               "  train    train the seed's DCGAN; checkpoints, sample grids, Frechet distance\n"
               "  sample   latent-space grids and interpolation strips from a checkpoint\n\n"
               "  hadron gan <train|sample> --help   options\n");
    return f == stdout ? 0 : 2;
}

const cli_command cmd_gan = {"gan", "DCGAN on 28 x 28 images: train, sample", "gan <train|sample> [options]", run};
