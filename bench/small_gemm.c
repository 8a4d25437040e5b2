/* Small GEMMs at the seeds' shapes (issue 20's small-GEMM question): one
 * library per build, row-major C = op(A) op(B) + C, each shape and
 * transpose timed over repeated calls on one thread.  small_gemm.sh builds
 * it against OpenBLAS, BLIS and libxsmm and with the direct kernel below
 * (4 x 32 register blocks of 8-float vectors, GCC vector extensions), and
 * checks every result against a naive double-precision product. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(USE_XSMM)
#include <libxsmm.h>
#elif !defined(USE_DIRECT)
#include <cblas.h>
#endif

#if defined(USE_DIRECT)
typedef float v8 __attribute__((vector_size(32)));
static inline v8 ld(const float *p) { v8 v; memcpy(&v, p, sizeof v); return v; }
static inline void st(float *p, v8 v) { memcpy(p, &v, sizeof v); }
static inline float aval(int ta, const float *A, int lda, int i, int p) { return ta ? A[(size_t)p * lda + i] : A[(size_t)i * lda + p]; }
/* 4 rows x 32 columns in 16 vector registers */
static void block4x32(int ta, int k, const float *A, int lda, int i0, const float *B, int ldb, int j0, float beta, float *C, int ldc)
{
    v8 c[4][4];
    memset(c, 0, sizeof c);
    for (int p = 0; p < k; p++) {
        const float *b = B + (size_t)p * ldb + j0;
        v8 b0 = ld(b), b1 = ld(b + 8), b2 = ld(b + 16), b3 = ld(b + 24);
        for (int r = 0; r < 4; r++) {
            float a = aval(ta, A, lda, i0 + r, p);
            v8 av = {a, a, a, a, a, a, a, a};
            c[r][0] += av * b0; c[r][1] += av * b1; c[r][2] += av * b2; c[r][3] += av * b3;
        }
    }
    for (int r = 0; r < 4; r++)
        for (int q = 0; q < 4; q++) {
            float *o = C + (size_t)(i0 + r) * ldc + j0 + 8 * q;
            st(o, beta == 0 ? c[r][q] : c[r][q] + beta * ld(o));
        }
}
static void edge(int ta, int k, const float *A, int lda, int i0, int mi, const float *B, int ldb, int j0, int nj, float beta, float *C, int ldc)
{
    for (int r = 0; r < mi; r++)
        for (int j = 0; j < nj; j++) {
            float s = 0;
            for (int p = 0; p < k; p++) s += aval(ta, A, lda, i0 + r, p) * B[(size_t)p * ldb + j0 + j];
            float *o = C + (size_t)(i0 + r) * ldc + j0 + j;
            *o = beta == 0 ? s : s + beta * *o;
        }
}
/* 1 row x 32 columns */
static void block1x32(int ta, int k, const float *A, int lda, int i, const float *B, int ldb, int j0, float beta, float *C, int ldc)
{
    v8 c0 = {0}, c1 = {0}, c2 = {0}, c3 = {0};
    for (int p = 0; p < k; p++) {
        const float *b = B + (size_t)p * ldb + j0;
        float a = aval(ta, A, lda, i, p);
        v8 av = {a, a, a, a, a, a, a, a};
        c0 += av * ld(b); c1 += av * ld(b + 8); c2 += av * ld(b + 16); c3 += av * ld(b + 24);
    }
    float *o = C + (size_t)i * ldc + j0;
    v8 cs[4] = {c0, c1, c2, c3};
    for (int q = 0; q < 4; q++) st(o + 8 * q, beta == 0 ? cs[q] : cs[q] + beta * ld(o + 8 * q));
}
static void direct(int ta, int m, int n, int k, const float *A, int lda, const float *B, int ldb,
                 float beta, float *C, int ldc)
{
    int nfull = n / 32 * 32;
    for (int j0 = 0; j0 < nfull; j0 += 32) {
        int i0 = 0;
        for (; i0 + 4 <= m; i0 += 4) block4x32(ta, k, A, lda, i0, B, ldb, j0, beta, C, ldc);
        for (; i0 < m; i0++) block1x32(ta, k, A, lda, i0, B, ldb, j0, beta, C, ldc);
    }
    if (nfull < n) edge(ta, k, A, lda, 0, m, B, ldb, nfull, n - nfull, beta, C, ldc);
}

/* op(B) transposed into a [k][n] copy first (the direct kernel reads rows of op(B)). */
static float packed[1 << 20];
#endif

static void gemm(int ta, int tb, int m, int n, int k, const float *A, int lda, const float *B, int ldb, float *C, int ldc)
{
#if defined(USE_DIRECT)
    if (tb) {
        for (int j = 0; j < n; j++)
            for (int p = 0; p < k; p++) packed[(size_t)p * n + j] = B[(size_t)j * ldb + p];
        B = packed;
        ldb = n;
    }
    direct(ta, m, n, k, A, lda, B, ldb, 1.0f, C, ldc);
#elif defined(USE_XSMM)
    /* column-major: C^T = op(B)^T op(A)^T */
    const char tA = tb ? 'T' : 'N', tB = ta ? 'T' : 'N';
    const float one = 1.0f;
    libxsmm_sgemm(&tA, &tB, &n, &m, &k, &one, B, &ldb, A, &lda, &one, C, &ldc);
#else
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, A, lda,
                B, ldb, 1.0f, C, ldc);
#endif
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    const char *lib = argc > 1 ? argv[1] : "?";
    /* m n k: the surrogate (batch 10 and 64 against 128 units: forward, dx, dw),
     * the BNN's 20-wide layers at batch 64, and im2col products of the AVO
     * CNN's 32 x 32 convolutions (16 filters of 3 x 3 x 1, 32 of 3 x 3 x 16 on 16 x 16) */
    static const int shapes[][3] = {{10, 128, 128}, {128, 128, 10}, {10, 128, 4}, {64, 128, 128}, {128, 128, 64},
                                    {64, 20, 20},   {20, 20, 64},   {16, 1024, 9}, {32, 256, 144}, {256, 128, 128}};
    static const char *names[] = {"NN", "NT", "TN"};
    static const int tas[] = {0, 0, 1}, tbs[] = {0, 1, 0};
    size_t cap = 1 << 20;
    float *A = malloc(cap * 4), *B = malloc(cap * 4), *C = malloc(cap * 4);
    srand(1);
    for (size_t i = 0; i < cap; i++) {
        A[i] = (float)rand() / (float)RAND_MAX - 0.5f;
        B[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    }
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int c = 0; c < 3; c++) {
            int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2], ta = tas[c], tb = tbs[c];
            int lda = ta ? m : k, ldb = tb ? k : n;
            memset(C, 0, (size_t)m * n * 4);
            gemm(ta, tb, m, n, k, A, lda, B, ldb, C, n);
            double worst = 0;
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    double want = 0;
                    for (int p = 0; p < k; p++)
                        want += (double)(ta ? A[(size_t)p * lda + i] : A[(size_t)i * lda + p]) *
                                (tb ? B[(size_t)j * ldb + p] : B[(size_t)p * ldb + j]);
                    double d = C[(size_t)i * n + j] - want;
                    worst = d < 0 ? (-d > worst ? -d : worst) : (d > worst ? d : worst);
                }
            if (worst > 1e-4 * k) {
                fprintf(stderr, "%s %dx%dx%d %s: wrong by %g\n", lib, m, n, k, names[c], worst);
                return 1;
            }
            double best = 1e30;
            for (int rep = 0; rep < 5; rep++) {
                int calls = 0;
                double t0 = now(), t;
                do {
                    for (int r = 0; r < 50; r++) gemm(ta, tb, m, n, k, A, lda, B, ldb, C, n);
                    calls += 50;
                } while ((t = now()) - t0 < 0.05);
                double us = (t - t0) / calls * 1e6;
                best = us < best ? us : best;
            }
            printf("{\"lib\":\"%s\",\"m\":%d,\"n\":%d,\"k\":%d,\"op\":\"%s\",\"us\":%.3f,\"gflops\":%.1f}\n", lib, m, n,
                   k, names[c], best, 2.0 * m * n * k / best * 1e-3);
        }
    return 0;
}
