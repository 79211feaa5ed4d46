/*
 * ascii.h — ASCII character helpers shared by the parsers (locale-free:
 * protocol text is ASCII whatever the process locale says).
 */
#ifndef MDM_ASCII_H
#define MDM_ASCII_H

#include <stdbool.h>
#include <stddef.h>

/* The value of a hex digit, -1 for anything else. */
static inline int ascii_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static inline int ascii_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* True when needle[0..k) occurs in hay[0..n), ASCII case-insensitive;
 * true for an empty needle. */
static inline bool ascii_contains_ci(const char *hay, size_t n, const char *needle, size_t k)
{
	for (size_t i = 0; k <= n && i <= n - k; i++) {
		size_t j = 0;
		while (j < k && ascii_lower((unsigned char)hay[i + j]) ==
		                    ascii_lower((unsigned char)needle[j]))
			j++;
		if (j == k)
			return true;
	}
	return k == 0;
}

#endif /* MDM_ASCII_H */
