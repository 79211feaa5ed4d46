/*
 * identity.h — who made an Exchange request (DESIGN §3 "Identity").
 *
 * Sources, in the order the sensor prefers them: NTLM Type 3 (also inside
 * SPNEGO Negotiate; it names the whole TCP connection), HTTP Basic
 * (RFC 7617), Bearer JWT (upn, unique_name), the OWA form login (POST
 * /owa/auth.owa), ActiveSync User= (exchange.h).  Whatever the source, the
 * user is normalised by identity_normalize_user().
 *
 * Never stored, never copied out: passwords and tokens.  Decoded Basic
 * credentials and decoded NTLM/JWT tokens live in stack buffers that are
 * wiped (explicit_bzero) before returning; only the user name leaves.
 */
#ifndef MDM_IDENTITY_H
#define MDM_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>

/* Bytes of a normalised user name, including the NUL. */
#define IDENTITY_USER_MAX 256
/* Largest decoded Basic credential ("user:password") accepted. */
#define IDENTITY_BASIC_MAX 1024
/* Largest decoded NTLM/Negotiate token accepted: http.sys rejects header
 * lines over 16 KiB by default (MaxFieldLength), i.e. 12 KiB decoded. */
#define IDENTITY_TOKEN_MAX 12288

enum identity_auth {
	IDENTITY_AUTH_NONE,
	IDENTITY_AUTH_BASIC,
	IDENTITY_AUTH_NTLM,
	IDENTITY_AUTH_NEGOTIATE,
	IDENTITY_AUTH_BEARER,
	IDENTITY_AUTH_FORM,
};

enum identity_result {
	IDENTITY_OK,             /* ret->user is set (non-empty) */
	IDENTITY_NO_USER,        /* scheme understood, no user in this message: NTLM
				  * Type 1/2, Kerberos, anonymous NTLM, a JWT
				  * without user claims, an oversized token */
	IDENTITY_UNKNOWN_SCHEME, /* Digest, an empty header ... */
	IDENTITY_GIVE_UP,        /* malformed credentials */
	IDENTITY_NEED_MORE,      /* identity_from_owa_form() on a partial body */
};

struct identity {
	enum identity_auth auth;
	char user[IDENTITY_USER_MAX]; /* normalised; "" unless IDENTITY_OK */
	bool kerberos;                /* Negotiate carried Kerberos */
	bool truncated;               /* the user did not fit */
};

/* "none", "basic", "ntlm", "negotiate", "bearer", "form" (the database's
 * `auth` values). */
const char *identity_auth_name(enum identity_auth a);

/*
 * Normalises a user name (DESIGN §3): surrounding ASCII whitespace is
 * trimmed, everything up to the last '\' (a DOMAIN\ prefix) is dropped,
 * everything from the first '@' that follows (an @domain suffix) is
 * dropped, ASCII letters are lower-cased; other bytes, UTF-8 included, pass
 * through unchanged (no Unicode case folding); an embedded NUL ends the
 * name.  Writes a NUL-terminated string to `out` (out_size >= 1) and returns
 * its length (0 when nothing is left).  *ret_truncated (may be NULL) is set
 * when it did not fit.
 */
size_t identity_normalize_user(const char *in, size_t len, char *out, size_t out_size,
                               bool *ret_truncated);

/* The scheme of an Authorization header value (case-insensitive). */
enum identity_auth identity_auth_scheme(const char *value, size_t len);

/*
 * The user of an Authorization header value `value` (len bytes, the part
 * after "Authorization:", surrounding whitespace allowed).  Basic: base64
 * (padding optional), user = the bytes before the first ':' (UTF-8 as is,
 * anything else taken as Latin-1); NTLM/Negotiate: ntlm.h; Bearer: jwt.h.
 * *ret is written on IDENTITY_OK and IDENTITY_NO_USER.
 */
enum identity_result identity_from_authorization(const char *value, size_t len,
                                                 struct identity *ret);

/*
 * The user of an OWA forms-based login: the `username` field of the
 * application/x-www-form-urlencoded body of POST /owa/auth.owa.  The
 * password field is never read into any buffer.  `complete` says whether
 * `body` is the whole body; when false, IDENTITY_NEED_MORE means more of the
 * body is needed to answer.  *ret is written on IDENTITY_OK and
 * IDENTITY_NO_USER (field absent or empty in a complete body).
 */
enum identity_result identity_from_owa_form(const char *body, size_t len, bool complete,
                                            struct identity *ret);

#endif /* MDM_IDENTITY_H */
