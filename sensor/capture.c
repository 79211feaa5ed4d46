/*
 * capture.c — libpcap, and nothing else, lives here.
 *
 * libpcap reads pcap and pcapng (the first section's interfaces; all
 * interfaces of one file must share a link type in libpcap 1.10) and gives
 * us frames with their timestamps.  Microsecond timestamps are asked for;
 * nanosecond files are scaled by libpcap.
 *
 * Damage: pcap_next_ex() returns PCAP_ERROR for a truncated record or a
 * malformed block.  Frames before it were already handed out; we stop the
 * file there and keep its message with the frame number and file offset, so
 * the operator knows how much was read.
 */
#include <errno.h>
#include <pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/stat.h>

#include "capture.h"

/* How long a live read waits for packets before the sensor gets control
 * back (to commit rows, tail key logs, notice signals). */
#define CAPTURE_POLL_MS 200

struct capture {
	pcap_t *p;
	bool live;
	int fd; /* live: the descriptor to poll */
	uint64_t size;
	uint64_t frames;
	char path[256];
	char err[PCAP_ERRBUF_SIZE + 320];
};

static void copy_name(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src);
}

int capture_open_file(const char *path, struct capture **ret, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct capture *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	copy_name(c->path, sizeof(c->path), path);
	c->p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, ebuf);
	if (!c->p) {
		/* libpcap's text already says "unknown file format" or the
		 * errno string; say which file. */
		snprintf(err, errlen, "%s: %s", strcmp(path, "-") ? path : "standard input",
		         ebuf[0] ? ebuf : "cannot open");
		free(c);
		return -EINVAL;
	}
	struct stat st;
	FILE *f = pcap_file(c->p);
	if (f && fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode))
		c->size = (uint64_t)st.st_size;
	*ret = c;
	return 0;
}

int capture_open_live(const char *iface, struct capture **ret, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct capture *c = calloc(1, sizeof(*c));
	int r = -EINVAL;
	if (!c) {
		snprintf(err, errlen, "%s: out of memory", iface);
		return -ENOMEM;
	}
	copy_name(c->path, sizeof(c->path), iface);
	c->live = true;
	c->p = pcap_create(iface, ebuf);
	if (!c->p) {
		snprintf(err, errlen, "%s: %s", iface, ebuf);
		goto fail;
	}
	pcap_set_snaplen(c->p, 262144);
	pcap_set_promisc(c->p, 1);
	pcap_set_timeout(c->p, 200);
	pcap_set_buffer_size(c->p, 64 * 1024 * 1024);
	pcap_set_tstamp_precision(c->p, PCAP_TSTAMP_PRECISION_MICRO);
	int a = pcap_activate(c->p);
	if (a < 0) {
		snprintf(err, errlen, "%s: %s", iface,
		         a == PCAP_ERROR ? pcap_geterr(c->p) : pcap_statustostr(a));
		goto fail;
	}
	/* Non-blocking, polled with our own timeout: with TPACKET_V3 a blocking
	 * read on an idle link may never return, and the sensor must still
	 * commit its findings and follow its key logs while nothing arrives. */
	c->fd = pcap_get_selectable_fd(c->p);
	if (c->fd < 0 || pcap_setnonblock(c->p, 1, ebuf) != 0) {
		snprintf(err, errlen, "%s: cannot poll the capture: %s", iface,
		         c->fd < 0 ? "no selectable descriptor" : ebuf);
		goto fail;
	}
	*ret = c;
	return 0;
fail:
	capture_close(c);
	return r;
}

int capture_check_filter(const char *expr, char *err, size_t errlen)
{
	struct bpf_program prog;
	pcap_t *p = pcap_open_dead(DLT_EN10MB, 262144);
	int r = 0;
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (pcap_compile(p, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) != 0) {
		snprintf(err, errlen, "filter \"%s\": %s", expr, pcap_geterr(p));
		r = -EINVAL;
	} else {
		pcap_freecode(&prog);
	}
	pcap_close(p);
	return r;
}

int capture_set_filter(struct capture *c, const char *expr, char *err, size_t errlen)
{
	struct bpf_program prog;
	if (pcap_compile(c->p, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) != 0) {
		snprintf(err, errlen, "filter \"%s\": %s", expr, pcap_geterr(c->p));
		return -EINVAL;
	}
	int r = pcap_setfilter(c->p, &prog);
	pcap_freecode(&prog);
	if (r != 0) {
		snprintf(err, errlen, "filter \"%s\": %s", expr, pcap_geterr(c->p));
		return -EINVAL;
	}
	return 0;
}

int capture_linktype(const struct capture *c)
{
	return pcap_datalink(c->p);
}

const char *capture_linktype_name(const struct capture *c)
{
	const char *n = pcap_datalink_val_to_name(pcap_datalink(c->p));
	return n ? n : "unknown";
}

enum capture_status capture_next(struct capture *c, struct capture_frame *frame)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	int r = pcap_next_ex(c->p, &h, &data);
	if (r == 0 && c->live) {
		/* Nothing buffered: wait up to CAPTURE_POLL_MS for the kernel. */
		struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
		if (poll(&pfd, 1, CAPTURE_POLL_MS) > 0)
			r = pcap_next_ex(c->p, &h, &data);
	}
	if (r == 1) {
		c->frames++;
		frame->ts_us = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
		frame->data = data;
		frame->caplen = h->caplen;
		frame->wirelen = h->len < h->caplen ? h->caplen : h->len;
		return CAPTURE_FRAME;
	}
	if (r == 0)
		return CAPTURE_TIMEOUT;
	if (r == PCAP_ERROR_BREAK) /* end of file, or capture_break() */
		return CAPTURE_EOF;
	snprintf(c->err, sizeof(c->err), "%s after frame %llu (byte offset %llu): %s",
	         c->live ? "capture failed" : "damaged", (unsigned long long)c->frames,
	         (unsigned long long)capture_position(c), pcap_geterr(c->p));
	return c->live ? CAPTURE_BROKEN : CAPTURE_DAMAGED;
}

const char *capture_error(const struct capture *c)
{
	return c->err;
}

uint64_t capture_position(const struct capture *c)
{
	if (c->live)
		return 0;
	FILE *f = pcap_file(c->p);
	long pos = f ? ftell(f) : -1;
	return pos < 0 ? 0 : (uint64_t)pos;
}

uint64_t capture_size(const struct capture *c)
{
	return c->size;
}

uint64_t capture_drops(const struct capture *c)
{
	struct pcap_stat st;
	if (!c->live || pcap_stats(c->p, &st) != 0)
		return 0;
	return (uint64_t)st.ps_drop + st.ps_ifdrop;
}

void capture_break(struct capture *c)
{
	if (c && c->p)
		pcap_breakloop(c->p);
}

void capture_close(struct capture *c)
{
	if (!c)
		return;
	if (c->p)
		pcap_close(c->p);
	free(c);
}
