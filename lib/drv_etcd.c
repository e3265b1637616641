/*
 * drv_etcd.c: mv-exec's driver for etcd v3, spoken as JSON over HTTP/1.1
 * to the gRPC gateway every etcd 3.4 member serves on its client port
 * (POST /v3/kv/range, /v3/kv/put, /v3/kv/txn; keys and values base64).
 *
 * The target is HOST:PORT[,HOST:PORT...][?OPTION&...].  Each worker binds
 * to one endpoint, taken round-robin as workers are opened, as Jepsen binds
 * each client to a node, and names it as the op's node.  A worker keeps one
 * curl easy handle, so its TCP connection is kept alive between ops.
 *
 * Outcomes (see mv-exec(1), "etcd"): an op fails only when etcd certainly
 * did not apply it.  Whether the request left this process is told by the
 * read callback: curl asks for the body only once a connection is up, so
 * an error before that (refused, unreachable, connect timeout) sent nothing.
 * curl may resend a request on a fresh connection when a reused one died
 * under it; since there is no seek callback it cannot, and says so, and the
 * body was asked for, so such an op is info, as it must be.
 */
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "drv.h"
#include "gen.h"

#define DEFAULT_TIMEOUT_MS 5000L
#define MAX_CONNECT_MS 1000L
#define DEFAULT_RETRIES 10
#define MAX_RESPONSE (256L << 20)
#define MAX_HOST 255

/* One worker's client, bound to one endpoint. */
struct etcd {
	CURL *h;
	struct curl_slist *hdrs;
	char url[MAX_HOST + 32]; /* "http://HOST:PORT/v3/kv/" + path */
	size_t nbase;            /* length of "http://HOST:PORT" */
	char node[MV_NODE_NAME_MAX + 1];
	char *prefix;
	int serializable, retries;
	struct mv_buf req, resp;
	size_t req_off;
	int sent;     /* curl asked for the body: the request may have left */
	int64_t date; /* the answer's Date header, ns since the epoch, or 0 */
};

/*
 * What one request came to.  CALL_OK: HTTP 200 with a JSON object.
 * CALL_UNSENT: nothing reached etcd.  CALL_LOST: sent, but no answer (time
 * out, connection broken, garbage).  CALL_DEFINITE: etcd answered with an
 * error that guarantees it applied nothing.  CALL_UNKNOWN: etcd answered
 * with an error that leaves the outcome open (a proposal that timed out
 * or lost its leader may still commit).
 */
enum call { CALL_OK, CALL_UNSENT, CALL_LOST, CALL_DEFINITE, CALL_UNKNOWN };

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;
static atomic_uint next_endpoint;

static void
curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Checks "HOST:PORT" (HOST a name, IPv4 or [IPv6]) at p[0..n). */
static int
endpoint_ok(const char *p, size_t n, struct mv_err *e)
{
	const char *colon = NULL, *end = p + n, *q;
	long port = 0;

	for (q = p; q < end; q++)
		if (*q == ':')
			colon = q;
	if (colon == NULL || colon == p || colon + 1 == end
	    || (size_t)(colon - p) > MAX_HOST)
		goto bad;
	for (q = colon + 1; q < end; q++) {
		if (*q < '0' || *q > '9' || port > 65535)
			goto bad;
		port = port * 10 + (*q - '0');
	}
	if (port < 1 || port > 65535)
		goto bad;
	if (*p == '[') {
		if (colon[-1] != ']' || colon - p < 3)
			goto bad;
		for (q = p + 1; q < colon - 1; q++)
			if (!strchr("0123456789abcdefABCDEF:.", *q))
				goto bad;
		return 0;
	}
	for (q = p; q < colon; q++)
		if (!strchr("abcdefghijklmnopqrstuvwxyz"
		            "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-",
		        *q))
			goto bad;
	return 0;
bad:
	return mv_err_set(e, "bad endpoint \"%.*s\": want HOST:PORT",
	    (int)(n > 80 ? 80 : n), p);
}

/* Applies one "NAME=VALUE" option at p[0..n) to c. */
static int
option(struct etcd *c, const char *p, size_t n, struct mv_err *e)
{
	const char *eq = memchr(p, '=', n);
	size_t kn = eq ? (size_t)(eq - p) : n, vn = eq ? n - kn - 1 : 0;
	char v[32];
	long long r;

	if (eq && kn == 5 && memcmp(p, "reads", 5) == 0 && vn == 12
	    && (memcmp(eq + 1, "linearizable", 12) == 0
	        || memcmp(eq + 1, "serializable", 12) == 0)) {
		c->serializable = eq[1] == 's';
		return 0;
	} else if (eq && kn == 6 && memcmp(p, "prefix", 6) == 0) {
		free(c->prefix);
		c->prefix = mv_xstrndup(eq + 1, vn);
		return 0;
	} else if (eq && kn == 7 && memcmp(p, "retries", 7) == 0
	    && vn < sizeof(v)) {
		memcpy(v, eq + 1, vn);
		v[vn] = '\0';
		if (mv_parse_int("retries", v, 1, 1000, &r, e) < 0)
			return -1;
		c->retries = (int)r;
		return 0;
	}
	return mv_err_set(e,
	    "bad option \"%.*s\": want reads=linearizable|serializable, "
	    "prefix=STR or retries=N",
	    (int)(n > 80 ? 80 : n), p);
}

/*
 * Parses target into c: checks every endpoint, picks this client's one
 * round-robin and sets c->url and c->node from it.
 */
static int
parse_target(struct etcd *c, const char *target, struct mv_err *e)
{
	size_t nep = strcspn(target, "?"), i, n, k = 0;
	const char *p, *opt = target[nep] ? target + nep + 1 : NULL, *pick;
	unsigned want;

	if (nep == 0)
		return mv_err_set(e, "no endpoint: want HOST:PORT[,...]");
	for (p = target, n = 1;; p += i + 1, n++) {
		i = strcspn(p, ",?");
		if (endpoint_ok(p, i, e) < 0)
			return -1;
		if (p[i] != ',')
			break;
	}
	while (opt && *opt) {
		i = strcspn(opt, "&");
		if (option(c, opt, i, e) < 0)
			return -1;
		opt += i + (opt[i] == '&');
	}
	want = atomic_fetch_add(&next_endpoint, 1) % (unsigned)n;
	for (pick = target; k < want; k++)
		pick += strcspn(pick, ",") + 1;
	i = strcspn(pick, ",?");
	c->nbase = (size_t)snprintf(
	    c->url, sizeof(c->url), "http://%.*s", (int)i, pick);
	/* A node name has no brackets: "[::1]:2379" is named "::1:2379". */
	for (p = pick, n = 0; p < pick + i && n < MV_NODE_NAME_MAX; p++)
		if (*p != '[' && *p != ']')
			c->node[n++] = *p;
	c->node[n] = '\0';
	if (!mv_node_name_ok(c->node, n) || p < pick + i)
		c->node[0] = '\0'; /* too long to name: not reported */
	return 0;
}

/* curl's read callback: hands out the request body, marking it sent. */
static size_t
read_body(char *dst, size_t size, size_t nmemb, void *arg)
{
	struct etcd *c = arg;
	size_t n = c->req.len - c->req_off;

	if (n > size * nmemb)
		n = size * nmemb;
	memcpy(dst, c->req.p + c->req_off, n);
	c->req_off += n;
	c->sent = 1;
	return n;
}

static size_t
write_body(char *src, size_t size, size_t nmemb, void *arg)
{
	struct etcd *c = arg;

	if (c->resp.len + size * nmemb > MAX_RESPONSE)
		return 0; /* curl fails the transfer: CALL_LOST */
	mv_buf_add(&c->resp, src, size * nmemb);
	return size * nmemb;
}

/*
 * curl's header callback: keeps the Date of the answer, the only clock
 * etcd shows a client (HTTP dates are to the second).
 */
static size_t
header(char *src, size_t size, size_t nmemb, void *arg)
{
	struct etcd *c = arg;
	size_t n = size * nmemb;
	char d[64];
	time_t t;

	if (n > 5 && n < sizeof(d) + 5 && strncasecmp(src, "date:", 5) == 0) {
		memcpy(d, src + 5, n - 5);
		d[n - 5] = '\0';
		if ((t = curl_getdate(d, NULL)) > 0)
			c->date = (int64_t)t * 1000000000;
	}
	return n;
}

static void
etcd_close(void *conn)
{
	struct etcd *c = conn;

	if (c == NULL)
		return;
	if (c->h)
		curl_easy_cleanup(c->h);
	curl_slist_free_all(c->hdrs);
	mv_buf_release(&c->req);
	mv_buf_release(&c->resp);
	free(c->prefix);
	free(c);
}

/* Sets the options that stay for the handle's life. */
static int
setup_handle(struct etcd *c, int64_t timeout_ns, struct mv_err *e)
{
	long ms = timeout_ns > 0 ? (long)((timeout_ns + 999999) / 1000000)
	                         : DEFAULT_TIMEOUT_MS;
	struct curl_slist *h;

	if ((c->h = curl_easy_init()) == NULL)
		return mv_err_set(e, "curl_easy_init failed");
	h = curl_slist_append(NULL, "Content-Type: application/json");
	/* No "Expect: 100-continue" round trip for big bodies. */
	if (h == NULL || (c->hdrs = curl_slist_append(h, "Expect:")) == NULL) {
		curl_slist_free_all(h);
		return mv_err_set(e, "curl_slist_append failed");
	}
	/* Signals would hit whichever thread; curl then uses none. */
	if (curl_easy_setopt(c->h, CURLOPT_NOSIGNAL, 1L)
	    || curl_easy_setopt(c->h, CURLOPT_TIMEOUT_MS, ms)
	    || curl_easy_setopt(c->h, CURLOPT_CONNECTTIMEOUT_MS,
	        ms < MAX_CONNECT_MS ? ms : MAX_CONNECT_MS)
	    || curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, c->hdrs)
	    || curl_easy_setopt(c->h, CURLOPT_POST, 1L)
	    || curl_easy_setopt(c->h, CURLOPT_READFUNCTION, read_body)
	    || curl_easy_setopt(c->h, CURLOPT_READDATA, c)
	    || curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, write_body)
	    || curl_easy_setopt(c->h, CURLOPT_WRITEDATA, c)
	    || curl_easy_setopt(c->h, CURLOPT_HEADERFUNCTION, header)
	    || curl_easy_setopt(c->h, CURLOPT_HEADERDATA, c)
	    || curl_easy_setopt(c->h, CURLOPT_PROTOCOLS_STR, "http"))
		return mv_err_set(e, "curl_easy_setopt failed");
	return 0;
}

static void *
etcd_open(const char *target, int64_t timeout_ns, struct mv_err *e)
{
	struct etcd *c;

	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK) {
		mv_err_set(e, "curl_global_init: %s",
		    curl_easy_strerror(curl_init_rc));
		return NULL;
	}
	c = mv_xcalloc(1, sizeof(*c));
	c->retries = DEFAULT_RETRIES;
	if (parse_target(c, target, e) < 0
	    || setup_handle(c, timeout_ns, e) < 0) {
		etcd_close(c);
		return NULL;
	}
	return c;
}

/* Appends p[0..n) base64-encoded (standard alphabet, padded). */
static void
add_b64(struct mv_buf *b, const void *p, size_t n)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                          "abcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *s = p;
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		unsigned long v = (unsigned long)s[i] << 16
		    | (unsigned long)s[i + 1] << 8 | s[i + 2];
		char q[4] = {abc[v >> 18], abc[(v >> 12) & 63],
		    abc[(v >> 6) & 63], abc[v & 63]};

		mv_buf_add(b, q, 4);
	}
	if (i < n) {
		unsigned long v = (unsigned long)s[i] << 16
		    | (i + 1 < n ? (unsigned long)s[i + 1] << 8 : 0);
		char q[4] = {abc[v >> 18], abc[(v >> 12) & 63],
		    i + 1 < n ? abc[(v >> 6) & 63] : '=', '='};

		mv_buf_add(b, q, 4);
	}
}

static int
b64_digit(int ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	return ch == '+' ? 62 : ch == '/' ? 63 : -1;
}

/* Decodes base64 s[0..n) into out; -1 if it is not base64. */
static int
b64_decode(const char *s, size_t n, struct mv_buf *out)
{
	unsigned long v = 0;
	size_t i, bits = 0;

	while (n > 0 && s[n - 1] == '=')
		n--;
	for (i = 0; i < n; i++) {
		int d = b64_digit((unsigned char)s[i]);

		if (d < 0)
			return -1;
		v = (v << 6 | (unsigned long)d) & 0xffffff;
		if ((bits += 6) >= 8) {
			bits -= 8;
			mv_buf_addc(out, (char)(v >> bits & 0xff));
		}
	}
	return 0;
}

/* Appends "KEY":"base64 of prefix+key". */
static void
add_key(
    struct mv_buf *b, const struct etcd *c, const char *name, const char *key)
{
	struct mv_buf k = MV_BUF_INIT;

	if (c->prefix)
		mv_buf_adds(&k, c->prefix);
	if (key)
		mv_buf_adds(&k, key);
	mv_buf_addf(b, "\"%s\":\"", name);
	add_b64(b, k.p ? k.p : "", k.len);
	mv_buf_addc(b, '"');
	mv_buf_release(&k);
}

/* Appends "value":"base64 of v[0..n)". */
static void
add_value(struct mv_buf *b, const char *v, size_t n)
{
	mv_buf_adds(b, "\"value\":\"");
	add_b64(b, v, n);
	mv_buf_addc(b, '"');
}

/* An int64 member that the gateway writes as a string (or a number). */
static int
get_i64(const struct mv_jv *o, const char *name, int64_t *out)
{
	const struct mv_jv *m = o ? mv_jv_get(o, name) : NULL;
	char *end;
	long long v;

	*out = 0;
	if (m == NULL)
		return 0; /* proto3 JSON leaves out zero values */
	if (m->kind == MV_JINT)
		return (*out = m->i), 0;
	if (m->kind != MV_JSTR || m->len == 0)
		return -1;
	errno = 0;
	v = strtoll(m->s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

/*
 * Classifies an error answer of the gateway, {"error":...,"code":N}, and
 * puts its message in res->error.  Definite: the gRPC codes etcd returns
 * only before a request is proposed to raft or when it was rejected
 * without effect (InvalidArgument: empty key, too many ops, request too
 * large; PermissionDenied and Unauthenticated; ResourceExhausted: no
 * space, too many requests; OutOfRange; Unimplemented; NotFound).
 * Everything else ("request timed out", "leader changed", "no leader",
 * "server stopped", an HTTP error with no gRPC body) may follow a proposal
 * that still commits.
 */
static enum call
grpc_error(struct etcd *c, long status, struct mv_drv_res *res)
{
	struct mv_err e;
	struct mv_jv *v = mv_jv_parse(c->resp.p, c->resp.len, &e);
	/* etcd 3.4 writes "error" and "message", later ones "message". */
	const struct mv_jv *msg = v ? mv_jv_get(v, "message") : NULL;
	int64_t code = -1;

	if (msg == NULL && v && v->kind == MV_JOBJ)
		msg = mv_jv_get(v, "error");
	if (v == NULL || v->kind != MV_JOBJ || get_i64(v, "code", &code) < 0
	    || msg == NULL || msg->kind != MV_JSTR) {
		mv_jv_free(v);
		mv_buf_addf(&res->error, "\"http-%ld\"", status);
		/* A 4xx without a gRPC body: the gateway did not route it. */
		return status >= 400 && status < 500 ? CALL_DEFINITE
		                                     : CALL_UNKNOWN;
	}
	mv_buf_add_jstr(&res->error, msg->s, msg->len);
	mv_jv_free(v);
	switch (code) {
	case 3:  /* InvalidArgument */
	case 5:  /* NotFound */
	case 7:  /* PermissionDenied */
	case 8:  /* ResourceExhausted */
	case 11: /* OutOfRange */
	case 12: /* Unimplemented */
	case 16: /* Unauthenticated */ return CALL_DEFINITE;
	default: return CALL_UNKNOWN;
	}
}

/*
 * POSTs c->req to /v3/kv/PATH.  On CALL_OK *out is the parsed answer
 * (caller frees); otherwise res->error says what went wrong.
 */
static enum call
call(struct etcd *c, const char *path, struct mv_jv **out,
    struct mv_drv_res *res)
{
	struct mv_err e;
	CURLcode rc;
	long status = 0;

	*out = NULL;
	snprintf(
	    c->url + c->nbase, sizeof(c->url) - c->nbase, "/v3/kv/%s", path);
	mv_buf_reset(&c->resp);
	c->req_off = 0;
	c->sent = 0;
	c->date = 0;
	res->node_time = 0; /* only the answer's own Date names a node */
	curl_easy_setopt(c->h, CURLOPT_URL, c->url);
	curl_easy_setopt(
	    c->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->req.len);
	rc = curl_easy_perform(c->h);
	mv_buf_reset(&res->error);
	if (rc != CURLE_OK) {
		if (!c->sent) {
			mv_buf_adds(&res->error, "\"unreachable\"");
			return CALL_UNSENT;
		}
		mv_buf_adds(&res->error,
		    rc == CURLE_OPERATION_TIMEDOUT ? "\"timeout\""
		                                   : "\"connection-lost\"");
		return CALL_LOST;
	}
	curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200)
		return grpc_error(c, status, res);
	*out = mv_jv_parse(c->resp.p, c->resp.len, &e);
	if (*out == NULL || (*out)->kind != MV_JOBJ) {
		mv_jv_free(*out);
		*out = NULL;
		mv_buf_adds(&res->error, "\"bad-response\"");
		return CALL_LOST;
	}
	mv_buf_reset(&res->error);
	res->node_time = c->date;
	return CALL_OK;
}

/* Fills res for a failed call of a write; -1 when it was ambiguous. */
static int
write_failed(struct mv_drv_res *res, enum call r)
{
	if (r == CALL_UNSENT || r == CALL_DEFINITE) {
		res->type = MV_FAIL;
		return 0;
	}
	res->type = MV_INFO;
	return -1;
}

/*
 * The first key-value pair of a range answer: *found, its value decoded
 * into val and its mod_revision.  -1 if the answer is malformed.
 */
static int
first_kv(
    const struct mv_jv *rr, int *found, struct mv_buf *val, int64_t *modrev)
{
	const struct mv_jv *kvs = rr ? mv_jv_get(rr, "kvs") : NULL, *kv, *v;

	*found = 0;
	*modrev = 0;
	/* val is NUL-terminated for strtoll, and never NULL for memcpy. */
	mv_buf_reset(val);
	mv_buf_grow(val, 0);
	val->p[0] = '\0';
	if (kvs == NULL)
		return 0;
	if (kvs->kind != MV_JARR || kvs->len == 0
	    || kvs->items[0].kind != MV_JOBJ)
		return -1;
	kv = &kvs->items[0];
	*found = 1;
	if (get_i64(kv, "mod_revision", modrev) < 0)
		return -1;
	v = mv_jv_get(kv, "value"); /* left out when empty */
	if (v && (v->kind != MV_JSTR || b64_decode(v->s, v->len, val) < 0))
		return -1;
	return 0;
}

/*
 * Reads key: 0 with *found, val and *modrev; else res is a fail and the
 * return is -1, or -2 when the connection must be replaced.
 */
static int
get(struct etcd *c, const char *key, int *found, struct mv_buf *val,
    int64_t *modrev, struct mv_drv_res *res)
{
	struct mv_jv *a;
	enum call r;

	mv_buf_reset(&c->req);
	mv_buf_addc(&c->req, '{');
	add_key(&c->req, c, "key", key);
	if (c->serializable)
		mv_buf_adds(&c->req, ",\"serializable\":true");
	mv_buf_addc(&c->req, '}');
	if ((r = call(c, "range", &a, res)) != CALL_OK) {
		res->type = MV_FAIL;
		return r == CALL_LOST ? -2 : -1;
	}
	if (first_kv(a, found, val, modrev) < 0) {
		mv_jv_free(a);
		mv_buf_adds(&res->error, "\"bad-response\"");
		res->type = MV_FAIL;
		return -1;
	}
	mv_jv_free(a);
	return 0;
}

/* Parses a register's stored text as an integer. */
static int
parse_reg(const struct mv_buf *val, int64_t *out)
{
	char *end;
	long long v;

	if (val->len == 0 || strlen(val->p) != val->len)
		return -1;
	errno = 0;
	v = strtoll(val->p, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

/* read (register, cas-register, counter) and get (kv). */
static int
op_read(struct etcd *c, const struct mv_drv_op *op, struct mv_drv_res *res)
{
	struct mv_buf val = MV_BUF_INIT;
	int64_t modrev, n = 0;
	int found, rc;

	if ((rc = get(c, op->key, &found, &val, &modrev, res)) < 0) {
		mv_buf_release(&val);
		return rc == -2 ? -1 : 0;
	}
	res->type = MV_OK;
	if (!found)
		mv_buf_adds(
		    &res->value, op->workload == MV_W_COUNTER ? "0" : "null");
	else if (op->workload == MV_W_KV && mv_utf8_valid(val.p, val.len))
		mv_buf_add_jstr(&res->value, val.p, val.len);
	else if (op->workload != MV_W_KV && parse_reg(&val, &n) == 0)
		mv_buf_addi(&res->value, n);
	else {
		/* Not a value this driver writes: someone else's key. */
		res->type = MV_FAIL;
		mv_buf_adds(&res->error, "\"bad-value\"");
	}
	mv_buf_release(&val);
	return 0;
}

/* write (registers) and put (kv): a plain put, blind. */
static int
op_put(struct etcd *c, const struct mv_drv_op *op, const char *v, size_t n,
    struct mv_drv_res *res)
{
	struct mv_jv *a;
	enum call r;

	mv_buf_reset(&c->req);
	mv_buf_addc(&c->req, '{');
	add_key(&c->req, c, "key", op->key);
	mv_buf_addc(&c->req, ',');
	add_value(&c->req, v, n);
	mv_buf_addc(&c->req, '}');
	if ((r = call(c, "put", &a, res)) != CALL_OK)
		return write_failed(res, r);
	mv_jv_free(a);
	res->type = MV_OK;
	mv_jv_write(&res->value, op->value);
	return 0;
}

/*
 * A txn that compares key by cmp (a JSON compare object's tail) and puts
 * v[0..n) if it holds, else reads the key.  Returns CALL_OK with *ok and,
 * when !*ok, the key's current state in found/val/modrev.
 */
static enum call
txn(struct etcd *c, const char *key, const char *cmp, const char *v, size_t n,
    int *ok, struct mv_drv_res *res)
{
	struct mv_jv *a;
	const struct mv_jv *s;
	enum call r;

	mv_buf_reset(&c->req);
	mv_buf_adds(&c->req, "{\"compare\":[{");
	add_key(&c->req, c, "key", key);
	mv_buf_adds(&c->req, cmp);
	mv_buf_adds(&c->req, "}],\"success\":[{\"request_put\":{");
	add_key(&c->req, c, "key", key);
	mv_buf_addc(&c->req, ',');
	add_value(&c->req, v, n);
	mv_buf_adds(&c->req, "}}]}");
	if ((r = call(c, "txn", &a, res)) != CALL_OK)
		return r;
	/* proto3 JSON leaves out "succeeded" when it is false. */
	s = mv_jv_get(a, "succeeded");
	*ok = s && s->kind == MV_JBOOL && s->b;
	mv_jv_free(a);
	return CALL_OK;
}

/* cas of [old,new]: one txn comparing the value to old. */
static int
op_cas(struct etcd *c, const struct mv_drv_op *op, struct mv_drv_res *res)
{
	const struct mv_jv *v = op->value;
	struct mv_buf cmp = MV_BUF_INIT;
	char nv[24];
	enum call r;
	int ok = 0, len;

	if (v == NULL || v->kind != MV_JARR || v->len != 2
	    || v->items[0].kind != MV_JINT || v->items[1].kind != MV_JINT) {
		res->type = MV_FAIL;
		mv_buf_adds(&res->error, "\"bad-value\"");
		return 0;
	}
	len = snprintf(nv, sizeof(nv), "%lld", (long long)v->items[0].i);
	mv_buf_adds(&cmp, ",\"target\":\"VALUE\",\"result\":\"EQUAL\",");
	add_value(&cmp, nv, (size_t)len);
	len = snprintf(nv, sizeof(nv), "%lld", (long long)v->items[1].i);
	r = txn(c, op->key, cmp.p, nv, (size_t)len, &ok, res);
	mv_buf_release(&cmp);
	if (r != CALL_OK)
		return write_failed(res, r);
	res->type = ok ? MV_OK : MV_FAIL;
	if (ok)
		mv_jv_write(&res->value, v);
	else
		mv_buf_adds(&res->error, "\"mismatch\"");
	return 0;
}

/*
 * append (kv) and add (counter): read the key, then a txn that puts the
 * new state only if mod_revision is still what was read (0: absent), up to
 * c->retries times.  Every lost race left the key alone, so running out
 * fails the op with "conflict".
 */
static int
op_modify(struct etcd *c, const struct mv_drv_op *op, struct mv_drv_res *res)
{
	const struct mv_jv *v = op->value;
	struct mv_buf val = MV_BUF_INIT, nv = MV_BUF_INIT;
	char cmp[80];
	int64_t modrev, cur;
	int found, ok = 0, try, rc = 0;

	res->type = MV_FAIL;
	for (try = 0; try < c->retries && !ok; try++) {
		if ((rc = get(c, op->key, &found, &val, &modrev, res)) < 0)
			break; /* nothing was written: a fail */
		mv_buf_reset(&nv);
		cur = 0;
		if (op->workload == MV_W_KV) {
			mv_buf_add(&nv, val.p, val.len);
			mv_buf_add(&nv, v->s, v->len);
		} else if ((found && parse_reg(&val, &cur) < 0)
		    || __builtin_add_overflow(cur, v->i, &cur)) {
			rc = -1;
			mv_buf_adds(&res->error, "\"bad-value\"");
			break;
		} else
			mv_buf_addi(&nv, cur);
		snprintf(cmp, sizeof(cmp),
		    ",\"target\":\"MOD\",\"result\":\"EQUAL\","
		    "\"mod_revision\":\"%lld\"",
		    (long long)modrev);
		rc = txn(c, op->key, cmp, nv.p ? nv.p : "", nv.len, &ok, res);
		if (rc != CALL_OK) {
			mv_buf_release(&val);
			mv_buf_release(&nv);
			return write_failed(res, (enum call)rc);
		}
	}
	mv_buf_release(&val);
	mv_buf_release(&nv);
	if (ok) {
		res->type = MV_OK;
		mv_jv_write(&res->value, v);
	} else if (rc == 0)
		mv_buf_adds(&res->error, "\"conflict\"");
	return rc == -2 ? -1 : 0;
}

/* Writes of registers and counters take integers, kv strings. */
static int
value_ok(const struct mv_drv_op *op, int kv)
{
	return op->value && op->value->kind == (kv ? MV_JSTR : MV_JINT);
}

static int
etcd_invoke(void *conn, const struct mv_drv_op *op, struct mv_drv_res *res)
{
	struct etcd *c = conn;
	int w = op->workload, kv = w == MV_W_KV;
	const char *f = op->f;
	char num[24];

	snprintf(res->node, sizeof(res->node), "%s", c->node);
	if ((w == MV_W_REGISTER || w == MV_W_CAS_REGISTER || w == MV_W_COUNTER)
	    && strcmp(f, "read") == 0)
		return op_read(c, op, res);
	if (kv && strcmp(f, "get") == 0)
		return op_read(c, op, res);
	if (((w == MV_W_REGISTER || w == MV_W_CAS_REGISTER)
	        && strcmp(f, "write") == 0)
	    || (kv && strcmp(f, "put") == 0)) {
		if (!value_ok(op, kv))
			goto bad;
		if (kv)
			return op_put(c, op, op->value->s, op->value->len, res);
		snprintf(num, sizeof(num), "%lld", (long long)op->value->i);
		return op_put(c, op, num, strlen(num), res);
	}
	if (w == MV_W_CAS_REGISTER && strcmp(f, "cas") == 0)
		return op_cas(c, op, res);
	if ((kv && strcmp(f, "append") == 0)
	    || (w == MV_W_COUNTER && strcmp(f, "add") == 0)) {
		if (!value_ok(op, kv))
			goto bad;
		return op_modify(c, op, res);
	}
	res->type = MV_FAIL;
	mv_buf_adds(&res->error, "\"unsupported\"");
	return 0;
bad:
	res->type = MV_FAIL;
	mv_buf_adds(&res->error, "\"bad-value\"");
	return 0;
}

const struct mv_driver mv_drv_etcd = {
    "etcd",
    etcd_open,
    etcd_close,
    etcd_invoke,
};
