/* anomaly.h: naming what is wrong with one key's history (internal). */
#ifndef MV_ANOMALY_H
#define MV_ANOMALY_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "history.h"
#include "model.h"

#define MV_NOPOS SIZE_MAX

/* One operation of the key being checked (fail ops are left out). */
struct mv_kop {
	size_t inv, ret; /* positions in h->ev; ret MV_NOPOS when open */
	int status;      /* MV_OK or MV_INFO (never completed counts as info) */
	struct mv_mop mop;
};

/* One key: its ops in invocation order, and the model they run on. */
struct mv_kctx {
	const struct mv_history *h;
	struct mv_model *m;
	const char *key;
	struct mv_kop *op;
	size_t n;
	uint32_t stamp; /* distinct per key, for the scratch arrays below */
	struct mv_anomaly_scratch *scr;
};

/* What is wrong: anomaly name, the ops involved (kop indexes), a sentence. */
struct mv_finding {
	const char *anomaly;
	size_t op[4], nop;
	struct mv_buf why;
};

struct mv_anomaly_scratch;
struct mv_anomaly_scratch *mv_anomaly_scratch_new(void);
void mv_anomaly_scratch_free(struct mv_anomaly_scratch *s);

/*
 * Fast checks whose findings each prove the key non-linearizable (stream,
 * set, counter).  Returns 1 and fills f when one fires, else 0.
 */
int mv_anomaly_precheck(struct mv_kctx *k, struct mv_finding *f);

/*
 * Names the anomaly of a key that WGL proved non-linearizable; stuck is
 * the op the search could not place (MV_NOPOS if none), next[0..nnext)
 * the ops that could not follow a longest linearizable prefix.  Patterns
 * propose their earliest instance, and the earliest wins.  Always fills
 * f, with "nonlinearizable" when no pattern fits.
 */
void mv_anomaly_classify(struct mv_kctx *k, size_t stuck, const uint32_t *next,
    size_t nnext, struct mv_finding *f);

/* Appends "read by process 3 (line 14)" for op i. */
void mv_anomaly_describe(const struct mv_kctx *k, size_t i, struct mv_buf *b);
/* The raw JSON value op i is about: a read's result, a write's argument. */
const char *mv_anomaly_value(const struct mv_kctx *k, size_t i);
/* The same as raw JSON text, or NULL when there is none. */
const char *mv_anomaly_raw_value(const struct mv_kctx *k, size_t i);

#endif
