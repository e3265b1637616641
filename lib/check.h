/* check.h: consistency checking of a loaded history (mv-check, mv-shrink). */
#ifndef MV_CHECK_H
#define MV_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "history.h"
#include "mv.h"

/* Where a long check stands (for a progress line). */
struct mv_check_progress {
	size_t keys_done, keys;
	uint64_t steps;
	size_t memo; /* entries in the current key's memo */
};

struct mv_check_opts {
	const char *model;     /* NULL: from the meta line, else inferred */
	int64_t time_limit_ns; /* 0: none */
	size_t memory_limit;   /* bytes; 0: none */
	int nil_unknown; /* an ok read of null means unknown, not absent */
	int explain;     /* --explain: witnesses and prefixes in the verdict */
	/* --init: the JSON initial value of the registers, or NULL */
	const char *init;
	/* Called at most every half second while checking, or NULL. */
	void (*progress)(const struct mv_check_progress *p, void *arg);
	void *progress_arg;
	const char *check;  /* --check: NULL or "linearizable", else xcheck.h */
	int has_bank_total; /* bank_total was given (--bank-total) */
	unsigned promises;  /* --promise: MV_PROMISE_* bits of estore.h */
	int64_t bank_total;
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

/*
 * For the checks that are not per key (sequential consistency): the
 * compact model ops of every op of h that can matter, all keys together,
 * on one new model *m (the caller frees it and *ops, *keyid).  keyid[i]
 * numbers op i's key densely from 0; *kind is the model chosen as by
 * mv_check.  -1 with e filled on malformed input.
 */
struct mv_kop;
struct mv_model;
int mv_check_mops(const struct mv_history *h, const char *name,
    const struct mv_check_opts *o, struct mv_model **m, int *kind,
    struct mv_kop **ops, uint32_t **keyid, size_t *n, struct mv_err *e);

#endif
