/*
 * status.h - the HTTP status and error word of each engine error code. One
 * line per code of the error table (STW_ERRNO_MAP in steward.h): a code
 * added there without a line here does not compile.
 */
#ifndef STW_HTTP_STATUS_H
#define STW_HTTP_STATUS_H

#include <steward.h>

#define STW__HTTP_EINVAL       400, "bad_request"
#define STW__HTTP_ENOMEM       500, "internal"
#define STW__HTTP_ECONFLICT    409, "conflict"
#define STW__HTTP_ENOTFOUND    404, "not_found"
#define STW__HTTP_ESTORE       500, "internal"
#define STW__HTTP_ESTATE       409, "conflict"
#define STW__HTTP_EREJECTED    422, "rejected"
#define STW__HTTP_EEXIST       409, "conflict"
#define STW__HTTP_EAMBIGUOUS   409, "conflict"
#define STW__HTTP_EUNAVAILABLE 503, "unavailable"
#define STW__HTTP_EBUSY        503, "unavailable"

struct stw__http_status {
	int code;         /* an STW_E* code */
	int status;       /* its HTTP status */
	const char *word; /* the "error" member of the JSON body */
};

/* The status of an engine error code; 500 "internal" for a code not in the table. */
static inline struct stw__http_status stw__http_status_of(int code)
{
#define STW__HTTP_ROW(name, value, text) { STW_##name, STW__HTTP_##name },
	static const struct stw__http_status rows[] = { STW_ERRNO_MAP(STW__HTTP_ROW) };
#undef STW__HTTP_ROW
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (rows[i].code == code)
			return rows[i];
	return (struct stw__http_status){ code, 500, "internal" };
}

#endif /* STW_HTTP_STATUS_H */
