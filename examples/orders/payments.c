/*
 * payments.c - the Payments context of the order example: one event-sourced
 * payment per order (stream "payment-<order id>"), its command handler and
 * the call by which the customer pays.
 *
 * Payments knows nothing of orders being cancelled: a customer who pays late
 * is paid for, and it is the process that asks for the refund.
 */
#include <string.h>

#include "orders_int.h"

const char *const orders__payment_names[] = { "none", "requested", "paid", "refunded" };

int orders__payment_fold(const struct stw_event *ev, void *ud)
{
	struct orders__payment *p = ud;

	if (strcmp(ev->type, "PaymentRequested") == 0 && p->status == PAYMENT_NONE) {
		p->status = PAYMENT_REQUESTED;
		if (!orders__cents(ev->data, "amount", &p->amount))
			p->amount = 0;
	} else if (strcmp(ev->type, "PaymentCompleted") == 0 && p->status == PAYMENT_REQUESTED) {
		p->status = PAYMENT_PAID;
	} else if (strcmp(ev->type, "PaymentRefunded") == 0 && p->status == PAYMENT_PAID) {
		p->status = PAYMENT_REFUNDED;
	}
	return 0;
}

/* Emits `type` {order_id, amount} at `version`. */
static int emit_payment_event(struct stw_service_ctx *sc, const char *stream, int64_t version,
			      const char *type, const char *order_id, long long amount)
{
	json_t *data = json_pack("{s:s, s:I}", "order_id", order_id, "amount", (json_int_t)amount);

	if (data == NULL)
		return STW_ENOMEM;
	return stw_svc_emit(sc, stream, version, type, data);
}

/* Decides one command on a folded payment. */
static int decide(struct stw_service_ctx *sc, const struct stw_command *cmd, const char *order_id,
		  const char *stream, const struct orders__payment *p, int64_t version)
{
	long long amount = 0;

	if (strcmp(cmd->type, "ProcessPayment") == 0) {
		if (!orders__cents(cmd->data, "amount", &amount))
			return stw_reject(sc,
					  "ProcessPayment: amount must be an integer number of "
					  "cents from 0 to %lld",
					  ORDERS_MAX_CENTS);
		/* The same request again (a person retried the process from
		 * AwaitingPayment): the request stands, nothing new happens. */
		if (p->status == PAYMENT_REQUESTED && p->amount == amount)
			return STW_OK;
		if (p->status != PAYMENT_NONE || version != 0)
			return stw_reject(sc, "a payment for order %s was already requested",
					  order_id);
		return emit_payment_event(sc, stream, version, "PaymentRequested", order_id,
					  amount);
	}
	if (p->status == PAYMENT_NONE)
		return stw_reject(sc, "no payment was requested for order %s", order_id);
	if (strcmp(cmd->type, "Pay") == 0) {
		if (p->status != PAYMENT_REQUESTED)
			return stw_reject(sc, "order %s is already paid (the payment is %s)",
					  order_id, orders__payment_names[p->status]);
		return emit_payment_event(sc, stream, version, "PaymentCompleted", order_id,
					  p->amount);
	}
	/* RefundPayment */
	if (!orders__cents(cmd->data, "amount", &amount))
		return stw_reject(sc,
				  "RefundPayment: amount must be an integer number of cents from 0 "
				  "to %lld",
				  ORDERS_MAX_CENTS);
	if (p->status != PAYMENT_PAID)
		return stw_reject(sc, "order %s has no payment to refund (the payment is %s)",
				  order_id, orders__payment_names[p->status]);
	if (amount != p->amount)
		return stw_reject(
		    sc, "a refund of %lld does not match the payment of %lld for order %s", amount,
		    p->amount, order_id);
	return emit_payment_event(sc, stream, version, "PaymentRefunded", order_id, amount);
}

int orders__payments_handle(struct stw_service_ctx *sc, const struct stw_command *cmd, void *ud)
{
	const char *order_id;
	char stream[ORDERS_STREAM_CAP];
	struct orders__payment p = { 0 };
	int64_t version = 0;
	int rc;

	(void)ud;
	if (strcmp(cmd->type, "ProcessPayment") != 0 && strcmp(cmd->type, "Pay") != 0 &&
	    strcmp(cmd->type, "RefundPayment") != 0)
		return stw_reject(sc, "Payments does not handle %s", cmd->type);
	order_id = orders__value(cmd->data, "order_id");
	if (order_id == NULL ||
	    orders__stream(stream, sizeof stream, "payment-", order_id) != STW_OK)
		return stw_reject(sc, "%s: order_id must be a non-empty string of at most %d bytes",
				  cmd->type, ORDERS_MAX_VALUE);
	rc = stw_svc_read_stream(sc, stream, orders__payment_fold, &p, &version);
	if (rc != STW_OK)
		return rc;
	return decide(sc, cmd, order_id, stream, &p, version);
}

int orders_pay(struct stw_engine *e, const char *order_id, const char *command_id)
{
	return orders__execute(e, "Payments", "Pay", order_id, NULL, command_id);
}
