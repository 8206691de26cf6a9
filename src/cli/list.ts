import { anySelected, taskSelected, taskTitle, type LoadedRun, type RunOptions, type TaskNode } from '../index.js';

type Out = (line: string) => void;

/** Selected tasks of a subtree, with their tags, in order (dynamic includes by name only). */
function* selectedTasks(nodes: TaskNode[], opts: RunOptions): Generator<{ title: string; tags: string[] }> {
  const sel = { tags: opts.tags, skipTags: opts.skipTags, phases: opts.phases };
  for (const n of nodes) {
    if (!anySelected(n, sel)) continue;
    if (n.kind === 'task') {
      if (taskSelected(n, sel)) yield { title: taskTitle(n), tags: n.tags };
    } else if (n.kind === 'block') yield* selectedTasks([...n.block, ...n.rescue, ...n.always], opts);
    else if (n.tasks) yield* selectedTasks(n.tasks, opts);
    else yield { title: `include ${n.target} (resolved at run time)`, tags: n.tags };
  }
}

export function listHosts(run: LoadedRun, out: Out): void {
  out(`\nplaybook: ${run.playbook.path}`);
  run.playbook.plays.forEach((play, i) => {
    const hosts = run.playHosts[i]!;
    out(`\n  play #${i + 1} (${play.hosts}): ${play.name}`);
    out(`    pattern: ['${play.hosts}']`);
    out(`    hosts (${hosts.length}):`);
    for (const h of hosts) out(`      ${h}`);
  });
}

export function listTasks(run: LoadedRun, opts: RunOptions, out: Out): void {
  out(`\nplaybook: ${run.playbook.path}`);
  run.playbook.plays.forEach((play, i) => {
    out(`\n  play #${i + 1} (${play.hosts}): ${play.name}`);
    out('    tasks:');
    for (const t of selectedTasks(play.sections.flat(), opts)) out(`      ${t.title}\tTAGS: [${t.tags.join(', ')}]`);
  });
}

export function listTags(run: LoadedRun, opts: RunOptions, out: Out): void {
  out(`\nplaybook: ${run.playbook.path}`);
  run.playbook.plays.forEach((play, i) => {
    const tags = new Set<string>();
    for (const t of selectedTasks(play.sections.flat(), { ...opts, tags: [], skipTags: [] })) for (const tag of t.tags) tags.add(tag);
    out(`\n  play #${i + 1} (${play.hosts}): ${play.name}`);
    out(`      TASK TAGS: [${[...tags].sort().join(', ')}]`);
  });
}
