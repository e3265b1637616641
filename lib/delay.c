/*
 * delay.c: delay, jitter and reordering through a user-space NFQUEUE
 * delayer, and bandwidth limits through tbf, on a namespace cluster
 * (delay.h).
 *
 * Why the rules are built by hand: this kernel has no nftables "queue"
 * expression (nft_queue), which is all libnftables can write for
 * "queue num N bypass"; it has nft_compat and the xtables NFQUEUE target
 * (what iptables-nft uses).  So the table, its chain and its rules are
 * nf_tables netlink messages of our own, sent in one batch (one
 * transaction), with the NFQUEUE target inside.
 *
 * Why the ip family in the switch namespace: the bridge family would be
 * the natural place, but nft_compat refuses NFQUEUE there (ENOENT); the
 * switch's bridge hands its IPv4 traffic to the ip family's forward hook
 * (br_netfilter, "bridge-nf-call-iptables", on by default in a new
 * namespace), after the bridge family's own chains, so netfault's cuts
 * come first.  So every fault of a cluster stays in the switch namespace,
 * one queue serves every link, and the nodes' namespaces stay untouched.
 */
#define _GNU_SOURCE /* ppoll, pipe2 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_tables_compat.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/xt_NFQUEUE.h>

#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/tbf.h>
#include <netlink/route/tc.h>

#include "buf.h"
#include "delay.h"
#include "netem.h"
#include "mv.h"
#include "netfault.h"
#include "ns.h"
#include "rtsock.h"

/*
 * libnetfilter_queue.h pulls in libnfnetlink's older copy of nfnetlink.h,
 * whose include guard hides the kernel's, which has these.
 */
#ifndef NFNL_SUBSYS_NFTABLES
#define NFNL_SUBSYS_NFTABLES 10
#endif
#ifndef NFNL_MSG_BATCH_BEGIN
#define NFNL_MSG_BATCH_BEGIN NLMSG_MIN_TYPE
#define NFNL_MSG_BATCH_END (NLMSG_MIN_TYPE + 1)
#endif

#define QUEUE_AUTO 4096  /* first queue number tried for queue 0 */
#define QUEUE_TRIES 1024 /* and how many after it */
#define LIMIT_DEFAULT 4096
#define BW_HANDLE 0x4d56u /* "MV": the major of our qdiscs' handle */

/* ---- netlink plumbing ---- */

/*
 * Sends len bytes of messages on nl and reads the answers until want
 * acknowledgements came or one carried an error (returned as a negative
 * errno; 0 when all were acknowledged).  A 2 s receive timeout keeps a
 * silent kernel from hanging us.
 */
static int
nl_talk(struct mnl_socket *nl, const void *msg, size_t len, int want)
{
	char buf[8192];
	ssize_t n;
	int acks = 0;

	if (mnl_socket_sendto(nl, msg, len) < 0)
		return -errno;
	while (acks < want) {
		const struct nlmsghdr *h;
		int left;

		if ((n = mnl_socket_recvfrom(nl, buf, sizeof(buf))) < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		left = (int)n;
		for (h = (const struct nlmsghdr *)buf; mnl_nlmsg_ok(h, left);
		     h = mnl_nlmsg_next(h, &left)) {
			const struct nlmsgerr *er;

			if (h->nlmsg_type != NLMSG_ERROR)
				continue;
			er = mnl_nlmsg_get_payload(h);
			if (er->error != 0)
				return er->error;
			acks++;
		}
	}
	return 0;
}

/* A netlink socket of bus made in the current namespace, with a receive
 * timeout; NULL with errno set. */
static struct mnl_socket *
nl_open(int bus)
{
	struct timeval tv = {2, 0};
	struct mnl_socket *nl;

	if ((nl = mnl_socket_open2(bus, SOCK_CLOEXEC)) == NULL)
		return NULL;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0
	    || setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv,
	           sizeof(tv))
	        < 0) {
		int er = errno;

		mnl_socket_close(nl);
		errno = er;
		return NULL;
	}
	return nl;
}

/* ---- the table, as nf_tables messages ---- */

/* Starts an nf_tables message of type t (a batch delimiter if t is
 * NFNL_MSG_BATCH_BEGIN or _END) at b->p + b->len. */
static struct nlmsghdr *
nft_put(
    struct mv_buf *b, uint16_t t, uint8_t family, uint16_t flags, uint32_t seq)
{
	int delim = t == NFNL_MSG_BATCH_BEGIN || t == NFNL_MSG_BATCH_END;
	struct nlmsghdr *h;
	struct nfgenmsg *g;

	mv_buf_grow(b, 4096);
	h = mnl_nlmsg_put_header(b->p + b->len);
	h->nlmsg_type = delim ? t : (NFNL_SUBSYS_NFTABLES << 8) | t;
	h->nlmsg_flags = NLM_F_REQUEST | flags;
	h->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(h, sizeof(*g));
	g->nfgen_family = family;
	g->version = NFNETLINK_V0;
	g->res_id = delim ? htons(NFNL_SUBSYS_NFTABLES) : 0;
	return h;
}

/* Ends the message h (it grew in place) in b. */
static void
nft_end(struct mv_buf *b, struct nlmsghdr *h)
{
	b->len += NLMSG_ALIGN(h->nlmsg_len);
}

/* reg1 = the n bytes at offset off of the IP header. */
static void
expr_load(struct nlmsghdr *h, uint32_t off, uint32_t n)
{
	struct nlattr *el, *data;

	el = mnl_attr_nest_start(h, NFTA_LIST_ELEM);
	mnl_attr_put_strz(h, NFTA_EXPR_NAME, "payload");
	data = mnl_attr_nest_start(h, NFTA_EXPR_DATA);
	mnl_attr_put_u32(h, NFTA_PAYLOAD_DREG, htonl(NFT_REG_1));
	mnl_attr_put_u32(
	    h, NFTA_PAYLOAD_BASE, htonl(NFT_PAYLOAD_NETWORK_HEADER));
	mnl_attr_put_u32(h, NFTA_PAYLOAD_OFFSET, htonl(off));
	mnl_attr_put_u32(h, NFTA_PAYLOAD_LEN, htonl(n));
	mnl_attr_nest_end(h, data);
	mnl_attr_nest_end(h, el);
}

/* reg1 == the n bytes at v, or the rule stops here. */
static void
expr_cmp(struct nlmsghdr *h, const void *v, size_t n)
{
	struct nlattr *el, *data, *val;

	el = mnl_attr_nest_start(h, NFTA_LIST_ELEM);
	mnl_attr_put_strz(h, NFTA_EXPR_NAME, "cmp");
	data = mnl_attr_nest_start(h, NFTA_EXPR_DATA);
	mnl_attr_put_u32(h, NFTA_CMP_SREG, htonl(NFT_REG_1));
	mnl_attr_put_u32(h, NFTA_CMP_OP, htonl(NFT_CMP_EQ));
	val = mnl_attr_nest_start(h, NFTA_CMP_DATA);
	mnl_attr_put(h, NFTA_DATA_VALUE, n, v);
	mnl_attr_nest_end(h, val);
	mnl_attr_nest_end(h, data);
	mnl_attr_nest_end(h, el);
}

/* The xtables target NFQUEUE v3: queue q, bypassed when no one listens. */
static void
expr_nfqueue(struct nlmsghdr *h, unsigned q)
{
	struct xt_NFQ_info_v3 info;
	char pad[8]; /* XT_ALIGN(sizeof(info)) */
	struct nlattr *el, *data;

	memset(&info, 0, sizeof(info));
	info.queuenum = (uint16_t)q;
	info.queues_total = 1;
	info.flags = NFQ_FLAG_BYPASS;
	memset(pad, 0, sizeof(pad));
	memcpy(pad, &info, sizeof(info));
	el = mnl_attr_nest_start(h, NFTA_LIST_ELEM);
	mnl_attr_put_strz(h, NFTA_EXPR_NAME, "target");
	data = mnl_attr_nest_start(h, NFTA_EXPR_DATA);
	mnl_attr_put_strz(h, NFTA_TARGET_NAME, "NFQUEUE");
	mnl_attr_put_u32(h, NFTA_TARGET_REV, htonl(3));
	mnl_attr_put(h, NFTA_TARGET_INFO, sizeof(pad), pad);
	mnl_attr_nest_end(h, data);
	mnl_attr_nest_end(h, el);
}

/* One held packet: the kernel's id, when it came and when it is due. */
struct held {
	int64_t due, at, target; /* ns; target: the drawn hold */
	uint64_t seq;            /* arrival order */
	uint32_t id;
};

struct mv_delay {
	char *netns, *table;
	uint32_t (*ip)[2]; /* links: source, destination; network order */
	size_t nlinks;
	unsigned queue, delay_ms, jitter_ms, reorder;
	enum mv_delay_dist dist;
	struct mv_rng rng;
	struct mnl_socket *nq; /* the queue's socket, in the namespace */
	struct held *heap;
	size_t nheld, limit;
	struct mv_buf vbuf; /* verdicts not yet sent */
	char *rbuf;         /* receive buffer */
	size_t rsize;
	uint64_t seq, packets, delayed, reordered, overflow, flushed;
	uint64_t top_seq; /* highest seq released + 1; 0: none yet */
	int64_t sum_hold, sum_target, max_hold; /* ns, of the delayed */
	int stopping;                           /* the thread's */
	int failed;                             /* the thread's */
	char why[160];                          /* why it failed */
	int wake[2], ack[2];
	int running;
	pthread_t th;
};

static void
dl_free(struct mv_delay *d)
{
	if (d == NULL)
		return;
	if (d->nq != NULL)
		mnl_socket_close(d->nq);
	if (d->wake[0] >= 0)
		close(d->wake[0]);
	if (d->wake[1] >= 0)
		close(d->wake[1]);
	if (d->ack[0] >= 0)
		close(d->ack[0]);
	if (d->ack[1] >= 0)
		close(d->ack[1]);
	mv_buf_release(&d->vbuf);
	free(d->rbuf);
	free(d->heap);
	free(d->ip);
	free(d->netns);
	free(d->table);
	free(d);
}

/* Checks s and copies it into a new fault; NULL with e filled. */
static struct mv_delay *
dl_new(const struct mv_delay_spec *s, struct mv_err *e)
{
	struct mv_delay *d;
	size_t i;

	if (mv_nf_table_check(s->table, e) < 0)
		return NULL;
	if (s->links == NULL || s->nlinks < 1 || s->nlinks > 4096)
		return mv_err_set(e, "%s: need 1 to 4096 links", s->table),
		       NULL;
	if (s->delay_ms > 60000 || s->jitter_ms > 60000 || s->reorder > 100
	    || s->queue > 65535 || (unsigned)s->dist > MV_DELAY_NORMAL
	    || s->limit > 1000000)
		return mv_err_set(e,
		           "%s: delay and jitter must be at most 60000 ms, "
		           "reorder at most 100%%, queue at most 65535, limit "
		           "at most 1000000",
		           s->table),
		       NULL;
	d = mv_xcalloc(1, sizeof(*d));
	d->wake[0] = d->wake[1] = d->ack[0] = d->ack[1] = -1;
	d->ip = mv_xcalloc(s->nlinks, sizeof(*d->ip));
	for (i = 0; i < s->nlinks; i++) {
		if (mv_ipv4_parse(s->links[i].src, &d->ip[i][0]) < 0
		    || mv_ipv4_parse(s->links[i].dst, &d->ip[i][1]) < 0) {
			mv_err_set(
			    e, "%s: link %zu: bad IPv4 address", s->table, i);
			dl_free(d);
			return NULL;
		}
	}
	d->nlinks = s->nlinks;
	d->netns = mv_xstrdup(s->netns ? s->netns : "");
	d->table = mv_xstrdup(s->table);
	d->queue = s->queue;
	d->delay_ms = s->delay_ms;
	d->jitter_ms = s->jitter_ms;
	d->reorder = s->reorder;
	d->dist = s->dist;
	mv_rng_seed(&d->rng, s->seed);
	d->limit = s->limit ? s->limit : LIMIT_DEFAULT;
	d->heap = mv_xcalloc(d->limit, sizeof(*d->heap));
	d->rsize = 1 << 16;
	d->rbuf = mv_xmalloc(d->rsize);
	return d;
}

/*
 * The batch that installs d: table ip T, chain "delay" on the forward
 * hook, one rule per link (see delay.h).  Returns how many messages in it
 * want an acknowledgement.
 */
static int
dl_batch(const struct mv_delay *d, struct mv_buf *b)
{
	struct nlmsghdr *h;
	struct nlattr *n;
	uint32_t seq = (uint32_t)time(NULL);
	size_t i;
	int k = 0;

	h = nft_put(b, NFNL_MSG_BATCH_BEGIN, AF_UNSPEC, 0, seq++);
	nft_end(b, h);
	h = nft_put(b, NFT_MSG_NEWTABLE, NFPROTO_IPV4,
	    NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, seq++);
	mnl_attr_put_strz(h, NFTA_TABLE_NAME, d->table);
	nft_end(b, h), k++;
	h = nft_put(
	    b, NFT_MSG_NEWCHAIN, NFPROTO_IPV4, NLM_F_CREATE | NLM_F_ACK, seq++);
	mnl_attr_put_strz(h, NFTA_CHAIN_TABLE, d->table);
	mnl_attr_put_strz(h, NFTA_CHAIN_NAME, "delay");
	n = mnl_attr_nest_start(h, NFTA_CHAIN_HOOK);
	mnl_attr_put_u32(h, NFTA_HOOK_HOOKNUM, htonl(NF_INET_FORWARD));
	mnl_attr_put_u32(h, NFTA_HOOK_PRIORITY, htonl((uint32_t)-100));
	mnl_attr_nest_end(h, n);
	mnl_attr_put_u32(h, NFTA_CHAIN_POLICY, htonl(NF_ACCEPT));
	mnl_attr_put_strz(h, NFTA_CHAIN_TYPE, "filter");
	nft_end(b, h), k++;
	for (i = 0; i < d->nlinks; i++) {
		h = nft_put(b, NFT_MSG_NEWRULE, NFPROTO_IPV4,
		    NLM_F_CREATE | NLM_F_APPEND | NLM_F_ACK, seq++);
		mnl_attr_put_strz(h, NFTA_RULE_TABLE, d->table);
		mnl_attr_put_strz(h, NFTA_RULE_CHAIN, "delay");
		n = mnl_attr_nest_start(h, NFTA_RULE_EXPRESSIONS);
		expr_load(h, 12, 8); /* saddr, daddr */
		expr_cmp(h, d->ip[i], sizeof(d->ip[i]));
		expr_nfqueue(h, d->queue);
		mnl_attr_nest_end(h, n);
		nft_end(b, h), k++;
	}
	h = nft_put(b, NFNL_MSG_BATCH_END, AF_UNSPEC, 0, seq++);
	nft_end(b, h);
	return k;
}

/* Sends one queue config message (cmd, or the parameters if cmd is 0). */
static int
nfq_config(struct mnl_socket *nl, unsigned q, uint8_t cmd, uint32_t maxlen)
{
	char buf[512];
	struct nlmsghdr *h = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, q);
	uint32_t fl = NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO;

	h->nlmsg_flags |= NLM_F_ACK;
	if (cmd != 0)
		nfq_nlmsg_cfg_put_cmd(h, AF_INET, cmd);
	else {
		/* ids only: the delayer never looks at the payload */
		nfq_nlmsg_cfg_put_params(h, NFQNL_COPY_META, 0);
		nfq_nlmsg_cfg_put_qmaxlen(h, maxlen);
		mnl_attr_put_u32(h, NFQA_CFG_FLAGS, htonl(fl));
		mnl_attr_put_u32(h, NFQA_CFG_MASK, htonl(fl));
	}
	return nl_talk(nl, buf, h->nlmsg_len, 1);
}

/*
 * Opens the queue's socket in the current namespace and binds d->queue
 * (or, for 0, the first free one from QUEUE_AUTO up).  Fail-open: when
 * the kernel's queue or our socket is full, packets pass undelayed
 * rather than being dropped.
 */
static int
queue_open(struct mv_delay *d, struct mv_err *e)
{
	unsigned q = d->queue ? d->queue : QUEUE_AUTO;
	unsigned last = d->queue ? d->queue : QUEUE_AUTO + QUEUE_TRIES - 1;
	int one = 1, sz = 1 << 22, rc = -EBUSY;

	if ((d->nq = nl_open(NETLINK_NETFILTER)) == NULL)
		return mv_err_set(
		    e, "%s: nfqueue socket: %s", d->netns, strerror(errno));
	setsockopt(mnl_socket_get_fd(d->nq), SOL_SOCKET, SO_RCVBUFFORCE, &sz,
	    sizeof(sz));
	setsockopt(mnl_socket_get_fd(d->nq), SOL_NETLINK, NETLINK_NO_ENOBUFS,
	    &one, sizeof(one));
	for (; q <= last; q++) {
		rc = nfq_config(d->nq, q, NFQNL_CFG_CMD_BIND, 0);
		if (rc != -EPERM && rc != -EBUSY)
			break;
	}
	if (rc == 0)
		rc = nfq_config(d->nq, q, 0, (uint32_t)(2 * d->limit + 1024));
	if (rc < 0 && d->queue == 0 && q > last)
		return mv_err_set(e, "%s: no free nfqueue from %u to %u",
		    d->netns, QUEUE_AUTO, last);
	if (rc < 0)
		return mv_err_set(
		    e, "%s: nfqueue %u: %s", d->netns, q, strerror(-rc));
	d->queue = q;
	return 0;
}

/* ---- the delayer ---- */

static int
held_before(const struct held *a, const struct held *b)
{
	return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void
heap_push(struct mv_delay *d, const struct held *x)
{
	size_t i = d->nheld++, p;

	while (i > 0 && held_before(x, &d->heap[p = (i - 1) / 2])) {
		d->heap[i] = d->heap[p];
		i = p;
	}
	d->heap[i] = *x;
}

static struct held
heap_pop(struct mv_delay *d)
{
	struct held top = d->heap[0], x = d->heap[--d->nheld];
	size_t i = 0, c;

	while ((c = 2 * i + 1) < d->nheld) {
		if (c + 1 < d->nheld
		    && held_before(&d->heap[c + 1], &d->heap[c]))
			c++;
		if (!held_before(&d->heap[c], &x))
			break;
		d->heap[i] = d->heap[c];
		i = c;
	}
	if (d->nheld > 0)
		d->heap[i] = x;
	return top;
}

/* Sends the verdicts gathered in vbuf, all in one datagram. */
static void
verdicts_send(struct mv_delay *d)
{
	if (d->vbuf.len == 0)
		return;
	if (mnl_socket_sendto(d->nq, d->vbuf.p, d->vbuf.len) < 0
	    && !d->failed) {
		d->failed = 1;
		snprintf(
		    d->why, sizeof(d->why), "verdicts: %s", strerror(errno));
	}
	d->vbuf.len = 0;
}

/* Queues an accept verdict for packet id (arrival seq) and counts the
 * release order. */
static void
accept_pkt(struct mv_delay *d, uint32_t id, uint64_t seq)
{
	struct nlmsghdr *h;

	if (d->vbuf.len > 60000)
		verdicts_send(d);
	mv_buf_grow(&d->vbuf, 256);
	h = nfq_nlmsg_put(d->vbuf.p + d->vbuf.len, NFQNL_MSG_VERDICT, d->queue);
	nfq_nlmsg_verdict_put(h, (int)id, NF_ACCEPT);
	d->vbuf.len += NLMSG_ALIGN(h->nlmsg_len);
	if (seq + 1 < d->top_seq)
		d->reordered++;
	else
		d->top_seq = seq + 1;
}

/* Releases a packet that was held as it was meant to be. */
static void
release(struct mv_delay *d, const struct held *x, int64_t now)
{
	int64_t hold = now - x->at;

	accept_pkt(d, x->id, x->seq);
	d->delayed++;
	d->sum_hold += hold;
	d->sum_target += x->target;
	if (hold > d->max_hold)
		d->max_hold = hold;
}

/* One draw of the hold, in ns, never below 0. */
static int64_t
draw(struct mv_delay *d)
{
	double ms = d->delay_ms, j = d->jitter_ms;

	if (j > 0 && d->dist == MV_DELAY_UNIFORM)
		ms += (2 * mv_rng_double(&d->rng) - 1) * j;
	else if (j > 0) {
		double u = 1 - mv_rng_double(&d->rng); /* (0, 1] */
		double v = mv_rng_double(&d->rng);

		ms += j * sqrt(-2 * log(u)) * cos(2 * M_PI * v);
	}
	return ms > 0 ? (int64_t)(ms * 1e6) : 0;
}

/* A packet arrived: hold it, or (reorder share, full heap, no hold,
 * stopping) release it at once. */
static void
arrive(struct mv_delay *d, uint32_t id)
{
	struct held x;
	int64_t now = mv_now_ns();

	x.seq = d->seq++;
	x.id = id;
	x.at = now;
	d->packets++;
	if (d->stopping) {
		accept_pkt(d, id, x.seq);
		d->flushed++;
		return;
	}
	if (d->reorder > 0 && mv_rng_below(&d->rng, 100) < d->reorder) {
		accept_pkt(d, id, x.seq);
		return;
	}
	x.target = draw(d);
	x.due = now + x.target;
	if (x.target == 0) {
		release(d, &x, now);
		return;
	}
	if (d->nheld == d->limit) {
		accept_pkt(d, id, x.seq);
		d->overflow++;
		return;
	}
	heap_push(d, &x);
}

/* One message from the queue: a packet to hold; anything else (such as
 * the error a late verdict earns) is skipped. */
static void
on_msg(struct mv_delay *d, const struct nlmsghdr *h)
{
	struct nlattr *attr[NFQA_MAX + 1];
	struct nfqnl_msg_packet_hdr *ph;

	if ((h->nlmsg_type & 0xff) != NFQNL_MSG_PACKET
	    || (h->nlmsg_type >> 8) != NFNL_SUBSYS_QUEUE)
		return;
	memset(attr, 0, sizeof(attr));
	if (nfq_nlmsg_parse(h, attr) < 0 || attr[NFQA_PACKET_HDR] == NULL)
		return;
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	arrive(d, ntohl(ph->packet_id));
}

/*
 * Reads what the queue's socket holds now (at most 64 reads, so that
 * releases stay on time under a flood).  Returns how many reads brought
 * something.
 */
static int
receive(struct mv_delay *d)
{
	const struct nlmsghdr *h;
	ssize_t n;
	int k, left;

	for (k = 0; k < 64; k++) {
		n = recv(
		    mnl_socket_get_fd(d->nq), d->rbuf, d->rsize, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == ENOBUFS))
			continue;
		if (n <= 0)
			break;
		left = (int)n;
		for (h = (const struct nlmsghdr *)d->rbuf;
		     mnl_nlmsg_ok(h, left); h = mnl_nlmsg_next(h, &left))
			on_msg(d, h);
	}
	return k;
}

/* Releases every held packet that is due by now. */
static void
release_due(struct mv_delay *d)
{
	int64_t now = mv_now_ns();

	while (d->nheld > 0 && d->heap[0].due <= now) {
		struct held x = heap_pop(d);

		release(d, &x, now);
	}
}

/*
 * The first half of the stop: every held packet goes now, and from here
 * on every packet passes at once.  This comes before the table is
 * deleted because deleting a hook makes the kernel drop the packets
 * still queued from it.  Acknowledged with a byte on ack[1].
 */
static void
pass_all(struct mv_delay *d)
{
	char c = 'p';

	d->stopping = 1;
	while (d->nheld > 0) {
		struct held x = heap_pop(d);

		accept_pkt(d, x.id, x.seq);
		d->flushed++;
	}
	receive(d);
	verdicts_send(d);
	while (write(d->ack[1], &c, 1) < 0 && errno == EINTR)
		;
}

/*
 * The second half, once the table is gone: lets through what is still on
 * its way, until the socket was quiet for 10 ms (at most 500 ms in all,
 * should the table have stayed).
 */
static void
drain_rest(struct mv_delay *d)
{
	struct pollfd p = {mnl_socket_get_fd(d->nq), POLLIN, 0};
	int64_t end = mv_now_ns() + 500 * 1000000LL;

	do {
		receive(d);
		verdicts_send(d);
	} while (poll(&p, 1, 10) > 0 && mv_now_ns() < end);
}

/*
 * The delayer thread, driven by bytes on wake[0]: 'p' pass_all, 'q'
 * drain_rest and return.  A delayer that fails lets everything go and
 * unbinds its queue, so the kernel bypasses it from then on.
 */
static void *
delayer(void *arg)
{
	struct mv_delay *d = arg;
	struct pollfd p[2];
	struct timespec ts;
	struct sched_param sp;

	/*
	 * Wake on time for each release, even on a loaded machine: the
	 * lowest real-time priority (when we may; the kernel's real-time
	 * throttling still leaves the rest of the system its share under a
	 * flood), and no timer slack on top of each sleep.
	 */
	memset(&sp, 0, sizeof(sp));
	sp.sched_priority = 1;
	pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
	prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	p[0].fd = mnl_socket_get_fd(d->nq);
	p[1].fd = d->wake[0];
	p[0].events = p[1].events = POLLIN;
	for (;;) {
		int64_t wait = -1;

		release_due(d);
		verdicts_send(d);
		if (d->nheld > 0) {
			wait = d->heap[0].due - mv_now_ns();
			if (wait < 0)
				wait = 0;
			ts.tv_sec = (time_t)(wait / 1000000000);
			ts.tv_nsec = (long)(wait % 1000000000);
		}
		if (ppoll(p, 2, wait < 0 ? NULL : &ts, NULL) < 0
		    && errno != EINTR) {
			d->failed = 1;
			snprintf(d->why, sizeof(d->why), "poll: %s",
			    strerror(errno));
			break;
		}
		if (p[0].revents & POLLIN)
			receive(d);
		else if (p[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
			d->failed = 1;
			snprintf(d->why, sizeof(d->why),
			    "the queue's socket failed");
			break;
		}
		if (p[1].revents != 0) {
			char c = 'q';

			if (read(d->wake[0], &c, 1) == 1 && c == 'p') {
				pass_all(d);
				continue;
			}
			drain_rest(d);
			return NULL;
		}
	}
	/* failed */
	pass_all(d);
	nfq_config(d->nq, d->queue, NFQNL_CFG_CMD_UNBIND, 0);
	return NULL;
}

/* ---- start and stop ---- */

/*
 * 0 if the bridges of the current namespace pass IPv4 through the ip
 * family's hooks (without that, the rules never see a packet), else -1
 * with e filled.  The setting is the namespace owner's, not ours to flip.
 */
static int
brnf_on(const char *netns, struct mv_err *e)
{
	const char *p = "/proc/sys/net/bridge/bridge-nf-call-iptables";
	char c = '0';
	int fd = open(p, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (read(fd, &c, 1) != 1)
			c = '0';
		close(fd);
	}
	if (c == '1')
		return 0;
	return mv_err_set(e,
	    "%s: net.bridge.bridge-nf-call-iptables is not 1 there, so "
	    "bridged packets would never reach the delay",
	    netns);
}

struct mv_delay *
mv_delay_start(const struct mv_delay_spec *s, struct mv_err *e)
{
	struct mv_delay *d;
	struct mnl_socket *nft = NULL;
	struct mv_buf b = MV_BUF_INIT;
	int back = -1, rc, want, sz;

	if ((d = dl_new(s, e)) == NULL)
		return NULL;
	if (mv_netns_enter(d->netns, &back, e) < 0) {
		dl_free(d);
		return NULL;
	}
	rc = brnf_on(d->netns, e);
	if (rc == 0)
		rc = queue_open(d, e);
	if (rc == 0 && (nft = nl_open(NETLINK_NETFILTER)) == NULL)
		rc = mv_err_set(
		    e, "%s: nftables socket: %s", d->netns, strerror(errno));
	mv_netns_leave(back);
	if (rc < 0)
		goto fail;
	want = dl_batch(d, &b);
	sz = (int)b.len + 65536;
	setsockopt(mnl_socket_get_fd(nft), SOL_SOCKET, SO_SNDBUFFORCE, &sz,
	    sizeof(sz));
	if ((rc = nl_talk(nft, b.p, b.len, want)) < 0) {
		mv_err_set(e, "%s: nftables: table ip %s: %s", d->netns,
		    d->table,
		    rc == -EEXIST ? "a table of that name exists"
		                  : strerror(-rc));
		goto fail;
	}
	mnl_socket_close(nft);
	nft = NULL;
	mv_buf_release(&b);
	if (pipe2(d->wake, O_CLOEXEC) < 0 || pipe2(d->ack, O_CLOEXEC) < 0) {
		mv_err_set(e, "%s: pipe: %s", d->table, strerror(errno));
		goto undo;
	}
	if ((rc = pthread_create(&d->th, NULL, delayer, d)) != 0) {
		mv_err_set(e, "%s: delayer thread: %s", d->table, strerror(rc));
		goto undo;
	}
	d->running = 1;
	return d;
undo:
	if (mv_netfault_table_del(d->netns, d->table, NULL) < 0 && e != NULL) {
		size_t l = strlen(e->msg);

		snprintf(e->msg + l, sizeof(e->msg) - l,
		    "; and table %s was left", d->table);
	}
fail:
	if (nft != NULL)
		mnl_socket_close(nft);
	mv_buf_release(&b);
	dl_free(d);
	return NULL;
}

unsigned
mv_delay_queue(const struct mv_delay *d)
{
	return d->queue;
}

int
mv_delay_table_del(const char *netns, const char *table, struct mv_err *e)
{
	return mv_netfault_table_del(netns, table, e);
}

/* Judges d's counts: 1, 0 or -1 (cannot tell), with reason. */
static int
dl_verdict(const struct mv_delay *d, char *reason, size_t rsz)
{
	double mean, target, tol;

	if (d->failed)
		return snprintf(reason, rsz, "the delayer failed: %s", d->why),
		       0;
	if (d->packets == 0)
		return snprintf(reason, rsz,
		           "no packet was sent on the delayed links"),
		       -1;
	if (d->delayed == 0 && (d->delay_ms > 0 || d->jitter_ms > 0))
		return snprintf(reason, rsz, "no packet was delayed"), 0;
	if (d->delayed > 0) {
		mean = (double)d->sum_hold / (double)d->delayed / 1e6;
		target = (double)d->sum_target / (double)d->delayed / 1e6;
		tol = target / 10 > 2 ? target / 10 : 2;
		/* late is no failure: a loaded machine wakes us late, and
		 * the packets were held all the same (late_ms says by how
		 * much) */
		if (mean < target - tol)
			return snprintf(reason, rsz,
			           "packets were held %.3f ms on average, "
			           "not %.3f ms",
			           mean, target),
			       0;
	}
	if (d->reorder > 0 && d->reordered == 0)
		return snprintf(reason, rsz, "no packet was reordered"), 0;
	return 1;
}

static void
dl_report(
    const struct mv_delay *d, int v, const char *reason, struct mv_buf *out)
{
	double n = d->delayed ? (double)d->delayed : 1;

	mv_buf_adds(out, "{\"kind\":\"delay\",\"table\":");
	mv_buf_add_jstr(out, d->table, strlen(d->table));
	mv_buf_addf(out,
	    ",\"queue\":%u,\"delay_ms\":%u,\"jitter_ms\":%u,\"dist\":\"%s\","
	    "\"reorder\":%u,\"packets\":%llu,\"delayed\":%llu,"
	    "\"reordered\":%llu,\"overflow\":%llu,\"flushed\":%llu,"
	    "\"mean_ms\":%.3f,\"target_ms\":%.3f,\"late_ms\":%.3f,"
	    "\"max_ms\":%.3f",
	    d->queue, d->delay_ms, d->jitter_ms,
	    d->dist == MV_DELAY_NORMAL ? "normal" : "uniform", d->reorder,
	    (unsigned long long)d->packets, (unsigned long long)d->delayed,
	    (unsigned long long)d->reordered, (unsigned long long)d->overflow,
	    (unsigned long long)d->flushed, (double)d->sum_hold / n / 1e6,
	    (double)d->sum_target / n / 1e6,
	    (double)(d->sum_hold - d->sum_target) / n / 1e6,
	    (double)d->max_hold / 1e6);
	mv_nf_report_end(out, v, reason);
}

/* Sends c to the delayer; with wait, waits (2 s at most) for its ack. */
static void
say(struct mv_delay *d, char c, int wait)
{
	struct pollfd p = {d->ack[0], POLLIN, 0};

	while (write(d->wake[1], &c, 1) < 0 && errno == EINTR)
		;
	if (wait && poll(&p, 1, 2000) == 1)
		while (read(d->ack[0], &c, 1) < 0 && errno == EINTR)
			;
}

int
mv_delay_stop(struct mv_delay *d, struct mv_buf *out, struct mv_err *e)
{
	char reason[256] = "";
	int v, del;

	if (d->running)
		say(d, 'p', 1);
	del = mv_netfault_table_del(d->netns, d->table, e);
	if (d->running) {
		say(d, 'q', 0);
		pthread_join(d->th, NULL);
		d->running = 0;
	}
	v = dl_verdict(d, reason, sizeof(reason));
	if (del == 0) {
		v = 0;
		snprintf(reason, sizeof(reason),
		    "the table was gone before the fault stopped");
	}
	if (out != NULL)
		dl_report(d, v, reason, out);
	dl_free(d);
	return del < 0 ? -1 : v > 0;
}

/* ---- bandwidth ---- */

struct mv_bw {
	char *netns, *port;
	uint64_t rate_bps;
	uint32_t burst;
	int ifindex;
	int64_t t0;
	struct nl_sock *sk; /* route socket, in the namespace */
};

static void
bw_free(struct mv_bw *b)
{
	if (b == NULL)
		return;
	if (b->sk != NULL)
		nl_socket_free(b->sk);
	free(b->netns);
	free(b->port);
	free(b);
}

/*
 * A route socket made inside netns and the index of port there.  Returns
 * the socket, or NULL with e filled; *ifindex is 0 when there is no such
 * port (and the socket is still returned when missing_ok).
 */
static struct nl_sock *
rt_open(const char *netns, const char *port, int *ifindex, int missing_ok,
    struct mv_err *e)
{
	struct nl_sock *sk;
	struct rtnl_link *l = NULL;
	int rc;

	*ifindex = 0;
	if (!mv_ifname_ok(port))
		return mv_err_set(e, "bad port name: %s", port ? port : ""),
		       NULL;
	if ((sk = mv_rtsock_open(netns, e)) == NULL)
		return NULL;
	if ((rc = rtnl_link_get_kernel(sk, 0, port, &l)) == 0) {
		*ifindex = rtnl_link_get_ifindex(l);
		rtnl_link_put(l);
	}
	if (rc == 0
	    || (missing_ok && (rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV)))
		return sk;
	mv_err_set(e, "%s: %s: %s", netns, port, nl_geterror(rc));
	nl_socket_free(sk);
	return NULL;
}

/* port's root qdisc if it is ours (a new reference), else NULL. */
static struct rtnl_qdisc *
bw_ours(struct nl_sock *sk, int ifindex)
{
	struct nl_cache *c;
	struct rtnl_qdisc *q;

	if (rtnl_qdisc_alloc_cache(sk, &c) < 0)
		return NULL;
	q = rtnl_qdisc_get(c, ifindex, TC_HANDLE(BW_HANDLE, 0));
	if (q != NULL && rtnl_tc_get_parent(TC_CAST(q)) != TC_H_ROOT) {
		rtnl_qdisc_put(q);
		q = NULL;
	}
	nl_cache_free(c);
	return q;
}

struct mv_bw *
mv_bw_start(const struct mv_bw_spec *s, struct mv_err *e)
{
	struct mv_bw *b;
	struct rtnl_qdisc *q;
	uint64_t bytes = s->rate_bps / 8;
	uint32_t burst = s->burst;
	unsigned lat = s->latency_ms ? s->latency_ms : 100;
	int rc;

	if (s->rate_bps < 8000 || s->rate_bps > 10000000000ULL || lat > 10000
	    || burst > (1u << 30))
		return mv_err_set(e,
		           "%s: rate must be 8000 to 1e10 bits/s, latency at "
		           "most 10000 ms, burst at most 1 GB",
		           s->port ? s->port : ""),
		       NULL;
	if (burst == 0)
		burst = bytes / 250 > 3000 ? (uint32_t)(bytes / 250) : 3000;
	b = mv_xcalloc(1, sizeof(*b));
	if ((b->sk = rt_open(s->netns, s->port, &b->ifindex, 0, e)) == NULL) {
		bw_free(b);
		return NULL;
	}
	b->netns = mv_xstrdup(s->netns);
	b->port = mv_xstrdup(s->port);
	b->rate_bps = s->rate_bps;
	b->burst = burst;
	if ((q = rtnl_qdisc_alloc()) == NULL) {
		bw_free(b);
		return mv_err_set(e, "%s: out of memory", s->port), NULL;
	}
	rtnl_tc_set_ifindex(TC_CAST(q), b->ifindex);
	rtnl_tc_set_parent(TC_CAST(q), TC_H_ROOT);
	rtnl_tc_set_handle(TC_CAST(q), TC_HANDLE(BW_HANDLE, 0));
	rtnl_tc_set_kind(TC_CAST(q), "tbf");
	rtnl_qdisc_tbf_set_rate(q, (int)bytes, (int)burst, 0);
	rtnl_qdisc_tbf_set_limit_by_latency(q, (int)lat * 1000);
	rc = rtnl_qdisc_add(b->sk, q, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_qdisc_put(q);
	if (rc < 0) {
		mv_err_set(e, "%s: %s: tbf: %s", s->netns, s->port,
		    rc == -NLE_EXIST ? "the port has a root qdisc already"
		                     : nl_geterror(rc));
		bw_free(b);
		return NULL;
	}
	b->t0 = mv_now_ns();
	return b;
}

int
mv_bw_stop(struct mv_bw *b, struct mv_buf *out, struct mv_err *e)
{
	struct rtnl_qdisc *q = bw_ours(b->sk, b->ifindex);
	uint64_t bytes = 0, pk = 0, drops = 0, over = 0;
	double sec = (double)(mv_now_ns() - b->t0) / 1e9;
	const char *reason = "";
	int v = 1, rc = 0;

	if (q != NULL) {
		bytes = rtnl_tc_get_stat(TC_CAST(q), RTNL_TC_BYTES);
		pk = rtnl_tc_get_stat(TC_CAST(q), RTNL_TC_PACKETS);
		drops = rtnl_tc_get_stat(TC_CAST(q), RTNL_TC_DROPS);
		over = rtnl_tc_get_stat(TC_CAST(q), RTNL_TC_OVERLIMITS);
		rtnl_qdisc_put(q);
		if ((rc = mv_tc_root_delete(b->sk, b->ifindex, BW_HANDLE)) < 0)
			mv_err_set(e, "%s: %s: cannot remove the tbf qdisc: %s",
			    b->netns, b->port, nl_geterror(rc));
	}
	if (q == NULL)
		v = 0, reason = "the qdisc was gone before the fault stopped";
	else if (pk == 0)
		v = -1, reason = "no packet was sent to the port";
	else if (over == 0 && drops == 0)
		v = -1, reason = "the traffic stayed under the rate";
	if (out != NULL) {
		mv_buf_adds(out, "{\"kind\":\"bandwidth\",\"port\":");
		mv_buf_add_jstr(out, b->port, strlen(b->port));
		mv_buf_addf(out,
		    ",\"rate_bps\":%llu,\"burst\":%u,\"bytes\":%llu,"
		    "\"packets\":%llu,\"drops\":%llu,\"overlimits\":%llu,"
		    "\"seconds\":%.3f,\"measured_bps\":%.0f",
		    (unsigned long long)b->rate_bps, b->burst,
		    (unsigned long long)bytes, (unsigned long long)pk,
		    (unsigned long long)drops, (unsigned long long)over, sec,
		    sec > 0 ? (double)bytes * 8 / sec : 0);
		mv_nf_report_end(out, v, reason);
	}
	bw_free(b);
	return rc < 0 ? -1 : v > 0;
}

int
mv_bw_del(const char *netns, const char *port, struct mv_err *e)
{
	struct nl_sock *sk;
	struct rtnl_qdisc *q;
	int ifindex, rc = 0;

	if ((sk = rt_open(netns, port, &ifindex, 1, e)) == NULL)
		return -1;
	if (ifindex > 0 && (q = bw_ours(sk, ifindex)) != NULL) {
		rtnl_qdisc_put(q);
		if ((rc = mv_tc_root_delete(sk, ifindex, BW_HANDLE)) < 0)
			mv_err_set(e, "%s: %s: cannot remove the tbf qdisc: %s",
			    netns, port, nl_geterror(rc));
		else
			rc = 1;
	}
	nl_socket_free(sk);
	return rc < 0 ? -1 : rc;
}
