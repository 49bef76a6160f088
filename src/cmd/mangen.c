/* wirelink-mangen SECTION: writes the man page wirelink(8) (SECTION 8) or
 * wirelink.json(5) (SECTION 5) to standard output, from the settings
 * table and the words --help prints, and the subcommand table. The build
 * runs it (man/meson.build); it is not installed.
 * wirelink-mangen settings: one line per row of the settings table, "flag
 * env key" ("-" for none; key only if a file may hold it), for the test
 * that every setting reaches --help and both pages (tests/cli/test_man.sh). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "config/config.h"
#include "wl_version.h"

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "settings") == 0) {
		config_print_settings(stdout);
		return ferror(stdout) ? 1 : 0;
	}
	if (argc != 2 || (strcmp(argv[1], "5") != 0 && strcmp(argv[1], "8") != 0)) {
		fprintf(stderr, "usage: wirelink-mangen 5|8|settings\n");
		return 2;
	}
	struct config_doc_command *cmds = calloc(cmd_n_subcommands + 1, sizeof(*cmds));
	if (!cmds) {
		fprintf(stderr, "wirelink-mangen: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < cmd_n_subcommands; i++)
		cmds[i] = (struct config_doc_command){ cmd_subcommands[i].name,
						       cmd_subcommands[i].usage,
						       cmd_subcommands[i].summary };
	config_print_man(stdout, atoi(argv[1]), WL_VERSION, cmds, cmd_n_subcommands);
	free(cmds);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("wirelink-mangen: writing");
		return 1;
	}
	return 0;
}
