/* clockfault.h: mv-nemesis's clock mode (skew, jump, strobe, reset). */
#ifndef MV_NEMESIS_CLOCKFAULT_H
#define MV_NEMESIS_CLOCKFAULT_H

#include <stdio.h>

/*
 * Runs "mv-nemesis clock ..." with argv[0] = "clock"; prints the fault's
 * event and returns the exit status (exits on trouble).
 */
int clock_main(int argc, char *argv[]);

/* The usage lines of the clock mode, for usage(). */
void clock_usage(FILE *f);

#endif
