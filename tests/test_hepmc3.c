/* The HepMC3 ASCII reader and writer: a hand-written file in the real
 * layout (units, weights, attributes, run information, both parent forms,
 * implicit vertices, inherited positions), broken files with the line of
 * the error, round trips of generated events (plain and gzip), the writer's
 * checks, the line cap (in memory, plain and gzip files) and the event
 * pool's cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "hadron/hadron.h"
#include "test_util.h"

#define FIX HD_FIXTURES "/hepmc3/"

static char *tmpdir; /* test_tmpdir() */

static int setup(void **state)
{
    (void)state;
    return (tmpdir = test_tmpdir("hepmc3")) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return test_tmpdir_free(tmpdir);
}

static void tmp_path(char *buf, size_t n, const char *name) { snprintf(buf, n, "%s/%s", tmpdir, name); }

/* All events of a file, into evs[] (up to max); returns how many, or the error. */
static int read_all(const char *path, hd_event *evs, int max)
{
    hd_hepmc3_reader *r;
    int rc = hd_hepmc3_open(path, &r);
    if (rc) return rc;
    int n = 0;
    hd_event scratch = {0};
    while ((rc = hd_hepmc3_next(r, n < max ? evs + n : &scratch)) == 1) n++;
    hd_event_free(&scratch);
    hd_hepmc3_close(r);
    return rc < 0 ? rc : n;
}

static void assert_point(const double *x, double a, double b, double c, double d)
{
    double want[4] = {a, b, c, d};
    for (int k = 0; k < 4; k++)
        if (fabs(x[k] - want[k]) > 1e-12) fail_msg("point (%g, %g, %g, %g), expected (%g, %g, %g, %g)", x[0], x[1], x[2], x[3], a, b, c, d);
}

static void assert_vertices(const hd_particle *p, int prod, int end)
{
    if (p->prod_vertex != prod || p->end_vertex != end || p->has_end != (end != 0))
        fail_msg("pdg %d: vertices %d -> %d (has_end %d), expected %d -> %d", p->pdg, p->prod_vertex, p->end_vertex,
                 p->has_end, prod, end);
}

/* ---- the hand-written file ---------------------------------------------------------------- */

static void test_reads_hand_written_file(void **state)
{
    (void)state;
    hd_event evs[2] = {{0}};
    int n = read_all(FIX "valid.hepmc3", evs, 2);
    if (n != 2) fail_msg("read %d events: %s", n, hd_last_error());
    /* event 7: GEV MM; V -1 and V -3 explicit, the parents 3 and 4 imply vertices -2 and -4 */
    const hd_event *a = evs;
    assert_int_equal(a->n, 8);
    static const int pdg[8] = {11, -11, 23, 13, 310, 211, -211, 22}, status[8] = {4, 4, 22, 1, 2, 1, 1, 1};
    static const int from[8] = {0, 0, 1, 2, 2, 3, 3, 4}, into[8] = {1, 1, 2, 4, 3, 0, 0, 0};
    for (int i = 0; i < 8; i++) {
        assert_int_equal(a->p[i].pdg, pdg[i]);
        assert_int_equal(a->p[i].status, status[i]);
        assert_vertices(a->p + i, from[i], into[i]);
    }
    assert_true(a->p[3].p[0] == 37.4 && a->p[3].p[1] == 10 && a->p[3].p[2] == 20 && a->p[3].p[3] == 30);
    assert_true(a->p[3].mass == 0.1057);
    assert_point(a->p[4].prod, 0, 0, 0, 0);
    assert_point(a->p[4].end, -1, -2, -3, 4);
    assert_point(a->p[5].prod, -1, -2, -3, 4);
    assert_point(a->p[7].prod, 0, 0, 0, 0); /* an implicit vertex where its parent started */
    /* event 8: MEV CM, a displaced event position */
    const hd_event *b = evs + 1;
    assert_int_equal(b->n, 4);
    assert_vertices(b->p, 0, 1);
    assert_vertices(b->p + 1, 1, 2);
    assert_vertices(b->p + 2, 2, 0);
    assert_point(b->p[0].prod, 1, 2, 3, 0); /* no parent: the event's position, cm -> mm */
    assert_point(b->p[0].end, 1, 2, 3, 0);  /* "V -1" without "@": where its incoming particle started */
    assert_point(b->p[1].end, 15, 25, 35, 2);
    assert_point(b->p[3].prod, 15, 25, 35, 2);
    assert_true(fabs(b->p[2].p[0] - 1.0) < 1e-15 && fabs(b->p[2].p[1] - 0.08) < 1e-15);
    assert_true(fabs(b->p[1].mass - 1.115683) < 1e-15); /* MeV -> GeV */
    hd_event_free(evs);
    hd_event_free(evs + 1);
}

/* ---- broken files: the error names the file and the line ---------------------------------- */

static void expect_broken(const char *name, int events_before, const char *where, const char *what)
{
    char path[512];
    snprintf(path, sizeof path, FIX "%s", name);
    hd_hepmc3_reader *r;
    assert_int_equal(hd_hepmc3_open(path, &r), HD_OK);
    hd_event ev = {0};
    int rc, n = 0;
    while ((rc = hd_hepmc3_next(r, &ev)) == 1) n++;
    assert_int_equal(n, events_before);
    assert_error(rc, HD_EFORMAT, where, what);
    assert_error(hd_hepmc3_next(r, &ev), HD_ESTATE, "earlier error", NULL); /* it stays stopped */
    hd_event_free(&ev);
    hd_hepmc3_close(r);
}

static void test_broken_files_name_the_line(void **state)
{
    (void)state;
    expect_broken("bad_number.hepmc3", 0, "bad_number.hepmc3:6:", "pz '-4x5.6' is not a finite number");
    expect_broken("missing_field.hepmc3", 0, "missing_field.hepmc3:8:", "status missing");
    expect_broken("unknown_record.hepmc3", 0, "unknown_record.hepmc3:7:", "unknown record 'Q'");
    expect_broken("missing_vertex.hepmc3", 0, "missing_vertex.hepmc3:8:", "vertex -4, which no V line");
    expect_broken("missing_parent.hepmc3", 0, "missing_parent.hepmc3:9:", "names particle 9 as its parent");
    expect_broken("vertex_missing_parent.hepmc3", 0, "vertex_missing_parent.hepmc3:7:", "lists particle 7 as incoming");
    expect_broken("count_mismatch.hepmc3", 1, "count_mismatch.hepmc3:9:", "declares 4 particles, the event has 3");
}

/* Text in memory, through hd_hepmc3_parse_buffer; returns the parse's result and counts events. */
static int events_seen;
static hd_event last;

static int keep(void *user, const hd_event *ev)
{
    (void)user;
    events_seen++;
    hd_event_clear(&last);
    for (int64_t i = 0; i < ev->n; i++) *hd_event_push(&last) = ev->p[i];
    return 0;
}

static int parse(const char *text)
{
    events_seen = 0;
    return hd_hepmc3_parse_buffer("mem", text, strlen(text), keep, NULL);
}

#define HEAD "HepMC::Version 3.02.06\nHepMC::Asciiv3-START_EVENT_LISTING\n"
#define TAIL "HepMC::Asciiv3-END_EVENT_LISTING\n"
#define BEAMS "P 1 0 11 0 0 1 1 0 4\nP 2 0 -11 0 0 -1 1 0 4\n"

static void test_broken_text(void **state)
{
    (void)state;
    static const struct {
        const char *text, *where, *what;
    } cases[] = {
        {"E 0 0 0\n" TAIL, "mem:1:", "expected HepMC::Asciiv3-START_EVENT_LISTING"},
        {"HepMC::Version 2.06.09\nHepMC::IO_GenEvent-START_EVENT_LISTING\n", "mem:2:", "HepMC2"},
        {HEAD "E 0 0 0\n", "mem:3:", "without HepMC::Asciiv3-END_EVENT_LISTING"},
        {"", "mem", "not a HepMC3 ASCII file"},
        {HEAD "P 1 0 11 0 0 1 1 0 4\n" TAIL, "mem:3:", "before the first event"},
        {HEAD "E x 0 0\n" TAIL, "mem:3:", "event number 'x'"},
        {HEAD "E 0 0\n" TAIL, "mem:3:", "particle count missing"},
        {HEAD "E 0 -1 0\n" TAIL, "mem:3:", "negative count"},
        {HEAD "E 0 0 0 @ 1 2 3\n" TAIL, "mem:3:", "position t missing"},
        {HEAD "E 0 0 0 # 1 2 3 4\n" TAIL, "mem:3:", "expected '@ x y z t'"},
        {HEAD "E 0 0 2\nU GEV MM\n" BEAMS "P 3 0 22 0 0 1 1 0 1\n" TAIL, "mem:3:", "declares 2 particles, the event has 3"},
        {HEAD "E 0 0 1\nP 2 0 22 0 0 1 1 0 1\n" TAIL, "mem:4:", "particle id 2 out of order"},
        {HEAD "E 0 0 1\nP 1 0 22 0 0 1 1 0 1 7\n" TAIL, "mem:4:", "unexpected '7'"},
        {HEAD "E 0 0 1\nP 1 0 22 0 0 nan 1 0 1\n" TAIL, "mem:4:", "pz 'nan'"},
        {HEAD "E 0 0 1\nP 1 0 2.5 0 0 1 1 0 1\n" TAIL, "mem:4:", "PDG id '2.5'"},
        {HEAD "E 0 0 1\nP 1 1 22 0 0 1 1 0 1\n" TAIL, "mem:4:", "itself"},
        {HEAD "E 0 0 0\nU GEV M\n" TAIL, "mem:4:", "unknown length unit 'M'"},
        {HEAD "E 0 0 0\nU KEV MM\n" TAIL, "mem:4:", "unknown momentum unit 'KEV'"},
        {HEAD "E 0 0 0\nU GEV\n" TAIL, "mem:4:", "momentum and a length unit"},
        {HEAD "E 0 0 0\nW 1.0 x\n" TAIL, "mem:4:", "weight 'x'"},
        {HEAD "E 0 1 2\n" BEAMS "V 1 0 [1,2]\n" TAIL, "mem:6:", "must be negative"},
        {HEAD "E 0 1 2\n" BEAMS "V -1 0 1,2\n" TAIL, "mem:6:", "[id,id,...]"},
        {HEAD "E 0 1 2\n" BEAMS "V -1 0 [1,2\n" TAIL, "mem:6:", "no closing ']'"},
        {HEAD "E 0 1 2\n" BEAMS "V -1 0 [1;2]\n" TAIL, "mem:6:", "unexpected ';2'"},
        {HEAD "E 0 1 2\n" BEAMS "V -1 0 [1,2] @ 1 2 3 4 5\n" TAIL, "mem:6:", "unexpected '5'"},
        {HEAD "E 0 2 2\n" BEAMS "V -1 0 [1]\nV -1 0 [2]\n" TAIL, "mem:7:", "vertex -1 is defined twice (first at line 6)"},
        {HEAD "E 0 2 2\n" BEAMS "V -1 0 [1]\nV -2 0 [1]\n" TAIL, "mem:7:", "particle 1 goes into two vertices"},
        {HEAD "E 0 1 2\n" BEAMS "V -3 0 [1,2]\n" TAIL, "mem:6:", "vertex id -3 is outside -1..-1"},
        {HEAD "E 0 3 2\n" BEAMS "V -1 0 [1,2]\n" TAIL, "mem:3:", "declares 3 vertices, the event has 1"},
        {HEAD "E 0 0 0\nX\n" TAIL, "mem:4:", "unknown record 'X'"},
        {HEAD "E 0 0 0\nPP 1\n" TAIL, "mem:4:", "unknown record 'PP"},
        {HEAD "HepMC::Bogus\n", "mem:3:", "unknown header line"},
        {HEAD HEAD, "mem:4:", "a second HepMC::Asciiv3-START_EVENT_LISTING"},
        {"HepMC::Asciiv3-END_EVENT_LISTING\n", "mem:1:", "before"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int rc = parse(cases[k].text);
        const char *msg = hd_last_error();
        if (rc != HD_EFORMAT || !strstr(msg, cases[k].where) || !strstr(msg, cases[k].what))
            fail_msg("case %zu: rc %d, message \"%s\"; wanted \"%s\" and \"%s\"", k, rc, msg, cases[k].where,
                     cases[k].what);
    }
    const char nul[] = HEAD "E 0 0 0\nW 1\0 2\n" TAIL;
    assert_error(hd_hepmc3_parse_buffer("mem", nul, sizeof nul - 1, keep, NULL), HD_EFORMAT, "mem:4:", "NUL byte");
    hd_event_free(&last);
}

/* What real files do that the writer does not: forward references,
 * CRLF, blank lines, attributes anywhere, cycles, lines after the end. */
static void test_tolerated_layouts(void **state)
{
    (void)state;
    /* the vertex names particle 3 before it is listed, and particle 2 points at a vertex defined after it */
    assert_int_equal(parse(HEAD "E 0 2 3\r\n\r\nP 1 0 11 0 0 1 1 0 4\r\nP 2 -2 22 0 0 1 1 0 1\r\n"
                                "V -1 0 [3] @ 0 0 1 0\r\nV -2 0 [1] @ 0 0 2 0\r\nA 0 note anything\r\n"
                                "P 3 0 22 0 0 1 1 0 2\r\n" TAIL "garbage after the end\n"),
                     HD_OK);
    assert_int_equal(events_seen, 1);
    assert_vertices(last.p + 1, 2, 0);
    assert_point(last.p[1].prod, 0, 0, 2, 0);
    assert_vertices(last.p + 2, 0, 1);
    assert_point(last.p[2].end, 0, 0, 1, 0);
    /* a vertex without "@" where its incoming particle was made, two generations up */
    assert_int_equal(parse(HEAD "E 0 3 4\nP 1 0 22 0 0 1 1 0 2\nV -1 0 [1] @ 1 2 3 4\nP 2 -1 22 0 0 1 1 0 2\n"
                                "P 3 2 22 0 0 1 1 0 2\nP 4 3 22 0 0 1 1 0 1\n" TAIL),
                     HD_OK);
    assert_vertices(last.p + 2, 2, 3);
    assert_point(last.p[2].prod, 1, 2, 3, 4);
    assert_point(last.p[3].prod, 1, 2, 3, 4);
    /* particles that are each other's parent: the vertices fall back to the event's position */
    assert_int_equal(parse(HEAD "E 0 2 2 @ 5 6 7 8\nP 1 2 22 0 0 1 1 0 2\nP 2 1 22 0 0 1 1 0 2\n" TAIL), HD_OK);
    assert_point(last.p[0].prod, 5, 6, 7, 8);
    assert_point(last.p[1].end, 5, 6, 7, 8);
    /* an event without particles, run information between events, "@0 0 0 0" (HepMC3's own tests) */
    assert_int_equal(parse(HEAD "W a\\|b\nT tool\\|1\\|x\nA name value\nE 0 0 0\nW 1 2\nE 1 1 2 @0 0 0 0\nU GEV MM\n"
                                "P 1 0 2212 0 0 10 10 0 4\nP 2 1 22 0 0 10 10 0 1\n" TAIL),
                     HD_OK);
    assert_int_equal(events_seen, 2);
    assert_vertices(last.p + 1, 1, 0);
    assert_int_equal(parse(HEAD TAIL), HD_OK);
    assert_int_equal(events_seen, 0);
    hd_event_free(&last);
}

static int stop_at_second(void *user, const hd_event *ev)
{
    (void)ev;
    return ++*(int *)user == 2 ? 42 : 0;
}

static void test_callback_stops_the_parse(void **state)
{
    (void)state;
    const char *text = HEAD "E 0 0 0\nE 1 0 0\nE 2 0 0\n" TAIL;
    int seen = 0;
    assert_int_equal(hd_hepmc3_parse_buffer("mem", text, strlen(text), stop_at_second, &seen), 42);
    assert_int_equal(seen, 2);
    assert_int_equal(hd_hepmc3_parse_buffer("mem", text, strlen(text), NULL, NULL), HD_OK);
}

/* ---- round trips ---------------------------------------------------------------------------- */

enum { N_ROUND = 40 };

static void generate(hd_event *evs, int n)
{
    hd_eeqq_opts o = hd_eeqq_opts_default();
    for (int i = 0; i < n; i++) assert_int_equal(hd_eeqq_event(&o, (uint64_t)i, evs + i), HD_OK);
}

static void assert_same_events(const hd_event *a, const hd_event *b, int n)
{
    for (int i = 0; i < n; i++) {
        assert_int_equal(a[i].n, b[i].n);
        for (int64_t j = 0; j < a[i].n; j++)
            if (memcmp(a[i].p + j, b[i].p + j, sizeof *a[i].p))
                fail_msg("event %d, particle %lld differs after the round trip", i, (long long)j);
    }
}

static void free_events(hd_event *evs, int n)
{
    for (int i = 0; i < n; i++) hd_event_free(evs + i);
}

static int collect(void *user, const hd_event *ev)
{
    hd_event *evs = user;
    hd_event *dst = evs + events_seen++;
    hd_event_clear(dst);
    for (int64_t i = 0; i < ev->n; i++) *hd_event_push(dst) = ev->p[i];
    return 0;
}

static void test_round_trip_of_generated_events(void **state)
{
    (void)state;
    hd_event made[N_ROUND] = {{0}}, back[N_ROUND] = {{0}}, again[N_ROUND] = {{0}};
    generate(made, N_ROUND);
    char path[128];
    tmp_path(path, sizeof path, "events.hepmc3");
    assert_int_equal(hd_hepmc3_write_events(path, N_ROUND, made), HD_OK);
    assert_int_equal(read_all(path, back, N_ROUND), N_ROUND);
    assert_same_events(made, back, N_ROUND);
    size_t size;
    unsigned char *text = slurp(path, &size);
    events_seen = 0;
    assert_int_equal(hd_hepmc3_parse_buffer(path, (const char *)text, size, collect, again), HD_OK);
    assert_int_equal(events_seen, N_ROUND);
    assert_same_events(made, again, N_ROUND);
    /* the layout of HepMC3's writer */
    assert_memory_equal(text, HEAD, strlen(HEAD));
    assert_non_null(strstr((const char *)text, "\nE 0 "));
    assert_non_null(strstr((const char *)text, "\nU GEV MM\nP 1 0 11 "));
    assert_non_null(strstr((const char *)text, "\nV -1 0 [1,2]\nP 3 -1 23 "));
    assert_int_equal(memcmp(text + size - strlen(TAIL) - 1, TAIL "\n", strlen(TAIL) + 1), 0);
    free(text);
    free_events(made, N_ROUND);
    free_events(back, N_ROUND);
    free_events(again, N_ROUND);
}

static void test_reads_gzip(void **state)
{
    (void)state;
    hd_event made[8] = {{0}}, back[8] = {{0}};
    generate(made, 8);
    char path[128], gz[128];
    tmp_path(path, sizeof path, "small.hepmc3");
    tmp_path(gz, sizeof gz, "small.hepmc3.gz");
    assert_int_equal(hd_hepmc3_write_events(path, 8, made), HD_OK);
    size_t size;
    unsigned char *text = slurp(path, &size);
    gzFile f = gzopen(gz, "wb");
    assert_non_null(f);
    assert_int_equal(gzwrite(f, text, (unsigned)size), (int)size);
    assert_int_equal(gzclose(f), Z_OK);
    assert_int_equal(read_all(gz, back, 8), 8);
    assert_same_events(made, back, 8);
    /* cut short: the gzip stream ends early */
    unsigned char *z = slurp(gz, &size);
    spill(gz, z, size / 2);
    assert_true(read_all(gz, back, 8) < 0);
    free(z);
    free(text);
    free_events(made, 8);
    free_events(back, 8);
}

/* Hand-made events: an end point without a vertex number gets a vertex,
 * particles without a parent share the event's position. */
static void test_writes_hand_made_events(void **state)
{
    (void)state;
    hd_particle parts[3] = {
        {.pdg = 310, .status = 2, .p = {5, 0, 0, 4.97}, .mass = 0.497611, .prod = {1, 1, 1, 0}, .end = {1, 1, 9, 3}, .has_end = 1},
        {.pdg = 22, .status = 1, .p = {1, 0, 1, 0}, .prod = {1, 1, 1, 0}},
        {.pdg = 211, .status = 1, .p = {2, 0, 0, 1.99}, .mass = 0.13957, .prod = {1, 1, 9, 3}, .prod_vertex = 5},
    };
    hd_event ev = {.n = 3, .cap = 3, .p = parts}, back = {0};
    char path[128];
    tmp_path(path, sizeof path, "hand.hepmc3");
    /* particle 2 claims vertex 5, which nothing goes into: it has no parent either, but starts elsewhere */
    assert_error(hd_hepmc3_write_events(path, 1, &ev), HD_EINVAL, "particle 2 starts at (1, 1, 9, 3)", NULL);
    assert_int_equal(access(path, F_OK), -1); /* nothing left behind */
    parts[2].prod_vertex = 0;
    parts[2].prod[2] = 1;
    parts[2].prod[3] = 0;
    assert_int_equal(hd_hepmc3_write_events(path, 1, &ev), HD_OK);
    assert_int_equal(read_all(path, &back, 1), 1);
    assert_int_equal(back.n, 3);
    assert_vertices(back.p, 0, 1);
    assert_point(back.p[0].end, 1, 1, 9, 3);
    assert_point(back.p[2].prod, 1, 1, 1, 0);
    assert_vertices(back.p + 2, 0, 0);
    parts[0].end_vertex = 2;
    parts[0].has_end = 0;
    assert_error(hd_hepmc3_write_events(path, 1, &ev), HD_EINVAL, "needs has_end", NULL);
    parts[0].has_end = 1;
    parts[1].has_end = 1; /* into the same vertex 2 as particle 0, but ending elsewhere */
    parts[1].end_vertex = 2;
    assert_error(hd_hepmc3_write_events(path, 1, &ev), HD_EINVAL, "end at different points", NULL);
    /* a vertex at the origin that HepMC3 would move to where its incoming particle starts */
    parts[1].has_end = 0;
    parts[1].end_vertex = 0;
    memset(parts[0].end, 0, sizeof parts[0].end);
    assert_error(hd_hepmc3_write_events(path, 1, &ev), HD_EINVAL, "vertex 1 is at the origin", "(1, 1, 1, 0)");
    /* no events: a valid, empty listing */
    assert_int_equal(hd_hepmc3_write_events(path, 0, NULL), HD_OK);
    assert_int_equal(read_all(path, &back, 1), 0);
    assert_error(hd_hepmc3_write_events(NULL, 0, NULL), HD_EINVAL, "NULL path", NULL);
    assert_error(hd_hepmc3_write_events(path, 1, NULL), HD_EINVAL, "NULL events", NULL);
    hd_event_free(&back);
}

static void test_reader_api(void **state)
{
    (void)state;
    hd_hepmc3_reader *r = (hd_hepmc3_reader *)1;
    assert_error(hd_hepmc3_open(FIX "no_such_file.hepmc3", &r), HD_EIO, "no_such_file.hepmc3", NULL);
    assert_null(r);
    assert_error(hd_hepmc3_open(NULL, &r), HD_EINVAL, NULL, NULL);
    assert_error(hd_hepmc3_next(NULL, NULL), HD_EINVAL, NULL, NULL);
    hd_hepmc3_close(NULL);
    hd_hepmc3_writer_abort(NULL);
    char path[128];
    tmp_path(path, sizeof path, "not_hepmc.txt");
    spill(path, "hello\n", 6);
    assert_error(read_all(path, NULL, 0), HD_EFORMAT, "not_hepmc.txt:1:", "START_EVENT_LISTING");
}

/* A pool of a file's events as a tracker source: event i comes back as read. */
static void test_event_pool(void **state)
{
    (void)state;
    hd_event evs[2] = {{0}}, ev = {0};
    assert_int_equal(read_all(FIX "valid.hepmc3", evs, 2), 2);
    hd_event_pool *p;
    assert_int_equal(hd_event_pool_read(FIX "valid.hepmc3", 0, &p), HD_OK);
    assert_int_equal(hd_event_pool_size(p), 2);
    hd_event_source src = hd_event_pool_source(p);
    assert_int_equal(src.n_events, 2);
    for (int k = 1; k >= 0; k--) { /* out of order */
        assert_int_equal(src.event(src.source, (uint64_t)k, &ev), HD_OK);
        assert_int_equal(ev.n, evs[k].n);
        assert_memory_equal(ev.p, evs[k].p, (size_t)ev.n * sizeof *ev.p);
    }
    assert_error(src.event(src.source, 2, &ev), HD_EINVAL, "event 2 of 2", NULL);
    hd_event_pool_free(p);
    assert_int_equal(hd_event_pool_read(FIX "valid.hepmc3", 1, &p), HD_OK); /* the first only */
    assert_int_equal(hd_event_pool_size(p), 1);
    hd_event_pool_free(p);
    /* a broken file: nothing kept, the line named */
    p = (hd_event_pool *)1;
    assert_error(hd_event_pool_read(FIX "missing_vertex.hepmc3", 0, &p), HD_EFORMAT, "missing_vertex.hepmc3:", NULL);
    assert_null(p);
    char path[128];
    tmp_path(path, sizeof path, "empty.hepmc3");
    static const char empty[] = "HepMC::Version 3.02.05\nHepMC::Asciiv3-START_EVENT_LISTING\n"
                                "HepMC::Asciiv3-END_EVENT_LISTING\n";
    spill(path, empty, sizeof empty - 1);
    assert_error(hd_event_pool_read(path, 0, &p), HD_EFORMAT, "empty.hepmc3: no events", NULL);
    hd_event_pool_free(NULL);
    hd_event_free(&ev);
    hd_event_free(evs);
    hd_event_free(evs + 1);
}

/* ---- caps ---------------------------------------------------------------------------------- */

/* HEAD, an event with an A line of n bytes ("A 0 x xxx..."), ended by eol, and TAIL. */
static char *long_line_text(size_t n, const char *eol, size_t *len)
{
    static const char head[] = HEAD "E 0 0 0\n", tail[] = TAIL;
    size_t he = sizeof head - 1, te = sizeof tail - 1, ee = strlen(eol);
    char *t = malloc(he + n + ee + te + 1);
    assert_non_null(t);
    memcpy(t, head, he);
    memcpy(t + he, "A 0 x ", 6);
    memset(t + he + 6, 'x', n - 6);
    memcpy(t + he + n, eol, ee);
    memcpy(t + he + n + ee, tail, te + 1);
    *len = he + n + ee + te;
    return t;
}

/* A line of up to HD_HEPMC3_MAX_LINE bytes (a "\r" before its "\n" not
 * counted) is read; one byte more is refused with the file, the line and
 * the cap: in memory, from a file, from a gzip file. */
static void test_line_cap(void **state)
{
    (void)state;
    char path[4200];
    snprintf(path, sizeof path, "%s/long.hepmc3", tmpdir);
    static const struct {
        size_t n;
        const char *eol;
        int ok;
    } cases[] = {{HD_HEPMC3_MAX_LINE, "\n", 1}, {HD_HEPMC3_MAX_LINE, "\r\n", 1}, {HD_HEPMC3_MAX_LINE, "", 0},
                 {HD_HEPMC3_MAX_LINE + 1, "\n", 0}, {HD_HEPMC3_MAX_LINE + 1, "\r\n", 0}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        size_t len;
        char *t = long_line_text(cases[k].n, cases[k].eol, &len);
        if (!cases[k].eol[0]) { /* the long line is the last, without a newline: no end line after it */
            len -= strlen(TAIL);
            t[len] = '\0';
        }
        int want = cases[k].ok ? HD_OK : HD_EFORMAT;
        int rc = hd_hepmc3_parse_buffer("mem", t, len, keep, NULL);
        if (cases[k].n <= HD_HEPMC3_MAX_LINE && !cases[k].eol[0])
            assert_error(rc, HD_EFORMAT, "mem:4:", "ends without"); /* within the cap; cut short */
        else if (cases[k].ok)
            assert_int_equal(rc, HD_OK);
        else
            assert_error(rc, want, "mem:4: a line longer than the 1048576 bytes a HepMC3 line may have", NULL);
        spill(path, t, len);
        rc = read_all(path, NULL, 0);
        if (cases[k].n <= HD_HEPMC3_MAX_LINE && !cases[k].eol[0])
            assert_error(rc, HD_EFORMAT, "long.hepmc3:4:", "ends without");
        else if (cases[k].ok)
            assert_int_equal(rc, 1);
        else
            assert_error(rc, want, "long.hepmc3:4: a line longer than the 1048576 bytes", "HD_HEPMC3_MAX_LINE");
        free(t);
    }
    /* 64 MiB of one line in a gzip file of about 64 KB: refused after 1 MiB of it */
    snprintf(path, sizeof path, "%s/long.hepmc3.gz", tmpdir);
    gzFile g = gzopen(path, "wb9");
    assert_non_null(g);
    static const char head[] = HEAD "E 0 0 0\nA 0 x ";
    assert_int_equal(gzwrite(g, head, sizeof head - 1), (int)(sizeof head - 1));
    char *block = malloc(1 << 20);
    assert_non_null(block);
    memset(block, 'x', 1 << 20);
    for (int k = 0; k < 64; k++) assert_int_equal(gzwrite(g, block, 1 << 20), 1 << 20);
    free(block);
    assert_int_equal(gzclose(g), Z_OK);
    double t0 = hd_now();
    assert_error(read_all(path, NULL, 0), HD_EFORMAT, "long.hepmc3.gz:4: a line longer than", NULL);
    assert_true(hd_now() - t0 < 1.0);
    hd_event_free(&last);
}

/* The event pool holds at most the input cap of the file's size: with
 * HADRON_MAX_INPUT_MB=1, 10000 events of one particle are refused at the
 * event that passes 1 MiB, with the ways to raise the cap; fewer events
 * (max_events) fit, and without the variable the cap of a small file
 * (256 MiB and more) holds them all. */
static void test_event_pool_cap(void **state)
{
    (void)state;
    char path[4200], gz[4200];
    snprintf(path, sizeof path, "%s/many.hepmc3", tmpdir);
    snprintf(gz, sizeof gz, "%s/many.hepmc3.gz", tmpdir);
    enum { N = 10000 };
    FILE *f = fopen(path, "w");
    gzFile g = gzopen(gz, "wb6");
    assert_non_null(f);
    assert_non_null(g);
    fputs(HEAD, f);
    gzputs(g, HEAD);
    for (int i = 0; i < N; i++) {
        char ev[96];
        snprintf(ev, sizeof ev, "E %d 0 1\nP 1 0 22 0 0 1 1 0 1\n", i);
        fputs(ev, f);
        gzputs(g, ev);
    }
    fputs(TAIL, f);
    gzputs(g, TAIL);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(gzclose(g), Z_OK);
    /* the first n with (n + 1) starts and n particles over 1 MiB */
    uint64_t per = sizeof(int64_t) + sizeof(hd_particle), n = (((uint64_t)1 << 20) - sizeof(int64_t)) / per + 1;
    char want[160];
    snprintf(want, sizeof want, "the event pool of its first %llu events (%llu particles) is %llu bytes",
             (unsigned long long)n, (unsigned long long)n, (unsigned long long)((n + 1) * sizeof(int64_t) + n * sizeof(hd_particle)));
    setenv("HADRON_MAX_INPUT_MB", "1", 1);
    hd_event_pool *p = (hd_event_pool *)1;
    const char *files[2] = {path, gz};
    for (int k = 0; k < 2; k++) {
        assert_error(hd_event_pool_read(files[k], 0, &p), HD_EFORMAT, files[k], want);
        assert_error(HD_EFORMAT, HD_EFORMAT, "more than the 1048576 bytes", "set HADRON_MAX_INPUT_MB to allow more");
        assert_error(HD_EFORMAT, HD_EFORMAT, "or read fewer events: hadron avo --max-events N", NULL);
        assert_null(p);
        assert_int_equal(hd_event_pool_read(files[k], (int64_t)n - 1, &p), HD_OK);
        assert_int_equal(hd_event_pool_size(p), (int64_t)n - 1);
        hd_event_pool_free(p);
    }
    /* the message gives the size on disk: the gzip file's own */
    FILE *z = fopen(gz, "rb");
    assert_non_null(z);
    fseek(z, 0, SEEK_END);
    long gz_bytes = ftell(z);
    fclose(z);
    snprintf(want, sizeof want, "one input file of %ld bytes", gz_bytes);
    assert_error(hd_event_pool_read(gz, 0, &p), HD_EFORMAT, want, NULL);
    unsetenv("HADRON_MAX_INPUT_MB");
    for (int k = 0; k < 2; k++) {
        assert_int_equal(hd_event_pool_read(files[k], 0, &p), HD_OK);
        assert_int_equal(hd_event_pool_size(p), N);
        hd_event_pool_free(p);
    }
}

/* One event is held to the input cap too: with HADRON_MAX_INPUT_MB=1 an
 * event of 10000 particles (some 2.6 MB for the reader) is refused at the
 * particle that passes 1 MiB, naming its E line; in memory (the buffer API,
 * whose text bounds it) it reads. */
static void test_event_cap(void **state)
{
    (void)state;
    char path[4200];
    snprintf(path, sizeof path, "%s/big_event.hepmc3", tmpdir);
    enum { N = 10000 };
    size_t cap = 200 + (size_t)N * 40, len = 0;
    char *t = malloc(cap);
    assert_non_null(t);
    len += (size_t)snprintf(t + len, cap - len, HEAD "E 0 0 %d\n", N);
    for (int i = 1; i <= N; i++) len += (size_t)snprintf(t + len, cap - len, "P %d 0 22 0 0 1 1 0 1\n", i);
    len += (size_t)snprintf(t + len, cap - len, TAIL);
    spill(path, t, len);
    setenv("HADRON_MAX_INPUT_MB", "1", 1);
    assert_error(read_all(path, NULL, 0), HD_EFORMAT, "big_event.hepmc3:", "the event of line 3 (");
    assert_error(HD_EFORMAT, HD_EFORMAT, "more than the 1048576 bytes", "set HADRON_MAX_INPUT_MB to allow more");
    assert_int_equal(hd_hepmc3_parse_buffer("mem", t, len, keep, NULL), HD_OK);
    assert_int_equal(last.n, N);
    unsetenv("HADRON_MAX_INPUT_MB");
    assert_int_equal(read_all(path, NULL, 0), 1);
    hd_event_free(&last);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_hand_written_file),
        cmocka_unit_test(test_broken_files_name_the_line),
        cmocka_unit_test(test_broken_text),
        cmocka_unit_test(test_tolerated_layouts),
        cmocka_unit_test(test_callback_stops_the_parse),
        cmocka_unit_test(test_round_trip_of_generated_events),
        cmocka_unit_test(test_reads_gzip),
        cmocka_unit_test(test_writes_hand_made_events),
        cmocka_unit_test(test_reader_api),
        cmocka_unit_test(test_event_pool),
        cmocka_unit_test(test_line_cap),
        cmocka_unit_test(test_event_pool_cap),
        cmocka_unit_test(test_event_cap),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
