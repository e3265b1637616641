/* model.h: the sequential objects mv-check knows, on a compact encoding. */
#ifndef MV_MODEL_H
#define MV_MODEL_H

#include <stddef.h>
#include <stdint.h>

enum mv_model_kind {
	MV_MODEL_REGISTER,
	MV_MODEL_CAS_REGISTER,
	MV_MODEL_KV,
	MV_MODEL_COUNTER,
	MV_MODEL_SET,
	MV_MODEL_STREAM,
	MV_MODEL_MULTI_REGISTER,
	MV_MODEL_MUTEX,
	MV_MODEL_FIFO_QUEUE,
	MV_MODEL_UNORDERED_QUEUE,
	MV_MODEL_COUNT
};

/* The model's name ("cas-register"), or its kind from a name (-1). */
const char *mv_model_name(int kind);
int mv_model_lookup(const char *name);

enum mv_mop_f {
	MV_MOP_READ,
	MV_MOP_WRITE,
	MV_MOP_CAS,
	MV_MOP_ADD,
	MV_MOP_APPEND,
	MV_MOP_TXN, /* the codes from here on: model_ops.c builds the mop */
	MV_MOP_ACQUIRE,
	MV_MOP_RELEASE,
	MV_MOP_ENQUEUE,
	MV_MOP_DEQUEUE
};

/* Stream expectations in mv_mop.b; a version N >= 0 is itself. */
#define MV_EXPECT_ANY INT64_MIN
#define MV_EXPECT_EXISTS (INT64_MIN + 1)
#define MV_EXPECT_NO_STREAM (-1)
#define MV_VERSION_UNKNOWN INT64_MIN

/*
 * One operation as the model sees it.  Values are atoms (interned JSON
 * values, mv_model_atom; atom 0 is null) or blobs (interned byte strings,
 * mv_model_intern; blob 0 is "absent").
 *   register, cas-register (state: atom): READ a = atom read; WRITE a;
 *     CAS a = from, b = to.
 *   counter (state: int64): ADD a = delta; READ a = value.
 *   kv (state: blob of the string, 0 absent): READ a = blob or 0;
 *     WRITE (put) a = blob; APPEND a = blob of the suffix.
 *   set (state: blob of sorted uint32 atoms): ADD a = atom; READ a = blob.
 *   stream (state: blob of uint32 event atoms): APPEND a = blob of the
 *     batch, b = expectation, c = version returned or MV_VERSION_UNKNOWN;
 *     READ a = blob of the events read (0: null), b = from.
 *   multi-register (state: blob of sorted (register, value) atom pairs,
 *     registers at the initial value left out): TXN a = blob of
 *     (kind, register, value) uint32 triples, kind 0 read, 1 write.
 *   mutex (state: 0 free, 1 held): ACQUIRE, RELEASE.
 *   fifo-queue (state: blob of atoms, head first), unordered-queue
 *     (state: blob of the sorted ids of the multisets, each a blob of
 *     sorted atoms, it may hold: an unknown dequeue may take any one):
 *     ENQUEUE a = atom; DEQUEUE a = atom returned (0: empty), b = 1 when
 *     the result is known, 0 when not.
 */
struct mv_mop {
	int f;
	int64_t a, b, c;
};

struct mv_model;

/* A model of kind; the model owns its interned atoms and blobs. */
struct mv_model *mv_model_new(int kind);
void mv_model_free(struct mv_model *m);
int mv_model_kind(const struct mv_model *m);

/*
 * Forgets every blob and cached transition (atoms stay): called between
 * keys, so that memory is bounded by the largest key, not the history.
 * Blob ids handed out before stop being valid.
 */
void mv_model_clear(struct mv_model *m);

/* Interns the canonical JSON text s[0..n) as an atom (>= 1; "null" is 0). */
uint32_t mv_model_atom(struct mv_model *m, const char *s, size_t n);
/* The canonical text of atom a (NUL-terminated, owned by m). */
const char *mv_model_atom_text(const struct mv_model *m, uint32_t a);
uint32_t mv_model_natoms(const struct mv_model *m);

/* Interns bytes p[0..n) as a blob id >= 1; its bytes stay at one place. */
uint32_t mv_model_intern(struct mv_model *m, const void *p, size_t n);
const void *mv_model_blob(const struct mv_model *m, uint32_t id, size_t *n);

/* Bytes held by the interning tables (the memory budget counts them). */
size_t mv_model_bytes(const struct mv_model *m);

/* The state before any operation. */
uint64_t mv_model_init(struct mv_model *m);

/* Sets the initial value (an atom) of every register of the register,
 * cas-register and multi-register models; null (0) by default. */
void mv_model_set_init(struct mv_model *m, uint32_t atom);

/* The MV_MOP_* code of f for the multi-register, mutex and queue models,
 * or -1 (model_ops.c). */
int mv_model_fcode(int kind, const char *f);

/*
 * Builds op (f from mv_model_fcode) from the raw JSON value of the
 * invocation and that of the ok completion (out NULL when the op did not
 * complete ok or reported nothing).  nil_unknown: an ok result of null
 * means unknown.  Returns 1 to keep the op, 0 when it cannot matter, -1
 * when the invocation's value is malformed and -2 when the completion's
 * is, with *why saying how.
 */
int mv_model_mop(struct mv_model *m, int f, const char *inv, const char *out,
    int nil_unknown, struct mv_mop *op, const char **why);

struct mv_buf;
/*
 * Appends state s of the multi-register ({"x":1}, registers at the initial
 * value left out), mutex ("free", "held") or queue models ([1,2], or
 * {"one of":[[1],[2]]} when an unknown dequeue left several) as JSON;
 * -1 for the other models.
 */
int mv_model_state_json(const struct mv_model *m, uint64_t s, struct mv_buf *b);

/*
 * Applies op (number opid within the current key: transitions are cached
 * per (state, opid)) to state s.  Returns 1 and sets *next when op is legal
 * in s with the result it reported, else 0.
 */
int mv_model_step(struct mv_model *m, uint64_t s, const struct mv_mop *op,
    uint32_t opid, uint64_t *next);

#endif
