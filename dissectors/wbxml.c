/*
 * wbxml.c — top-level Status of an ActiveSync WBXML response.
 *
 * References: WAP-192-WBXML-20010725-A (WBXML 1.3) §5.3-5.8; MS-ASWBXML
 * 2.1.2.1 code pages; MS-ASCMD 2.2.2 common status codes.
 *
 *   version(u8) publicid(mb_u_int32; 0 => index mb_u_int32) charset(mb)
 *   strtbl-length(mb) strtbl(bytes)  body: *pi element *pi
 *
 * Tag token: bit 7 = attributes follow (ended by END), bit 6 = content
 * follows (ended by END), bits 0-5 = tag identity in the current code page
 * (0x04 = LITERAL, index into the string table follows).  Global tokens:
 *   00 SWITCH_PAGE u8   01 END   02 ENTITY mb   03 STR_I termstr
 *   40-42 EXT_I_n termstr   43 PI   80-82 EXT_T_n mb   83 STR_T mb
 *   C0-C2 EXT_n   C3 OPAQUE mb + bytes
 * The tag code page set by SWITCH_PAGE stays until the next SWITCH_PAGE
 * (§5.8.1); attributes have their own code page, which is ignored here.
 *
 * Errors: running out of bytes sets the cursor's error (=> NEED_MORE or,
 * for a complete body, GIVE_UP); malformed input sets `bad` (=> GIVE_UP).
 */
#include "wbxml.h"

#include "buf.h"

/* Status tag identity per ActiveSync code page (MS-ASWBXML 2.1.2.1.x). */
static const uint8_t wbxml_status_token[] = {
    [0] = 0x0E,  /* AirSync: Sync */
    [5] = 0x0B,  /* Move: MoveItems */
    [6] = 0x0E,  /* GetItemEstimate */
    [7] = 0x0C,  /* FolderHierarchy: FolderSync, FolderCreate/Delete/Update */
    [8] = 0x0B,  /* MeetingResponse */
    [10] = 0x07, /* ResolveRecipients */
    [11] = 0x0A, /* ValidateCert */
    [13] = 0x07, /* Ping */
    [14] = 0x0B, /* Provision */
    [15] = 0x0C, /* Search */
    [18] = 0x06, /* Settings */
    [20] = 0x0D, /* ItemOperations */
    [21] = 0x12, /* ComposeMail: SendMail, SmartReply, SmartForward */
};

enum {
	T_SWITCH_PAGE = 0x00,
	T_END = 0x01,
	T_ENTITY = 0x02,
	T_STR_I = 0x03,
	T_LITERAL = 0x04,
	T_PI = 0x43,
	T_STR_T = 0x83,
	T_OPAQUE = 0xC3,
};

struct wbx {
	struct buf b;
	struct buf strtbl;
	bool bad;
	uint8_t page;
};

static uint32_t mb_u32(struct wbx *w)
{
	uint32_t v = 0;
	for (int i = 0; i < 5; i++) {
		uint8_t c = buf_u8(&w->b);
		if (!buf_ok(&w->b))
			return 0;
		if (v > 0x01FFFFFF) { /* would overflow 32 bits */
			w->bad = true;
			return 0;
		}
		v = v << 7 | (c & 0x7F);
		if (!(c & 0x80))
			return v;
	}
	w->bad = true;
	return 0;
}

static void skip_termstr(struct buf *b)
{
	while (buf_ok(b) && buf_u8(b) != 0)
		;
}

/* Skips an attribute list (or a PI) through its END. */
static void skip_attrs(struct wbx *w)
{
	while (buf_ok(&w->b) && !w->bad) {
		uint8_t t = buf_u8(&w->b);
		switch (t) {
		case T_END:
			return;
		case T_SWITCH_PAGE:
			buf_u8(&w->b);
			break;
		case T_STR_I:
		case 0x40:
		case 0x41:
		case 0x42:
			skip_termstr(&w->b);
			break;
		case T_ENTITY:
		case T_LITERAL:
		case T_STR_T:
		case 0x80:
		case 0x81:
		case 0x82:
			mb_u32(w);
			break;
		case T_OPAQUE:
			buf_skip(&w->b, mb_u32(w));
			break;
		case T_PI:
			w->bad = true;
			break;
		default: /* attribute start/value tokens, EXT_n: single byte */
			break;
		}
	}
}

struct digits {
	uint32_t value;
	unsigned n;
	int phase; /* 0 leading spaces, 1 digits, 2 trailing spaces */
	bool bad;
};

static void digits_feed(struct digits *d, uint8_t c)
{
	if (c == ' ' && d->phase != 1) {
		return;
	} else if (c == ' ') {
		d->phase = 2;
	} else if (c >= '0' && c <= '9' && d->phase < 2 && d->n < 9) {
		d->phase = 1;
		d->value = d->value * 10 + (uint32_t)(c - '0');
		d->n++;
	} else {
		d->bad = true;
	}
}

/* The text of the Status element, through its END. */
static bool status_value(struct wbx *w, int *ret)
{
	struct digits d = {0};

	while (buf_ok(&w->b) && !w->bad && !d.bad) {
		uint8_t t = buf_u8(&w->b);
		if (t == T_END) {
			if (!buf_ok(&w->b) || d.n == 0)
				break;
			*ret = (int)d.value;
			return true;
		} else if (t == T_SWITCH_PAGE) {
			w->page = buf_u8(&w->b);
		} else if (t == T_STR_I) {
			for (uint8_t c = buf_u8(&w->b); buf_ok(&w->b) && c; c = buf_u8(&w->b))
				digits_feed(&d, c);
		} else if (t == T_OPAQUE) {
			struct buf o = buf_sub(&w->b, mb_u32(w));
			while (buf_left(&o) > 0)
				digits_feed(&d, buf_u8(&o));
		} else if (t == T_STR_T) {
			struct buf s = w->strtbl;
			uint32_t idx = mb_u32(w);
			if (!buf_skip(&s, idx))
				w->bad = true;
			for (uint8_t c = buf_u8(&s); buf_ok(&s) && c; c = buf_u8(&s))
				digits_feed(&d, c);
			if (!buf_ok(&s))
				w->bad = true; /* index or string outside the table */
		} else {
			w->bad = true; /* markup inside Status */
		}
	}
	if (buf_ok(&w->b))
		w->bad = true;
	return false;
}

/* Reads one tag token's trailer (LITERAL index, attributes). */
static void tag_trailer(struct wbx *w, uint8_t t)
{
	if ((t & 0x3F) == T_LITERAL)
		mb_u32(w);
	if (t & 0x80)
		skip_attrs(w);
}

static bool status_here(const struct wbx *w, uint8_t t)
{
	uint8_t id = t & 0x3F;
	return id != T_LITERAL && w->page < sizeof(wbxml_status_token) &&
	       wbxml_status_token[w->page] && wbxml_status_token[w->page] == id;
}

/* Walks the content of the root element.  1 found, 0 root ended, -1 stop. */
static int walk(struct wbx *w, int *ret_status)
{
	unsigned depth = 1;

	while (buf_ok(&w->b) && !w->bad) {
		uint8_t t = buf_u8(&w->b);
		if (!buf_ok(&w->b))
			break;
		switch (t) {
		case T_SWITCH_PAGE:
			w->page = buf_u8(&w->b);
			continue;
		case T_END:
			if (--depth == 0)
				return 0;
			continue;
		case T_STR_I:
		case 0x40:
		case 0x41:
		case 0x42:
			skip_termstr(&w->b);
			continue;
		case T_ENTITY:
		case T_STR_T:
		case 0x80:
		case 0x81:
		case 0x82:
			mb_u32(w);
			continue;
		case T_OPAQUE:
			buf_skip(&w->b, mb_u32(w));
			continue;
		case T_PI:
			skip_attrs(w);
			continue;
		case 0xC0:
		case 0xC1:
		case 0xC2:
			continue;
		}
		bool is_status = depth == 1 && status_here(w, t);
		tag_trailer(w, t);
		if (is_status && (t & 0x40))
			return status_value(w, ret_status) ? 1 : -1;
		if (is_status)
			w->bad = true; /* an empty Status has no value */
		if ((t & 0x40) && ++depth > WBXML_DEPTH_MAX)
			w->bad = true;
	}
	return -1;
}

/* Header, leading PIs and the root tag; false when there is no content. */
static bool root(struct wbx *w)
{
	uint8_t version = buf_u8(&w->b);
	if (buf_ok(&w->b) && (version < 1 || version > 3))
		w->bad = true;
	if (mb_u32(w) == 0 && buf_ok(&w->b))
		mb_u32(w); /* publicid given as a string table index */
	mb_u32(w);         /* charset: ActiveSync uses UTF-8 (106) */
	w->strtbl = buf_sub(&w->b, mb_u32(w));
	for (;;) {
		uint8_t t = buf_u8(&w->b);
		if (!buf_ok(&w->b) || w->bad)
			return false;
		if (t == T_PI) {
			skip_attrs(w);
		} else if (t == T_SWITCH_PAGE) {
			w->page = buf_u8(&w->b);
		} else if ((t & 0x3F) >= T_LITERAL) { /* a tag: the root */
			tag_trailer(w, t);
			return (t & 0x40) != 0;
		} else {
			w->bad = true;
		}
	}
}

enum wbxml_result wbxml_top_status(const uint8_t *body, size_t len, bool complete, int *ret_status)
{
	size_t window = len < WBXML_SCAN_MAX ? len : WBXML_SCAN_MAX;
	struct wbx w = {.b = buf_init(body, window)};
	int status = 0;

	if (!ret_status)
		return WBXML_GIVE_UP;
	if (root(&w)) {
		int r = walk(&w, &status);
		if (r == 1) {
			*ret_status = status;
			return WBXML_OK;
		}
		if (r == 0)
			return WBXML_NO_STATUS;
	} else if (buf_ok(&w.b) && !w.bad) {
		return WBXML_NO_STATUS; /* an empty root element */
	}
	if (w.bad || complete || len > window)
		return WBXML_GIVE_UP;
	return WBXML_NEED_MORE;
}

bool wbxml_status_is_refusal(int status)
{
	switch (status) {
	case 126: /* UserDisabledForSync */
	case 129: /* DeviceIsBlockedForThisUser */
	case 130: /* AccessDenied */
	case 131: /* AccountDisabled */
	case 139: /* DeviceNotFullyProvisionable */
	case 141: /* LegacyDeviceOnStrictPolicy */
	case 145: /* ExternallyManagedDevicesNotAllowed */
	case 177: /* MaximumDevicesReached */
		return true;
	default:
		return false;
	}
}
