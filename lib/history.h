/* history.h: the mv history record (man/mv-history.5): read, check, write. */
#ifndef MV_HISTORY_H
#define MV_HISTORY_H

#include <stdint.h>
#include <stdio.h>

#include "buf.h"
#include "mv.h"

enum mv_type {
	MV_INVOKE,
	MV_OK,
	MV_FAIL,
	MV_INFO,
	MV_META, /* optional first line: run metadata */
	MV_OP    /* a workload op from mv-gen, not yet executed */
};

#define MV_NEMESIS (-1) /* process of a fault event ("nemesis") */

/*
 * OVC, the Omniscient Verification Clock stamped on every invoke and
 * completion.  All *_ns are nanoseconds.  ctl: the executor's monotonic
 * clock since run start (equal to "time").  obs: the observing node's wall
 * clock since the Unix epoch (the SUT's if it reports one, else the
 * executor's); obs_src says which: "exec", or the node's name (see
 * mv_node_name_ok).  lo..hi: controller
 * time bounding the true instant of the event.  vc: vector clock as a raw
 * JSON object text {"p0":3,"n1":17}, owned by the event.
 */
struct mv_ovc {
	int present;
	int64_t ctl, obs, lo, hi;
	char obs_src[MV_NODE_NAME_MAX + 1];
	char *vc; /* raw JSON object text, or NULL */
};

/*
 * One record.  Every pointer is owned by the event (mv_event_release frees
 * them).  value/error/extra are raw JSON text exactly as read (compact);
 * value NULL means the field was absent: for a completion, "unknown";
 * the JSON text "null" means "absent" (a read that found nothing).
 */
struct mv_event {
	enum mv_type type;
	int64_t process; /* >= 0 for clients, MV_NEMESIS for faults */
	char *f;
	char *key;     /* NULL when the op has no key */
	char *value;   /* raw JSON, or NULL when absent */
	char *error;   /* raw JSON, or NULL */
	int64_t time;  /* ns since run start; -1 if absent */
	int64_t index; /* -1 if absent */
	int64_t at;    /* MV_OP: scheduled ns since start; -1 if absent */
	struct mv_ovc ovc;
	char *extra; /* other members, raw "\"k\":v,..." text, or NULL */
	char *raw;   /* MV_META: the whole line */
	size_t line; /* line number in the input, 1-based */
};

void mv_event_init(struct mv_event *ev);
void mv_event_release(struct mv_event *ev);
/* Deep copy of src into dst (dst need not be initialised). */
void mv_event_copy(struct mv_event *dst, const struct mv_event *src);

/* Reader flags. */
enum {
	MV_RD_OPS = 1,     /* accept MV_OP records (workload input) */
	MV_RD_NOCHECK = 2, /* skip cross-record checks (pairing, index order) */
	MV_RD_EDN = 4,     /* mv_history_load: the input is Jepsen EDN */
	MV_RD_JSON = 8     /* mv_history_load: JSON lines (default: sniff) */
};

struct mv_reader;

/*
 * A strict streaming reader over f (not closed by the reader); name is used
 * in messages ("-" reads as "<stdin>").  Cross-record checks: index dense
 * and ascending when present, no completion without an invocation, no
 * double invocation, no invocation by a process whose op ended info.
 */
/*
 * f may be NULL: the reader then checks only the lines handed to it with
 * mv_reader_unread (each ending in a newline), for a caller that does its
 * own reading (mv-nemesis polls its input between timed faults).
 */
struct mv_reader *mv_reader_new(FILE *f, const char *name, unsigned flags);
/* Bytes p[0..n) come before the rest of f (already read from it). */
void mv_reader_unread(struct mv_reader *r, const char *p, size_t n);
/* Record i of the input is on line lines[i] of the original text (the
 * array stays the caller's and must outlive the reader). */
void mv_reader_lines(struct mv_reader *r, const size_t *lines, size_t n);
/* 1 if the next mv_reader_next needs no read(2): a whole line is buffered. */
int mv_reader_ready(const struct mv_reader *r);
void mv_reader_free(struct mv_reader *r);
/*
 * Reads the next record into ev (released and reinitialised first).
 * Returns 1 for a record, 0 at end of input, -1 on error with
 * e->msg = "FILE:LINE: what is wrong".  After -1 the reader is finished.
 */
int mv_reader_next(struct mv_reader *r, struct mv_event *ev, struct mv_err *e);
/* Processes with an invocation still open at this point (for closing). */
size_t mv_reader_pending(const struct mv_reader *r, int64_t **procs);

/* Serialises ev as one JSON line (with '\n') onto b. */
void mv_event_write(struct mv_buf *b, const struct mv_event *ev);

/* A whole history in memory (for mv-check, mv-shrink, mv-report). */
struct mv_history {
	struct mv_event *ev;
	size_t n, cap;
	struct mv_event meta; /* type MV_META with raw set, or raw == NULL */
};

/*
 * Loads path ("-" for stdin) fully; -1 with e filled on any error.  Jepsen
 * EDN input (edn.h) is recognised, or chosen by MV_RD_EDN / MV_RD_JSON.
 */
/* --format NAME ("edn" or "json") as mv_history_load flags; -1 if neither. */
int mv_format_flags(const char *name, unsigned *flags, struct mv_err *e);

int mv_history_load(
    const char *path, unsigned flags, struct mv_history *h, struct mv_err *e);
void mv_history_release(struct mv_history *h);

const char *mv_type_name(enum mv_type t);

#endif
