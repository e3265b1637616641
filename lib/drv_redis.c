/*
 * drv_redis.c: mv-exec's driver for Redis (hiredis), --sut redis://...
 *
 * Target: HOST[:PORT][?OPT=VAL&...] with options read=HOST[:PORT] (reads
 * go to that server, e.g. a replica, writes to HOST), prefix=TEXT (put in
 * front of every key), db=N (SELECT N) and time=1 (ask the server its
 * TIME with every op, pipelined, so completions carry the node's clock).
 *
 * Each workload maps to plain commands, and the two that need a
 * compare-then-write do it in a Lua script.  Every script does all of its
 * checks before its first write, and its writes cannot fail once the
 * first succeeded, so a script that errs has changed nothing: Redis does
 * not roll back a script, and this is what keeps an error reply definite.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "drv.h"
#include "gen.h"

#define DEFAULT_PORT 6379
#define DEFAULT_TIMEOUT_NS 5000000000LL

/*
 * cas [old,new]: 1 when the value was old and is now new, else 0 (an
 * absent key is nil, false in Lua, never equal to old).
 */
static const char cas_lua[] = "local v = redis.call('GET', KEYS[1])\n"
                              "if v ~= ARGV[1] then return 0 end\n"
                              "redis.call('SET', KEYS[1], ARGV[2])\n"
                              "return 1\n";

/*
 * A stream append of ARGV[2..] (event JSON texts) if the stream's version
 * (XLEN - 1) matches ARGV[1]: {1, last version} or {0, actual version}.
 * Event v gets the id 0-(v+1), so a read from version R is one XRANGE
 * from 0-(R+1).  The first XADD may still fail (the ids of a stream that
 * lost entries to XDEL, out of memory), but then nothing was written; the
 * rest cannot fail.
 */
static const char append_lua[] =
    "local n = redis.call('XLEN', KEYS[1])\n"
    "local e = ARGV[1]\n"
    "local ok\n"
    "if e == 'any' then ok = true\n"
    "elseif e == 'exists' then ok = n > 0\n"
    "elseif e == 'no-stream' then ok = n == 0\n"
    "else ok = tonumber(e) == n - 1 end\n"
    "if not ok then return {0, n - 1} end\n"
    "for i = 2, #ARGV do\n"
    "  redis.call('XADD', KEYS[1], '0-' .. (n + i - 1), 'e', ARGV[i])\n"
    "end\n"
    "return {1, n + #ARGV - 2}\n";

/* One server: where it is, and the connection to it (NULL: none yet). */
struct ep {
	char host[256];
	int port;
	char node[MV_NODE_NAME_MAX + 1];
	redisContext *ctx;
	char cas_sha[41], append_sha[41]; /* loaded scripts, "" if not */
};

struct rconn {
	struct ep w, r; /* writes (and reads without read=); reads */
	int has_read, db, time;
	char prefix[128];
	struct timeval tv;
	struct nb *nb; /* the op in flight without blocking */
};

/* An op turned into one command. */
struct cmd {
	const char *argv[8];
	size_t len[8];
	int argc;
	const char **xargv; /* a stream append's, when set */
	size_t *xlen;
	int is_read;
};

/* ---- the target ---- */

/* Parses HOST[:PORT] or [V6]:PORT of s[0..n) into ep. */
static int
parse_ep(struct ep *ep, const char *s, size_t n, struct mv_err *e)
{
	const char *colon = NULL, *h = s;
	size_t hn = n, i, j = 0;
	long long port = DEFAULT_PORT;
	char num[16];

	if (n > 0 && s[0] == '[') {
		const char *rb = memchr(s, ']', n);

		if (rb == NULL)
			return mv_err_set(
			    e, "unclosed '[' in '%.*s'", (int)n, s);
		h = s + 1;
		hn = (size_t)(rb - h);
		if (rb + 1 < s + n) {
			if (rb[1] != ':')
				return mv_err_set(e,
				    "expected ':' after ']' in '%.*s'", (int)n,
				    s);
			colon = rb + 1;
		}
	} else if ((colon = memchr(s, ':', n)) != NULL)
		hn = (size_t)(colon - s);
	if (hn == 0 || hn >= sizeof(ep->host))
		return mv_err_set(e, "bad host in '%.*s'", (int)n, s);
	if (colon) {
		size_t pn = (size_t)(s + n - colon - 1);

		if (pn == 0 || pn >= sizeof(num))
			return mv_err_set(e, "bad port in '%.*s'", (int)n, s);
		memcpy(num, colon + 1, pn);
		num[pn] = '\0';
		if (mv_parse_int("port", num, 1, 65535, &port, e) < 0)
			return -1;
	}
	memcpy(ep->host, h, hn);
	ep->host[hn] = '\0';
	ep->port = (int)port;
	/* The node name: host:port without what a node name cannot hold. */
	snprintf(num, sizeof(num), ":%d", ep->port);
	for (i = 0; i < hn && j + strlen(num) < sizeof(ep->node) - 1; i++)
		if (mv_node_name_ok(&h[i], 1))
			ep->node[j++] = h[i];
	ep->node[j] = '\0';
	strcat(ep->node, num);
	return 0;
}

/* Parses one NAME=VALUE option of s[0..n). */
static int
parse_opt(struct rconn *c, const char *s, size_t n, struct mv_err *e)
{
	const char *eq = memchr(s, '=', n);
	size_t kn = eq ? (size_t)(eq - s) : n, vn;
	char val[128];
	long long x;

	if (eq == NULL)
		return mv_err_set(
		    e, "option '%.*s' is not NAME=VALUE", (int)n, s);
	vn = n - kn - 1;
	if (kn == 4 && memcmp(s, "read", 4) == 0) {
		c->has_read = 1;
		return parse_ep(&c->r, eq + 1, vn, e);
	}
	if (vn >= sizeof(val))
		return mv_err_set(e, "option '%.*s' is too long", (int)kn, s);
	memcpy(val, eq + 1, vn);
	val[vn] = '\0';
	if (kn == 6 && memcmp(s, "prefix", 6) == 0) {
		memcpy(c->prefix, val, vn + 1);
		return 0;
	}
	if (kn == 2 && memcmp(s, "db", 2) == 0) {
		if (mv_parse_int("db", val, 0, 1000000, &x, e) < 0)
			return -1;
		c->db = (int)x;
		return 0;
	}
	if (kn == 4 && memcmp(s, "time", 4) == 0) {
		if (mv_parse_int("time", val, 0, 1, &x, e) < 0)
			return -1;
		c->time = (int)x;
		return 0;
	}
	return mv_err_set(
	    e, "unknown option '%.*s' (read, prefix, db, time)", (int)kn, s);
}

static void *
redis_open(const char *target, int64_t timeout_ns, struct mv_err *e)
{
	struct rconn *c = mv_xcalloc(1, sizeof(*c));
	const char *q = strchr(target, '?'), *p;
	size_t n = q ? (size_t)(q - target) : strlen(target);

	if (timeout_ns <= 0)
		timeout_ns = DEFAULT_TIMEOUT_NS;
	c->tv.tv_sec = (time_t)(timeout_ns / 1000000000);
	c->tv.tv_usec = (suseconds_t)(timeout_ns % 1000000000 / 1000);
	if (parse_ep(&c->w, target, n, e) < 0)
		goto bad;
	for (p = q; p && p[1];) {
		size_t on = strcspn(p + 1, "&");

		if (parse_opt(c, p + 1, on, e) < 0)
			goto bad;
		p = p[1 + on] ? p + 1 + on : NULL;
	}
	return c;
bad:
	free(c);
	return NULL;
}

static void nb_free(struct rconn *c);

static void
ep_close(struct ep *ep)
{
	if (ep->ctx)
		redisFree(ep->ctx);
	ep->ctx = NULL;
	ep->cas_sha[0] = ep->append_sha[0] = '\0';
}

static void
redis_close(void *conn)
{
	struct rconn *c = conn;

	nb_free(c);
	ep_close(&c->w);
	ep_close(&c->r);
	free(c);
}

/* ---- talking to a server ---- */

/* Sets res to fail with error "what HOST:PORT: why". */
static void
fail_with(struct mv_drv_res *res, const struct ep *ep, const char *what,
    const char *why)
{
	char msg[512];

	snprintf(
	    msg, sizeof(msg), "%s %s:%d: %s", what, ep->host, ep->port, why);
	res->type = MV_FAIL;
	mv_buf_reset(&res->error);
	mv_buf_add_jstr(&res->error, msg, strlen(msg));
}

/*
 * Whether an idle connection was closed by the server (or holds bytes
 * nobody asked for): such a connection is replaced before anything is
 * sent on it, so that an op after a server restart fails definitely
 * instead of ending info.
 */
static int
ep_stale(const struct ep *ep)
{
	struct pollfd p;

	p.fd = ep->ctx->fd;
	p.events = POLLIN;
	return poll(&p, 1, 0) != 0;
}

/*
 * Connects ep if needed (nothing of the op is sent yet, so a failure is a
 * definite fail in res).  Returns 0, or -1 with res filled.
 */
static int
ep_connect(struct rconn *c, struct ep *ep, struct mv_drv_res *res)
{
	redisReply *r;

	if (ep->ctx && !ep_stale(ep))
		return 0;
	ep_close(ep);
	ep->ctx = redisConnectWithTimeout(ep->host, ep->port, c->tv);
	if (ep->ctx == NULL || ep->ctx->err) {
		fail_with(
		    res, ep, "connect", ep->ctx ? ep->ctx->errstr : "oom");
		ep_close(ep);
		return -1;
	}
	if (redisSetTimeout(ep->ctx, c->tv) != REDIS_OK) {
		fail_with(res, ep, "connect", ep->ctx->errstr);
		ep_close(ep);
		return -1;
	}
	if (c->db == 0)
		return 0;
	r = redisCommand(ep->ctx, "SELECT %d", c->db);
	if (r == NULL || r->type == REDIS_REPLY_ERROR) {
		fail_with(res, ep, "select", r ? r->str : ep->ctx->errstr);
		freeReplyObject(r);
		ep_close(ep);
		return -1;
	}
	freeReplyObject(r);
	return 0;
}

/* Loads script into sha (40 hex digits); -1 with res failed if not. */
static int
ep_load(struct ep *ep, const char *script, char *sha, struct mv_drv_res *res)
{
	redisReply *r = redisCommand(ep->ctx, "SCRIPT LOAD %s", script);
	int ok = r && r->type == REDIS_REPLY_STRING && r->len == 40;

	if (ok)
		memcpy(sha, r->str, 41);
	else
		fail_with(res, ep, "script load",
		    r == NULL                          ? ep->ctx->errstr
		        : r->type == REDIS_REPLY_ERROR ? r->str
		                                       : "unexpected reply");
	freeReplyObject(r);
	return ok ? 0 : -1;
}

/* The server's TIME reply as ns since the epoch, or 0. */
static int64_t
time_ns(const redisReply *t)
{
	if (t == NULL || t->type != REDIS_REPLY_ARRAY || t->elements != 2
	    || t->element[0]->type != REDIS_REPLY_STRING
	    || t->element[1]->type != REDIS_REPLY_STRING)
		return 0;
	return strtoll(t->element[0]->str, NULL, 10) * 1000000000LL
	    + strtoll(t->element[1]->str, NULL, 10) * 1000LL;
}

/*
 * Sends cmd on ep and reads its reply into *out.  Returns 0 with *out
 * set; 1 when no reply came (res filled: a read failed, anything else
 * info, for the request may have been carried out, and the connection is
 * given up); -1 when the connection broke only after the reply (res
 * untouched but for the node).
 */
static int
exchange(struct rconn *c, struct ep *ep, const struct cmd *cm, redisReply **out,
    struct mv_drv_res *res)
{
	const char *const *argv = cm->xargv ? cm->xargv : cm->argv;
	const size_t *len = cm->xlen ? cm->xlen : cm->len;
	redisReply *t = NULL;
	void *rp = NULL;
	char msg[512];

	*out = NULL;
	if (redisAppendCommandArgv(ep->ctx, cm->argc, (const char **)argv, len)
	        != REDIS_OK
	    || (c->time && redisAppendCommand(ep->ctx, "TIME") != REDIS_OK)) {
		fail_with(res, ep, "request", ep->ctx->errstr);
		return 1; /* nothing was sent: it is still in our buffer */
	}
	if (redisGetReply(ep->ctx, &rp) != REDIS_OK) {
		snprintf(msg, sizeof(msg), "%s %s:%d: %s",
		    ep->ctx->err == REDIS_ERR_IO
		            && (errno == EAGAIN || errno == EWOULDBLOCK)
		        ? "timeout"
		        : "connection lost",
		    ep->host, ep->port, ep->ctx->errstr);
		res->type = cm->is_read ? MV_FAIL : MV_INFO;
		mv_buf_reset(&res->error);
		mv_buf_add_jstr(&res->error, msg, strlen(msg));
		return 1;
	}
	*out = rp;
	memcpy(res->node, ep->node, sizeof(ep->node));
	if (c->time) {
		if (redisGetReply(ep->ctx, &rp) != REDIS_OK)
			return -1;
		t = rp;
		res->node_time = time_ns(t);
		freeReplyObject(t);
	}
	return 0;
}

/* ---- ops ---- */

/* Appends an integer reply (or an integer string reply) to b. */
static int
int_reply(struct mv_buf *b, const redisReply *r)
{
	char *end;
	long long v;

	if (r->type == REDIS_REPLY_INTEGER) {
		mv_buf_addi(b, r->integer);
		return 0;
	}
	if (r->type != REDIS_REPLY_STRING || r->len == 0)
		return -1;
	errno = 0;
	v = strtoll(r->str, &end, 10);
	if (errno || *end != '\0')
		return -1;
	mv_buf_addi(b, v);
	return 0;
}

static int
cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

/* SMEMBERS as a sorted array of integers. */
static int
set_reply(struct mv_buf *b, const redisReply *r)
{
	long long *v;
	size_t i;
	char *end;

	if (r->type != REDIS_REPLY_ARRAY)
		return -1;
	v = mv_xmalloc((r->elements + 1) * sizeof(*v));
	for (i = 0; i < r->elements; i++) {
		const redisReply *x = r->element[i];

		errno = 0;
		if (x->type != REDIS_REPLY_STRING
		    || (v[i] = strtoll(x->str, &end, 10), errno || *end)) {
			free(v);
			return -1;
		}
	}
	qsort(v, r->elements, sizeof(*v), cmp_ll);
	mv_buf_addc(b, '[');
	for (i = 0; i < r->elements; i++) {
		if (i > 0)
			mv_buf_addc(b, ',');
		mv_buf_addi(b, v[i]);
	}
	mv_buf_addc(b, ']');
	free(v);
	return 0;
}

/*
 * XRANGE from 0-(from+1) as the array of event texts; the ids must be
 * consecutive from there, else the stream was not written by us alone and
 * its versions mean nothing.
 */
static int
stream_reply(struct mv_buf *b, const redisReply *r, int64_t from)
{
	size_t i;
	char id[48];

	if (r->type != REDIS_REPLY_ARRAY)
		return -1;
	mv_buf_addc(b, '[');
	for (i = 0; i < r->elements; i++) {
		const redisReply *x = r->element[i], *kv;

		if (x->type != REDIS_REPLY_ARRAY || x->elements != 2
		    || x->element[0]->type != REDIS_REPLY_STRING)
			return -1;
		snprintf(id, sizeof(id), "0-%" PRId64, from + 1 + (int64_t)i);
		kv = x->element[1];
		if (strcmp(x->element[0]->str, id) != 0
		    || kv->type != REDIS_REPLY_ARRAY || kv->elements != 2
		    || kv->element[1]->type != REDIS_REPLY_STRING
		    || strcmp(kv->element[0]->str, "e") != 0)
			return -1;
		if (i > 0)
			mv_buf_addc(b, ',');
		mv_buf_add(b, kv->element[1]->str, kv->element[1]->len);
	}
	mv_buf_addc(b, ']');
	return 0;
}

/* A string reply (kv get) as a JSON string; -1 if it is not UTF-8. */
static int
str_reply(struct mv_buf *b, const redisReply *r)
{
	if (r->type == REDIS_REPLY_NIL) {
		mv_buf_adds(b, "null");
		return 0;
	}
	if (r->type != REDIS_REPLY_STRING || !mv_utf8_valid(r->str, r->len))
		return -1;
	mv_buf_add_jstr(b, r->str, r->len);
	return 0;
}

/* What kind of op it is, for building the command and reading its reply. */
enum kind {
	K_GET,     /* register, counter read; kv get */
	K_SET,     /* register write; kv put */
	K_CAS,     /* cas-register cas */
	K_APPEND,  /* kv append */
	K_SADD,    /* set add */
	K_SMEM,    /* set read */
	K_INCR,    /* counter add */
	K_XAPPEND, /* stream append */
	K_XRANGE   /* stream read */
};

static int
op_kind(int w, const char *f)
{
	int rd = strcmp(f, "read") == 0;

	switch (w) {
	case MV_W_REGISTER:
	case MV_W_CAS_REGISTER:
		return rd                                             ? K_GET
		    : strcmp(f, "write") == 0                         ? K_SET
		    : w == MV_W_CAS_REGISTER && strcmp(f, "cas") == 0 ? K_CAS
		                                                      : -1;
	case MV_W_KV:
		return strcmp(f, "get") == 0   ? K_GET
		    : strcmp(f, "put") == 0    ? K_SET
		    : strcmp(f, "append") == 0 ? K_APPEND
		                               : -1;
	case MV_W_SET: return rd ? K_SMEM : strcmp(f, "add") == 0 ? K_SADD : -1;
	case MV_W_COUNTER:
		return rd ? K_GET : strcmp(f, "add") == 0 ? K_INCR : -1;
	case MV_W_STREAM:
		return rd                      ? K_XRANGE
		    : strcmp(f, "append") == 0 ? K_XAPPEND
		                               : -1;
	default: return -1;
	}
}

/* State of one invoke: the command's text lives in these buffers. */
struct call {
	struct mv_drv_res *res;
	const struct mv_drv_op *op;
	int kind;
	struct mv_buf key, a, b; /* a, b: numbers or the string argument */
	struct cmd cm;
	int64_t from;
};

static void
arg(struct cmd *cm, const char *p, size_t n)
{
	cm->argv[cm->argc] = p;
	cm->len[cm->argc++] = n;
}

/* An integer argument into b; -1 if the op's value is not one. */
static int
int_arg(struct mv_buf *b, const struct mv_jv *v)
{
	if (v == NULL || v->kind != MV_JINT)
		return -1;
	mv_buf_addi(b, v->i);
	return 0;
}

/* Builds a stream append: EVALSHA sha 1 key expect event... */
static int
build_xappend(struct call *k, const char *sha)
{
	const struct mv_jv *v = k->op->value;
	const struct mv_jv *evs = v ? mv_jv_get(v, "events") : NULL;
	const struct mv_jv *x = v ? mv_jv_get(v, "expect") : NULL;
	size_t i, *off, n;

	if (evs == NULL || evs->kind != MV_JARR || evs->len == 0)
		return -1;
	if (x == NULL)
		mv_buf_adds(&k->a, "any");
	else if (x->kind == MV_JINT && x->i >= -1)
		mv_buf_addi(&k->a, x->i);
	else if (x->kind == MV_JSTR
	    && (strcmp(x->s, "any") == 0 || strcmp(x->s, "exists") == 0
	        || strcmp(x->s, "no-stream") == 0))
		mv_buf_adds(&k->a, x->s);
	else
		return -1;
	n = evs->len;
	off = mv_xmalloc((n + 1) * sizeof(*off));
	for (i = 0; i < n; i++) {
		off[i] = k->b.len;
		mv_jv_write(&k->b, &evs->items[i]);
	}
	off[n] = k->b.len;
	k->cm.xargv = mv_xmalloc((n + 5) * sizeof(*k->cm.xargv));
	k->cm.xlen = mv_xmalloc((n + 5) * sizeof(*k->cm.xlen));
	k->cm.xargv[0] = "EVALSHA";
	k->cm.xargv[1] = sha;
	k->cm.xargv[2] = "1";
	k->cm.xargv[3] = k->key.p;
	k->cm.xargv[4] = k->a.p;
	k->cm.xlen[0] = 7;
	k->cm.xlen[1] = 40;
	k->cm.xlen[2] = 1;
	k->cm.xlen[3] = k->key.len;
	k->cm.xlen[4] = k->a.len;
	for (i = 0; i < n; i++) {
		k->cm.xargv[5 + i] = k->b.p + off[i];
		k->cm.xlen[5 + i] = off[i + 1] - off[i];
	}
	k->cm.argc = (int)n + 5;
	free(off);
	return 0;
}

/* Builds the command of k->op; -1 if its value has the wrong shape. */
static int
build(struct call *k, const char *sha)
{
	const struct mv_jv *v = k->op->value;
	struct cmd *cm = &k->cm;
	static const char *const verb[] = {"GET", "SET", "EVALSHA", "APPEND",
	    "SADD", "SMEMBERS", "INCRBY", "EVALSHA", "XRANGE"};
	const struct mv_jv *from;

	cm->is_read =
	    k->kind == K_GET || k->kind == K_SMEM || k->kind == K_XRANGE;
	if (k->kind == K_XAPPEND)
		return build_xappend(k, sha);
	arg(cm, verb[k->kind], strlen(verb[k->kind]));
	if (k->kind == K_CAS) {
		if (v == NULL || v->kind != MV_JARR || v->len != 2
		    || int_arg(&k->a, &v->items[0]) < 0)
			return -1;
		mv_buf_addc(&k->a, '\0'); /* two numbers in one buffer */
		if (int_arg(&k->a, &v->items[1]) < 0)
			return -1;
		arg(cm, sha, 40);
		arg(cm, "1", 1);
		arg(cm, k->key.p, k->key.len);
		arg(cm, k->a.p, strlen(k->a.p));
		arg(cm, k->a.p + strlen(k->a.p) + 1,
		    k->a.len - strlen(k->a.p) - 1);
		return 0;
	}
	arg(cm, k->key.p, k->key.len);
	switch (k->kind) {
	case K_GET:
	case K_SMEM: return 0;
	case K_XRANGE:
		from = v ? mv_jv_get(v, "from") : NULL;
		if (from && (from->kind != MV_JINT || from->i < 0))
			return -1;
		k->from = from ? from->i : 0;
		mv_buf_addf(&k->a, "0-%" PRId64, k->from + 1);
		arg(cm, k->a.p, k->a.len);
		arg(cm, "+", 1);
		return 0;
	case K_SET:
	case K_APPEND:
		if (k->op->workload == MV_W_KV) {
			if (v == NULL || v->kind != MV_JSTR)
				return -1;
			arg(cm, v->s, v->len);
			return 0;
		}
		break;
	default: break;
	}
	if (int_arg(&k->a, v) < 0)
		return -1;
	arg(cm, k->a.p, k->a.len);
	return 0;
}

/* Fills res from the reply r of a successful exchange. */
static void
take_reply(struct call *k, const redisReply *r)
{
	struct mv_drv_res *res = k->res;
	int bad = 0;

	if (r->type == REDIS_REPLY_ERROR) {
		/*
		 * An error reply means the command was not carried out
		 * (READONLY, NOSCRIPT, WRONGTYPE, OOM, BUSY, LOADING, ...;
		 * our scripts change nothing before they can fail).
		 */
		res->type = MV_FAIL;
		mv_buf_add_jstr(&res->error, r->str, r->len);
		return;
	}
	res->type = MV_OK;
	switch (k->kind) {
	case K_GET:
		if (k->op->workload == MV_W_KV)
			bad = str_reply(&res->value, r);
		else if (r->type == REDIS_REPLY_NIL)
			mv_buf_adds(&res->value,
			    k->op->workload == MV_W_COUNTER ? "0" : "null");
		else
			bad = int_reply(&res->value, r);
		break;
	case K_SMEM: bad = set_reply(&res->value, r); break;
	case K_XRANGE: bad = stream_reply(&res->value, r, k->from); break;
	case K_CAS:
		if (r->type != REDIS_REPLY_INTEGER) {
			bad = 1;
			break;
		}
		if (r->integer == 0) {
			res->type = MV_FAIL;
			mv_buf_adds(&res->error, "\"mismatch\"");
			break;
		}
		mv_jv_write(&res->value, k->op->value);
		break;
	case K_XAPPEND:
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2
		    || r->element[0]->type != REDIS_REPLY_INTEGER
		    || r->element[1]->type != REDIS_REPLY_INTEGER) {
			bad = 1;
			break;
		}
		if (r->element[0]->integer == 0) {
			res->type = MV_FAIL;
			mv_buf_adds(&res->error, "\"wrong-expected-version\"");
			mv_buf_addf(&res->value, "{\"actual\":%lld}",
			    r->element[1]->integer);
		} else
			mv_buf_addf(&res->value, "{\"version\":%lld}",
			    r->element[1]->integer);
		break;
	default:
		/* A write: SET says OK, the others a number. */
		bad = r->type
		    != (k->kind == K_SET ? REDIS_REPLY_STATUS
		                         : REDIS_REPLY_INTEGER);
		mv_jv_write(&res->value, k->op->value);
		break;
	}
	if (bad) {
		/* A read's odd reply is a failed read; a write's, unknown. */
		res->type = k->cm.is_read ? MV_FAIL : MV_INFO;
		mv_buf_reset(&res->value);
		mv_buf_reset(&res->error);
		mv_buf_adds(&res->error, "\"unexpected-reply\"");
	}
}

static int
is_noscript(const redisReply *r)
{
	return r && r->type == REDIS_REPLY_ERROR
	    && strncmp(r->str, "NOSCRIPT", 8) == 0;
}

/*
 * Forgets the script's sha and k's command after a NOSCRIPT (a restarted
 * server), so that the script is loaded and the command built again.
 */
static void
unbuild(struct call *k, char *sha)
{
	sha[0] = '\0';
	free(k->cm.xargv);
	free(k->cm.xlen);
	memset(&k->cm, 0, sizeof(k->cm));
	mv_buf_reset(&k->a);
	mv_buf_reset(&k->b);
}

/* Runs k on ep; returns invoke's result. */
static int
run(struct rconn *c, struct ep *ep, struct call *k)
{
	char *sha = k->kind == K_CAS ? ep->cas_sha
	    : k->kind == K_XAPPEND   ? ep->append_sha
	                             : NULL;
	redisReply *r = NULL;
	int rc, tries;

	if (ep_connect(c, ep, k->res) < 0)
		return 0;
	for (tries = 0; tries < 2; tries++) {
		if (sha && sha[0] == '\0'
		    && ep_load(ep, k->kind == K_CAS ? cas_lua : append_lua, sha,
		           k->res)
		        < 0)
			return -1;
		if (build(k, sha ? sha : "") < 0) {
			k->res->type = MV_FAIL;
			mv_buf_adds(&k->res->error, "\"bad-value\"");
			return 0;
		}
		if ((rc = exchange(c, ep, &k->cm, &r, k->res)) > 0)
			return -1;
		/* NOSCRIPT: not run at all (a restarted server); load, retry.
		 */
		if (!sha || !is_noscript(r))
			break;
		freeReplyObject(r);
		r = NULL;
		unbuild(k, sha);
	}
	take_reply(k, r);
	freeReplyObject(r);
	return rc < 0 || k->res->type == MV_INFO ? -1 : 0;
}

static int
redis_invoke(void *conn, const struct mv_drv_op *op, struct mv_drv_res *res)
{
	struct rconn *c = conn;
	struct call k;
	int rc;

	memset(&k, 0, sizeof(k));
	k.res = res;
	k.op = op;
	if ((k.kind = op_kind(op->workload, op->f)) < 0 || op->key == NULL) {
		res->type = MV_FAIL;
		mv_buf_adds(&res->error, "\"unsupported\"");
		return 0;
	}
	mv_buf_grow(&k.key, 1);
	mv_buf_adds(&k.key, c->prefix);
	mv_buf_adds(&k.key, op->key);
	rc = run(c,
	    c->has_read
	            && (k.kind == K_GET || k.kind == K_SMEM
	                || k.kind == K_XRANGE)
	        ? &c->r
	        : &c->w,
	    &k);
	free(k.cm.xargv);
	free(k.cm.xlen);
	mv_buf_release(&k.key);
	mv_buf_release(&k.a);
	mv_buf_release(&k.b);
	return rc;
}

/* ---- without blocking: drv.h's start, step and expire ---- */

/*
 * The same exchanges as run and exchange above, as a state machine over
 * a non-blocking connection: connect, SELECT, SCRIPT LOAD, the command
 * (and TIME), one NOSCRIPT reload and retry.  Every outcome maps as in
 * the blocking code; the deadline is the serving loop's (expire).
 */
enum phase {
	P_CONNECT, /* the TCP connect is in progress */
	P_SELECT,  /* SELECT db sent */
	P_READY,   /* connected: load a script, or send the command */
	P_LOAD,    /* SCRIPT LOAD sent */
	P_CMD,     /* the command sent (and TIME after it, with time=1) */
	P_TIME     /* the command's reply in, TIME's awaited */
};

struct nb {
	struct call k;
	struct ep *ep;
	int phase, tries, active, wpend;
	redisReply *reply; /* the command's, while TIME's is awaited */
};

/* Ends the op in flight on c, if any; returns rc. */
static int
nb_end(struct rconn *c, int rc)
{
	struct nb *nb = c->nb;

	if (nb == NULL || !nb->active)
		return rc;
	freeReplyObject(nb->reply);
	nb->reply = NULL;
	free(nb->k.cm.xargv);
	free(nb->k.cm.xlen);
	mv_buf_release(&nb->k.key);
	mv_buf_release(&nb->k.a);
	mv_buf_release(&nb->k.b);
	memset(&nb->k, 0, sizeof(nb->k));
	nb->active = 0;
	return rc;
}

static void
nb_free(struct rconn *c)
{
	nb_end(c, 0);
	free(c->nb);
	c->nb = NULL;
}

/* Begins a non-blocking connect to ep; -1 with res failed if not. */
static int
nb_connect(struct ep *ep, struct mv_drv_res *res)
{
	int one = 1;

	ep_close(ep);
	ep->ctx = redisConnectNonBlock(ep->host, ep->port);
	if (ep->ctx == NULL || ep->ctx->err) {
		fail_with(
		    res, ep, "connect", ep->ctx ? ep->ctx->errstr : "oom");
		ep_close(ep);
		return -1;
	}
	/* hiredis sets it only on a connect that completed at once. */
	(void)setsockopt(
	    ep->ctx->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return 0;
}

/*
 * Flushes what is buffered for the server and, when *io (once per call
 * of step), reads what came; *r is the next reply, or NULL when it has
 * not come yet.  Returns 0, or -1 when the connection broke.
 */
static int
nb_reply(struct nb *nb, int *io, redisReply **r)
{
	redisContext *ctx = nb->ep->ctx;
	void *rp = NULL;
	int done = 0;

	*r = NULL;
	if (redisGetReply(ctx, &rp) != REDIS_OK)
		return -1;
	if (rp == NULL) {
		if (redisBufferWrite(ctx, &done) != REDIS_OK)
			return -1;
		nb->wpend = !done;
		if (!*io)
			return 0;
		*io = 0;
		if (redisBufferRead(ctx) != REDIS_OK
		    || redisGetReply(ctx, &rp) != REDIS_OK)
			return -1;
	}
	*r = rp;
	return 0;
}

/* The command went out and no reply came: a read failed, else info. */
static void
nb_lost(
    struct nb *nb, struct mv_drv_res *res, const char *what, const char *why)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "%s %s:%d: %s", what, nb->ep->host,
	    nb->ep->port, why);
	res->type = nb->k.cm.is_read ? MV_FAIL : MV_INFO;
	mv_buf_reset(&res->error);
	mv_buf_add_jstr(&res->error, msg, strlen(msg));
}

/* Has the connect of ep completed?  1 yes, 0 not yet, -1 failed (*err). */
static int
nb_connected(const struct ep *ep, int *err)
{
	struct pollfd p;
	socklen_t len = sizeof(*err);

	p.fd = ep->ctx->fd;
	p.events = POLLOUT;
	p.revents = 0;
	if (poll(&p, 1, 0) == 0)
		return 0;
	*err = 0;
	if (getsockopt(p.fd, SOL_SOCKET, SO_ERROR, err, &len) < 0)
		*err = errno;
	return *err ? -1 : 1;
}

/* Runs the op of c as far as it goes without blocking (drv.h's step). */
static int
nb_run(struct rconn *c, struct mv_drv_res *res, int io, int *fd, short *events)
{
	struct nb *nb = c->nb;
	struct call *k = &nb->k;
	struct ep *ep = nb->ep;
	char *sha = k->kind == K_CAS ? ep->cas_sha
	    : k->kind == K_XAPPEND   ? ep->append_sha
	                             : NULL;
	const char *const *argv;
	const size_t *len;
	redisReply *r;
	int err, brk;

	for (;;) {
		switch (nb->phase) {
		case P_CONNECT:
			if ((brk = nb_connected(ep, &err)) == 0)
				goto wait;
			if (brk < 0) {
				fail_with(res, ep, "connect", strerror(err));
				ep_close(ep);
				return nb_end(c, 0);
			}
			nb->phase = P_READY;
			if (c->db == 0)
				continue;
			if (redisAppendCommand(ep->ctx, "SELECT %d", c->db)
			    != REDIS_OK) {
				fail_with(res, ep, "select", ep->ctx->errstr);
				ep_close(ep);
				return nb_end(c, 0);
			}
			nb->phase = P_SELECT;
			continue;
		case P_SELECT:
			if (nb_reply(nb, &io, &r) < 0
			    || (r && r->type == REDIS_REPLY_ERROR)) {
				fail_with(res, ep, "select",
				    r ? r->str : ep->ctx->errstr);
				freeReplyObject(r);
				ep_close(ep);
				return nb_end(c, 0);
			}
			if (r == NULL)
				goto wait;
			freeReplyObject(r);
			nb->phase = P_READY;
			continue;
		case P_READY:
			if (sha && sha[0] == '\0') {
				if (redisAppendCommand(ep->ctx,
				        "SCRIPT LOAD %s",
				        k->kind == K_CAS ? cas_lua : append_lua)
				    != REDIS_OK) {
					fail_with(res, ep, "script load",
					    ep->ctx->errstr);
					return nb_end(c, -1);
				}
				nb->phase = P_LOAD;
				continue;
			}
			if (build(k, sha ? sha : "") < 0) {
				res->type = MV_FAIL;
				mv_buf_adds(&res->error, "\"bad-value\"");
				return nb_end(c, 0);
			}
			argv = k->cm.xargv ? k->cm.xargv : k->cm.argv;
			len = k->cm.xlen ? k->cm.xlen : k->cm.len;
			if (redisAppendCommandArgv(
			        ep->ctx, k->cm.argc, (const char **)argv, len)
			        != REDIS_OK
			    || (c->time
			        && redisAppendCommand(ep->ctx, "TIME")
			            != REDIS_OK)) {
				fail_with(res, ep, "request", ep->ctx->errstr);
				return nb_end(c, -1); /* nothing was sent */
			}
			nb->phase = P_CMD;
			continue;
		case P_LOAD:
			if (nb_reply(nb, &io, &r) < 0) {
				fail_with(
				    res, ep, "script load", ep->ctx->errstr);
				return nb_end(c, -1);
			}
			if (r == NULL)
				goto wait;
			if (r->type != REDIS_REPLY_STRING || r->len != 40) {
				fail_with(res, ep, "script load",
				    r->type == REDIS_REPLY_ERROR
				        ? r->str
				        : "unexpected reply");
				freeReplyObject(r);
				return nb_end(c, -1);
			}
			memcpy(sha, r->str, 41);
			freeReplyObject(r);
			nb->phase = P_READY;
			continue;
		case P_CMD:
			if (nb_reply(nb, &io, &r) < 0) {
				nb_lost(nb, res, "connection lost",
				    ep->ctx->errstr);
				return nb_end(c, -1);
			}
			if (r == NULL)
				goto wait;
			memcpy(res->node, ep->node, sizeof(ep->node));
			brk = 0;
			if (c->time) {
				nb->reply = r;
				nb->phase = P_TIME;
				continue;
			}
			break;
		default: /* P_TIME */
			brk = nb_reply(nb, &io, &r);
			if (brk == 0 && r == NULL)
				goto wait;
			if (r) {
				res->node_time = time_ns(r);
				freeReplyObject(r);
			}
			r = nb->reply;
			nb->reply = NULL;
			break;
		}
		/* r: the command's reply; brk: the connection broke after. */
		if (!brk && sha && is_noscript(r) && nb->tries++ == 0) {
			/* Not run at all (a restarted server): load, retry. */
			freeReplyObject(r);
			unbuild(k, sha);
			nb->phase = P_READY;
			continue;
		}
		take_reply(k, r);
		freeReplyObject(r);
		return nb_end(c, brk < 0 || res->type == MV_INFO ? -1 : 0);
	}
wait:
	*fd = ep->ctx->fd;
	*events = nb->phase == P_CONNECT ? POLLOUT
	    : nb->wpend                  ? POLLIN | POLLOUT
	                                 : POLLIN;
	return 1;
}

static int
redis_start(void *conn, const struct mv_drv_op *op, struct mv_drv_res *res,
    int *fd, short *events)
{
	struct rconn *c = conn;
	struct nb *nb;

	if (c->nb == NULL)
		c->nb = mv_xcalloc(1, sizeof(*nb));
	nb = c->nb;
	nb_end(c, 0);
	nb->k.res = res;
	nb->k.op = op;
	if ((nb->k.kind = op_kind(op->workload, op->f)) < 0
	    || op->key == NULL) {
		res->type = MV_FAIL;
		mv_buf_adds(&res->error, "\"unsupported\"");
		return 0;
	}
	nb->active = 1;
	nb->tries = nb->wpend = 0;
	mv_buf_grow(&nb->k.key, 1);
	mv_buf_adds(&nb->k.key, c->prefix);
	mv_buf_adds(&nb->k.key, op->key);
	nb->ep = c->has_read
	        && (nb->k.kind == K_GET || nb->k.kind == K_SMEM
	            || nb->k.kind == K_XRANGE)
	    ? &c->r
	    : &c->w;
	if (nb->ep->ctx && !ep_stale(nb->ep))
		nb->phase = P_READY;
	else if (nb_connect(nb->ep, res) < 0)
		return nb_end(c, 0);
	else
		nb->phase = P_CONNECT;
	return nb_run(c, res, 0, fd, events);
}

static int
redis_step(void *conn, struct mv_drv_res *res, int *fd, short *events)
{
	return nb_run(conn, res, 1, fd, events);
}

static void
redis_expire(void *conn, struct mv_drv_res *res)
{
	struct rconn *c = conn;
	struct nb *nb = c->nb;
	static const char late[] = "no reply in time";

	if (nb == NULL || !nb->active)
		return;
	switch (nb->phase) {
	case P_CONNECT: fail_with(res, nb->ep, "connect", late); break;
	case P_SELECT: fail_with(res, nb->ep, "select", late); break;
	case P_READY:
	case P_LOAD: fail_with(res, nb->ep, "script load", late); break;
	case P_CMD: nb_lost(nb, res, "timeout", late); break;
	default: /* P_TIME: the reply is in, the connection given up */
		take_reply(&nb->k, nb->reply);
		break;
	}
	nb_end(c, 0);
}

const struct mv_driver mv_drv_redis = {
    "redis", redis_open, redis_close, redis_invoke};

const struct mv_drv_nb mv_drv_redis_nb = {
    &mv_drv_redis, redis_start, redis_step, redis_expire};
