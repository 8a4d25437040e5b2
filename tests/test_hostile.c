/* The regression corpus of issue 24 (tests/fixtures/hostile/, written by
 * make_hostile.py): small crafted files that claim or hold far more than
 * their size.  Each is opened, in a child process under a 1 GiB
 * address-space limit and a CPU-time guard, with the library call hadron
 * makes for it (hd_model_load for predict, hd_npz_read, hd_idx_read_mnist
 * with the gan's options, the HepMC3 event pool of hadron avo,
 * hd_safetensors_read for info); the child must refuse it with a message
 * that names the file and the problem, without control characters, within
 * a second of CPU (the fastest of up to three tries: run_case).  The CPU
 * time, the wall time and the child's peak memory
 * are printed per case.  Case 5's 20 MB header is written here, into a
 * temporary directory: it is too big to commit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hadron/hadron.h"
#include "test_util.h"

#define CORPUS HD_FIXTURES "/hostile/"
#define AS_LIMIT ((rlim_t)1 << 30)
#define MSG_BYTES 1024

/* ---- what runs in the child -------------------------------------------------------------------- */

/* The gan's reading of an images file whose labels file (beside it) is absent. */
static const hd_idx_image_opts gan_opts = {.lo = -1.0f, .hi = 1.0f, .height = 28, .width = 28, .n_max = 0};

static int load_model(const char *path)
{
    hd_model *m = NULL;
    int rc = hd_model_load(path, &m);
    hd_model_free(m);
    return rc;
}

static int read_npz(const char *path)
{
    hd_npz *z = NULL;
    int rc = hd_npz_read(path, &z);
    hd_npz_free(z);
    return rc;
}

static int read_safetensors(const char *path)
{
    hd_safetensors *st = NULL;
    int rc = hd_safetensors_read(path, &st);
    hd_safetensors_free(st);
    return rc;
}

/* The images at path with the gan's options, the first n_max, and a labels
 * file beside them that does not exist. */
static int mnist_without_labels(const char *path, int64_t n_max)
{
    char labels[4200];
    snprintf(labels, sizeof labels, "%s.no-such-labels", path);
    hd_idx_image_opts o = gan_opts;
    o.n_max = n_max;
    hd_tensor *t = NULL;
    int32_t *l = NULL;
    int rc = hd_idx_read_mnist(path, labels, &o, &t, &l);
    hd_tensor_free(t);
    hd_free(l);
    return rc;
}

static int read_mnist_without_labels(const char *path) { return mnist_without_labels(path, 0); }

/* The same as hadron gan train --n-train 60000: within the cap, and then
 * the absent labels are noticed before any image data is read. */
static int read_60000_without_labels(const char *path) { return mnist_without_labels(path, 60000); }

static int read_pool(const char *path)
{
    hd_event_pool *p = NULL;
    int rc = hd_event_pool_read(path, 0, &p);
    hd_event_pool_free(p);
    return rc;
}

/* The first control character of s (C0, DEL, C1 as UTF-8), or NULL. */
static const unsigned char *control_in(const char *s)
{
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        if (*c < 0x20 || *c == 0x7f || (*c == 0xc2 && c[1] >= 0x80 && c[1] <= 0x9f)) return c;
    return NULL;
}

/* A file whose strings are hostile but which is otherwise fine: it reads,
 * its names hold escapes, and what info prints of them (each through
 * hd_printable) holds none; that text is made the message, for the parent
 * to check the replacements. */
static int printable_strings(const char *path)
{
    hd_safetensors *st = NULL;
    int rc = hd_safetensors_read(path, &st);
    if (rc != HD_OK) return rc;
    char all[MSG_BYTES] = "", buf[256];
    size_t used = 0;
    int raw_escapes = 0, shown_escapes = 0;
#define SHOW(str, sep)                                                                                   \
    do {                                                                                                 \
        const char *s_ = (str);                                                                          \
        raw_escapes |= control_in(s_) != NULL;                                                           \
        const char *p_ = hd_printable(s_, strlen(s_), buf, sizeof buf);                                  \
        shown_escapes |= control_in(p_) != NULL;                                                         \
        if (used < sizeof all) used += (size_t)snprintf(all + used, sizeof all - used, "%s%s", p_, sep); \
    } while (0)
    for (int i = 0; i < hd_safetensors_count(st); i++) SHOW(hd_safetensors_name(st, i), "; ");
    for (int i = 0; i < hd_safetensors_meta_count(st); i++) {
        const char *k = hd_safetensors_meta_key(st, i);
        SHOW(k, "=");
        SHOW(hd_safetensors_meta(st, k), "; ");
    }
#undef SHOW
    hd_safetensors_free(st);
    if (!raw_escapes || shown_escapes)
        return hd_error(HD_EINVAL, "%s: escapes in the file's strings %d, in what is shown of them %d", path,
                        raw_escapes, shown_escapes);
    hd_error(HD_OK, "%s: %s", path, all); /* not a failure: what info shows is the message */
    return HD_OK;
}

typedef struct {
    const char *name;     /* the file in CORPUS, or in the temporary directory when generated */
    int (*run)(const char *path);
    int code;             /* the refusal expected */
    const char *problem;  /* in the message, with the file's path */
    int heavy;            /* seconds of work under valgrind: skipped there */
    const char *also;     /* in the message too, or NULL */
} hostile_case;

static const hostile_case cases[] = {
    {"case1_hidden_16777216x200.safetensors", load_model, HD_EFORMAT, "missing tensor 'mlp.dense0.weight'", 0, NULL},
    {"case2_shared_stream.npz", read_npz, HD_EFORMAT, "the members' total uncompressed size is", 0, NULL},
    {"case2_overlap.npz", read_npz, HD_EFORMAT, "overlap (at bytes", 0, NULL},
    {"case3_250000x28x28.idx.gz", read_mnist_without_labels, HD_EFORMAT,
     "reading the IDX header's 250000 x 28 x 28 ubyte (the data and the float32 images) is 980000000 bytes", 0, NULL},
    {"case3_250000x28x28.idx.gz", read_60000_without_labels, HD_EIO, ".no-such-labels: No such file", 0, NULL},
    {"case3_50000000x1x1.idx.gz", read_mnist_without_labels, HD_EFORMAT,
     "50000000 x 1 x 1 ubyte holds images of 1 x 1; 28 x 28 are needed", 0, NULL},
    {"case4_identical_events.hepmc3.gz", read_pool, HD_EFORMAT, "the event pool of its first", 1, "--max-events"},
    {"case4_long_line.hepmc3.gz", read_pool, HD_EFORMAT, ":4: a line longer than the 1048576 bytes", 0, NULL},
    {"case5_header_20MB.safetensors", read_safetensors, HD_EFORMAT,
     "header length 20000000 is over hadron's 8388608-byte limit", 0, NULL},
    {"case5_header_20MB.safetensors", load_model, HD_EFORMAT, "header length 20000000 is over", 0, NULL},
    {"case6_escapes.safetensors", printable_strings, HD_OK, "w?[2J; ", 0, "title=?]0;pwned?; "},
    {"case6_escapes.safetensors", printable_strings, HD_OK, "csi=?2J; ", 0, NULL},
    {"case6_escape_in_error.safetensors", read_safetensors, HD_EFORMAT, "tensor 'w?[2J'", 0, NULL},
    {"case7_nan_weight.safetensors", load_model, HD_EFORMAT, "element 0 is NaN", 0, NULL},
    {"case7_hidden_1.5.safetensors", load_model, HD_EFORMAT, "is not an integer", 0, NULL},
    {"case8_longer_member.npz", read_npz, HD_EFORMAT, "deflate data holds more than the 160 bytes the directory says",
     0, NULL},
};

/* ---- the parent ---------------------------------------------------------------------------------- */

typedef struct {
    int rc;
    long hwm_kb, peak_kb; /* the child's VmHWM (peak resident) and VmPeak (peak address space) */
    char msg[MSG_BYTES];
} child_report;

static long status_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long kb = -1;
    size_t n = strlen(field);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, field, n) && line[n] == ':') kb = strtol(line + n + 1, NULL, 10);
    fclose(f);
    return kb;
}

static int under_valgrind(void)
{
    const char *p = getenv("LD_PRELOAD");
    return p && strstr(p, "vgpreload");
}

static int sanitized(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return 1;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return 1;
#endif
#endif
    return 0;
}

/* How much slower than a plain build this one runs; 0: no address-space
 * limit (ASan and valgrind reserve far more than 1 GiB themselves). */
static double slowdown(int *limit_as)
{
    *limit_as = !sanitized() && !under_valgrind();
    return under_valgrind() ? 100 : sanitized() ? 10 : 1;
}

static char *tmpdir;

/* CPU seconds of the children waited for so far: before and after one child, its own. */
static double children_cpu(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_CHILDREN, &ru) != 0) return 0;
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec +
           1e-6 * (double)ru.ru_stime.tv_usec;
}

static void path_of(const hostile_case *c, char *buf, size_t size)
{
    if (!strncmp(c->name, "case5_", 6)) snprintf(buf, size, "%s/%s", tmpdir, c->name);
    else snprintf(buf, size, "%s%s", CORPUS, c->name);
}

/* Case 5: a safetensors file whose JSON header is 20 MB (valid JSON: one
 * long metadata string), then 4 bytes of data. */
static void write_header_20mb(const char *path)
{
    static const char head[] = "{\"__metadata__\":{\"pad\":\"", tail[] = "\"}}";
    uint64_t n = 20000000;
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    unsigned char size[8];
    for (int k = 0; k < 8; k++) size[k] = (unsigned char)(n >> (8 * k));
    assert_int_equal(fwrite(size, 1, 8, f), 8);
    assert_int_equal(fwrite(head, 1, sizeof head - 1, f), sizeof head - 1);
    static char x[1 << 16];
    memset(x, 'x', sizeof x);
    uint64_t left = n - (sizeof head - 1) - (sizeof tail - 1);
    while (left) {
        size_t k = left < sizeof x ? (size_t)left : sizeof x;
        assert_int_equal(fwrite(x, 1, k, f), k);
        left -= k;
    }
    assert_int_equal(fwrite(tail, 1, sizeof tail - 1, f), sizeof tail - 1);
    assert_int_equal(fwrite("\0\0\0\0", 1, 4, f), 4);
    assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
    (void)state;
    unsetenv("HADRON_MAX_INPUT_MB"); /* the default cap */
    if (!(tmpdir = test_tmpdir("hostile"))) return -1;
    char path[4200];
    snprintf(path, sizeof path, "%s/case5_header_20MB.safetensors", tmpdir);
    write_header_20mb(path);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return test_tmpdir_free(tmpdir);
}

/* One child: opens the case's file under the limits and reports. */
static void run_child(const hostile_case *c, const char *path, double budget, int limit_as, child_report *r,
                      double *cpu, double *wall)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    double t0 = hd_now(), cpu0 = children_cpu();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        struct rlimit as = {AS_LIMIT, AS_LIMIT}, lim = {(rlim_t)budget + 1, (rlim_t)budget + 2};
        if ((limit_as && setrlimit(RLIMIT_AS, &as) != 0) || setrlimit(RLIMIT_CPU, &lim) != 0) _exit(90);
        child_report rep = {0};
        hd_clear_error();
        rep.rc = c->run(path);
        snprintf(rep.msg, sizeof rep.msg, "%s", hd_last_error());
        rep.hwm_kb = status_kb("VmHWM");
        rep.peak_kb = status_kb("VmPeak");
        if (write(fds[1], &rep, sizeof rep) != (ssize_t)sizeof rep) _exit(91);
        _exit(0);
    }
    close(fds[1]);
    ssize_t got = read(fds[0], r, sizeof *r);
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    *wall = hd_now() - t0;
    *cpu = children_cpu() - cpu0;
    if (WIFSIGNALED(status))
        fail_msg("%s: the child died of signal %d (%s) after %.2f s of CPU", c->name, WTERMSIG(status),
                 WTERMSIG(status) == SIGXCPU ? "past its CPU guard" : strsignal(WTERMSIG(status)), *cpu);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || got != (ssize_t)sizeof *r)
        fail_msg("%s: the child exited with %d", c->name, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    print_message("%-36s rc %2d  cpu %.3f s  wall %.3f s  peak RSS %4ld MiB  peak VM %4ld MiB\n   %s\n",
                  c->name, r->rc, *cpu, *wall, r->hwm_kb / 1024, r->peak_kb / 1024, r->msg);
    if (r->rc != c->code) fail_msg("%s: rc %d, expected %d: %s", c->name, r->rc, c->code, r->msg);
    if (!strstr(r->msg, path)) fail_msg("%s: the message does not name the file: %s", c->name, r->msg);
    if (!strstr(r->msg, c->problem)) fail_msg("%s: the message lacks \"%s\": %s", c->name, c->problem, r->msg);
    if (c->also && !strstr(r->msg, c->also)) fail_msg("%s: the message lacks \"%s\": %s", c->name, c->also, r->msg);
    const unsigned char *bad = control_in(r->msg);
    if (bad) fail_msg("%s: the message has control character 0x%02x: %s", c->name, *bad, r->msg);
}

/* The refusal is checked on every try; the time budget on the fastest of up
 * to three, as a benchmark would: case 4's refusal parses 2M events (about
 * 0.65 s of CPU on an idle machine), and one try on a busy VM can take 1.1 s. */
static void run_case(const hostile_case *c)
{
    int limit_as;
    double slow = slowdown(&limit_as), budget = 1.0 * slow;
    if (c->heavy && under_valgrind()) {
        print_message("%-36s skipped under valgrind\n", c->name);
        return;
    }
    char path[4200];
    path_of(c, path, sizeof path);
    double best_cpu = HUGE_VAL, best_wall = HUGE_VAL;
    int tries = 0;
    while (tries < 3 && best_cpu > budget) {
        child_report r;
        double cpu, wall;
        run_child(c, path, budget, limit_as, &r, &cpu, &wall);
        tries++;
        if (cpu < best_cpu) best_cpu = cpu;
        if (wall < best_wall) best_wall = wall;
    }
    if (best_cpu > budget)
        fail_msg("%s: %.3f s of CPU at best of %d tries, more than %.1f s", c->name, best_cpu, tries, budget);
    if (best_wall > 10 * budget)
        fail_msg("%s: %.3f s of wall time, more than %.1f s", c->name, best_wall, 10 * budget);
}

static void test_corpus(void **state)
{
    (void)state;
    int limit_as;
    slowdown(&limit_as);
    print_message("under %s, parent VM %ld MiB at fork\n", limit_as ? "a 1 GiB address-space limit" : "no address-space limit (sanitizer or valgrind)",
                  status_kb("VmSize") / 1024);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) run_case(&cases[k]);
}

/* Under an address-space limit, a large allocation that would leave no
 * room for OpenBLAS's next buffer is refused with a message that names the
 * limit (OpenBLAS would retry a refused buffer forever), and one that
 * leaves the room is made. */
static void test_address_space_room(void **state)
{
    (void)state;
    int limit_as;
    slowdown(&limit_as);
    if (!limit_as) {
        print_message("skipped: no address-space limit under a sanitizer or valgrind\n");
        return;
    }
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        const double mib = 1024.0 * 1024.0;
        if (hd_set_threads(1) != HD_OK) _exit(80);
        rlim_t lim = (rlim_t)hd_mapped_bytes() + (rlim_t)(HD_THREAD_ADDRESS_SPACE + 100 * mib);
        struct rlimit as = {lim, lim};
        if (setrlimit(RLIMIT_AS, &as) != 0) _exit(81);
        hd_clear_error();
        if (hd_malloc((size_t)(150 * mib))) _exit(82); /* would leave less than one buffer */
        const char *msg = hd_last_error();
        if (!strstr(msg, "ulimit -v") || !strstr(msg, "OpenBLAS may still reserve")) _exit(83);
        void *p = hd_malloc((size_t)(50 * mib)); /* leaves the room */
        if (!p) _exit(84);
        hd_free(p);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* Every file of the corpus has a case, and every case's file is there. */
static void test_every_file_has_a_case(void **state)
{
    (void)state;
    static const char *const files[] = {
        "case1_hidden_16777216x200.safetensors", "case2_shared_stream.npz", "case2_overlap.npz",
        "case3_250000x28x28.idx.gz", "case3_50000000x1x1.idx.gz", "case4_identical_events.hepmc3.gz",
        "case4_long_line.hepmc3.gz", "case6_escapes.safetensors", "case6_escape_in_error.safetensors",
        "case7_nan_weight.safetensors", "case7_hidden_1.5.safetensors", "case8_longer_member.npz",
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s%s", CORPUS, files[i]);
        if (access(path, R_OK) != 0) fail_msg("%s is missing: run tests/fixtures/hostile/make_hostile.py", path);
        int found = 0;
        for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) found |= !strcmp(cases[k].name, files[i]);
        if (!found) fail_msg("%s has no case", files[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_file_has_a_case),
        cmocka_unit_test(test_corpus),
        cmocka_unit_test(test_address_space_room),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
