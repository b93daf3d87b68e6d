// What every scenario gets (the mode, the load tool, PM2 when available) and what it returns (a
// section of the report and the targets it decides).

import type { LoadTool } from './load-tool.ts';
import type { Pm2 } from './pm2.ts';

export interface Ctx {
  quick: boolean;
  tool: LoadTool;
  /** undefined when PM2 is skipped (quick mode without a prior install); `pm2Note` says why. */
  pm2: Pm2 | undefined;
  pm2Note: string;
  log(line: string): void;
}

export interface Target {
  name: string;
  goal: string;
  measured: string;
  /** undefined: not measured in this run. */
  pass: boolean | undefined;
  /** Why a target was missed (or not measured). */
  why?: string;
}

export interface Section {
  title: string;
  body: string;
  targets: Target[];
}

/** A markdown table. */
export function table(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.map(String).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

export const code = (commands: string[]) => ['```sh', ...new Set(commands), '```'].join('\n');
