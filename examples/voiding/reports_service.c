/*
 * reports_service.c - the Reports service of the voiding example as a
 * program of its own (see http_service.h). It answers each command with
 * 202 {} and leaves its events to its publisher, which posts them to
 * Steward's events-in endpoint.
 *
 * Its view: GET /reports/{customer} -> {customer, published, total,
 * documents: [{document_id, amount, voided}]} (voiding_report).
 */
#include <string.h>

#include "http_service.h"
#include "voiding.h"

static int get_view(struct stw_engine *e, const char *path, int *status, json_t **out)
{
	static const char prefix[] = "/reports/";
	if (strncmp(path, prefix, sizeof(prefix) - 1) != 0)
		return 0;
	int rc = voiding_report(e, path + sizeof(prefix) - 1, out);
	*status = rc == STW_OK ? 200 : rc == STW_ENOTFOUND || rc == STW_EINVAL ? 404 : 500;
	if (rc != STW_OK)
		*out = json_pack("{s:s}", "error", stw_strerror(rc));
	return 1;
}

int main(int argc, char **argv)
{
	static const struct voiding_service reports = {
		.program = "reports_service",
		.context = "Reports",
		.register_handler = voiding_register_reports,
		.answer_events = 0,
		.get = get_view,
	};
	return voiding_service_main(&reports, argc, argv);
}
