/*
 * ns.h: entering a network namespace on the calling thread and coming
 * back, and the name checks the namespace tools share (cluster, topo,
 * netfault, delay, drivers).
 */
#ifndef MV_NS_H
#define MV_NS_H

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

#endif
