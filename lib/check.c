/*
 * check.c: mv_check, linearizability of a whole history.
 *
 * The history is cut into one sub-history per key (linearizability is
 * P-compositional: the whole is linearizable iff every key is), each op is
 * turned into the model's compact form, ops that cannot matter are
 * dropped, pre-checks look for patterns that prove a named anomaly, and
 * WGL decides the rest.  The first invalid key, in order of first
 * appearance, makes the verdict.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anomaly.h"
#include "check.h"
#include "durable.h"
#include "explain.h"
#include "json.h"
#include "wgl.h"
#include "xcheck.h"

/* A key's witness or longest prefix, and the ops that could not follow. */
struct lin {
	uint32_t *prefix, *next;
	size_t nnext;
};

/* A client operation: invocation and completion positions in h->ev. */
struct cop {
	size_t inv, ret;
	uint32_t key;
	int status; /* MV_OK, MV_FAIL, MV_INFO; MV_INFO when never completed */
};

struct ctx {
	const struct mv_history *h;
	const char *name;
	const struct mv_check_opts *o;
	struct mv_err *e;
	int kind;
	struct mv_model *m;
	struct cop *cop;
	size_t ncop;
	const char **keys;
	size_t nkeys;
	struct mv_buf tmp;
	struct mv_anomaly_scratch *scr;
	int64_t t0, deadline;
	uint64_t steps;
	int budget; /* 0, MV_WGL_TIME or MV_WGL_MEMORY */
	const char *budget_key;
	size_t keys_done, memo_peak, depth; /* for stats and progress */
	int64_t search_ns;                  /* time inside mv_wgl_check */
	int64_t shown;               /* when progress was last reported */
	struct mv_buf xjson, xhuman; /* --explain of valid keys */
	size_t nexplained;
};

void
mv_verdict_init(struct mv_verdict *v)
{
	memset(v, 0, sizeof(*v));
	mv_buf_init(&v->json);
	mv_buf_init(&v->human);
}

void
mv_verdict_release(struct mv_verdict *v)
{
	free(v->ops);
	v->ops = NULL;
	v->nops = 0;
	mv_buf_release(&v->json);
	mv_buf_release(&v->human);
}

static uint64_t
hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

/* A small open-addressing map from 64-bit keys or strings to indexes. */
struct map {
	uint64_t *k;
	const char **s;
	size_t *v, cap, n;
};

static void
map_release(struct map *m)
{
	free(m->k);
	free(m->s);
	free(m->v);
}

/* The slot of (k, s) in m; grows first.  m->v[slot] is SIZE_MAX if new. */
static size_t
map_slot(struct map *m, uint64_t k, const char *s)
{
	size_t j;

	if (m->n * 2 >= m->cap) {
		struct map old = *m;
		size_t i;

		m->cap = old.cap ? old.cap * 2 : 64;
		m->k = mv_xcalloc(m->cap, sizeof(*m->k));
		m->s = mv_xcalloc(m->cap, sizeof(*m->s));
		m->v = mv_xmalloc(m->cap * sizeof(*m->v));
		for (i = 0; i < m->cap; i++)
			m->v[i] = SIZE_MAX;
		m->n = 0;
		for (i = 0; i < old.cap; i++)
			if (old.v[i] != SIZE_MAX) {
				j = map_slot(m, old.k[i], old.s[i]);
				m->v[j] = old.v[i];
				m->n++;
			}
		map_release(&old);
	}
	for (j = (size_t)(k * 0x9e3779b97f4a7c15ULL >> 20) & (m->cap - 1);
	     m->v[j] != SIZE_MAX; j = (j + 1) & (m->cap - 1))
		if (m->k[j] == k && (s == NULL || strcmp(m->s[j], s) == 0))
			return j;
	m->k[j] = k;
	m->s[j] = s;
	return j;
}

static const char *
fname(const char *name)
{
	return strcmp(name, "-") == 0 ? "<stdin>" : name;
}

static int
bad(struct ctx *c, size_t pos, const char *what, const char *f)
{
	return mv_err_set(
	    c->e, "%s:%zu: %s %s", fname(c->name), c->h->ev[pos].line, f, what);
}

/* Pairs invocations with completions and numbers the keys. */
static int
pair_ops(struct ctx *c)
{
	struct map procs = {0}, keys = {0};
	size_t i, j;

	c->cop = mv_xmalloc((c->h->n + 1) * sizeof(*c->cop));
	c->keys = mv_xmalloc((c->h->n + 1) * sizeof(*c->keys));
	for (i = 0; i < c->h->n; i++) {
		const struct mv_event *ev = &c->h->ev[i];
		const char *key = ev->key ? ev->key : "";

		if (ev->process < 0 || ev->type > MV_INFO)
			continue;
		j = map_slot(&procs, (uint64_t)ev->process, NULL);
		if (ev->type == MV_INVOKE) {
			struct cop *o = &c->cop[c->ncop];

			if (procs.v[j] < SIZE_MAX - 1)
				break;
			if (procs.v[j] == SIZE_MAX)
				procs.n++;
			o->inv = i;
			o->ret = MV_NOPOS;
			o->status = MV_INFO;
			procs.v[j] = c->ncop++;
			j = map_slot(&keys, hash_str(key), key);
			if (keys.v[j] == SIZE_MAX) {
				keys.v[j] = c->nkeys;
				c->keys[c->nkeys++] = key;
				keys.n++;
			}
			o->key = (uint32_t)keys.v[j];
			continue;
		}
		if (procs.v[j] == SIZE_MAX || procs.v[j] == SIZE_MAX - 1)
			break;
		c->cop[procs.v[j]].ret = i;
		c->cop[procs.v[j]].status = ev->type;
		procs.v[j] = SIZE_MAX - 1; /* free again, slot kept */
	}
	map_release(&procs);
	map_release(&keys);
	if (i < c->h->n)
		return mv_err_set(c->e, "%s:%zu: %s", fname(c->name),
		    c->h->ev[i].line,
		    c->h->ev[i].type == MV_INVOKE
		        ? "invocation by a process with an open invocation"
		        : "completion without an invocation");
	return 0;
}

/* The model named by the meta line's gen.workload, or -1. */
static int
meta_model(const struct mv_history *h)
{
	struct mv_jv *v;
	const struct mv_jv *g, *w;
	struct mv_err e;
	int k = -1;

	if (h->meta.raw == NULL
	    || (v = mv_jv_parse(h->meta.raw, strlen(h->meta.raw), &e)) == NULL)
		return -1;
	if ((g = mv_jv_get(v, "gen")) != NULL && g->kind == MV_JOBJ
	    && (w = mv_jv_get(g, "workload")) != NULL && w->kind == MV_JSTR)
		k = mv_model_lookup(w->s);
	mv_jv_free(v);
	return k;
}

/* --init: a JSON value, for the models with registers. */
static int
check_init(struct ctx *c)
{
	const char *s = c->o ? c->o->init : NULL;
	struct mv_jv *v;
	struct mv_err e;

	if (s == NULL)
		return 0;
	if (c->kind != MV_MODEL_REGISTER && c->kind != MV_MODEL_CAS_REGISTER
	    && c->kind != MV_MODEL_MULTI_REGISTER)
		return mv_err_set(c->e,
		    "--init applies to register, cas-register and "
		    "multi-register, not %s",
		    mv_model_name(c->kind));
	if ((v = mv_jv_parse(s, strlen(s), &e)) == NULL)
		return mv_err_set(c->e, "--init: not a JSON value: %s", s);
	mv_jv_free(v);
	return 0;
}

static int raw_atom(struct ctx *c, const char *raw, uint32_t *a);

/* A new model for c->kind, with --init's initial value. */
static struct mv_model *
new_model(struct ctx *c)
{
	uint32_t a = 0;

	c->m = mv_model_new(c->kind);
	if (c->o && c->o->init && raw_atom(c, c->o->init, &a) == 0)
		mv_model_set_init(c->m, a);
	return c->m;
}

/* Guesses the model from the operation names and value shapes. */
static int
infer_model(const struct ctx *c)
{
	int read_arr = 0, read_int = 0, add = 0, app_obj = 0, app = 0;
	int cas = 0, write = 0;
	size_t i;

	for (i = 0; i < c->ncop; i++) {
		const struct mv_event *inv = &c->h->ev[c->cop[i].inv];
		const char *rv = c->cop[i].ret != MV_NOPOS
		    ? c->h->ev[c->cop[i].ret].value
		    : NULL;

		if (strcmp(inv->f, "get") == 0 || strcmp(inv->f, "put") == 0)
			return MV_MODEL_KV;
		if (strcmp(inv->f, "txn") == 0)
			return MV_MODEL_MULTI_REGISTER;
		if (strcmp(inv->f, "acquire") == 0
		    || strcmp(inv->f, "release") == 0)
			return MV_MODEL_MUTEX;
		if (strcmp(inv->f, "enqueue") == 0
		    || strcmp(inv->f, "dequeue") == 0)
			return MV_MODEL_FIFO_QUEUE;
		cas |= strcmp(inv->f, "cas") == 0;
		write |= strcmp(inv->f, "write") == 0;
		add |= strcmp(inv->f, "add") == 0;
		if (strcmp(inv->f, "append") == 0) {
			app = 1;
			app_obj |= inv->value && inv->value[0] == '{';
		}
		if (strcmp(inv->f, "read") == 0 && rv) {
			read_arr |= rv[0] == '[';
			read_int |=
			    rv[0] == '-' || (rv[0] >= '0' && rv[0] <= '9');
		}
	}
	if (app)
		return app_obj ? MV_MODEL_STREAM : MV_MODEL_KV;
	if (add)
		return read_arr || !read_int ? MV_MODEL_SET : MV_MODEL_COUNTER;
	if (cas || write)
		return MV_MODEL_CAS_REGISTER;
	return MV_MODEL_REGISTER;
}

static int
choose_model(struct ctx *c)
{
	int k;

	if (c->o && c->o->model) {
		if ((k = mv_model_lookup(c->o->model)) < 0)
			return mv_err_set(
			    c->e, "unknown model: %s", c->o->model);
	} else if ((k = meta_model(c->h)) < 0)
		k = infer_model(c);
	c->kind = k;
	return check_init(c);
}

/* The operation code of f under the model, or -1. */
static int
fcode(int kind, const char *f)
{
	int rd = strcmp(f, "read") == 0, wr = strcmp(f, "write") == 0;

	switch (kind) {
	case MV_MODEL_REGISTER:
	case MV_MODEL_CAS_REGISTER:
		if (strcmp(f, "cas") == 0)
			return MV_MOP_CAS;
		break;
	case MV_MODEL_KV:
		rd |= strcmp(f, "get") == 0;
		wr |= strcmp(f, "put") == 0;
		if (strcmp(f, "append") == 0)
			return MV_MOP_APPEND;
		break;
	case MV_MODEL_COUNTER:
	case MV_MODEL_SET:
		wr = 0;
		if (strcmp(f, "add") == 0)
			return MV_MOP_ADD;
		break;
	case MV_MODEL_MULTI_REGISTER:
	case MV_MODEL_MUTEX:
	case MV_MODEL_FIFO_QUEUE:
	case MV_MODEL_UNORDERED_QUEUE: return mv_model_fcode(kind, f);
	default:
		wr = 0;
		if (strcmp(f, "append") == 0)
			return MV_MOP_APPEND;
		break;
	}
	return rd ? MV_MOP_READ : wr ? MV_MOP_WRITE : -1;
}

/* Atom of an already parsed value (canonical compact text). */
static uint32_t
jv_atom(struct ctx *c, const struct mv_jv *v)
{
	mv_buf_reset(&c->tmp);
	mv_jv_write(&c->tmp, v);
	return mv_model_atom(c->m, c->tmp.p, c->tmp.len);
}

/*
 * Atom of raw JSON text.  Text without escapes, objects or arrays is
 * already canonical (the reader keeps values compact); the rest goes
 * through the tree so that "\u0041" and "A" are one atom.
 */
static int
raw_atom(struct ctx *c, const char *raw, uint32_t *a)
{
	struct mv_jv *v;
	struct mv_err e;

	if (raw[0] != '[' && raw[0] != '{' && strchr(raw, '\\') == NULL
	    && strcmp(raw, "-0") != 0) {
		*a = mv_model_atom(c->m, raw, strlen(raw));
		return 0;
	}
	if ((v = mv_jv_parse(raw, strlen(raw), &e)) == NULL)
		return -1;
	*a = jv_atom(c, v);
	mv_jv_free(v);
	return 0;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The blob of an array of values as uint32 atoms, sorted for sets. */
static int
arr_blob(struct ctx *c, const struct mv_jv *v, int sorted, int64_t *blob)
{
	uint32_t *a = mv_xmalloc((v->len + 1) * sizeof(*a));
	size_t i, n = 0;

	for (i = 0; i < v->len; i++)
		a[i] = jv_atom(c, &v->items[i]);
	if (sorted && v->len > 1) {
		qsort(a, v->len, sizeof(*a), cmp_u32);
		for (i = 0; i < v->len; i++)
			if (n == 0 || a[n - 1] != a[i])
				a[n++] = a[i];
	} else
		n = v->len;
	*blob = mv_model_intern(c->m, a, n * 4);
	free(a);
	return 0;
}

/* The blob of a JSON string's bytes (kv values). */
static int
str_blob(struct ctx *c, const char *raw, int64_t *blob)
{
	struct mv_jv *v;
	struct mv_err e;

	if (raw[0] != '"')
		return -1;
	if (strchr(raw, '\\') == NULL) {
		*blob = mv_model_intern(c->m, raw + 1, strlen(raw) - 2);
		return 0;
	}
	if ((v = mv_jv_parse(raw, strlen(raw), &e)) == NULL)
		return -1;
	*blob = mv_model_intern(c->m, v->s, v->len);
	mv_jv_free(v);
	return 0;
}

/* Parses raw as a JSON value of the given kind; NULL if it is not one. */
static struct mv_jv *
parse_kind(const char *raw, enum mv_jkind kind)
{
	struct mv_jv *v;
	struct mv_err e;

	if (raw == NULL || (v = mv_jv_parse(raw, strlen(raw), &e)) == NULL)
		return NULL;
	if (v->kind != kind) {
		mv_jv_free(v);
		return NULL;
	}
	return v;
}

static int
stream_from(const char *in, int64_t *from)
{
	struct mv_jv *v = parse_kind(in, MV_JOBJ);
	const struct mv_jv *r;

	*from = 0;
	if (in == NULL || strcmp(in, "null") == 0)
		return 0;
	if (v == NULL)
		return -1;
	if ((r = mv_jv_get(v, "from")) != NULL) {
		if (r->kind != MV_JINT || r->i < 0) {
			mv_jv_free(v);
			return -1;
		}
		*from = r->i;
	}
	mv_jv_free(v);
	return 0;
}

/* A read's expected result into k->mop.a (and b for streams). */
static int
read_value(
    struct ctx *c, const struct cop *o, struct mv_kop *k, const char *out)
{
	int null = strcmp(out, "null") == 0;
	struct mv_jv *v;
	const char *f = c->h->ev[o->inv].f;

	switch (c->kind) {
	case MV_MODEL_COUNTER:
		if (null)
			return 1;
		if (mv_raw_int(out, &k->mop.a) < 0)
			return bad(c, o->ret, "result is not an integer", f);
		return 1;
	case MV_MODEL_KV:
		if (!null && str_blob(c, out, &k->mop.a) < 0)
			return bad(c, o->ret, "result is not a string", f);
		return 1;
	case MV_MODEL_SET:
	case MV_MODEL_STREAM:
		if (c->kind == MV_MODEL_STREAM
		    && stream_from(c->h->ev[o->inv].value, &k->mop.b) < 0)
			return bad(c, o->inv, "value is not {\"from\":N}", f);
		if (null) {
			if (c->kind == MV_MODEL_SET)
				k->mop.a = mv_model_intern(c->m, "", 0);
			return 1;
		}
		if ((v = parse_kind(out, MV_JARR)) == NULL)
			return bad(c, o->ret, "result is not an array", f);
		arr_blob(c, v, c->kind == MV_MODEL_SET, &k->mop.a);
		mv_jv_free(v);
		return 1;
	default: {
		uint32_t a;

		if (raw_atom(c, out, &a) < 0)
			return bad(c, o->ret, "result is not JSON", f);
		k->mop.a = a;
		return 1;
	}
	}
}

static int
cas_value(struct ctx *c, const struct cop *o, struct mv_kop *k)
{
	struct mv_jv *v = parse_kind(c->h->ev[o->inv].value, MV_JARR);

	if (v == NULL || v->len != 2) {
		mv_jv_free(v);
		return bad(
		    c, o->inv, "value is not [from, to]", c->h->ev[o->inv].f);
	}
	k->mop.a = jv_atom(c, &v->items[0]);
	k->mop.b = jv_atom(c, &v->items[1]);
	mv_jv_free(v);
	return 1;
}

static int
expect_of(const struct mv_jv *x, int64_t *b)
{
	*b = MV_EXPECT_ANY;
	if (x == NULL || (x->kind == MV_JSTR && strcmp(x->s, "any") == 0))
		return 0;
	if (x->kind == MV_JSTR && strcmp(x->s, "no-stream") == 0)
		*b = MV_EXPECT_NO_STREAM;
	else if (x->kind == MV_JSTR && strcmp(x->s, "exists") == 0)
		*b = MV_EXPECT_EXISTS;
	else if (x->kind == MV_JINT && x->i >= -1)
		*b = x->i;
	else
		return -1;
	return 0;
}

/* Stream append {"events":[...],"expect":E} -> {"version":V}. */
static int
append_value(struct ctx *c, const struct cop *o, struct mv_kop *k)
{
	const struct mv_event *inv = &c->h->ev[o->inv];
	struct mv_jv *v = parse_kind(inv->value, MV_JOBJ), *r;
	const struct mv_jv *ev, *x;
	int bad_ev;

	ev = v ? mv_jv_get(v, "events") : NULL;
	bad_ev = ev == NULL || ev->kind != MV_JARR
	    || expect_of(mv_jv_get(v, "expect"), &k->mop.b) < 0;
	if (bad_ev) {
		mv_jv_free(v);
		return bad(c, o->inv,
		    "value is not {\"events\":[...],\"expect\":E}", inv->f);
	}
	arr_blob(c, ev, 0, &k->mop.a);
	mv_jv_free(v);
	k->mop.c = MV_VERSION_UNKNOWN;
	if (o->status != MV_OK || c->h->ev[o->ret].value == NULL)
		return 1;
	r = parse_kind(c->h->ev[o->ret].value, MV_JOBJ);
	x = r ? mv_jv_get(r, "version") : NULL;
	bad_ev = x != NULL && x->kind != MV_JINT;
	if (x && x->kind == MV_JINT)
		k->mop.c = x->i;
	mv_jv_free(r);
	if (bad_ev)
		return bad(c, o->ret, "result is not {\"version\":N}", inv->f);
	return 1;
}

/* An update's argument (write, cas, add, append) into k->mop. */
static int
update_value(struct ctx *c, const struct cop *o, struct mv_kop *k)
{
	const struct mv_event *inv = &c->h->ev[o->inv];
	uint32_t a;

	if (inv->value == NULL)
		return bad(c, o->inv, "has no value", inv->f);
	if (k->mop.f == MV_MOP_CAS)
		return cas_value(c, o, k);
	if (c->kind == MV_MODEL_STREAM)
		return append_value(c, o, k);
	if (c->kind == MV_MODEL_KV) {
		if (str_blob(c, inv->value, &k->mop.a) < 0)
			return bad(c, o->inv, "value is not a string", inv->f);
		return 1;
	}
	if (c->kind == MV_MODEL_COUNTER) {
		if (mv_raw_int(inv->value, &k->mop.a) < 0)
			return bad(
			    c, o->inv, "value is not an integer", inv->f);
		return 1;
	}
	if (raw_atom(c, inv->value, &a) < 0)
		return bad(c, o->inv, "value is not JSON", inv->f);
	k->mop.a = a;
	return 1;
}

/* Fills k for cop o: 1 to keep it, 0 when it cannot matter, -1 error. */
static int
build_kop(struct ctx *c, const struct cop *o, struct mv_kop *k)
{
	const struct mv_event *inv = &c->h->ev[o->inv];
	const char *out = o->ret != MV_NOPOS ? c->h->ev[o->ret].value : NULL;
	int f = fcode(c->kind, inv->f);

	/* Subscriptions are for the event-store checks alone (estore.c). */
	if (f < 0 && c->kind == MV_MODEL_STREAM && mv_estore_only(inv->f))
		return 0;
	if (f < 0)
		return mv_err_set(c->e,
		    "%s:%zu: \"%s\" is not an operation of "
		    "model %s",
		    fname(c->name), inv->line, inv->f, mv_model_name(c->kind));
	if (o->status == MV_FAIL)
		return 0;
	memset(k, 0, sizeof(*k));
	k->inv = o->inv;
	k->ret = o->status == MV_OK ? o->ret : MV_NOPOS;
	k->status = o->status;
	k->mop.f = f;
	k->mop.c = MV_VERSION_UNKNOWN;
	if (f >= MV_MOP_TXN) {
		const char *why = "";
		int rc = mv_model_mop(c->m, f, inv->value,
		    o->status == MV_OK ? out : NULL, c->o && c->o->nil_unknown,
		    &k->mop, &why);

		if (rc < 0)
			return bad(c, rc == -1 ? o->inv : o->ret, why, inv->f);
		return rc;
	}
	if (f != MV_MOP_READ)
		return update_value(c, o, k);
	/* A read that did not complete, or whose result is unknown,
	 * constrains nothing and changes nothing. */
	if (o->status != MV_OK || out == NULL)
		return 0;
	if (c->o && c->o->nil_unknown && strcmp(out, "null") == 0)
		return 0;
	return read_value(c, o, k, out);
}

static int
cmp_i64v(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Drops register writes and cas that may never have happened and whose
 * value no read returned and no cas expected: taking effect could only
 * hand later reads a value none of them saw, so a linearization with
 * them is one without them.  This keeps crashed writers cheap.
 */
static size_t
prune_open_writes(struct mv_kop *k, size_t n)
{
	int64_t *obs = mv_xmalloc((n + 1) * sizeof(*obs)), x;
	size_t i, m = 0, no = 0;

	for (i = 0; i < n; i++) {
		if (k[i].mop.f == MV_MOP_READ || k[i].mop.f == MV_MOP_CAS)
			obs[no++] = k[i].mop.a;
	}
	qsort(obs, no, sizeof(*obs), cmp_i64v);
	for (i = 0; i < n; i++) {
		x = k[i].mop.f == MV_MOP_CAS ? k[i].mop.b : k[i].mop.a;
		if (k[i].status != MV_OK && k[i].mop.f != MV_MOP_READ
		    && bsearch(&x, obs, no, sizeof(*obs), cmp_i64v) == NULL)
			continue;
		k[m++] = k[i];
	}
	free(obs);
	return m;
}

static void
add_stats(struct ctx *c, struct mv_buf *b)
{
	mv_buf_addf(b,
	    ",\"stats\":{\"keys\":%zu,\"keys_checked\":%zu,\"ops\":%zu,"
	    "\"steps\":%llu,\"memo_bytes\":%zu,\"depth\":%zu,"
	    "\"search_ns\":%lld,\"ns\":%lld}}",
	    c->nkeys, c->keys_done, c->ncop, (unsigned long long)c->steps,
	    c->memo_peak, c->depth, (long long)c->search_ns,
	    (long long)(mv_now_ns() - c->t0));
}

static void
head_json(struct ctx *c, struct mv_verdict *v, const char *valid)
{
	mv_buf_reset(&v->json);
	mv_buf_addf(&v->json, "{\"valid\":%s,\"model\":\"%s\"", valid,
	    mv_model_name(c->kind));
	snprintf(v->model, sizeof(v->model), "%s", mv_model_name(c->kind));
}

static void
invalid_verdict(struct ctx *c, struct mv_kctx *k, struct mv_finding *f,
    const struct mv_wgl_res *r, const struct lin *l, struct mv_verdict *v)
{
	size_t i;

	v->status = MV_EXIT_INVALID;
	head_json(c, v, "false");
	snprintf(v->anomaly, sizeof(v->anomaly), "%s", f->anomaly);
	snprintf(v->key, sizeof(v->key), "%s", k->key);
	mv_buf_addf(&v->json, ",\"anomaly\":\"%s\",\"key\":", f->anomaly);
	mv_buf_add_jstr(&v->json, k->key, strlen(k->key));
	mv_buf_adds(&v->json, ",\"ops\":[");
	v->ops = mv_xmalloc((f->nop + 1) * sizeof(*v->ops));
	for (i = 0; i < f->nop; i++) {
		const struct mv_kop *o = &k->op[f->op[i]];

		v->ops[v->nops++] = o->ret != MV_NOPOS ? o->ret : o->inv;
		if (i)
			mv_buf_addc(&v->json, ',');
		mv_explain_op_json(&v->json, k, f->op[i], 0);
	}
	mv_buf_addf(&v->json, "],\"prefix\":%zu,\"why\":", r->depth);
	mv_buf_add_jstr(&v->json, f->why.p, f->why.len);
	mv_buf_reset(&v->human);
	/* A history without keys is one object: no "on key" then. */
	mv_buf_addf(&v->human, "invalid: %s%s%s: %s", f->anomaly,
	    k->key[0] ? " on key " : "", k->key, f->why.p);
	/* The prefix is a longest one only when the search finished. */
	if (r->status == MV_WGL_INVALID)
		mv_explain_invalid(k, l->prefix, r->nprefix, l->next, l->nnext,
		    c->o && c->o->explain, &v->json, &v->human);
	add_stats(c, &v->json);
}

static void
final_verdict(struct ctx *c, struct mv_verdict *v)
{
	const char *what = c->budget == MV_WGL_TIME ? "time" : "memory";

	mv_buf_reset(&v->human);
	if (c->budget == 0) {
		v->status = MV_EXIT_OK;
		head_json(c, v, "true");
		if (c->o && c->o->explain) {
			mv_buf_adds(&v->json, ",\"explain\":[");
			mv_buf_add(&v->json, c->xjson.p, c->xjson.len);
			mv_buf_addc(&v->json, ']');
		}
		add_stats(c, &v->json);
		mv_buf_addf(&v->human, "valid (%s, %zu keys, %zu ops)",
		    mv_model_name(c->kind), c->nkeys, c->ncop);
		if (c->o && c->o->explain && c->nexplained == 0)
			mv_buf_adds(&v->human,
			    ". No read stands only on an operation that "
			    "ended info");
		else if (c->o && c->o->explain)
			mv_buf_add(&v->human, c->xhuman.p, c->xhuman.len);
		return;
	}
	v->status = MV_EXIT_UNKNOWN;
	head_json(c, v, "\"unknown\"");
	snprintf(v->key, sizeof(v->key), "%s", c->budget_key);
	mv_buf_addf(&v->json, ",\"budget\":\"%s\",\"key\":", what);
	mv_buf_add_jstr(&v->json, c->budget_key, strlen(c->budget_key));
	mv_buf_addf(&v->json, ",\"why\":\"%s limit reached\"", what);
	add_stats(c, &v->json);
	mv_buf_addf(&v->human,
	    "unknown: %s limit reached%s%s (%zu of %zu keys checked, "
	    "%llu steps, memo %zu bytes, longest prefix %zu ops)",
	    what, c->budget_key[0] ? " on key " : "", c->budget_key,
	    c->keys_done, c->nkeys, (unsigned long long)c->steps, c->memo_peak,
	    c->depth);
}

/* Reports progress to the caller, at most every half second. */
static void
show_progress(struct ctx *c, uint64_t steps, size_t memo)
{
	struct mv_check_progress p;
	int64_t now;

	if (c->o == NULL || c->o->progress == NULL)
		return;
	if ((now = mv_now_ns()) - c->shown < 500000000LL)
		return;
	c->shown = now;
	p.keys_done = c->keys_done;
	p.keys = c->nkeys;
	p.steps = c->steps + steps;
	p.memo = memo;
	c->o->progress(&p, c->o->progress_arg);
}

static void
wgl_progress(void *arg, uint64_t steps, size_t memo)
{
	show_progress(arg, steps, memo);
}

/* Runs WGL over k; returns the mv_wgl status and fills r and l. */
static int
run_wgl(struct ctx *c, struct mv_kctx *k, int64_t deadline,
    struct mv_wgl_res *r, struct lin *l)
{
	struct mv_wgl_in in;
	uint64_t *pos = mv_xmalloc((2 * k->n + 1) * sizeof(*pos));
	size_t i;

	for (i = 0; i < k->n; i++) {
		pos[i] = k->op[i].inv;
		pos[k->n + i] =
		    k->op[i].ret != MV_NOPOS ? k->op[i].ret : MV_WGL_OPEN;
	}
	memset(&in, 0, sizeof(in));
	in.n = k->n;
	in.inv = pos;
	in.ret = pos + k->n;
	in.deadline_ns = deadline;
	in.mem_limit = c->o ? c->o->memory_limit : 0;
	in.prefix = l->prefix;
	in.progress = wgl_progress;
	in.progress_arg = c;
	{
		struct mv_mop *ops = mv_xmalloc((k->n + 1) * sizeof(*ops));
		int64_t t;

		for (i = 0; i < k->n; i++)
			ops[i] = k->op[i].mop;
		in.ops = ops;
		t = mv_now_ns();
		mv_wgl_check(c->m, &in, r);
		c->search_ns += mv_now_ns() - t;
		free(ops);
	}
	if (r->status == MV_WGL_INVALID)
		l->nnext = mv_wgl_frontier(&in, l->prefix, r->nprefix, l->next);
	free(pos);
	c->steps += r->steps;
	if (r->bytes > c->memo_peak)
		c->memo_peak = r->bytes;
	if (r->depth > c->depth)
		c->depth = r->depth;
	return r->status;
}

/*
 * Checks one key.  Returns 1 when it is invalid (v filled), 0 when valid
 * or undecided (c->budget set), -1 on malformed input.
 */
static int
check_key(struct ctx *c, const size_t *ops, size_t n, struct mv_verdict *v)
{
	struct mv_kctx k;
	struct mv_finding f;
	struct mv_wgl_res r;
	struct lin l;
	size_t i, m = 0;
	int rc, pre;
	int64_t dl;

	mv_model_clear(c->m);
	memset(&k, 0, sizeof(k));
	k.h = c->h;
	k.m = c->m;
	k.key = c->keys[c->cop[ops[0]].key];
	k.stamp = c->cop[ops[0]].key + 1;
	k.scr = c->scr;
	k.op = mv_xmalloc((n + 1) * sizeof(*k.op));
	for (i = 0; i < n; i++) {
		if ((rc = build_kop(c, &c->cop[ops[i]], &k.op[m])) < 0) {
			free(k.op);
			return -1;
		}
		m += (size_t)rc;
	}
	if (c->kind == MV_MODEL_REGISTER || c->kind == MV_MODEL_CAS_REGISTER)
		m = prune_open_writes(k.op, m);
	k.n = m;
	l.prefix = mv_xmalloc((m + 1) * sizeof(*l.prefix));
	l.next = mv_xmalloc((m + 1) * sizeof(*l.next));
	l.nnext = 0;
	memset(&f, 0, sizeof(f));
	mv_buf_init(&f.why);
	pre = mv_anomaly_precheck(&k, &f);
	dl = c->deadline;
	/* With a proof in hand WGL only measures the prefix: bound it. */
	if (pre && (dl == 0 || dl > mv_now_ns() + 2000000000LL))
		dl = mv_now_ns() + 2000000000LL;
	if (c->deadline && mv_now_ns() > c->deadline) {
		memset(&r, 0, sizeof(r));
		r.status = MV_WGL_TIME;
	} else
		run_wgl(c, &k, dl, &r, &l);
	c->keys_done++;
	if (!pre && r.status == MV_WGL_INVALID)
		mv_anomaly_classify(&k, r.stuck, l.next, l.nnext, &f);
	if (pre || r.status == MV_WGL_INVALID)
		invalid_verdict(c, &k, &f, &r, &l, v);
	else if (r.status == MV_WGL_VALID && c->o && c->o->explain)
		c->nexplained += mv_explain_valid(
		    &k, l.prefix, r.nprefix, &c->xjson, &c->xhuman);
	else if (r.status != MV_WGL_VALID && c->budget == 0) {
		c->budget = r.status;
		c->budget_key = k.key;
	}
	mv_buf_release(&f.why);
	free(k.op);
	free(l.prefix);
	free(l.next);
	return pre || r.status == MV_WGL_INVALID;
}

/* Groups the ops by key (stable) and checks key after key. */
static int
check_keys(struct ctx *c, struct mv_verdict *v)
{
	size_t *start = mv_xcalloc(c->nkeys + 2, sizeof(*start));
	size_t *order = mv_xmalloc((c->ncop + 1) * sizeof(*order)), i;
	int rc = 0;

	for (i = 0; i < c->ncop; i++)
		start[c->cop[i].key + 2]++;
	for (i = 2; i < c->nkeys + 2; i++)
		start[i] += start[i - 1];
	for (i = 0; i < c->ncop; i++)
		order[start[c->cop[i].key + 1]++] = i;
	for (i = 0; i < c->nkeys && rc == 0; i++) {
		show_progress(c, 0, 0);
		rc = check_key(c, order + start[i], start[i + 1] - start[i], v);
	}
	free(start);
	free(order);
	return rc;
}

/*
 * The checks over the whole history that run before any search: the
 * event-store invariants of streams (estore.c) and durability across
 * crashes (durable.c).  1 with v filled when one fails, 0, or -1.
 */
static int
whole_checks(struct ctx *c, struct mv_verdict *v)
{
	struct mv_hfinding f;
	unsigned pr = mv_promise_meta(c->h) | (c->o ? c->o->promises : 0);
	size_t i;
	int rc;

	mv_hfinding_init(&f);
	if (c->kind == MV_MODEL_STREAM)
		rc = mv_estore_check(
		    c->h, c->name, pr, c->o && c->o->nil_unknown, &f, c->e);
	else
		rc = mv_durable_check(c->h, c->name, c->kind,
		    c->o && c->o->nil_unknown, &f, c->e);
	if (rc == 1) {
		v->status = MV_EXIT_INVALID;
		head_json(c, v, "false");
		snprintf(v->anomaly, sizeof(v->anomaly), "%s", f.anomaly);
		snprintf(v->key, sizeof(v->key), "%s", f.key);
		mv_hfinding_json(c->h, &f, &v->json);
		add_stats(c, &v->json);
		v->ops = mv_xmalloc((f.nev + 1) * sizeof(*v->ops));
		for (i = 0; i < f.nev; i++)
			v->ops[v->nops++] = f.ev[i];
		mv_buf_reset(&v->human);
		mv_buf_addf(&v->human, "invalid: %s%s%s: %s", f.anomaly,
		    f.key[0] ? " on key " : "", f.key, f.why.p);
	}
	mv_hfinding_release(&f);
	return rc;
}

int
mv_check(const struct mv_history *h, const char *name,
    const struct mv_check_opts *o, struct mv_verdict *v, struct mv_err *e)
{
	struct ctx c;
	int rc = -1;

	/* The other checks of --check live in xcheck.c and its friends. */
	if (o && o->check && strcmp(o->check, "linearizable") != 0)
		return mv_xcheck(h, name, o, v, e);
	memset(&c, 0, sizeof(c));
	c.h = h;
	c.name = name ? name : "-";
	c.o = o;
	c.e = e;
	c.t0 = mv_now_ns();
	c.deadline = o && o->time_limit_ns ? c.t0 + o->time_limit_ns : 0;
	c.shown = c.t0;
	mv_buf_init(&c.tmp);
	mv_buf_init(&c.xjson);
	mv_buf_init(&c.xhuman);
	free(v->ops);
	v->ops = NULL;
	v->nops = 0;
	v->anomaly[0] = v->key[0] = '\0';
	if (pair_ops(&c) == 0 && choose_model(&c) == 0) {
		c.m = new_model(&c);
		c.scr = mv_anomaly_scratch_new();
		rc = whole_checks(&c, v);
		if (rc == 0)
			rc = check_keys(&c, v);
		if (rc == 0)
			final_verdict(&c, v);
		rc = rc < 0 ? -1 : 0;
	}
	mv_model_free(c.m);
	mv_anomaly_scratch_free(c.scr);
	mv_buf_release(&c.tmp);
	mv_buf_release(&c.xjson);
	mv_buf_release(&c.xhuman);
	free(c.cop);
	free(c.keys);
	return rc;
}

int
mv_check_mops(const struct mv_history *h, const char *name,
    const struct mv_check_opts *o, struct mv_model **m, int *kind,
    struct mv_kop **ops, uint32_t **keyid, size_t *n, struct mv_err *e)
{
	struct ctx c;
	size_t i, k = 0;
	int rc = -1;

	memset(&c, 0, sizeof(c));
	c.h = h;
	c.name = name ? name : "-";
	c.o = o;
	c.e = e;
	mv_buf_init(&c.tmp);
	*m = NULL;
	*ops = NULL;
	*keyid = NULL;
	*n = 0;
	if (pair_ops(&c) == 0 && choose_model(&c) == 0) {
		c.m = new_model(&c);
		*ops = mv_xmalloc((c.ncop + 1) * sizeof(**ops));
		*keyid = mv_xmalloc((c.ncop + 1) * sizeof(**keyid));
		rc = 0;
		for (i = 0; i < c.ncop; i++) {
			if ((rc = build_kop(&c, &c.cop[i], &(*ops)[k])) < 0)
				break;
			(*keyid)[k] = c.cop[i].key;
			k += (size_t)rc;
		}
		rc = rc < 0 ? -1 : 0;
	}
	*m = c.m;
	*kind = c.kind;
	*n = k;
	mv_buf_release(&c.tmp);
	free(c.cop);
	free(c.keys);
	return rc;
}
