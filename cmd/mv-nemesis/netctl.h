/*
 * netctl.h: mv-nemesis's link faults on a cluster (delay, loss, dup,
 * bandwidth), one at a time, for the one-shot commands and run schedules.
 */
#ifndef MV_NEMESIS_NETCTL_H
#define MV_NEMESIS_NETCTL_H

#include <stdint.h>

#include "buf.h"
#include "cluster.h"
#include "mv.h"

/* What the options say; zero members take the defaults. */
struct netctl_opts {
	const char *node;      /* all links into and out of it */
	const char *from, *to; /* or this one link */
	unsigned delay_ms, jitter_ms, reorder, percent;
	unsigned correlation; /* netem only */
	uint64_t rate_bps;
	int method; /* enum netctl_method */
};

/* --net-method: how delay, loss and dup are done. */
enum netctl_method {
	NETCTL_AUTO,   /* netem where the probe says the kernel has it */
	NETCTL_NETEM,  /* netem, or the fault fails to start */
	NETCTL_NFQUEUE /* the NFQUEUE delayer and nftables tables */
};

/* 1 if f names a link fault: "delay", "loss", "dup" or "bandwidth". */
int netctl_fault(const char *f);

/*
 * Parses the value of option opt into no ("--delay", "--jitter",
 * "--reorder", "--percent", "--rate", "--correlation", "--net-method");
 * exits with a message naming the option and the value when it is bad.
 */
void netctl_option(struct netctl_opts *no, const char *opt, const char *s);

/*
 * Starts fault kind on cluster c, aimed by no (seed draws what no leaves
 * open), after recording it in c's undo log; appends its start event at
 * time t to out.  capture: count packets for the efficacy report.  Only
 * one link fault is in force at a time.  Returns 0, or -1 with e filled.
 */
int netctl_start(struct mv_cluster *c, const char *kind,
    const struct netctl_opts *no, uint64_t seed, int capture, int64_t t,
    struct mv_buf *out, struct mv_err *e);

/*
 * Whether the kernel takes a netem qdisc in c's switch namespace
 * (mv_netem_probe), asked once per process and remembered: 1 yes, 0 no
 * (*why: the kernel's words; static), -1 the probe could not run (e
 * filled; *why: its message).
 */
int netctl_probe(
    const struct mv_cluster *c, const char **why, struct mv_err *e);

/*
 * mv-nemesis probe: prints what netctl_probe says about c (NULL: no
 * --cluster, an error) as one JSON line; returns the exit status (0 when
 * the probe ran, whatever its answer; 2 when it could not).
 */
int netctl_probe_main(const struct mv_cluster *c);

/* 1 if a link fault is in force. */
int netctl_active(void);

/*
 * Stops the fault in force (if any) and appends its stop event with the
 * efficacy report at time t to out (may be NULL).  Returns 0, or -1 with
 * e filled when its table or qdisc could not be removed.
 */
int netctl_stop(int64_t t, struct mv_buf *out, struct mv_err *e);

/*
 * Forgets the fault in force without undoing it (a one-shot fault stays
 * until heal); its memory stays reachable for LeakSanitizer.
 */
void netctl_keep(void);

/*
 * heal --cluster: removes our bandwidth limits from every node's port
 * (tables go with mv_netfault_purge).  Returns how many, or -1 with e.
 */
int netctl_heal(const struct mv_cluster *c, struct mv_err *e);

#endif
