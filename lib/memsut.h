/*
 * memsut.h: the embedded system under test of mv-exec: an in-memory,
 * linearizable store for every workload of mv-gen, with injectable bugs.
 */
#ifndef MV_MEMSUT_H
#define MV_MEMSUT_H

#include <stdint.h>

#include "buf.h"
#include "history.h"
#include "mv.h"

/* Injectable bugs, as a bit set. */
enum {
	MV_BUG_STALE_READ = 1,
	MV_BUG_LOST_WRITE = 2,
	MV_BUG_LOST_UPDATE = 4,
	MV_BUG_DUPLICATE_APPEND = 8,
	MV_BUG_TORN_BATCH = 16
};

/*
 * Parses "stale-read,lost-write" into a bit set; -1 with e filled
 * ("unknown bug: NAME") otherwise.
 */
int mv_bug_parse(const char *list, unsigned *bugs, struct mv_err *e);
/* Appends the names of bugs as a JSON array to b. */
void mv_bug_write(struct mv_buf *b, unsigned bugs);

enum mv_sop_f {
	MV_SOP_READ,    /* register, cas-register, counter, set; kv get */
	MV_SOP_WRITE,   /* register write; kv put */
	MV_SOP_CAS,     /* cas-register */
	MV_SOP_ADD,     /* counter, set */
	MV_SOP_APPEND,  /* kv */
	MV_SOP_SAPPEND, /* stream append */
	MV_SOP_SREAD    /* stream read */
};

/*
 * One prepared operation and, once applied, its result.  Owned by the
 * caller; mv_memsut_op_release frees what prepare and apply allocated.
 * res_value holds the completion's raw JSON value (has_value 0: absent);
 * res_error a static raw JSON error or NULL.
 */
struct mv_memsut_op {
	int f;
	void *key; /* the store's key record */
	int64_t a, b;
	struct mv_buf str; /* kv string; stream: event ids, quoted, joined */
	size_t *evoff;     /* stream: offsets of the events in str */
	size_t nev;
	int steps; /* apply steps taken (a torn batch takes two) */
	int torn;
	int res_type; /* MV_OK or MV_FAIL */
	int has_value;
	struct mv_buf res_value;
	const char *res_error;
};

struct mv_memsut;

/* A store for workload (enum mv_workload of gen.h). */
struct mv_memsut *mv_memsut_new(
    int workload, unsigned bugs, double bug_rate, uint64_t seed);
void mv_memsut_free(struct mv_memsut *s);
/* The store's version: mutations applied so far. */
uint64_t mv_memsut_version(const struct mv_memsut *s);

void mv_memsut_op_init(struct mv_memsut_op *op);
void mv_memsut_op_release(struct mv_memsut_op *op);

/*
 * Checks that ev (an op record) is an operation of the store's workload
 * with a value of the right shape, and fills op.  -1 with e filled ("what
 * is wrong", no position) otherwise.
 */
int mv_memsut_prepare(struct mv_memsut *s, const struct mv_event *ev,
    struct mv_memsut_op *op, struct mv_err *e);

/*
 * One atomic step of op on the store: its linearization point.  Returns 1
 * when op took effect and its result is set, 0 when it needs another step
 * (a batch torn by the torn-batch bug is applied in two).
 */
int mv_memsut_apply(struct mv_memsut *s, struct mv_memsut_op *op);

#endif
