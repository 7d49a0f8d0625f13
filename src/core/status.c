/*
 * status.c - the words of statuses and outcomes, from the tables of
 * steward.h (one string table each).
 */
#include "core/status.h"

#include <string.h>

#define STW__WORD(name, word) word,
static const char *const istatus_words[] = { "(none)", STW_INSTANCE_STATUS_MAP(STW__WORD) };
static const char *const cstatus_words[] = { STW_COMMAND_STATUS_MAP(STW__WORD) };
static const char *const outcome_words[] = { STW_OUTCOME_MAP(STW__WORD) };
#undef STW__WORD

static int parse(const char *const *words, int n, const char *word)
{
	for (int i = 0; word != NULL && i < n; i++)
		if (strcmp(words[i], word) == 0)
			return i;
	return -1;
}

const char *stw__istatus_word(enum stw__istatus s)
{
	return istatus_words[s];
}

const char *stw__cstatus_word(enum stw__cstatus s)
{
	return cstatus_words[s];
}

const char *stw__outcome_word(enum stw__outcome o)
{
	return outcome_words[o];
}

int stw__istatus_parse(const char *word)
{
	int s = parse(istatus_words + 1, STW__I_COUNT - 1, word);
	return s < 0 ? s : s + 1;
}

int stw__cstatus_parse(const char *word)
{
	return parse(cstatus_words, STW__C_COUNT, word);
}

int stw__outcome_parse(const char *word)
{
	return parse(outcome_words, STW__O_COUNT, word);
}
