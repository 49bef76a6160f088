/* The environment layer: WIRELINK_<SETTING> variables. The environment is
 * passed in (never read from `environ` here) so tests stay hermetic. */
#include "config/config_internal.h"

#include <stdlib.h>
#include <string.h>

#include "common/grow.h"

#define ENV_PREFIX "WIRELINK_"

static const struct cfg_setting *by_env(const char *name, size_t n)
{
	for (size_t i = 0; i < cfg_n_settings; i++) {
		const char *e = cfg_settings[i].env;
		if (e && strlen(e) == n && memcmp(e, name, n) == 0)
			return &cfg_settings[i];
	}
	return NULL;
}

/* A file-only setting: an error, as it cannot take effect from here. */
static bool file_only(const char *name, size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < 3; i++) {
		if (strlen(cfg_file_only_env[i]) == n && memcmp(cfg_file_only_env[i], name, n) == 0) {
			cfg_errf(err, errlen,
				 "environment: %.*s: %s can only be set in the config file",
				 (int)n, name, cfg_file_only_keys[i]);
			return true;
		}
	}
	return false;
}

/* Any other WIRELINK_* variable: the original ignored what it did not
 * know (viper looks up only the variables of its settings), so we do too,
 * naming the known ones: a typo is the likely cause. */
static void unknown(const char *name, size_t n)
{
	char known[512] = "";
	size_t k = 0;
	for (size_t i = 0; i < cfg_n_settings; i++) {
		if (!cfg_settings[i].env)
			continue;
		int w = snprintf(known + k, sizeof(known) - k, "%s%s", k ? ", " : "",
				 cfg_settings[i].env);
		if (w < 0 || (size_t)w >= sizeof(known) - k)
			break;
		k += (size_t)w;
	}
	cfg_warnf("environment: %.*s: unknown variable, ignored (known: %s)",
		  n > 64 ? 64 : (int)n, name, known);
}

int cfg_env_collect(char **envp, struct cfg_assign **out, size_t *n, char *err,
		    size_t errlen)
{
	*out = NULL;
	*n = 0;
	size_t cap = 0;
	for (char **e = envp; e && *e; e++) {
		if (strncmp(*e, ENV_PREFIX, strlen(ENV_PREFIX)) != 0)
			continue;
		const char *eq = strchr(*e, '=');
		size_t nl = eq ? (size_t)(eq - *e) : strlen(*e);
		const struct cfg_setting *s = by_env(*e, nl);
		if (!s && file_only(*e, nl, err, errlen))
			goto fail;
		if (!s) {
			unknown(*e, nl);
			continue;
		}
		/* systemd's Environment=VAR= and shells' VAR= mean "not set". */
		if (!eq || eq[1] == '\0')
			continue;
		if (!wl_grow((void **)out, &cap, *n + 1, sizeof(**out))) {
			cfg_errf(err, errlen, "out of memory");
			free(*out);
			*out = NULL;
			*n = 0;
			return CONFIG_E_NOMEM;
		}
		struct cfg_assign *a = &(*out)[(*n)++];
		a->s = s;
		a->value = eq + 1;
		snprintf(a->origin, sizeof(a->origin), "%s", s->env);
	}
	return CONFIG_OK;
fail:
	free(*out);
	*out = NULL;
	*n = 0;
	return CONFIG_E_USAGE;
}
