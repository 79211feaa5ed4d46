/*
 * tlsdec.c — TLS key schedule and record decryption; the contract is in
 * tlsdec.h, this is how it is kept.  Every cryptographic operation is an
 * OpenSSL 3 EVP call: "TLS1-PRF" and "HKDF" (EVP_KDF), AEAD and CBC ciphers
 * (EVP_CIPHER), "HMAC" (EVP_MAC), RSA PKCS#1 v1.5 (EVP_PKEY), the transcript
 * hash (EVP_MD).  This file only arranges their inputs.
 *
 * References: RFC 2246 §5, §6.2.3.2, §6.3 (TLS 1.0: PRF = P_MD5 ⊕ P_SHA1,
 * CBC with the IV chained across records, key block with IVs); RFC 4346
 * §6.2.3.2 (TLS 1.1: explicit IV); RFC 5246 §5, §6.2.3, §6.3, §8.1 (TLS 1.2
 * PRF, record protection, key block, master secret); RFC 5288 §3 (GCM nonce);
 * RFC 7905 §2 (ChaCha20-Poly1305 nonce); RFC 7366 §3 (encrypt-then-MAC);
 * RFC 7627 §4 (extended master secret); RFC 8446 §5.2-5.4 (TLS 1.3 record,
 * nonce, inner plaintext), §7.1-7.3 (HKDF-Expand-Label, traffic keys,
 * KeyUpdate).
 *
 * The fragment handed to tlsdec_record(), per protection:
 *
 *   TLS 1.3        | E(content || type || zeros)                 | tag 16 |
 *                    nonce = iv ⊕ seq, AAD = the 5-byte record header
 *   1.2 AES-GCM    | explicit 8 | E(content)                     | tag 16 |
 *                    nonce = salt 4 (key block) || explicit 8
 *   1.2 ChaCha20   | E(content)                                  | tag 16 |
 *                    nonce = iv 12 (key block) ⊕ seq
 *                    AAD (both 1.2) = seq 8 || type || version || len(content)
 *   CBC MtE        | [IV] | E(content || MAC || padding)                  |
 *   CBC EtM        | [IV] | E(content || padding)                | MAC    |
 *                    IV: explicit block in 1.1/1.2; in 1.0 the last
 *                    ciphertext block of the previous record (first: key block)
 *                    MAC = HMAC(seq || type || version || len || data), data
 *                    the content (MtE) or IV || ciphertext (EtM)
 *
 * Invariants:
 *   - d->seq is the number of records this direction has processed with
 *     these keys: it advances on every record that got past framing (the
 *     length checks), authentic or not, and never otherwise;
 *   - TLS 1.0 CBC: d->iv is the last ciphertext block of the last record
 *     that got past framing, whatever its MAC said;
 *   - at most TLSDEC_MAX_PLAINTEXT bytes of `out` are ever written, and what
 *     a failed record wrote there is wiped before returning;
 *   - the fragment is read only within len, through struct buf;
 *   - key material lives in struct tlsdec and in the OpenSSL contexts it
 *     owns; both are wiped by tlsdec_free(); temporaries are cleansed.
 *
 * Ownership: a tlsdec owns its fetched EVP_CIPHER, its EVP_CIPHER_CTX and,
 * for CBC suites, a keyed EVP_MAC_CTX; nothing is cached globally, so two
 * threads never share OpenSSL state through this file.
 *
 * Timing: padding and MAC checks need not be constant-time for a passive
 * observer (no one can query it as an oracle); the MAC comparison uses
 * CRYPTO_memcmp anyway.
 */
#include "tlsdec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "buf.h"

#define TAG_LEN       16 /* every AEAD suite here: GCM, CCM (not CCM_8), Poly1305 */
#define NONCE_LEN     12 /* RFC 5116 N_MIN, what every AEAD suite here uses */
#define GCM_EXPLICIT  8  /* RFC 5288 §3: nonce_explicit */
#define GCM_SALT      4
#define SEQ_LEN       8
#define MAX_KEY       32
#define MAX_IV        16
#define MAX_MAC       48 /* HMAC-SHA384 */
#define MAX_BLOCK     16
#define PREMASTER_RSA 48

/*
 * CBC records are decrypted in two pieces: the head straight into `out`,
 * the last CBC_TAIL bytes into a local buffer.  Padding (<= 255 bytes and
 * its length byte) and the MAC (<= 48) always lie within the tail, so only
 * the content needs room in `out`.  A multiple of both block sizes (8, 16).
 */
#define CBC_TAIL (256 + MAX_MAC + MAX_BLOCK)

struct tlsdec {
	uint16_t version;
	const struct tls_suite *suite;
	bool etm;      /* CBC only */
	uint8_t block; /* CBC block size; 0 for AEAD */
	EVP_CIPHER *cipher;
	EVP_CIPHER_CTX *cctx;
	EVP_MAC_CTX *hmac; /* CBC: keyed with this direction's MAC key */
	uint64_t seq;
	uint8_t key[MAX_KEY];
	uint8_t iv[MAX_IV]; /* AEAD: fixed IV / salt; TLS 1.0 CBC: next record's IV */
	enum tls_hash hash; /* TLS 1.3: HKDF hash */
	uint8_t secret[TLSDEC_MAX_SECRET]; /* TLS 1.3: current traffic secret */
	size_t secret_len;
};

struct tlsdec_hash {
	EVP_MD_CTX *ctx;
	bool failed;
};

struct tlsdec_rsa {
	EVP_PKEY *pkey;
};

/*
 * Names and sizes.
 */

static const char *hash_name(enum tls_hash h)
{
	switch (h) {
	case TLS_HASH_MD5_SHA1:
		return "MD5-SHA1"; /* OpenSSL's TLS1-PRF splits it as RFC 2246 §5 wants */
	case TLS_HASH_SHA1:
		return "SHA1";
	case TLS_HASH_SHA256:
		return "SHA256";
	case TLS_HASH_SHA384:
		return "SHA384";
	case TLS_HASH_NONE:
		break;
	}
	return NULL;
}

static size_t hash_len(enum tls_hash h)
{
	switch (h) {
	case TLS_HASH_MD5_SHA1:
		return 36;
	case TLS_HASH_SHA1:
		return 20;
	case TLS_HASH_SHA256:
		return 32;
	case TLS_HASH_SHA384:
		return 48;
	case TLS_HASH_NONE:
		break;
	}
	return 0;
}

static const char *cipher_name(enum tls_cipher c)
{
	switch (c) {
	case TLS_CIPHER_AES_128_GCM:
		return "AES-128-GCM";
	case TLS_CIPHER_AES_256_GCM:
		return "AES-256-GCM";
	case TLS_CIPHER_AES_128_CCM:
		return "AES-128-CCM";
	case TLS_CIPHER_CHACHA20_POLY1305:
		return "ChaCha20-Poly1305";
	case TLS_CIPHER_AES_128_CBC:
		return "AES-128-CBC";
	case TLS_CIPHER_AES_256_CBC:
		return "AES-256-CBC";
	case TLS_CIPHER_3DES_EDE_CBC:
		return "DES-EDE3-CBC";
	}
	return NULL;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

/*
 * Key derivation.
 */

static int kdf_derive(const char *alg, const OSSL_PARAM *params, uint8_t *out, size_t out_len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, alg, NULL);
	EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	int r = kctx && EVP_KDF_derive(kctx, out, out_len, params) > 0 ? 0 : -EIO;

	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	if (r < 0)
		ERR_clear_error();
	return r;
}

/* PRF(secret, label, s1 || s2) of RFC 5246 §5 (RFC 2246 §5 with MD5-SHA1). */
static int prf(enum tls_hash h, const uint8_t *secret, size_t secret_len, const char *label,
               const uint8_t *s1, size_t n1, const uint8_t *s2, size_t n2, uint8_t *out,
               size_t out_len)
{
	const char *md = hash_name(h);
	size_t ll = strlen(label);
	uint8_t seed[32 + 2 * 64];

	if (!md || ll > 32 || n1 > 64 || n2 > 64)
		return -EINVAL;
	memcpy(seed, label, ll);
	if (n1)
		memcpy(seed + ll, s1, n1);
	if (n2)
		memcpy(seed + ll + n1, s2, n2);

	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)md, 0),
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, (void *)secret, secret_len),
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, seed, ll + n1 + n2),
	    OSSL_PARAM_construct_end(),
	};
	return kdf_derive("TLS1-PRF", params, out, out_len);
}

/*
 * HKDF-Expand-Label(secret, label, "", out_len) of RFC 8446 §7.1, with the
 * HkdfLabel
 *
 *   uint16 length | uint8 n | "tls13 " label (n bytes) | uint8 0 (context)
 */
static int hkdf_expand_label(enum tls_hash h, const uint8_t *secret, size_t secret_len,
                             const char *label, uint8_t *out, size_t out_len)
{
	static const char prefix[] = "tls13 ";
	const size_t pl = sizeof(prefix) - 1;
	const char *md = hash_name(h);
	size_t ll = strlen(label);
	uint8_t info[2 + 1 + 6 + 32 + 1];
	int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;

	if (!md || h == TLS_HASH_MD5_SHA1 || ll > 32 || out_len > 255)
		return -EINVAL;
	info[0] = (uint8_t)(out_len >> 8);
	info[1] = (uint8_t)out_len;
	info[2] = (uint8_t)(pl + ll);
	memcpy(info + 3, prefix, pl);
	memcpy(info + 3 + pl, label, ll);
	info[3 + pl + ll] = 0;

	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
	    OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)md, 0),
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, secret_len),
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, 4 + pl + ll),
	    OSSL_PARAM_construct_end(),
	};
	return kdf_derive("HKDF", params, out, out_len);
}

int tlsdec_master_secret(enum tls_hash prf_hash, const uint8_t *premaster, size_t premaster_len,
                         const uint8_t client_random[32], const uint8_t server_random[32],
                         const uint8_t *session_hash, size_t session_hash_len,
                         uint8_t ret_master[TLSDEC_MASTER_LEN])
{
	uint8_t ms[TLSDEC_MASTER_LEN];
	int r;

	if (!premaster || !premaster_len || !ret_master)
		return -EINVAL;
	if (session_hash)
		r = session_hash_len
		        ? prf(prf_hash, premaster, premaster_len, "extended master secret",
		              session_hash, session_hash_len, NULL, 0, ms, sizeof(ms))
		        : -EINVAL;
	else if (client_random && server_random)
		r = prf(prf_hash, premaster, premaster_len, "master secret", client_random,
		        TLS_RANDOM_LEN, server_random, TLS_RANDOM_LEN, ms, sizeof(ms));
	else
		r = -EINVAL;
	if (r == 0)
		memcpy(ret_master, ms, sizeof(ms));
	OPENSSL_cleanse(ms, sizeof(ms));
	return r;
}

/*
 * Construction.
 */

void tlsdec_free(struct tlsdec *d)
{
	if (!d)
		return;
	EVP_CIPHER_CTX_free(d->cctx); /* cleanses the expanded key */
	EVP_CIPHER_free(d->cipher);
	EVP_MAC_CTX_free(d->hmac); /* likewise the HMAC key */
	OPENSSL_cleanse(d, sizeof(*d));
	free(d);
}

/* The suite table agrees with what OpenSSL says about the cipher. */
static bool suite_fits(const struct tls_suite *s, const EVP_CIPHER *c)
{
	size_t bs = (size_t)EVP_CIPHER_get_block_size(c);

	if (s->key_len > MAX_KEY || (size_t)EVP_CIPHER_get_key_length(c) != s->key_len)
		return false;
	if (s->aead)
		return s->tag_len == TAG_LEN && s->mac_len == 0 &&
		       (s->iv_len == NONCE_LEN || s->iv_len == GCM_SALT);
	return bs <= MAX_BLOCK && s->iv_len == bs && s->mac_len <= MAX_MAC &&
	       s->mac_len == hash_len(s->mac) && s->mac != TLS_HASH_MD5_SHA1;
}

/* A tlsdec with its cipher fetched and no keys yet; NULL on failure. */
static struct tlsdec *dec_alloc(const struct tlsdec_params *p)
{
	const char *name = cipher_name(p->suite->cipher);
	struct tlsdec *d = name ? calloc(1, sizeof(*d)) : NULL;

	if (!d)
		return NULL;
	d->version = p->version;
	d->suite = p->suite;
	d->etm = p->encrypt_then_mac && !p->suite->aead;
	d->cipher = EVP_CIPHER_fetch(NULL, name, NULL);
	d->cctx = EVP_CIPHER_CTX_new();
	if (!d->cipher || !d->cctx || !suite_fits(p->suite, d->cipher)) {
		ERR_clear_error();
		tlsdec_free(d);
		return NULL;
	}
	if (!p->suite->aead)
		d->block = (uint8_t)EVP_CIPHER_get_block_size(d->cipher);
	return d;
}

static int hmac_setup(struct tlsdec *d, const uint8_t *key, size_t len)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	                                     (char *)hash_name(d->suite->mac), 0),
	    OSSL_PARAM_construct_end(),
	};

	d->hmac = mac ? EVP_MAC_CTX_new(mac) : NULL; /* the context holds its own reference */
	EVP_MAC_free(mac);
	if (!d->hmac || EVP_MAC_init(d->hmac, key, len, params) <= 0) {
		ERR_clear_error();
		return -EIO;
	}
	return 0;
}

/*
 * RFC 5246 §6.3 key block, PRF(master, "key expansion", server_random ||
 * client_random):
 *
 *   client MAC | server MAC | client key | server key | client IV | server IV
 *
 * IVs are taken for AEAD (fixed IV) and for TLS 1.0 CBC only; TLS 1.1/1.2
 * CBC carry them in each record (RFC 5246 §6.3 sizes its example without).
 */
struct tlsdec *tlsdec_new_tls12(const struct tlsdec_params *p,
                                const uint8_t master[TLSDEC_MASTER_LEN],
                                const uint8_t client_random[32], const uint8_t server_random[32],
                                int dir, enum tlsdec_result *ret_err)
{
	const struct tls_suite *s = p ? p->suite : NULL;
	uint8_t kb[2 * (MAX_MAC + MAX_KEY + MAX_IV)];
	struct tlsdec *d = NULL;

	if (!s || !master || !client_random || !server_random || (dir != 0 && dir != 1) ||
	    p->version < TLS_V10 || p->version > TLS_V12 || p->version < s->min_version ||
	    p->version > s->max_version)
		goto fail;
	d = dec_alloc(p);
	if (!d)
		goto fail;

	size_t ivl = s->aead || p->version == TLS_V10 ? s->iv_len : 0;
	size_t kb_len = 2 * ((size_t)s->mac_len + s->key_len + ivl);
	size_t off_mac = (size_t)dir * s->mac_len;
	size_t off_key = 2 * (size_t)s->mac_len + (size_t)dir * s->key_len;
	size_t off_iv = 2 * ((size_t)s->mac_len + s->key_len) + (size_t)dir * ivl;

	if (prf(tls_suite_prf(s, p->version), master, TLSDEC_MASTER_LEN, "key expansion",
	        server_random, TLS_RANDOM_LEN, client_random, TLS_RANDOM_LEN, kb, kb_len) < 0)
		goto fail;
	memcpy(d->key, kb + off_key, s->key_len);
	if (ivl)
		memcpy(d->iv, kb + off_iv, ivl);
	if (!s->aead && hmac_setup(d, kb + off_mac, s->mac_len) < 0)
		goto fail;
	OPENSSL_cleanse(kb, sizeof(kb));
	return d;

fail:
	OPENSSL_cleanse(kb, sizeof(kb));
	tlsdec_free(d);
	if (ret_err)
		*ret_err = TLSDEC_UNSUPPORTED;
	return NULL;
}

/* RFC 8446 §7.3: write key and IV from the current traffic secret. */
static int tls13_keys(struct tlsdec *d)
{
	if (hkdf_expand_label(d->hash, d->secret, d->secret_len, "key", d->key, d->suite->key_len) <
	        0 ||
	    hkdf_expand_label(d->hash, d->secret, d->secret_len, "iv", d->iv, NONCE_LEN) < 0)
		return -EIO;
	d->seq = 0;
	return 0;
}

struct tlsdec *tlsdec_new_tls13(const struct tlsdec_params *p, const uint8_t *secret,
                                size_t secret_len, enum tlsdec_result *ret_err)
{
	const struct tls_suite *s = p ? p->suite : NULL;
	struct tlsdec *d = NULL;

	if (!s || p->version != TLS_V13 || s->min_version != TLS_V13 || !s->aead ||
	    s->iv_len != NONCE_LEN || !secret || secret_len != hash_len(s->prf) ||
	    secret_len > TLSDEC_MAX_SECRET)
		goto fail;
	d = dec_alloc(p);
	if (!d)
		goto fail;
	d->hash = s->prf;
	memcpy(d->secret, secret, secret_len);
	d->secret_len = secret_len;
	if (tls13_keys(d) < 0)
		goto fail;
	return d;

fail:
	tlsdec_free(d);
	if (ret_err)
		*ret_err = TLSDEC_UNSUPPORTED;
	return NULL;
}

/* RFC 8446 §7.2: secret_N+1 = HKDF-Expand-Label(secret_N, "traffic upd", "", Hash.length). */
int tlsdec_key_update(struct tlsdec *d)
{
	uint8_t next[TLSDEC_MAX_SECRET];
	int r;

	if (!d || d->version != TLS_V13)
		return -EINVAL;
	r = hkdf_expand_label(d->hash, d->secret, d->secret_len, "traffic upd", next,
	                      d->secret_len);
	if (r == 0) {
		memcpy(d->secret, next, d->secret_len);
		r = tls13_keys(d);
	}
	OPENSSL_cleanse(next, sizeof(next));
	return r;
}

uint64_t tlsdec_seq(const struct tlsdec *d)
{
	return d ? d->seq : 0;
}

/*
 * Records.
 */

/* iv ⊕ the sequence number left-padded to 12 bytes (RFC 8446 §5.3, RFC 7905 §2). */
static void xor_nonce(const struct tlsdec *d, uint8_t nonce[NONCE_LEN])
{
	uint8_t s[SEQ_LEN];

	put_be64(s, d->seq);
	memcpy(nonce, d->iv, NONCE_LEN);
	for (size_t i = 0; i < SEQ_LEN; i++)
		nonce[NONCE_LEN - SEQ_LEN + i] ^= s[i];
}

/*
 * One AEAD open: n ciphertext bytes into out.  CCM wants its nonce length
 * and tag before the key and the total length before the AAD, and checks
 * the tag in the last update; GCM and ChaCha20-Poly1305 check it in Final.
 * Anything that fails, authentication or OpenSSL, is AUTH_FAIL: the record
 * could not be authenticated.
 */
static enum tlsdec_result aead_open(struct tlsdec *d, const uint8_t nonce[NONCE_LEN],
                                    const uint8_t *aad, size_t aad_len, const uint8_t *ct, size_t n,
                                    const uint8_t *tag, uint8_t *out)
{
	EVP_CIPHER_CTX *c = d->cctx;
	bool ccm = d->suite->cipher == TLS_CIPHER_AES_128_CCM;
	int l1 = 0, l2 = 0;
	bool ok;

	ok = EVP_DecryptInit_ex2(c, d->cipher, NULL, NULL, NULL) > 0 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, NONCE_LEN, NULL) > 0 &&
	     (!ccm || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, (void *)tag) > 0) &&
	     EVP_DecryptInit_ex2(c, NULL, d->key, nonce, NULL) > 0 &&
	     (!ccm || EVP_DecryptUpdate(c, NULL, &l1, NULL, (int)n) > 0) &&
	     EVP_DecryptUpdate(c, NULL, &l1, aad, (int)aad_len) > 0 &&
	     EVP_DecryptUpdate(c, out, &l1, ct, (int)n) > 0 && (size_t)l1 == n;
	if (ok && !ccm)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, (void *)tag) > 0 &&
		     EVP_DecryptFinal_ex(c, out + n, &l2) > 0 && l2 == 0;
	if (!ok) {
		OPENSSL_cleanse(out, n);
		ERR_clear_error();
		return TLSDEC_AUTH_FAIL;
	}
	return TLSDEC_OK;
}

/* RFC 8446 §5.2: TLSCiphertext, then §5.4 TLSInnerPlaintext. */
static enum tlsdec_result record13(struct tlsdec *d, uint8_t type, uint16_t version,
                                   const uint8_t *frag, size_t len, uint8_t *out, size_t *ret_len,
                                   uint8_t *ret_type)
{
	/* At least the inner content type; at most 2^14 + 256. */
	if (len <= TAG_LEN || len > TLS_MAX_CIPHERTEXT_13)
		return TLSDEC_BAD_RECORD;

	struct buf b = buf_init(frag, len);
	size_t n = len - TAG_LEN;
	const uint8_t *ct = buf_take(&b, n);
	const uint8_t *tag = buf_take(&b, TAG_LEN);
	uint8_t aad[TLS_RECORD_HEADER] = {type, (uint8_t)(version >> 8), (uint8_t)version,
	                                  (uint8_t)(len >> 8), (uint8_t)len};
	uint8_t nonce[NONCE_LEN];

	xor_nonce(d, nonce);
	enum tlsdec_result r = aead_open(d, nonce, aad, sizeof(aad), ct, n, tag, out);
	d->seq++;
	if (r != TLSDEC_OK)
		return r;

	/* The content type is the last non-zero byte; an all-zero inner
	 * plaintext is malformed (§5.4: unexpected_message) though authentic. */
	size_t end = n;
	while (end > 0 && out[end - 1] == 0)
		end--;
	if (end == 0)
		return TLSDEC_BAD_RECORD;
	*ret_type = out[end - 1];
	*ret_len = end - 1;
	return TLSDEC_OK;
}

/* TLS 1.2 AEAD: RFC 5246 §6.2.3.3 with RFC 5288 §3 (GCM) or RFC 7905 §2. */
static enum tlsdec_result record12_aead(struct tlsdec *d, uint8_t type, uint16_t version,
                                        const uint8_t *frag, size_t len, uint8_t *out,
                                        size_t *ret_len)
{
	bool chacha = d->suite->cipher == TLS_CIPHER_CHACHA20_POLY1305;
	size_t explicit_len = chacha ? 0 : GCM_EXPLICIT;

	if (len < explicit_len + TAG_LEN || len > TLS_MAX_CIPHERTEXT_12)
		return TLSDEC_BAD_RECORD;
	size_t n = len - explicit_len - TAG_LEN;
	if (n > TLS_MAX_PLAINTEXT)
		return TLSDEC_BAD_RECORD;

	struct buf b = buf_init(frag, len);
	uint8_t nonce[NONCE_LEN];
	if (chacha) {
		xor_nonce(d, nonce);
	} else {
		memcpy(nonce, d->iv, GCM_SALT);
		buf_copy(&b, nonce + GCM_SALT, GCM_EXPLICIT);
	}
	const uint8_t *ct = buf_take(&b, n);
	const uint8_t *tag = buf_take(&b, TAG_LEN);
	if (!buf_ok(&b))
		return TLSDEC_BAD_RECORD; /* not reached: lengths checked above */

	uint8_t aad[SEQ_LEN + 5];
	put_be64(aad, d->seq);
	aad[8] = type;
	aad[9] = (uint8_t)(version >> 8);
	aad[10] = (uint8_t)version;
	aad[11] = (uint8_t)(n >> 8);
	aad[12] = (uint8_t)n;

	enum tlsdec_result r = aead_open(d, nonce, aad, sizeof(aad), ct, n, tag, out);
	d->seq++;
	if (r == TLSDEC_OK)
		*ret_len = n;
	return r;
}

/* HMAC(seq || type || version || n || data) equals mac (RFC 5246 §6.2.3.1). */
static bool mac_ok(struct tlsdec *d, uint8_t type, uint16_t version, const uint8_t *data, size_t n,
                   const uint8_t *mac)
{
	uint8_t hdr[SEQ_LEN + 5], got[EVP_MAX_MD_SIZE];
	size_t got_len = 0;

	put_be64(hdr, d->seq);
	hdr[8] = type;
	hdr[9] = (uint8_t)(version >> 8);
	hdr[10] = (uint8_t)version;
	hdr[11] = (uint8_t)(n >> 8);
	hdr[12] = (uint8_t)n;
	/* A NULL key re-initialises with the key already set (EVP_MAC_init(3)). */
	bool ok = EVP_MAC_init(d->hmac, NULL, 0, NULL) > 0 &&
	          EVP_MAC_update(d->hmac, hdr, sizeof(hdr)) > 0 &&
	          (n == 0 || EVP_MAC_update(d->hmac, data, n) > 0) &&
	          EVP_MAC_final(d->hmac, got, &got_len, sizeof(got)) > 0 &&
	          got_len == d->suite->mac_len && CRYPTO_memcmp(got, mac, got_len) == 0;
	if (!ok)
		ERR_clear_error();
	OPENSSL_cleanse(got, sizeof(got));
	return ok;
}

/*
 * CBC-decrypts n bytes (a block multiple): all but the last CBC_TAIL into
 * out, those into tail.  *ret_head is how many went to out.
 */
static bool cbc_decrypt(struct tlsdec *d, const uint8_t *iv, const uint8_t *ct, size_t n,
                        uint8_t *out, uint8_t tail[CBC_TAIL + MAX_BLOCK], size_t *ret_head)
{
	EVP_CIPHER_CTX *c = d->cctx;
	size_t head = n > CBC_TAIL ? n - CBC_TAIL : 0;
	struct buf b = buf_init(ct, n);
	const uint8_t *h = buf_take(&b, head);
	const uint8_t *t = buf_take(&b, n - head);
	int l1 = 0, l2 = 0, l3 = 0;

	bool ok = h && t && EVP_DecryptInit_ex2(c, d->cipher, d->key, iv, NULL) > 0 &&
	          EVP_CIPHER_CTX_set_padding(c, 0) > 0 &&
	          (head == 0 || EVP_DecryptUpdate(c, out, &l1, h, (int)head) > 0) &&
	          (size_t)l1 == head && EVP_DecryptUpdate(c, tail, &l2, t, (int)(n - head)) > 0 &&
	          EVP_DecryptFinal_ex(c, tail + l2, &l3) > 0 && (size_t)l2 + (size_t)l3 == n - head;
	if (!ok) {
		OPENSSL_cleanse(out, head);
		ERR_clear_error();
	}
	*ret_head = head;
	return ok;
}

/*
 * After framing: decrypt, check padding and MAC, deliver the content.  The
 * fragment is [iv] || ct || [mac]; `macd` is what EtM authenticates
 * (iv || ct).
 */
static enum tlsdec_result cbc_open(struct tlsdec *d, uint8_t type, uint16_t version,
                                   const uint8_t *iv, const uint8_t *ct, size_t ct_len,
                                   const uint8_t *macd, size_t macd_len, const uint8_t *etm_mac,
                                   uint8_t *out, size_t *ret_len)
{
	size_t ml = d->suite->mac_len, inner_mac = d->etm ? 0 : ml, head = 0;
	uint8_t tail[CBC_TAIL + MAX_BLOCK];
	enum tlsdec_result r = TLSDEC_AUTH_FAIL;

	if (d->etm && !mac_ok(d, type, version, macd, macd_len, etm_mac))
		return TLSDEC_AUTH_FAIL;
	if (!cbc_decrypt(d, iv, ct, ct_len, out, tail, &head))
		goto out;

	/* tail holds the last tail_len >= min(ct_len, 256 + ml) plaintext bytes. */
	size_t tail_len = ct_len - head;
	size_t pad = tail[tail_len - 1];
	if (pad + 1 + inner_mac > ct_len)
		goto out;
	for (size_t i = 0; i <= pad; i++)
		if (tail[tail_len - 1 - i] != pad)
			goto out;
	size_t content = ct_len - pad - 1 - inner_mac; /* >= head, <= 2^14 + 255 */
	if (content < head || content > TLSDEC_MAX_PLAINTEXT)
		goto out;
	if (content > head)
		memcpy(out + head, tail, content - head);
	if (!d->etm && !mac_ok(d, type, version, out, content, tail + (content - head)))
		goto out;
	*ret_len = content;
	r = TLSDEC_OK;
out:
	if (r != TLSDEC_OK)
		OPENSSL_cleanse(out, ct_len < TLSDEC_MAX_PLAINTEXT ? ct_len : TLSDEC_MAX_PLAINTEXT);
	OPENSSL_cleanse(tail, sizeof(tail));
	return r;
}

/*
 * CBC framing (RFC 5246 §6.2.3.2, RFC 7366 §3): the ciphertext is a
 * non-empty block multiple with room for the MAC and the padding length
 * byte, and no longer than content 2^14 + MAC + 256 bytes of padding.
 */
static enum tlsdec_result record_cbc(struct tlsdec *d, uint8_t type, uint16_t version,
                                     const uint8_t *frag, size_t len, uint8_t *out, size_t *ret_len)
{
	size_t bs = d->block, ml = d->suite->mac_len;
	size_t ivl = d->version >= TLS_V11 ? bs : 0;
	size_t inner_mac = d->etm ? 0 : ml;

	if (len < ivl + (d->etm ? ml : 0))
		return TLSDEC_BAD_RECORD;
	size_t ct_len = len - ivl - (d->etm ? ml : 0);
	if (ct_len == 0 || ct_len % bs || ct_len < inner_mac + 1 ||
	    ct_len > TLS_MAX_PLAINTEXT + inner_mac + 256)
		return TLSDEC_BAD_RECORD;

	struct buf b = buf_init(frag, len);
	uint8_t iv[MAX_BLOCK];
	if (ivl)
		buf_copy(&b, iv, ivl);
	else
		memcpy(iv, d->iv, bs);
	struct buf c = buf_sub(&b, ct_len);
	const uint8_t *ct = buf_rest(&c);
	const uint8_t *etm_mac = d->etm ? buf_take(&b, ml) : NULL;
	struct buf whole = buf_init(frag, len);
	const uint8_t *macd = buf_take(&whole, ivl + ct_len);
	if (!buf_ok(&b) || !ct || !macd)
		return TLSDEC_BAD_RECORD; /* not reached: lengths checked above */

	/* TLS 1.0: the next record's IV is this one's last ciphertext block,
	 * whether or not this one authenticates (RFC 2246 §6.2.3.2). */
	if (!ivl) {
		buf_skip(&c, ct_len - bs);
		buf_copy(&c, d->iv, bs);
	}
	enum tlsdec_result r =
	    cbc_open(d, type, version, iv, ct, ct_len, macd, ivl + ct_len, etm_mac, out, ret_len);
	d->seq++;
	return r;
}

enum tlsdec_result tlsdec_record(struct tlsdec *d, uint8_t type, uint16_t version,
                                 const uint8_t *fragment, size_t len, uint8_t *out, size_t *ret_len,
                                 uint8_t *ret_type)
{
	enum tlsdec_result r;
	size_t n = 0;
	uint8_t t = type;

	if (!d || !out || (!fragment && len))
		return TLSDEC_BAD_RECORD;
	if (d->version == TLS_V13)
		r = record13(d, type, version, fragment, len, out, &n, &t);
	else if (d->suite->aead)
		r = record12_aead(d, type, version, fragment, len, out, &n);
	else
		r = record_cbc(d, type, version, fragment, len, out, &n);
	if (r == TLSDEC_OK) {
		if (ret_len)
			*ret_len = n;
		if (ret_type)
			*ret_type = t;
	}
	return r;
}

/*
 * Transcript hash (RFC 7627 §3): TLS 1.0/1.1 hash MD5(msgs) || SHA1(msgs),
 * which is exactly OpenSSL's "MD5-SHA1" digest; TLS 1.2 the PRF hash.
 */

struct tlsdec_hash *tlsdec_hash_new(enum tls_hash h)
{
	const char *name = hash_name(h);
	EVP_MD *md = name ? EVP_MD_fetch(NULL, name, NULL) : NULL;
	struct tlsdec_hash *th = md ? calloc(1, sizeof(*th)) : NULL;

	if (th) {
		th->ctx = EVP_MD_CTX_new();
		if (!th->ctx || EVP_DigestInit_ex2(th->ctx, md, NULL) <= 0) {
			tlsdec_hash_free(th);
			th = NULL;
		}
	}
	EVP_MD_free(md); /* the context keeps its own reference */
	if (!th)
		ERR_clear_error();
	return th;
}

void tlsdec_hash_update(struct tlsdec_hash *h, const uint8_t *p, size_t n)
{
	if (!h || n == 0 || h->failed)
		return;
	if (!p || EVP_DigestUpdate(h->ctx, p, n) <= 0) {
		h->failed = true;
		ERR_clear_error();
	}
}

size_t tlsdec_hash_peek(const struct tlsdec_hash *h, uint8_t *out, size_t out_size)
{
	EVP_MD_CTX *copy;
	unsigned int n = 0;
	int size;

	if (!h || !out || h->failed)
		return 0;
	size = EVP_MD_CTX_get_size(h->ctx);
	if (size <= 0 || (size_t)size > out_size)
		return 0;
	copy = EVP_MD_CTX_new();
	if (!copy || EVP_MD_CTX_copy_ex(copy, h->ctx) <= 0 ||
	    EVP_DigestFinal_ex(copy, out, &n) <= 0 || n != (unsigned int)size) {
		n = 0;
		ERR_clear_error();
	}
	EVP_MD_CTX_free(copy);
	return n;
}

void tlsdec_hash_free(struct tlsdec_hash *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

/*
 * RSA key exchange (RFC 5246 §7.4.7.1).
 */

/* Encrypted keys are refused rather than prompted for on the terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

int tlsdec_rsa_load(const char *path, struct tlsdec_rsa **ret, char *err, size_t errlen)
{
	char eb[128];
	const char *why = NULL;
	EVP_PKEY *pkey = NULL;
	struct tlsdec_rsa *k = NULL;
	BIO *bio = NULL;
	int r = 0;

	if (!path || !ret)
		return -EINVAL;
	errno = 0;
	bio = BIO_new_file(path, "r");
	if (!bio) {
		r = errno ? -errno : -EIO;
		why = strerror_r(-r, eb, sizeof(eb));
		goto out;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	if (!pkey) {
		r = -EINVAL;
		why = "no unencrypted PEM private key (PKCS#1 or PKCS#8)";
	} else if (!EVP_PKEY_is_a(pkey, "RSA")) {
		r = -EINVAL;
		why = "not an RSA private key";
	} else if (!(k = calloc(1, sizeof(*k)))) {
		r = -ENOMEM;
		why = "out of memory";
	} else {
		k->pkey = pkey;
		pkey = NULL;
		*ret = k;
	}
out:
	if (r < 0) {
		ERR_clear_error();
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, why);
	}
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	return r;
}

/* Plain PKCS#1 v1.5 (no implicit rejection, which OpenSSL >= 3.2 would
 * otherwise apply, answering a wrong key with a random secret). */
static int rsa_ctx_setup(EVP_PKEY_CTX *c)
{
	if (EVP_PKEY_decrypt_init(c) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) <= 0)
		return -EIO;
#ifdef OSSL_ASYM_CIPHER_PARAM_IMPLICIT_REJECTION
	unsigned int off = 0;
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_uint(OSSL_ASYM_CIPHER_PARAM_IMPLICIT_REJECTION, &off),
	    OSSL_PARAM_construct_end(),
	};
	if (EVP_PKEY_CTX_set_params(c, params) <= 0)
		return -EIO;
#endif
	return 0;
}

int tlsdec_rsa_premaster(const struct tlsdec_rsa *k, const uint8_t *enc, size_t enc_len,
                         uint8_t ret_premaster[48])
{
	EVP_PKEY_CTX *c = NULL;
	uint8_t *pt = NULL;
	size_t cap = 0, n;
	int r;

	if (!k || !enc || !enc_len || !ret_premaster)
		return -EINVAL;
	c = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
	r = c ? rsa_ctx_setup(c) : -ENOMEM;
	if (r < 0)
		goto out;
	if (EVP_PKEY_decrypt(c, NULL, &cap, enc, enc_len) <= 0 || cap == 0) {
		r = -EINVAL;
		goto out;
	}
	pt = OPENSSL_malloc(cap);
	if (!pt) {
		r = -ENOMEM;
		goto out;
	}
	n = cap;
	if (EVP_PKEY_decrypt(c, pt, &n, enc, enc_len) <= 0 || n != PREMASTER_RSA) {
		r = -EBADMSG;
		goto out;
	}
	memcpy(ret_premaster, pt, PREMASTER_RSA);
	r = 0;
out:
	if (r < 0)
		ERR_clear_error();
	OPENSSL_clear_free(pt, cap);
	EVP_PKEY_CTX_free(c);
	return r;
}

void tlsdec_rsa_free(struct tlsdec_rsa *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}
