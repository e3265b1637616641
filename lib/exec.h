/* exec.h: mv-exec's driver: runs op records against a SUT into a history. */
#ifndef MV_EXEC_H
#define MV_EXEC_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "mv.h"

struct mv_driver;

struct mv_exec_opts {
	int concurrency;     /* logical processes, >= 1 */
	const char *sut_cmd; /* NULL: the embedded store; else a command */
	/*
	 * A driver for a real server (drv.h) and its target, or NULL; then
	 * sut_cmd is the whole --sut text, for the meta line.
	 */
	const struct mv_driver *drv;
	const char *drv_target;
	const char *netns; /* the drivers' network namespace, or NULL */
	int workload;      /* -1: from the meta line, else register */
	unsigned bugs;     /* MV_BUG_* of memsut.h */
	double bug_rate;
	double info_rate; /* embedded store: share of ops that end info */
	uint64_t seed;
	int64_t timeout_ns; /* per op; 0: none */
	int64_t limit;      /* most ops to run; -1: all */
	int pace;           /* wait for each op's "at" */
	int line_buffered;  /* write each event as it happens */
	/* Set (to a signal number) from a signal handler to stop the run. */
	const volatile sig_atomic_t *stop;
};

/* How a run ended, for the exit status. */
struct mv_exec_result {
	int interrupted; /* the signal that stopped it, or 0 */
	int sut_died;    /* the command SUT exited or broke the protocol */
	int sut_status;  /* its wait status, when it was reaped */
	int64_t ops;     /* ops invoked */
	int64_t events;  /* history events written */
};

void mv_exec_opts_init(struct mv_exec_opts *o);

/*
 * Reads op records (and nemesis events) from in, named name in messages,
 * drives the SUT and writes the history to file descriptor out.  Every
 * invocation written gets its completion, also on interruption or a dead
 * SUT (as info).  Returns 0 when the history is complete (see res for how
 * it ended), -1 with e filled on malformed input ("FILE:LINE: ..."), a
 * write error on out, or a SUT that cannot be started.
 */
int mv_exec_run(const struct mv_exec_opts *o, FILE *in, const char *name,
    int out, struct mv_exec_result *res, struct mv_err *e);

#endif
