/*
 * drv_pg.c: mv-exec's PostgreSQL driver (libpq), scheme "pg".
 *
 * The target is a libpq connection string, keyword form ("host=/tmp/s
 * port=5433 dbname=postgres") or URI form ("user@host:5432/db", read as
 * postgresql://...), plus mv's own options, which are taken out before
 * libpq sees the rest: "mv.table=NAME" (keyword form) or "?mv.table=NAME"
 * (URI form) names the tables' prefix, "mv.mode=naive" selects the
 * deliberately wrong stream client, "mv.reset=1" empties the tables when
 * the run's first connection is made.
 *
 * Every round trip runs on a non-blocking connection polled against the
 * op's deadline (the per-request timeout, 5 s when none is given), the
 * connection attempt included, and the server is told the same limit as
 * statement_timeout so that it never holds a lock for an abandoned op.
 *
 * Outcomes.  The rule is: fail only when the op certainly did not take
 * effect.  A stream append is one explicit transaction, so whatever goes
 * wrong before COMMIT is sent (a server error, a timeout, a lost
 * connection) leaves nothing behind: the server rolls back a transaction
 * whose client errs or vanishes.  COMMIT itself, and a write that is a
 * single statement outside a transaction block (register, cas, kv, the
 * naive insert), commit as they run: a lost connection or timeout there
 * is info, and so is a server error unless its SQLSTATE class proves a
 * rollback (see error_definite).  Reads change nothing: any error is fail.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "drv.h"
#include "gen.h"

#define DEFAULT_TIMEOUT_NS 5000000000LL
#define TABLE_MAX 40

enum { MODE_SAFE, MODE_NAIVE };

/* Outcomes of one round trip (run_sql). */
enum { RT_OK, RT_SERVER, RT_LOST };

/* A worker's client: the parsed target and, once an op ran, a session. */
struct pgc {
	char *conninfo; /* the target without mv's options, for libpq */
	char table[TABLE_MAX + 1];
	int mode, reset;
	int64_t timeout_ns;
	PGconn *pg;       /* NULL until the first op (or after a loss) */
	int64_t deadline; /* of the op in progress, on mv_now_ns() */
	char err[256];    /* why the last round trip failed, one line */
	char sql[3][400]; /* statements with the table names in */
};

/* The first mv.reset of the process empties the tables, once. */
static pthread_mutex_t reset_mu = PTHREAD_MUTEX_INITIALIZER;
static int reset_done;

/* Copies libpq's (often multi-line) message into dst as one line. */
static void
one_line(char *dst, size_t cap, const char *src)
{
	size_t n = 0;
	int space = 0;

	for (; src && *src && n + 1 < cap; src++) {
		if (*src == '\n' || *src == '\t' || *src == '\r'
		    || *src == ' ') {
			space = n > 0;
			continue;
		}
		if (space && n + 2 < cap)
			dst[n++] = ' ';
		space = 0;
		dst[n++] = *src;
	}
	dst[n] = '\0';
}

/* Sets one of mv's own options from "mv.NAME=VALUE" text (len bytes). */
static int
set_option(struct pgc *c, const char *s, size_t len, struct mv_err *e)
{
	const char *eq = memchr(s, '=', len);
	size_t kl = eq ? (size_t)(eq - s) : len, vl = eq ? len - kl - 1 : 0;
	const char *v = eq ? eq + 1 : "";
	size_t i;

	/* libpq allows blanks around the "=" */
	while (kl > 0 && (s[kl - 1] == ' ' || s[kl - 1] == '\t'))
		kl--;
	while (vl > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vl--;
	}

	if (kl == 8 && strncmp(s, "mv.table", 8) == 0) {
		for (i = 0; i < vl; i++)
			if (!((v[i] >= 'a' && v[i] <= 'z') || v[i] == '_'
			        || (i > 0 && v[i] >= '0' && v[i] <= '9')))
				break;
		if (vl == 0 || vl > TABLE_MAX || i < vl)
			return mv_err_set(e,
			    "mv.table: '%.*s' is not a lowercase name "
			    "(a-z, _, then 0-9 too; at most %d)",
			    (int)vl, v, TABLE_MAX);
		memcpy(c->table, v, vl);
		c->table[vl] = '\0';
	} else if (kl == 7 && strncmp(s, "mv.mode", 7) == 0) {
		if (vl == 4 && strncmp(v, "safe", 4) == 0)
			c->mode = MODE_SAFE;
		else if (vl == 5 && strncmp(v, "naive", 5) == 0)
			c->mode = MODE_NAIVE;
		else
			return mv_err_set(e,
			    "mv.mode: '%.*s' is not safe or naive", (int)vl, v);
	} else if (kl == 8 && strncmp(s, "mv.reset", 8) == 0) {
		if (vl != 1 || (v[0] != '0' && v[0] != '1'))
			return mv_err_set(
			    e, "mv.reset: '%.*s' is not 0 or 1", (int)vl, v);
		c->reset = v[0] == '1';
	} else
		return mv_err_set(e,
		    "unknown option '%.*s' (mv.table, mv.mode, mv.reset)",
		    (int)kl, s);
	return 0;
}

/*
 * Keyword form: copies the target's "key=value" pairs but mv's to c's
 * conninfo.  Values may be quoted as libpq quotes them ('a b', \' and
 * \\ inside); libpq checks everything else.
 */
static int
split_keywords(struct pgc *c, const char *t, struct mv_err *e)
{
	struct mv_buf b = MV_BUF_INIT;

	while (*t) {
		const char *p, *eq;

		while (*t == ' ' || *t == '\t' || *t == '\n')
			t++;
		p = t;
		if ((eq = strchr(t, '=')) == NULL)
			eq = t + strlen(t);
		t = eq;
		if (*t == '=')
			t++;
		while (*t == ' ' || *t == '\t')
			t++;
		if (*t == '\'') {
			for (t++; *t && *t != '\''; t++)
				if (*t == '\\' && t[1])
					t++;
			if (*t == '\'')
				t++;
		} else
			while (*t && *t != ' ' && *t != '\t' && *t != '\n')
				t++;
		if (t - p > 3 && strncmp(p, "mv.", 3) == 0) {
			if (set_option(c, p, (size_t)(t - p), e) < 0) {
				mv_buf_release(&b);
				return -1;
			}
		} else if (t > p) {
			mv_buf_add(&b, p, (size_t)(t - p));
			mv_buf_addc(&b, ' ');
		}
	}
	mv_buf_addc(&b, '\0');
	c->conninfo = mv_buf_detach(&b, NULL);
	return 0;
}

/* URI form: "postgresql://" + t, without the mv.* query parameters. */
static int
split_uri(struct pgc *c, const char *t, struct mv_err *e)
{
	struct mv_buf b = MV_BUF_INIT;
	const char *q = strchr(t, '?');
	char sep = '?';

	mv_buf_adds(&b, "postgresql://");
	mv_buf_add(&b, t, q ? (size_t)(q - t) : strlen(t));
	while (q && *q) {
		const char *p = q + 1, *end = strchr(p, '&');

		if (end == NULL)
			end = p + strlen(p);
		if (end - p > 3 && strncmp(p, "mv.", 3) == 0) {
			if (set_option(c, p, (size_t)(end - p), e) < 0) {
				mv_buf_release(&b);
				return -1;
			}
		} else if (end > p) {
			mv_buf_addc(&b, sep);
			mv_buf_add(&b, p, (size_t)(end - p));
			sep = '&';
		}
		q = end;
	}
	mv_buf_addc(&b, '\0');
	c->conninfo = mv_buf_detach(&b, NULL);
	return 0;
}

/* Fills c->sql with the statements for c->table. */
static void
make_sql(struct pgc *c)
{
	const char *t = c->table;
	const char *ev = c->mode == MODE_NAIVE ? "naive_events" : "events";

	/* The naive client's two statements, and every read. */
	snprintf(c->sql[0], sizeof(c->sql[0]),
	    "SELECT coalesce(max(version), -1) FROM %s_naive_events"
	    " WHERE stream = $1",
	    t);
	snprintf(c->sql[1], sizeof(c->sql[1]),
	    "INSERT INTO %s_naive_events (stream, version, event)"
	    " SELECT $1, $2::bigint + u.o, u.e"
	    " FROM unnest($3::text[]) WITH ORDINALITY AS u(e, o)",
	    t);
	snprintf(c->sql[2], sizeof(c->sql[2]),
	    "SELECT event FROM %s_%s WHERE stream = $1 AND version >= $2"
	    " ORDER BY version%s",
	    t, ev, c->mode == MODE_NAIVE ? ", id" : "");
}

/*
 * PQconninfoParse checks the keywords only; the values libpq would
 * refuse at every connection attempt are refused here instead, so that a
 * typo is one error and not a run of failed ops.
 */
static int
check_values(const PQconninfoOption *o, struct mv_err *e)
{
	static const char *const modes[] = {"disable", "allow", "prefer",
	    "require", "verify-ca", "verify-full"};
	const char *p;
	size_t i;

	for (; o->keyword; o++) {
		if (o->val == NULL)
			continue;
		if (strcmp(o->keyword, "port") == 0)
			for (p = o->val; *p; p++) {
				char *end = (char *)p;
				long v = *p == ',' ? 1 : strtol(p, &end, 10);

				if (v < 1 || v > 65535 || (*end && *end != ','))
					return mv_err_set(e,
					    "invalid port number: \"%s\"",
					    o->val);
				if ((p = end)[0] == '\0')
					break;
			}
		if (strcmp(o->keyword, "sslmode") == 0) {
			for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
				if (strcmp(o->val, modes[i]) == 0)
					break;
			if (i == sizeof(modes) / sizeof(modes[0]))
				return mv_err_set(
				    e, "invalid sslmode value: \"%s\"", o->val);
		}
	}
	return 0;
}

/*
 * Parses target into a client; nothing is sent.  The target is in keyword
 * form when it begins with "word=", else it is a URI without its scheme.
 */
static void *
pg_open(const char *target, int64_t timeout_ns, struct mv_err *e)
{
	struct pgc *c = mv_xcalloc(1, sizeof(*c));
	const char *t = target;
	char *perr = NULL;
	PQconninfoOption *opts;
	int rc;

	strcpy(c->table, "mv");
	c->timeout_ns = timeout_ns > 0 ? timeout_ns : DEFAULT_TIMEOUT_NS;
	while (*t == ' ' || *t == '\t')
		t++;
	t += strspn(t, "abcdefghijklmnopqrstuvwxyz_.");
	while (*t == ' ' || *t == '\t')
		t++;
	if (*target == '\0')
		rc = mv_err_set(e,
		    "empty target: give a libpq connection string"
		    " or a URI without postgresql://");
	else if (strchr(target, '\n'))
		rc = mv_err_set(e, "a newline in the target");
	else if (*t == '=')
		rc = split_keywords(c, target, e);
	else
		rc = split_uri(c, target, e);
	if (rc == 0 && (opts = PQconninfoParse(c->conninfo, &perr)) == NULL) {
		char m[256];

		one_line(m, sizeof(m), perr ? perr : "out of memory");
		rc = mv_err_set(e, "%s", m);
	} else if (rc == 0) {
		rc = check_values(opts, e);
		PQconninfoFree(opts);
	}
	PQfreemem(perr);
	if (rc < 0) {
		free(c->conninfo);
		free(c);
		return NULL;
	}
	make_sql(c);
	return c;
}

static void
pg_close(void *conn)
{
	struct pgc *c = conn;

	if (c == NULL)
		return;
	if (c->pg)
		PQfinish(c->pg);
	free(c->conninfo);
	free(c);
}

/*
 * Waits until the socket is ready for ev (POLLIN or POLLOUT) or the op's
 * deadline passes.  Returns 0, or -1 with c->err set.
 */
static int
wait_sock(struct pgc *c, short ev)
{
	struct pollfd p;
	int64_t left;
	int n;

	p.fd = PQsocket(c->pg);
	p.events = ev;
	if (p.fd < 0) {
		snprintf(c->err, sizeof(c->err), "connection lost");
		return -1;
	}
	for (;;) {
		left = c->deadline - mv_now_ns();
		if (left <= 0) {
			snprintf(c->err, sizeof(c->err), "timeout");
			return -1;
		}
		if (left > 1000000000LL * 1000)
			left = 1000000000LL * 1000; /* poll takes an int */
		n = poll(&p, 1, (int)((left + 999999) / 1000000));
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR) {
			snprintf(c->err, sizeof(c->err), "poll: %s",
			    strerror(errno));
			return -1;
		}
	}
}

/* A lost connection: c->err says what libpq said. */
static int
lost(struct pgc *c)
{
	char m[200];

	one_line(m, sizeof(m), PQerrorMessage(c->pg));
	snprintf(c->err, sizeof(c->err), "connection lost: %s",
	    m[0] ? m : "no reason given");
	return RT_LOST;
}

/*
 * One round trip: sql with n text parameters (n < 0: a simple query,
 * which may hold several statements).  Returns RT_OK with *res the last
 * result, RT_SERVER with *res the first error the server sent, or RT_LOST
 * (timeout or broken connection; c->err says which) with *res NULL.
 * The caller owns *res.
 */
static int
run_sql(struct pgc *c, const char *sql, int n, const char *const *params,
    PGresult **res)
{
	PGresult *r, *keep = NULL;
	int f, bad = 0;

	*res = NULL;
	f = n < 0
	    ? PQsendQuery(c->pg, sql)
	    : PQsendQueryParams(c->pg, sql, n, NULL, params, NULL, NULL, 0);
	if (!f)
		return lost(c);
	while ((f = PQflush(c->pg)) == 1)
		if (wait_sock(c, POLLOUT | POLLIN) < 0)
			return RT_LOST;
		else if (!PQconsumeInput(c->pg))
			return lost(c);
	if (f < 0)
		return lost(c);
	for (;;) {
		while (PQisBusy(c->pg)) {
			int w = wait_sock(c, POLLIN);

			if (w < 0 || !PQconsumeInput(c->pg)) {
				PQclear(keep);
				return w < 0 ? RT_LOST : lost(c);
			}
		}
		if ((r = PQgetResult(c->pg)) == NULL)
			break;
		if (bad) {
			PQclear(r);
			continue;
		}
		f = PQresultStatus(r);
		bad = f != PGRES_COMMAND_OK && f != PGRES_TUPLES_OK;
		PQclear(keep);
		keep = r;
	}
	if (PQstatus(c->pg) == CONNECTION_BAD) {
		PQclear(keep);
		return lost(c);
	}
	*res = keep;
	return bad ? RT_SERVER : RT_OK;
}

/* The SQLSTATE of a result, or "" */
static const char *
sqlstate(const PGresult *r)
{
	const char *s = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	return s ? s : "";
}

/*
 * Whether an error the server gave for a statement that commits (COMMIT,
 * or a write outside a transaction block) proves that nothing was
 * committed.  These classes are raised before the commit begins or abort
 * it: 0A feature not supported, 22 data exception, 23 integrity
 * constraint, 25 invalid transaction state, 40 transaction rollback (but
 * 40003, statement completion unknown), 42 syntax or access rule, 44 with
 * check option, 54 program limit, 55P03 lock not available.  Anything
 * else (08 connection exception, 53 insufficient resources, 57 operator
 * intervention such as a shutdown or a cancel, 58 system error, XX
 * internal error, ...) may come after the commit record: info.
 */
static int
error_definite(const char *st)
{
	static const char *const cls[] = {
	    "0A", "22", "23", "25", "40", "42", "44", "54"};
	size_t i;

	if (strlen(st) != 5)
		return 0;
	if (strcmp(st, "40003") == 0)
		return 0;
	if (strcmp(st, "55P03") == 0)
		return 1;
	for (i = 0; i < sizeof(cls) / sizeof(cls[0]); i++)
		if (strncmp(st, cls[i], 2) == 0)
			return 1;
	return 0;
}

/* Sets res->error from a server error: a short name, or the message. */
static void
server_error(struct mv_drv_res *res, const PGresult *r)
{
	const char *st = sqlstate(r);
	const char *msg =
	    r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	char m[200];

	mv_buf_reset(&res->error);
	if (strcmp(st, "23505") == 0)
		mv_buf_adds(&res->error, "\"unique-violation\"");
	else if (strcmp(st, "40001") == 0)
		mv_buf_adds(&res->error, "\"serialization-failure\"");
	else if (strcmp(st, "40P01") == 0)
		mv_buf_adds(&res->error, "\"deadlock\"");
	else if (strcmp(st, "57014") == 0)
		mv_buf_adds(&res->error, "\"statement-timeout\"");
	else {
		char t[256];
		int n;

		one_line(m, sizeof(m), msg ? msg : "error");
		n = snprintf(t, sizeof(t), "sqlstate %s: %s", st, m);
		mv_buf_add_jstr(&res->error, t,
		    (size_t)n < sizeof(t) ? (size_t)n : sizeof(t) - 1);
	}
}

/* Sets res to type with error text s (a plain string). */
static void
set_res(struct mv_drv_res *res, enum mv_type type, const char *s)
{
	res->type = type;
	mv_buf_reset(&res->error);
	if (s)
		mv_buf_add_jstr(&res->error, s, strlen(s));
}

/* FNV-1a of the table prefix and s: the key of an advisory lock. */
static long long
lock_key(const struct pgc *c, const char *s)
{
	uint64_t h = 14695981039346656037ULL;
	const char *p;

	for (p = c->table; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	h = (h ^ ':') * 1099511628211ULL;
	for (p = s; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return (long long)(int64_t)h;
}

static void
ignore_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/*
 * Creates the tables if absent, under an advisory lock so that workers
 * starting at once do not race in the catalog; a race with a client that
 * does not take the lock (42P07, or 23505 on pg_type) is retried.
 */
static int
create_tables(struct pgc *c, PGresult **r)
{
	char q[1400];
	const char *t = c->table;
	int i, rc = RT_OK;

	snprintf(q, sizeof(q),
	    "BEGIN; SELECT pg_advisory_xact_lock(%lld);"
	    " CREATE TABLE IF NOT EXISTS %s_events (stream text NOT NULL,"
	    " version bigint NOT NULL, event text NOT NULL,"
	    " PRIMARY KEY (stream, version));"
	    " CREATE TABLE IF NOT EXISTS %s_naive_events (id bigserial,"
	    " stream text NOT NULL, version bigint NOT NULL,"
	    " event text NOT NULL);"
	    " CREATE INDEX IF NOT EXISTS %s_naive_events_sv"
	    " ON %s_naive_events (stream, version);"
	    " CREATE TABLE IF NOT EXISTS %s_kv (k text PRIMARY KEY,"
	    " v text NOT NULL); COMMIT",
	    lock_key(c, "create"), t, t, t, t, t);
	for (i = 0; i < 3; i++) {
		rc = run_sql(c, q, -1, NULL, r);
		if (rc != RT_SERVER)
			break;
		if (strcmp(sqlstate(*r), "42P07") != 0
		    && strcmp(sqlstate(*r), "23505") != 0)
			break;
		PQclear(*r);
		*r = NULL;
		if ((rc = run_sql(c, "ROLLBACK", -1, NULL, r)) != RT_OK)
			break;
		PQclear(*r);
		*r = NULL;
	}
	return rc;
}

/* Empties the tables if mv.reset asks and no worker did yet. */
static int
reset_tables(struct pgc *c, PGresult **r)
{
	char q[300];
	int rc = RT_OK;

	if (!c->reset)
		return RT_OK;
	pthread_mutex_lock(&reset_mu);
	if (!reset_done) {
		snprintf(q, sizeof(q),
		    "TRUNCATE %s_events, %s_naive_events, %s_kv", c->table,
		    c->table, c->table);
		if ((rc = run_sql(c, q, -1, NULL, r)) == RT_OK)
			reset_done = 1;
	}
	pthread_mutex_unlock(&reset_mu);
	return rc;
}

/*
 * Connects and prepares the session (timeouts, isolation, tables).
 * Nothing of any op has been sent yet, so a failure here is a fail.
 * Returns 0, or -1 with res filled.
 */
static int
pg_connect(struct pgc *c, struct mv_drv_res *res)
{
	/* The target (dbname, expanded) may override the encoding. */
	static const char *const kw[] = {
	    "client_encoding", "dbname", "fallback_application_name", NULL};
	const char *val[] = {"UTF8", c->conninfo, "mv-exec", NULL};
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	PGresult *r = NULL;
	char q[400];
	long long ms = (long long)((c->timeout_ns + 999999) / 1000000);
	int rc;

	/* The server's limits are ints of ms (about 24 days at most). */
	if (ms > INT32_MAX / 2)
		ms = INT32_MAX / 2;
	c->pg = PQconnectStartParams(kw, val, 1);
	if (c->pg == NULL) {
		set_res(res, MV_FAIL, "connect: out of memory");
		return -1;
	}
	while (PQstatus(c->pg) != CONNECTION_BAD && st != PGRES_POLLING_OK
	    && st != PGRES_POLLING_FAILED) {
		if (wait_sock(c, st == PGRES_POLLING_READING ? POLLIN : POLLOUT)
		    < 0)
			break;
		st = PQconnectPoll(c->pg);
	}
	if (st != PGRES_POLLING_OK) {
		char m[256];

		if (st == PGRES_POLLING_FAILED
		    || PQstatus(c->pg) == CONNECTION_BAD)
			one_line(m, sizeof(m), PQerrorMessage(c->pg));
		else
			snprintf(m, sizeof(m), "%s", c->err);
		snprintf(c->err, sizeof(c->err), "connect: %.230s", m);
		set_res(res, MV_FAIL, c->err);
		return -1;
	}
	PQsetNoticeProcessor(c->pg, ignore_notice, NULL);
	PQsetnonblocking(c->pg, 1);
	snprintf(q, sizeof(q),
	    "SET statement_timeout = %lld;"
	    " SET idle_in_transaction_session_timeout = %lld;"
	    " SET client_min_messages = warning;"
	    " SET default_transaction_isolation = 'read committed'",
	    ms, 2 * ms);
	rc = run_sql(c, q, -1, NULL, &r);
	if (rc == RT_OK) {
		PQclear(r);
		r = NULL;
		rc = create_tables(c, &r);
	}
	if (rc == RT_OK) {
		PQclear(r);
		r = NULL;
		rc = reset_tables(c, &r);
	}
	if (rc == RT_OK) {
		PQclear(r);
		return 0;
	}
	if (rc == RT_SERVER)
		server_error(res, r);
	else
		set_res(res, MV_FAIL, c->err);
	res->type = MV_FAIL;
	PQclear(r);
	return -1;
}

/* ---- the stream workload ---- */

/*
 * An append's expectation as the range [lo, hi] the current version must
 * lie in.  Returns 0, or -1 when the value is not an append's.
 */
static int
expect_range(const struct mv_jv *x, int64_t *lo, int64_t *hi)
{
	*lo = -1;
	*hi = INT64_MAX;
	if (x && x->kind == MV_JINT && x->i >= -1) {
		*lo = *hi = x->i;
		return 0;
	}
	if (x == NULL || x->kind != MV_JSTR)
		return -1;
	if (strcmp(x->s, "any") == 0)
		return 0;
	if (strcmp(x->s, "no-stream") == 0) {
		*hi = -1;
		return 0;
	}
	if (strcmp(x->s, "exists") == 0) {
		*lo = 0;
		return 0;
	}
	return -1;
}

/* Appends evs as a text[] literal of each event's JSON text. */
static void
events_literal(struct mv_buf *b, const struct mv_jv *evs)
{
	struct mv_buf t = MV_BUF_INIT;
	size_t i, j;

	mv_buf_addc(b, '{');
	for (i = 0; i < evs->len; i++) {
		mv_buf_reset(&t);
		mv_jv_write(&t, &evs->items[i]);
		mv_buf_adds(b, i ? ",\"" : "\"");
		for (j = 0; j < t.len; j++) {
			if (t.p[j] == '"' || t.p[j] == '\\')
				mv_buf_addc(b, '\\');
			mv_buf_addc(b, t.p[j]);
		}
		mv_buf_addc(b, '"');
	}
	mv_buf_addc(b, '}');
	mv_buf_addc(b, '\0');
	mv_buf_release(&t);
}

static void
res_version(struct mv_drv_res *res, const char *name, long long v)
{
	mv_buf_reset(&res->value);
	mv_buf_addf(&res->value, "{\"%s\":%lld}", name, v);
}

/* Ends the open transaction after an error; -1 if the session is lost. */
static int
rollback(struct pgc *c)
{
	PGresult *r;
	int rc = run_sql(c, "ROLLBACK", -1, NULL, &r);

	PQclear(r);
	return rc == RT_OK ? 0 : -1;
}

/*
 * The end of a read that did not get its rows (rc, or rc RT_OK with rows
 * of the wrong shape): fail, as nothing happened, with the server's error
 * or why.  Clears r.  -1 if the session is lost.
 */
static int
read_fail(struct pgc *c, int rc, PGresult *r, struct mv_drv_res *res)
{
	res->type = MV_FAIL;
	if (rc == RT_SERVER)
		server_error(res, r);
	else
		set_res(
		    res, MV_FAIL, rc == RT_OK ? "unexpected result" : c->err);
	PQclear(r);
	return rc == RT_LOST ? -1 : 0;
}

/*
 * The end of a write whose last statement returned rc with r, once an
 * RT_OK outcome has been put in res: a definite server error is fail,
 * any other error info (it may have committed).  Clears r.  -1 when the
 * outcome is info.
 */
static int
write_end(struct pgc *c, int rc, PGresult *r, struct mv_drv_res *res)
{
	if (rc == RT_SERVER) {
		res->type = error_definite(sqlstate(r)) ? MV_FAIL : MV_INFO;
		server_error(res, r);
	} else if (rc != RT_OK)
		set_res(res, MV_INFO, c->err);
	PQclear(r);
	return res->type == MV_INFO ? -1 : 0;
}

/*
 * The text of the safe append's first round trip: BEGIN, a
 * transaction-scoped advisory lock on the stream (appends to one stream
 * queue up instead of failing on the key), then one statement that reads
 * the version and inserts the batch only if cur lies in [lo, hi].  It is a
 * statement of its own, so under READ COMMITTED its snapshot is taken
 * after the lock was granted and sees every append committed before.
 * Returns -1 when a literal cannot be made (c->err says why).
 */
static int
append_query(struct pgc *c, struct mv_buf *q, const char *stream,
    const char *evs, int64_t lo, int64_t hi)
{
	char *sk = PQescapeLiteral(c->pg, stream, strlen(stream));
	char *ek = sk ? PQescapeLiteral(c->pg, evs, strlen(evs)) : NULL;
	const char *t = c->table;

	if (ek == NULL) {
		one_line(c->err, sizeof(c->err), PQerrorMessage(c->pg));
		PQfreemem(sk);
		return -1;
	}
	mv_buf_addf(q,
	    "BEGIN ISOLATION LEVEL READ COMMITTED;"
	    " SELECT pg_advisory_xact_lock(%lld);"
	    " WITH cur AS (SELECT coalesce(max(version), -1) AS v"
	    " FROM %s_events WHERE stream = %s),",
	    lock_key(c, stream), t, sk);
	mv_buf_addf(q,
	    " ins AS (INSERT INTO %s_events (stream, version, event)"
	    " SELECT %s, cur.v + u.o, u.e FROM cur,"
	    " unnest(%s::text[]) WITH ORDINALITY AS u(e, o)",
	    t, sk, ek);
	mv_buf_addf(q,
	    " WHERE cur.v BETWEEN %lld AND %lld RETURNING 1)"
	    " SELECT cur.v, (SELECT count(*) FROM ins) FROM cur",
	    (long long)lo, (long long)hi);
	mv_buf_addc(q, '\0');
	PQfreemem(sk);
	PQfreemem(ek);
	return 0;
}

/*
 * The safe append, one transaction in two round trips: append_query, then
 * COMMIT (ROLLBACK when the expectation failed).  The unique key stays the
 * last word: should two appends still meet, one fails on it.
 */
static int
append_safe(struct pgc *c, const char *stream, const char *evs, int64_t lo,
    int64_t hi, struct mv_drv_res *res)
{
	struct mv_buf q = MV_BUF_INIT;
	PGresult *r = NULL;
	long long cur, n;
	int rc;

	if (append_query(c, &q, stream, evs, lo, hi) < 0) {
		set_res(res, MV_FAIL, c->err);
		return 0;
	}
	rc = run_sql(c, q.p, -1, NULL, &r);
	mv_buf_release(&q);
	/* Nothing was committed yet: every failure is definite. */
	if (rc == RT_LOST) {
		set_res(res, MV_FAIL, c->err);
		return -1;
	}
	if (rc == RT_SERVER || PQntuples(r) != 1 || PQnfields(r) != 2) {
		if (rc == RT_SERVER) {
			res->type = MV_FAIL;
			server_error(res, r);
		} else
			set_res(res, MV_FAIL, "unexpected result");
		PQclear(r);
		return rollback(c);
	}
	cur = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	n = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	PQclear(r);
	if (cur < lo || cur > hi) {
		set_res(res, MV_FAIL, "wrong-expected-version");
		res_version(res, "actual", cur);
		return rollback(c);
	}
	/* From here the transaction may commit. */
	rc = run_sql(c, "COMMIT", -1, NULL, &r);
	if (rc == RT_OK && strcmp(PQcmdStatus(r), "COMMIT") == 0) {
		res->type = MV_OK;
		res_version(res, "version", cur + n);
	} else if (rc == RT_OK) /* "ROLLBACK": it had aborted */
		set_res(res, MV_FAIL, "rolled-back");
	return write_end(c, rc, r, res);
}

/*
 * The naive append, for showing that mv-check finds what it does wrong:
 * no unique key, READ COMMITTED, the version read by one statement and
 * the batch inserted by another, with nothing held in between.  Two
 * clients that read the same version both insert after it.
 */
static int
append_naive(struct pgc *c, const char *stream, const char *evs, int64_t lo,
    int64_t hi, struct mv_drv_res *res)
{
	char scur[24];
	const char *p[3] = {stream, scur, evs};
	PGresult *r = NULL;
	long long cur;
	int rc;

	rc = run_sql(c, c->sql[0], 1, p, &r);
	if (rc != RT_OK || PQntuples(r) != 1) {
		return read_fail(c, rc, r, res); /* nothing happened */
	}
	cur = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	if (cur < lo || cur > hi) {
		set_res(res, MV_FAIL, "wrong-expected-version");
		res_version(res, "actual", cur);
		return 0;
	}
	snprintf(scur, sizeof(scur), "%lld", cur);
	rc = run_sql(c, c->sql[1], 3, p, &r);
	if (rc == RT_OK) {
		res->type = MV_OK;
		res_version(
		    res, "version", cur + strtoll(PQcmdTuples(r), NULL, 10));
	}
	return write_end(c, rc, r, res);
}

static int
stream_append(struct pgc *c, const struct mv_drv_op *op, struct mv_drv_res *res)
{
	const struct mv_jv *v = op->value;
	const struct mv_jv *evs = v ? mv_jv_get(v, "events") : NULL;
	struct mv_buf lit = MV_BUF_INIT;
	int64_t lo, hi;
	int rc;

	if (evs == NULL || evs->kind != MV_JARR
	    || expect_range(mv_jv_get(v, "expect"), &lo, &hi) < 0) {
		set_res(res, MV_FAIL, "malformed");
		return 0;
	}
	events_literal(&lit, evs);
	rc = c->mode == MODE_NAIVE
	    ? append_naive(c, op->key, lit.p, lo, hi, res)
	    : append_safe(c, op->key, lit.p, lo, hi, res);
	mv_buf_release(&lit);
	return rc;
}

/*
 * A read of {"from":R}: the events from version R on, in order; null when
 * R is 0 and the stream has none (it does not exist).
 */
static int
stream_read(struct pgc *c, const struct mv_drv_op *op, struct mv_drv_res *res)
{
	const struct mv_jv *from =
	    op->value ? mv_jv_get(op->value, "from") : NULL;
	char sfrom[24];
	const char *p[2] = {op->key, sfrom};
	PGresult *r = NULL;
	int rc, i, n;

	if (from == NULL || from->kind != MV_JINT || from->i < 0) {
		set_res(res, MV_FAIL, "malformed");
		return 0;
	}
	snprintf(sfrom, sizeof(sfrom), "%lld", (long long)from->i);
	if ((rc = run_sql(c, c->sql[2], 2, p, &r)) != RT_OK) {
		return read_fail(c, rc, r, res);
	}
	n = PQntuples(r);
	res->type = MV_OK;
	if (n == 0 && from->i == 0)
		mv_buf_adds(&res->value, "null");
	else {
		mv_buf_addc(&res->value, '[');
		for (i = 0; i < n; i++) {
			if (i)
				mv_buf_addc(&res->value, ',');
			mv_buf_adds(&res->value, PQgetvalue(r, i, 0));
		}
		mv_buf_addc(&res->value, ']');
	}
	PQclear(r);
	return 0;
}

/* ---- register, cas-register, kv: one row per key ---- */

/*
 * A write that is one statement outside a transaction block: it commits
 * as it runs, so only a definite error is fail.  affected, when not NULL,
 * gets the number of rows the statement changed.
 */
static int
write_one(struct pgc *c, const char *sql, int n, const char *const *p,
    long long *affected, struct mv_drv_res *res)
{
	PGresult *r = NULL;
	int rc = run_sql(c, sql, n, p, &r);

	if (rc == RT_OK) {
		res->type = MV_OK;
		if (affected)
			*affected = strtoll(PQcmdTuples(r), NULL, 10);
	}
	return write_end(c, rc, r, res);
}

/* Whether s is an integer as mv_buf_addi writes one. */
static int
is_int(const char *s)
{
	size_t n = strspn(s + (*s == '-'), "0123456789");

	return n > 0 && n < 20 && s[(*s == '-') + n] == '\0';
}

/* A read of key: the stored text as an integer (str: 0) or string. */
static int
kv_read(struct pgc *c, const char *key, int str, struct mv_drv_res *res)
{
	char q[200];
	const char *p[1] = {key};
	PGresult *r = NULL;
	int rc;

	snprintf(q, sizeof(q), "SELECT v FROM %s_kv WHERE k = $1", c->table);
	if ((rc = run_sql(c, q, 1, p, &r)) != RT_OK) {
		return read_fail(c, rc, r, res);
	}
	res->type = MV_OK;
	if (PQntuples(r) == 0)
		mv_buf_adds(&res->value, "null");
	else if (str)
		mv_buf_add_jstr(&res->value, PQgetvalue(r, 0, 0),
		    (size_t)PQgetlength(r, 0, 0));
	else if (is_int(PQgetvalue(r, 0, 0)))
		mv_buf_adds(&res->value, PQgetvalue(r, 0, 0));
	else /* not a register's: written by a kv op on the same key */
		mv_buf_add_jstr(&res->value, PQgetvalue(r, 0, 0),
		    (size_t)PQgetlength(r, 0, 0));
	PQclear(r);
	return 0;
}

/* Register and cas-register: write, read, cas of integers. */
static int
register_op(struct pgc *c, const struct mv_drv_op *op, struct mv_drv_res *res)
{
	const struct mv_jv *v = op->value;
	char q[300], a[24], b[24];
	const char *p[3] = {op->key, a, b};
	long long n = 0;
	int rc;

	if (strcmp(op->f, "read") == 0)
		return kv_read(c, op->key, 0, res);
	if (strcmp(op->f, "write") == 0 && v && v->kind == MV_JINT) {
		snprintf(a, sizeof(a), "%lld", (long long)v->i);
		snprintf(q, sizeof(q),
		    "INSERT INTO %s_kv (k, v) VALUES ($1, $2) ON CONFLICT (k)"
		    " DO UPDATE SET v = EXCLUDED.v",
		    c->table);
		rc = write_one(c, q, 2, p, NULL, res);
		if (res->type == MV_OK)
			mv_buf_adds(&res->value, a);
		return rc;
	}
	if (strcmp(op->f, "cas") != 0 || op->workload != MV_W_CAS_REGISTER
	    || v == NULL || v->kind != MV_JARR || v->len != 2
	    || v->items[0].kind != MV_JINT || v->items[1].kind != MV_JINT) {
		set_res(res, MV_FAIL,
		    strcmp(op->f, "write") == 0 || strcmp(op->f, "cas") == 0
		        ? "malformed"
		        : "unsupported");
		return 0;
	}
	snprintf(a, sizeof(a), "%lld", (long long)v->items[0].i);
	snprintf(b, sizeof(b), "%lld", (long long)v->items[1].i);
	snprintf(q, sizeof(q),
	    "UPDATE %s_kv SET v = $3 WHERE k = $1 AND v = $2", c->table);
	rc = write_one(c, q, 3, p, &n, res);
	if (res->type == MV_OK && n == 0)
		set_res(res, MV_FAIL, "mismatch");
	else if (res->type == MV_OK)
		mv_buf_addf(&res->value, "[%s,%s]", a, b);
	return rc;
}

/* kv: put (write), append, get (read) of strings. */
static int
kv_op(struct pgc *c, const struct mv_drv_op *op, struct mv_drv_res *res)
{
	const struct mv_jv *v = op->value;
	const char *p[2] = {op->key, v ? v->s : NULL};
	int put = strcmp(op->f, "put") == 0 || strcmp(op->f, "write") == 0;
	char q[300];
	int rc;

	if (strcmp(op->f, "get") == 0 || strcmp(op->f, "read") == 0)
		return kv_read(c, op->key, 1, res);
	if (!put && strcmp(op->f, "append") != 0) {
		set_res(res, MV_FAIL, "unsupported");
		return 0;
	}
	if (v == NULL || v->kind != MV_JSTR || memchr(v->s, 0, v->len)) {
		set_res(res, MV_FAIL, "malformed");
		return 0;
	}
	snprintf(q, sizeof(q),
	    "INSERT INTO %s_kv AS t (k, v) VALUES ($1, $2) ON CONFLICT (k)"
	    " DO UPDATE SET v = %s",
	    c->table, put ? "EXCLUDED.v" : "t.v || EXCLUDED.v");
	rc = write_one(c, q, 2, p, NULL, res);
	if (res->type == MV_OK)
		mv_buf_add_jstr(&res->value, v->s, v->len);
	return rc;
}

/* Whether the driver knows op's f for its workload (else: unsupported). */
static int
supported(const struct mv_drv_op *op)
{
	const char *f = op->f;

	switch (op->workload) {
	case MV_W_REGISTER:
		return strcmp(f, "read") == 0 || strcmp(f, "write") == 0;
	case MV_W_CAS_REGISTER:
		return strcmp(f, "read") == 0 || strcmp(f, "write") == 0
		    || strcmp(f, "cas") == 0;
	case MV_W_KV:
		return strcmp(f, "get") == 0 || strcmp(f, "read") == 0
		    || strcmp(f, "put") == 0 || strcmp(f, "write") == 0
		    || strcmp(f, "append") == 0;
	case MV_W_STREAM:
		return strcmp(f, "append") == 0 || strcmp(f, "read") == 0;
	default: return 0;
	}
}

static int
pg_invoke(void *conn, const struct mv_drv_op *op, struct mv_drv_res *res)
{
	struct pgc *c = conn;

	if (!supported(op)) {
		set_res(res, MV_FAIL, "unsupported");
		return 0;
	}
	if (op->key == NULL) {
		set_res(res, MV_FAIL, "malformed");
		return 0;
	}
	c->deadline = mv_now_ns() + c->timeout_ns;
	c->err[0] = '\0';
	if (c->pg == NULL && pg_connect(c, res) < 0)
		return -1;
	if (op->workload == MV_W_STREAM)
		return strcmp(op->f, "append") == 0 ? stream_append(c, op, res)
		                                    : stream_read(c, op, res);
	if (op->workload == MV_W_KV)
		return kv_op(c, op, res);
	return register_op(c, op, res);
}

const struct mv_driver mv_drv_pg = {"pg", pg_open, pg_close, pg_invoke};
