/*
 * exch.c — Exchange transactions from HTTP events (contract in exch.h).
 *
 * References: DESIGN.md §3 (classification, identity, refusal); MS-ASHTTP
 * 2.2.1.1.1.1 (ActiveSync query), 3.2.5.1 (HTTP status codes 449, 451, 456,
 * 457, 503 with X-MS-ASThrottle); MS-RPCH 2.1.2.1 (RPC_IN_DATA /
 * RPC_OUT_DATA); MS-OXCMAPIHTTP 2.2.3.1.2 (X-RequestType).
 *
 * Invariants:
 *   - slots[i] is non-NULL for at most one open transaction, the one whose
 *     tx_index % LIMIT_HTTP_TX_IN_FLIGHT is i (http.c never has more than
 *     LIMIT_HTTP_TX_IN_FLIGHT open, so two never collide);
 *   - every string in a pending transaction is owned by it and freed with it;
 *   - ntlm_user is the user of the last successful NTLM Type 3 on this
 *     connection ("" when none).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ascii.h"
#include "exch.h"
#include "exchange.h"
#include "identity.h"
#include "mdm_limits.h"
#include "owasess.h"
#include "soap.h"
#include "wbxml.h"

struct body {
	uint8_t *data; /* up to LIMIT_EXCH_SCAN_BYTES, allocated on first use */
	size_t len;
	bool done; /* the scan has its answer (or gave up) */
};

struct pending {
	bool used;
	uint64_t tx_index;
	uint64_t ts_us;
	int64_t row;
	char *method, *uri, *host, *user_agent;
	enum exchange_proto proto;
	struct identity id; /* from this request's own Authorization */
	bool id_ok;
	bool binds_ntlm; /* its Type 3 bound the connection */
	bool owa_login;  /* POST .../auth.owa */
	char form_user[IDENTITY_USER_MAX];
	char *set_cookie; /* the login response's Set-Cookie, until bound */
	struct exchange_eas_query eas;
	bool eas_ok;
	char operation[SOAP_OP_MAX];
	bool streaming; /* emitted at the headers already */
	bool evaluated; /* an emission carried `evaluate` */
	int status;
	bool throttled;
	bool wbxml_resp;
	int wbxml_status;
	struct body req, resp;
};

struct exch_conn {
	struct owa_sessions *owa;
	bool all_http;
	exch_txn_fn fn;
	void *ctx;
	char ntlm_user[IDENTITY_USER_MAX];
	enum identity_auth ntlm_auth; /* NTLM or NEGOTIATE */
	/* Allocated while a transaction is open: most connections have one at
	 * a time, and a connection costs ~1 KiB rather than 64 slots. */
	struct pending *slots[LIMIT_HTTP_TX_IN_FLIGHT];
};

struct exch_conn *exch_conn_new(bool all_http, exch_txn_fn fn, void *ctx)
{
	struct exch_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->all_http = all_http;
	c->fn = fn;
	c->ctx = ctx;
	return c;
}

static void pending_clear(struct pending *p)
{
	free(p->method);
	free(p->uri);
	free(p->host);
	free(p->user_agent);
	free(p->set_cookie);
	free(p->req.data);
	free(p->resp.data);
	/* The identity fields hold user names, not secrets, but nothing of a
	 * finished transaction should linger. */
	memset(p, 0, sizeof(*p));
}

void exch_conn_set_owa_sessions(struct exch_conn *c, struct owa_sessions *t)
{
	c->owa = t;
}

void exch_conn_free(struct exch_conn *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < LIMIT_HTTP_TX_IN_FLIGHT; i++)
		if (c->slots[i]) {
			pending_clear(c->slots[i]);
			free(c->slots[i]);
		}
	free(c);
}

/* A NUL-terminated copy of at most LIMIT_HTTP_HEADER_LINE_HARD bytes. */
static char *copy_str(const char *s, size_t n)
{
	if (n > LIMIT_HTTP_HEADER_LINE_HARD)
		n = LIMIT_HTTP_HEADER_LINE_HARD;
	char *d = malloc(n + 1);
	if (!d)
		return NULL;
	if (n)
		memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

static char *header_copy(const struct http_tx *tx, int dir, const char *name)
{
	const char *v;
	size_t n;
	return http_tx_header(tx, dir, name, &v, &n) ? copy_str(v, n) : NULL;
}

/* Appends to a scan buffer, up to the cap. */
static void body_add(struct body *b, const uint8_t *data, size_t n)
{
	if (!b->data) {
		b->data = malloc(LIMIT_EXCH_SCAN_BYTES);
		if (!b->data) {
			b->done = true;
			return;
		}
	}
	size_t room = LIMIT_EXCH_SCAN_BYTES - b->len;
	if (n > room)
		n = room;
	if (n) {
		memcpy(b->data + b->len, data, n);
		b->len += n;
	}
}

static bool is_streaming_method(const char *m)
{
	return strcmp(m, "RPC_IN_DATA") == 0 || strcmp(m, "RPC_OUT_DATA") == 0;
}

/* "/owa/auth.owa" (any case) ends the normalised path of an OWA login. */
static bool is_owa_login(const char *method, const char *uri)
{
	char path[256];
	if (strcmp(method, "POST") != 0)
		return false;
	if (exchange_path_normalize(uri, strlen(uri), path, sizeof(path), NULL) != EXCHANGE_OK)
		return false;
	size_t n = strlen(path);
	static const char tail[] = "/auth.owa";
	return n >= sizeof(tail) - 1 && strcasecmp(path + n - (sizeof(tail) - 1), tail) == 0;
}

static void request_identity(struct exch_conn *c, struct pending *p, const struct http_tx *tx)
{
	const char *v;
	size_t n;
	if (!http_tx_header(tx, 0, "Authorization", &v, &n))
		return;
	enum identity_result r = identity_from_authorization(v, n, &p->id);
	if (r == IDENTITY_OK) {
		p->id_ok = true;
		if (p->id.auth == IDENTITY_AUTH_NTLM || p->id.auth == IDENTITY_AUTH_NEGOTIATE) {
			/* Bound now, so pipelined requests behind it inherit;
			 * undone at the response if it is a 401. */
			memcpy(c->ntlm_user, p->id.user, sizeof(c->ntlm_user));
			c->ntlm_auth = p->id.auth;
			p->binds_ntlm = true;
		}
	} else if (r == IDENTITY_NO_USER) {
		p->id_ok = false; /* scheme known (auth column), no user */
	} else {
		p->id.auth = identity_auth_scheme(v, n);
	}
}

static void set_operation(struct pending *p, const char *v, size_t n)
{
	if (n >= sizeof(p->operation))
		n = sizeof(p->operation) - 1;
	memmove(p->operation, v, n);
	p->operation[n] = '\0';
}

static void request_operation(struct pending *p, const struct http_tx *tx)
{
	const char *v;
	size_t n;
	if (p->proto == EXCHANGE_EAS) {
		p->eas_ok = exchange_eas_query(p->uri, strlen(p->uri), &p->eas) == EXCHANGE_OK;
		if (p->eas_ok && p->eas.cmd[0])
			set_operation(p, p->eas.cmd, strlen(p->eas.cmd));
	} else if (p->proto == EXCHANGE_MAPI && http_tx_header(tx, 0, "X-RequestType", &v, &n)) {
		set_operation(p, v, n);
	} else if (p->proto == EXCHANGE_RPC || is_streaming_method(p->method)) {
		set_operation(p, p->method, strlen(p->method));
	}
}

static struct pending *slot_of(struct exch_conn *c, uint64_t tx_index, bool create)
{
	struct pending **slot = &c->slots[tx_index % LIMIT_HTTP_TX_IN_FLIGHT];
	struct pending *p = *slot;
	if (p && p->used && p->tx_index == tx_index)
		return p;
	if (!create)
		return NULL;
	if (p) /* cannot happen while http.c keeps its in-flight cap */
		pending_clear(p);
	else if (!(p = *slot = calloc(1, sizeof(*p))))
		return NULL;
	p->used = true;
	p->tx_index = tx_index;
	p->wbxml_status = -1;
	return p;
}

static void emit(struct exch_conn *c, struct pending *p, bool final);

static void on_request_headers(struct exch_conn *c, const struct http_event *ev)
{
	struct pending *p = slot_of(c, ev->tx_index, true);
	const char *v;
	size_t n;
	if (!p)
		return; /* out of memory: the transaction goes unreported */
	p->ts_us = ev->ts_us;
	p->method = http_tx_method(ev->tx, &v, &n) ? copy_str(v, n) : copy_str("", 0);
	p->uri = http_tx_uri(ev->tx, &v, &n) ? copy_str(v, n) : copy_str("", 0);
	p->host = header_copy(ev->tx, 0, "Host");
	p->user_agent = header_copy(ev->tx, 0, "User-Agent");
	if (!p->method || !p->uri) {
		pending_clear(p);
		return;
	}
	p->proto = exchange_classify(p->uri, strlen(p->uri));
	request_identity(c, p, ev->tx);
	request_operation(p, ev->tx);
	p->owa_login = is_owa_login(p->method, p->uri);
	if (!p->id_ok && c->owa && http_tx_header(ev->tx, 0, "Cookie", &v, &n))
		owa_sessions_lookup(c->owa, v, n, p->form_user, sizeof(p->form_user));
	p->req.done = !(p->proto == EXCHANGE_EWS || p->owa_login);
	p->streaming = is_streaming_method(p->method);
	if (p->streaming)
		emit(c, p, false);
}

static void scan_request_body(struct pending *p, bool complete)
{
	if (p->req.done)
		return;
	if (p->owa_login) {
		struct identity id;
		enum identity_result r =
		    identity_from_owa_form((const char *)p->req.data, p->req.len, complete, &id);
		if (r == IDENTITY_NEED_MORE && p->req.len < LIMIT_EXCH_SCAN_BYTES)
			return;
		if (r == IDENTITY_OK)
			memcpy(p->form_user, id.user, sizeof(p->form_user));
		p->req.done = true;
		return;
	}
	enum soap_result r = soap_operation(p->req.data, p->req.len, complete, p->operation,
	                                    sizeof(p->operation), NULL);
	if (r == SOAP_NEED_MORE && p->req.len < LIMIT_EXCH_SCAN_BYTES)
		return;
	if (r != SOAP_OK)
		p->operation[0] = '\0';
	p->req.done = true;
}

static void scan_response_body(struct pending *p, bool complete)
{
	if (p->resp.done || !p->wbxml_resp)
		return;
	int st;
	enum wbxml_result r = wbxml_top_status(p->resp.data, p->resp.len, complete, &st);
	if (r == WBXML_NEED_MORE && p->resp.len < LIMIT_EXCH_SCAN_BYTES)
		return;
	if (r == WBXML_OK)
		p->wbxml_status = st;
	p->resp.done = true;
}

static void on_response_headers(struct exch_conn *c, const struct http_event *ev)
{
	struct pending *p = slot_of(c, ev->tx_index, false);
	const char *v;
	size_t n;
	if (!p)
		return;
	p->status = http_tx_status(ev->tx);
	p->throttled = http_tx_header(ev->tx, 1, "X-MS-ASThrottle", &v, &n);
	p->wbxml_resp = p->proto == EXCHANGE_EAS && p->status == 200 &&
	                http_tx_header(ev->tx, 1, "Content-Type", &v, &n) &&
	                ascii_contains_ci(v, n, "wbxml", 5);
	p->resp.done = !p->wbxml_resp;
	if (p->owa_login && c->owa && !p->set_cookie && (p->status == 302 || p->status == 200))
		p->set_cookie = header_copy(ev->tx, 1, "Set-Cookie");
	if (p->binds_ntlm && p->status == 401)
		c->ntlm_user[0] = '\0'; /* the handshake failed: nothing bound */
	if (p->streaming)               /* the outcome of a session-long request, now */
		emit(c, p, false);
}

bool exch_is_eas_refusal(int status, bool throttled, const char *method, int wbxml_status)
{
	if (method && strcmp(method, "OPTIONS") == 0)
		return false;
	switch (status) {
	case 403:
	case 456:
	case 457:
		return true;
	case 503:
		return throttled;
	case 200:
		return wbxml_status >= 0 && wbxml_status_is_refusal(wbxml_status);
	default: /* 401 challenge, 449 provisioning, 451 redirect ... */
		return false;
	}
}

/* DESIGN §3's order of identity sources; writes user and auth. */
static void resolve_identity(const struct exch_conn *c, const struct pending *p,
                             const char **ret_user, const char **ret_auth)
{
	*ret_user = NULL;
	*ret_auth = identity_auth_name(p->id.auth);
	if (p->id_ok) {
		*ret_user = p->id.user;
	} else if (c->ntlm_user[0] && p->id.auth == IDENTITY_AUTH_NONE) {
		*ret_user = c->ntlm_user;
		*ret_auth = identity_auth_name(c->ntlm_auth);
	} else if (p->form_user[0]) {
		*ret_user = p->form_user;
		*ret_auth = identity_auth_name(IDENTITY_AUTH_FORM);
	}
	if (!*ret_user && p->eas_ok && p->eas.user[0])
		*ret_user = p->eas.user; /* normalised by emit() */
}

static void emit(struct exch_conn *c, struct pending *p, bool final)
{
	if (p->proto == EXCHANGE_NONE && !c->all_http)
		return;
	const char *user, *auth;
	char eas_user[IDENTITY_USER_MAX];
	resolve_identity(c, p, &user, &auth);
	if (user == p->eas.user) {
		identity_normalize_user(p->eas.user, strlen(p->eas.user), eas_user,
		                        sizeof(eas_user), NULL);
		user = eas_user[0] ? eas_user : NULL;
	}
	struct exch_txn t = {
	    .ts_us = p->ts_us,
	    .tx_index = p->tx_index,
	    .method = p->method,
	    .uri = p->uri,
	    .host = p->host,
	    .user_agent = p->user_agent,
	    .user = user,
	    .auth = auth,
	    .protocol = exchange_proto_name(p->proto),
	    .operation = p->operation[0] ? p->operation : NULL,
	    .device_id = p->eas_ok && p->eas.device_id[0] ? p->eas.device_id : NULL,
	    .device_type = p->eas_ok && p->eas.device_type[0] ? p->eas.device_type : NULL,
	    .status = p->status,
	    .wbxml_status = p->wbxml_status,
	    .final = final,
	    .evaluate = !p->evaluated && (final || p->status != 0),
	};
	p->evaluated = p->evaluated || t.evaluate;
	if (p->proto == EXCHANGE_EAS)
		t.eas_refusal =
		    exch_is_eas_refusal(p->status, p->throttled, p->method, p->wbxml_status);
	c->fn(c->ctx, &t, &p->row);
}

void exch_http_event(void *ctx, const struct http_event *ev)
{
	struct exch_conn *c = ctx;
	struct pending *p;
	switch (ev->kind) {
	case HTTP_REQUEST_HEADERS:
		on_request_headers(c, ev);
		break;
	case HTTP_REQUEST_BODY:
		p = slot_of(c, ev->tx_index, false);
		if (p && !p->req.done) {
			body_add(&p->req, ev->data, ev->len);
			scan_request_body(p, false);
		}
		break;
	case HTTP_RESPONSE_HEADERS:
		on_response_headers(c, ev);
		break;
	case HTTP_RESPONSE_BODY:
		p = slot_of(c, ev->tx_index, false);
		if (p && !p->resp.done) {
			body_add(&p->resp, ev->data, ev->len);
			scan_response_body(p, false);
		}
		break;
	case HTTP_TX_DONE:
		p = slot_of(c, ev->tx_index, false);
		if (!p)
			break;
		scan_request_body(p, true);
		scan_response_body(p, true);
		if (p->set_cookie && p->form_user[0])
			owa_sessions_bind(c->owa, p->set_cookie, strlen(p->set_cookie),
			                  p->form_user);
		emit(c, p, true);
		pending_clear(p);
		free(p);
		c->slots[ev->tx_index % LIMIT_HTTP_TX_IN_FLIGHT] = NULL;
		break;
	}
}
