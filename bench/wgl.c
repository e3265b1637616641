/*
 * wgl.c: the linearizability search's cost per step on one history, cold
 * and warm.  mv-check times its search (search_ns) once, in a process
 * that has just started: on a search of a few hundred steps, a few
 * microseconds, that figure is mostly the cold caches and untrained
 * branch predictors of a new process, not the steps.  This runs the
 * whole check of mv_check, as mv-check does, RUNS times in one process
 * on the history already in memory, and prints the first (cold) run's
 * figures and the median and best of the others, from each verdict's own
 * stats, so the accounting is mv-check's.
 * usage: wgl [-r RUNS] FILE
 * prints "STEPS FIRST_NS MEDIAN_NS BEST_NS" (search_ns of the runs)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "history.h"

/* The number after "name": in the verdict's JSON, or -1. */
static long long
stat_of(const char *json, const char *name)
{
	char key[64];
	const char *p;

	snprintf(key, sizeof(key), "\"%s\":", name);
	if ((p = strstr(json, key)) == NULL)
		return -1;
	return strtoll(p + strlen(key), NULL, 10);
}

static int
cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

int
main(int argc, char *argv[])
{
	struct mv_history h;
	struct mv_check_opts o;
	struct mv_verdict v;
	struct mv_err e;
	long long *ns, steps = -1, s;
	int runs = 1001, k, first = 1;

	if (argc > 2 && strcmp(argv[1], "-r") == 0) {
		runs = atoi(argv[2]);
		first = 3;
	}
	if (argc != first + 1 || runs < 2) {
		fprintf(stderr, "usage: wgl [-r RUNS] FILE (RUNS >= 2)\n");
		return 2;
	}
	if (mv_history_load(argv[first], 0, &h, &e) < 0) {
		fprintf(stderr, "wgl: %s\n", e.msg);
		return 2;
	}
	ns = calloc((size_t)runs, sizeof(*ns));
	if (ns == NULL)
		return 2;
	memset(&o, 0, sizeof(o));
	for (k = 0; k < runs; k++) {
		mv_verdict_init(&v);
		if (mv_check(&h, argv[first], &o, &v, &e) < 0) {
			fprintf(stderr, "wgl: %s\n", e.msg);
			return 2;
		}
		s = stat_of(v.json.p ? v.json.p : "", "steps");
		ns[k] = stat_of(v.json.p ? v.json.p : "", "search_ns");
		/* The search is deterministic: the same steps every run. */
		if (s < 1 || ns[k] < 0 || (steps >= 0 && s != steps)) {
			fprintf(stderr,
			    "wgl: %s: run %d: steps %lld, was %lld\n",
			    argv[first], k, s, steps);
			return 2;
		}
		steps = s;
		mv_verdict_release(&v);
	}
	qsort(ns + 1, (size_t)runs - 1, sizeof(*ns), cmp_ll);
	printf("%lld %lld %lld %lld\n", steps, ns[0], ns[1 + (runs - 1) / 2],
	    ns[1]);
	free(ns);
	mv_history_release(&h);
	return 0;
}
