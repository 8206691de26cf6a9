/** senex-play's public API; the CLI uses only what is exported here. */
export { ExitCode, formatError, OptionsError, SenexError, ValidationError, ValidationErrors } from './errors.js';
export type { SourcePos } from './errors.js';
export { loadRun, runLoaded, resolvePlaybook } from './engine/run.js';
export type { LoadedRun, RunSummary } from './engine/run.js';
export { DEFAULT_FORKS } from './engine/options.js';
export type { RunOptions } from './engine/options.js';
export { taskTitle } from './engine/task-runner.js';
export { anySelected, taskSelected } from './engine/select.js';
export { loadYamlFile, parseYaml } from './load/yaml.js';
export type { Play, Playbook, Task, TaskNode } from './load/model.js';
export { matchHosts } from './inventory/pattern.js';
export { plainReporter } from './output/plain.js';
// The live (TTY) reporter is src/output/live.ts, loaded only on a terminal (with ora's spinner for the loading).
export { jsonReporter, fanOut } from './output/json.js';
export { htmlReporter } from './output/report.js';
export { style, wantsColor } from './output/style.js';
export type { Reporter, RunEvent, HostStats } from './output/events.js';
export { Templater } from './vars/template.js';
export { LocalTransport } from './transport/local.js';
export { connector } from './transport/connect.js';
export type { Connector, ConnectionSpec } from './transport/connect.js';
export type { SshDefaults } from './transport/ssh/options.js';
export { SshTransport } from './transport/ssh/ssh-transport.js';
export type { Transport, ExecRequest, ExecResult } from './transport/types.js';
