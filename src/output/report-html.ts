import type { HostStats, TaskStatus } from './events.js';
import type { ReportPlay, ReportResult, ReportTask, RunReport } from './report.js';

// The page is plain HTML built here, with a few lines of CSS and script inline: no library,
// no network (the Content-Security-Policy forbids every fetch), so it opens anywhere,
// offline, years later. Every value that came from a playbook or a host is escaped.

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const secs = (ms: number): string => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;

/** A letter per status, so the grid reads without colour too. */
const MARK: Record<TaskStatus, string> = { ok: '·', changed: 'C', failed: 'F', skipped: 's', unreachable: 'U' };

function statusClass(r: ReportResult): string {
  return r.status === 'failed' && r.ignored ? 'ignored' : r.status;
}

/** Whether a result has anything to read beyond its status. */
function hasDetail(r: ReportResult): boolean {
  return (r.status !== 'ok' && r.status !== 'skipped') || !!r.msg || !!r.output || r.changes.length > 0 || r.diffs.length > 0 || r.items.length > 0;
}

const detailId = (p: number, t: number, h: number) => `d-${p}-${t}-${h}`;

function diffHtml(diff: string): string {
  const line = (l: string): string => {
    const cls = /^(---|\+\+\+)/.test(l) ? 'dh' : l.startsWith('+') ? 'da' : l.startsWith('-') ? 'dr' : l.startsWith('@@') ? 'dc' : '';
    return cls ? `<span class="${cls}">${esc(l)}</span>` : esc(l);
  };
  return `<pre class="diff">${diff.replace(/\n$/, '').split('\n').map(line).join('\n')}</pre>`;
}

function resultDetail(r: ReportResult, id: string): string {
  const parts = [`<h4><span class="tag ${statusClass(r)}">${r.ignored ? 'failed (ignored)' : r.status}</span> ${esc(r.host)} <small>${secs(r.durationMs)}</small></h4>`];
  if (r.msg) parts.push(`<p class="msg">${esc(r.msg)}</p>`);
  if (r.stderr) parts.push(`<pre class="stderr">${esc(r.stderr)}</pre>`);
  if (r.output) parts.push(`<pre class="output">${esc(r.output)}</pre>`);
  if (r.changes.length) parts.push(`<ul class="changes">${r.changes.map((c) => `<li>${esc(c)}</li>`).join('')}</ul>`);
  if (r.items.length) parts.push(`<ul class="items">${r.items.map((i) => `<li><span class="tag ${i.status}">${i.status}</span> ${esc(i.item)}${i.msg ? `: ${esc(i.msg)}` : ''}</li>`).join('')}</ul>`);
  parts.push(...r.diffs.map(diffHtml));
  return `<div class="result" id="${id}">${parts.join('')}</div>`;
}

function recapTable(stats: Record<string, HostStats>, plays: ReportPlay[]): string {
  const time = new Map<string, number>();
  for (const r of plays.flatMap((p) => p.tasks.flatMap((t) => t.results))) time.set(r.host, (time.get(r.host) ?? 0) + r.durationMs);
  const keys: Array<keyof HostStats> = ['ok', 'changed', 'unreachable', 'failed', 'skipped', 'rescued', 'ignored'];
  const rows = Object.keys(stats)
    .sort()
    .map((host) => {
      const s = stats[host]!;
      const cls = s.failed ? 'failed' : s.unreachable ? 'unreachable' : s.changed ? 'changed' : 'ok';
      return `<tr class="${cls}"><th>${esc(host)}</th>${keys.map((k) => `<td${s[k] ? '' : ' class="zero"'}>${s[k]}</td>`).join('')}<td>${secs(time.get(host) ?? 0)}</td></tr>`;
    });
  return `<table id="recap"><thead><tr><th>host</th>${keys.map((k) => `<th>${k}</th>`).join('')}<th>time in tasks</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function grid(play: ReportPlay, p: number): string {
  const head = play.hosts.map((h) => `<th class="host" title="${esc(h)}"><span>${esc(h)}</span></th>`).join('');
  const rows = play.tasks.map((task, t) => {
    const byHost = new Map(task.results.map((r) => [r.host, r]));
    const slowest = Math.max(0, ...task.results.map((r) => r.durationMs));
    const cells = play.hosts.map((host, h) => {
      const r = byHost.get(host);
      if (!r) return '<td class="none"></td>';
      const mark = r.ignored ? 'i' : MARK[r.status];
      // The row names the task; the title adds the host, and for a failure its first words.
      const why = r.msg && (r.status === 'failed' || r.status === 'unreachable') ? ` · ${r.msg.slice(0, 120)}` : '';
      const title = esc(`${host}: ${r.ignored ? 'failed (ignored)' : r.status}, ${secs(r.durationMs)}${why}`);
      const inner = hasDetail(r) ? `<a href="#${detailId(p, t, h)}">${mark}</a>` : mark;
      return `<td class="${statusClass(r)}" title="${title}">${inner}</td>`;
    });
    const name = `${task.handler ? '<span class="handler">handler</span> ' : ''}${esc(task.name)}`;
    return `<tr><td class="n">${t + 1}</td><th class="task" title="${esc(task.where)}">${name}</th><td class="dur">${secs(slowest)}</td>${cells.join('')}</tr>`;
  });
  return `<table class="grid"><thead><tr><th>#</th><th>task</th><th>slowest</th>${head}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function timeline(play: ReportPlay, p: number): string {
  const all = play.tasks.flatMap((t) => t.results);
  const from = Math.min(...all.map((r) => r.startMs));
  const span = Math.max(1, Math.max(...all.map((r) => r.startMs + r.durationMs)) - from);
  const pct = (ms: number) => ((ms / span) * 100).toFixed(2);
  const rows = play.hosts.map((host, h) => {
    const bars = play.tasks.flatMap((task, t) =>
      task.results
        .filter((r) => r.host === host && r.durationMs > 0)
        .map((r) => `<a class="bar ${statusClass(r)}" style="left:${pct(r.startMs - from)}%;width:${pct(r.durationMs)}%" title="${esc(`${task.name}: ${secs(r.durationMs)}`)}"${hasDetail(r) ? ` href="#${detailId(p, t, h)}"` : ''}></a>`),
    );
    return `<div class="lane"><span class="who">${esc(host)}</span><div class="track">${bars.join('')}</div></div>`;
  });
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => `<span style="left:${f * 100}%">${secs(f * span)}</span>`).join('');
  return `<div class="timeline">${rows.join('')}<div class="lane"><span class="who"></span><div class="axis">${ticks}</div></div></div>`;
}

function slowest(play: ReportPlay): string {
  const top = play.tasks
    .flatMap((task) => task.results.map((r) => ({ task, r })))
    .sort((a, b) => b.r.durationMs - a.r.durationMs)
    .slice(0, 10);
  const rows = top.map(({ task, r }) => `<tr><td>${secs(r.durationMs)}</td><th>${esc(r.host)}</th><td>${esc(task.name)}</td></tr>`);
  return `<table class="slowest"><thead><tr><th>time</th><th>host</th><th>task</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function taskDetails(task: ReportTask, play: ReportPlay, p: number, t: number): string {
  const shown = task.results.filter(hasDetail).sort((a, b) => play.hosts.indexOf(a.host) - play.hosts.indexOf(b.host));
  if (shown.length === 0) return '';
  const counts = new Map<string, number>();
  for (const r of task.results) counts.set(statusClass(r), (counts.get(statusClass(r)) ?? 0) + 1);
  const summary = [...counts].map(([s, n]) => `<span class="tag ${s}">${s} ${n}</span>`).join(' ');
  const results = shown.map((r) => resultDetail(r, detailId(p, t, play.hosts.indexOf(r.host)))).join('');
  // What went wrong is open from the start; the rest is a click away.
  const open = task.results.some((r) => (r.status === 'failed' && !r.ignored) || r.status === 'unreachable') ? ' open' : '';
  return `<details id="t-${p}-${t}"${open}><summary>${t + 1}. ${esc(task.name)} ${summary} <small>${esc(task.where)}</small></summary>${results}</details>`;
}

function playSection(play: ReportPlay, p: number): string {
  if (play.tasks.length === 0) return `<section class="play"><h2>Play: ${esc(play.name)}</h2><p>No task ran.</p></section>`;
  return `<section class="play"><h2>Play: ${esc(play.name)}</h2>
<p class="hosts">${play.hosts.length} host${play.hosts.length === 1 ? '' : 's'}: ${play.hosts.map(esc).join(', ')}</p>
<h3>Hosts × tasks</h3>
<p class="legend">${(['ok', 'changed', 'failed', 'ignored', 'skipped', 'unreachable'] as const).map((s) => `<span class="tag ${s}">${s === 'ignored' ? 'i' : MARK[s]} ${s}</span>`).join(' ')} · a cell with a link has a message, changes or a diff below</p>
<div class="scroll">${grid(play, p)}</div>
<h3>Timeline</h3>
${timeline(play, p)}
<h3>Slowest tasks</h3>
${slowest(play)}
<h3>What each task did</h3>
<p><button type="button" data-open="1">expand all</button> <button type="button" data-open="0">collapse all</button></p>
${play.tasks.map((task, t) => taskDetails(task, play, p, t)).join('\n')}
</section>`;
}

const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fff}
h1{font-size:1.4em;margin:0 0 .3em}h2{margin-top:1.5em;border-bottom:1px solid #ccc}h3{font-size:1.05em;margin:1.2em 0 .4em}
.summary{margin:.2em 0}.incomplete{color:#a00;font-weight:bold}
table{border-collapse:collapse}td,th{padding:2px 6px;text-align:left}
#recap td,#recap th{border-bottom:1px solid #eee}#recap td{text-align:right}#recap .zero{color:#bbb}
.scroll{overflow-x:auto;max-width:100%}
.grid td,.grid th{border:1px solid #fff;font-size:12px}
.grid th.task{font-weight:normal;white-space:nowrap;max-width:28em;overflow:hidden;text-overflow:ellipsis}
.grid thead th{vertical-align:bottom}.grid th.host{padding:0;width:20px}
.grid th.host span{display:block;writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap;max-height:12em;overflow:hidden;font-weight:normal;margin:0 auto}
.grid td.n,.grid td.dur{color:#777;text-align:right;white-space:nowrap}
.grid td.ok,.grid td.changed,.grid td.failed,.grid td.skipped,.grid td.unreachable,.grid td.ignored{width:20px;text-align:center;padding:0}
.grid td a{color:inherit;text-decoration:none;display:block}
.ok{background:#d4edda}.changed{background:#ffe08a}.failed{background:#f5a3a3}.skipped{background:#d9e8f5}.unreachable{background:#c9a0dc}.ignored{background:#f3d1b0}
.none{background:#f6f6f6}
.tag{padding:0 4px;border-radius:3px;font-size:12px;white-space:nowrap}.handler{font-size:11px;color:#555;border:1px solid #aaa;border-radius:3px;padding:0 3px}
.timeline{font-size:12px}.lane{display:flex;align-items:center;height:16px}.who{width:12em;flex:none;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.track,.axis{position:relative;flex:1;height:12px;background:#f6f6f6}.axis{background:none;height:14px}
.bar{position:absolute;top:0;bottom:0;min-width:1px;border-right:1px solid #fff}.bar.ok{background:#8fcf9f}.bar.changed{background:#f0b400}.bar.failed{background:#d33}.bar.skipped{background:#9bbfe0}.bar.unreachable{background:#8e44ad}.bar.ignored{background:#e89b50}
.axis span{position:absolute;white-space:nowrap;transform:translateX(-50%);color:#777}.axis span:first-child{transform:none}.axis span:last-child{transform:translateX(-100%)}
details{margin:.2em 0;border:1px solid #ddd;border-radius:4px;padding:.2em .6em}summary{cursor:pointer}summary small{color:#888}
.result{margin:.5em 0 .5em 1em}.result h4{margin:.3em 0;font-size:13px}.result small{color:#888;font-weight:normal}
.msg{margin:.2em 0;white-space:pre-wrap}.changes,.items{margin:.2em 0;font-family:monospace;font-size:12px}
pre{background:#f8f8f8;padding:.4em;overflow-x:auto;font-size:12px;margin:.3em 0}.stderr{color:#a00}
.diff .dh{font-weight:bold}.diff .da{color:#17692e;background:#e6ffec}.diff .dr{color:#a01a1a;background:#ffebe9}.diff .dc{color:#0a5b9c}
:target{outline:2px solid #36c}
.warnings li{color:#8a5a00}`;

// Opens the task a grid cell or a bar points at, and the expand/collapse buttons.
const SCRIPT = `function show(){var e=location.hash&&document.getElementById(location.hash.slice(1));if(e){var d=e.closest('details');if(d)d.open=true;e.scrollIntoView()}}
addEventListener('hashchange',show);show();
document.addEventListener('click',function(ev){var b=ev.target.closest('button[data-open]');if(!b)return;b.closest('section').querySelectorAll('details').forEach(function(d){d.open=b.dataset.open==='1'})});`;

/** The report page for a (masked) run. */
export function renderReport(report: RunReport): string {
  const totals = Object.values(report.stats).reduce((a, s) => ({ changed: a.changed + s.changed, failed: a.failed + s.failed, unreachable: a.unreachable + s.unreachable }), { changed: 0, failed: 0, unreachable: 0 });
  const hosts = Object.keys(report.stats).length;
  const mode = [report.check ? 'check mode (nothing was changed)' : '', report.diff ? 'diff' : ''].filter(Boolean).join(', ');
  const title = `senex-play: ${report.playbook.split('/').pop() ?? ''} · ${hosts} hosts, ${totals.changed} changed, ${totals.failed} failed, ${totals.unreachable} unreachable`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title><style>${CSS}</style></head><body>
<h1>senex-play run report</h1>
<p class="summary"><b>${esc(report.playbook)}</b>${mode ? ` · ${mode}` : ''}</p>
<p class="summary">started ${esc(report.startedAt)} · took ${secs(report.durationMs)} · ${hosts} hosts · ${totals.changed} changed · ${totals.failed} failed · ${totals.unreachable} unreachable</p>
${report.complete ? '' : '<p class="incomplete">The run ended before its recap (interrupted or stopped by an error): what follows is what had happened until then.</p>'}
${report.warnings.length ? `<h3>Warnings</h3><ul class="warnings">${report.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>` : ''}
<h2>Recap</h2>
${recapTable(report.stats, report.plays)}
${report.plays.map(playSection).join('\n')}
<script>${SCRIPT}</script>
</body></html>
`;
}
