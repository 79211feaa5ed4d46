/*
 * jwt.h — user claims of an OAuth bearer token (RFC 7519 JWT, JWS compact
 * serialisation RFC 7515 §7.1), for "Authorization: Bearer" on EWS, MAPI and
 * ActiveSync (Exchange hybrid modern authentication).
 *
 * The signature is not verified — a passive sensor has no keys and the
 * server does the verifying; the claims are only used to name the user of a
 * request the server answered.  The token is never stored: the payload is
 * decoded into a stack buffer that is wiped before returning, and only the
 * four claims below are copied out.
 */
#ifndef MDM_JWT_H
#define MDM_JWT_H

#include <stdbool.h>
#include <stddef.h>

/* Bytes per claim, including the NUL (UPNs are at most 1024 characters in
 * AD, but real ones fit in 256 bytes; longer ones are truncated). */
#define JWT_CLAIM_MAX 256
/* Largest decoded payload accepted.  Azure AD / Entra access tokens carry
 * 1-3 KiB of claims; group overage keeps them well under 8 KiB. */
#define JWT_PAYLOAD_MAX 8192
/* Deepest nesting of objects/arrays skipped inside the payload. */
#define JWT_DEPTH_MAX 32

enum jwt_result {
	JWT_OK,        /* payload is a JSON object; claims copied (may be empty) */
	JWT_GIVE_UP,   /* not header.payload.signature, bad base64url, bad JSON */
	JWT_TOO_LARGE, /* payload longer than JWT_PAYLOAD_MAX */
};

struct jwt_claims {
	char upn[JWT_CLAIM_MAX];
	char unique_name[JWT_CLAIM_MAX];
	char preferred_username[JWT_CLAIM_MAX];
	char oid[JWT_CLAIM_MAX];
	bool truncated; /* a claim did not fit */
};

/*
 * Parses compact JWS `token` (len bytes): exactly three base64url segments
 * separated by '.', header and payload non-empty (a 5-segment JWE is
 * encrypted and is JWT_GIVE_UP).  The payload must be a JSON object
 * (RFC 8259); the top-level string members "upn", "unique_name",
 * "preferred_username" and "oid" are copied, with escapes decoded (\uXXXX
 * surrogate pairs to UTF-8; lone surrogates and \u0000 to U+FFFD).  The
 * first non-empty occurrence of a duplicate member wins.  Members with non-string
 * values and nested values are skipped, at most JWT_DEPTH_MAX deep.
 * *ret is written only on JWT_OK.
 */
enum jwt_result jwt_parse(const char *token, size_t len, struct jwt_claims *ret);

/* The best user claim: upn, else unique_name, else preferred_username;
 * NULL when none is present. */
const char *jwt_user(const struct jwt_claims *c);

#endif /* MDM_JWT_H */
