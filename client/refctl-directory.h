/* refctl-directory.h: refctl directory assemble|sign|verify|publish|show
 * (refctl-directory.c). */
#ifndef REF_REFCTL_DIRECTORY_H
#define REF_REFCTL_DIRECTORY_H

/* refctl_directory: argv[0] is "directory", argv[1] the subcommand;
 * returns refctl's exit status (cli.h). */
int refctl_directory(int argc, char **argv);

#endif
