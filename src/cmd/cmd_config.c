#include <stdio.h>

#include "cmd/cmd.h"
int cmd_config(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "wirelink config: not implemented yet\n");
	return 2;
}
