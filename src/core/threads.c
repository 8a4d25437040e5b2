/* One thread count for OpenMP and OpenBLAS (the OpenMP build shares its pool). */
#include "hadron/core.h"

#include <omp.h>

void openblas_set_num_threads(int n); /* from libopenblas, declared here to keep cblas.h out */

void hd_set_threads(int n)
{
    if (n <= 0) n = omp_get_num_procs();
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
}

int hd_get_threads(void) { return omp_get_max_threads(); }
