/*
 * exchange.h — Exchange endpoint classification and the ActiveSync query.
 *
 * Three jobs, all on the HTTP request-target exactly as it was on the wire:
 *
 * 1. exchange_path_normalize(): the path the way IIS/http.sys sees it, so a
 *    client cannot hide /EWS/ from the sensor behind encoding tricks.
 * 2. exchange_classify(): which Exchange protocol the path belongs to
 *    (DESIGN §3 "Exchange endpoint classification").
 * 3. exchange_eas_query(): Cmd, User, DeviceId and DeviceType of an
 *    ActiveSync request, from the plain text query (MS-ASHTTP 2.2.1.1.1.2)
 *    or the base64-encoded one (MS-ASHTTP 2.2.1.1.1.1).
 *
 * Plus exchange_form_field(), the application/x-www-form-urlencoded field
 * finder shared by the plain ActiveSync query and the OWA login form.
 *
 * Nothing here keeps a pointer into its input; every output is a caller
 * buffer of a documented size, NUL-terminated, with truncation reported.
 */
#ifndef MDM_EXCHANGE_H
#define MDM_EXCHANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum exchange_result {
	EXCHANGE_OK,
	EXCHANGE_NEED_MORE, /* exchange_form_field() on an incomplete body only */
	EXCHANGE_GIVE_UP,   /* malformed: not a path, bad base64 query ... */
	EXCHANGE_NOT_FOUND, /* well formed, but the field/query is absent */
};

enum exchange_proto {
	EXCHANGE_NONE,
	EXCHANGE_EAS,
	EXCHANGE_EWS,
	EXCHANGE_RPC,
	EXCHANGE_MAPI,
	EXCHANGE_OWA,
	EXCHANGE_AUTODISCOVER,
	EXCHANGE_OAB,
	EXCHANGE_ECP,
	EXCHANGE_POWERSHELL,
};

/* "EAS", "EWS", "RPC", "MAPI", "OWA", "AUTODISCOVER", "OAB", "ECP",
 * "POWERSHELL" (the database's `protocol` values); NULL for EXCHANGE_NONE. */
const char *exchange_proto_name(enum exchange_proto p);

/*
 * IIS-style normalisation of the path of request-target `target` (len
 * bytes, need not be NUL-terminated):
 *   1. origin-form "/p?q" or absolute-form "http[s]://host/p?q" (scheme
 *      case-insensitive; no path after the authority means "/"); anything
 *      else (authority-form, "*") is EXCHANGE_GIVE_UP;
 *   2. the path stops at the first raw '?' or '#' (an encoded %3F does not);
 *   3. percent-decoding, once (IIS rejects double escapes, so %252F stays
 *      "%2F" after one pass): %XX, and %uXXXX as IIS and ASP.NET accept it;
 *      invalid escapes, and escapes of NUL or of a surrogate, are kept
 *      literally;
 *   4. '\' (raw or decoded) becomes '/', repeated '/' collapse;
 *   5. "." and ".." segments are resolved (RFC 3986 §5.2.4); ".." never
 *      climbs above the root.  A path ending in "/", "/." or "/.." keeps one
 *      trailing '/'.
 * Case is preserved (matching is case-insensitive, see exchange_classify).
 *
 * Output: `out` (out_size >= 2) receives the normalised path, always
 * starting with '/', NUL-terminated.  When it does not fit, whole trailing
 * segments are left out, *ret_truncated is set, and what is stored is still
 * an exact prefix (in segments) of the normalised path — so classification
 * on a truncated path is still exact.  ret_truncated may be NULL.
 */
enum exchange_result exchange_path_normalize(const char *target, size_t len, char *out,
                                             size_t out_size, bool *ret_truncated);

/*
 * Class of request-target `target` after exchange_path_normalize().  A
 * protocol matches when its path segments are the leading segments of the
 * normalised path, compared case-insensitively and ending at a segment
 * boundary: "/owa", "/owa/", "/OWA/auth.owa" are OWA; "/owaX", "/EWSfoo",
 * "/xowa" are not.  Endpoint segments: /Microsoft-Server-ActiveSync, /EWS,
 * /rpc/rpcproxy.dll, /mapi/emsmdb, /mapi/nspi, /owa, /autodiscover, /OAB,
 * /ecp, /PowerShell.  The query never decides.  Malformed targets are
 * EXCHANGE_NONE.
 */
enum exchange_proto exchange_classify(const char *target, size_t len);

/* Field sizes of struct exchange_eas_query, including the NUL. */
#define EXCHANGE_CMD_MAX         32
#define EXCHANGE_USER_MAX        256
#define EXCHANGE_DEVICE_ID_MAX   128
#define EXCHANGE_DEVICE_TYPE_MAX 64
/* Longest query accepted for the base64 form (the binary form carries at
 * most 4 + 3 * 256 + 5 bytes plus parameters; real ones are < 200). */
#define EXCHANGE_EAS_QUERY_MAX 4096

struct exchange_eas_query {
	char cmd[EXCHANGE_CMD_MAX];   /* "Sync", "FolderSync" ... */
	char user[EXCHANGE_USER_MAX]; /* as sent, not normalised */
	char device_id[EXCHANGE_DEVICE_ID_MAX];
	char device_type[EXCHANGE_DEVICE_TYPE_MAX];
	bool base64;              /* the query was the base64 form */
	uint8_t protocol_version; /* base64 form: 121, 140, 141, 160, 161 */
	int cmd_code;             /* base64 form: the command code, else -1 */
	uint16_t locale;          /* base64 form: MS-LCID */
	bool has_policy_key;
	uint32_t policy_key;
	bool truncated; /* some field did not fit */
};

/*
 * Parses the query of ActiveSync request-target `target`.  The plain form
 * is chosen when the query has a Cmd, User, DeviceId or DeviceType key
 * (case-insensitive, values percent-decoded with '+' as space); otherwise
 * the query is percent-decoded and base64-decoded (RFC 4648 §4 alphabet,
 * padding optional) and parsed as the MS-ASHTTP 2.2.1.1.1.1 byte sequence.
 * A binary DeviceId that is not printable ASCII is rendered as upper-case
 * hex.  EXCHANGE_NOT_FOUND when there is no query; EXCHANGE_GIVE_UP when
 * neither form parses.  *ret is written only on EXCHANGE_OK.
 */
enum exchange_result exchange_eas_query(const char *target, size_t len,
                                        struct exchange_eas_query *ret);

/*
 * Finds field `key` (case-insensitive ASCII) in an
 * application/x-www-form-urlencoded string (`a=1&b=2`, also a URL query)
 * and writes its value, percent-decoded with '+' as space, to `out`
 * (out_size >= 1).  The first occurrence wins.  When `complete` is false the
 * input may be a prefix of the real body: EXCHANGE_NEED_MORE is returned
 * whenever more bytes could change the answer (key not seen yet, or value
 * not terminated by '&').  ret_truncated (may be NULL) reports a value
 * longer than out_size - 1.  Nothing from other fields is copied.
 */
enum exchange_result exchange_form_field(const char *s, size_t len, const char *key, bool complete,
                                         char *out, size_t out_size, bool *ret_truncated);

#endif /* MDM_EXCHANGE_H */
