/*
 * dpi.c — the only file that speaks nDPI (Debian 12: nDPI 4.2).
 *
 * nDPI is given the first packets of each flow, from the IP header, until it
 * names the protocol; then its per-flow state is freed and the sensor stops
 * calling it.  "Decided" means nDPI knows the master protocol (HTTP, TLS …)
 * — a bare IP-address rule match (ip:…@Exchange) is not enough, because the
 * sensor still needs to know whether the flow carries HTTP or TLS.
 *
 * Exchange rules from --exchange are written to a private temporary file in
 * nDPI's custom protocols format and loaded with ndpi_load_protocols_file(),
 * the one loading interface nDPI 4.2 has.  Host names are checked against a
 * conservative character set first so that an option can never smuggle a
 * second rule into that file.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ndpi_api.h>

#include "dpi.h"

#define DPI_EXCHANGE_NAME "Exchange"

struct dpi {
	struct ndpi_detection_module_struct *nd;
	int exchange_id; /* custom protocol id of "Exchange", -1 if none */
};

struct dpi_flow {
	ndpi_protocol proto;
	enum dpi_class cls;
	bool gave_up;
	alignas(max_align_t) unsigned char nd[]; /* struct ndpi_flow_struct */
};

static struct ndpi_flow_struct *nflow(struct dpi_flow *f)
{
	return (struct ndpi_flow_struct *)(void *)f->nd;
}

static bool host_name_ok(const char *h)
{
	size_t n = strlen(h);
	if (n == 0 || n > LIMIT_HOSTNAME_BYTES)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = h[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '*';
		if (!ok)
			return false;
	}
	return true;
}

/* One nDPI rule line for an --exchange value, or -EINVAL. */
static int exchange_rule(const char *h, FILE *out)
{
	unsigned char a[16];
	if (inet_pton(AF_INET, h, a) == 1)
		return fprintf(out, "ip:%s@%s\n", h, DPI_EXCHANGE_NAME) < 0 ? -EIO : 0;
	if (inet_pton(AF_INET6, h, a) == 1)
		return -EAFNOSUPPORT; /* nDPI 4.2 rules take IPv4 addresses only */
	if (!host_name_ok(h))
		return -EINVAL;
	return fprintf(out, "host:\"%s\"@%s\n", h, DPI_EXCHANGE_NAME) < 0 ? -EIO : 0;
}

static int load_exchange_rules(struct ndpi_detection_module_struct *nd, const char *const *hosts,
                               size_t n, char *err, size_t errlen)
{
	char path[] = "/tmp/mdmwatch-protos-XXXXXX";
	int r = 0;
	int fd = mkstemp(path);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot create a temporary nDPI rules file: %s",
		         strerror(errno));
		return r;
	}
	FILE *out = fdopen(fd, "w");
	if (!out) {
		r = -errno;
		close(fd);
		snprintf(err, errlen, "fdopen: %s", strerror(-r));
		goto done;
	}
	for (size_t i = 0; i < n && r == 0; i++) {
		r = exchange_rule(hosts[i], out);
		if (r == -EAFNOSUPPORT)
			snprintf(err, errlen,
			         "--exchange %s: nDPI 4.2 matches IPv4 addresses and host names "
			         "only; give the server's name instead",
			         hosts[i]);
		else if (r < 0)
			snprintf(err, errlen, "--exchange %s: not a host name or IPv4 address",
			         hosts[i]);
	}
	if (fclose(out) != 0 && r == 0) {
		r = -EIO;
		snprintf(err, errlen, "cannot write the temporary nDPI rules file");
	}
	if (r == 0 && ndpi_load_protocols_file(nd, path) < 0) {
		r = -EINVAL;
		snprintf(err, errlen, "nDPI rejected the --exchange rules");
	}
done:
	unlink(path);
	return r;
}

int dpi_new(const char *protos_file, const char *const *exchange_hosts, size_t n,
            struct dpi **ret_dpi, char *err, size_t errlen)
{
	struct dpi *d = calloc(1, sizeof(*d));
	int r = -ENOMEM;
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return r;
	}
	d->exchange_id = -1;
	d->nd = ndpi_init_detection_module(ndpi_no_prefs);
	if (!d->nd) {
		snprintf(err, errlen, "nDPI initialisation failed");
		goto fail;
	}
	NDPI_PROTOCOL_BITMASK all;
	NDPI_BITMASK_SET_ALL(all);
	ndpi_set_protocol_detection_bitmask2(d->nd, &all);

	if (protos_file) {
		if (access(protos_file, R_OK) != 0) {
			r = -errno;
			snprintf(err, errlen, "%s: %s", protos_file, strerror(errno));
			goto fail;
		}
		if (ndpi_load_protocols_file(d->nd, protos_file) < 0) {
			r = -EINVAL;
			snprintf(err, errlen, "%s: not a valid nDPI protocols file", protos_file);
			goto fail;
		}
	}
	if (n > 0) {
		r = load_exchange_rules(d->nd, exchange_hosts, n, err, errlen);
		if (r < 0)
			goto fail;
	}
	ndpi_finalize_initialization(d->nd);
	d->exchange_id = ndpi_get_protocol_id(d->nd, (char *)DPI_EXCHANGE_NAME);
	*ret_dpi = d;
	return 0;
fail:
	dpi_free(d);
	return r;
}

void dpi_free(struct dpi *d)
{
	if (!d)
		return;
	if (d->nd)
		ndpi_exit_detection_module(d->nd);
	free(d);
}

const char *dpi_version(void)
{
	return ndpi_revision();
}

struct dpi_flow *dpi_flow_new(struct dpi *d)
{
	size_t sz = ndpi_detection_get_sizeof_ndpi_flow_struct();
	struct dpi_flow *f = calloc(1, sizeof(*f) + sz);
	(void)d;
	if (!f)
		return NULL;
	f->cls = DPI_PENDING;
	return f;
}

void dpi_flow_free(struct dpi_flow *f)
{
	if (!f)
		return;
	ndpi_free_flow_data(nflow(f));
	free(f);
}

static bool is_http(uint16_t id)
{
	return id == NDPI_PROTOCOL_HTTP || id == NDPI_PROTOCOL_HTTP_PROXY ||
	       id == NDPI_PROTOCOL_HTTP_CONNECT;
}

static enum dpi_class class_of(ndpi_protocol p)
{
	if (is_http(p.master_protocol) || is_http(p.app_protocol))
		return DPI_HTTP;
	if (p.master_protocol == NDPI_PROTOCOL_TLS || p.app_protocol == NDPI_PROTOCOL_TLS)
		return DPI_TLS;
	return DPI_OTHER;
}

enum dpi_class dpi_packet(struct dpi *d, struct dpi_flow *f, const uint8_t *ip, size_t len,
                          uint64_t ts_us)
{
	if (f->cls != DPI_PENDING)
		return f->cls;
	/* nDPI 4.2 takes an unsigned short length: a longer (defragmented)
	 * datagram is offered by its first 65535 bytes, which hold every
	 * header nDPI looks at. */
	unsigned short n = len > 65535 ? 65535 : (unsigned short)len;
	f->proto = ndpi_detection_process_packet(d->nd, nflow(f), ip, n, ts_us / 1000);
	/* Only a named master protocol or a named non-custom application
	 * decides: an address rule alone leaves HTTP-or-TLS open. */
	uint16_t app = f->proto.app_protocol;
	bool custom = d->exchange_id >= 0 && app == (uint16_t)d->exchange_id;
	if (f->proto.master_protocol != NDPI_PROTOCOL_UNKNOWN ||
	    (app != NDPI_PROTOCOL_UNKNOWN && !custom))
		f->cls = class_of(f->proto);
	return f->cls;
}

enum dpi_class dpi_giveup(struct dpi *d, struct dpi_flow *f)
{
	if (f->cls != DPI_PENDING)
		return f->cls;
	uint8_t guessed = 0;
	f->proto = ndpi_detection_giveup(d->nd, nflow(f), 1, &guessed);
	f->gave_up = true;
	f->cls = class_of(f->proto);
	return f->cls;
}

void dpi_flow_result(struct dpi *d, struct dpi_flow *f, struct dpi_result *ret)
{
	struct ndpi_flow_struct *nf = nflow(f);
	memset(ret, 0, sizeof(*ret));
	ret->cls = f->cls;
	ret->exchange =
	    d->exchange_id >= 0 && (f->proto.app_protocol == (uint16_t)d->exchange_id ||
	                            f->proto.master_protocol == (uint16_t)d->exchange_id);
	ndpi_protocol2name(d->nd, f->proto, ret->name, sizeof(ret->name));
	/* host_server_name is a fixed array in nDPI 4.2; copy within its bounds. */
	size_t hn = strnlen(nf->host_server_name, sizeof(nf->host_server_name));
	if (hn > LIMIT_HOSTNAME_BYTES)
		hn = LIMIT_HOSTNAME_BYTES;
	memcpy(ret->host, nf->host_server_name, hn);
	ret->host[hn] = '\0';
}
