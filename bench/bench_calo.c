/* Calorimeter benchmarks: one JSON line per case on stdout.
 *
 *   BENCH_CALO_DIR=DIR bench_calo [--threads N] [--list] [CASE ...]
 *
 * CASE is "calo_features_ds2[:N]" (the high-level features, hd_calo_features,
 * of the N showers of DIR/ds2_N_1.h5, streamed as hadron calo-eval streams
 * them: 16 MiB of showers at a time through hd_h5_read_rows into float32,
 * the feature rows of the whole file kept) or "calo_eval_ds2[:N]" (a whole
 * hd_calo_eval_run, default options, DIR/ds2_N_2.h5 against DIR/ds2_N_1.h5,
 * outputs in DIR/eval_ds2_N); N is 20000 when not given, DIR "." when
 * BENCH_CALO_DIR is unset.  The files come from
 *
 *   hadron sim calo --geometry ds2 --n N --seed 1 --out DIR/ds2_N_1.h5   (and --seed 2)
 *
 * which bench/run.sh runs when they are missing.  Each case is timed once
 * (a pass over 100k ds2 showers takes tens of seconds; --time is ignored)
 * and reports the peak RSS of the process (getrusage), so run one case per
 * process, as run.sh does.  calo_features_ds2 also writes the features of
 * 256 rows spread over the file (rows k N / 256) to DIR/ds2_N_1.features.npz
 * (arrays rows, features), which bench/numpy_calo.py compares with its own.
 *
 * The command line and main: bench_util.h. */
#include "bench_util.h"
#include "hadron/data.h"
#include "hadron/metrics.h"
#include "hadron/workflows.h"

#include <sys/resource.h>
#include <sys/stat.h>

#define CALO_DEFAULT_SHOWERS 20000
#define CALO_CHUNK_BYTES ((int64_t)16 << 20) /* as hadron calo-eval */
#define CALO_CHECK_ROWS 256

static double peak_rss_mb(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_maxrss / 1024.0; /* kB on Linux */
}

static const char *calo_dir(void)
{
    const char *d = getenv("BENCH_CALO_DIR");
    return d && *d ? d : ".";
}

/* DIR/ds2_N_SEED.h5, which must exist. */
static void calo_file(char *path, size_t size, long long n, int seed)
{
    snprintf(path, size, "%s/ds2_%lld_%d.h5", calo_dir(), n, seed);
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "%s: no %s; make it with: hadron sim calo --geometry ds2 --n %lld --seed %d --out %s\n",
                bench.name, path, n, seed, path);
        exit(1);
    }
}

/* ---- calo_features_ds2 ------------------------------------------------------------ */

static void bench_calo_features(long long n_want)
{
    char path[4096], check[4200];
    calo_file(path, sizeof path, n_want, 1);
    hd_calo_layout l;
    if (hd_calo_layout_get("ds2", &l) != HD_OK) bench_die("ds2");
    hd_h5_reader *re = NULL, *rs = NULL;
    if (hd_h5_open(path, "incident_energies", &re) != HD_OK || hd_h5_open(path, "showers", &rs) != HD_OK)
        bench_die(path);
    int64_t n = hd_h5_rows(rs), v = hd_h5_row_len(rs), nf = hd_calo_feature_count(&l);
    if (v != hd_calo_layout_voxels(&l) || hd_h5_rows(re) != n) {
        fprintf(stderr, "%s: %s is not a ds2 file of %lld showers\n", bench.name, path, n_want);
        exit(1);
    }
    int64_t chunk = CALO_CHUNK_BYTES / (v * (int64_t)sizeof(float));
    float *e = bench_xmalloc((size_t)chunk * sizeof *e), *vox = bench_xmalloc((size_t)(chunk * v) * sizeof *vox),
          *features = bench_xmalloc((size_t)(n * nf) * sizeof *features);
    double t_read = 0, t_feat = 0;
    for (int64_t first = 0; first < n; first += chunk) {
        int64_t m = n - first < chunk ? n - first : chunk;
        double t0 = hd_now();
        if (hd_h5_read_rows(re, first, m, e) != HD_OK || hd_h5_read_rows(rs, first, m, vox) != HD_OK) bench_die(path);
        double t1 = hd_now();
        hd_calo_inputs in = {.e_inc = e};
        if (hd_calo_features(&l, NULL, m, vox, &in, features + first * nf) != HD_OK) bench_die("features");
        t_feat += hd_now() - t1;
        t_read += t1 - t0;
    }
    hd_h5_close(re);
    hd_h5_close(rs);
    double rss = peak_rss_mb();

    /* rows k n / 256 for numpy_calo.py's check */
    int64_t k_rows = n < CALO_CHECK_ROWS ? n : CALO_CHECK_ROWS;
    hd_array rows = {.dtype = HD_I64, .ndim = 1, .shape = {k_rows}};
    hd_array feat = {.dtype = HD_F32, .ndim = 2, .shape = {k_rows, nf}};
    rows.data = bench_xmalloc((size_t)k_rows * sizeof(int64_t));
    feat.data = bench_xmalloc((size_t)(k_rows * nf) * sizeof(float));
    for (int64_t k = 0; k < k_rows; k++) {
        int64_t r = k * n / k_rows;
        ((int64_t *)rows.data)[k] = r;
        memcpy((float *)feat.data + k * nf, features + r * nf, (size_t)nf * sizeof(float));
    }
    snprintf(check, sizeof check, "%s/ds2_%lld_1.features.npz", calo_dir(), n_want);
    const char *names[2] = {"rows", "features"};
    const hd_array *arrays[2] = {&rows, &feat};
    if (hd_npz_write(check, 2, names, arrays) != HD_OK) bench_die(check);

    double total = t_read + t_feat;
    printf("{\"case\":\"calo_features_ds2\",\"showers\":%lld,\"voxels\":%lld,\"features\":%lld,\"threads\":%d,"
           "\"hadron_us\":%.3f,\"hadron_read_us\":%.3f,\"hadron_features_us\":%.3f,\"hadron_s\":%.3f,"
           "\"hadron_chunk\":%lld,\"hadron_peak_rss_mb\":%.1f,\"hadron_check\":\"%s\"}\n",
           (long long)n, (long long)v, (long long)nf, bench.threads, 1e6 * total / (double)n,
           1e6 * t_read / (double)n, 1e6 * t_feat / (double)n, total, (long long)chunk, rss, check);
    fflush(stdout);
    free(e);
    free(vox);
    free(features);
    free(rows.data);
    free(feat.data);
}

/* ---- calo_eval_ds2 ----------------------------------------------------------------- */

/* Seconds per kind of stage, from the workflow's stage messages. */
enum { ST_FEATURES, ST_VOXELS, ST_HIGH, ST_DISTANCES, ST_WRITE, ST_OTHER, N_ST };
static const char *const stage_keys[N_ST] = {"features_s", "voxel_classifier_s", "high_classifier_s",
                                             "fpd_kpd_w1_s", "write_s", "other_s"};

typedef struct {
    double t, seconds[N_ST];
    int current;
} stage_clock;

static void on_stage(void *user, const char *what)
{
    stage_clock *c = user;
    double now = hd_now();
    c->seconds[c->current] += now - c->t;
    c->t = now;
    c->current = strstr(what, "the features") ? ST_FEATURES
                 : strstr(what, "voxels")     ? ST_VOXELS
                 : strstr(what, "high-level") ? ST_HIGH
                 : strstr(what, "FPD")        ? ST_DISTANCES
                 : strstr(what, "writing")    ? ST_WRITE
                                              : ST_OTHER;
}

static void bench_calo_eval(long long n_want)
{
    char ref[4096], gen[4096], out[4200];
    calo_file(ref, sizeof ref, n_want, 1);
    calo_file(gen, sizeof gen, n_want, 2);
    snprintf(out, sizeof out, "%s/eval_ds2_%lld", calo_dir(), n_want);
    mkdir(out, 0777);
    hd_calo_eval_opts o = hd_calo_eval_opts_default();
    o.reference = ref;
    o.generated = gen;
    o.out_dir = out;
    stage_clock c = {.t = hd_now(), .current = ST_OTHER};
    o.on_stage = on_stage;
    o.user = &c;
    hd_calo_eval_result r;
    double t0 = hd_now();
    if (hd_calo_eval_run(&o, &r) != HD_OK) bench_die("calo-eval");
    double total = hd_now() - t0;
    on_stage(&c, "");
    printf("{\"case\":\"calo_eval_ds2\",\"showers\":%lld,\"threads\":%d,\"hadron_s\":%.2f,\"hadron_peak_rss_mb\":%.1f,"
           "\"n_reference\":%lld,\"n_generated\":%lld,\"n_voxel\":%lld,\"auc_low\":%.4f,\"auc_high\":%.4f,"
           "\"floor_auc_low\":%.4f,\"floor_auc_high\":%.4f",
           n_want, bench.threads, total, peak_rss_mb(), (long long)r.n_reference, (long long)r.n_generated,
           (long long)r.n_voxel_reference, r.model.auc_low, r.model.auc_high, r.floor.auc_low, r.floor.auc_high);
    for (int k = 0; k < N_ST; k++) printf(",\"%s\":%.2f", stage_keys[k], c.seconds[k]);
    printf("}\n");
    fflush(stdout);
}

/* ---- cases and main ------------------------------------------------------------------ */

static int run_case(const char *name, int list)
{
    static const char *const kinds[2] = {"calo_features_ds2", "calo_eval_ds2"};
    for (int k = 0; k < 2; k++) {
        size_t len = strlen(kinds[k]);
        if (strncmp(name, kinds[k], len) != 0) continue;
        long long n = CALO_DEFAULT_SHOWERS;
        if (name[len] == ':') {
            char *end;
            n = strtoll(name + len + 1, &end, 10);
            if (*end || n < 2) return 1;
        } else if (name[len]) {
            continue;
        }
        if (list) printf("%s:%lld\n", kinds[k], n);
        else if (k == 0) bench_calo_features(n);
        else bench_calo_eval(n);
        return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    static const char *const defaults[] = {"calo_features_ds2"};
    return bench_main(argc, argv, "bench_calo", "[calo_features_ds2[:N] | calo_eval_ds2[:N]]", defaults, 1,
                      run_case);
}
