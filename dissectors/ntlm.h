/*
 * ntlm.h — who is on the connection: NTLM AUTHENTICATE (MS-NLMP) and the
 * SPNEGO wrapping of HTTP Negotiate (RFC 4178, RFC 4559).
 *
 * NTLM authenticates the TCP connection, not the request (DESIGN §3
 * "Identity"): the caller remembers the user it gets from the Type 3 message
 * for the rest of the connection.
 *
 * Inputs are the already base64-decoded token bytes; they are borrowed for
 * the duration of the call only.  Outputs are fixed-size UTF-8 strings in
 * the caller's struct ntlm_auth; *ret is written only on NTLM_OK.
 */
#ifndef MDM_NTLM_H
#define MDM_NTLM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes for each name, including the NUL.  AD limits: sAMAccountName 20
 * characters, UPN 1024, NetBIOS domain 15, computer name 15; 256 bytes of
 * UTF-8 covers every real user logon name, longer ones are truncated. */
#define NTLM_NAME_MAX 256

/* NegotiateFlags bits used here (MS-NLMP 2.2.2.5). */
#define NTLM_NEGOTIATE_UNICODE   0x00000001u
#define NTLM_NEGOTIATE_OEM       0x00000002u
#define NTLM_NEGOTIATE_ANONYMOUS 0x00000800u

enum ntlm_result {
	NTLM_OK,       /* an AUTHENTICATE message was parsed */
	NTLM_GIVE_UP,  /* malformed: bad signature, lying lengths or offsets, bad DER */
	NTLM_NOT_AUTH, /* a well-formed NEGOTIATE (1) or CHALLENGE (2): no user yet */
	NTLM_KERBEROS, /* a Kerberos token: the user is not visible on the wire */
	NTLM_NO_TOKEN, /* SPNEGO without a mechToken/responseToken (mech list only) */
};

struct ntlm_auth {
	char user[NTLM_NAME_MAX];
	char domain[NTLM_NAME_MAX];
	char workstation[NTLM_NAME_MAX];
	uint32_t flags; /* NegotiateFlags as sent */
	bool unicode;   /* names were UTF-16LE */
	bool anonymous; /* MS-NLMP 3.2.5.1.2: empty user and NT response */
	bool bad_utf16; /* a lone surrogate or NUL was replaced by U+FFFD */
	bool truncated; /* a name did not fit */
};

/*
 * The NTLMSSP message type of `msg`: 1, 2 or 3 when it starts with the
 * signature "NTLMSSP\0" followed by that type, else 0.
 */
int ntlm_message_type(const uint8_t *msg, size_t len);

/*
 * Parses an AUTHENTICATE (Type 3) message, MS-NLMP 2.2.1.3.  Every security
 * buffer (LM and NT responses, domain, user, workstation, session key) must
 * lie inside the message and after the 64-byte fixed part, or the message is
 * NTLM_GIVE_UP.  Names are UTF-16LE when NTLMSSP_NEGOTIATE_UNICODE is set
 * (odd byte length: NTLM_GIVE_UP; lone surrogates and NULs: U+FFFD and
 * bad_utf16), otherwise OEM bytes taken as Latin-1 (a passive sensor cannot
 * know the client's OEM code page; ASCII, the real-world case, is exact).
 * Types 1 and 2 are NTLM_NOT_AUTH.
 */
enum ntlm_result ntlm_parse_authenticate(const uint8_t *msg, size_t len, struct ntlm_auth *ret);

/*
 * Parses an HTTP "Negotiate" token: a raw NTLMSSP message, a GSS-API
 * InitialContextToken (RFC 2743 §3.1, [APPLICATION 0]) with the SPNEGO OID
 * 1.3.6.1.5.5.2 and a NegTokenInit whose mechToken is used, a bare
 * NegTokenResp ([1]) whose responseToken is used, or a Kerberos token (GSS
 * OIDs 1.2.840.113554.1.2.2 and the Microsoft 1.2.840.48018.1.2.2) which is
 * NTLM_KERBEROS.  The DER walk follows the fixed RFC 4178 grammar, so it is
 * at most five levels deep and never recursive; indefinite lengths, lengths
 * over 4 bytes and lengths past the enclosing element are NTLM_GIVE_UP.
 */
enum ntlm_result ntlm_parse_negotiate(const uint8_t *tok, size_t len, struct ntlm_auth *ret);

#endif /* MDM_NTLM_H */
