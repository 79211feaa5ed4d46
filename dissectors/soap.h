/*
 * soap.h — the EWS operation of a SOAP request (the DESIGN §3 `operation`
 * of an EWS transaction): the local name of the first child element of the
 * SOAP Body, e.g. "FindItem", "GetItem", "SyncFolderItems", "CreateItem".
 *
 * SOAP 1.1 §4 / SOAP 1.2 Part 1 §5: Envelope, optional Header, Body.  EWS
 * requests use SOAP 1.1 with the prefix "soap:" or "s:", but any prefix (or
 * a default namespace) is accepted: elements are matched by local name —
 * the root must be "Envelope", the Body is its child "Body" — which is what
 * the namespace-bound names reduce to in every well-formed SOAP message.
 */
#ifndef MDM_SOAP_H
#define MDM_SOAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes for the operation name, including the NUL (the longest EWS
 * operation, GetUserRetentionPolicyTags, is 26 characters). */
#define SOAP_OP_MAX 64
/* Only this many bytes of the body are scanned: EWS requests put the
 * operation within the first few hundred bytes; the Header (impersonation,
 * time zone, version) is < 4 KiB.  A Body that starts later is given up. */
#define SOAP_SCAN_MAX (64u * 1024u)
/* Deepest element nesting followed (inside the Header). */
#define SOAP_DEPTH_MAX 64

enum soap_result {
	SOAP_OK,
	SOAP_NEED_MORE,    /* the prefix ends before the operation is known */
	SOAP_GIVE_UP,      /* not a SOAP envelope, malformed, DTD, too deep, too long */
	SOAP_NO_OPERATION, /* the Body is empty */
};

/*
 * Scans the first SOAP_SCAN_MAX bytes of `body` (len bytes, borrowed for
 * the call) and writes the operation's local name to `out` (out_size >= 1;
 * *ret_truncated, may be NULL, says it did not fit).  A UTF-8 byte order
 * mark, the XML declaration, processing instructions, comments, CDATA
 * sections and the whole Header with its nested content are skipped.
 * `complete` says `body` is the whole body: then running out of input is
 * SOAP_GIVE_UP rather than SOAP_NEED_MORE.  The scan restarts from the first
 * byte on every call; callers offer a growing prefix.
 */
enum soap_result soap_operation(const uint8_t *body, size_t len, bool complete, char *out,
                                size_t out_size, bool *ret_truncated);

#endif /* MDM_SOAP_H */
