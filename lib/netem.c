/*
 * netem.c: link faults with the kernel's netem qdisc under an htb tree
 * with u32 filters, and the probe that tells whether the kernel has
 * netem (netem.h).
 *
 * Why a tree and not one netem qdisc per port: a port's egress carries
 * the packets of every node to one node, and a fault is per link, so the
 * packets of the faulted sources must be told from the rest; htb gives
 * each link a class, u32 picks it by source address, and the netem leaf
 * does the fault; the rest pass as htb's unclassified traffic.
 *
 * Why our own error callback: libnl-route 3.7 turns the kernel's answer
 * into its own error codes ("Object not found") and drops the extended
 * ack, which is where the kernel says what it did not like ("Specified
 * qdisc kind is unknown."); the fault events carry those words.
 */
#define _GNU_SOURCE /* SOL_NETLINK */
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/route/class.h>
#include <netlink/route/classifier.h>
#include <netlink/route/cls/u32.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/fifo.h>
#include <netlink/route/qdisc/htb.h>
#include <netlink/route/qdisc/netem.h>
#include <netlink/route/tc.h>

#include "buf.h"
#include "mv.h"
#include "netem.h"
#include "ns.h"
#include "rtsock.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

#define ROOT_MAJOR 0x4d4eu    /* "MN": our htb root, 4d4e: */
#define LEAF_MAJOR 0x101u     /* the leaf of class 4d4e:S+1 is S+0x101: */
#define CLASS_BPS 1250000000u /* 10 Gbit/s in bytes: never the limit */
#define MAX_NODES 32

/* The kernel's last error on a socket: errno and extended ack text. */
struct ack {
	int err;
	char msg[200];
};

/* Keeps the kernel's error and the text of its extended ack, if any
 * (NETLINK_CAP_ACK is set, so the attributes follow the bare header). */
static int
on_err(struct sockaddr_nl *nla, struct nlmsgerr *er, void *arg)
{
	const struct nlmsghdr *h =
	    (const struct nlmsghdr *)(const void *)((const char *)er
	        - NLMSG_HDRLEN);
	struct ack *a = arg;
	size_t off, end;

	(void)nla;
	a->err = er->error;
	a->msg[0] = '\0';
	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS)
	    || !(h->nlmsg_flags & NLM_F_CAPPED))
		return NL_STOP;
	off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(*er));
	end = h->nlmsg_len;
	while (off + NLA_HDRLEN <= end) {
		const struct nlattr *at =
		    (const struct nlattr *)(const void *)((const char *)h
		        + off);
		size_t len = at->nla_len;

		if (len < NLA_HDRLEN || off + len > end)
			break;
		if ((at->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
			snprintf(a->msg, sizeof(a->msg), "%.*s",
			    (int)(len - NLA_HDRLEN),
			    (const char *)at + NLA_HDRLEN);
			break;
		}
		off += NLA_ALIGN(len);
	}
	return NL_STOP;
}

/* What the kernel said about the failure rc: its own words if it gave
 * some, else the errno's text, else libnl's. */
static const char *
kerr(const struct ack *a, int rc)
{
	if (a->msg[0] != '\0')
		return a->msg;
	if (a->err < 0)
		return strerror(-a->err);
	return nl_geterror(rc);
}

/*
 * A route socket made inside netns (so every request acts there), with
 * extended acks on and errors kept in *a.  NULL with e filled.
 */
static struct nl_sock *
rt_sock(const char *netns, struct ack *a, struct mv_err *e)
{
	struct nl_sock *sk;
	int one = 1;

	if ((sk = mv_rtsock_open(netns, e)) == NULL)
		return NULL;
	/* Without them only the errno comes back: not fatal. */
	(void)setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_EXT_ACK,
	    &one, sizeof(one));
	(void)setsockopt(nl_socket_get_fd(sk), SOL_NETLINK, NETLINK_CAP_ACK,
	    &one, sizeof(one));
	nl_socket_modify_err_cb(sk, NL_CB_CUSTOM, on_err, a);
	return sk;
}

/* The index of link name on sk's namespace; 0 when there is none, -1
 * (a libnl error in *rc) on failure. */
static int
if_index(struct nl_sock *sk, const char *name, int *rc)
{
	struct rtnl_link *l = NULL;
	int i;

	*rc = rtnl_link_get_kernel(sk, 0, name, &l);
	if (*rc == -NLE_OBJ_NOTFOUND || *rc == -NLE_NODEV)
		return 0;
	if (*rc < 0)
		return -1;
	i = rtnl_link_get_ifindex(l);
	rtnl_link_put(l);
	return i;
}

/* A new qdisc, class or filter (o) on ifindex under parent, of kind. */
static int
tc_init(struct rtnl_tc *o, int ifindex, uint32_t parent, uint32_t handle,
    const char *kind)
{
	rtnl_tc_set_ifindex(o, ifindex);
	rtnl_tc_set_parent(o, parent);
	if (handle != 0)
		rtnl_tc_set_handle(o, handle);
	return rtnl_tc_set_kind(o, kind);
}

/* Adds a netem qdisc (delay 10 ms) as the root of ifindex and deletes
 * it; 0, or a libnl error (the kernel's in *a). */
static int
try_netem(struct nl_sock *sk, int ifindex)
{
	struct rtnl_qdisc *q = rtnl_qdisc_alloc();
	int rc;

	if (q == NULL)
		return -NLE_NOMEM;
	if ((rc = tc_init(TC_CAST(q), ifindex, TC_H_ROOT,
	         TC_HANDLE(ROOT_MAJOR, 0), "netem"))
	    == 0) {
		rtnl_netem_set_delay(q, 10000);
		if ((rc = rtnl_qdisc_add(sk, q, NLM_F_CREATE | NLM_F_EXCL))
		    == 0)
			rc = rtnl_qdisc_delete(sk, q);
	}
	rtnl_qdisc_put(q);
	return rc;
}

int
mv_netem_probe(const char *netns, char *why, size_t wsz, struct mv_err *e)
{
	struct ack a = {0, ""};
	struct nl_sock *sk;
	struct rtnl_link *l, *peer;
	char name[16], pname[16];
	int rc, ifi, ok = -1;

	if (wsz > 0)
		why[0] = '\0';
	if ((sk = rt_sock(netns, &a, e)) == NULL)
		return -1;
	snprintf(name, sizeof(name), "mvp%ld", (long)getpid() % 100000000);
	snprintf(pname, sizeof(pname), "mvq%ld", (long)getpid() % 100000000);
	if ((l = rtnl_link_veth_alloc()) == NULL) {
		nl_socket_free(sk);
		return mv_err_set(e, "%s: out of memory", netns);
	}
	rtnl_link_set_name(l, name);
	peer = rtnl_link_veth_get_peer(l);
	rtnl_link_set_name(peer, pname);
	rtnl_link_put(peer);
	rc = rtnl_link_add(sk, l, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_link_veth_release(l);
	if (rc < 0) {
		mv_err_set(e, "%s: netem probe: cannot make a veth pair: %s",
		    netns, kerr(&a, rc));
		nl_socket_free(sk);
		return -1;
	}
	if ((ifi = if_index(sk, name, &rc)) <= 0)
		mv_err_set(e, "%s: netem probe: %s: %s", netns, name,
		    ifi == 0 ? "vanished" : nl_geterror(rc));
	else {
		a.err = 0, a.msg[0] = '\0';
		rc = try_netem(sk, ifi);
		ok = rc == 0;
		if (!ok && wsz > 0)
			snprintf(why, wsz, "%s", kerr(&a, rc));
	}
	/* Deleting one end of a veth pair deletes both. */
	if ((l = rtnl_link_alloc()) != NULL) {
		rtnl_link_set_name(l, name);
		if ((rc = rtnl_link_delete(sk, l)) < 0 && ok >= 0) {
			mv_err_set(e, "%s: netem probe: cannot delete %s: %s",
			    netns, name, nl_geterror(rc));
			ok = -1;
		}
		rtnl_link_put(l);
	}
	nl_socket_free(sk);
	return ok;
}

/* ---- the fault ---- */

struct mv_netem {
	char *netns;
	struct nl_sock *sk;
	struct ack ack;
	size_t n;
	char **name, **port;
	unsigned char *cut;
	int *ifindex; /* per node, of its port; 0: not a destination */
	int *made;    /* per node: our root is on its port */
	enum mv_netem_leaf leaf;
	unsigned loss;
	uint64_t rate_bps; /* the classes' rate; 0: none */
};

static void
ne_free(struct mv_netem *m)
{
	size_t i;

	if (m == NULL)
		return;
	if (m->sk != NULL)
		nl_socket_free(m->sk);
	for (i = 0; i < m->n; i++) {
		free(m->name[i]);
		free(m->port[i]);
	}
	free(m->name);
	free(m->port);
	free(m->cut);
	free(m->ifindex);
	free(m->made);
	free(m->netns);
	free(m);
}

int
mv_tc_root_delete(struct nl_sock *sk, int ifindex, unsigned major)
{
	struct rtnl_qdisc *q = rtnl_qdisc_alloc();
	int rc;

	if (q == NULL)
		return -NLE_NOMEM;
	rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
	rtnl_tc_set_parent(TC_CAST(q), TC_H_ROOT);
	rtnl_tc_set_handle(TC_CAST(q), TC_HANDLE(major, 0));
	rc = rtnl_qdisc_delete(sk, q);
	rtnl_qdisc_put(q);
	return rc;
}

/* The htb root of ifindex; 0 or a libnl error. */
static int
add_root(struct mv_netem *m, int ifindex)
{
	struct rtnl_qdisc *q = rtnl_qdisc_alloc();
	int rc;

	if (q == NULL)
		return -NLE_NOMEM;
	if ((rc = tc_init(TC_CAST(q), ifindex, TC_H_ROOT,
	         TC_HANDLE(ROOT_MAJOR, 0), "htb"))
	    == 0)
		rc = rtnl_qdisc_add(m->sk, q, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_qdisc_put(q);
	return rc;
}

/* Class 4d4e:S+1 of ifindex and its leaf; 0 or a libnl error. */
static int
add_class(
    struct mv_netem *m, const struct mv_netem_spec *s, int ifindex, size_t src)
{
	uint32_t cid = TC_HANDLE(ROOT_MAJOR, (uint32_t)src + 1);
	uint32_t bps = s->rate_bps ? (uint32_t)(s->rate_bps / 8) : CLASS_BPS;
	uint32_t burst = bps / 250 > 3000 ? bps / 250 : 3000;
	struct rtnl_class *c = rtnl_class_alloc();
	struct rtnl_qdisc *q;
	int rc;

	if (c == NULL)
		return -NLE_NOMEM;
	if ((rc = tc_init(
	         TC_CAST(c), ifindex, TC_HANDLE(ROOT_MAJOR, 0), cid, "htb"))
	    == 0) {
		rtnl_htb_set_rate(c, bps);
		rtnl_htb_set_ceil(c, bps);
		/* As tbf's in delay.c: 4 ms of the rate, at least two
		 * frames, so a low rate is not let through in bursts. */
		if (s->rate_bps > 0) {
			rtnl_htb_set_rbuffer(c, burst);
			rtnl_htb_set_cbuffer(c, burst);
		}
		rtnl_htb_set_quantum(c,
		    bps / 10 > 60000      ? 60000
		        : bps / 10 < 1600 ? 1600
		                          : bps / 10);
		rc = rtnl_class_add(m->sk, c, NLM_F_CREATE | NLM_F_EXCL);
	}
	rtnl_class_put(c);
	if (rc < 0)
		return rc;
	if ((q = rtnl_qdisc_alloc()) == NULL)
		return -NLE_NOMEM;
	rc = tc_init(TC_CAST(q), ifindex, cid,
	    TC_HANDLE(LEAF_MAJOR + (uint32_t)src, 0),
	    s->leaf == MV_NETEM_LEAF_PFIFO ? "pfifo" : "netem");
	if (rc == 0 && s->leaf == MV_NETEM_LEAF_PFIFO)
		rtnl_qdisc_fifo_set_limit(q, (int)(s->limit ? s->limit : 1000));
	else if (rc == 0) {
		rtnl_netem_set_limit(q, (int)(s->limit ? s->limit : 1000));
		if (s->delay_ms > 0)
			rtnl_netem_set_delay(q, (int)s->delay_ms * 1000);
		if (s->jitter_ms > 0)
			rtnl_netem_set_jitter(q, (int)s->jitter_ms * 1000);
		if (s->correlation > 0)
			rtnl_netem_set_delay_correlation(
			    q, (int)s->correlation);
		if (s->reorder > 0)
			rtnl_netem_set_reorder_probability(q, (int)s->reorder);
		if (s->loss > 0)
			rtnl_netem_set_loss(q, (int)s->loss);
		if (s->dup > 0)
			rtnl_netem_set_duplicate(q, (int)s->dup);
	}
	if (rc == 0)
		rc = rtnl_qdisc_add(m->sk, q, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_qdisc_put(q);
	return rc;
}

/* The u32 filter: ip src = node src's address -> class 4d4e:S+1. */
static int
add_filter(struct mv_netem *m, int ifindex, size_t src, uint32_t ip)
{
	struct rtnl_cls *f = rtnl_cls_alloc();
	int rc;

	if (f == NULL)
		return -NLE_NOMEM;
	if ((rc = tc_init(
	         TC_CAST(f), ifindex, TC_HANDLE(ROOT_MAJOR, 0), 0, "u32"))
	    == 0) {
		rtnl_cls_set_prio(f, (uint16_t)(src + 1));
		rtnl_cls_set_protocol(f, ETH_P_IP);
		/* Offset 12 of the IP header: the source address. */
		if ((rc = rtnl_u32_add_key_uint32(
		         f, ntohl(ip), 0xffffffffu, 12, 0))
		        == 0
		    && (rc = rtnl_u32_set_classid(
		            f, TC_HANDLE(ROOT_MAJOR, (uint32_t)src + 1)))
		        == 0
		    && (rc = rtnl_u32_set_cls_terminal(f)) == 0)
			rc = rtnl_cls_add(m->sk, f, NLM_F_CREATE | NLM_F_EXCL);
	}
	rtnl_cls_put(f);
	return rc;
}

/* Checks s; 0 or -1 with e filled. */
static int
spec_check(const struct mv_netem_spec *s, uint32_t *ip, struct mv_err *e)
{
	size_t i, k = 0;

	if (s->n < 2 || s->n > MAX_NODES || s->nodes == NULL || s->cut == NULL)
		return mv_err_set(
		    e, "netem: need 2 to %d nodes and a cut", MAX_NODES);
	if (mv_nf_nodes_check("netem", s->nodes, s->n, ip, e) < 0)
		return -1;
	for (i = 0; i < s->n * s->n; i++)
		k += s->cut[i] != 0 && i % (s->n + 1) != 0;
	if (k == 0)
		return mv_err_set(e, "netem: no link to fault");
	if (s->delay_ms > 60000 || s->jitter_ms > 60000 || s->correlation > 100
	    || s->reorder > 100 || s->loss > 100 || s->dup > 100
	    || s->limit > 1000000 || (unsigned)s->leaf > MV_NETEM_LEAF_PFIFO)
		return mv_err_set(e,
		    "netem: delay and jitter must be at most 60000 ms, "
		    "percentages at most 100, limit at most 1000000");
	if (s->rate_bps != 0
	    && (s->rate_bps < 8000 || s->rate_bps > 10000000000ULL))
		return mv_err_set(
		    e, "netem: rate must be 8000 to 10000000000 bit/s");
	if (s->leaf == MV_NETEM_LEAF_NETEM && s->delay_ms == 0 && s->loss == 0
	    && s->dup == 0 && s->rate_bps == 0)
		return mv_err_set(e,
		    "netem: nothing to do (no delay, loss "
		    "or duplication)");
	if (s->leaf == MV_NETEM_LEAF_NETEM && s->reorder > 0
	    && s->delay_ms == 0)
		return mv_err_set(e, "netem: reorder needs a delay");
	return 0;
}

/* Builds the tree of destination d; 0, or -1 with e filled. */
static int
build_port(struct mv_netem *m, const struct mv_netem_spec *s,
    const uint32_t *ip, size_t d, struct mv_err *e)
{
	const char *what = "htb";
	size_t src;
	int rc, ifi;

	if ((ifi = if_index(m->sk, m->port[d], &rc)) <= 0)
		return mv_err_set(e, "%s: %s: %s", m->netns, m->port[d],
		    ifi == 0 ? "no such port" : nl_geterror(rc));
	m->ifindex[d] = ifi;
	m->ack.err = 0, m->ack.msg[0] = '\0';
	if ((rc = add_root(m, ifi)) < 0)
		return mv_err_set(e, "%s: %s: htb: %s", m->netns, m->port[d],
		    rc == -NLE_EXIST ? "the port has a root qdisc already"
		                     : kerr(&m->ack, rc));
	m->made[d] = 1;
	for (src = 0; src < m->n; src++) {
		if (!m->cut[src * m->n + d])
			continue;
		m->ack.err = 0, m->ack.msg[0] = '\0';
		what = s->leaf == MV_NETEM_LEAF_PFIFO ? "pfifo" : "netem";
		if ((rc = add_class(m, s, ifi, src)) < 0)
			break;
		what = "u32";
		if ((rc = add_filter(m, ifi, src, ip[src])) < 0)
			break;
	}
	if (rc < 0)
		return mv_err_set(e, "%s: %s: %s: %s", m->netns, m->port[d],
		    what, kerr(&m->ack, rc));
	return 0;
}

struct mv_netem *
mv_netem_start(const struct mv_netem_spec *s, struct mv_err *e)
{
	uint32_t ip[MAX_NODES];
	struct mv_netem *m;
	size_t i, d, n = s->n;

	if (spec_check(s, ip, e) < 0)
		return NULL;
	m = mv_xcalloc(1, sizeof(*m));
	m->netns = mv_xstrdup(s->netns ? s->netns : "");
	m->n = n, m->leaf = s->leaf, m->loss = s->loss;
	m->rate_bps = s->rate_bps;
	m->name = mv_xcalloc(n, sizeof(*m->name));
	m->port = mv_xcalloc(n, sizeof(*m->port));
	m->cut = mv_xcalloc(n * n, 1);
	m->ifindex = mv_xcalloc(n, sizeof(*m->ifindex));
	m->made = mv_xcalloc(n, sizeof(*m->made));
	for (i = 0; i < n; i++) {
		m->name[i] = mv_xstrdup(s->nodes[i].name);
		m->port[i] = mv_xstrdup(s->nodes[i].port);
	}
	for (i = 0; i < n * n; i++)
		m->cut[i] = s->cut[i] != 0 && i % (n + 1) != 0;
	if ((m->sk = rt_sock(m->netns, &m->ack, e)) == NULL) {
		ne_free(m);
		return NULL;
	}
	for (d = 0; d < n; d++) {
		for (i = 0; i < n && !m->cut[i * n + d]; i++)
			;
		if (i < n && build_port(m, s, ip, d, e) < 0)
			break;
	}
	if (d == n)
		return m;
	/* Undo what was made: a root takes its classes and filters. */
	for (d = 0; d < n; d++)
		if (m->made[d])
			(void)mv_tc_root_delete(
			    m->sk, m->ifindex[d], ROOT_MAJOR);
	ne_free(m);
	return NULL;
}

/* The qdisc of handle h on ifindex in cache c (a new reference) or NULL. */
static struct rtnl_qdisc *
qdisc_of(struct nl_cache *c, int ifindex, uint32_t h)
{
	return rtnl_qdisc_get(c, ifindex, h);
}

long long
mv_netem_packets(const struct mv_netem *m, size_t src, size_t dst)
{
	struct nl_cache *c;
	struct rtnl_qdisc *q;
	long long v = -1;

	if (src >= m->n || dst >= m->n || !m->cut[src * m->n + dst]
	    || rtnl_qdisc_alloc_cache(m->sk, &c) < 0)
		return -1;
	if ((q = qdisc_of(
	         c, m->ifindex[dst], TC_HANDLE(LEAF_MAJOR + (uint32_t)src, 0)))
	    != NULL) {
		v = (long long)rtnl_tc_get_stat(TC_CAST(q), RTNL_TC_PACKETS);
		rtnl_qdisc_put(q);
	}
	nl_cache_free(c);
	return v;
}

/*
 * Appends ,"bytes":N,"overlimits":N of the class of the link from src to
 * dst (tc -s class: what it sent, and how often it had to wait for its
 * rate); returns the overlimits.  Read afresh: the qdisc cache has no
 * classes.
 */
static uint64_t
class_stats(const struct mv_netem *m, size_t dst, size_t src, struct mv_buf *b)
{
	struct nl_cache *cc;
	struct rtnl_class *k;
	uint64_t by = 0, ov = 0;

	if (rtnl_class_alloc_cache(m->sk, m->ifindex[dst], &cc) == 0) {
		if ((k = rtnl_class_get(cc, m->ifindex[dst],
		         TC_HANDLE(ROOT_MAJOR, (uint32_t)src + 1)))
		    != NULL) {
			by = rtnl_tc_get_stat(TC_CAST(k), RTNL_TC_BYTES);
			ov = rtnl_tc_get_stat(TC_CAST(k), RTNL_TC_OVERLIMITS);
			rtnl_class_put(k);
		}
		nl_cache_free(cc);
	}
	mv_buf_addf(b, ",\"bytes\":%llu,\"overlimits\":%llu",
	    (unsigned long long)by, (unsigned long long)ov);
	return ov;
}

/* Appends the links with their leaves' counters; sums them in *pk, *dr;
 * *gone is set when a port's root had vanished. */
static void
add_links(const struct mv_netem *m, struct nl_cache *c, struct mv_buf *b,
    uint64_t *pk, uint64_t *dr, uint64_t *ov, int *gone)
{
	size_t s, d;
	int comma = 0;

	*pk = *dr = *ov = 0, *gone = c == NULL;
	for (d = 0; c != NULL && d < m->n; d++) {
		struct rtnl_qdisc *q;

		if (!m->made[d])
			continue;
		if ((q = qdisc_of(c, m->ifindex[d], TC_HANDLE(ROOT_MAJOR, 0)))
		    == NULL)
			*gone = 1;
		else
			rtnl_qdisc_put(q);
	}
	mv_buf_adds(b, ",\"links\":[");
	for (s = 0; s < m->n; s++)
		for (d = 0; d < m->n; d++) {
			struct rtnl_qdisc *q = NULL;
			uint64_t p = 0, x = 0;

			if (!m->cut[s * m->n + d])
				continue;
			if (c != NULL
			    && (q = qdisc_of(c, m->ifindex[d],
			            TC_HANDLE(LEAF_MAJOR + (uint32_t)s, 0)))
			        != NULL) {
				p = rtnl_tc_get_stat(
				    TC_CAST(q), RTNL_TC_PACKETS);
				x = rtnl_tc_get_stat(TC_CAST(q), RTNL_TC_DROPS);
				rtnl_qdisc_put(q);
			}
			*pk += p, *dr += x;
			mv_buf_addf(b,
			    "%s{\"from\":\"%s\",\"to\":\"%s\",\"packets\":%llu,"
			    "\"drops\":%llu",
			    comma++ ? "," : "", m->name[s], m->name[d],
			    (unsigned long long)p, (unsigned long long)x);
			if (m->rate_bps > 0)
				*ov += class_stats(m, d, s, b);
			mv_buf_addc(b, '}');
		}
	mv_buf_adds(b, "]");
}

/* Appends the report of m (see netem.h); returns the verdict: 1 true, 0
 * false, -1 null. */
static int
report(const struct mv_netem *m, struct mv_buf *out)
{
	struct mv_buf b = MV_BUF_INIT;
	struct nl_cache *c = NULL;
	const char *why = "";
	uint64_t pk, dr, ov;
	size_t d;
	int gone, v = 1, comma = 0;

	if (rtnl_qdisc_alloc_cache(m->sk, &c) < 0)
		c = NULL;
	mv_buf_addf(&b, "{\"method\":\"%s\",\"leaf\":\"%s\",",
	    m->rate_bps > 0 && m->leaf == MV_NETEM_LEAF_PFIFO ? "htb" : "netem",
	    m->leaf == MV_NETEM_LEAF_PFIFO ? "pfifo" : "netem");
	if (m->rate_bps > 0)
		mv_buf_addf(
		    &b, "\"rate_bps\":%llu,", (unsigned long long)m->rate_bps);
	mv_buf_adds(&b, "\"ports\":[");
	for (d = 0; d < m->n; d++)
		if (m->made[d])
			mv_buf_addf(
			    &b, "%s\"%s\"", comma++ ? "," : "", m->port[d]);
	mv_buf_adds(&b, "]");
	add_links(m, c, &b, &pk, &dr, &ov, &gone);
	if (gone)
		v = 0, why = "the qdiscs were gone before the fault stopped";
	else if (pk == 0 && dr == 0)
		v = -1, why = "no packet was sent on the links";
	else if (m->loss > 0 && dr == 0)
		v = 0, why = "no packet was lost";
	else if (m->rate_bps > 0 && ov == 0)
		v = -1, why = "the traffic stayed under the rate";
	mv_buf_addf(&b, ",\"packets\":%llu,\"drops\":%llu",
	    (unsigned long long)pk, (unsigned long long)dr);
	mv_nf_report_end(&b, v, why);
	if (out != NULL)
		mv_buf_add(out, b.p, b.len);
	mv_buf_release(&b);
	if (c != NULL)
		nl_cache_free(c);
	return v;
}

int
mv_netem_stop(struct mv_netem *m, struct mv_buf *out, struct mv_err *e)
{
	struct nl_cache *c = NULL;
	struct rtnl_qdisc *q;
	size_t d;
	int v = report(m, out), rc, bad = 0;

	if (rtnl_qdisc_alloc_cache(m->sk, &c) < 0)
		c = NULL;
	for (d = 0; d < m->n; d++) {
		if (!m->made[d])
			continue;
		/* One healed by someone else: deleting it would be EINVAL. */
		if (c != NULL
		    && (q = qdisc_of(
		            c, m->ifindex[d], TC_HANDLE(ROOT_MAJOR, 0)))
		        == NULL)
			continue;
		if (c != NULL)
			rtnl_qdisc_put(q);
		m->ack.err = 0, m->ack.msg[0] = '\0';
		rc = mv_tc_root_delete(m->sk, m->ifindex[d], ROOT_MAJOR);
		if (rc < 0 && rc != -NLE_OBJ_NOTFOUND && !bad++)
			mv_err_set(e, "%s: %s: cannot remove the htb qdisc: %s",
			    m->netns, m->port[d], kerr(&m->ack, rc));
	}
	if (c != NULL)
		nl_cache_free(c);
	ne_free(m);
	return bad ? -1 : v > 0;
}

int
mv_netem_del(const char *netns, const char *port, struct mv_err *e)
{
	struct ack a = {0, ""};
	struct nl_sock *sk;
	struct nl_cache *c;
	struct rtnl_qdisc *q = NULL;
	int ifi, rc = 0;

	if (!mv_ifname_ok(port))
		return mv_err_set(e, "bad port name: %s", port ? port : "");
	if ((sk = rt_sock(netns, &a, e)) == NULL)
		return -1;
	if ((ifi = if_index(sk, port, &rc)) < 0)
		mv_err_set(e, "%s: %s: %s", netns, port, nl_geterror(rc));
	else if (ifi > 0 && (rc = rtnl_qdisc_alloc_cache(sk, &c)) < 0)
		mv_err_set(e, "%s: %s: %s", netns, port, nl_geterror(rc));
	else if (ifi > 0) {
		q = qdisc_of(c, ifi, TC_HANDLE(ROOT_MAJOR, 0));
		if (q != NULL && rtnl_tc_get_parent(TC_CAST(q)) == TC_H_ROOT) {
			if ((rc = mv_tc_root_delete(sk, ifi, ROOT_MAJOR)) < 0)
				mv_err_set(e,
				    "%s: %s: cannot remove the htb qdisc: %s",
				    netns, port, kerr(&a, rc));
			else
				rc = 1;
		}
		if (q != NULL)
			rtnl_qdisc_put(q);
		nl_cache_free(c);
	}
	if (ifi == 0)
		rc = 0;
	nl_socket_free(sk);
	return ifi < 0 || rc < 0 ? -1 : rc;
}
