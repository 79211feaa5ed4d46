/*
 * dpi.h — protocol identification with nDPI, behind a small stable API.
 *
 * nDPI's API changed after 4.2 (Debian 12's version), so every nDPI call
 * lives in dpi.c and nowhere else.  Each flow is offered to nDPI for its
 * first packets only; as soon as the class is known (or LIMIT_DPI_PACKETS is
 * reached and the sensor gives up) the per-flow nDPI state is freed.
 *
 * The organisation's Exchange front-ends are taught to nDPI through its
 * custom protocols file format (`host:"mail.contoso.com"@Exchange`,
 * `ip:192.0.2.10@Exchange`): either a file the operator gives
 * (--ndpi-protos), or rules built from --exchange HOST options.  A flow that
 * matches gets the custom protocol "Exchange" and dpi_result.exchange set.
 */
#ifndef MDM_DPI_H
#define MDM_DPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mdm_limits.h"

struct dpi;
struct dpi_flow;

enum dpi_class {
	DPI_PENDING, /* not decided yet */
	DPI_HTTP,    /* HTTP/1.x (any port) */
	DPI_TLS,     /* TLS (any port) */
	DPI_OTHER,   /* something else, or unknown after giving up */
};

struct dpi_result {
	enum dpi_class cls;
	bool exchange; /* matched an Exchange host or address rule */
	char name[48]; /* nDPI's name, e.g. "HTTP", "TLS.Microsoft", "Unknown" */
	char host[LIMIT_HOSTNAME_BYTES + 1]; /* SNI or Host nDPI saw, may be empty */
};

/*
 * Creates the detection module.  `protos_file` (may be NULL) is an nDPI
 * custom protocols file; `exchange_hosts` (n entries, may be 0) are host
 * names or IP addresses of Exchange front-ends.  On failure returns a
 * negative errno and writes a message naming the file to err.
 */
int dpi_new(const char *protos_file, const char *const *exchange_hosts, size_t n,
            struct dpi **ret_dpi, char *err, size_t errlen);
void dpi_free(struct dpi *d); /* accepts NULL */

/* "nDPI 4.2.0 (...)" for the run record. */
const char *dpi_version(void);

/* Per-flow state, NULL on allocation failure. */
struct dpi_flow *dpi_flow_new(struct dpi *d);
void dpi_flow_free(struct dpi_flow *f); /* accepts NULL */

/*
 * Offers one packet of the flow, from its IP header (`ip`, `len` bytes as
 * captured, or a reassembled datagram).  Returns the class so far;
 * DPI_PENDING means "offer more packets".  Once the answer is not pending,
 * dpi_flow_result() has the details and the flow state may be freed.
 */
enum dpi_class dpi_packet(struct dpi *d, struct dpi_flow *f, const uint8_t *ip, size_t len,
                          uint64_t ts_us);

/* Forces a decision from what was seen (nDPI's give-up with guessing). */
enum dpi_class dpi_giveup(struct dpi *d, struct dpi_flow *f);

/* The details of the decision (or of the best guess while pending). */
void dpi_flow_result(struct dpi *d, struct dpi_flow *f, struct dpi_result *ret);

#endif /* MDM_DPI_H */
