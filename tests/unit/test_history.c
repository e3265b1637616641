/* test_history.c: the strict JSON layer and the history reader/writer. */
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "json.h"
#include "tap.h"

/* Reads text as a history; returns the reader's final status. */
static int
read_all(const char *text, unsigned flags, struct mv_err *e, size_t *count)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	struct mv_reader *r = mv_reader_new(f, "t.jsonl", flags);
	struct mv_event ev;
	int rc;

	*count = 0;
	e->msg[0] = '\0';
	mv_event_init(&ev);
	while ((rc = mv_reader_next(r, &ev, e)) > 0)
		(*count)++;
	mv_event_release(&ev);
	mv_reader_free(r);
	fclose(f);
	return rc;
}

static void
bad(const char *text, const char *want, const char *name)
{
	struct mv_err e;
	size_t n;
	int rc = read_all(text, 0, &e, &n);

	OK(rc < 0 && strstr(e.msg, want) != NULL, name);
	if (rc >= 0 || strstr(e.msg, want) == NULL)
		printf("# got rc=%d msg=%s\n", rc, e.msg);
}

static void
json_cases(void)
{
	static const char *good[] = {"{}", "[]", "0", "-1.5e+3", "\"\\u00e9\"",
	    "{\"a\":[1,2,{\"b\":null}]}", "\"\\ud83d\\ude00\"", " true ",
	    "\"h\\u00e9llo \\\"q\\\"\""};
	static const char *badj[] = {"{\"a\":1,}", "[1 2]", "{\"a\" 1}", "01",
	    "1.", "tru", "\"\\x\"", "\"\\ud800\"", "{1:2}", "[1]]", "\"a\tb\"",
	    "{\"a\":1}{}", "[", "\"\xc3\x28\"", "-", "1e", "\"\\udc00\"", "nul",
	    "[,1]", "{,}"};
	struct mv_err e;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct mv_jv *v = mv_jv_parse(good[i], strlen(good[i]), &e);
		OK(v != NULL, good[i]);
		mv_jv_free(v);
	}
	for (i = 0; i < sizeof(badj) / sizeof(badj[0]); i++) {
		struct mv_jv *v = mv_jv_parse(badj[i], strlen(badj[i]), &e);
		OK(v == NULL, badj[i]);
		mv_jv_free(v);
	}
}

static void
roundtrip(void)
{
	const char *line = "{\"index\":0,\"type\":\"invoke\",\"process\":3,"
	                   "\"f\":\"write\",\"key\":\"r0\",\"value\":[1,"
	                   "{\"a\":\"b\"}],\"time\":5,\"ovc\":{\"ctl\":5,"
	                   "\"obs\":7,\"src\":\"exec\",\"vc\":{\"p3\":1},"
	                   "\"lo\":4,\"hi\":6},\"zz\":true}\n";
	FILE *f = fmemopen((void *)line, strlen(line), "r");
	struct mv_reader *r = mv_reader_new(f, "x", 0);
	struct mv_event ev;
	struct mv_buf b = MV_BUF_INIT;
	struct mv_err e;

	mv_event_init(&ev);
	OK(mv_reader_next(r, &ev, &e) == 1, "roundtrip reads");
	OK(ev.process == 3 && strcmp(ev.f, "write") == 0 && ev.ovc.present
	        && ev.ovc.lo == 4 && ev.extra != NULL,
	    "roundtrip fields");
	mv_event_write(&b, &ev);
	OK(strcmp(b.p, line) == 0, "roundtrip is byte-identical");
	OK(mv_reader_next(r, &ev, &e) == 0, "roundtrip eof");
	mv_buf_release(&b);
	mv_event_release(&ev);
	mv_reader_free(r);
	fclose(f);
}

int
main(void)
{
	struct mv_err e;
	size_t n;

	json_cases();
	roundtrip();
	OK(read_all("{\"type\":\"invoke\",\"process\":0,\"f\":\"read\"}\n"
	            "{\"type\":\"ok\",\"process\":0,\"f\":\"read\","
	            "\"value\":null}",
	       0, &e,
	       &n) == 0
	        && n == 2,
	    "last line without newline");
	bad("{\"type\":\"ok\",\"process\":0,\"f\":\"read\"}\n",
	    "t.jsonl:1: ok by process 0 without an invocation", "orphan");
	OK(read_all("{\"type\":\"invoke\",\"process\":0,\"f\":\"read\","
	            "\"ovc\":{\"ctl\":1,\"obs\":2,\"src\":\"etcd-n1.a:2379\","
	            "\"lo\":1,\"hi\":1}}\n",
	       0, &e, &n)
	        == 0,
	    "ovc.src may name a node");
	bad("{\"type\":\"invoke\",\"process\":0,\"f\":\"read\","
	    "\"ovc\":{\"ctl\":1,\"obs\":2,\"src\":\"a b\",\"lo\":1,"
	    "\"hi\":1}}\n",
	    "t.jsonl:1: \"ovc.src\" is not \"exec\" or a node name",
	    "ovc.src with a space");
	bad("{\"type\":\"invoke\",\"process\":0,\"f\":\"read\","
	    "\"ovc\":{\"ctl\":1,\"obs\":2,\"src\":7,\"lo\":1,\"hi\":1}}\n",
	    "t.jsonl:1: \"ovc.src\" is not \"exec\" or a node name",
	    "ovc.src not a string");
	bad("{\"type\":\"invoke\",\"process\":0,\"f\":\"read\"}\n"
	    "{\"type\":\"invoke\",\"process\":0,\"f\":\"read\"}\n",
	    "t.jsonl:2: process 0 invokes while its op at line 1", "double");
	bad("{\"type\":\"invoke\",\"process\":0,\"f\":\"read\"}\n"
	    "{\"type\":\"info\",\"process\":0,\"f\":\"read\"}\n"
	    "{\"type\":\"invoke\",\"process\":0,\"f\":\"read\"}\n",
	    "t.jsonl:3: process 0 invokes after its op at line 2 ended info",
	    "invoke after info");
	bad("{\"index\":0,\"type\":\"invoke\",\"process\":0,\"f\":\"r\"}\n"
	    "{\"index\":2,\"type\":\"ok\",\"process\":0,\"f\":\"r\"}\n",
	    "t.jsonl:2: \"index\" 2 does not follow 0", "index gap");
	bad("{\"type\":5,\"process\":0,\"f\":\"r\"}\n",
	    "t.jsonl:1: \"type\" is not a string", "type type");
	bad("{\"type\":\"ok\",\"process\":-1,\"f\":\"r\"}\n",
	    "\"process\" is not a non-negative integer", "negative process");
	bad("{\"type\":\"invoke\",\"process\":0,\"f\":\"r\"\n",
	    "t.jsonl:1: invalid JSON: truncated", "truncated");
	bad("{\"type\":\"invoke\",\"process\":0,\"f\":\"\xff\"}\n",
	    "t.jsonl:1: invalid JSON: invalid UTF-8 in string", "utf8");
	bad("[1]\n", "record is not a JSON object", "not object");
	bad("\n", "t.jsonl:1: invalid JSON", "empty line");
	bad("{\"type\":\"invoke\",\"type\":\"ok\"}\n", "duplicate member",
	    "duplicate member");
	bad("{\"type\":\"op\",\"f\":\"r\"}\n", "\"op\" record in a history",
	    "op in history");
	bad("{\"type\":\"invoke\",\"process\":0,\"f\":\"r\"}\n"
	    "{\"type\":\"ok\",\"process\":0,\"f\":\"w\"}\n",
	    "\"f\" differs", "f mismatch");
	OK(read_all("{\"type\":\"info\",\"process\":\"nemesis\",\"f\":"
	            "\"pause\"}\n",
	       0, &e, &n)
	        == 0,
	    "nemesis needs no invoke");
	return TAP_DONE();
}
