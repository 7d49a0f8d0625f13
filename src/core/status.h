/*
 * status.h - the statuses of instances and commands and the outcomes of
 * history rows as enums, with their words (the tables of steward.h:
 * STW_INSTANCE_STATUS_MAP, STW_COMMAND_STATUS_MAP, STW_OUTCOME_MAP). The
 * store keeps the words; the core works with the enums.
 */
#ifndef STW_STATUS_H
#define STW_STATUS_H

#include <steward.h>

/* STW__I_NONE (0, so that a zeroed instance has it): no instance yet. */
enum stw__istatus {
	STW__I_NONE,
#define STW__ISTATUS_ENUM(name, word) STW__I_##name,
	STW_INSTANCE_STATUS_MAP(STW__ISTATUS_ENUM)
#undef STW__ISTATUS_ENUM
	    STW__I_COUNT
};

enum stw__cstatus {
#define STW__CSTATUS_ENUM(name, word) STW__C_##name,
	STW_COMMAND_STATUS_MAP(STW__CSTATUS_ENUM)
#undef STW__CSTATUS_ENUM
	    STW__C_COUNT
};

enum stw__outcome {
#define STW__OUTCOME_ENUM(name, word) STW__O_##name,
	STW_OUTCOME_MAP(STW__OUTCOME_ENUM)
#undef STW__OUTCOME_ENUM
	    STW__O_COUNT
};

/* The word of a status or outcome (a static string). */
const char *stw__istatus_word(enum stw__istatus s);
const char *stw__cstatus_word(enum stw__cstatus s);
const char *stw__outcome_word(enum stw__outcome o);

/* The status or outcome a word names, or -1 for none (NULL included; never STW__I_NONE). */
int stw__istatus_parse(const char *word);
int stw__cstatus_parse(const char *word);
int stw__outcome_parse(const char *word);

#endif /* STW_STATUS_H */
