/*
 * clockrun.h: mv-nemesis's clock faults in run schedules (clock-skew,
 * clock-jump, clock-strobe and the family clock) on the nodes of a
 * cluster that have a clock method (mv-cluster(5) "clock"), one at a
 * time, each undone by a reset.
 */
#ifndef MV_NEMESIS_CLOCKRUN_H
#define MV_NEMESIS_CLOCKRUN_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cluster.h"
#include "mv.h"

/* 1 if f names a clock fault of run: "clock", "clock-skew", ... */
int clockrun_fault(const char *f);

/*
 * Parses the value of option opt ("--max-skew", "--max-period"); exits
 * with a message naming the option and the value when it is bad.
 */
void clockrun_option(const char *opt, const char *s);

/*
 * Finds the nodes of c (of nodes[0..nnodes), or all) whose clock can be
 * moved and checks that each clock fault of faults[0..nfaults) has one to
 * fall on.  c is borrowed until clockrun_exit.  Returns 0, or -1 with e
 * filled ("clock-jump: STATE: no node has a clock method").
 */
int clockrun_setup(struct mv_cluster *c, const char *const *nodes,
    size_t nnodes, const char *const *faults, size_t nfaults, struct mv_err *e);

/*
 * If faults[0..nfaults) holds a clock fault: writes every clock file the
 * run may change to undo_log (before any is changed, so that heal
 * --undo-log resets them after a SIGKILL) and makes missing shim clock
 * files, with no offset, for the servers to map early.  Returns 0, or -1
 * with e filled.
 */
int clockrun_prepare(const char *const *faults, size_t nfaults,
    const char *undo_log, struct mv_err *e);

/*
 * Starts clock fault f on nodes and amounts drawn from seed; appends its
 * "start-clock" event at time t, with the efficacy seen, to out.  Returns
 * 0, or -1 with e filled when a clock file could not be written.
 */
int clockrun_start(const char *f, uint64_t seed, int64_t t, struct mv_buf *out,
    struct mv_err *e);

/*
 * Resets the clocks of the fault in force (if any) and appends its
 * "stop-clock" event at time t to out (may be NULL).  Tries every node.
 * Returns 0, or -1 with e filled about the first failure.
 */
int clockrun_stop(int64_t t, struct mv_buf *out, struct mv_err *e);

/*
 * At exit: resets the fault in force without an event, then takes the
 * run's lines out of the undo log (removed when nothing else is left).
 */
void clockrun_exit(void);

/*
 * heal --cluster: resets the clock file of every node of c that has a
 * clock method and whose file exists.  Returns how many, or -1 with e.
 */
int clockrun_heal_cluster(const struct mv_cluster *c, struct mv_err *e);

/* Appends the clock options as members (with a trailing ',') to b. */
void clockrun_meta(struct mv_buf *b);

#endif
