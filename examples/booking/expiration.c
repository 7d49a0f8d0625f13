/*
 * expiration.c - the step of the "booking-expiration" periodic process: the
 * seed's expiration process, which "mines new facts by analyzing the outside
 * world" instead of arming a timer per booking.
 *
 * Each run folds the Booking log, a page at a time, into a view of the
 * bookings that are confirmed and neither settled nor expired, then sends
 * ExpireBooking for each whose deadline has passed at the run's time. The
 * view is built afresh per run (the log is the only state), in an array kept
 * in the order bookings were confirmed, indexed by an open-addressing hash
 * table on the booking id, so a run costs one pass over the log whatever the
 * number of bookings.
 *
 * The engine runs the step once per period, in a transaction that records
 * the period with the commands, so a restart does not run it again. The
 * command id is derived from the booking id: a booking found in two periods
 * (its ExpireBooking not yet delivered) is still expired once.
 */
#include <stdlib.h>
#include <string.h>

#include "booking.h"
#include "booking_int.h"

/* A confirmed booking in the view. */
struct due_entry {
	char id[BOOKING_MAX_VALUE + 1];
	int64_t expires_at;
	int open; /* neither settled nor expired */
};

struct due_view {
	struct due_entry *entries; /* in the order of their BookingConfirmed */
	size_t n, cap;
	size_t *slots;    /* open addressing: an index into entries plus one, 0 when empty */
	size_t nslots;    /* a power of two, at least twice n */
	int64_t position; /* the last position read */
	int oom;
};

/* FNV-1a: short ids, no adversary to fear (the ids are validated and capped). */
static size_t hash_id(const char *s)
{
	uint64_t h = 14695981039346656037u;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211u;
	}
	return (size_t)h;
}

/* The slot of `id`: the one holding it, or the empty one where it would go. */
static size_t find_slot(const struct due_view *v, const char *id)
{
	size_t mask = v->nslots - 1;
	size_t i = hash_id(id) & mask;

	while (v->slots[i] != 0 && strcmp(v->entries[v->slots[i] - 1].id, id) != 0)
		i = (i + 1) & mask;
	return i;
}

/* Doubles the table (or makes the first one) and places every entry again. */
static int grow_slots(struct due_view *v)
{
	size_t nslots = v->nslots ? v->nslots * 2 : 64;
	size_t *slots = calloc(nslots, sizeof *slots);

	if (slots == NULL)
		return STW_ENOMEM;
	free(v->slots);
	v->slots = slots;
	v->nslots = nslots;
	for (size_t k = 0; k < v->n; k++)
		v->slots[find_slot(v, v->entries[k].id)] = k + 1;
	return STW_OK;
}

/* The entry of `id`, or NULL. */
static struct due_entry *lookup(const struct due_view *v, const char *id)
{
	size_t i;

	if (v->nslots == 0)
		return NULL;
	i = find_slot(v, id);
	return v->slots[i] != 0 ? &v->entries[v->slots[i] - 1] : NULL;
}

/* The entry of `id`, added (closed, no deadline) if missing; NULL when out of memory. */
static struct due_entry *upsert(struct due_view *v, const char *id)
{
	struct due_entry *d = lookup(v, id);

	if (d != NULL)
		return d;
	if ((v->n + 1) * 2 > v->nslots && grow_slots(v) != STW_OK)
		return NULL;
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		struct due_entry *entries = realloc(v->entries, cap * sizeof *entries);

		if (entries == NULL)
			return NULL;
		v->entries = entries;
		v->cap = cap;
	}
	d = &v->entries[v->n];
	memset(d, 0, sizeof *d);
	memcpy(d->id, id, strlen(id) + 1); /* valid ids fit: see booking__valid_value() */
	v->slots[find_slot(v, id)] = ++v->n;
	return d;
}

/* Folds one event of the Booking log into the struct due_view at ud. */
static int due_fold(const struct stw_event *ev, void *ud)
{
	struct due_view *v = ud;
	const char *id = stw_event_str(ev, "booking_id");
	struct due_entry *d;

	v->position = ev->position;
	if (!booking__valid_value(id))
		return 0;
	if (strcmp(ev->type, "BookingConfirmed") == 0) {
		json_t *expires_at = json_object_get(ev->data, "expires_at");

		if (!json_is_integer(expires_at))
			return 0;
		d = upsert(v, id);
		if (d == NULL) {
			v->oom = 1;
			return 1;
		}
		d->expires_at = (int64_t)json_integer_value(expires_at);
		d->open = 1;
	} else if (strcmp(ev->type, "BookingSettled") == 0 ||
		   strcmp(ev->type, "BookingExpired") == 0) {
		d = lookup(v, id);
		if (d != NULL)
			d->open = 0;
	}
	return 0;
}

/* Sends ExpireBooking for every open booking of the view due at `now`; counts them. */
static int send_due(struct stw_periodic_ctx *pc, const struct due_view *v, int64_t now,
		    uint64_t *found)
{
	for (size_t k = 0; k < v->n; k++) {
		const struct due_entry *d = &v->entries[k];
		json_t *data;
		int rc;

		if (!d->open || d->expires_at > now)
			continue;
		data = json_pack("{s:s}", "booking_id", d->id);
		if (data == NULL)
			return STW_ENOMEM;
		/* The booking id is the key (one expiry per booking, whatever the
		 * period) and the correlation id, as for the rest of the booking. */
		rc = stw_periodic_send(pc, "Booking", "ExpireBooking", data, d->id, d->id);
		if (rc != STW_OK)
			return rc;
		++*found;
	}
	return STW_OK;
}

int booking__expire_due(struct stw_periodic_ctx *pc, void *ud)
{
	enum { PAGE = 512 };
	struct booking_options *o = ud;
	struct due_view v = { 0 };
	uint64_t found = 0;
	int count = 0;
	int rc = grow_slots(&v);

	if (o != NULL)
		o->expiration_runs++;
	while (rc == STW_OK) {
		rc = stw_read(stw_periodic_engine(pc), "Booking", v.position, PAGE, due_fold, &v,
			      &count);
		if (rc == STW_OK && v.oom)
			rc = STW_ENOMEM;
		if (count < PAGE)
			break;
	}
	if (rc == STW_OK)
		rc = send_due(pc, &v, stw_periodic_now(pc), &found);
	if (o != NULL)
		o->expirations_found += found;
	free(v.entries);
	free(v.slots);
	return rc;
}
