/*
 * model_ops.c: the compact ops (model.h) of the multi-register, mutex and
 * queue models, built from the JSON values of an operation.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "model.h"

int
mv_model_fcode(int kind, const char *f)
{
	switch (kind) {
	case MV_MODEL_MULTI_REGISTER:
		return strcmp(f, "txn") == 0 ? MV_MOP_TXN : -1;
	case MV_MODEL_MUTEX:
		if (strcmp(f, "acquire") == 0)
			return MV_MOP_ACQUIRE;
		return strcmp(f, "release") == 0 ? MV_MOP_RELEASE : -1;
	case MV_MODEL_FIFO_QUEUE:
	case MV_MODEL_UNORDERED_QUEUE:
		if (strcmp(f, "enqueue") == 0)
			return MV_MOP_ENQUEUE;
		return strcmp(f, "dequeue") == 0 ? MV_MOP_DEQUEUE : -1;
	default: return -1;
	}
}

/* The atom of a parsed value: its canonical compact text. */
static uint32_t
atom_of(struct mv_model *m, const struct mv_jv *v, struct mv_buf *b)
{
	mv_buf_reset(b);
	mv_jv_write(b, v);
	return mv_model_atom(m, b->p, b->len);
}

static struct mv_jv *
parse(const char *raw)
{
	struct mv_err e;

	return raw ? mv_jv_parse(raw, strlen(raw), &e) : NULL;
}

/* 0 read, 1 write, -1 neither (Jepsen's :read/:write or Elle's :r/:w). */
static int
micro_f(const struct mv_jv *f)
{
	if (f->kind != MV_JSTR)
		return -1;
	if (strcmp(f->s, "read") == 0 || strcmp(f->s, "r") == 0)
		return 0;
	if (strcmp(f->s, "write") == 0 || strcmp(f->s, "w") == 0)
		return 1;
	return -1;
}

/*
 * [["read","x",null],["write","y",2]]: the completion's value when the
 * txn completed ok (its reads carry what they saw), else the
 * invocation's, whose reads then constrain nothing.
 */
static int
txn_mop(struct mv_model *m, const char *inv, const char *out, int nil_unknown,
    struct mv_mop *op, const char **why)
{
	struct mv_jv *v = parse(out ? out : inv);
	struct mv_buf b = MV_BUF_INIT;
	uint32_t *t;
	size_t k, n = 0, writes = 0;
	int rc = out ? -2 : -1;

	*why = "value is not a transaction [[f, register, value], ...]";
	if (v == NULL || v->kind != MV_JARR) {
		mv_jv_free(v);
		return rc;
	}
	t = mv_xmalloc((3 * v->len + 1) * sizeof(*t));
	for (k = 0; k < v->len; k++) {
		const struct mv_jv *mo = &v->items[k];
		int f = mo->kind == MV_JARR && mo->len == 3
		    ? micro_f(&mo->items[0])
		    : -1;

		if (f < 0)
			goto out;
		if (f == 0
		    && (out == NULL
		        || (nil_unknown && mo->items[2].kind == MV_JNULL)))
			continue;
		writes += (size_t)f;
		t[n++] = (uint32_t)f;
		t[n++] = atom_of(m, &mo->items[1], &b);
		t[n++] = atom_of(m, &mo->items[2], &b);
	}
	op->a = mv_model_intern(m, t, n * sizeof(*t));
	/* A txn that may not have happened and writes nothing is moot. */
	rc = out != NULL || writes > 0;
out:
	free(t);
	mv_buf_release(&b);
	mv_jv_free(v);
	return rc;
}

int
mv_model_mop(struct mv_model *m, int f, const char *inv, const char *out,
    int nil_unknown, struct mv_mop *op, const char **why)
{
	struct mv_buf b = MV_BUF_INIT;
	struct mv_jv *v;

	op->f = f;
	op->a = op->b = 0;
	switch (f) {
	case MV_MOP_TXN: return txn_mop(m, inv, out, nil_unknown, op, why);
	case MV_MOP_ENQUEUE:
		if ((v = parse(inv)) == NULL || v->kind == MV_JNULL) {
			mv_jv_free(v);
			*why = "value is missing or null (a dequeue of null "
			       "means empty)";
			return -1;
		}
		op->a = atom_of(m, v, &b);
		break;
	case MV_MOP_DEQUEUE:
		if (out == NULL)
			return 1; /* took the head (or anything) or nothing */
		if ((v = parse(out)) == NULL) {
			*why = "result is not JSON";
			return -2;
		}
		if (v->kind != MV_JNULL || !nil_unknown) {
			op->a = atom_of(m, v, &b);
			op->b = 1;
		}
		break;
	default: return 1; /* acquire, release */
	}
	mv_jv_free(v);
	mv_buf_release(&b);
	return 1;
}

/* The atoms of blob id as a JSON array. */
static void
atoms_json(const struct mv_model *m, uint32_t id, struct mv_buf *b)
{
	size_t n, k;
	const uint32_t *a = mv_model_blob(m, id, &n);

	mv_buf_addc(b, '[');
	for (k = 0; k < n / 4; k++) {
		if (k)
			mv_buf_addc(b, ',');
		mv_buf_adds(b, mv_model_atom_text(m, a[k]));
	}
	mv_buf_addc(b, ']');
}

int
mv_model_state_json(const struct mv_model *m, uint64_t s, struct mv_buf *b)
{
	size_t n, k;
	const uint32_t *p;
	const char *t;

	switch (mv_model_kind(m)) {
	case MV_MODEL_MUTEX: mv_buf_adds(b, s ? "\"held\"" : "\"free\""); break;
	case MV_MODEL_FIFO_QUEUE: atoms_json(m, (uint32_t)s, b); break;
	case MV_MODEL_UNORDERED_QUEUE:
		p = mv_model_blob(m, (uint32_t)s, &n);
		if (n == 4) {
			atoms_json(m, p[0], b);
			break;
		}
		/* An unknown dequeue left several possible contents. */
		mv_buf_adds(b, "{\"one of\":[");
		for (k = 0; k < n / 4; k++) {
			if (k)
				mv_buf_addc(b, ',');
			atoms_json(m, p[k], b);
		}
		mv_buf_adds(b, "]}");
		break;
	case MV_MODEL_MULTI_REGISTER:
		/* Registers at the initial value are left out. */
		p = mv_model_blob(m, (uint32_t)s, &n);
		mv_buf_addc(b, '{');
		for (k = 0; k < n / 8; k++) {
			if (k)
				mv_buf_addc(b, ',');
			t = mv_model_atom_text(m, p[2 * k]);
			if (t[0] == '"')
				mv_buf_adds(b, t);
			else
				mv_buf_add_jstr(b, t, strlen(t));
			mv_buf_addc(b, ':');
			mv_buf_adds(b, mv_model_atom_text(m, p[2 * k + 1]));
		}
		mv_buf_addc(b, '}');
		break;
	default: return -1;
	}
	return 0;
}
