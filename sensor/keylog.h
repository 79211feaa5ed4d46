/*
 * keylog.h — the store of TLS secrets read from NSS key log files.
 *
 * Format: NSS Key Log Format (developer.mozilla.org, "NSS Key Log Format")
 * and draft-ietf-tls-keylogfile: one secret per line,
 *
 *   <label> SP <client_random, 64 hex> SP <secret, hex>
 *   RSA SP <first 8 bytes of the encrypted pre-master secret, 16 hex>
 *       SP <pre-master secret, 96 hex>
 *
 * with '#' comment lines and blank lines ignored, hex in either case, LF
 * or CRLF line ends.  Labels: CLIENT_RANDOM (TLS <= 1.2 master secret,
 * 48 bytes), and the TLS 1.3 secrets CLIENT_EARLY_TRAFFIC_SECRET,
 * CLIENT/SERVER_HANDSHAKE_TRAFFIC_SECRET, CLIENT/SERVER_TRAFFIC_SECRET_0,
 * EARLY_EXPORTER_SECRET, EXPORTER_SECRET (32 or 48 bytes: the suite's
 * hash length; 64 accepted for SHA-512 based suites).
 *
 * Invariants:
 *   - at most max_entries secrets are held; when full, new ones are refused
 *     and counted (stats.refused); nothing held is ever evicted;
 *   - one secret per (client random, label) and per RSA prefix: a repeated
 *     identical line is counted as a duplicate, a different secret for the
 *     same key as a conflict (the first one is kept, the line is reported);
 *   - every byte of a secret the store held or read is wiped
 *     (explicit_bzero) before its memory is freed or reused, including
 *     partial lines and read buffers; secrets are never passed to the
 *     bad-line callback, only the source, the line number and a reason;
 *   - line bytes are parsed through the checked cursor (buf.h).
 *
 * Not thread-safe: one owner (the sensor's key log thread or the offline
 * reader) feeds and looks up.
 */
#ifndef MDM_KEYLOG_H
#define MDM_KEYLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KEYLOG_RANDOM_LEN     32
#define KEYLOG_RSA_PREFIX_LEN 8
#define KEYLOG_SECRET_MAX     64

enum keylog_label {
	KEYLOG_CLIENT_RANDOM,
	KEYLOG_CLIENT_EARLY_TRAFFIC_SECRET,
	KEYLOG_CLIENT_HANDSHAKE_TRAFFIC_SECRET,
	KEYLOG_SERVER_HANDSHAKE_TRAFFIC_SECRET,
	KEYLOG_CLIENT_TRAFFIC_SECRET_0,
	KEYLOG_SERVER_TRAFFIC_SECRET_0,
	KEYLOG_EARLY_EXPORTER_SECRET,
	KEYLOG_EXPORTER_SECRET,
	KEYLOG_RSA, /* keyed by the encrypted pre-master secret's first 8 bytes */
	KEYLOG__COUNT
};

/* The label as written in key logs ("CLIENT_RANDOM" ...). */
const char *keylog_label_name(enum keylog_label l);

struct keylog_stats {
	uint64_t lines;       /* lines read, all kinds */
	uint64_t ignored;     /* blank and comment lines */
	uint64_t entries;     /* secrets held now */
	uint64_t bad_lines;   /* malformed lines (reported through the callback; conflicts
	                       * are reported too, and counted in `conflicts`) */
	uint64_t duplicates;  /* identical to a held secret */
	uint64_t conflicts;   /* same key and label, different secret (kept first) */
	uint64_t refused;     /* not stored: the store was full */
	uint64_t truncations; /* a tailed file shrank and was read again from 0 */
};

/*
 * Called for each line that is not a valid entry.  `source` is the file
 * path (or the name given to keylog_feed), `line` 1-based, `reason` a
 * static string.  Borrowed for the call only.
 */
typedef void (*keylog_bad_line_fn)(void *ctx, const char *source, uint64_t line,
                                   const char *reason);

struct keylog;
struct keylog_file;

/* max_entries 0 means LIMIT_KEYLOG_ENTRIES.  bad_line may be NULL. */
struct keylog *keylog_new(size_t max_entries, keylog_bad_line_fn bad_line, void *ctx);
/* Wipes every secret, closes every file.  Accepts NULL. */
void keylog_free(struct keylog *kl);

/*
 * Parses a whole key log text held in memory (a pcapng Decryption Secrets
 * Block, a test): its last line needs no newline.  `source` names it in
 * bad-line reports.  Returns the number of secrets added.
 */
size_t keylog_feed(struct keylog *kl, const char *source, const uint8_t *text, size_t len);

/*
 * Opens a key log file for reading and tailing; the keylog owns the
 * returned handle (freed by keylog_free).  Nothing is read until
 * keylog_poll().  NULL with errno set when the file can't be opened; the
 * descriptor stays open, so polling keeps working after privileges are
 * dropped.
 */
struct keylog_file *keylog_open(struct keylog *kl, const char *path);

/*
 * Reads what was appended to the file since the last call and stores its
 * complete lines; a last line without its newline is kept (wiped) until a
 * later poll completes it.  A file that shrank was truncated or rewritten
 * in place: it is read again from the start (counted).  A file replaced by
 * rename is not followed (the open descriptor still reads the old one).
 * Returns the number of secrets added, or -errno on a read error.
 */
long keylog_poll(struct keylog_file *f);

/* Polls every open file; the sum of what they added, or the first error. */
long keylog_poll_all(struct keylog *kl);

/*
 * Copies the secret logged for (client_random, label) into ret_secret
 * (KEYLOG_SECRET_MAX bytes) and its length into *ret_len.  False when
 * there is none (nothing written).  The caller wipes its copy.
 */
bool keylog_lookup(const struct keylog *kl, const uint8_t client_random[KEYLOG_RANDOM_LEN],
                   enum keylog_label label, uint8_t *ret_secret, size_t *ret_len);

/* The 48-byte pre-master secret of an RSA line, by encrypted-PMS prefix. */
bool keylog_lookup_rsa(const struct keylog *kl, const uint8_t prefix[KEYLOG_RSA_PREFIX_LEN],
                       uint8_t ret_pms[48]);

const struct keylog_stats *keylog_stats(const struct keylog *kl);

#endif /* MDM_KEYLOG_H */
