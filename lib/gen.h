/* gen.h: seeded, reproducible workload generation (mv-gen). */
#ifndef MV_GEN_H
#define MV_GEN_H

#include <stdint.h>

#include "buf.h"
#include "mv.h"

enum mv_workload {
	MV_W_REGISTER,
	MV_W_CAS_REGISTER,
	MV_W_KV,
	MV_W_STREAM,
	MV_W_SET,
	MV_W_COUNTER,
	MV_W_COUNT
};

enum mv_dist { MV_DIST_UNIFORM, MV_DIST_ZIPF, MV_DIST_HOTSPOT, MV_DIST_COUNT };

/* The workload's name ("cas-register"), and back (-1 if unknown). */
const char *mv_workload_name(int w);
int mv_workload_lookup(const char *name);
const char *mv_dist_name(int d);
int mv_dist_lookup(const char *name);

/*
 * What to generate.  n < 0 means "no op limit" (only with duration_ns).
 * rate 0 schedules nothing ("at" absent); duration_ns needs rate > 0.
 */
struct mv_gen_opts {
	int workload;
	int dist;
	int64_t n;
	int64_t duration_ns;
	int64_t rate; /* ops per second */
	int64_t keys;
	int64_t batch; /* stream: most events per append */
	double read_ratio;
	uint64_t seed;
};

/* Fills o with the defaults of mv-gen(1). */
void mv_gen_opts_init(struct mv_gen_opts *o);

struct mv_gen;

/* A generator over a copy of o; NULL with e filled if o is inconsistent. */
struct mv_gen *mv_gen_new(const struct mv_gen_opts *o, struct mv_err *e);
void mv_gen_free(struct mv_gen *g);
/* Appends the meta line (with its newline) to b. */
void mv_gen_meta(const struct mv_gen *g, struct mv_buf *b);
/*
 * Appends the next op record (one line with its newline) to b and returns
 * 1, or returns 0 when the workload is complete.  The sequence depends only
 * on the options: the same options give byte-identical output.
 */
int mv_gen_next(struct mv_gen *g, struct mv_buf *b);

#endif
