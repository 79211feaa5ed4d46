/*
 * test_flow.c — unit tests for sensor/flow.c against the contract in flow.h.
 *
 * Packets are built by hand as decode.c would leave them: IPv4 addresses in
 * the first 4 bytes with the rest zero, timestamps in microseconds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "mdm_limits.h"

#define FIN 0x01
#define SYN 0x02
#define RST 0x04
#define ACK 0x10

#define S(x) ((uint64_t)(x)*1000000u)

#define CLIENT 0x0a000001u /* 10.0.0.1 */
#define SERVER 0x0a000002u /* 10.0.0.2 */

static struct pkt mk4(uint8_t proto, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
                      uint8_t flags, uint64_t ts_us)
{
	struct pkt p = {
	    .ts_us = ts_us,
	    .af = 4,
	    .ip_proto = proto,
	    .sport = sport,
	    .dport = dport,
	    .tcp_flags = proto == IPPROTO_TCP ? flags : 0,
	};

	for (int i = 0; i < 4; i++) {
		p.src[i] = (uint8_t)(src >> (24 - 8 * i));
		p.dst[i] = (uint8_t)(dst >> (24 - 8 * i));
	}
	return p;
}

static struct pkt tcp4(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, uint8_t flags,
                       uint64_t ts_us)
{
	return mk4(IPPROTO_TCP, src, sport, dst, dport, flags, ts_us);
}

static struct pkt udp4(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, uint64_t ts_us)
{
	return mk4(IPPROTO_UDP, src, sport, dst, dport, 0, ts_us);
}

/* 2001:db8::<low 32 bits of host>. */
static struct pkt tcp6(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, uint8_t flags,
                       uint64_t ts_us)
{
	struct pkt p = tcp4(0, sport, 0, dport, flags, ts_us);

	p.af = 6;
	p.src[0] = p.dst[0] = 0x20;
	p.src[1] = p.dst[1] = 0x01;
	p.src[2] = p.dst[2] = 0x0d;
	p.src[3] = p.dst[3] = 0xb8;
	for (int i = 0; i < 4; i++) {
		p.src[12 + i] = (uint8_t)(src >> (24 - 8 * i));
		p.dst[12 + i] = (uint8_t)(dst >> (24 - 8 * i));
	}
	return p;
}

/* The end callback's record: how often each flow id ended, and the last
 * few (id, reason) pairs in order. */
#define REC_LOG 16
struct rec {
	unsigned *ends; /* indexed by id */
	size_t max_id;
	size_t n;
	enum flow_end_reason last_why;
	uint64_t id[REC_LOG];
	enum flow_end_reason why[REC_LOG];
};

static void rec_end(void *ctx, struct flow *f, enum flow_end_reason why)
{
	struct rec *r = ctx;

	assert_true(f->id >= 1 && f->id <= r->max_id);
	r->ends[f->id]++;
	r->last_why = why;
	if (r->n < REC_LOG) {
		r->id[r->n] = f->id;
		r->why[r->n] = why;
	}
	r->n++;
}

static void rec_init(struct rec *r, size_t max_id)
{
	memset(r, 0, sizeof(*r));
	r->max_id = max_id;
	r->ends = calloc(max_id + 1, sizeof(*r->ends));
	assert_non_null(r->ends);
}

/* Every id 1..created ended exactly once. */
static void rec_check_all_once(const struct rec *r, uint64_t created)
{
	for (uint64_t id = 1; id <= created; id++)
		assert_int_equal(r->ends[id], 1);
}

static struct flow_table *table(struct rec *r, uint32_t max_flows, size_t ext_size)
{
	struct flow_config cfg;

	flow_config_default(&cfg);
	cfg.max_flows = max_flows;
	cfg.timeout_embryonic_s = 30;
	cfg.timeout_established_s = 600;
	cfg.timeout_closed_s = 15;
	cfg.timeout_udp_s = 120;
	cfg.ext_size = ext_size;
	cfg.end = r ? rec_end : NULL;
	cfg.ctx = r;
	struct flow_table *t = flow_table_new(&cfg);
	assert_non_null(t);
	return t;
}

static struct flow *pkt_in(struct flow_table *t, const struct pkt *p, int want_dir,
                           bool want_created)
{
	int dir = -1;
	bool created = !want_created;
	struct flow *f = flow_packet(t, p, &dir, &created);

	assert_non_null(f);
	assert_int_equal(dir, want_dir);
	assert_int_equal(created, want_created);
	return f;
}

static void test_config_default(void **state)
{
	struct flow_config cfg;

	(void)state;
	memset(&cfg, 0xff, sizeof(cfg));
	flow_config_default(&cfg);
	assert_int_equal(cfg.max_flows, LIMIT_FLOWS);
	assert_int_equal(cfg.timeout_embryonic_s, LIMIT_TIMEOUT_EMBRYONIC_S);
	assert_int_equal(cfg.timeout_established_s, LIMIT_TIMEOUT_ESTABLISHED_S);
	assert_int_equal(cfg.timeout_closed_s, LIMIT_TIMEOUT_CLOSED_S);
	assert_int_equal(cfg.timeout_udp_s, LIMIT_TIMEOUT_UDP_S);
	assert_int_equal(cfg.ext_size, 0);
	assert_null(cfg.end);
	assert_null(cfg.ctx);

	cfg.max_flows = 0;
	assert_null(flow_table_new(&cfg));
	flow_table_free(NULL);
}

static void test_not_tcp_udp(void **state)
{
	struct flow_table *t = table(NULL, 16, 0);
	struct pkt p = mk4(IPPROTO_ICMP, CLIENT, 0, SERVER, 0, 0, S(1));
	int dir = 7;
	bool created = true;

	(void)state;
	assert_null(flow_packet(t, &p, &dir, &created));
	assert_int_equal(dir, 7);
	assert_true(created);
	assert_int_equal(flow_table_stats(t)->created, 0);
	flow_table_free(t);
}

static void test_both_directions(void **state)
{
	struct flow_table *t = table(NULL, 16, 0);
	struct pkt syn = tcp4(CLIENT, 50000, SERVER, 443, SYN, S(1));
	struct pkt synack = tcp4(SERVER, 443, CLIENT, 50000, SYN | ACK, S(1) + 10);
	struct pkt data = tcp4(CLIENT, 50000, SERVER, 443, ACK, S(1) + 20);

	(void)state;
	data.wire_len = 100;
	struct flow *f = pkt_in(t, &syn, 0, true);
	assert_ptr_equal(pkt_in(t, &synack, 1, false), f);
	assert_ptr_equal(pkt_in(t, &data, 0, false), f);

	assert_int_equal(f->af, 4);
	assert_int_equal(f->proto, IPPROTO_TCP);
	assert_memory_equal(f->addr[0], syn.src, 16);
	assert_memory_equal(f->addr[1], syn.dst, 16);
	assert_int_equal(f->port[0], 50000);
	assert_int_equal(f->port[1], 443);
	assert_int_equal(f->pkts[0], 2);
	assert_int_equal(f->pkts[1], 1);
	assert_int_equal(f->bytes[0], 100);
	assert_int_equal(f->bytes[1], 0);
	assert_int_equal(f->flags_seen[0], SYN | ACK);
	assert_int_equal(f->flags_seen[1], SYN | ACK);
	assert_int_equal(f->first_us, S(1));
	assert_int_equal(f->last_us, S(1) + 20);
	assert_false(f->picked_up_midstream);
	assert_int_equal(f->id, 1);

	/* A second connection from the next client port is a new flow with a
	 * later id. */
	struct pkt other = tcp4(CLIENT, 50001, SERVER, 443, SYN, S(2));
	struct flow *g = pkt_in(t, &other, 0, true);
	assert_ptr_not_equal(g, f);
	assert_true(g->id > f->id);
	assert_int_equal(flow_table_stats(t)->created, 2);
	assert_int_equal(flow_table_stats(t)->active, 2);
	flow_table_free(t);
}

static void test_role_from_syn(void **state)
{
	struct flow_table *t = table(NULL, 16, 0);
	/* The SYN decides, whatever the ports say: 443 -> 50000 here. */
	struct pkt syn = tcp4(SERVER, 443, CLIENT, 50000, SYN, S(1));
	struct pkt back = tcp4(CLIENT, 50000, SERVER, 443, SYN | ACK, S(1));

	(void)state;
	struct flow *f = pkt_in(t, &syn, 0, true);
	assert_int_equal(f->port[0], 443);
	assert_int_equal(f->port[1], 50000);
	assert_ptr_equal(pkt_in(t, &back, 1, false), f);
	assert_false(f->picked_up_midstream);
	assert_int_equal(flow_table_stats(t)->midstream, 0);
	flow_table_free(t);
}

static void test_role_from_synack_pickup(void **state)
{
	struct flow_table *t = table(NULL, 16, 0);
	/* The capture starts at the SYN+ACK; its sender is the server even on
	 * a high port talking to a low one. */
	struct pkt synack = tcp4(SERVER, 50000, CLIENT, 443, SYN | ACK, S(1));
	struct pkt ack = tcp4(CLIENT, 443, SERVER, 50000, ACK, S(1));

	(void)state;
	struct flow *f = pkt_in(t, &synack, 1, true);
	assert_int_equal(f->port[0], 443);
	assert_int_equal(f->port[1], 50000);
	assert_memory_equal(f->addr[1], synack.src, 16);
	assert_false(f->picked_up_midstream);
	assert_ptr_equal(pkt_in(t, &ack, 0, false), f);
	assert_int_equal(f->state, FLOW_ESTABLISHED);
	flow_table_free(t);
}

/* Creates a flow mid-stream from one packet and checks the client port. */
static void check_heuristic(struct flow_table *t, uint8_t proto, uint16_t sport, uint16_t dport,
                            uint16_t want_client_port, int want_dir)
{
	struct pkt p = mk4(proto, CLIENT, sport, SERVER, dport, ACK, S(1));
	struct flow *f = pkt_in(t, &p, want_dir, true);

	assert_int_equal(f->port[0], want_client_port);
	assert_int_equal(f->port[1], want_client_port == sport ? dport : sport);
	assert_memory_equal(f->addr[want_dir], p.src, 16);
	assert_int_equal(f->picked_up_midstream, proto == IPPROTO_TCP);

	/* The reply is the other direction of the same flow. */
	struct pkt r = mk4(proto, SERVER, dport, CLIENT, sport, ACK, S(1));
	assert_ptr_equal(pkt_in(t, &r, !want_dir, false), f);
}

static void test_role_port_heuristic(void **state)
{
	struct flow_table *t = table(NULL, 64, 0);

	(void)state;
	check_heuristic(t, IPPROTO_TCP, 50000, 443, 50000, 0);
	check_heuristic(t, IPPROTO_TCP, 443, 50001, 50001, 1);
	check_heuristic(t, IPPROTO_TCP, 50002, 8080, 50002, 0);
	/* 8080 and 8443 are servers even against a lower high port. */
	check_heuristic(t, IPPROTO_TCP, 8080, 5000, 5000, 1);
	check_heuristic(t, IPPROTO_TCP, 5001, 8443, 5001, 0);
	/* Two high ports: the lower is the server. */
	check_heuristic(t, IPPROTO_TCP, 40000, 50003, 50003, 1);
	check_heuristic(t, IPPROTO_TCP, 50004, 40001, 50004, 0);
	/* Two low ports: the lower again. */
	check_heuristic(t, IPPROTO_TCP, 25, 587, 587, 1);
	/* Equal ports: the first sender is the client. */
	check_heuristic(t, IPPROTO_TCP, 5555, 5555, 5555, 0);
	check_heuristic(t, IPPROTO_UDP, 123, 123, 123, 0);
	check_heuristic(t, IPPROTO_UDP, 53, 50005, 50005, 1);
	assert_int_equal(flow_table_stats(t)->midstream, 9);
	flow_table_free(t);
}

static void test_distinct_keys(void **state)
{
	struct flow_table *t = table(NULL, 16, 0);
	struct pkt v4 = tcp4(1, 50000, 2, 443, SYN, S(1));
	struct pkt v6 = tcp6(1, 50000, 2, 443, SYN, S(1));
	struct pkt u4 = udp4(1, 50000, 2, 443, S(1));

	(void)state;
	struct flow *f4 = pkt_in(t, &v4, 0, true);
	struct flow *f6 = pkt_in(t, &v6, 0, true);
	struct flow *fu = pkt_in(t, &u4, 0, true);
	assert_ptr_not_equal(f4, f6);
	assert_ptr_not_equal(f4, fu);
	assert_int_equal(f6->af, 6);
	assert_memory_equal(f6->addr[0], v6.src, 16);

	/* Each still found from both sides. */
	struct pkt r6 = tcp6(2, 443, 1, 50000, SYN | ACK, S(1));
	struct pkt r4 = tcp4(2, 443, 1, 50000, SYN | ACK, S(1));
	assert_ptr_equal(pkt_in(t, &r6, 1, false), f6);
	assert_ptr_equal(pkt_in(t, &r4, 1, false), f4);

	/* Same addresses, swapped port on one side only: a different flow. */
	struct pkt x = tcp4(1, 443, 2, 50000, SYN, S(1));
	assert_ptr_not_equal(pkt_in(t, &x, 0, true), f4);
	assert_int_equal(flow_table_stats(t)->active, 4);
	flow_table_free(t);
}

static void test_states(void **state)
{
	struct flow_table *t = table(NULL, 16, 0);
	struct pkt p;

	(void)state;
	p = tcp4(CLIENT, 50000, SERVER, 443, SYN, S(1));
	struct flow *f = pkt_in(t, &p, 0, true);
	assert_int_equal(f->state, FLOW_EMBRYONIC);
	pkt_in(t, &p, 0, false); /* a retransmitted SYN answers nothing */
	assert_int_equal(f->state, FLOW_EMBRYONIC);
	p = tcp4(SERVER, 443, CLIENT, 50000, SYN | ACK, S(1));
	pkt_in(t, &p, 1, false);
	assert_int_equal(f->state, FLOW_ESTABLISHED);
	p = tcp4(CLIENT, 50000, SERVER, 443, FIN | ACK, S(2));
	pkt_in(t, &p, 0, false);
	assert_int_equal(f->state, FLOW_ESTABLISHED);
	p = tcp4(SERVER, 443, CLIENT, 50000, FIN | ACK, S(2));
	pkt_in(t, &p, 1, false);
	assert_int_equal(f->state, FLOW_CLOSED);
	p = tcp4(CLIENT, 50000, SERVER, 443, ACK, S(2));
	pkt_in(t, &p, 0, false);
	assert_int_equal(f->state, FLOW_CLOSED);

	/* Refused: SYN then RST. */
	p = tcp4(CLIENT, 50001, SERVER, 443, SYN, S(3));
	f = pkt_in(t, &p, 0, true);
	p = tcp4(SERVER, 443, CLIENT, 50001, RST | ACK, S(3));
	pkt_in(t, &p, 1, false);
	assert_int_equal(f->state, FLOW_CLOSED);

	/* Mid-stream: a bare ACK waits for the other side, data does not. */
	p = tcp4(CLIENT, 50002, SERVER, 443, ACK, S(4));
	f = pkt_in(t, &p, 0, true);
	assert_true(f->picked_up_midstream);
	assert_int_equal(f->state, FLOW_EMBRYONIC);
	p = tcp4(SERVER, 443, CLIENT, 50002, ACK, S(4));
	pkt_in(t, &p, 1, false);
	assert_int_equal(f->state, FLOW_ESTABLISHED);

	p = tcp4(CLIENT, 50003, SERVER, 443, ACK, S(4));
	p.wire_len = 1;
	f = pkt_in(t, &p, 0, true);
	assert_int_equal(f->state, FLOW_ESTABLISHED);
	p = tcp4(CLIENT, 50003, SERVER, 443, RST, S(4));
	pkt_in(t, &p, 0, false);
	assert_int_equal(f->state, FLOW_CLOSED);

	/* Data in a SYN (Fast Open) is not an answer. */
	p = tcp4(CLIENT, 50004, SERVER, 443, SYN, S(5));
	p.wire_len = 10;
	f = pkt_in(t, &p, 0, true);
	assert_int_equal(f->state, FLOW_EMBRYONIC);

	p = udp4(CLIENT, 50000, SERVER, 53, S(5));
	f = pkt_in(t, &p, 0, true);
	assert_int_equal(f->state, FLOW_ESTABLISHED);
	assert_false(f->picked_up_midstream);
	assert_int_equal(flow_table_stats(t)->midstream, 2);
	flow_table_free(t);
}

/* One flow per state, all last active at 1000 s. */
static void make_one_of_each(struct flow_table *t, struct flow **ret_emb, struct flow **ret_est,
                             struct flow **ret_closed, struct flow **ret_udp)
{
	struct pkt p;

	p = tcp4(CLIENT, 50001, SERVER, 443, SYN, S(1000));
	*ret_emb = pkt_in(t, &p, 0, true);
	p = tcp4(CLIENT, 50002, SERVER, 443, SYN, S(1000));
	*ret_est = pkt_in(t, &p, 0, true);
	p = tcp4(SERVER, 443, CLIENT, 50002, SYN | ACK, S(1000));
	pkt_in(t, &p, 1, false);
	p = tcp4(CLIENT, 50003, SERVER, 443, RST, S(1000));
	*ret_closed = pkt_in(t, &p, 0, true);
	p = udp4(CLIENT, 50004, SERVER, 53, S(1000));
	*ret_udp = pkt_in(t, &p, 0, true);
	assert_int_equal((*ret_emb)->state, FLOW_EMBRYONIC);
	assert_int_equal((*ret_est)->state, FLOW_ESTABLISHED);
	assert_int_equal((*ret_closed)->state, FLOW_CLOSED);
}

static void test_timeouts(void **state)
{
	struct rec r;
	rec_init(&r, 16);
	struct flow_table *t = table(&r, 16, 0);
	struct flow *emb, *est, *closed, *udp;
	const struct flow_stats *st = flow_table_stats(t);

	(void)state;
	make_one_of_each(t, &emb, &est, &closed, &udp);
	uint64_t id_emb = emb->id, id_est = est->id, id_closed = closed->id, id_udp = udp->id;

	/* Idle exactly the timeout is still alive; one microsecond more is not. */
	flow_expire(t, S(1015));
	assert_int_equal(r.n, 0);
	flow_expire(t, S(1015) + 1);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.id[0], id_closed);
	assert_int_equal(r.why[0], FLOW_END_TIMEOUT);

	/* Driven by packet timestamps: an unrelated flow moves the clock. */
	struct pkt p = udp4(9, 50000, 8, 53, S(1031));
	pkt_in(t, &p, 0, true);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.id[1], id_emb);

	flow_expire(t, S(1120));
	assert_int_equal(r.n, 2);
	flow_expire(t, S(1121));
	assert_int_equal(r.n, 3);
	assert_int_equal(r.id[2], id_udp);

	/* The established TCP flow and the UDP one from 1031 s. */
	flow_expire(t, S(1601));
	assert_int_equal(r.n, 5);
	assert_int_equal(r.id[3], id_est);
	assert_int_equal(r.id[4], 5);
	for (size_t i = 0; i < r.n; i++)
		assert_int_equal(r.why[i], FLOW_END_TIMEOUT);
	assert_int_equal(st->ended_timeout, 5);
	assert_int_equal(st->active, 0);
	assert_int_equal(st->evicted, 0);
	flow_table_free(t);
	rec_check_all_once(&r, 5);
	free(r.ends);
}

/* A packet for a flow idle past its timeout, arriving less than a second of
 * capture time after the last sweep, still finds a fresh flow. */
static void test_timeout_between_sweeps(void **state)
{
	struct rec r;
	rec_init(&r, 16);
	struct flow_table *t = table(&r, 16, 0);
	struct pkt a = tcp4(CLIENT, 50000, SERVER, 443, SYN, S(0));
	struct pkt b = tcp4(CLIENT, 50001, SERVER, 443, SYN, S(30));

	(void)state;
	struct flow *f = pkt_in(t, &a, 0, true);
	uint64_t old = f->id;
	pkt_in(t, &b, 0, true); /* sweeps at 30 s: a idle exactly 30 s */
	assert_int_equal(r.n, 0);

	a.ts_us = S(30) + 500000;
	f = pkt_in(t, &a, 0, true);
	assert_true(f->id > old);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.id[0], old);
	assert_int_equal(r.why[0], FLOW_END_TIMEOUT);
	assert_int_equal(f->pkts[0], 1);
	assert_int_equal(flow_table_stats(t)->ended_timeout, 1);
	flow_table_free(t);
	rec_check_all_once(&r, 3);
	free(r.ends);
}

static void test_clock_never_backwards(void **state)
{
	struct rec r;
	rec_init(&r, 16);
	struct flow_table *t = table(&r, 16, 0);
	struct pkt a = tcp4(CLIENT, 50000, SERVER, 443, SYN, S(1000));
	struct pkt b = tcp4(CLIENT, 50001, SERVER, 443, SYN, S(1020));

	(void)state;
	struct flow *fa = pkt_in(t, &a, 0, true);
	uint64_t id_a = fa->id, id_b = pkt_in(t, &b, 0, true)->id;

	/* An older timestamp counts as now: it refreshes a to 1020 s. */
	a.ts_us = S(500);
	assert_ptr_equal(pkt_in(t, &a, 0, false), fa);
	assert_int_equal(fa->last_us, S(1020));
	assert_int_equal(fa->first_us, S(1000));

	/* Nor does flow_expire() move it back. */
	flow_expire(t, S(10));
	struct pkt c = udp4(CLIENT, 50001, SERVER, 53, S(1));
	struct flow *fc = pkt_in(t, &c, 0, true);
	assert_int_equal(fc->first_us, S(1020));
	assert_int_equal(fc->last_us, S(1020));

	flow_expire(t, S(1050));
	assert_int_equal(r.n, 0);
	flow_expire(t, S(1050) + 1);
	assert_int_equal(r.n, 2);
	/* Both last active at 1020 s, b before a; c is UDP and lives on. */
	assert_int_equal(r.id[0], id_b);
	assert_int_equal(r.id[1], id_a);
	flow_table_free(t);
	rec_check_all_once(&r, 3);
	free(r.ends);
}

static void test_eviction_order(void **state)
{
	struct rec r;
	rec_init(&r, 16);
	struct flow_table *t = table(&r, 4, 0);
	const struct flow_stats *st = flow_table_stats(t);
	struct flow *emb, *est, *closed, *udp;
	struct pkt p;

	(void)state;
	make_one_of_each(t, &emb, &est, &closed, &udp);
	uint64_t id_emb = emb->id, id_est = est->id, id_closed = closed->id, id_udp = udp->id;
	/* Make the embryonic flow the most recently active: it still goes first. */
	p = tcp4(CLIENT, 50001, SERVER, 443, SYN, S(1001));
	pkt_in(t, &p, 0, false);

	p = udp4(CLIENT, 50005, SERVER, 53, S(1002));
	pkt_in(t, &p, 0, true);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.id[0], id_emb);

	p = udp4(CLIENT, 50006, SERVER, 53, S(1003));
	pkt_in(t, &p, 0, true);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.id[1], id_closed);

	/* Now est (TCP, 1000 s) and udp (1000 s), 5 (1002 s), 6 (1003 s) are
	 * established.  Touch est: the UDP flow becomes the LRU one. */
	p = tcp4(SERVER, 443, CLIENT, 50002, ACK, S(1004));
	pkt_in(t, &p, 1, false);
	p = udp4(CLIENT, 50007, SERVER, 53, S(1005));
	pkt_in(t, &p, 0, true);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.id[2], id_udp);

	/* Next LRU: UDP flow 5 (1002 s), then 6, then the TCP one (1004 s). */
	for (uint16_t port = 50008; port <= 50010; port++) {
		p = tcp4(CLIENT, port, SERVER, 443, ACK, S(1006));
		p.wire_len = 1;
		pkt_in(t, &p, 0, true);
	}
	assert_int_equal(r.n, 6);
	assert_int_equal(r.id[5], id_est);
	for (size_t i = 0; i < r.n; i++)
		assert_int_equal(r.why[i], FLOW_END_EVICTED);
	assert_int_equal(st->evicted, 6);
	assert_int_equal(st->active, 4);
	assert_int_equal(st->active_max, 4);
	assert_int_equal(st->ended_timeout, 0);

	/* Idle flows are expired, not evicted, when room is needed. */
	p = udp4(CLIENT, 50011, SERVER, 53, S(1700));
	pkt_in(t, &p, 0, true);
	assert_int_equal(st->evicted, 6);
	assert_int_equal(st->ended_timeout, 4);
	flow_table_free(t);
	rec_check_all_once(&r, 11);
	free(r.ends);
}

static void test_end_once(void **state)
{
	struct rec r;
	rec_init(&r, 64);
	struct flow_table *t = table(&r, 8, 0);
	struct pkt p;

	(void)state;
	for (uint16_t i = 0; i < 20; i++) {
		p = tcp4(CLIENT, (uint16_t)(40000 + i), SERVER, 443, SYN, S(1));
		struct flow *f = pkt_in(t, &p, 0, true);
		if (i % 3 == 0) {
			uint64_t id = f->id;
			flow_end(t, f);
			assert_int_equal(r.ends[id], 1);
			assert_int_equal(r.last_why, FLOW_END_CALLER);
		}
	}
	uint64_t created = flow_table_stats(t)->created;
	uint64_t before = r.n;
	uint32_t active = flow_table_stats(t)->active;
	assert_int_equal(created, 20);
	assert_true(active <= 8);

	flow_table_free(t);
	assert_int_equal(r.n, before + active);
	rec_check_all_once(&r, created);
	free(r.ends);
}

static void test_ext(void **state)
{
	struct flow_table *t = table(NULL, 2, 37);
	struct pkt a = tcp4(CLIENT, 50000, SERVER, 443, SYN, S(1));
	struct pkt b = tcp4(SERVER, 443, CLIENT, 50000, SYN | ACK, S(1));
	static const uint8_t zero[37];

	(void)state;
	struct flow *f = pkt_in(t, &a, 0, true);
	uint8_t *x = flow_ext(f);
	assert_int_equal((uintptr_t)x % alignof(max_align_t), 0);
	assert_memory_equal(x, zero, 37);
	memset(x, 0xa5, 37);

	assert_ptr_equal(pkt_in(t, &b, 1, false), f);
	assert_ptr_equal(flow_ext(f), x);
	for (size_t i = 0; i < 37; i++)
		assert_int_equal(x[i], 0xa5);

	/* Fill the table with dirty flows, then recycle them: new flows start
	 * with zeroed state. */
	struct pkt c = udp4(CLIENT, 50001, SERVER, 53, S(2));
	memset(flow_ext(pkt_in(t, &c, 0, true)), 0x5a, 37);
	for (uint16_t port = 50002; port < 50010; port++) {
		c.sport = port;
		struct flow *g = pkt_in(t, &c, 0, true);
		assert_memory_equal(flow_ext(g), zero, 37);
		memset(flow_ext(g), 0x5a, 37);
	}
	flow_end(t, pkt_in(t, &c, 0, false));
	c.sport = 50100;
	assert_memory_equal(flow_ext(pkt_in(t, &c, 0, true)), zero, 37);
	flow_table_free(t);
}

static void test_cap_10x(void **state)
{
	enum { MAX = 1000, N = 10 * MAX };
	struct rec r;
	rec_init(&r, N);
	struct flow_table *t = table(&r, MAX, 64);
	const struct flow_stats *st = flow_table_stats(t);

	(void)state;
	for (uint32_t i = 0; i < N; i++) {
		struct pkt p = tcp4(0x0a000000u + i, 50000, SERVER, 443, SYN, S(1) + i);
		pkt_in(t, &p, 0, true);
		assert_true(st->active <= MAX);
	}
	assert_int_equal(st->created, N);
	assert_int_equal(st->active, MAX);
	assert_int_equal(st->active_max, MAX);
	assert_int_equal(st->evicted, N - MAX);
	assert_int_equal(r.n, N - MAX);
	/* Oldest first: the survivors are the last MAX created. */
	for (uint64_t id = 1; id <= N; id++)
		assert_int_equal(r.ends[id], id <= N - MAX ? 1 : 0);
	flow_table_free(t);
	rec_check_all_once(&r, N);
	free(r.ends);
}

/* 100k flows, half IPv4 and half IPv6, from one client to one server
 * differing only in the client port (the easy way for an attacker to make
 * many tuples): every one found again from the server side. */
static void test_many_flows(void **state)
{
	enum { N = 100000 };
	struct flow_table *t = table(NULL, 1u << 17, 0);
	struct flow **seen = calloc(N, sizeof(*seen));

	(void)state;
	assert_non_null(seen);
	for (uint32_t i = 0; i < N; i++) {
		uint16_t port = (uint16_t)(1024 + i / 2);
		struct pkt p = i % 2 ? tcp6(CLIENT, port, SERVER, 443, SYN, S(1))
		                     : tcp4(CLIENT, port, SERVER, 443, SYN, S(1));
		seen[i] = pkt_in(t, &p, 0, true);
	}
	for (uint32_t i = 0; i < N; i++) {
		uint16_t port = (uint16_t)(1024 + i / 2);
		struct pkt p = i % 2 ? tcp6(SERVER, 443, CLIENT, port, SYN | ACK, S(2))
		                     : tcp4(SERVER, 443, CLIENT, port, SYN | ACK, S(2));
		assert_ptr_equal(pkt_in(t, &p, 1, false), seen[i]);
		assert_int_equal(seen[i]->state, FLOW_ESTABLISHED);
	}
	assert_int_equal(flow_table_stats(t)->active, N);
	assert_int_equal(flow_table_stats(t)->evicted, 0);
	free(seen);
	flow_table_free(t);
}

/* A client reusing its port after a closed connection starts a new flow:
 * the old one ends (FLOW_END_REUSED) with its own record. */
static void test_port_reuse_after_close(void **state)
{
	struct rec r;
	(void)state;
	rec_init(&r, 16);
	struct flow_table *t = table(&r, 16, 0);
	struct pkt p;

	p = tcp4(CLIENT, 50000, SERVER, 443, 0x02, S(1));
	struct flow *f1 = pkt_in(t, &p, 0, true);
	uint64_t id1 = f1->id;
	p = tcp4(SERVER, 443, CLIENT, 50000, 0x12, S(1));
	pkt_in(t, &p, 1, false);
	p = tcp4(CLIENT, 50000, SERVER, 443, 0x04, S(2)); /* RST */
	pkt_in(t, &p, 0, false);
	assert_int_equal(f1->state, FLOW_CLOSED);

	/* A retransmitted RST/ACK still belongs to the closed flow. */
	p = tcp4(SERVER, 443, CLIENT, 50000, 0x14, S(2));
	pkt_in(t, &p, 1, false);
	assert_int_equal(r.n, 0);

	p = tcp4(CLIENT, 50000, SERVER, 443, 0x02, S(3));
	struct flow *f2 = pkt_in(t, &p, 0, true);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.id[0], id1);
	assert_int_equal(r.why[0], FLOW_END_REUSED);
	assert_true(f2->id > id1);
	assert_int_equal(f2->state, FLOW_EMBRYONIC);
	assert_int_equal(flow_table_stats(t)->reused, 1);
	flow_table_free(t);
	rec_check_all_once(&r, 2);
	free(r.ends);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config_default),
	    cmocka_unit_test(test_not_tcp_udp),
	    cmocka_unit_test(test_both_directions),
	    cmocka_unit_test(test_role_from_syn),
	    cmocka_unit_test(test_role_from_synack_pickup),
	    cmocka_unit_test(test_role_port_heuristic),
	    cmocka_unit_test(test_distinct_keys),
	    cmocka_unit_test(test_states),
	    cmocka_unit_test(test_timeouts),
	    cmocka_unit_test(test_timeout_between_sweeps),
	    cmocka_unit_test(test_clock_never_backwards),
	    cmocka_unit_test(test_eviction_order),
	    cmocka_unit_test(test_end_once),
	    cmocka_unit_test(test_ext),
	    cmocka_unit_test(test_cap_10x),
	    cmocka_unit_test(test_many_flows),
	    cmocka_unit_test(test_port_reuse_after_close),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
