/* wgl.h: linearizability of one object's history by Wing-Gong-Lowe search. */
#ifndef MV_WGL_H
#define MV_WGL_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

#define MV_WGL_OPEN UINT64_MAX /* ret of an op that may never take effect */

/*
 * The operations of one object.  inv[i] < ret[i] are positions in one
 * total order of events (distinct across ops); ret[i] == MV_WGL_OPEN marks
 * an op that may take effect at any point after inv[i], or never (info,
 * or never completed).  Every other op must take effect between the two.
 */
struct mv_wgl_in {
	size_t n;
	const struct mv_mop *ops;
	const uint64_t *inv, *ret;
	int64_t deadline_ns; /* mv_now_ns() bound, 0: none */
	size_t mem_limit;    /* bytes for memo and model, 0: none */
	/*
	 * Optional, n entries: receives the ops of a witness in order
	 * (valid) or of a longest linearizable prefix (otherwise).
	 */
	uint32_t *prefix;
	/* Optional, called every few thousand steps with the steps so
	 * far and the memo's entries. */
	void (*progress)(void *arg, uint64_t steps, size_t memo);
	void *progress_arg;
};

enum { MV_WGL_VALID, MV_WGL_INVALID, MV_WGL_TIME, MV_WGL_MEMORY };

/*
 * status is one of the above.  depth is the largest number of ops
 * linearized together; stuck the op whose completion blocked the search at
 * that depth (SIZE_MAX if none); bytes the peak memory of the memo and
 * search arrays, memo its entries; nprefix how many ops in->prefix holds
 * (the witness when valid, else depth).
 */
struct mv_wgl_res {
	int status;
	uint64_t steps;
	size_t depth, stuck, bytes, memo, nprefix;
};

/* Searches for a linearization of in under m (mv_model_clear'ed by the
 * caller between objects).  Returns res->status. */
int mv_wgl_check(
    struct mv_model *m, const struct mv_wgl_in *in, struct mv_wgl_res *res);

/*
 * The ops that could be linearized right after the np ops of prefix (in
 * index order) into out (n entries): those not in the prefix invoked
 * before the earliest completion of a required op outside it.  After a
 * longest prefix of an invalid history each is illegal in the state the
 * prefix leaves.  Returns their number.
 */
size_t mv_wgl_frontier(const struct mv_wgl_in *in, const uint32_t *prefix,
    size_t np, uint32_t *out);

#endif
