/* The HepMC3 reader's line parser (hepmc3.c) and the step that turns the
 * records of one event into an hd_event (hepmc3_event.c). */
#ifndef HD_HEPMC3_INTERNAL_H
#define HD_HEPMC3_INTERNAL_H

#include "hadron/data.h"

typedef struct {
    long line;
    int parent, pdg, status;
    double p[4], m; /* E, px, py, pz and the mass, in the file's units */
} hd_hepmc3_raw_particle;

typedef struct {
    long line;
    int id, has_pos;
    double pos[4];          /* in the file's units */
    int64_t first_in, n_in; /* its incoming particle ids in the parser's ins[] */
} hd_hepmc3_raw_vertex;

typedef struct {
    int number, has_pos, resolved;
    double pos[4];  /* mm */
    int first_in;   /* index of its lowest incoming particle, -1: none */
    long line;      /* its V line, or the first P line naming it */
} hd_hepmc3_slot;

typedef struct {
    const char *name; /* the file, for messages */
    long line;        /* lines read so far */
    /* the reader's: what one event may need (hd_input_cap of the file's
     * size; 0: no cap, as for a buffer, whose text bounds it) */
    uint64_t cap, file_bytes;
    int state;
    /* the event being read */
    long e_line;
    int n_vert_decl, n_part_decl, weights_seen;
    double event_pos[4], pscale, lscale;
    hd_hepmc3_raw_particle *parts;
    hd_hepmc3_raw_vertex *verts;
    int *ins;
    int64_t np, cap_parts, nv, cap_verts, nin, cap_ins;
    char *text; /* the line being parsed */
    size_t text_cap;
    /* scratch of hepmc3_event.c, per vertex slot and per particle */
    hd_hepmc3_slot *slots;
    int *end_slot, *prod_slot, *path;
    int64_t *order; /* explicit vertices sorted by id: id * 2^32 + index */
    int64_t cap_slots, cap_end, cap_prod, cap_order, cap_path;
} hd_hepmc3_parser;

/* What one particle, vertex and incoming id of an event cost the reader
 * (records, the scratch of hepmc3_event.c, the hd_event filled), for the cap. */
#define HD_HEPMC3_PARTICLE_BYTES \
    (sizeof(hd_hepmc3_raw_particle) + sizeof(hd_hepmc3_slot) + 3 * sizeof(int) + sizeof(hd_particle))
#define HD_HEPMC3_VERTEX_BYTES (sizeof(hd_hepmc3_raw_vertex) + sizeof(hd_hepmc3_slot) + sizeof(int64_t) + sizeof(int))

void hd_hepmc3_parser_init(hd_hepmc3_parser *ps, const char *name); /* name is borrowed */
void hd_hepmc3_parser_free(hd_hepmc3_parser *ps);
/* One line (without its newline): 0 go on, 1 an event is complete in out,
 * < 0 error.  hd_hepmc3_feed copies the line (at most HD_HEPMC3_MAX_LINE
 * bytes); hd_hepmc3_feed_in_place parses it where it is, and needs
 * line[len] writable. */
int hd_hepmc3_feed(hd_hepmc3_parser *ps, const char *line, size_t len, hd_event *out);
int hd_hepmc3_feed_in_place(hd_hepmc3_parser *ps, char *line, size_t len, hd_event *out);
/* The refusal of line number `line` for being longer than HD_HEPMC3_MAX_LINE. */
int hd_hepmc3_line_too_long(const hd_hepmc3_parser *ps, long line);
/* At the end of the input: 0 when the listing ended properly, else the error. */
int hd_hepmc3_feed_end(hd_hepmc3_parser *ps);
/* Resolves the records of the current event into out: 1, or < 0 on error. */
int hd_hepmc3_finish_event(hd_hepmc3_parser *ps, hd_event *out);
/* Room for element n of a growable array of `size`-byte items. */
int hd_hepmc3_reserve(void **a, int64_t *cap, int64_t n, size_t size);
#define HD_RESERVE(arr, cap, n) hd_hepmc3_reserve((void **)&(arr), &(cap), (n), sizeof *(arr))
/* HD_EFORMAT with "<file>:<line>: <message>". */
int hd_hepmc3_fail(const hd_hepmc3_parser *ps, long line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
