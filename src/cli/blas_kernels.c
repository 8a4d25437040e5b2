/* OpenBLAS (0.3.21) picks its kernels by the processor's model number; one
 * it does not know, such as a virtual machine's "Intel Xeon Processor",
 * gets its oldest ones (Prescott, SSE3): 3x slower here than its AVX-512
 * kernels on an AVX-512 processor (a WGAN-GP critic step of hadron gen on 2
 * threads: 76 against 26 ms).  It reads OPENBLAS_CORETYPE only while it
 * loads, so when it fell back to Prescott, the user named no kernels and
 * the processor can do better, hadron names them by what the processor can
 * do (SkylakeX: AVX-512 F, CD, BW, DQ and VL; Haswell: AVX2 and FMA) and
 * starts itself again, before any work.  Set OPENBLAS_CORETYPE to choose. */
#define _DEFAULT_SOURCE
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *openblas_get_corename(void);

void cli_choose_blas_kernels(char **argv)
{
    if (getenv("OPENBLAS_CORETYPE")) return;
    const char *now = openblas_get_corename();
    if (!now || strcmp(now, "Prescott") != 0) return; /* OpenBLAS knew the processor */
    __builtin_cpu_init();
    const char *core = NULL;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        core = "SkylakeX";
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        core = "Haswell";
    if (!core || setenv("OPENBLAS_CORETYPE", core, 1) != 0) return;
    execv("/proc/self/exe", argv); /* returns only on failure: go on with the kernels there are */
    unsetenv("OPENBLAS_CORETYPE");
}
