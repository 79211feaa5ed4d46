/*
 * test_tlsdec.c — TLS key schedule and record decryption (sensor/tlsdec.c)
 * against published and recorded known answers, never only against itself.
 *
 * 1. RFC 8448 §3 "Simple 1-RTT Handshake" (TLS_AES_128_GCM_SHA256): the
 *    server handshake and the client/server application traffic secrets,
 *    write keys/IVs and protected records below are the values printed in
 *    the RFC ("complete record" minus its 5-byte header).  The keys tlsdec
 *    derives are checked against the RFC's listed key and iv by sealing a
 *    record here with the listed ones (seal13, plain EVP) and opening it with
 *    tlsdec built from the secret; then the RFC's own records are opened.
 *
 * 2. Real captures, pcaps/<case>/ (lab/make-tls.sh: curl/OpenSSL 3.0 or
 *    GnuTLS against Python's ssl, README.md of each case).  The arrays were
 *    extracted at test-writing time, not at run time, with
 *      tshark -r <case>.pcap -q -z follow,tcp,raw,0
 *    whose two hex streams were split into records by a 20-line Python
 *    script (type, version, 2-byte length):
 *      - client_random / server_random: bytes 6..37 of the first client /
 *        server record's fragment (ClientHello / ServerHello body);
 *      - suite, negotiated version and encrypt_then_mac: parsed from the
 *        ServerHello (TLS 1.2: the version of the client's records);
 *      - secret: from the case's keys.txt, the CLIENT_RANDOM master secret
 *        (TLS <= 1.2) or CLIENT_TRAFFIC_SECRET_0 (TLS 1.3) of that random;
 *      - recs: the client's records right after its ChangeCipherSpec —
 *        TLS <= 1.2: the encrypted Finished, then application data; TLS
 *        1.3: the first records after the client Finished (which is under
 *        the handshake keys and not included).
 *    Every case must decrypt to the request line tshark -o tls.keylog_file
 *    decrypted first (tshark-requests.txt, the same for every case):
 *    REQUEST1 below, then " HTTP/1.1".
 *
 * 3. RSA key exchange (pcaps/tls-12-rsa-kx, TLS_RSA_WITH_AES_128_GCM_SHA256,
 *    extended master secret): the handshake messages ClientHello,
 *    ServerHello, Certificate, ServerHelloDone, ClientKeyExchange, as the
 *    fragments of client record 0, server records 0-2 and client record 1
 *    (same extraction); the encrypted pre-master secret is the last 256
 *    bytes (the ClientKeyExchange body after its 2-byte length).  With
 *    server-key.pem it must give the pre-master secret of keys.txt's RSA
 *    line, and with the session hash computed here the master secret of its
 *    CLIENT_RANDOM line: a TLS 1.2 PRF / RFC 7627 known answer.
 *
 * 4. What no capture contains: records sealed here with plain EVP — TLS 1.3
 *    inner plaintexts under the RFC 8448 keys (seal13), and encrypt-then-MAC
 *    CBC records under tls-12-aes128-sha's keys with a valid MAC over bad
 *    padding (forge_etm), which only the padding check can refuse.  The
 *    failure cases (flipped tag/MAC/ciphertext bits, wrong keys, short, long
 *    and misaligned records, unsupported suites) reuse the records above.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "tlsdec.h"

#define REQUEST1                                                                                   \
	"POST /Microsoft-Server-ActiveSync?Cmd=Sync&User=alice&DeviceId=ABC123&DeviceType=iPhone"

static size_t unhex(const char *h, uint8_t *out, size_t cap)
{
	size_t n = strlen(h);

	assert_int_equal(n % 2, 0);
	assert_true(n / 2 <= cap);
	for (size_t i = 0; i < n / 2; i++) {
		unsigned int v;
		assert_int_equal(sscanf(h + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n / 2;
}

static void assert_hex(const uint8_t *p, size_t n, const char *h)
{
	uint8_t want[512];
	size_t wn = unhex(h, want, sizeof(want));

	assert_int_equal(n, wn);
	assert_memory_equal(p, want, n);
}

static const struct tls_suite *suite(uint16_t id)
{
	const struct tls_suite *s = tls_suite_find(id);

	assert_non_null(s);
	return s;
}

static struct tlsdec *new13(uint16_t id, const char *secret_hex)
{
	struct tlsdec_params p = {.version = TLS_V13, .suite = suite(id)};
	uint8_t secret[TLSDEC_MAX_SECRET];
	size_t n = unhex(secret_hex, secret, sizeof(secret));
	enum tlsdec_result err = TLSDEC_OK;
	struct tlsdec *d = tlsdec_new_tls13(&p, secret, n, &err);

	assert_non_null(d);
	return d;
}

/* Decrypts one record given as hex, like tlsdec_record(). */
static enum tlsdec_result open_hex(struct tlsdec *d, uint8_t type, uint16_t version,
                                   const char *hex, uint8_t *out, size_t *ret_len,
                                   uint8_t *ret_type)
{
	static uint8_t frag[TLS_MAX_CIPHERTEXT_12];
	size_t n = unhex(hex, frag, sizeof(frag));

	return tlsdec_record(d, type, version, frag, n, out, ret_len, ret_type);
}

/*
 * Reference TLS 1.3 AES-128-GCM seal (RFC 8446 §5.2) with an explicitly
 * given key and iv: what a record protected with the RFC's listed write key
 * and iv looks like.  Returns the fragment length (n + 16).
 */
static size_t seal13(const char *key_hex, const char *iv_hex, uint64_t seq, const uint8_t *inner,
                     size_t n, uint8_t *frag)
{
	uint8_t key[16], nonce[12];
	uint8_t aad[5] = {23, 0x03, 0x03, (uint8_t)((n + 16) >> 8), (uint8_t)(n + 16)};
	int l = 0;

	assert_int_equal(unhex(key_hex, key, sizeof(key)), 16);
	assert_int_equal(unhex(iv_hex, nonce, sizeof(nonce)), 12);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] ^= (uint8_t)(seq >> (56 - 8 * i));
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	assert_non_null(c);
	assert_true(EVP_EncryptInit_ex2(c, EVP_aes_128_gcm(), key, nonce, NULL) > 0);
	assert_true(EVP_EncryptUpdate(c, NULL, &l, aad, sizeof(aad)) > 0);
	assert_true(EVP_EncryptUpdate(c, frag, &l, inner, (int)n) > 0);
	assert_int_equal(l, (int)n);
	assert_true(EVP_EncryptFinal_ex(c, frag + n, &l) > 0);
	assert_true(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, frag + n) > 0);
	EVP_CIPHER_CTX_free(c);
	return n + 16;
}

/*
 * RFC 8448 §3.
 */

#define RFC_S_HS_SECRET "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38"
#define RFC_S_HS_KEY    "3fce516009c21727d0f2e4e86ee403bc"
#define RFC_S_HS_IV     "5d313eb2671276ee13000b30"
#define RFC_C_AP_SECRET "9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5"
#define RFC_C_AP_KEY    "17422dda596ed5d9acd890e3c63f5051"
#define RFC_C_AP_IV     "5b78923dee08579033e523d9"
#define RFC_S_AP_SECRET "a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643"
#define RFC_S_AP_KEY    "9f02283b6c9c07efc26bb9f2ac92e356"
#define RFC_S_AP_IV     "cf782b88dd83549aadf1e984"

/* clang-format off */
/* {server} EncryptedExtensions, Certificate, CertificateVerify, Finished (674 bytes). */
static const char rfc_server_hs_record[] =
	"d1ff334a56f5bff6594a07cc87b580233f500f45e489e7f33af35edf7869fcf40aa40aa2b8ea73f8"
	"48a7ca07612ef9f945cb960b4068905123ea78b111b429ba9191cd05d2a389280f526134aadc7fc7"
	"8c4b729df828b5ecf7b13bd9aefb0e57f271585b8ea9bb355c7c79020716cfb9b1183ef3ab20e37d"
	"57a6b9d7477609aee6e122a4cf51427325250c7d0e509289444c9b3a648f1d71035d2ed65b0e3cdd"
	"0cbae8bf2d0b227812cbb360987255cc744110c453baa4fcd610928d809810e4b7ed1a8fd991f06a"
	"a6248204797e36a6a73b70a2559c09ead686945ba246ab66e5edd8044b4c6de3fcf2a89441ac6627"
	"2fd8fb330ef8190579b3684596c960bd596eea520a56a8d650f563aad27409960dca63d3e688611e"
	"a5e22f4415cf9538d51a200c27034272968a264ed6540c84838d89f72c24461aad6d26f59ecaba9a"
	"cbbb317b66d902f4f292a36ac1b639c637ce343117b659622245317b49eeda0c6258f100d7d961ff"
	"b138647e92ea330faeea6dfa31c7a84dc3bd7e1b7a6c7178af36879018e3f252107f243d243dc733"
	"9d5684c8b0378bf30244da8c87c843f5e56eb4c5e8280a2b48052cf93b16499a66db7cca71e45994"
	"26f7d461e66f99882bd89fc50800becca62d6c74116dbd2972fda1fa80f85df881edbe5a37668936"
	"b335583b599186dc5c6918a396fa48a181d6b6fa4f9d62d513afbb992f2b992f67f8afe67f76913f"
	"a388cb5630c8ca01e0c65d11c66a1e2ac4c85977b7c7a6999bbf10dc35ae69f5515614636c0b9b68"
	"c19ed2e31c0b3b66763038ebba42f3b38edc0399f3a9f23faa63978c317fc9fa66a73f60f0504de9"
	"3b5b845e275592c12335ee340bbc4fddd502784016e4b3be7ef04dda49f4b440a30cb5d2af939828"
	"fd4ae3794e44f94df5a631ede42c1719bfdabf0253fe5175be898e750edc53370d2b";

/* {server} NewSessionTicket under the server application keys, sequence 0 (222 bytes). */
static const char rfc_server_ticket_record[] =
	"3a6b8f90414a97d6959c3487680de5134a2b240e6cffac116e95d41d6af8f6b580dcf3d11d63c758"
	"db289a015940252f55713e061dc13e078891a38efbcf5753ad8ef170ad3c7353d16d9da773b9ca7f"
	"2b9fa1b6c0d4a3d03f75e09c30ba1e62972ac46f75f7b981be63439b2999ce13064615139891d5e4"
	"c5b406f16e3fc181a77ca475840025db2f0a77f81b5ab05b94c01346755f69232c86519d86cbeeac"
	"87aac347d143f9605d64f650db4d023e70e952ca49fe5137121c74bc2697687e248746d6df353005"
	"f3bce18696129c8153556b3b6c6779b37bf15985684f";

/* {server} and {client} application data, 50 bytes 00..31; {client} alert. */
/* sequence 1 */
static const char rfc_server_app_record[] =
	"2e937e11ef4ac740e538ad36005fc4a46932fc3225d05f82aa1b36e30efaf97d90e6dffc602dcb50"
	"1a59a8fcc49c4bf2e5f0a21c0047c2abf332540dd032e167c2955d";
/* sequence 0 */
static const char rfc_client_app_record[] =
	"a23f7054b62c94d0affafe8228ba55cbefacea42f914aa66bcab3f2b9819a8a5b46b395bd54a9a20"
	"441e2b62974e1f5a6292a2977014bd1e3deae63aeebb21694915e4";
/* sequence 1: close_notify */
static const char rfc_client_alert_record[] =
	"c9872760655666b74d7ff1153efd6db6d0b0e3";
/* clang-format on */

/*
 * Captures.
 */

struct cap_rec {
	uint8_t type;
	uint16_t version;
	const char *hex;
};

struct cap {
	const char *name;
	uint16_t version; /* negotiated */
	uint16_t suite;
	bool etm;
	const char *secret; /* master secret (TLS <= 1.2) or CLIENT_TRAFFIC_SECRET_0 */
	const char *client_random, *server_random;
	struct cap_rec recs[5];
};

/* clang-format off */
static const struct cap caps[] = {
	{
		.name = "tls-13-aes128gcm",
		.version = 0x0304,
		.suite = 0x1301,
		.secret = "9282ebdd959d6d8d94f7057fccd9b3a3847707d8102b0c1869de38e4b9132799",
		.recs = {
			{ 23, 0x0303, /* 309 bytes */
			  "db478b7ef5d550e819c53ab41a8db857490c983e6122abf0f099262bfa15d9d1"
			  "9e0adda907c34ac80c1c545a6f70ee099223f9677a56fe9517ed2e6d2ec197e4"
			  "28828cc902ffd8388867a9c657e53ad1ee5c63317e7262128f8ea88504c6a3a2"
			  "26ab320adfc20bd1eb8ed1d7aaf85a955a8c38d1dc3bf228c5b0f018e7c67d66"
			  "113ecd0d398b5e09c3ecdb7a0de08fbc9c3e7fd923cb96919db7baf81d2c38a5"
			  "a3f9eee37ac40d00256a89e4481e0bafbb6affff4f878387fc682551acb2c88a"
			  "ee8864778e504128a96f8ba77782c532f1b9690cde86b9ef171a727b4c9599e9"
			  "1b02b4893ec4dbdd382bd7e7346cac56ccadf9229bc12db260267dd5cdea8e1e"
			  "7adb67d34111e9d7afcb82ca2299c1709536c0afbd4bdd0371f343d6b912f489"
			  "03427f41d7f0363f1d281480823504860c40ff166a" },
		},
	},
	{
		.name = "tls-13-aes256gcm",
		.version = 0x0304,
		.suite = 0x1302,
		.secret = "e0c59857bf92939477c06a163d2ac4a60f22e15af41dfa5d"
			  "58485331e77b99ec60ddc5395c372ce743706ed74697d42c",
		.recs = {
			{ 23, 0x0303, /* 282 bytes */
			  "156d615db9ec107c2d248c0744d3a05b65056d624d53a29aaeabf62af2e3a923"
			  "feb9ca5a78bad7228a57adf2af0d52adb138cc821567ded7fd1e30fce60bf78b"
			  "fcc49f449f260c890f2ba6381e211ce0e2eec083ff2e1ee47ed1d7d7dda991d0"
			  "a08ee0b4eddbe8988976f4761b60e10fb433307f08ff70abdd737d7ec39a7bcd"
			  "c94ccf8ff83e9cf0e1697a94c4cc9c15759530cecbfb630447593ef335553314"
			  "3b8643de3787e9e630aad222b168ec0b9b840f94d6f910e4153a4938c275a11f"
			  "81266981f3cb538b9d1ba9394f08f02f77746ba7faf5be885e165de1075b7d26"
			  "887efedcf6b3d318c4a610c18af095bbc01015adced1298c96bdca1f02490851"
			  "58d6c53241210e0ed4536909253cfb067392316a9933c166fdb1" },
		},
	},
	{
		.name = "tls-13-chacha20",
		.version = 0x0304,
		.suite = 0x1303,
		.secret = "40ecfb0e20998d38f57ef77931999655903da698f1ed82d489add041bb32b9ac",
		.recs = {
			{ 23, 0x0303, /* 309 bytes */
			  "b751a50a3ed4c00e289672e31582aa1c662eb628cda166e668a007df00e63e07"
			  "e872f4eeffcc071f0645931b6889d65839f17281152f82dfc127e855db255143"
			  "c99ef0792e4bf71a9bc2c26de9898157b689ae094db14b48e436149793eeef61"
			  "e72666842ee7e2f6e46c63b17aa27da8533c98d71fa9cb9eeafd2869c9854b4c"
			  "f634ea5bcc9c1f3439d24d15dfbe5bd5baab1495bcb340652353727d73f8852c"
			  "005532c9d23f57e29ddb5112975b640e5645e2b2e0eae0a53796be9ced8bf053"
			  "bdc87d415f7e5ffd22fc1c256fcaef65c84e3f8d69e5bdbd14f03073483cb509"
			  "32628ec9a31c44841289ae9254deced438890af0df8faff4abc8a361035b5d71"
			  "2192061e5740fe06ccde396e3055e732e06f02bb6df53c86c1346d76e557c30a"
			  "31a4e1fbc0702f732cf7a7a756d5544e3e65334d02" },
		},
	},
	{
		.name = "tls-13-aes128ccm",
		.version = 0x0304,
		.suite = 0x1304,
		.secret = "a234cee5102bc95436441e2832f5fe6f3675f633cbd0e8b09b797b9257cfe955",
		.recs = {
			{ 23, 0x0303, /* 309 bytes */
			  "5b58ac51f54d694f8e1815ebdbd3ff48f47af068ce074ab017da55d9fda730ff"
			  "dfa4b9984e4c417276b278bd37ea5bb81f4f2a9559c5191ccb8e9d37738793c3"
			  "d8e880fb5237554ac64baa74f30794cf8c33eaf259799d3f0f8f501a832b8061"
			  "316f531e5393ed8a0a60bafca6ba2add1ad2ceae3c336c880bd9b2e3a188eb3d"
			  "798c2484d3287ff72df48e9d8e92e3ec8423407bd0e806d5cc9dea79aeeca7c2"
			  "2101890325aaae8da4ce9f3cb6472bac3156363f49f2469ba39442055a38127f"
			  "9cb865aee7c9dd174c5a6ed2fe49a4c07367f114ed09f23998749c4c708c4e25"
			  "583ef4ef9f4f2446af9fb69d1156bda76b970ef8dc9a38d4767abf0f517d3a23"
			  "b1c90b544ac478cd3e06916ba9368b144aefa1cfa0b7be4320595957d7d6700d"
			  "7a7b970a98787e1e0954d647f01a24e4493d1f4c3c" },
		},
	},
	{
		.name = "tls-12-ecdhe-rsa-aes128gcm",
		.version = 0x0303,
		.suite = 0xc02f,
		.secret = "372c376efb0e7586f6a2af1154dd0f072cbd5e2d6a0de47c"
			  "735240ac3ff4dd5965d0bc3bfdd1354cb6af7aa2dd1304c6",
		.client_random = "ac24116324a37de2df59c1aac062bf0e72f2f8e0fa6c2146940922dcb7a4a9ce",
		.server_random = "686d68d2387f36ae70e1ce22029e64969c247bac05d61a16444f574e47524401",
		.recs = {
			{ 22, 0x0303, /* 40 bytes */
			  "deaaea4e71402e6cac65029cefc85f0625466c70f5d61cfcc1034e9b9b0e0ae8"
			  "5c7d8a71abdc479a" },
			{ 23, 0x0303, /* 316 bytes */
			  "deaaea4e71402e6dad3858121a59b90b47813f232c2c4954c8193e721c93c884"
			  "74b4132246538069f797abb941509cbebeea65d8aee859c6d7015ab9a0d20629"
			  "c58a5ae831a67dc10a15ebb38bbbf6ac9dafe6d08fae394aabcf1b98ffc0b2c3"
			  "337ce25468408520e33896b9a16b8bb57c049728e58c4e4b5043ac747064f704"
			  "9052b7d3854325d1b4de28346f79321643c4eec894fefdcaab32f005f558607b"
			  "9b90e6ffb86d6dd741b8ec733f421a15ce57d9fcf471653102eb1c00d51445d3"
			  "58c25cba9a7019f8734fb5b49cff7d06287285beac6e84532b2510e0906a4043"
			  "026dafa2a358bc35a8a556a24239128c27b46771463f87d6daf6e9a6b5cc0e10"
			  "b001de6d5ae85f3833ec7c9c0a29a152fc92149199cb5b549ce9d9c58c53ad4f"
			  "27cc0731a1b064875ed1affffbb1b6c6990c28a79f0c946ec9134c1c" },
		},
	},
	{
		.name = "tls-12-ecdsa-chacha20",
		.version = 0x0303,
		.suite = 0xcca9,
		.secret = "515272a6e9192df24c410189deb950205b16ce4c486b78b9"
			  "5ba10ccf47339d7284982e77ad7ec2d20f0e7f9299f162be",
		.client_random = "7564e616c1ce2a769f1e017f9d7949e9534b6d3a9ee13ffcca6c5c46f6e58505",
		.server_random = "80e1ff1338430ee733ac670f1230316897398624fdb0902b444f574e47524401",
		.recs = {
			{ 22, 0x0303, /* 32 bytes */
			  "f9d4a219347e4d471ea75f0f3284e5cab136727468214fb0b797535d5ed248a6" },
			{ 23, 0x0303, /* 308 bytes */
			  "878a1c628aa6ca303a226c0bf7c9c4df59537c9db21074be4cf851a0a54158df"
			  "4da6ca8dac518090c6f6466c72fde350bb19b912053564ddf77604106759275e"
			  "ea2c43517c20d01b8ec2c36188df26ce8a09243740e95ba2963341b0170cc21d"
			  "f53b8ac41dcec70107be38530c0183f489c3faaf45b9c2a48b47e35f59a57897"
			  "742d139818a65bd0c2358c6246bf6e0a771e1dc030aadd4fa2a25b80b0103573"
			  "ec9efcd948f189eba10c31458e00b6b8b5ef380ea51900fbca85052375c19393"
			  "1e2d65f9fdb5ad320a50c99c08b927ed24d1b1a79ca29a5229f009c1741c1e25"
			  "ccae041f7defb56466ad696904292450692254c92ee7f291b4204ec0fd1cce4a"
			  "c48eaa5acd7d6f5650211125db357a147bc5799f0977dc7929cdeaedc48f0003"
			  "6b2eeb519aef9f5a6a31313f74d73c657a977669" },
		},
	},
	{
		.name = "tls-12-cbc-sha384-etm",
		.version = 0x0303,
		.suite = 0xc028,
		.etm = true,
		.secret = "8e2f80892652301472574081f6f38eb2e117601662f49f23"
			  "4eead5e5ce71e6e1b9fc625caf145d30099fe3ad7ce41393",
		.client_random = "b2235cb55f1263699104f8ed68bcac77b7878a229a45b5481052b4751ae5e86c",
		.server_random = "6a715724e4b7380f531c25ff81bb9eb7e1db2a60217b277c444f574e47524401",
		.recs = {
			{ 22, 0x0303, /* 96 bytes */
			  "1e725f106d0b07a5af9fa0cba237f58248a515762532192f0af80063fb22959d"
			  "0e376db30048e28a1caeabf2afc7f108599f0061cf6f847000512e326b9be2a7"
			  "a4badc394ba1c0ff194025068ec71a72acfc28bb5d079b236deca686460a125d" },
			{ 23, 0x0303, /* 368 bytes */
			  "b099055c76d266d027690249ca60174d020fafad48c7c3d98d85f1d3e402e2c0"
			  "9ace5b90d95a5199ebffb01109b568207d5523e9f976be63ab546a5cf3e91e0e"
			  "237e98b22b8216d8c7f235ff07d2d44cee4d814ea0f591eece33d729994be61a"
			  "1089dc9e2df09d50d90b221c10566cf930713c544b58a2a35b5ea8328cea367b"
			  "566d71e527c79eea47ed694fd982df479ab921c8cc9507ec006dcd9dccd48368"
			  "8ef4338e7a31adeeab5f27f4b66b6c216fcd271d30e112ef8a6d70df1d42a2bc"
			  "09d8e82c7b11af89c85fdab823454ba7f92264fb7269bf0de609dd9f25b41340"
			  "b96e3b01c3a511f6f231084f8de1698d224f4d809a35e9114197f88fa5d8913d"
			  "fc10da81082dcc071b716576267604211e2dc262c8281d017878b8fb3e070762"
			  "e87ec547939960098940f7ed3e7c27362546355c5dddc776e9c96467222b1c24"
			  "0b82d669a9295874740e567c6ad0e574d8e11dc6614875f0573380fbfad1a8a5"
			  "715355fe64569715cd04940181397e70" },
		},
	},
	{
		.name = "tls-12-cbc-sha256-noetm",
		.version = 0x0303,
		.suite = 0xc027,
		.secret = "c09e0c6af29d301b5774ea628167909419223c49d4b981d8"
			  "6a8b5e661f5703d8c6f35111e89a6ccabfc15d603c1fac53",
		.client_random = "a537f7c4d118f378f795efa89af028b2194f09c7911b8aba0a70c1e216561791",
		.server_random = "bd71c074c2c00c800e565979fb4dcbf3eca7176e3b0677da444f574e47524401",
		.recs = {
			{ 22, 0x0303, /* 80 bytes */
			  "ac90218d61a1ab6becbf9daa033fc7337a711b0641f4b0462d062c81598157c0"
			  "90423392e6128a17f0766804eb906c593c6219b5f11a54cdf6b5e7197d199426"
			  "261b3daa97d468e7918bb4ca7f907337" },
			{ 23, 0x0303, /* 352 bytes */
			  "adadd987a401389cd30fec73eed99d2887097e2d5b15bc2ca1d6d27299b19aca"
			  "0797f30c53a136a5415e20594ede171a648b90d44fcfd19bc504f4737ac19ef1"
			  "733f67a9e498f247c29e60d4cb6ba339bfd95a5223fef1294e2a31bb75045dda"
			  "9eac403b5cbba296c0d4752a7596903edcf8468fd1ac330bd3ee850e857f528f"
			  "3b0a3ab8919a9bd038d5c02aa02c54bbcc8976fc1a3e55874db50c4ee0be46e8"
			  "c17582c347ca98fcbf2e5a4a9932428fdaf84e52d5b10c1392a9f835a0763785"
			  "d819b12ae4abac3f32d255dbd5ab8277409c2395f1508c482d9193045b2e6114"
			  "718dad42a5ddef9d27889913e0e8f4a7def8f5e350f2530fe330411d8ee581e1"
			  "f9b935ea75ace7f9e2fc2baf902699c40bdaff7cb2c7915c9431a097200dfc68"
			  "c98639c4ce35e9db8241b7c4c93b5725bb84286a72ee526fde891d946794d34e"
			  "56f98e2948de2046e3d3b00715939cbe21533ca24caf91132c2aa537d33bf6a8" },
		},
	},
	{
		.name = "tls-12-aes128-sha",
		.version = 0x0303,
		.suite = 0x002f,
		.etm = true,
		.secret = "4b07e8a7d64d64c81494d27c587244caf0ca1d53d798f7f2"
			  "4d09c967316da038aaf0b24960cd545fdbca91a8008b3c3e",
		.client_random = "71637b38ccd2b1cb7132aa98f3fd275c00f42a36bfbb832894422014d3fdf5eb",
		.server_random = "c65537a23e7ca5150ba2bdcd56683b3b3ccb40d34b8566a7444f574e47524401",
		.recs = {
			{ 22, 0x0303, /* 68 bytes */
			  "8799f9cc033add1329e832b403e51e0a8006aea67f016a20e90f9f88dbf691cf"
			  "76c5a4e1ae80f8b9ff988a6fc2bf442b1dccd4a3884ce052cdc8ee16c1497eff"
			  "ca535833" },
			{ 23, 0x0303, /* 308 bytes */
			  "64ee78f8d778ffa43c53f721d65c8f065b088d5ee954a38a8b2806c8f626a550"
			  "1ab7c8ec299f4d452772ed4e70b84d20f33a79d21b93bacd163318c963eaed48"
			  "8a7bd16f29384f292e18fd8ad191091f391b93d46dd3bd8d1c0b7da0fa0f00b0"
			  "6572e48047446d8ab0d2c91152021ebaea82fee54098ebab4c7fcdd96e04ac43"
			  "46d4b1f3ba8655392bc24fe0cd2ceeaeb9e390e810fb3d937307a448670ebc10"
			  "dad3fcd2ab434dc19a1b7433197445ef0c1ea713f3cf59426192992322761a3e"
			  "6e59cca2d052445d1434e4ed1537df27ffdd6239d7da4122a8d1b0fc10354f41"
			  "b701401fd0877b6969365e28c9807fd5b576d5a984c513f2ac7a13a945d010d9"
			  "bd50176e1f5b783d4b98e702a344c60458b932c1e57bfbb3190b0e815c179770"
			  "306a9e1ecdfeb22e32bd515b9aa0686a9d197d9f" },
		},
	},
	{
		.name = "tls-11-cbc",
		.version = 0x0302,
		.suite = 0xc014,
		.secret = "0c5131b12d5f87fcee3615af865c3eedc204e77d4c166d29"
			  "eb3af6ad9ebf8e8c9e3bd8c27a0604ecf5759b8557837670",
		.client_random = "002ff777c6386f0ea5ebbf1db6664650aed4ea3aa0e3a8d50f64f4b40f5339b6",
		.server_random = "1bca8df250dbf1afa6b9a1b61a322517d7d7ede43ea8dba1444f574e47524400",
		.recs = {
			{ 22, 0x0302, /* 64 bytes */
			  "376a34917b477ad26b20b06e213adcee06d3e3ef613536517122efe7ecde2967"
			  "e556631da5fc0758ff3f90cc5b492253aaaaf2a043efc36f6b887a96708b0757" },
			{ 23, 0x0302, /* 336 bytes */
			  "24fc631000e2af44d43975a9ff1d613730dc2dde4ff7b4029f19793baeb141ea"
			  "e68d890c68c8dc95f29f0243dfd29c17b32d3cd88ace0358409b637430a4135d"
			  "1e0bd1e61cc28604f9291dda10a64e68b2d1616a71ebc629bbfc71fcf28d1057"
			  "cda19c9804867e4ffa1ba906ea392422e1467c4f2e8e4bd3467ae4b27e213f69"
			  "804746383f4520bb9d4100bcc21c52d7f53c45fbcf2cad284e47c000e2d643a5"
			  "ac9ef372993e7fd5325c8a6b9315bc8c1a0fe95176f40c9182cc224afcef854a"
			  "6423928354454ba834f78b6d2669b3e5b3f028a60e4b995da09d748e60147650"
			  "ed8b6781eaa56b59edc319398b1169c978e845555a1f36178f27dee285a6a1b0"
			  "d84f1ae7e8bca9689043356fce17124dd203d76e25557782b589dda9560b41ac"
			  "78cb763b7b751c515ea100fa3e4be9229e6e1ea68781c598ec1fdaa1449be798"
			  "0641993dd8d9ed1aa7d5987f6031ad2a" },
		},
	},
	{
		.name = "tls-12-resume-ticket",
		.version = 0x0303,
		.suite = 0xc030,
		.secret = "c20886dafa378731673388447a751f9336503919971743bf"
			  "911d8591b64398ef38b078a851dab97c65c6bc9ea19debab",
		.client_random = "f6fcdbe5ec28b9eba7da149ceed85ea0daf8aba0b05a74c656b1c270276f41cf",
		.server_random = "6d04e40dbae787a9e1473c7d676350554d77afcbfb704f08444f574e47524401",
		.recs = {
			{ 22, 0x0303, /* 40 bytes */
			  "c254fb660d5c402d26c8d52c38daf748ad6bc61040cb05a0263e099b666daf9a"
			  "1e5a0911ca0d24c9" },
			{ 23, 0x0303, /* 289 bytes */
			  "c254fb660d5c402e9574958f0abf82f57a0f4987868a435befa9fc1cede380aa"
			  "4622db76704fcc5e24fa610afb61797f588119f429cb9e113800edf413c9ffe4"
			  "7453f225119640ecde3786e84900c2a8b22ef97988c5a2f7f555682434b52156"
			  "a7b8a74a3b834599da936e302e27f3c1f9f53894ce442a8b150c3b33c9110a3d"
			  "ce4c7830fbb61162cd476a5b627a4b5f04046dcc10c001a6d03e4af7605ae7db"
			  "f9ca1471ed3d4bb97fb44d6c12eeca39a47a24cfa4b68fb93392b604ad924156"
			  "3f30a8c25952a8e595ba050e8bf3fd330a4839349188af813ba5255ea306349d"
			  "db7f7fe4575c9cefc371779800a4c0636da1541d85027b1d1432cc105481b567"
			  "1f5a4e7567ef972cd2d904cfc64febc8f15fa46cf294e199d5375a89285d70d9"
			  "de" },
		},
	},
	{
		.name = "tls-12-rsa-kx",
		.version = 0x0303,
		.suite = 0x009c,
		.secret = "bacf8d271797f18cf138cf4fa1d5e1d5ff01717f71bbfe22"
			  "89dd7f3db0218303fbef4bc365b9410dbf6386e167674d2f",
		.client_random = "781abe5ddbdfc8fc588dee20451c5e5f51609232286c99038f037bfaf7d5523b",
		.server_random = "92ae7903d46bc97afb6a2b2288c507e272ebf7a766ecea15444f574e47524401",
		.recs = {
			{ 22, 0x0303, /* 40 bytes */
			  "c1ba0007cdd2a521e2a9559a234681d8e97ef828c63c0c262fdad1248f3cdfda"
			  "cf2dbb5149a0cae4" },
			{ 23, 0x0303, /* 316 bytes */
			  "c1ba0007cdd2a522e341d0dc3c9114366615a1e30c70fb7a3de25b7efe158b12"
			  "050c4871298488d6f329118f56fad1a52d29aba6f94c6f70e6709c7f72ffc641"
			  "10bf6d23119f0c032370b68aa7642ea06cb710aa0e60d553123cbd93fc4d9230"
			  "93eb7e40d4d2ad1127f3b464aa8b01f4e90f738a16e6b6ef6d8d90c375ed860c"
			  "c262ea666419d0a1d2b5c97965ba28fa29ec45e6fa9ed1546777949094deea09"
			  "57d74d651d2948c5f561c2158de89b91e212389c4dd9c040f37ccb896567dff3"
			  "84297d3a03093be895c0689a1c2685aabe0fe89b5a6235f9879827452a880476"
			  "7fe041eef288bfe6537c925dffc495a0dc07f2b2d28f1003bb2e52ec29a2e8ed"
			  "f095167e1b1fc22261e910c615bbf3031168b46bc64a48595f867847a68f1450"
			  "9f167553d38baed2edf707ddf0fdc55dabddc7ef7637563b90b53f3e" },
		},
	},
	{
		.name = "tls-10-cbc",
		.version = 0x0301,
		.suite = 0xc013,
		.etm = true,
		.secret = "df80f0c06c1a4934e1cbe8bb5ec49b15ef9807f05517fa92"
			  "f26a9167bff91f2393e0ba446d18ef039d4e7f3585382faa",
		.client_random = "c8437ff4356c4fd67a0910008b3f73a7a12a829b2313b611e72ac4918932b3ec",
		.server_random = "3bda65a7c0cf4eca54025805293f1806a05982a6ac016646444f574e47524400",
		.recs = {
			{ 22, 0x0301, /* 52 bytes */
			  "41be0d61a3cb0e9092979c19af77d314ebf63c4b9182375e5c3fd9b8e5ad5b7e"
			  "e615526fef8ad73a11077d65494138c1d3089f1d" },
			{ 23, 0x0301, /* 36 bytes */
			  "d898786fccd20ef2f50e7b27d596de5a177d620bdf84ea66717b201d73d18ee7"
			  "3608b3f1" },
			{ 23, 0x0301, /* 324 bytes */
			  "281ac3997b15b3a4c961f0ebce8e29930e714bce856fcac400be40b1bc61c60c"
			  "6b1c3782d21470b5f004c9c1832d7b4e3218b39f57ca9b646e2fa0bc4c4703c9"
			  "3886564e448299b93051758a0c3694f94c85f21f9ffeed3d26afccf86a4160a5"
			  "02e9711688af8854387dfbd7fbb1a186a53ff6ce59890d70a4dcf0fa5279fcf2"
			  "5989bcec158dfd4d78ab3ed3c6c468672d33e6197c2477974660bcec9052f890"
			  "7a34850248d70f7f2ce31cc4e45e86424f6dca2851aa0db2725fa7b3e729592b"
			  "1ca27690e59080798bdb294cfae418c20a4556619413d16895e3a2bd605b0915"
			  "e0d3f0082561cecd28b74ac87b027a5388fb554ed817a245cf9ee1bfa7f3fdfb"
			  "9853abf32490a22f514caf191a99c65ce5bfa8871e55309d682e39eb65a74a99"
			  "311daafb882d70e5e2eaf4fb179141eeb88921fa8dc6f4e7c312310af74c3c64"
			  "f30dc73d" },
		},
	},
};

/* Two KeyUpdates by the client: data, KeyUpdate, data, KeyUpdate, data. */
static const struct cap keyupdate =
{
	.name = "tls-13-keyupdate",
	.version = 0x0304,
	.suite = 0x1301,
	.secret = "b36bfa02f5fe12b9acf1db84fd5c1367e345622c0a2f9f70b736502cb37c6f3c",
	.recs = {
		{ 23, 0x0303, /* 309 bytes */
		  "8402bcc36ca8c5f7c5e1424c9ec9d37042b63b025ea2ff66d9af8355e9e5dca9"
		  "5905f3fe08bd2390e5149e287b8c928f4c400113082461c0bd36d3672341ad69"
		  "360b29558eaee5b9ea5f853464dedcb9989f248189effb250b797736ba9228da"
		  "cb2c249c14e0acac1aed89c731902ea17d34697450496fcc894053ce8d0fa607"
		  "21d15ce98e87be667aae7e5f6968984c677dd66e15cb9204f713e46f8de3973b"
		  "2ac8fb36bbf9de42a14f31b29a4fd30161bef0ed28b9ed0e481717be151997fc"
		  "0115c6cca74d0da52b6a4e811d77d18c53e65b337466415f4ac17749d73c0f38"
		  "ab275c29da9e90e94187d1e62339598cf1d265a41da97d3328234d57d48cd9ff"
		  "b408ff7d313dad030c586dd2edddeba34b9bcfeb23e479097734436b855f31b3"
		  "4c15464e601e80e777a4ec9d3f856b21ee08760f76" },
		{ 23, 0x0303, /* 22 bytes */
		  "8024afc152baab904af1d6339883e3e6fca17e9077c0" },
		{ 23, 0x0303, /* 823 bytes */
		  "921d48fa12f67f79f9f3ad54e394be0292cfe0fda2a4fab865c33b12303fa619"
		  "165512b9f0d2fad3e9ddfc9a7e2fc93dc7ba8aab0e61fb4f25a4718c584e5e2b"
		  "3e97f1b92e44aaec74e7fafee06e4d09db9cb21ae639d298904625220b8830d1"
		  "9ce112353b22aaa3b38ab06309d6a8d66d1700fb0cd68d7ca27abc657e6911b3"
		  "bb45d0758a1bdd417103231793bc79301f36e697464903ead74191aa58a248f4"
		  "185b4170cd6e26df4e45d79191f955aceaae234ba75e8a65fa96a0d8b9f9b9b1"
		  "01b3d9df96b6329b750b71ef61d88d675ed8abc88f43a0fedde7a058a0df09c3"
		  "22a3ac44522af4b8bf49c08bc9386e7c52ec9851782e4cfc903201d3ebe9a78a"
		  "ac859a82f6b465c9c33ba4078f48788fc630f47d953cb9127739eefca6a1bbfb"
		  "8cc3bcb9722c21a6a25b21e668365c817eb6ee4b4e81fb80d18c06bd844c0957"
		  "c0c356b806368f753a4a90c066fce27eee85d3b937b552c096d48873a6fcad83"
		  "a1cbae9edbc85f70391a3db468f8fe7608247d5da7810fd7e8ee9e083af80f43"
		  "2de214b4a326483330d0a2c7f14f3f07480ca8c5539e3082ad4f2fce1295ebdb"
		  "d9773bc51ea92700012082a1d9e41754e67aa64c8b8d67c259f1aa6e34fd0d4b"
		  "94edea895e74330908a65832b0c56ce477d347d365fbe8ae7fe0a2cfaa977695"
		  "b8b5479c6891e96eafba9c1c08e0cf6e7391d60dc38fe8b5de9c132898298911"
		  "02a7d0dd6e146748ae974cfd95282b5aaaa7edc485d9a90bf8808d36a2d01897"
		  "137af989f22a7f59303e6b4fd525171959cd72e3c0ba3413a3ed1af4b8da75a9"
		  "197a4e36317fd2a40de9120e5f161a113dd3ef7a707749b8231bf347405e7052"
		  "a19885f456ab8394785c8f13e93936b4f47654c2d16e30a779384198a3c20cde"
		  "e709558c4e23b4b3e2e48386f0df8d057c3a61d11cdf91c21449829e6c5c0cc9"
		  "478b78cd35b12d192f5b565d2db15f3ece3d0bd123aa46b2dd271c07a7ac2334"
		  "5a94656dde1b5e11989e8e124c9a6b609ad880a03a144f8a6c111596092be14e"
		  "cde6b2dd9fe0932fe4e921c97661fa84e3292d4bd52cdeae6a3060d941ea10b1"
		  "21792464e6fc35fa2e3159a3fe1dd54823291a61a3909b5fe415ffd1ea521843"
		  "5cdb7b4c0e9f719d6c5757f8cd8fe9e03e6a1198120d40" },
		{ 23, 0x0303, /* 22 bytes */
		  "5c14c3ca5ba3baf0a34d7a6301e0e397f1c1fd0736ce" },
		{ 23, 0x0303, /* 315 bytes */
		  "5749f6ef9e45fdb7e623412387bb4565a015e7440a1644ca462e94ff510b54b6"
		  "9e09678f974deaadd39aeda175c4800f70b45103836cc5c6dc63b75544802dcd"
		  "bacdf7826d7fd89a54e562369f33b3a79424171f4f47e78dfb9fdd0056962ddc"
		  "57fd3f0817b4dfa2318ab343f52bdedfbb4c6c83e38f4cfbbf51b698dae10603"
		  "e60849c984e006cbfa84f2b7d81507b456752615d89000e217f4331b556524a3"
		  "a43a7f5232c86b3d047fd7ca99340e05fc9b3c70f2fe3a4c6e06bb3ae2382d2e"
		  "d8fd60c176123b24cf9ac67ddc0a723ac9bf7b4f9f5a89520543dd396cbcbb54"
		  "da4312fc175a706355d0a84e848daf3b0327fb7c49ea85ea70537c4a7917701b"
		  "7a23a04034138231a5376d72ad9ae4fab49c8e2f00f1502766a67bf47144ba17"
		  "d3dcbc8a96e9e50646a24502b40af341972647d876a82446e42701" },
	},
};

/* tls-12-rsa-kx: ClientHello .. ClientKeyExchange (1415 bytes). */
static const char rsa_kx_handshake[] =
	"010000880303781abe5ddbdfc8fc588dee20451c5e5f51609232286c99038f037bfaf7d5523b0000"
	"04009c00ff0100005b00000012001000000d6d61696c2e6c61622e746573740010000b0009086874"
	"74702f312e310016000000170000000d002a0028040305030603080708080809080a080b08040805"
	"080604010501060103030301030204020502060202000060030392ae7903d46bc97afb6a2b2288c5"
	"07e272ebf7a766ecea15444f574e47524401203badf930d1516fa656bdf0c03a88d8336d4420c8c0"
	"7342cd1bea31e7cb59fd97009c000018ff010001000010000b000908687474702f312e3100170000"
	"0b0003890003860003833082037f30820267a003020102020845c3d43283bfb139300d06092a8648"
	"86f70d01010b0500302b3129302706035504030c206d646d7761746368206c616220746573742043"
	"4120287468726f776177617929301e170d3236313132383233353832365a170d3436313132333233"
	"353832365a30183116301406035504030c0d6d61696c2e6c61622e7465737430820122300d06092a"
	"864886f70d01010105000382010f003082010a0282010100c0a87b050ccf4b8b7eb71068911eb6eb"
	"19befd7cb6a142d4903e0ad4ac37b1c7e13d2a647459121150a8c29ec7bc5044cbb44cfd044fe67f"
	"c7f124385ec1ef885ff13f1889a517f0fbb08cf6e829949a505d2dc1ab2be54cc7f7bf13f71bd66d"
	"a8dafdde7e60b72739de4439a28e1c09da9c341714e84ec5968f1c8b4cd351a67fa658259f31db79"
	"91d01e5501533c2918f573ad73038a4cf30abab616f5ac2058c78eb4da162e4f751aaaeb9d637905"
	"958c2b21bb45f4709603b691d86acf411bbe471a93b47daa92aa6a34b1751b053816bea98f632888"
	"2347980c0ae4cc691c6fb6f19bd2a1cccdf341477ee4c61028ef2e393a5778d21b8bbae2cd3f0fe9"
	"0203010001a381b93081b630470603551d110440303e820d6d61696c2e6c61622e74657374821561"
	"75746f646973636f7665722e6c61622e7465737487047f0000018710000000000000000000000000"
	"0000000130090603551d1304023000300b0603551d0f0404030205a030130603551d25040c300a06"
	"082b06010505070301301d0603551d0e041604143d24c1544664716a2d0e334baa5ee47b0d92a654"
	"301f0603551d2304183016801474fd7be238e4e4a9fc83c996bbdf9c93ae7951b1300d06092a8648"
	"86f70d01010b050003820101006ae52af748c8d672e6082d22806dc2118d08e72e6e51888387d8ab"
	"704c169e8125c45642fe225196b1d1e44ebe1ddc773b72bdae2bb3be0064aa3b047359268fa9b909"
	"f344c2b8ebc8e18a4f9c39378ebaad676ca8eb80429b29dab0d5da379ce3a738936fc81ff7d11e07"
	"58e48483b45f201f972ac1cf6ce6c79596aa4acad0d20523385bb3c5d5554c3b43a487eefc6bea11"
	"f1f591800eb7ef15ce944e23c7952fc6545cd5dd4acfa70e4e7d548b339a1096af9ebce7a65521f5"
	"4a144cddabb2c45d101f3d1c61feb6cd5a48462a028e6e6d1537ecfb721c07b0954740d2d0cbe338"
	"34425656de7323f46db54bb079ad226790ab117d5d652870bbbb3d265b0e00000010000102010038"
	"cd01f7337798a63d512be534980389eb46825065dd5b02e273790809663a26fbbb47d18b6fd3fdd8"
	"a62842457dc2df0913133744042609f441ef46fdbd8474f8016baf8b299beaf4c0c6ba0482c8770d"
	"83668afcc548da05414b9e7cdd09181add0e68033c23592ae48528b959b9ce1d3b3e9e73ded21f14"
	"2a0666d0bf8c5c232e9b6932ab6a0465f75e41dc17e29646c234f089cf3349308c9ba2ae4f9b453e"
	"38e2dbf9a92776ca20f5371f5ae3e2f04c3e4378e0a1585524076a2217d2a716984b33b242aad88f"
	"9f04d3d82ea0770843115ebbf659343971823ad4dda68ff929947fedbb4501c9357d9baf6df2a050"
	"b7a33063c3a09cf97b347271f98b98";
/* keys.txt: the RSA line's pre-master secret, the CLIENT_RANDOM line's master secret. */
#define RSA_KX_PREMASTER                                                                           \
	"0303ec45d83bce5772a6b609f0bb16a777c7100a0efe579d"                                         \
	"76289110240566ba170fde58e104851b6b721242fbdf5ec7"
#define RSA_KX_CLIENT_RANDOM "781abe5ddbdfc8fc588dee20451c5e5f51609232286c99038f037bfaf7d5523b"
#define RSA_KX_MASTER                                                                              \
	"bacf8d271797f18cf138cf4fa1d5e1d5ff01717f71bbfe22"                                         \
	"89dd7f3db0218303fbef4bc365b9410dbf6386e167674d2f"
/* clang-format on */

static void pcaps_path(char *out, size_t n, const char *rel)
{
	const char *dir = getenv("MDM_TEST_DATA"); /* <source>/tests/data */

	snprintf(out, n, "%s/../../pcaps/%s", dir ? dir : "../tests/data", rel);
}

static uint8_t out[TLSDEC_MAX_PLAINTEXT];

/*
 * RFC 8448: keys, then the RFC's records.
 */

/* The key and iv tlsdec derives from each secret are the RFC's listed ones. */
static void test_rfc8448_write_keys(void **state)
{
	static const char *const v[][3] = {
	    {RFC_S_HS_SECRET, RFC_S_HS_KEY, RFC_S_HS_IV},
	    {RFC_C_AP_SECRET, RFC_C_AP_KEY, RFC_C_AP_IV},
	    {RFC_S_AP_SECRET, RFC_S_AP_KEY, RFC_S_AP_IV},
	};
	static const uint8_t inner[] = "key check\x17"; /* content, type 23, one zero of padding */

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct tlsdec *d = new13(0x1301, v[i][0]);
		uint8_t frag[64];
		for (uint64_t seq = 0; seq < 3; seq++) {
			size_t n = seal13(v[i][1], v[i][2], seq, inner, sizeof(inner), frag),
			       len = 0;
			uint8_t type = 0;
			assert_int_equal(tlsdec_record(d, 23, 0x0303, frag, n, out, &len, &type),
			                 TLSDEC_OK);
			assert_int_equal(type, 23);
			assert_int_equal(len, 9);
			assert_memory_equal(out, "key check", 9);
		}
		assert_int_equal(tlsdec_seq(d), 3);
		tlsdec_free(d);
	}
}

static void test_rfc8448_server_handshake(void **state)
{
	struct tlsdec *d = new13(0x1301, RFC_S_HS_SECRET);
	size_t len = 0;
	uint8_t type = 0;

	assert_int_equal(open_hex(d, 23, 0x0303, rfc_server_hs_record, out, &len, &type),
	                 TLSDEC_OK);
	assert_int_equal(type, 22);
	assert_int_equal(len, 657);
	/* EncryptedExtensions (40 bytes), then the start of Certificate. */
	assert_hex(out, 44,
	           "080000240022000a00140012001d00170018001901000101010201030104001c0002"
	           "4001000000000b0001b9");
	/* ... and the server Finished, the RFC's 36 octets. */
	assert_hex(out + len - 36, 36,
	           "140000209b9b141d906337fbd2cbdce71df4deda4ab42c309572cb7fffee5454b78f0718");
	assert_int_equal(tlsdec_seq(d), 1);
	tlsdec_free(d);
}

static void assert_00_to_31(const uint8_t *p, size_t n)
{
	assert_int_equal(n, 50);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(p[i], i);
}

static void test_rfc8448_application(void **state)
{
	struct tlsdec *s = new13(0x1301, RFC_S_AP_SECRET);
	struct tlsdec *c = new13(0x1301, RFC_C_AP_SECRET);
	size_t len = 0;
	uint8_t type = 0;

	assert_int_equal(open_hex(s, 23, 0x0303, rfc_server_ticket_record, out, &len, &type),
	                 TLSDEC_OK);
	assert_int_equal(type, 22);
	assert_int_equal(len, 205);
	assert_hex(out, 12, "040000c90000001efad6aac5"); /* NewSessionTicket, lifetime 30 */
	assert_int_equal(open_hex(s, 23, 0x0303, rfc_server_app_record, out, &len, &type),
	                 TLSDEC_OK);
	assert_int_equal(type, 23);
	assert_00_to_31(out, len);

	assert_int_equal(open_hex(c, 23, 0x0303, rfc_client_app_record, out, &len, &type),
	                 TLSDEC_OK);
	assert_int_equal(type, 23);
	assert_00_to_31(out, len);
	assert_int_equal(open_hex(c, 23, 0x0303, rfc_client_alert_record, out, &len, &type),
	                 TLSDEC_OK);
	assert_int_equal(type, 21);
	assert_hex(out, len, "0100"); /* warning, close_notify */
	assert_int_equal(tlsdec_seq(c), 2);
	tlsdec_free(s);
	tlsdec_free(c);
}

/*
 * Captures.
 */

static struct tlsdec *cap_new(const struct cap *c)
{
	struct tlsdec_params p = {
	    .version = c->version, .suite = suite(c->suite), .encrypt_then_mac = c->etm};
	uint8_t ms[TLSDEC_MASTER_LEN], cr[32], sr[32];
	enum tlsdec_result err = TLSDEC_OK;
	struct tlsdec *d;

	if (c->version == TLS_V13)
		return new13(c->suite, c->secret);
	assert_int_equal(unhex(c->secret, ms, sizeof(ms)), TLSDEC_MASTER_LEN);
	assert_int_equal(unhex(c->client_random, cr, sizeof(cr)), 32);
	assert_int_equal(unhex(c->server_random, sr, sizeof(sr)), 32);
	d = tlsdec_new_tls12(&p, ms, cr, sr, TLS_DIR_CLIENT, &err);
	if (!d)
		fail_msg("%s: tlsdec_new_tls12: %d", c->name, err);
	return d;
}

static size_t cap_nrecs(const struct cap *c)
{
	size_t n = 0;

	while (n < sizeof(c->recs) / sizeof(c->recs[0]) && c->recs[n].hex)
		n++;
	return n;
}

static void check_request(const struct cap *c, const uint8_t *app, size_t n)
{
	static const char want[] = REQUEST1 " HTTP/1.1\r\n";

	if (n < sizeof(want) - 1 || memcmp(app, want, sizeof(want) - 1) != 0)
		fail_msg("%s: plaintext does not start with the first request: %.*s", c->name,
		         (int)(n < 100 ? n : 100), (const char *)app);
}

/* Every capture: the client's records decrypt to tshark's first request. */
static void test_captures(void **state)
{
	static uint8_t app[4 * TLSDEC_MAX_PLAINTEXT];

	for (size_t k = 0; k < sizeof(caps) / sizeof(caps[0]); k++) {
		const struct cap *c = &caps[k];
		struct tlsdec *d = cap_new(c);
		size_t napp = 0, nrecs = cap_nrecs(c);

		for (size_t i = 0; i < nrecs; i++) {
			size_t len = 0;
			uint8_t type = 0;
			enum tlsdec_result r = open_hex(d, c->recs[i].type, c->recs[i].version,
			                                c->recs[i].hex, out, &len, &type);
			if (r != TLSDEC_OK)
				fail_msg("%s: record %zu: result %d", c->name, i, r);
			if (type == TLS_CT_HANDSHAKE) {
				/* TLS <= 1.2 client Finished: type 20, 12 bytes verify_data */
				assert_int_equal(len, 16);
				assert_hex(out, 4, "1400000c");
				continue;
			}
			assert_int_equal(type, TLS_CT_APPLICATION_DATA);
			memcpy(app + napp, out, len);
			napp += len;
		}
		check_request(c, app, napp);
		assert_int_equal(tlsdec_seq(d), nrecs);
		tlsdec_free(d);
	}
}

static const struct cap *cap_named(const char *name)
{
	for (size_t k = 0; k < sizeof(caps) / sizeof(caps[0]); k++)
		if (strcmp(caps[k].name, name) == 0)
			return &caps[k];
	fail_msg("no case %s", name);
	return NULL;
}

/* tls-13-keyupdate: records after each KeyUpdate need tlsdec_key_update(). */
static void test_key_update(void **state)
{
	const struct cap *c = &keyupdate;
	struct tlsdec *d = new13(c->suite, c->secret);
	struct tlsdec *stale = new13(c->suite, c->secret);
	size_t len = 0;
	uint8_t type = 0;

	assert_int_equal(open_hex(d, 23, 0x0303, c->recs[0].hex, out, &len, &type), TLSDEC_OK);
	assert_int_equal(type, 23);
	check_request(c, out, len);
	assert_int_equal(open_hex(d, 23, 0x0303, c->recs[1].hex, out, &len, &type), TLSDEC_OK);
	assert_int_equal(type, 22);
	assert_hex(out, len, "1800000101"); /* KeyUpdate(update_requested) */
	assert_int_equal(tlsdec_seq(d), 2);

	/* Without the update the next record does not authenticate. */
	assert_int_equal(open_hex(stale, 23, 0x0303, c->recs[0].hex, out, &len, &type), TLSDEC_OK);
	assert_int_equal(open_hex(stale, 23, 0x0303, c->recs[1].hex, out, &len, &type), TLSDEC_OK);
	assert_int_equal(open_hex(stale, 23, 0x0303, c->recs[2].hex, out, &len, &type),
	                 TLSDEC_AUTH_FAIL);

	/* Then tshark's second and third requests, with a
	 * KeyUpdate(update_not_requested) between them. */
	static const char *const want[] = {
	    "POST /EWS/Exchange.asmx HTTP/1.1\r\n",
	    "POST /Microsoft-Server-ActiveSync?Cmd=FolderSync&User=alice&",
	};
	for (size_t i = 2; i < 5; i += 2) {
		const char *w = want[i / 2 - 1];
		assert_int_equal(tlsdec_key_update(d), 0);
		assert_int_equal(tlsdec_seq(d), 0);
		assert_int_equal(open_hex(d, 23, 0x0303, c->recs[i].hex, out, &len, &type),
		                 TLSDEC_OK);
		assert_int_equal(type, 23);
		assert_true(len >= strlen(w));
		assert_memory_equal(out, w, strlen(w));
		if (i + 1 < 5) {
			assert_int_equal(
			    open_hex(d, 23, 0x0303, c->recs[i + 1].hex, out, &len, &type),
			    TLSDEC_OK);
			assert_int_equal(type, 22);
			assert_hex(out, len, "1800000100");
		}
	}
	tlsdec_free(d);
	tlsdec_free(stale);
}

/*
 * RSA key exchange and extended master secret.
 */

static void test_rsa_kx_master_secret(void **state)
{
	static uint8_t hs[2048];
	size_t n = unhex(rsa_kx_handshake, hs, sizeof(hs));
	uint8_t pm[48], ms[TLSDEC_MASTER_LEN], sh[64], sh2[64], cr[32];
	const uint8_t *epms = hs + n - 256;
	struct tlsdec_rsa *k = NULL;
	char path[1024], err[256] = "";
	enum tls_hash prf = tls_suite_prf(suite(0x009c), TLS_V12);

	pcaps_path(path, sizeof(path), "tls-12-rsa-kx/server-key.pem");
	if (tlsdec_rsa_load(path, &k, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(tlsdec_rsa_premaster(k, epms, 256, pm), 0);
	assert_hex(pm, sizeof(pm), RSA_KX_PREMASTER);

	/* The session hash, fed in pieces, peeked in between. */
	struct tlsdec_hash *h = tlsdec_hash_new(prf);
	assert_non_null(h);
	tlsdec_hash_update(h, hs, 140); /* ClientHello */
	assert_int_equal(tlsdec_hash_peek(h, sh, sizeof(sh)), 32);
	tlsdec_hash_update(h, hs + 140, n - 140);
	assert_int_equal(tlsdec_hash_peek(h, sh, sizeof(sh)), 32);
	assert_int_equal(tlsdec_hash_peek(h, sh2, sizeof(sh2)), 32);
	assert_memory_equal(sh, sh2, 32);
	tlsdec_hash_free(h);

	assert_int_equal(tlsdec_master_secret(prf, pm, sizeof(pm), NULL, NULL, sh, 32, ms), 0);
	assert_hex(ms, sizeof(ms), RSA_KX_MASTER);

	/* Without EMS the randoms are used: a different secret. */
	unhex(RSA_KX_CLIENT_RANDOM, cr, sizeof(cr));
	assert_int_equal(tlsdec_master_secret(prf, pm, sizeof(pm), cr, hs + 140 + 6, NULL, 0, sh2),
	                 0);
	assert_memory_not_equal(sh2, ms, sizeof(ms));
	assert_int_equal(tlsdec_master_secret(prf, NULL, 0, cr, cr, NULL, 0, ms), -EINVAL);
	assert_int_equal(tlsdec_master_secret(prf, pm, sizeof(pm), NULL, NULL, NULL, 0, ms),
	                 -EINVAL);

	/* A damaged encrypted pre-master secret fails PKCS#1 v1.5. */
	uint8_t bad[256];
	memcpy(bad, epms, sizeof(bad));
	bad[100] ^= 0x40;
	assert_true(tlsdec_rsa_premaster(k, bad, sizeof(bad), pm) < 0);
	assert_true(tlsdec_rsa_premaster(k, epms, 255, pm) < 0);
	tlsdec_rsa_free(k);
}

static void test_rsa_load_errors(void **state)
{
	struct tlsdec_rsa *k = NULL;
	char path[1024], err[1200] = "";

	pcaps_path(path, sizeof(path), "tls-12-rsa-kx/no-such-key.pem");
	assert_int_equal(tlsdec_rsa_load(path, &k, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "no-such-key.pem"));
	assert_null(k);

	pcaps_path(path, sizeof(path), "tls-12-rsa-kx/keys.txt");
	assert_int_equal(tlsdec_rsa_load(path, &k, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "keys.txt: "));
	assert_null(k);
	tlsdec_rsa_free(NULL);
}

/* Known digests of "abc" (RFC 1321 A.5, FIPS 180-2 B.1, D.1). */
static void test_transcript_hash(void **state)
{
	static const struct {
		enum tls_hash h;
		const char *hex;
	} v[] = {
	    /* RFC 7627 §3 for TLS 1.0/1.1: MD5(msgs) || SHA1(msgs) */
	    {TLS_HASH_MD5_SHA1, "900150983cd24fb0d6963f7d28e17f72"
	                        "a9993e364706816aba3e25717850c26c9cd0d89d"},
	    {TLS_HASH_SHA256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	    {TLS_HASH_SHA384, "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded163"
	                      "1a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"},
	};
	uint8_t d[64];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct tlsdec_hash *h = tlsdec_hash_new(v[i].h);
		assert_non_null(h);
		tlsdec_hash_update(h, (const uint8_t *)"a", 1);
		tlsdec_hash_update(h, NULL, 0);
		tlsdec_hash_update(h, (const uint8_t *)"bc", 2);
		size_t n = tlsdec_hash_peek(h, d, sizeof(d));
		assert_hex(d, n, v[i].hex);
		assert_int_equal(tlsdec_hash_peek(h, d, n - 1), 0); /* too small */
		tlsdec_hash_free(h);
	}
	assert_null(tlsdec_hash_new(TLS_HASH_NONE));
	tlsdec_hash_free(NULL);
}

/*
 * Failures.
 */

static uint8_t frag[TLS_MAX_CIPHERTEXT_12 + 64];

/* The fragment of a capture record, in `frag`; its length. */
static size_t cap_frag(const struct cap *c, size_t i)
{
	return unhex(c->recs[i].hex, frag, sizeof(frag));
}

/* Decrypts frag[0..n) expecting `want`; the ret_* stay untouched on failure. */
static void expect(struct tlsdec *d, const struct cap *c, size_t i, size_t n,
                   enum tlsdec_result want)
{
	size_t len = 12345;
	uint8_t type = 99;
	enum tlsdec_result r =
	    tlsdec_record(d, c ? c->recs[i].type : 23, c ? c->recs[i].version : 0x0303, frag, n,
	                  out, &len, &type);

	if (r != want)
		fail_msg("%s record %zu (%zu bytes): result %d, want %d", c ? c->name : "-", i, n,
		         r, want);
	if (r != TLSDEC_OK) {
		assert_int_equal(len, 12345);
		assert_int_equal(type, 99);
	}
}

static void test_auth_fail_aead(void **state)
{
	struct tlsdec *d = new13(0x1301, RFC_C_AP_SECRET);
	size_t n = unhex(rfc_client_app_record, frag, sizeof(frag));

	frag[n - 1] ^= 0x01; /* tag */
	expect(d, NULL, 0, n, TLSDEC_AUTH_FAIL);
	assert_int_equal(tlsdec_seq(d), 1); /* advanced all the same */
	for (size_t i = 0; i < n - 16; i++)
		assert_int_equal(out[i], 0); /* unauthenticated plaintext wiped */
	tlsdec_free(d);

	/* Wrong key: the server's secret for the client's record. */
	d = new13(0x1301, RFC_S_AP_SECRET);
	n = unhex(rfc_client_app_record, frag, sizeof(frag));
	expect(d, NULL, 0, n, TLSDEC_AUTH_FAIL);
	tlsdec_free(d);

	/* TLS 1.2 GCM and ChaCha20: a flipped tag byte, a wrong master secret. */
	static const char *const names[] = {"tls-12-ecdhe-rsa-aes128gcm", "tls-12-ecdsa-chacha20",
	                                    "tls-13-aes128ccm"};
	for (size_t k = 0; k < 3; k++) {
		const struct cap *c = cap_named(names[k]);
		d = cap_new(c);
		n = cap_frag(c, 0);
		frag[n - 2] ^= 0x80;
		expect(d, c, 0, n, TLSDEC_AUTH_FAIL);
		tlsdec_free(d);

		struct cap wrong = *c;
		char secret[97];
		snprintf(secret, sizeof(secret), "%s", c->secret);
		secret[0] = secret[0] == '0' ? '1' : '0';
		wrong.secret = secret;
		d = cap_new(&wrong);
		n = cap_frag(c, 0);
		expect(d, c, 0, n, TLSDEC_AUTH_FAIL);
		tlsdec_free(d);
	}
}

static void test_auth_fail_cbc(void **state)
{
	/* Encrypt-then-MAC: the MAC (last byte) is checked before decrypting. */
	const struct cap *c = cap_named("tls-12-cbc-sha384-etm");
	struct tlsdec *d = cap_new(c);
	size_t n = cap_frag(c, 0);
	frag[n - 1] ^= 0x01;
	expect(d, c, 0, n, TLSDEC_AUTH_FAIL);
	tlsdec_free(d);

	/* MAC-then-encrypt: a flipped content bit breaks the MAC. */
	c = cap_named("tls-12-cbc-sha256-noetm");
	d = cap_new(c);
	n = cap_frag(c, 0);
	frag[20] ^= 0x01; /* explicit IV byte 4 -> content byte 4 */
	expect(d, c, 0, n, TLSDEC_AUTH_FAIL);
	tlsdec_free(d);

	/* TLS 1.0: a record that fails still advances the chained IV and the
	 * sequence number, so the next one decrypts. */
	c = cap_named("tls-10-cbc");
	d = cap_new(c);
	expect(d, c, 0, cap_frag(c, 0), TLSDEC_OK);
	n = cap_frag(c, 1);
	frag[n - 1] ^= 0x01; /* its MAC */
	expect(d, c, 1, n, TLSDEC_AUTH_FAIL);
	expect(d, c, 2, cap_frag(c, 2), TLSDEC_OK);
	assert_int_equal(tlsdec_seq(d), 3);
	tlsdec_free(d);
}

/*
 * tls-11-cbc's Finished: explicit IV, then 48 bytes of content (16), MAC
 * (20) and padding (11 bytes of 11, plus the length byte 11).  Flipping the
 * previous ciphertext block flips the same plaintext bit in the last block.
 */
static void test_bad_padding(void **state)
{
	const struct cap *c = cap_named("tls-11-cbc");
	static const uint8_t flips[] = {
	    0x01, /* length 10, bytes 11: inconsistent */
	    0xf4, /* length 255: longer than the record */
	    0x11, /* length 0x1a: padding reaches into the MAC */
	};

	for (size_t i = 0; i < sizeof(flips); i++) {
		struct tlsdec *d = cap_new(c);
		size_t n = cap_frag(c, 0);
		assert_int_equal(n, 64);
		frag[16 + 32 - 1] ^= flips[i];
		expect(d, c, 0, n, TLSDEC_AUTH_FAIL);
		assert_int_equal(tlsdec_seq(d), 1);
		tlsdec_free(d);
	}
	struct tlsdec *d = cap_new(c);
	expect(d, c, 0, cap_frag(c, 0), TLSDEC_OK);
	tlsdec_free(d);
}

/*
 * A forged encrypt-then-MAC record for tls-12-aes128-sha (AES-128-CBC,
 * HMAC-SHA1, PRF SHA-256), sequence 0, with the client write keys taken
 * here from its master secret by the RFC 5246 §6.3 key block (plain EVP):
 * a valid MAC over a chosen padding, which only the padding check can
 * refuse.  `plain` is content || padding || length byte, a block multiple.
 */
static size_t forge_etm(const uint8_t *plain, size_t n, uint8_t *f)
{
	const struct cap *c = cap_named("tls-12-aes128-sha");
	uint8_t ms[TLSDEC_MASTER_LEN], seed[13 + 64], kb[2 * 20 + 2 * 16], hdr[13];
	size_t ml = 0;
	int l = 0;

	unhex(c->secret, ms, sizeof(ms));
	memcpy(seed, "key expansion", 13);
	unhex(c->server_random, seed + 13, 32);
	unhex(c->client_random, seed + 45, 32);
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL);
	EVP_KDF_CTX *k = EVP_KDF_CTX_new(kdf);
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, ms, sizeof(ms)),
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, seed, sizeof(seed)),
	    OSSL_PARAM_construct_end(),
	};
	assert_true(EVP_KDF_derive(k, kb, sizeof(kb), params) > 0);
	EVP_KDF_CTX_free(k);
	EVP_KDF_free(kdf);

	memset(f, 0xa5, 16); /* explicit IV */
	EVP_CIPHER_CTX *cc = EVP_CIPHER_CTX_new();
	assert_true(EVP_EncryptInit_ex2(cc, EVP_aes_128_cbc(), kb + 40, f, NULL) > 0);
	EVP_CIPHER_CTX_set_padding(cc, 0);
	assert_true(EVP_EncryptUpdate(cc, f + 16, &l, plain, (int)n) > 0);
	assert_int_equal(l, (int)n);
	EVP_CIPHER_CTX_free(cc);

	memset(hdr, 0, 8); /* seq 0 */
	hdr[8] = 23;
	hdr[9] = hdr[10] = 3;
	hdr[11] = (uint8_t)((16 + n) >> 8);
	hdr[12] = (uint8_t)(16 + n);
	uint8_t macd[13 + 16 + 64];
	assert_true(16 + n <= 16 + 64);
	memcpy(macd, hdr, 13);
	memcpy(macd + 13, f, 16 + n);
	assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA1", NULL, kb, 20, macd, 13 + 16 + n,
	                          f + 16 + n, 20, &ml));
	assert_int_equal(ml, 20);
	return 16 + n + 20;
}

static void test_cbc_padding_under_valid_mac(void **state)
{
	static const struct {
		size_t pad;            /* padding bytes, without the length byte */
		uint8_t len_byte, odd; /* odd: the value of one padding byte */
		enum tlsdec_result want;
	} v[] = {
	    {10, 10, 10, TLSDEC_OK},       /* "hello" + 11 */
	    {26, 26, 26, TLSDEC_OK},       /* longer than needed (RFC 5246 §6.2.3.2) */
	    {58, 58, 58, TLSDEC_OK},       /* over several blocks */
	    {10, 10, 9, TLSDEC_AUTH_FAIL}, /* one byte wrong */
	    {26, 26, 0, TLSDEC_AUTH_FAIL},
	    {10, 200, 10, TLSDEC_AUTH_FAIL}, /* length past the record */
	    {10, 15, 10, TLSDEC_AUTH_FAIL},  /* into the content */
	};
	const struct cap *c = cap_named("tls-12-aes128-sha");

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t plain[64];
		size_t n = 5 + v[i].pad + 1, len = 0;
		uint8_t type = 0;

		memcpy(plain, "hello", 5);
		memset(plain + 5, (int)v[i].len_byte, v[i].pad);
		plain[5 + v[i].pad / 2] = v[i].odd;
		plain[n - 1] = v[i].len_byte;
		size_t fn = forge_etm(plain, n, frag);
		struct tlsdec *d = cap_new(c);
		enum tlsdec_result r = tlsdec_record(d, 23, 0x0303, frag, fn, out, &len, &type);
		if (r != v[i].want)
			fail_msg("padding case %zu: result %d, want %d", i, r, v[i].want);
		if (r == TLSDEC_OK) {
			assert_int_equal(len, 5);
			assert_memory_equal(out, "hello", 5);
		}
		tlsdec_free(d);
	}
}

static void test_bad_record(void **state)
{
	struct tlsdec *d = new13(0x1301, RFC_C_AP_SECRET);

	memset(frag, 0, sizeof(frag));
	expect(d, NULL, 0, 0, TLSDEC_BAD_RECORD);
	expect(d, NULL, 0, 16, TLSDEC_BAD_RECORD); /* a tag, no content type */
	expect(d, NULL, 0, TLS_MAX_CIPHERTEXT_13 + 1, TLSDEC_BAD_RECORD);
	assert_int_equal(tlsdec_record(d, 23, 0x0303, NULL, 20, out, NULL, NULL),
	                 TLSDEC_BAD_RECORD);
	assert_int_equal(tlsdec_seq(d), 0); /* framing failures consume nothing */
	size_t n = unhex(rfc_client_app_record, frag, sizeof(frag));
	expect(d, NULL, 0, n, TLSDEC_OK);
	tlsdec_free(d);

	/* TLS 1.2 GCM: shorter than explicit nonce + tag, or over 2^14 plaintext. */
	const struct cap *c = cap_named("tls-12-ecdhe-rsa-aes128gcm");
	d = cap_new(c);
	expect(d, c, 0, 8 + 16 - 1, TLSDEC_BAD_RECORD);
	expect(d, c, 0, 8 + 16 + TLS_MAX_PLAINTEXT + 1, TLSDEC_BAD_RECORD);
	expect(d, c, 0, TLS_MAX_CIPHERTEXT_12 + 1, TLSDEC_BAD_RECORD);
	expect(d, c, 0, cap_frag(c, 0), TLSDEC_OK);
	tlsdec_free(d);

	c = cap_named("tls-12-ecdsa-chacha20");
	d = cap_new(c);
	expect(d, c, 0, 15, TLSDEC_BAD_RECORD);
	tlsdec_free(d);

	/* CBC: not a block multiple; no room for IV + MAC; too long. */
	c = cap_named("tls-12-cbc-sha384-etm");
	d = cap_new(c);
	expect(d, c, 0, 16 + 17 + 48, TLSDEC_BAD_RECORD);
	expect(d, c, 0, 16 + 48, TLSDEC_BAD_RECORD);
	expect(d, c, 0, 16 + 47, TLSDEC_BAD_RECORD);
	expect(d, c, 0, 16 + TLS_MAX_PLAINTEXT + 256 + 16 + 48, TLSDEC_BAD_RECORD);
	expect(d, c, 0, cap_frag(c, 0), TLSDEC_OK);
	tlsdec_free(d);

	c = cap_named("tls-10-cbc"); /* chained IV: framing failures leave it alone */
	d = cap_new(c);
	expect(d, c, 0, cap_frag(c, 0) - 1, TLSDEC_BAD_RECORD);
	expect(d, c, 0, cap_frag(c, 0), TLSDEC_OK);
	tlsdec_free(d);

	c = cap_named("tls-11-cbc"); /* MtE: at least one block with MAC + length byte */
	d = cap_new(c);
	expect(d, c, 0, 16 + 16, TLSDEC_BAD_RECORD);
	/* Longest: content 2^14 + MAC 20 + 256 bytes of padding = 16660. */
	memset(frag, 0x33, sizeof(frag));
	expect(d, c, 0, 16 + 16 * 1041, TLSDEC_AUTH_FAIL);  /* 16656: decrypted, rejected */
	expect(d, c, 0, 16 + 16 * 1042, TLSDEC_BAD_RECORD); /* 16672 */
	tlsdec_free(d);
}

/* TLS 1.3 inner plaintext (RFC 8446 §5.4), sealed with the RFC's client key. */
static void test_inner_plaintext(void **state)
{
	struct tlsdec *d = new13(0x1301, RFC_C_AP_SECRET);
	static const uint8_t padded[] = {'h', 'i', 23, 0, 0, 0, 0};
	static const uint8_t zeros[8] = {0};
	size_t n, len = 0;
	uint8_t type = 0;

	n = seal13(RFC_C_AP_KEY, RFC_C_AP_IV, 0, padded, sizeof(padded), frag);
	assert_int_equal(tlsdec_record(d, 23, 0x0303, frag, n, out, &len, &type), TLSDEC_OK);
	assert_int_equal(len, 2);
	assert_int_equal(type, 23);
	assert_memory_equal(out, "hi", 2);

	/* Authentic, but no content type: malformed. */
	n = seal13(RFC_C_AP_KEY, RFC_C_AP_IV, 1, zeros, sizeof(zeros), frag);
	expect(d, NULL, 0, n, TLSDEC_BAD_RECORD);
	assert_int_equal(tlsdec_seq(d), 2);

	/* The header is the AAD: another length or type does not authenticate. */
	n = seal13(RFC_C_AP_KEY, RFC_C_AP_IV, 2, padded, sizeof(padded), frag);
	assert_int_equal(tlsdec_record(d, 22, 0x0303, frag, n, out, &len, &type), TLSDEC_AUTH_FAIL);
	tlsdec_free(d);
}

static void test_unsupported(void **state)
{
	static const uint8_t ms[TLSDEC_MASTER_LEN], rnd[32], secret[48];
	struct {
		uint16_t version, suite;
		size_t secret_len; /* 0: TLS <= 1.2 constructor */
		int dir;
	} v[] = {
	    {TLS_V12, 0x1301, 0, 0},  /* a TLS 1.3 suite in TLS 1.2 */
	    {TLS_V10, 0xc027, 0, 0},  /* SHA-256 CBC is TLS 1.2 only */
	    {TLS_V11, 0xc02f, 0, 0},  /* GCM is TLS 1.2 only */
	    {0x0300, 0xc013, 0, 0},   /* SSL 3.0 */
	    {TLS_V13, 0x1301, 0, 0},  /* TLS 1.3 through the TLS 1.2 constructor */
	    {TLS_V12, 0xc013, 0, 2},  /* no such direction */
	    {TLS_V13, 0xc02f, 32, 0}, /* a TLS 1.2 suite in TLS 1.3 */
	    {TLS_V12, 0x1301, 32, 0}, /* TLS 1.3 suite, wrong version */
	    {TLS_V13, 0x1301, 48, 0}, /* SHA-256 suite, SHA-384-sized secret */
	    {TLS_V13, 0x1302, 32, 0}, /* and the other way round */
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct tlsdec_params p = {.version = v[i].version, .suite = suite(v[i].suite)};
		enum tlsdec_result err = TLSDEC_OK;
		struct tlsdec *d = v[i].secret_len
		                       ? tlsdec_new_tls13(&p, secret, v[i].secret_len, &err)
		                       : tlsdec_new_tls12(&p, ms, rnd, rnd, v[i].dir, &err);
		if (d)
			fail_msg("case %zu accepted", i);
		assert_int_equal(err, TLSDEC_UNSUPPORTED);
	}
	struct tlsdec_params none = {.version = TLS_V12};
	enum tlsdec_result err = TLSDEC_OK;
	assert_null(tlsdec_new_tls12(&none, ms, rnd, rnd, 0, &err));
	assert_int_equal(err, TLSDEC_UNSUPPORTED);
	assert_null(tlsdec_new_tls13(NULL, secret, 32, NULL));

	/* KeyUpdate is TLS 1.3's. */
	struct tlsdec *d = cap_new(cap_named("tls-12-ecdhe-rsa-aes128gcm"));
	assert_int_equal(tlsdec_key_update(d), -EINVAL);
	tlsdec_free(d);
	tlsdec_free(NULL);
	assert_int_equal(tlsdec_seq(NULL), 0);
}

/*
 * TLS_RSA_WITH_3DES_EDE_CBC_SHA: no capture negotiates it (OpenSSL 3 needs
 * the legacy build); only that it sets up and frames 8-byte blocks.
 */
static void test_3des_framing(void **state)
{
	static const uint8_t ms[TLSDEC_MASTER_LEN], rnd[32];
	struct tlsdec_params p = {.version = TLS_V10, .suite = suite(0x000a)};
	enum tlsdec_result err = TLSDEC_OK;
	struct tlsdec *d = tlsdec_new_tls12(&p, ms, rnd, rnd, TLS_DIR_SERVER, &err);

	assert_non_null(d);
	memset(frag, 0x5a, 64);
	expect(d, NULL, 0, 20, TLSDEC_BAD_RECORD); /* < MAC + 1, not a block multiple */
	expect(d, NULL, 0, 36, TLSDEC_BAD_RECORD);
	expect(d, NULL, 0, 32, TLSDEC_AUTH_FAIL);
	tlsdec_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc8448_write_keys),
	    cmocka_unit_test(test_rfc8448_server_handshake),
	    cmocka_unit_test(test_rfc8448_application),
	    cmocka_unit_test(test_captures),
	    cmocka_unit_test(test_key_update),
	    cmocka_unit_test(test_rsa_kx_master_secret),
	    cmocka_unit_test(test_rsa_load_errors),
	    cmocka_unit_test(test_transcript_hash),
	    cmocka_unit_test(test_auth_fail_aead),
	    cmocka_unit_test(test_auth_fail_cbc),
	    cmocka_unit_test(test_bad_padding),
	    cmocka_unit_test(test_cbc_padding_under_valid_mac),
	    cmocka_unit_test(test_bad_record),
	    cmocka_unit_test(test_inner_plaintext),
	    cmocka_unit_test(test_unsupported),
	    cmocka_unit_test(test_3des_framing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
