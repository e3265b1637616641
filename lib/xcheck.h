/*
 * xcheck.h: the checks of mv-check other than linearizability (internal):
 * property checks over whole histories (set, counter, bank, unique-ids,
 * lib/setcheck.c) and weaker consistency models (sequential,
 * lib/seqcon.c; causal, lib/causal.c).  They share the pairing of
 * operations, the error messages and the shape of the verdict here.
 */
#ifndef MV_XCHECK_H
#define MV_XCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "check.h"
#include "history.h"

#define MV_XNONE SIZE_MAX

/* One client operation, invocation paired with its completion. */
struct mv_xop {
	size_t inv,
	    ret;    /* positions in h->ev; ret MV_XNONE if never completed */
	int status; /* MV_OK, MV_FAIL or MV_INFO (never completed: info) */
	int64_t process;
	const char *f;
	const char *key; /* "" when the op has none */
	const char *in;  /* the invocation's value, or NULL */
	const char *out; /* the completion's value, or NULL */
};

/*
 * A check in progress.  The check fills anomaly (NULL while valid), the
 * ops of the finding (indexes into op[]), why, and extra: JSON members
 * such as ",\"counts\":{...}" that go into the verdict either way.
 */
struct mv_xctx {
	const struct mv_history *h;
	const char *name; /* for messages: "<stdin>" or the path */
	const struct mv_check_opts *o;
	struct mv_err *e;
	struct mv_xop *op; /* in invocation order */
	size_t n;
	int64_t t0, deadline; /* mv_now_ns(); deadline 0: none */
	const char *check, *model;
	const char *anomaly;
	const char *budget; /* "time" or "memory" when the check gave up */
	size_t *fop, nfop, capfop;
	size_t prefix; /* sequential: ops ordered before it got stuck */
	struct mv_buf why, extra;
};

/* Is name one of the checks of --check (linearizable included)? */
int mv_xcheck_known(const char *name);

/*
 * Runs the check o->check over h (not "linearizable": that is mv_check's
 * own).  Same contract as mv_check.
 */
int mv_xcheck(const struct mv_history *h, const char *name,
    const struct mv_check_opts *o, struct mv_verdict *v, struct mv_err *e);

/* "FILE:LINE: what" about event pos; returns -1. */
int mv_xbad(struct mv_xctx *x, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Starts a finding: names it and forgets earlier ops and why. */
void mv_xfound(struct mv_xctx *x, const char *anomaly);
/* Adds op i (an index into x->op) to the finding. */
void mv_xaddop(struct mv_xctx *x, size_t i);
/* Appends "read by process 3 (line 14)" for op i. */
void mv_xdescribe(const struct mv_xctx *x, size_t i, struct mv_buf *b);
/* The line of op i's completion, else of its invocation. */
size_t mv_xline(const struct mv_xctx *x, size_t i);
/* 1 when the time budget is spent (sets x->budget). */
int mv_xexpired(struct mv_xctx *x);

/* The checks; each returns 0 (a verdict in x) or -1 (e filled). */
int mv_setcheck_set(struct mv_xctx *x);
int mv_setcheck_counter(struct mv_xctx *x);
int mv_setcheck_bank(struct mv_xctx *x);
int mv_setcheck_ids(struct mv_xctx *x);
int mv_seqcon_check(struct mv_xctx *x);
/* which: "cc", "ccv" or "cm". */
int mv_causal_check(struct mv_xctx *x, const char *which);

#endif
