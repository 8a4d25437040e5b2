/* libFuzzer target for the HepMC3 reader: any bytes must give events or an
 * error naming the input and a line; never a crash.  Beyond that:
 *   - every event's vertex numbers are in range and has_end says whether
 *     the particle has an end vertex;
 *   - an event the writer takes is read back the same (vertex numbers
 *     aside: the writer renumbers), and writing what was read back gives
 *     the very same file: the writer's output is a fixed point;
 *   - the file reader (hd_hepmc3_open/next, which parses lines where it
 *     read them and takes gzip too) gives the same verdict and events as
 *     the buffer for a plain input; a gzip input (the hostile corpus:
 *     many identical events, one long line) gives events or an error
 *     naming the file, and is read for at most GZ_EVENTS events. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hadron/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_EVENTS = 32, GZ_EVENTS = 1000 };

typedef struct {
    hd_event ev[MAX_EVENTS];
    int n;
} events;

static char dir[64], first[96], second[96], input[96];

static void cleanup(void)
{
    remove(first);
    remove(second);
    remove(input);
    rmdir(dir);
}

static void init(void)
{
    if (dir[0]) return;
    snprintf(dir, sizeof dir, "/dev/shm/hd_fuzz_hepmc3_XXXXXX"); /* the writer fsyncs: keep it in memory */
    if (!mkdtemp(dir)) {
        snprintf(dir, sizeof dir, "/tmp/hd_fuzz_hepmc3_XXXXXX");
        if (!mkdtemp(dir)) __builtin_trap();
    }
    snprintf(first, sizeof first, "%s/first.hepmc3", dir);
    snprintf(second, sizeof second, "%s/second.hepmc3", dir);
    snprintf(input, sizeof input, "%s/input.hepmc3", dir);
    atexit(cleanup);
}

static size_t input_size;

static void check_event(const hd_event *ev)
{
    int64_t max = (int64_t)input_size; /* a vertex number is at most the number of lines */
    for (int64_t i = 0; i < ev->n; i++) {
        const hd_particle *p = ev->p + i;
        if (p->prod_vertex < 0 || p->end_vertex < 0 || p->prod_vertex > max || p->end_vertex > max) __builtin_trap();
        if (p->has_end != (p->end_vertex != 0)) __builtin_trap();
    }
}

static int keep(void *user, const hd_event *ev)
{
    events *e = user;
    check_event(ev);
    if (e->n == MAX_EVENTS) return 0;
    hd_event *dst = e->ev + e->n++;
    for (int64_t i = 0; i < ev->n; i++) {
        hd_particle *p = hd_event_push(dst);
        if (!p) return HD_ENOMEM;
        *p = ev->p[i];
    }
    return 0;
}

static void free_events(events *e)
{
    for (int i = 0; i < MAX_EVENTS; i++) hd_event_free(e->ev + i);
    e->n = 0;
}

static int same_point(const double *a, const double *b)
{
    return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
}

static void compare(const events *a, const events *b)
{
    if (a->n != b->n) __builtin_trap();
    for (int k = 0; k < a->n; k++) {
        if (a->ev[k].n != b->ev[k].n) __builtin_trap();
        for (int64_t i = 0; i < a->ev[k].n; i++) {
            const hd_particle *p = a->ev[k].p + i, *q = b->ev[k].p + i;
            if (p->pdg != q->pdg || p->status != q->status || p->has_end != q->has_end || p->mass != q->mass ||
                !same_point(p->p, q->p) || !same_point(p->prod, q->prod) || (p->has_end && !same_point(p->end, q->end)))
                __builtin_trap();
        }
    }
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) __builtin_trap();
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)len + 1);
    if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) __builtin_trap();
    fclose(f);
    *n = (size_t)len;
    return buf;
}

/* Writes e to path and parses it back into back. */
static int write_and_read(const events *e, const char *path, events *back)
{
    int rc = hd_hepmc3_write_events(path, e->n, e->ev);
    if (rc) return rc;
    size_t n;
    unsigned char *text = slurp(path, &n);
    input_size = n + 1;
    if (hd_hepmc3_parse_buffer(path, (const char *)text, n, keep, back) != HD_OK) __builtin_trap();
    free(text);
    return HD_OK;
}

/* The input as a file through the reader, its events kept as keep does;
 * at most max events are read (-1: all).  Returns the reader's verdict. */
static int read_file(const uint8_t *data, size_t size, events *e, int max)
{
    FILE *f = fopen(input, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) __builtin_trap();
    hd_hepmc3_reader *r;
    int rc = hd_hepmc3_open(input, &r);
    if (rc != HD_OK) return rc;
    hd_event ev = {0};
    for (int n = 0; (max < 0 || n < max) && (rc = hd_hepmc3_next(r, &ev)) == 1; n++)
        if ((rc = keep(e, &ev)) != 0) break;
    hd_event_free(&ev);
    hd_hepmc3_close(r);
    return rc < 0 ? rc : HD_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init();
    static events read, back, again;
    input_size = size + 1;
    int rc = hd_hepmc3_parse_buffer("fuzz", (const char *)data, size, keep, &read);
    if (rc < 0 && rc != HD_ENOMEM && !strstr(hd_last_error(), "fuzz")) __builtin_trap(); /* errors name the input */
    if (rc == HD_OK) {
        int w = write_and_read(&read, first, &back);
        if (w == HD_OK) {
            compare(&read, &back);
            if (write_and_read(&back, second, &again) != HD_OK) __builtin_trap();
            size_t n1, n2;
            unsigned char *a = slurp(first, &n1), *b = slurp(second, &n2);
            if (n1 != n2 || memcmp(a, b, n1) != 0) __builtin_trap();
            free(a);
            free(b);
        } else if (w != HD_EINVAL) {
            __builtin_trap();
        }
    }
    static events via_file;
    int gz = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
    input_size = gz ? SIZE_MAX / 2 : size + 1; /* gunzipped, the lines are not counted by size */
    int rf = read_file(data, size, &via_file, gz ? GZ_EVENTS : -1);
    if (rf < 0 && rf != HD_ENOMEM && !strstr(hd_last_error(), input)) __builtin_trap();
    if (!gz && rc != HD_ENOMEM && rf != HD_ENOMEM) {
        if ((rc < 0) != (rf < 0)) __builtin_trap(); /* the same verdict */
        if (rc == HD_OK) compare(&read, &via_file);
    }
    free_events(&read);
    free_events(&back);
    free_events(&again);
    free_events(&via_file);
    return 0;
}
