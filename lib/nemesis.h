/* nemesis.h: process faults (pause, kill, restart) with an undo log. */
#ifndef MV_NEMESIS_H
#define MV_NEMESIS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "mv.h"

enum mv_target_kind { MV_TGT_PID, MV_TGT_PIDFILE, MV_TGT_PGID };

/* A target as given on the command line; arg is borrowed. */
struct mv_target {
	enum mv_target_kind kind;
	const char *arg;
};

/*
 * The fault injector.  It remembers every pid it stopped and not yet
 * continued, and mirrors that set into an undo log file (one pid a line)
 * so that another process can continue them after this one died.
 * cmd (the restart command, or NULL), pidfile (where a restarted
 * process's pid goes, or NULL) and undo_log (or NULL: no log) are
 * borrowed and must outlive the nemesis.  Pids an existing undo log
 * lists are adopted: the next heal continues them too.
 */
struct mv_nemesis;

struct mv_nemesis *mv_nemesis_new(
    const char *cmd, const char *pidfile, const char *undo_log);
/* Frees n (NULL is fine); does not continue anything: call heal first. */
void mv_nemesis_free(struct mv_nemesis *n);

/*
 * Applies fault f ("pause", "resume", "kill", "term", "restart") to the
 * processes the targets t[0..nt) name now, and appends the fault event
 * line (with '\n', "time" = time_ns) to ev, saying honestly what took
 * effect.  Returns the number of processes affected (0: none was alive),
 * or -1 with e filled (unknown fault, unreadable pidfile, no command for
 * restart, fork failure).
 */
int mv_nemesis_fault(struct mv_nemesis *n, const char *f,
    const struct mv_target *t, size_t nt, int64_t time_ns, struct mv_buf *ev,
    struct mv_err *e);

/*
 * Continues every process n stopped; appends a "resume" event to ev when
 * there was any (ev may be NULL).  Async-signal-unsafe but never fails
 * half-way: it tries every pid.  Returns how many it continued.
 */
size_t mv_nemesis_heal(
    struct mv_nemesis *n, int64_t time_ns, struct mv_buf *ev);

/*
 * Makes n's faults about one cluster node: events carry "node":NAME
 * (borrowed), and restart calls start(arg, e) (the node's own command in
 * its namespace: it returns the new pid, or -1 with e filled) instead of
 * the shell command.  node NULL goes back to plain processes.
 */
void mv_nemesis_set_node(struct mv_nemesis *n, const char *node,
    pid_t (*start)(void *arg, struct mv_err *e), void *arg);

/*
 * Makes the freezer cgroup (freezer.h) of the node n's faults are about
 * the way to pause it (NULL: SIGSTOP): pause freezes the cgroup and waits
 * for the kernel to say so, resume thaws it, kill, term and restart take
 * every process in it and thaw it after the signal.  The undo log lists
 * it ("freeze PATH") while it is frozen.  cgroup is borrowed.
 */
void mv_nemesis_set_cgroup(struct mv_nemesis *n, const char *cgroup);

/* Number of processes and cgroups n holds stopped. */
size_t mv_nemesis_npaused(const struct mv_nemesis *n);

/*
 * Continues every pid listed in the undo log at path and removes it.
 * Returns how many pids it signalled, or -1 with e filled.
 */
int mv_nemesis_heal_log(const char *path, struct mv_err *e);

/*
 * Thaws every cgroup the undo log at path lists as frozen, keeping the
 * log (mv_nemesis_heal_log removes it).  Returns how many it thawed (0
 * when there is no log), or -1 with e filled about the first failure.
 */
int mv_nemesis_thaw_log(const char *path, struct mv_err *e);

#endif
