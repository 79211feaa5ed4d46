/*
 * defrag.h — IPv4 (RFC 791) and IPv6 (RFC 8200 §4.5) fragment reassembly.
 *
 * Fragments are keyed by (af, src, dst, protocol, id) for IPv4 and by
 * (af, src, dst, id) for IPv6 (RFC 8200 §4.5: only the first fragment's
 * Next Header counts).  Overlapping
 * fragments follow "first data wins" and are counted (an overlap whose bytes
 * differ is a separate anomaly: it is how IDS evasion works).  Every datagram
 * is bounded by LIMIT_FRAG_PER_DATAGRAM fragments and 65535 bytes of
 * reassembled payload; the table by LIMIT_FRAG_DATAGRAMS datagrams and
 * LIMIT_FRAG_BYTES bytes (oldest evicted); a datagram waits at most
 * LIMIT_FRAG_TIMEOUT_S seconds of capture time.
 *
 * Invariants: bytes_held is the sum of fragment data held; the age list is
 * ordered by first-fragment time.  All memory is owned by the table.
 */
#ifndef MDM_DEFRAG_H
#define MDM_DEFRAG_H

#include <stddef.h>
#include <stdint.h>

#include "anomaly.h"
#include "decode.h"

struct defrag;

struct defrag_config {
	uint32_t max_datagrams;
	uint32_t max_bytes;
	uint32_t max_frags_per_datagram;
	uint32_t timeout_s;
};

struct defrag_stats {
	uint64_t fragments;   /* fragments offered */
	uint64_t reassembled; /* datagrams completed */
	uint64_t timeouts;    /* datagrams dropped incomplete after the timeout */
	uint64_t evicted;     /* datagrams dropped for the datagram or byte cap */
	uint64_t dropped;     /* datagrams dropped as malformed */
	uint64_t overlaps;    /* fragments overlapping data already held */
};

/* Defaults from mdm_limits.h. */
void defrag_config_default(struct defrag_config *cfg);

/* NULL on allocation failure. */
struct defrag *defrag_new(const struct defrag_config *cfg);
void defrag_free(struct defrag *d); /* accepts NULL */

enum defrag_result {
	DEFRAG_HELD,     /* stored, datagram not complete yet */
	DEFRAG_COMPLETE, /* *ret_ip / *ret_len hold the whole IP datagram */
	DEFRAG_DROPPED,  /* rejected; *ret_anomaly says why */
};

/*
 * Offers the fragment described by pkt->frag (from decode_frame()), at
 * capture time pkt->ts_us.  On DEFRAG_COMPLETE, *ret_ip points at a rebuilt
 * IP datagram (header with lengths and fragment fields fixed up, then the
 * payload) owned by the table and valid until the next defrag_* call; feed it
 * to decode_ip().  *ret_anomaly is written when there is something to count
 * (also on DEFRAG_HELD for a benign overlap), ANOMALY_NONE otherwise.
 */
enum defrag_result defrag_add(struct defrag *d, const struct pkt *pkt, const uint8_t **ret_ip,
                              size_t *ret_len, enum anomaly *ret_anomaly);

/* Drops datagrams older than the timeout at capture time now_us. */
void defrag_expire(struct defrag *d, uint64_t now_us);

const struct defrag_stats *defrag_stats(const struct defrag *d);
size_t defrag_bytes_held(const struct defrag *d);

#endif /* MDM_DEFRAG_H */
