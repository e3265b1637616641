/*
 * explain.c: why a key's verdict is what it is.
 *
 * For an invalid key the search leaves a longest linearizable prefix; the
 * ops that could come right after it are each illegal in the state it
 * leaves (a legal one would have made the prefix longer), so naming the
 * state and those ops says why the history cannot go on.  For a valid
 * key the witness says which ops that ended info were taken to have
 * happened, and so which reads stand only on them.
 */
#include <stdlib.h>
#include <string.h>

#include "explain.h"

/* Ops named in the human sentence before "and N more". */
#define HUMAN_MAX 5
/* Valid-key explanations kept in the JSON, per key. */
#define JSON_MAX 100
/* Info ops looked at behind one read. */
#define WALK_MAX 64

static const struct mv_event *
ev_of(const struct mv_kctx *k, size_t i)
{
	const struct mv_kop *o = &k->op[i];

	return &k->h->ev[o->ret != MV_NOPOS ? o->ret : o->inv];
}

void
mv_explain_op_json(
    struct mv_buf *b, const struct mv_kctx *k, size_t i, int as_taken)
{
	const struct mv_kop *o = &k->op[i];
	size_t pos = o->ret != MV_NOPOS ? o->ret : o->inv;
	const struct mv_event *ev = &k->h->ev[pos];
	const char *v = mv_anomaly_raw_value(k, i);

	mv_buf_addf(b, "{\"index\":%lld,\"line\":%zu,\"process\":%lld,",
	    (long long)(ev->index >= 0 ? ev->index : (int64_t)pos), ev->line,
	    (long long)ev->process);
	/* An op taken as info may show its invocation: say what it is. */
	mv_buf_addf(b, "\"type\":\"%s\",\"f\":",
	    !as_taken                ? mv_type_name(ev->type)
	        : o->status == MV_OK ? "ok"
	                             : "info");
	mv_buf_add_jstr(b, ev->f, strlen(ev->f));
	if (v)
		mv_buf_addf(b, ",\"value\":%s", v);
	mv_buf_addc(b, '}');
}

static void
add_atoms(struct mv_buf *b, const struct mv_kctx *k, uint32_t blob)
{
	size_t n, p;
	const uint32_t *a = mv_model_blob(k->m, blob, &n);

	mv_buf_addc(b, '[');
	for (p = 0; p < n / 4; p++)
		mv_buf_addf(
		    b, "%s%s", p ? "," : "", mv_model_atom_text(k->m, a[p]));
	mv_buf_addc(b, ']');
}

void
mv_explain_state(struct mv_buf *b, const struct mv_kctx *k, uint64_t s)
{
	size_t n;
	const char *p;

	/* Multi-register, mutex and queues render themselves. */
	if (mv_model_state_json(k->m, s, b) == 0)
		return;
	switch (mv_model_kind(k->m)) {
	case MV_MODEL_COUNTER: mv_buf_addi(b, (int64_t)s); break;
	case MV_MODEL_KV:
		if (s == 0) {
			mv_buf_adds(b, "null");
			break;
		}
		p = mv_model_blob(k->m, (uint32_t)s, &n);
		mv_buf_add_jstr(b, p, n);
		break;
	case MV_MODEL_SET:
	case MV_MODEL_STREAM: add_atoms(b, k, (uint32_t)s); break;
	default: mv_buf_adds(b, mv_model_atom_text(k->m, (uint32_t)s)); break;
	}
}

/* "read by process 3 (line 14) of 5" or "write of 5 by process 1 (line 9)". */
static void
say_op(struct mv_buf *b, const struct mv_kctx *k, size_t i)
{
	const struct mv_event *inv = &k->h->ev[k->op[i].inv];

	if (k->op[i].mop.f == MV_MOP_READ) {
		mv_anomaly_describe(k, i, b);
		mv_buf_addf(b, " of %s", mv_anomaly_value(k, i));
		return;
	}
	mv_buf_addf(b, "%s of %s by process %lld (line %zu)", inv->f,
	    mv_anomaly_value(k, i), (long long)inv->process, ev_of(k, i)->line);
	if (k->op[i].status != MV_OK)
		mv_buf_adds(b, ", which ended info");
}

/* Replays prefix[0..np) on the model; returns the state it leaves. */
static uint64_t
replay(const struct mv_kctx *k, const uint32_t *prefix, size_t np)
{
	uint64_t s = mv_model_init(k->m), ns;
	size_t i;

	for (i = 0; i < np; i++) {
		if (!mv_model_step(
		        k->m, s, &k->op[prefix[i]].mop, prefix[i], &ns))
			break; /* cannot happen: the search took this step */
		s = ns;
	}
	return s;
}

void
mv_explain_invalid(const struct mv_kctx *k, const uint32_t *prefix, size_t np,
    const uint32_t *next, size_t nn, int full, struct mv_buf *json,
    struct mv_buf *human)
{
	uint64_t s = replay(k, prefix, np);
	size_t i, from;

	mv_buf_adds(json, ",\"next\":[");
	for (i = 0; i < nn; i++) {
		if (i)
			mv_buf_addc(json, ',');
		mv_explain_op_json(json, k, next[i], 1);
	}
	mv_buf_adds(json, "],\"state\":");
	mv_explain_state(json, k, s);
	if (full) {
		mv_buf_adds(json, ",\"linearization\":[");
		for (i = 0; i < np; i++) {
			if (i)
				mv_buf_addc(json, ',');
			mv_explain_op_json(json, k, prefix[i], 1);
		}
		mv_buf_addc(json, ']');
	}
	mv_buf_addf(human,
	    ". The longest linearizable prefix has %zu of the key's %zu "
	    "operations and leaves the state ",
	    np, k->n);
	mv_explain_state(human, k, s);
	if (nn == 1) {
		mv_buf_adds(
		    human, "; the only operation that could come next, ");
		say_op(human, k, next[0]);
		mv_buf_adds(human, ", is not legal there");
	} else {
		mv_buf_addf(human,
		    "; none of the %zu operations that could come next is "
		    "legal there: ",
		    nn);
		for (i = 0; i < nn && i < HUMAN_MAX; i++) {
			if (i)
				mv_buf_adds(human, "; ");
			say_op(human, k, next[i]);
		}
	}
	if (nn > HUMAN_MAX)
		mv_buf_addf(human, "; and %zu more", nn - HUMAN_MAX);
	if (!full || np == 0)
		return;
	from = np > 4 * HUMAN_MAX ? np - 4 * HUMAN_MAX : 0;
	mv_buf_adds(human, ". The prefix linearizes as ");
	if (from)
		mv_buf_addf(human, "(%zu earlier operations, then) ", from);
	for (i = from; i < np; i++) {
		if (i > from)
			mv_buf_adds(human, ", ");
		say_op(human, k, prefix[i]);
	}
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Whether the sorted atom blob holds atom e. */
static int
blob_has(const struct mv_kctx *k, int64_t blob, uint32_t e)
{
	size_t n, lo = 0, hi;
	const uint32_t *v = mv_model_blob(k->m, (uint32_t)blob, &n);

	hi = n / 4;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (v[mid] < e)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n / 4 && v[lo] == e;
}

/* The witness as seen from one observing op, and what it found. */
struct vw {
	const struct mv_kctx *k;
	const uint32_t *w;
	size_t *lastw;   /* per position: last full write before it, or -1 */
	size_t *previnf; /* per position: last info op before it, or -1 */
	int64_t *okv;    /* values (or atoms) written by ok ops, sorted */
	size_t nokv;
	uint32_t because[4];
	size_t nbecause;
};

static int
ok_wrote(const struct vw *x, int64_t v)
{
	return bsearch(&v, x->okv, x->nokv, sizeof(*x->okv), cmp_i64) != NULL;
}

/* Fills x->because for the op at witness position p; 1 if it stands
 * only on info ops. */
static int
support(struct vw *x, size_t p)
{
	const struct mv_kctx *k = x->k;
	const struct mv_kop *o = &k->op[x->w[p]];
	size_t q, steps = 0, lw = x->lastw[p];
	int kind = mv_model_kind(k->m);

	x->nbecause = 0;
	if (o->status != MV_OK)
		return 0;
	if (kind == MV_MODEL_REGISTER || kind == MV_MODEL_CAS_REGISTER) {
		if (o->mop.f == MV_MOP_WRITE || lw == SIZE_MAX)
			return 0;
		if (o->mop.a == 0 || ok_wrote(x, o->mop.a)
		    || k->op[x->w[lw]].status == MV_OK)
			return 0;
		x->because[x->nbecause++] = x->w[lw];
		return 1;
	}
	if (o->mop.f != MV_MOP_READ)
		return 0;
	for (q = x->previnf[p];
	     q != SIZE_MAX && steps < WALK_MAX && x->nbecause < 4;
	     q = x->previnf[q], steps++) {
		const struct mv_kop *u = &k->op[x->w[q]];
		size_t n;

		if (kind == MV_MODEL_KV && lw != SIZE_MAX && q < lw)
			break;
		if (u->mop.f == MV_MOP_READ)
			continue;
		if (kind == MV_MODEL_COUNTER && u->mop.a == 0)
			continue;
		if (kind == MV_MODEL_SET
		    && (!blob_has(k, o->mop.a, (uint32_t)u->mop.a)
		        || ok_wrote(x, u->mop.a)))
			continue;
		if ((kind == MV_MODEL_KV || kind == MV_MODEL_STREAM)
		    && u->mop.f == MV_MOP_APPEND) {
			mv_model_blob(k->m, (uint32_t)u->mop.a, &n);
			if (n == 0)
				continue;
		}
		x->because[x->nbecause++] = x->w[q];
	}
	return x->nbecause > 0;
}

static void
index_witness(struct vw *x, size_t nw)
{
	const struct mv_kctx *k = x->k;
	int kind = mv_model_kind(k->m);
	size_t p, lw = SIZE_MAX, li = SIZE_MAX, i;

	for (p = 0; p < nw; p++) {
		const struct mv_kop *o = &k->op[x->w[p]];

		x->lastw[p] = lw;
		x->previnf[p] = li;
		if (o->mop.f == MV_MOP_WRITE
		    || (o->mop.f == MV_MOP_CAS && kind != MV_MODEL_STREAM))
			lw = p;
		if (o->status != MV_OK)
			li = p;
	}
	for (i = 0; i < k->n; i++) {
		const struct mv_mop *o = &k->op[i].mop;

		if (k->op[i].status != MV_OK)
			continue;
		if (o->f == MV_MOP_WRITE || o->f == MV_MOP_ADD)
			x->okv[x->nokv++] = o->a;
		else if (o->f == MV_MOP_CAS)
			x->okv[x->nokv++] = o->b;
	}
	qsort(x->okv, x->nokv, sizeof(*x->okv), cmp_i64);
}

size_t
mv_explain_valid(const struct mv_kctx *k, const uint32_t *w, size_t nw,
    struct mv_buf *json, struct mv_buf *human)
{
	struct vw x;
	size_t p, j, found = 0;

	memset(&x, 0, sizeof(x));
	x.k = k;
	x.w = w;
	x.lastw = mv_xmalloc((nw + 1) * sizeof(*x.lastw));
	x.previnf = mv_xmalloc((nw + 1) * sizeof(*x.previnf));
	x.okv = mv_xmalloc((k->n + 1) * sizeof(*x.okv));
	index_witness(&x, nw);
	for (p = 0; p < nw && found < JSON_MAX; p++) {
		if (!support(&x, p))
			continue;
		if (json->len)
			mv_buf_addc(json, ',');
		mv_buf_adds(json, "{\"op\":");
		mv_explain_op_json(json, k, w[p], 1);
		mv_buf_adds(json, ",\"because\":[");
		for (j = 0; j < x.nbecause; j++) {
			if (j)
				mv_buf_addc(json, ',');
			mv_explain_op_json(json, k, x.because[j], 1);
		}
		mv_buf_adds(json, "]}");
		if (found++ >= HUMAN_MAX)
			continue;
		mv_buf_adds(human, found > 1 ? "; " : ". ");
		say_op(human, k, w[p]);
		mv_buf_addf(human, " is legal only because ");
		for (j = 0; j < x.nbecause; j++) {
			const struct mv_event *inv =
			    &k->h->ev[k->op[x.because[j]].inv];

			mv_buf_addf(human,
			    "%s%s of %s by process %lld (line %zu)",
			    j == 0                    ? ""
			        : j + 1 == x.nbecause ? " and "
			                              : ", ",
			    inv->f, mv_anomaly_value(k, x.because[j]),
			    (long long)inv->process,
			    ev_of(k, x.because[j])->line);
		}
		mv_buf_addf(human, " %s info and %s taken to have happened",
		    x.nbecause > 1 ? "each ended" : "ended",
		    x.nbecause > 1 ? "are" : "is");
	}
	free(x.lastw);
	free(x.previnf);
	free(x.okv);
	return found;
}
