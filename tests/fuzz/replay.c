/*
 * replay.c — runs a fuzz target over stored inputs, without libFuzzer.
 *
 *   replay_<name> PATH...
 *
 * Every PATH is a corpus directory (each regular file in it, in name order)
 * or a single input file.  Each input is copied into a heap buffer of
 * exactly its size, so that a sanitizer build catches a read one byte past
 * the end, and handed to LLVMFuzzerTestOneInput().  A target that breaks an
 * invariant aborts, which fails the test; a missing or unreadable path or a
 * directory without inputs fails it too (a corpus that silently replays
 * nothing tests nothing).
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Inputs larger than this are not corpus files (libFuzzer's -max_len is
 * far below); refusing them keeps a stray file from eating memory. */
#define REPLAY_MAX_INPUT (16u * 1024u * 1024u)

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	uint8_t *data = NULL;
	size_t size;
	int ret = -1;

	if (!f) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) < 0 || st.st_size < 0 || st.st_size > REPLAY_MAX_INPUT) {
		fprintf(stderr, "replay: %s: cannot size it, or too large\n", path);
		goto out;
	}
	size = (size_t)st.st_size;
	/* malloc(0) may return NULL; one spare byte that is never handed over. */
	data = malloc(size ? size : 1);
	if (!data || fread(data, 1, size, f) != size) {
		fprintf(stderr, "replay: %s: read failed\n", path);
		goto out;
	}
	LLVMFuzzerTestOneInput(data, size);
	ret = 0;
out:
	free(data);
	fclose(f);
	return ret;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replays every regular file of directory `dir`; the count, or -1. */
static long replay_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	long done = 0;

	if (!d) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **grown = realloc(names, (cap ? cap * 2 : 64) * sizeof(*names));
			if (!grown) {
				done = -1;
				break;
			}
			names = grown;
			cap = cap ? cap * 2 : 64;
		}
		names[n] = strdup(e->d_name);
		if (!names[n]) {
			done = -1;
			break;
		}
		n++;
	}
	closedir(d);
	if (names)
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		struct stat st;
		int w = snprintf(path, sizeof(path), "%s/%s", dir, names[i]);

		if (done >= 0 && w > 0 && (size_t)w < sizeof(path) && stat(path, &st) == 0 &&
		    S_ISREG(st.st_mode)) {
			if (replay_file(path) < 0)
				done = -1;
			else
				done++;
		}
		free(names[i]);
	}
	free(names);
	return done;
}

int main(int argc, char **argv)
{
	long total = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR|FILE...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		struct stat st;
		long n;

		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		n = S_ISDIR(st.st_mode) ? replay_dir(argv[i]) : replay_file(argv[i]) == 0;
		if (n <= 0) {
			fprintf(stderr, "replay: %s: no input replayed\n", argv[i]);
			return 1;
		}
		total += n;
	}
	printf("replay: %ld inputs, no invariant violated\n", total);
	return 0;
}
