/* Optimisers against reference trajectories (torch.optim, and optax's NAdam in
 * NumPy) from fixtures/optim_steps.txt, gradient clipping, no allocation in a
 * step, names and argument errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hadron/nn.h"

/* Tolerance per parameter after each step: |got - want| <= 1e-5 |want| + 1e-7.
 * The reference is float64 from the same float32 inputs and hyperparameters;
 * hadron computes in float32 with parameters of size ~1, so this allows about
 * 80 float32 ulps over five steps (the worst case uses an eighth of it).
 * A wrong term (bias correction, Nesterov look-ahead, decay, clip, momentum,
 * eps) misses by hundreds to thousands of tolerances; test_fixtures_discriminate
 * checks that each such change is caught. */
#define TOL_REL 1e-5
#define TOL_ABS 1e-7

#define MAX_N 16
#define MAX_STEPS 8
#define MAX_CASES 32

typedef struct {
    char name[64], kind[16];
    hd_optim_opts opts;
    int n, steps;
    float init[MAX_N];
    float grad[MAX_STEPS][MAX_N];
    double expect[MAX_STEPS][MAX_N];
} optim_case;

static optim_case cases[MAX_CASES];
static int n_cases;

/* Next whitespace-separated token; '#' starts a comment to the end of the line. */
static int next_token(FILE *f, char *tok, size_t size)
{
    char fmt[16];
    snprintf(fmt, sizeof fmt, "%%%zus", size - 1);
    while (fscanf(f, fmt, tok) == 1) {
        if (tok[0] != '#') return 1;
        int c;
        while ((c = fgetc(f)) != EOF && c != '\n') {}
    }
    return 0;
}

static int expect_word(FILE *f, const char *word)
{
    char tok[64];
    return next_token(f, tok, sizeof tok) && strcmp(tok, word) == 0;
}

static int read_float(FILE *f, float *x)
{
    char tok[64], *end;
    if (!next_token(f, tok, sizeof tok)) return 0;
    *x = strtof(tok, &end);
    return *end == '\0';
}

static int read_double(FILE *f, double *x)
{
    char tok[64], *end;
    if (!next_token(f, tok, sizeof tok)) return 0;
    *x = strtod(tok, &end);
    return *end == '\0';
}

static int read_int(FILE *f, int *x)
{
    char tok[64], *end;
    if (!next_token(f, tok, sizeof tok)) return 0;
    *x = (int)strtol(tok, &end, 10);
    return *end == '\0';
}

static int read_case(FILE *f, optim_case *c)
{
    hd_optim_opts *o = &c->opts;
    if (!next_token(f, c->name, sizeof c->name) || !next_token(f, c->kind, sizeof c->kind)) return 0;
    if (!read_float(f, &o->lr) || !read_float(f, &o->momentum) || !read_float(f, &o->beta1) ||
        !read_float(f, &o->beta2) || !read_float(f, &o->eps) || !read_float(f, &o->weight_decay) ||
        !read_float(f, &o->clip_norm) || !read_int(f, &c->n) || !read_int(f, &c->steps))
        return 0;
    if (c->n < 1 || c->n > MAX_N || c->steps < 1 || c->steps > MAX_STEPS) return 0;
    if (!expect_word(f, "init")) return 0;
    for (int i = 0; i < c->n; i++)
        if (!read_float(f, &c->init[i])) return 0;
    for (int s = 0; s < c->steps; s++) {
        if (!expect_word(f, "grad")) return 0;
        for (int i = 0; i < c->n; i++)
            if (!read_float(f, &c->grad[s][i])) return 0;
        if (!expect_word(f, "expect")) return 0;
        for (int i = 0; i < c->n; i++)
            if (!read_double(f, &c->expect[s][i])) return 0;
    }
    return 1;
}

static int load_cases(void **state)
{
    (void)state;
    FILE *f = fopen(HD_FIXTURES "/optim_steps.txt", "r");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", HD_FIXTURES "/optim_steps.txt");
        return -1;
    }
    char tok[64];
    n_cases = 0;
    while (next_token(f, tok, sizeof tok)) {
        if (strcmp(tok, "case") != 0 || n_cases == MAX_CASES || !read_case(f, &cases[n_cases])) {
            fprintf(stderr, "optim_steps.txt: malformed near case %d ('%s')\n", n_cases, tok);
            fclose(f);
            return -1;
        }
        n_cases++;
    }
    fclose(f);
    return 0;
}

/* Runs case c with the given kind and options; returns the largest error in
 * units of the tolerance (<= 1 passes) and the step where it occurred. */
static double run_case(const optim_case *c, hd_optim_kind kind, const hd_optim_opts *opts, int *worst_step)
{
    float p[MAX_N], g[MAX_N];
    memcpy(p, c->init, sizeof p);
    hd_optim_opts oo = *opts;
    oo.kind = kind;
    hd_optim *o = hd_optim_new(&oo, c->n);
    assert_non_null(o);
    double worst = 0;
    *worst_step = -1;
    for (int s = 0; s < c->steps; s++) {
        memcpy(g, c->grad[s], sizeof g);
        assert_int_equal(hd_optim_step(o, p, g), HD_OK);
        for (int i = 0; i < c->n; i++) {
            double want = c->expect[s][i];
            double err = fabs((double)p[i] - want) / (TOL_REL * fabs(want) + TOL_ABS);
            if (err > worst) {
                worst = err;
                *worst_step = s + 1;
            }
        }
    }
    assert_int_equal(hd_optim_steps(o), c->steps);
    hd_optim_free(o);
    return worst;
}

static void test_fixtures_match(void **state)
{
    (void)state;
    assert_true(n_cases >= 10);
    int seen[5] = {0};
    for (int k = 0; k < n_cases; k++) {
        const optim_case *c = &cases[k];
        hd_optim_kind kind;
        assert_int_equal(hd_optim_parse(c->kind, &kind), HD_OK);
        seen[kind]++;
        int step;
        double err = run_case(c, kind, &c->opts, &step);
        if (err > 1.0) fail_msg("case %s: error %.2f x tolerance at step %d", c->name, err, step);
    }
    for (int k = 0; k < 5; k++) assert_true(seen[k] > 0);
}

/* The fixtures would catch a wrong formula: each change below (another
 * member of the Adam family, a missing decay, clip, momentum or eps) must
 * push some step outside the tolerance. */
static int expect_mismatch(const optim_case *c, hd_optim_kind kind, hd_optim_opts o, const char *what)
{
    int step;
    double err = run_case(c, kind, &o, &step);
    if (err <= 1.0) fail_msg("case %s %s: still within tolerance (%.2f)", c->name, what, err);
    return 1;
}

static void test_fixtures_discriminate(void **state)
{
    (void)state;
    static const hd_optim_kind swapped[] = {[HD_SGD] = HD_SGD, [HD_ADAM] = HD_NADAM, [HD_ADAMW] = HD_NADAMW,
                                            [HD_NADAM] = HD_ADAM, [HD_NADAMW] = HD_ADAMW};
    int checks = 0;
    for (int k = 0; k < n_cases; k++) {
        const optim_case *c = &cases[k];
        hd_optim_kind kind;
        assert_int_equal(hd_optim_parse(c->kind, &kind), HD_OK);
        hd_optim_opts o = c->opts;
        if (kind != HD_SGD) checks += expect_mismatch(c, swapped[kind], o, "with Nesterov switched");
        /* wd 1e-4 at lr 1e-3 shrinks by 1e-7 a step, below float32 resolution:
         * only the cases with strong decay can show it. */
        if ((kind == HD_ADAMW || kind == HD_NADAMW) && o.lr * o.weight_decay >= 1e-4f) {
            hd_optim_opts w = o;
            w.weight_decay = 0;
            checks += expect_mismatch(c, kind, w, "without weight decay");
            checks += expect_mismatch(c, kind == HD_ADAMW ? HD_ADAM : HD_NADAM, o, "as the kind without decay");
        }
        if (o.clip_norm > 0) {
            hd_optim_opts w = o;
            w.clip_norm = 0;
            checks += expect_mismatch(c, kind, w, "without clipping");
        }
        if (o.momentum > 0) {
            hd_optim_opts w = o;
            w.momentum = 0;
            checks += expect_mismatch(c, kind, w, "without momentum");
        }
        if (o.eps > 1e-3f) {
            hd_optim_opts w = o;
            w.eps = 0;
            checks += expect_mismatch(c, kind, w, "without eps");
        }
    }
    assert_true(checks >= 12);
}

static void test_clip_by_hand(void **state)
{
    (void)state;
    float g[3] = {3.0f, 0.0f, -4.0f}; /* norm 5 */
    assert_float_equal(hd_clip_grad_norm(g, 3, 1.0), 5.0, 1e-12);
    float c = (float)(1.0 / (5.0 + 1e-6));
    assert_float_equal(g[0], 3.0f * c, 0);
    assert_float_equal(g[1], 0.0f, 0);
    assert_float_equal(g[2], -4.0f * c, 0);
    assert_float_equal(hd_clip_grad_norm(g, 3, 1.0), 1.0, 1e-6);

    float h[2] = {0.3f, 0.4f}; /* below the limit: untouched */
    assert_float_equal(hd_clip_grad_norm(h, 2, 1.0), 0.5, 1e-7);
    assert_float_equal(h[0], 0.3f, 0);
    assert_float_equal(h[1], 0.4f, 0);

    float e[2] = {3.0f, 4.0f}; /* at the limit torch still scales by 5/(5+1e-6) */
    hd_clip_grad_norm(e, 2, 5.0);
    assert_true(e[0] < 3.0f);
    assert_float_equal(e[0], 3.0f * (float)(5.0 / (5.0 + 1e-6)), 0);

    float z[2] = {0.0f, 0.0f};
    assert_float_equal(hd_clip_grad_norm(z, 2, 1.0), 0.0, 0);
    assert_float_equal(z[0], 0.0f, 0);
}

/* 2^20 entries of 0.1f: a float32 running sum of squares gives a norm 0.7%
 * off, a double one agrees with the closed form to ~1e-12. */
static void test_clip_norm_in_double(void **state)
{
    (void)state;
    int64_t n = 1 << 20;
    float *g = malloc((size_t)n * sizeof *g);
    assert_non_null(g);
    for (int64_t i = 0; i < n; i++) g[i] = 0.1f;
    double want = sqrt((double)n) * (double)0.1f;
    double norm = hd_clip_grad_norm(g, n, 1e9);
    assert_true(fabs(norm - want) <= 1e-9 * want);
    assert_float_equal(g[n - 1], 0.1f, 0);
    free(g);
}

static void test_step_allocates_nothing(void **state)
{
    (void)state;
    enum { N = 1000 };
    static float p[N], g[N];
    for (int k = HD_SGD; k <= HD_NADAMW; k++) {
        hd_optim_opts o = hd_optim_opts_default((hd_optim_kind)k);
        o.momentum = k == HD_SGD ? 0.9f : 0.0f;
        o.clip_norm = 0.5f;
        hd_optim *opt = hd_optim_new(&o, N);
        assert_non_null(opt);
        for (int i = 0; i < N; i++) p[i] = 0.01f * (float)(i % 17);
        uint64_t before = hd_alloc_count();
        for (int s = 0; s < 10; s++) {
            for (int i = 0; i < N; i++) g[i] = 0.1f * (float)((i + s) % 7) - 0.3f;
            assert_int_equal(hd_optim_step(opt, p, g), HD_OK);
        }
        assert_int_equal(hd_alloc_count(), before);
        assert_int_equal(hd_optim_steps(opt), 10);
        hd_optim_free(opt);
    }
}

static void test_defaults_and_lr(void **state)
{
    (void)state;
    for (int k = HD_SGD; k <= HD_NADAMW; k++) {
        hd_optim_opts o = hd_optim_opts_default((hd_optim_kind)k);
        assert_float_equal(o.lr, 1e-3f, 0);
        assert_float_equal(o.beta1, 0.9f, 0);
        assert_float_equal(o.beta2, 0.999f, 0);
        assert_float_equal(o.eps, 1e-8f, 0);
        assert_float_equal(o.momentum, 0.0f, 0);
        assert_float_equal(o.clip_norm, 0.0f, 0);
        assert_float_equal(o.weight_decay, k == HD_ADAMW || k == HD_NADAMW ? 1e-4f : 0.0f, 0);
    }
    /* Plain SGD, so a changed rate shows directly: p -= lr * g. */
    hd_optim_opts o = hd_optim_opts_default(HD_SGD);
    o.lr = 0.5f;
    hd_optim *opt = hd_optim_new(&o, 2);
    assert_non_null(opt);
    float p[2] = {1.0f, -1.0f}, g[2] = {1.0f, 2.0f};
    assert_int_equal(hd_optim_step(opt, p, g), HD_OK);
    assert_float_equal(p[0], 0.5f, 0);
    assert_float_equal(p[1], -2.0f, 0);
    hd_optim_set_lr(opt, 0.25f);
    assert_float_equal(hd_optim_lr(opt), 0.25f, 0);
    assert_int_equal(hd_optim_step(opt, p, g), HD_OK);
    assert_float_equal(p[0], 0.25f, 0);
    assert_float_equal(p[1], -2.5f, 0);
    assert_int_equal(hd_optim_steps(opt), 2);
    hd_optim_free(opt);
    hd_optim_free(NULL);

    /* NULL options are refused: the kind is in them. */
    assert_null(hd_optim_new(NULL, 3));
    assert_non_null(strstr(hd_last_error(), "NULL options"));
}

static void test_names(void **state)
{
    (void)state;
    static const char *names[] = {"sgd", "adam", "adamw", "nadam", "nadamw"};
    for (int k = HD_SGD; k <= HD_NADAMW; k++) {
        hd_optim_kind back = HD_SGD;
        assert_string_equal(hd_optim_name((hd_optim_kind)k), names[k]);
        assert_int_equal(hd_optim_parse(names[k], &back), HD_OK);
        assert_int_equal(back, k);
    }
    assert_string_equal(hd_optim_name((hd_optim_kind)42), "unknown");
    hd_optim_kind kind = HD_ADAM;
    hd_clear_error();
    assert_int_equal(hd_optim_parse("adamx", &kind), HD_EINVAL);
    assert_non_null(strstr(hd_last_error(), "adamx"));
    assert_int_equal(kind, HD_ADAM); /* untouched on error */
    assert_int_equal(hd_optim_parse("", &kind), HD_EINVAL);
    assert_int_equal(hd_optim_parse(NULL, &kind), HD_EINVAL);
}

/* hd_optim_new must refuse opts and return NULL with a message naming what is wrong. */
static void expect_refused(hd_optim_kind kind, hd_optim_opts o, int64_t n, const char *needle)
{
    hd_clear_error();
    o.kind = kind;
    hd_optim *opt = hd_optim_new(&o, n);
    if (opt) {
        hd_optim_free(opt);
        fail_msg("accepted options that should fail (%s)", needle);
    }
    if (!strstr(hd_last_error(), needle)) fail_msg("message '%s' lacks '%s'", hd_last_error(), needle);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    hd_optim_opts d = hd_optim_opts_default(HD_ADAM), o;
    expect_refused(HD_ADAM, d, 0, "parameter count");
    expect_refused(HD_ADAM, d, -5, "parameter count");
    expect_refused((hd_optim_kind)9, d, 4, "kind");
    o = d;
    o.lr = -1e-3f;
    expect_refused(HD_ADAM, o, 4, "learning rate");
    o = d;
    o.lr = NAN;
    expect_refused(HD_ADAM, o, 4, "learning rate");
    o = d;
    o.lr = INFINITY;
    expect_refused(HD_ADAM, o, 4, "learning rate");
    o = d;
    o.beta1 = 1.0f;
    expect_refused(HD_ADAM, o, 4, "betas");
    o = d;
    o.beta2 = -0.1f;
    expect_refused(HD_NADAM, o, 4, "betas");
    o = d;
    o.eps = -1e-8f;
    expect_refused(HD_ADAM, o, 4, "eps");
    o = d;
    o.momentum = 1.5f;
    expect_refused(HD_SGD, o, 4, "momentum");
    o = d;
    o.weight_decay = -0.1f;
    expect_refused(HD_ADAMW, o, 4, "weight decay");
    o = d;
    o.clip_norm = NAN;
    expect_refused(HD_ADAM, o, 4, "clip");

    hd_optim *opt = hd_optim_new(&d, 2);
    assert_non_null(opt);
    float p[2] = {0}, g[2] = {0};
    hd_clear_error();
    assert_int_equal(hd_optim_step(NULL, p, g), HD_EINVAL);
    assert_int_equal(hd_optim_step(opt, NULL, g), HD_EINVAL);
    assert_int_equal(hd_optim_step(opt, p, NULL), HD_EINVAL);
    assert_string_not_equal(hd_last_error(), "no error");
    assert_int_equal(hd_optim_steps(opt), 0); /* refused steps do not count */
    hd_optim_free(opt);
}

/* Copying the state (moments and step count) into a fresh optimiser and
 * stepping on gives the same bits as never stopping: what --resume needs. */
static void test_state_resumes_exactly(void **state)
{
    (void)state;
    for (int k = 0; k < 5; k++) {
        hd_optim_kind kind = (hd_optim_kind)k;
        hd_optim_opts o = hd_optim_opts_default(kind);
        o.momentum = kind == HD_SGD ? 0.9f : 0.0f;
        enum { N = 7, STEPS = 6, STOP = 3 };
        float straight[N], resumed[N], g[N];
        for (int i = 0; i < N; i++) straight[i] = resumed[i] = 0.1f * (float)(i - 3);
        hd_optim *a = hd_optim_new(&o, N), *b = hd_optim_new(&o, N), *c = NULL;
        assert_non_null(a);
        assert_non_null(b);
        for (int s = 0; s < STEPS; s++) {
            if (s == STOP) { /* b stops here; c takes over from its state */
                c = hd_optim_new(&o, N);
                float *bm, *bv, *cm, *cv;
                int64_t bn, cn;
                assert_int_equal(hd_optim_state(b, &bm, &bv, &bn), HD_OK);
                assert_int_equal(hd_optim_state(c, &cm, &cv, &cn), HD_OK);
                assert_int_equal(bn, cn);
                assert_true(kind == HD_SGD ? bv == NULL : bv != NULL);
                if (bm) memcpy(cm, bm, sizeof(float) * N);
                if (bv) memcpy(cv, bv, sizeof(float) * N);
                assert_int_equal(hd_optim_set_steps(c, hd_optim_steps(b)), HD_OK);
            }
            for (int i = 0; i < N; i++) g[i] = sinf((float)(s * N + i));
            assert_int_equal(hd_optim_step(a, straight, g), HD_OK);
            for (int i = 0; i < N; i++) g[i] = sinf((float)(s * N + i));
            assert_int_equal(hd_optim_step(s < STOP ? b : c, resumed, g), HD_OK);
        }
        assert_memory_equal(straight, resumed, sizeof straight);
        assert_int_equal(hd_optim_set_steps(c, -1), HD_EINVAL);
        hd_optim_free(a);
        hd_optim_free(b);
        hd_optim_free(c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures_match),
        cmocka_unit_test(test_fixtures_discriminate),
        cmocka_unit_test(test_clip_by_hand),
        cmocka_unit_test(test_clip_norm_in_double),
        cmocka_unit_test(test_step_allocates_nothing),
        cmocka_unit_test(test_defaults_and_lr),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_state_resumes_exactly),
    };
    return cmocka_run_group_tests(tests, load_cases, NULL);
}
