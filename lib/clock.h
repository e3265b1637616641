/*
 * clock.h: clock faults.  The writer side of the clock file that mv's
 * LD_PRELOAD shim (lib/shim/mvtime.c, built as libmvtime.so) maps read-only
 * in the target, and of a libfaketime timestamp file; and their undo.
 *
 * The clock file is one page holding struct mv_clock_page.  It is created
 * whole (written aside, then linked into place) and afterwards changed only
 * in place through a shared mapping under a sequence lock, so a process
 * that mapped it once sees every later change at its next clock call.  It
 * is never removed or replaced by these functions: a target keeps the inode
 * it mapped.
 */
#ifndef MV_CLOCK_H
#define MV_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "mv.h"

#define MV_CLOCK_MAGIC "mvclock" /* 8 bytes with the NUL */
#define MV_CLOCK_VERSION 1
#define MV_CLOCK_ENV "MV_CLOCK_FILE" /* where the shim finds the file */
#define MV_CLOCK_MONO_ENV "MV_CLOCK_MONOTONIC" /* "1": skew those too */

/*
 * The file's layout, shared with the shim (which uses this header's layout
 * and constants, and no function of libmv).  seq is odd while a writer
 * changes the rest.  The real-time clocks read real + offset_ns; when
 * period_ns > 0 they read real + strobe_ns instead in every other period
 * of period_ns counted from the real time epoch_ns (a strobe), starting
 * with strobe_ns.
 */
struct mv_clock_page {
	char magic[8];
	uint32_t version;
	_Atomic uint32_t seq;
	_Atomic int64_t offset_ns;
	_Atomic int64_t strobe_ns;
	_Atomic int64_t period_ns;
	_Atomic int64_t epoch_ns;
};

/* A clock fault's settings, as above; all zero is no fault. */
struct mv_clock_state {
	int64_t offset_ns, strobe_ns, period_ns, epoch_ns;
};

/*
 * Reads the clock file at path into *st.  A file that does not exist is no
 * fault (all zero).  Returns 0, or -1 with e filled ("FILE: what").
 */
int mv_clock_read(
    const char *path, struct mv_clock_state *st, struct mv_err *e);

/*
 * Sets the clock file at path to *st, creating it (mode 0644) if it does
 * not exist.  Writers are serialised with flock(2); readers never see a
 * half-written state.  Returns 0, or -1 with e filled.
 */
int mv_clock_write(
    const char *path, const struct mv_clock_state *st, struct mv_err *e);

/*
 * The same for a libfaketime FAKETIME_TIMESTAMP_FILE: the file holds one
 * relative offset such as "+60" or "-1.5" (seconds), replaced atomically
 * (rename) so that libfaketime, rereading it with FAKETIME_NO_CACHE=1,
 * never sees it half-written.  Offsets are whole seconds unless they need
 * a fraction; a fraction is written with '.', which libfaketime reads in
 * the target's LC_NUMERIC.  A missing or empty file reads as 0.
 */
int mv_clock_faketime_read(
    const char *path, int64_t *offset_ns, struct mv_err *e);
int mv_clock_faketime_write(
    const char *path, int64_t offset_ns, struct mv_err *e);

/*
 * The processes that have the clock file at path mapped now (the shim maps
 * it at its first clock call after the file appears), at most max of them
 * into pids[].  Returns how many there are (may exceed max), or -1 with e
 * filled when path cannot be looked at.
 */
int mv_clock_mappers(
    const char *path, long *pids, size_t max, struct mv_err *e);

/*
 * Undo log entries (see mv-nemesis(1)): a line "clock PATH" or
 * "faketime PATH" says that file may hold a fault.  mv_clock_undo_add
 * appends the line for kind ("clock" or "faketime") and path to the undo
 * log unless it is there already (rewriting the log atomically and keeping
 * its other lines).  Returns 0, or -1 with e filled.
 */
int mv_clock_undo_add(
    const char *undo_log, const char *kind, const char *path, struct mv_err *e);

/*
 * Resets every clock and faketime file named in the undo log (other lines
 * are left to their owners).  A log that does not exist holds nothing:
 * returns 0.  Returns how many files it reset, or -1 with e filled
 * ("LOG:LINE: what") after trying every entry.
 */
int mv_clock_heal_log(const char *undo_log, struct mv_err *e);

#endif
