/*
 * tlsfp.c — JA3 (MD5) and JA4 (SHA-256) over the dissector's canonical
 * strings, through OpenSSL's EVP interface.  No other file of the TLS
 * metadata path touches OpenSSL (STYLE.md §7).
 */
#include "tlsfp.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

int tlsfp_hex_digest(const char *md, const char *s, char *out, size_t out_len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	EVP_MD *alg = EVP_MD_fetch(NULL, md, NULL);
	int r = -EIO;

	if (!alg || out_len == 0 || out_len > 65)
		goto out;
	if (EVP_Digest(s, strlen(s), d, &n, alg, NULL) != 1 || 2 * (size_t)n < out_len - 1)
		goto out;
	for (size_t i = 0; i + 1 < out_len; i++)
		out[i] = hex[i % 2 ? d[i / 2] & 15 : d[i / 2] >> 4];
	out[out_len - 1] = '\0';
	r = 0;
out:
	EVP_MD_free(alg);
	return r;
}

/* 12 hex digits of SHA-256, or twelve zeros for an empty list. */
static int ja4_hash12(const char *raw, char out[13])
{
	if (raw[0] == '\0') {
		memcpy(out, "000000000000", 13);
		return 0;
	}
	return tlsfp_hex_digest("SHA256", raw, out, 13);
}

int tlsfp_compute(const struct tls_client_hello *ch, struct tlsfp *ret)
{
	struct tlsfp *f = malloc(sizeof(*f));
	char b[13], c[13];
	int r = -EIO;

	if (!f)
		return -ENOMEM;
	if ((r = tls_ja3_string(ch, f->ja3_full, sizeof(f->ja3_full))) < 0 ||
	    (r = tls_ja4_input(ch, &f->ja4_in)) < 0)
		goto out;
	r = -EIO;
	if (tlsfp_hex_digest("MD5", f->ja3_full, f->ja3, sizeof(f->ja3)) < 0 ||
	    ja4_hash12(f->ja4_in.b_raw, b) < 0 || ja4_hash12(f->ja4_in.c_raw, c) < 0)
		goto out;
	/* a is 10 characters and b, c 12 each: exactly fills ja4. */
	memcpy(f->ja4, f->ja4_in.a, TLS_JA4_A_LEN);
	f->ja4[10] = '_';
	memcpy(f->ja4 + 11, b, 12);
	f->ja4[23] = '_';
	memcpy(f->ja4 + 24, c, 13);
	*ret = *f;
	r = 0;
out:
	free(f);
	return r;
}
