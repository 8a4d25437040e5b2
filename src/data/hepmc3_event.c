/* The records of one HepMC3 event turned into an hd_event: references
 * checked and resolved, implicit vertices made and numbered, counts
 * checked against the E line, positions inherited, units converted
 * (hepmc3.c describes the format). */
#include "data/hepmc3_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define fail hd_hepmc3_fail

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int reserve_scratch(hd_hepmc3_parser *ps)
{
    int64_t n_slots = ps->nv + ps->np;
    int rc;
    if ((rc = HD_RESERVE(ps->slots, ps->cap_slots, n_slots)) || (rc = HD_RESERVE(ps->path, ps->cap_path, n_slots)) ||
        (rc = HD_RESERVE(ps->end_slot, ps->cap_end, ps->np)) || (rc = HD_RESERVE(ps->prod_slot, ps->cap_prod, ps->np)) ||
        (rc = HD_RESERVE(ps->order, ps->cap_order, ps->nv)))
        return rc;
    return HD_OK;
}

/* Explicit vertices sorted by id, each id once. */
static int sort_vertices(hd_hepmc3_parser *ps)
{
    for (int64_t v = 0; v < ps->nv; v++) ps->order[v] = (int64_t)ps->verts[v].id * ((int64_t)1 << 32) + v;
    if (ps->nv > 1) qsort(ps->order, (size_t)ps->nv, sizeof *ps->order, cmp_i64);
    for (int64_t k = 1; k < ps->nv; k++) {
        const hd_hepmc3_raw_vertex *a = ps->verts + (ps->order[k - 1] & 0xffffffff), *b = ps->verts + (ps->order[k] & 0xffffffff);
        if (a->id == b->id) return fail(ps, b->line, "vertex %d is defined twice (first at line %ld)", b->id, a->line);
    }
    return HD_OK;
}

/* Slot of the explicit vertex `id`, -1 when no V line defines it. */
static int find_vertex(const hd_hepmc3_parser *ps, int id)
{
    int64_t lo = 0, hi = ps->nv - 1;
    while (lo <= hi) {
        int64_t mid = (lo + hi) / 2, vid = ps->order[mid] >> 32;
        if (vid == id) return (int)(ps->order[mid] & 0xffffffff);
        if (vid < id) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

static int finite_point(const double *x) { return isfinite(x[0]) && isfinite(x[1]) && isfinite(x[2]) && isfinite(x[3]); }

/* Slots 0..nv-1: the V lines, with their incoming particles' end vertex. */
static int explicit_slots(hd_hepmc3_parser *ps)
{
    for (int64_t i = 0; i < ps->np; i++) ps->end_slot[i] = -1;
    for (int64_t v = 0; v < ps->nv; v++) {
        const hd_hepmc3_raw_vertex *rv = ps->verts + v;
        hd_hepmc3_slot *s = ps->slots + v;
        *s = (hd_hepmc3_slot){.has_pos = rv->has_pos, .resolved = rv->has_pos, .first_in = -1, .line = rv->line};
        for (int c = 0; c < 4; c++) s->pos[c] = rv->pos[c] * ps->lscale;
        if (!finite_point(s->pos)) return fail(ps, rv->line, "the position overflows in mm");
        for (int64_t j = 0; j < rv->n_in; j++) {
            int k = ps->ins[rv->first_in + j];
            if (k < 1 || k > ps->np)
                return fail(ps, rv->line, "vertex %d lists particle %d as incoming, but the event has particles 1..%lld",
                            rv->id, k, (long long)ps->np);
            if (ps->end_slot[k - 1] >= 0)
                return fail(ps, rv->line, "particle %d goes into two vertices (%d and %d)", k,
                            ps->verts[ps->end_slot[k - 1]].id, rv->id);
            ps->end_slot[k - 1] = (int)v;
            if (s->first_in < 0 || k - 1 < s->first_in) s->first_in = k - 1;
        }
    }
    return HD_OK;
}

/* Every particle's production vertex; a parent particle without a V line gets an implicit one. */
static int production_slots(hd_hepmc3_parser *ps, int64_t *n_slots)
{
    *n_slots = ps->nv;
    for (int64_t i = 0; i < ps->np; i++) {
        const hd_hepmc3_raw_particle *p = ps->parts + i;
        int id = (int)(i + 1), s = -1;
        if (p->parent > 0) {
            if (p->parent > ps->np || p->parent == id)
                return fail(ps, p->line, "particle %d names particle %d as its parent, %s", id, p->parent,
                            p->parent == id ? "itself" : "which is not in the event");
            s = ps->end_slot[p->parent - 1];
            if (s < 0) {
                s = (int)(*n_slots)++;
                ps->slots[s] = (hd_hepmc3_slot){.first_in = p->parent - 1, .line = p->line};
                ps->end_slot[p->parent - 1] = s;
            }
        } else if (p->parent < 0) {
            s = find_vertex(ps, p->parent);
            if (s < 0)
                return fail(ps, p->line, "particle %d comes from vertex %d, which no V line of the event defines", id,
                            p->parent);
        }
        ps->prod_slot[i] = s;
    }
    return HD_OK;
}

/* Numbers: a V line's is minus its id; implicit vertices take the free ones in order. */
static int number_slots(hd_hepmc3_parser *ps, int64_t n_slots)
{
    int *used = ps->path; /* scratch: 1 + n_slots flags */
    memset(used, 0, (size_t)(n_slots + 1) * sizeof *used);
    for (int64_t v = 0; v < ps->nv; v++) {
        int64_t number = -(int64_t)ps->verts[v].id;
        if (number > n_slots)
            return fail(ps, ps->verts[v].line, "vertex id %d is outside -1..-%lld, the E line's vertex count",
                        ps->verts[v].id, (long long)n_slots);
        ps->slots[v].number = (int)number;
        used[number] = 1;
    }
    int next = 1;
    for (int64_t s = ps->nv; s < n_slots; s++) {
        while (used[next]) next++;
        ps->slots[s].number = next++;
    }
    return HD_OK;
}

/* Where a vertex without "@" sits: where its first incoming particle was
 * made, recursively; else (no incoming particle, or a cycle) the event's position. */
static const double *slot_position(hd_hepmc3_parser *ps, int s, int64_t n_slots, const double *event_pos)
{
    int64_t depth = 0;
    int cur = s;
    while (cur >= 0 && !ps->slots[cur].resolved && depth < n_slots) {
        ps->path[depth++] = cur;
        int k = ps->slots[cur].first_in;
        cur = k >= 0 ? ps->prod_slot[k] : -1;
    }
    const double *pos = cur >= 0 && ps->slots[cur].resolved ? ps->slots[cur].pos : event_pos;
    for (int64_t d = 0; d < depth; d++) {
        hd_hepmc3_slot *t = ps->slots + ps->path[d];
        memcpy(t->pos, pos, sizeof t->pos);
        t->resolved = 1;
    }
    return ps->slots[s].pos;
}

static int fill_event(hd_hepmc3_parser *ps, int64_t n_slots, hd_event *out)
{
    double event_pos[4];
    for (int c = 0; c < 4; c++) event_pos[c] = ps->event_pos[c] * ps->lscale;
    if (!finite_point(event_pos)) return fail(ps, ps->e_line, "the event's position overflows in mm");
    for (int64_t s = 0; s < n_slots; s++) slot_position(ps, (int)s, n_slots, event_pos);
    hd_event_clear(out);
    for (int64_t i = 0; i < ps->np; i++) {
        const hd_hepmc3_raw_particle *r = ps->parts + i;
        hd_particle *p = hd_event_push(out);
        if (!p) return HD_ENOMEM;
        p->pdg = r->pdg;
        p->status = r->status;
        for (int mu = 0; mu < 4; mu++) p->p[mu] = r->p[mu] * ps->pscale;
        p->mass = r->m * ps->pscale;
        int from = ps->prod_slot[i], into = ps->end_slot[i];
        memcpy(p->prod, from >= 0 ? ps->slots[from].pos : event_pos, sizeof p->prod);
        p->prod_vertex = from >= 0 ? ps->slots[from].number : 0;
        if (into >= 0) {
            memcpy(p->end, ps->slots[into].pos, sizeof p->end);
            p->end_vertex = ps->slots[into].number;
            p->has_end = 1;
        }
    }
    return HD_OK;
}

int hd_hepmc3_finish_event(hd_hepmc3_parser *ps, hd_event *out)
{
    if (ps->np != ps->n_part_decl)
        return fail(ps, ps->e_line, "the E line declares %d particles, the event has %lld", ps->n_part_decl,
                    (long long)ps->np);
    int64_t n_slots;
    int rc;
    if ((rc = reserve_scratch(ps)) || (rc = sort_vertices(ps)) || (rc = explicit_slots(ps)) ||
        (rc = production_slots(ps, &n_slots)))
        return rc;
    if (n_slots != ps->n_vert_decl)
        return fail(ps, ps->e_line, "the E line declares %d vertices, the event has %lld (%lld V lines, %lld implied by "
                    "parent particles)", ps->n_vert_decl, (long long)n_slots, (long long)ps->nv,
                    (long long)(n_slots - ps->nv));
    if ((rc = number_slots(ps, n_slots)) || (rc = fill_event(ps, n_slots, out))) return rc;
    return 1;
}
