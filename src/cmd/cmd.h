/* Subcommands of the one `wirelink` binary. Each takes the arguments after
 * its own name (argv[0] is the subcommand name) and returns the process exit
 * status: 0 success, 1 failure, 2 usage error. */
#ifndef WL_CMD_CMD_H
#define WL_CMD_CMD_H

int cmd_autoaddr(int argc, char **argv);
int cmd_decode(int argc, char **argv);
int cmd_dev(int argc, char **argv);
int cmd_show(int argc, char **argv);

#endif
