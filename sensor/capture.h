/*
 * capture.h — frames from libpcap: files (pcap and pcapng), stdin, or a live
 * interface, with an optional BPF filter.  The only module that includes
 * <pcap.h>.
 *
 * A damaged file (truncated record, garbage in a block) ends that file: the
 * frames before the damage have been returned, capture_next() returns
 * CAPTURE_DAMAGED and capture_error() says what libpcap saw and where.
 */
#ifndef MDM_CAPTURE_H
#define MDM_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct capture;

struct capture_frame {
	uint64_t ts_us;      /* capture time, microseconds since the epoch */
	const uint8_t *data; /* valid until the next capture_next() */
	size_t caplen;
	size_t wirelen;
};

enum capture_status {
	CAPTURE_FRAME = 1,    /* *frame filled in */
	CAPTURE_EOF = 0,      /* clean end of the file */
	CAPTURE_TIMEOUT = 2,  /* live: nothing within the read timeout */
	CAPTURE_DAMAGED = -1, /* the file is damaged from here on */
	CAPTURE_BROKEN = -2,  /* live: the interface failed */
};

/* Opens a capture file ("-" for stdin).  On error returns a negative errno
 * and writes a message (naming the file) to err. */
int capture_open_file(const char *path, struct capture **ret, char *err, size_t errlen);

/* Opens a live interface (promiscuous, snap length 262144). */
int capture_open_live(const char *iface, struct capture **ret, char *err, size_t errlen);

/* Checks that a BPF expression compiles (for Ethernet), before any input is
 * opened, so that a typo is a usage error; -EINVAL with libpcap's message. */
int capture_check_filter(const char *expr, char *err, size_t errlen);

/* Compiles and installs a BPF expression; -EINVAL with libpcap's message. */
int capture_set_filter(struct capture *c, const char *expr, char *err, size_t errlen);

int capture_linktype(const struct capture *c);
const char *capture_linktype_name(const struct capture *c);

enum capture_status capture_next(struct capture *c, struct capture_frame *frame);

/* Why the last capture_next() returned DAMAGED or BROKEN. */
const char *capture_error(const struct capture *c);

/* Progress of a file: bytes consumed so far and the file size (0 when not
 * known, e.g. stdin). */
uint64_t capture_position(const struct capture *c);
uint64_t capture_size(const struct capture *c);

/* Live: packets the kernel dropped (0 for files). */
uint64_t capture_drops(const struct capture *c);

/* Asks a blocking live read to return (async-signal-safe). */
void capture_break(struct capture *c);

void capture_close(struct capture *c); /* accepts NULL */

#endif /* MDM_CAPTURE_H */
