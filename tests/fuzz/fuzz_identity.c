/*
 * fuzz_identity.c — who made a request: identity.h (Authorization header
 * values, the OWA form, user normalisation), ntlm.h (NTLM / SPNEGO tokens)
 * and jwt.h (bearer tokens).
 *
 * Input: the same bytes go to every parser: as an Authorization header
 * value, as an OWA login body, as a raw (base64-decoded) NTLM / Negotiate
 * token, and as a compact JWT.
 *
 * Checked:
 *   - identity.h: IDENTITY_OK has a non-empty user; every user handed out
 *     is already normalised (normalising it again changes nothing when it
 *     was not truncated), NUL-terminated, without '\', '@' or upper-case
 *     ASCII; identity_normalize_user returns the stored length; a complete
 *     OWA body never answers NEED_MORE and an incomplete one that answers
 *     otherwise agrees with it;
 *   - ntlm.h: *ret untouched unless NTLM_OK; OK only for a Type 3 message,
 *     Types 1 and 2 never OK; names NUL-terminated;
 *   - jwt.h: *ret untouched unless JWT_OK; claims NUL-terminated; jwt_user
 *     is one of them or NULL.
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "identity.h"
#include "jwt.h"
#include "ntlm.h"

static void check_user(const char *user, size_t size, bool truncated)
{
	char again[IDENTITY_USER_MAX];
	size_t n;

	FUZZ_CHECK(fuzz_terminated(user, size));
	for (const char *p = user; *p; p++)
		FUZZ_CHECK(*p != '\\' && *p != '@' && !(*p >= 'A' && *p <= 'Z'));
	if (truncated)
		return;
	n = identity_normalize_user(user, strlen(user), again, sizeof(again), NULL);
	FUZZ_CHECK(n == strlen(again));
	FUZZ_CHECK(!strcmp(again, user));
}

static void check_normalize(const char *s, size_t len)
{
	char out[IDENTITY_USER_MAX], tiny[8];
	bool t1 = false, t2 = false;
	size_t n;

	n = identity_normalize_user(s, len, out, sizeof(out), &t1);
	FUZZ_CHECK(fuzz_terminated(out, sizeof(out)) && n == strlen(out));
	check_user(out, sizeof(out), t1);
	/* Surrounding ASCII whitespace is trimmed. */
	FUZZ_CHECK(!n || (out[0] != ' ' && out[0] != '\t' && out[0] != '\r' && out[0] != '\n'));
	n = identity_normalize_user(s, len, tiny, sizeof(tiny), &t2);
	FUZZ_CHECK(fuzz_terminated(tiny, sizeof(tiny)) && n == strlen(tiny));
	FUZZ_CHECK(!strncmp(tiny, out, n));
	if (!t2)
		FUZZ_CHECK(!strcmp(tiny, out));
}

static void check_authorization(const char *s, size_t len)
{
	struct identity id;
	enum identity_result r;

	memset(&id, 0, sizeof(id));
	r = identity_from_authorization(s, len, &id);
	FUZZ_CHECK(r == IDENTITY_OK || r == IDENTITY_NO_USER || r == IDENTITY_UNKNOWN_SCHEME ||
	           r == IDENTITY_GIVE_UP);
	(void)identity_auth_scheme(s, len);
	if (r == IDENTITY_OK) {
		FUZZ_CHECK(id.user[0] != '\0');
		check_user(id.user, sizeof(id.user), id.truncated);
	}
	if (r == IDENTITY_OK || r == IDENTITY_NO_USER)
		FUZZ_CHECK(identity_auth_name(id.auth) != NULL);
}

static void check_form(const char *s, size_t len)
{
	struct identity whole, part;
	enum identity_result rw, rp;

	memset(&whole, 0, sizeof(whole));
	memset(&part, 0, sizeof(part));
	rw = identity_from_owa_form(s, len, true, &whole);
	FUZZ_CHECK(rw != IDENTITY_NEED_MORE);
	if (rw == IDENTITY_OK) {
		FUZZ_CHECK(whole.user[0] != '\0');
		check_user(whole.user, sizeof(whole.user), whole.truncated);
	}
	rp = identity_from_owa_form(s, len / 2, false, &part);
	if (rp != IDENTITY_NEED_MORE) {
		FUZZ_CHECK(rp == rw);
		if (rp == IDENTITY_OK)
			FUZZ_CHECK(!strcmp(part.user, whole.user));
	}
}

static void check_ntlm(const uint8_t *data, size_t size)
{
	struct ntlm_auth a, canary;
	int type = ntlm_message_type(data, size);
	enum ntlm_result r;

	FUZZ_CHECK(type >= 0 && type <= 3);
	memset(&a, 0x5a, sizeof(a));
	memcpy(&canary, &a, sizeof(a));
	r = ntlm_parse_authenticate(data, size, &a);
	if (r != NTLM_OK) {
		FUZZ_CHECK(!memcmp(&a, &canary, sizeof(a)));
		if (type == 1 || type == 2)
			FUZZ_CHECK(r == NTLM_NOT_AUTH || r == NTLM_GIVE_UP);
	} else {
		FUZZ_CHECK(type == 3);
		FUZZ_CHECK(fuzz_terminated(a.user, sizeof(a.user)));
		FUZZ_CHECK(fuzz_terminated(a.domain, sizeof(a.domain)));
		FUZZ_CHECK(fuzz_terminated(a.workstation, sizeof(a.workstation)));
	}

	memcpy(&a, &canary, sizeof(a));
	r = ntlm_parse_negotiate(data, size, &a);
	FUZZ_CHECK(r >= NTLM_OK && r <= NTLM_NO_TOKEN);
	if (r != NTLM_OK) {
		FUZZ_CHECK(!memcmp(&a, &canary, sizeof(a)));
	} else {
		FUZZ_CHECK(fuzz_terminated(a.user, sizeof(a.user)));
		FUZZ_CHECK(fuzz_terminated(a.domain, sizeof(a.domain)));
		FUZZ_CHECK(fuzz_terminated(a.workstation, sizeof(a.workstation)));
	}
}

static void check_jwt(const char *s, size_t len)
{
	struct jwt_claims c, canary;
	enum jwt_result r;
	const char *u;

	memset(&c, 0x5a, sizeof(c));
	memcpy(&canary, &c, sizeof(c));
	r = jwt_parse(s, len, &c);
	FUZZ_CHECK(r == JWT_OK || r == JWT_GIVE_UP || r == JWT_TOO_LARGE);
	if (r != JWT_OK) {
		FUZZ_CHECK(!memcmp(&c, &canary, sizeof(c)));
		return;
	}
	FUZZ_CHECK(fuzz_terminated(c.upn, sizeof(c.upn)));
	FUZZ_CHECK(fuzz_terminated(c.unique_name, sizeof(c.unique_name)));
	FUZZ_CHECK(fuzz_terminated(c.preferred_username, sizeof(c.preferred_username)));
	FUZZ_CHECK(fuzz_terminated(c.oid, sizeof(c.oid)));
	u = jwt_user(&c);
	FUZZ_CHECK(!u || u == c.upn || u == c.unique_name || u == c.preferred_username);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A private copy: exact size, so an overread is caught, and char typed. */
	char *s = malloc(size ? size : 1);

	if (!s)
		return 0;
	if (size)
		memcpy(s, data, size);
	check_normalize(s, size);
	check_authorization(s, size);
	check_form(s, size);
	check_ntlm(data, size);
	check_jwt(s, size);
	free(s);
	return 0;
}
