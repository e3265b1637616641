/*
 * estore.c: time of the event-store invariants alone (mv_estore_check) on
 * a history already in memory, so that loading is not counted.  The best
 * of three runs counts: other work on the machine only ever slows one.
 * usage: estore FILE   prints "NS OPS FINDING"
 */
#include <stdio.h>
#include <string.h>

#include "estore.h"
#include "history.h"

int
main(int argc, char *argv[])
{
	struct mv_history h;
	struct mv_hfinding f;
	struct mv_err e;
	int64_t t0, ns, best = INT64_MAX;
	size_t i, ops = 0;
	int rc = 0, run;

	if (argc != 2) {
		fprintf(stderr, "usage: estore FILE\n");
		return 2;
	}
	if (mv_history_load(argv[1], 0, &h, &e) < 0) {
		fprintf(stderr, "estore: %s\n", e.msg);
		return 2;
	}
	for (i = 0; i < h.n; i++)
		ops += h.ev[i].type == MV_INVOKE;
	mv_hfinding_init(&f);
	for (run = 0; run < 3 && rc >= 0; run++) {
		t0 = mv_now_ns();
		rc = mv_estore_check(&h, argv[1], 0, &f, &e);
		ns = mv_now_ns() - t0;
		best = ns < best ? ns : best;
	}
	if (rc < 0)
		fprintf(stderr, "estore: %s\n", e.msg);
	printf(
	    "%lld %zu %s\n", (long long)best, ops, rc == 1 ? f.anomaly : "-");
	mv_hfinding_release(&f);
	mv_history_release(&h);
	return rc < 0 ? 2 : 0;
}
