/*
 * partition.c - the partition of an id (store.h): FNV-1a of its bytes,
 * modulo the store's partition count, the same function as the
 * PostgreSQL store's stw_partition(), so that the engine and the store
 * agree where an instance, its timers and its commands belong.
 */
#include "store/store.h"

int stw__partition(const char *id, int n)
{
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)id; *p != '\0'; p++)
		h = (h ^ *p) * 16777619u;
	return n > 0 ? (int)(h % (uint32_t)n) : 0;
}

const char *stw__outbox_part_key(const char *instance_id, const char *correlation_id,
				 const char *command_id)
{
	return instance_id != NULL      ? instance_id
	       : correlation_id != NULL ? correlation_id
					: command_id;
}
