/*
 * ns.h: entering a network namespace on the calling thread and coming
 * back, and the name checks the namespace tools share (cluster, topo,
 * netfault, delay, drivers).
 */
#ifndef MV_NS_H
#define MV_NS_H

#include <stddef.h>
#include <stdint.h>

#include "mv.h"

/*
 * Enters the network namespace name (a name under /run/netns, or an
 * absolute path) on the calling thread; *back receives a descriptor of
 * the namespace it was in, for mv_netns_leave.  Returns 0, or -1 with e
 * filled, nothing changed and *back set to -1.  A name that is empty,
 * ".", "..", or holds '/' without being absolute is refused, so a
 * relative name cannot walk out of /run/netns.
 */
int mv_netns_enter(const char *name, int *back, struct mv_err *e);
/*
 * Returns to the namespace back names and closes it; back < 0 does
 * nothing.  Aborts on failure: a thread left in a cluster namespace
 * would act on the wrong network.
 */
void mv_netns_leave(int back);

/*
 * Table names and prefixes: [A-Za-z][A-Za-z0-9_-]*, 1 to 64 bytes, which
 * nft reads as a bare identifier (a cluster's run id may hold '-').
 * NULL is not a name.
 */
int mv_table_name_ok(const char *s);
/* Interface names: 1 to 15 bytes of [A-Za-z0-9_.-], safe inside quotes. */
int mv_ifname_ok(const char *s);

/*
 * The checks the fault specs of netfault.h, delay.h and netem.h share.
 * mv_nf_table_check: table is a table name (mv_table_name_ok); returns 0,
 * or -1 with e filled ("bad nftables table name: T").
 * mv_ipv4_parse: s (may be NULL) is a dotted IPv4 address; returns 0 with
 * *ip set (network order), or -1.
 * mv_nf_nodes_check: each of the n nodes has a node name
 * (mv_node_name_ok), a port (mv_ifname_ok) and an IPv4 address, written
 * to ip[i] (network order; n entries, caller-owned), and no two share an
 * address or a port; returns 0, or -1 with e filled ("T: node I: bad
 * name, address (IPv4) or port", "T: nodes J and I share an address or a
 * port"), checking the nodes in order.
 */
struct mv_nf_node;
int mv_nf_table_check(const char *table, struct mv_err *e);
int mv_ipv4_parse(const char *s, uint32_t *ip);
int mv_nf_nodes_check(const char *table, const struct mv_nf_node *nodes,
    size_t n, uint32_t *ip, struct mv_err *e);

#endif
