/*
 * partcount.h: the packet counter of a one-shot partition, a detached
 * process that counts with libpcap while the partition is in force, and
 * its stop and report at heal.
 */
#ifndef MV_NEMESIS_PARTCOUNT_H
#define MV_NEMESIS_PARTCOUNT_H

#include "buf.h"
#include "cluster.h"
#include "mv.h"
#include "netfault.h"

/*
 * Starts a counter for the partition sp (kind: "drop" or "reject") on
 * cluster c: a process of its own session in the switch namespace that
 * opens the captures, then, once it is ready, is written to c's undo log
 * as "cap PID START KIND TABLE FILE" (FILE: RUNDIR/count-TABLE.json).
 * Call it after the table's "nft" entry and before the rules go in.  If
 * this process dies before the log line is written, the counter exits by
 * itself.  Returns 0, or -1 with e filled and no counter left.
 */
int partcount_start(const struct mv_cluster *c, const struct mv_nf_spec *sp,
    const char *kind, struct mv_err *e);

/* Kills and reaps the counter partcount_start made (the rules failed). */
void partcount_abort(void);

/*
 * For each counter the undo log at path lists and no heal has reported:
 * stops it (SIGTERM through a pidfd, then waits on the pidfd, SIGKILL
 * after 5s), reads the efficacy report it wrote, appends it to out as a
 * "stop-partition" event at time 0 (or, when the counter died before it
 * could write one, an event with "effective":null saying so), and removes
 * its file.  Returns how many events, or -1 with e filled (the log could
 * not be read).
 */
int partcount_heal(const char *path, struct mv_buf *out, struct mv_err *e);

#endif
