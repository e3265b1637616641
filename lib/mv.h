/* mv.h: exit statuses, version and error reporting shared by all of libmv. */
#ifndef MV_H
#define MV_H

#include <stddef.h>
#include <stdint.h>

#define MV_VERSION "0.1.0"

/* Exit statuses, the same for every tool (see each page's EXIT STATUS). */
enum {
	MV_EXIT_OK = 0,      /* success; for mv-check: the history is valid */
	MV_EXIT_INVALID = 1, /* mv-check: the history is not valid */
	MV_EXIT_TROUBLE = 2, /* usage, I/O, malformed input */
	MV_EXIT_UNKNOWN = 3  /* a budget ran out before a verdict */
};

/*
 * A library error: library functions return -1 (or NULL) and fill one of
 * these, owned by the caller.  msg already carries "FILE:LINE: " when the
 * error is about input, so a command prints "PROG: " msg and nothing else.
 */
struct mv_err {
	char msg[512];
};

/* Formats into e->msg (if e is not NULL) and returns -1. */
int mv_err_set(struct mv_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Parses a whole decimal integer in [min, max] for option opt.  On failure
 * fills e with "invalid value for OPT: VALUE" and returns -1.
 */
int mv_parse_int(const char *opt, const char *s, long long min, long long max,
    long long *out, struct mv_err *e);

/*
 * Parses a probability in [0, 1] (strtod's syntax) for option opt.  On
 * failure fills e with "invalid value for OPT: VALUE" and returns -1.
 */
int mv_parse_ratio(
    const char *opt, const char *s, double *out, struct mv_err *e);

/* Parses a duration such as 10, 10s, 250ms, 3us, 5ns, 2m into nanoseconds. */
int mv_parse_duration(
    const char *opt, const char *s, int64_t *ns, struct mv_err *e);

/*
 * A node name as "ovc.src" carries it: 1 to MV_NODE_NAME_MAX bytes of
 * [A-Za-z0-9._:-], so it needs no escaping and fits in struct mv_ovc.
 */
#define MV_NODE_NAME_MAX 63
int mv_node_name_ok(const char *p, size_t n);

/*
 * The JSON integer raw (a value's text as the reader keeps it) in *out.
 * Returns 0, or -1 when raw is NULL, not a plain integer, or out of range.
 */
int mv_raw_int(const char *raw, int64_t *out);

/* Monotonic clock in nanoseconds (CLOCK_MONOTONIC). */
int64_t mv_now_ns(void);
/* Wall clock in nanoseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t mv_wall_ns(void);

/*
 * Reads /proc/PID/stat into buf (size bytes, NUL-terminated); returns its
 * state letter, past the command name (which may hold ')' and spaces), or
 * NULL when the process is gone or the line is not understood.  The
 * fields after the state follow it, from ptr + 1.
 */
const char *mv_proc_stat(long pid, char *buf, size_t size);

/* Flushes and checks stdout; returns -1 on a write error (full disk, EPIPE). */
int mv_fshut_stdout(struct mv_err *e);

/* Deterministic PRNG (xoshiro256**), seeded by splitmix64. */
struct mv_rng {
	uint64_t s[4];
};
void mv_rng_seed(struct mv_rng *r, uint64_t seed);
uint64_t mv_rng_next(struct mv_rng *r);
/* Uniform in [0, n); n > 0. */
uint64_t mv_rng_below(struct mv_rng *r, uint64_t n);
/* Uniform double in [0, 1). */
double mv_rng_double(struct mv_rng *r);

/*
 * A zeroed block of n bytes for a big table probed at random: from mmap,
 * 2 MB aligned and marked for huge pages, when n is 2 MB or more, else
 * from calloc.  *mapped says which, for mv_bigfree.  Never NULL.
 */
void *mv_bigalloc(size_t n, size_t *mapped);
void mv_bigfree(void *p, size_t mapped);

#endif
