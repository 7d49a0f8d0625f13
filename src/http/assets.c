/*
 * assets.c - the page's files (assets.h), embedded at build time
 * (ui_assets.h), served with the content type of their extension.
 */
#include "http/assets.h"

#include <string.h>

#include "http/response.h"
#include "http/ui_assets.h"

enum MHD_Result stw__http_serve_asset(struct MHD_Connection *c, const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = { { ".html", "text/html; charset=utf-8" },
		      { ".js", "text/javascript; charset=utf-8" },
		      { ".css", "text/css; charset=utf-8" } };
	for (const struct stw__ui_asset *a = stw__ui_assets; a->name != NULL; a++) {
		if (strcmp(a->name, name) != 0)
			continue;
		const char *type = "application/octet-stream";
		const char *dot = strrchr(a->name, '.');
		for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
			if (strcmp(dot, types[i].ext) == 0)
				type = types[i].type;
		return stw__http_send_buffer(c, 200, type, (char *)a->data, a->len, 0, NULL);
	}
	return stw__http_send_error(c, 404, "not_found", "no such file", NULL);
}
