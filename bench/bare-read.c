/*
 * bare-read: the floor for an offline capture pass. Opens a capture with libpcap and
 * reads every frame with pcap_next_ex(), counting frames and captured bytes and touching
 * one byte of each frame (so the data is really read), nothing else.
 *
 *   cc -O2 -o bare-read bench/bare-read.c -lpcap     (bench/run.sh does this in a temp dir)
 *   bare-read FILE...
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	char err[PCAP_ERRBUF_SIZE];
	unsigned long long frames = 0, bytes = 0;
	unsigned sum = 0;
	int rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		pcap_t *p = pcap_open_offline(argv[i], err);
		struct pcap_pkthdr *h;
		const u_char *d;
		int r;

		if (!p) {
			fprintf(stderr, "bare-read: %s: %s\n", argv[i], err);
			rc = 1;
			continue;
		}
		while ((r = pcap_next_ex(p, &h, &d)) == 1) {
			frames++;
			bytes += h->caplen;
			if (h->caplen)
				sum += d[h->caplen - 1];
		}
		if (r == PCAP_ERROR) {
			fprintf(stderr, "bare-read: %s: %s\n", argv[i], pcap_geterr(p));
			rc = 1;
		}
		pcap_close(p);
	}
	printf("%llu frames, %llu bytes (checksum %u)\n", frames, bytes, sum & 0xff);
	return rc;
}
