/*
 * config.c — the -c file, parsed by libinih (INI); the format is in config.h.
 *
 * libinih calls the handler once per key in file order and stops at the
 * first handler error, returning its line number; the handler leaves the
 * reason in the context, so the message says where and what.
 */
#include <errno.h>
#include <ini.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "ascii.h"
#include "config.h"

struct parse {
	struct config *cfg;
	char why[256];
};

/* A decimal number followed by a one-letter unit (or none): the number,
 * and the unit in *ret_unit ('\0' when none).  A minus sign, a blank or
 * more text are refused. */
static int number_unit(const char *s, unsigned long long *ret, char *ret_unit)
{
	char *end;
	errno = 0;
	if (!s[0] || s[0] == '-' || s[0] == ' ')
		return -EINVAL;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || (end[0] && end[1]))
		return -EINVAL;
	*ret = v;
	*ret_unit = end[0];
	return 0;
}

int config_parse_size(const char *s, uint64_t max, uint64_t *ret)
{
	unsigned long long v;
	char unit;
	unsigned shift;
	if (number_unit(s, &v, &unit) < 0)
		return -EINVAL;
	switch (unit) {
	case '\0':
		shift = 0;
		break;
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'M':
		shift = 20;
		break;
	case 'G':
		shift = 30;
		break;
	default:
		return -EINVAL;
	}
	if (v > (max >> shift))
		return -ERANGE;
	*ret = (uint64_t)v << shift;
	return 0;
}

int config_parse_duration(const char *s, uint64_t *ret_us)
{
	unsigned long long v;
	char unit;
	uint64_t mul;
	if (number_unit(s, &v, &unit) < 0)
		return -EINVAL;
	switch (unit) {
	case '\0':
	case 's':
		mul = 1;
		break;
	case 'm':
		mul = 60;
		break;
	case 'h':
		mul = 3600;
		break;
	case 'd':
		mul = 86400;
		break;
	default:
		return -EINVAL;
	}
	if (v == 0 || v > UINT64_MAX / 1000000u / mul)
		return -ERANGE;
	*ret_us = (uint64_t)v * mul * 1000000u;
	return 0;
}

static bool push(const char **arr, size_t *n, const char *v, struct parse *p)
{
	if (*n == CONFIG_MAX_ITEMS) {
		snprintf(p->why, sizeof(p->why), "more than %d entries", CONFIG_MAX_ITEMS);
		return false;
	}
	char *d = strdup(v);
	if (!d) {
		snprintf(p->why, sizeof(p->why), "out of memory");
		return false;
	}
	arr[(*n)++] = d;
	return true;
}

/* "canonical = a, b, c": one alias entry per name after the '='. */
static bool add_aliases(struct parse *p, const char *canonical, const char *list)
{
	struct config *c = p->cfg;
	const char *s = list;
	while (*s) {
		while (*s == ' ' || *s == '\t' || *s == ',')
			s++;
		size_t n = strcspn(s, ", \t");
		if (n == 0)
			break;
		if (c->n_aliases == CONFIG_MAX_ITEMS) {
			snprintf(p->why, sizeof(p->why), "more than %d aliases", CONFIG_MAX_ITEMS);
			return false;
		}
		char *a = strndup(s, n), *k = strdup(canonical);
		/* User names are compared normalised: lower case. */
		for (char *q = a; q && *q; q++)
			*q = (char)ascii_lower(*q);
		for (char *q = k; q && *q; q++)
			*q = (char)ascii_lower(*q);
		if (!a || !k) {
			free(a);
			free(k);
			snprintf(p->why, sizeof(p->why), "out of memory");
			return false;
		}
		c->aliases[c->n_aliases++] = (struct detect_alias){.alias = a, .canonical = k};
		s += n;
	}
	return true;
}

static bool limit_key(struct parse *p, const char *name, const char *value)
{
	static const struct {
		const char *name;
		unsigned bit;
		uint64_t max;
		size_t off;
	} keys[] = {
	    {"flows", CONFIG_SET_FLOWS, 1u << 26, offsetof(struct config, flows)},
	    {"reasm_memcap", CONFIG_SET_MEMCAP, UINT64_C(1) << 40,
	     offsetof(struct config, reasm_memcap)},
	    {"reasm_dir_cap", CONFIG_SET_DIR_CAP, UINT32_MAX,
	     offsetof(struct config, reasm_dir_cap)},
	    {"reasm_depth", CONFIG_SET_DEPTH, UINT64_MAX, offsetof(struct config, reasm_depth)},
	    {"identities", CONFIG_SET_IDENTITIES, 1u << 24, offsetof(struct config, identities)},
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(name, keys[i].name) != 0)
			continue;
		uint64_t v;
		if (config_parse_size(value, keys[i].max, &v) < 0 ||
		    (v == 0 && keys[i].bit != CONFIG_SET_DEPTH)) {
			snprintf(p->why, sizeof(p->why),
			         "%s: expected a size (k, M, G), got \"%s\"", name, value);
			return false;
		}
		memcpy((char *)p->cfg + keys[i].off, &v, sizeof(v));
		p->cfg->set |= keys[i].bit;
		return true;
	}
	snprintf(p->why, sizeof(p->why), "unknown key \"%s\" in [limits]", name);
	return false;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;
	struct config *c = p->cfg;
	if (strcmp(section, "detect") == 0 && strcmp(name, "window") == 0) {
		if (config_parse_duration(value, &c->window_us) == 0)
			return 1;
		snprintf(p->why, sizeof(p->why),
		         "window: expected a duration such as 24h, got \"%s\"", value);
		return 0;
	}
	if (strcmp(section, "allowlist") == 0 && strcmp(name, "pattern") == 0) {
		if (detect_pattern_valid(value))
			return push(c->patterns, &c->n_patterns, value, p);
		snprintf(p->why, sizeof(p->why),
		         "pattern \"%s\": '*' may only start or end a pattern, around some text",
		         value);
		return 0;
	}
	if (strcmp(section, "exchange") == 0 && strcmp(name, "host") == 0)
		return push(c->hosts, &c->n_hosts, value, p);
	if (strcmp(section, "aliases") == 0)
		return add_aliases(p, name, value);
	if (strcmp(section, "limits") == 0)
		return limit_key(p, name, value);
	snprintf(p->why, sizeof(p->why), "unknown key \"%s\" in section [%s]", name, section);
	return 0;
}

int config_load(const char *path, struct config *cfg, char *err, size_t errlen)
{
	struct parse p = {.cfg = cfg};
	struct stat st;
	memset(cfg, 0, sizeof(*cfg));
	if (stat(path, &st) != 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return -EINVAL;
	}
	int r = ini_parse(path, handler, &p);
	if (r == 0)
		return 0;
	if (r == -1)
		snprintf(err, errlen, "%s: %s", path, strerror(errno ? errno : ENOENT));
	else if (r == -2)
		snprintf(err, errlen, "%s: out of memory", path);
	else
		snprintf(err, errlen, "%s:%d: %s", path, r,
		         p.why[0] ? p.why : "not an INI line (expected [section] or key = value)");
	config_release(cfg);
	return r == -2 ? -ENOMEM : -EINVAL;
}

void config_release(struct config *cfg)
{
	for (size_t i = 0; i < cfg->n_patterns; i++)
		free((char *)cfg->patterns[i]);
	for (size_t i = 0; i < cfg->n_hosts; i++)
		free((char *)cfg->hosts[i]);
	for (size_t i = 0; i < cfg->n_aliases; i++) {
		free((char *)cfg->aliases[i].alias);
		free((char *)cfg->aliases[i].canonical);
	}
	memset(cfg, 0, sizeof(*cfg));
}
