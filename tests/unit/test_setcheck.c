/*
 * test_setcheck.c: the set, counter, bank and unique-ids checks of
 * --check on small hand-written histories, one valid and one violating
 * for each anomaly.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "tap.h"
#include "xtest.h"

static struct mv_buf hb;

/* Starts a history. */
static void
H(void)
{
	mv_buf_reset(&hb);
}

/* One event: TYPE PROC F [VALUE], on key "k". */
static void
E(const char *type, int p, const char *f, const char *v)
{
	mv_buf_addf(
	    &hb, "{\"type\":\"%s\",\"process\":%d,\"f\":\"%s\"", type, p, f);
	mv_buf_adds(&hb, ",\"key\":\"k\"");
	if (v)
		mv_buf_addf(&hb, ",\"value\":%s", v);
	mv_buf_adds(&hb, "}\n");
}

/* A whole op: invocation then completion of TYPE, by process p. */
static void
OP(const char *type, int p, const char *f, const char *in, const char *out)
{
	E("invoke", p, f, in);
	E(type, p, f, out);
}

static int
run(const char *check, const char *want, const char *member)
{
	char an[48], json[4096];
	int st = xrun(check, NULL, hb.p, an, json, sizeof(json));

	if (want == NULL)
		return st == MV_EXIT_OK && an[0] == '\0';
	if (member && strstr(json, member) == NULL) {
		printf("# %s\n", json);
		return 0;
	}
	if (st != MV_EXIT_INVALID || strcmp(an, want) != 0)
		printf("# status %d anomaly %s: %s\n", st, an, json);
	return st == MV_EXIT_INVALID && strcmp(an, want) == 0;
}

static void
set_tests(void)
{
	H();
	OP("ok", 0, "add", "1", NULL);
	OP("ok", 1, "add", "2", NULL);
	OP("ok", 0, "read", NULL, "[2,1]");
	OK(run("set", NULL, NULL), "set: reads show every add");

	H();
	OP("ok", 0, "add", "1", NULL);
	OP("ok", 1, "read", NULL, "[]");
	OP("ok", 1, "read", NULL, "[]");
	OK(run("set", "lost", "\"lost\":1"), "set: lost add");

	H();
	OP("ok", 0, "add", "1", NULL);
	OP("ok", 1, "read", NULL, "[1]");
	OP("ok", 1, "read", NULL, "[]");
	OK(run("set", "lost", "\"lost\":[{\"key\":\"k\",\"value\":1}]"),
	    "set: seen, then gone for good");

	H();
	OP("ok", 0, "add", "1", NULL);
	OP("ok", 1, "read", NULL, "[]");
	OP("ok", 1, "read", NULL, "[1]");
	OK(run("set", "stale", "\"stale\":1"), "set: stale read");

	H();
	E("invoke", 0, "add", "1");
	OP("ok", 1, "read", NULL, "[]");
	E("ok", 0, "add", "1");
	OP("ok", 1, "read", NULL, "[1]");
	OK(run("set", NULL, NULL), "set: a read concurrent with the add");

	H();
	OP("ok", 0, "add", "1", NULL);
	OP("ok", 1, "read", NULL, "[1,7]");
	OK(run("set", "unexpected",
	       "\"unexpected\":[{\"key\":\"k\",\"value\":7}]"),
	    "set: unexpected element");

	H();
	OP("fail", 0, "add", "3", NULL);
	OP("ok", 1, "read", NULL, "[3]");
	OK(run("set", "unexpected", NULL), "set: element of a failed add");

	H();
	OP("ok", 0, "add", "1", NULL);
	OP("ok", 1, "read", NULL, "[1,1]");
	OK(run("set", "duplicated", "\"duplicated\":1"),
	    "set: duplicated element");

	H();
	OP("info", 0, "add", "1", NULL);
	OP("ok", 1, "read", NULL, "[]");
	OK(run("set", NULL, NULL), "set: an info add may never happen");

	H();
	OP("info", 0, "add", "1", NULL);
	OP("ok", 1, "read", NULL, "[1]");
	OP("ok", 1, "read", NULL, "[]");
	OK(run("set", "lost", NULL), "set: an info add seen, then lost");

	H();
	OP("ok", 0, "add", "1", NULL);
	OK(run("set", NULL, "\"never-read\":1"), "set: never read");

	H();
	OP("ok", 0, "read", NULL, "{}");
	OK(xrun("set", NULL, hb.p, (char[48]){0}, NULL, 0) == MV_EXIT_TROUBLE,
	    "set: a read that is not an array is trouble");
}

static void
counter_tests(void)
{
	H();
	OP("ok", 0, "add", "1", NULL);
	E("invoke", 1, "add", "2");
	OP("ok", 2, "read", NULL, "1");
	OP("ok", 2, "read", NULL, "3");
	E("ok", 1, "add", "2");
	OP("ok", 2, "read", NULL, "3");
	OK(run("counter", NULL, NULL), "counter: reads within bounds");

	H();
	OP("ok", 0, "add", "2", NULL);
	OP("ok", 1, "read", NULL, "1");
	OK(run("counter", "counter-out-of-bounds", "\"out-of-bounds\":1"),
	    "counter: read below the acknowledged adds");

	H();
	OP("ok", 0, "add", "2", NULL);
	OP("ok", 1, "read", NULL, "5");
	OK(run("counter", "counter-out-of-bounds", NULL),
	    "counter: read above every add begun");

	H();
	OP("info", 0, "add", "-3", NULL);
	OP("ok", 1, "read", NULL, "-3");
	OP("ok", 1, "read", NULL, "0");
	OK(run("counter", NULL, NULL), "counter: an info add, negative");

	H();
	OP("fail", 0, "add", "4", NULL);
	OP("ok", 1, "read", NULL, "4");
	OK(run("counter", "counter-out-of-bounds", NULL),
	    "counter: a failed add never counts");
}

static void
bank_tests(void)
{
	struct mv_check_opts o;
	char an[48];

	memset(&o, 0, sizeof(o));
	o.has_bank_total = 1;
	o.bank_total = 100;
	H();
	OP("ok", 0, "transfer", "{\"from\":\"a\",\"to\":\"b\",\"amount\":10}",
	    NULL);
	OP("ok", 1, "read", NULL, "{\"a\":40,\"b\":60}");
	OK(xrun("bank", &o, hb.p, an, NULL, 0) == MV_EXIT_OK,
	    "bank: total kept");

	H();
	OP("ok", 1, "read", NULL, "{\"a\":40,\"b\":50}");
	OK(xrun("bank", &o, hb.p, an, NULL, 0) == MV_EXIT_INVALID
	        && strcmp(an, "wrong-total") == 0,
	    "bank: wrong total");

	H();
	OP("ok", 1, "read", NULL, "{\"a\":-10,\"b\":110}");
	OK(xrun("bank", &o, hb.p, an, NULL, 0) == MV_EXIT_INVALID
	        && strcmp(an, "negative-balance") == 0,
	    "bank: negative balance");

	H();
	mv_buf_adds(&hb, "{\"type\":\"meta\",\"bank\":{\"total\":90}}\n");
	OP("ok", 1, "read", NULL, "{\"a\":40,\"b\":50}");
	OK(run("bank", NULL, "\"total-from\":\"meta\""),
	    "bank: total from the meta line");

	H();
	OP("ok", 0, "transfer", "{\"from\":\"a\"}", NULL);
	OK(xrun("bank", &o, hb.p, an, NULL, 0) == MV_EXIT_TROUBLE,
	    "bank: a malformed transfer is trouble");
}

static void
ids_tests(void)
{
	H();
	OP("ok", 0, "generate", NULL, "1");
	OP("ok", 1, "generate", NULL, "2");
	OP("info", 1, "generate", NULL, NULL);
	OK(run("unique-ids", NULL, "\"acknowledged\":2"), "ids: all unique");

	H();
	OP("ok", 0, "generate", NULL, "\"a\"");
	OP("ok", 1, "generate", NULL, "\"b\"");
	OP("ok", 0, "generate", NULL, "\"\\u0061\"");
	OK(run("unique-ids", "duplicate-id", "\"duplicated\":1"),
	    "ids: one id twice (however spelled)");
}

int
main(void)
{
	mv_buf_init(&hb);
	set_tests();
	counter_tests();
	bank_tests();
	ids_tests();
	mv_buf_release(&hb);
	return TAP_DONE();
}
