/* shrink.h: delta debugging of a failing history down to a 1-minimal one. */
#ifndef MV_SHRINK_H
#define MV_SHRINK_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "check.h"
#include "history.h"
#include "mv.h"

/*
 * progress, when set, is called with one line of news (no newline) now and
 * then; the library never prints.
 */
struct mv_shrink_opts {
	/* Each check's options; model NULL: as the first check decides. */
	struct mv_check_opts check;
	void (*progress)(void *arg, const char *msg);
	void *arg;
};

/*
 * The outcome.  status is that of the check of the whole history:
 * MV_EXIT_INVALID when the history was shrunk (evs[] then lists the
 * positions in h->ev of the events kept, ascending), MV_EXIT_OK when it was
 * valid and MV_EXIT_UNKNOWN when its check ran out of budget (evs empty).
 * Owned by the result: release with mv_shrink_result_release.
 */
struct mv_shrink_result {
	int status;
	char anomaly[48];
	char key[128];
	size_t ops_before, ops_after; /* operations (units), not events */
	size_t checks;                /* calls of mv_check */
	size_t *evs;
	size_t nevs;
};

void mv_shrink_result_release(struct mv_shrink_result *r);

/*
 * Shrinks h: removes whole operations (an invocation with its completion;
 * each fault event alone) while mv_check still finds the history invalid
 * with the same anomaly name, until no single operation can go.  name is
 * the file name for messages.  Returns 0 with r filled, or -1 with e
 * filled when h cannot be checked at all.
 */
int mv_shrink(const struct mv_history *h, const char *name,
    const struct mv_shrink_opts *o, struct mv_shrink_result *r,
    struct mv_err *e);

/*
 * Appends the shrunk history to b: the meta line of h (if any) with a
 * "shrink" member added, then the events kept, re-indexed from 0.
 */
void mv_shrink_write(struct mv_buf *b, const struct mv_history *h,
    const struct mv_shrink_result *r);

#endif
