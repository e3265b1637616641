/*
 * test_edn.c: the Jepsen EDN importer: value mapping, op framing, line
 * numbers in errors, format detection, loading through mv_history_load,
 * and random truncations and corruptions that must end in an error or a
 * history, never a crash or a hang.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edn.h"
#include "history.h"
#include "tap.h"

/* Converts text; returns the JSON lines or "ERR msg" (static buffer). */
static const char *
conv(const char *text)
{
	static char res[4096];
	struct mv_buf out = MV_BUF_INIT;
	struct mv_err e;
	size_t *lines, n;

	if (mv_edn_convert(text, strlen(text), "h.edn", &out, &lines, &n, &e)
	    < 0)
		snprintf(res, sizeof(res), "ERR %s", e.msg);
	else
		snprintf(res, sizeof(res), "%s", out.p ? out.p : "");
	free(lines);
	mv_buf_release(&out);
	return res;
}

static void
same(const char *text, const char *want, const char *name)
{
	const char *got = conv(text);

	OK(strcmp(got, want) == 0, name);
	if (strcmp(got, want) != 0)
		printf("# got:  %s\n# want: %s\n", got, want);
}

static void
mapping(void)
{
	same("[{:type :invoke, :process 0, :f :read, :value nil}]",
	    "{\"index\":0,\"type\":\"invoke\",\"process\":0,\"f\":\"read\","
	    "\"value\":null}\n",
	    "vector of maps; keywords become strings; index added");
	same("({:a 1} {:b 2})",
	    "{\"index\":0,\"a\":1}\n{\"index\":1,\"b\":2}\n", "a list");
	same("{:a 1}\n{:b 2} {:c 3}",
	    "{\"index\":0,\"a\":1}\n{\"index\":1,\"b\":2}\n"
	    "{\"index\":2,\"c\":3}\n",
	    "bare maps, several per line");
	same("{:index 7 :a 1}", "{\"index\":7,\"a\":1}\n",
	    "an op's own index is kept");
	same("{:v [true false nil -0 +3 9223372036854775807 "
	     "-9223372036854775808]}",
	    "{\"index\":0,\"v\":[true,false,null,0,3,9223372036854775807,"
	    "-9223372036854775808]}\n",
	    "literals and exact 64-bit integers");
	same("{:v [1.5 1. -2.5e3 1E+2 7M 8N]}",
	    "{\"index\":0,\"v\":[1.5,1.0,-2.5e3,1e+2,7,8]}\n",
	    "floats become JSON numbers");
	same("{:v \"a\\\"b\\\\c\\n\\u00e9\"}",
	    "{\"index\":0,\"v\":\"a\\\"b\\\\c\\n\\u00e9\"}\n",
	    "string escapes");
	same("{:v \"two\nlines\"}", "{\"index\":0,\"v\":\"two\\nlines\"}\n",
	    "a raw newline in a string");
	same("{:v [\\a \\newline \\u0041 \\(]}",
	    "{\"index\":0,\"v\":[\"a\",\"\\n\",\"\\u0041\",\"(\"]}\n",
	    "characters");
	same("{:v #{3 1 2 1} :w #{}}", "{\"index\":0,\"v\":[1,2,3],\"w\":[]}\n",
	    "sets sorted and deduplicated");
	same("{:v {1 2, :k/ns [:a], \"s\" x}}",
	    "{\"index\":0,\"v\":{\"1\":2,\"k/ns\":[\"a\"],\"s\":\"x\"}}\n",
	    "nested map keys become strings");
	same("#jepsen.history.Op{:a #inst \"2020\" :b #_ 5 6 :c ##Inf}",
	    "{\"index\":0,\"a\":\"2020\",\"b\":6,\"c\":\"##Inf\"}\n",
	    "tags dropped, #_ discards");
	same("; only\n; comments\n", "", "comments only: no ops");
	same("[]", "", "an empty vector");
	same("{:v [[:read :x nil] [:write :y 2]]}",
	    "{\"index\":0,\"v\":[[\"read\",\"x\",null],[\"write\",\"y\",2]]}\n",
	    "a transaction");
}

static void
bad(const char *text, const char *want, const char *name)
{
	const char *got = conv(text);

	OK(strncmp(got, "ERR ", 4) == 0 && strstr(got, want) != NULL, name);
	if (strncmp(got, "ERR ", 4) != 0 || strstr(got, want) == NULL)
		printf("# got: %s\n# want: %s\n", got, want);
}

static void
errors(void)
{
	bad("[{:a 1}\n{:b 2}\n",
	    "h.edn:3: end of input inside the vector "
	    "begun at line 1",
	    "unclosed vector");
	bad("{:a 1}\n{:b \"x\n\ny}",
	    "h.edn:4: end of input inside the string "
	    "begun at line 2",
	    "unclosed string");
	bad("{:a 1}\n{:b}", "h.edn:2: map key without a value", "odd map");
	bad("{:a 1}\n\n5", "h.edn:3: an operation is not a map", "not a map");
	bad("[{:a 1}] {:b 2}", "text after the end", "text after the vector");
	bad("{:a 99999999999999999999}", "h.edn:1: integer out of the 64-bit",
	    "integer overflow");
	bad("{:a 1/2}", "invalid number", "ratio");
	bad("{:a 01}", "leading zero", "leading zero");
	bad("{:a \"\\q\"}", "invalid escape", "bad escape");
	bad("{:a [1 2}", "unexpected '}'", "mismatched bracket");
	bad("{:a \\}", "end of input", "backslash at the end");
	bad("{:a #?(:clj 1)}", "unsupported '#' form", "reader conditional");
	bad("{::a 1}", "'::' keywords", "auto-resolved keyword");
}

static void
deep(void)
{
	char *s = malloc(100000);
	size_t i;

	s[0] = '{';
	s[1] = ':';
	s[2] = 'a';
	for (i = 3; i < 99990; i++)
		s[i] = '[';
	s[i] = '\0';
	OK(strstr(conv(s), "nested more than") != NULL,
	    "deep nesting refused, not a stack overflow");
	for (i = 0; i < 99990; i++)
		s[i] = i % 2 ? '_' : '#';
	s[i] = '\0';
	OK(strstr(conv(s), "nested more than") != NULL,
	    "a chain of #_ refused too");
	free(s);
}

static void
sniff(void)
{
	OK(mv_edn_sniff("  [{:a", 6, 0) == 1, "sniff: vector");
	OK(mv_edn_sniff("(", 1, 0) == 1, "sniff: list");
	OK(mv_edn_sniff("\n{ :type", 8, 0) == 1, "sniff: bare map");
	OK(mv_edn_sniff("; c", 3, 0) == 1, "sniff: comment");
	OK(mv_edn_sniff("{\"type\"", 7, 0) == 0, "sniff: JSON");
	OK(mv_edn_sniff("  ", 2, 0) == -1, "sniff: undecided");
	OK(mv_edn_sniff("  ", 2, 1) == 0, "sniff: blank input is JSON");
	OK(mv_edn_sniff("{ ", 2, 0) == -1, "sniff: '{' alone undecided");
}

/* Loads text through mv_history_load from a temporary file. */
static int
load(const char *text, unsigned flags, struct mv_history *h, struct mv_err *e)
{
	char path[] = "/tmp/test_edn.XXXXXX";
	int fd = mkstemp(path), rc;
	FILE *f = fdopen(fd, "w");

	fputs(text, f);
	fclose(f);
	rc = mv_history_load(path, flags, h, e);
	if (rc == 0)
		strcpy(e->msg, path);
	unlink(path);
	return rc;
}

static void
loading(void)
{
	struct mv_history h;
	struct mv_err e;
	int rc;

	rc = load("; Knossos style\n[{:process 0, :type :invoke, :f :write, "
	          ":value 1}\n {:process 0, :type :ok, :f :write, :value 1}\n"
	          " {:process :nemesis, :type :info, :f :start}]\n",
	    0, &h, &e);
	OK(rc == 0 && h.n == 3, "EDN loads through mv_history_load");
	if (rc == 0) {
		OK(h.ev[0].line == 2 && h.ev[1].line == 3 && h.ev[2].line == 4,
		    "events carry EDN line numbers");
		OK(h.ev[0].type == MV_INVOKE && h.ev[1].type == MV_OK
		        && strcmp(h.ev[1].value, "1") == 0
		        && h.ev[2].process == MV_NEMESIS,
		    "type, value and the nemesis process map over");
		mv_history_release(&h);
	}
	rc = load("{:process 0 :type :invoke :f :read}\n\n"
	          "{:process 0 :type :invoke :f :read}\n",
	    0, &h, &e);
	OK(rc < 0
	        && strstr(e.msg,
	            ":3: process 0 invokes while its op at "
	            "line 1 is still open"),
	    "the reader's pairing check names EDN lines");
	rc = load("{:process 0 :type :invoke :f :read}", MV_RD_JSON, &h, &e);
	OK(rc < 0 && strstr(e.msg, "invalid JSON"), "MV_RD_JSON forces JSON");
	rc = load("{\"type\":\"invoke\",\"process\":0,\"f\":\"read\"}\n"
	          "{\"type\":\"ok\",\"process\":0,\"f\":\"read\"}\n",
	    0, &h, &e);
	OK(rc == 0 && h.n == 2 && h.ev[1].line == 2,
	    "JSON lines still load, sniffed bytes included");
	if (rc == 0)
		mv_history_release(&h);
	rc = load("; only a comment\n[]\n", 0, &h, &e);
	OK(rc == 0 && h.n == 0, "an empty EDN history is an empty history");
	if (rc == 0)
		mv_history_release(&h);
	rc = load("{\"type\":\"invoke\"}", MV_RD_EDN, &h, &e);
	OK(rc < 0 && strstr(e.msg, ":1: "), "MV_RD_EDN forces EDN");
}

/* Random truncations and byte flips of a valid history. */
static void
fuzz(void)
{
	static const char base[] =
	    "; c\n[{:process 0, :type :invoke, :f :txn, :value [[:read :x nil] "
	    "[:write :y 2]], :time 5}\n {:process 0 :type :ok :f :txn :value "
	    "[[:read :x 0] [:write :y 2]] :s \"a\\\"b\" :t #{1 2} :c \\x "
	    ":m {1 2} #_ 3 :f 1.5e3}\n #x{:process :nemesis :type :info}]\n";
	static const char junk[] = "[](){}#_;:\\\"\n ,0-+.eMN/x{";
	struct mv_rng rng;
	char buf[sizeof(base)];
	int i, ok = 0, err = 0;

	mv_rng_seed(&rng, 7);
	for (i = 0; i < 20000; i++) {
		size_t n = (size_t)mv_rng_below(&rng, sizeof(base));
		int k, flips = (int)mv_rng_below(&rng, 4);
		const char *r;

		memcpy(buf, base, n);
		buf[n] = '\0';
		for (k = 0; k < flips && n > 0; k++)
			buf[mv_rng_below(&rng, n)] =
			    junk[mv_rng_below(&rng, sizeof(junk) - 1)];
		r = conv(buf);
		if (strncmp(r, "ERR h.edn:", 10) == 0)
			err++;
		else if (strncmp(r, "ERR", 3) != 0)
			ok++;
	}
	printf("# fuzz: %d converted, %d errors\n", ok, err);
	OK(ok + err == 20000 && ok > 0 && err > 0,
	    "20000 mangled inputs: each converts or fails with FILE:LINE");
}

int
main(void)
{
	mapping();
	errors();
	deep();
	sniff();
	loading();
	fuzz();
	return TAP_DONE();
}
