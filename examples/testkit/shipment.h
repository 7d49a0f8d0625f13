/*
 * shipment.h - the shipment process of the kit's example (shipment.c).
 */
#ifndef SHIPMENT_H
#define SHIPMENT_H

#include <steward.h>

/* Registers the "shipment" definition on e (a stw_test_setup_fn). */
int shipment_setup(struct stw_engine *e, void *ud);

#endif /* SHIPMENT_H */
