/* clusterctl.h: mv-nemesis's cluster mode (up, down). */
#ifndef MV_NEMESIS_CLUSTERCTL_H
#define MV_NEMESIS_CLUSTERCTL_H

#include <stdio.h>

/*
 * Runs "mv-nemesis cluster up|down ..." with argv[0] = "cluster"; returns
 * the exit status (exits on trouble, after undoing what it made).
 */
int cluster_main(int argc, char *argv[]);

#endif
