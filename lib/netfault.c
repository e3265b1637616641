/*
 * netfault.c: grudges, and partitions, loss and duplication as nftables
 * tables in a switch namespace, with libpcap efficacy counts (netfault.h).
 *
 * Where the rules go, and why:
 * - drop and loss: bridge family, forward hook, on the destination's port
 *   ("oifname DST ip saddr SRC"), so the packet is lost at the switch and
 *   the sender sees nothing (on its own egress it would get ENOBUFS);
 * - reject: this kernel has no bridge-family reject, but it has the netdev
 *   one, so the rules sit on the ingress hook of the source's port and
 *   answer TCP with a reset and everything else with ICMP host-unreachable
 *   out of the same port: the sender fails at once, the bridge never
 *   forwards the packet;
 * - duplication: "dup to" exists in the netdev family only, so a copy of
 *   the source's packet is sent out of the destination's port from the
 *   source port's ingress hook while the original goes on.
 */
#define _GNU_SOURCE /* pipe2 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nftables/libnftables.h>
#include <pcap/pcap.h>

#include "buf.h"
#include "mv.h"
#include "netfault.h"
#include "ns.h"

/* ---- grudges ---- */

static const char *const kind_names[] = {"halves", "random-halves", "isolate",
    "majority-minority", "majorities-ring", "bridge"};

int
mv_grudge_kind_parse(const char *s, enum mv_grudge_kind *k, struct mv_err *e)
{
	size_t i;

	for (i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
		if (strcmp(s, kind_names[i]) == 0) {
			*k = (enum mv_grudge_kind)i;
			return 0;
		}
	if (strcmp(s, "minority") == 0 || strcmp(s, "majority") == 0) {
		*k = MV_GRUDGE_MAJORITY;
		return 0;
	}
	return mv_err_set(e, "unknown partition kind: %s", s);
}

const char *
mv_grudge_kind_name(enum mv_grudge_kind k)
{
	if ((size_t)k >= sizeof(kind_names) / sizeof(kind_names[0]))
		return "?";
	return kind_names[k];
}

/* A seeded Fisher-Yates shuffle of 0..n-1 into perm. */
static void
shuffle(size_t *perm, size_t n, uint64_t seed)
{
	struct mv_rng r;
	size_t i, j, t;

	for (i = 0; i < n; i++)
		perm[i] = i;
	mv_rng_seed(&r, seed);
	for (i = n; i > 1; i--) {
		j = (size_t)mv_rng_below(&r, i);
		t = perm[i - 1];
		perm[i - 1] = perm[j];
		perm[j] = t;
	}
}

/*
 * Cuts side a (perm[0..na)) from side b (perm[from..n)): a -> b always,
 * b -> a unless directed.  Returns the number of links cut.
 */
static int
cut_sides(unsigned char *cut, size_t n, const size_t *perm, size_t na,
    size_t from, int directed)
{
	size_t i, j;
	int c = 0;

	for (i = 0; i < na; i++)
		for (j = from; j < n; j++) {
			cut[perm[i] * n + perm[j]] = 1;
			c++;
			if (!directed) {
				cut[perm[j] * n + perm[i]] = 1;
				c++;
			}
		}
	return c;
}

/*
 * Jepsen's majorities ring: on a seeded ring each node hears the window of
 * m = n/2+1 nodes around its own place (itself included), so every node
 * hears a majority and no two hear the same one (m < n).
 */
static int
ring(unsigned char *cut, size_t n, const size_t *perm)
{
	size_t m = n / 2 + 1, lo = (m - 1) / 2, d, s, off;
	int c = 0;

	for (d = 0; d < n; d++)
		for (s = 0; s < n; s++) {
			/* distance of s after (d - lo) on the ring */
			off = (s + n + lo - d) % n;
			if (off >= m) {
				cut[perm[s] * n + perm[d]] = 1;
				c++;
			}
		}
	return c;
}

int
mv_grudge(enum mv_grudge_kind k, size_t n, uint64_t seed, long node,
    int directed, unsigned char *cut, struct mv_err *e)
{
	/* two sides need 2 nodes; a strict majority, a ring, a bridge 3 */
	size_t *perm, i, min = k <= MV_GRUDGE_ISOLATE ? 2 : 3;
	int c;

	if (n < min || n > 4096)
		return mv_err_set(e,
		    "partition %s needs %zu to 4096 nodes, not %zu",
		    mv_grudge_kind_name(k), min, n);
	if (k == MV_GRUDGE_ISOLATE && node >= (long)n)
		return mv_err_set(e, "no node %ld among %zu", node, n);
	memset(cut, 0, n * n);
	perm = mv_xcalloc(n, sizeof(*perm));
	for (i = 0; i < n; i++)
		perm[i] = i;
	if (k != MV_GRUDGE_HALVES && k != MV_GRUDGE_ISOLATE)
		shuffle(perm, n, seed);
	switch (k) {
	case MV_GRUDGE_HALVES:
	case MV_GRUDGE_RANDOM_HALVES:
		c = cut_sides(cut, n, perm, n / 2, n / 2, directed);
		break;
	case MV_GRUDGE_ISOLATE:
		if (node < 0) {
			struct mv_rng r;

			mv_rng_seed(&r, seed);
			node = (long)mv_rng_below(&r, n);
		}
		perm[0] = (size_t)node;
		perm[node] = 0;
		c = cut_sides(cut, n, perm, 1, 1, directed);
		break;
	case MV_GRUDGE_MAJORITY:
		c = cut_sides(cut, n, perm, (n - 1) / 2, (n - 1) / 2, directed);
		break;
	case MV_GRUDGE_MAJORITIES_RING: c = ring(cut, n, perm); break;
	case MV_GRUDGE_BRIDGE:
		c = cut_sides(cut, n, perm, n / 2, n / 2 + 1, directed);
		break;
	default:
		free(perm);
		return mv_err_set(e, "unknown partition kind %d", (int)k);
	}
	free(perm);
	return c;
}

/* ---- nftables ---- */

/*
 * Runs the nft script cmd (one transaction) in namespace netns.  The
 * listing output, if any, is appended to out (may be NULL).  Returns 0,
 * or -1 with e filled with nft's first error line.
 */
static int
nft_run(
    const char *netns, const char *cmd, struct mv_buf *out, struct mv_err *e)
{
	struct nft_ctx *ctx;
	const char *msg;
	int back = -1, rc = 0;

	if (mv_netns_enter(netns, &back, e) < 0)
		return -1;
	if ((ctx = nft_ctx_new(NFT_CTX_DEFAULT)) == NULL) {
		mv_netns_leave(back);
		return mv_err_set(
		    e, "%s: nftables: cannot make a context", netns);
	}
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	if (nft_run_cmd_from_buffer(ctx, cmd) != 0) {
		size_t len;

		msg = nft_ctx_get_error_buffer(ctx);
		if (msg == NULL)
			msg = "";
		for (len = 0; msg[len] != '\0' && msg[len] != '\n'; len++)
			;
		mv_err_set(e, "%s: nftables: %.*s", netns, (int)len, msg);
		rc = -1;
	} else if (out != NULL) {
		msg = nft_ctx_get_output_buffer(ctx);
		if (msg != NULL)
			mv_buf_adds(out, msg);
	}
	nft_ctx_free(ctx);
	mv_netns_leave(back);
	return rc;
}

/*
 * Deletes (del set) or only counts the tables of netns whose name is name
 * (exact) or starts with name (prefix), in every family.  Returns how
 * many, or -1 with e filled.
 */
static int
tables_do(
    const char *netns, const char *name, int prefix, int del, struct mv_err *e)
{
	struct mv_buf list = MV_BUF_INIT, cmd = MV_BUF_INIT;
	char fam[32], tab[128], *line, *save = NULL;
	size_t nl = strlen(name);
	int found = 0, rc;

	if (nft_run(netns, "list tables", &list, e) < 0) {
		mv_buf_release(&list);
		return -1;
	}
	for (line = list.p ? strtok_r(list.p, "\n", &save) : NULL; line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "table %31s %127s", fam, tab) != 2)
			continue;
		if (prefix ? strncmp(tab, name, nl) != 0
		           : strcmp(tab, name) != 0)
			continue;
		mv_buf_addf(&cmd, "delete table %s %s\n", fam, tab);
		found++;
	}
	rc = found > 0 && del ? nft_run(netns, cmd.p, NULL, e) : 0;
	mv_buf_release(&list);
	mv_buf_release(&cmd);
	return rc < 0 ? -1 : found;
}

static int
tables_del(const char *netns, const char *name, int prefix, struct mv_err *e)
{
	return tables_do(netns, name, prefix, 1, e);
}

int
mv_netfault_table_del(const char *netns, const char *table, struct mv_err *e)
{
	if (!mv_table_name_ok(table))
		return mv_err_set(e, "bad nftables table name: %s", table);
	return tables_del(netns, table, 0, e);
}

int
mv_netfault_purge(const char *netns, const char *prefix, struct mv_err *e)
{
	if (strlen(prefix) < 3 || !mv_table_name_ok(prefix))
		return mv_err_set(e, "bad nftables table prefix: %s", prefix);
	return tables_del(netns, prefix, 1, e);
}

/* ---- faults ---- */

struct mv_netfault;

/* One capture: a switch port and the node behind it. */
struct cap {
	struct mv_netfault *f;
	pcap_t *pc;
	size_t node;
};

struct mv_netfault {
	char *netns, *table;
	enum mv_nf_kind kind;
	unsigned percent;
	size_t n;
	char **name, **port;
	char (*addr)[INET_ADDRSTRLEN];
	uint32_t *ip; /* network order */
	unsigned char *cut;
	uint64_t *sent, *crossed; /* [src * n + dst], the thread's until join */
	struct cap *cap;
	size_t ncap;
	int wake[2];
	int running; /* the capture thread was started */
	int watch;   /* counts only: the table is someone else's */
	pthread_t th;
};

static const char *const nf_kind_names[] = {"drop", "reject", "loss", "dup"};

static void
nf_free(struct mv_netfault *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < f->ncap; i++)
		if (f->cap[i].pc != NULL)
			pcap_close(f->cap[i].pc);
	for (i = 0; i < f->n; i++) {
		free(f->name[i]);
		free(f->port[i]);
	}
	if (f->wake[0] >= 0)
		close(f->wake[0]);
	if (f->wake[1] >= 0)
		close(f->wake[1]);
	free(f->cap);
	free(f->name);
	free(f->port);
	free(f->addr);
	free(f->ip);
	free(f->cut);
	free(f->sent);
	free(f->crossed);
	free(f->netns);
	free(f->table);
	free(f);
}

/* Checks s and copies it into a new fault; NULL with e filled if bad. */
static struct mv_netfault *
nf_new(const struct mv_nf_spec *s, struct mv_err *e)
{
	struct mv_netfault *f;
	size_t i, j, nn;

	if (mv_nf_table_check(s->table, e) < 0)
		return NULL;
	if (s->n < 2 || s->n > 4096 || s->nodes == NULL || s->cut == NULL)
		return mv_err_set(
		           e, "%s: need 2 to 4096 nodes and a cut", s->table),
		       NULL;
	if ((unsigned)s->kind > MV_NF_DUP)
		return mv_err_set(e, "%s: unknown fault kind", s->table), NULL;
	if ((s->kind == MV_NF_LOSS || s->kind == MV_NF_DUP)
	    && (s->percent < 1 || s->percent > 100))
		return mv_err_set(e, "%s: percent must be in [1, 100]: %u",
		           s->table, s->percent),
		       NULL;
	nn = s->n;
	f = mv_xcalloc(1, sizeof(*f));
	f->wake[0] = f->wake[1] = -1;
	f->ip = mv_xcalloc(nn, sizeof(*f->ip));
	if (mv_nf_nodes_check(s->table, s->nodes, nn, f->ip, e) < 0) {
		nf_free(f);
		return NULL;
	}
	f->netns = mv_xstrdup(s->netns ? s->netns : "");
	f->table = mv_xstrdup(s->table);
	f->kind = s->kind;
	f->percent = s->percent;
	f->name = mv_xcalloc(nn, sizeof(*f->name));
	f->port = mv_xcalloc(nn, sizeof(*f->port));
	f->addr = mv_xcalloc(nn, sizeof(*f->addr));
	f->cut = mv_xcalloc(nn * nn, 1);
	f->sent = mv_xcalloc(nn * nn, sizeof(*f->sent));
	f->crossed = mv_xcalloc(nn * nn, sizeof(*f->crossed));
	f->n = nn;
	for (i = 0; i < nn; i++) {
		f->name[i] = mv_xstrdup(s->nodes[i].name);
		f->port[i] = mv_xstrdup(s->nodes[i].port);
		inet_ntop(AF_INET, &f->ip[i], f->addr[i], sizeof(f->addr[i]));
	}
	for (j = 0, i = 0; i < nn * nn; i++) {
		f->cut[i] = s->cut[i] != 0 && i % (nn + 1) != 0;
		j += f->cut[i];
	}
	if (j > 0)
		return f;
	mv_err_set(e, "%s: no link to fault", s->table);
	nf_free(f);
	return NULL;
}

/* Appends "{ a, b }" for the sources cut from dst (col) or the
 * destinations src cuts (row); returns how many. */
static size_t
add_set(const struct mv_netfault *f, struct mv_buf *b, size_t k, int row)
{
	size_t i, c = 0;

	for (i = 0; i < f->n; i++) {
		if (!f->cut[row ? k * f->n + i : i * f->n + k])
			continue;
		mv_buf_adds(b, c++ ? ", " : "{ ");
		mv_buf_adds(b, f->addr[i]);
	}
	if (c > 0)
		mv_buf_adds(b, " }");
	return c;
}

/* The nft script that installs f: one transaction, see the file head. */
static void
script(const struct mv_netfault *f, struct mv_buf *b)
{
	const char *t = f->table;
	size_t i, j, n = f->n;
	struct mv_buf set = MV_BUF_INIT;

	if (f->kind == MV_NF_DROP || f->kind == MV_NF_LOSS) {
		mv_buf_addf(b,
		    "create table bridge %s\n"
		    "add chain bridge %s cut { type filter hook forward "
		    "priority -200; policy accept; }\n",
		    t, t);
		for (j = 0; j < n; j++) {
			mv_buf_reset(&set);
			if (add_set(f, &set, j, 0) == 0)
				continue;
			mv_buf_addf(b,
			    "add rule bridge %s cut oifname \"%s\" ip saddr %s",
			    t, f->port[j], set.p);
			if (f->kind == MV_NF_LOSS && f->percent < 100)
				mv_buf_addf(b, " numgen random mod 100 < %u",
				    f->percent);
			mv_buf_adds(b, " counter drop\n");
		}
		mv_buf_release(&set);
		return;
	}
	mv_buf_addf(b, "create table netdev %s\n", t);
	for (i = 0; i < n; i++) {
		mv_buf_reset(&set);
		if (add_set(f, &set, i, 1) == 0)
			continue;
		mv_buf_addf(b,
		    "add chain netdev %s s%zu { type filter hook ingress "
		    "device \"%s\" priority -200; policy accept; }\n",
		    t, i, f->port[i]);
		if (f->kind == MV_NF_REJECT) {
			mv_buf_addf(b,
			    "add rule netdev %s s%zu ip saddr %s ip daddr %s "
			    "ip protocol tcp counter reject with tcp reset\n"
			    "add rule netdev %s s%zu ip saddr %s ip daddr %s "
			    "counter reject with icmp type host-unreachable\n",
			    t, i, f->addr[i], set.p, t, i, f->addr[i], set.p);
			continue;
		}
		for (j = 0; j < n; j++) {
			if (!f->cut[i * n + j])
				continue;
			mv_buf_addf(b,
			    "add rule netdev %s s%zu ip saddr %s ip daddr %s",
			    t, i, f->addr[i], f->addr[j]);
			if (f->percent < 100)
				mv_buf_addf(b, " numgen random mod 100 < %u",
				    f->percent);
			mv_buf_addf(b, " counter dup to \"%s\"\n", f->port[j]);
		}
	}
	mv_buf_release(&set);
}

/* ---- captures ---- */

static size_t
node_of(const struct mv_netfault *f, uint32_t ip)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (f->ip[i] == ip)
			return i;
	return SIZE_MAX;
}

/*
 * Counts one frame seen on the port of node c->node: a packet from that
 * node was sent into the switch, a packet to it left the switch (crossed).
 * Under reject, the resets and ICMP errors the rules themselves send out
 * of the sender's port are not crossings, so those shapes never count.
 */
static void
on_frame(u_char *user, const struct pcap_pkthdr *h, const u_char *p)
{
	struct cap *c = (struct cap *)user;
	struct mv_netfault *f = c->f;
	uint32_t sip, dip;
	size_t s, d, ihl;

	if (h->caplen < 34 || p[12] != 0x08 || p[13] != 0x00)
		return;
	ihl = (size_t)(p[14] & 0x0f) * 4;
	memcpy(&sip, p + 26, 4);
	memcpy(&dip, p + 30, 4);
	if ((s = node_of(f, sip)) == SIZE_MAX
	    || (d = node_of(f, dip)) == SIZE_MAX || !f->cut[s * f->n + d])
		return;
	if (s == c->node) {
		f->sent[s * f->n + d]++;
		return;
	}
	if (d != c->node)
		return;
	if (f->kind == MV_NF_REJECT) {
		if (p[23] == 1 && h->caplen > 14 + ihl && p[14 + ihl] == 3)
			return;
		if (p[23] == 6 && h->caplen > 14 + ihl + 13
		    && (p[14 + ihl + 13] & 0x04))
			return;
	}
	f->crossed[s * f->n + d]++;
}

/* Reads everything the captures hold now, without blocking. */
static void
drain(struct mv_netfault *f)
{
	size_t i;

	for (i = 0; i < f->ncap; i++)
		while (pcap_dispatch(
		           f->cap[i].pc, -1, on_frame, (u_char *)&f->cap[i])
		    > 0)
			;
}

/* The capture thread: counts until a byte arrives on wake[0]. */
static void *
cap_main(void *arg)
{
	struct mv_netfault *f = arg;
	struct pollfd *pf = mv_xcalloc(f->ncap + 1, sizeof(*pf));
	size_t i;

	for (i = 0; i < f->ncap; i++) {
		pf[i].fd = pcap_get_selectable_fd(f->cap[i].pc);
		pf[i].events = POLLIN;
	}
	pf[f->ncap].fd = f->wake[0];
	pf[f->ncap].events = POLLIN;
	for (;;) {
		if (poll(pf, f->ncap + 1, 1000) < 0 && errno != EINTR)
			break;
		drain(f);
		if (pf[f->ncap].revents != 0)
			break;
	}
	drain(f);
	free(pf);
	return NULL;
}

/* Sets the BPF filter flt on pc; 0 or -1 (pcap_geterr says why). */
static int
cap_filter(pcap_t *pc, const char *flt)
{
	struct bpf_program prog;
	int rc;

	if (pcap_compile(pc, &prog, flt, 1, PCAP_NETMASK_UNKNOWN) < 0)
		return -1;
	rc = pcap_setfilter(pc, &prog);
	pcap_freecode(&prog);
	return rc < 0 ? -1 : 0;
}

/*
 * Opens a capture on the switch port of every node with a cut link, in
 * the switch namespace (the socket stays there once this thread leaves).
 */
static int
cap_open(struct mv_netfault *f, struct mv_err *e)
{
	char ebuf[PCAP_ERRBUF_SIZE];
	struct mv_buf flt = MV_BUF_INIT;
	size_t i, j, n = f->n;
	int back = -1, rc = -1;

	f->cap = mv_xcalloc(n, sizeof(*f->cap));
	mv_buf_adds(&flt, "ip and (");
	for (i = 0; i < n; i++) {
		for (j = 0; j < n && !f->cut[i * n + j] && !f->cut[j * n + i];
		     j++)
			;
		if (j == n)
			continue;
		mv_buf_addf(
		    &flt, "%shost %s", f->ncap ? " or " : "", f->addr[i]);
		f->cap[f->ncap].f = f;
		f->cap[f->ncap++].node = i;
	}
	mv_buf_adds(&flt, ")");
	if (f->ncap == 0) {
		mv_buf_release(&flt);
		return 0;
	}
	if (mv_netns_enter(f->netns, &back, e) < 0) {
		mv_buf_release(&flt);
		return -1;
	}
	for (i = 0; i < f->ncap; i++) {
		pcap_t *pc;

		ebuf[0] = '\0';
		if ((pc = pcap_create(f->port[f->cap[i].node], ebuf)) == NULL) {
			mv_err_set(e, "%s: pcap: %s", f->netns, ebuf);
			goto out;
		}
		f->cap[i].pc = pc;
		pcap_set_snaplen(pc, 96);
		pcap_set_immediate_mode(pc, 1);
		pcap_set_buffer_size(pc, 1 << 18);
		if (pcap_activate(pc) < 0) {
			mv_err_set(e, "%s: pcap: %s: %s", f->netns,
			    f->port[f->cap[i].node], pcap_geterr(pc));
			goto out;
		}
	}
	rc = 0;
out:
	mv_netns_leave(back);
	for (i = 0; rc == 0 && i < f->ncap; i++) {
		pcap_t *pc = f->cap[i].pc;

		if (pcap_datalink(pc) != DLT_EN10MB || cap_filter(pc, flt.p) < 0
		    || pcap_setnonblock(pc, 1, ebuf) < 0)
			rc = mv_err_set(e, "%s: pcap: %s: cannot filter: %s",
			    f->netns, f->port[f->cap[i].node], pcap_geterr(pc));
	}
	mv_buf_release(&flt);
	return rc;
}

/* ---- start and stop ---- */

/* Opens f's captures and starts the thread that counts; -1 with e. */
static int
cap_start(struct mv_netfault *f, struct mv_err *e)
{
	int rc;

	if (cap_open(f, e) < 0)
		return -1;
	if (pipe2(f->wake, O_CLOEXEC) < 0)
		return mv_err_set(e, "%s: pipe: %s", f->table, strerror(errno));
	if ((rc = pthread_create(&f->th, NULL, cap_main, f)) != 0)
		return mv_err_set(
		    e, "%s: capture thread: %s", f->table, strerror(rc));
	f->running = 1;
	return 0;
}

struct mv_netfault *
mv_netfault_watch(const struct mv_nf_spec *s, struct mv_err *e)
{
	struct mv_netfault *f;

	if ((f = nf_new(s, e)) == NULL)
		return NULL;
	f->watch = 1;
	if (cap_start(f, e) == 0)
		return f;
	nf_free(f);
	return NULL;
}

struct mv_netfault *
mv_netfault_start(const struct mv_nf_spec *s, struct mv_err *e)
{
	struct mv_netfault *f;
	struct mv_buf cmd = MV_BUF_INIT;
	struct mv_err e2;

	if ((f = nf_new(s, e)) == NULL)
		return NULL;
	script(f, &cmd);
	if (nft_run(f->netns, cmd.p, NULL, e) < 0) {
		mv_buf_release(&cmd);
		nf_free(f);
		return NULL;
	}
	mv_buf_release(&cmd);
	if (!s->capture || cap_start(f, e) == 0)
		return f;
	if (tables_del(f->netns, f->table, 0, &e2) < 0 && e != NULL) {
		size_t l = strlen(e->msg);

		snprintf(e->msg + l, sizeof(e->msg) - l,
		    "; and the table was left: %s", e2.msg);
	}
	nf_free(f);
	return NULL;
}

const char *
mv_netfault_table(const struct mv_netfault *f)
{
	return f->table;
}

/* Joins the capture thread; returns how many packets the kernel dropped
 * from the captures (the counts miss that many). */
static uint64_t
cap_stop(struct mv_netfault *f)
{
	struct pcap_stat st;
	uint64_t lost = 0;
	size_t i;
	char c = 0;

	if (!f->running)
		return 0;
	while (write(f->wake[1], &c, 1) < 0 && errno == EINTR)
		;
	pthread_join(f->th, NULL);
	f->running = 0;
	for (i = 0; i < f->ncap; i++)
		if (pcap_stats(f->cap[i].pc, &st) == 0)
			lost += st.ps_drop + st.ps_ifdrop;
	return lost;
}

/*
 * Judges the counts: 1 took effect, 0 did not (reason says why), -1
 * cannot tell (reason says why).
 */
static int
verdict(const struct mv_netfault *f, uint64_t sent, uint64_t crossed,
    uint64_t lost, char *reason, size_t rsz)
{
	if (f->kind == MV_NF_DROP || f->kind == MV_NF_REJECT) {
		if (crossed > 0)
			return snprintf(reason, rsz,
			           "%llu packets crossed the cut",
			           (unsigned long long)crossed),
			       0;
	}
	if (lost > 0)
		return snprintf(reason, rsz, "the captures missed %llu packets",
		           (unsigned long long)lost),
		       -1;
	if (sent == 0)
		return snprintf(reason, rsz,
		           "no packet was sent on the faulty links"),
		       -1;
	if (f->kind == MV_NF_LOSS && crossed >= sent)
		return snprintf(reason, rsz, "no packet was lost"), 0;
	if (f->kind == MV_NF_DUP && crossed <= sent)
		return snprintf(reason, rsz, "no packet was duplicated"), 0;
	return 1;
}

/* Appends the efficacy report of f (see netfault.h) to out. */
static void
report(
    const struct mv_netfault *f, int v, const char *reason, struct mv_buf *out)
{
	uint64_t sent = 0, crossed = 0, s, c;
	size_t i, n = f->n, k = 0;
	int dup = f->kind == MV_NF_DUP;

	mv_buf_adds(out, "{\"kind\":");
	mv_buf_add_jstr(
	    out, nf_kind_names[f->kind], strlen(nf_kind_names[f->kind]));
	mv_buf_adds(out, ",\"table\":");
	mv_buf_add_jstr(out, f->table, strlen(f->table));
	mv_buf_adds(out, ",\"links\":[");
	for (i = 0; i < n * n; i++) {
		if (!f->cut[i])
			continue;
		s = f->sent[i];
		c = f->crossed[i];
		sent += s;
		crossed += c;
		mv_buf_adds(out, k++ ? ",{\"from\":" : "{\"from\":");
		mv_buf_add_jstr(out, f->name[i / n], strlen(f->name[i / n]));
		mv_buf_adds(out, ",\"to\":");
		mv_buf_add_jstr(out, f->name[i % n], strlen(f->name[i % n]));
		mv_buf_addf(out, ",\"sent\":%llu,\"crossed\":%llu,\"%s\":%lld}",
		    (unsigned long long)s, (unsigned long long)c,
		    dup ? "duplicated" : "dropped",
		    dup ? (long long)(c - s) : (long long)(s - c));
	}
	mv_buf_addf(out, "],\"sent\":%llu,\"crossed\":%llu",
	    (unsigned long long)sent, (unsigned long long)crossed);
	mv_nf_report_end(out, v, reason);
}

void
mv_nf_report_end(struct mv_buf *out, int v, const char *reason)
{
	mv_buf_addf(out, ",\"effective\":%s",
	    v > 0        ? "true"
	        : v == 0 ? "false"
	                 : "null");
	if (reason[0] != '\0') {
		mv_buf_adds(out, ",\"reason\":");
		mv_buf_add_jstr(out, reason, strlen(reason));
	}
	mv_buf_adds(out, "}");
}

int
mv_netfault_stop(struct mv_netfault *f, struct mv_buf *out, struct mv_err *e)
{
	uint64_t lost, sent = 0, crossed = 0;
	char reason[256] = "";
	int v, del;
	size_t i;

	lost = cap_stop(f);
	for (i = 0; i < f->n * f->n; i++)
		if (f->cut[i]) {
			sent += f->sent[i];
			crossed += f->crossed[i];
		}
	if (f->ncap == 0 && f->cap == NULL)
		v = -1, snprintf(reason, sizeof(reason), "not counted");
	else
		v = verdict(f, sent, crossed, lost, reason, sizeof(reason));
	/* A watch leaves the table to whoever made it: it only looks. */
	del = tables_do(f->netns, f->table, 0, !f->watch, e);
	if (del == 0) {
		v = 0;
		snprintf(reason, sizeof(reason),
		    "the table was gone before the fault stopped");
	}
	if (out != NULL)
		report(f, v, reason, out);
	nf_free(f);
	return del < 0 ? -1 : v > 0;
}
