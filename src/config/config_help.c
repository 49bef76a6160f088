/* --help: the manual as plain text for a terminal. The words come from
 * config_doc.c and the settings table, which the man pages print too
 * (config_man.c), so --help and man wirelink cannot disagree. */
#include "config/config_doc.h"
#include "config/config_internal.h"

#include <string.h>

#define WIDTH 78

/* Prints text word-wrapped at WIDTH columns: the first line after `first`
 * (already `col` columns wide, printed here), later lines indented by
 * `indent`. */
static void wrap_after(FILE *f, const char *first, int indent, const char *text)
{
	int col = fprintf(f, "%s", first);
	bool fresh = true; /* nothing of text on this line yet */
	const char *p = text;
	while (*p) {
		while (*p == ' ')
			p++;
		size_t wl = strcspn(p, " ");
		if (wl == 0)
			break;
		if (!fresh && col + 1 + (int)wl > WIDTH) {
			fputc('\n', f);
			col = fprintf(f, "%*s", indent, "");
			fresh = true;
		}
		if (!fresh)
			col += fprintf(f, " ");
		col += fprintf(f, "%.*s", (int)wl, p);
		fresh = false;
		p += wl;
	}
	fputc('\n', f);
}

static void wrap(FILE *f, int indent, const char *text)
{
	char pad[32];
	snprintf(pad, sizeof(pad), "%*s", indent, "");
	wrap_after(f, pad, indent, text);
}

/* Blocks at `indent`; an item's tag gets a column `tagw` wide when it
 * fits (then its text follows on the same line), its own line otherwise. */
static void blocks(FILE *f, const struct cfg_doc_block *b, int indent, int tagw)
{
	for (; b->kind != DOC_END; b++) {
		char head[128];
		switch (b->kind) {
		case DOC_PARA:
			wrap(f, indent, b->text);
			if (b[1].kind != DOC_END)
				fputc('\n', f);
			break;
		case DOC_ITEM:
			if ((int)strlen(b->tag) <= tagw) {
				snprintf(head, sizeof(head), "%*s%-*s  ", indent, "", tagw, b->tag);
				wrap_after(f, head, indent + tagw + 2, b->text);
			} else {
				fprintf(f, "%*s%s\n", indent, "", b->tag);
				wrap(f, indent + 4, b->text);
			}
			break;
		case DOC_VERBATIM:
			for (const char *l = b->text; *l;) {
				size_t n = strcspn(l, "\n");
				fprintf(f, "%*s%.*s\n", indent, "", (int)n, l);
				l += n + (l[n] == '\n');
			}
			break;
		case DOC_END:
			break;
		}
	}
}

/* "-i, --iface NAME", "--router[=BOOL]", "--help". */
void cfg_option_head(const struct cfg_setting *s, char *out, size_t len)
{
	int n = 0;
	if (s->short_flag)
		n = snprintf(out, len, "-%c, ", s->short_flag);
	switch (cfg_setting_arg(s)) {
	case CFG_ARG_NONE:
		snprintf(out + n, len - (size_t)n, "--%s", s->flag);
		break;
	case CFG_ARG_OPTIONAL:
		snprintf(out + n, len - (size_t)n, "--%s[=%s]", s->flag, s->metavar);
		break;
	case CFG_ARG_REQUIRED:
		snprintf(out + n, len - (size_t)n, "--%s %s", s->flag, s->metavar);
		break;
	}
}

void cfg_option_sources(const struct cfg_setting *s, char *out, size_t len)
{
	size_t n = 0;
	out[0] = '\0';
	if (s->env)
		n += (size_t)snprintf(out + n, len - n, "Environment: %s. ", s->env);
	if (s->deflt && n < len)
		n += (size_t)snprintf(out + n, len - n, "Default: %s. ", s->deflt);
	if ((s->sources & CFG_SRC_FILE) && n < len)
		n += (size_t)snprintf(out + n, len - n, "Config file key: %s. ", s->key);
	if (n > 0 && n <= len)
		out[n - 1] = '\0'; /* the last space */
}

static void option(FILE *f, const struct cfg_setting *s)
{
	char head[96], extra[256];
	cfg_option_head(s, head, sizeof(head));
	fprintf(f, "  %s\n", head);
	wrap(f, 6, s->help);
	cfg_option_sources(s, extra, sizeof(extra));
	if (extra[0])
		wrap(f, 6, extra);
}

/* "[-i NAME]" for the synopsis; empty for --help and --version, which
 * have their own line. */
bool cfg_synopsis_word(const struct cfg_setting *s, char *out, size_t len)
{
	if (!(s->sources & CFG_SRC_FLAG) || s->type == CT_HELP || s->type == CT_VERSION)
		return false;
	const char *dash = s->short_flag ? "-" : "--";
	char name[64];
	if (s->short_flag)
		snprintf(name, sizeof(name), "%c", s->short_flag);
	else
		snprintf(name, sizeof(name), "%s", s->flag);
	if (cfg_setting_arg(s) == CFG_ARG_OPTIONAL)
		snprintf(out, len, "[%s%s%s]", dash, name, s->short_flag ? "" : "[=BOOL]");
	else
		snprintf(out, len, "[%s%s %s]", dash, name, s->metavar);
	return true;
}

static void synopsis(FILE *f)
{
	char line[1024] = "";
	size_t n = 0;
	for (size_t i = 0; i < cfg_n_settings; i++) {
		char w[96];
		if (cfg_synopsis_word(&cfg_settings[i], w, sizeof(w)) && n + strlen(w) + 2 < sizeof(line))
			n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s", n ? " " : "", w);
	}
	wrap_after(f, "  wirelink ", 11, line);
	fputs("  wirelink COMMAND [ARGS]\n"
	      "  wirelink --version | --help\n",
	      f);
}

void config_print_help(FILE *f)
{
	fputs("NAME\n"
	      "  wirelink - let WireGuard peers set up direct links between themselves\n"
	      "\n"
	      "SYNOPSIS\n",
	      f);
	synopsis(f);
	fputs("\nDESCRIPTION\n", f);
	blocks(f, cfg_doc_description, 2, 0);
	fputc('\n', f);
	blocks(f, cfg_doc_layers, 2, 0);
	fputs("\nOPTIONS\n", f);
	for (size_t i = 0; i < cfg_n_settings; i++) {
		option(f, &cfg_settings[i]);
		if (i + 1 < cfg_n_settings)
			fputc('\n', f);
	}
	fputs("\nCONFIGURATION FILE\n", f);
	blocks(f, cfg_doc_file, 2, 0);
	fputc('\n', f);
	wrap(f, 2, "Top-level keys: every option above that names a config file key, and "
		   "these, which only a file can set:");
	fputc('\n', f);
	for (const struct cfg_doc_block *b = cfg_doc_file_only; b->kind != DOC_END; b++) {
		fprintf(f, "  %s\n", b->tag);
		wrap(f, 6, b->text);
		if (strcmp(b->tag, "Peers") == 0)
			blocks(f, cfg_doc_peer_keys, 6, 13);
	}
	fputs("\n  Example (" CFG_DOC_EXAMPLE_FILE "):\n\n", f);
	blocks(f, cfg_doc_example_yaml, 4, 0);
	fputs("\n  The same in JSON (" CONFIG_DEFAULT_PATH "/wirelink.wg0.json):\n\n", f);
	blocks(f, cfg_doc_example_json, 4, 0);
	fputs("\n  wirelink --dump prints the effective configuration in this form.\n", f);
	fputs("\nENVIRONMENT\n", f);
	blocks(f, cfg_doc_environment, 2, 0);
	fputs("\nSIGNALS\n", f);
	blocks(f, cfg_doc_signals, 2, 15);
	fputs("\nEXIT STATUS\n", f);
	blocks(f, cfg_doc_exit_status, 2, 1);
	fputs("\nFILES\n", f);
	blocks(f, cfg_doc_files, 2, 0);
}
