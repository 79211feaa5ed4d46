/*
 * defrag.c — IPv4 (RFC 791 §3.2) and IPv6 (RFC 8200 §4.5) fragment
 * reassembly, with hole bookkeeping in the spirit of RFC 815.
 *
 * Each pending datagram keeps copies of the fragment data it has seen as a
 * list of non-overlapping pieces sorted by offset.  A new fragment only
 * fills the holes between pieces: first data wins.  Real stacks resolve
 * overlaps differently (Novak, "Target-Based Fragmentation Reassembly",
 * 2005; RFC 5722 has IPv6 receivers discard the whole datagram), so no
 * policy matches every target; the bytes a fragment has in common with
 * held data are therefore compared, and a difference is reported apart
 * from a plain overlap, because that is how IDS evasion works (Ptacek &
 * Newsham, 1998).  Memory per datagram is what was received, not a 64 KiB
 * buffer: 1024 datagrams of 64 KiB would not fit the byte cap.
 *
 * Datagrams are found through a hash table keyed by (af, src, dst, proto,
 * id) with a per-table random seed, so an attacker cannot line fragment
 * keys up on one chain without seeing the seed.  For IPv6 the protocol is
 * not part of the key: RFC 8200 §4.5 identifies a packet by source,
 * destination and Identification alone, and only the offset-0 fragment's
 * Next Header counts.
 *
 * Invariants:
 *   - every datagram is on exactly one hash chain (its `bucket`) and on the
 *     age list; `count` is the number of datagrams;
 *   - the age list runs oldest to newest in insertion order, which is
 *     first-fragment order as capture time only moves forward;
 *   - a datagram's pieces are sorted by offset, never overlap, never are
 *     empty, and `held` is the sum of their lengths;
 *   - once the last fragment is known, no piece ends past `total`, so
 *     held == total means the payload is complete;
 *   - bytes_held is the sum over datagrams of held + hdr_len (the copied
 *     first-fragment header counts as data held: it is attacker-sized for
 *     IPv6).  Per-piece bookkeeping overhead is not counted.
 */
#include "defrag.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "buf.h"
#include "mdm_limits.h"

#define IP_MAX_LEN   65535u
#define IPV4_HDR_MIN 20u
#define IPV4_HDR_MAX 60u
#define IPV6_HDR_LEN 40u
/* The rebuilt datagram: IPv4 fits in 65535 bytes, IPv6 adds its fixed
 * header to a 65535-byte payload length. */
#define DEFRAG_OUT_MAX (IPV6_HDR_LEN + IP_MAX_LEN)

/* IPv6 extension header numbers that may appear in the unfragmentable part. */
enum {
	NH_HOPOPTS = 0,
	NH_ROUTING = 43,
	NH_AH = 51,
	NH_DSTOPTS = 60,
};

struct key {
	uint8_t af;
	uint8_t proto; /* IPv4 only; 0 for IPv6 */
	uint32_t id;
	uint8_t src[16];
	uint8_t dst[16];
};

struct piece {
	struct piece *next;
	uint32_t off; /* in the fragmentable payload */
	uint32_t len;
	uint8_t data[];
};

struct dgram {
	struct dgram *hnext;
	struct dgram *older, *newer;
	uint32_t bucket;
	struct key key;
	uint64_t first_us;
	uint32_t nfrags;  /* fragments offered, duplicates included */
	uint32_t held;    /* payload bytes in pieces */
	uint32_t max_end; /* highest fragment end seen */
	uint32_t total;   /* payload length, once have_last */
	bool have_last;
	uint8_t next_proto; /* from the offset-0 fragment */
	uint8_t *hdr;       /* offset-0 fragment's header / unfragmentable part */
	size_t hdr_len;
	struct piece *pieces;
};

struct defrag {
	struct defrag_config cfg;
	struct defrag_stats stats;
	uint64_t seed;
	size_t bytes_held;
	uint32_t count;
	uint32_t nbuckets; /* a power of two */
	struct dgram **buckets;
	struct dgram *oldest, *newest;
	uint8_t out[DEFRAG_OUT_MAX];
};

struct overlap {
	bool any;
	bool differ;
};

void defrag_config_default(struct defrag_config *cfg)
{
	cfg->max_datagrams = LIMIT_FRAG_DATAGRAMS;
	cfg->max_bytes = LIMIT_FRAG_BYTES;
	cfg->max_frags_per_datagram = LIMIT_FRAG_PER_DATAGRAM;
	cfg->timeout_s = LIMIT_FRAG_TIMEOUT_S;
}

/* murmur3's 64-bit finaliser: every input bit reaches every output bit. */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

static uint32_t key_hash(const struct defrag *d, const struct key *k)
{
	uint64_t h = d->seed;
	uint64_t w;

	for (size_t i = 0; i < sizeof(k->src); i += sizeof(w)) {
		memcpy(&w, &k->src[i], sizeof(w));
		h = mix64(h ^ w);
		memcpy(&w, &k->dst[i], sizeof(w));
		h = mix64(h ^ w);
	}
	h = mix64(h ^ ((uint64_t)k->id | (uint64_t)k->af << 32 | (uint64_t)k->proto << 40));
	return (uint32_t)h & (d->nbuckets - 1);
}

static bool key_eq(const struct key *a, const struct key *b)
{
	return a->af == b->af && a->proto == b->proto && a->id == b->id &&
	       !memcmp(a->src, b->src, sizeof(a->src)) && !memcmp(a->dst, b->dst, sizeof(a->dst));
}

static void key_from_pkt(struct key *k, const struct pkt *pkt)
{
	memset(k, 0, sizeof(*k));
	k->af = pkt->af;
	k->proto = pkt->af == 4 ? pkt->frag.next_proto : 0;
	k->id = pkt->frag.id;
	memcpy(k->src, pkt->src, sizeof(k->src));
	memcpy(k->dst, pkt->dst, sizeof(k->dst));
}

static uint32_t config_or(uint32_t v, uint32_t dflt)
{
	return v ? v : dflt;
}

struct defrag *defrag_new(const struct defrag_config *cfg)
{
	struct defrag_config dflt;
	struct defrag *d;

	defrag_config_default(&dflt);
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	/* A zero cap would make every fragment an eviction: take the default. */
	d->cfg.max_datagrams = config_or(cfg ? cfg->max_datagrams : 0, dflt.max_datagrams);
	d->cfg.max_bytes = config_or(cfg ? cfg->max_bytes : 0, dflt.max_bytes);
	d->cfg.max_frags_per_datagram =
	    config_or(cfg ? cfg->max_frags_per_datagram : 0, dflt.max_frags_per_datagram);
	d->cfg.timeout_s = config_or(cfg ? cfg->timeout_s : 0, dflt.timeout_s);

	/* Load factor at most 1/2; 2^20 buckets is far above any sane cap. */
	d->nbuckets = 16;
	while (d->nbuckets < 2u * d->cfg.max_datagrams && d->nbuckets < (1u << 20))
		d->nbuckets <<= 1;
	d->buckets = calloc(d->nbuckets, sizeof(*d->buckets));
	if (!d->buckets) {
		free(d);
		return NULL;
	}
	/* Without entropy (very early boot) the heap address, randomised by
	 * ASLR, is still better than a fixed seed. */
	if (getrandom(&d->seed, sizeof(d->seed), GRND_NONBLOCK) != (ssize_t)sizeof(d->seed))
		d->seed = mix64((uint64_t)(uintptr_t)d ^ 0x9e3779b97f4a7c15ull);
	return d;
}

static void dgram_free(struct defrag *d, struct dgram *dg)
{
	struct dgram **link = &d->buckets[dg->bucket];

	while (*link != dg)
		link = &(*link)->hnext;
	*link = dg->hnext;

	if (dg->older)
		dg->older->newer = dg->newer;
	else
		d->oldest = dg->newer;
	if (dg->newer)
		dg->newer->older = dg->older;
	else
		d->newest = dg->older;

	for (struct piece *p = dg->pieces, *next; p; p = next) {
		next = p->next;
		free(p);
	}
	d->bytes_held -= dg->held + dg->hdr_len;
	d->count--;
	free(dg->hdr);
	free(dg);
}

void defrag_free(struct defrag *d)
{
	if (!d)
		return;
	while (d->oldest)
		dgram_free(d, d->oldest);
	free(d->buckets);
	free(d);
}

static struct dgram *dgram_find(const struct defrag *d, const struct key *k, uint32_t bucket)
{
	for (struct dgram *dg = d->buckets[bucket]; dg; dg = dg->hnext)
		if (key_eq(&dg->key, k))
			return dg;
	return NULL;
}

/* A new, empty datagram at the young end, evicting the oldest when full. */
static struct dgram *dgram_new(struct defrag *d, const struct key *k, uint32_t bucket,
                               uint64_t now_us)
{
	struct dgram *dg;

	while (d->count >= d->cfg.max_datagrams && d->oldest) {
		dgram_free(d, d->oldest);
		d->stats.evicted++;
	}
	dg = calloc(1, sizeof(*dg));
	if (!dg)
		return NULL;
	dg->key = *k;
	dg->bucket = bucket;
	dg->first_us = now_us;
	dg->hnext = d->buckets[bucket];
	d->buckets[bucket] = dg;
	dg->older = d->newest;
	if (d->newest)
		d->newest->newer = dg;
	else
		d->oldest = dg;
	d->newest = dg;
	d->count++;
	return dg;
}

/*
 * Evicts the oldest other datagrams until `need` more bytes fit.  `need` is
 * an upper bound (overlapping bytes are not stored again), which errs on
 * the side of staying under the cap.
 */
static bool make_room(struct defrag *d, const struct dgram *keep, size_t need)
{
	while (d->bytes_held + need > d->cfg.max_bytes) {
		struct dgram *victim = d->oldest == keep ? keep->newer : d->oldest;

		if (!victim)
			return false;
		dgram_free(d, victim);
		d->stats.evicted++;
	}
	return true;
}

/*
 * What can be said about a fragment on its own.  The decoder guarantees
 * most of this; a hand-made pkt must not break the table's invariants.
 */
static enum anomaly frag_check(const struct pkt *pkt)
{
	size_t len = pkt->frag.data_len;

	if (!pkt->frag.hdr || (pkt->af != 4 && pkt->af != 6))
		return ANOMALY_FRAG_BAD_LENGTH;
	if (pkt->af == 4 && (pkt->frag.hdr_len < IPV4_HDR_MIN || pkt->frag.hdr_len > IPV4_HDR_MAX))
		return ANOMALY_FRAG_BAD_LENGTH;
	if (pkt->af == 6 && pkt->frag.hdr_len < IPV6_HDR_LEN)
		return ANOMALY_FRAG_BAD_LENGTH;
	/* Only the last fragment may end off an 8-byte boundary (RFC 791
	 * §3.2, RFC 8200 §4.5); offset 0 without M is not a fragment. */
	if (pkt->frag.more && (len == 0 || len % 8))
		return ANOMALY_FRAG_BAD_LENGTH;
	if (!pkt->frag.more && pkt->frag.offset == 0)
		return ANOMALY_FRAG_BAD_LENGTH;
	if ((uint64_t)pkt->frag.offset + len > IP_MAX_LEN)
		return ANOMALY_FRAG_TOO_LARGE;
	/* Cut by the snap length: the datagram could only be rebuilt with a
	 * hole or a short tail that the IP lengths would contradict. */
	if (pkt->wire_len > len)
		return ANOMALY_IP_TRUNCATED;
	return ANOMALY_NONE;
}

/* Records where the datagram ends; the end may be learnt only once. */
static enum anomaly dgram_set_end(struct dgram *dg, const struct pkt *pkt)
{
	uint32_t end = pkt->frag.offset + (uint32_t)pkt->frag.data_len;

	if (!pkt->frag.more) {
		if (dg->have_last ? end != dg->total : end < dg->max_end)
			return ANOMALY_FRAG_BAD_LENGTH;
		dg->have_last = true;
		dg->total = end;
	} else if (dg->have_last && end > dg->total) {
		return ANOMALY_FRAG_BAD_LENGTH;
	}
	if (end > dg->max_end)
		dg->max_end = end;
	return ANOMALY_NONE;
}

static int dgram_set_hdr(struct defrag *d, struct dgram *dg, const struct pkt *pkt)
{
	struct buf src = buf_init(pkt->frag.hdr, pkt->frag.hdr_len);

	dg->hdr = malloc(pkt->frag.hdr_len);
	if (!dg->hdr)
		return -ENOMEM;
	buf_copy(&src, dg->hdr, pkt->frag.hdr_len);
	dg->hdr_len = pkt->frag.hdr_len;
	dg->next_proto = pkt->frag.next_proto;
	d->bytes_held += dg->hdr_len;
	return 0;
}

/* Copies the next `len` bytes of `src` into a new piece at offset `off`. */
static struct piece *piece_new(struct buf *src, uint32_t off, uint32_t len)
{
	struct piece *p = malloc(sizeof(*p) + len);

	if (!p)
		return NULL;
	p->next = NULL;
	p->off = off;
	p->len = len;
	buf_copy(src, p->data, len);
	return p;
}

/*
 * Fills the holes in [off, off + left(src)) with the fragment's bytes and
 * compares the rest with what is already held (first data wins).
 */
static int dgram_insert(struct defrag *d, struct dgram *dg, uint32_t off, struct buf *src,
                        struct overlap *ov)
{
	uint32_t end = off + (uint32_t)buf_left(src);
	uint32_t pos = off;
	struct piece **link = &dg->pieces;

	while (pos < end) {
		struct piece *p = *link;

		if (p && p->off + p->len <= pos) {
			link = &p->next;
			continue;
		}
		uint32_t hole_end = p && p->off < end ? p->off : end;
		if (pos < hole_end) {
			struct piece *n = piece_new(src, pos, hole_end - pos);
			if (!n)
				return -ENOMEM;
			n->next = p;
			*link = n;
			link = &n->next;
			dg->held += n->len;
			d->bytes_held += n->len;
			pos = hole_end;
			continue;
		}
		/* p->off <= pos < p->off + p->len: bytes already held. */
		uint32_t ov_end = p->off + p->len < end ? p->off + p->len : end;
		const uint8_t *mine = buf_take(src, ov_end - pos);
		ov->any = true;
		if (memcmp(mine, &p->data[pos - p->off], ov_end - pos))
			ov->differ = true;
		pos = ov_end;
		link = &p->next;
	}
	return 0;
}

static bool dgram_complete(const struct dgram *dg)
{
	return dg->have_last && dg->hdr && dg->held == dg->total;
}

/* RFC 1071 checksum over our own copy of the header. */
static uint16_t ipv4_checksum(const uint8_t *h, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)h[i] << 8 | h[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/*
 * Offset of the Next Header field that names the fragment header: the
 * fixed header's (6) or the last extension header's in the unfragmentable
 * part.  The part was copied from a packet, so it is read with the cursor.
 */
static bool ipv6_last_nh(const uint8_t *hdr, size_t len, size_t *ret_at)
{
	struct buf b = buf_init(hdr, len);
	size_t at = 6;

	buf_skip(&b, 6);
	uint8_t nh = buf_u8(&b);
	buf_skip(&b, IPV6_HDR_LEN - 7);
	while (buf_ok(&b) && buf_left(&b) > 0) {
		if (nh != NH_HOPOPTS && nh != NH_ROUTING && nh != NH_DSTOPTS && nh != NH_AH)
			return false;
		at = buf_offset(&b);
		uint8_t next = buf_u8(&b);
		size_t units = buf_u8(&b);
		buf_skip(&b, (nh == NH_AH ? (units + 2) * 4 : (units + 1) * 8) - 2);
		nh = next;
	}
	if (!buf_ok(&b))
		return false;
	*ret_at = at;
	return true;
}

static void put_be16(uint8_t *p, size_t len)
{
	p[0] = (uint8_t)(len >> 8);
	p[1] = (uint8_t)len;
}

/*
 * Rebuilds the datagram into d->out:
 *   IPv4: first fragment's header (options included), total length set,
 *         MF and offset cleared (DF and the reserved bit kept), checksum
 *         recomputed;
 *   IPv6: unfragmentable part with Payload Length set and the fragment
 *         header's Next Header moved into the header that named it.
 */
static enum anomaly dgram_rebuild(struct defrag *d, const struct dgram *dg, size_t *ret_len)
{
	size_t len = dg->hdr_len + dg->total;
	size_t nh_at = 0;

	if (dg->key.af == 4 ? len > IP_MAX_LEN : len - IPV6_HDR_LEN > IP_MAX_LEN)
		return ANOMALY_FRAG_TOO_LARGE;
	if (dg->key.af == 6 && !ipv6_last_nh(dg->hdr, dg->hdr_len, &nh_at))
		return ANOMALY_FRAG_BAD_LENGTH;

	memcpy(d->out, dg->hdr, dg->hdr_len);
	for (const struct piece *p = dg->pieces; p; p = p->next)
		memcpy(&d->out[dg->hdr_len + p->off], p->data, p->len);

	if (dg->key.af == 4) {
		put_be16(&d->out[2], len);
		d->out[6] &= 0xc0; /* keep reserved and DF, clear MF and offset */
		d->out[7] = 0;
		put_be16(&d->out[10], 0);
		put_be16(&d->out[10], ipv4_checksum(d->out, dg->hdr_len));
	} else {
		put_be16(&d->out[4], len - IPV6_HDR_LEN);
		d->out[nh_at] = dg->next_proto;
	}
	*ret_len = len;
	return ANOMALY_NONE;
}

/*
 * Files the fragment into its datagram (created if new).  Returns
 * ANOMALY_NONE when it was stored, or why the datagram must go.
 */
static enum anomaly dgram_add(struct defrag *d, struct dgram *dg, const struct pkt *pkt,
                              struct overlap *ov)
{
	enum anomaly why;
	size_t need = pkt->frag.data_len;
	bool first = pkt->frag.offset == 0 && !dg->hdr;

	if (++dg->nfrags > d->cfg.max_frags_per_datagram)
		return ANOMALY_FRAG_TOO_MANY;
	why = dgram_set_end(dg, pkt);
	if (why != ANOMALY_NONE)
		return why;
	if (first)
		need += pkt->frag.hdr_len;
	if (!make_room(d, dg, need))
		return ANOMALY_FRAG_MEMCAP;
	if (first && dgram_set_hdr(d, dg, pkt) < 0)
		return ANOMALY_FRAG_MEMCAP;

	struct buf src = buf_init(pkt->frag.data, pkt->frag.data_len);
	if (dgram_insert(d, dg, pkt->frag.offset, &src, ov) < 0)
		return ANOMALY_FRAG_MEMCAP;
	return ANOMALY_NONE;
}

enum defrag_result defrag_add(struct defrag *d, const struct pkt *pkt, const uint8_t **ret_ip,
                              size_t *ret_len, enum anomaly *ret_anomaly)
{
	struct overlap ov = {false, false};
	struct dgram *dg;
	struct key k;
	enum anomaly why;
	size_t len;

	*ret_anomaly = ANOMALY_NONE;
	d->stats.fragments++;
	defrag_expire(d, pkt->ts_us);

	key_from_pkt(&k, pkt);
	uint32_t bucket = key_hash(d, &k);
	dg = dgram_find(d, &k, bucket);

	why = frag_check(pkt);
	if (why != ANOMALY_NONE)
		goto drop;
	if (!dg)
		dg = dgram_new(d, &k, bucket, pkt->ts_us);
	if (!dg) {
		why = ANOMALY_FRAG_MEMCAP;
		goto drop;
	}
	why = dgram_add(d, dg, pkt, &ov);
	if (why != ANOMALY_NONE)
		goto drop;
	if (ov.any) {
		d->stats.overlaps++;
		*ret_anomaly = ov.differ ? ANOMALY_FRAG_OVERLAP_DIFFERENT : ANOMALY_FRAG_OVERLAP;
	}
	if (!dgram_complete(dg))
		return DEFRAG_HELD;
	why = dgram_rebuild(d, dg, &len);
	if (why != ANOMALY_NONE)
		goto drop;
	dgram_free(d, dg);
	d->stats.reassembled++;
	*ret_ip = d->out;
	*ret_len = len;
	return DEFRAG_COMPLETE;

drop:
	/* Linux likewise discards the whole queue on an inconsistent
	 * fragment; keeping half a datagram would only feed a timeout. */
	if (dg)
		dgram_free(d, dg);
	if (why == ANOMALY_FRAG_MEMCAP)
		d->stats.evicted++;
	else
		d->stats.dropped++;
	*ret_anomaly = why;
	return DEFRAG_DROPPED;
}

void defrag_expire(struct defrag *d, uint64_t now_us)
{
	uint64_t timeout_us = (uint64_t)d->cfg.timeout_s * 1000000u;

	/* Stops at a datagram from the "future": capture time that jumps
	 * backwards must not flush the table. */
	while (d->oldest && now_us >= d->oldest->first_us &&
	       now_us - d->oldest->first_us > timeout_us) {
		dgram_free(d, d->oldest);
		d->stats.timeouts++;
	}
}

const struct defrag_stats *defrag_stats(const struct defrag *d)
{
	return &d->stats;
}

size_t defrag_bytes_held(const struct defrag *d)
{
	return d->bytes_held;
}
