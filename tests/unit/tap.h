/* tap.h: a minimal TAP harness for the unit tests of lib/. */
#ifndef MV_TAP_H
#define MV_TAP_H

#include <stdio.h>

static int tap_n, tap_failed;

/* Records one result; returns cond so callers can stop early. */
#define OK(cond, name)                                                         \
	(tap_n++,                                                              \
	    (cond) ? printf("ok %d - %s\n", tap_n, (name))                     \
	           : (tap_failed++,                                            \
	               printf("not ok %d - %s (%s:%d)\n", tap_n, (name),       \
	                   __FILE__, __LINE__)))

#define TAP_DONE() (printf("1..%d\n", tap_n), tap_failed ? 1 : 0)

#endif
