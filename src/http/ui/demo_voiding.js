/*
 * demo_voiding.js - the voiding demo's panel on the dashboard: issuing a
 * document, the voiding processes that are active or failed (acknowledge a
 * failure), and one report per customer with its documents (void a
 * document, publish the report). It talks to /api/demo/voiding/
 * (src/cli/demo_voiding.c) and the JSON API of docs/API.md.
 */

import {
  act, api, badge, changed, emptyRow, enc, h, instanceHref, money, notify, orDash, processCell,
  shortId, table,
} from './common.js';

export function voidingDemo() {
  const customer = h('input', { id: 'issue-customer', name: 'customer', required: true, autocomplete: 'off', list: 'customers', placeholder: 'acme' });
  const amount = h('input', { id: 'issue-amount', name: 'amount', type: 'number', min: '0', step: '0.01', required: true, placeholder: '123.45', inputmode: 'decimal' });
  const docId = h('input', { id: 'issue-document', name: 'document_id', autocomplete: 'off', placeholder: 'generated' });
  const result = h('output', { id: 'issue-result', class: 'form-result', for: 'issue-customer issue-amount issue-document' });
  const customers = h('datalist', { id: 'customers' });
  const submit = h('button', { type: 'submit' }, 'Issue document');
  const form = h('form', { id: 'issue-form', 'aria-labelledby': 'issue-title' },
    h('div', { class: 'field' }, h('label', { for: 'issue-customer' }, 'Customer'), customer, customers),
    h('div', { class: 'field' }, h('label', { for: 'issue-amount' }, 'Amount'), amount),
    h('div', { class: 'field' }, h('label', { for: 'issue-document' }, 'Document id (optional)'), docId),
    submit, result);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    result.textContent = '';
    const cents = Math.round(Number(amount.value) * 100);
    if (!customer.value.trim() || amount.value === '' || !Number.isFinite(cents) || cents < 0) {
      notify('Issue a document: give a customer and a non-negative amount.');
      return;
    }
    const body = { customer: customer.value.trim(), amount: cents };
    if (docId.value.trim()) body.document_id = docId.value.trim();
    const r = await act(submit, 'Could not issue the document',
      () => api('/api/demo/voiding/documents', { method: 'POST', body }));
    submit.disabled = false;
    if (r) {
      result.textContent = `Issued document ${r.document_id} for ${body.customer} (${money(cents)}).`;
      amount.value = '';
      docId.value = '';
    }
  });

  const processes = table('processes', 'Voiding processes that are active or failed',
    ['Process', 'State', 'Document', 'Status', 'Reason', ['Action', 'actions']]);
  const reports = h('div', { class: 'reports-list' });

  const nodes = [
    h('div', { class: 'grid-top' },
      h('section', { class: 'panel', 'aria-labelledby': 'issue-title' },
        h('h2', { id: 'issue-title' }, 'Issue a document'), form),
      h('section', { class: 'panel', 'aria-labelledby': 'processes-title' },
        h('div', { class: 'panel-head' },
          h('h2', { id: 'processes-title' }, 'Voiding processes'),
          h('span', { class: 'muted' }, 'active or failed')),
        h('div', { class: 'table-wrap' }, processes))),
    h('section', { id: 'reports', class: 'panel', 'aria-labelledby': 'reports-title' },
      h('div', { class: 'panel-head' },
        h('h2', { id: 'reports-title' }, 'Reports'),
        h('span', { class: 'muted' }, 'one per customer')),
      reports),
  ];

  function processRow(p) {
    const cells = [
      h('td', { class: 'id' }, h('a', { href: instanceHref(p.id, p.definition), title: `Process ${p.id}` }, shortId(p.id))),
      h('td', null, h('span', { class: 'state-name' }, orDash(p.state))),
      h('td', { class: 'doc-id' }, orDash(p.unique_key)),
      h('td', null, badge(orDash(p.status), 'status-' + p.status)),
      h('td', { class: 'reason' }, orDash(p.reason)),
    ];
    const actions = h('td', { class: 'actions' });
    if (p.status === 'failed') {
      const b = h('button', { type: 'button', class: 'ack', 'aria-label': `Acknowledge failure of the voiding of ${p.unique_key}` }, 'Acknowledge failure');
      b.addEventListener('click', () => act(b, 'Could not acknowledge the failure',
        () => api(`/api/instances/${enc(p.id)}/acknowledge?definition=${enc(p.definition || 'voiding')}`, { method: 'POST', body: {} })));
      actions.append(b);
    }
    return h('tr', { 'data-id': p.id, 'data-document': p.unique_key, 'data-status': p.status, class: 'process status-' + p.status }, cells, actions);
  }

  function documentRow(customerName, d) {
    const proc = d.process;
    const procCell = processCell(proc, 'voiding');
    const actions = h('td', { class: 'actions' });
    if (!d.voided && !proc) {
      const b = h('button', { type: 'button', class: 'void', 'aria-label': `Void document ${d.document_id}` }, 'Void');
      b.addEventListener('click', () => act(b, `Could not void document ${d.document_id}`,
        () => api(`/api/demo/voiding/documents/${enc(d.document_id)}/void`, { method: 'POST', body: {} })));
      actions.append(b);
    }
    return h('tr', { 'data-document': d.document_id, class: d.voided ? 'is-voided' : null },
      h('td', { class: 'doc-id' }, String(d.document_id)),
      h('td', { class: 'num amount' }, money(d.amount)),
      h('td', { class: 'voided' }, d.voided ? h('span', { class: 'yes' }, 'Yes') : h('span', { class: 'no' }, 'No')),
      procCell, actions);
  }

  function reportCard(r) {
    const titleId = 'report-' + Math.random().toString(36).slice(2);
    const head = h('div', { class: 'report-head' },
      h('h3', { id: titleId }, h('span', { class: 'visually-hidden' }, 'Report for '), String(r.customer)),
      r.published ? badge('Published', 'published') : badge('Not published', 'unpublished'));
    if (!r.published) {
      const b = h('button', { type: 'button', class: 'publish secondary', 'aria-label': `Publish report for ${r.customer}` }, 'Publish report');
      b.addEventListener('click', () => act(b, `Could not publish the report of ${r.customer}`,
        () => api(`/api/demo/voiding/reports/${enc(r.customer)}/publish`, { method: 'POST', body: {} })));
      head.append(b);
    }
    const docs = table(null, `Documents of ${r.customer}`,
      ['Document', ['Amount', 'num'], 'Voided', 'Voiding process', ['Action', 'actions']]);
    docs.removeAttribute('id');
    docs.classList.add('documents');
    const body = docs.tBodies[0];
    for (const d of r.documents || []) body.append(documentRow(r.customer, d));
    if (!body.rows.length) body.append(emptyRow(5, 'No documents.'));
    return h('article', {
      class: 'report' + (r.published ? ' is-published' : ''), 'data-customer': r.customer,
      'data-published': r.published ? 'true' : 'false', 'aria-labelledby': titleId,
    },
    head,
    h('p', { class: 'report-total' }, 'Total ', h('span', { class: 'total' }, money(r.total))),
    h('div', { class: 'table-wrap' }, docs));
  }

  const refresh = async () => {
    const [p, r] = await Promise.all([api('/api/demo/voiding/processes'), api('/api/demo/voiding/reports')]);
    if (changed('processes', p)) {
      const body = processes.tBodies[0];
      const list = p.instances || [];
      body.replaceChildren(...list.map(processRow));
      if (!list.length) body.append(emptyRow(6, 'No voiding process is active or failed.'));
    }
    if (changed('reports', r)) {
      const list = r.reports || [];
      reports.replaceChildren(...list.map(reportCard));
      if (!list.length) reports.append(h('p', { class: 'muted' }, 'No reports yet: issue a document.'));
      customers.replaceChildren(...list.map((x) => h('option', { value: x.customer })));
    }
  };
  return {
    title: 'Voiding demo',
    heading: 'Document voiding',
    lead: 'Billing issues documents and Reports builds one report per customer. Voiding a document starts a ' +
      'voiding process that asks Reports to mark it voided; once a report is published its documents can no ' +
      'longer be voided and the process fails until someone acknowledges the failure.',
    nodes,
    refresh,
  };
}
