/* hadron core: errors, logging, memory, tensors, RNG streams, threads, progress.
 *
 * The API rule, followed by every hadron header:
 *   - Errors: a function that can fail returns int (HD_OK = 0, or a negative
 *     HD_E* code) and leaves a message naming what failed (the file, the
 *     field, the value) for hd_last_error().  A constructor that returns a
 *     pointer returns NULL with the message set.  Nothing exits, and nothing
 *     prints to stdout (progress and logs go through callbacks and stderr).
 *   - Opaque objects: hd_x_new(...) returns one; hd_x_open, hd_x_read or
 *     hd_x_load(path, ..., T **out) makes one from a file and returns an
 *     error code.  Either is paired with hd_x_free (hd_x_close for a file
 *     reader or writer), and hd_x_free(NULL) does nothing.
 *   - Caller-owned structs (hd_loader, hd_hist3, hd_checkpoint_entries, ...):
 *     hd_x_init (or _alloc) fills one, hd_x_release (or _free) gives back
 *     what it holds, never the struct itself.
 *   - Memory the library hands over is released with hd_free, never with
 *     plain free().
 *   - Options: a call with more than about six arguments takes an options
 *     struct, with hd_x_opts_default() where defaults matter; workflow
 *     options embed the shared ones (hd_optim_opts, hd_schedule). */
#ifndef HADRON_CORE_H
#define HADRON_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HD_VERSION_MAJOR 0
#define HD_VERSION_MINOR 1
#define HD_VERSION_PATCH 0
#define HD_VERSION "0.1.0"

/* ---- errors ------------------------------------------------------------ */

enum {
    HD_OK = 0,
    HD_EINVAL = -1,  /* bad argument */
    HD_ENOMEM = -2,  /* allocation failed */
    HD_EIO = -3,     /* open/read/write/rename failed */
    HD_EFORMAT = -4, /* a file's content is malformed */
    HD_ESHAPE = -5,  /* incompatible tensor shapes */
    HD_ESTATE = -6   /* call out of order (e.g. forward before compile) */
};

const char *hd_last_error(void);              /* message of the last failure in this thread */
int hd_error(int code, const char *fmt, ...)  /* set message, return code */
    __attribute__((format(printf, 2, 3)));
void hd_clear_error(void);
const char *hd_strerror(int code); /* short name of a code: "invalid argument", ... */
/* s[0..n) made safe to print: control characters (C0, DEL, and the C1 range
 * U+0080..U+009F as UTF-8, which terminals obey as escapes) shown as '?', cut
 * with "..." to fit buf[size] (size >= 4).  Returns buf.  Every string that
 * came from a file goes through it before it is printed; hd_error passes
 * its whole message through it. */
const char *hd_printable(const char *s, size_t n, char *buf, size_t size);

/* ---- logging (stderr) -------------------------------------------------- */

typedef enum { HD_LOG_DEBUG, HD_LOG_INFO, HD_LOG_WARN, HD_LOG_ERROR, HD_LOG_SILENT } hd_log_level;

void hd_log_set_level(hd_log_level level); /* default HD_LOG_INFO; HADRON_LOG=debug|info|warn|error|silent */
hd_log_level hd_log_get_level(void);
void hd_message(hd_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- memory ------------------------------------------------------------ */

void *hd_malloc(size_t bytes);           /* 64-byte aligned; NULL + error on failure */
void *hd_calloc(size_t n, size_t size);  /* zeroed, 64-byte aligned */
void hd_free(void *p);
uint64_t hd_alloc_count(void);           /* allocations made by hadron so far (tests: none in a step) */

/* Bump allocator: one zeroed block, 64-byte aligned slices, freed all at once. */
typedef struct hd_arena hd_arena;
hd_arena *hd_arena_new(size_t capacity);
void *hd_arena_alloc(hd_arena *a, size_t bytes); /* NULL + error when full */
size_t hd_arena_used(const hd_arena *a);
size_t hd_arena_capacity(const hd_arena *a);
void hd_arena_reset(hd_arena *a);
void hd_arena_free(hd_arena *a);

/* ---- tensors ----------------------------------------------------------- */

#define HD_MAX_DIM 4
#define HD_BATCH (-1) /* a symbolic batch dimension in a graph shape */
#define HD_PI 3.14159265358979323846 /* M_PI is not C11 */

/* float32, C order (PyTorch dimension order), 0..4 dimensions (0 = scalar).
 * An owning tensor frees data in hd_tensor_free; a view never does. */
typedef struct hd_tensor {
    float *data;
    int ndim;
    int64_t shape[HD_MAX_DIM];
    int owner;
} hd_tensor;

hd_tensor *hd_tensor_new(int ndim, const int64_t *shape);              /* owning, zeroed */
hd_tensor *hd_tensor_wrap(float *data, int ndim, const int64_t *shape); /* view of caller's data */
void hd_tensor_free(hd_tensor *t);
hd_tensor hd_tensor_view(float *data, int ndim, const int64_t *shape);  /* by value, not owning */
int64_t hd_tensor_numel(const hd_tensor *t);
int64_t hd_shape_numel(int ndim, const int64_t *shape);
int hd_shape_valid(int ndim, const int64_t *shape); /* 1 if 0<=ndim<=4 and every dim >= 1 */
/* "[3, 4]" into buf (always terminated); HD_BATCH dims print as "B". Returns buf. */
char *hd_shape_str(int ndim, const int64_t *shape, char *buf, size_t size);

/* ---- random streams ---------------------------------------------------- */

/* Philox4x32-10 counter-based streams.  A stream is (seed, stream id); the
 * counter addresses 128-bit blocks, so the fill functions give the same
 * numbers whatever the thread count.  Use one stream per purpose. */
enum { HD_STREAM_INIT = 1, HD_STREAM_SHUFFLE = 2, HD_STREAM_DROPOUT = 3,
       HD_STREAM_NOISE = 4, HD_STREAM_SIM = 5, HD_STREAM_USER = 16 };

typedef struct hd_rng {
    uint64_t seed, stream, counter; /* next unused block */
    uint32_t buf[4];
    int nbuf;                       /* words left in buf */
} hd_rng;

void hd_rng_init(hd_rng *r, uint64_t seed, uint64_t stream);
uint32_t hd_rng_u32(hd_rng *r);
uint32_t hd_rng_below(hd_rng *r, uint32_t n);    /* uniform integer in [0, n), unbiased; n >= 1 */
float hd_rng_uniform(hd_rng *r);                 /* [0, 1) with 24 random bits */
float hd_rng_normal(hd_rng *r);                  /* N(0, 1), Box-Muller */
int hd_rng_bernoulli(hd_rng *r, float p);        /* 1 with probability p */
void hd_rng_permutation(hd_rng *r, int64_t n, int64_t *out); /* random order of 0..n-1 */
/* Fills: x[i] depends only on (seed, stream, counter at call, i). */
void hd_rng_fill_uniform(hd_rng *r, float *x, int64_t n, float lo, float hi);
void hd_rng_fill_normal(hd_rng *r, float *x, int64_t n, float mean, float std);
void hd_rng_fill_bernoulli(hd_rng *r, float *x, int64_t n, float p); /* 0.0f or 1.0f */
/* Some rows of a global [total][len] array: rows first, first + stride, ...
 * (n of them), packed.  Each value is what the plain fill of the whole array
 * would give there, so a data-parallel rank draws its rows' numbers exactly. */
typedef struct { int64_t n, first, stride, total; } hd_rows;
void hd_rng_fill_normal_rows(hd_rng *r, float *x, const hd_rows *rows, int64_t len, float mean, float std);
void hd_rng_fill_bernoulli_rows(hd_rng *r, float *x, const hd_rows *rows, int64_t len, float p);

/* ---- threads ----------------------------------------------------------- */

/* OpenMP and OpenBLAS threads; n <= 0: OMP_NUM_THREADS if set, else all
 * cores.  Under an address-space limit (ulimit -v) a count whose threads
 * would not fit is refused (HD_ENOMEM, with the count that fits), where
 * OpenBLAS would retry its buffers forever. */
int hd_set_threads(int n);
int hd_get_threads(void);
/* What each thread reserves of the address space (OpenBLAS's buffer or a
 * malloc arena, and its stack), and the process's mapped bytes now (0 if
 * unknown): the start-up check and hd_set_threads use both. */
#define HD_THREAD_ADDRESS_SPACE (136.0 * 1024 * 1024)
uint64_t hd_mapped_bytes(void);

/* ---- data-parallel processes (core/dist.c) ------------------------------ */

/* Under mpirun, in a build with -DHADRON_MPI=ON, P processes ("ranks") share
 * each step: rank r takes rows r, r + P, r + 2P, ... of every global batch,
 * the gradients are summed over the ranks, and every rank takes the same
 * optimiser step (docs/distributed.md).  Without MPI, or before
 * hd_dist_init, there is one rank and these calls do nothing. */
int hd_dist_init(int *argc, char ***argv); /* MPI_Init unless already initialised */
void hd_dist_finalize(void);               /* MPI_Finalize, if hd_dist_init started MPI */
int hd_dist_rank(void);
int hd_dist_size(void);
int hd_dist_sum_float(float *x, int64_t n);   /* in place, over the ranks */
int hd_dist_sum_double(double *x, int64_t n);
/* HD_ESTATE, naming `what`, when v is not the same on every rank. */
int hd_dist_same(uint64_t v, const char *what);
uint64_t hd_dist_hash(const void *data, size_t bytes); /* FNV-1a, for hd_dist_same */
void hd_dist_abort(int code); /* ends every rank of a job (MPI_Abort); nothing in one process */
int64_t hd_part_rows(int64_t rows, int64_t part, int64_t parts); /* rows part, part + parts, ... below rows */
int64_t hd_dist_rows(int64_t rows); /* this rank's rows of a global batch of `rows` */
/* The gradient of a global batch's mean loss from this rank's gradient of
 * the mean over its local_rows: scaled by local_rows / global_rows, summed
 * over the ranks.  One process: untouched. */
int hd_dist_mean_grads(float *grads, int64_t n, int64_t local_rows, int64_t global_rows);

/* ---- progress ---------------------------------------------------------- */

/* A one-line bar on stderr, redrawn at most every 100 ms, only when stderr is
 * a terminal and the log level is INFO or lower; silent otherwise. */
typedef struct hd_progress {
    char label[32];
    int64_t total;
    double start, last_draw;
    int active;
} hd_progress;

void hd_progress_begin(hd_progress *p, const char *label, int64_t total);
void hd_progress_update(hd_progress *p, int64_t done, const char *status); /* status may be NULL */
void hd_progress_end(hd_progress *p);
double hd_now(void); /* monotonic seconds */

/* ---- atomic output ------------------------------------------------------------ */

/* Atomic file output shared by every writer (core/atomic.c): write to "<path>.tmp.<pid>", fsync, rename. */
typedef struct { FILE *f; char *path, *tmp; } hd_atomic_file;
int hd_atomic_open(hd_atomic_file *af, const char *path);
int hd_atomic_commit(hd_atomic_file *af); /* closes, renames; on failure removes the temp */
void hd_atomic_abort(hd_atomic_file *af); /* closes and removes the temp */

#ifdef __cplusplus
}
#endif
#endif
