/*
 * test_estore.c: every event-store invariant and durability check on a
 * small valid history and on one that breaks it.
 *
 * Histories are written one record a line in a short form:
 *   "i P F KEY [VALUE]"  invoke by process P    "o ..." ok
 *   "f ..." fail (wrong-expected-version)         "n ..." info
 *   "X F"                a nemesis fault F (kill, restart)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "durable.h"
#include "estore.h"
#include "history.h"
#include "model.h"
#include "tap.h"

static char path[64];

/* Expands the short form of src into a history file at path. */
static void
expand(const char *src)
{
	FILE *f = fopen(path, "w");
	char line[512], t[8], p[16], fn[32], key[32];
	const char *types[] = {"invoke", "ok", "fail", "info"};
	const char *s = src, *nl;
	int n, k;

	if (f == NULL)
		abort();
	for (; *s; s = nl + 1) {
		nl = strchr(s, '\n');
		snprintf(line, sizeof(line), "%.*s", (int)(nl - s), s);
		if (line[0] == 'X') {
			fprintf(f,
			    "{\"type\":\"info\",\"process\":\"nemesis\","
			    "\"f\":\"%s\",\"value\":{\"effect\":\"x\"}}\n",
			    line + 2);
			continue;
		}
		n = 0;
		if (sscanf(line, "%7s %15s %31s %31s %n", t, p, fn, key, &n)
		    < 4)
			abort();
		k = strchr("iofn", t[0]) - "iofn";
		fprintf(f,
		    "{\"type\":\"%s\",\"process\":%s,\"f\":\"%s\","
		    "\"key\":\"%s\"",
		    types[k], p, fn, key);
		if (n > 0 && line[n])
			fprintf(f, ",\"value\":%s", line + n);
		if (t[0] == 'f')
			fputs(",\"error\":\"wrong-expected-version\"", f);
		fputs("}\n", f);
	}
	fclose(f);
}

/*
 * The anomaly the history a then b gets ("" none, "error"): from the
 * event-store checks when kind is -1, else from mv_durable_check.
 */
static const char *
check(const char *a, const char *b, int kind, unsigned promises)
{
	static char out[64], src[2048];
	struct mv_history h;
	struct mv_hfinding f;
	struct mv_err e;
	int rc;

	snprintf(src, sizeof(src), "%s%s", a, b);
	expand(src);
	if (mv_history_load(path, 0, &h, &e) < 0) {
		printf("# %s\n", e.msg);
		return "load";
	}
	mv_hfinding_init(&f);
	rc = kind < 0 ? mv_estore_check(&h, path, promises, 0, &f, &e)
	              : mv_durable_check(&h, path, kind, 0, &f, &e);
	snprintf(out, sizeof(out), "%s",
	    rc < 0        ? "error"
	        : rc == 0 ? ""
	                  : f.anomaly);
	if (rc > 0)
		printf("# %s: %s\n", f.anomaly, f.why.p);
	mv_hfinding_release(&f);
	mv_history_release(&h);
	return out;
}

#define es(h, promises) check((h), "", -1, (promises))
#define es2(a, b, promises) check((a), (b), -1, (promises))
#define dur(h, kind) check((h), "", (kind), 0)
#define dur2(a, b, kind) check((a), (b), (kind), 0)
#define IS(got, want, name) OK(strcmp((got), (want)) == 0, name)

/* Appends of a (version 0) and b (version 1), both ok, one at a time. */
#define AB                                                                     \
	"i 0 append s {\"events\":[\"a\"],\"expect\":\"no-stream\"}\n"         \
	"o 0 append s {\"version\":0}\n"                                       \
	"i 0 append s {\"events\":[\"b\"],\"expect\":0}\n"                     \
	"o 0 append s {\"version\":1}\n"

static void
identity(void)
{
	IS(es(AB "i 1 read s {\"from\":0}\no 1 read s [\"a\",\"b\"]\n", 0), "",
	    "valid: two appends, one read");
	IS(es("i 0 append s {\"events\":[\"a\"]}\no 0 append s\n"
	      "i 1 append s {\"events\":[\"a\",\"c\"]}\no 1 append s\n",
	       0),
	    "duplicate-event", "duplicate-event: one id in two batches");
	IS(es(AB "i 1 read s {\"from\":0}\no 1 read s [\"a\",\"a\"]\n", 0),
	    "duplicate-append", "duplicate-append: a read shows one twice");
	IS(es("i 0 append s {\"events\":[\"a\"]}\nn 0 append s\n"
	      "i 1 append s {\"events\":[\"a\"]}\no 1 append s "
	      "{\"version\":0}\n"
	      "i 1 read s {\"from\":0}\no 1 read s [\"a\"]\n",
	       0),
	    "", "valid: a retry with the same ids adds nothing");
	IS(es("i 0 append s {\"events\":[\"a\"]}\no 0 append s "
	      "{\"version\":0}\n"
	      "i 1 append s {\"events\":[\"a\"]}\no 1 append s "
	      "{\"version\":1}\n",
	       0),
	    "duplicate-append", "duplicate-append: a retry added it again");
}

static void
batches(void)
{
	const char *ab = "i 0 append s {\"events\":[\"a\",\"b\"]}\n"
	                 "o 0 append s {\"version\":1}\n";

	IS(es2(ab,
	       "i 1 read s {\"from\":0}\n"
	       "o 1 read s [\"a\",\"b\"]\n",
	       0),
	    "", "valid: the whole batch");
	IS(es2(ab,
	       "i 1 read s {\"from\":1}\n"
	       "o 1 read s [\"b\"]\n",
	       0),
	    "", "valid: a read from 1 begins inside the batch");
	IS(es("i 1 read s {\"from\":0}\n"
	      "i 0 append s {\"events\":[\"a\",\"b\"]}\n"
	      "o 1 read s [\"a\"]\no 0 append s {\"version\":1}\n",
	       0),
	    "torn-batch", "torn-batch: a read sees part of it");
}

static void
phantoms(void)
{
	IS(es("i 1 read s {\"from\":0}\no 1 read s [\"z\"]\n", 0),
	    "phantom-read", "phantom-read: an event nobody appended");
	IS(es("i 0 append s {\"events\":[\"a\"],\"expect\":3}\n"
	      "f 0 append s {\"actual\":-1}\n"
	      "i 1 read s {\"from\":0}\no 1 read s [\"a\"]\n",
	       0),
	    "phantom-read", "phantom-read: an event of a failed append");
	IS(es("i 0 append s {\"events\":[\"a\"]}\nn 0 append s\n"
	      "i 1 read s {\"from\":0}\no 1 read s [\"a\"]\n",
	       0),
	    "", "valid: an event of an info append");
}

static void
lost(void)
{
	IS(es(AB "i 1 read s {\"from\":0}\no 1 read s [\"a\"]\n", 0),
	    "lost-write", "lost-write: no read ever shows b");
	IS(es(AB "i 1 read s {\"from\":0}\no 1 read s [\"a\"]\n"
	         "i 1 read s {\"from\":0}\no 1 read s [\"a\",\"b\"]\n",
	       0),
	    "stale-read", "stale-read: a later read shows b");
	IS(es(AB "i 1 read s {\"from\":1}\no 1 read s [\"b\"]\n", 0), "",
	    "valid: a read from 1 shows b");
}

static void
concurrency(void)
{
	IS(es("i 0 append s {\"events\":[\"a\"],\"expect\":-1}\n"
	      "i 1 append s {\"events\":[\"b\"],\"expect\":-1}\n"
	      "o 0 append s {\"version\":0}\n"
	      "o 1 append s {\"version\":0}\n",
	       0),
	    "lost-update", "lost-update: two ok appends expecting -1");
	IS(es("i 0 append s {\"events\":[\"a\"],\"expect\":-1}\n"
	      "o 0 append s {\"version\":0}\n"
	      "i 1 append s {\"events\":[\"b\"],\"expect\":5}\n"
	      "o 1 append s {\"version\":1}\n",
	       0),
	    "lost-update", "lost-update: expected 5 but landed at 1");
	IS(es("i 0 append s {\"events\":[\"a\"],\"expect\":-1}\n"
	      "o 0 append s {\"version\":3}\n"
	      "i 1 read s {\"from\":0}\no 1 read s [\"a\"]\n",
	       0),
	    "wrong-version", "wrong-version: landed at 0, said 3");
	IS(es(AB "i 1 append s {\"events\":[\"c\"],\"expect\":0}\n"
	         "f 1 append s {\"actual\":1}\n",
	       0),
	    "", "valid: a conflict that reports another version");
	IS(es(AB "i 1 append s {\"events\":[\"c\"],\"expect\":1}\n"
	         "f 1 append s {\"actual\":1}\n",
	       0),
	    "false-conflict", "false-conflict: actual equals expected");
}

static void
positions(void)
{
	const char *two = "i 0 append s {\"events\":[\"a\"]}\no 0 append s\n"
	                  "i 1 append s {\"events\":[\"b\"]}\no 1 append s\n";

	IS(es2(two,
	       "i 2 read s {\"from\":0}\n"
	       "o 2 read s [\"a\",\"b\"]\ni 3 read s {\"from\":0}\n"
	       "o 3 read s [\"b\",\"a\"]\n",
	       0),
	    "position-disagreement", "position-disagreement: a, b and b, a");
	IS(es2(two,
	       "i 2 read s {\"from\":0}\n"
	       "o 2 read s [\"b\",\"a\"]\ni 3 read s {\"from\":1}\n"
	       "o 3 read s [\"a\"]\n",
	       0),
	    "", "valid: reads agree on b, a");
	IS(es("i 0 append s {\"events\":[\"a\"]}\n"
	      "o 0 append s {\"version\":1}\n",
	       0),
	    "revision-gap", "revision-gap: revision 0 holds nothing");
	IS(es("i 0 append s {\"events\":[\"a\"]}\n"
	      "o 0 append s {\"version\":1}\n"
	      "i 1 append s {\"events\":[\"b\"]}\nn 1 append s\n",
	       0),
	    "", "valid: an info append may fill revision 0");
	/* Nothing is allocated for a revision no stream can reach. */
	IS(es("i 0 append s {\"events\":[\"a\"]}\n"
	      "o 0 append s {\"version\":4000000000000}\n",
	       0),
	    "revision-gap", "revision-gap: a version beyond every append");
}

static void
reads(void)
{
	const char *ab = "i 0 append s {\"events\":[\"a\"]}\nn 0 append s\n"
	                 "i 1 append s {\"events\":[\"b\"]}\nn 1 append s\n"
	                 "i 2 read s {\"from\":0}\no 2 read s [\"a\",\"b\"]\n";
	const char *h = "i 0 append s {\"events\":[\"a\"]}\no 0 append s\n"
	                "i 0 read s {\"from\":0}\no 0 read s []\n"
	                "i 1 read s {\"from\":0}\no 1 read s [\"a\"]\n";

	IS(es2(ab,
	       "i 2 read s {\"from\":0}\n"
	       "o 2 read s [\"a\"]\n",
	       0),
	    "non-monotonic-read",
	    "non-monotonic-read: one process sees the stream shrink");
	IS(es2(ab,
	       "i 3 read s {\"from\":0}\n"
	       "o 3 read s [\"a\"]\n",
	       0),
	    "", "valid: another process may lag");
	IS(es(h, MV_PROMISE_RYW), "read-your-writes",
	    "read-your-writes: promised, own append missing");
	IS(es(h, 0), "stale-read", "without the promise: a stale read");
}

static void
subscriptions(void)
{
	const char *sub = AB "i 0 append s {\"events\":[\"c\"],\"expect\":1}\n"
	                     "o 0 append s {\"version\":2}\n"
	                     "i 5 subscribe s {\"from\":0}\no 5 subscribe s\n"
	                     "i 5 deliver s\n"
	                     "o 5 deliver s {\"version\":0,\"event\":\"a\"}\n";

	IS(es2(sub,
	       "i 5 deliver s\n"
	       "o 5 deliver s {\"version\":1,\"event\":\"b\"}\n"
	       "i 5 checkpoint s {\"version\":1}\no 5 checkpoint s\n",
	       0),
	    "", "valid: in order, checkpoint at delivery");
	IS(es2(sub,
	       "i 5 deliver s\n"
	       "o 5 deliver s {\"version\":1,\"event\":\"a\"}\n",
	       0),
	    "position-disagreement", "a delivery puts a at revision 1 too");
	IS(es2(sub,
	       "i 5 deliver s\n"
	       "o 5 deliver s {\"version\":2,\"event\":\"c\"}\n",
	       0),
	    "subscription-skip", "subscription-skip: 0 then 2");
	IS(es2(sub,
	       "i 5 deliver s\n"
	       "o 5 deliver s {\"version\":0,\"event\":\"a\"}\n",
	       0),
	    "subscription-duplicate",
	    "subscription-duplicate: 0 twice without a reconnect");
	IS(es2(sub,
	       "i 5 subscribe s {\"from\":0}\n"
	       "o 5 subscribe s\ni 5 deliver s\n"
	       "o 5 deliver s {\"version\":0,\"event\":\"a\"}\n",
	       0),
	    "", "valid: 0 again after a reconnect");
	IS(es2(sub,
	       "i 5 checkpoint s {\"version\":1}\n"
	       "o 5 checkpoint s\n",
	       0),
	    "checkpoint-ahead",
	    "checkpoint-ahead: checkpoint 1 after delivery of 0");
	IS(es2(sub,
	       "i 5 deliver s\n"
	       "o 5 deliver s {\"version\":1,\"event\":\"z\"}\n",
	       0),
	    "phantom-read", "a delivery of an unknown event");
}

static void
crashes(void)
{
	const char *a = "i 0 append s {\"events\":[\"a\"]}\n"
	                "o 0 append s {\"version\":0}\nX kill\nX restart\n";
	const char *ia = "i 0 append s {\"events\":[\"a\"]}\nn 0 append s\n"
	                 "X kill\ni 1 read s {\"from\":0}\no 1 read s [\"a\"]\n"
	                 "X kill\n";

	IS(es2(a,
	       "i 1 read s {\"from\":0}\n"
	       "o 1 read s [\"a\"]\n",
	       0),
	    "", "valid: an acknowledged append survives");
	IS(es2(a, "i 1 read s {\"from\":0}\no 1 read s []\n", 0),
	    "lost-after-crash", "lost-after-crash: stream");
	IS(es2(ia,
	       "i 2 read s {\"from\":0}\n"
	       "o 2 read s [\"a\"]\n",
	       0),
	    "", "valid: an info append seen after recovery stays");
	IS(es2(ia, "i 2 read s {\"from\":0}\no 2 read s []\n", 0),
	    "unstable-info", "unstable-info: stream");
}

static void
durable(void)
{
	const char *w = "i 0 write r 1\no 0 write r 1\ni 0 write r 2\n"
	                "o 0 write r 2\nX kill\nX restart\ni 1 read r\n";
	const char *add = "i 0 add t 1\no 0 add t 1\ni 2 add t 2\nn 2 add t\n"
	                  "X kill\ni 1 read t\no 1 read t [1,2]\nX kill\n"
	                  "i 1 read t\n";

	IS(dur2(w, "o 1 read r 2\n", MV_MODEL_REGISTER), "",
	    "valid: register write survives");
	IS(dur2(w, "o 1 read r 1\n", MV_MODEL_REGISTER), "lost-after-crash",
	    "lost-after-crash: register reads 1 after 2");
	IS(dur2(w, "o 1 read r null\n", MV_MODEL_CAS_REGISTER),
	    "lost-after-crash",
	    "lost-after-crash: register reads its initial null");
	IS(dur2(add, "o 1 read t [1,2]\n", MV_MODEL_SET), "",
	    "valid: set keeps 1 and the info 2");
	IS(dur2(add, "o 1 read t [2]\n", MV_MODEL_SET), "lost-after-crash",
	    "lost-after-crash: set");
	IS(dur2(add, "o 1 read t [1]\n", MV_MODEL_SET), "unstable-info",
	    "unstable-info: set loses the info add seen after recovery");
	IS(dur("i 0 write r 1\no 0 write r 1\ni 1 read r\no 1 read r null\n",
	       MV_MODEL_REGISTER),
	    "", "no crash: left to the linearizability check");
}

static void
malformed(void)
{
	IS(es("i 0 append s [1]\no 0 append s\n", 0), "error",
	    "an append that is not {events, expect} is an error");
	IS(es("i 0 write s 1\no 0 write s\n", 0), "error",
	    "an operation of another model is an error");
}

int
main(void)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/mv-test-estore.XXXXXX");
	if ((fd = mkstemp(path)) < 0)
		return 2;
	close(fd);
	identity();
	batches();
	phantoms();
	lost();
	concurrency();
	positions();
	reads();
	subscriptions();
	crashes();
	durable();
	malformed();
	unlink(path);
	return TAP_DONE();
}
