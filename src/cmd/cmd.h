/* Subcommands of the one `wirelink` binary. Each takes the arguments after
 * its own name (argv[0] is the subcommand name) and returns the process exit
 * status: 0 success, 1 failure, 2 usage error. */
#ifndef WL_CMD_CMD_H
#define WL_CMD_CMD_H

#include <stddef.h>

int cmd_autoaddr(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_decode(int argc, char **argv);
int cmd_dev(int argc, char **argv);
int cmd_prestart(int argc, char **argv);
int cmd_show(int argc, char **argv);

/* The table main.c dispatches on (cmd_table.c); also the manual's
 * COMMANDS section, in --help and the man page. */
struct cmd_subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage;   /* the arguments after the name */
	const char *summary; /* one line, no final full stop */
};
extern const struct cmd_subcommand cmd_subcommands[];
extern const size_t cmd_n_subcommands;

#endif
