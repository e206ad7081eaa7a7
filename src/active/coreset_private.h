/*
 * coreset_private.h
 *	  Kernel: what coreset.c and coreset_screen.c share (not part of
 *	  select.h's contract).  Pure C.
 */
#ifndef MLOPS_ACTIVE_CORESET_PRIVATE_H
#define MLOPS_ACTIVE_CORESET_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

/* Rows with more dimensions are not screened (every sum must fit in 32 bits). */
#define CS_SCREEN_MAX_D 16384

/* Codes are padded with zeros to a multiple of this many dimensions. */
#define CS_SCREEN_STEP 32

/*
 * A screen: for the 16 pool items of one group of T (interleaved codes,
 * dq a multiple of CS_SCREEN_STEP) against nq <= 8 centres (codes qc[c],
 * K values kc[c]), mask[c] bit l is set when item l's
 * D = nx[l] + kc[c] - 2 sum((q_l + 128) q_c) is below thr[l].
 */
typedef void (*cs_screen_fn) (const uint8_t *T, int dq, const int8_t *const *qc, const int32_t *kc,
							  int nq, const int32_t *nx, const int32_t *thr, uint16_t *mask);

extern double cs_screen_scale(double maxabs);
extern void cs_screen_rows(const float *X, int64_t rows, int d, double scale, int dq,
						   int8_t *Q, double *E, int32_t *K);
extern size_t cs_screen_pool_bytes(int64_t n, int dq);
extern void cs_screen_pool(const float *X, int64_t n, int d, double scale, int dq,
						   uint8_t *T, double *E, int32_t *N);
extern void cs_screen_row(const uint8_t *T, int dq, int64_t i, int8_t *q);

/* the fastest screen here, or NULL when only the plain loop (slower than no screen) runs */
extern cs_screen_fn cs_screen_pick(void);
extern int	cs_screen_check(const uint8_t *T, int dq, const int8_t *const *qc, const int32_t *kc,
							int nq, const int32_t *nx, const int32_t *thr);

#endif							/* MLOPS_ACTIVE_CORESET_PRIVATE_H */
