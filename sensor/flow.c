/*
 * flow.c — the flow table: the contract is in flow.h, this is how it is kept.
 *
 * References: RFC 9293 §3.5 (SYN, SYN+ACK, FIN, RST: roles and the three
 * states); RFC 6335 §6 (ports below 1024 are the system ports servers
 * listen on).  The shape follows Suricata's flow hash and flow manager —
 * chained buckets under a seeded hash, per-state idle timeouts — reduced to
 * one thread and intrusive lists.
 *
 *   buckets[hash & mask] -> flow -> flow -> NULL          hnext, any order
 *   age[AGE_x]: head (idle longest) <-> ... <-> tail      aprev / anext
 *   free:       block -> block -> NULL                    hnext reused
 *
 *   one malloc block per flow, never freed before flow_table_free():
 *   +---------------+-----------------------+------------------+
 *   | struct flow   | pad to max_align_t    | ext_size bytes   |
 *   +---------------+-----------------------+------------------+
 *
 * Invariants (on top of flow.h's):
 *   - stats.active + blocks on the free list == allocated <= max_flows;
 *   - a live flow is on chain buckets[hash & mask] and on the age list
 *     age_of() names, and nowhere else; a free block is on neither;
 *   - last_us is only ever set to the clock, and the clock never goes back,
 *     so on every age list last_us never decreases from head to tail: the
 *     head is the flow idle longest, and expiry stops at the first live head;
 *   - last_us <= clock for every flow, so clock - last_us never wraps.
 *
 * flow.h speaks of three lists; there are four, because UDP flows are
 * established from the start but idle out after timeout_udp_s, and a list
 * that mixed two timeouts could not be expired from its head.  For eviction
 * UDP counts as established (the older of the two heads goes).
 *
 * The hash is a seeded multiply-xorshift, not a keyed PRF like SipHash: it
 * is chosen for speed, and the per-table seed from getrandom(2) is what
 * keeps an attacker from precomputing tuples that share one chain.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "flow.h"
#include "mdm_limits.h"

/* TCP header flag bits (RFC 9293 §3.1), as decode.h stores them. */
enum {
	TCPF_FIN = 0x01,
	TCPF_SYN = 0x02,
	TCPF_RST = 0x04,
	TCPF_ACK = 0x10,
};

/* The struct flow part of a block, rounded up so that flow_ext() is aligned
 * for any type, as malloc()'s own result is. */
#define FLOW_HDR_SIZE                                                                              \
	((sizeof(struct flow) + alignof(max_align_t) - 1) / alignof(max_align_t) *                 \
	 alignof(max_align_t))

/* Bucket array cap: 2^22 pointers is 32 MiB.  Beyond that many flows the
 * blocks themselves (>= 200 bytes each) dwarf it, and a load factor above
 * one under a seeded hash still keeps chains a few entries long. */
#define FLOW_BUCKETS_MAX (1u << 22)

/* flow_packet() sweeps the age lists at most once per second of capture
 * time; a flow that idled out in between is caught when it is looked up. */
#define FLOW_SWEEP_INTERVAL_US 1000000u

#define US_PER_S 1000000u

enum age {
	AGE_EMBRYONIC,
	AGE_ESTABLISHED, /* TCP */
	AGE_CLOSED,
	AGE_UDP,
	AGE__N,
};

struct age_list {
	struct flow *head, *tail;
	uint64_t timeout_us;
};

struct flow_table {
	struct flow_config cfg;
	struct flow **buckets;
	uint32_t mask;
	uint64_t seed;

	struct age_list age[AGE__N];
	struct flow *free;
	uint32_t allocated;
	size_t block_size;

	uint64_t clock_us;
	uint64_t last_sweep_us;
	uint64_t next_id;
	struct flow_stats stats;
};

void flow_config_default(struct flow_config *cfg)
{
	*cfg = (struct flow_config){
	    .max_flows = LIMIT_FLOWS,
	    .timeout_embryonic_s = LIMIT_TIMEOUT_EMBRYONIC_S,
	    .timeout_established_s = LIMIT_TIMEOUT_ESTABLISHED_S,
	    .timeout_closed_s = LIMIT_TIMEOUT_CLOSED_S,
	    .timeout_udp_s = LIMIT_TIMEOUT_UDP_S,
	};
}

static size_t addr_len(uint8_t af)
{
	return af == 6 ? 16 : 4;
}

/*
 * Hashing.
 */

static uint64_t hash_mix(uint64_t h, uint64_t w)
{
	h ^= w;
	h *= 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 32);
}

/* splitmix64's finalizer: every input bit reaches every output bit, so the
 * low bits that pick the bucket depend on the whole key. */
static uint64_t hash_final(uint64_t h)
{
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	return h ^ (h >> 31);
}

/* Hashes the canonical tuple — lower {addr, port} first — so that both
 * directions of a flow land in the same bucket. */
static uint32_t tuple_hash(const struct flow_table *t, const struct pkt *p)
{
	size_t alen = addr_len(p->af);
	int c = memcmp(p->src, p->dst, alen);
	bool swap = c > 0 || (c == 0 && p->sport > p->dport);
	uint64_t w[4] = {0};
	uint16_t lo_port = swap ? p->dport : p->sport;
	uint16_t hi_port = swap ? p->sport : p->dport;

	memcpy(&w[0], swap ? p->dst : p->src, alen);
	memcpy(&w[2], swap ? p->src : p->dst, alen);

	uint64_t h = t->seed;
	for (size_t i = 0; i < 4; i++)
		h = hash_mix(h, w[i]);
	h = hash_mix(h, (uint64_t)lo_port << 48 | (uint64_t)hi_port << 32 | (uint64_t)p->af << 8 |
	                    p->ip_proto);
	return (uint32_t)hash_final(h);
}

static uint64_t random_seed(const void *salt)
{
	uint64_t s;

	if (getrandom(&s, sizeof(s), GRND_NONBLOCK) == (ssize_t)sizeof(s))
		return s;
	/* The pool is not ready yet (early boot): a clock and a heap address
	 * are guessable with effort, but at least not a constant. */
	struct timespec ts = {0};
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return hash_final((uint64_t)ts.tv_sec << 32 ^ (uint64_t)ts.tv_nsec ^
	                  (uint64_t)(uintptr_t)salt);
}

static uint32_t bucket_count(uint32_t max_flows)
{
	uint32_t n = 1;

	while (n < max_flows && n < FLOW_BUCKETS_MAX)
		n <<= 1;
	return n;
}

/*
 * Hash chains and age lists.
 */

static void hash_insert(struct flow_table *t, struct flow *f)
{
	struct flow **head = &t->buckets[f->hash & t->mask];

	f->hnext = *head;
	*head = f;
}

static void hash_remove(struct flow_table *t, struct flow *f)
{
	struct flow **pp = &t->buckets[f->hash & t->mask];

	while (*pp != f)
		pp = &(*pp)->hnext;
	*pp = f->hnext;
	f->hnext = NULL;
}

static enum age age_of(const struct flow *f)
{
	if (f->proto == IPPROTO_UDP)
		return AGE_UDP;
	switch (f->state) {
	case FLOW_EMBRYONIC:
		return AGE_EMBRYONIC;
	case FLOW_CLOSED:
		return AGE_CLOSED;
	case FLOW_ESTABLISHED:
	case FLOW__NSTATES:
		break;
	}
	return AGE_ESTABLISHED;
}

static void age_append(struct flow_table *t, struct flow *f)
{
	struct age_list *l = &t->age[age_of(f)];

	f->anext = NULL;
	f->aprev = l->tail;
	if (l->tail)
		l->tail->anext = f;
	else
		l->head = f;
	l->tail = f;
}

static void age_remove(struct flow_table *t, struct flow *f)
{
	struct age_list *l = &t->age[age_of(f)];

	if (f->aprev)
		f->aprev->anext = f->anext;
	else
		l->head = f->anext;
	if (f->anext)
		f->anext->aprev = f->aprev;
	else
		l->tail = f->aprev;
	f->aprev = f->anext = NULL;
}

static bool expired(const struct flow_table *t, const struct flow *f)
{
	return t->clock_us - f->last_us > t->age[age_of(f)].timeout_us;
}

/*
 * Ending flows.
 */

/* Runs the end callback while the flow is still whole, then unlinks it and
 * returns its block to the free list. */
static void end_flow(struct flow_table *t, struct flow *f, enum flow_end_reason why)
{
	if (t->cfg.end)
		t->cfg.end(t->cfg.ctx, f, why);
	hash_remove(t, f);
	age_remove(t, f);
	f->hnext = t->free;
	t->free = f;
	t->stats.active--;
}

static void sweep(struct flow_table *t)
{
	for (size_t a = 0; a < AGE__N; a++) {
		struct flow *f;

		while ((f = t->age[a].head) && expired(t, f)) {
			end_flow(t, f, FLOW_END_TIMEOUT);
			t->stats.ended_timeout++;
		}
	}
	t->last_sweep_us = t->clock_us;
}

/* flow.h's policy: oldest embryonic (likely a scan or a SYN flood), else
 * oldest closed (done anyway), else the established flow idle longest. */
static void evict_one(struct flow_table *t)
{
	struct flow *v = t->age[AGE_EMBRYONIC].head;

	if (!v)
		v = t->age[AGE_CLOSED].head;
	if (!v) {
		struct flow *tcp = t->age[AGE_ESTABLISHED].head;
		struct flow *udp = t->age[AGE_UDP].head;

		v = !udp || (tcp && tcp->last_us <= udp->last_us) ? tcp : udp;
	}
	if (!v)
		return;
	end_flow(t, v, FLOW_END_EVICTED);
	t->stats.evicted++;
}

/*
 * Creating and accounting.
 */

/* A block for a new flow: recycled, else malloc'ed while fewer than
 * max_flows exist, else taken from a live flow by eviction.  When malloc
 * fails the table also evicts, so it keeps working at the size it reached;
 * NULL only when it is empty and malloc fails. */
static struct flow *flow_alloc(struct flow_table *t)
{
	if (t->stats.active >= t->cfg.max_flows) {
		/* The throttled sweep may have left idle flows that should go
		 * before a live one is evicted. */
		sweep(t);
		if (t->stats.active >= t->cfg.max_flows)
			evict_one(t);
	}
	if (!t->free && t->allocated < t->cfg.max_flows) {
		struct flow *b = malloc(t->block_size);

		if (b) {
			b->hnext = NULL;
			t->free = b;
			t->allocated++;
		}
	}
	if (!t->free)
		evict_one(t);

	struct flow *f = t->free;
	if (f)
		t->free = f->hnext;
	return f;
}

/* The packet's sender's role: 0 client, 1 server (flow.h). */
static int sender_role(const struct pkt *p)
{
	if (p->ip_proto == IPPROTO_TCP && (p->tcp_flags & TCPF_SYN))
		return (p->tcp_flags & TCPF_ACK) ? 1 : 0;

	/* Exchange front ends and the proxies before them also listen on the
	 * web alternates above 1023. */
	bool s_srv = p->sport < 1024 || p->sport == 8080 || p->sport == 8443;
	bool d_srv = p->dport < 1024 || p->dport == 8080 || p->dport == 8443;

	if (s_srv != d_srv)
		return s_srv ? 1 : 0;
	if (p->sport != p->dport)
		return p->sport < p->dport ? 1 : 0;
	return 0;
}

static struct flow *flow_create(struct flow_table *t, const struct pkt *p, uint32_t h, int *ret_dir)
{
	struct flow *f = flow_alloc(t);
	if (!f)
		return NULL;

	memset(f, 0, t->block_size);
	int dir = sender_role(p);
	size_t alen = addr_len(p->af);

	f->af = p->af;
	f->proto = p->ip_proto;
	memcpy(f->addr[dir], p->src, alen);
	memcpy(f->addr[!dir], p->dst, alen);
	f->port[dir] = p->sport;
	f->port[!dir] = p->dport;
	/* Not part of the key (flow.h): the first packet's tag is kept. */
	f->vlan = p->vlan;
	f->state = p->ip_proto == IPPROTO_UDP ? FLOW_ESTABLISHED : FLOW_EMBRYONIC;
	f->picked_up_midstream = p->ip_proto == IPPROTO_TCP && !(p->tcp_flags & TCPF_SYN);
	f->first_us = f->last_us = t->clock_us;
	f->id = ++t->next_id;
	f->hash = h;
	hash_insert(t, f);
	age_append(t, f);

	t->stats.created++;
	if (f->picked_up_midstream)
		t->stats.midstream++;
	if (++t->stats.active > t->stats.active_max)
		t->stats.active_max = t->stats.active;
	*ret_dir = dir;
	return f;
}

/* TCP state after this packet's flags were ORed in.  CLOSED is final: a
 * packet after a RST or the last FIN only keeps the flow from idling out. */
static enum flow_state tcp_next_state(const struct flow *f, const struct pkt *p)
{
	if (f->state == FLOW_CLOSED || (p->tcp_flags & TCPF_RST) ||
	    (f->flags_seen[0] & f->flags_seen[1] & TCPF_FIN))
		return FLOW_CLOSED;
	if (f->state == FLOW_EMBRYONIC &&
	    ((f->pkts[0] && f->pkts[1]) || (f->picked_up_midstream && p->wire_len)))
		return FLOW_ESTABLISHED;
	return f->state;
}

static void flow_account(struct flow_table *t, struct flow *f, const struct pkt *p, int dir)
{
	/* Off its list first: a state change moves it to another list. */
	age_remove(t, f);
	f->pkts[dir]++;
	f->bytes[dir] += p->wire_len;
	if (f->proto == IPPROTO_TCP) {
		f->flags_seen[dir] |= p->tcp_flags;
		f->state = tcp_next_state(f, p);
	}
	f->last_us = t->clock_us;
	age_append(t, f);
}

static bool endpoint_is(const struct flow *f, int role, const uint8_t *addr, uint16_t port,
                        size_t alen)
{
	return f->port[role] == port && memcmp(f->addr[role], addr, alen) == 0;
}

static struct flow *lookup(const struct flow_table *t, const struct pkt *p, uint32_t h,
                           int *ret_dir)
{
	size_t alen = addr_len(p->af);

	for (struct flow *f = t->buckets[h & t->mask]; f; f = f->hnext) {
		if (f->hash != h || f->af != p->af || f->proto != p->ip_proto)
			continue;
		if (endpoint_is(f, 0, p->src, p->sport, alen) &&
		    endpoint_is(f, 1, p->dst, p->dport, alen)) {
			*ret_dir = 0;
			return f;
		}
		if (endpoint_is(f, 1, p->src, p->sport, alen) &&
		    endpoint_is(f, 0, p->dst, p->dport, alen)) {
			*ret_dir = 1;
			return f;
		}
	}
	return NULL;
}

/*
 * The API.
 */

struct flow_table *flow_table_new(const struct flow_config *cfg)
{
	if (!cfg || cfg->max_flows == 0 || cfg->ext_size > SIZE_MAX - FLOW_HDR_SIZE) {
		errno = EINVAL;
		return NULL;
	}

	struct flow_table *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	uint32_t nb = bucket_count(cfg->max_flows);
	t->buckets = calloc(nb, sizeof(*t->buckets));
	if (!t->buckets) {
		free(t);
		return NULL;
	}

	t->cfg = *cfg;
	t->mask = nb - 1;
	t->seed = random_seed(t);
	t->block_size = FLOW_HDR_SIZE + cfg->ext_size;
	t->age[AGE_EMBRYONIC].timeout_us = (uint64_t)cfg->timeout_embryonic_s * US_PER_S;
	t->age[AGE_ESTABLISHED].timeout_us = (uint64_t)cfg->timeout_established_s * US_PER_S;
	t->age[AGE_CLOSED].timeout_us = (uint64_t)cfg->timeout_closed_s * US_PER_S;
	t->age[AGE_UDP].timeout_us = (uint64_t)cfg->timeout_udp_s * US_PER_S;
	return t;
}

void flow_table_free(struct flow_table *t)
{
	if (!t)
		return;

	for (size_t a = 0; a < AGE__N; a++)
		while (t->age[a].head)
			end_flow(t, t->age[a].head, FLOW_END_SHUTDOWN);
	while (t->free) {
		struct flow *f = t->free;

		t->free = f->hnext;
		free(f);
	}
	free(t->buckets);
	free(t);
}

struct flow *flow_packet(struct flow_table *t, const struct pkt *p, int *ret_dir, bool *ret_created)
{
	/* decode.c hands over af 4 or 6 only; anything else is not a tuple
	 * this table could key. */
	if ((p->ip_proto != IPPROTO_TCP && p->ip_proto != IPPROTO_UDP) ||
	    (p->af != 4 && p->af != 6))
		return NULL;

	if (p->ts_us > t->clock_us)
		t->clock_us = p->ts_us;
	if (t->clock_us - t->last_sweep_us >= FLOW_SWEEP_INTERVAL_US)
		sweep(t);

	uint32_t h = tuple_hash(t, p);
	int dir = 0;
	bool created = false;
	struct flow *f = lookup(t, p, h, &dir);

	/* Idled out since the last sweep: the packet starts a new flow, as it
	 * would have had the sweep run. */
	if (f && expired(t, f)) {
		end_flow(t, f, FLOW_END_TIMEOUT);
		t->stats.ended_timeout++;
		f = NULL;
	}
	/* A new SYN on a closed connection is the client reusing its port: a
	 * new connection, with its own identity and streams. */
	if (f && f->state == FLOW_CLOSED && p->ip_proto == IPPROTO_TCP &&
	    (p->tcp_flags & (TCPF_SYN | TCPF_ACK)) == TCPF_SYN) {
		end_flow(t, f, FLOW_END_REUSED);
		t->stats.reused++;
		f = NULL;
	}
	if (!f) {
		f = flow_create(t, p, h, &dir);
		if (!f)
			return NULL;
		created = true;
	}
	flow_account(t, f, p, dir);

	if (ret_dir)
		*ret_dir = dir;
	if (ret_created)
		*ret_created = created;
	return f;
}

void flow_end(struct flow_table *t, struct flow *f)
{
	end_flow(t, f, FLOW_END_CALLER);
}

void flow_expire(struct flow_table *t, uint64_t now_us)
{
	if (now_us > t->clock_us)
		t->clock_us = now_us;
	sweep(t);
}

void *flow_ext(struct flow *f)
{
	return (unsigned char *)f + FLOW_HDR_SIZE;
}

const struct flow_stats *flow_table_stats(const struct flow_table *t)
{
	return &t->stats;
}
