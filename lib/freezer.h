/*
 * freezer.h: a process tree frozen and thawed through a cgroup: cgroup
 * v2's cgroup.freeze (the kernel says "frozen 1" in cgroup.events), or
 * the v1 freezer controller's freezer.state.  Which one a machine has is
 * found at run time from /proc/self/mounts; a cgroup directory's own kind
 * is told by the files in it.  Paths are absolute cgroup directories.
 */
#ifndef MV_FREEZER_H
#define MV_FREEZER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mv.h"

enum mv_freezer_kind { MV_FREEZER_NONE, MV_FREEZER_V2, MV_FREEZER_V1 };

/* "cgroup-v2", "cgroup-v1", or "sigstop" for MV_FREEZER_NONE. */
const char *mv_freezer_method(enum mv_freezer_kind k);

/*
 * The mount point of a writable hierarchy of kind k (a cgroup2 mount, or
 * a v1 mount with the freezer controller) from /proc/self/mounts, copied
 * into root (n bytes).  Returns 0, or -1 when there is none.
 */
int mv_freezer_root(enum mv_freezer_kind k, char *root, size_t n);

/* The kind of the cgroup directory path; MV_FREEZER_NONE if it is gone. */
enum mv_freezer_kind mv_freezer_kind(const char *path);

/* Moves process pid (and so its future children) into cgroup path. */
int mv_freezer_enter(const char *path, pid_t pid, struct mv_err *e);

/*
 * Freezes (freeze = 1) or thaws (0) cgroup path and waits up to
 * timeout_ns until the kernel says so.  Returns 1 when it did, 0 when
 * the kernel did not say so in time (e says what it said), -1 when the
 * cgroup could not be asked (gone, not writable; e filled).
 */
int mv_freezer_set(
    const char *path, int freeze, int64_t timeout_ns, struct mv_err *e);

/* 1 if cgroup path is frozen, 0 if not, -1 if it cannot be read. */
int mv_freezer_frozen(const char *path);

/*
 * Appends the live processes of cgroup path to *v (*n used, *cap
 * allocated; the caller frees *v), skipping ones already there.
 * Returns how many it found, or -1 when it cannot read the cgroup.
 */
int mv_freezer_pids(const char *path, pid_t **v, size_t *n, size_t *cap);

/*
 * Sends sig to every process of cgroup path, then thaws it: a frozen
 * process would hold the signal.  Returns how many it signalled.
 */
size_t mv_freezer_signal(const char *path, int sig);

/*
 * Kills every process of cgroup path (frozen or not) and waits up to
 * timeout_ns until it is empty.  Returns how many it signalled at first;
 * -1 with e filled when some survive.  A cgroup that is gone is empty.
 */
int mv_freezer_kill(const char *path, int64_t timeout_ns, struct mv_err *e);

/*
 * Kills what is left in cgroup path and removes its directory.  Returns
 * 1 when it removed it, 0 when it was not there, -1 with e filled.
 */
int mv_freezer_remove(const char *path, int64_t timeout_ns, struct mv_err *e);

#endif
