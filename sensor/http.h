/*
 * http.h — HTTP/1.x on a reassembled TCP connection, parsed by libhtp (OISF,
 * the parser Suricata uses) with its IIS personality, since the servers we
 * watch are IIS.  The only module that includes <htp/htp.h>.
 *
 * The consumer sees each transaction through events, in stream order:
 *
 *   REQUEST_HEADERS   the request line and headers are complete.  Emitted
 *                     before any body byte, so a transaction whose body never
 *                     ends (RPC_IN_DATA / RPC_OUT_DATA declare ~1 GB) is seen
 *                     at once.
 *   REQUEST_BODY      a chunk of the request body (de-chunked), data/len set.
 *   RESPONSE_HEADERS  the status line and headers of the response.
 *   RESPONSE_BODY     a chunk of the response body (de-chunked, and
 *                     decompressed when Content-Encoding says gzip/deflate).
 *   TX_DONE           nothing more will come for this transaction (complete,
 *                     or cut by a gap or the end of the connection).
 *
 * Transactions are numbered per connection from 0 (`tx_index`), so a
 * consumer can keep state per transaction across pipelined requests.  Every
 * transaction that got REQUEST_HEADERS gets exactly one TX_DONE, at the latest
 * from http_conn_free().
 *
 * Accessors (http_tx_*) are valid only inside the callback; every string they
 * return is borrowed, not NUL-terminated, and must be copied to be kept.
 *
 * Gaps: a gap inside a body is passed to libhtp as a gap and parsing goes
 * on.  A gap anywhere else cannot be resynchronised by libhtp; the
 * connection parser is then replaced, and the new one starts at the next
 * bytes that begin a request line (client side) or a status line (server
 * side); bytes until then are counted as skipped.
 *
 * Caps (mdm_limits.h): header line length, header count per message, body
 * bytes handed to the consumer per message (the rest is counted, not
 * delivered), transactions in flight per connection.
 */
#ifndef MDM_HTTP_H
#define MDM_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http_engine; /* shared configuration, one per sensor */
struct http_conn;   /* one per TCP connection */
struct http_tx;     /* opaque, valid during a callback */

enum http_event_kind {
	HTTP_REQUEST_HEADERS,
	HTTP_REQUEST_BODY,
	HTTP_RESPONSE_HEADERS,
	HTTP_RESPONSE_BODY,
	HTTP_TX_DONE,
};

struct http_event {
	enum http_event_kind kind;
	uint64_t tx_index;
	uint64_t ts_us; /* capture time of the bytes that completed the event */
	const struct http_tx *tx;
	const uint8_t *data; /* BODY events */
	size_t len;
};

typedef void (*http_event_fn)(void *ctx, const struct http_event *ev);

struct http_stats {
	uint64_t transactions;
	uint64_t parse_errors;   /* libhtp reported an error on a stream */
	uint64_t resyncs;        /* parser replaced after a gap outside a body */
	uint64_t skipped_bytes;  /* bytes skipped while resynchronising */
	uint64_t body_truncated; /* body bytes not delivered (cap) */
	uint64_t header_cap;     /* messages that hit the header line or count cap */
	uint64_t tx_cap;         /* transactions dropped: too many in flight */
};

/* NULL on failure. */
struct http_engine *http_engine_new(void);
void http_engine_free(struct http_engine *e); /* accepts NULL */
const struct http_stats *http_engine_stats(const struct http_engine *e);

/*
 * A parser for one connection.  `fn`/`ctx` receive its events.  Addresses
 * are text (inet_ntop form) for libhtp's connection record.
 */
struct http_conn *http_conn_new(struct http_engine *e, const char *client_ip, uint16_t client_port,
                                const char *server_ip, uint16_t server_port, uint64_t ts_us,
                                http_event_fn fn, void *ctx);

/* Stream bytes of direction dir (0 client->server, 1 server->client). */
void http_conn_data(struct http_conn *c, int dir, uint64_t ts_us, const uint8_t *data, size_t len);
/* n bytes of direction dir were lost. */
void http_conn_gap(struct http_conn *c, int dir, uint64_t ts_us, uint64_t n);
/* Direction dir ended (FIN/RST/flow end). */
void http_conn_end(struct http_conn *c, int dir, uint64_t ts_us);
/* Closes the connection: every open transaction gets TX_DONE.  Accepts NULL. */
void http_conn_free(struct http_conn *c);

/* Accessors, valid inside a callback only. */
bool http_tx_method(const struct http_tx *tx, const char **ret, size_t *ret_len);
/* The request-target exactly as on the wire. */
bool http_tx_uri(const struct http_tx *tx, const char **ret, size_t *ret_len);
/* A request (dir 0) or response (dir 1) header by case-insensitive name; the
 * first one when repeated. */
bool http_tx_header(const struct http_tx *tx, int dir, const char *name, const char **ret,
                    size_t *ret_len);
/* Response status code, 0 before the response headers. */
int http_tx_status(const struct http_tx *tx);
/* "HTTP/1.1" etc. */
bool http_tx_protocol(const struct http_tx *tx, const char **ret, size_t *ret_len);

#endif /* MDM_HTTP_H */
