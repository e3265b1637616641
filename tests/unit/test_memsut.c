/* test_memsut.c: the embedded store's semantics and its bugs. */
#include <string.h>

#include "gen.h"
#include "history.h"
#include "memsut.h"
#include "mv.h"
#include "tap.h"

/* Applies op f/key/value (raw JSON or NULL) to s fully; the result text. */
static const char *
op(struct mv_memsut *s, struct mv_memsut_op *o, const char *f, const char *key,
    const char *value, int *type)
{
	struct mv_event ev;
	struct mv_err e;
	static char out[600];

	mv_event_init(&ev);
	ev.f = (char *)f;
	ev.key = (char *)key;
	ev.value = (char *)value;
	if (mv_memsut_prepare(s, &ev, o, &e) < 0) {
		snprintf(out, sizeof(out), "error: %s", e.msg);
		return out;
	}
	while (!mv_memsut_apply(s, o))
		;
	*type = o->res_type;
	snprintf(out, sizeof(out), "%s%s%s",
	    o->has_value ? o->res_value.p : "-", o->res_error ? " " : "",
	    o->res_error ? o->res_error : "");
	return out;
}

#define IS(s, f, k, v, want, name)                                             \
	OK(strcmp(op(s, &o, f, k, v, &t), want) == 0, name)

int
main(void)
{
	struct mv_memsut *s;
	struct mv_memsut_op o;
	struct mv_err e;
	unsigned bugs;
	int t, i, stale = 0;

	mv_memsut_op_init(&o);
	s = mv_memsut_new(MV_W_CAS_REGISTER, 0, 0, 1);
	IS(s, "read", "r0", NULL, "null", "register starts absent");
	IS(s, "write", "r0", "3", "3", "write");
	IS(s, "read", "r0", NULL, "3", "read what was written");
	IS(s, "cas", "r0", "[2,5]", "[2,5] \"mismatch\"", "cas mismatch");
	OK(t == MV_FAIL, "cas mismatch fails");
	IS(s, "cas", "r0", "[3,5]", "[3,5]", "cas hit");
	IS(s, "read", "r0", NULL, "5", "cas took effect");
	IS(s, "write", "r0", "\"x\"",
	    "error: \"value\" of write is not an integer", "bad value refused");
	IS(s, "get", "r0", NULL,
	    "error: \"f\" \"get\" is not an operation of the cas-register "
	    "workload",
	    "bad f refused");
	OK(mv_memsut_version(s) == 2, "version counts mutations");
	mv_memsut_free(s);

	s = mv_memsut_new(MV_W_KV, 0, 0, 1);
	IS(s, "append", "k0", "\"x1\"", "\"x1\"", "kv append to absent");
	IS(s, "append", "k0", "\"x2\"", "\"x2\"", "kv append");
	IS(s, "get", "k0", NULL, "\"x1x2\"", "kv get");
	IS(s, "get", "k9", NULL, "null", "kv absent");
	mv_memsut_free(s);

	s = mv_memsut_new(MV_W_STREAM, 0, 0, 1);
	IS(s, "read", "s0", "{\"from\":0}", "null", "no stream reads null");
	IS(s, "append", "s0", "{\"events\":[\"a\",\"b\"],\"expect\":0}",
	    "{\"actual\":-1} \"wrong-expected-version\"",
	    "wrong expected version");
	IS(s, "append", "s0",
	    "{\"events\":[\"a\",\"b\"],\"expect\":\"no-stream\"}",
	    "{\"version\":1}", "append creates");
	IS(s, "append", "s0", "{\"events\":[\"c\"],\"expect\":1}",
	    "{\"version\":2}", "append at expected version");
	IS(s, "read", "s0", "{\"from\":1}", "[\"b\",\"c\"]", "read from 1");
	mv_memsut_free(s);

	s = mv_memsut_new(MV_W_SET, 0, 0, 1);
	IS(s, "add", "t0", "5", "5", "set add");
	IS(s, "add", "t0", "2", "2", "set add");
	IS(s, "read", "t0", NULL, "[2,5]", "set reads sorted");
	mv_memsut_free(s);

	s = mv_memsut_new(MV_W_COUNTER, 0, 0, 1);
	IS(s, "read", "c0", NULL, "0", "counter starts at 0");
	IS(s, "add", "c0", "4", "4", "counter add");
	IS(s, "read", "c0", NULL, "4", "counter read");
	mv_memsut_free(s);

	OK(mv_bug_parse("stale-read,torn-batch", &bugs, &e) == 0
	        && bugs == (MV_BUG_STALE_READ | MV_BUG_TORN_BATCH),
	    "bug list");
	OK(mv_bug_parse("stale-read,nope", &bugs, &e) < 0
	        && strcmp(e.msg, "unknown bug: nope") == 0,
	    "unknown bug");

	s = mv_memsut_new(MV_W_REGISTER, MV_BUG_STALE_READ, 1.0, 1);
	op(s, &o, "write", "r0", "1", &t);
	op(s, &o, "write", "r0", "2", &t);
	/* Only a state some read saw replaced is handed out again. */
	OK(strcmp(op(s, &o, "read", "r0", NULL, &t), "2") == 0,
	    "stale-read: nothing old before a read saw the current state");
	for (i = 0; i < 20; i++)
		stale += strcmp(op(s, &o, "read", "r0", NULL, &t), "2") != 0;
	OK(stale == 20, "stale-read at rate 1 then always reads old");
	mv_memsut_free(s);

	/* lost-update acts only on a state a read saw replaced, so that
	 * the history shows the replacing update overwritten. */
	s = mv_memsut_new(MV_W_CAS_REGISTER, MV_BUG_LOST_UPDATE, 1.0, 1);
	op(s, &o, "write", "r0", "1", &t);
	op(s, &o, "write", "r0", "2", &t);
	IS(s, "cas", "r0", "[1,3]", "[1,3] \"mismatch\"",
	    "lost-update: no stale cas before a read saw the state after");
	IS(s, "read", "r0", NULL, "2", "read of the current value");
	IS(s, "cas", "r0", "[1,3]", "[1,3]", "lost-update: then a stale cas");
	mv_memsut_free(s);
	s = mv_memsut_new(MV_W_COUNTER, MV_BUG_LOST_UPDATE, 1.0, 1);
	op(s, &o, "add", "c0", "5", &t);
	op(s, &o, "add", "c0", "4", &t);
	IS(s, "add", "c0", "1", "1", "add before any read");
	IS(s, "read", "c0", NULL, "10", "no lost update before a read");
	op(s, &o, "add", "c0", "2", &t);
	IS(s, "read", "c0", NULL, "7", "lost-update: the counter went down");
	mv_memsut_free(s);
	s = mv_memsut_new(MV_W_KV, MV_BUG_LOST_UPDATE, 1.0, 1);
	op(s, &o, "put", "k0", "\"p\"", &t);
	IS(s, "get", "k0", NULL, "\"p\"", "kv read");
	op(s, &o, "append", "k0", "\"x1\"", &t);
	IS(s, "get", "k0", NULL, "\"px1\"", "no lost update of a put");
	op(s, &o, "append", "k0", "\"x2\"", &t);
	IS(s, "get", "k0", NULL, "\"px2\"",
	    "lost-update: an append on the state before the last append");
	mv_memsut_free(s);

	s = mv_memsut_new(MV_W_STREAM, MV_BUG_TORN_BATCH, 1.0, 1);
	{
		struct mv_event ev;
		struct mv_memsut_op r;

		mv_event_init(&ev);
		ev.f = "append";
		ev.key = "s0";
		ev.value = "{\"events\":[\"a\",\"b\"],\"expect\":\"any\"}";
		mv_memsut_prepare(s, &ev, &o, &e);
		OK(mv_memsut_apply(s, &o) == 0, "torn batch takes two steps");
		mv_memsut_op_init(&r);
		OK(strcmp(
		       op(s, &r, "read", "s0", "{\"from\":0}", &t), "[\"a\"]")
		        == 0,
		    "a read between sees half the batch");
		OK(mv_memsut_apply(s, &o) == 1
		        && strcmp(o.res_value.p, "{\"version\":1}") == 0,
		    "the second step completes it");
		mv_memsut_op_release(&r);
	}
	mv_memsut_free(s);
	mv_memsut_op_release(&o);
	return TAP_DONE();
}
