/*
 * tls.h — TLS record layer and handshake metadata, without decryption.
 *
 * Normative references: RFC 8446 (TLS 1.3) §4.1.2-4.1.4, §4.2, §5.1;
 * RFC 5246 (TLS 1.2) §6.2, §7.4; RFC 6066 §3 (server_name); RFC 7301
 * (ALPN); RFC 7366 (encrypt_then_mac); RFC 7627 (extended_master_secret);
 * RFC 8449 (record_size_limit); RFC 8422 (groups, point formats); RFC 8701
 * (GREASE).  Fingerprints: JA3 (github.com/salesforce/ja3) and JA4 for TLS
 * over TCP (FoxIO JA4 technical details).
 *
 * Three layers, each usable on its own:
 *
 *   tls_record_parse()   one record from contiguous bytes: the parse contract
 *                        OK (consumed) / NEED_MORE (needed) / GIVE_UP;
 *   tls_client_hello_parse(), tls_server_hello_parse()
 *                        one handshake message body into a fixed-size struct;
 *   struct tls_conn      both directions of one connection: records framed
 *                        across and within segments, hellos reassembled
 *                        across records, the point where each direction
 *                        becomes encrypted, callbacks for the sensor.
 *
 * Dissectors do no crypto: JA3 and JA4 are produced here as their canonical
 * input strings (tls_ja3_string, tls_ja4_input); sensor/tlsfp.c hashes them.
 *
 * Ownership: every input is borrowed for the duration of the call; nothing
 * here keeps a pointer into it.  Pointers handed to callbacks (a record's
 * fragment, a hello struct) are valid only during the callback.
 */
#ifndef MDM_TLS_H
#define MDM_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mdm_limits.h"

/* Record content types (RFC 8446 §5.1, RFC 6520 for heartbeat). */
#define TLS_CT_CHANGE_CIPHER_SPEC 20
#define TLS_CT_ALERT              21
#define TLS_CT_HANDSHAKE          22
#define TLS_CT_APPLICATION_DATA   23
#define TLS_CT_HEARTBEAT          24

/* Handshake types used here (RFC 8446 §4). */
#define TLS_HS_CLIENT_HELLO 1
#define TLS_HS_SERVER_HELLO 2

#define TLS_V10 0x0301
#define TLS_V11 0x0302
#define TLS_V12 0x0303
#define TLS_V13 0x0304

#define TLS_RECORD_HEADER     5
#define TLS_MAX_PLAINTEXT     16384u                      /* 2^14 */
#define TLS_MAX_CIPHERTEXT_12 (TLS_MAX_PLAINTEXT + 2048u) /* RFC 5246 §6.2.3 */
#define TLS_MAX_CIPHERTEXT_13 (TLS_MAX_PLAINTEXT + 256u)  /* RFC 8446 §5.2 */

#define TLS_RANDOM_LEN     32
#define TLS_SESSION_ID_MAX 32
#define TLS_LIST_MAX       LIMIT_TLS_HELLO_LIST

/* Directions, as everywhere in the sensor: 0 client->server, 1 back. */
#define TLS_DIR_CLIENT 0
#define TLS_DIR_SERVER 1

enum tls_result {
	TLS_OK,
	TLS_NEED_MORE,
	TLS_GIVE_UP,
};

/*
 * Named anomalies of this dissector (stable names, see common/anomaly.h for
 * the convention; they belong in ANOMALY_LIST when the TLS layer is wired
 * into the sensor).
 */
#define TLS_ANOMALY_LIST(X)                                                                        \
	X(NONE, "none")                                                                            \
	X(NOT_TLS, "tls_not_tls")                 /* bad content type or version */                \
	X(SSLV2, "tls_sslv2_hello")               /* SSL 2.0 framing: not parsed */                \
	X(RECORD_TOO_LONG, "tls_record_too_long") /* over the RFC maximum */                       \
	X(EMPTY_RECORD, "tls_empty_record")       /* 0-length non-data record */                   \
	X(GAP, "tls_gap")                         /* stream gap: framing lost */                   \
	X(HANDSHAKE_TOO_LONG, "tls_handshake_too_long")                                            \
	X(BAD_HELLO, "tls_bad_hello")         /* hello framing does not hold */                    \
	X(BAD_EXTENSION, "tls_bad_extension") /* one extension's body is bad */                    \
	X(DUP_EXTENSION, "tls_dup_extension") /* RFC 8446 §4.2 */                                 \
	X(PSK_NOT_LAST, "tls_psk_not_last")   /* RFC 8446 §4.2.11 */                              \
	X(HELLO_WRONG_DIR, "tls_hello_wrong_direction")                                            \
	X(HANDSHAKE_SPANS_KEY_CHANGE, "tls_handshake_spans_key_change") /* §5.1 */                \
	X(LIST_OVERFLOW, "tls_list_overflow") /* > LIMIT_TLS_HELLO_LIST values */                  \
	X(MEMCAP, "tls_memcap")               /* a partial record would pass the shared budget */

enum tls_anomaly {
#define TLS_ANOMALY_ENUM(id, name) TLS_ANOMALY_##id,
	TLS_ANOMALY_LIST(TLS_ANOMALY_ENUM)
#undef TLS_ANOMALY_ENUM
	    TLS_ANOMALY__COUNT
};

const char *tls_anomaly_name(enum tls_anomaly a);

/* True for the 16 GREASE values 0x?A?A of RFC 8701 §2 (both bytes equal). */
bool tls_is_grease(uint16_t v);

/*
 * Record layer.
 *
 *   0        1        2        3        4        5
 *   +--------+--------+--------+--------+--------+-------- ... --+
 *   |  type  |    version      |     length      |   fragment    |
 *   +--------+--------+--------+--------+--------+-------- ... --+
 */
struct tls_record {
	uint8_t type;
	uint16_t version;
	uint16_t length;
	const uint8_t *fragment; /* borrowed: valid during the call/callback */
	bool encrypted;          /* set by tls_conn: protected by a key */
};

/*
 * Frames one record from data[0..len).  Checks, on as many header bytes as
 * are present (so non-TLS is refused after one byte): content type 20-24,
 * version 3.0-3.4 (major 3), length <= max_len and, except for application
 * data, not zero.  OK: *ret and *ret_consumed (header + fragment) written.
 * NEED_MORE: *ret_needed is the total number of bytes the record needs
 * (5 while the header is incomplete).  GIVE_UP: *ret_anomaly says why
 * (NOT_TLS, SSLV2, RECORD_TOO_LONG, EMPTY_RECORD).  Any ret_* may be NULL.
 */
enum tls_result tls_record_parse(const uint8_t *data, size_t len, size_t max_len,
                                 struct tls_record *ret, size_t *ret_consumed, size_t *ret_needed,
                                 enum tls_anomaly *ret_anomaly);

/* A list of 16-bit values as sent (GREASE included), at most TLS_LIST_MAX. */
struct tls_list {
	uint16_t n;     /* values stored */
	uint32_t total; /* values sent; > n means overflowed */
	uint16_t v[TLS_LIST_MAX];
};

#define TLS_ALPN_MAX 255 /* one protocol name, RFC 7301 §3.1 */

/* Handshake-level facts both hellos share. */
struct tls_hello_common {
	uint16_t legacy_version;
	uint8_t random[TLS_RANDOM_LEN];
	uint8_t session_id_len;
	uint8_t session_id[TLS_SESSION_ID_MAX];
	struct tls_list extensions;  /* types in wire order */
	bool encrypt_then_mac;       /* 22 */
	bool extended_master_secret; /* 23 */
	bool has_record_size_limit;  /* 28 */
	uint16_t record_size_limit;
	bool bad_extension; /* an extension body did not parse (anomaly) */
	bool dup_extension;
};

struct tls_client_hello {
	struct tls_hello_common h;
	struct tls_list ciphers;
	uint8_t compression_n;
	bool compression_null; /* the null method (0) is offered */
	bool has_sni;
	char sni[LIMIT_HOSTNAME_BYTES + 1]; /* first host_name; non-printables as '?' */
	bool sni_truncated;
	uint16_t alpn_count;    /* protocols offered */
	uint8_t alpn_first_len; /* first protocol, raw bytes */
	uint8_t alpn_first[TLS_ALPN_MAX];
	struct tls_list versions;      /* supported_versions (43) */
	struct tls_list groups;        /* supported_groups (10) */
	struct tls_list point_formats; /* ec_point_formats (11), bytes */
	struct tls_list sigalgs;       /* signature_algorithms (13) */
	struct tls_list key_shares;    /* key_share (51) groups */
	uint8_t psk_modes;             /* psk_key_exchange_modes (45): bit per mode 0/1 */
	bool has_psk;                  /* pre_shared_key (41): resumption attempt */
	uint16_t psk_identities;
	bool early_data;     /* early_data (42) */
	bool session_ticket; /* session_ticket (35), non-empty: resumption */
	bool psk_not_last;   /* pre_shared_key was not the last extension */
	bool grease;         /* any GREASE value seen */
	bool overflow;       /* some list exceeded TLS_LIST_MAX */
};

/* HRR random: SHA-256("HelloRetryRequest"), RFC 8446 §4.1.3. */
extern const uint8_t tls_hrr_random[TLS_RANDOM_LEN];

struct tls_server_hello {
	struct tls_hello_common h;
	uint16_t cipher_suite;
	uint8_t compression;
	uint16_t version;         /* negotiated: supported_versions if present */
	bool hello_retry_request; /* random == tls_hrr_random */
	/* RFC 8446 §4.1.3 downgrade sentinel in the last 8 random bytes: 0 none,
	 * 12 ("DOWNGRD\1": a 1.3 server chose 1.2), 11 ("DOWNGRD\0": <= 1.1). */
	uint8_t downgrade;
	bool has_alpn;
	uint8_t alpn_len;
	uint8_t alpn[TLS_ALPN_MAX];
	uint16_t key_share_group; /* key_share (51): chosen or HRR-requested */
	bool has_psk;             /* pre_shared_key (41): resumption accepted */
	uint16_t psk_identity;
};

/*
 * Parse a ClientHello / ServerHello body (after the 4-byte handshake
 * header).  TLS_OK and *ret written when the fixed fields and the extension
 * list frame exactly; an extension whose own body is malformed is skipped
 * and flagged (bad_extension) rather than failing the hello.  TLS_GIVE_UP
 * otherwise.  Never NEED_MORE: the caller hands a whole message.
 */
enum tls_result tls_client_hello_parse(const uint8_t *body, size_t len,
                                       struct tls_client_hello *ret);
enum tls_result tls_server_hello_parse(const uint8_t *body, size_t len,
                                       struct tls_server_hello *ret);

/*
 * JA3 input: "SSLVersion,Ciphers,Extensions,EllipticCurves,PointFormats",
 * decimal values '-'-joined, GREASE removed, the legacy_version as
 * SSLVersion.  0 or -E2BIG (a list overflowed, or size too small).
 */
#define TLS_JA3_MAX (6 + 4 * (TLS_LIST_MAX * 6 + 1))
int tls_ja3_string(const struct tls_client_hello *ch, char *out, size_t size);

/*
 * JA4 (TLS over TCP) inputs: part a verbatim ("t13d1516h2"), b_raw the
 * sorted cipher list, c_raw the sorted extensions without SNI/ALPN, then
 * '_' and the signature algorithms in wire order (no '_' when there are
 * none); 4-digit lowercase hex, comma-joined, GREASE removed.  An empty
 * b_raw / c_raw stands for "000000000000" in the fingerprint.
 */
#define TLS_JA4_A_LEN 10
struct tls_ja4_input {
	char a[TLS_JA4_A_LEN + 1];
	char b_raw[TLS_LIST_MAX * 5 + 1];
	char c_raw[TLS_LIST_MAX * 10 + 2];
};
int tls_ja4_input(const struct tls_client_hello *ch, struct tls_ja4_input *ret);

/*
 * Cipher suites the decryption layer supports (RFC 8446 B.4, RFC 5288,
 * RFC 5289, RFC 7905, RFC 5246 A.5, RFC 4492).  Lengths are in bytes:
 * key_len the cipher key, iv_len the implicit IV from the key block (TLS 1.2
 * GCM/CCM: 4-byte salt; ChaCha20 and TLS 1.3: 12; CBC: the block size, used
 * by TLS 1.0 only), mac_len the HMAC key and output length (0 for AEAD),
 * tag_len the AEAD tag.  prf is the TLS 1.2 PRF / TLS 1.3 HKDF hash; TLS
 * 1.0/1.1 always use MD5+SHA1 (see tls_suite_prf()).
 */
enum tls_hash { TLS_HASH_NONE, TLS_HASH_MD5_SHA1, TLS_HASH_SHA1, TLS_HASH_SHA256, TLS_HASH_SHA384 };
enum tls_cipher {
	TLS_CIPHER_AES_128_GCM,
	TLS_CIPHER_AES_256_GCM,
	TLS_CIPHER_AES_128_CCM,
	TLS_CIPHER_CHACHA20_POLY1305,
	TLS_CIPHER_AES_128_CBC,
	TLS_CIPHER_AES_256_CBC,
	TLS_CIPHER_3DES_EDE_CBC,
};
enum tls_kx { TLS_KX_NONE, TLS_KX_RSA, TLS_KX_DHE, TLS_KX_ECDHE };

struct tls_suite {
	uint16_t id;
	const char *name;     /* IANA name */
	uint16_t min_version; /* first protocol version that defines it */
	uint16_t max_version;
	enum tls_kx kx; /* TLS_KX_NONE for TLS 1.3 */
	enum tls_cipher cipher;
	bool aead;
	uint8_t key_len;
	uint8_t iv_len;
	uint8_t mac_len;
	uint8_t tag_len;
	enum tls_hash mac; /* HMAC hash of CBC suites */
	enum tls_hash prf;
};

/* The suite with this id, or NULL when not supported. */
const struct tls_suite *tls_suite_find(uint16_t id);
/* PRF hash for a suite at a negotiated version (MD5+SHA1 below TLS 1.2). */
enum tls_hash tls_suite_prf(const struct tls_suite *s, uint16_t version);

/*
 * One connection.  Invariants:
 *   - a direction's partial record is held in `pend` (at most the record's
 *     declared length + 5 bytes, <= TLS_MAX_CIPHERTEXT_12 + 5) and only
 *     until the record is complete;
 *   - a partial ClientHello/ServerHello is held up to
 *     LIMIT_TLS_HANDSHAKE_BYTES; other handshake messages are skipped by
 *     length and never buffered;
 *   - after GIVE_UP a direction stays given up (framing is lost): later
 *     feeds of it return TLS_GIVE_UP and call nothing.
 *
 * Encryption: a record is `encrypted` when it is application data, or when
 * its direction's keys are in use: TLS <= 1.2 from that direction's
 * ChangeCipherSpec; TLS 1.3 for both directions from the (non-HRR)
 * ServerHello on, where CCS is only middlebox compatibility (RFC 8446 D.4)
 * and changes nothing.  Encrypted handshake records are not reassembled.
 */
struct tls_ops {
	/* Every complete record, in order; optional. */
	void (*record)(void *ctx, int dir, const struct tls_record *rec);
	/* Every plaintext handshake message header (type, body length); optional. */
	void (*handshake)(void *ctx, int dir, uint8_t type, uint32_t len);
	void (*client_hello)(void *ctx, const struct tls_client_hello *ch); /* optional */
	void (*server_hello)(void *ctx, const struct tls_server_hello *sh); /* optional */
	void (*anomaly)(void *ctx, int dir, enum tls_anomaly a);            /* optional */
};

struct tls_conn;

/*
 * Bytes of partial records held across all connections that share the
 * budget (the caller owns it; tls_conn only adds and subtracts).  A record
 * that would take `used` past `cap` gives its direction up (anomaly
 * TLS_ANOMALY_MEMCAP, counted in `refused`).
 */
struct tls_budget {
	size_t used, cap;
	uint64_t refused;
};

struct tls_conn *tls_conn_new(void); /* NULL on allocation failure */
/* Charges this connection's partial records to `b` (NULL: no budget). */
void tls_conn_set_budget(struct tls_conn *c, struct tls_budget *b);
void tls_conn_free(struct tls_conn *c); /* accepts NULL */

/*
 * Feeds the next n bytes of direction dir.  Calls ops (with ctx) for what
 * completes, buffers the rest.  TLS_OK, or TLS_GIVE_UP once the direction
 * is not (or no longer) TLS, or on allocation failure.  The ops must not
 * call back into this connection.
 */
enum tls_result tls_conn_feed(struct tls_conn *c, int dir, const uint8_t *p, size_t n,
                              const struct tls_ops *ops, void *ctx);
/* Bytes of dir were lost: record framing cannot be recovered (GIVE_UP). */
void tls_conn_gap(struct tls_conn *c, int dir, const struct tls_ops *ops, void *ctx);

/* Negotiated version (0 before a ServerHello), cipher suite, TLS 1.3. */
uint16_t tls_conn_version(const struct tls_conn *c);
uint16_t tls_conn_cipher_suite(const struct tls_conn *c);
bool tls_conn_encrypted(const struct tls_conn *c, int dir);
bool tls_conn_given_up(const struct tls_conn *c, int dir);

#endif /* MDM_TLS_H */
