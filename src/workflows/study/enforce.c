/* hadron study enforce: seed 001, "by adding necessary statistics to the
 * loss we do enforce match for these statistics, most likely by the price
 * of overtraining these particular statistics, and we lose handle to
 * validate ... Still can remove those statistics from loss, and see how far
 * they would deviate".  The same GAN, the same data and seed, trained with
 * and without the enforced statistics; each statistic's mismatch on
 * held-out and on training showers, beside the mismatch of two simulator
 * samples (the floor). */
#include "study_internal.h"
#include "workflows/report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

hd_enforce_opts hd_enforce_opts_default(void)
{
    return (hd_enforce_opts){.seed = 1, .model = HD_GEN_WGAN_GP, .enforce = HD_GEN_ENFORCE_ENERGY, .n_train = 10000,
                             .n_heldout = 10000, .epochs = 40};
}

int hd_enforce_check(const hd_enforce_opts *o)
{
    if (!o->out_dir) return hd_error(HD_EINVAL, "enforce: an output directory is needed");
    if (o->model != HD_GEN_WGAN_GP && o->model != HD_GEN_CRAMER)
        return hd_error(HD_EINVAL, "enforce: statistics are enforced in a GAN's loss: wgan-gp or cramer, not %s",
                        hd_gen_model_name(o->model));
    if (!o->enforce || (o->enforce & ~(HD_GEN_ENFORCE_ENERGY | HD_GEN_ENFORCE_LAYERS | HD_GEN_ENFORCE_WIDTH)))
        return hd_error(HD_EINVAL, "enforce: --enforce names energy, layers or width");
    if (o->n_train < 1000 || o->n_train > 10000000 || o->n_heldout < 1000 || o->n_heldout > 10000000)
        return hd_error(HD_EINVAL, "enforce: n-train %lld and n-heldout %lld must be 1000..10^7",
                        (long long)o->n_train, (long long)o->n_heldout);
    if (o->epochs < 1 || o->epochs > 100000) return hd_error(HD_EINVAL, "enforce: epochs %d outside 1..100000", o->epochs);
    return HD_OK;
}

static void stage(const hd_enforce_opts *o, const char *what)
{
    if (o->on_stage) o->on_stage(o->user, what);
}

/* The four mismatches of statistics g [n_g][w] against r [n_r][w]. */
static void mismatch(const hd_calo_layout *l, int64_t n_g, const double *g, int64_t n_r, const double *r, double *out)
{
    int64_t w = study_stat_count(l);
    for (int j = 0; j < STUDY_SCALARS; j++) {
        double mg, sg, mr, sr;
        study_column_moments(n_g, w, g, j, &mg, &sg);
        study_column_moments(n_r, w, r, j, &mr, &sr);
        out[j] = sqrt(((mg - mr) / sr) * ((mg - mr) / sr) + ((sg - sr) / sr) * ((sg - sr) / sr));
    }
    double z2 = 0;
    for (int k = 0; k < l->n_layers; k++) {
        double mg, sg, mr, sr;
        study_column_moments(n_g, w, g, STUDY_SCALARS + k, &mg, &sg);
        study_column_moments(n_r, w, r, STUDY_SCALARS + k, &mr, &sr);
        z2 += ((mg - mr) / sr) * ((mg - mr) / sr);
    }
    out[3] = sqrt(z2 / l->n_layers);
}

typedef struct {
    const hd_enforce_opts *o;
    hd_calo_layout layout;
    gen_sample train, held;
    double *st_train, *st_held; /* simulator statistics */
    char train_path[4096], held_path[4096];
} study;

/* Trains one run into out_dir/<name>, and judges it. */
static int one_run(study *s, int enforced, hd_enforce_result *res)
{
    const hd_enforce_opts *o = s->o;
    char dir[4096], ckpt[4200];
    snprintf(dir, sizeof dir, "%s/%s", o->out_dir, enforced ? "enforced" : "free");
    study_run run = {.model = o->model, .data = s->train_path, .heldout = s->held_path, .dir = dir, .seed = o->seed,
                     .epochs = o->epochs, .enforce = enforced ? o->enforce : 0, .on_epoch = o->on_epoch,
                     .user = o->user};
    stage(o, enforced ? "training with the statistics enforced" : "training without enforced statistics");
    int rc = study_train(&run, &res->seconds[enforced]);
    if (rc != HD_OK) return rc;
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.safetensors", dir);
    int64_t nv = s->train.n_vox, w = study_stat_count(&s->layout), n = s->train.n > s->held.n ? s->train.n : s->held.n;
    float *sh = hd_malloc((size_t)(n * nv) * sizeof(float));
    double *st = hd_malloc((size_t)(n * w) * sizeof(double));
    rc = sh && st ? HD_OK : HD_ENOMEM;
    for (int part = 0; rc == HD_OK && part < 2; part++) {
        const gen_sample *ref = part ? &s->train : &s->held;
        if ((rc = study_generate(ckpt, o->seed + 7 + (uint64_t)part, ref->n, ref->energy, sh)) != HD_OK) break;
        if ((rc = study_shower_stats(&s->layout, ref->n, sh, ref->energy, st)) != HD_OK) break;
        mismatch(&s->layout, ref->n, st, ref->n, part ? s->st_train : s->st_held,
                 part ? res->train[enforced] : res->heldout[enforced]);
    }
    hd_free(sh);
    hd_free(st);
    return rc;
}

static void enforced_names(unsigned bits, char *buf, size_t size)
{
    static const char *const names[3] = {"energy", "layers", "width"};
    buf[0] = '\0';
    for (int i = 0; i < 3; i++)
        if (bits & (1u << i)) snprintf(buf + strlen(buf), size - strlen(buf), "%s%s", buf[0] ? "," : "", names[i]);
}

static int write_outputs(const study *s, const hd_enforce_result *res)
{
    const hd_enforce_opts *o = s->o;
    char list[64];
    enforced_names(o->enforce, list, sizeof list);
    hd_atomic_file af;
    int rc = study_open(o->out_dir, "summary.csv", &af);
    if (rc != HD_OK) return rc;
    fprintf(af.f, "statistic,floor,free_heldout,enforced_heldout,free_train,enforced_train\n");
    for (int i = 0; i < HD_SHOWER_STATS; i++)
        fprintf(af.f, "%s,%.5g,%.5g,%.5g,%.5g,%.5g\n", hd_shower_stat_name(i), res->floor[i], res->heldout[0][i],
                res->heldout[1][i], res->train[0][i], res->train[1][i]);
    if ((rc = hd_atomic_commit(&af)) != HD_OK) return rc;
    if ((rc = study_open(o->out_dir, "metrics.json", &af)) != HD_OK) return rc;
    FILE *f = af.f;
    fprintf(f, "{\n  \"study\": \"enforce\",\n  \"model\": \"%s\",\n  \"enforce\": \"%s\",\n",
            hd_gen_model_name(o->model), list);
    hd_report_number(f, "n_train", (double)o->n_train, 0);
    hd_report_number(f, "epochs", o->epochs, 0);
    hd_report_number(f, "free_seconds", res->seconds[0], 0);
    hd_report_number(f, "enforced_seconds", res->seconds[1], 0);
    static const char *const groups[5] = {"floor", "free_heldout", "enforced_heldout", "free_train", "enforced_train"};
    for (int k = 0; k < 5; k++) {
        const double *v = k == 0 ? res->floor : k < 3 ? res->heldout[k - 1] : res->train[k - 3];
        fprintf(f, "  \"%s\": {", groups[k]);
        for (int i = 0; i < HD_SHOWER_STATS; i++) hd_report_number(f, hd_shower_stat_name(i), v[i], i + 1 == HD_SHOWER_STATS);
        fprintf(f, "  }%s\n", k < 4 ? "," : "");
    }
    fprintf(f, "}\n");
    return hd_atomic_commit(&af);
}

int hd_enforce_run(const hd_enforce_opts *o, hd_enforce_result *res)
{
    memset(res, 0, sizeof *res);
    int rc = hd_enforce_check(o);
    if (rc != HD_OK) return rc;
    study s = {.o = o};
    snprintf(s.train_path, sizeof s.train_path, "%s/train.h5", o->out_dir);
    snprintf(s.held_path, sizeof s.held_path, "%s/heldout.h5", o->out_dir);
    stage(o, "simulating training and held-out showers");
    if ((rc = study_simulate(s.train_path, o->seed, o->n_train, &s.train)) == HD_OK)
        rc = study_simulate(s.held_path, o->seed + 1000003, o->n_heldout, &s.held);
    if (rc == HD_OK) {
        hd_calo_layout_get("reduced", &s.layout);
        int64_t w = study_stat_count(&s.layout);
        s.st_train = hd_malloc((size_t)(s.train.n * w) * sizeof(double));
        s.st_held = hd_malloc((size_t)(s.held.n * w) * sizeof(double));
        rc = s.st_train && s.st_held ? HD_OK : HD_ENOMEM;
        if (rc == HD_OK) rc = study_shower_stats(&s.layout, s.train.n, s.train.showers, s.train.energy, s.st_train);
        if (rc == HD_OK) rc = study_shower_stats(&s.layout, s.held.n, s.held.showers, s.held.energy, s.st_held);
        if (rc == HD_OK) mismatch(&s.layout, s.train.n, s.st_train, s.held.n, s.st_held, res->floor);
    }
    for (int k = 0; rc == HD_OK && k < 2; k++) rc = one_run(&s, k, res);
    if (rc == HD_OK) rc = write_outputs(&s, res);
    gen_sample_release(&s.train);
    gen_sample_release(&s.held);
    hd_free(s.st_train);
    hd_free(s.st_held);
    return rc;
}
