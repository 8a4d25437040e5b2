/* Writer of HepMC3 Asciiv3 files, in the layout HepMC3's WriterAscii uses
 * (docs/events.md), so that HepMC3, Rivet or pyhepmc read them and so does
 * hadron's reader, to the same hd_event.
 *
 * Vertices are renumbered 1, 2, ... in order of first mention along the
 * list (production vertex before end vertex) and every one is written as a
 * V line (id -number) before the first particle it makes, or after the
 * particles when it makes none.  A particle with an end point but no end
 * vertex number gets a vertex of its own.  A vertex no particle goes into
 * cannot be written (HepMC3 cannot read "[]"): particles out of it are
 * written without production vertex, at the event's position, so they must
 * all start at the same point.  Positions: "@ x y z t" unless zero; HepMC3
 * takes a zero position for none and looks for the point where the first
 * incoming particle started, so a vertex at the origin is refused unless
 * that search ends at the origin too.  Numbers have 17 significant digits,
 * so every double reads back exactly. */
#include "hadron/data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t key, rank; /* a vertex (its number, or -1 - particle for an unnumbered end point) and where it is mentioned */
} mention;

typedef struct {
    mention *m;          /* 2 per particle */
    int64_t *vertex_of;  /* per particle: production and end vertex, new numbers (0: none) */
    int64_t *in;         /* (number << 32) + particle, sorted: each vertex's incoming particles */
    const double **at;   /* per vertex number: its point */
    int64_t *first_in;   /* per vertex number: its first incoming particle's index in `in` */
    char *written;       /* per vertex number */
    int64_t n_in, cap;
} scratch;

static int cmp_mention(const void *a, const void *b)
{
    const mention *x = a, *y = b;
    if (x->key != y->key) return (x->key > y->key) - (x->key < y->key);
    return (x->rank > y->rank) - (x->rank < y->rank);
}

static int cmp_rank(const void *a, const void *b)
{
    const mention *x = a, *y = b;
    return (x->rank > y->rank) - (x->rank < y->rank);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void free_scratch(scratch *s)
{
    free(s->m);
    free(s->vertex_of);
    free(s->in);
    free(s->at);
    free(s->first_in);
    free(s->written);
    memset(s, 0, sizeof *s);
}

static int grow(scratch *s, int64_t n)
{
    if (n < 1) n = 1;
    if (n <= s->cap) return HD_OK;
    free_scratch(s);
    s->m = malloc((size_t)(2 * n) * sizeof *s->m);
    s->vertex_of = malloc((size_t)(2 * n) * sizeof *s->vertex_of);
    s->in = malloc((size_t)n * sizeof *s->in);
    s->at = malloc((size_t)(n + 1) * sizeof *s->at);
    s->first_in = malloc((size_t)(n + 1) * sizeof *s->first_in);
    s->written = malloc((size_t)(n + 1));
    s->cap = s->m && s->vertex_of && s->in && s->at && s->first_in && s->written ? n : 0;
    return s->cap ? HD_OK : hd_error(HD_ENOMEM, "hd_hepmc3_write_events: out of memory for %lld particles", (long long)n);
}

static int64_t end_key(const hd_particle *p, int64_t i) { return p->end_vertex > 0 ? p->end_vertex : -1 - i; }

/* Index of `key` among the n sorted distinct mentions, -1 when absent. */
static int64_t find(const mention *m, int64_t n, int64_t key)
{
    int64_t lo = 0, hi = n - 1;
    while (lo <= hi) {
        int64_t mid = (lo + hi) / 2;
        if (m[mid].key == key) return mid;
        if (m[mid].key < key) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

static int check_particles(const hd_event *ev, int64_t e)
{
    if (ev->n > 0 && !ev->p) return hd_error(HD_EINVAL, "hd_hepmc3_write_events: event %lld has no particles array", (long long)e);
    if (ev->n < 0 || ev->n > INT32_MAX)
        return hd_error(HD_EINVAL, "hd_hepmc3_write_events: event %lld has %lld particles", (long long)e, (long long)ev->n);
    for (int64_t i = 0; i < ev->n; i++) {
        const hd_particle *p = ev->p + i;
        if (p->prod_vertex < 0 || p->end_vertex < 0 || (p->end_vertex > 0 && !p->has_end))
            return hd_error(HD_EINVAL,
                            "hd_hepmc3_write_events: event %lld, particle %lld: vertex numbers %d, %d (has_end %d) "
                            "must be >= 0, and an end vertex needs has_end",
                            (long long)e, (long long)i, p->prod_vertex, p->end_vertex, p->has_end);
    }
    return HD_OK;
}

/* New vertex numbers in order of first mention; returns how many. */
static int64_t number_vertices(const hd_event *ev, scratch *s)
{
    int64_t n = 0, n_ends;
    for (int64_t i = 0; i < ev->n; i++)
        if (ev->p[i].has_end) s->m[n++] = (mention){end_key(ev->p + i, i), 2 * i + 1};
    qsort(s->m, (size_t)n, sizeof *s->m, cmp_mention);
    n_ends = 0;
    for (int64_t k = 0; k < n; k++)
        if (k == 0 || s->m[k].key != s->m[k - 1].key) s->m[n_ends++] = s->m[k];
    /* production vertices that some particle goes into mention their vertex earlier */
    for (int64_t i = 0; i < ev->n; i++) {
        int64_t at = ev->p[i].prod_vertex > 0 ? find(s->m, n_ends, ev->p[i].prod_vertex) : -1;
        if (at >= 0 && 2 * i < s->m[at].rank) s->m[at].rank = 2 * i;
    }
    qsort(s->m, (size_t)n_ends, sizeof *s->m, cmp_rank);
    for (int64_t k = 0; k < n_ends; k++) s->m[k].rank = k + 1; /* now: the new number */
    qsort(s->m, (size_t)n_ends, sizeof *s->m, cmp_mention);
    for (int64_t i = 0; i < ev->n; i++) {
        const hd_particle *p = ev->p + i;
        int64_t from = p->prod_vertex > 0 ? find(s->m, n_ends, p->prod_vertex) : -1;
        s->vertex_of[2 * i] = from >= 0 ? s->m[from].rank : 0;
        s->vertex_of[2 * i + 1] = p->has_end ? s->m[find(s->m, n_ends, end_key(p, i))].rank : 0;
    }
    return n_ends;
}

static int same_point(const double *a, const double *b)
{
    return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
}

static int is_zero(const double *a) { return a[0] == 0 && a[1] == 0 && a[2] == 0 && a[3] == 0; }

/* Each vertex's incoming particles (sorted), and its point: where they end, all at one point. */
static int collect_incoming(const hd_event *ev, int64_t e, scratch *s)
{
    int64_t n_in = 0;
    for (int64_t i = 0; i < ev->n; i++)
        if (s->vertex_of[2 * i + 1]) s->in[n_in++] = s->vertex_of[2 * i + 1] * ((int64_t)1 << 32) + i;
    qsort(s->in, (size_t)n_in, sizeof *s->in, cmp_i64);
    for (int64_t k = 0; k < n_in; k++) {
        int64_t v = s->in[k] >> 32, i = s->in[k] & 0xffffffff;
        if (k == 0 || (s->in[k - 1] >> 32) != v) {
            s->at[v] = ev->p[i].end;
            s->first_in[v] = k;
        } else if (!same_point(ev->p[i].end, s->at[v])) {
            return hd_error(HD_EINVAL,
                            "hd_hepmc3_write_events: event %lld: particles %lld and %lld go into one vertex but end at "
                            "different points", (long long)e, (long long)(s->in[k - 1] & 0xffffffff), (long long)i);
        }
    }
    s->n_in = n_in;
    return HD_OK;
}

/* Every particle starts at its production vertex; those without one at a common point, the event's. */
static int check_starts(const hd_event *ev, int64_t e, const scratch *s, const double **event_pos)
{
    static const double origin[4] = {0, 0, 0, 0};
    *event_pos = NULL;
    for (int64_t i = 0; i < ev->n; i++) {
        const hd_particle *p = ev->p + i;
        int64_t v = s->vertex_of[2 * i];
        if (!v && !*event_pos) *event_pos = p->prod;
        const double *at = v ? s->at[v] : *event_pos;
        if (!same_point(p->prod, at))
            return hd_error(HD_EINVAL,
                            "hd_hepmc3_write_events: event %lld, particle %lld starts at (%g, %g, %g, %g) mm, not at "
                            "the %s (%g, %g, %g, %g)",
                            (long long)e, (long long)i, p->prod[0], p->prod[1], p->prod[2], p->prod[3],
                            v ? "end of the particles that make it" : "start of the other particles without a parent",
                            at[0], at[1], at[2], at[3]);
    }
    if (!*event_pos) *event_pos = origin;
    return HD_OK;
}

/* A vertex written without "@" (at the origin) is placed by a reader where
 * its first incoming particle was made, recursively, else at the event's
 * position (HepMC3 takes a zero position for none): that must be the origin too. */
static int check_origins(int64_t e, const scratch *s, int64_t n_vertices, const double *event_pos)
{
    for (int64_t v = 1; v <= n_vertices; v++) {
        const double *at = s->at[v];
        for (int64_t u = v, steps = 0; is_zero(at); steps++) {
            int64_t from = s->vertex_of[2 * (s->in[s->first_in[u]] & 0xffffffff)];
            if (!from || steps > n_vertices) { /* no parent, or a loop: the event's position */
                at = event_pos;
                break;
            }
            at = s->at[u = from];
        }
        if (!is_zero(at) && is_zero(s->at[v]))
            return hd_error(HD_EINVAL,
                            "hd_hepmc3_write_events: event %lld: vertex %lld is at the origin, but HepMC3 takes that for "
                            "no position and would put it at (%g, %g, %g, %g), where its first incoming particle starts",
                            (long long)e, (long long)v, at[0], at[1], at[2], at[3]);
    }
    return HD_OK;
}

static void write_point(FILE *f, const double *x)
{
    if (!is_zero(x)) fprintf(f, " @ %.16e %.16e %.16e %.16e", x[0], x[1], x[2], x[3]);
}

static void write_vertex(FILE *f, scratch *s, int64_t v)
{
    fprintf(f, "V %lld 0 [", -(long long)v);
    for (int64_t k = s->first_in[v]; k < s->n_in && (s->in[k] >> 32) == v; k++)
        fprintf(f, k > s->first_in[v] ? ",%lld" : "%lld", (long long)(s->in[k] & 0xffffffff) + 1);
    fputc(']', f);
    write_point(f, s->at[v]);
    fputc('\n', f);
    s->written[v] = 1;
}

static int write_event(FILE *f, const hd_event *ev, int64_t e, scratch *s)
{
    int rc = check_particles(ev, e);
    if (rc || (rc = grow(s, ev->n))) return rc;
    int64_t n_vertices = number_vertices(ev, s);
    const double *event_pos;
    if ((rc = collect_incoming(ev, e, s)) || (rc = check_starts(ev, e, s, &event_pos)) ||
        (rc = check_origins(e, s, n_vertices, event_pos)))
        return rc;
    fprintf(f, "E %lld %lld %lld", (long long)e, (long long)n_vertices, (long long)ev->n);
    write_point(f, event_pos);
    fputs("\nU GEV MM\n", f);
    memset(s->written, 0, (size_t)(n_vertices + 1));
    for (int64_t i = 0; i < ev->n; i++) {
        const hd_particle *p = ev->p + i;
        int64_t v = s->vertex_of[2 * i];
        if (v && !s->written[v]) write_vertex(f, s, v);
        fprintf(f, "P %lld %lld %d %.16e %.16e %.16e %.16e %.16e %d\n", (long long)i + 1, -(long long)v, p->pdg,
                p->p[1], p->p[2], p->p[3], p->p[0], p->mass, p->status);
    }
    for (int64_t v = 1; v <= n_vertices; v++)
        if (!s->written[v]) write_vertex(f, s, v);
    return HD_OK;
}

struct hd_hepmc3_writer {
    hd_atomic_file af;
    char *path;
    int64_t n_events;
    scratch s;
};

void hd_hepmc3_writer_abort(hd_hepmc3_writer *w)
{
    if (!w) return;
    hd_atomic_abort(&w->af);
    free_scratch(&w->s);
    free(w->path);
    free(w);
}

int hd_hepmc3_writer_open(const char *path, hd_hepmc3_writer **out)
{
    if (!path || !out) return hd_error(HD_EINVAL, "hd_hepmc3_writer_open: NULL %s", path ? "out" : "path");
    *out = NULL;
    hd_hepmc3_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->path = strdup(path))) {
        free(w);
        return hd_error(HD_ENOMEM, "hd_hepmc3_writer_open: out of memory");
    }
    int rc = hd_atomic_open(&w->af, path);
    if (rc) {
        free(w->path);
        free(w);
        return rc;
    }
    fprintf(w->af.f, "HepMC::Version 3.02.06\nHepMC::Asciiv3-START_EVENT_LISTING\n"
                     "T hadron\\|%s\\|hadron event record\n", HD_VERSION);
    *out = w;
    return HD_OK;
}

int hd_hepmc3_writer_add(hd_hepmc3_writer *w, const hd_event *ev)
{
    if (!w || !ev) return hd_error(HD_EINVAL, "hd_hepmc3_writer_add: NULL %s", w ? "event" : "writer");
    int rc = write_event(w->af.f, ev, w->n_events, &w->s);
    if (rc == HD_OK) w->n_events++;
    return rc;
}

int hd_hepmc3_writer_close(hd_hepmc3_writer *w)
{
    if (!w) return hd_error(HD_EINVAL, "hd_hepmc3_writer_close: NULL writer");
    fputs("HepMC::Asciiv3-END_EVENT_LISTING\n\n", w->af.f);
    int rc = ferror(w->af.f) ? hd_error(HD_EIO, "hd_hepmc3_writer_close: writing %s failed", w->path) : HD_OK;
    if (rc) {
        hd_hepmc3_writer_abort(w);
        return rc;
    }
    rc = hd_atomic_commit(&w->af);
    free_scratch(&w->s);
    free(w->path);
    free(w);
    return rc;
}

int hd_hepmc3_write_events(const char *path, int64_t n, const hd_event *events)
{
    if (!path || n < 0 || (n > 0 && !events))
        return hd_error(HD_EINVAL, "hd_hepmc3_write_events: %s", !path ? "NULL path" : n < 0 ? "negative count" : "NULL events");
    hd_hepmc3_writer *w;
    int rc = hd_hepmc3_writer_open(path, &w);
    for (int64_t e = 0; e < n && rc == HD_OK; e++) rc = hd_hepmc3_writer_add(w, events + e);
    if (rc) {
        hd_hepmc3_writer_abort(w);
        return rc;
    }
    return hd_hepmc3_writer_close(w);
}
