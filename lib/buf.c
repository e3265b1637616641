/* buf.c: growable strings and aborting allocation. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

static void
oom(size_t n)
{
	fprintf(stderr, "mv: out of memory allocating %zu bytes\n", n);
	abort();
}

void *
mv_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		oom(n);
	return p;
}

void *
mv_xcalloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);

	if (p == NULL)
		oom(n * m);
	return p;
}

void *
mv_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		oom(n);
	return q;
}

char *
mv_xstrndup(const char *s, size_t n)
{
	char *p = mv_xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
mv_xstrdup(const char *s)
{
	return mv_xstrndup(s, strlen(s));
}

void
mv_buf_init(struct mv_buf *b)
{
	b->p = NULL;
	b->len = b->cap = 0;
	mv_buf_grow(b, 0);
}

void
mv_buf_release(struct mv_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

void
mv_buf_reset(struct mv_buf *b)
{
	b->len = 0;
	if (b->p)
		b->p[0] = '\0';
}

void
mv_buf_grow(struct mv_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;

	if (need <= b->cap)
		return;
	if (need < b->cap * 2)
		need = b->cap * 2;
	if (need < 64)
		need = 64;
	b->p = mv_xrealloc(b->p, need);
	b->cap = need;
	b->p[b->len] = '\0';
}

void
mv_buf_add(struct mv_buf *b, const void *p, size_t n)
{
	mv_buf_grow(b, n);
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
mv_buf_adds(struct mv_buf *b, const char *s)
{
	mv_buf_add(b, s, strlen(s));
}

void
mv_buf_addc(struct mv_buf *b, char c)
{
	mv_buf_grow(b, 1);
	b->p[b->len++] = c;
	b->p[b->len] = '\0';
}

void
mv_buf_addf(struct mv_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	mv_buf_grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Hand-rolled because printf("%lld") is a measurable cost on hot paths. */
void
mv_buf_addi(struct mv_buf *b, int64_t v)
{
	char tmp[24];
	int i = (int)sizeof(tmp);
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	do {
		tmp[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		tmp[--i] = '-';
	mv_buf_add(b, tmp + i, sizeof(tmp) - (size_t)i);
}

void
mv_buf_add_jstr(struct mv_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run = 0;

	mv_buf_grow(b, n + 2);
	mv_buf_addc(b, '"');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[7];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		mv_buf_add(b, s + run, i - run);
		run = i + 1;
		esc[0] = '\\';
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\n': esc[1] = 'n'; break;
		case '\t': esc[1] = 't'; break;
		case '\r': esc[1] = 'r'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			mv_buf_add(b, esc, 6);
			continue;
		}
		mv_buf_add(b, esc, 2);
	}
	mv_buf_add(b, s + run, n - run);
	mv_buf_addc(b, '"');
}

char *
mv_buf_detach(struct mv_buf *b, size_t *len)
{
	char *p;

	if (b->p == NULL)
		mv_buf_grow(b, 0);
	p = b->p;
	if (len)
		*len = b->len;
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}
