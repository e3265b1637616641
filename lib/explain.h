/* explain.h: why one key's verdict is what it is, in JSON and words. */
#ifndef MV_EXPLAIN_H
#define MV_EXPLAIN_H

#include <stddef.h>
#include <stdint.h>

#include "anomaly.h"
#include "buf.h"

/*
 * Appends op i of k as {"index":..,"line":..,"process":..,...}.  "type" is
 * the type of the event the op is cited by (its completion, else its
 * invocation), or with as_taken the way the check took it: "ok", or "info"
 * for an op that may or may not have happened.
 */
void mv_explain_op_json(
    struct mv_buf *b, const struct mv_kctx *k, size_t i, int as_taken);

/* Appends the model state s of k as JSON ("null" for an absent value). */
void mv_explain_state(struct mv_buf *b, const struct mv_kctx *k, uint64_t s);

/*
 * An invalid key whose search finished: prefix[0..np) is a longest
 * linearizable prefix in order, next[0..nn) the ops that could come after
 * it, none legal there.  Appends ,"next":[...],"state":S (and with full
 * ,"linearization":[...]) to json, and sentences saying so to human.
 */
void mv_explain_invalid(const struct mv_kctx *k, const uint32_t *prefix,
    size_t np, const uint32_t *next, size_t nn, int full, struct mv_buf *json,
    struct mv_buf *human);

/*
 * A valid key with witness w[0..nw): appends, for each read (or cas) that
 * is legal only because ops that ended info are taken to have happened,
 * an object {"op":{...},"because":[{...}]} to json (comma first when json
 * is not empty) and, for the first few, a sentence to human.  Returns how
 * many it found.
 */
size_t mv_explain_valid(const struct mv_kctx *k, const uint32_t *w, size_t nw,
    struct mv_buf *json, struct mv_buf *human);

#endif
