/* json.c: a strict one-pass JSON tokeniser, and value trees for models. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jtok.h"
#include "json.h"

#define MAX_DEPTH 512

void
mv_jtok_init(struct mv_jtok *jt)
{
	jt->t = NULL;
	jt->n = jt->cap = 0;
}

void
mv_jtok_release(struct mv_jtok *jt)
{
	free(jt->t);
	mv_jtok_init(jt);
}

size_t
mv_jtok_span(const struct mv_tok *t, size_t *start)
{
	if (t->type == MV_TOK_STRING) {
		*start = (size_t)t->start - 1;
		return (size_t)(t->end - t->start) + 2;
	}
	*start = (size_t)t->start;
	return (size_t)(t->end - t->start);
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t k, j;
	uint32_t cp;

	if (c >= 0xc2 && c <= 0xdf)
		k = 1, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		k = 2, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		k = 3, cp = c & 0x07;
	else
		return 0;
	for (j = 1; j <= k; j++) {
		if (j >= n || (s[j] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[j] & 0x3f);
	}
	if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) || cp > 0x10ffff
	    || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return k + 1;
}

int
mv_utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, k;

	while (i < n) {
		if (s[i] < 0x80)
			k = 1;
		else if ((k = utf8_seq(s + i, n - i)) == 0)
			return 0;
		i += k;
	}
	return 1;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static long
hex4(const char *p)
{
	long v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		int h = hexval(p[i]);
		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/* Parser state for one text. */
struct jp {
	const char *s;
	size_t n, i;
	struct mv_jtok *jt;
	struct mv_err *e;
	int depth;
};

static int
jp_err(struct jp *p, const char *what)
{
	if (p->i >= p->n)
		return mv_err_set(p->e, "truncated JSON");
	return mv_err_set(p->e, "%s at column %zu", what, p->i + 1);
}

/* Appends a token; returns its index (tokens move when the array grows). */
static unsigned int
jp_tok(struct jp *p, int type, size_t start)
{
	struct mv_jtok *jt = p->jt;

	if (jt->n == jt->cap) {
		jt->cap = jt->cap ? jt->cap * 2 : 256;
		jt->t = mv_xrealloc(jt->t, jt->cap * sizeof(*jt->t));
	}
	jt->t[jt->n].type = type;
	jt->t[jt->n].start = (int)start;
	jt->t[jt->n].end = -1;
	jt->t[jt->n].size = 0;
	jt->t[jt->n].isint = 0;
	return jt->n++;
}

/*
 * Locals, not p->i: stores through char pointers may alias anything, so
 * the compiler would otherwise reload p->i and p->n on every byte.
 */
static void
jp_ws(struct jp *p)
{
	const char *s = p->s;
	size_t i = p->i, n = p->n;

	while (i < n
	    && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	p->i = i;
}

/* An escape at s[i] == '\\'; advances p->i past it. */
static int
jp_escape(struct jp *p)
{
	const char *s = p->s;
	size_t i = p->i + 1;
	long u, lo;

	if (i >= p->n)
		return jp_err(p, "bad escape");
	if (strchr("\"\\/bfnrt", s[i]) != NULL && s[i] != '\0') {
		p->i = i + 1;
		return 0;
	}
	if (s[i] != 'u' || i + 4 >= p->n || (u = hex4(s + i + 1)) < 0)
		return jp_err(p, "bad escape");
	i += 5;
	if (u >= 0xdc00 && u <= 0xdfff)
		return jp_err(p, "lone surrogate");
	if (u >= 0xd800 && u <= 0xdbff) {
		if (i + 5 >= p->n || s[i] != '\\' || s[i + 1] != 'u'
		    || (lo = hex4(s + i + 2)) < 0xdc00 || lo > 0xdfff)
			return jp_err(p, "lone surrogate");
		i += 6;
	}
	p->i = i;
	return 0;
}

/* 1 for bytes a string may hold as they are: printable ASCII but " and \. */
static const unsigned char plain[256] = {
#define R16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
    R16(0), R16(0), 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, /* 0x20: '"' */
    R16(1), R16(1), 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1,
    1, /* 0x50: '\\' */
    R16(1), R16(1), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0),
    R16(0)
#undef R16
};

/* A string at s[i] == '"'; the token spans the inside of the quotes. */
static int
jp_string(struct jp *p, int key)
{
	const unsigned char *s = (const unsigned char *)p->s;
	unsigned int t = jp_tok(p, MV_TOK_STRING, ++p->i);

	p->jt->t[t].size = key;
	for (;;) {
		size_t k;

		/* The common case: printable ASCII. */
		while (p->i < p->n && plain[s[p->i]])
			p->i++;
		if (p->i >= p->n)
			return jp_err(p, "unterminated string");
		if (s[p->i] == '"')
			break;
		if (s[p->i] == '\\') {
			if (jp_escape(p) < 0)
				return -1;
		} else if (s[p->i] < 0x20) {
			return jp_err(p, "control character in string");
		} else if ((k = utf8_seq(s + p->i, p->n - p->i)) == 0) {
			return jp_err(p, "invalid UTF-8 in string");
		} else {
			p->i += k;
		}
	}
	p->jt->t[t].end = (int)p->i++;
	return 0;
}

static size_t
digits(const char *s, size_t i, size_t n)
{
	size_t j = i;

	while (j < n && s[j] >= '0' && s[j] <= '9')
		j++;
	return j - i;
}

/* A number or a literal, by RFC 8259's grammar. */
static int
jp_primitive(struct jp *p)
{
	const char *s = p->s;
	size_t i = p->i, n = p->n, d;
	unsigned int t = jp_tok(p, MV_TOK_PRIMITIVE, i);

	if ((n - i >= 4 && memcmp(s + i, "true", 4) == 0)
	    || (n - i >= 4 && memcmp(s + i, "null", 4) == 0))
		i += 4;
	else if (n - i >= 5 && memcmp(s + i, "false", 5) == 0)
		i += 5;
	else {
		int neg = s[i] == '-';
		uint64_t v = 0;

		i += (size_t)neg;
		/* One pass: scan and accumulate (19 digits fit uint64_t). */
		for (d = 0; i + d < n && s[i + d] >= '0' && s[i + d] <= '9';
		     d++)
			v = v * 10 + (uint64_t)(s[i + d] - '0');
		if (d == 0 || (s[i] == '0' && d > 1))
			goto bad;
		if (d <= 19 && v <= (uint64_t)INT64_MAX + (uint64_t)neg) {
			p->jt->t[t].isint = 1;
			p->jt->t[t].ival = neg ? (int64_t)(0 - v) : (int64_t)v;
		}
		i += d;
		if (i < n && s[i] == '.') {
			p->jt->t[t].isint = 0;
			if ((d = digits(s, ++i, n)) == 0)
				goto bad;
			i += d;
		}
		if (i < n && (s[i] == 'e' || s[i] == 'E')) {
			p->jt->t[t].isint = 0;
			if (++i < n && (s[i] == '+' || s[i] == '-'))
				i++;
			if ((d = digits(s, i, n)) == 0)
				goto bad;
			i += d;
		}
	}
	/* "truex" or "1x" are not a literal followed by something else. */
	if (i < n
	    && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.'
	        || ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z')))
		goto bad;
	p->jt->t[t].end = (int)i;
	p->i = i;
	return 0;
bad:
	p->i = i;
	return jp_err(p, "invalid literal");
}

static int jp_value(struct jp *p);

/* An object or array at s[i]; members are separated by exactly one ','. */
static int
jp_container(struct jp *p)
{
	int obj = p->s[p->i] == '{';
	char close = obj ? '}' : ']';
	unsigned int t = jp_tok(p, obj ? MV_TOK_OBJECT : MV_TOK_ARRAY, p->i);
	int size = 0;

	if (++p->depth > MAX_DEPTH)
		return jp_err(p, "nesting too deep");
	p->i++;
	jp_ws(p);
	if (p->i < p->n && p->s[p->i] == close)
		goto done;
	for (;;) {
		if (obj) {
			if (p->i >= p->n || p->s[p->i] != '"')
				return jp_err(p, "expected a string key");
			if (jp_string(p, 1) < 0)
				return -1;
			jp_ws(p);
			if (p->i >= p->n || p->s[p->i] != ':')
				return jp_err(p, "expected ':'");
			p->i++;
			jp_ws(p);
		}
		if (jp_value(p) < 0)
			return -1;
		size++;
		jp_ws(p);
		if (p->i < p->n && p->s[p->i] == ',') {
			p->i++;
			jp_ws(p);
			continue;
		}
		if (p->i < p->n && p->s[p->i] == close)
			break;
		return jp_err(
		    p, obj ? "expected ',' or '}'" : "expected ',' or ']'");
	}
done:
	p->depth--;
	p->jt->t[t].size = size;
	p->jt->t[t].end = (int)++p->i;
	return 0;
}

static int
jp_value(struct jp *p)
{
	char c;

	if (p->i >= p->n)
		return jp_err(p, "truncated JSON");
	c = p->s[p->i];
	if (c == '{' || c == '[')
		return jp_container(p);
	if (c == '"')
		return jp_string(p, 0);
	if (c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f'
	    || c == 'n')
		return jp_primitive(p);
	return jp_err(p, "unexpected character");
}

int
mv_jtok_parse(struct mv_jtok *jt, const char *s, size_t n, struct mv_err *e)
{
	struct jp p = {s, n, 0, jt, e, 0};

	if (n > INT_MAX)
		return mv_err_set(e, "JSON text too long");
	jt->n = 0;
	jp_ws(&p);
	if (p.i >= n)
		return mv_err_set(e, "no JSON value");
	if (jp_value(&p) < 0)
		return -1;
	jp_ws(&p);
	if (p.i < n)
		return jp_err(&p, "trailing data after JSON value");
	return (int)jt->n;
}

unsigned int
mv_jtok_skip(const struct mv_jtok *jt, unsigned int i)
{
	unsigned int left = 1;

	/* Each token stands for itself and adds its children (size). */
	while (left > 0 && i < jt->n) {
		left += (unsigned int)jt->t[i].size;
		left--;
		i++;
	}
	return i;
}

int
mv_jtok_streq(const char *s, const struct mv_tok *t, const char *lit)
{
	size_t n = (size_t)(t->end - t->start);

	return t->type == MV_TOK_STRING && strlen(lit) == n
	    && memcmp(s + t->start, lit, n) == 0;
}

int
mv_jtok_int(const char *s, const struct mv_tok *t, int64_t *out)
{
	const char *p = s + t->start, *end = s + t->end;
	int neg = 0;
	uint64_t v = 0, lim;

	if (t->isint) {
		*out = t->ival;
		return 0;
	}
	if (t->type != MV_TOK_PRIMITIVE || p == end)
		return -1;
	if (*p == '-')
		neg = 1, p++;
	if (p == end)
		return -1;
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		if (v > (lim - (uint64_t)(*p - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

/* Appends code point cp as UTF-8. */
static void
add_utf8(struct mv_buf *b, uint32_t cp)
{
	char u[4];

	if (cp < 0x80) {
		mv_buf_addc(b, (char)cp);
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		mv_buf_add(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		mv_buf_add(b, u, 3);
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		mv_buf_add(b, u, 4);
	}
}

/* The token was validated by mv_jtok_parse, so escapes are well formed. */
size_t
mv_jtok_str(const char *s, const struct mv_tok *t, struct mv_buf *out)
{
	const char *p = s + t->start, *end = s + t->end;

	mv_buf_reset(out);
	mv_buf_grow(out, (size_t)(end - p));
	while (p < end) {
		const char *q = p;
		uint32_t cp;

		while (q < end && *q != '\\')
			q++;
		mv_buf_add(out, p, (size_t)(q - p));
		if (q >= end)
			break;
		switch (q[1]) {
		case 'b': mv_buf_addc(out, '\b'); break;
		case 'f': mv_buf_addc(out, '\f'); break;
		case 'n': mv_buf_addc(out, '\n'); break;
		case 'r': mv_buf_addc(out, '\r'); break;
		case 't': mv_buf_addc(out, '\t'); break;
		case 'u':
			cp = (uint32_t)hex4(q + 2);
			if (cp >= 0xd800 && cp <= 0xdbff) {
				cp = 0x10000 + ((cp - 0xd800) << 10)
				    + ((uint32_t)hex4(q + 8) - 0xdc00);
				q += 6;
			}
			add_utf8(out, cp);
			p = q + 6;
			continue;
		default: mv_buf_addc(out, q[1]); break;
		}
		p = q + 2;
	}
	return out->len;
}

/* Builds the value tree for the subtree at *i, advancing *i past it. */
static void
build(const char *s, const struct mv_jtok *jt, unsigned int *i, struct mv_jv *v,
    struct mv_buf *tmp)
{
	const struct mv_tok *t = &jt->t[*i];
	size_t k;

	memset(v, 0, sizeof(*v));
	(*i)++;
	switch (t->type) {
	case MV_TOK_STRING:
		v->kind = MV_JSTR;
		v->len = mv_jtok_str(s, t, tmp);
		v->s = mv_xstrndup(tmp->p, tmp->len);
		return;
	case MV_TOK_PRIMITIVE:
		if (s[t->start] == 'n') {
			v->kind = MV_JNULL;
		} else if (s[t->start] == 't' || s[t->start] == 'f') {
			v->kind = MV_JBOOL;
			v->b = s[t->start] == 't';
		} else if (mv_jtok_int(s, t, &v->i) == 0) {
			v->kind = MV_JINT;
			v->d = (double)v->i;
		} else {
			v->kind = MV_JNUM;
			v->s = mv_xstrndup(
			    s + t->start, (size_t)(t->end - t->start));
			v->d = strtod(v->s, NULL);
		}
		return;
	default: break;
	}
	v->kind = t->type == MV_TOK_OBJECT ? MV_JOBJ : MV_JARR;
	v->len = (size_t)t->size;
	v->items = mv_xcalloc(v->len, sizeof(*v->items));
	if (v->kind == MV_JOBJ)
		v->keys = mv_xcalloc(v->len, sizeof(*v->keys));
	for (k = 0; k < v->len; k++) {
		if (v->kind == MV_JOBJ) {
			mv_jtok_str(s, &jt->t[*i], tmp);
			v->keys[k] = mv_xstrndup(tmp->p, tmp->len);
			(*i)++;
		}
		build(s, jt, i, &v->items[k], tmp);
	}
}

struct mv_jv *
mv_jv_parse(const char *text, size_t n, struct mv_err *e)
{
	struct mv_jtok jt;
	struct mv_buf tmp = MV_BUF_INIT;
	struct mv_jv *v = NULL;
	unsigned int i = 0;

	mv_jtok_init(&jt);
	if (mv_jtok_parse(&jt, text, n, e) >= 0) {
		v = mv_xmalloc(sizeof(*v));
		build(text, &jt, &i, v, &tmp);
	}
	mv_buf_release(&tmp);
	mv_jtok_release(&jt);
	return v;
}

static void
jv_clear(struct mv_jv *v)
{
	size_t k;

	if (v->kind == MV_JARR || v->kind == MV_JOBJ) {
		for (k = 0; k < v->len; k++) {
			jv_clear(&v->items[k]);
			if (v->keys)
				free(v->keys[k]);
		}
		free(v->items);
		free(v->keys);
	}
	free(v->s);
}

void
mv_jv_free(struct mv_jv *v)
{
	if (v == NULL)
		return;
	jv_clear(v);
	free(v);
}

const struct mv_jv *
mv_jv_get(const struct mv_jv *obj, const char *key)
{
	size_t k;

	if (obj == NULL || obj->kind != MV_JOBJ)
		return NULL;
	for (k = 0; k < obj->len; k++)
		if (strcmp(obj->keys[k], key) == 0)
			return &obj->items[k];
	return NULL;
}

void
mv_jv_write(struct mv_buf *b, const struct mv_jv *v)
{
	size_t k;

	switch (v->kind) {
	case MV_JNULL: mv_buf_adds(b, "null"); return;
	case MV_JBOOL: mv_buf_adds(b, v->b ? "true" : "false"); return;
	case MV_JINT: mv_buf_addi(b, v->i); return;
	case MV_JNUM: mv_buf_adds(b, v->s); return;
	case MV_JSTR: mv_buf_add_jstr(b, v->s, v->len); return;
	default: break;
	}
	mv_buf_addc(b, v->kind == MV_JOBJ ? '{' : '[');
	for (k = 0; k < v->len; k++) {
		if (k)
			mv_buf_addc(b, ',');
		if (v->kind == MV_JOBJ) {
			mv_buf_add_jstr(b, v->keys[k], strlen(v->keys[k]));
			mv_buf_addc(b, ':');
		}
		mv_jv_write(b, &v->items[k]);
	}
	mv_buf_addc(b, v->kind == MV_JOBJ ? '}' : ']');
}

int
mv_jv_equal(const struct mv_jv *a, const struct mv_jv *b)
{
	size_t k;

	if (a->kind != b->kind) {
		if ((a->kind == MV_JINT || a->kind == MV_JNUM)
		    && (b->kind == MV_JINT || b->kind == MV_JNUM))
			return a->d == b->d;
		return 0;
	}
	switch (a->kind) {
	case MV_JNULL: return 1;
	case MV_JBOOL: return a->b == b->b;
	case MV_JINT: return a->i == b->i;
	case MV_JNUM: return a->d == b->d;
	case MV_JSTR:
		return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
	case MV_JARR:
		if (a->len != b->len)
			return 0;
		for (k = 0; k < a->len; k++)
			if (!mv_jv_equal(&a->items[k], &b->items[k]))
				return 0;
		return 1;
	case MV_JOBJ:
		if (a->len != b->len)
			return 0;
		for (k = 0; k < a->len; k++) {
			const struct mv_jv *o = mv_jv_get(b, a->keys[k]);
			if (o == NULL || !mv_jv_equal(&a->items[k], o))
				return 0;
		}
		return 1;
	}
	return 0;
}
