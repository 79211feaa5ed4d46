/*
 * ascii.h — ASCII character helpers shared by the parsers (locale-free:
 * protocol text is ASCII whatever the process locale says).
 */
#ifndef MDM_ASCII_H
#define MDM_ASCII_H

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

#endif /* MDM_ASCII_H */
