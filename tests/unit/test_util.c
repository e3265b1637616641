/* test_util.c: option numbers, durations, the PRNG, growable strings. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "json.h"
#include "mv.h"
#include "tap.h"

int
main(void)
{
	struct mv_err e;
	long long v;
	int64_t ns;
	double r;
	struct mv_rng a, b;
	struct mv_buf buf = MV_BUF_INIT;
	int i, same = 1, inrange = 1;

	OK(mv_parse_int("-c", "8", 1, 100, &v, &e) == 0 && v == 8, "int");
	OK(mv_parse_int("-c", "0", 1, 100, &v, &e) < 0
	        && strcmp(e.msg, "-c must be in [1, 100]: '0'") == 0,
	    "int range message");
	OK(mv_parse_int("-c", "8x", 1, 100, &v, &e) < 0
	        && strcmp(e.msg, "invalid value for -c: '8x'") == 0,
	    "int garbage message");
	OK(mv_parse_int("-n", "", 0, 9, &v, &e) < 0, "int empty");
	OK(mv_parse_int("-n", "99999999999999999999", 0, 9, &v, &e) < 0,
	    "int overflow");
	OK(mv_parse_duration("-t", "250ms", &ns, &e) == 0 && ns == 250000000,
	    "ms");
	OK(mv_parse_duration("-t", "2", &ns, &e) == 0 && ns == 2000000000LL,
	    "bare seconds");
	OK(mv_parse_duration("-t", "1.5s", &ns, &e) == 0 && ns == 1500000000LL,
	    "fraction");
	OK(mv_parse_duration("-t", "3parsecs", &ns, &e) < 0, "bad unit");
	OK(mv_parse_duration("-t", "-1s", &ns, &e) < 0, "negative");
	OK(mv_parse_duration("-t", "nan", &ns, &e) < 0, "nan");
	OK(mv_parse_duration("-t", "nans", &ns, &e) < 0, "nan seconds");
	OK(mv_parse_duration("-t", "inf", &ns, &e) < 0, "infinite");
	OK(mv_parse_ratio("-R", "0.25", &r, &e) == 0 && r == 0.25, "ratio");
	OK(mv_parse_ratio("-R", "1", &r, &e) == 0 && r == 1, "ratio one");
	OK(mv_parse_ratio("-R", "1.5", &r, &e) < 0
	        && strcmp(e.msg, "invalid value for -R: '1.5'") == 0,
	    "ratio range message");
	OK(mv_parse_ratio("-R", "-0.1", &r, &e) < 0, "ratio negative");
	OK(mv_parse_ratio("-R", "nan", &r, &e) < 0, "ratio nan");
	OK(mv_parse_ratio("-R", "0.5x", &r, &e) < 0, "ratio garbage");
	OK(mv_parse_ratio("-R", "", &r, &e) < 0, "ratio empty");
	OK(mv_utf8_valid("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 10),
	    "utf8 1 to 4 bytes");
	OK(!mv_utf8_valid("\xc0\xaf", 2) && !mv_utf8_valid("\xe0\x80\xaf", 3),
	    "utf8 overlong");
	OK(!mv_utf8_valid("\xed\xa0\x80", 3), "utf8 surrogate");
	OK(!mv_utf8_valid("\xf4\x90\x80\x80", 4), "utf8 above U+10FFFF");
	OK(!mv_utf8_valid("a\xe2\x82", 3) && mv_utf8_valid("a\xe2\x82", 1),
	    "utf8 cut short");
	mv_rng_seed(&a, 42);
	mv_rng_seed(&b, 42);
	for (i = 0; i < 1000; i++) {
		same &= mv_rng_next(&a) == mv_rng_next(&b);
		inrange &= mv_rng_below(&a, 7) < 7;
		(void)mv_rng_below(&b, 7);
	}
	OK(same, "rng deterministic");
	OK(inrange, "rng below");
	mv_buf_add_jstr(&buf, "a\"b\\\n\x01", 6);
	OK(strcmp(buf.p, "\"a\\\"b\\\\\\n\\u0001\"") == 0, "jstr escape");
	mv_buf_reset(&buf);
	mv_buf_addi(&buf, INT64_MIN);
	OK(strcmp(buf.p, "-9223372036854775808") == 0, "addi min");
	mv_buf_release(&buf);
	{
		/* Our own line: running, and the parent's pid after it. */
		char line[512], want[32];
		const char *st =
		    mv_proc_stat((long)getpid(), line, sizeof(line));
		pid_t z;

		snprintf(want, sizeof(want), " %ld ", (long)getppid());
		OK(st != NULL && *st == 'R'
		        && strncmp(st + 1, want, strlen(want)) == 0,
		    "proc stat: own state and parent");
		/* A child not yet reaped is a zombie; once reaped, gone. */
		if ((z = fork()) == 0)
			_exit(0);
		for (i = 0; i < 1000; i++) {
			st = mv_proc_stat((long)z, line, sizeof(line));
			if (st != NULL && *st == 'Z')
				break;
			usleep(1000);
		}
		OK(st != NULL && *st == 'Z', "proc stat: zombie");
		waitpid(z, NULL, 0);
		OK(mv_proc_stat((long)z, line, sizeof(line)) == NULL,
		    "proc stat: reaped");
	}
	return TAP_DONE();
}
