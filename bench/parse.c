/*
 * parse.c: NDJSON parse speed of mv's strict reader, against bare getline
 * and against jsmn (tokenising only: no record checks, no strictness).
 */
#define JSMN_STATIC
#include <jsmn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "history.h"

int
main(int argc, char *argv[])
{
	FILE *f;
	int64_t t0, ns;
	size_t n = 0, bytes = 0;

	if (argc != 3 || (f = fopen(argv[2], "r")) == NULL) {
		fprintf(stderr, "usage: parse getline|jsmn|reader FILE\n");
		return 2;
	}
	t0 = mv_now_ns();
	if (strcmp(argv[1], "getline") == 0) {
		char *line = NULL;
		size_t cap = 0;
		ssize_t len;

		while ((len = getline(&line, &cap, f)) > 0)
			n++, bytes += (size_t)len;
		free(line);
	} else if (strcmp(argv[1], "jsmn") == 0) {
		char *line = NULL;
		size_t cap = 0;
		ssize_t len;
		jsmntok_t tok[512];
		jsmn_parser p;

		while ((len = getline(&line, &cap, f)) > 0) {
			jsmn_init(&p);
			if (jsmn_parse(&p, line, (size_t)len, tok, 512) < 0)
				return 2;
			n++, bytes += (size_t)len;
		}
		free(line);
	} else {
		struct mv_reader *r = mv_reader_new(f, argv[2], 0);
		struct mv_event ev;
		struct mv_err e;
		int rc;

		mv_event_init(&ev);
		while ((rc = mv_reader_next(r, &ev, &e)) > 0)
			n++;
		if (rc < 0) {
			fprintf(stderr, "parse: %s\n", e.msg);
			return 2;
		}
		mv_event_release(&ev);
		mv_reader_free(r);
		bytes = (size_t)ftell(f);
	}
	ns = mv_now_ns() - t0;
	printf("%s %zu records %.1f MB %.1f MB/s\n", argv[1], n, bytes / 1e6,
	    bytes / 1e6 / (ns / 1e9));
	fclose(f);
	return 0;
}
