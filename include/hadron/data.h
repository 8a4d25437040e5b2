/* hadron data: file formats read and written by hadron.
 * Every file is untrusted: sizes and shapes are checked before use and a bad
 * file gives an error naming the file and the problem. */
#ifndef HADRON_DATA_H
#define HADRON_DATA_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the input cap (data/file_read.c) -------------------------------------------
 * Every file hadron opens may come from someone else.  What a file's fields
 * declare (decompressed members, image arrays, event pools) may make hadron
 * allocate at most 256 MiB + 16 x the file's size, or HADRON_MAX_INPUT_MB
 * MiB when that is set (docs/files.md).  A refusal names the file, the
 * field and the size it claimed. */
#define HD_INPUT_CAP_BASE ((uint64_t)256 << 20)
#define HD_INPUT_CAP_FACTOR 16
uint64_t hd_input_cap(uint64_t file_bytes);
/* The refusal: "PATH: WHAT is N bytes, more than the C bytes one input
 * file of S bytes may make hadron allocate (...)"; returns HD_EFORMAT. */
int hd_input_refuse(const char *path, const char *what, uint64_t claimed, uint64_t file_bytes);

/* ---- safetensors (data/safetensors.c) -------------------------------------------
 * 8-byte little-endian header size, JSON header naming each tensor's dtype,
 * shape and byte range, raw little-endian data; string metadata under
 * "__metadata__".  PyTorch, JAX and NumPy users read these files directly. */

typedef struct { const char *key, *value; } hd_meta;

/* A parsed safetensors file held in memory (F32 tensors only). */
typedef struct hd_safetensors hd_safetensors;
int hd_safetensors_read(const char *path, hd_safetensors **out);
void hd_safetensors_free(hd_safetensors *st);
int hd_safetensors_count(const hd_safetensors *st);
const char *hd_safetensors_name(const hd_safetensors *st, int i);
const hd_tensor *hd_safetensors_get(const hd_safetensors *st, const char *name); /* NULL if absent */
const char *hd_safetensors_meta(const hd_safetensors *st, const char *key);      /* NULL if absent */
int hd_safetensors_meta_count(const hd_safetensors *st);
const char *hd_safetensors_meta_key(const hd_safetensors *st, int i);
/* Writes n named tensors and metadata atomically. */
int hd_safetensors_write(const char *path, int n, const char *const *names,
                         const hd_tensor *const *tensors, int n_meta, const hd_meta *meta);

/* ---- NumPy arrays: .npy and .npz (data/npy.c, data/npz.c) -------------------
 * v1/v2/v3 headers, little-endian float32/float64/int32/int64, C order, up to
 * HD_MAX_DIM dimensions; anything else is refused with a message naming the
 * file (and the array inside an .npz) and the problem.  .npz archives are
 * read stored or deflated (np.savez / np.savez_compressed) and written
 * stored, atomically. */

typedef enum { HD_F32, HD_F64, HD_I32, HD_I64 } hd_dtype;

typedef struct {
    hd_dtype dtype;
    int ndim;
    int64_t shape[HD_MAX_DIM];
    void *data; /* C order, owned (hd_array_free) */
} hd_array;

int64_t hd_array_numel(const hd_array *a);
size_t hd_dtype_size(hd_dtype t);
const char *hd_dtype_name(hd_dtype t);           /* "float32", ... */
double hd_array_get(const hd_array *a, int64_t i); /* element i as double */
/* Copy converted to float32 into out[numel]. */
void hd_array_to_f32(const hd_array *a, float *out);
int hd_array_new(hd_array *a, hd_dtype dtype, int ndim, const int64_t *shape); /* zeroed */
void hd_array_free(hd_array *a);

int hd_npy_read(const char *path, hd_array *out);
int hd_npy_write(const char *path, const hd_array *a);
/* Parse an in-memory .npy; `label` names it in errors ("file.npz:gen"). */
int hd_npy_parse(const char *label, const void *bytes, size_t size, hd_array *out);

typedef struct hd_npz hd_npz;
int hd_npz_read(const char *path, hd_npz **out);
void hd_npz_free(hd_npz *z);
int hd_npz_count(const hd_npz *z);
const char *hd_npz_name(const hd_npz *z, int i);                /* without ".npy" */
const hd_array *hd_npz_get(const hd_npz *z, const char *name);  /* NULL if absent */
int hd_npz_write(const char *path, int n, const char *const *names, const hd_array *const *arrays);

/* ---- HDF5 (data/hdf5.c) ----------------------------------------------------------
 * Datasets of an HDF5 file (h5py's format; libhdf5 reads and writes it) as
 * hd_arrays.  A dataset is named by its path in the file, "/showers" or
 * "showers", "/group/x" or "group/x"; on the command line a file and a
 * dataset are one argument "file.h5:/group/x" (hd_h5_split_name).
 * Readable: float32 and float64 (any byte order) as either; integers as
 * int32 or int64 where every value fits; 0 (scalar) to HD_MAX_DIM
 * dimensions; contiguous, or chunked and filtered by gzip, shuffle and
 * fletcher32.  Refused, with the file, the dataset and the problem: a path
 * that is not a regular file, a file without an HDF5 signature, a
 * truncated or damaged file, a missing dataset (the message lists those
 * the file has), another dtype (strings, compounds, ...), more than
 * HD_MAX_DIM dimensions, data a read would make larger than
 * HD_H5_MAX_BYTES, chunks larger than HD_H5_MAX_CHUNK_BYTES or that do not
 * fit the shape, a chunk whose stored bytes do not unfilter to one chunk
 * (checked before libhdf5 1.10 reads it: it would copy past its buffers),
 * a filter this libhdf5 lacks (h5py's lzf) or other filters (szip, nbit,
 * scaleoffset).  libhdf5 prints nothing: its error stack becomes the one
 * hadron message. */

#define HD_H5_MAX_BYTES (UINT64_C(1) << 34)       /* 16 GiB: the most one whole-dataset read allocates */
#define HD_H5_MAX_CHUNK_BYTES (UINT64_C(1) << 30) /* 1 GiB: the largest chunk a read lets libhdf5 unpack */

/* Writes n arrays (any hd_dtype; stored little-endian float32, float64,
 * int32, int64) as datasets names[i]; a '/' in a name makes groups.  Data
 * of one or more elements is chunked along the first dimension (about 1
 * MiB a chunk) and gzip-compressed (level 1).  Atomic: the file
 * is written as "path.tmp-PID-K" and renamed over path only when complete;
 * a failure leaves no file and an existing path as it was. */
int hd_h5_write(const char *path, int n, const char *const *names, const hd_array *const *arrays);
/* The whole dataset into out (hd_array_free it), converted to want:
 * HD_F32/HD_F64 from a float dataset, HD_I32/HD_I64 from an integer one.
 * out is empty on failure. */
int hd_h5_read(const char *path, const char *dataset, hd_dtype want, hd_array *out);
/* Dimensions (shape[HD_MAX_DIM]) and the dtype hd_h5_read reads exactly
 * (stored: float32, float64, int32 for integers that fit it, else int64);
 * stored may be NULL.  Refuses what hd_h5_read refuses, but reads no data. */
int hd_h5_shape(const char *path, const char *dataset, int *ndim, int64_t *shape, hd_dtype *stored);
/* Calls fn with the path of each dataset in the file ("a/b", as hd_h5_read
 * takes it), in name order, whatever its dtype; a non-zero return from fn
 * stops the walk and is returned. */
int hd_h5_list(const char *path, int (*fn)(void *user, const char *dataset), void *user);

/* Rows of a float dataset streamed in bounded memory: row i is
 * dataset[i, ...], its other dimensions flattened (a 1-D dataset has rows
 * of one value).  The reader holds the file open. */
typedef struct hd_h5_reader hd_h5_reader;
int hd_h5_open(const char *path, const char *dataset, hd_h5_reader **out);
int64_t hd_h5_rows(const hd_h5_reader *r);
int64_t hd_h5_row_len(const hd_h5_reader *r);   /* floats per row */
/* Rows first .. first + n - 1 as float32 into out[n * row_len]. */
int hd_h5_read_rows(hd_h5_reader *r, int64_t first, int64_t n, float *out);
void hd_h5_close(hd_h5_reader *r);

/* Splits "file.h5:/group/x" at its last ':' into the file (copied into
 * file[file_size], which must hold it) and *dataset, a pointer into spec
 * ("/group/x").  Without a ':' the whole spec is the file and *dataset is
 * NULL (the caller's default); a spec ending in ':' names a file with a ':'
 * in its name and no dataset ("run:1.h5:").  An empty file part is refused. */
int hd_h5_split_name(const char *spec, char *file, size_t file_size, const char **dataset);

/* ---- efficiency histograms (data/hist3.c) -------------------------------------
 * Counts of generated and reconstructed particles on an (eta, pT, phi)
 * binning, and optionally the true efficiency per bin.  On disk: an .npz
 * with arrays gen, rec (n_eta, n_pt, n_phi), edges_eta, edges_pt, edges_phi
 * (n + 1 each, increasing) and optional truth; any numeric dtype. */

typedef struct {
    int n_eta, n_pt, n_phi;
    double *edges_eta, *edges_pt, *edges_phi;
    double *gen, *rec, *truth; /* truth NULL when unknown; NaN for a bin without one */
} hd_hist3;

static inline int64_t hd_hist3_bins(const hd_hist3 *h) { return (int64_t)h->n_eta * h->n_pt * h->n_phi; }
static inline int64_t hd_hist3_index(const hd_hist3 *h, int i, int j, int k)
{
    return ((int64_t)i * h->n_pt + j) * h->n_phi + k;
}
int hd_hist3_alloc(hd_hist3 *h, int n_eta, int n_pt, int n_phi, int with_truth); /* zeroed */
void hd_hist3_free(hd_hist3 *h);
/* Checks shapes, edges, counts (finite, >= 0, rec <= gen) and truth (in
 * [0, 1] or NaN); the error names the array and the bin. */
int hd_hist3_check(const hd_hist3 *h, const char *label);
int hd_hist3_read_npz(const char *path, hd_hist3 *h);
int hd_hist3_write_npz(const char *path, const hd_hist3 *h);
/* Centre of bin b: eta, pT (geometric centre of a log bin when pT > 0), phi. */
void hd_hist3_bin_centre(const hd_hist3 *h, int64_t b, double *eta, double *pt, double *phi);

/* ---- calorimeter voxel layouts (data/calo_layout.c) ------------------------------
 * How a shower's voxels are laid out, shared by the simulator (sim.h), the
 * files and the evaluation (metrics.h).  Cylindrical layouts use the
 * CaloChallenge order: voxel (layer, alpha, r) is at
 * (layer * n_alpha + alpha) * n_r + r, r fastest; alpha bin a covers
 * [2 pi a / n_alpha, 2 pi (a + 1) / n_alpha) and radial bin r covers
 * [r_edges[r], r_edges[r + 1]) mm from the shower axis.  A grid layout
 * (ecal30) is one layer of ny x nx square cells of `cell` mm, x fastest,
 * centred on the calorimeter face's origin, each integrating the deposit
 * over layer_x0[0] X0 of depth. */

#define HD_CALO_MAX_LAYERS 64
#define HD_CALO_MAX_R 32

typedef enum { HD_CALO_CYLINDRICAL, HD_CALO_GRID } hd_calo_kind;

typedef struct {
    char name[32];
    hd_calo_kind kind;
    int n_layers, n_alpha, n_r;           /* cylindrical */
    double r_edges[HD_CALO_MAX_R + 1];    /* mm, n_r + 1 increasing from 0 */
    double layer_x0[HD_CALO_MAX_LAYERS];  /* X0: each readout layer's depth; grid: [0], the depth integrated */
    int nx, ny;                           /* grid */
    double cell;                          /* grid: cell side, mm */
} hd_calo_layout;

/* A known layout by name ("ds2", "ds3", "reduced", "ecal30"); the error lists them. */
int hd_calo_layout_get(const char *name, hd_calo_layout *out);
int64_t hd_calo_layout_voxels(const hd_calo_layout *l);
int hd_calo_layout_check(const hd_calo_layout *l); /* counts and edges in range */

/* ---- CaloChallenge shower files (data/calo_file.c) -------------------------------
 * The CaloChallenge 2022 layout (docs/data.md): a dataset incident_energies
 * of shape (N, 1) or (N,) and a dataset showers of shape (N, voxels), both
 * MeV, float32 or float64, in an HDF5 file (.h5, .hdf5) or, with the same
 * array names, an .npz (the simulator's --format npz); other datasets may
 * be there and are listed, not read.  The extension picks the format.
 * Refused, with the file, the dataset, the row and the problem: a missing
 * dataset, integer or other dtypes, other shapes, N of 0 or differing
 * between the two, a voxel count other than the layout's, an incident
 * energy that is not finite or not > 0, a voxel energy that is not finite,
 * and one that is < 0 unless clip_negative is set (the challenge's showers
 * are >= 0; a generative model's may dip below). */

#define HD_CALO_MAX_EXTRA 16 /* other datasets named in hd_calo_file.extra */

typedef struct {
    const hd_calo_layout *layout; /* the voxel count it must have; NULL: any */
    int64_t max_showers;          /* read the first max_showers; 0: all */
    int clip_negative;            /* 1: negative voxel energies become 0 and are counted; 0: refused */
} hd_calo_read_opts;

typedef struct {
    int64_t n, n_voxels;
    float *energy;   /* incident energies [n], MeV */
    float *showers;  /* [n * n_voxels], MeV, row i at showers + i * n_voxels */
    int64_t n_rows_in_file; /* N before max_showers */
    int64_t n_clipped;      /* voxels set from < 0 to 0 (clip_negative) */
    int has_layout;         /* layout: opts->layout, or the known layout of n_voxels voxels */
    hd_calo_layout layout;
    int n_extra;            /* other datasets, the first HD_CALO_MAX_EXTRA of them named */
    char extra[HD_CALO_MAX_EXTRA][64];
} hd_calo_file;

hd_calo_read_opts hd_calo_read_opts_default(void); /* any layout, all showers, negatives refused */
/* Reads and checks path (.h5, .hdf5 or .npz) into out (hd_calo_file_release
 * it); opts NULL for the defaults.  out is empty on failure. */
int hd_calo_file_read(const char *path, const hd_calo_read_opts *opts, hd_calo_file *out);
void hd_calo_file_release(hd_calo_file *f);
/* Writes n showers of n_voxels (energy [n], showers [n * n_voxels], MeV) as
 * incident_energies (n, 1) and showers (n, n_voxels) float32, into an HDF5
 * file or an .npz by path's extension; atomic. */
int hd_calo_file_write(const char *path, int64_t n, int64_t n_voxels, const float *energy, const float *showers);

/* ---- shuffling batch loader (data/loader.c) ------------------------------------
 * Serves rows of n parallel arrays (inputs, targets, ...) in batches, in a
 * new random order each epoch from the SHUFFLE stream: reproducible per seed. */

#define HD_LOADER_MAX_ARRAYS 8
typedef struct {
    int n_arrays;
    const float *arrays[HD_LOADER_MAX_ARRAYS];
    int64_t row_len[HD_LOADER_MAX_ARRAYS]; /* floats per row of each array */
    int64_t n_rows, batch, pos;
    int64_t part, parts; /* hd_loader_set_part; 0 and 1: every row */
    int64_t *order;
    hd_rng rng;
} hd_loader;

int hd_loader_init(hd_loader *l, int n_arrays, const float *const *arrays, const int64_t *row_len,
                   int64_t n_rows, int64_t batch, uint64_t seed);
void hd_loader_shuffle(hd_loader *l); /* start an epoch in a fresh random order */
int64_t hd_loader_next_size(const hd_loader *l); /* rows the next hd_loader_next gives */
/* Copies the next rows (at most batch) into dst[0..n_arrays); returns how
 * many, 0 at the end of the epoch.  With a part set, only that part's rows
 * of the batch are copied (packed), and the batch's size is returned. */
int64_t hd_loader_next(hd_loader *l, float *const *dst);
/* Data-parallel ranks: part p of `parts` takes rows p, p + parts, ... of each
 * batch; the order of the rows is the same for every part. */
void hd_loader_set_part(hd_loader *l, int64_t part, int64_t parts);
void hd_loader_free(hd_loader *l);

/* ---- IDX files, the MNIST format (data/idx.c) ---------------------------------
 * Plain or gzip-compressed (read transparently): 00 00, a type code, the
 * number of dimensions (1..4), one big-endian uint32 size per dimension, the
 * data in C order.  Type codes 0x08 ubyte, 0x09 sbyte, 0x0B int16, 0x0C int32
 * read as HD_I32; 0x0D float32 as HD_F32; 0x0E float64 as HD_F64 (every value
 * exact).  Refused, with the file's name and the reason: a wrong magic, any
 * other type code, 0 or more than 4 dimensions, a size of 0, more than
 * HD_IDX_MAX_NUMEL elements, data whose reading (raw and converted) would
 * allocate more than the input cap (hd_input_cap of the file's size, so a
 * 190 KB gzip of 250000 zero images is refused before its data is read),
 * data shorter than the header promises, bytes after the data (trailing
 * garbage: "at least N trailing bytes", found by reading one small block),
 * corrupt or truncated gzip data.  Bytes after the end of a complete gzip
 * stream are ignored, as gunzip does. */

#define HD_IDX_MAX_NUMEL (UINT64_C(1) << 32)
/* Debian's dataset-fashion-mnist: {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz */
#define HD_IDX_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

/* Any IDX file into out (hd_array_free it); out is empty on failure. */
int hd_idx_read(const char *path, hd_array *out);

/* What a reader of images needs of the file, checked on its header before
 * any data is read (a 50M x 1 x 1 file costs nothing when 28 x 28 are
 * needed).  With n_max < N only the first n_max images (and labels) are
 * read and the rest of the file is not: it is then not checked for
 * trailing bytes, nor a gzip file's CRC. */
typedef struct {
    float lo, hi;          /* pixel 0 -> lo and 255 -> hi exactly, linear between: [-1, 1] for tanh */
    int64_t height, width; /* the image size needed; 0: any */
    int64_t n_max;         /* read the first n_max images; 0: all */
} hd_idx_image_opts;
/* An images file (3-D ubyte, N x H x W) as a new n x 1 x H x W float32
 * tensor (hd_tensor_free it), n = N or n_max. */
int hd_idx_read_images(const char *path, const hd_idx_image_opts *opts, hd_tensor **out);
/* A labels file (1-D ubyte) as *labels[*n], values 0..255 (hd_free it; the
 * caller checks them against its number of classes).  n_expected >= 0 makes
 * any other count an error; -1 accepts any.  n may be NULL. */
int hd_idx_read_labels(const char *path, int64_t n_expected, int32_t **labels, int64_t *n);
/* An images file and its labels file: both headers are read first, and the
 * labels header's N must be the images header's (the error names both
 * files) before any data is read; then the first n (N or opts->n_max)
 * images and labels, as above.  n is (*images)->shape[0]. */
int hd_idx_read_mnist(const char *images_path, const char *labels_path, const hd_idx_image_opts *opts,
                      hd_tensor **images, int32_t **labels);
/* Where Fashion-MNIST lives: $HADRON_FASHION_MNIST if set, else
 * HD_IDX_FASHION_MNIST_DIR.  The directory may not exist. */
const char *hd_idx_default_dir(void);

/* ---- events (data/event.c) --------------------------------------------------------
 * One collision event as a flat list of particles, each with its production
 * vertex and, when it decayed, its decay vertex: enough for a detector
 * simulation.  HepMC3 conventions: status 1 is a final-state particle, 2 a
 * decayed hadron, anything else an intermediate (quarks, Z, ...); momenta in
 * GeV, positions in mm (x, y, z, c t).  Who came from whom is kept as vertex
 * numbers: particles with end_vertex k went into vertex k, those with
 * prod_vertex k came out of it (numbers 1, 2, ... in order of first mention
 * along the list, production vertex before end vertex; 0 when unknown, e.g.
 * the beams' production vertex).  The generator (sim.h, hd_eeqq_event) and
 * the HepMC3 reader below fill it; the detector needs only the positions. */
typedef struct {
    int pdg;
    int status;
    double p[4];    /* E, px, py, pz */
    double mass;    /* generated mass, GeV */
    double prod[4]; /* production vertex x, y, z, ct */
    double end[4];  /* decay vertex; meaningful only when has_end */
    int has_end;
    int prod_vertex, end_vertex; /* vertex numbers, 0: none (docs/events.md) */
} hd_particle;

typedef struct {
    int64_t n, cap;
    hd_particle *p;
} hd_event; /* zero-initialise; reuse across events; hd_event_free at the end */

void hd_event_clear(hd_event *ev);        /* n = 0, keeps the memory */
hd_particle *hd_event_push(hd_event *ev); /* a zeroed new particle; NULL (error set) on OOM */
void hd_event_free(hd_event *ev);

/* ---- HepMC3 ASCII events (data/hepmc3.c, hepmc3_event.c, hepmc3_write.c) -----------
 * Reader and writer of the HepMC3 "Asciiv3" text format (docs/events.md;
 * the reader also takes it gzip-compressed).  Errors name the file, the
 * line number and the problem (broken line, unknown record, a particle or
 * vertex that points at one that does not exist, counts that do not match
 * the E line).  Units become GeV and mm.  A line may have at most
 * HD_HEPMC3_MAX_LINE bytes before its end of line ("\n" or "\r\n"); a
 * longer one is refused, naming the file, the line and the cap, after at
 * most that much of it is read (and it is held once).  What the reader
 * holds of one event is held to hd_input_cap of the file's size (a pipe:
 * 0 bytes); hd_hepmc3_parse_buffer has no cap: its text bounds it. */
#define HD_HEPMC3_MAX_LINE (1 << 20)
typedef struct hd_hepmc3_reader hd_hepmc3_reader;

int hd_hepmc3_open(const char *path, hd_hepmc3_reader **out);
/* Next event into ev: 1 read, 0 at the end of the file, < 0 on error. */
int hd_hepmc3_next(hd_hepmc3_reader *r, hd_event *ev);
void hd_hepmc3_close(hd_hepmc3_reader *r);
/* Whole text in memory (the fuzz target's entry): calls on_event per event;
 * a non-zero return from it stops the parse and is returned. */
int hd_hepmc3_parse_buffer(const char *name, const char *text, size_t len,
                           int (*on_event)(void *user, const hd_event *ev), void *user);
int hd_hepmc3_write_events(const char *path, int64_t n, const hd_event *events); /* atomic */
/* The same one event at a time (events numbered 0, 1, ...): the file
 * appears at close, complete; abort removes it.  Both free the writer. */
typedef struct hd_hepmc3_writer hd_hepmc3_writer;
int hd_hepmc3_writer_open(const char *path, hd_hepmc3_writer **out);
int hd_hepmc3_writer_add(hd_hepmc3_writer *w, const hd_event *ev);
int hd_hepmc3_writer_close(hd_hepmc3_writer *w);
void hd_hepmc3_writer_abort(hd_hepmc3_writer *w); /* NULL is fine */

#ifdef __cplusplus
}
#endif
#endif
