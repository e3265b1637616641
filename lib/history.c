/* history.c: the strict streaming reader and the writer of mv-history(5). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edn.h"
#include "history.h"
#include "jtok.h"
#include "json.h"

/* A line longer than this is refused rather than buffered without end. */
#define MAX_LINE (64u << 20)

enum pstate { P_IDLE, P_OPEN, P_CRASHED };

/* Per-process pairing state, in an open-addressing table keyed by id. */
struct proc {
	int64_t id;
	int used;
	enum pstate st;
	size_t line;    /* line of the open or info-ending op */
	uint64_t fhash; /* hash of the open invocation's f */
};

struct mv_reader {
	FILE *f;
	const char *name;
	unsigned flags;
	char *buf;
	size_t len, off, cap;
	int eof, done;
	size_t line, records;
	const size_t *lmap; /* line of each record in the original text */
	size_t nlmap, nlines;
	int64_t last_index;
	int have_index; /* 1: records carry "index", -1: they do not, 0: ? */
	struct mv_jtok jt;
	struct mv_buf tmp, extra;
	struct proc *procs;
	size_t nprocs, capprocs;
};

static const char *const type_names[] = {
    "invoke", "ok", "fail", "info", "meta", "op"};

const char *
mv_type_name(enum mv_type t)
{
	return type_names[t];
}

void
mv_event_init(struct mv_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->time = ev->index = ev->at = -1;
	ev->ovc.ctl = ev->ovc.obs = ev->ovc.lo = ev->ovc.hi = -1;
}

void
mv_event_release(struct mv_event *ev)
{
	free(ev->f);
	free(ev->key);
	free(ev->value);
	free(ev->error);
	free(ev->extra);
	free(ev->raw);
	free(ev->ovc.vc);
	mv_event_init(ev);
}

static char *
dup_or_null(const char *s)
{
	return s ? mv_xstrdup(s) : NULL;
}

void
mv_event_copy(struct mv_event *dst, const struct mv_event *src)
{
	*dst = *src;
	dst->f = dup_or_null(src->f);
	dst->key = dup_or_null(src->key);
	dst->value = dup_or_null(src->value);
	dst->error = dup_or_null(src->error);
	dst->extra = dup_or_null(src->extra);
	dst->raw = dup_or_null(src->raw);
	dst->ovc.vc = dup_or_null(src->ovc.vc);
}

struct mv_reader *
mv_reader_new(FILE *f, const char *name, unsigned flags)
{
	struct mv_reader *r = mv_xcalloc(1, sizeof(*r));

	r->f = f;
	r->name = (name == NULL || strcmp(name, "-") == 0) ? "<stdin>" : name;
	r->flags = flags;
	r->cap = 1 << 16;
	r->buf = mv_xmalloc(r->cap);
	mv_jtok_init(&r->jt);
	mv_buf_init(&r->tmp);
	mv_buf_init(&r->extra);
	return r;
}

void
mv_reader_free(struct mv_reader *r)
{
	if (r == NULL)
		return;
	free(r->buf);
	free(r->procs);
	mv_jtok_release(&r->jt);
	mv_buf_release(&r->tmp);
	mv_buf_release(&r->extra);
	free(r);
}

/* Error about the current line: "FILE:LINE: what". */
static int
rerr(struct mv_reader *r, struct mv_err *e, const char *what)
{
	r->done = 1;
	return mv_err_set(e, "%s:%zu: %s", r->name, r->line, what);
}

/*
 * Reads what is there, up to the free space in the buffer.  read(2) and not
 * fread(3): fread waits until the whole request is filled, so a reader at
 * the end of a slow pipe (mv-gen --rate | mv-exec) would sit on complete
 * lines.  A FILE without a descriptor (fmemopen) falls back to fread.
 */
static int
read_more(struct mv_reader *r, struct mv_err *e)
{
	size_t want = r->cap - r->len - 1;
	int fd;
	ssize_t got;

	/* A reader without a file reads only what mv_reader_unread gave. */
	if (r->f == NULL) {
		r->eof = 1;
		return 0;
	}
	fd = fileno(r->f);
	if (fd < 0) {
		got = (ssize_t)fread(r->buf + r->len, 1, want, r->f);
		if (got == 0 && ferror(r->f))
			got = -1;
	} else
		got = read(fd, r->buf + r->len, want);
	if (got < 0)
		return mv_err_set(
		    e, "%s: read error: %s", r->name, strerror(errno));
	if (got == 0)
		r->eof = 1;
	r->len += (size_t)got;
	return 0;
}

void
mv_reader_unread(struct mv_reader *r, const char *p, size_t n)
{
	if (n == 0)
		return;
	if (r->len + n + 1 > r->cap) {
		r->cap = r->len + n + 1;
		r->buf = mv_xrealloc(r->buf, r->cap);
	}
	memmove(r->buf + r->off + n, r->buf + r->off, r->len - r->off);
	memcpy(r->buf + r->off, p, n);
	r->len += n;
}

void
mv_reader_lines(struct mv_reader *r, const size_t *lines, size_t n)
{
	r->lmap = lines;
	r->nlmap = n;
}

int
mv_reader_ready(const struct mv_reader *r)
{
	return r->eof || r->done
	    || memchr(r->buf + r->off, '\n', r->len - r->off) != NULL;
}

/*
 * Finds the next line in the buffer, reading more as needed.  Sets *lp and
 * *np (without the newline, NUL-terminated in place); 0 at end, -1 on error.
 */
static int
next_line(struct mv_reader *r, char **lp, size_t *np, struct mv_err *e)
{
	for (;;) {
		char *nl = memchr(r->buf + r->off, '\n', r->len - r->off);

		if (nl != NULL || (r->eof && r->off < r->len)) {
			char *start = r->buf + r->off;
			size_t n = nl ? (size_t)(nl - start) : r->len - r->off;

			r->off += n + (nl != NULL);
			start[n] = '\0';
			/* Converted input (EDN) names its own lines. */
			r->line = r->nlines < r->nlmap ? r->lmap[r->nlines]
			                               : r->nlines + 1;
			r->nlines++;
			*lp = start;
			*np = n;
			return 1;
		}
		if (r->eof)
			return 0;
		/* Compact, then grow if one line fills the buffer. */
		if (r->off > 0) {
			memmove(r->buf, r->buf + r->off, r->len - r->off);
			r->len -= r->off;
			r->off = 0;
		}
		if (r->len + 1 >= r->cap) {
			if (r->cap >= MAX_LINE) {
				r->line++;
				return mv_err_set(e,
				    "%s:%zu: line longer than %u bytes",
				    r->name, r->line, MAX_LINE);
			}
			r->cap *= 2;
			r->buf = mv_xrealloc(r->buf, r->cap);
		}
		if (read_more(r, e) < 0)
			return -1;
	}
}

static uint64_t
hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static struct proc *
proc_get(struct mv_reader *r, int64_t id)
{
	size_t i, mask;

	if (r->nprocs * 2 >= r->capprocs) {
		struct proc *old = r->procs;
		size_t oldcap = r->capprocs;

		r->capprocs = oldcap ? oldcap * 2 : 64;
		r->procs = mv_xcalloc(r->capprocs, sizeof(*r->procs));
		r->nprocs = 0;
		for (i = 0; i < oldcap; i++)
			if (old[i].used)
				*proc_get(r, old[i].id) = old[i];
		free(old);
	}
	mask = r->capprocs - 1;
	for (i = (size_t)(id * 0x9e3779b97f4a7c15ULL) & mask;;
	     i = (i + 1) & mask) {
		if (!r->procs[i].used) {
			r->procs[i].used = 1;
			r->procs[i].id = id;
			r->nprocs++;
			return &r->procs[i];
		}
		if (r->procs[i].id == id)
			return &r->procs[i];
	}
}

/* The cross-record rules of mv-history(5) for client events. */
static int
check_pairing(struct mv_reader *r, const struct mv_event *ev, struct mv_err *e)
{
	struct proc *p = proc_get(r, ev->process);
	char msg[256];
	uint64_t fh = hash_str(ev->f);

	if (ev->type == MV_INVOKE) {
		if (p->st == P_OPEN)
			snprintf(msg, sizeof(msg),
			    "process %lld invokes while its op at line %zu "
			    "is still open",
			    (long long)ev->process, p->line);
		else if (p->st == P_CRASHED)
			snprintf(msg, sizeof(msg),
			    "process %lld invokes after its op at line %zu "
			    "ended info",
			    (long long)ev->process, p->line);
		else {
			p->st = P_OPEN;
			p->line = r->line;
			p->fhash = fh;
			return 0;
		}
		return rerr(r, e, msg);
	}
	if (p->st != P_OPEN) {
		snprintf(msg, sizeof(msg),
		    "%s by process %lld without an "
		    "invocation",
		    mv_type_name(ev->type), (long long)ev->process);
		return rerr(r, e, msg);
	}
	if (p->fhash != fh) {
		snprintf(msg, sizeof(msg),
		    "\"f\" differs from the "
		    "invocation at line %zu",
		    p->line);
		return rerr(r, e, msg);
	}
	p->st = ev->type == MV_INFO ? P_CRASHED : P_IDLE;
	p->line = r->line;
	return 0;
}

/* Non-negative integer member, or an error naming it. */
static int
get_nonneg(struct mv_reader *r, const char *s, const struct mv_tok *t,
    const char *name, int64_t *out, struct mv_err *e)
{
	char msg[96];

	if (mv_jtok_int(s, t, out) == 0 && *out >= 0)
		return 0;
	snprintf(
	    msg, sizeof(msg), "\"%s\" is not a non-negative integer", name);
	return rerr(r, e, msg);
}

static char *
raw_of(const char *s, const struct mv_tok *t)
{
	size_t st, n = mv_jtok_span(t, &st);

	return mv_xstrndup(s + st, n);
}

static int
parse_ovc(struct mv_reader *r, const char *s, unsigned int i, struct mv_ovc *o,
    struct mv_err *e)
{
	const struct mv_tok *t = r->jt.t;
	unsigned int j = i + 1;
	int k;

	if (t[i].type != MV_TOK_OBJECT)
		return rerr(r, e, "\"ovc\" is not an object");
	o->present = 1;
	for (k = 0; k < t[i].size; k++, j = mv_jtok_skip(&r->jt, j + 1)) {
		const struct mv_tok *key = &t[j], *v = &t[j + 1];
		int64_t *dst = NULL;

		const char *kn = s + key->start;
		size_t kl = (size_t)(key->end - key->start);

		/* Length and bytes, not strcmp: this runs for every event. */
		if (kl == 3 && memcmp(kn, "ctl", 3) == 0)
			dst = &o->ctl;
		else if (kl == 3 && memcmp(kn, "obs", 3) == 0)
			dst = &o->obs;
		else if (kl == 2 && memcmp(kn, "lo", 2) == 0)
			dst = &o->lo;
		else if (kl == 2 && memcmp(kn, "hi", 2) == 0)
			dst = &o->hi;
		else if (kl == 3 && memcmp(kn, "src", 3) == 0) {
			size_t n = (size_t)(v->end - v->start);

			if (v->type != MV_TOK_STRING
			    || !mv_node_name_ok(s + v->start, n))
				return rerr(r, e,
				    "\"ovc.src\" is not \"exec\" or a "
				    "node name");
			memcpy(o->obs_src, s + v->start, n);
			o->obs_src[n] = '\0';
		} else if (kl == 2 && memcmp(kn, "vc", 2) == 0) {
			if (v->type != MV_TOK_OBJECT)
				return rerr(r, e,
				    "\"ovc.vc\" is not an "
				    "object");
			free(o->vc);
			o->vc = raw_of(s, v);
		}
		if (dst && mv_jtok_int(s, v, dst) < 0)
			return rerr(r, e, "\"ovc\" member is not an integer");
	}
	return 0;
}

static int
parse_type(struct mv_reader *r, const char *s, const struct mv_tok *v,
    struct mv_event *ev, struct mv_err *e)
{
	int k;

	if (v->type != MV_TOK_STRING)
		return rerr(r, e, "\"type\" is not a string");
	for (k = 0; k < 6; k++)
		if (mv_jtok_streq(s, v, type_names[k])) {
			ev->type = (enum mv_type)k;
			return 0;
		}
	return rerr(r, e,
	    "\"type\" is not one of invoke, ok, fail, info, "
	    "meta, op");
}

static int
parse_process(struct mv_reader *r, const char *s, const struct mv_tok *v,
    struct mv_event *ev, struct mv_err *e)
{
	if (mv_jtok_streq(s, v, "nemesis")) {
		ev->process = MV_NEMESIS;
		return 0;
	}
	if (mv_jtok_int(s, v, &ev->process) == 0 && ev->process >= 0)
		return 0;
	return rerr(r, e,
	    "\"process\" is not a non-negative integer or "
	    "\"nemesis\"");
}

/*
 * Which known member a key names (0..9 as in parse_member's names[]), or
 * 10: dispatching on length first keeps this off the profile.
 */
static unsigned
member_id(const char *k, size_t n)
{
	switch (n) {
	case 1: return k[0] == 'f' ? 2 : 10;
	case 2: return memcmp(k, "at", 2) == 0 ? 8 : 10;
	case 3:
		if (memcmp(k, "key", 3) == 0)
			return 3;
		return memcmp(k, "ovc", 3) == 0 ? 9 : 10;
	case 4:
		if (memcmp(k, "type", 4) == 0)
			return 0;
		return memcmp(k, "time", 4) == 0 ? 6 : 10;
	case 5:
		if (memcmp(k, "value", 5) == 0)
			return 4;
		if (memcmp(k, "error", 5) == 0)
			return 5;
		return memcmp(k, "index", 5) == 0 ? 7 : 10;
	case 7: return memcmp(k, "process", 7) == 0 ? 1 : 10;
	default: return 10;
	}
}

/* One member of the top-level object: key token at i, value at i + 1. */
static int
parse_member(struct mv_reader *r, const char *s, unsigned int i,
    struct mv_event *ev, unsigned *seen, struct mv_err *e)
{
	static const char *const names[] = {"type", "process", "f", "key",
	    "value", "error", "time", "index", "at", "ovc"};
	const struct mv_tok *key = &r->jt.t[i], *v = &r->jt.t[i + 1];
	unsigned k;
	char msg[96];

	k = member_id(s + key->start, (size_t)(key->end - key->start));
	if (k == 10) {
		size_t st, n = mv_jtok_span(key, &st);
		size_t vst, vn = mv_jtok_span(v, &vst);

		if (r->extra.len)
			mv_buf_addc(&r->extra, ',');
		mv_buf_add(&r->extra, s + st, n);
		mv_buf_addc(&r->extra, ':');
		mv_buf_add(&r->extra, s + vst, vn);
		return 0;
	}
	if (*seen & (1u << k)) {
		snprintf(msg, sizeof(msg), "duplicate member \"%s\"", names[k]);
		return rerr(r, e, msg);
	}
	*seen |= 1u << k;
	switch (k) {
	case 0: return parse_type(r, s, v, ev, e);
	case 1: return parse_process(r, s, v, ev, e);
	case 2:
	case 3:
		if (v->type != MV_TOK_STRING) {
			snprintf(msg, sizeof(msg), "\"%s\" is not a string",
			    names[k]);
			return rerr(r, e, msg);
		}
		mv_jtok_str(s, v, &r->tmp);
		if (memchr(r->tmp.p, '\0', r->tmp.len) != NULL) {
			snprintf(
			    msg, sizeof(msg), "\"%s\" contains NUL", names[k]);
			return rerr(r, e, msg);
		}
		*(k == 2 ? &ev->f : &ev->key) =
		    mv_xstrndup(r->tmp.p, r->tmp.len);
		return 0;
	case 4: ev->value = raw_of(s, v); return 0;
	case 5: ev->error = raw_of(s, v); return 0;
	case 6: return get_nonneg(r, s, v, "time", &ev->time, e);
	case 7: return get_nonneg(r, s, v, "index", &ev->index, e);
	case 8: return get_nonneg(r, s, v, "at", &ev->at, e);
	default: return parse_ovc(r, s, i + 1, &ev->ovc, e);
	}
}

/* Field presence rules per record type. */
static int
check_fields(
    struct mv_reader *r, struct mv_event *ev, unsigned seen, struct mv_err *e)
{
	if (!(seen & 1))
		return rerr(r, e, "missing \"type\"");
	if (ev->type == MV_META) {
		if (r->records != 0)
			return rerr(r, e,
			    "\"meta\" record after the first "
			    "line");
		return 0;
	}
	if (ev->type == MV_OP) {
		if (!(r->flags & MV_RD_OPS))
			return rerr(r, e,
			    "\"op\" record in a history (run it "
			    "through mv-exec)");
		if (ev->f == NULL)
			return rerr(r, e, "missing \"f\"");
		return 0;
	}
	if (!(seen & 2))
		return rerr(r, e, "missing \"process\"");
	if (ev->f == NULL)
		return rerr(r, e, "missing \"f\"");
	return 0;
}

static int
check_index(struct mv_reader *r, const struct mv_event *ev, struct mv_err *e)
{
	char msg[128];
	int has = ev->index >= 0 ? 1 : -1;

	if (ev->type == MV_META || ev->type == MV_OP)
		return 0;
	if (r->have_index != 0 && has != r->have_index)
		return rerr(r, e,
		    has > 0 ? "\"index\" appears after records "
		              "without one"
		            : "missing \"index\"");
	if (r->have_index > 0 && ev->index != r->last_index + 1) {
		snprintf(msg, sizeof(msg),
		    "\"index\" %lld does not follow "
		    "%lld",
		    (long long)ev->index, (long long)r->last_index);
		return rerr(r, e, msg);
	}
	r->have_index = has;
	r->last_index = ev->index;
	return 0;
}

int
mv_reader_next(struct mv_reader *r, struct mv_event *ev, struct mv_err *e)
{
	char *line = NULL;
	size_t n = 0, k;
	unsigned int i;
	unsigned seen = 0;
	int rc;

	mv_event_release(ev);
	if (r->done)
		return 0;
	if ((rc = next_line(r, &line, &n, e)) <= 0) {
		r->done = 1;
		return rc;
	}
	ev->line = r->line;
	if (e)
		e->msg[0] = '\0';
	if (mv_jtok_parse(&r->jt, line, n, e) < 0) {
		char what[300];

		snprintf(what, sizeof(what), "invalid JSON: %.280s",
		    e ? e->msg : "");
		return rerr(r, e, what);
	}
	if (r->jt.t[0].type != MV_TOK_OBJECT)
		return rerr(r, e, "record is not a JSON object");
	mv_buf_reset(&r->extra);
	for (i = 1, k = 0; k < (size_t)r->jt.t[0].size; k++) {
		if (parse_member(r, line, i, ev, &seen, e) < 0)
			return -1;
		i = mv_jtok_skip(&r->jt, i + 1);
	}
	if (r->extra.len)
		ev->extra = mv_xstrndup(r->extra.p, r->extra.len);
	if (check_fields(r, ev, seen, e) < 0)
		return -1;
	if (ev->type == MV_META)
		ev->raw = mv_xstrndup(line, n);
	if (!(r->flags & MV_RD_NOCHECK)) {
		if (check_index(r, ev, e) < 0)
			return -1;
		if (ev->type != MV_META && ev->type != MV_OP
		    && ev->process != MV_NEMESIS && check_pairing(r, ev, e) < 0)
			return -1;
	}
	r->records++;
	return 1;
}

size_t
mv_reader_pending(const struct mv_reader *r, int64_t **procs)
{
	size_t i, n = 0;

	*procs = mv_xcalloc(r->nprocs + 1, sizeof(**procs));
	for (i = 0; i < r->capprocs; i++)
		if (r->procs[i].used && r->procs[i].st == P_OPEN)
			(*procs)[n++] = r->procs[i].id;
	return n;
}

static void
add_member_int(struct mv_buf *b, const char *name, int64_t v)
{
	mv_buf_adds(b, name);
	mv_buf_addi(b, v);
}

void
mv_event_write(struct mv_buf *b, const struct mv_event *ev)
{
	if (ev->type == MV_META && ev->raw) {
		mv_buf_adds(b, ev->raw);
		mv_buf_addc(b, '\n');
		return;
	}
	mv_buf_addc(b, '{');
	if (ev->index >= 0) {
		add_member_int(b, "\"index\":", ev->index);
		mv_buf_addc(b, ',');
	}
	mv_buf_adds(b, "\"type\":\"");
	mv_buf_adds(b, mv_type_name(ev->type));
	mv_buf_addc(b, '"');
	if (ev->type != MV_OP && ev->type != MV_META) {
		if (ev->process == MV_NEMESIS)
			mv_buf_adds(b, ",\"process\":\"nemesis\"");
		else
			add_member_int(b, ",\"process\":", ev->process);
	}
	if (ev->f) {
		mv_buf_adds(b, ",\"f\":");
		mv_buf_add_jstr(b, ev->f, strlen(ev->f));
	}
	if (ev->key) {
		mv_buf_adds(b, ",\"key\":");
		mv_buf_add_jstr(b, ev->key, strlen(ev->key));
	}
	if (ev->value) {
		mv_buf_adds(b, ",\"value\":");
		mv_buf_adds(b, ev->value);
	}
	if (ev->time >= 0)
		add_member_int(b, ",\"time\":", ev->time);
	if (ev->at >= 0)
		add_member_int(b, ",\"at\":", ev->at);
	if (ev->error) {
		mv_buf_adds(b, ",\"error\":");
		mv_buf_adds(b, ev->error);
	}
	if (ev->ovc.present) {
		add_member_int(b, ",\"ovc\":{\"ctl\":", ev->ovc.ctl);
		add_member_int(b, ",\"obs\":", ev->ovc.obs);
		mv_buf_adds(b, ",\"src\":\"");
		mv_buf_adds(b, ev->ovc.obs_src[0] ? ev->ovc.obs_src : "exec");
		mv_buf_addc(b, '"');
		if (ev->ovc.vc) {
			mv_buf_adds(b, ",\"vc\":");
			mv_buf_adds(b, ev->ovc.vc);
		}
		add_member_int(b, ",\"lo\":", ev->ovc.lo);
		add_member_int(b, ",\"hi\":", ev->ovc.hi);
		mv_buf_addc(b, '}');
	}
	if (ev->extra) {
		mv_buf_addc(b, ',');
		mv_buf_adds(b, ev->extra);
	}
	mv_buf_adds(b, "}\n");
}

int
mv_format_flags(const char *name, unsigned *flags, struct mv_err *e)
{
	if (strcmp(name, "edn") == 0)
		*flags = MV_RD_EDN;
	else if (strcmp(name, "json") == 0)
		*flags = MV_RD_JSON;
	else
		return mv_err_set(e, "invalid value for --format: '%s'", name);
	return 0;
}

int
mv_history_load(
    const char *path, unsigned flags, struct mv_history *h, struct mv_err *e)
{
	FILE *f = stdin;
	struct mv_reader *r;
	struct mv_event ev;
	struct mv_buf pre = MV_BUF_INIT, json = MV_BUF_INIT;
	const char *name = strcmp(path, "-") == 0 ? "<stdin>" : path;
	size_t *lines = NULL, nlines = 0;
	int rc, want;

	memset(h, 0, sizeof(*h));
	mv_event_init(&h->meta);
	if (strcmp(path, "-") != 0 && (f = fopen(path, "r")) == NULL)
		return mv_err_set(e, "%s: %s", path, strerror(errno));
	/* Jepsen EDN (edn.c) becomes JSON lines for the same reader. */
	want = flags & MV_RD_JSON ? 0 : -1;
	if (flags & MV_RD_EDN)
		want = 1;
	rc = want = mv_edn_detect(f, name, want, &pre, e);
	if (rc > 0)
		rc = mv_edn_convert(
		    pre.p, pre.len, name, &json, &lines, &nlines, e);
	if (rc < 0) {
		mv_buf_release(&pre);
		mv_buf_release(&json);
		if (f != stdin)
			fclose(f);
		return -1;
	}
	r = mv_reader_new(f, path, flags);
	if (want > 0)
		mv_reader_unread(r, json.p, json.len);
	else
		mv_reader_unread(r, pre.p, pre.len);
	mv_reader_lines(r, lines, nlines);
	mv_buf_release(&pre);
	mv_buf_release(&json);
	mv_event_init(&ev);
	while ((rc = mv_reader_next(r, &ev, e)) > 0) {
		if (ev.type == MV_META) {
			h->meta = ev;
			mv_event_init(&ev);
			continue;
		}
		if (h->n == h->cap) {
			h->cap = h->cap ? h->cap * 2 : 1024;
			h->ev = mv_xrealloc(h->ev, h->cap * sizeof(*h->ev));
		}
		h->ev[h->n++] = ev;
		mv_event_init(&ev);
	}
	mv_event_release(&ev);
	mv_reader_free(r);
	free(lines);
	if (f != stdin)
		fclose(f);
	if (rc < 0) {
		mv_history_release(h);
		return -1;
	}
	return 0;
}

void
mv_history_release(struct mv_history *h)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		mv_event_release(&h->ev[i]);
	free(h->ev);
	mv_event_release(&h->meta);
	h->ev = NULL;
	h->n = h->cap = 0;
}
