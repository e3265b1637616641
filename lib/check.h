/* check.h: consistency checking of a loaded history (mv-check, mv-shrink). */
#ifndef MV_CHECK_H
#define MV_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "history.h"
#include "mv.h"

struct mv_check_opts {
	const char *model;     /* NULL: from the meta line, else inferred */
	int64_t time_limit_ns; /* 0: none */
	size_t memory_limit;   /* bytes; 0: none */
	int nil_unknown; /* an ok read of null means unknown, not absent */
};

/*
 * The verdict.  status is MV_EXIT_OK, MV_EXIT_INVALID or MV_EXIT_UNKNOWN.
 * anomaly is "" when valid.  ops[] are history event indexes (positions in
 * h->ev) of the operations involved.  json holds the whole JSON verdict
 * (one line, no newline); human one readable sentence.  Owned by the
 * verdict: release with mv_verdict_release.
 */
struct mv_verdict {
	int status;
	char model[32];
	char anomaly[48];
	char key[128];
	size_t *ops;
	size_t nops;
	struct mv_buf json;
	struct mv_buf human;
};

void mv_verdict_init(struct mv_verdict *v);
void mv_verdict_release(struct mv_verdict *v);

/*
 * Checks h.  Returns 0 with v filled, or -1 with e filled when the history
 * cannot be checked (unknown model, a value of the wrong shape:
 * "FILE:LINE: ..." where known).
 */
int mv_check(const struct mv_history *h, const char *name,
    const struct mv_check_opts *o, struct mv_verdict *v, struct mv_err *e);

#endif
