/*
 * pfor.h: a parallel for loop, for the work a stage does outside the
 * record loop (training a vocabulary, building an index).
 *
 * fn(arg, i, thread) runs once for every i in 0..n-1, on up to threads
 * threads (thread is 0..threads-1, for per-thread scratch space).  The
 * order in which the i run is not fixed, so fn must write its result
 * to a place of its own (slot i) for the whole to be deterministic.
 */
#ifndef PM_PFOR_H
#define PM_PFOR_H

#include <stddef.h>

void	 pfor(int threads, size_t n, void (*fn)(void *arg, size_t i,
	    int thread), void *arg);

#endif
