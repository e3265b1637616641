/*
 * model.c: register, cas-register, kv, counter, set and stream as pure
 * step functions over 64-bit states.  Values that are not small integers
 * are interned, so that a state is one integer and two states are equal
 * exactly when their ids are: the checker's memo compares ids, never
 * contents, and a step allocates only the first time a (state, op) pair
 * is seen.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "model.h"

/* An interning table: byte strings to dense ids >= 1 (0 is reserved). */
struct itab {
	unsigned char *arena;
	size_t alen, acap;
	struct ient {
		size_t off;
		uint32_t len;
		uint32_t h;
	} * ent;
	uint32_t n, cap;
	uint32_t *slot; /* open addressing over ent ids; 0 is empty */
	size_t nslot;
};

/* Cached transitions (state, op) -> state for the allocating steps. */
struct trans {
	uint32_t s, op, to, used;
};

struct mv_model {
	int kind;
	struct itab atoms, blobs;
	struct trans *tr;
	size_t ntr, captr;
	struct mv_buf scratch;
	uint32_t init; /* initial value of the registers (atom) */
};

static const char *const names[MV_MODEL_COUNT] = {"register", "cas-register",
    "kv", "counter", "set", "stream", "multi-register", "mutex", "fifo-queue",
    "unordered-queue"};

const char *
mv_model_name(int kind)
{
	return kind >= 0 && kind < MV_MODEL_COUNT ? names[kind] : "none";
}

int
mv_model_lookup(const char *name)
{
	int k;

	for (k = 0; k < MV_MODEL_COUNT; k++)
		if (strcmp(name, names[k]) == 0)
			return k;
	return -1;
}

/* A fast 64-bit hash of bytes, word at a time (not for adversaries). */
static uint64_t
hash_bytes(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ (n * 0x100000001b3ULL), w;

	for (; n >= 8; s += 8, n -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	w = 0;
	memcpy(&w, s, n);
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 29);
}

static void
itab_release(struct itab *t)
{
	free(t->arena);
	free(t->ent);
	free(t->slot);
	memset(t, 0, sizeof(*t));
}

static void
itab_rehash(struct itab *t, size_t nslot)
{
	uint32_t i;

	free(t->slot);
	t->slot = mv_xcalloc(nslot, sizeof(*t->slot));
	t->nslot = nslot;
	for (i = 1; i < t->n; i++) {
		size_t j = t->ent[i].h & (nslot - 1);

		while (t->slot[j])
			j = (j + 1) & (nslot - 1);
		t->slot[j] = i;
	}
}

/* Interns p[0..n) (stored with a NUL after it); returns its id >= 1. */
static uint32_t
itab_intern(struct itab *t, const void *p, size_t n)
{
	uint64_t h = hash_bytes(p, n);
	size_t j;
	struct ient *e;

	if (t->n == 0)
		t->n = 1;
	if ((size_t)t->n * 2 >= t->nslot)
		itab_rehash(t, t->nslot ? t->nslot * 2 : 1024);
	for (j = h & (t->nslot - 1); t->slot[j]; j = (j + 1) & (t->nslot - 1)) {
		e = &t->ent[t->slot[j]];
		if (e->h == (uint32_t)h && e->len == n
		    && memcmp(t->arena + e->off, p, n) == 0)
			return t->slot[j];
	}
	if (t->n >= t->cap) {
		t->cap = t->cap ? t->cap * 2 : 1024;
		t->ent = mv_xrealloc(t->ent, t->cap * sizeof(*t->ent));
	}
	/* Keep 4-byte alignment so blobs of uint32 can be read in place. */
	t->alen = (t->alen + 3) & ~(size_t)3;
	if (t->alen + n + 1 > t->acap) {
		t->acap = (t->alen + n + 1) * 2;
		t->arena = mv_xrealloc(t->arena, t->acap);
	}
	e = &t->ent[t->n];
	e->off = t->alen;
	e->len = (uint32_t)n;
	e->h = (uint32_t)h;
	if (n)
		memcpy(t->arena + t->alen, p, n);
	t->arena[t->alen + n] = '\0';
	t->alen += n + 1;
	t->slot[j] = t->n;
	return t->n++;
}

static size_t
itab_bytes(const struct itab *t)
{
	return t->acap + t->cap * sizeof(*t->ent) + t->nslot * sizeof(uint32_t);
}

struct mv_model *
mv_model_new(int kind)
{
	struct mv_model *m = mv_xcalloc(1, sizeof(*m));

	m->kind = kind;
	mv_buf_init(&m->scratch);
	return m;
}

void
mv_model_free(struct mv_model *m)
{
	if (m == NULL)
		return;
	itab_release(&m->atoms);
	itab_release(&m->blobs);
	free(m->tr);
	mv_buf_release(&m->scratch);
	free(m);
}

int
mv_model_kind(const struct mv_model *m)
{
	return m->kind;
}

void
mv_model_clear(struct mv_model *m)
{
	itab_release(&m->blobs);
	free(m->tr);
	m->tr = NULL;
	m->ntr = m->captr = 0;
}

uint32_t
mv_model_atom(struct mv_model *m, const char *s, size_t n)
{
	if (n == 4 && memcmp(s, "null", 4) == 0)
		return 0;
	return itab_intern(&m->atoms, s, n);
}

const char *
mv_model_atom_text(const struct mv_model *m, uint32_t a)
{
	if (a == 0 || a >= m->atoms.n)
		return "null";
	return (const char *)m->atoms.arena + m->atoms.ent[a].off;
}

uint32_t
mv_model_natoms(const struct mv_model *m)
{
	return m->atoms.n ? m->atoms.n : 1;
}

uint32_t
mv_model_intern(struct mv_model *m, const void *p, size_t n)
{
	return itab_intern(&m->blobs, p, n);
}

/* The bytes of blob id: valid until the next interning. */
const void *
mv_model_blob(const struct mv_model *m, uint32_t id, size_t *n)
{
	if (id == 0 || id >= m->blobs.n) {
		*n = 0;
		return "";
	}
	*n = m->blobs.ent[id].len;
	return m->blobs.arena + m->blobs.ent[id].off;
}

size_t
mv_model_bytes(const struct mv_model *m)
{
	return itab_bytes(&m->atoms) + itab_bytes(&m->blobs)
	    + m->captr * sizeof(struct trans) + m->scratch.cap;
}

void
mv_model_set_init(struct mv_model *m, uint32_t atom)
{
	m->init = atom;
}

uint64_t
mv_model_init(struct mv_model *m)
{
	uint32_t empty;

	switch (m->kind) {
	case MV_MODEL_REGISTER:
	case MV_MODEL_CAS_REGISTER: return m->init;
	case MV_MODEL_UNORDERED_QUEUE:
		/* One possible content: the empty multiset. */
		empty = mv_model_intern(m, "", 0);
		return mv_model_intern(m, &empty, 4);
	case MV_MODEL_SET:
	case MV_MODEL_STREAM:
	case MV_MODEL_MULTI_REGISTER:
	case MV_MODEL_FIFO_QUEUE: return mv_model_intern(m, "", 0);
	default: return 0;
	}
}

/*
 * A full 64-bit mix (murmur3's finaliser): one multiply kept only the
 * product's middle bits, which depend on the low 9 bits of s alone, so
 * states with ids past 512 piled up in the same probe chains and a kv
 * search with millions of states spent three quarters of its time here.
 */
static size_t
tr_hash(uint32_t s, uint32_t op, size_t mask)
{
	uint64_t h = (uint64_t)s << 32 | op;

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return (size_t)h & mask;
}

/* The cached successor of s under op, or NULL with *slot set for adding. */
static struct trans *
tr_find(struct mv_model *m, uint32_t s, uint32_t op)
{
	size_t j, mask;

	if (m->ntr * 2 >= m->captr) {
		struct trans *old = m->tr;
		size_t i, oldcap = m->captr;

		m->captr = oldcap ? oldcap * 2 : 1024;
		m->tr = mv_xcalloc(m->captr, sizeof(*m->tr));
		for (i = 0; i < oldcap; i++) {
			if (!old[i].used)
				continue;
			j = tr_hash(old[i].s, old[i].op, m->captr - 1);
			while (m->tr[j].used)
				j = (j + 1) & (m->captr - 1);
			m->tr[j] = old[i];
		}
		free(old);
	}
	mask = m->captr - 1;
	for (j = tr_hash(s, op, mask); m->tr[j].used; j = (j + 1) & mask)
		if (m->tr[j].s == s && m->tr[j].op == op)
			return &m->tr[j];
	m->tr[j].s = s;
	m->tr[j].op = op;
	return &m->tr[j];
}

/* The blob of s followed by the blob of a (kv append, stream append). */
static uint32_t
concat(struct mv_model *m, uint32_t s, uint32_t a)
{
	size_t n1, n2;
	const void *p;

	mv_buf_reset(&m->scratch);
	p = mv_model_blob(m, s, &n1);
	mv_buf_add(&m->scratch, p, n1);
	p = mv_model_blob(m, a, &n2);
	mv_buf_add(&m->scratch, p, n2);
	return mv_model_intern(m, m->scratch.p, n1 + n2);
}

/* The set s with atom a inserted, keeping atoms sorted. */
static uint32_t
set_add(struct mv_model *m, uint32_t s, uint32_t a)
{
	size_t n, lo = 0, hi;
	const uint32_t *v = mv_model_blob(m, s, &n);

	hi = n / 4;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (v[mid] < a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < n / 4 && v[lo] == a)
		return s;
	mv_buf_reset(&m->scratch);
	mv_buf_add(&m->scratch, v, lo * 4);
	mv_buf_add(&m->scratch, &a, 4);
	v = mv_model_blob(m, s, &n);
	mv_buf_add(&m->scratch, v + lo, n - lo * 4);
	return mv_model_intern(m, m->scratch.p, n + 4);
}

/* A cached allocating transition: kv append, set add, stream append. */
static uint32_t
grow(struct mv_model *m, uint32_t s, const struct mv_mop *op, uint32_t opid)
{
	struct trans *t = tr_find(m, s, opid);
	uint32_t to;

	if (t->used)
		return t->to;
	if (m->kind == MV_MODEL_SET)
		to = set_add(m, s, (uint32_t)op->a);
	else
		to = concat(m, s, (uint32_t)op->a);
	t = tr_find(m, s, opid); /* the table did not move: no insert since */
	t->to = to;
	t->used = 1;
	m->ntr++;
	return to;
}

static int
stream_expect_ok(int64_t expect, size_t len)
{
	if (expect == MV_EXPECT_ANY)
		return 1;
	if (expect == MV_EXPECT_EXISTS)
		return len > 0;
	return expect == (int64_t)len - 1;
}

/*
 * A stream read from R shows events R.. of the stream.  null (a = 0) says
 * the stream does not exist; an empty stream and a read past its end are
 * accepted either way, since stores differ there.
 */
static int
stream_read_ok(const struct mv_model *m, uint32_t s, const struct mv_mop *op)
{
	size_t n, rn, from = op->b > 0 ? (size_t)op->b : 0;
	const unsigned char *p = mv_model_blob(m, s, &n), *rp;

	if (op->a == 0)
		return n / 4 <= from;
	if (from == 0 && (uint32_t)op->a == s)
		return 1;
	rp = mv_model_blob(m, (uint32_t)op->a, &rn);
	if (n / 4 <= from)
		return rn == 0;
	return rn == n - from * 4 && memcmp(p + from * 4, rp, rn) == 0;
}

static int
stream_step(struct mv_model *m, uint64_t s, const struct mv_mop *op,
    uint32_t opid, uint64_t *next)
{
	size_t n, bn;
	uint32_t to;

	if (op->f == MV_MOP_READ) {
		*next = s;
		return stream_read_ok(m, (uint32_t)s, op);
	}
	mv_model_blob(m, (uint32_t)s, &n);
	if (!stream_expect_ok(op->b, n / 4))
		return 0;
	mv_model_blob(m, (uint32_t)op->a, &bn);
	if (op->c != MV_VERSION_UNKNOWN && op->c != (int64_t)((n + bn) / 4) - 1)
		return 0;
	to = grow(m, (uint32_t)s, op, opid);
	*next = to;
	return 1;
}

/*
 * A transaction of a multi-register: its reads must see the state, its
 * writes change it.  Returns the next state, or 0 (no blob has id 0) when
 * the transaction is illegal in s.
 */
static uint32_t
txn_next(struct mv_model *m, uint32_t s, uint32_t txn)
{
	size_t ns, nt, n, k, j;
	const uint32_t *st = mv_model_blob(m, s, &ns);
	const uint32_t *t = mv_model_blob(m, txn, &nt);
	uint32_t *w;

	mv_buf_reset(&m->scratch);
	mv_buf_grow(&m->scratch, ns + nt + 8);
	w = (uint32_t *)(void *)m->scratch.p;
	if (ns)
		memcpy(w, st, ns);
	n = ns / 8;
	for (k = 0; k + 3 <= nt / 4; k += 3) {
		uint32_t reg = t[k + 1], v = t[k + 2], cur = m->init;

		for (j = 0; j < n && w[2 * j] < reg; j++)
			;
		if (j < n && w[2 * j] == reg)
			cur = w[2 * j + 1];
		if (t[k] == 0) {
			if (cur != v)
				return 0;
			continue;
		}
		if (cur == v)
			continue;
		if (j < n && w[2 * j] == reg && v == m->init) {
			/* Back at the initial value: one state, one id. */
			memmove(w + 2 * j, w + 2 * j + 2, (n - j - 1) * 8);
			n--;
		} else if (j < n && w[2 * j] == reg)
			w[2 * j + 1] = v;
		else {
			memmove(w + 2 * j + 2, w + 2 * j, (n - j) * 8);
			w[2 * j] = reg;
			w[2 * j + 1] = v;
			n++;
		}
	}
	return mv_model_intern(m, w, n * 8);
}

/* A fifo queue's next state, 0 if op is illegal in s. */
static uint32_t
fifo_next(struct mv_model *m, uint32_t s, const struct mv_mop *op)
{
	size_t n;
	const uint32_t *q = mv_model_blob(m, s, &n);

	mv_buf_reset(&m->scratch);
	if (op->f == MV_MOP_ENQUEUE) {
		uint32_t a = (uint32_t)op->a;

		mv_buf_add(&m->scratch, q, n);
		mv_buf_add(&m->scratch, &a, 4);
		return mv_model_intern(m, m->scratch.p, n + 4);
	}
	if (op->b && op->a == 0)
		return n == 0 ? s : 0;
	if (n == 0)
		return op->b ? 0 : s;
	if (op->b && q[0] != (uint32_t)op->a)
		return 0;
	/* Copy first: interning may move the arena q points into. */
	mv_buf_add(&m->scratch, q + 1, n - 4);
	return mv_model_intern(m, m->scratch.p, n - 4);
}

/* The multiset a (sorted atoms) with one x added (add) or removed. */
static uint32_t
ms_edit(struct mv_model *m, uint32_t a, uint32_t x, int add, size_t at)
{
	size_t n, k;
	const uint32_t *v = mv_model_blob(m, a, &n);

	mv_buf_reset(&m->scratch);
	if (add)
		for (at = 0; at < n / 4 && v[at] < x; at++)
			;
	mv_buf_add(&m->scratch, v, at * 4);
	if (add)
		mv_buf_add(&m->scratch, &x, 4);
	k = add ? at : at + 1;
	mv_buf_add(&m->scratch, v + k, n - k * 4);
	return mv_model_intern(m, m->scratch.p, add ? n + 4 : n - 4);
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * An unordered queue's next state: every multiset the queue may hold
 * after op, from every one it may hold in s; 0 when there is none.
 */
static uint32_t
unordered_next(struct mv_model *m, uint32_t s, const struct mv_mop *op)
{
	size_t ns, k, j, n, nr = 0, cap;
	const uint32_t *set = mv_model_blob(m, s, &ns);
	uint32_t *ids = mv_xmalloc(ns + 4), *r, *v, x = (uint32_t)op->a, to;

	/* Not a hot path: transitions are cached per (state, op). */
	memcpy(ids, set, ns);
	cap = 16;
	r = mv_xmalloc(cap * 4);
	for (k = 0; k < ns / 4; k++) {
		const uint32_t *p = mv_model_blob(m, ids[k], &n);

		v = mv_xmalloc(n + 4);
		memcpy(v, p, n);
		n /= 4;
		if (nr + n + 1 > cap) {
			cap = (nr + n + 1) * 2;
			r = mv_xrealloc(r, cap * 4);
		}
		if (op->f == MV_MOP_ENQUEUE)
			r[nr++] = ms_edit(m, ids[k], x, 1, 0);
		else if (n == 0) {
			if (!op->b || x == 0)
				r[nr++] = ids[k];
		} else if (op->b && x != 0) {
			for (j = 0; j < n && v[j] != x; j++)
				;
			if (j < n)
				r[nr++] = ms_edit(m, ids[k], x, 0, j);
		} else if (!op->b)
			for (j = 0; j < n; j++)
				if (j == 0 || v[j] != v[j - 1])
					r[nr++] =
					    ms_edit(m, ids[k], v[j], 0, j);
		free(v);
	}
	qsort(r, nr, 4, cmp_u32);
	for (k = 0, j = 0; k < nr; k++)
		if (j == 0 || r[j - 1] != r[k])
			r[j++] = r[k];
	to = j ? mv_model_intern(m, r, j * 4) : 0;
	free(ids);
	free(r);
	return to;
}

/* Steps that intern a new state: computed once per (state, op). */
static int
cached_step(struct mv_model *m, uint64_t s, const struct mv_mop *op,
    uint32_t opid, uint64_t *next)
{
	struct trans *t = tr_find(m, (uint32_t)s, opid);
	uint32_t to;

	if (!t->used) {
		if (m->kind == MV_MODEL_MULTI_REGISTER)
			to = txn_next(m, (uint32_t)s, (uint32_t)op->a);
		else if (m->kind == MV_MODEL_FIFO_QUEUE)
			to = fifo_next(m, (uint32_t)s, op);
		else
			to = unordered_next(m, (uint32_t)s, op);
		t = tr_find(m, (uint32_t)s, opid); /* did not move */
		t->to = to;
		t->used = 1;
		m->ntr++;
	}
	*next = t->to ? t->to : s;
	return t->to != 0;
}

int
mv_model_step(struct mv_model *m, uint64_t s, const struct mv_mop *op,
    uint32_t opid, uint64_t *next)
{
	switch (m->kind) {
	case MV_MODEL_REGISTER:
	case MV_MODEL_CAS_REGISTER:
		*next = s;
		if (op->f == MV_MOP_READ)
			return s == (uint64_t)op->a;
		if (op->f == MV_MOP_WRITE) {
			*next = (uint64_t)op->a;
			return 1;
		}
		if (s != (uint64_t)op->a)
			return 0;
		*next = (uint64_t)op->b;
		return 1;
	case MV_MODEL_COUNTER:
		*next = s;
		if (op->f == MV_MOP_READ)
			return (int64_t)s == op->a;
		*next = s + (uint64_t)op->a; /* wraps, never UB */
		return 1;
	case MV_MODEL_KV:
	case MV_MODEL_SET:
		*next = s;
		if (op->f == MV_MOP_READ)
			return s == (uint64_t)op->a;
		if (op->f == MV_MOP_WRITE) {
			*next = (uint64_t)op->a;
			return 1;
		}
		*next = grow(m, (uint32_t)s, op, opid);
		return 1;
	case MV_MODEL_STREAM: return stream_step(m, s, op, opid, next);
	case MV_MODEL_MUTEX:
		/* Knossos's mutex: no owner, acquire when free, release
		 * when held. */
		*next = op->f == MV_MOP_ACQUIRE;
		return s != *next;
	case MV_MODEL_MULTI_REGISTER:
	case MV_MODEL_FIFO_QUEUE:
	case MV_MODEL_UNORDERED_QUEUE: return cached_step(m, s, op, opid, next);
	default: return 0;
	}
}
