/*
 * flow.h — the flow table: bidirectional 5-tuples, roles, timeouts, a cap.
 *
 * A flow is keyed by (af, protocol, {addr,port} x 2) in canonical order, so
 * both directions find the same entry.  Each flow knows which side is the
 * client: the sender of a SYN without ACK; the receiver of a SYN+ACK; on
 * mid-stream pickup (or UDP) the port heuristic decides — a port below 1024,
 * or one of the usual web ports (80, 443, 8080, 8443), is the server; else
 * the lower port; else the first sender is the client.
 *
 * Direction numbers everywhere in mdmwatch: 0 = client to server,
 * 1 = server to client.
 *
 * Time is capture time (microseconds): the table's clock is the largest
 * timestamp it has seen, so out-of-order files never move it backwards.
 * Flows live on one of three age lists by state — embryonic (no answer
 * yet), established, closed (FIN both ways, or RST) — each ordered by last
 * activity, so expiry is a walk from the head.  When the table is full, a
 * new flow evicts the oldest embryonic flow, else the oldest closed, else
 * the least recently active established flow.
 *
 * Every flow carries `ext_size` bytes of caller state (flow_ext()), zeroed
 * when the flow is created; the table never looks inside it.  The `end`
 * callback runs exactly once per flow (timeout, eviction, flow_table_free,
 * or flow_end) before its memory is reused; the flow must not be touched
 * after it returns.
 *
 * Invariants: count <= max_flows; every live flow is on exactly one age list
 * and one hash chain; no memory is allocated per packet (flows come from a
 * free list that grows to max_flows at most).
 */
#ifndef MDM_FLOW_H
#define MDM_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode.h"

enum flow_state {
	FLOW_EMBRYONIC,
	FLOW_ESTABLISHED,
	FLOW_CLOSED,
	FLOW__NSTATES,
};

enum flow_end_reason {
	FLOW_END_TIMEOUT,
	FLOW_END_EVICTED,
	FLOW_END_SHUTDOWN, /* flow_table_free() at the end of the run */
	FLOW_END_CALLER,   /* flow_end() */
	FLOW_END_REUSED,   /* a new SYN on a closed flow (client port reuse) */
};

struct flow {
	/* Endpoints by role: [0] client, [1] server. */
	uint8_t af;
	uint8_t proto;
	uint8_t addr[2][16];
	uint16_t port[2];
	uint16_t vlan;

	enum flow_state state;
	uint64_t first_us, last_us;
	uint64_t pkts[2];
	uint64_t bytes[2];        /* transport payload bytes on the wire, per direction */
	uint8_t flags_seen[2];    /* TCP flags ORed, per direction */
	bool picked_up_midstream; /* no SYN seen when the flow was created */
	uint64_t id;              /* unique in the run, increasing with creation */

	/* Private to flow.c. */
	struct flow *hnext;
	struct flow *aprev, *anext;
	uint32_t hash;
};

struct flow_config {
	uint32_t max_flows;
	uint32_t timeout_embryonic_s;
	uint32_t timeout_established_s;
	uint32_t timeout_closed_s;
	uint32_t timeout_udp_s;
	size_t ext_size; /* caller bytes per flow, see flow_ext() */
	/* Called once per flow when it ends; may not call back into the table. */
	void (*end)(void *ctx, struct flow *f, enum flow_end_reason why);
	void *ctx;
};

struct flow_stats {
	uint64_t created;
	uint64_t ended_timeout;
	uint64_t evicted;   /* cap hit */
	uint64_t midstream; /* created without a SYN */
	uint64_t reused;    /* closed flows ended by a new SYN on the same tuple */
	uint32_t active;
	uint32_t active_max;
};

struct flow_table;

/* Defaults from mdm_limits.h; ext_size, end and ctx zeroed. */
void flow_config_default(struct flow_config *cfg);

struct flow_table *flow_table_new(const struct flow_config *cfg);
/* Ends every live flow with FLOW_END_SHUTDOWN, then frees.  Accepts NULL. */
void flow_table_free(struct flow_table *t);

/*
 * Finds or creates the flow of a decoded TCP or UDP packet and accounts the
 * packet to it (counters, flags, state, age list).  *ret_dir gets the
 * packet's direction (0 client->server, 1 server->client), *ret_created
 * whether this packet created the flow.  Returns NULL only for packets that
 * are not TCP/UDP over IPv4/IPv6, or when the table holds no flow and
 * malloc fails (with flows live, a failed malloc evicts one instead).
 * Timeouts are applied first, so the returned flow is live.
 */
struct flow *flow_packet(struct flow_table *t, const struct pkt *p, int *ret_dir,
                         bool *ret_created);

/* Ends a flow now (the end callback runs with FLOW_END_CALLER). */
void flow_end(struct flow_table *t, struct flow *f);

/* Applies timeouts at capture time now_us (also done by flow_packet()). */
void flow_expire(struct flow_table *t, uint64_t now_us);

/* The caller's state of a flow: ext_size bytes, aligned for any type. */
void *flow_ext(struct flow *f);

const struct flow_stats *flow_table_stats(const struct flow_table *t);

#endif /* MDM_FLOW_H */
