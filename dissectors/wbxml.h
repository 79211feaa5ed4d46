/*
 * wbxml.h — the top-level Status of an ActiveSync WBXML response, and
 * whether it is a refusal (DESIGN §3 "ActiveSync refusal").
 *
 * ActiveSync bodies are WBXML 1.3 (WAP-192-WBXML) with the MS-ASWBXML code
 * pages.  The top-level Status is the Status element that is a direct child
 * of the root element: Sync/Status, FolderSync/Status, Provision/Status,
 * Ping/Status, Settings/Status, ItemOperations/Status ...; per-collection
 * or per-item statuses deeper down are ignored.
 */
#ifndef MDM_WBXML_H
#define MDM_WBXML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Only this many bytes are scanned: the top-level Status is the first
 * child of the root in every command response (MS-ASCMD), so it is within
 * the first few dozen bytes; a response with no top-level Status (a
 * successful Sync) is recognised at the root's END if that comes first. */
#define WBXML_SCAN_MAX (64u * 1024u)
/* Deepest element nesting followed. */
#define WBXML_DEPTH_MAX 64

enum wbxml_result {
	WBXML_OK,        /* *ret_status set */
	WBXML_NEED_MORE, /* the prefix ends before the answer is known */
	WBXML_GIVE_UP,   /* malformed, too deep, or no answer within WBXML_SCAN_MAX */
	WBXML_NO_STATUS, /* the root element ended without a top-level Status */
};

/*
 * Finds the top-level Status of WBXML body `body` (len bytes, borrowed for
 * the call) and writes its integer value (0 .. 999999999) to *ret_status.
 * The value is the element's text (STR_I, STR_T or OPAQUE, decimal digits,
 * surrounding spaces allowed); anything else is WBXML_GIVE_UP.  `complete`
 * says `body` is the whole body: then running out of input is WBXML_GIVE_UP
 * rather than WBXML_NEED_MORE.  Stateless: every call scans from the first
 * byte; callers offer a growing prefix.
 */
enum wbxml_result wbxml_top_status(const uint8_t *body, size_t len, bool complete, int *ret_status);

/*
 * True when `status` (a top-level Status of an HTTP 200 ActiveSync
 * response) means the server refused this user or device — the MS-ASCMD
 * 2.2.2 common status codes for blocking and denial:
 *   126 UserDisabledForSync        the user is not enabled for ActiveSync
 *   129 DeviceIsBlockedForThisUser Allow/Block/Quarantine (ABQ) block
 *   130 AccessDenied               denied by ABQ / policy
 *   131 AccountDisabled            the account is disabled
 *   139 DeviceNotFullyProvisionable the device cannot apply the policy, so
 *                                  the server will not sync it
 *   141 LegacyDeviceOnStrictPolicy the device is too old for the policy
 *   145 ExternallyManagedDevicesNotAllowed  an MDM-managed device refused
 *   177 MaximumDevicesReached      the user's device partnership limit
 * Deliberately not refusals: 142 DeviceNotProvisioned, 143 PolicyRefresh,
 * 144 InvalidPolicyKey (the normal provisioning exchange, like HTTP 449),
 * 140 RemoteWipeRequested, 110/111 server errors, 127/128 mailbox-version
 * problems — none says "this device or user may not have mail here".
 */
bool wbxml_status_is_refusal(int status);

#endif /* MDM_WBXML_H */
