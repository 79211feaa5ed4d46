/*
 * reasm.h — TCP stream reassembly, one direction at a time (RFC 9293).
 *
 * The consumer sees each direction of a connection as ordered bytes:
 *   data(ctx, dir, bytes, n)   the next n bytes of the stream
 *   gap(ctx, dir, n)           n bytes of the stream will never be seen
 *                              (capture loss, snap length, a cap); the next
 *                              data() continues after them, and the consumer
 *                              must resynchronise
 *   end(ctx, dir)              FIN or RST reached, or the flow ended; no more
 *                              calls for this direction
 *
 * Policy:
 *   - In-order data is passed straight from the packet; nothing is copied or
 *     allocated.  Only out-of-order segments are copied into the queue.
 *   - Retransmitted data already delivered is dropped (counted).
 *   - Overlaps: the first bytes seen for a sequence number win.  Where an
 *     overlap's bytes are still held (queued), they are compared and a
 *     difference is the anomaly TCP_OVERLAP_DIFFERENT.
 *   - A direction is picked up where it is first seen: at ISN+1 after a SYN,
 *     else at the first segment's sequence number (mid-stream pickup).
 *   - Gaps are declared when (a) the peer acknowledges bytes this direction
 *     never delivered (reasm_ack) and they are still missing after
 *     REASM_ACK_PATIENCE more segments of this direction (or at the flush):
 *     a span port that mirrors the two directions through different paths
 *     can show an ACK before the data it acknowledges, and that data must
 *     not be thrown away; (b) the per-direction or total queue cap
 *     would be exceeded, (c) the captured segment is shorter than the segment
 *     on the wire, (d) the direction is flushed (FIN, RST, flow end) with
 *     holes still open.
 *   - Depth: after `depth` bytes per direction (0 = no limit), further data
 *     is counted and dropped.
 *   - All sequence arithmetic uses SEQ_* from buf.h (wraparound safe).
 *
 * Memory: the pool owns every queued segment; `queued_total` never exceeds
 * `max_total`, a direction never holds more than `max_dir_bytes` bytes or
 * `max_dir_segs` segments.  Segment nodes are recycled through a free list.
 * `max_total` also charges a fixed per-segment overhead (the node and the
 * allocator's header), so that tiny segments cannot make the real memory
 * many times the cap; `queued_now` counts payload bytes only.
 */
#ifndef MDM_REASM_H
#define MDM_REASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "anomaly.h"

struct reasm_seg; /* private */

/*
 * `bytes` are borrowed for the duration of the call.  The ops must not call
 * back into reasm for the same direction.  data, gap and end are required;
 * anomaly may be NULL (TCP_OVERLAP_DIFFERENT, TCP_DATA_AFTER_FIN,
 * TCP_SEQ_OUT_OF_WINDOW are then only visible in the stats, if at all).
 */
struct reasm_ops {
	void (*data)(void *ctx, int dir, const uint8_t *bytes, size_t n);
	void (*gap)(void *ctx, int dir, uint64_t n);
	void (*end)(void *ctx, int dir);
	void (*anomaly)(void *ctx, int dir, enum anomaly a);
};

struct reasm_config {
	uint32_t max_dir_bytes;
	uint32_t max_dir_segs;
	uint64_t max_total;
	uint64_t depth; /* 0 = unlimited */
};

struct reasm_stats {
	uint64_t delivered_bytes;
	uint64_t segments;          /* segments offered with payload */
	uint64_t queued_segments;   /* segments that had to wait (out of order) */
	uint64_t retrans_bytes;     /* bytes offered again after delivery */
	uint64_t overlap_bytes;     /* bytes overlapping queued data */
	uint64_t overlap_different; /* overlaps whose bytes differed */
	uint64_t gaps;
	uint64_t gap_bytes;
	uint64_t cap_dir;     /* gaps forced by the per-direction cap */
	uint64_t cap_total;   /* gaps forced by the total cap */
	uint64_t depth_bytes; /* bytes dropped past the depth */
	uint64_t queued_now;
	uint64_t queued_max;
};

struct reasm_pool;

/* Per direction state; embed it, zero it (or reasm_dir_init), never copy it. */
struct reasm_dir {
	uint32_t next_seq; /* next sequence number to deliver */
	uint32_t queued_bytes;
	uint32_t queued_segs;
	uint64_t delivered;      /* bytes delivered (and gap bytes skipped) */
	struct reasm_seg *queue; /* out-of-order segments, ordered, disjoint */
	bool started;            /* next_seq valid */
	bool ended;              /* end() called */
	bool fin_seen;
	uint32_t fin_seq; /* sequence number of the FIN */
	bool ack_pending; /* the peer acknowledged ack_seq, beyond next_seq */
	uint8_t ack_wait; /* segments of this direction seen since */
	uint32_t ack_seq;
};

/* Defaults from mdm_limits.h. */
void reasm_config_default(struct reasm_config *cfg);

/* Copies cfg and ops.  NULL on allocation failure. */
struct reasm_pool *reasm_pool_new(const struct reasm_config *cfg, const struct reasm_ops *ops);
/* All directions must have been released first.  Accepts NULL. */
void reasm_pool_free(struct reasm_pool *p);

void reasm_dir_init(struct reasm_dir *d);

/*
 * Offers one TCP segment of direction `dir` (passed through to the ops).
 * `flags` are the TCP flags; `data`/`caplen` the captured payload and
 * `wirelen` (>= caplen) its length on the wire.  May call the ops any number
 * of times before returning.  `ctx` is handed to the ops unchanged.
 */
void reasm_segment(struct reasm_pool *p, struct reasm_dir *d, int dir, void *ctx, uint32_t seq,
                   uint8_t flags, const uint8_t *data, size_t caplen, size_t wirelen);

/*
 * The other direction acknowledged `ack` (its ACK flag was set): bytes of
 * this direction before `ack` that are still missing will never be
 * retransmitted to us.  Unless they turn up within the next
 * REASM_ACK_PATIENCE segments of this direction (mirroring skew), they are
 * declared a gap and what follows is delivered.
 */
#define REASM_ACK_PATIENCE 4
void reasm_ack(struct reasm_pool *p, struct reasm_dir *d, int dir, void *ctx, uint32_t ack);

/*
 * No more segments will come (FIN/RST handled, or the flow ends): deliver
 * everything queued, declaring gaps over holes, then call end() once.
 * Idempotent.
 */
void reasm_flush(struct reasm_pool *p, struct reasm_dir *d, int dir, void *ctx);

/* Frees the direction's queue without delivering anything. */
void reasm_dir_release(struct reasm_pool *p, struct reasm_dir *d);

const struct reasm_stats *reasm_pool_stats(const struct reasm_pool *p);

#endif /* MDM_REASM_H */
