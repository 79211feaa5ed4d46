/*
 * digest.c — SHA-256 (FIPS 180-4) through OpenSSL's EVP interface.
 */
#include <openssl/evp.h>
#include <stdio.h>

#include "digest.h"

struct digest *digest_new(void)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	if (!c)
		return NULL;
	if (EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(c);
		return NULL;
	}
	return (struct digest *)c;
}

void digest_update(struct digest *d, const uint8_t *p, size_t n)
{
	if (d && n)
		EVP_DigestUpdate((EVP_MD_CTX *)d, p, n);
}

void digest_final(struct digest *d, char out[DIGEST_HEX_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	static const char hex[] = "0123456789abcdef";
	out[0] = '\0';
	if (!d || EVP_DigestFinal_ex((EVP_MD_CTX *)d, md, &n) != 1 || n != 32)
		return;
	for (unsigned int i = 0; i < n; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * n] = '\0';
}

void digest_free(struct digest *d)
{
	EVP_MD_CTX_free((EVP_MD_CTX *)d);
}
