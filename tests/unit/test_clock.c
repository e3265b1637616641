/*
 * test_clock.c: the clock file (created whole, changed in place, seen
 * through a mapping made before the change), libfaketime's offsets, and the
 * undo log's clock entries.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "clock.h"
#include "tap.h"

static char dir[] = "/tmp/mv-test-clock.XXXXXX";

static const char *
path(const char *name)
{
	static char p[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static void
put(const char *file, const char *text)
{
	FILE *f = fopen(file, "w");

	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(file);
		exit(2);
	}
}

static void
slurp(const char *file, char *buf, size_t n)
{
	FILE *f = fopen(file, "r");
	size_t len = f ? fread(buf, 1, n - 1, f) : 0;

	buf[len] = '\0';
	if (f)
		fclose(f);
}

static void
test_page(void)
{
	struct mv_clock_state st = {5, 6, 7, 8}, got;
	const struct mv_clock_page *pg;
	struct mv_err e;
	int fd;

	OK(mv_clock_read(path("clk"), &got, &e) == 0 && got.offset_ns == 0,
	    "a missing clock file is no fault");
	OK(mv_clock_write(path("clk"), &st, &e) == 0, "write creates");
	OK(mv_clock_read(path("clk"), &got, &e) == 0 && got.offset_ns == 5
	        && got.strobe_ns == 6 && got.period_ns == 7
	        && got.epoch_ns == 8,
	    "read gives back what was written");
	/* A reader's mapping, made before the change, sees it. */
	fd = open(path("clk"), O_RDONLY);
	pg = mmap(NULL, sizeof(*pg), PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	OK(pg != MAP_FAILED && memcmp(pg->magic, "mvclock", 8) == 0,
	    "the file carries its magic");
	st.offset_ns = -42;
	OK(mv_clock_write(path("clk"), &st, &e) == 0, "write in place");
	OK(pg->offset_ns == -42 && pg->seq % 2 == 0 && pg->seq > 0,
	    "an earlier mapping sees the change, seq even");
	OK(mv_clock_mappers(path("clk"), NULL, 0, &e) >= 1,
	    "we are among the processes that map it");
	munmap((void *)pg, sizeof(*pg));
	put(path("short"), "not a clock\n");
	OK(mv_clock_write(path("short"), &st, &e) < 0
	        && strstr(e.msg, "not a clock file"),
	    "a short file is refused");
}

static void
test_faketime(void)
{
	static const struct {
		const char *text;
		int64_t ns;
		int ok;
	} cases[] = {{"+60\n", 60000000000LL, 1}, {"-1.5", -1500000000LL, 1},
	    {"+2m", 120000000000LL, 1}, {"+1.5h", 5400000000000LL, 1},
	    {"", 0, 1}, {"60", 0, 0}, {"+", 0, 0}, {"+1 x2", 0, 0},
	    {"+1q", 0, 0}, {"+99999999999", 0, 0}, {"+999999999y", 0, 0}};
	char buf[64], name[32];
	struct mv_err e;
	int64_t ns;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		put(path("ft"), cases[i].text);
		rc = mv_clock_faketime_read(path("ft"), &ns, &e);
		snprintf(name, sizeof(name), "faketime read '%.*s'",
		    (int)strcspn(cases[i].text, "\n"), cases[i].text);
		OK(cases[i].ok ? rc == 0 && ns == cases[i].ns : rc < 0, name);
	}
	OK(mv_clock_faketime_write(path("ft"), -1250000000LL, &e) == 0,
	    "write");
	slurp(path("ft"), buf, sizeof(buf));
	OK(strcmp(buf, "-1.250000000\n") == 0, "a fraction written with '.'");
	OK(mv_clock_faketime_read(path("ft"), &ns, &e) == 0
	        && ns == -1250000000LL,
	    "and read back");
}

static void
test_undo(void)
{
	struct mv_clock_state st = {99, 0, 0, 0}, got;
	char buf[1024], want[1024];
	struct mv_err e;

	put(path("u"), "123\nnetwork x\n");
	OK(mv_clock_undo_add(path("u"), "clock", path("clk"), &e) == 0
	        && mv_clock_undo_add(path("u"), "clock", path("clk"), &e) == 0
	        && mv_clock_undo_add(path("u"), "faketime", path("ft"), &e)
	            == 0,
	    "undo entries added");
	slurp(path("u"), buf, sizeof(buf));
	snprintf(want, sizeof(want), "123\nnetwork x\nclock %s\nfaketime %s\n",
	    path("clk"), path("ft"));
	OK(strcmp(buf, want) == 0, "once each, other lines kept");
	mv_clock_write(path("clk"), &st, &e);
	mv_clock_faketime_write(path("ft"), 7000000000LL, &e);
	OK(mv_clock_heal_log(path("u"), &e) == 2, "heal resets both");
	OK(mv_clock_read(path("clk"), &got, &e) == 0 && got.offset_ns == 0,
	    "the clock file is back to zero");
	slurp(path("ft"), buf, sizeof(buf));
	OK(strcmp(buf, "+0\n") == 0, "the timestamp file is +0");
	OK(mv_clock_heal_log(path("nolog"), &e) == 0, "no log, nothing to do");
	put(path("u2"), "clock /nonexistent-dir/clk\n");
	OK(mv_clock_heal_log(path("u2"), &e) == 0,
	    "a clock file that is gone needs no reset");
}

int
main(void)
{
	char cmd[300];
	int rc;

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	test_page();
	test_faketime();
	test_undo();
	rc = TAP_DONE();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "test_clock: could not remove %s\n", dir);
	return rc;
}
