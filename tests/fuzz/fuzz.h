/*
 * fuzz.h — what every fuzz target in tests/fuzz/ shares.
 *
 * Each fuzz_<name>.c exports the libFuzzer entry point below and nothing
 * else.  The same source links either with libFuzzer (-Dfuzz=true, clang)
 * or with replay.c, which calls the entry point on every file of a corpus
 * directory so that the corpora replay in the normal `meson test` run.
 *
 * Targets read their own input only through the checked cursor (buf.h), as
 * everything else in the tree does; FUZZ_CHECK is for the invariants a
 * header promises: a violation prints where it was and aborts, which
 * libFuzzer reports as a crash and the replay as a failed test.
 */
#ifndef MDM_FUZZ_H
#define MDM_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__, __LINE__,     \
			        #cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* True when the n bytes at p lie inside [base, base + len). */
static inline int fuzz_within(const void *p, size_t n, const void *base, size_t len)
{
	uintptr_t a = (uintptr_t)p, b = (uintptr_t)base;

	if (!n)
		return 1;
	return p && a >= b && a - b <= len && n <= len - (a - b);
}

/* True when s holds a NUL within its first size bytes. */
static inline int fuzz_terminated(const char *s, size_t size)
{
	for (size_t i = 0; i < size; i++)
		if (!s[i])
			return 1;
	return 0;
}

#endif /* MDM_FUZZ_H */
