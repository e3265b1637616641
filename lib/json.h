/* json.h: strict JSON, and a small value tree for model code. */
#ifndef MV_JSON_H
#define MV_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "mv.h"

enum mv_jkind {
	MV_JNULL,
	MV_JBOOL,
	MV_JINT, /* an integer that fits int64_t exactly */
	MV_JNUM, /* any other number: kept as double and as text */
	MV_JSTR,
	MV_JARR,
	MV_JOBJ
};

/*
 * A parsed JSON value.  A tree returned by mv_jv_parse is owned by the
 * caller and freed whole by mv_jv_free; children belong to their parent.
 * Strings are decoded (escapes resolved), NUL-terminated, and may contain
 * NUL bytes (use len).  For MV_JOBJ, keys[i] names items[i].
 */
struct mv_jv {
	enum mv_jkind kind;
	int b;
	int64_t i;
	double d;
	char *s;
	size_t len; /* string length, or item count for arrays and objects */
	struct mv_jv *items;
	char **keys;
};

/*
 * Parses exactly one JSON value from text[0..n) (surrounding white space
 * allowed).  Rejects invalid UTF-8, lone surrogates, control characters in
 * strings, trailing garbage.  Returns NULL and fills e ("what is wrong",
 * no position prefix) on failure.
 */
struct mv_jv *mv_jv_parse(const char *text, size_t n, struct mv_err *e);
void mv_jv_free(struct mv_jv *v);
/* Object member by key, or NULL. */
const struct mv_jv *mv_jv_get(const struct mv_jv *obj, const char *key);
/* Appends v as compact JSON. */
struct mv_buf;
void mv_jv_write(struct mv_buf *b, const struct mv_jv *v);
/* Structural equality (objects: same keys in any order). */
int mv_jv_equal(const struct mv_jv *a, const struct mv_jv *b);

/* Returns 1 if s[0..n) is valid UTF-8 (no overlongs, no surrogates). */
int mv_utf8_valid(const char *s, size_t n);

#endif
