/* Dense symmetric linear algebra shared by the layers above core (nn's PCA,
 * metrics' Frechet distance): LAPACK from libopenblas, double precision. */
#ifndef HD_LINALG_H
#define HD_LINALG_H

/* Eigenvalues w[d] (ascending) of the symmetric a[d*d], row major, of which
 * only the lower triangle is read (LAPACK's upper one, column major); with
 * vectors, a's row k becomes the unit eigenvector of w[k] (LAPACK's columns,
 * read row major), else a is destroyed.
 * Errors start with "what: " (the caller's name, e.g. "frechet distance"). */
int hd_sym_eig(const char *what, int d, double *a, double *w, int vectors);

#endif
