/*
 * assets.h - the web page's files (src/http/ui/), served under /static/ and
 * as the page itself (index.html).
 */
#ifndef STW_HTTP_ASSETS_H
#define STW_HTTP_ASSETS_H

#include <microhttpd.h>

/* Answers with the embedded file `name` (a file name, no path), or 404. */
enum MHD_Result stw__http_serve_asset(struct MHD_Connection *c, const char *name);

#endif /* STW_HTTP_ASSETS_H */
