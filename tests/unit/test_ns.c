/*
 * test_ns.c: the name checks of ns.h, and mv_netns_enter refusing names
 * that could walk out of /run/netns or are not there (any user: nothing
 * is entered).
 */
#include <string.h>

#include "mv.h"
#include "ns.h"
#include "tap.h"

static void
names(void)
{
	char long65[66];

	memset(long65, 'a', 65);
	long65[65] = '\0';
	OK(mv_table_name_ok("mv_x-1"), "table: letters, digits, _ and -");
	OK(!mv_table_name_ok("1mv"), "table: must start with a letter");
	OK(!mv_table_name_ok("mv.x"), "table: no dot");
	OK(!mv_table_name_ok("") && !mv_table_name_ok(NULL),
	    "table: empty and NULL refused");
	OK(mv_table_name_ok(long65 + 1) && !mv_table_name_ok(long65),
	    "table: 64 bytes at most");
	OK(mv_ifname_ok("p-n1.0_x") && mv_ifname_ok("1abc"),
	    "ifname: letters, digits, _ . and -, any first byte");
	OK(!mv_ifname_ok("a b") && !mv_ifname_ok("a/b") && !mv_ifname_ok("a'"),
	    "ifname: no space, slash or quote");
	OK(mv_ifname_ok("abcdefghijklmno") && !mv_ifname_ok("abcdefghijklmnop"),
	    "ifname: 15 bytes at most");
	OK(!mv_ifname_ok("") && !mv_ifname_ok(NULL),
	    "ifname: empty and NULL refused");
}

static void
enter(void)
{
	static const char *bad[] = {"", "..", ".", "a/b", "../x"};
	struct mv_err e;
	size_t i;
	int back = 7, all = 1;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		back = 7;
		e.msg[0] = '\0';
		if (mv_netns_enter(bad[i], &back, &e) != -1 || back != -1
		    || strstr(e.msg, "bad namespace name") == NULL)
			all = 0;
	}
	OK(all, "enter: empty, dot, dot-dot and relative paths refused");
	back = 7;
	OK(mv_netns_enter("mv-test-ns-not-there-xyz", &back, &e) == -1
	        && back == -1
	        && strstr(e.msg, "/run/netns/mv-test-ns-not-there-xyz") != NULL,
	    "enter: a missing namespace is an error naming its path");
	mv_netns_leave(back); /* -1, nothing entered: must not abort */
}

int
main(void)
{
	names();
	enter();
	return TAP_DONE();
}
