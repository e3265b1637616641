/*
 * cluster.h: a local cluster in network namespaces (mv-cluster(5)): its
 * description and runtime state file, and bringing it up and down.
 *
 * The description and the state are one JSON format: the state is the
 * description with every default filled in and the runtime facts (run id,
 * namespaces, ports, data directories, pids) added, so a reader such as
 * mv-exec needs only mv_cluster_load.  Bringing a cluster up, restarting a
 * node and tearing down live in topo.c and are the only functions here
 * with effects on the system; they never touch the root namespace.
 */
#ifndef MV_CLUSTER_H
#define MV_CLUSTER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "json.h"
#include "mv.h"
#include "ns.h" /* mv_netns_enter, mv_netns_leave */

#define MV_CLUSTER_MAX_NODES 32
#define MV_CLUSTER_NAME_MAX 12 /* node names: "p-" + name is an ifname */
#define MV_CLUSTER_RUNID_MAX 12

/*
 * One node (or the client).  Command members (start, restart, ready)
 * point into the cluster's document tree or are NULL (then the cluster's
 * own member applies).  Runtime members are NULL or 0 until the cluster
 * is up.  Everything is owned by the cluster.
 */
struct mv_cnode {
	char *name, *addr; /* addr: dotted IPv4, no prefix */
	const struct mv_jv *start, *restart, *ready;
	const struct mv_jv *clock;    /* mv-cluster(5) "clock", or NULL */
	char *netns, *port, *dir;     /* runtime */
	char *cgroup;                 /* runtime: its freezer cgroup, or NULL */
	long pid;                     /* runtime: leader of its process group */
	unsigned long long pid_start; /* its start time (/proc stat field 22) */
};

struct mv_cluster {
	char *path; /* the file it was loaded from */
	struct mv_jv *doc;
	char *subnet;          /* network address, dotted */
	int prefix;            /* subnet prefix length, 8..30 */
	char *base;            /* where per-run data directories go */
	char *peer;            /* the template {peers} joins, one per node */
	int64_t ready_timeout; /* ns */
	const struct mv_jv *start, *restart, *ready;
	const struct mv_jv *clock; /* every node's, unless it has its own */
	struct mv_cnode *nodes;
	size_t n;
	struct mv_cnode client; /* name "client"; no commands */
	/* Runtime, NULL until up. */
	char *run_id, *switch_ns, *bridge, *run_dir, *undo_log, *state;
	char *cgroup; /* the nodes' cgroups' parent, or NULL (freezer.c) */
};

/*
 * Reads a cluster description or state from path and checks it whole
 * (unknown members, types, names, addresses inside the subnet, no two
 * alike, placeholders).  Returns the cluster, owned by the caller, or
 * NULL with e filled ("FILE: nodes[1].addr: what is wrong").
 */
struct mv_cluster *mv_cluster_load(const char *path, struct mv_err *e);
/* Frees c (NULL is fine). */
void mv_cluster_free(struct mv_cluster *c);

/* The node named name, or NULL. */
struct mv_cnode *mv_cluster_node(struct mv_cluster *c, const char *name);

/*
 * Expands the command cmd for node nd: placeholders replaced in every
 * word.  A JSON array becomes its words; a string becomes "/bin/sh" "-c"
 * STRING.  *argv is NULL-terminated, owned by the caller
 * (mv_cluster_argv_free).  Returns 0, or -1 with e filled.
 */
int mv_cluster_argv(const struct mv_cluster *c, const struct mv_cnode *nd,
    const struct mv_jv *cmd, char ***argv, struct mv_err *e);
void mv_cluster_argv_free(char **argv);

/*
 * Appends s with its placeholders expanded for the client (so {addr:NAME}
 * names node NAME's address, {client} the client's) to out.  Returns 0,
 * or -1 with e filled.
 */
int mv_cluster_expand(const struct mv_cluster *c, const char *s,
    struct mv_buf *out, struct mv_err *e);

/* How a node's clock can be moved (mv-cluster(5) "clock"). */
enum mv_cluster_clock {
	MV_CCLOCK_NONE,
	MV_CCLOCK_SHIM,    /* mv's clock file, read by libmvtime.so */
	MV_CCLOCK_FAKETIME /* a libfaketime timestamp file */
};

/*
 * The clock method of node nd (its own "clock", else the cluster's): its
 * file, placeholders expanded and made absolute against the node's data
 * directory, appended to path.  Returns the method (MV_CCLOCK_NONE, path
 * untouched, when there is none), or -1 with e filled.
 */
int mv_cluster_clock(const struct mv_cluster *c, const struct mv_cnode *nd,
    struct mv_buf *path, struct mv_err *e);

/* Appends c as its state file's JSON (one line, with '\n') to b. */
void mv_cluster_write(const struct mv_cluster *c, struct mv_buf *b);
/* Writes c's state to c->state atomically (rename).  0, or -1 with e. */
int mv_cluster_save(const struct mv_cluster *c, struct mv_err *e);

/* --- effects on the system (topo.c) --- */

/*
 * Brings c (a description) up as run run_id (NULL: a fresh one): the
 * undo log (undo_log, or BASE/mvRUNID.undo), then the run directory, the
 * switch, client and node namespaces with their bridge, veths and
 * addresses, then each node's process; waits until every node passes its
 * ready check; writes the state (state, or RUNDIR/cluster.json).  Every
 * namespace, directory and process is recorded in the undo log before it
 * is created.  Polls *stop (may be NULL) and gives up when it is set.
 * Returns 0 with c's runtime members filled, or -1 with e filled after
 * undoing everything it made.
 */
int mv_cluster_up(struct mv_cluster *c, const char *run_id,
    const char *undo_log, const char *state, volatile sig_atomic_t *stop,
    struct mv_err *e);

/*
 * (Re)starts node nd of a running cluster with its restart command
 * (restart = 1) or start command, in its namespace, in its own session,
 * output appended to DIR/log; the process is in the undo log before it
 * runs.  Updates nd->pid and nd->pid_start (not the state file).
 * Returns the pid, or -1 with e filled.
 */
pid_t mv_cluster_start_node(
    struct mv_cluster *c, struct mv_cnode *nd, int restart, struct mv_err *e);

/* 1 if nd's recorded process (pid and start time) is alive. */
int mv_cluster_node_alive(const struct mv_cnode *nd);

/*
 * Sends sig to every process in every node namespace of c (SIGCONT:
 * whatever a dead nemesis left stopped).  Returns how many it signalled.
 */
size_t mv_cluster_signal_all(const struct mv_cluster *c, int sig);

/* What a heal undid. */
struct mv_heal_counts {
	size_t procs, netns, dirs, tables;
};

/* 1 if the file at path is a cluster undo log, 0 if not (or unreadable). */
int mv_cluster_is_undo_log(const char *path);

/*
 * Undoes everything the cluster undo log at path records, in reverse:
 * kills the processes (those still alive with the recorded start time)
 * and every other process in the namespaces, deletes the namespaces
 * (and with them every link and nftables table in them), removes the
 * data directories (only those holding the marker file
 * mv_cluster_up leaves), then the log.  Tries every entry whatever
 * fails.  Returns 0 (counts in *n, may be NULL), or -1 with e filled
 * about the first failure (the log is then kept).
 */
int mv_cluster_heal_log(
    const char *path, struct mv_heal_counts *n, struct mv_err *e);

/*
 * Appends one line to the undo log at path and syncs it (O_APPEND, one
 * write: concurrent writers do not interleave).  For other modules that
 * make things in a cluster (a netfault table: "nft NETNS TABLE").
 */
int mv_cluster_log(const char *path, const char *line, struct mv_err *e);

/*
 * Field 22 of /proc/PID/stat, the process's start time in clock ticks;
 * 0 if there is no such process or it is a zombie.  With the pid it names
 * one process for good: a pid can be reused, a (pid, start) pair cannot.
 */
unsigned long long mv_proc_start_time(long pid);

/*
 * Whether pid is still the process that started at st: 1, with *fd a
 * pidfd naming that very process (signals through it cannot reach a pid's
 * next owner; -1 where the kernel has none) that the caller closes; 0,
 * with *fd -1, when it is gone.
 */
int mv_proc_hold(long pid, unsigned long long st, int *fd);

/*
 * Forks a child that its parent can hold back and hear from: a "go" pipe
 * the child reads to wait for leave, and a "report" pipe it writes to.
 * Returns 0 in the child, with *go the read end and *rep the write end;
 * the child's pid in the parent, with *go the write end and *rep the read
 * end (the other ends are closed on both sides, and all are close-on-exec).
 * -1 with e filled, and nothing left open, if a pipe or the fork fails.
 */
pid_t mv_fork_gated(int *go, int *rep, struct mv_err *e);

#endif
