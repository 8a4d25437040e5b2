/* A check that runs before any library starts: the address-space limit.
 *
 * OpenBLAS reserves a 128 MiB buffer while the program loads, before main,
 * and starts its threads, each of which reserves as much again (glibc maps
 * 128 MiB to align a thread's 64 MiB malloc arena).  When an address-space
 * limit (ulimit -v, as batch systems set) refuses one of these, OpenBLAS
 * retries forever: the process spins at 100% CPU and prints nothing.
 * A function in the executable's .preinit_array runs before the
 * initialisers of the shared libraries, so it can see the limit first and
 * fail at once with a message that says what is needed.  It uses only
 * system calls and snprintf: stdio and the libraries are not started yet. */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "hadron/core.h" /* hd_mapped_bytes, HD_THREAD_ADDRESS_SPACE: system calls only */

#define MIB (1024.0 * 1024.0)
#define PER_THREAD HD_THREAD_ADDRESS_SPACE /* OpenBLAS's buffer or a thread's arena, and its 8 MiB stack */
/* the heap, the libraries' own start-up, and the buffer OpenBLAS takes at
 * its first product on top of the one it reserved while loading (measured:
 * fit and surrogate hang at 293 and 410 MiB on 1 and 2 threads, run at 303
 * and 430) */
#define MARGIN (192.0 * MIB)

/* A positive integer from the environment variable `name` (envp: getenv
 * may not work yet), or 0. */
static long env_count(char **envp, const char *name)
{
    size_t len = strlen(name);
    for (char **e = envp; e && *e; e++)
        if (strncmp(*e, name, len) == 0 && (*e)[len] == '=') {
            long n = strtol(*e + len + 1, NULL, 10);
            return n > 0 ? n : 0;
        }
    return 0;
}

/* The threads started while loading: OpenMP's (OMP_NUM_THREADS, else every
 * processor), or OPENBLAS_NUM_THREADS if that is more. */
static long start_threads(char **envp)
{
    long omp = env_count(envp, "OMP_NUM_THREADS"), blas = env_count(envp, "OPENBLAS_NUM_THREADS");
    if (!omp) omp = sysconf(_SC_NPROCESSORS_ONLN);
    if (omp < 1) omp = 1;
    return blas > omp ? blas : omp;
}

static void check_address_space(int argc, char **argv, char **envp)
{
    (void)argc, (void)argv;
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return;
    long threads = start_threads(envp);
    double need = (double)hd_mapped_bytes() + (double)threads * PER_THREAD + MARGIN;
    if ((double)rl.rlim_cur >= need) return;
    char msg[640];
    int len = snprintf(msg, sizeof msg,
                       "hadron: the address-space limit (ulimit -v) is %.0f MiB, and hadron needs at least %.0f MiB "
                       "to start on %ld thread%s (OpenBLAS and each thread reserve about %.0f MiB, and a refused "
                       "reservation would hang OpenBLAS); its workflows need more. Raise the limit (ulimit -v %.0f "
                       "or more)%s\n",
                       (double)rl.rlim_cur / MIB, need / MIB, threads, threads == 1 ? "" : "s", PER_THREAD / MIB,
                       2 * need / 1024, threads > 1 ? ", or start fewer threads (OMP_NUM_THREADS=1)" : "");
    if (len > 0 && write(STDERR_FILENO, msg, (size_t)len) < 0) _exit(2);
    _exit(2);
}

__attribute__((section(".preinit_array"), used)) static void (*const preinit)(int, char **, char **) =
    check_address_space;
