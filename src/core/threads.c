/* One thread count for OpenMP and OpenBLAS (the OpenMP build shares its
 * pool), and the address space more threads need: under a limit (ulimit -v)
 * OpenBLAS retries a refused buffer forever, so a count that does not fit
 * is refused here instead. */
#include "core/threads.h"

#include "hadron/core.h"

#include <errno.h>
#include <fcntl.h>
#include <omp.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

void openblas_set_num_threads(int n); /* from libopenblas, declared here to keep cblas.h out */

#define MIB (1024.0 * 1024.0)
#define MARGIN (64u << 20) /* the heap's growth while threads start */

static int started; /* the most threads asked for so far: their buffers may exist */

uint64_t hd_mapped_bytes(void)
{
    char buf[64];
    int fd = open("/proc/self/statm", O_RDONLY);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = '\0';
    return (uint64_t)(strtod(buf, NULL) * (double)sysconf(_SC_PAGESIZE));
}

/* OMP_NUM_THREADS when it names a count, else every processor. */
static int default_threads(void)
{
    const char *s = getenv("OMP_NUM_THREADS");
    char *end;
    errno = 0;
    long n = s ? strtol(s, &end, 10) : 0;
    if (s && end != s && !errno && n > 0 && n < 4096) return (int)n;
    return omp_get_num_procs();
}

/* Refuses n threads when the extra ones would not fit under the limit. */
static int check_headroom(int n)
{
    struct rlimit rl;
    if (n <= started || getrlimit(RLIMIT_AS, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return HD_OK;
    double need = (double)hd_mapped_bytes() + (double)(n - started) * HD_THREAD_ADDRESS_SPACE + MARGIN;
    if (need <= (double)rl.rlim_cur) return HD_OK;
    double spare = (double)rl.rlim_cur - (double)hd_mapped_bytes() - MARGIN;
    int fit = started + (spare > 0 ? (int)(spare / HD_THREAD_ADDRESS_SPACE) : 0);
    return hd_error(HD_ENOMEM, "%d threads need about %.0f MiB of address space, more than the limit (ulimit -v) of "
                    "%.0f MiB allows (each thread reserves about %.0f MiB for OpenBLAS): raise the limit, or use %d "
                    "thread%s (--threads or OMP_NUM_THREADS)", n, need / MIB, (double)rl.rlim_cur / MIB,
                    HD_THREAD_ADDRESS_SPACE / MIB, fit < 1 ? 1 : fit, fit == 1 ? "" : "s");
}

int hd_address_space_room(size_t bytes)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return HD_OK;
    double mapped = (double)hd_mapped_bytes(), reserve = (double)omp_get_max_threads() * HD_THREAD_ADDRESS_SPACE;
    if (mapped + (double)bytes + reserve <= (double)rl.rlim_cur) return HD_OK;
    return hd_error(HD_ENOMEM, "out of memory: %.0f MiB more would leave less than the %.0f MiB OpenBLAS may still "
                    "reserve (a refused reservation hangs it) under the address-space limit (ulimit -v) of %.0f MiB, "
                    "with %.0f MiB in use: raise the limit", (double)bytes / MIB, reserve / MIB,
                    (double)rl.rlim_cur / MIB, mapped / MIB);
}

int hd_set_threads(int n)
{
    if (!started) started = omp_get_max_threads(); /* what the process started with */
    if (n <= 0) n = default_threads();
    int rc = check_headroom(n);
    if (rc != HD_OK) return rc;
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
    if (n > started) started = n;
    return HD_OK;
}

int hd_get_threads(void) { return omp_get_max_threads(); }
