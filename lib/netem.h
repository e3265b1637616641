/*
 * netem.h: per-link delay, jitter, reordering, loss and duplication with
 * the kernel's netem qdisc on a namespace cluster (netfault.h: a switch
 * namespace holding a bridge, node namespaces joined to it by veth pairs,
 * "port" = the switch-side veth), and the run-time probe that tells
 * whether the kernel has netem at all.  Where it has not, delay.h's
 * NFQUEUE delayer and netfault.h's tables do the job.
 *
 * The tree, on each destination node's port (its egress carries what is
 * sent to that node), built in-process through libnl-route-3:
 *   qdisc htb, handle 4d4e: ("MN"), root, no default class (traffic no
 *     filter picks leaves unshaped, as htb's direct packets);
 *   per faulted link from node S: class 4d4e:S+1 (rate and ceil the
 *     spec's rate_bps, else 10 Gbit/s, so the class itself never holds
 *     a packet back), its leaf qdisc netem
 *     (handle S+0x101:), and a u32 filter on 4d4e:, protocol ip, priority
 *     S+1, matching the source address (ip src ADDR/32) to the class.
 * Undo deletes the root qdisc when it carries handle 4d4e:, which takes
 * classes, leaves and filters with it.
 *
 * Functions that enter a namespace do so with setns(2) on the calling
 * thread only and always return it to the namespace it was in; none
 * touches the namespace the caller is in.
 */
#ifndef MV_NETEM_H
#define MV_NETEM_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "mv.h"
#include "netfault.h"

/*
 * Asks the kernel whether netem can be used in netns (a name under
 * /run/netns or an absolute path): makes a throwaway veth pair there
 * (mvpPID / mvqPID), adds a netem qdisc (delay 10 ms) as the root of one
 * end, deletes it and the pair.  Returns 1 (netem works), 0 (the kernel
 * refused: why gets its words, from the netlink extended ack when the
 * kernel sends one, e.g. "Specified qdisc kind is unknown.", else the
 * errno text), or -1 with e filled when the probe itself could not run
 * (no such namespace, the pair could not be made); why has wsz bytes.
 */
int mv_netem_probe(const char *netns, char *why, size_t wsz, struct mv_err *e);

struct nl_sock;

/*
 * Deletes the root qdisc of ifindex (in sk's namespace) if its handle is
 * major:, with what hangs below it; 0 or a libnl error (-NLE_OBJ_NOTFOUND
 * when there is none).  Shared with delay.c's bandwidth limits.
 */
int mv_tc_root_delete(struct nl_sock *sk, int ifindex, unsigned major);

/* What each faulted link's leaf is: netem, or (tests) a plain pfifo. */
enum mv_netem_leaf { MV_NETEM_LEAF_NETEM, MV_NETEM_LEAF_PFIFO };

/*
 * What to start.  netns, nodes, n (2 to 32) and cut as in struct
 * mv_nf_spec (cut[src * n + dst] != 0 selects the links; at least one).
 * delay_ms and jitter_ms (at most 60000) with correlation (percent, the
 * jitter's correlation with the previous packet's); reorder (percent: that
 * share goes at once, ahead of the delayed ones; needs delay_ms > 0);
 * loss and dup (percent).  limit: packets a leaf holds (0: 1000).
 * rate_bps: a bandwidth limit per link (bit/s, 8000 to 10^10; 0: none),
 * the rate and ceil of each link's htb class, with a bucket of 4 ms of
 * the rate (at least 3000 bytes).  At least one of delay_ms, loss, dup,
 * rate_bps must be set, unless leaf is PFIFO, which ignores all but
 * rate_bps: the seam that lets a kernel without netem test the htb
 * classes and u32 filters, and the leaf of a bare bandwidth limit.
 */
struct mv_netem_spec {
	const char *netns;
	const struct mv_nf_node *nodes;
	size_t n;
	const unsigned char *cut;
	unsigned delay_ms, jitter_ms, correlation, reorder, loss, dup;
	unsigned limit;
	enum mv_netem_leaf leaf;
	uint64_t rate_bps;
};

struct mv_netem;

/*
 * Builds the tree on each destination port of the cut.  Fails, with e
 * filled and nothing left installed, when a port has a root qdisc other
 * than the default one, or the kernel refuses any part (no netem: its
 * words, as mv_netem_probe).  Returns the fault, the caller's until
 * mv_netem_stop.  Record "netem NETNS PORT" for each destination port in
 * an undo log BEFORE calling this.
 */
struct mv_netem *mv_netem_start(
    const struct mv_netem_spec *s, struct mv_err *e);

/*
 * Reads each leaf's counters, deletes the trees and frees m (always).
 * Appends the report to out (may be NULL):
 *   {"method":"netem"|"htb","leaf":"netem"|"pfifo"[,"rate_bps":R],
 *    "ports":[P,...],
 *    "links":[{"from":"n1","to":"n2","packets":N,"drops":N
 *              [,"bytes":N,"overlimits":N]},...],
 *    "packets":N,"drops":N,"effective":true|false|null[,"reason":"..."]}
 * method is "htb" for a rate on pfifo leaves.  packets: what the link's
 * leaf sent on (tc -s qdisc); drops: what it dropped (netem's loss, or a
 * full leaf).  With a rate, bytes and overlimits are the link's class's
 * (tc -s class): what it sent, and how often it had to wait for its rate.
 * effective: true when packets went through the leaves (and, with loss,
 * some were dropped; with a rate, a class held some back: overlimits >
 * 0); null when no packet did, or, with a rate, all stayed under it;
 * false when a tree vanished before the stop or, with loss, nothing was
 * lost.  Returns 1 when effective is true, 0 otherwise, -1 when a tree
 * could not be deleted (e filled; keep the undo log entries).
 */
int mv_netem_stop(struct mv_netem *m, struct mv_buf *out, struct mv_err *e);

/* The leaf packets counted so far on the link from node src to node dst
 * (tests); -1 when it is not faulted or cannot be read. */
long long mv_netem_packets(const struct mv_netem *m, size_t src, size_t dst);

/*
 * Undo: deletes port's root qdisc in netns if it is ours (handle
 * 4d4e:).  Returns 1 when it deleted one, 0 when there was none (already
 * healed, or no such port), -1 with e filled.
 */
int mv_netem_del(const char *netns, const char *port, struct mv_err *e);

#endif
