/* durable.h: acknowledged writes must survive crashes (whole history). */
#ifndef MV_DURABLE_H
#define MV_DURABLE_H

#include "estore.h"
#include "history.h"

/*
 * 1 if ev is a fault event that crashed the system under test: a nemesis
 * kill, term, restart or crash whose effect (when it says one) shows that
 * something did go down.
 */
int mv_durable_crash(const struct mv_event *ev);

/* The index in crash[0..n) (ascending positions) of the first after a. */
size_t mv_durable_next(const size_t *crash, size_t n, size_t a);

/*
 * Checks that writes survive the crashes of h, for the register,
 * cas-register, kv and set models (kind: enum mv_model_kind; streams are
 * checked by mv_estore_check).  An ok write, and an info write seen after
 * a recovery, must still be in place for every read that begins after a
 * later crash.  Returns 1 with f filled, 0 when nothing is wrong or h has
 * no crash, -1 with e filled when a value has the wrong shape.
 */
int mv_durable_check(const struct mv_history *h, const char *name, int kind,
    int nil_unknown, struct mv_hfinding *f, struct mv_err *e);

#endif
