// The chart of scenario 7, hand-written SVG (no dependencies): the latency of every request over
// time during a reload run, log scale, with every reload marked. Requests are drawn as 2×2 px
// cells (a cell holding several requests is drawn once, so the file stays small while no request
// is left out); failures are red crosses on top.

import type { RequestResult } from '../load-generator.ts';
import { percentile } from './stats.ts';

export interface Panel {
  title: string;
  results: RequestResult[];
  /** Reload start times, ms since the load began. */
  reloads: number[];
  durationMs: number;
}

const WIDTH = 1000;
const PANEL_HEIGHT = 300;
const MARGIN = { left: 64, right: 16, top: 40, bottom: 40 };
const CELL = 2;

const esc = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
const r1 = (n: number) => Math.round(n * 10) / 10;

export function latencyChart(panels: Panel[]): string {
  let maxMs = 1000;
  for (const panel of panels) for (const r of panel.results) maxMs = Math.max(maxMs, r.ms);
  const yMin = 0.1;
  const yMax = 10 ** Math.ceil(Math.log10(maxMs));
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom;
  const height = PANEL_HEIGHT * panels.length;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="11">`,
    `<title>${esc(panels.map((p) => `${p.title}: latency of every request during ${p.reloads.length} reloads, ${p.results.filter((r) => r.failure !== undefined).length} failed`).join('; '))}</title>`,
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
  ];
  panels.forEach((panel, index) => {
    const top = index * PANEL_HEIGHT + MARGIN.top;
    const seconds = Math.max(1, panel.durationMs / 1000);
    const x = (ms: number) => MARGIN.left + (ms / 1000 / seconds) * plotW;
    const y = (ms: number) => {
      const v = Math.min(Math.max(ms, yMin), yMax);
      return (
        top + plotH - ((Math.log10(v) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * plotH
      );
    };
    const failed = panel.results.filter((r) => r.failure !== undefined);
    out.push(
      `<text x="${MARGIN.left}" y="${top - 22}" font-size="13"><tspan font-weight="bold">${esc(panel.title)}</tspan>: ` +
        `${panel.results.length.toLocaleString('en-US')} requests, ` +
        `<tspan fill="${failed.length ? '#d00' : '#080'}" font-weight="bold">${failed.length} failed</tspan>, ` +
        `${panel.reloads.length} reload${panel.reloads.length === 1 ? '' : 's'}</text>`,
      `<text x="${MARGIN.left}" y="${top - 8}" fill="#444">orange lines: reloads · blue: GET / and POST /echo · ` +
        'grey: GET /slow?ms=700 · black line: p99 of blue per second · dark blue line: p50 · red ×: a failed request</text>',
      `<rect x="${MARGIN.left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`,
    );
    // Axes: powers of ten on y, about ten ticks on x.
    for (let v = yMin; v <= yMax * 1.001; v *= 10) {
      const yy = r1(y(v));
      out.push(
        `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${yy}" y2="${yy}" stroke="#eee"/>`,
        `<text x="${MARGIN.left - 6}" y="${yy + 4}" text-anchor="end">${v >= 1000 ? `${v / 1000} s` : `${r1(v)} ms`}</text>`,
      );
    }
    const step = [1, 2, 5, 10, 20, 30, 60, 120].find((s) => seconds / s <= 12) ?? 300;
    for (let s = 0; s <= seconds; s += step) {
      const xx = r1(x(s * 1000));
      out.push(
        `<line x1="${xx}" x2="${xx}" y1="${top + plotH}" y2="${top + plotH + 4}" stroke="#999"/>`,
        `<text x="${xx}" y="${top + plotH + 16}" text-anchor="middle">${s} s</text>`,
      );
    }
    out.push(
      `<text x="${MARGIN.left + plotW / 2}" y="${top + plotH + 32}" text-anchor="middle" fill="#444">time since the load started (request start)</text>`,
    );
    // Reloads under the points.
    const marks = panel.reloads.map((t) => `M${r1(x(t))} ${top}v${plotH}`).join('');
    if (marks) out.push(`<path d="${marks}" stroke="#f90" stroke-width="1" opacity="0.55"/>`);
    for (const [cls, color] of [
      ['slow', '#9a9a9a'],
      ['fast', '#1f6fb4'],
    ] as const) {
      // Cells by column; vertical runs of occupied cells become one rectangle each.
      const columns = new Map<number, Set<number>>();
      for (const r of panel.results) {
        if (r.failure !== undefined || (r.loop === 'slow') !== (cls === 'slow')) continue;
        const cx = Math.floor(x(r.at) / CELL) * CELL;
        const cy = Math.floor(y(r.ms) / CELL) * CELL;
        const column = columns.get(cx) ?? new Set<number>();
        columns.set(cx, column);
        column.add(cy);
      }
      const d: string[] = [];
      for (const [cx, column] of columns) {
        const ys = [...column].sort((a, b) => a - b);
        let start = ys[0]!;
        let end = start;
        for (const cy of [...ys.slice(1), Number.POSITIVE_INFINITY]) {
          if (cy === end + CELL) {
            end = cy;
            continue;
          }
          d.push(`M${cx} ${start}h${CELL}v${end - start + CELL}h-${CELL}z`);
          start = end = cy;
        }
      }
      if (d.length) out.push(`<path d="${d.join('')}" fill="${color}" fill-opacity="0.75"/>`);
    }
    // p50 and p99 of the fast requests, per second.
    const perSecond = new Map<number, number[]>();
    for (const r of panel.results) {
      if (r.failure !== undefined || r.loop === 'slow') continue;
      const second = Math.floor(r.at / 1000);
      const list = perSecond.get(second) ?? [];
      perSecond.set(second, list);
      list.push(r.ms);
    }
    const secondsSeen = [...perSecond.keys()].sort((a, b) => a - b);
    for (const [p, color, width] of [
      [99, '#000', 1.5],
      [50, '#0b3d66', 1],
    ] as const) {
      const points = secondsSeen.map(
        (sec) => `${r1(x(sec * 1000 + 500))},${r1(y(percentile(perSecond.get(sec)!, p)))}`,
      );
      if (points.length > 1)
        out.push(
          `<polyline points="${points.join(' ')}" fill="none" stroke="${color}" stroke-width="${width}"/>`,
        );
    }
    const crosses = failed
      .slice(0, 5000)
      .map((r) => {
        const cx = r1(x(r.at));
        const cy = r1(y(r.ms));
        return `M${cx - 3} ${cy - 3}l6 6M${cx - 3} ${cy + 3}l6 -6`;
      })
      .join('');
    if (crosses) out.push(`<path d="${crosses}" stroke="#d00" stroke-width="1.5"/>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
