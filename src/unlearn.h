/*-------------------------------------------------------------------------
 *
 * unlearn.h
 *	  Shared declarations of the unlearn extension: version and settings.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UNLEARN_H
#define UNLEARN_H

#define UNLEARN_VERSION "0.1.0"

/* unlearn.min_rcond: smallest reciprocal condition number accepted. */
extern double unlearn_min_rcond;

/* unlearn.blas_threads: threads OpenBLAS may use in one backend. */
extern int	unlearn_blas_threads;

#endif							/* UNLEARN_H */
