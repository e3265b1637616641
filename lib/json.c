/* json.c: jsmn tokenising plus the strict checks jsmn leaves out; values. */
#define JSMN_STRICT
#include <jsmn.h>

#include <errno.h>
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
mv_jtok_span(const jsmntok_t *t, size_t *start)
{
	if (t->type == JSMN_STRING) {
		*start = (size_t)t->start - 1;
		return (size_t)(t->end - t->start) + 2;
	}
	*start = (size_t)t->start;
	return (size_t)(t->end - t->start);
}

int
mv_utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t k;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			k = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			k = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			k = 3, cp = c & 0x07;
		else
			return 0;
		for (size_t j = 1; j <= k; j++) {
			if (i + j >= n || (s[i + j] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + j] & 0x3f);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000)
		    || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += k + 1;
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

/* Checks the body of a string (between the quotes). */
static int
check_string(const char *s, size_t n, struct mv_err *e)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		long u, lo;

		if (c < 0x20)
			return mv_err_set(e, "control character in string");
		if (c != '\\')
			continue;
		if (++i >= n)
			return mv_err_set(e, "bad escape in string");
		if (strchr("\"\\/bfnrt", s[i]) != NULL && s[i] != '\0')
			continue;
		if (s[i] != 'u' || i + 4 >= n || (u = hex4(s + i + 1)) < 0)
			return mv_err_set(e, "bad escape in string");
		i += 4;
		if (u >= 0xdc00 && u <= 0xdfff)
			return mv_err_set(e, "lone surrogate in string");
		if (u >= 0xd800 && u <= 0xdbff) {
			if (i + 6 >= n || s[i + 1] != '\\' || s[i + 2] != 'u'
			    || (lo = hex4(s + i + 3)) < 0xdc00 || lo > 0xdfff)
				return mv_err_set(
				    e, "lone surrogate in string");
			i += 6;
		}
	}
	if (!mv_utf8_valid(s, n))
		return mv_err_set(e, "invalid UTF-8 in string");
	return 0;
}

/* RFC 8259 number, or true/false/null. */
static int
check_primitive(const char *s, size_t n, struct mv_err *e)
{
	size_t i = 0;

	if ((n == 4 && memcmp(s, "true", 4) == 0)
	    || (n == 5 && memcmp(s, "false", 5) == 0)
	    || (n == 4 && memcmp(s, "null", 4) == 0))
		return 0;
	if (i < n && s[i] == '-')
		i++;
	if (i < n && s[i] == '0')
		i++;
	else if (i < n && s[i] >= '1' && s[i] <= '9')
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	else
		goto bad;
	if (i < n && s[i] == '.') {
		if (++i >= n || s[i] < '0' || s[i] > '9')
			goto bad;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= n || s[i] < '0' || s[i] > '9')
			goto bad;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i == n)
		return 0;
bad:
	return mv_err_set(
	    e, "invalid literal '%.*s'", (int)(n > 20 ? 20 : n), s);
}

static int
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The bytes s[a..b) must be white space with exactly one sep (or none). */
static int
check_gap(const char *s, size_t a, size_t b, char sep, struct mv_err *e)
{
	int seen = 0;

	for (; a < b; a++) {
		if (is_ws(s[a]))
			continue;
		if (s[a] == sep && sep && !seen) {
			seen = 1;
			continue;
		}
		return mv_err_set(
		    e, "unexpected '%c' at column %zu", s[a], a + 1);
	}
	if (sep && !seen)
		return mv_err_set(e, "missing '%c' at column %zu", sep, b + 1);
	return 0;
}

struct walk {
	const char *s;
	const jsmntok_t *t;
	unsigned int n;
	struct mv_err *e;
};

/* Validates the subtree at i; returns the next index, or 0 on error. */
static unsigned int
walk(struct walk *w, unsigned int i, int depth)
{
	const jsmntok_t *t = &w->t[i];
	size_t pos, st, len;
	unsigned int j = i + 1;
	int k;

	if (depth > MAX_DEPTH)
		return mv_err_set(w->e, "nesting deeper than %d", MAX_DEPTH), 0;
	if (t->type == JSMN_STRING)
		return check_string(
		           w->s + t->start, (size_t)(t->end - t->start), w->e)
		    ? 0
		    : j;
	if (t->type == JSMN_PRIMITIVE)
		return check_primitive(
		           w->s + t->start, (size_t)(t->end - t->start), w->e)
		    ? 0
		    : j;
	pos = (size_t)t->start + 1;
	for (k = 0; k < t->size; k++) {
		if (j >= w->n)
			return mv_err_set(w->e, "truncated JSON"), 0;
		len = mv_jtok_span(&w->t[j], &st);
		if (check_gap(w->s, pos, st, k ? ',' : 0, w->e))
			return 0;
		pos = st + len;
		if (t->type == JSMN_OBJECT) {
			if (w->t[j].type != JSMN_STRING)
				return mv_err_set(w->e,
				           "object key is not a string at "
				           "column %zu",
				           st + 1),
				       0;
			if (check_string(w->s + w->t[j].start,
			        (size_t)(w->t[j].end - w->t[j].start), w->e))
				return 0;
			j++;
			if (j >= w->n)
				return mv_err_set(w->e, "truncated JSON"), 0;
			len = mv_jtok_span(&w->t[j], &st);
			if (check_gap(w->s, pos, st, ':', w->e))
				return 0;
			pos = st + len;
		}
		if ((j = walk(w, j, depth + 1)) == 0)
			return 0;
	}
	if (check_gap(w->s, pos, (size_t)t->end - 1, 0, w->e))
		return 0;
	return j;
}

int
mv_jtok_parse(struct mv_jtok *jt, const char *s, size_t n, struct mv_err *e)
{
	jsmn_parser p;
	struct walk w;
	size_t st, len;
	int r;

	if (jt->cap == 0) {
		jt->cap = 256;
		jt->t = mv_xmalloc(jt->cap * sizeof(*jt->t));
	}
	jsmn_init(&p);
	while ((r = jsmn_parse(&p, s, n, jt->t, jt->cap)) == JSMN_ERROR_NOMEM) {
		jt->cap *= 2;
		jt->t = mv_xrealloc(jt->t, jt->cap * sizeof(*jt->t));
	}
	if (r == JSMN_ERROR_PART)
		return mv_err_set(e, "truncated JSON");
	if (r == JSMN_ERROR_INVAL)
		return mv_err_set(e, "invalid JSON at column %u", p.pos + 1);
	if (r <= 0)
		return mv_err_set(e, "no JSON value");
	jt->n = (unsigned int)r;
	w.s = s;
	w.t = jt->t;
	w.n = jt->n;
	w.e = e;
	len = mv_jtok_span(&jt->t[0], &st);
	if (check_gap(s, 0, st, 0, e))
		return -1;
	if (walk(&w, 0, 0) != jt->n) {
		if (e && e->msg[0] == '\0')
			mv_err_set(e, "trailing data after JSON value");
		return -1;
	}
	if (check_gap(s, st + len, n, 0, e))
		return -1;
	return r;
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
mv_jtok_streq(const char *s, const jsmntok_t *t, const char *lit)
{
	size_t n = (size_t)(t->end - t->start);

	return t->type == JSMN_STRING && strlen(lit) == n
	    && memcmp(s + t->start, lit, n) == 0;
}

int
mv_jtok_int(const char *s, const jsmntok_t *t, int64_t *out)
{
	const char *p = s + t->start, *end = s + t->end;
	int neg = 0;
	uint64_t v = 0, lim;

	if (t->type != JSMN_PRIMITIVE || p == end)
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
mv_jtok_str(const char *s, const jsmntok_t *t, struct mv_buf *out)
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
	const jsmntok_t *t = &jt->t[*i];
	size_t k;

	memset(v, 0, sizeof(*v));
	(*i)++;
	switch (t->type) {
	case JSMN_STRING:
		v->kind = MV_JSTR;
		v->len = mv_jtok_str(s, t, tmp);
		v->s = mv_xstrndup(tmp->p, tmp->len);
		return;
	case JSMN_PRIMITIVE:
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
	v->kind = t->type == JSMN_OBJECT ? MV_JOBJ : MV_JARR;
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

/*
 * jsmn's strict mode refuses a bare top-level primitive ("3"), which is a
 * common value, so the text is parsed as the one element of an array.
 */
struct mv_jv *
mv_jv_parse(const char *text, size_t n, struct mv_err *e)
{
	struct mv_jtok jt;
	struct mv_buf tmp = MV_BUF_INIT, wrap = MV_BUF_INIT;
	struct mv_jv *v = NULL;
	unsigned int i = 1;

	if (e)
		e->msg[0] = '\0';
	mv_jtok_init(&jt);
	mv_buf_addc(&wrap, '[');
	mv_buf_add(&wrap, text, n);
	mv_buf_addc(&wrap, ']');
	if (mv_jtok_parse(&jt, wrap.p, wrap.len, e) < 0)
		goto out;
	if (jt.t[0].size != 1) {
		mv_err_set(e,
		    jt.t[0].size ? "trailing data after JSON value"
		                 : "no JSON value");
		goto out;
	}
	v = mv_xmalloc(sizeof(*v));
	build(wrap.p, &jt, &i, v, &tmp);
out:
	mv_buf_release(&tmp);
	mv_buf_release(&wrap);
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
