/* jtok.h: strict JSON tokens in one pass, for readers on the hot path. */
#ifndef MV_JTOK_H
#define MV_JTOK_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "mv.h"

/*
 * A token, laid out as jsmn's: start..end are byte offsets (for strings,
 * inside the quotes); size is the member count of an object, the element
 * count of an array, 1 for an object key (its value), else 0.
 */
enum { MV_TOK_OBJECT = 1, MV_TOK_ARRAY, MV_TOK_STRING, MV_TOK_PRIMITIVE };
struct mv_tok {
	int type;
	int start, end, size;
	int isint;    /* a primitive that is an integer fitting int64_t */
	int64_t ival; /* its value, found while scanning */
};

/*
 * A reusable token array.  mv_jtok_parse tokenises s[0..n) and accepts
 * only RFC 8259 JSON (separators, literals, number grammar, escapes, UTF-8,
 * depth at most 512).  It replaced jsmn, which checks none of these: jsmn
 * plus the missing checks ran at a third of the speed (README, make bench).
 * Tokens point into s, which must outlive them.
 */
struct mv_jtok {
	struct mv_tok *t;
	unsigned int n, cap;
};

void mv_jtok_init(struct mv_jtok *jt);
void mv_jtok_release(struct mv_jtok *jt);
/* Returns the token count (>= 1), or -1 with e filled ("what", no prefix). */
int mv_jtok_parse(
    struct mv_jtok *jt, const char *s, size_t n, struct mv_err *e);
/* Index of the token after the subtree at i. */
unsigned int mv_jtok_skip(const struct mv_jtok *jt, unsigned int i);
/* Byte span of token i in s, quotes included for strings. */
size_t mv_jtok_span(const struct mv_tok *t, size_t *start);
/* 1 if string token t equals the C string lit (no escapes in lit). */
int mv_jtok_streq(const char *s, const struct mv_tok *t, const char *lit);
/* Integer primitive (no fraction or exponent) to *out; -1 if not one. */
int mv_jtok_int(const char *s, const struct mv_tok *t, int64_t *out);
/* Decodes string token t into out (replaced); returns its length. */
size_t mv_jtok_str(const char *s, const struct mv_tok *t, struct mv_buf *out);

#endif
