/* buf.h: a growable byte string, in the manner of git's strbuf. */
#ifndef MV_BUF_H
#define MV_BUF_H

#include <stddef.h>
#include <stdint.h>

/*
 * p is always NUL-terminated once anything was added (or after
 * mv_buf_init); the buffer owns p.  Allocation failure aborts: a tool that
 * cannot grow a line buffer has nothing sensible left to do.
 */
struct mv_buf {
	char *p;
	size_t len, cap;
};

#define MV_BUF_INIT                                                            \
	{                                                                      \
		NULL, 0, 0                                                     \
	}

void mv_buf_init(struct mv_buf *b);
void mv_buf_release(struct mv_buf *b);
void mv_buf_reset(struct mv_buf *b);
void mv_buf_grow(struct mv_buf *b, size_t extra);
void mv_buf_add(struct mv_buf *b, const void *p, size_t n);
void mv_buf_adds(struct mv_buf *b, const char *s);
void mv_buf_addc(struct mv_buf *b, char c);
void mv_buf_addf(struct mv_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void mv_buf_addi(struct mv_buf *b, int64_t v);
/* Appends s (n bytes, valid UTF-8) as a quoted, escaped JSON string. */
void mv_buf_add_jstr(struct mv_buf *b, const char *s, size_t n);
/* Takes p out of the buffer; the caller frees it; b is reset. */
char *mv_buf_detach(struct mv_buf *b, size_t *len);

/* Allocation that aborts with a message instead of returning NULL. */
void *mv_xmalloc(size_t n);
void *mv_xcalloc(size_t n, size_t m);
void *mv_xrealloc(void *p, size_t n);
char *mv_xstrndup(const char *s, size_t n);
char *mv_xstrdup(const char *s);

#endif
