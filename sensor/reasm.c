/*
 * reasm.c — TCP stream reassembly, one direction at a time.
 *
 * Reference: RFC 9293 §3.4 (sequence numbers; the SYN and the FIN each
 * occupy one) and §3.10.7.4 (segment text is processed in order, with
 * retransmitted and out-of-order data trimmed or held); RFC 7323 §2.3 for
 * the largest window a peer can advertise.
 *
 * Each direction keeps next_seq, the first sequence number not yet handed to
 * the consumer, and a queue of bytes already seen beyond it.  An offered
 * segment is cut against both:
 *
 *        delivered     |  hole  | queued |  hole  | queued | ...
 *   -------------------+--------+--------+--------+--------+
 *                  next_seq
 *
 *   - bytes before next_seq were delivered already: a retransmission, dropped;
 *   - bytes at next_seq are delivered straight from the packet (no copy);
 *   - bytes over queued ones are compared with them and dropped: the first
 *     data seen for a sequence number wins.  Receiving stacks disagree on
 *     which copy they keep, so a difference is reported: it is how
 *     insertion and evasion attacks look;
 *   - bytes over a hole are copied into the queue (the slow path).
 * Whenever the queue head starts at next_seq it is delivered and recycled.
 * When a cap would be exceeded the oldest hole is declared a gap instead,
 * so memory stays bounded and the stream moves on.
 *
 * Invariants (between calls):
 *   - the queue is sorted by sequence number; its segments are non-empty,
 *     disjoint, start strictly after next_seq (a head at next_seq is
 *     delivered at once) and end within REASM_WINDOW of it, so any two
 *     sequence numbers compared here are far less than 2^31 apart;
 *   - once a FIN is seen, nothing queued lies at or after fin_seq, and
 *     next_seq does not pass fin_seq (unless the FIN came behind it, and
 *     then end() follows at once);
 *   - d->queued_bytes and d->queued_segs are the sums over d's queue;
 *     stats.queued_now is the sum of queued bytes over all directions, and
 *     charged (that plus REASM_SEG_COST per segment) never exceeds max_total;
 *   - end() is called at most once per direction; an ended direction holds
 *     nothing and calls no op again;
 *   - once the depth is reached the direction queues nothing.
 */
#include "reasm.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mdm_limits.h"

/* TCP header flags (RFC 9293 §3.1) as passed in `flags`. */
enum {
	REASM_FIN = 0x01,
	REASM_SYN = 0x02,
	REASM_RST = 0x04,
};

/* The largest window a peer can advertise (65535 << 14, RFC 7323 §2.3):
 * data or an acknowledgment further ahead than this is not genuine, and
 * refusing it keeps every SEQ_* comparison here well inside 2^31. */
#define REASM_WINDOW (1u << 30)

/* What max_total charges per queued segment besides its bytes: the node and
 * the allocator's header on the copy.  Without it, 1-byte segments would
 * cost some 60 times the cap in real memory. */
#define REASM_SEG_COST ((uint64_t)sizeof(struct reasm_seg) + 16u)

/* Free nodes kept for reuse (about 128 KiB); more go back to malloc, so an
 * out-of-order burst does not pin its peak for the rest of the run. */
#define REASM_FREE_MAX 4096u

struct reasm_seg {
	struct reasm_seg *next;
	uint8_t *bytes; /* owned copy; at least `len` bytes */
	uint32_t seq;
	uint32_t len;
};

struct reasm_pool {
	struct reasm_config cfg;
	struct reasm_ops ops;
	struct reasm_stats stats;
	uint64_t charged; /* queued bytes + REASM_SEG_COST per queued segment */
	struct reasm_seg *free_list;
	uint32_t nfree;
};

/* What is left to handle of an offered segment. */
struct piece {
	uint32_t seq;     /* sequence number of its first byte */
	uint32_t wirelen; /* bytes on the wire from seq */
	struct buf cap;   /* the captured ones: a prefix of those */
};

enum cap {
	CAP_NONE,
	CAP_DIR,
	CAP_TOTAL,
};

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

static void report(const struct reasm_pool *p, int dir, void *ctx, enum anomaly a)
{
	if (p->ops.anomaly)
		p->ops.anomaly(ctx, dir, a);
}

static uint32_t piece_captured(const struct piece *pc)
{
	return (uint32_t)buf_left(&pc->cap);
}

/*
 * Consumes the next n bytes of the piece (n <= wirelen).  Returns the
 * captured ones among them, *ret_c of them (fewer than n when the snap
 * length cut the segment short).
 */
static const uint8_t *piece_take(struct piece *pc, uint32_t n, uint32_t *ret_c)
{
	uint32_t c = min_u32(n, piece_captured(pc));
	const uint8_t *b = buf_take(&pc->cap, c);

	pc->seq += n;
	pc->wirelen -= n;
	*ret_c = c;
	return b;
}

/* Keeps only the first n bytes of the piece (n <= wirelen). */
static void piece_cut(struct piece *pc, uint32_t n)
{
	uint32_t c = min_u32(n, piece_captured(pc));

	pc->cap = buf_init(buf_rest(&pc->cap), c);
	pc->wirelen = n;
}

/* The n queued bytes of q from sequence number `at` on. */
static const uint8_t *seg_bytes(const struct reasm_seg *q, uint32_t at, uint32_t n)
{
	struct buf b = buf_init(q->bytes, q->len);

	buf_skip(&b, SEQ_DIFF(at, q->seq));
	return buf_take(&b, n);
}

static struct reasm_seg *seg_new(struct reasm_pool *p, uint32_t seq, const uint8_t *bytes,
                                 uint32_t n)
{
	struct reasm_seg *q = p->free_list;

	if (q) {
		p->free_list = q->next;
		p->nfree--;
	} else {
		q = malloc(sizeof(*q));
		if (!q)
			return NULL;
	}
	q->bytes = malloc(n);
	if (!q->bytes) {
		free(q);
		return NULL;
	}
	memcpy(q->bytes, bytes, n);
	q->next = NULL;
	q->seq = seq;
	q->len = n;
	return q;
}

static void seg_free(struct reasm_pool *p, struct reasm_seg *q)
{
	free(q->bytes);
	q->bytes = NULL;
	if (p->nfree >= REASM_FREE_MAX) {
		free(q);
		return;
	}
	q->next = p->free_list;
	p->free_list = q;
	p->nfree++;
}

/* Links q in at *link and counts it everywhere it is counted. */
static void queue_link(struct reasm_pool *p, struct reasm_dir *d, struct reasm_seg **link,
                       struct reasm_seg *q)
{
	q->next = *link;
	*link = q;
	d->queued_bytes += q->len;
	d->queued_segs++;
	p->stats.queued_now += q->len;
	if (p->stats.queued_now > p->stats.queued_max)
		p->stats.queued_max = p->stats.queued_now;
	p->charged += q->len + REASM_SEG_COST;
}

/* The reverse of queue_link(): unlinks *link and returns it. */
static struct reasm_seg *queue_unlink(struct reasm_pool *p, struct reasm_dir *d,
                                      struct reasm_seg **link)
{
	struct reasm_seg *q = *link;

	*link = q->next;
	q->next = NULL;
	d->queued_bytes -= q->len;
	d->queued_segs--;
	p->stats.queued_now -= q->len;
	p->charged -= q->len + REASM_SEG_COST;
	return q;
}

/* Frees the whole queue; returns how many bytes it held. */
static uint64_t queue_release(struct reasm_pool *p, struct reasm_dir *d)
{
	uint64_t n = 0;

	while (d->queue) {
		struct reasm_seg *q = queue_unlink(p, d, &d->queue);

		n += q->len;
		seg_free(p, q);
	}
	return n;
}

/* Drops queued bytes at or after `limit`; true if there were any. */
static bool queue_cut_at(struct reasm_pool *p, struct reasm_dir *d, uint32_t limit)
{
	struct reasm_seg **link = &d->queue;
	bool cut = false;

	while (*link) {
		struct reasm_seg *q = *link;

		if (SEQ_LEQ(q->seq + q->len, limit)) {
			link = &q->next;
			continue;
		}
		cut = true;
		q = queue_unlink(p, d, link);
		if (SEQ_GEQ(q->seq, limit)) {
			seg_free(p, q);
			continue;
		}
		/* The copy keeps its size; only its length shrinks. */
		q->len = SEQ_DIFF(limit, q->seq);
		queue_link(p, d, link, q);
		link = &q->next;
	}
	return cut;
}

/* Bytes the consumer may still be given before the depth is reached. */
static uint64_t depth_left(const struct reasm_pool *p, const struct reasm_dir *d)
{
	if (!p->cfg.depth)
		return UINT64_MAX;
	return d->delivered < p->cfg.depth ? p->cfg.depth - d->delivered : 0;
}

/* Hands over the n bytes at next_seq (those within the depth). */
static void deliver_data(struct reasm_pool *p, struct reasm_dir *d, int dir, void *ctx,
                         const uint8_t *bytes, uint32_t n)
{
	uint64_t left = depth_left(p, d);
	uint64_t k = n < left ? n : left;

	if (k) {
		p->ops.data(ctx, dir, bytes, (size_t)k);
		p->stats.delivered_bytes += k;
		d->delivered += k;
	}
	p->stats.depth_bytes += n - k;
	d->next_seq += n;
}

/* Declares the n bytes at next_seq lost.  Past the depth nobody listens. */
static void deliver_gap(struct reasm_pool *p, struct reasm_dir *d, int dir, void *ctx, uint32_t n)
{
	uint64_t left = depth_left(p, d);
	uint64_t k = n < left ? n : left;

	if (k) {
		p->ops.gap(ctx, dir, k);
		p->stats.gaps++;
		p->stats.gap_bytes += k;
		d->delivered += k;
	}
	d->next_seq += n;
}

/* Pops the queue head (which starts at next_seq) and delivers it. */
static void deliver_head(struct reasm_pool *p, struct reasm_dir *d, int dir, void *ctx)
{
	struct reasm_seg *q = queue_unlink(p, d, &d->queue);

	deliver_data(p, d, dir, ctx, q->bytes, q->len);
	seg_free(p, q);
}

/* Delivers what has become in order; past the depth, drops the queue. */
static void drain(struct reasm_pool *p, struct reasm_dir *d, int dir, void *ctx)
{
	while (d->queue && d->queue->seq == d->next_seq)
		deliver_head(p, d, dir, ctx);
	if (!depth_left(p, d))
		p->stats.depth_bytes += queue_release(p, d);
}

static void finish(struct reasm_pool *p, struct reasm_dir *d, int dir, void *ctx)
{
	queue_release(p, d);
	d->ended = true;
	p->ops.end(ctx, dir);
}

static void check_fin(struct reasm_pool *p, struct reasm_dir *d, int dir, void *ctx)
{
	if (d->fin_seen && !d->ended && SEQ_GEQ(d->next_seq, d->fin_seq))
		finish(p, d, dir, ctx);
}

/*
 * pc starts inside queued segment q: compares the overlapping bytes with
 * the queued ones, which win, and consumes them from pc.
 */
static void overlap(struct reasm_pool *p, int dir, void *ctx, const struct reasm_seg *q,
                    struct piece *pc)
{
	uint32_t m = min_u32(pc->wirelen, SEQ_DIFF(q->seq + q->len, pc->seq));
	uint32_t at = pc->seq;
	uint32_t c;
	const uint8_t *ours = piece_take(pc, m, &c);

	p->stats.overlap_bytes += m;
	if (c && memcmp(ours, seg_bytes(q, at, c), c) != 0) {
		p->stats.overlap_different++;
		report(p, dir, ctx, ANOMALY_TCP_OVERLAP_DIFFERENT);
	}
}

/*
 * Which cap queueing pc's captured bytes would break.  Counts exactly what
 * would be added (only the parts over holes become new segments), so that
 * retransmissions over queued data never force a gap.
 */
static enum cap would_exceed(const struct reasm_pool *p, const struct reasm_dir *d,
                             const struct piece *pc)
{
	uint32_t pos = pc->seq, end = pc->seq + piece_captured(pc);
	uint64_t bytes = 0, segs = 0;

	for (const struct reasm_seg *q = d->queue; q && SEQ_LT(pos, end); q = q->next) {
		uint32_t qend = q->seq + q->len;

		if (SEQ_LEQ(qend, pos))
			continue;
		if (SEQ_LT(pos, q->seq)) {
			bytes += SEQ_DIFF(SEQ_LT(q->seq, end) ? q->seq : end, pos);
			segs++;
		}
		pos = SEQ_LT(qend, end) ? qend : end;
	}
	if (SEQ_LT(pos, end)) {
		bytes += SEQ_DIFF(end, pos);
		segs++;
	}
	if (d->queued_bytes + bytes > p->cfg.max_dir_bytes ||
	    d->queued_segs + segs > p->cfg.max_dir_segs)
		return CAP_DIR;
	if (p->charged + bytes + segs * REASM_SEG_COST > p->cfg.max_total)
		return CAP_TOTAL;
	return CAP_NONE;
}

/* Queues copies of pc's captured bytes over holes; compares the rest. */
static void queue_insert(struct reasm_pool *p, struct reasm_dir *d, int dir, void *ctx,
                         struct piece *pc)
{
	uint32_t end = pc->seq + piece_captured(pc);
	struct reasm_seg **link = &d->queue;
	bool queued = false;

	while (SEQ_LT(pc->seq, end)) {
		struct reasm_seg *q = *link, *s;
		uint32_t at = pc->seq, n, c;

		if (q && SEQ_LEQ(q->seq + q->len, pc->seq)) {
			link = &q->next;
			continue;
		}
		if (q && SEQ_LEQ(q->seq, pc->seq)) {
			overlap(p, dir, ctx, q, pc);
			continue;
		}
		/* All of [at, end) is captured, so c == n. */
		n = SEQ_DIFF(q && SEQ_LT(q->seq, end) ? q->seq : end, at);
		s = seg_new(p, at, piece_take(pc, n, &c), n);
		/* Out of memory leaves a hole: an ack, a cap or the flush gaps it. */
		if (s) {
			queue_link(p, d, link, s);
			link = &s->next;
			queued = true;
		}
	}
	if (queued)
		p->stats.queued_segments++;
}

/*
 * A cap would be exceeded: give up on the oldest hole, from next_seq up to
 * the first queued segment or to pc, whichever comes first.  Repeated, this
 * either frees enough of the queue or makes pc itself in order.
 */
static void make_room(struct reasm_pool *p, struct reasm_dir *d, int dir, void *ctx,
                      const struct piece *pc, enum cap cap)
{
	uint32_t upto = pc->seq;

	if (d->queue && SEQ_LT(d->queue->seq, upto))
		upto = d->queue->seq;
	if (cap == CAP_DIR)
		p->stats.cap_dir++;
	else
		p->stats.cap_total++;
	deliver_gap(p, d, dir, ctx, SEQ_DIFF(upto, d->next_seq));
}

/*
 * The reassembly proper: each round handles a prefix of pc or makes room,
 * so it ends.  In-order bytes go straight from the packet; only a part that
 * is still ahead of next_seq at the end is copied.
 */
static void offer(struct reasm_pool *p, struct reasm_dir *d, int dir, void *ctx, struct piece *pc)
{
	while (pc->wirelen) {
		struct reasm_seg *head = d->queue;
		const uint8_t *b;
		uint32_t n, c;

		if (SEQ_LT(pc->seq, d->next_seq)) {
			n = min_u32(pc->wirelen, SEQ_DIFF(d->next_seq, pc->seq));
			p->stats.retrans_bytes += n;
			piece_take(pc, n, &c);
		} else if (head && head->seq == d->next_seq) {
			/* This segment just filled the hole before head. */
			if (SEQ_LT(pc->seq, head->seq + head->len))
				overlap(p, dir, ctx, head, pc);
			deliver_head(p, d, dir, ctx);
		} else if (pc->seq == d->next_seq) {
			n = pc->wirelen;
			if (head)
				n = min_u32(n, SEQ_DIFF(head->seq, pc->seq));
			b = piece_take(pc, n, &c);
			if (c)
				deliver_data(p, d, dir, ctx, b, c);
			/* Past the snap length: in order, so it is gone for good. */
			deliver_gap(p, d, dir, ctx, n - c);
		} else {
			enum cap cap = would_exceed(p, d, pc);

			if (cap == CAP_NONE) {
				queue_insert(p, d, dir, ctx, pc);
				return;
			}
			make_room(p, d, dir, ctx, pc, cap);
		}
	}
}

/*
 * Drops what cannot be stream bytes: anything beyond the largest window,
 * or at or after the FIN.  False when nothing is left.
 */
static bool admit(struct reasm_pool *p, struct reasm_dir *d, int dir, void *ctx, struct piece *pc)
{
	uint32_t end = pc->seq + pc->wirelen;

	if (!pc->wirelen)
		return false;
	if (SEQ_GT(end, d->next_seq) && SEQ_DIFF(end, d->next_seq) > REASM_WINDOW) {
		report(p, dir, ctx, ANOMALY_TCP_SEQ_OUT_OF_WINDOW);
		return false;
	}
	if (d->fin_seen && SEQ_GT(end, d->fin_seq)) {
		report(p, dir, ctx, ANOMALY_TCP_DATA_AFTER_FIN);
		if (SEQ_GEQ(pc->seq, d->fin_seq))
			return false;
		piece_cut(pc, SEQ_DIFF(d->fin_seq, pc->seq));
	}
	return true;
}

/* Past the depth: only count, and keep next_seq moving so the FIN is seen. */
static void skip_past_depth(struct reasm_pool *p, struct reasm_dir *d, const struct piece *pc)
{
	uint32_t end = pc->seq + pc->wirelen;
	uint32_t from = SEQ_GT(pc->seq, d->next_seq) ? pc->seq : d->next_seq;

	if (!SEQ_GT(end, d->next_seq))
		return;
	p->stats.depth_bytes += SEQ_DIFF(end, from);
	d->next_seq = end;
}

/* The first FIN fixes where the stream ends; a later, different one is ignored. */
static void note_fin(struct reasm_pool *p, struct reasm_dir *d, int dir, void *ctx,
                     uint32_t fin_seq)
{
	if (d->fin_seen)
		return;
	if (SEQ_GT(fin_seq, d->next_seq) && SEQ_DIFF(fin_seq, d->next_seq) > REASM_WINDOW)
		return;
	d->fin_seen = true;
	d->fin_seq = fin_seq;
	if (queue_cut_at(p, d, fin_seq))
		report(p, dir, ctx, ANOMALY_TCP_DATA_AFTER_FIN);
}

void reasm_config_default(struct reasm_config *cfg)
{
	cfg->max_dir_bytes = LIMIT_REASM_DIR_BYTES;
	cfg->max_dir_segs = LIMIT_REASM_DIR_SEGS;
	cfg->max_total = LIMIT_REASM_TOTAL_BYTES;
	cfg->depth = LIMIT_REASM_DEPTH;
}

struct reasm_pool *reasm_pool_new(const struct reasm_config *cfg, const struct reasm_ops *ops)
{
	struct reasm_pool *p;

	assert(ops->data && ops->gap && ops->end);
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->cfg = *cfg;
	p->ops = *ops;
	return p;
}

void reasm_pool_free(struct reasm_pool *p)
{
	if (!p)
		return;
	assert(p->stats.queued_now == 0);
	while (p->free_list) {
		struct reasm_seg *q = p->free_list;

		p->free_list = q->next;
		free(q);
	}
	free(p);
}

void reasm_dir_init(struct reasm_dir *d)
{
	memset(d, 0, sizeof(*d));
}

static void ack_resolve(struct reasm_pool *p, struct reasm_dir *d, int dir, void *ctx, bool force);

void reasm_segment(struct reasm_pool *p, struct reasm_dir *d, int dir, void *ctx, uint32_t seq,
                   uint8_t flags, const uint8_t *data, size_t caplen, size_t wirelen)
{
	struct piece pc;

	/* The SYN occupies the sequence number before the first data byte. */
	if (flags & REASM_SYN)
		seq++;
	if (wirelen > REASM_WINDOW) {
		report(p, dir, ctx, ANOMALY_TCP_SEQ_OUT_OF_WINDOW);
		return;
	}
	if (caplen > wirelen)
		caplen = wirelen;
	if (wirelen)
		p->stats.segments++;
	if (d->ended) {
		if (wirelen && d->fin_seen && SEQ_GT(seq + (uint32_t)wirelen, d->fin_seq))
			report(p, dir, ctx, ANOMALY_TCP_DATA_AFTER_FIN);
		return;
	}
	if (!d->started) {
		d->next_seq = seq;
		d->started = true;
	}
	/* Text on a RST is diagnostic (RFC 9293 §3.5.3), not stream data.  The
	 * RST is believed whatever its sequence number: a passive sensor
	 * cannot tell which one the receiver accepted. */
	if (flags & REASM_RST) {
		reasm_flush(p, d, dir, ctx);
		return;
	}
	if (flags & REASM_FIN)
		note_fin(p, d, dir, ctx, seq + (uint32_t)wirelen);

	pc.seq = seq;
	pc.wirelen = (uint32_t)wirelen;
	pc.cap = buf_init(data, caplen);
	if (admit(p, d, dir, ctx, &pc)) {
		if (depth_left(p, d))
			offer(p, d, dir, ctx, &pc);
		else
			skip_past_depth(p, d, &pc);
	}
	drain(p, d, dir, ctx);
	check_fin(p, d, dir, ctx);
	if (d->ack_pending) {
		if (d->ack_wait < UINT8_MAX)
			d->ack_wait++;
		ack_resolve(p, d, dir, ctx, false);
	}
}

/* Declares the bytes the peer acknowledged but we never saw a gap: now when
 * `force`, else once they stayed missing for REASM_ACK_PATIENCE segments. */
static void ack_resolve(struct reasm_pool *p, struct reasm_dir *d, int dir, void *ctx, bool force)
{
	if (!d->ack_pending || d->ended)
		return;
	if (SEQ_GEQ(d->next_seq, d->ack_seq)) {
		d->ack_pending = false; /* the data came after its ack: no loss */
		return;
	}
	if (!force && d->ack_wait < REASM_ACK_PATIENCE)
		return;
	d->ack_pending = false;
	uint32_t limit = d->ack_seq;
	/* The FIN's own sequence number is acknowledged too but is no byte. */
	if (d->fin_seen && SEQ_GT(limit, d->fin_seq))
		limit = d->fin_seq;
	while (SEQ_LT(d->next_seq, limit)) {
		struct reasm_seg *head = d->queue;
		uint32_t stop = head && SEQ_LT(head->seq, limit) ? head->seq : limit;

		deliver_gap(p, d, dir, ctx, SEQ_DIFF(stop, d->next_seq));
		drain(p, d, dir, ctx);
	}
	check_fin(p, d, dir, ctx);
}

void reasm_ack(struct reasm_pool *p, struct reasm_dir *d, int dir, void *ctx, uint32_t ack)
{
	if (!d->started || d->ended || !SEQ_GT(ack, d->next_seq))
		return;
	/* An ack beyond any window acknowledges nothing we could have missed. */
	if (SEQ_DIFF(ack, d->next_seq) > REASM_WINDOW)
		return;
	if (!d->ack_pending) {
		d->ack_pending = true;
		d->ack_wait = 0;
		d->ack_seq = ack;
	} else if (SEQ_GT(ack, d->ack_seq)) {
		d->ack_seq = ack;
	}
	ack_resolve(p, d, dir, ctx, false);
}

void reasm_flush(struct reasm_pool *p, struct reasm_dir *d, int dir, void *ctx)
{
	if (d->ended)
		return;
	ack_resolve(p, d, dir, ctx, true);
	if (d->ended)
		return;
	while (d->queue) {
		deliver_gap(p, d, dir, ctx, SEQ_DIFF(d->queue->seq, d->next_seq));
		drain(p, d, dir, ctx);
	}
	/* A hole just before the FIN is a loss too: say so before end(). */
	if (d->fin_seen && SEQ_LT(d->next_seq, d->fin_seq))
		deliver_gap(p, d, dir, ctx, SEQ_DIFF(d->fin_seq, d->next_seq));
	finish(p, d, dir, ctx);
}

void reasm_dir_release(struct reasm_pool *p, struct reasm_dir *d)
{
	queue_release(p, d);
}

const struct reasm_stats *reasm_pool_stats(const struct reasm_pool *p)
{
	return &p->stats;
}
