/* xtest.h: running mv_check with --check over a history given as text. */
#ifndef MV_XTEST_H
#define MV_XTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "history.h"

/*
 * Checks the JSON lines text with check (NULL: linearizable) on top of
 * the options base (may be NULL).  Returns the exit status (2 for
 * malformed input); copies the anomaly into anomaly[48] and the JSON
 * verdict into json (if not NULL, jsonsz bytes).
 */
static int
xrun(const char *check, const struct mv_check_opts *base, const char *text,
    char *anomaly, char *json, size_t jsonsz)
{
	char path[] = "/tmp/mv-xtest.XXXXXX";
	struct mv_check_opts o;
	struct mv_history h;
	struct mv_verdict v;
	struct mv_err e;
	int fd = mkstemp(path), st;
	size_t n = strlen(text);

	anomaly[0] = '\0';
	if (json)
		json[0] = '\0';
	if (fd < 0 || write(fd, text, n) != (ssize_t)n) {
		perror("xrun");
		exit(2);
	}
	close(fd);
	if (base)
		o = *base;
	else
		memset(&o, 0, sizeof(o));
	o.check = check;
	if (mv_history_load(path, 0, &h, &e) < 0) {
		unlink(path);
		return MV_EXIT_TROUBLE;
	}
	unlink(path);
	mv_verdict_init(&v);
	if (mv_check(&h, path, &o, &v, &e) < 0)
		st = MV_EXIT_TROUBLE;
	else {
		st = v.status;
		snprintf(anomaly, 48, "%s", v.anomaly);
		if (json)
			snprintf(json, jsonsz, "%s", v.json.p);
	}
	mv_verdict_release(&v);
	mv_history_release(&h);
	return st;
}

#endif
