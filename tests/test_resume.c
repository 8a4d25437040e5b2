/* Resume through the trainer: a surrogate, a bnn and hadron gen's wgan-gp,
 * vae and mdn runs killed (SIGKILL) after a checkpoint and resumed end with the
 * same bits as runs never stopped; a resume with other settings is refused
 * naming the option.
 * Every run is a child process, so that the parent never starts OpenMP's
 * threads (libgomp is not fork-safe) and a kill leaves the files as a
 * killed run leaves them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hadron/hadron.h"
#include "test_util.h"

#define EPOCHS 24
#define EVERY 5
#define KILL_AT 13 /* after the checkpoint of epoch 10, in the middle of the next interval */

static char *dir;
static char path_buf[3][4200];

static const char *in_dir(int slot, const char *name)
{
    snprintf(path_buf[slot], sizeof path_buf[slot], "%s/%s", dir, name);
    return path_buf[slot];
}

/* Runs fn(arg) in a child; returns its wait status. */
static int in_child(int (*fn)(const void *arg), const void *arg)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int rc = fn(arg);
        if (rc != HD_OK) { /* for the parent to read */
            FILE *f = fopen(in_dir(2, "error.txt"), "w");
            if (f) fprintf(f, "%s", hd_last_error());
            if (f) fclose(f);
        }
        _exit(rc == HD_OK ? 0 : 1);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static void assert_exited_ok(int status)
{
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) fail_msg("child failed (status %d)", status);
}

/* The child failed with a message containing part1 and part2. */
static void assert_refused(int status, const char *part1, const char *part2)
{
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 1) fail_msg("child did not fail (status %d)", status);
    size_t n;
    char *msg = (char *)slurp(in_dir(2, "error.txt"), &n);
    if (!strstr(msg, part1) || !strstr(msg, part2)) fail_msg("message \"%s\" lacks \"%s\" or \"%s\"", msg, part1, part2);
    free(msg);
}

static void assert_killed(int status)
{
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) fail_msg("child was not killed (status %d)", status);
}

/* Rows of a CSV file without its header. */
static int data_rows(const char *path)
{
    size_t n;
    unsigned char *s = slurp(path, &n);
    int lines = 0;
    for (size_t i = 0; i < n; i++) lines += s[i] == '\n';
    free(s);
    return lines - 1;
}

/* The history without its timing column (the last one). */
static char *history_without_seconds(const char *path)
{
    size_t n;
    char *s = (char *)slurp(path, &n), *out = malloc(n + 1), *o = out;
    assert_non_null(out);
    for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n")) {
        char *comma = strrchr(line, ',');
        size_t len = comma ? (size_t)(comma - line) : strlen(line);
        memcpy(o, line, len);
        o += len;
        *o++ = '\n';
    }
    *o = '\0';
    free(s);
    return out;
}

/* dir a's and b's checkpoint (file name) byte for byte, their histories but the seconds */
static void assert_same_files(const char *a, const char *b, const char *checkpoint)
{
    char pa[4300], pb[4300];
    snprintf(pa, sizeof pa, "%s/%s", a, checkpoint);
    snprintf(pb, sizeof pb, "%s/%s", b, checkpoint);
    size_t na, nb;
    unsigned char *ma = slurp(pa, &na), *mb = slurp(pb, &nb);
    assert_int_equal(na, nb);
    if (memcmp(ma, mb, na) != 0) fail_msg("%s and %s differ", pa, pb);
    free(ma);
    free(mb);
    snprintf(pa, sizeof pa, "%s/history.csv", a);
    snprintf(pb, sizeof pb, "%s/history.csv", b);
    char *ha = history_without_seconds(pa), *hb = history_without_seconds(pb);
    assert_string_equal(ha, hb);
    free(ha);
    free(hb);
}

static void assert_same_run(const char *a, const char *b) { assert_same_files(a, b, "model.safetensors"); }

/* ---- surrogate -------------------------------------------------------------------- */

/* Counts of an efficiency that rises with pT and falls with |eta|. */
static int write_histograms(const void *arg)
{
    (void)arg;
    hd_hist3 h;
    int rc = hd_hist3_alloc(&h, 4, 8, 2, 1);
    if (rc != HD_OK) return rc;
    for (int i = 0; i <= 4; i++) h.edges_eta[i] = 2.0 + 0.75 * i;
    for (int j = 0; j <= 8; j++) h.edges_pt[j] = 100.0 * pow(2.0, j);
    for (int k = 0; k <= 2; k++) h.edges_phi[k] = -HD_PI + HD_PI * k;
    hd_rng r;
    hd_rng_init(&r, 7, HD_STREAM_USER);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 8; j++)
            for (int k = 0; k < 2; k++) {
                int64_t b = hd_hist3_index(&h, i, j, k);
                double eff = 0.9 / (1 + exp(-(j - 2.5))) * (1 - 0.1 * i);
                h.gen[b] = 400;
                h.truth[b] = eff;
                for (int n = 0; n < 400; n++) h.rec[b] += hd_rng_uniform(&r) < eff;
            }
    rc = hd_hist3_write_npz(in_dir(0, "hist.npz"), &h);
    hd_hist3_free(&h);
    return rc;
}

typedef struct { const char *out; int resume, kill_at; float lr; } surrogate_run;

static void kill_surrogate(void *user, int epoch, double train, double test, float lr)
{
    (void)train;
    (void)test;
    (void)lr;
    if (epoch == *(const int *)user) raise(SIGKILL);
}

static int run_surrogate(const void *arg)
{
    const surrogate_run *s = arg;
    hd_surrogate_opts o = hd_surrogate_opts_default();
    o.input = in_dir(0, "hist.npz");
    o.out_dir = s->out;
    o.model.n_hidden = 2;
    o.model.hidden[0] = o.model.hidden[1] = 16;
    o.epochs = EPOCHS;
    o.checkpoint_every = EVERY;
    o.sched.plateau.window = 4; /* the rate changes in the run, so the schedule's state matters */
    o.resume = s->resume;
    if (s->lr > 0) o.optim.lr = s->lr;
    if (s->kill_at) {
        o.on_epoch = kill_surrogate;
        o.user = (void *)&s->kill_at;
    }
    hd_set_threads(2);
    mkdir(s->out, 0777);
    hd_surrogate_result r;
    return hd_surrogate_run(&o, &r);
}

static void test_surrogate_resume_is_bit_identical(void **state)
{
    (void)state;
    assert_exited_ok(in_child(write_histograms, NULL));
    char a[4200], b[4200];
    snprintf(a, sizeof a, "%s/sur_a", dir);
    snprintf(b, sizeof b, "%s/sur_b", dir);
    assert_exited_ok(in_child(run_surrogate, &(surrogate_run){.out = a}));
    assert_killed(in_child(run_surrogate, &(surrogate_run){.out = b, .kill_at = KILL_AT}));
    char hist[4300];
    snprintf(hist, sizeof hist, "%s/history.csv", b);
    assert_int_equal(data_rows(hist), KILL_AT); /* it died after the rows past its checkpoint */
    /* other settings are refused, naming the option; the files stay as they were */
    assert_refused(in_child(run_surrogate, &(surrogate_run){.out = b, .resume = 1, .lr = 0.5f}),
                   "trained with --lr 0.001;", "(not 0.5)");
    assert_int_equal(data_rows(hist), KILL_AT);
    assert_exited_ok(in_child(run_surrogate, &(surrogate_run){.out = b, .resume = 1}));
    assert_int_equal(data_rows(hist), EPOCHS);
    assert_same_run(a, b);
}

/* ---- bnn ---------------------------------------------------------------------------- */

static int write_amplitudes(const void *arg)
{
    (void)arg;
    hd_amplitude_opts o = hd_amplitude_opts_default();
    return hd_sim_amplitudes_write(&o, dir, (const int64_t[3]){1500, 300, 300});
}

typedef struct { const char *out; int resume, kill_at, epochs; } bnn_run;

static void kill_bnn(void *user, int epoch, const hd_bnn_losses *train, const hd_bnn_losses *val)
{
    (void)train;
    (void)val;
    if (epoch == *(const int *)user) raise(SIGKILL);
}

static int run_bnn(const void *arg)
{
    const bnn_run *s = arg;
    hd_bnn_opts o = hd_bnn_opts_default();
    o.data_dir = dir;
    o.out_dir = s->out;
    o.epochs = s->epochs ? s->epochs : EPOCHS;
    o.checkpoint_every = EVERY;
    o.samples = 5;
    o.resume = s->resume;
    if (s->kill_at) {
        o.on_epoch = kill_bnn;
        o.user = (void *)&s->kill_at;
    }
    hd_set_threads(2);
    mkdir(s->out, 0777);
    hd_bnn_result r;
    return hd_bnn_run(&o, &r);
}

static void test_bnn_resume_is_bit_identical(void **state)
{
    (void)state;
    assert_exited_ok(in_child(write_amplitudes, NULL));
    char a[4200], b[4200];
    snprintf(a, sizeof a, "%s/bnn_a", dir);
    snprintf(b, sizeof b, "%s/bnn_b", dir);
    assert_exited_ok(in_child(run_bnn, &(bnn_run){.out = a}));
    assert_killed(in_child(run_bnn, &(bnn_run){.out = b, .kill_at = KILL_AT}));
    /* the decay spans the planned epochs: another count is refused */
    assert_refused(in_child(run_bnn, &(bnn_run){.out = b, .resume = 1, .epochs = EPOCHS + 1}), "trained with --epochs 24;",
                   "(not 25)");
    assert_exited_ok(in_child(run_bnn, &(bnn_run){.out = b, .resume = 1}));
    assert_same_run(a, b);
}

/* ---- gen: wgan-gp and vae ------------------------------------------------------------ */

#define GEN_EPOCHS 6
#define GEN_EVERY 2
#define GEN_KILL_AT 3 /* after the checkpoint of epoch 2 */

static int write_showers(const void *arg)
{
    (void)arg;
    hd_calo_opts o = hd_calo_opts_default(); /* the reduced layout */
    o.n_showers = 700;                       /* 560 to train (8 batches), 140 held out */
    o.seed = 5;
    hd_set_threads(1);
    return hd_calo_write(&o, in_dir(0, "showers.h5"));
}

typedef struct { hd_gen_model model; const char *out; int resume, kill_at; int64_t latent; float kl_weight; int mdn_k; } gen_run;

static void kill_gen(void *user, const hd_gen_epoch *e)
{
    if (e->epoch == *(const int *)user) raise(SIGKILL);
}

static int run_gen(const void *arg)
{
    const gen_run *s = arg;
    hd_gen_opts o = hd_gen_opts_default(s->model);
    o.data = in_dir(0, "showers.h5");
    o.out_dir = s->out;
    o.gen_layers.n_hidden = o.critic_layers.n_hidden = 2;
    o.gen_layers.hidden[0] = o.gen_layers.hidden[1] = 32;
    o.critic_layers.hidden[0] = o.critic_layers.hidden[1] = 32;
    o.energy_layers.hidden[0] = o.energy_layers.hidden[1] = 32;
    if (s->mdn_k) o.mdn_k = s->mdn_k;
    o.latent = s->latent ? s->latent : 8;
    if (s->kl_weight > 0) o.kl_weight = s->kl_weight;
    o.batch = 64;
    o.evaluate = 0;
    o.epochs = GEN_EPOCHS;
    o.checkpoint_every = GEN_EVERY;
    o.resume = s->resume;
    if (s->kill_at) {
        o.on_epoch = kill_gen;
        o.user = (void *)&s->kill_at;
    }
    hd_set_threads(1); /* networks this small gain nothing from threads, and lose much on a busy machine */
    mkdir(s->out, 0777);
    hd_gen_result r;
    return hd_gen_train(&o, &r);
}

/* A (uninterrupted) and B (killed at epoch 3, refused with other settings,
 * resumed to epoch 6) of one model end with the same checkpoint and history. */
static void gen_resume(hd_gen_model model, const char *tag, const gen_run *other, const char *msg1, const char *msg2)
{
    if (access(in_dir(0, "showers.h5"), F_OK) != 0) assert_exited_ok(in_child(write_showers, NULL));
    char a[4200], b[4200], hist[4300];
    snprintf(a, sizeof a, "%s/%s_a", dir, tag);
    snprintf(b, sizeof b, "%s/%s_b", dir, tag);
    snprintf(hist, sizeof hist, "%s/history.csv", b);
    assert_exited_ok(in_child(run_gen, &(gen_run){.model = model, .out = a}));
    assert_killed(in_child(run_gen, &(gen_run){.model = model, .out = b, .kill_at = GEN_KILL_AT}));
    assert_int_equal(data_rows(hist), GEN_KILL_AT); /* on_epoch comes after the epoch's row */
    gen_run o = *other;
    o.model = model;
    o.out = b;
    o.resume = 1;
    assert_refused(in_child(run_gen, &o), msg1, msg2);
    assert_int_equal(data_rows(hist), GEN_KILL_AT); /* the refusal left the files alone */
    assert_exited_ok(in_child(run_gen, &(gen_run){.model = model, .out = b, .resume = 1}));
    assert_int_equal(data_rows(hist), GEN_EPOCHS);
    assert_same_files(a, b, "checkpoint.safetensors");
}

static void test_gen_wgan_resume_is_bit_identical(void **state)
{
    (void)state;
    gen_resume(HD_GEN_WGAN_GP, "wgan", &(gen_run){.latent = 16}, "trained with --latent 8;", "(not 16)");
}

static void test_gen_vae_resume_is_bit_identical(void **state)
{
    (void)state;
    gen_resume(HD_GEN_VAE, "vae", &(gen_run){.kl_weight = 0.5f}, "trained with --kl-weight 1;", "(not 0.5)");
}

static void test_gen_mdn_resume_is_bit_identical(void **state)
{
    (void)state;
    gen_resume(HD_GEN_MDN, "mdn", &(gen_run){.mdn_k = 3}, "trained with --mdn-k 5;", "(not 3)");
}

static int setup(void **state)
{
    (void)state;
    return (dir = test_tmpdir("resume")) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return test_tmpdir_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_surrogate_resume_is_bit_identical),
        cmocka_unit_test(test_bnn_resume_is_bit_identical),
        cmocka_unit_test(test_gen_wgan_resume_is_bit_identical),
        cmocka_unit_test(test_gen_vae_resume_is_bit_identical),
        cmocka_unit_test(test_gen_mdn_resume_is_bit_identical),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
