/*
 * codes.h - the words and codes of steward.h's tables as the API and the CLI
 * use them: the HTTP status and error word of each engine error code (one
 * line per code of STW_ERRNO_MAP: a code added there without a line here
 * does not compile), and whether a word is an instance or command status.
 */
#ifndef STW_HTTP_CODES_H
#define STW_HTTP_CODES_H

#include <stddef.h>
#include <string.h>

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

/* 1 if s is one of the n words. */
static inline int stw__http_word_in(const char *s, const char *const *words, size_t n)
{
	for (size_t i = 0; s != NULL && i < n; i++)
		if (strcmp(s, words[i]) == 0)
			return 1;
	return 0;
}

#define STW__HTTP_WORD(name, word) word,

/* 1 if s is an instance status (a word of STW_INSTANCE_STATUS_MAP). */
static inline int stw__http_is_instance_status(const char *s)
{
	static const char *const words[] = { STW_INSTANCE_STATUS_MAP(STW__HTTP_WORD) };
	return stw__http_word_in(s, words, sizeof(words) / sizeof(words[0]));
}

/* 1 if s is a command status (a word of STW_COMMAND_STATUS_MAP). */
static inline int stw__http_is_command_status(const char *s)
{
	static const char *const words[] = { STW_COMMAND_STATUS_MAP(STW__HTTP_WORD) };
	return stw__http_word_in(s, words, sizeof(words) / sizeof(words[0]));
}

#undef STW__HTTP_WORD

#endif /* STW_HTTP_CODES_H */
