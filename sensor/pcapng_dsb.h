/*
 * pcapng_dsb.h — TLS key logs embedded in pcapng files.
 *
 * libpcap reads pcapng packets but does not expose Decryption Secrets
 * Blocks (draft-ietf-opsawg-pcapng §4.7), where `editcap --inject-secrets`
 * and dumpcap store key logs.  This is a small block walker over the file:
 * it checks every block's framing and hands each DSB's payload to a
 * callback, or (pcapng_dsb_load) each TLS key log payload to keylog.
 *
 * A file that does not start with a Section Header Block is "not pcapng"
 * (a classic pcap, or anything else): the caller ignores it.  Byte order
 * is taken from each SHB's byte-order magic, so files with several
 * sections of either order are read.  Reads are sequential; seeking is
 * used only to skip blocks that are not DSBs.
 */
#ifndef MDM_PCAPNG_DSB_H
#define MDM_PCAPNG_DSB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct keylog;

#define PCAPNG_SECRETS_TLS 0x544C534Bu /* 'TLSK': NSS key log text */

enum pcapng_dsb_result {
	PCAPNG_DSB_OK,
	PCAPNG_DSB_NOT_PCAPNG, /* no SHB at offset 0: not a pcapng file */
	PCAPNG_DSB_CORRUPT,    /* framing broken at error_offset (see error) */
	PCAPNG_DSB_IO,         /* open or read failed (errno in error_errno) */
};

struct pcapng_dsb_info {
	uint64_t sections;
	uint64_t blocks;
	uint64_t dsbs;         /* Decryption Secrets Blocks, any type */
	uint64_t tls_dsbs;     /* of type TLSK */
	uint64_t error_offset; /* file offset of the block at fault */
	const char *error;     /* static text, NULL when OK */
	int error_errno;
};

/*
 * Called for each DSB: its secrets type, payload (borrowed for the call;
 * wiped and freed afterwards) and the block's file offset.
 */
typedef void (*pcapng_dsb_fn)(void *ctx, uint32_t secrets_type, const uint8_t *data, size_t len,
                              uint64_t offset);

/*
 * Walks the pcapng stream fp from its current position to EOF.  Blocks
 * before a corruption are reported; *ret (optional) is always written.
 */
enum pcapng_dsb_result pcapng_dsb_walk(FILE *fp, pcapng_dsb_fn fn, void *ctx,
                                       struct pcapng_dsb_info *ret);

/*
 * Opens path and feeds every TLSK payload to kl (keylog_feed, source named
 * "<path>@<offset>").  Secrets read before a corruption are kept.
 */
enum pcapng_dsb_result pcapng_dsb_load(const char *path, struct keylog *kl,
                                       struct pcapng_dsb_info *ret);

#endif /* MDM_PCAPNG_DSB_H */
