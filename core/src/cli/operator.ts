import type { ContainerRow, ServerStatus } from '../status/status.ts';
import { humanBytes } from './format.ts';

/*
 * The operator's two commands, shaped for reading: `hearth status` (server.status, what
 * needs worrying about) and `hearth ps` (server.ps, every container now).
 */

const SUMMARY = { ok: 'OK', attention: 'Attention', trouble: 'Trouble' } as const;

const time = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);

function detailOf(detail: Record<string, unknown>): string {
  return Object.entries(detail)
    .filter(([, v]) => v !== null && v !== '')
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
}

export function renderStatus(s: ServerStatus): string {
  const lines = [
    `${SUMMARY[s.summary]}: ${s.headline}`,
    `Packages: ${s.packages.installed} installed, ${s.packages.running} running`,
  ];
  const problems: string[] = [];
  for (const d of s.drift) problems.push(`  error    ${d.title} (${d.id}) ${d.problem}`);
  for (const l of s.crashLoops) {
    if (s.findings.some((f) => f.check === 'crash-loop' && f.subject === l.id)) continue;
    problems.push(`  error    ${l.title} (${l.id}) crashed ${l.crashes} times in ten minutes`);
  }
  for (const f of s.findings) {
    problems.push(`  ${f.severity.padEnd(7)}  ${f.message}`);
    if (f.hint) problems.push(`           ${f.hint}`);
    if (f.fixup) {
      const subject = f.subject === null ? '' : ` --subject ${f.subject}`;
      problems.push(`           fix: hearth server fixup run --fixup ${f.fixup}${subject}`);
    }
  }
  if (problems.length > 0) lines.push('', 'Needs attention:', ...problems);
  if (s.recentEvents.length > 0) {
    lines.push('', 'Recent events:');
    for (const e of s.recentEvents) {
      lines.push(
        `  ${time(e.at)}  ${(e.package ?? 'box').padEnd(16)} ${e.kind.padEnd(14)} ${detailOf(e.detail)}`.trimEnd(),
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

function uptime(seconds: number | null): string {
  if (seconds === null) return '-';
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}

export function renderPs(rows: ContainerRow[]): string {
  if (rows.length === 0) return 'No containers.\n';
  const table = [
    ['NAME', 'PACKAGE', 'STATE', 'UPTIME', 'MEMORY', 'LIMIT', 'CPU', 'ADDRESS'],
    ...rows.map((r) => [
      r.name,
      r.ignored ? '(ignored: not Hearth’s)' : (r.package ?? '-'),
      r.state,
      uptime(r.uptimeSeconds),
      r.memoryBytes === null ? '-' : humanBytes(r.memoryBytes),
      r.memoryLimitBytes === null ? '-' : humanBytes(r.memoryLimitBytes),
      r.cpuSeconds === null ? '-' : `${r.cpuSeconds.toFixed(1)}s`,
      r.ipv4.join(',') || '-',
    ]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  return `${table
    .map((row) =>
      row
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}
