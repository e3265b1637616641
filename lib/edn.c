/*
 * edn.c: Jepsen's history.edn turned into mv-history(5) JSON lines.
 *
 * The importer only translates: each op map becomes one JSON object, and
 * the strict reader of history.c then applies every check it applies to
 * native histories (field types, pairing, index order), so the two
 * formats cannot drift apart.  The mapping:
 *   nil true false        null true false
 *   integers              exact 64-bit integers (anything larger: error)
 *   floats                JSON numbers (1. -> 1.0, +2 -> 2, 1.5M -> 1.5)
 *   "str" \c              strings
 *   :kw sym               strings without the colon (:invoke -> "invoke")
 *   [..] (..)             arrays
 *   #{..}                 arrays sorted by their JSON text, so equal sets
 *                         are equal values
 *   {..}                  objects; a key that is not a keyword, symbol
 *                         or string becomes the string of its JSON text
 *   #tag v                v (#jepsen.history.Op{..}, #inst "..")
 *   #_ v, ; comment, ","  nothing
 * Line numbers in messages are those of the EDN text.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edn.h"

/* Deeper nesting is refused: the recursion must not exhaust the stack,
 * and the JSON reader allows 512 levels. */
#define MAX_DEPTH 200

struct ep {
	const char *p;
	size_t n, i, line;
	const char *name;
	struct mv_err *e;
	int depth;
	int saw_index; /* some op map has :index */
};

struct span {
	const char *p;
	size_t n;
};

static int parse_value(struct ep *x, struct mv_buf *out);

static int
perr(struct ep *x, const char *what)
{
	return mv_err_set(x->e, "%s:%zu: %s", x->name, x->line, what);
}

static int
is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ','
	    || c == '\f' || c == '\v';
}

static int
is_delim(int c)
{
	return is_ws(c) || c == '(' || c == ')' || c == '[' || c == ']'
	    || c == '{' || c == '}' || c == '"' || c == ';';
}

/* A byte that may continue a symbol, keyword or number. */
static int
is_sym(int c)
{
	return c > 0x20 && c != 0x7f && c != '\\' && !is_delim(c);
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
is_hex(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int
at(const struct ep *x, size_t k)
{
	return x->i + k < x->n ? (unsigned char)x->p[x->i + k] : -1;
}

static int
deeper(struct ep *x)
{
	if (++x->depth > MAX_DEPTH)
		return perr(x, "nested more than 200 levels deep");
	return 0;
}

/* Skips blanks, commas, comments and #_ discarded forms. */
static int
skip_ws(struct ep *x)
{
	for (;;) {
		int c = at(x, 0);

		if (c >= 0 && is_ws(c)) {
			x->line += c == '\n';
			x->i++;
		} else if (c == ';') {
			while (x->i < x->n && x->p[x->i] != '\n')
				x->i++;
		} else if (c == '#' && at(x, 1) == '_') {
			struct mv_buf junk = MV_BUF_INIT;
			int rc;

			x->i += 2;
			if (deeper(x) < 0)
				return -1;
			rc = parse_value(x, &junk);
			mv_buf_release(&junk);
			x->depth--;
			if (rc < 0)
				return -1;
		} else
			return 0;
	}
}

static int
unclosed(struct ep *x, const char *what, size_t line)
{
	char msg[96];

	snprintf(msg, sizeof(msg),
	    "end of input inside the %s begun at line %zu", what, line);
	return perr(x, msg);
}

static int
parse_string(struct ep *x, struct mv_buf *out)
{
	size_t line = x->line;
	char msg[64];

	x->i++;
	mv_buf_addc(out, '"');
	while (x->i < x->n) {
		unsigned char c = (unsigned char)x->p[x->i];
		size_t run = x->i;

		if (c == '"') {
			x->i++;
			mv_buf_addc(out, '"');
			return 0;
		}
		if (c == '\\') {
			int d = at(x, 1), k;

			switch (d) {
			case 't':
			case 'n':
			case 'r':
			case 'b':
			case 'f':
			case '"':
			case '\\':
				mv_buf_addc(out, '\\');
				mv_buf_addc(out, (char)d);
				x->i += 2;
				continue;
			case 'u':
				for (k = 2; k < 6 && is_hex(at(x, (size_t)k));
				     k++)
					;
				if (k == 6) {
					mv_buf_add(out, x->p + x->i, 6);
					x->i += 6;
					continue;
				}
				return perr(x,
				    "\\u in a string needs four hex "
				    "digits");
			case -1: /* a '\\' ends the input: unclosed */
				x->i = x->n;
				continue;
			default:
				snprintf(msg, sizeof(msg),
				    "invalid escape '\\%c' in a string",
				    d >= 0x20 && d < 0x7f ? d : '?');
				return perr(x, msg);
			}
		}
		if (c < 0x20) {
			/* Clojure allows raw newlines in strings; JSON not. */
			x->line += c == '\n';
			if (c == '\n')
				mv_buf_adds(out, "\\n");
			else if (c == '\t')
				mv_buf_adds(out, "\\t");
			else if (c == '\r')
				mv_buf_adds(out, "\\r");
			else
				mv_buf_addf(out, "\\u%04x", c);
			x->i++;
			continue;
		}
		/* A run of plain bytes in one go. */
		while (x->i < x->n && (unsigned char)x->p[x->i] >= 0x20
		    && x->p[x->i] != '"' && x->p[x->i] != '\\')
			x->i++;
		mv_buf_add(out, x->p + run, x->i - run);
	}
	return unclosed(x, "string", line);
}

/* \c \newline \u0041: a character, as a one-character string. */
static int
parse_char(struct ep *x, struct mv_buf *out)
{
	static const struct {
		const char *name;
		char c;
	} named[] = {{"newline", '\n'}, {"space", ' '}, {"tab", '\t'},
	    {"return", '\r'}, {"backspace", '\b'}, {"formfeed", '\f'}};
	size_t start = ++x->i, k, len;
	const char *t = x->p + start;

	if (x->i >= x->n)
		return perr(x, "end of input after '\\'");
	x->i++;
	while (x->i < x->n && ((unsigned char)x->p[x->i] & 0xc0) == 0x80)
		x->i++;
	if (is_sym((unsigned char)*t))
		while (x->i < x->n && is_sym((unsigned char)x->p[x->i]))
			x->i++;
	len = x->i - start;
	if (len == 1 || ((unsigned char)*t >= 0x80 && !is_sym(at(x, 0)))) {
		mv_buf_add_jstr(out, t, len);
		return 0;
	}
	for (k = 0; k < sizeof(named) / sizeof(named[0]); k++)
		if (strlen(named[k].name) == len
		    && memcmp(named[k].name, t, len) == 0) {
			mv_buf_add_jstr(out, &named[k].c, 1);
			return 0;
		}
	if (len == 5 && t[0] == 'u' && is_hex(t[1]) && is_hex(t[2])
	    && is_hex(t[3]) && is_hex(t[4])) {
		mv_buf_addc(out, '"');
		mv_buf_addc(out, '\\');
		mv_buf_add(out, t, 5);
		mv_buf_addc(out, '"');
		return 0;
	}
	return perr(x, "unknown character literal");
}

/* Keywords (kw = 1, at the ':'), symbols, nil, true and false. */
static int
parse_word(struct ep *x, struct mv_buf *out, int kw)
{
	size_t start;

	x->i += (size_t)kw;
	start = x->i;
	if (kw && at(x, 0) == ':')
		return perr(x, "'::' keywords are not EDN");
	while (x->i < x->n && is_sym((unsigned char)x->p[x->i]))
		x->i++;
	if (x->i == start)
		return perr(x, "empty keyword");
	if (!kw) {
		static const char *const lit[] = {"nil", "true", "false"};
		size_t k, n = x->i - start;

		for (k = 0; k < 3; k++)
			if (strlen(lit[k]) == n
			    && memcmp(lit[k], x->p + start, n) == 0) {
				mv_buf_adds(out, k == 0 ? "null" : lit[k]);
				return 0;
			}
	}
	mv_buf_add_jstr(out, x->p + start, x->i - start);
	return 0;
}

static int
parse_number(struct ep *x, struct mv_buf *out)
{
	size_t ds, de, fs = 0, fe = 0, es = 0, ee = 0, k;
	int neg = 0, flt = 0, dot = 0;
	uint64_t mag = 0, lim;

	if (at(x, 0) == '+' || at(x, 0) == '-') {
		neg = at(x, 0) == '-';
		x->i++;
	}
	for (ds = x->i; is_digit(at(x, 0)); x->i++)
		;
	de = x->i;
	if (at(x, 0) == '.') {
		flt = dot = 1;
		for (fs = ++x->i; is_digit(at(x, 0)); x->i++)
			;
		fe = x->i;
	}
	if (at(x, 0) == 'e' || at(x, 0) == 'E') {
		flt = 1;
		es = ++x->i;
		if (at(x, 0) == '+' || at(x, 0) == '-')
			x->i++;
		if (!is_digit(at(x, 0)))
			return perr(x, "invalid number");
		while (is_digit(at(x, 0)))
			x->i++;
		ee = x->i;
	}
	if (at(x, 0) == 'M') {
		flt = 1;
		x->i++;
	} else if (!flt && at(x, 0) == 'N')
		x->i++;
	if ((at(x, 0) >= 0 && !is_delim(at(x, 0))) || de == ds)
		return perr(x, "invalid number");
	if (de - ds > 1 && x->p[ds] == '0')
		return perr(x, "invalid number: leading zero");
	if (flt) {
		if (neg)
			mv_buf_addc(out, '-');
		mv_buf_add(out, x->p + ds, de - ds);
		if (dot) {
			mv_buf_addc(out, '.');
			if (fe > fs)
				mv_buf_add(out, x->p + fs, fe - fs);
			else
				mv_buf_addc(out, '0');
		}
		if (ee) {
			mv_buf_addc(out, 'e');
			mv_buf_add(out, x->p + es, ee - es);
		}
		return 0;
	}
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (k = ds; k < de; k++) {
		unsigned d = (unsigned)(x->p[k] - '0');

		if (mag > (lim - d) / 10)
			return perr(x, "integer out of the 64-bit range");
		mag = mag * 10 + d;
	}
	if (neg && mag)
		mv_buf_addc(out, '-');
	/* The digits as written: no leading zero, no sign of their own. */
	mv_buf_add(out, x->p + ds, de - ds);
	return 0;
}

static int
cmp_span(const void *a, const void *b)
{
	const struct span *s = a, *t = b;
	int c = memcmp(s->p, t->p, s->n < t->n ? s->n : t->n);

	if (c)
		return c;
	return s->n < t->n ? -1 : s->n > t->n;
}

/* Rewrites the set elements out->p[start..] (spans sp) sorted, deduped. */
static void
sort_set(struct mv_buf *out, size_t start, struct span *sp, size_t n)
{
	char *seg = mv_xstrndup(out->p + start, out->len - start);
	size_t k, m = 0;

	for (k = 0; k < n; k++)
		sp[k].p = seg + (sp[k].p - out->p) - start;
	qsort(sp, n, sizeof(*sp), cmp_span);
	out->len = start;
	for (k = 0; k < n; k++) {
		if (k && cmp_span(&sp[k - 1], &sp[k]) == 0)
			continue;
		if (m++)
			mv_buf_addc(out, ',');
		mv_buf_add(out, sp[k].p, sp[k].n);
	}
	free(seg);
}

/* Vectors, lists (close ']' or ')') and sets (set = 1, close '}'). */
static int
parse_coll(struct ep *x, struct mv_buf *out, char close, int set)
{
	static const char *const what[] = {"vector", "list", "set"};
	size_t line = x->line, start, k, nsp = 0, capsp = 0, off;
	struct span *sp = NULL;
	int rc = -1;

	x->i++;
	if (deeper(x) < 0)
		return -1;
	mv_buf_addc(out, '[');
	start = out->len;
	for (k = 0;; k++) {
		if (skip_ws(x) < 0)
			goto out;
		if (x->i >= x->n) {
			unclosed(x, what[set ? 2 : close == ')'], line);
			goto out;
		}
		if (x->p[x->i] == close) {
			x->i++;
			break;
		}
		if (k)
			mv_buf_addc(out, ',');
		off = out->len;
		if (parse_value(x, out) < 0)
			goto out;
		if (set) {
			if (nsp == capsp) {
				capsp = capsp ? capsp * 2 : 16;
				sp = mv_xrealloc(sp, capsp * sizeof(*sp));
			}
			/* Offsets for now: out->p may move while parsing. */
			sp[nsp].p = (const char *)(uintptr_t)off;
			sp[nsp++].n = out->len - off;
		}
	}
	if (set && nsp > 1) {
		for (k = 0; k < nsp; k++)
			sp[k].p = out->p + (uintptr_t)sp[k].p;
		sort_set(out, start, sp, nsp);
	}
	mv_buf_addc(out, ']');
	x->depth--;
	rc = 0;
out:
	free(sp);
	return rc;
}

/* Makes the value at out->p[start..] a JSON string if it is not one. */
static void
stringify(struct mv_buf *out, size_t start)
{
	char *t;

	if (out->p[start] == '"')
		return;
	t = mv_xstrndup(out->p + start, out->len - start);
	out->len = start;
	mv_buf_add_jstr(out, t, strlen(t));
	free(t);
}

static int
parse_map(struct ep *x, struct mv_buf *out, int top)
{
	size_t line = x->line, k, ks;

	x->i++;
	if (deeper(x) < 0)
		return -1;
	mv_buf_addc(out, '{');
	for (k = 0;; k++) {
		if (skip_ws(x) < 0)
			return -1;
		if (x->i >= x->n)
			return unclosed(x, "map", line);
		if (x->p[x->i] == '}') {
			x->i++;
			break;
		}
		if (k)
			mv_buf_addc(out, ',');
		ks = out->len;
		if (parse_value(x, out) < 0)
			return -1;
		stringify(out, ks);
		if (top && out->len - ks == 7
		    && memcmp(out->p + ks, "\"index\"", 7) == 0)
			x->saw_index = 1;
		mv_buf_addc(out, ':');
		if (skip_ws(x) < 0)
			return -1;
		if (at(x, 0) == '}')
			return perr(x, "map key without a value");
		if (parse_value(x, out) < 0)
			return -1;
	}
	mv_buf_addc(out, '}');
	x->depth--;
	return 0;
}

/* What follows '#': a set, ##Inf and kin, or a tagged value. */
static int
parse_dispatch(struct ep *x, struct mv_buf *out)
{
	int c = at(x, 1), rc;
	size_t start;

	if (c == '{') {
		x->i++;
		return parse_coll(x, out, '}', 1);
	}
	if (c == '#') {
		for (start = x->i, x->i += 2;
		     x->i < x->n && is_sym((unsigned char)x->p[x->i]); x->i++)
			;
		mv_buf_add_jstr(out, x->p + start, x->i - start);
		return 0;
	}
	if (c < 0 || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
		return perr(x, "unsupported '#' form");
	for (x->i++; x->i < x->n && is_sym((unsigned char)x->p[x->i]); x->i++)
		;
	if (deeper(x) < 0)
		return -1;
	rc = parse_value(x, out);
	x->depth--;
	return rc;
}

static int
parse_value(struct ep *x, struct mv_buf *out)
{
	int c;
	char msg[48];

	if (skip_ws(x) < 0)
		return -1;
	switch (c = at(x, 0)) {
	case -1: return perr(x, "unexpected end of input");
	case '"': return parse_string(x, out);
	case '[': return parse_coll(x, out, ']', 0);
	case '(': return parse_coll(x, out, ')', 0);
	case '{': return parse_map(x, out, 0);
	case '#': return parse_dispatch(x, out);
	case ':': return parse_word(x, out, 1);
	case '\\': return parse_char(x, out);
	case ')':
	case ']':
	case '}':
		snprintf(msg, sizeof(msg), "unexpected '%c'", c);
		return perr(x, msg);
	default: break;
	}
	if (is_digit(c) || ((c == '+' || c == '-') && is_digit(at(x, 1))))
		return parse_number(x, out);
	if (is_sym(c))
		return parse_word(x, out, 0);
	snprintf(msg, sizeof(msg), "unexpected byte 0x%02x", (unsigned)c);
	return perr(x, msg);
}

/* One op: a map, perhaps tagged (#jepsen.history.Op{...}). */
static int
parse_op(struct ep *x, struct mv_buf *out)
{
	int c = at(x, 0);

	if (c == '#'
	    && ((at(x, 1) >= 'a' && at(x, 1) <= 'z')
	        || (at(x, 1) >= 'A' && at(x, 1) <= 'Z'))) {
		while (x->i < x->n && is_sym((unsigned char)x->p[x->i]))
			x->i++;
		if (skip_ws(x) < 0)
			return -1;
		c = at(x, 0);
	}
	if (c != '{')
		return c == ')' || c == ']' || c == '}' || c < 0
		    ? parse_value(x, out)
		    : perr(x, "an operation is not a map");
	return parse_map(x, out, 1);
}

int
mv_edn_sniff(const char *p, size_t n, int eof)
{
	size_t i = 0;

	while (i < n && is_ws((unsigned char)p[i]))
		i++;
	if (i == n)
		return eof ? 0 : -1;
	switch (p[i]) {
	case ';': /* comments are not JSON */
	case '#':
	case '[':
	case '(': return 1;
	case '{': break;
	default: return 0;
	}
	for (i++; i < n && is_ws((unsigned char)p[i]); i++)
		;
	if (i == n)
		return eof ? 0 : -1;
	return p[i] == ':';
}

/* Prefixes every op with "index":k, k its position. */
static void
add_index(struct mv_buf *out, size_t from, const size_t *off, size_t n)
{
	char *old = mv_xstrndup(out->p + from, out->len - from);
	size_t k, base = from;

	out->len = from;
	for (k = 0; k < n; k++) {
		const char *op = old + (off[k] - base);
		size_t len = (k + 1 < n ? off[k + 1] - base : strlen(old))
		    - (off[k] - base);

		mv_buf_adds(out, "{\"index\":");
		mv_buf_addi(out, (int64_t)k);
		if (op[1] != '}')
			mv_buf_addc(out, ',');
		mv_buf_add(out, op + 1, len - 1);
	}
	free(old);
}

int
mv_edn_convert(const char *p, size_t n, const char *name, struct mv_buf *out,
    size_t **lines, size_t *nlines, struct mv_err *e)
{
	struct ep x;
	size_t nops = 0, cap = 0, *ln = NULL, *off = NULL, from = out->len;
	size_t open_line = 1;
	int close = 0;

	memset(&x, 0, sizeof(x));
	x.p = p;
	x.n = n;
	x.line = 1;
	x.name = name;
	x.e = e;
	if (skip_ws(&x) < 0)
		goto fail;
	if (at(&x, 0) == '[' || at(&x, 0) == '(') {
		close = at(&x, 0) == '[' ? ']' : ')';
		open_line = x.line;
		x.i++;
	}
	for (;;) {
		if (skip_ws(&x) < 0)
			goto fail;
		if (x.i >= x.n) {
			if (close) {
				unclosed(&x, close == ']' ? "vector" : "list",
				    open_line);
				goto fail;
			}
			break;
		}
		if (close && at(&x, 0) == close) {
			x.i++;
			if (skip_ws(&x) < 0)
				goto fail;
			if (x.i < x.n) {
				perr(&x, "text after the end of the history");
				goto fail;
			}
			break;
		}
		if (nops == cap) {
			cap = cap ? cap * 2 : 256;
			ln = mv_xrealloc(ln, cap * sizeof(*ln));
			off = mv_xrealloc(off, cap * sizeof(*off));
		}
		ln[nops] = x.line;
		off[nops] = out->len;
		if (parse_op(&x, out) < 0)
			goto fail;
		mv_buf_addc(out, '\n');
		nops++;
	}
	if (!x.saw_index && nops)
		add_index(out, from, off, nops);
	free(off);
	*lines = ln;
	*nlines = nops;
	return 0;
fail:
	free(ln);
	free(off);
	out->len = from;
	if (out->p)
		out->p[from] = '\0';
	*lines = NULL;
	*nlines = 0;
	return -1;
}

int
mv_edn_detect(
    FILE *f, const char *name, int want, struct mv_buf *b, struct mv_err *e)
{
	int fd = fileno(f), k = want, eof = 0;
	ssize_t got;

	for (;;) {
		if (k < 0)
			k = mv_edn_sniff(b->p, b->len, eof);
		if (k == 0 || (k > 0 && eof))
			return k;
		mv_buf_grow(b, 1 << 16);
		/* read(2) as the reader does: its buffer takes over. */
		if (fd < 0) {
			got = (ssize_t)fread(b->p + b->len, 1, 1 << 16, f);
			if (got == 0 && ferror(f))
				got = -1;
		} else
			got = read(fd, b->p + b->len, 1 << 16);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return mv_err_set(
			    e, "%s: read error: %s", name, strerror(errno));
		eof = got == 0;
		b->len += (size_t)got;
		b->p[b->len] = '\0';
	}
}
