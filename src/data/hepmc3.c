/* Reader of HepMC3 "Asciiv3" text event files (docs/events.md), written
 * from the format as HepMC3's own writer produces it:
 *
 *   HepMC::Version 3.02.06
 *   HepMC::Asciiv3-START_EVENT_LISTING
 *   W/T/A ...                              run information (ignored)
 *   E <number> <vertices> <particles> [@ x y z t]
 *   U GEV|MEV MM|CM                        units (default GEV MM)
 *   W <weight> ...                         event weights (checked, ignored)
 *   A <id> <name> <value>                  attributes (ignored)
 *   V <id < 0> <status> [<in>,<in>,...] [@ x y z t]
 *   P <id> <parent> <pdg> <px> <py> <pz> <e> <m> <status>
 *   HepMC::Asciiv3-END_EVENT_LISTING
 *
 * A P line's parent is its production vertex (< 0), none (0), or a parent
 * particle (> 0), whose end vertex it comes out of, made implicitly when no
 * V line lists that particle.  Vertex ids run over -1..-<vertices>; the
 * implicit vertices take the ids the V lines leave free, in order of first
 * mention (as HepMC3 3.3 numbers them).  A vertex without "@" (or at
 * "@ 0 0 0 0", which HepMC3 takes for no position) sits where its first
 * (lowest) incoming particle was made, else at the event's position.
 * References are resolved when the event is complete, so they may point
 * forward.  A file is untrusted: every error names the file, the line and
 * the problem, and nothing is allocated from a declared count.  A line may
 * have at most HD_HEPMC3_MAX_LINE bytes; the reader parses it where it read
 * it, so a long line is never held twice.  What one event of a file needs
 * is held to the input cap of the file's size. */
#include "data/hepmc3_internal.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define START_LINE "HepMC::Asciiv3-START_EVENT_LISTING"
#define END_LINE "HepMC::Asciiv3-END_EVENT_LISTING"

enum { ST_HEADER, ST_RUN, ST_EVENT, ST_DONE };

/* ---- errors and growable arrays ------------------------------------------------------ */

int hd_hepmc3_fail(const hd_hepmc3_parser *ps, long line, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return hd_error(HD_EFORMAT, "%s:%ld: %s", ps->name, line, msg);
}

#define fail hd_hepmc3_fail

int hd_hepmc3_reserve(void **a, int64_t *cap, int64_t n, size_t size)
{
    if (n < *cap) return HD_OK;
    int64_t next = *cap ? 2 * *cap : 64;
    while (next <= n) next *= 2;
    if ((uint64_t)next > SIZE_MAX / size) return hd_error(HD_ENOMEM, "HepMC3 reader: event too large");
    void *p = realloc(*a, (size_t)next * size);
    if (!p) return hd_error(HD_ENOMEM, "HepMC3 reader: out of memory");
    *a = p;
    *cap = next;
    return HD_OK;
}

void hd_hepmc3_parser_init(hd_hepmc3_parser *ps, const char *name)
{
    memset(ps, 0, sizeof *ps);
    ps->name = name;
}

void hd_hepmc3_parser_free(hd_hepmc3_parser *ps)
{
    free(ps->parts);
    free(ps->verts);
    free(ps->ins);
    free(ps->text);
    free(ps->slots);
    free(ps->end_slot);
    free(ps->prod_slot);
    free(ps->order);
    free(ps->path);
    memset(ps, 0, sizeof *ps);
}

/* ---- tokens -------------------------------------------------------------------------- */

static int is_space(char c) { return c == ' ' || c == '\t'; }

static char *skip_space(char *s)
{
    while (is_space(*s)) s++;
    return s;
}

/* The next space-separated token (NUL-terminated in place), NULL at the end of the line. */
static char *token(char **s)
{
    char *t = skip_space(*s);
    if (!*t) return NULL;
    char *e = t;
    while (*e && !is_space(*e)) e++;
    *s = *e ? e + 1 : e;
    *e = '\0';
    return t;
}

/* A token of an optional sign and 1 to `max_digits` decimal digits, as
 * *neg and *mag; 0 for anything else (then strtod or an error decides).
 * The fast path of the integers and the many integral numbers of a file
 * ("0", "22"): strtoll and strtod cost several times more. */
static int plain_integer(const char *tok, int max_digits, int *neg, uint64_t *mag)
{
    const char *c = tok;
    *neg = *c == '-';
    if (*c == '-' || *c == '+') c++;
    uint64_t v = 0;
    int n = 0;
    for (; *c >= '0' && *c <= '9'; c++, n++) {
        if (n == max_digits) return 0;
        v = 10 * v + (uint64_t)(*c - '0');
    }
    *mag = v;
    return n > 0 && !*c;
}

static int parse_int(const hd_hepmc3_parser *ps, const char *tok, const char *what, int *out)
{
    if (!tok) return fail(ps, ps->line, "%s missing", what);
    int neg;
    uint64_t mag;
    long long v;
    if (plain_integer(tok, 18, &neg, &mag)) {
        v = neg ? -(long long)mag : (long long)mag;
    } else { /* leading zeros beyond 18 digits, or not an integer at all */
        char *end;
        errno = 0;
        v = strtoll(tok, &end, 10);
        if (end == tok || *end || errno == ERANGE) v = (long long)INT32_MAX + 1;
    }
    if (v < INT32_MIN || v > INT32_MAX) return fail(ps, ps->line, "%s '%.40s' is not an integer", what, tok);
    *out = (int)v;
    return HD_OK;
}

static int parse_double(const hd_hepmc3_parser *ps, const char *tok, const char *what, double *out)
{
    if (!tok) return fail(ps, ps->line, "%s missing", what);
    int neg;
    uint64_t mag;
    if (plain_integer(tok, 15, &neg, &mag)) { /* below 2^53: exact, as strtod gives it ("-0" too) */
        *out = neg ? -(double)mag : (double)mag;
        return HD_OK;
    }
    char *end;
    double v = strtod(tok, &end);
    if (end == tok || *end || !isfinite(v)) return fail(ps, ps->line, "%s '%.40s' is not a finite number", what, tok);
    *out = v;
    return HD_OK;
}

static int no_more(const hd_hepmc3_parser *ps, char *s, const char *record)
{
    char *t = token(&s);
    return t ? fail(ps, ps->line, "unexpected '%.40s' at the end of the %s line", t, record) : HD_OK;
}

/* An optional "@ x y z t" (or "@x y z t") ending the line. */
static int parse_position(const hd_hepmc3_parser *ps, char *s, const char *record, int *has, double *pos)
{
    s = skip_space(s);
    *has = 0;
    if (!*s) return HD_OK;
    if (*s != '@') return fail(ps, ps->line, "unexpected '%.40s' in the %s line (expected '@ x y z t')", s, record);
    static const char *const names[4] = {"position x", "position y", "position z", "position t"};
    s++;
    for (int k = 0; k < 4; k++) {
        int rc = parse_double(ps, token(&s), names[k], &pos[k]);
        if (rc) return rc;
    }
    *has = pos[0] != 0 || pos[1] != 0 || pos[2] != 0 || pos[3] != 0; /* HepMC3: a zero position is no position */
    return no_more(ps, s, record);
}

/* ---- records ------------------------------------------------------------------------- */

/* The event being read, with np particles, nv vertices and nin incoming
 * ids, within the cap. */
static int event_fits(const hd_hepmc3_parser *ps, int64_t np, int64_t nv, int64_t nin)
{
    uint64_t need = (uint64_t)np * HD_HEPMC3_PARTICLE_BYTES + (uint64_t)nv * HD_HEPMC3_VERTEX_BYTES +
                    (uint64_t)nin * sizeof(int);
    if (!ps->cap || need <= ps->cap) return HD_OK;
    return fail(ps, ps->line, "the event of line %ld (%lld particles, %lld vertices so far) needs %llu bytes, more "
                "than the %llu bytes one input file of %llu bytes may make hadron allocate (set HADRON_MAX_INPUT_MB "
                "to allow more; docs/files.md)", ps->e_line, (long long)np, (long long)nv, (unsigned long long)need,
                (unsigned long long)ps->cap, (unsigned long long)ps->file_bytes);
}

static int event_line(hd_hepmc3_parser *ps, char *s)
{
    int number, rc;
    if ((rc = parse_int(ps, token(&s), "event number", &number)) ||
        (rc = parse_int(ps, token(&s), "vertex count", &ps->n_vert_decl)) ||
        (rc = parse_int(ps, token(&s), "particle count", &ps->n_part_decl)))
        return rc;
    if (ps->n_vert_decl < 0 || ps->n_part_decl < 0)
        return fail(ps, ps->line, "negative count (%d vertices, %d particles)", ps->n_vert_decl, ps->n_part_decl);
    int has;
    memset(ps->event_pos, 0, sizeof ps->event_pos);
    if ((rc = parse_position(ps, s, "E", &has, ps->event_pos))) return rc;
    ps->e_line = ps->line;
    ps->state = ST_EVENT;
    ps->np = ps->nv = ps->nin = 0;
    ps->pscale = ps->lscale = 1;
    ps->weights_seen = 0;
    return HD_OK;
}

static int units_line(hd_hepmc3_parser *ps, char *s)
{
    char *m = token(&s), *l = token(&s);
    if (!m || !l) return fail(ps, ps->line, "the U line needs a momentum and a length unit (e.g. 'U GEV MM')");
    if (strcmp(m, "GEV") && strcmp(m, "MEV"))
        return fail(ps, ps->line, "unknown momentum unit '%.40s' (GEV or MEV)", m);
    if (strcmp(l, "MM") && strcmp(l, "CM")) return fail(ps, ps->line, "unknown length unit '%.40s' (MM or CM)", l);
    ps->pscale = strcmp(m, "MEV") ? 1 : 1e-3;
    ps->lscale = strcmp(l, "CM") ? 1 : 10;
    return no_more(ps, s, "U");
}

/* The first W line of an event holds its weights; later ones (and those before any event) name them. */
static int weights_line(hd_hepmc3_parser *ps, char *s)
{
    if (ps->state != ST_EVENT || ps->weights_seen++) return HD_OK;
    double w;
    for (char *t; (t = token(&s));) {
        int rc = parse_double(ps, t, "weight", &w);
        if (rc) return rc;
    }
    return HD_OK;
}

static int particle_line(hd_hepmc3_parser *ps, char *s)
{
    int id, rc;
    if ((rc = parse_int(ps, token(&s), "particle id", &id))) return rc;
    if ((int64_t)id != ps->np + 1)
        return fail(ps, ps->line, "particle id %d out of order: the P lines of an event count 1, 2, ... (expected %lld)",
                    id, (long long)(ps->np + 1));
    if ((rc = event_fits(ps, ps->np + 1, ps->nv, ps->nin)) || (rc = HD_RESERVE(ps->parts, ps->cap_parts, ps->np)))
        return rc;
    hd_hepmc3_raw_particle *p = ps->parts + ps->np;
    static const char *const names[5] = {"px", "py", "pz", "energy", "mass"};
    double v[5];
    if ((rc = parse_int(ps, token(&s), "parent", &p->parent)) || (rc = parse_int(ps, token(&s), "PDG id", &p->pdg)))
        return rc;
    for (int k = 0; k < 5; k++)
        if ((rc = parse_double(ps, token(&s), names[k], &v[k]))) return rc;
    if ((rc = parse_int(ps, token(&s), "status", &p->status)) || (rc = no_more(ps, s, "P"))) return rc;
    p->p[0] = v[3];
    p->p[1] = v[0];
    p->p[2] = v[1];
    p->p[3] = v[2];
    p->m = v[4];
    p->line = ps->line;
    ps->np++;
    return HD_OK;
}

/* "[a,b,...]": incoming particle ids into ps->ins. */
static int incoming_list(hd_hepmc3_parser *ps, char **s, hd_hepmc3_raw_vertex *v)
{
    char *c = skip_space(*s);
    if (*c != '[') return fail(ps, ps->line, "the V line needs its incoming particles as [id,id,...]");
    char *close = strchr(c, ']');
    if (!close) return fail(ps, ps->line, "the list of incoming particles has no closing ']'");
    *close = '\0';
    v->first_in = ps->nin;
    c = skip_space(c + 1);
    while (*c) {
        char *end;
        errno = 0;
        long long k = strtoll(c, &end, 10);
        if (end == c || errno == ERANGE || k < INT32_MIN || k > INT32_MAX)
            return fail(ps, ps->line, "incoming particle '%.40s' is not an integer", c);
        int rc = event_fits(ps, ps->np, ps->nv + 1, ps->nin + 1);
        if (rc == HD_OK) rc = HD_RESERVE(ps->ins, ps->cap_ins, ps->nin);
        if (rc) return rc;
        ps->ins[ps->nin++] = (int)k;
        c = skip_space(end);
        if (*c == ',') c = skip_space(c + 1);
        else if (*c) return fail(ps, ps->line, "unexpected '%.40s' in the list of incoming particles", c);
    }
    v->n_in = ps->nin - v->first_in;
    *s = close + 1;
    return HD_OK;
}

static int vertex_line(hd_hepmc3_parser *ps, char *s)
{
    int rc = event_fits(ps, ps->np, ps->nv + 1, ps->nin);
    if (rc == HD_OK) rc = HD_RESERVE(ps->verts, ps->cap_verts, ps->nv);
    if (rc) return rc;
    hd_hepmc3_raw_vertex *v = ps->verts + ps->nv;
    int status;
    if ((rc = parse_int(ps, token(&s), "vertex id", &v->id)) || (rc = parse_int(ps, token(&s), "vertex status", &status)))
        return rc;
    if (v->id >= 0) return fail(ps, ps->line, "vertex id %d must be negative", v->id);
    if ((rc = incoming_list(ps, &s, v)) || (rc = parse_position(ps, s, "V", &v->has_pos, v->pos))) return rc;
    v->line = ps->line;
    ps->nv++;
    return HD_OK;
}

/* Records inside an event, or of the run before the first one. */
static int record(hd_hepmc3_parser *ps, char *s)
{
    char kind = s[0];
    if (s[1] && !is_space(s[1])) return fail(ps, ps->line, "unknown record '%.20s'", s);
    s++;
    if (kind == 'W') return weights_line(ps, s);
    if (kind == 'A' || kind == 'T' || kind == 'N') return HD_OK; /* attributes, tools, weight names */
    if (kind != 'U' && kind != 'P' && kind != 'V')
        return fail(ps, ps->line, "unknown record '%c' (a HepMC3 file has E, U, W, A, T, V and P lines)", kind);
    if (ps->state != ST_EVENT) return fail(ps, ps->line, "'%c' line before the first event (E line)", kind);
    return kind == 'U' ? units_line(ps, s) : kind == 'P' ? particle_line(ps, s) : vertex_line(ps, s);
}

/* ---- the header and the line dispatcher --------------------------------------------- */

static int header_line(hd_hepmc3_parser *ps, const char *s, hd_event *out)
{
    if (!strncmp(s, "HepMC::Version", 14)) return 0;
    if (!strcmp(s, START_LINE)) {
        if (ps->state != ST_HEADER)
            return fail(ps, ps->line, "a second %s (files joined without the end line?)", START_LINE);
        ps->state = ST_RUN;
        return 0;
    }
    if (!strcmp(s, END_LINE)) {
        if (ps->state == ST_HEADER) return fail(ps, ps->line, "%s before %s", END_LINE, START_LINE);
        int was_event = ps->state == ST_EVENT;
        ps->state = ST_DONE;
        return was_event ? hd_hepmc3_finish_event(ps, out) : 0;
    }
    if (!strcmp(s, "HepMC::IO_GenEvent-START_EVENT_LISTING"))
        return fail(ps, ps->line, "a HepMC2 (IO_GenEvent) file: only the HepMC3 Asciiv3 format is read");
    return fail(ps, ps->line, "unknown header line '%.60s'", s);
}

int hd_hepmc3_line_too_long(const hd_hepmc3_parser *ps, long line)
{
    return fail(ps, line, "a line longer than the %d bytes a HepMC3 line may have (HD_HEPMC3_MAX_LINE): not a "
                "HepMC3 event file?", HD_HEPMC3_MAX_LINE);
}

/* Longer than the cap, which does not count a "\r" before the "\n". */
static int too_long(const char *line, size_t len)
{
    return len > (size_t)HD_HEPMC3_MAX_LINE && (len > (size_t)HD_HEPMC3_MAX_LINE + 1 || line[len - 1] != '\r');
}

/* The line (len bytes, line[len] writable) checked, its end trimmed and
 * NUL-terminated in place; 1 when blank. */
static int prepare_line(hd_hepmc3_parser *ps, char *line, size_t len)
{
    if (too_long(line, len)) return hd_hepmc3_line_too_long(ps, ps->line);
    if (memchr(line, '\0', len)) return fail(ps, ps->line, "a NUL byte: not a text file");
    while (len && (line[len - 1] == '\r' || is_space(line[len - 1]))) len--;
    line[len] = '\0';
    return *skip_space(line) == '\0';
}

int hd_hepmc3_feed(hd_hepmc3_parser *ps, const char *line, size_t len, hd_event *out)
{
    if (too_long(line, len)) { /* before the copy */
        ps->line++;
        return hd_hepmc3_line_too_long(ps, ps->line);
    }
    if (len + 1 > ps->text_cap) {
        char *t = realloc(ps->text, len + 1);
        if (!t) return hd_error(HD_ENOMEM, "%s:%ld: out of memory for a line of %zu bytes", ps->name, ps->line + 1, len);
        ps->text = t;
        ps->text_cap = len + 1;
    }
    memcpy(ps->text, line, len);
    return hd_hepmc3_feed_in_place(ps, ps->text, len, out);
}

int hd_hepmc3_feed_in_place(hd_hepmc3_parser *ps, char *s, size_t len, hd_event *out)
{
    ps->line++;
    int rc = prepare_line(ps, s, len);
    if (rc) return rc < 0 ? rc : 0;
    if (ps->state == ST_DONE) return 0; /* HepMC3 stops at the end line too */
    if (s[0] == 'H' && !strncmp(s, "HepMC::", 7)) return header_line(ps, s, out);
    if (ps->state == ST_HEADER)
        return fail(ps, ps->line, "expected %s before the events: not a HepMC3 ASCII file?", START_LINE);
    if (s[0] != 'E' || (s[1] && !is_space(s[1]))) return record(ps, s);
    int done = ps->state == ST_EVENT ? hd_hepmc3_finish_event(ps, out) : 0; /* the E line ends the one before */
    if (done < 0) return done;
    rc = event_line(ps, s + 1);
    return rc ? rc : done;
}

int hd_hepmc3_feed_end(hd_hepmc3_parser *ps)
{
    if (ps->state == ST_DONE) return 0;
    if (ps->state == ST_HEADER)
        return hd_error(HD_EFORMAT, "%s: no %s line: not a HepMC3 ASCII file", ps->name, START_LINE);
    return hd_error(HD_EFORMAT, "%s:%ld: the file ends without %s: cut short?", ps->name, ps->line, END_LINE);
}

/* ---- the reader ------------------------------------------------------------------------ */

/* buf holds cap bytes of the file and one more, where the last line read
 * is NUL-terminated when it has no newline: lines are parsed in place. */
struct hd_hepmc3_reader {
    gzFile f;
    char *path, *buf;
    size_t cap, beg, end;
    int eof, failed;
    hd_hepmc3_parser ps;
};

void hd_hepmc3_close(hd_hepmc3_reader *r)
{
    if (!r) return;
    if (r->f) gzclose(r->f);
    hd_hepmc3_parser_free(&r->ps);
    free(r->buf);
    free(r->path);
    free(r);
}

int hd_hepmc3_open(const char *path, hd_hepmc3_reader **out)
{
    if (!path || !out) return hd_error(HD_EINVAL, "hd_hepmc3_open: NULL %s", path ? "out" : "path");
    *out = NULL;
    hd_hepmc3_reader *r = calloc(1, sizeof *r);
    if (!r) return hd_error(HD_ENOMEM, "hd_hepmc3_open: out of memory");
    r->path = strdup(path);
    r->cap = 1 << 16;
    r->buf = malloc(r->cap + 1);
    if (!r->path || !r->buf) {
        hd_hepmc3_close(r);
        return hd_error(HD_ENOMEM, "hd_hepmc3_open: out of memory");
    }
    errno = 0;
    r->f = gzopen(path, "rb"); /* plain text or gzip */
    if (!r->f) {
        int e = errno;
        hd_hepmc3_close(r);
        return hd_error(HD_EIO, "cannot open %s: %s", path, e ? strerror(e) : "out of memory");
    }
    hd_hepmc3_parser_init(&r->ps, r->path);
    struct stat sb; /* the cap of one event: a pipe counts as 0 bytes */
    if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0) r->ps.file_bytes = (uint64_t)sb.st_size;
    r->ps.cap = hd_input_cap(r->ps.file_bytes);
    *out = r;
    return HD_OK;
}

/* The most the buffer holds: the longest line and its "\r\n"; a line that
 * fills it without a newline is too long. */
#define READER_MAX_CAP ((size_t)HD_HEPMC3_MAX_LINE + 2)

/* Reads more of the file after the unread part of the buffer (growing it
 * for long lines, up to the line cap). */
static int refill(hd_hepmc3_reader *r)
{
    if (r->beg > 0) {
        memmove(r->buf, r->buf + r->beg, r->end - r->beg);
        r->end -= r->beg;
        r->beg = 0;
    }
    if (r->end == r->cap) {
        if (r->cap >= READER_MAX_CAP) return hd_hepmc3_line_too_long(&r->ps, r->ps.line + 1);
        size_t next = 2 * r->cap < READER_MAX_CAP ? 2 * r->cap : READER_MAX_CAP;
        char *b = realloc(r->buf, next + 1);
        if (!b) return hd_error(HD_ENOMEM, "%s:%ld: out of memory for a long line", r->path, r->ps.line + 1);
        r->buf = b;
        r->cap = next;
    }
    int n = gzread(r->f, r->buf + r->end, (unsigned)(r->cap - r->end));
    if (n < 0) {
        int code;
        const char *msg = gzerror(r->f, &code);
        return hd_error(HD_EIO, "%s: read failed: %s", r->path, code == Z_ERRNO ? strerror(errno) : msg);
    }
    if (n == 0) r->eof = 1;
    r->end += (size_t)n;
    return HD_OK;
}

/* The next line (without its newline, in the buffer, which has room for
 * its NUL): 1, or 0 at the end of the file. */
static int next_line(hd_hepmc3_reader *r, char **line, size_t *len)
{
    for (;;) {
        char *nl = memchr(r->buf + r->beg, '\n', r->end - r->beg);
        if (nl || (r->eof && r->end > r->beg)) {
            size_t n = nl ? (size_t)(nl - (r->buf + r->beg)) : r->end - r->beg;
            *line = r->buf + r->beg;
            *len = n;
            r->beg += nl ? n + 1 : n;
            return 1;
        }
        if (r->eof) return 0;
        int rc = refill(r);
        if (rc) return rc;
    }
}

int hd_hepmc3_next(hd_hepmc3_reader *r, hd_event *ev)
{
    if (!r || !ev) return hd_error(HD_EINVAL, "hd_hepmc3_next: NULL %s", r ? "event" : "reader");
    if (r->failed) return hd_error(HD_ESTATE, "hd_hepmc3_next: %s: the reader stopped at an earlier error", r->path);
    int rc;
    char *line = NULL;
    size_t len = 0;
    while ((rc = next_line(r, &line, &len)) == 1)
        if ((rc = hd_hepmc3_feed_in_place(&r->ps, line, len, ev)) != 0) break;
    if (rc == 0) rc = hd_hepmc3_feed_end(&r->ps);
    if (rc < 0) r->failed = 1;
    return rc;
}

int hd_hepmc3_parse_buffer(const char *name, const char *text, size_t len,
                           int (*on_event)(void *user, const hd_event *ev), void *user)
{
    if (!text && len) return hd_error(HD_EINVAL, "hd_hepmc3_parse_buffer: NULL text");
    hd_hepmc3_parser ps;
    hd_hepmc3_parser_init(&ps, name ? name : "(buffer)");
    hd_event ev = {0};
    int rc = HD_OK;
    size_t at = 0;
    while (rc == HD_OK && at < len) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t n = nl ? (size_t)(nl - (text + at)) : len - at;
        rc = hd_hepmc3_feed(&ps, text + at, n, &ev);
        at += nl ? n + 1 : n;
        if (rc == 1) rc = on_event ? on_event(user, &ev) : HD_OK;
    }
    if (rc == HD_OK) rc = hd_hepmc3_feed_end(&ps);
    hd_event_free(&ev);
    hd_hepmc3_parser_free(&ps);
    return rc;
}
