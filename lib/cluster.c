/*
 * cluster.c: the cluster description and state file (mv-cluster(5)):
 * strict reading, defaults, placeholders, and writing the state back.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster.h"

/* Reads the whole of path into a buffer; -1 with e filled. */
static int
slurp(const char *path, struct mv_buf *b, struct mv_err *e)
{
	char chunk[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return mv_err_set(e, "%s: %s", path, strerror(errno));
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || b->len > ((size_t)16 << 20)) {
			mv_err_set(e, "%s: %s", path,
			    n < 0 ? strerror(errno) : "file too large");
			close(fd);
			return -1;
		}
		mv_buf_add(b, chunk, (size_t)n);
	}
	close(fd);
	return 0;
}

/* The checks of one load: the file name for messages. */
struct ld {
	const char *path;
	struct mv_err *e;
};

static int
bad(struct ld *l, const char *where, const char *what)
{
	return mv_err_set(l->e, "%s: %s: %s", l->path, where, what);
}

/* 1 if every member of obj is one of the NULL-terminated names. */
static int
members_ok(struct ld *l, const struct mv_jv *obj, const char *where,
    const char *const *names)
{
	char msg[128];
	size_t i, j;

	for (i = 0; i < obj->len; i++) {
		for (j = 0; names[j]; j++)
			if (strcmp(obj->keys[i], names[j]) == 0)
				break;
		if (names[j] == NULL) {
			snprintf(msg, sizeof(msg), "unknown member \"%.60s\"",
			    obj->keys[i]);
			bad(l, where, msg);
			return 0;
		}
	}
	return 1;
}

/* A string member into *out (copied), or leaves *out when absent. */
static int
get_str(struct ld *l, const struct mv_jv *obj, const char *key,
    const char *where, char **out)
{
	const struct mv_jv *v = mv_jv_get(obj, key);
	char w[128];

	if (v == NULL)
		return 0;
	snprintf(w, sizeof(w), "%s%s%s", where, *where ? "." : "", key);
	if (v->kind != MV_JSTR || v->len == 0 || strlen(v->s) != v->len)
		return bad(l, w, "not a non-empty string");
	free(*out);
	*out = mv_xstrdup(v->s);
	return 0;
}

/* A command: an array of 1+ strings, or a non-empty string. */
static int
get_cmd(struct ld *l, const struct mv_jv *obj, const char *key,
    const char *where, const struct mv_jv **out)
{
	const struct mv_jv *v = mv_jv_get(obj, key);
	char w[128];
	size_t i;

	if (v == NULL)
		return 0;
	snprintf(w, sizeof(w), "%s%s%s", where, *where ? "." : "", key);
	if (v->kind == MV_JSTR && v->len > 0 && strlen(v->s) == v->len) {
		*out = v;
		return 0;
	}
	if (v->kind != MV_JARR || v->len == 0)
		return bad(
		    l, w, "not a command (an array of strings, or a string)");
	for (i = 0; i < v->len; i++)
		if (v->items[i].kind != MV_JSTR
		    || strlen(v->items[i].s) != v->items[i].len)
			return bad(l, w, "not an array of strings");
	*out = v;
	return 0;
}

static int
name_ok(const char *s, size_t max)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z')
		        || (s[i] >= 'A' && s[i] <= 'Z')
		        || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'
		        || (s[i] == '-' && i > 0)))
			return 0;
	return 1;
}

/* The IPv4 address s as a host-order number; -1 if it is not one. */
static long long
ip4(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -1;
	return (long long)ntohl(a.s_addr);
}

static char *
ip4_str(unsigned long v)
{
	struct in_addr a;
	char s[INET_ADDRSTRLEN];

	a.s_addr = htonl((uint32_t)v);
	inet_ntop(AF_INET, &a, s, sizeof(s));
	return mv_xstrdup(s);
}

static int
parse_subnet(struct ld *l, struct mv_cluster *c, const char *s)
{
	char tmp[64];
	char *slash;
	long long a;
	long long mask;

	snprintf(tmp, sizeof(tmp), "%s", s);
	if ((slash = strchr(tmp, '/')) == NULL)
		return bad(l, "subnet", "not ADDRESS/PREFIX");
	*slash = '\0';
	c->prefix = atoi(slash + 1);
	if (strspn(slash + 1, "0123456789") != strlen(slash + 1)
	    || c->prefix < 8 || c->prefix > 30 || (a = ip4(tmp)) < 0)
		return bad(l, "subnet",
		    "not an IPv4 ADDRESS/PREFIX with a prefix of 8 to 30");
	mask = (0xffffffffLL << (32 - c->prefix)) & 0xffffffffLL;
	free(c->subnet);
	c->subnet = ip4_str((unsigned long)(a & mask));
	return 0;
}

/* Checks or assigns nd's address: host number dflt of the subnet. */
static int
node_addr(struct ld *l, struct mv_cluster *c, struct mv_cnode *nd,
    unsigned long dflt, const char *where)
{
	unsigned long net = (unsigned long)ip4(c->subnet);
	unsigned long size = 1UL << (32 - c->prefix);
	long long a;

	if (nd->addr == NULL) {
		if (dflt == 0 || dflt >= size - 1)
			return bad(l, where, "no room in the subnet");
		nd->addr = ip4_str(net + dflt);
		return 0;
	}
	a = ip4(nd->addr);
	if (a < 0)
		return bad(l, where, "addr: not an IPv4 address");
	if ((unsigned long)a <= net || (unsigned long)a >= net + size - 1)
		return bad(l, where, "addr: not a host address of the subnet");
	return 0;
}

static const char *const node_keys[] = {"name", "addr", "start", "restart",
    "ready", "clock", "netns", "port", "dir", "pid", "pid_start", "cgroup",
    NULL};

/* A clock method: an object with one of "file" and "faketime", a string. */
static int
get_clock(struct ld *l, const struct mv_jv *obj, const char *where,
    const struct mv_jv **out)
{
	static const char *const keys[] = {"file", "faketime", NULL};
	const struct mv_jv *v = mv_jv_get(obj, "clock"), *f;
	char w[128];

	if (v == NULL)
		return 0;
	snprintf(w, sizeof(w), "%s%sclock", where, *where ? "." : "");
	if (v->kind != MV_JOBJ || v->len != 1)
		return bad(l, w,
		    "not an object with one of \"file\" and \"faketime\"");
	if (!members_ok(l, v, w, keys))
		return -1;
	f = &v->items[0];
	if (f->kind != MV_JSTR || f->len == 0 || strlen(f->s) != f->len
	    || strchr(f->s, '\n'))
		return bad(l, w, "not a non-empty file name");
	*out = v;
	return 0;
}

static int
get_int(struct ld *l, const struct mv_jv *obj, const char *key,
    const char *where, long long *out)
{
	const struct mv_jv *v = mv_jv_get(obj, key);
	char w[128];

	if (v == NULL)
		return 0;
	snprintf(w, sizeof(w), "%s.%s", where, key);
	if (v->kind != MV_JINT || v->i < 0)
		return bad(l, w, "not a non-negative integer");
	*out = v->i;
	return 0;
}

static int
load_node(
    struct ld *l, const struct mv_jv *v, struct mv_cnode *nd, const char *where)
{
	long long x = 0;

	if (v->kind != MV_JOBJ)
		return bad(l, where, "not an object");
	if (!members_ok(l, v, where, node_keys))
		return -1;
	if (get_str(l, v, "name", where, &nd->name) < 0
	    || get_str(l, v, "addr", where, &nd->addr) < 0
	    || get_cmd(l, v, "start", where, &nd->start) < 0
	    || get_cmd(l, v, "restart", where, &nd->restart) < 0
	    || get_cmd(l, v, "ready", where, &nd->ready) < 0
	    || get_clock(l, v, where, &nd->clock) < 0
	    || get_str(l, v, "netns", where, &nd->netns) < 0
	    || get_str(l, v, "port", where, &nd->port) < 0
	    || get_str(l, v, "dir", where, &nd->dir) < 0
	    || get_str(l, v, "cgroup", where, &nd->cgroup) < 0
	    || get_int(l, v, "pid", where, &x) < 0)
		return -1;
	nd->pid = (long)x;
	x = 0;
	if (get_int(l, v, "pid_start", where, &x) < 0)
		return -1;
	nd->pid_start = (unsigned long long)x;
	if (nd->name == NULL)
		return bad(l, where, "no \"name\"");
	if (!name_ok(nd->name, MV_CLUSTER_NAME_MAX))
		return bad(l, where,
		    "name: not 1 to 12 of [A-Za-z0-9_-] (no leading '-')");
	return 0;
}

static const char *const run_keys[] = {
    "id", "switch", "bridge", "dir", "undo_log", "state", "cgroup", NULL};

static int
load_run(struct ld *l, struct mv_cluster *c, const struct mv_jv *v)
{
	if (v->kind != MV_JOBJ)
		return bad(l, "run", "not an object");
	if (!members_ok(l, v, "run", run_keys)
	    || get_str(l, v, "id", "run", &c->run_id) < 0
	    || get_str(l, v, "switch", "run", &c->switch_ns) < 0
	    || get_str(l, v, "bridge", "run", &c->bridge) < 0
	    || get_str(l, v, "dir", "run", &c->run_dir) < 0
	    || get_str(l, v, "undo_log", "run", &c->undo_log) < 0
	    || get_str(l, v, "state", "run", &c->state) < 0
	    || get_str(l, v, "cgroup", "run", &c->cgroup) < 0)
		return -1;
	if (!c->run_id || !c->switch_ns || !c->bridge || !c->run_dir
	    || !c->undo_log || !c->state)
		return bad(l, "run",
		    "needs id, switch, bridge, dir, undo_log and state");
	if (!name_ok(c->run_id, MV_CLUSTER_RUNID_MAX))
		return bad(l, "run.id", "not 1 to 12 of [A-Za-z0-9_-]");
	return 0;
}

static const char *const top_keys[] = {"mv_cluster", "subnet", "dir", "peer",
    "ready_timeout", "start", "restart", "ready", "clock", "client", "nodes",
    "run", NULL};

static int
load_top(struct ld *l, struct mv_cluster *c, const struct mv_jv *d)
{
	const struct mv_jv *v;
	char *s = NULL;
	int rc;

	if (d->kind != MV_JOBJ)
		return bad(l, "(top)", "not an object");
	if (!members_ok(l, d, "(top)", top_keys))
		return -1;
	if ((v = mv_jv_get(d, "mv_cluster"))
	    && (v->kind != MV_JINT || v->i != 1))
		return bad(l, "mv_cluster", "not 1 (the only format version)");
	if (get_str(l, d, "subnet", "", &s) < 0)
		return -1;
	rc = parse_subnet(l, c, s ? s : "10.77.0.0/24");
	free(s);
	if (rc < 0 || get_str(l, d, "dir", "", &c->base) < 0
	    || get_str(l, d, "peer", "", &c->peer) < 0
	    || get_cmd(l, d, "start", "", &c->start) < 0
	    || get_cmd(l, d, "restart", "", &c->restart) < 0
	    || get_cmd(l, d, "ready", "", &c->ready) < 0
	    || get_clock(l, d, "", &c->clock) < 0)
		return -1;
	c->ready_timeout = 10 * 1000000000LL;
	if ((v = mv_jv_get(d, "ready_timeout")) != NULL) {
		if (v->kind == MV_JINT && v->i > 0)
			c->ready_timeout = v->i;
		else if (v->kind != MV_JSTR
		    || mv_parse_duration(
		           "ready_timeout", v->s, &c->ready_timeout, l->e)
		        < 0)
			return bad(l, "ready_timeout",
			    "not a duration (\"10s\") or nanoseconds");
	}
	if (c->base == NULL)
		c->base =
		    mv_xstrdup(getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (c->base[0] != '/')
		return bad(l, "dir", "not an absolute path");
	if (c->peer == NULL)
		c->peer = mv_xstrdup("{node}={addr}");
	return 0;
}

static int
load_client(struct ld *l, struct mv_cluster *c, const struct mv_jv *d)
{
	static const char *const keys[] = {"addr", "netns", "port", NULL};
	const struct mv_jv *v = mv_jv_get(d, "client");

	c->client.name = mv_xstrdup("client");
	if (v == NULL)
		return 0;
	if (v->kind != MV_JOBJ)
		return bad(l, "client", "not an object");
	if (!members_ok(l, v, "client", keys)
	    || get_str(l, v, "addr", "client", &c->client.addr) < 0
	    || get_str(l, v, "netns", "client", &c->client.netns) < 0
	    || get_str(l, v, "port", "client", &c->client.port) < 0)
		return -1;
	return 0;
}

/* Every command and clock file of every node expands. */
static int
check_cmds(struct ld *l, struct mv_cluster *c)
{
	char where[64], **argv;
	const struct mv_jv *cmds[3];
	struct mv_buf clk = MV_BUF_INIT;
	size_t i, k;
	int rc;

	for (i = 0; i < c->n; i++) {
		struct mv_cnode *nd = &c->nodes[i];

		snprintf(where, sizeof(where), "nodes[%zu]", i);
		rc = mv_cluster_clock(c, nd, &clk, l->e);
		mv_buf_release(&clk);
		if (rc < 0) {
			char msg[512];

			snprintf(msg, sizeof(msg), "clock: %.480s", l->e->msg);
			return bad(l, where, msg);
		}
		cmds[0] = nd->start ? nd->start : c->start;
		cmds[1] = nd->restart ? nd->restart : c->restart;
		cmds[2] = nd->ready ? nd->ready : c->ready;
		if (cmds[0] == NULL)
			return bad(l, where,
			    "no \"start\" command (here or at the top)");
		for (k = 0; k < 3; k++) {
			if (cmds[k] == NULL)
				continue;
			if (mv_cluster_argv(c, nd, cmds[k], &argv, l->e) < 0) {
				char msg[512];

				snprintf(msg, sizeof(msg), "%s", l->e->msg);
				return bad(l, where, msg);
			}
			mv_cluster_argv_free(argv);
		}
	}
	return 0;
}

static int
load_nodes(struct ld *l, struct mv_cluster *c, const struct mv_jv *d)
{
	const struct mv_jv *v = mv_jv_get(d, "nodes");
	char where[64];
	size_t i, j;

	if (v == NULL || v->kind != MV_JARR || v->len == 0
	    || v->len > MV_CLUSTER_MAX_NODES)
		return bad(l, "nodes", "not an array of 1 to 32 nodes");
	c->nodes = mv_xcalloc(v->len, sizeof(*c->nodes));
	c->n = v->len;
	for (i = 0; i < c->n; i++) {
		snprintf(where, sizeof(where), "nodes[%zu]", i);
		if (load_node(l, &v->items[i], &c->nodes[i], where) < 0
		    || node_addr(l, c, &c->nodes[i], i + 1, where) < 0)
			return -1;
		for (j = 0; j < i; j++) {
			if (strcmp(c->nodes[i].name, c->nodes[j].name) == 0)
				return bad(l, where, "name: used twice");
			if (strcmp(c->nodes[i].addr, c->nodes[j].addr) == 0)
				return bad(l, where, "addr: used twice");
		}
	}
	if (node_addr(l, c, &c->client, (1UL << (32 - c->prefix)) - 2, "client")
	    < 0)
		return -1;
	for (j = 0; j < c->n; j++)
		if (strcmp(c->client.addr, c->nodes[j].addr) == 0)
			return bad(l, "client", "addr: a node's address");
	return check_cmds(l, c);
}

struct mv_cluster *
mv_cluster_load(const char *path, struct mv_err *e)
{
	struct mv_buf b = MV_BUF_INIT;
	struct mv_cluster *c = mv_xcalloc(1, sizeof(*c));
	struct ld l = {path, e};
	const struct mv_jv *run;

	c->path = mv_xstrdup(path);
	if (slurp(path, &b, e) < 0)
		goto fail;
	if ((c->doc = mv_jv_parse(b.p ? b.p : "", b.len, e)) == NULL) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", e->msg);
		mv_err_set(e, "%s: %s", path, msg);
		goto fail;
	}
	if (load_top(&l, c, c->doc) < 0 || load_client(&l, c, c->doc) < 0
	    || load_nodes(&l, c, c->doc) < 0)
		goto fail;
	if ((run = mv_jv_get(c->doc, "run")) != NULL
	    && load_run(&l, c, run) < 0)
		goto fail;
	mv_buf_release(&b);
	return c;
fail:
	mv_buf_release(&b);
	mv_cluster_free(c);
	return NULL;
}

static void
node_release(struct mv_cnode *nd)
{
	free(nd->name);
	free(nd->addr);
	free(nd->netns);
	free(nd->port);
	free(nd->dir);
	free(nd->cgroup);
}

void
mv_cluster_free(struct mv_cluster *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++)
		node_release(&c->nodes[i]);
	free(c->nodes);
	node_release(&c->client);
	mv_jv_free(c->doc);
	free(c->path);
	free(c->subnet);
	free(c->base);
	free(c->peer);
	free(c->run_id);
	free(c->switch_ns);
	free(c->bridge);
	free(c->run_dir);
	free(c->undo_log);
	free(c->state);
	free(c->cgroup);
	free(c);
}

struct mv_cnode *
mv_cluster_node(struct mv_cluster *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->nodes[i].name, name) == 0)
			return &c->nodes[i];
	return NULL;
}

static int expand(const struct mv_cluster *c, const struct mv_cnode *nd,
    const char *s, int depth, struct mv_buf *out, struct mv_err *e);

/* Appends the value of placeholder key (without braces). */
static int
placeholder(const struct mv_cluster *c, const struct mv_cnode *nd,
    const char *key, size_t n, int depth, struct mv_buf *out, struct mv_err *e)
{
	size_t i;

#define IS(k) (n == strlen(k) && memcmp(key, k, n) == 0)
	if (IS("node"))
		mv_buf_adds(out, nd->name);
	else if (IS("addr"))
		mv_buf_adds(out, nd->addr);
	else if (IS("dir"))
		mv_buf_adds(out, nd->dir ? nd->dir : "DIR");
	else if (IS("run"))
		mv_buf_adds(out, c->run_id ? c->run_id : "RUN");
	else if (IS("client"))
		mv_buf_adds(out, c->client.addr);
	else if (IS("subnet"))
		mv_buf_addf(out, "%s/%d", c->subnet, c->prefix);
	else if (IS("i")) {
		for (i = 0; i < c->n && &c->nodes[i] != nd; i++)
			;
		mv_buf_addf(out, "%zu", i + 1);
	} else if (IS("peers") && depth == 0) {
		for (i = 0; i < c->n; i++) {
			if (i > 0)
				mv_buf_addc(out, ',');
			if (expand(c, &c->nodes[i], c->peer, 1, out, e) < 0)
				return -1;
		}
	} else if (n > 5 && memcmp(key, "addr:", 5) == 0) {
		for (i = 0; i < c->n; i++)
			if (strlen(c->nodes[i].name) == n - 5
			    && memcmp(c->nodes[i].name, key + 5, n - 5) == 0)
				break;
		if (i == c->n)
			return mv_err_set(
			    e, "{%.*s}: no such node", (int)n, key);
		mv_buf_adds(out, c->nodes[i].addr);
	} else
		return mv_err_set(e, "unknown placeholder {%.*s}",
		    (int)(n > 40 ? 40 : n), key);
#undef IS
	return 0;
}

/* Expands the placeholders of s into out; depth 1 inside {peers}. */
static int
expand(const struct mv_cluster *c, const struct mv_cnode *nd, const char *s,
    int depth, struct mv_buf *out, struct mv_err *e)
{
	const char *p, *end;

	for (p = s; *p; p++) {
		if ((p[0] == '{' && p[1] == '{')
		    || (p[0] == '}' && p[1] == '}')) {
			mv_buf_addc(out, *p++);
			continue;
		}
		if (*p == '}')
			return mv_err_set(e, "unmatched '}' (write '}}')");
		if (*p != '{') {
			mv_buf_addc(out, *p);
			continue;
		}
		if ((end = strchr(p, '}')) == NULL)
			return mv_err_set(e, "unmatched '{' (write '{{')");
		if (placeholder(
		        c, nd, p + 1, (size_t)(end - p - 1), depth, out, e)
		    < 0)
			return -1;
		p = end;
	}
	return 0;
}

int
mv_cluster_expand(const struct mv_cluster *c, const char *s, struct mv_buf *out,
    struct mv_err *e)
{
	return expand(c, &c->client, s, 0, out, e);
}

int
mv_cluster_argv(const struct mv_cluster *c, const struct mv_cnode *nd,
    const struct mv_jv *cmd, char ***argv, struct mv_err *e)
{
	struct mv_buf b = MV_BUF_INIT;
	size_t i, n = cmd->kind == MV_JARR ? cmd->len : 3;
	char **v = mv_xcalloc(n + 1, sizeof(*v));

	*argv = v;
	if (cmd->kind != MV_JARR) {
		v[0] = mv_xstrdup("/bin/sh");
		v[1] = mv_xstrdup("-c");
	}
	for (i = cmd->kind == MV_JARR ? 0 : 2; i < n; i++) {
		const char *s = cmd->kind == MV_JARR ? cmd->items[i].s : cmd->s;

		mv_buf_reset(&b);
		mv_buf_addc(&b, '\0');
		mv_buf_reset(&b);
		if (expand(c, nd, s, 0, &b, e) < 0) {
			mv_buf_release(&b);
			mv_cluster_argv_free(v);
			*argv = NULL;
			return -1;
		}
		v[i] = mv_xstrndup(b.p, b.len);
	}
	mv_buf_release(&b);
	return 0;
}

int
mv_cluster_clock(const struct mv_cluster *c, const struct mv_cnode *nd,
    struct mv_buf *path, struct mv_err *e)
{
	const struct mv_jv *m = nd->clock ? nd->clock : c->clock;
	struct mv_buf b = MV_BUF_INIT;

	if (m == NULL)
		return MV_CCLOCK_NONE;
	if (expand(c, nd, m->items[0].s, 0, &b, e) < 0) {
		mv_buf_release(&b);
		return -1;
	}
	/* The node runs in its data directory: a relative name is there. */
	if (b.len == 0 || b.p[0] != '/')
		mv_buf_addf(path, "%s/", nd->dir ? nd->dir : "DIR");
	if (b.len > 0)
		mv_buf_add(path, b.p, b.len);
	mv_buf_release(&b);
	return strcmp(m->keys[0], "file") == 0 ? MV_CCLOCK_SHIM
	                                       : MV_CCLOCK_FAKETIME;
}

void
mv_cluster_argv_free(char **argv)
{
	size_t i;

	if (argv == NULL)
		return;
	for (i = 0; argv[i]; i++)
		free(argv[i]);
	free(argv);
}

static void
put_str(struct mv_buf *b, const char *key, const char *v, int comma)
{
	if (v == NULL)
		return;
	mv_buf_addf(b, "%s\"%s\":", comma ? "," : "", key);
	mv_buf_add_jstr(b, v, strlen(v));
}

static void
put_cmd(struct mv_buf *b, const char *key, const struct mv_jv *v)
{
	if (v == NULL)
		return;
	mv_buf_addf(b, ",\"%s\":", key);
	mv_jv_write(b, v);
}

static void
put_node(struct mv_buf *b, const struct mv_cnode *nd)
{
	put_str(b, "name", nd->name, 0);
	put_str(b, "addr", nd->addr, 1);
	put_cmd(b, "start", nd->start);
	put_cmd(b, "restart", nd->restart);
	put_cmd(b, "ready", nd->ready);
	put_cmd(b, "clock", nd->clock);
	put_str(b, "netns", nd->netns, 1);
	put_str(b, "port", nd->port, 1);
	put_str(b, "dir", nd->dir, 1);
	put_str(b, "cgroup", nd->cgroup, 1);
	if (nd->pid > 0)
		mv_buf_addf(b, ",\"pid\":%ld,\"pid_start\":%llu", nd->pid,
		    nd->pid_start);
}

void
mv_cluster_write(const struct mv_cluster *c, struct mv_buf *b)
{
	size_t i;

	mv_buf_addf(
	    b, "{\"mv_cluster\":1,\"subnet\":\"%s/%d\"", c->subnet, c->prefix);
	put_str(b, "dir", c->base, 1);
	put_str(b, "peer", c->peer, 1);
	mv_buf_addf(b, ",\"ready_timeout\":%lld", (long long)c->ready_timeout);
	put_cmd(b, "start", c->start);
	put_cmd(b, "restart", c->restart);
	put_cmd(b, "ready", c->ready);
	put_cmd(b, "clock", c->clock);
	mv_buf_adds(b, ",\"client\":{");
	put_str(b, "addr", c->client.addr, 0);
	put_str(b, "netns", c->client.netns, 1);
	put_str(b, "port", c->client.port, 1);
	mv_buf_adds(b, "},\"nodes\":[");
	for (i = 0; i < c->n; i++) {
		mv_buf_adds(b, i ? ",{" : "{");
		put_node(b, &c->nodes[i]);
		mv_buf_addc(b, '}');
	}
	mv_buf_addc(b, ']');
	if (c->run_id) {
		mv_buf_adds(b, ",\"run\":{");
		put_str(b, "id", c->run_id, 0);
		put_str(b, "switch", c->switch_ns, 1);
		put_str(b, "bridge", c->bridge, 1);
		put_str(b, "dir", c->run_dir, 1);
		put_str(b, "undo_log", c->undo_log, 1);
		put_str(b, "state", c->state, 1);
		put_str(b, "cgroup", c->cgroup, 1);
		mv_buf_addc(b, '}');
	}
	mv_buf_adds(b, "}\n");
}

int
mv_cluster_save(const struct mv_cluster *c, struct mv_err *e)
{
	struct mv_buf b = MV_BUF_INIT;
	char tmp[4096];
	FILE *f;
	int bad_write;

	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", c->state, (long)getpid());
	if ((f = fopen(tmp, "w")) == NULL)
		return mv_err_set(e, "%s: %s", tmp, strerror(errno));
	mv_cluster_write(c, &b);
	bad_write = fwrite(b.p, 1, b.len, f) != b.len || fflush(f) != 0
	    || fsync(fileno(f)) != 0;
	bad_write |= fclose(f) != 0;
	mv_buf_release(&b);
	if (bad_write || rename(tmp, c->state) < 0) {
		mv_err_set(e, "%s: %s", c->state, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}
