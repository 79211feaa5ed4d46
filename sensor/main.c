/*
 * main.c — the mdmwatch command: options, inputs, output, exit status.
 *
 * Exit status (DESIGN.md §3): 0 when every input was processed (findings or
 * not); 1 when an input could not be read, was damaged part-way, or an
 * output failed — everything read before the problem is still processed and
 * reported; 2 for a usage error (bad option, bad filter expression).
 */
#include <errno.h>
#include <arpa/inet.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "decode.h"
#include "config.h"
#include "keylog.h"
#include "pcapng_dsb.h"
#include "privdrop.h"
#include "tlsdec.h"
#include "output.h"
#include "sensor.h"
#include "stats.h"

#define MDMWATCH_VERSION "0.1.0"
#define MAX_INPUTS       4096
#define MAX_EXCHANGE     256
#define MAX_FILTER       4096

struct options {
	const char *inputs[MAX_INPUTS];
	unsigned n_inputs;
	const char *iface;
	const char *db_path;
	const char *dump_flows;
	const char *ndpi_protos;
	const char *exchange[MAX_EXCHANGE];
	size_t n_exchange;
	char filter[MAX_FILTER];
	int quiet;
	int progress; /* -1 auto (a terminal), 0 off, 1 on */
	const char *config_path;
	const char *json_path;
	const char *keylogs[MAX_EXCHANGE];
	size_t n_keylogs;
	const char *rsa_key;
	const char *drop_user; /* -Z */
	unsigned cli_set;      /* CONFIG_SET_* limits given on the command line */
	struct config file;    /* -c */
	struct detect_config detect;
	const char *all_exchange[MAX_EXCHANGE + CONFIG_MAX_ITEMS];
	struct sensor_config cfg;
};

struct run {
	struct options *o;
	struct sensor *sensor;
	struct output *out;
	struct keylog *kl;
	struct tlsdec_rsa *rsa;
	uint64_t bad_keylog_lines;
	bool dropped; /* privileges dropped (after the first input opened) */
	struct run_info info;
	int failed;
};

static volatile sig_atomic_t stop_requested;
static struct capture *volatile current_capture;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
	if (current_capture)
		capture_break(current_capture);
}

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: mdmwatch -r FILE [-r FILE]... [options] [BPF expression]\n"
	    "       mdmwatch -i IFACE [options] [BPF expression]\n"
	    "\n"
	    "  -r, --read FILE          read a pcap or pcapng file (- for stdin); repeatable,\n"
	    "                           files are read in the order given\n"
	    "  -i, --interface IFACE    capture live from IFACE\n"
	    "  -d, --db FILE            SQLite database (default ./mdmwatch.db)\n"
	    "  -c, --config FILE        policy and limits (see README \"Configuration\")\n"
	    "  -k, --keylog FILE        TLS secrets, NSS key log format (repeatable; followed\n"
	    "                           while capturing live); pcapng inputs' own secrets\n"
	    "                           (Decryption Secrets Blocks) are used too\n"
	    "      --rsa-key FILE       the server's RSA private key (PEM), for the RSA key\n"
	    "                           exchange without a key log\n"
	    "      --json FILE|-        alerts as NDJSON as well, one line per alert\n"
	    "      --exchange HOST      an Exchange front-end (host name or IPv4 address);\n"
	    "                           repeatable; nDPI labels its flows \"Exchange\"\n"
	    "      --ndpi-protos FILE   an nDPI custom protocols file\n"
	    "      --all-http           record every HTTP transaction, not only Exchange ones\n"
	    "      --dump-flows FILE|-  write one line per flow as it ends\n"
	    "      --max-flows N        flow table cap (default %u)\n"
	    "      --reasm-memcap BYTES out-of-order bytes held across flows (default %u)\n"
	    "      --reasm-dir-cap BYTES out-of-order bytes held per direction (default %u)\n"
	    "      --reasm-depth BYTES  stop reassembling a direction after BYTES (default 0,\n"
	    "                           no limit)\n"
	    "      --progress, --no-progress  progress line on stderr (default: on a terminal)\n"
	    "  -q, --quiet              no run summary\n"
	    "  -V, --version            print the version\n"
	    "  -h, --help               this help\n"
	    "\n"
	    "Exit status: 0 done, 1 an input or output failed (the rest is still processed),\n"
	    "2 usage error.\n",
	    LIMIT_FLOWS, LIMIT_REASM_TOTAL_BYTES, LIMIT_REASM_DIR_BYTES);
}

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "mdmwatch: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\nTry 'mdmwatch --help'.\n");
	va_end(ap);
	return 2;
}

enum {
	OPT_EXCHANGE = 256,
	OPT_NDPI_PROTOS,
	OPT_DUMP_FLOWS,
	OPT_MAX_FLOWS,
	OPT_REASM_MEMCAP,
	OPT_REASM_DIR_CAP,
	OPT_REASM_DEPTH,
	OPT_PROGRESS,
	OPT_NO_PROGRESS,
	OPT_ALL_HTTP,
	OPT_JSON,
	OPT_RSA_KEY,
};

static const struct option long_opts[] = {
    {"read", required_argument, NULL, 'r'},
    {"interface", required_argument, NULL, 'i'},
    {"db", required_argument, NULL, 'd'},
    {"exchange", required_argument, NULL, OPT_EXCHANGE},
    {"ndpi-protos", required_argument, NULL, OPT_NDPI_PROTOS},
    {"dump-flows", required_argument, NULL, OPT_DUMP_FLOWS},
    {"max-flows", required_argument, NULL, OPT_MAX_FLOWS},
    {"reasm-memcap", required_argument, NULL, OPT_REASM_MEMCAP},
    {"reasm-dir-cap", required_argument, NULL, OPT_REASM_DIR_CAP},
    {"reasm-depth", required_argument, NULL, OPT_REASM_DEPTH},
    {"progress", no_argument, NULL, OPT_PROGRESS},
    {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
    {"all-http", no_argument, NULL, OPT_ALL_HTTP},
    {"config", required_argument, NULL, 'c'},
    {"keylog", required_argument, NULL, 'k'},
    {"rsa-key", required_argument, NULL, OPT_RSA_KEY},
    {"json", required_argument, NULL, OPT_JSON},
    {"quiet", no_argument, NULL, 'q'},
    {"version", no_argument, NULL, 'V'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* One numeric option into its config field; 0 or a usage exit status. */
static int numeric_option(struct options *o, int opt, const char *arg)
{
	uint64_t v;
	switch (opt) {
	case OPT_MAX_FLOWS:
		if (config_parse_size(arg, 1u << 26, &v) < 0 || v == 0)
			return usage_error(
			    "--max-flows: expected a number from 1 to 67108864, got '%s'", arg);
		o->cfg.flow.max_flows = (uint32_t)v;
		o->cli_set |= CONFIG_SET_FLOWS;
		return 0;
	case OPT_REASM_MEMCAP:
		if (config_parse_size(arg, UINT64_C(1) << 40, &v) < 0)
			return usage_error("--reasm-memcap: expected a size such as 256M, got '%s'",
			                   arg);
		o->cfg.reasm.max_total = v;
		o->cli_set |= CONFIG_SET_MEMCAP;
		return 0;
	case OPT_REASM_DIR_CAP:
		if (config_parse_size(arg, UINT32_MAX, &v) < 0)
			return usage_error("--reasm-dir-cap: expected a size such as 1M, got '%s'",
			                   arg);
		o->cfg.reasm.max_dir_bytes = (uint32_t)v;
		o->cli_set |= CONFIG_SET_DIR_CAP;
		return 0;
	case OPT_REASM_DEPTH:
		if (config_parse_size(arg, UINT64_MAX, &v) < 0)
			return usage_error(
			    "--reasm-depth: expected a size such as 10M or 0, got '%s'", arg);
		o->cfg.reasm.depth = v;
		o->cli_set |= CONFIG_SET_DEPTH;
		return 0;
	default:
		return 2;
	}
}

/* Returns -1 to go on, else the exit status to return now. */
static int parse_options(int argc, char **argv, struct options *o)
{
	int opt;
	while ((opt = getopt_long(argc, argv, "r:i:d:c:k:Z:qVh", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			if (o->n_inputs == MAX_INPUTS)
				return usage_error("too many -r files (at most %d)", MAX_INPUTS);
			o->inputs[o->n_inputs++] = optarg;
			break;
		case 'i':
			o->iface = optarg;
			break;
		case 'd':
			o->db_path = optarg;
			break;
		case OPT_EXCHANGE:
			if (o->n_exchange == MAX_EXCHANGE)
				return usage_error("too many --exchange hosts (at most %d)",
				                   MAX_EXCHANGE);
			o->exchange[o->n_exchange++] = optarg;
			break;
		case OPT_NDPI_PROTOS:
			o->ndpi_protos = optarg;
			break;
		case OPT_DUMP_FLOWS:
			o->dump_flows = optarg;
			break;
		case OPT_PROGRESS:
			o->progress = 1;
			break;
		case OPT_NO_PROGRESS:
			o->progress = 0;
			break;
		case OPT_ALL_HTTP:
			o->cfg.all_http = true;
			break;
		case 'c':
			o->config_path = optarg;
			break;
		case OPT_JSON:
			o->json_path = optarg;
			break;
		case 'k':
			if (o->n_keylogs == MAX_EXCHANGE)
				return usage_error("too many --keylog files (at most %d)",
				                   MAX_EXCHANGE);
			o->keylogs[o->n_keylogs++] = optarg;
			break;
		case OPT_RSA_KEY:
			o->rsa_key = optarg;
			break;
		case 'Z':
			o->drop_user = optarg;
			break;
		case 'q':
			o->quiet = 1;
			break;
		case 'V':
			printf("mdmwatch %s (%s, nDPI %s)\n", MDMWATCH_VERSION, "libpcap",
			       dpi_version());
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		case '?':
			fprintf(stderr, "Try 'mdmwatch --help'.\n");
			return 2;
		default: {
			int r = numeric_option(o, opt, optarg);
			if (r)
				return r;
		}
		}
	}
	if (!o->n_inputs == !o->iface)
		return usage_error("%s", o->iface ? "give -r FILE or -i IFACE, not both"
		                                  : "nothing to read: give -r FILE or -i IFACE");
	size_t used = 0;
	for (int i = optind; i < argc; i++) {
		int n = snprintf(o->filter + used, sizeof(o->filter) - used, "%s%s",
		                 used ? " " : "", argv[i]);
		if (n < 0 || (size_t)n >= sizeof(o->filter) - used)
			return usage_error("the filter expression is longer than %d bytes",
			                   MAX_FILTER - 1);
		used += (size_t)n;
	}
	return -1;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void progress_line(struct run *run, struct capture *c, unsigned idx, double t0)
{
	double el = now_s() - t0;
	uint64_t pos = capture_position(c), size = capture_size(c);
	double mb = (double)(run->info.input_bytes + pos) / 1e6;
	if (size)
		fprintf(stderr, "\r  input %u/%u: %3.0f%% of %.1f MB, %.1f MB/s   ", idx + 1,
		        run->o->n_inputs, 100.0 * (double)pos / (double)size, (double)size / 1e6,
		        el > 0 ? mb / el : 0);
	else
		fprintf(stderr, "\r  input %u/%u: %.1f MB, %.1f MB/s   ", idx + 1, run->o->n_inputs,
		        mb, el > 0 ? mb / el : 0);
}

/* Reads one capture to its end; problems are reported and counted. */
static void read_capture(struct run *run, struct capture *c, const char *name, unsigned idx,
                         double t0, int show_progress)
{
	int lt = capture_linktype(c);
	struct capture_frame fr;
	uint64_t n = 0;
	double last = 0;
	current_capture = c;
	while (!stop_requested) {
		enum capture_status st = capture_next(c, &fr);
		if (st == CAPTURE_EOF)
			break;
		if (st == CAPTURE_TIMEOUT) {
			output_tick(run->out);
			if (keylog_poll_all(run->kl) > 0)
				sensor_keys_added(run->sensor);
			continue;
		}
		if (st < 0) {
			if (show_progress)
				fputc('\n', stderr);
			fprintf(stderr, "mdmwatch: %s: %s\n", name, capture_error(c));
			run->failed = 1;
			run->info.inputs_failed++;
			break;
		}
		sensor_frame(run->sensor, lt, fr.ts_us, fr.data, fr.caplen);
		if ((++n & 1023) == 0) {
			output_tick(run->out);
			/* Secrets written while we watch. */
			if (run->o->iface && keylog_poll_all(run->kl) > 0)
				sensor_keys_added(run->sensor);
			if (show_progress && now_s() - last >= 0.5) {
				last = now_s();
				progress_line(run, c, idx, t0);
			}
		}
	}
	current_capture = NULL;
	run->info.input_bytes += capture_position(c);
	run->info.drops += capture_drops(c);
}

static int open_input(struct run *run, const char *name, bool live, struct capture **ret)
{
	char err[512];
	struct capture *c = NULL;
	int r = live ? capture_open_live(name, &c, err, sizeof(err))
	             : capture_open_file(name, &c, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "mdmwatch: %s\n", err);
		return 1;
	}
	if (!decode_linktype_supported(capture_linktype(c))) {
		fprintf(stderr, "mdmwatch: %s: link type %s (%d) is not supported\n", name,
		        capture_linktype_name(c), capture_linktype(c));
		capture_close(c);
		return 1;
	}
	if (run->o->filter[0] && capture_set_filter(c, run->o->filter, err, sizeof(err)) < 0) {
		fprintf(stderr, "mdmwatch: %s: %s\n", name, err);
		capture_close(c);
		return 1;
	}
	*ret = c;
	return 0;
}

static int run_inputs(struct run *run)
{
	struct options *o = run->o;
	double t0 = now_s();
	int show = o->progress == 1 || (o->progress == -1 && !o->quiet && isatty(2) && !o->iface);
	unsigned n = o->iface ? 1 : o->n_inputs;
	for (unsigned i = 0; i < n && !stop_requested; i++) {
		const char *name = o->iface ? o->iface : o->inputs[i];
		struct capture *c = NULL;
		int r = open_input(run, name, o->iface != NULL, &c);
		run->info.inputs++;
		if (o->drop_user && !run->dropped) {
			char err[256];
			if (privdrop_to(o->drop_user, err, sizeof(err)) < 0) {
				fprintf(stderr, "mdmwatch: %s\n", err);
				capture_close(c);
				return 1;
			}
			run->dropped = true;
		}
		if (r) {
			run->failed = 1;
			run->info.inputs_failed++;
			continue;
		}
		read_capture(run, c, name, i, t0, show);
		capture_close(c);
	}
	if (show)
		fprintf(stderr, "\r%60s\r", "");
	run->info.interrupted = stop_requested;
	run->info.elapsed_s = now_s() - t0;
	return 0;
}

/* Loads -c and merges it under the command line; -1 to go on, else the
 * exit status. */
static int apply_config(struct options *o)
{
	char err[512];
	struct config *c = &o->file;
	detect_config_default(&o->detect);
	if (o->config_path && config_load(o->config_path, c, err, sizeof(err)) < 0) {
		fprintf(stderr, "mdmwatch: %s\n", err);
		return 2;
	}
	unsigned file_only = c->set & ~o->cli_set;
	if (file_only & CONFIG_SET_FLOWS)
		o->cfg.flow.max_flows = (uint32_t)c->flows;
	if (file_only & CONFIG_SET_MEMCAP)
		o->cfg.reasm.max_total = c->reasm_memcap;
	if (file_only & CONFIG_SET_DIR_CAP)
		o->cfg.reasm.max_dir_bytes = (uint32_t)c->reasm_dir_cap;
	if (file_only & CONFIG_SET_DEPTH)
		o->cfg.reasm.depth = c->reasm_depth;
	if (c->set & CONFIG_SET_IDENTITIES)
		o->detect.max_identities = (uint32_t)c->identities;
	if (c->window_us)
		o->detect.window_us = c->window_us;
	o->detect.allow = c->patterns;
	o->detect.n_allow = c->n_patterns;
	o->detect.aliases = c->aliases;
	o->detect.n_aliases = c->n_aliases;
	size_t n = 0;
	for (size_t i = 0; i < o->n_exchange; i++)
		o->all_exchange[n++] = o->exchange[i];
	for (size_t i = 0; i < c->n_hosts; i++)
		o->all_exchange[n++] = c->hosts[i];
	o->cfg.exchange_hosts = o->all_exchange;
	o->cfg.n_exchange = n;
	return -1;
}

/* Bad key log lines: reported (never the secret), the first few in full. */
static void on_bad_keylog_line(void *ctx, const char *source, uint64_t line, const char *why)
{
	struct run *run = ctx;
	if (run->bad_keylog_lines++ < 10)
		fprintf(stderr, "mdmwatch: %s:%llu: %s (line ignored)\n", source,
		        (unsigned long long)line, why);
	else if (run->bad_keylog_lines == 11)
		fprintf(stderr, "mdmwatch: more bad key log lines; see the run summary\n");
}

/* Key logs, secrets embedded in pcapng inputs, the RSA key: 0 or exit 1. */
static int open_secrets(struct run *run)
{
	struct options *o = run->o;
	char err[512];
	run->kl = keylog_new(LIMIT_KEYLOG_ENTRIES, on_bad_keylog_line, run);
	if (!run->kl) {
		fprintf(stderr, "mdmwatch: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < o->n_keylogs; i++) {
		struct keylog_file *f = keylog_open(run->kl, o->keylogs[i]);
		long r = f ? keylog_poll(f) : -errno;
		if (r < 0) {
			fprintf(stderr, "mdmwatch: %s: %s\n", o->keylogs[i], strerror((int)-r));
			return 1;
		}
	}
	for (unsigned i = 0; i < o->n_inputs; i++) {
		struct pcapng_dsb_info info;
		if (strcmp(o->inputs[i], "-") == 0)
			continue; /* a stream can't be read twice: its secrets are not seen */
		enum pcapng_dsb_result r = pcapng_dsb_load(o->inputs[i], run->kl, &info);
		if (r == PCAPNG_DSB_CORRUPT)
			fprintf(stderr, "mdmwatch: %s: secrets not read past byte %llu: %s\n",
			        o->inputs[i], (unsigned long long)info.error_offset, info.error);
	}
	if (o->rsa_key && tlsdec_rsa_load(o->rsa_key, &run->rsa, err, sizeof(err)) < 0) {
		fprintf(stderr, "mdmwatch: %s\n", err);
		return 1;
	}
	o->cfg.keylog = run->kl;
	o->cfg.rsa = run->rsa;
	return 0;
}

static int open_outputs(struct run *run)
{
	struct options *o = run->o;
	char err[512];
	struct output_config oc = {
	    .db_path = o->db_path ? o->db_path : "mdmwatch.db",
	    .dump_path = o->dump_flows,
	    .version = MDMWATCH_VERSION,
	    .mode = o->iface ? "live" : "offline",
	    .inputs = o->iface ? &o->iface : o->inputs,
	    .n_inputs = o->iface ? 1 : o->n_inputs,
	    .json_path = o->json_path,
	    .detect = &o->detect,
	};
	if (output_open(&oc, &run->out, err, sizeof(err)) < 0) {
		fprintf(stderr, "mdmwatch: %s\n", err);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct options o;
	struct run run = {.o = &o};
	char err[512];

	o.progress = -1;
	sensor_config_default(&o.cfg);
	int r = parse_options(argc, argv, &o);
	if (r >= 0)
		return r;
	r = apply_config(&o);
	if (r >= 0)
		return r;
	if (o.drop_user && privdrop_check(o.drop_user, err, sizeof(err)) < 0) {
		fprintf(stderr, "mdmwatch: %s\nTry 'mdmwatch --help'.\n", err);
		return 2;
	}
	if (o.filter[0] && capture_check_filter(o.filter, err, sizeof(err)) < 0) {
		fprintf(stderr, "mdmwatch: %s\nTry 'mdmwatch --help'.\n", err);
		return 2;
	}
	if (open_secrets(&run) || open_outputs(&run)) {
		keylog_free(run.kl);
		tlsdec_rsa_free(run.rsa);
		return 1;
	}

	o.cfg.ndpi_protos = o.ndpi_protos;
	o.cfg.digests = output_wants_digests(run.out);
	o.cfg.flow_start = output_flow_start;
	o.cfg.flow_end = output_flow;
	o.cfg.txn = output_txn;
	o.cfg.ctx = run.out;
	r = sensor_new(&o.cfg, &run.sensor, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "mdmwatch: %s\n", err);
		output_close(run.out, NULL, &run.info, err, sizeof(err));
		return r == -EINVAL || r == -EAFNOSUPPORT ? 2 : 1;
	}

	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	r = run_inputs(&run);
	sensor_finish(run.sensor);
	if (!o.quiet) {
		stats_print_summary(stderr, run.sensor, &run.info);
		output_print_alerts(stderr, run.out);
	}
	if (output_close(run.out, run.sensor, &run.info, err, sizeof(err)) < 0) {
		fprintf(stderr, "mdmwatch: %s\n", err);
		run.failed = 1;
	}
	sensor_free(run.sensor);
	keylog_free(run.kl);
	tlsdec_rsa_free(run.rsa);
	config_release(&o.file);
	if (r)
		return r;
	return run.failed ? 1 : 0;
}
