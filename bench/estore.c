/*
 * estore.c: time of the event-store invariants alone (mv_estore_check) on
 * histories already in memory, so that loading is not counted.  All the
 * files are loaded first and then timed in turn, round after round, so
 * that a slow spell of the machine falls on every size alike; the best
 * round of each counts, since other work only ever slows one.
 * usage: estore [-r ROUNDS] FILE...   prints "NS OPS FINDING" per file
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "estore.h"
#include "history.h"

#define MAXF 8

int
main(int argc, char *argv[])
{
	static struct mv_history h[MAXF];
	struct mv_hfinding f[MAXF];
	struct mv_err e;
	int64_t t0, ns, best[MAXF];
	size_t i, ops[MAXF];
	int rc[MAXF], run, rounds = 5, k, n, first = 1, status = 0;

	if (argc > 2 && strcmp(argv[1], "-r") == 0) {
		rounds = atoi(argv[2]);
		first = 3;
	}
	n = argc - first;
	if (n < 1 || n > MAXF || rounds < 1) {
		fprintf(stderr, "usage: estore [-r ROUNDS] FILE...\n");
		return 2;
	}
	for (k = 0; k < n; k++) {
		if (mv_history_load(argv[first + k], 0, &h[k], &e) < 0) {
			fprintf(stderr, "estore: %s\n", e.msg);
			return 2;
		}
		for (i = 0, ops[k] = 0; i < h[k].n; i++)
			ops[k] += h[k].ev[i].type == MV_INVOKE;
		mv_hfinding_init(&f[k]);
		best[k] = INT64_MAX;
		rc[k] = 0;
	}
	for (run = 0; run < rounds; run++)
		for (k = 0; k < n; k++) {
			if (rc[k] < 0)
				continue;
			t0 = mv_now_ns();
			rc[k] = mv_estore_check(
			    &h[k], argv[first + k], 0, 0, &f[k], &e);
			ns = mv_now_ns() - t0;
			best[k] = ns < best[k] ? ns : best[k];
			if (rc[k] < 0)
				fprintf(stderr, "estore: %s\n", e.msg);
		}
	for (k = 0; k < n; k++) {
		printf("%lld %zu %s\n", (long long)best[k], ops[k],
		    rc[k] == 1 ? f[k].anomaly : "-");
		status = rc[k] < 0 ? 2 : status;
		mv_hfinding_release(&f[k]);
		mv_history_release(&h[k]);
	}
	return status;
}
