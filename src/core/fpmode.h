/* Scoped flush-to-zero.  Denormal floats cost ~100x a normal operation; they
 * appear late in training (logits of empty bins run to -inf, so gradients
 * like n sigmoid(z) underflow; moments of dead units decay), and made epochs
 * up to 8x slower.  Forward, backward and optimiser steps run with
 * flush-to-zero and denormals-are-zero set on the calling thread, and restore
 * the caller's mode afterwards.  Values below 1e-38 never change a result
 * that matters, and the arithmetic stays deterministic. */
#ifndef HD_FPMODE_H
#define HD_FPMODE_H

#if defined(__SSE__)
#include <xmmintrin.h>
static inline unsigned int hd_ftz_begin(void)
{
    unsigned int old = _mm_getcsr();
    _mm_setcsr(old | 0x8040); /* FTZ (bit 15) | DAZ (bit 6) */
    return old;
}
static inline void hd_ftz_end(unsigned int old) { _mm_setcsr(old); }
#else
static inline unsigned int hd_ftz_begin(void) { return 0; }
static inline void hd_ftz_end(unsigned int old) { (void)old; }
#endif

#endif
