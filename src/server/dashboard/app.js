// The sluice dashboard: a single page over the REST API of `sluice serve` (docs/serve.md,
// docs/dashboard.md). Plain JavaScript, no build step. Two views, picked by the URL's hash:
//   #/          jobs (with a Start button) and runs (polled)
//   #/runs/ID   one run, live from its event stream (Server-Sent Events) and the ledger
// Everything the server sends is put in the page as text (textContent), never as HTML.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);

  // ---------------------------------------------------------------- formatting

  const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });

  function fmtInt(n) {
    return n === null || n === undefined || Number.isNaN(Number(n)) ? '–' : integer.format(Number(n));
  }

  function fmtDuration(seconds) {
    if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '–';
    if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
    if (seconds < 10) return `${seconds.toFixed(1)} s`;
    const s = Math.round(seconds);
    if (s < 60) return `${s} s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
    return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
  }

  // The ledger's timestamps are UTC, written either as ISO 8601 ("2026-12-04T21:30:00.123456Z")
  // or as database text ("2026-12-04 21:30:00.123456+00"); Date wants milliseconds and "+00:00".
  function parseTime(text) {
    if (!text) return null;
    let s = String(text).trim().replace(' ', 'T');
    s = s.replace(/(\.\d{3})\d+/, '$1').replace(/([+-]\d\d)$/, '$1:00');
    if (!/(Z|[+-]\d\d:?\d\d)$/i.test(s)) s += 'Z';
    const d = new Date(s);
    return Number.isNaN(d.getTime()) ? null : d;
  }

  function fmtTime(date) {
    if (!date) return '–';
    const today = new Date().toDateString() === date.toDateString();
    return today
      ? date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' })
      : date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
  }

  function timeElement(text) {
    const d = parseTime(text);
    if (!d) return el('span', { className: 'muted' }, '–');
    return el('time', { dateTime: d.toISOString(), title: d.toString() }, fmtTime(d));
  }

  function secondsBetween(a, b) {
    const from = parseTime(a);
    const to = b ? parseTime(b) : new Date();
    return from && to ? Math.max(0, (to - from) / 1000) : null;
  }

  // ---------------------------------------------------------------- DOM helpers

  // el('a', {href: '#/', className: 'x'}, 'text', child, ...): strings become text nodes.
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key.startsWith('data-') || key.startsWith('aria-') || key === 'role') node.setAttribute(key, value);
      else node[key] = value;
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function badge(status) {
    return el('span', { className: `badge status-${String(status || 'unknown').replace(/[^a-z_]/g, '')}` }, status || 'unknown');
  }

  // Replaces a table body's rows; the element that had focus (a button or link marked with
  // data-focus) gets it back, so a poll never throws a keyboard user out of the table.
  function replaceRows(tbody, rows) {
    const active = document.activeElement;
    const key = active && tbody.contains(active) ? active.getAttribute('data-focus') : null;
    const table = tbody.closest('table');
    if (table.classList.contains('stack')) {
      // On a phone these tables show each row as a card: each cell is labelled with its column.
      const heads = [...table.tHead.rows[0].cells].map((th) => th.textContent.trim());
      for (const tr of rows) [...tr.cells].forEach((td, i) => td.setAttribute('data-label', heads[i] || ''));
    }
    tbody.replaceChildren(...rows);
    if (key) {
      const again = [...tbody.querySelectorAll('[data-focus]')].find((n) => n.getAttribute('data-focus') === key);
      if (again) again.focus();
    }
  }

  function flash(node, text, kind) {
    node.textContent = text || '';
    node.className = `flash${kind ? ` ${kind}` : ''}`;
  }

  // ---------------------------------------------------------------- the API and its token

  const TOKEN_KEY = 'sluice.token';

  function storedToken() {
    try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch { return ''; }
  }

  function storeToken(token) {
    try {
      if (token) sessionStorage.setItem(TOKEN_KEY, token); else sessionStorage.removeItem(TOKEN_KEY);
    } catch { /* storage refused (private mode): the token lives until the next 401 */ }
    $('token-state').hidden = !storedToken();
  }

  async function api(method, path, body) {
    const headers = { Accept: 'application/json' };
    const init = { method, headers };
    if (method !== 'GET') {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body || {});
      const token = storedToken();
      if (token) headers.Authorization = `Bearer ${token}`;
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      return { status: 0, ok: false, data: { error: `the server does not answer (${e.message})` } };
    }
    let data = null;
    try { data = await res.json(); } catch { data = null; }
    return { status: res.status, ok: res.ok, data };
  }

  // Opens the token dialog; resolves with the token, or null when the user cancels.
  function askToken(refused) {
    const dialog = $('token-dialog');
    const input = $('token-input');
    $('token-error').hidden = !refused;
    input.value = '';
    dialog.returnValue = '';
    return new Promise((resolve) => {
      dialog.addEventListener('close', () => {
        resolve(dialog.returnValue === 'ok' && input.value ? input.value : null);
      }, { once: true });
      dialog.showModal();
      input.focus();
    });
  }

  // A call that changes something: on 401 ask for the token and try again with it (a token
  // the server refused is forgotten first). Resolves with the answer, or null when the user
  // gave up.
  async function mutate(path, body) {
    for (;;) {
      const sent = storedToken();
      const answer = await api('POST', path, body);
      if (answer.status !== 401) return answer;
      if (sent) storeToken('');
      const token = await askToken(sent !== '');
      if (token === null) return null;
      storeToken(token);
    }
  }

  function errorText(answer) {
    return (answer.data && answer.data.error) || `HTTP ${answer.status}`;
  }

  // ---------------------------------------------------------------- routing

  let leaveView = () => {};

  function route() {
    leaveView();
    leaveView = () => {};
    const match = (location.hash || '#/').match(/^#\/runs\/([^/?#]+)$/);
    $('home-view').hidden = Boolean(match);
    $('run-view').hidden = !match;
    if (match) showRun(decodeURIComponent(match[1])); else showHome();
  }

  // Every few seconds while the tab is visible, never two at once.
  function poll(fn, ms) {
    let timer = null;
    let stopped = false;
    const tick = async () => {
      if (stopped) return;
      if (!document.hidden) {
        try { await fn(); } catch (e) { console.error(e); }
      }
      if (!stopped) timer = setTimeout(tick, ms);
    };
    tick();
    return () => { stopped = true; clearTimeout(timer); };
  }

  // ---------------------------------------------------------------- #/ jobs and runs

  const RUNS_PAGE = 20;
  const home = { offset: 0, total: 0, jobsSeen: '' };

  function showHome() {
    document.title = 'sluice: jobs and runs';
    const stop = poll(() => Promise.all([loadJobs(), loadRuns()]), 3000);
    leaveView = stop;
  }

  async function loadJobs() {
    const answer = await api('GET', 'api/jobs');
    if (!answer.ok || !Array.isArray(answer.data)) {
      flash($('home-flash'), `Could not list the jobs: ${errorText(answer)}`, 'error');
      return;
    }
    const jobs = answer.data;
    const seen = JSON.stringify(jobs);
    if (seen === home.jobsSeen) return;  // unchanged: keep the rows (and the focus) as they are
    home.jobsSeen = seen;
    $('jobs-empty').hidden = jobs.length > 0;
    replaceRows($('jobs-body'), jobs.map(jobRow));
    // The job filter offers every job, keeping the current choice.
    const select = $('filter-job');
    const chosen = select.value;
    select.replaceChildren(el('option', { value: '' }, 'All jobs'),
      ...jobs.map((j) => el('option', { value: j.name }, j.name)));
    select.value = chosen;
  }

  function jobRow(job) {
    const name = el('td', {}, el('strong', {}, job.name), el('div', { className: 'muted small wide-only' }, job.file || ''));
    if (!job.valid) {
      // The error names the file at each of its lines: its base name says as much, shorter.
      const file = job.file || '';
      const base = file.slice(file.lastIndexOf('/') + 1);
      const error = file ? (job.error || '').split(file).join(base) : job.error;
      return el('tr', { className: 'invalid' }, name,
        el('td', { colSpan: 4, className: 'error-text' }, badge('invalid'), ' ',
          el('span', { className: 'visually-hidden' }, 'The job file does not parse: '), error || 'does not parse'));
    }
    const schedule = job.schedule ? `${job.schedule} (${job.timezone || 'UTC'})` : '–';
    const state = job.running_run
      ? el('a', { href: `#/runs/${encodeURIComponent(job.running_run)}`, 'data-focus': `job-run-${job.name}` }, 'running')
      : el('span', { className: 'muted' }, 'idle');
    const start = el('button', {
      type: 'button', className: 'primary', disabled: Boolean(job.running_run),
      'aria-label': `Start job ${job.name}`, 'data-focus': `start-${job.name}`,
    }, 'Start');
    start.addEventListener('click', () => startJob(job.name, start));
    return el('tr', {}, name, el('td', { className: 'wide-only' }, (job.streams || []).join(', ')),
      el('td', { className: 'wide-only' }, schedule), el('td', {}, state), el('td', { className: 'actions' }, start));
  }

  async function startJob(name, button) {
    button.disabled = true;
    flash($('home-flash'), `Starting ${name}…`);
    const answer = await mutate(`api/jobs/${encodeURIComponent(name)}/runs`, {});
    button.disabled = false;
    if (answer === null) {
      flash($('home-flash'), `${name} was not started: no token given.`);
    } else if (answer.status === 202) {
      location.hash = `#/runs/${encodeURIComponent(answer.data.run_id)}`;
    } else {
      flash($('home-flash'), `Could not start ${name}: ${errorText(answer)}`, 'error');
    }
  }

  async function loadRuns() {
    const query = new URLSearchParams({ limit: RUNS_PAGE, offset: home.offset });
    if ($('filter-job').value) query.set('job', $('filter-job').value);
    if ($('filter-status').value) query.set('status', $('filter-status').value);
    const answer = await api('GET', `api/runs?${query}`);
    if (!answer.ok || !answer.data) {
      flash($('home-flash'), `Could not list the runs: ${errorText(answer)}`, 'error');
      return;
    }
    const { runs, total } = answer.data;
    home.total = total;
    $('runs-empty').hidden = runs.length > 0;
    replaceRows($('runs-body'), runs.map(runRow));
    const first = runs.length ? home.offset + 1 : 0;
    $('runs-range').textContent = `${fmtInt(first)}–${fmtInt(home.offset + runs.length)} of ${fmtInt(total)}`;
    $('runs-prev').disabled = home.offset === 0;
    $('runs-next').disabled = home.offset + RUNS_PAGE >= total;
  }

  function runRow(r) {
    const link = el('a', { href: `#/runs/${encodeURIComponent(r.run_id)}`, className: 'mono nowrap', 'data-focus': `run-${r.run_id}` }, r.run_id);
    const status = el('td', {}, badge(r.status));
    if (r.status === 'running' && r.stop_requested) status.append(' ', el('span', { className: 'muted small' }, 'stopping'));
    return el('tr', {}, el('td', {}, link), el('td', {}, r.job), status,
      el('td', { className: 'wide-only' }, timeElement(r.started_at)),
      el('td', { className: 'wide-only' }, fmtDuration(secondsBetween(r.started_at, r.status === 'running' ? null : r.finished_at))),
      el('td', { className: 'num wide-only' }, fmtInt(r.rows_written)),
      el('td', { className: 'num wide-only' }, fmtInt(r.rows_rejected)));
  }

  function reloadRunsFrom(offset) {
    home.offset = Math.max(0, offset);
    loadRuns();
  }

  // ---------------------------------------------------------------- #/runs/ID

  const PARTITIONS_PAGE = 50;
  const REJECTS_PAGE = 25;
  const EVENTS_KEPT = 200;

  let view = null;  // the run page's state; a new object for each visit

  function showRun(id) {
    document.title = `sluice: run ${id}`;
    view = {
      id,
      detail: null,
      progress: null,        // the latest `progress` event
      finished: null,        // the `run_finished` event
      elsewhere: false,      // its event stream said run_status: another process ran it
      streamClosed: false,   // the event stream failed for good
      retried: new Set(),    // "stream#partition" seen in partition_retry events
      tenantFailures: [],    // tenant_failed events (tenants that could not be planned)
      partitionsOffset: 0,
      rejectsOffset: 0,
      rejectsSeen: -1,
      source: null,
      chart: null,
      refetch: null,
      stopPolling: () => {},
    };
    const mine = view;
    resetRunPage();
    loadDetail(mine).then(() => {
      if (view !== mine) return;
      openEvents(mine);
      // The ledger is polled too: it is the truth for runs of another process (their
      // event stream is a single status) and catches anything an event did not say.
      mine.stopPolling = poll(() => (!mine.detail || mine.detail.status === 'running' ? loadDetail(mine) : null), 3000);
    });
    leaveView = () => {
      if (mine.source) mine.source.close();
      mine.stopPolling();
      clearTimeout(mine.refetch);
      if (mine.chart) mine.chart.destroy();
      view = null;
    };
  }

  function resetRunPage() {
    $('run-title').textContent = `Run ${view.id}`;
    $('run-meta').replaceChildren();
    $('run-status').replaceChildren();
    $('stop-button').hidden = true;
    $('resume-button').hidden = true;
    flash($('run-flash'), '');
    $('run-load-error').hidden = true;
    $('overall-progress').value = 0;
    $('overall-text').textContent = '';
    for (const id of ['stat-rate', 'stat-eta', 'stat-elapsed', 'stat-read', 'stat-written', 'stat-rejected', 'stat-partitions']) {
      $(id).textContent = '–';
    }
    $('stream-bars').replaceChildren();
    $('tenant-bars').replaceChildren();
    $('tenant-block').hidden = true;
    $('failures').hidden = true;
    $('failure-list').replaceChildren();
    $('timeline').replaceChildren();
    $('timeline-note').textContent = '';
    $('partitions-body').replaceChildren();
    $('rejects-body').replaceChildren();
    $('rejects-block').hidden = true;
    $('rejects-empty').hidden = false;
    $('event-log').replaceChildren();
    $('events-empty').hidden = false;
    view.chart = makeChart();
    renderChartNote();
  }

  async function loadDetail(mine) {
    // Reads can overlap (an event's refetch, the poll, the end): only the latest one asked
    // for is drawn, so an older answer arriving late cannot take the page back in time.
    const asked = (mine.detailAsked = (mine.detailAsked || 0) + 1);
    const answer = await api('GET', `api/runs/${encodeURIComponent(mine.id)}`);
    if (view !== mine || asked !== mine.detailAsked) return;
    if (!answer.ok || !answer.data) {
      const box = $('run-load-error');
      box.textContent = answer.status === 404 ? `No run ${mine.id} in this server's ledgers.` : `Could not read the run: ${errorText(answer)}`;
      box.hidden = false;
      return;
    }
    $('run-load-error').hidden = true;
    mine.detail = answer.data;
    renderRun();
    if (mine.detail.rows_rejected !== mine.rejectsSeen) {
      mine.rejectsSeen = mine.detail.rows_rejected;
      loadRejects(mine);
    }
  }

  // Partition events come in bursts (a worker commits every few hundred ms): read the
  // ledger again at most about once a second, not once per event.
  function refetchSoon(mine) {
    if (mine.refetch) return;
    mine.refetch = setTimeout(() => {
      mine.refetch = null;
      loadDetail(mine);
    }, 800);
  }

  function openEvents(mine) {
    const source = new EventSource(`api/runs/${encodeURIComponent(mine.id)}/events`);
    mine.source = source;
    source.onmessage = (message) => {
      if (view !== mine) return;
      let event;
      try { event = JSON.parse(message.data); } catch { return; }
      onEvent(mine, event);
    };
    // EventSource reconnects by itself (sending Last-Event-ID) whenever the stream ends. A
    // stream that ended without run_finished, for a run the ledger says has ended, has nothing
    // more to say: stop reconnecting. A closed one is final; the ledger poll goes on.
    source.onerror = () => {
      if (view !== mine) return;
      if (source.readyState === EventSource.CONNECTING && mine.detail && mine.detail.status !== 'running') {
        source.close();
      }
      if (source.readyState === EventSource.CLOSED) {
        mine.streamClosed = true;
        renderChartNote();
      }
    };
  }

  function onEvent(mine, event) {
    switch (event.event) {
      case 'progress':
        mine.progress = event;
        addChartPoint(mine, event);
        renderProgress();
        renderSoon(mine);  // the running partitions' bars grow to now
        return;  // every second: not logged
      case 'partition_committed':
      case 'partition_failed':
        patchPartition(mine, event);
        refetchSoon(mine);
        break;
      case 'run_finished':
        mine.finished = event;
        mine.source.close();  // the stream ends here; without close() EventSource would reconnect
        clearTimeout(mine.refetch);
        mine.refetch = null;
        loadDetail(mine);
        break;
      case 'run_status':
        // A run this server did not start (or started before it restarted): no live events.
        mine.source.close();
        mine.elsewhere = true;
        renderChartNote();
        return;
      case 'partition_retry':
        mine.retried.add(`${event.stream}#${event.partition}`);
        refetchSoon(mine);
        break;
      case 'tenant_failed':
        mine.tenantFailures.push(event);
        refetchSoon(mine);
        break;
      default:
        refetchSoon(mine);
    }
    logEvent(event);
  }

  // Applies a partition event to the partitions read from the ledger, so bars and counts move
  // at once; the ledger, read again within a second, then brings the exact times and counts.
  function patchPartition(mine, e) {
    const parts = (mine.detail && mine.detail.partitions) || [];
    const p = parts.find((x) => x.stream === e.stream && x.partition === e.partition && (x.tenant || '') === (e.tenant || ''));
    if (!p || p.status === 'committed') return;
    p.status = e.event === 'partition_committed' ? 'committed' : 'failed';
    if (e.event === 'partition_committed') {
      p.rows = e.rows;
      p.rows_read = Math.max(Number(p.rows_read) || 0, (e.rows || 0) + (e.rejected || 0));
      if (e.attempts) p.attempts = e.attempts;
    } else {
      p.error = e.error;
    }
    if (!p.finished_at) p.finished_at = new Date().toISOString();
    renderSoon(mine);
  }

  // Events arrive in bursts (and all at once when a finished run's history is replayed): draw
  // the run page a few times a second at most, and once a second when it has thousands of
  // partitions (each draw rebuilds the timeline).
  function renderSoon(mine) {
    if (mine.renderPending) return;
    mine.renderPending = true;
    const many = mine.detail && (mine.detail.partitions || []).length > 2000;
    setTimeout(() => {
      mine.renderPending = false;
      if (view === mine && mine.detail) renderRun();
    }, many ? 1000 : 250);
  }

  function describeEvent(e) {
    const where = (e.partition !== undefined ? `${e.stream} #${e.partition}` : e.stream || '') + (e.tenant ? ` (tenant ${e.tenant})` : '');
    switch (e.event) {
      // Two of them: the server's (run_id, resumed) and the engine's (workers, partitions).
      case 'run_started':
        return e.workers !== undefined ? `Loading on ${fmtInt(e.workers)} workers: ${fmtInt(e.partitions)} partitions`
          : e.resumed ? 'Run resumed' : 'Run started';
      case 'stream_started': return `Stream ${e.stream} started: ${fmtInt(e.partitions)} partitions`;
      case 'partition_committed':
        return `${where} committed: ${fmtInt(e.rows)} rows${e.rejected ? `, ${fmtInt(e.rejected)} rejected` : ''}${e.attempts > 1 ? ` (attempt ${e.attempts})` : ''}`;
      case 'partition_failed': return `${where} failed: ${e.error}`;
      case 'partition_retry': return `${where}: retrying (attempt ${e.attempt}) after: ${e.error}`;
      case 'stream_retry': return `Stream ${e.stream}: preparing again (attempt ${e.attempt}) after: ${e.error}`;
      case 'stream_waiting': return `Stream ${e.stream}: waiting for ${e.holder || 'another process'}, which has held it for ${e.seconds} s` +
        (e.silent_seconds === undefined ? '' : `; silent for ${e.silent_seconds} s, but this target cannot fence its steps: end that worker, or its gate session (pg_terminate_backend(${e.holder_pid}) on the ledger), to go on`);
      case 'stream_lock_taken': return `Stream ${e.stream}: lock taken from ${e.holder}, silent for ${e.silent_seconds} s`;
      case 'stream_lock_lost': return `Stream ${e.stream}: lock lost to another worker; left to it`;
      case 'stream_finished': return `Stream ${e.stream} ${e.status}: ${fmtInt(e.rows_written)} rows written${e.error ? `: ${e.error}` : ''}`;
      case 'tenant_failed': return `Tenant ${e.tenant} of ${e.stream} failed: ${e.error}`;
      case 'tenant_rolled_back': return `Tenant ${e.tenant} of ${e.stream} rolled back (${fmtInt(e.rows)} rows undone)`;
      case 'warning': return `Warning${where ? ` (${where})` : ''}: ${e.message || ''}`;
      case 'stop_requested': return 'Stop requested: partitions in flight roll back';
      case 'run_finished': return `Run ${e.status} after ${fmtDuration(e.seconds)}${e.error ? `: ${e.error}` : ''}`;
      default: return String(e.event || 'event').replace(/_/g, ' ') + (where ? `: ${where}` : '');
    }
  }

  function logEvent(event) {
    const log = $('event-log');
    const bad = ['partition_failed', 'tenant_failed'].includes(event.event) || (event.event === 'run_finished' && event.status !== 'succeeded');
    const kind = bad ? 'bad' : ['partition_retry', 'stream_retry', 'stream_waiting', 'stream_lock_taken', 'stream_lock_lost', 'warning'].includes(event.event) ? 'warn' : '';
    const at = parseTime(event.at);  // the server stamps each event (older servers did not)
    log.prepend(el('li', { className: kind }, ...(at ? [el('time', { dateTime: at.toISOString() }, fmtTime(at)), ' '] : []),
      describeEvent(event)));
    while (log.children.length > EVENTS_KEPT) log.lastElementChild.remove();
    $('events-empty').hidden = true;
  }

  // ------------------------------------------------ run page: rendering from the ledger

  function renderRun() {
    const d = view.detail;
    const meta = $('run-meta');
    meta.replaceChildren(el('span', {}, 'Job ', el('strong', {}, d.job)),
      el('span', {}, 'started ', timeElement(d.started_at)));
    if (d.finished_at && d.status !== 'running') meta.append(el('span', {}, 'finished ', timeElement(d.finished_at)));
    if (d.owner) meta.append(el('span', { className: 'wide-only' }, `owner ${d.owner}`));
    if (d.superseded_by) {
      meta.append(el('span', {}, 'superseded by ', el('a', { href: `#/runs/${encodeURIComponent(d.superseded_by)}` }, d.superseded_by)));
    }

    const status = $('run-status');
    const stopping = d.status === 'running' && d.stop_requested;
    const text = stopping ? 'running (stopping)' : d.status;
    if (status.textContent !== `Status: ${text}`) {  // rewritten only on change: it is a live region
      status.className = `badge status-${d.status}`;
      status.replaceChildren(el('span', { className: 'visually-hidden' }, 'Status: '), text);
    }
    const stop = $('stop-button');
    stop.hidden = d.status !== 'running';
    stop.disabled = stopping;
    stop.textContent = stopping ? 'Stopping…' : 'Stop';
    $('resume-button').hidden = !['failed', 'stopped', 'partial'].includes(d.status) || Boolean(d.superseded_by);

    renderProgress();
    renderChartNote();
    renderFailures();
    renderTimeline();
    renderPartitionsTable();
  }

  function countBy(partitions, keyOf) {
    const groups = new Map();
    for (const p of partitions) {
      const key = keyOf(p);
      if (!groups.has(key)) groups.set(key, { total: 0, committed: 0, failed: 0, running: 0, rows: 0, retries: 0 });
      const g = groups.get(key);
      g.total++;
      g.retries += Math.max(0, (Number(p.attempts) || 0) - 1);
      if (p.status === 'committed') {
        g.committed++;
        g.rows += Number(p.rows) || 0;  // a running partition's rows are sent, not written yet
      } else if (p.status === 'failed') {
        g.failed++;
      } else if (p.status === 'running') {
        g.running++;
      }
    }
    return groups;
  }

  // Done, from 0 to 1: the share of committed partitions, or while it runs the rows read of
  // the rows estimated when that is further along; 1 only once the run succeeded (a run
  // whose partitions all committed still publishes).
  function overallDone() {
    const d = view.detail;
    if (!d) return 0;
    if (d.status === 'succeeded') return 1;
    const parts = d.partitions || [];
    let done = parts.length ? parts.filter((p) => p.status === 'committed').length / parts.length : 0;
    const p = view.progress;
    if (d.status === 'running' && p) {
      if (p.estimated_rows > 0) done = Math.max(done, p.rows_read / p.estimated_rows);
      else if (p.partitions_total > 0) done = Math.max(done, p.partitions_done / p.partitions_total);
    }
    return Math.min(done, d.status === 'running' ? 0.99 : 1);
  }

  function renderProgress() {
    const d = view.detail;
    if (!d) return;
    const running = d.status === 'running';
    const p = running ? view.progress : null;
    const parts = d.partitions || [];
    const committed = parts.filter((x) => x.status === 'committed').length;
    const failed = parts.filter((x) => x.status === 'failed').length;

    const pct = Math.floor(overallDone() * 100);
    const bar = $('overall-progress');
    bar.value = pct;
    bar.className = failed && !running ? 'failed' : pct === 100 ? 'done' : '';
    bar.setAttribute('aria-valuetext', `${pct}%`);
    // While it runs, the progress event (a second old at most) and the partitions (updated by
    // each partition event) both count low: show the larger.
    const sum = (list, key) => list.reduce((n, x) => n + (Number(x[key]) || 0), 0);
    const rowsRead = p ? Math.max(p.rows_read, sum(parts, 'rows_read')) : d.rows_read;
    // (a running partition's `rows` are sent, not yet written: only committed ones count)
    const rowsWritten = p ? Math.max(p.rows_written, sum(parts.filter((x) => x.status === 'committed'), 'rows')) : d.rows_written;
    const estimate = p && p.estimated_rows > 0 ? ` of about ${fmtInt(p.estimated_rows)}` : '';
    $('overall-text').textContent = `${pct}% · ${fmtInt(rowsRead)}${estimate} rows read`;

    const elapsed = p ? p.elapsed_s : view.finished && !running ? view.finished.seconds : secondsBetween(d.started_at, running ? null : d.finished_at);
    let rate = '–';
    if (p) rate = fmtInt(p.rows_per_s);
    else if (!running && elapsed > 0) rate = fmtInt(d.rows_read / elapsed);
    $('stat-rate-label').textContent = p || running ? 'Rows/s' : 'Rows/s (average)';
    let eta = '–';
    if (d.status === 'succeeded') eta = 'done';
    else if (!running) eta = 'ended';
    else if (p) eta = p.eta_s >= 0 ? fmtDuration(p.eta_s) : 'estimating';
    $('stat-rate').textContent = rate;
    $('stat-eta').textContent = eta;
    $('stat-elapsed').textContent = fmtDuration(elapsed);
    $('stat-read').textContent = fmtInt(rowsRead);
    $('stat-written').textContent = fmtInt(rowsWritten);
    $('stat-rejected').textContent = fmtInt(p ? p.rows_rejected : d.rows_rejected);
    $('stat-partitions').textContent = `${fmtInt(committed)} of ${fmtInt(parts.length)} committed${failed ? `, ${fmtInt(failed)} failed` : ''}`;

    // Streams: the ledger's partitions, refined by the progress event's rows while running.
    const live = new Map(((p && p.streams) || []).map((s) => [s.stream, s]));
    const streams = countBy(parts, (x) => x.stream);
    for (const name of live.keys()) if (!streams.has(name)) streams.set(name, { total: 0, committed: 0, failed: 0, running: 0, rows: 0, retries: 0 });
    $('stream-bars').replaceChildren(...[...streams].map(([name, g]) => {
      const s = live.get(name);
      let done = g.total ? g.committed / g.total : 0;
      let detail = `${fmtInt(g.committed)} of ${fmtInt(g.total || (s && s.partitions_total) || 0)} partitions · ${fmtInt(g.rows)} rows written`;
      if (s) {
        if (s.estimated_rows > 0) done = Math.max(done, Math.min(s.rows_read / s.estimated_rows, 0.99));
        detail += ` · ${fmtInt(s.rows_per_s)} rows/s`;
      }
      if (g.retries) detail += ` · ${fmtInt(g.retries)} ${g.retries === 1 ? 'retry' : 'retries'}`;
      if (g.failed) detail += ` · ${fmtInt(g.failed)} failed`;
      return progressRow(`stream-${name}`, name, done, detail, g.failed > 0);
    }));

    // Tenants: aggregated from the partitions (committed of total), when the job has any.
    const tenants = countBy(parts.filter((x) => x.tenant), (x) => x.tenant);
    for (const f of view.tenantFailures) if (!tenants.has(f.tenant)) tenants.set(f.tenant, { total: 0, committed: 0, failed: 1, running: 0, rows: 0, retries: 0 });
    $('tenant-block').hidden = tenants.size === 0;
    $('tenant-bars').replaceChildren(...[...tenants].sort((a, b) => a[0].localeCompare(b[0])).map(([name, g]) => {
      let detail = `${fmtInt(g.committed)} of ${fmtInt(g.total)} partitions · ${fmtInt(g.rows)} rows written`;
      if (g.retries) detail += ` · ${fmtInt(g.retries)} ${g.retries === 1 ? 'retry' : 'retries'}`;
      if (g.failed) detail += ' · failed';
      return progressRow(`tenant-${name}`, name, g.total ? g.committed / g.total : 0, detail, g.failed > 0);
    }));
  }

  let barIds = 0;
  function progressRow(kind, name, done, detail, failed) {
    const id = `bar-${++barIds}`;
    const pct = Math.floor(Math.min(1, Math.max(0, done)) * 100);
    const bar = el('progress', { id, max: 100, value: pct, className: failed ? 'failed' : pct === 100 ? 'done' : '', 'aria-valuetext': `${pct}%`, 'data-name': kind });
    return el('div', { className: `bar-row${failed ? ' has-failed' : ''}` },
      el('label', { htmlFor: id, title: name }, name), bar,
      el('span', { className: 'bar-text' }, `${pct}% · ${detail}`));
  }

  function renderFailures() {
    const d = view.detail;
    const items = [];
    const failed = (d.partitions || []).filter((p) => p.status === 'failed');
    // The run's error is usually its first failed partition's: said once, with the partition.
    if (d.error && !failed.some((p) => p.error === d.error)) {
      items.push(el('li', { className: 'run-error' }, el('strong', {}, 'Run: '), d.error));
    }
    for (const p of failed) {
      // The engine's messages name their stream, tenant and partition already.
      const where = `Stream ${p.stream}, partition ${p.partition}${p.tenant ? `, tenant ${p.tenant}` : ''}`;
      const named = p.error && p.error.includes(`partition ${p.partition}`) && p.error.includes(p.stream);
      items.push(el('li', {}, named ? null : el('strong', {}, `${where}: `), p.error || 'failed (no message recorded)',
        p.attempts > 1 ? el('span', { className: 'muted' }, ` (after ${p.attempts} attempts)`) : null));
    }
    for (const f of view.tenantFailures) {
      items.push(el('li', {}, el('strong', {}, `Stream ${f.stream}, tenant ${f.tenant}: `), f.error || 'could not be planned'));
    }
    $('failures').hidden = items.length === 0;
    $('failure-list').replaceChildren(...items);
  }

  // A Gantt chart by worker: each started partition is a bar from its start to its end (or
  // now), colored by status. It is a picture for the eye (aria-hidden); the partitions table
  // below says the same in words.
  function renderTimeline() {
    const d = view.detail;
    const parts = d.partitions || [];
    const box = $('timeline');
    const started = parts.filter((p) => parseTime(p.started_at));
    const pending = parts.filter((p) => p.status === 'pending').length;
    const note = [];
    if (!parts.length) note.push('No partitions recorded yet.');
    else if (!started.length && parts.some((p) => p.status !== 'pending') && !parts.some((p) => 'started_at' in p)) {
      note.push('This server\'s ledger does not record when partitions ran; see the table below.');
    }
    if (pending) note.push(`${fmtInt(pending)} partition${pending === 1 ? '' : 's'} waiting.`);
    const processes = [...new Set(started.map((p) => p.worker).filter(Boolean))];
    if (processes.length === 1) note.push(`Lanes are the worker slots of process ${processes[0]}.`);
    $('timeline-note').textContent = note.join(' ');
    if (!started.length) { box.replaceChildren(); return; }

    const now = new Date();
    const endOf = (p) => parseTime(p.finished_at) || (p.status === 'running' && d.status === 'running' ? now : parseTime(p.started_at));
    let t0 = Math.min(...started.map((p) => parseTime(p.started_at).getTime()));
    const runStart = parseTime(d.started_at);
    if (runStart && runStart.getTime() < t0 && t0 - runStart.getTime() < 3600e3) t0 = runStart.getTime();
    let t1 = Math.max(...started.map((p) => endOf(p).getTime()));
    if (d.status === 'running') t1 = Math.max(t1, now.getTime());
    const span = Math.max(t1 - t0, 1);

    const lanes = workerLanes(started, endOf);
    const rows = lanes.map(({ name, title, parts: laneParts }) => {
      const track = el('div', { className: 'track' });
      for (const p of laneParts) {
        const s = parseTime(p.started_at).getTime();
        const f = endOf(p).getTime();
        const retried = p.attempts > 1 || view.retried.has(`${p.stream}#${p.partition}`);
        const bar = el('div', {
          className: `tl-bar ${p.status}${retried ? ' retried' : ''}`,
          title: `${p.stream} #${p.partition}${p.tenant ? ` (tenant ${p.tenant})` : ''}: ${p.status}, ${fmtInt(p.rows)} rows, ` +
            `${fmtDuration((f - s) / 1000)}${p.attempts > 1 ? `, attempt ${p.attempts}` : ''}${p.error ? `\n${p.error}` : ''}`,
        });
        // Positions are data, so they are set here (the page's CSP allows no style attributes in HTML).
        bar.style.left = `${((s - t0) / span) * 100}%`;
        bar.style.width = `max(3px, ${((f - s) / span) * 100}%)`;
        track.append(bar);
      }
      return el('div', { className: 'lane' }, el('span', { className: 'lane-name', title }, name), track);
    });
    const axis = el('div', { className: 'lane axis' }, el('span', { className: 'lane-name' }),
      el('div', { className: 'ticks' }, ...[0, 0.25, 0.5, 0.75, 1].map((f) => el('span', {}, fmtDuration((span * f) / 1000)))));
    box.setAttribute('aria-hidden', 'true');
    box.replaceChildren(...rows, axis);
  }

  // The ledger's `worker` names the process (host:pid), not the worker thread inside it, so
  // the partitions of one process are dealt onto lanes: each goes on the first lane free at
  // its start. Partitions that ran at the same time get different lanes, so a process with N
  // workers shows about N lanes, one per worker slot.
  function workerLanes(parts, endOf) {
    const byWorker = new Map();
    // Millisecond times: of partitions starting "together", the first to end frees its lane first.
    for (const p of [...parts].sort((a, b) => parseTime(a.started_at) - parseTime(b.started_at) || endOf(a) - endOf(b))) {
      const worker = p.worker || 'unknown worker';
      if (!byWorker.has(worker)) byWorker.set(worker, []);
      const lanes = byWorker.get(worker);
      const start = parseTime(p.started_at).getTime();
      let lane = lanes.find((l) => l.free <= start);
      if (!lane) {
        lane = { parts: [], free: 0 };
        lanes.push(lane);
      }
      lane.parts.push(p);
      lane.free = endOf(p).getTime();
    }
    // One process (the usual case): lanes are "worker 1..N"; several (a run resumed elsewhere):
    // each lane names its process too.
    const workers = [...byWorker.keys()].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
    return workers.flatMap((worker) => byWorker.get(worker).map((lane, i) => ({
      name: workers.length === 1 ? `worker ${i + 1}` : `${worker} · ${i + 1}`,
      title: `process ${worker}, worker slot ${i + 1}`,
      parts: lane.parts,
    })));
  }

  function renderPartitionsTable() {
    const parts = view.detail.partitions || [];
    $('partitions-count').textContent = fmtInt(parts.length);
    if (view.partitionsOffset >= parts.length) view.partitionsOffset = Math.max(0, parts.length - PARTITIONS_PAGE);
    const page = parts.slice(view.partitionsOffset, view.partitionsOffset + PARTITIONS_PAGE);
    replaceRows($('partitions-body'), page.map((p) => {
      const took = p.started_at ? fmtDuration(secondsBetween(p.started_at, p.finished_at || (p.status === 'running' ? null : p.started_at))) : '–';
      return el('tr', { className: p.status === 'failed' ? 'failed-row' : '' },
        el('td', {}, p.stream), el('td', { className: 'num' }, p.partition), el('td', {}, p.tenant || '–'),
        el('td', { className: 'mono small', title: [p.lower_bound, p.upper_bound].filter(Boolean).join(' … ') }, rangeText(p)),
        el('td', {}, badge(p.status)),
        el('td', { className: 'num' }, p.attempts > 1 ? el('strong', {}, `${p.attempts} (retried)`) : fmtInt(p.attempts)),
        el('td', { className: 'num' }, fmtInt(p.rows)), el('td', { className: 'mono small' }, p.worker || '–'),
        el('td', {}, timeElement(p.started_at)), el('td', {}, took), el('td', { className: 'error-text' }, p.error || ''));
    }));
    setPager('partitions', view.partitionsOffset, page.length, parts.length, PARTITIONS_PAGE);
  }

  // A key range is [lower, upper), either side open when empty; a file source's partition has
  // its file as the lower bound alone.
  function rangeText(p) {
    const lower = p.lower_bound || '';
    const upper = p.upper_bound || '';
    if (lower && upper) return `≥ ${lower}, < ${upper}`;
    if (upper) return `< ${upper}`;
    if (lower.includes('/')) return lower.slice(lower.lastIndexOf('/') + 1);
    return lower ? `≥ ${lower}` : 'all';
  }

  function setPager(name, offset, shown, total, size) {
    $(`${name}-range`).textContent = `${fmtInt(shown ? offset + 1 : 0)}–${fmtInt(offset + shown)} of ${fmtInt(total)}`;
    $(`${name}-prev`).disabled = offset === 0;
    $(`${name}-next`).disabled = offset + size >= total;
  }

  // ------------------------------------------------ run page: rejects

  async function loadRejects(mine) {
    const answer = await api('GET', `api/runs/${encodeURIComponent(mine.id)}/rejects?limit=${REJECTS_PAGE}&offset=${mine.rejectsOffset}`);
    if (view !== mine || !answer.ok || !answer.data) return;
    const { rejects, total } = answer.data;
    $('rejects-empty').hidden = total > 0;
    $('rejects-block').hidden = total === 0;
    replaceRows($('rejects-body'), rejects.map((r) => el('tr', {},
      el('td', {}, r.stream), el('td', { className: 'num' }, r.partition), el('td', {}, r.tenant || '–'),
      el('td', { className: 'mono small' }, r.position || '–'),
      el('td', { className: 'error-text' }, r.error, r.sqlstate ? el('span', { className: 'muted small' }, ` (SQLSTATE ${r.sqlstate})`) : null),
      el('td', {}, el('code', { className: 'row-value' }, rowText(r.row))))));
    setPager('rejects', mine.rejectsOffset, rejects.length, total, REJECTS_PAGE);
  }

  // A reject's row is an object of values by column, or the raw text of a record that could
  // not be split into values.
  function rowText(row) {
    if (row === null || row === undefined) return '';
    if (typeof row === 'string') {
      try { row = JSON.parse(row); } catch { return row; }
    }
    if (row && typeof row === 'object' && !Array.isArray(row)) {
      return Object.entries(row).map(([k, v]) => `${k}=${v === null ? 'NULL' : typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ');
    }
    return typeof row === 'string' ? row : JSON.stringify(row);
  }

  // ------------------------------------------------ run page: throughput chart

  function cssVar(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function makeChart() {
    if (typeof Chart === 'undefined') {
      $('chart-note').textContent = 'The chart library did not load; rows/s is in the numbers above.';
      return null;
    }
    const text = cssVar('--muted');
    const grid = cssVar('--line');
    return new Chart($('rate-chart'), {
      type: 'line',
      data: {
        datasets: [{
          label: 'rows/s', data: [], borderColor: cssVar('--accent'), backgroundColor: cssVar('--accent-fill'),
          fill: true, borderWidth: 2, tension: 0.25,
          pointRadius: (ctx) => (ctx.dataset.data.length < 30 ? 3 : 0),  // dots only while there are few
        }],
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        parsing: false,
        normalized: true,
        interaction: { mode: 'nearest', axis: 'x', intersect: false },
        scales: {
          x: { type: 'linear', min: 0, title: { display: true, text: 'seconds since the start', color: text }, ticks: { color: text }, grid: { color: grid } },
          y: { beginAtZero: true, title: { display: true, text: 'rows/s', color: text }, ticks: { color: text }, grid: { color: grid } },
        },
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { title: (items) => `${items[0].parsed.x.toFixed(0)} s`, label: (item) => `${fmtInt(item.parsed.y)} rows/s` } },
        },
      },
    });
  }

  // What the chart shows, or why it is empty (and then it is hidden once the run ended).
  function renderChartNote() {
    const points = view.chart ? view.chart.data.datasets[0].data.length : 0;
    const running = !view.detail || view.detail.status === 'running';
    let note;
    if (typeof Chart === 'undefined') note = 'The chart library did not load; rows/s is in the numbers above.';
    else if (points > 0) note = 'Rows per second, sampled every second.';
    else if (view.elsewhere || view.streamClosed) {
      note = running ? 'No live rows/s: another process runs it (or this server restarted since); the page reads the ledger every few seconds.'
        : 'No samples: this server did not run it (or has restarted since).';
    } else note = running ? 'Waiting for the first sample (one a second).' : 'No samples: the run ended within its first second.';
    $('chart-note').textContent = note;
    $('chart-box').hidden = points === 0 && !running;
  }

  function addChartPoint(mine, p) {
    if (!mine.chart) return;
    const data = mine.chart.data.datasets[0].data;
    if (data.length === 0 && p.elapsed_s > 0) data.push({ x: 0, y: 0 });  // the line starts at the start
    data.push({ x: p.elapsed_s, y: p.rows_per_s });
    // A replayed history arrives in one burst: draw once per frame, not once per event.
    if (!mine.drawPending) {
      mine.drawPending = true;
      requestAnimationFrame(() => {
        mine.drawPending = false;
        if (!mine.chart || view !== mine) return;
        if (data.length === 1) renderChartNote();
        mine.chart.update('none');
        const peak = Math.max(...data.map((pt) => pt.y));
        $('rate-chart').setAttribute('aria-label',
          `Rows per second over ${fmtDuration(data[data.length - 1].x)}: now ${fmtInt(data[data.length - 1].y)}, peak ${fmtInt(peak)}`);
      });
    }
  }

  // ------------------------------------------------ run page: actions

  async function stopRun() {
    const mine = view;
    const button = $('stop-button');
    button.disabled = true;
    flash($('run-flash'), 'Asking the run to stop…');
    const answer = await mutate(`api/runs/${encodeURIComponent(mine.id)}/stop`, {});
    if (view !== mine) return;
    if (answer === null) {
      button.disabled = false;
      flash($('run-flash'), 'Not stopped: no token given.');
    } else if (answer.status === 202) {
      flash($('run-flash'), 'Stop requested: partitions in flight roll back; Resume loads the rest later.');
      loadDetail(mine);
    } else {
      button.disabled = false;
      flash($('run-flash'), `Could not stop the run: ${errorText(answer)}`, 'error');
      loadDetail(mine);
    }
  }

  async function resumeRun() {
    const mine = view;
    if (!mine.detail) return;
    const button = $('resume-button');
    button.disabled = true;
    flash($('run-flash'), `Resuming ${mine.detail.job}…`);
    const answer = await mutate(`api/jobs/${encodeURIComponent(mine.detail.job)}/runs`, { resume: true });
    button.disabled = false;
    if (view !== mine) return;
    if (answer === null) {
      flash($('run-flash'), 'Not resumed: no token given.');
    } else if (answer.status === 202) {
      const target = `#/runs/${encodeURIComponent(answer.data.run_id)}`;
      // A resumed run keeps its id: the same hash, so start the page over by hand.
      if (location.hash === target) route(); else location.hash = target;
    } else {
      flash($('run-flash'), `Could not resume: ${errorText(answer)}`, 'error');
    }
  }

  // ---------------------------------------------------------------- wiring

  function init() {
    $('forget-token').addEventListener('click', () => storeToken(''));
    // Cancel is a plain button, so that Enter in the field submits the token, not the Cancel.
    $('token-cancel').addEventListener('click', () => $('token-dialog').close('cancel'));
    storeToken(storedToken());
    $('filter-job').addEventListener('change', () => reloadRunsFrom(0));
    $('filter-status').addEventListener('change', () => reloadRunsFrom(0));
    $('runs-filter').addEventListener('submit', (e) => e.preventDefault());
    $('runs-prev').addEventListener('click', () => reloadRunsFrom(home.offset - RUNS_PAGE));
    $('runs-next').addEventListener('click', () => reloadRunsFrom(home.offset + RUNS_PAGE));
    $('stop-button').addEventListener('click', stopRun);
    $('resume-button').addEventListener('click', resumeRun);
    $('partitions-prev').addEventListener('click', () => { view.partitionsOffset = Math.max(0, view.partitionsOffset - PARTITIONS_PAGE); renderPartitionsTable(); });
    $('partitions-next').addEventListener('click', () => { view.partitionsOffset += PARTITIONS_PAGE; renderPartitionsTable(); });
    $('rejects-prev').addEventListener('click', () => { view.rejectsOffset = Math.max(0, view.rejectsOffset - REJECTS_PAGE); loadRejects(view); });
    $('rejects-next').addEventListener('click', () => { view.rejectsOffset += REJECTS_PAGE; loadRejects(view); });
    // A view change moves the focus to the new page's heading, for screen readers.
    window.addEventListener('hashchange', () => {
      route();
      const heading = document.querySelector(location.hash.startsWith('#/runs/') ? '#run-title' : '#home-view h1');
      if (heading) { heading.tabIndex = -1; heading.focus({ preventScroll: true }); }
      window.scrollTo(0, 0);
    });
    route();
  }

  init();
})();
