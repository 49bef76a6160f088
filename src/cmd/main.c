/* Entry point: dispatches to a subcommand, or runs the daemon. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "config/config.h"
#include "daemon/daemon.h"
#include "sys/log.h"
#include "wl_version.h"

/* The subcommand list, appended to the daemon's man-page help. */
static void print_commands(FILE *out)
{
	fprintf(out, "\nCOMMANDS\n"
		     "  Without a command, wirelink runs the daemon (options above). Other\n"
		     "  commands:\n\n");
	for (size_t i = 0; i < cmd_n_subcommands; i++)
		fprintf(out, "  %-10s %s\n", cmd_subcommands[i].name, cmd_subcommands[i].summary);
	fprintf(out, "\n  Run 'wirelink COMMAND --help' for the options of a command.\n");
}

/* wirelink [OPTIONS]: load the configuration and run the daemon. */
static int run_daemon(int argc, char **argv)
{
	struct wl_config *cfg = NULL;
	char err[1024];
	int rc = config_load(argc, argv, environ, &cfg, err, sizeof(err));
	if (rc != CONFIG_OK) {
		fprintf(stderr, "wirelink: %s\n", err);
		return config_exit_status(rc);
	}
	if (cfg->show_help) {
		config_print_help(stdout);
		print_commands(stdout);
	} else if (cfg->show_version) {
		printf("wirelink %s\n", WL_VERSION);
	} else if (cfg->dump) {
		config_dump(cfg, stdout);
	} else if (cfg->check_config) {
		printf("configuration OK (%s)\n", cfg->config_file ? cfg->config_file : "no file, defaults");
	} else {
		if (cfg->debug)
			log_set_level(LOG_LVL_DEBUG);
		log_set_time(cfg->log_time);
		rc = daemon_run(&cfg, argc, argv, environ);
	}
	config_free(cfg);
	return rc;
}

int main(int argc, char **argv)
{
	log_init();
	if (sodium_init() < 0) {
		fprintf(stderr, "wirelink: libsodium failed to initialise\n");
		return 1;
	}
	if (argc >= 2)
		for (size_t i = 0; i < cmd_n_subcommands; i++)
			if (strcmp(argv[1], cmd_subcommands[i].name) == 0)
				return cmd_subcommands[i].run(argc - 1, argv + 1);
	return run_daemon(argc, argv);
}
