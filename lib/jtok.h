/* jtok.h: strict JSON tokens over jsmn, for readers on the hot path. */
#ifndef MV_JTOK_H
#define MV_JTOK_H

#define JSMN_HEADER
#include <jsmn.h>

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "mv.h"

/*
 * A reusable token array.  mv_jtok_parse tokenises s[0..n) with jsmn and
 * then validates what jsmn leaves unchecked (separators, literals, number
 * grammar, string escapes and UTF-8), so a line it accepts is RFC 8259 JSON.
 * Tokens point into s, which must outlive them.
 */
struct mv_jtok {
	jsmntok_t *t;
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
size_t mv_jtok_span(const jsmntok_t *t, size_t *start);
/* 1 if string token t equals the C string lit (no escapes in lit). */
int mv_jtok_streq(const char *s, const jsmntok_t *t, const char *lit);
/* Integer primitive (no fraction or exponent) to *out; -1 if not one. */
int mv_jtok_int(const char *s, const jsmntok_t *t, int64_t *out);
/* Decodes string token t into out (replaced); returns its length. */
size_t mv_jtok_str(const char *s, const jsmntok_t *t, struct mv_buf *out);

#endif
