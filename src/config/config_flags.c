/* The command-line layer. A small parser of our own rather than getopt:
 * getopt keeps its state in globals (optind), which a reload or a test
 * calling config_load() twice would have to reset by hand.
 *
 * Accepted forms: --name, --name=VALUE, --name VALUE (required values only),
 * -x, -xVALUE, -x VALUE, bundled short flags (-dV), and "--" ending the
 * options. Booleans take an optional =BOOL and never the next argument, so
 * `--router false` is an error rather than a surprise. */
#include "config/config_internal.h"

#include <stdlib.h>
#include <string.h>

#include "common/grow.h"

static const struct cfg_setting *by_flag(const char *name, size_t n)
{
	for (size_t i = 0; i < cfg_n_settings; i++) {
		const char *f = cfg_settings[i].flag;
		if ((cfg_settings[i].sources & CFG_SRC_FLAG) && strlen(f) == n &&
		    memcmp(f, name, n) == 0)
			return &cfg_settings[i];
	}
	return NULL;
}

static const struct cfg_setting *by_short(char c)
{
	for (size_t i = 0; i < cfg_n_settings; i++)
		if (c && cfg_settings[i].short_flag == c)
			return &cfg_settings[i];
	return NULL;
}

struct flag_parse {
	struct cfg_assign *a;
	size_t n, cap;
	char *err;
	size_t errlen;
};

static int add(struct flag_parse *p, const struct cfg_setting *s, const char *value,
	       const char *origin)
{
	if (!wl_grow((void **)&p->a, &p->cap, p->n + 1, sizeof(*p->a))) {
		cfg_errf(p->err, p->errlen, "out of memory");
		return CONFIG_E_NOMEM;
	}
	struct cfg_assign *a = &p->a[p->n++];
	a->s = s;
	a->value = value;
	snprintf(a->origin, sizeof(a->origin), "%s", origin);
	return CONFIG_OK;
}

static int usage_error(struct flag_parse *p, const char *what, const char *arg)
{
	char q[CFG_QUOTE_MAX];
	cfg_errf(p->err, p->errlen, "command line: %s %s (see --help)", what, cfg_quote(arg, q));
	return CONFIG_E_USAGE;
}

/* "--name[=value]"; may consume argv[*i + 1]. */
static int long_flag(struct flag_parse *p, int argc, char **argv, int *i)
{
	const char *arg = argv[*i] + 2;
	const char *eq = strchr(arg, '=');
	size_t nl = eq ? (size_t)(eq - arg) : strlen(arg);
	const struct cfg_setting *s = by_flag(arg, nl);
	if (!s)
		return usage_error(p, "unknown option", argv[*i]);
	char origin[40];
	snprintf(origin, sizeof(origin), "--%s", s->flag);
	switch (cfg_setting_arg(s)) {
	case CFG_ARG_NONE:
		if (eq)
			return usage_error(p, "option takes no value:", argv[*i]);
		return add(p, s, "true", origin);
	case CFG_ARG_OPTIONAL:
		return add(p, s, eq ? eq + 1 : "true", origin);
	case CFG_ARG_REQUIRED:
		if (eq)
			return add(p, s, eq + 1, origin);
		if (*i + 1 >= argc)
			return usage_error(p, "option needs a value:", argv[*i]);
		return add(p, s, argv[++*i], origin);
	}
	return CONFIG_E_USAGE;
}

/* "-abc" or "-iNAME" / "-i NAME"; may consume argv[*i + 1]. */
static int short_flags(struct flag_parse *p, int argc, char **argv, int *i)
{
	const char *arg = argv[*i];
	for (size_t k = 1; arg[k]; k++) {
		const struct cfg_setting *s = by_short(arg[k]);
		char origin[3] = { '-', arg[k], '\0' };
		if (!s)
			return usage_error(p, "unknown option", origin);
		int rc;
		if (cfg_setting_arg(s) != CFG_ARG_REQUIRED) {
			rc = add(p, s, "true", origin);
		} else if (arg[k + 1]) {
			return add(p, s, arg + k + 1, origin);
		} else {
			if (*i + 1 >= argc)
				return usage_error(p, "option needs a value:", origin);
			return add(p, s, argv[++*i], origin);
		}
		if (rc != CONFIG_OK)
			return rc;
	}
	return CONFIG_OK;
}

int cfg_flags_collect(int argc, char **argv, struct cfg_assign **out, size_t *n,
		      char *err, size_t errlen)
{
	struct flag_parse p = { .err = err, .errlen = errlen };
	int rc = CONFIG_OK;
	int i = 1;
	for (; i < argc && rc == CONFIG_OK; i++) {
		const char *arg = argv[i];
		if (strcmp(arg, "--") == 0) {
			i++;
			break;
		}
		if (arg[0] == '-' && arg[1] == '-')
			rc = long_flag(&p, argc, argv, &i);
		else if (arg[0] == '-' && arg[1])
			rc = short_flags(&p, argc, argv, &i);
		else
			rc = usage_error(&p, "unexpected argument", arg);
	}
	if (rc == CONFIG_OK && i < argc)
		rc = usage_error(&p, "unexpected argument", argv[i]);
	if (rc != CONFIG_OK) {
		free(p.a);
		p.a = NULL;
		p.n = 0;
	}
	*out = p.a;
	*n = p.n;
	return rc;
}
