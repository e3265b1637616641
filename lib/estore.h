/*
 * estore.h: event-store invariants of stream histories, and the finding
 * that whole-history checks (event store, durability) report.
 */
#ifndef MV_ESTORE_H
#define MV_ESTORE_H

#include <stddef.h>

#include "buf.h"
#include "history.h"
#include "mv.h"

/* What a SUT promises beyond the invariants every store keeps. */
enum { MV_PROMISE_RYW = 1 };

/*
 * A violation found by a check over the whole history.  ev[] are history
 * event positions (h->ev) of the operations involved: each op's
 * completion, or its invocation when it has none.  key points into the
 * history.  why is owned by the finding.
 */
struct mv_hfinding {
	const char *check;   /* "event-store" or "durability" */
	const char *anomaly; /* "lost-update", ... */
	const char *key;
	size_t ev[4], nev;
	struct mv_buf why;
};

void mv_hfinding_init(struct mv_hfinding *f);
void mv_hfinding_release(struct mv_hfinding *f);
/* Appends ,"anomaly":..,"key":..,"ops":[...],"why":..,"check":.. to b. */
void mv_hfinding_json(
    const struct mv_history *h, const struct mv_hfinding *f, struct mv_buf *b);
/* Appends "append by process 3 (line 14)" for the op ending at pos. */
void mv_hfinding_op(const struct mv_history *h, size_t pos, struct mv_buf *b);

/* Parses "read-your-writes" into *bits; -1 with e filled otherwise. */
int mv_promise_parse(const char *name, unsigned *bits, struct mv_err *e);
/* The promises a meta line's "promises" arrays name (any tool's member). */
unsigned mv_promise_meta(const struct mv_history *h);

/* 1 if f is an operation only the event-store checks read (subscribe,
 * deliver, checkpoint): the stream model leaves it out. */
int mv_estore_only(const char *f);

/*
 * Checks the event-store invariants of a stream history (man/mv-check.1,
 * EVENT STORE), crashes included.  Returns 1 with f filled for the most
 * telling violation, 0 when there is none, -1 with e filled
 * ("NAME:LINE: what") when an operation is malformed.  With nil_unknown
 * (--nil-unknown) an ok read of null has an unknown result, as an info
 * read has.  Time and memory
 * are linear in the history: no sort, and the big tables sized from
 * counts taken first.  A history of UINT32_MAX - 1 events or more is
 * an error.
 */
int mv_estore_check(const struct mv_history *h, const char *name,
    unsigned promises, int nil_unknown, struct mv_hfinding *f,
    struct mv_err *e);

#endif
