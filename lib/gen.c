/*
 * gen.c: the workloads of mv-gen.  One PRNG stream drives every choice in
 * a fixed order, so the options alone decide the output byte for byte.
 */
#include <stdlib.h>
#include <string.h>

#include "gen.h"

#define MAX_KEYS 10000000
#define STALE 3 /* older stream versions remembered per key */

static const char *const wnames[MV_W_COUNT] = {
    "register", "cas-register", "kv", "stream", "set", "counter"};
static const char wprefix[MV_W_COUNT] = {'r', 'r', 'k', 's', 't', 'c'};
static const char *const dnames[MV_DIST_COUNT] = {"uniform", "zipf", "hotspot"};

/* Per key: the last value written, and the stream's simulated versions. */
struct gkey {
	int64_t counter;
	int64_t ver[STALE + 1]; /* ver[0] newest; -1 before any append */
};

struct mv_gen {
	struct mv_gen_opts o;
	struct mv_rng rng;
	struct gkey *k;
	double *cdf; /* zipf only */
	int64_t i;   /* ops generated so far */
};

const char *
mv_workload_name(int w)
{
	return w >= 0 && w < MV_W_COUNT ? wnames[w] : "none";
}

int
mv_workload_lookup(const char *name)
{
	int w;

	for (w = 0; w < MV_W_COUNT; w++)
		if (strcmp(name, wnames[w]) == 0)
			return w;
	return -1;
}

const char *
mv_dist_name(int d)
{
	return d >= 0 && d < MV_DIST_COUNT ? dnames[d] : "none";
}

int
mv_dist_lookup(const char *name)
{
	int d;

	for (d = 0; d < MV_DIST_COUNT; d++)
		if (strcmp(name, dnames[d]) == 0)
			return d;
	return -1;
}

void
mv_gen_opts_init(struct mv_gen_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->workload = MV_W_REGISTER;
	o->dist = MV_DIST_UNIFORM;
	o->n = 1000;
	o->keys = 1;
	o->batch = 3;
	o->read_ratio = 0.5;
	o->seed = 1;
}

struct mv_gen *
mv_gen_new(const struct mv_gen_opts *o, struct mv_err *e)
{
	struct mv_gen *g;
	int64_t i, j;

	if (o->workload < 0 || o->workload >= MV_W_COUNT)
		return mv_err_set(e, "unknown workload"), NULL;
	if (o->keys < 1 || o->keys > MAX_KEYS)
		return mv_err_set(e, "--keys must be in [1, %d]", MAX_KEYS),
		       NULL;
	if (o->duration_ns > 0 && o->rate <= 0)
		return mv_err_set(e, "--duration needs a --rate"), NULL;
	if (o->n < 0 && o->duration_ns <= 0)
		return mv_err_set(e, "no op limit: give --ops or --duration"),
		       NULL;
	g = mv_xcalloc(1, sizeof(*g));
	g->o = *o;
	mv_rng_seed(&g->rng, o->seed);
	g->k = mv_xcalloc((size_t)o->keys, sizeof(*g->k));
	for (i = 0; i < o->keys; i++)
		for (j = 0; j <= STALE; j++)
			g->k[i].ver[j] = -1;
	if (o->dist == MV_DIST_ZIPF) {
		double sum = 0;

		g->cdf = mv_xmalloc((size_t)o->keys * sizeof(*g->cdf));
		for (i = 0; i < o->keys; i++)
			g->cdf[i] = sum += 1.0 / (double)(i + 1);
		for (i = 0; i < o->keys; i++)
			g->cdf[i] /= sum;
	}
	return g;
}

void
mv_gen_free(struct mv_gen *g)
{
	if (g == NULL)
		return;
	free(g->k);
	free(g->cdf);
	free(g);
}

void
mv_gen_meta(const struct mv_gen *g, struct mv_buf *b)
{
	const struct mv_gen_opts *o = &g->o;

	mv_buf_addf(b,
	    "{\"type\":\"meta\",\"gen\":{\"mv\":\"%s\",\"workload\":\"%s\","
	    "\"seed\":%llu,\"n\":%lld,\"keys\":%lld,\"dist\":\"%s\","
	    "\"read_ratio\":%.6g,\"batch\":%lld,\"rate\":%lld,"
	    "\"duration\":%lld}}\n",
	    MV_VERSION, wnames[o->workload], (unsigned long long)o->seed,
	    (long long)o->n, (long long)o->keys, dnames[o->dist], o->read_ratio,
	    (long long)o->batch, (long long)o->rate, (long long)o->duration_ns);
}

/* The key of the next op: uniform, zipf (s = 1) or 80% on the hot tenth. */
static int64_t
pick_key(struct mv_gen *g)
{
	int64_t n = g->o.keys, hot;

	if (n == 1)
		return 0;
	if (g->o.dist == MV_DIST_ZIPF) {
		double u = mv_rng_double(&g->rng);
		int64_t lo = 0, hi = n - 1;

		while (lo < hi) {
			int64_t mid = lo + (hi - lo) / 2;

			if (g->cdf[mid] < u)
				lo = mid + 1;
			else
				hi = mid;
		}
		return lo;
	}
	if (g->o.dist == MV_DIST_HOTSPOT) {
		hot = n / 10 > 0 ? n / 10 : 1;
		if (mv_rng_below(&g->rng, 10) < 8)
			return (int64_t)mv_rng_below(&g->rng, (uint64_t)hot);
		return hot
		    + (int64_t)mv_rng_below(&g->rng, (uint64_t)(n - hot));
	}
	return (int64_t)mv_rng_below(&g->rng, (uint64_t)n);
}

static void
add_head(struct mv_buf *b, const char *f, char prefix, int64_t key)
{
	mv_buf_adds(b, "{\"type\":\"op\",\"f\":\"");
	mv_buf_adds(b, f);
	mv_buf_adds(b, "\",\"key\":\"");
	mv_buf_addc(b, prefix);
	mv_buf_addi(b, key);
	mv_buf_addc(b, '"');
}

static void
add_int_value(struct mv_buf *b, int64_t v)
{
	mv_buf_adds(b, ",\"value\":");
	mv_buf_addi(b, v);
}

static void
push_version(struct gkey *k, int64_t v)
{
	memmove(&k->ver[1], &k->ver[0], STALE * sizeof(k->ver[0]));
	k->ver[0] = v;
}

/*
 * A stream append.  The generator cannot know the stream's version: it
 * asks for "no-stream" on the first append of a key, then 20% "any", 10%
 * "exists", 45% "last" (mv-exec puts in the version its clients last saw
 * for the key, as an optimistic client would), 15% the version of a
 * simulation of its own appends run one at a time, and 10% an older one.
 */
static void
gen_append(struct mv_gen *g, struct mv_buf *b, int64_t key)
{
	struct gkey *k = &g->k[key];
	int64_t nev = 1 + (int64_t)mv_rng_below(&g->rng, (uint64_t)g->o.batch);
	int64_t i, expect = k->ver[0], r;
	int advance = 1;

	add_head(b, "append", 's', key);
	mv_buf_adds(b, ",\"value\":{\"events\":[");
	for (i = 0; i < nev; i++) {
		mv_buf_adds(b, i ? ",\"e" : "\"e");
		mv_buf_addi(b, g->i);
		mv_buf_addc(b, '-');
		mv_buf_addi(b, i);
		mv_buf_addc(b, '"');
	}
	mv_buf_adds(b, "],\"expect\":");
	r = (int64_t)mv_rng_below(&g->rng, 100);
	if (k->ver[0] < 0)
		mv_buf_adds(b, "\"no-stream\"");
	else if (r < 20)
		mv_buf_adds(b, "\"any\"");
	else if (r < 30)
		mv_buf_adds(b, "\"exists\"");
	else if (r < 75)
		mv_buf_adds(b, "\"last\"");
	else {
		if (r >= 90) {
			expect = k->ver[1 + mv_rng_below(&g->rng, STALE)];
			advance = expect == k->ver[0];
		}
		mv_buf_addi(b, expect);
	}
	mv_buf_addc(b, '}');
	if (advance)
		push_version(k, k->ver[0] + nev);
}

static void
gen_stream(struct mv_gen *g, struct mv_buf *b, int64_t key, int read)
{
	int64_t from = 0;

	if (!read) {
		gen_append(g, b, key);
		return;
	}
	/* Mostly whole streams; sometimes a tail, which may start mid-batch. */
	if (mv_rng_below(&g->rng, 10) < 3 && g->k[key].ver[0] > 0)
		from = (int64_t)mv_rng_below(
		    &g->rng, (uint64_t)g->k[key].ver[0] + 1);
	add_head(b, "read", 's', key);
	mv_buf_adds(b, ",\"value\":{\"from\":");
	mv_buf_addi(b, from);
	mv_buf_addc(b, '}');
}

static void
gen_cas(struct mv_gen *g, struct mv_buf *b, int64_t key)
{
	struct gkey *k = &g->k[key];
	int64_t back, from;

	if (k->counter == 0 || mv_rng_below(&g->rng, 2) == 0) {
		add_head(b, "write", 'r', key);
		add_int_value(b, ++k->counter);
		return;
	}
	/* The newest value most often, else one of the two before it. */
	back = (int64_t)mv_rng_below(&g->rng, 4);
	back = back > 1 ? 0 : back + 1;
	from = k->counter - back > 0 ? k->counter - back : k->counter;
	add_head(b, "cas", 'r', key);
	mv_buf_adds(b, ",\"value\":[");
	mv_buf_addi(b, from);
	mv_buf_addc(b, ',');
	mv_buf_addi(b, ++k->counter);
	mv_buf_addc(b, ']');
}

static void
gen_kv(struct mv_gen *g, struct mv_buf *b, int64_t key, int read)
{
	struct gkey *k = &g->k[key];

	if (read) {
		add_head(b, "get", 'k', key);
		return;
	}
	if (mv_rng_below(&g->rng, 2) == 0) {
		add_head(b, "put", 'k', key);
		mv_buf_adds(b, ",\"value\":\"");
	} else {
		add_head(b, "append", 'k', key);
		mv_buf_adds(b, ",\"value\":\"x");
	}
	mv_buf_addi(b, ++k->counter);
	mv_buf_addc(b, '"');
}

static void
gen_op(struct mv_gen *g, struct mv_buf *b)
{
	int64_t key = pick_key(g);
	int read = mv_rng_double(&g->rng) < g->o.read_ratio;
	int w = g->o.workload;

	if (read && w != MV_W_KV && w != MV_W_STREAM) {
		add_head(b, "read", wprefix[w], key);
		return;
	}
	switch (w) {
	case MV_W_REGISTER:
	case MV_W_SET:
		add_head(b, w == MV_W_SET ? "add" : "write", wprefix[w], key);
		add_int_value(b, ++g->k[key].counter);
		break;
	case MV_W_CAS_REGISTER: gen_cas(g, b, key); break;
	case MV_W_KV: gen_kv(g, b, key, read); break;
	case MV_W_STREAM: gen_stream(g, b, key, read); break;
	default:
		add_head(b, "add", 'c', key);
		add_int_value(b, 1 + (int64_t)mv_rng_below(&g->rng, 5));
	}
}

int
mv_gen_next(struct mv_gen *g, struct mv_buf *b)
{
	int64_t at = -1;

	if (g->o.n >= 0 && g->i >= g->o.n)
		return 0;
	if (g->o.rate > 0) {
		/* i / rate seconds, exact in integers for any sane rate. */
		at = (int64_t)((long double)g->i * 1e9L
		    / (long double)g->o.rate);
		if (g->o.duration_ns > 0 && at >= g->o.duration_ns)
			return 0;
	}
	gen_op(g, b);
	if (at >= 0) {
		mv_buf_adds(b, ",\"at\":");
		mv_buf_addi(b, at);
	}
	mv_buf_adds(b, "}\n");
	g->i++;
	return 1;
}
