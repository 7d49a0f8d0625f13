/*
 * billing_service.c - the Billing service of the voiding example as a
 * program of its own (see http_service.h). It answers each command with the
 * events the command produced, so Steward appends them with the delivery;
 * its publisher forwards them too (and the events of commands that did not
 * come from Steward, like IssueDocument and VoidDocument), which Steward
 * recognises by their ids.
 *
 * Its view: GET /documents/{document_id} -> {document_id, customer, amount,
 * status, voidings} (voiding_document).
 */
#include <string.h>

#include "http_service.h"
#include "voiding.h"

static int get_view(struct stw_engine *e, const char *path, int *status, json_t **out)
{
	static const char prefix[] = "/documents/";
	if (strncmp(path, prefix, sizeof(prefix) - 1) != 0)
		return 0;
	int rc = voiding_document(e, path + sizeof(prefix) - 1, out);
	*status = rc == STW_OK ? 200 : rc == STW_ENOTFOUND || rc == STW_EINVAL ? 404 : 500;
	if (rc != STW_OK)
		*out = json_pack("{s:s}", "error", stw_strerror(rc));
	return 1;
}

int main(int argc, char **argv)
{
	static const struct voiding_service billing = {
		.program = "billing_service",
		.context = "Billing",
		.register_handler = voiding_register_billing,
		.answer_events = 1,
		.get = get_view,
	};
	return voiding_service_main(&billing, argc, argv);
}
