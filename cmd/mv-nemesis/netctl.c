/*
 * netctl.c: link faults on a cluster: delay, loss and dup with netem
 * (netem.h) where the kernel has it, else with the NFQUEUE delayer of
 * delay.h (delay) and netfault.h tables (loss, dup); bandwidth into a
 * node with a tbf qdisc, on one link with netem.h's htb tree (pfifo leaf,
 * the class at the rate), which needs no netem.  Each is written to the
 * cluster's undo log before it is made: "nft NETNS TABLE" for a table,
 * "tbf NETNS PORT" for a tbf qdisc, "netem NETNS PORT" for each port a
 * netem or htb tree goes on.
 */
#include <err.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "delay.h"
#include "netctl.h"
#include "netem.h"
#include "netfault.h"

#define NMAX MV_CLUSTER_MAX_NODES

/* The fault in force: at most one of these is set. */
static struct mv_netfault *nf;
static struct mv_delay *dl;
static struct mv_bw *bw;
static struct mv_netem *ne;
static const char *active_kind;
static const char *active_method; /* "netem", "nfqueue", "nftables",
                                     "tbf", "htb" */
/* The probe's answer, once asked: -2 not yet, else mv_netem_probe's. */
static int probed = -2;
static char probe_why[512];
static unsigned nmade; /* for table names */
/* One-shot faults left in force (volatile: seen by LeakSanitizer). */
static void *volatile kept[4];

int
netctl_fault(const char *f)
{
	return strcmp(f, "delay") == 0 || strcmp(f, "loss") == 0
	    || strcmp(f, "dup") == 0 || strcmp(f, "bandwidth") == 0;
}

/* "25" or "25%" in 0..100 (min lo). */
static unsigned
percent(const char *opt, const char *s, long long lo)
{
	char buf[32];
	size_t len = strlen(s);
	struct mv_err e;
	long long x;

	if (len > 0 && len < sizeof(buf) && s[len - 1] == '%') {
		memcpy(buf, s, len - 1);
		buf[len - 1] = '\0';
		s = buf;
	}
	if (mv_parse_int(opt, s, lo, 100, &x, &e) < 0)
		errx(MV_EXIT_TROUBLE, "%s", e.msg);
	return (unsigned)x;
}

/* A rate: digits and an optional unit, bit, kbit, mbit or gbit. */
static uint64_t
rate(const char *s)
{
	static const struct {
		const char *unit;
		uint64_t mul;
	} u[] = {{"", 1}, {"bit", 1}, {"kbit", 1000}, {"mbit", 1000000},
	    {"gbit", 1000000000}};
	char *end;
	unsigned long long x;
	size_t i;

	errno = 0;
	x = strtoull(s, &end, 10);
	if (end != s && s[0] != '-' && errno == 0)
		for (i = 0; i < sizeof(u) / sizeof(u[0]); i++)
			if (strcmp(end, u[i].unit) == 0 && x <= 10000000000ULL
			    && x * u[i].mul >= 8000
			    && x * u[i].mul <= 10000000000ULL)
				return x * u[i].mul;
	errx(MV_EXIT_TROUBLE,
	    "invalid value for --rate: '%s' (8kbit to 10gbit)", s);
}

void
netctl_option(struct netctl_opts *no, const char *opt, const char *s)
{
	struct mv_err e;
	int64_t ns;

	if (strcmp(opt, "--reorder") == 0)
		no->reorder = percent(opt, s, 0);
	else if (strcmp(opt, "--correlation") == 0)
		no->correlation = percent(opt, s, 0);
	else if (strcmp(opt, "--net-method") == 0) {
		if (strcmp(s, "auto") == 0)
			no->method = NETCTL_AUTO;
		else if (strcmp(s, "netem") == 0)
			no->method = NETCTL_NETEM;
		else if (strcmp(s, "nfqueue") == 0)
			no->method = NETCTL_NFQUEUE;
		else
			errx(MV_EXIT_TROUBLE,
			    "invalid value for --net-method: '%s' (auto, netem "
			    "or nfqueue)",
			    s);
	} else if (strcmp(opt, "--percent") == 0)
		no->percent = percent(opt, s, 1);
	else if (strcmp(opt, "--rate") == 0)
		no->rate_bps = rate(s);
	else {
		if (mv_parse_duration(opt, s, &ns, &e) < 0)
			errx(MV_EXIT_TROUBLE, "%s", e.msg);
		if (ns > 60000000000LL)
			errx(MV_EXIT_TROUBLE,
			    "invalid value for %s: '%s' (at most 60s)", opt, s);
		if (strcmp(opt, "--delay") == 0)
			no->delay_ms = (unsigned)(ns / 1000000);
		else
			no->jitter_ms = (unsigned)(ns / 1000000);
	}
}

static long
node_index(const struct mv_cluster *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->nodes[i].name, name) == 0)
			return (long)i;
	return -1;
}

/*
 * Fills cut (n * n) with the links no aims at: --from/--to's one link,
 * or every link into and out of --node, or of a node drawn from seed.
 * Returns the target node's index (--to's for one link).
 */
static long
aim(const struct mv_cluster *c, const struct netctl_opts *no, uint64_t seed,
    unsigned char *cut)
{
	long a, b;
	size_t i;

	memset(cut, 0, c->n * c->n);
	if (no->from && no->to) {
		a = node_index(c, no->from), b = node_index(c, no->to);
		cut[(size_t)a * c->n + (size_t)b] = a != b;
		return b;
	}
	b = no->node ? node_index(c, no->node) : (long)(seed % c->n);
	for (i = 0; i < c->n; i++)
		if ((long)i != b)
			cut[i * c->n + (size_t)b] = cut[(size_t)b * c->n + i] =
			    1;
	return b;
}

/* Appends the links of cut by node name as a JSON array. */
static void
add_links(
    const struct mv_cluster *c, const unsigned char *cut, struct mv_buf *out)
{
	size_t i, j;
	int comma = 0;

	mv_buf_addc(out, '[');
	for (i = 0; i < c->n; i++)
		for (j = 0; j < c->n; j++)
			if (cut[i * c->n + j])
				mv_buf_addf(out, "%s[\"%s\",\"%s\"]",
				    comma++ ? "," : "", c->nodes[i].name,
				    c->nodes[j].name);
	mv_buf_addc(out, ']');
}

static int
start_delay(struct mv_cluster *c, const struct netctl_opts *no, uint64_t seed,
    const unsigned char *cut, const char *table, struct mv_err *e)
{
	struct mv_delay_link links[NMAX * NMAX];
	struct mv_delay_spec sp;
	size_t i, j, k = 0;

	for (i = 0; i < c->n; i++)
		for (j = 0; j < c->n; j++)
			if (cut[i * c->n + j]) {
				links[k].src = c->nodes[i].addr;
				links[k++].dst = c->nodes[j].addr;
			}
	memset(&sp, 0, sizeof(sp));
	sp.netns = c->switch_ns, sp.table = table, sp.links = links;
	sp.nlinks = k, sp.delay_ms = no->delay_ms ? no->delay_ms : 100;
	sp.jitter_ms = no->jitter_ms, sp.reorder = no->reorder;
	sp.seed = seed, sp.dist = MV_DELAY_UNIFORM;
	return (dl = mv_delay_start(&sp, e)) ? 0 : -1;
}

static int
start_table(struct mv_cluster *c, const struct netctl_opts *no,
    const char *kind, int capture, const unsigned char *cut, const char *table,
    struct mv_err *e)
{
	struct mv_nf_node nodes[NMAX];
	struct mv_nf_spec sp;
	size_t i;

	for (i = 0; i < c->n; i++) {
		nodes[i].name = c->nodes[i].name;
		nodes[i].addr = c->nodes[i].addr;
		nodes[i].port = c->nodes[i].port;
	}
	memset(&sp, 0, sizeof(sp));
	sp.netns = c->switch_ns, sp.table = table, sp.nodes = nodes;
	sp.n = c->n, sp.cut = cut, sp.capture = capture;
	sp.kind = strcmp(kind, "loss") == 0 ? MV_NF_LOSS : MV_NF_DUP;
	sp.percent = no->percent ? no->percent : 30;
	return (nf = mv_netfault_start(&sp, e)) ? 0 : -1;
}

int
netctl_probe(const struct mv_cluster *c, const char **why, struct mv_err *e)
{
	struct mv_err pe;

	if (probed == -2) {
		probed = mv_netem_probe(
		    c->switch_ns, probe_why, sizeof(probe_why), &pe);
		if (probed < 0)
			snprintf(probe_why, sizeof(probe_why), "%s", pe.msg);
	}
	*why = probe_why;
	if (probed < 0)
		mv_err_set(e, "%s", probe_why);
	return probed;
}

int
netctl_probe_main(const struct mv_cluster *c)
{
	struct mv_err e;
	const char *why;
	struct mv_buf b = MV_BUF_INIT;
	int p;

	if (c == NULL)
		errx(MV_EXIT_TROUBLE, "probe needs --cluster");
	if ((p = netctl_probe(c, &why, &e)) < 0)
		errx(MV_EXIT_TROUBLE, "%s", e.msg);
	mv_buf_adds(&b,
	    "{\"type\":\"info\",\"process\":\"nemesis\","
	    "\"f\":\"probe\",\"value\":{\"switch\":");
	mv_buf_add_jstr(&b, c->switch_ns, strlen(c->switch_ns));
	mv_buf_addf(&b, ",\"netem\":%s", p ? "true" : "false");
	if (p == 0) {
		mv_buf_adds(&b, ",\"netem_error\":");
		mv_buf_add_jstr(&b, why, strlen(why));
	}
	mv_buf_addf(&b,
	    ",\"methods\":{\"delay\":\"%s\",\"loss\":\"%s\","
	    "\"dup\":\"%s\"}},\"time\":0}\n",
	    p ? "netem" : "nfqueue", p ? "netem" : "nftables",
	    p ? "netem" : "nftables");
	fwrite(b.p, 1, b.len, stdout);
	mv_buf_release(&b);
	if (mv_fshut_stdout(&e) < 0)
		errx(MV_EXIT_TROUBLE, "%s", e.msg);
	return MV_EXIT_OK;
}

/*
 * How kind is done under no: "netem", "nfqueue" (delay) or "nftables"
 * (loss, dup); appends what the probe said to ev.  NULL with e filled
 * when netem is forced or needed (--correlation) and the kernel has none.
 */
static const char *
pick(const struct mv_cluster *c, const char *kind, const struct netctl_opts *no,
    struct mv_buf *ev, struct mv_err *e)
{
	const char *old = strcmp(kind, "delay") == 0 ? "nfqueue" : "nftables";
	const char *why;
	struct mv_err pe;
	int p;

	if (no->method == NETCTL_NFQUEUE) {
		if (no->correlation > 0)
			return mv_err_set(e,
			           "%s: --correlation needs netem, not "
			           "--net-method nfqueue",
			           kind),
			       NULL;
		return old;
	}
	p = netctl_probe(c, &why, &pe);
	mv_buf_addf(ev, "\"netem\":%s,",
	    p > 0        ? "true"
	        : p == 0 ? "false"
	                 : "null");
	if (p > 0)
		return "netem";
	mv_buf_adds(ev, "\"netem_error\":");
	mv_buf_add_jstr(ev, why, strlen(why));
	mv_buf_addc(ev, ',');
	if (no->method == NETCTL_NETEM || no->correlation > 0)
		return mv_err_set(e, "%s: %s needs netem: %s: %s", kind,
		           no->method == NETCTL_NETEM ? "--net-method netem"
		                                      : "--correlation",
		           p == 0 ? "the kernel has no netem"
		                  : "the netem probe failed",
		           why),
		       NULL;
	return old;
}

/* Delay, loss or dup with netem on the destinations' ports. */
static int
start_netem(struct mv_cluster *c, const char *kind,
    const struct netctl_opts *no, const unsigned char *cut, struct mv_err *e)
{
	struct mv_nf_node nodes[NMAX];
	struct mv_netem_spec sp;
	char line[512];
	size_t i, j;

	for (j = 0; j < c->n; j++) {
		for (i = 0; i < c->n && !cut[i * c->n + j]; i++)
			;
		if (i == c->n)
			continue;
		snprintf(line, sizeof(line), "netem %s %s", c->switch_ns,
		    c->nodes[j].port);
		if (mv_cluster_log(c->undo_log, line, e) < 0)
			return -1;
	}
	for (i = 0; i < c->n; i++) {
		nodes[i].name = c->nodes[i].name;
		nodes[i].addr = c->nodes[i].addr;
		nodes[i].port = c->nodes[i].port;
	}
	memset(&sp, 0, sizeof(sp));
	sp.netns = c->switch_ns, sp.nodes = nodes, sp.n = c->n, sp.cut = cut;
	if (strcmp(kind, "delay") == 0) {
		sp.delay_ms = no->delay_ms ? no->delay_ms : 100;
		sp.jitter_ms = no->jitter_ms, sp.reorder = no->reorder;
		sp.correlation = no->correlation;
	} else if (strcmp(kind, "loss") == 0)
		sp.loss = no->percent ? no->percent : 30;
	else
		sp.dup = no->percent ? no->percent : 30;
	if (strcmp(kind, "bandwidth") == 0) {
		sp.rate_bps = no->rate_bps ? no->rate_bps : 1000000;
		sp.leaf = MV_NETEM_LEAF_PFIFO;
	}
	return (ne = mv_netem_start(&sp, e)) ? 0 : -1;
}

/* Bandwidth on the links of cut (--from and --to): an htb tree. */
static int
start_bw_link(struct mv_cluster *c, const struct netctl_opts *no,
    const unsigned char *cut, struct mv_buf *out, struct mv_err *e)
{
	if (start_netem(c, "bandwidth", no, cut, e) < 0)
		return -1;
	mv_buf_adds(out, "\"method\":\"htb\",\"links\":");
	add_links(c, cut, out);
	mv_buf_addf(out, ",\"rate_bps\":%" PRIu64 "}",
	    no->rate_bps ? no->rate_bps : 1000000);
	return 0;
}

/* Bandwidth on every link into node: a tbf on its port. */
static int
start_bw(struct mv_cluster *c, const struct netctl_opts *no, long node,
    const unsigned char *cut, struct mv_buf *out, struct mv_err *e)
{
	struct mv_bw_spec sp;
	unsigned char *into;
	char line[512];
	size_t i;

	snprintf(
	    line, sizeof(line), "tbf %s %s", c->switch_ns, c->nodes[node].port);
	if (mv_cluster_log(c->undo_log, line, e) < 0)
		return -1;
	memset(&sp, 0, sizeof(sp));
	sp.netns = c->switch_ns, sp.port = c->nodes[node].port;
	sp.rate_bps = no->rate_bps ? no->rate_bps : 1000000;
	if ((bw = mv_bw_start(&sp, e)) == NULL)
		return -1;
	mv_buf_addf(out, "\"method\":\"tbf\",\"node\":\"%s\",\"port\":\"%s\",",
	    c->nodes[node].name, sp.port);
	/* Only the links into node: tbf shapes the port's egress. */
	into = mv_xcalloc(c->n * c->n, 1);
	for (i = 0; i < c->n; i++)
		into[i * c->n + (size_t)node] = cut[i * c->n + (size_t)node];
	mv_buf_adds(out, "\"links\":");
	add_links(c, into, out);
	free(into);
	mv_buf_addf(out, ",\"rate_bps\":%" PRIu64 "}", sp.rate_bps);
	return 0;
}

int
netctl_start(struct mv_cluster *c, const char *kind,
    const struct netctl_opts *no, uint64_t seed, int capture, int64_t t,
    struct mv_buf *out, struct mv_err *e)
{
	static unsigned char cut[NMAX * NMAX];
	char table[80], line[512];
	struct mv_buf ev = MV_BUF_INIT;
	const char *method = NULL;
	long node;
	int rc;

	if (active_kind)
		return mv_err_set(e, "%s: a link fault is in force", kind);
	if (no->from && node_index(c, no->from) < 0)
		return mv_err_set(
		    e, "%s: no node named '%s'", c->path, no->from);
	if (no->to && node_index(c, no->to) < 0)
		return mv_err_set(e, "%s: no node named '%s'", c->path, no->to);
	if (no->from && no->to && strcmp(no->from, no->to) == 0)
		return mv_err_set(e, "%s: --from and --to are one node", kind);
	node = aim(c, no, seed, cut);
	mv_buf_addf(&ev,
	    "{\"type\":\"info\",\"process\":\"nemesis\",\"f\":\"start-%s\","
	    "\"value\":{\"kind\":\"%s\",",
	    kind, kind);
	if (strcmp(kind, "bandwidth") == 0 && no->from && no->to) {
		method = "htb";
		rc = start_bw_link(c, no, cut, &ev, e);
	} else if (strcmp(kind, "bandwidth") == 0) {
		method = "tbf";
		rc = start_bw(c, no, node, cut, &ev, e);
	} else if ((method = pick(c, kind, no, &ev, e)) == NULL)
		rc = -1;
	else {
		mv_buf_addf(&ev, "\"method\":\"%s\",", method);
		if (strcmp(method, "netem") == 0)
			rc = start_netem(c, kind, no, cut, e);
		else {
			snprintf(table, sizeof(table), "mv_%s_%ld_l%u",
			    c->run_id, (long)getpid(), nmade++);
			snprintf(line, sizeof(line), "nft %s %s", c->switch_ns,
			    table);
			if (mv_cluster_log(c->undo_log, line, e) < 0)
				rc = -1;
			else if (strcmp(kind, "delay") == 0)
				rc = start_delay(c, no, seed, cut, table, e);
			else
				rc = start_table(
				    c, no, kind, capture, cut, table, e);
			if (rc == 0)
				mv_buf_addf(&ev, "\"table\":\"%s\",", table);
		}
		if (rc == 0) {
			mv_buf_adds(&ev, "\"links\":");
			add_links(c, cut, &ev);
			if (strcmp(kind, "delay") == 0)
				mv_buf_addf(&ev,
				    ",\"delay_ms\":%u,\"jitter_ms\":%u,"
				    "\"reorder\":%u",
				    no->delay_ms ? no->delay_ms : 100,
				    no->jitter_ms, no->reorder);
			else
				mv_buf_addf(&ev, ",\"percent\":%u",
				    no->percent ? no->percent : 30);
			if (no->correlation > 0)
				mv_buf_addf(&ev, ",\"correlation\":%u",
				    no->correlation);
			mv_buf_addc(&ev, '}');
		}
	}
	if (rc == 0) {
		active_kind = strcmp(kind, "delay") == 0 ? "delay"
		    : strcmp(kind, "loss") == 0          ? "loss"
		    : strcmp(kind, "dup") == 0           ? "dup"
		                                         : "bandwidth";
		active_method = method;
		mv_buf_add(out, ev.p, ev.len);
		mv_buf_addf(out, ",\"time\":%lld}\n", (long long)t);
	}
	mv_buf_release(&ev);
	return rc;
}

int
netctl_active(void)
{
	return active_kind != NULL;
}

int
netctl_stop(int64_t t, struct mv_buf *out, struct mv_err *e)
{
	struct mv_buf b = MV_BUF_INIT;
	int rc = 0;

	if (active_kind == NULL)
		return 0;
	mv_buf_addf(&b,
	    "{\"type\":\"info\",\"process\":\"nemesis\",\"f\":\"stop-%s\","
	    "\"value\":",
	    active_kind);
	if (dl)
		rc = mv_delay_stop(dl, &b, e);
	else if (nf)
		rc = mv_netfault_stop(nf, &b, e);
	else if (bw)
		rc = mv_bw_stop(bw, &b, e);
	else if (ne)
		rc = mv_netem_stop(ne, &b, e);
	/* The reports of the other methods do not say how: add it. */
	if ((dl || nf || bw) && active_method && b.len > 0
	    && b.p[b.len - 1] == '}') {
		b.len--;
		mv_buf_addf(&b, ",\"method\":\"%s\"}", active_method);
	}
	dl = NULL, nf = NULL, bw = NULL, ne = NULL, active_kind = NULL;
	active_method = NULL;
	mv_buf_addf(&b, ",\"time\":%lld}\n", (long long)t);
	if (out)
		mv_buf_add(out, b.p, b.len);
	mv_buf_release(&b);
	return rc < 0 ? -1 : 0;
}

void
netctl_keep(void)
{
	kept[0] = nf, kept[1] = dl, kept[2] = bw, kept[3] = ne;
	dl = NULL, nf = NULL, bw = NULL, ne = NULL, active_kind = NULL;
	active_method = NULL;
}

int
netctl_heal(const struct mv_cluster *c, struct mv_err *e)
{
	size_t i;
	int n = 0, rc;

	for (i = 0; i < c->n; i++) {
		if ((rc = mv_bw_del(c->switch_ns, c->nodes[i].port, e)) < 0)
			return -1;
		n += rc;
		if ((rc = mv_netem_del(c->switch_ns, c->nodes[i].port, e)) < 0)
			return -1;
		n += rc;
	}
	return n;
}
