/*
 * ui_assets.h - the web page's files, embedded in the binary at build time
 * by cmake/embed.cmake from src/http/ui/.
 */
#ifndef STW_UI_ASSETS_H
#define STW_UI_ASSETS_H

#include <stddef.h>

struct stw__ui_asset {
	const char *name; /* a file name of src/http/ui/; NULL ends the table */
	const unsigned char *data;
	size_t len;
};

extern const struct stw__ui_asset stw__ui_assets[];

#endif /* STW_UI_ASSETS_H */
