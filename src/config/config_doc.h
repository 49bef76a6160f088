/* The manual's words, once: --help (config_help.c, plain text) and the man
 * pages wirelink(8) and wirelink.json(5) (config_man.c, roff) both print
 * these blocks and the settings table (config_settings.c), so the two
 * cannot say different things. Text is plain: no markup, no line breaks;
 * each renderer wraps, escapes and emphasises in its own way. */
#ifndef WL_CONFIG_DOC_H
#define WL_CONFIG_DOC_H

#include <stddef.h>
#include <stdio.h>

#include "config/config.h"

enum cfg_doc_kind {
	DOC_END,      /* ends a list of blocks */
	DOC_PARA,     /* a paragraph */
	DOC_ITEM,     /* tag, then its text indented: a key, a signal, a status */
	DOC_VERBATIM, /* lines printed as they are (text holds '\n's) */
};

struct cfg_doc_block {
	enum cfg_doc_kind kind;
	const char *tag;  /* DOC_ITEM only */
	const char *text;
};

/* The blocks of each part of the manual; each list ends with DOC_END. */
extern const struct cfg_doc_block cfg_doc_description[];  /* what wirelink does */
extern const struct cfg_doc_block cfg_doc_layers[];       /* defaults < file < env < flags */
extern const struct cfg_doc_block cfg_doc_file[];         /* where the file is, what it may hold */
extern const struct cfg_doc_block cfg_doc_file_only[];    /* Peers, ReportIfaces, HideIfaces */
extern const struct cfg_doc_block cfg_doc_peer_keys[];    /* the keys of a Peers entry */
extern const struct cfg_doc_block cfg_doc_example_yaml[]; /* a whole file, and the same in JSON */
extern const struct cfg_doc_block cfg_doc_example_json[];
extern const struct cfg_doc_block cfg_doc_environment[];
extern const struct cfg_doc_block cfg_doc_signals[];
extern const struct cfg_doc_block cfg_doc_exit_status[];
extern const struct cfg_doc_block cfg_doc_files[];

/* The example's file name, for headings. */
#define CFG_DOC_EXAMPLE_FILE CONFIG_DEFAULT_PATH "/wirelink.wg0.yaml"

#endif
