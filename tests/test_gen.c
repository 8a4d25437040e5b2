/* hadron gen: the shower transforms and condition scaler, the library and
 * Gaussian-mixture generators through hd_model_generate, the noise
 * contract, and the refusals (missing datasets, conditions out of range,
 * options that do not fit the model). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hadron/hadron.h"
#include "test_util.h"

#define N_SHOWERS 1200

static char *dir;
static char data_path[4200];

static const char *in_dir(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", dir, name);
    return buf;
}

static int setup(void **state)
{
    (void)state;
    dir = test_tmpdir("gen");
    hd_set_threads(1);
    hd_calo_opts o = hd_calo_opts_default();
    o.n_showers = N_SHOWERS;
    o.seed = 3;
    in_dir(data_path, sizeof data_path, "reduced.h5");
    return hd_calo_write(&o, data_path);
}

static int teardown(void **state)
{
    (void)state;
    test_tmpdir_free(dir);
    return 0;
}

static void assert_error_has(const char *part)
{
    if (!strstr(hd_last_error(), part)) fail_msg("error \"%s\" lacks \"%s\"", hd_last_error(), part);
}

/* ---- transforms ---------------------------------------------------------------- */

static void test_prep_round_trip(void **state)
{
    (void)state;
    enum { N = 50, V = 7 };
    float energy[N], showers[N * V], x[N * V], back[N * V];
    hd_rng r;
    hd_rng_init(&r, 1, HD_STREAM_USER);
    for (int i = 0; i < N; i++) {
        energy[i] = 1000.0f * (1 + 99 * hd_rng_uniform(&r));
        for (int v = 0; v < V; v++) /* a third empty, the others spread over decades */
            showers[i * V + v] = hd_rng_uniform(&r) < 0.33f ? 0.0f : energy[i] * powf(10.0f, -4 * hd_rng_uniform(&r)) / V;
    }
    for (int kind = 0; kind < 2; kind++) {
        hd_shower_prep p = hd_shower_prep_default();
        p.kind = (hd_prep_kind)kind;
        assert_int_equal(hd_shower_prep_fit(&p, N, V, energy, showers), HD_OK);
        hd_shower_prep_forward(&p, N, energy, showers, x);
        double m = 0, s = 0; /* standardised per voxel */
        for (int i = 0; i < N; i++) m += x[i * V + 2] / N, s += x[i * V + 2] * x[i * V + 2] / N;
        assert_true(fabs(m) < 1e-4 && fabs(s - 1) < 1e-3);
        hd_shower_prep_inverse(&p, N, energy, x, back);
        for (int i = 0; i < N * V; i++) {
            float want = showers[i] >= p.threshold ? showers[i] : 0.0f;
            if (fabsf(back[i] - want) > 2e-4f * want + 1e-3f * p.threshold)
                fail_msg("%s: voxel %d: %g back as %g", hd_prep_name(p.kind), i, (double)want, (double)back[i]);
        }
        hd_shower_prep_release(&p);
    }
}

static void test_cond_scaler(void **state)
{
    (void)state;
    float cond[6] = {1000, 0.5f, 4000, -0.5f, 2000, 0.0f}, f[6];
    hd_cond_scaler s;
    assert_int_equal(hd_cond_scaler_fit(&s, 3, 2, cond), HD_OK);
    hd_cond_scaler_apply(&s, 3, cond, f);
    assert_float_equal(f[0] + f[2] + f[4], 0.0, 1e-5); /* log E standardised */
    assert_float_equal(f[1], 0.5 / sqrt(1.0 / 6), 1e-5);
    assert_int_equal(hd_cond_scaler_check(&s, 3, cond), HD_OK);
    float out[4] = {2000, 0, 5000, 0};
    assert_int_equal(hd_cond_scaler_check(&s, 2, out), HD_EINVAL);
    assert_error_has("row 1 column 0 is 5000, outside the training range [1000, 4000]");
    cond[2] = -1;
    assert_int_equal(hd_cond_scaler_fit(&s, 3, 2, cond), HD_EINVAL);
    assert_error_has("row 1 column 0 is -1");
}

/* ---- models ---------------------------------------------------------------------- */

static int fit(hd_gen_model m, const char *sub, int k, char *model_path, size_t size)
{
    char out[4200];
    in_dir(out, sizeof out, sub);
    mkdir(out, 0777);
    hd_gen_opts o = hd_gen_opts_default(m);
    o.data = data_path;
    o.out_dir = out;
    o.evaluate = 0;
    o.library_k = k;
    o.gmm_k = 4;
    o.pca_k = 8;
    hd_gen_result r;
    int rc = hd_gen_train(&o, &r);
    snprintf(model_path, size, "%s/checkpoint.safetensors", out);
    return rc;
}

static hd_calo_file read_data(void)
{
    hd_calo_file f;
    assert_int_equal(hd_calo_file_read(data_path, NULL, &f), HD_OK);
    return f;
}

/* k = 1 gives back the training shower of the nearest energy, scaled to the
 * energy asked for: the same energy gives the same shower, twice (within
 * the range) twice its energies. */
static void test_library_returns_the_nearest_shower(void **state)
{
    (void)state;
    char path[4300];
    assert_int_equal(fit(HD_GEN_LIBRARY, "lib", 1, path, sizeof path), HD_OK);
    hd_model *m;
    assert_int_equal(hd_model_load(path, &m), HD_OK);
    assert_string_equal(hd_model_kind(m), "library");
    assert_int_equal(hd_model_n_cond(m), 1);
    assert_int_equal(hd_model_noise_dim(m), 0);
    hd_calo_file f = read_data();
    int64_t nv = f.n_voxels, train = N_SHOWERS - N_SHOWERS / 5; /* the last fifth was held out */
    float *out = malloc((size_t)(2 * nv) * sizeof(float));
    int64_t row = 10;
    for (int64_t i = 0; i < train; i++) /* one whose double is in the range */
        if (f.energy[i] < 40000) {
            row = i;
            break;
        }
    float cond[2] = {f.energy[row], 2 * f.energy[row]};
    assert_int_equal(hd_model_generate(m, 2, cond, NULL, out), HD_OK);
    assert_memory_equal(out, f.showers + row * nv, (size_t)nv * sizeof(float));
    double sum = 0, sum2 = 0;
    for (int64_t v = 0; v < nv; v++) sum += out[v], sum2 += out[nv + v];
    assert_true(sum2 > 1.9 * sum && sum2 < 2.1 * sum); /* another shower near 2E, scaled to it */
    hd_model_free(m);
    free(out);
    hd_calo_file_release(&f);
}

/* k > 1 mixes neighbours with Dirichlet weights from the noise: the
 * caller's noise repeats a draw, the seeded stream repeats its sequence. */
static void test_noise_contract(void **state)
{
    (void)state;
    char path[4300];
    assert_int_equal(fit(HD_GEN_LIBRARY, "lib5", 5, path, sizeof path), HD_OK);
    hd_model *m;
    assert_int_equal(hd_model_load(path, &m), HD_OK);
    assert_int_equal(hd_model_noise_dim(m), 5);
    int64_t nv = hd_model_n_out(m);
    float cond[3] = {5000, 5000, 5000}, noise[15], *a = malloc((size_t)(3 * nv) * 4), *b = malloc((size_t)(3 * nv) * 4);
    for (int i = 0; i < 15; i++) noise[i] = (float)sin(i + 1.0);
    assert_int_equal(hd_model_generate(m, 3, cond, noise, a), HD_OK);
    assert_int_equal(hd_model_generate(m, 3, cond, noise, b), HD_OK);
    assert_memory_equal(a, b, (size_t)(3 * nv) * 4);
    hd_model_set_seed(m, 9);
    assert_int_equal(hd_model_generate(m, 3, cond, NULL, a), HD_OK);
    hd_model_set_seed(m, 9);
    assert_int_equal(hd_model_generate(m, 3, cond, NULL, b), HD_OK);
    assert_memory_equal(a, b, (size_t)(3 * nv) * 4);
    assert_true(memcmp(a, a + nv, (size_t)nv * 4) != 0); /* rows of one call differ */
    hd_model_free(m);
    free(a);
    free(b);
}

/* The mixture's showers keep the energy scale: their mean E_tot / E_inc
 * lies within 10% of the simulator's, and every voxel is >= 0. */
static void test_gmm_energy_scale(void **state)
{
    (void)state;
    char path[4300];
    assert_int_equal(fit(HD_GEN_GMM, "gmm", 1, path, sizeof path), HD_OK);
    hd_model *m;
    assert_int_equal(hd_model_load(path, &m), HD_OK);
    assert_string_equal(hd_model_kind(m), "gmm");
    hd_calo_file f = read_data();
    int64_t n = 400, nv = f.n_voxels;
    float *out = malloc((size_t)(n * nv) * sizeof(float));
    hd_model_set_seed(m, 2);
    assert_int_equal(hd_model_generate(m, n, f.energy, NULL, out), HD_OK);
    double ratio_gen = 0, ratio_sim = 0;
    for (int64_t i = 0; i < n; i++) {
        double sg = 0, ss = 0;
        for (int64_t v = 0; v < nv; v++) {
            assert_true(out[i * nv + v] >= 0);
            sg += out[i * nv + v];
            ss += f.showers[i * nv + v];
        }
        ratio_gen += sg / f.energy[i] / (double)n;
        ratio_sim += ss / f.energy[i] / (double)n;
    }
    if (fabs(ratio_gen / ratio_sim - 1) > 0.1) fail_msg("E_tot/E_inc %g against %g", ratio_gen, ratio_sim);
    /* outside the training range: refused, unless allowed */
    float far[2] = {f.energy[0], 5e6f};
    assert_int_equal(hd_model_generate(m, 2, far, NULL, out), HD_EINVAL);
    assert_error_has("row 1 column 0 is 5e+06, outside the training range");
    hd_model_allow_extrapolation(m, 1);
    assert_int_equal(hd_model_generate(m, 2, far, NULL, out), HD_OK);
    /* a generator does not predict, and an MLP model does not generate */
    assert_int_equal(hd_model_predict(m, 1, far, out), HD_EINVAL);
    assert_error_has("hd_model_generate");
    hd_model_free(m);
    free(out);
    hd_calo_file_release(&f);
}

/* ---- refusals ------------------------------------------------------------------ */

static void test_refusals(void **state)
{
    (void)state;
    char bad[4200], out[4200];
    in_dir(bad, sizeof bad, "no_showers.h5");
    in_dir(out, sizeof out, "bad");
    mkdir(out, 0777);
    float e[4] = {1000, 2000, 3000, 4000};
    hd_array a = {.dtype = HD_F32, .ndim = 2, .shape = {4, 1}, .data = e};
    const char *names[1] = {"incident_energies"};
    const hd_array *arrays[1] = {&a};
    assert_int_equal(hd_h5_write(bad, 1, names, arrays), HD_OK);
    hd_gen_opts o = hd_gen_opts_default(HD_GEN_WGAN_GP);
    o.data = bad;
    o.out_dir = out;
    hd_gen_result r;
    assert_int_not_equal(hd_gen_train(&o, &r), HD_OK);
    assert_error_has("showers");
    assert_error_has("no_showers.h5");
    o.data = data_path;
    o.model = HD_GEN_GMM;
    o.enforce = HD_GEN_ENFORCE_ENERGY;
    assert_int_equal(hd_gen_check(&o), HD_EINVAL);
    assert_error_has("--enforce");
    o.enforce = 0;
    o.resume = 1;
    assert_int_equal(hd_gen_check(&o), HD_EINVAL);
    assert_error_has("nothing to resume");
    o = hd_gen_opts_default(HD_GEN_WGAN_GP);
    o.data = data_path;
    o.out_dir = out;
    o.batch = 7;
    assert_int_equal(hd_gen_check(&o), HD_EINVAL);
    assert_error_has("even");
}


/* ---- bad generator files ------------------------------------------------------------
 * Each file has the common entries of a 2-voxel, 1-condition generator but
 * for one fault; hd_model_load refuses it naming the field. */

typedef struct { const char *what, *kind, *drop, *bad_key, *bad_value, *want; } bad_case;

static void write_generator(const char *path, const bad_case *c)
{
    float ones[12] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, lo[1] = {1000}, hi[1] = {2000}, zero[2] = {0};
    float energies[6] = {1000, 1000, 1000, 1000, 1000, 1000};
    int64_t two = 2, one = 1, lib = 6, vox = 12;
    hd_tensor *t[8] = {hd_tensor_wrap(zero, 1, &two), hd_tensor_wrap(ones, 1, &two), hd_tensor_wrap(zero, 1, &one),
                       hd_tensor_wrap(ones, 1, &one), hd_tensor_wrap(lo, 1, &one), hd_tensor_wrap(hi, 1, &one),
                       hd_tensor_wrap(energies, 1, &lib), hd_tensor_wrap(ones, 1, &vox)};
    const char *names[8] = {"prep.mean", "prep.std", "cond.mean", "cond.std", "cond.lo", "cond.hi", "library.cond",
                            "library.showers"};
    hd_meta meta[8] = {{"model", "generator"}, {"generator", c->kind}, {"n_voxels", "2"}, {"n_cond", "1"},
                       {"prep", "log"}, {"prep_delta", "1e-6"}, {"threshold", "0.01515"}, {"library_k", "1"}};
    for (int i = 0; i < 8; i++)
        if (c->bad_key && strcmp(meta[i].key, c->bad_key) == 0) meta[i].value = c->bad_value;
    const char *kept[8];
    const hd_tensor *kt[8];
    int n = 0;
    for (int i = 0; i < 8; i++)
        if (!c->drop || strcmp(names[i], c->drop) != 0) kept[n] = names[i], kt[n++] = t[i];
    assert_int_equal(hd_safetensors_write(path, n, kept, kt, 8, meta), HD_OK);
    for (int i = 0; i < 8; i++) hd_tensor_free(t[i]);
}

static void test_bad_generator_files(void **state)
{
    (void)state;
    static const bad_case cases[] = {
        {"a good library loads", "library", NULL, NULL, NULL, NULL},
        {"unknown kind", "flow", NULL, NULL, NULL, "generator 'flow'"},
        {"voxel count", "library", NULL, "n_voxels", "0", "n_voxels = 0 outside"},
        {"condition count", "library", NULL, "n_cond", "99", "n_cond = 99 outside"},
        {"transform", "library", NULL, "prep", "sqrt", "prep 'sqrt'"},
        {"no voxel means", "library", "prep.mean", NULL, NULL, "prep.mean"},
        {"no library", "library", "library.cond", NULL, NULL, "library.cond"},
        {"neighbours", "library", NULL, "library_k", "9", "at least 9 rows"},
        {"a net without its spec", "wgan-gp", NULL, NULL, NULL, "latent"},
        {"a mixture without its size", "gmm", NULL, NULL, NULL, "gmm_k"},
        {"an mdn without its size", "mdn", NULL, NULL, NULL, "mdn_k"},
    };
    char path[4200];
    in_dir(path, sizeof path, "bad_generator.safetensors");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_generator(path, &cases[i]);
        hd_model *m = NULL;
        int rc = hd_model_load(path, &m);
        if (!cases[i].want) {
            if (rc != HD_OK) fail_msg("%s: %s", cases[i].what, hd_last_error());
            float cond[1] = {1500}, out[2];
            assert_int_equal(hd_model_generate(m, 1, cond, NULL, out), HD_OK);
            assert_float_equal(out[0], 1.5f, 1e-5); /* the one library shower, 1 MeV a voxel at 1000 MeV, scaled */
            hd_model_free(m);
            continue;
        }
        if (rc == HD_OK) fail_msg("%s: loaded", cases[i].what);
        assert_null(m);
        if (!strstr(hd_last_error(), cases[i].want) || !strstr(hd_last_error(), "bad_generator"))
            fail_msg("%s: \"%s\" lacks \"%s\" or the file", cases[i].what, hd_last_error(), cases[i].want);
    }
}

/* On the 30 x 30 face the GANs are convolutional: a checkpoint of one
 * epoch loads as a conv30 generator of 900 cells and six conditions. */
static void test_conv30_generator(void **state)
{
    (void)state;
    char data[4200], out[4200], path[4300];
    in_dir(data, sizeof data, "ecal30.h5");
    in_dir(out, sizeof out, "conv");
    mkdir(out, 0777);
    hd_calo_opts co = hd_calo_opts_default();
    assert_int_equal(hd_calo_layout_get("ecal30", &co.layout), HD_OK);
    co.n_showers = 200;
    assert_int_equal(hd_calo_write(&co, data), HD_OK);
    hd_gen_opts o = hd_gen_opts_default(HD_GEN_WGAN_GP);
    o.data = data;
    o.out_dir = out;
    o.evaluate = 0;
    o.epochs = 1;
    o.batch = 32;
    o.latent = 8;
    o.critic_layers.n_hidden = 1;
    o.critic_layers.hidden[0] = 16;
    hd_gen_result r;
    assert_int_equal(hd_gen_train(&o, &r), HD_OK);
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", out);
    hd_model *m;
    assert_int_equal(hd_model_load(path, &m), HD_OK);
    assert_int_equal(hd_model_n_out(m), 900);
    assert_int_equal(hd_model_n_cond(m), 6);
    assert_int_equal(hd_model_noise_dim(m), 8);
    hd_calo_file f;
    assert_int_equal(hd_calo_file_read(data, NULL, &f), HD_OK);
    hd_model_allow_extrapolation(m, 1); /* the momentum of a shower of the held-out fifth */
    float cond[6] = {f.energy[0], 0, 0, f.energy[0], 0, 0}, *showers = malloc(900 * sizeof(float));
    assert_int_equal(hd_model_generate(m, 1, cond, NULL, showers), HD_OK);
    for (int v = 0; v < 900; v++) assert_true(showers[v] >= 0 && isfinite(showers[v]));
    free(showers);
    hd_calo_file_release(&f);
    hd_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prep_round_trip),
        cmocka_unit_test(test_cond_scaler),
        cmocka_unit_test(test_library_returns_the_nearest_shower),
        cmocka_unit_test(test_noise_contract),
        cmocka_unit_test(test_gmm_energy_scale),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_bad_generator_files),
        cmocka_unit_test(test_conv30_generator),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
