/* test_cluster.c: cluster descriptions: defaults, placeholders, errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster.h"
#include "tap.h"

static char path[256];

/* Writes text to a scratch file and loads it. */
static struct mv_cluster *
load(const char *text, struct mv_err *e)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return NULL;
	fputs(text, f);
	fclose(f);
	return mv_cluster_load(path, e);
}

/* 1 if loading text fails with the message path + ": " + want. */
static int
fails(const char *text, const char *want)
{
	struct mv_cluster *c;
	struct mv_err e;
	char full[600];

	if ((c = load(text, &e)) != NULL) {
		mv_cluster_free(c);
		return 0;
	}
	snprintf(full, sizeof(full), "%s: %s", path, want);
	if (strcmp(e.msg, full) != 0)
		printf("# got: %s\n", e.msg);
	return strcmp(e.msg, full) == 0;
}

/* 1 if word w of node nd's start command expands to want. */
static int
word(struct mv_cluster *c, size_t nd, size_t w, const char *want)
{
	struct mv_err e;
	char **argv;
	int ok;

	if (mv_cluster_argv(c, &c->nodes[nd], c->start, &argv, &e) < 0)
		return 0;
	ok = strcmp(argv[w], want) == 0;
	if (!ok)
		printf("# got: %s\n", argv[w]);
	mv_cluster_argv_free(argv);
	return ok;
}

int
main(void)
{
	struct mv_buf b = MV_BUF_INIT;
	struct mv_cluster *c, *c2;
	struct mv_err e;
	char **argv;

	snprintf(path, sizeof(path), "%s/mv-test-cluster.%ld.json",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (long)getpid());
	c = load("{\"peer\":\"{node}=http://{addr}:2380\","
	         "\"start\":[\"srv\",\"{peers}\",\"{addr:b}\",\"{{x}}\","
	         "\"{node}-{i}\",\"{client}\"],"
	         "\"nodes\":[{\"name\":\"a\"},{\"name\":\"b\"},"
	         "{\"name\":\"c\",\"addr\":\"10.77.0.9\"}]}",
	    &e);
	OK(c != NULL, "load");
	if (c == NULL) {
		printf("# %s\n", e.msg);
		return TAP_DONE();
	}
	OK(strcmp(c->nodes[1].addr, "10.77.0.2") == 0, "default address");
	OK(strcmp(c->nodes[2].addr, "10.77.0.9") == 0, "given address");
	OK(strcmp(c->client.addr, "10.77.0.254") == 0, "client address");
	OK(word(c, 0, 1,
	       "a=http://10.77.0.1:2380,b=http://10.77.0.2:2380,"
	       "c=http://10.77.0.9:2380"),
	    "{peers}");
	OK(word(c, 0, 2, "10.77.0.2"), "{addr:NAME}");
	OK(word(c, 0, 3, "{x}"), "braces");
	OK(word(c, 2, 4, "c-3"), "{node} and {i}");
	OK(word(c, 1, 5, "10.77.0.254"), "{client}");
	/* A string command goes through the shell. */
	c->start = mv_jv_get(c->doc, "peer");
	OK(mv_cluster_argv(c, &c->nodes[0], c->start, &argv, &e) == 0
	        && strcmp(argv[0], "/bin/sh") == 0
	        && strcmp(argv[2], "a=http://10.77.0.1:2380") == 0
	        && argv[3] == NULL,
	    "string command");
	mv_cluster_argv_free(argv);
	c->start = mv_jv_get(c->doc, "start");
	/* The state reads back as what was written. */
	c->run_id = mv_xstrdup("abc123");
	c->switch_ns = mv_xstrdup("mvabc123-sw");
	c->bridge = mv_xstrdup("br0");
	c->run_dir = mv_xstrdup("/tmp/mvabc123");
	c->undo_log = mv_xstrdup("/tmp/mvabc123.undo");
	c->state = mv_xstrdup(path);
	c->nodes[0].pid = 4242;
	c->nodes[0].pid_start = 77;
	c->nodes[0].netns = mv_xstrdup("mvabc123-a");
	OK(mv_cluster_save(c, &e) == 0, "save");
	c2 = mv_cluster_load(path, &e);
	OK(c2 != NULL && strcmp(c2->run_id, "abc123") == 0
	        && c2->nodes[0].pid == 4242 && c2->nodes[0].pid_start == 77
	        && strcmp(c2->nodes[0].netns, "mvabc123-a") == 0
	        && strcmp(c2->nodes[2].addr, "10.77.0.9") == 0,
	    "state round trip");
	if (c2) {
		mv_cluster_write(c, &b);
		mv_buf_addc(&b, '|');
		mv_cluster_write(c2, &b);
		OK(strncmp(b.p, strchr(b.p, '|') + 1, strchr(b.p, '|') - b.p)
		        == 0,
		    "written twice the same");
	}
	mv_buf_release(&b);
	mv_cluster_free(c2);
	mv_cluster_free(c);
	OK(fails("{\"nodes\":[],\"start\":[\"x\"]}",
	       "nodes: not an array of 1 to 32 nodes"),
	    "no nodes");
	OK(fails("{\"nodes\":[{\"name\":\"a-very-long-name\"}],\"start\":["
	         "\"x\"]}",
	       "nodes[0]: name: not 1 to 12 of [A-Za-z0-9_-] (no leading '-')"),
	    "long name");
	OK(fails("{\"nodes\":[{\"name\":\"a\"}]}",
	       "nodes[0]: no \"start\" command (here or at the top)"),
	    "no start");
	OK(fails("{\"nodes\":[{\"name\":\"a\"}],\"start\":[]}",
	       "start: not a command (an array of strings, or a string)"),
	    "empty start");
	OK(fails("{\"nodes\":[{\"name\":\"a\"}],\"start\":[\"{addr:z}\"]}",
	       "nodes[0]: {addr:z}: no such node"),
	    "unknown node");
	OK(fails("{\"nodes\":[{\"name\":\"a\"}],\"start\":[\"{node\"]}",
	       "nodes[0]: unmatched '{' (write '{{')"),
	    "unmatched brace");
	OK(fails("{\"subnet\":\"10.0.0.0/31\",\"nodes\":[{\"name\":\"a\"}],"
	         "\"start\":[\"x\"]}",
	       "subnet: not an IPv4 ADDRESS/PREFIX with a prefix of 8 to 30"),
	    "subnet prefix");
	OK(fails("{\"nodes\":[{\"name\":\"a\",\"addr\":\"10.77.0.254\"}],"
	         "\"start\":[\"x\"]}",
	       "client: addr: a node's address"),
	    "client clash");
	OK(fails("{\"nodes\":[{\"name\":\"a\",\"pid\":-1}],\"start\":[\"x\"]}",
	       "nodes[0].pid: not a non-negative integer"),
	    "negative pid");
	OK(fails("{\"nodes\":[{\"name\":\"a\"}],\"start\":[\"x\"],"
	         "\"run\":{\"id\":\"x\"}}",
	       "run: needs id, switch, bridge, dir, undo_log and state"),
	    "partial run");
	OK(fails("[1]", "(top): not an object"), "not an object");
	/* Clock methods: the top's, a node's own, relative to its dir. */
	c = load("{\"start\":\"x\",\"clock\":{\"file\":\"{dir}/c-{node}\"},"
	         "\"nodes\":[{\"name\":\"a\",\"dir\":\"/d/a\"},"
	         "{\"name\":\"b\",\"dir\":\"/d/b\","
	         "\"clock\":{\"faketime\":\"ft\"}}]}",
	    &e);
	OK(c && mv_cluster_clock(c, &c->nodes[0], &b, &e) == MV_CCLOCK_SHIM
	        && strcmp(b.p, "/d/a/c-a") == 0,
	    "clock file");
	mv_buf_reset(&b);
	OK(c && mv_cluster_clock(c, &c->nodes[1], &b, &e) == MV_CCLOCK_FAKETIME
	        && strcmp(b.p, "/d/b/ft") == 0,
	    "a node's own clock, relative");
	mv_buf_release(&b);
	if (c)
		c->clock = NULL;
	OK(c && mv_cluster_clock(c, &c->nodes[0], &b, &e) == MV_CCLOCK_NONE
	        && b.len == 0,
	    "no clock");
	mv_cluster_free(c);
	OK(fails("{\"nodes\":[{\"name\":\"a\",\"clock\":{\"file\":\"\"}}],"
	         "\"start\":[\"x\"]}",
	       "nodes[0].clock: not a non-empty file name"),
	    "empty clock file");
	unlink(path);
	return TAP_DONE();
}
