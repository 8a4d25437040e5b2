/* Dense symmetric linear algebra (core/linalg.h). */
#include "core/linalg.h"

#include "hadron/core.h"

#include <stddef.h>

/* LAPACK (Fortran) symmetric eigensolver from libopenblas; the trailing
 * arguments are the hidden lengths of the character arguments. */
void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w, double *work,
            const int *lwork, int *info, size_t jobz_len, size_t uplo_len);

int hd_sym_eig(const char *what, int d, double *a, double *w, int vectors)
{
    char jobz = vectors ? 'V' : 'N', uplo = 'U';
    int lwork = -1, info = 0;
    double query;
    dsyev_(&jobz, &uplo, &d, a, &d, w, &query, &lwork, &info, 1, 1);
    if (info != 0) return hd_error(HD_EINVAL, "%s: dsyev workspace query failed (info %d)", what, info);
    lwork = (int)query;
    double *work = hd_malloc((size_t)lwork * sizeof(double));
    if (!work) return HD_ENOMEM;
    dsyev_(&jobz, &uplo, &d, a, &d, w, work, &lwork, &info, 1, 1);
    hd_free(work);
    if (info != 0)
        return hd_error(HD_EINVAL, "%s: eigendecomposition of a %d x %d covariance failed (info %d)", what, d, d,
                        info);
    return HD_OK;
}
