/*
 * fuzz.h: what every fuzz target shares.  A target is one file that
 * defines LLVMFuzzerTestOneInput(); built with clang's libFuzzer it
 * fuzzes (make fuzz), linked with replay.c it runs the inputs it is
 * given, once each (make check).
 *
 * A target checks what the code under test promises, beyond not
 * crashing: fuzz_assert() aborts, which both drivers report.
 */
#ifndef PM_FUZZ_H
#define PM_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define fuzz_assert(c) do {						\
	if (!(c)) {							\
		fprintf(stderr, "%s:%d: assertion failed: %s\n",	\
		    __FILE__, __LINE__, #c);				\
		abort();						\
	}								\
} while (0)

#endif
