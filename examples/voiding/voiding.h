/*
 * voiding.h - the document voiding example (seed 000): Billing issues and
 * voids documents, Reports builds a report per customer, and the "voiding"
 * process manager keeps the two consistent. Written on the public API only.
 *
 * Streams: Billing keeps one stream per document, "document-<id>"; Reports
 * keeps one per customer, "report-<customer>". Amounts are integer cents.
 *
 * Billing commands:  IssueDocument {document_id, customer, amount}
 *                    VoidDocument {document_id}
 *                    CompleteDocumentVoiding {document_id}
 *                    AbortDocumentVoiding {document_id}
 * Billing events:    DocumentIssued, DocumentVoidingRequested, DocumentVoided,
 *                    DocumentVoidingAborted
 * Reports commands:  AddDocumentToReport {document_id, customer, amount}
 *                    MarkDocumentAsVoided {document_id, customer}
 *                    PublishReport {customer}
 * Reports events:    DocumentAddedToReport, MarkingDocumentAsVoidedSucceeded,
 *                    MarkingDocumentAsVoidedFailed, ReportPublished
 *
 * Processes: "reports-feed" is a stateless policy (DocumentIssued ->
 * AddDocumentToReport); "voiding" is the seed's state machine with at most one
 * active voiding process per document.
 */
#ifndef VOIDING_H
#define VOIDING_H

#include <steward.h>

/*
 * The largest amount of one document, in cents: 10^17. Billing refuses a
 * larger one, and Reports refuses a document that would make a report's
 * total pass the largest long long.
 */
#define VOIDING_MAX_AMOUNT 100000000000000000LL

extern const struct stw_definition voiding_definition;
extern const struct stw_definition voiding_reports_feed;

/* Registers the Billing and Reports services and both definitions. */
int voiding_register(struct stw_engine *e);

/*
 * The parts of voiding_register, for hosts that split them: the Billing
 * service alone, the Reports service alone, or the two definitions alone
 * (when Billing and Reports are remote services, as with steward serve and
 * the plugin examples/voiding/plugin.c).
 */
int voiding_register_billing(struct stw_engine *e);
int voiding_register_reports(struct stw_engine *e);
int voiding_register_processes(struct stw_engine *e);

/*
 * Issues a document. `command_id` may be NULL (random); a fixed one makes the
 * call idempotent. Returns the command's outcome (STW_EREJECTED if the
 * document exists).
 */
int voiding_issue_document(struct stw_engine *e, const char *document_id, const char *customer,
			   long long amount, const char *command_id);

/*
 * Asks Billing to void a document, which starts a voiding process whose id is
 * `process_id` (NULL: a new random id). The id is written to id_out (at least
 * STW_MAX_ID bytes) when not NULL. The process id is also the command id, so
 * asking twice with the same process id is idempotent.
 */
int voiding_void_document(struct stw_engine *e, const char *document_id, const char *process_id,
			  char *id_out);

/* Publishes the report of a customer. `command_id` as for voiding_issue_document. */
int voiding_publish_report(struct stw_engine *e, const char *customer, const char *command_id);

/*
 * The state of a document as a new JSON object
 * {document_id, customer, amount, status: "issued"|"voiding"|"voided",
 *  voidings: n}, or STW_ENOTFOUND.
 */
int voiding_document(struct stw_engine *e, const char *document_id, json_t **out);

/*
 * The report of a customer as a new JSON object {customer, published, total,
 * documents: [{document_id, amount, voided}]} (total excludes voided
 * documents), or STW_ENOTFOUND if the customer has no report.
 */
int voiding_report(struct stw_engine *e, const char *customer, json_t **out);

/* Every customer that has a report, as a new JSON array of strings, sorted. */
int voiding_customers(struct stw_engine *e, json_t **out);

#endif /* VOIDING_H */
