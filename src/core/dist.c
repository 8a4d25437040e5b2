/* Data-parallel processes (core.h, "distributed").  Built with
 * -DHADRON_MPI=ON this is a thin layer over MPI_COMM_WORLD; without it, or
 * before hd_dist_init, there is one rank and every call is a no-op, so the
 * default build behaves exactly as a single process always did. */
#include "hadron/core.h"

#include <string.h>

#ifdef HADRON_MPI
#include <limits.h>
#include <mpi.h>

static int started;

int hd_dist_init(int *argc, char ***argv)
{
    int have = 0;
    MPI_Initialized(&have);
    if (!have && MPI_Init(argc, argv) != MPI_SUCCESS) return hd_error(HD_EIO, "MPI_Init failed");
    started = !have;
    /* Errors come back as codes, so a failing rank can name itself before it ends the job. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    return HD_OK;
}

void hd_dist_finalize(void)
{
    int fin = 0;
    MPI_Finalized(&fin);
    if (started && !fin) MPI_Finalize();
    started = 0;
}

static int active(void)
{
    int have = 0, fin = 0;
    MPI_Initialized(&have);
    if (have) MPI_Finalized(&fin);
    return have && !fin;
}

int hd_dist_rank(void)
{
    int r = 0;
    if (active()) MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

int hd_dist_size(void)
{
    int n = 1;
    if (active()) MPI_Comm_size(MPI_COMM_WORLD, &n);
    return n;
}

static int mpi_fail(int err, const char *what)
{
    char s[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(err, s, &len);
    return hd_error(HD_EIO, "rank %d of %d: %s failed: %.*s", hd_dist_rank(), hd_dist_size(), what, len, s);
}

/* In place, in pieces below INT_MAX elements (MPI counts are int). */
static int allreduce(void *x, int64_t n, MPI_Datatype type, size_t elem, MPI_Op op, const char *what)
{
    for (int64_t at = 0; at < n; at += INT_MAX / 2) {
        int64_t len = n - at < INT_MAX / 2 ? n - at : INT_MAX / 2;
        int err = MPI_Allreduce(MPI_IN_PLACE, (char *)x + (size_t)at * elem, (int)len, type, op, MPI_COMM_WORLD);
        if (err != MPI_SUCCESS) return mpi_fail(err, what);
    }
    return HD_OK;
}

int hd_dist_sum_float(float *x, int64_t n)
{
    return hd_dist_size() > 1 ? allreduce(x, n, MPI_FLOAT, sizeof *x, MPI_SUM, "a sum over the ranks") : HD_OK;
}

int hd_dist_sum_double(double *x, int64_t n)
{
    return hd_dist_size() > 1 ? allreduce(x, n, MPI_DOUBLE, sizeof *x, MPI_SUM, "a sum over the ranks") : HD_OK;
}

int hd_dist_same(uint64_t v, const char *what)
{
    if (hd_dist_size() < 2) return HD_OK;
    unsigned long long lo = v, hi = v;
    int rc = allreduce(&lo, 1, MPI_UNSIGNED_LONG_LONG, sizeof lo, MPI_MIN, what);
    if (rc == HD_OK) rc = allreduce(&hi, 1, MPI_UNSIGNED_LONG_LONG, sizeof hi, MPI_MAX, what);
    if (rc == HD_OK && lo != hi)
        rc = hd_error(HD_ESTATE, "rank %d of %d: %s differs between the ranks", hd_dist_rank(), hd_dist_size(), what);
    return rc;
}

void hd_dist_abort(int code)
{
    if (active() && hd_dist_size() > 1) MPI_Abort(MPI_COMM_WORLD, code ? code : 1);
}

#else /* one process */

int hd_dist_init(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    return HD_OK;
}
void hd_dist_finalize(void) {}
int hd_dist_rank(void) { return 0; }
int hd_dist_size(void) { return 1; }
int hd_dist_sum_float(float *x, int64_t n) { return (void)x, (void)n, HD_OK; }
int hd_dist_sum_double(double *x, int64_t n) { return (void)x, (void)n, HD_OK; }
int hd_dist_same(uint64_t v, const char *what) { return (void)v, (void)what, HD_OK; }
void hd_dist_abort(int code) { (void)code; }

#endif

int64_t hd_part_rows(int64_t rows, int64_t part, int64_t parts)
{
    return rows > part ? (rows - part + parts - 1) / parts : 0;
}

int64_t hd_dist_rows(int64_t rows) { return hd_part_rows(rows, hd_dist_rank(), hd_dist_size()); }

int hd_dist_mean_grads(float *grads, int64_t n, int64_t local_rows, int64_t global_rows)
{
    if (hd_dist_size() < 2) return HD_OK;
    if (local_rows <= 0 || global_rows <= 0) {
        memset(grads, 0, (size_t)n * sizeof *grads); /* a rank without rows in this batch adds nothing */
    } else {
        float w = (float)((double)local_rows / (double)global_rows);
        for (int64_t i = 0; i < n; i++) grads[i] *= w;
    }
    return hd_dist_sum_float(grads, n);
}

uint64_t hd_dist_hash(const void *data, size_t bytes)
{
    const unsigned char *p = data;
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < bytes; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}
