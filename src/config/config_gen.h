/* `wirelink config generate`: a commented starting configuration (YAML)
 * for a WireGuard device as it is now, with peer names taken from the
 * comments of its wg-quick file. The text in, text out parts live here
 * (no device access, no files), so tests feed them directly; cmd_config.c
 * reads the device and the file. */
#ifndef WL_CONFIG_CONFIG_GEN_H
#define WL_CONFIG_CONFIG_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/encoding.h"
#include "sys/wgdev.h"

/* A name for a peer found in a wg-quick file. `name` is what the comment
 * said (trimmed); `valid` whether it is a Name wirelink accepts (else the
 * output only quotes it in a comment). */
#define CFG_GEN_NAME_MAX 64
struct cfg_gen_name {
	uint8_t key[WL_KEY_LEN];
	char name[CFG_GEN_NAME_MAX];
	bool valid;
};

/* Peer names from a wg-quick configuration's text. Conservative: only a
 * [Peer] section with a valid PublicKey gets a name, taken from, in this
 * order, a comment in the section of the form "Name = X" or "Name: X"
 * (also friendly_name), the first other comment in the section, or the
 * comment line right above its [Peer] line. Comments of the [Interface]
 * section and any other line are ignored; keys are never looked at
 * otherwise. Returns how many names were stored in out (at most cap). */
size_t cfg_gen_wgquick_names(const char *text, size_t len, struct cfg_gen_name *out, size_t cap);

enum cfg_gen_role { CFG_GEN_GUESS, CFG_GEN_HUB, CFG_GEN_LEAF };

struct cfg_gen_input {
	const struct wg_device *dev;
	const char *iface;
	enum cfg_gen_role role;
	bool has_hub_key; /* --hub-key: this peer is the hub (implies a leaf) */
	uint8_t hub_key[WL_KEY_LEN];
	const struct cfg_gen_name *names;
	size_t n_names;
	const char *names_from; /* the wg-quick file, for the header; NULL if none */
	const char *version;    /* wirelink's, for the header */
	const char *command;    /* the command line that made it, for the header */
};

/* Writes the configuration. Returns 0, or -1 with why set (a --hub-key
 * the device does not have). Everything it writes uncommented passes the
 * config parser's checks, so the output loads as it is. */
int cfg_gen_write(FILE *f, const struct cfg_gen_input *in, const char **why);

#endif
