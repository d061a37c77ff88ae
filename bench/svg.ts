/** The README's chart, written by hand: delivered lines/s and p99 latency against client count, two servers. */

export interface Series {
  readonly name: string;
  readonly color: string;
  /** [clients, value]; a missing value (stalled, failed) is left out. */
  readonly points: readonly (readonly [number, number | undefined])[];
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function short(v: number): string {
  return v >= 1e6 ? `${+(v / 1e6).toFixed(1)}M` : v >= 1e3 ? `${+(v / 1e3).toFixed(1)}k` : `${+v.toFixed(1)}`;
}

/** One panel: log-scaled x (clients), linear y from 0. */
function panel(x0: number, title: string, unit: string, xs: readonly number[], series: readonly Series[]): string {
  const w = 380;
  const h = 240;
  const left = x0 + 60;
  const top = 40;
  const pw = w - 80;
  const ph = h - 80;
  const values = series.flatMap((s) => s.points.map((p) => p[1]).filter((v): v is number => v !== undefined && Number.isFinite(v)));
  const ymax = niceMax(Math.max(0, ...values));
  const lo = Math.log10(Math.min(...xs));
  const hi = Math.log10(Math.max(...xs));
  const X = (c: number) => left + (hi === lo ? pw / 2 : ((Math.log10(c) - lo) / (hi - lo)) * pw);
  const Y = (v: number) => top + ph - (v / ymax) * ph;
  const out: string[] = [];
  out.push(`<text x="${x0 + w / 2}" y="22" text-anchor="middle" font-weight="bold">${esc(title)}</text>`);
  for (let i = 0; i <= 4; i++) {
    const v = (ymax * i) / 4;
    out.push(`<line x1="${left}" y1="${Y(v)}" x2="${left + pw}" y2="${Y(v)}" stroke="#ddd"/>`);
    out.push(`<text x="${left - 6}" y="${Y(v) + 4}" text-anchor="end">${short(v)}</text>`);
  }
  for (const c of xs) out.push(`<text x="${X(c)}" y="${top + ph + 16}" text-anchor="middle">${c}</text>`);
  out.push(`<text x="${left + pw / 2}" y="${top + ph + 34}" text-anchor="middle">clients (10 senders)</text>`);
  out.push(`<text x="${x0 + 14}" y="${top + ph / 2}" text-anchor="middle" transform="rotate(-90 ${x0 + 14} ${top + ph / 2})">${esc(unit)}</text>`);
  out.push(`<rect x="${left}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`);
  for (const s of series) {
    const pts = s.points.filter((p): p is readonly [number, number] => p[1] !== undefined && Number.isFinite(p[1]));
    if (pts.length > 1)
      out.push(
        `<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${pts.map(([c, v]) => `${X(c).toFixed(1)},${Y(v).toFixed(1)}`).join(' ')}"/>`,
      );
    for (const [c, v] of pts)
      out.push(
        `<circle cx="${X(c).toFixed(1)}" cy="${Y(v).toFixed(1)}" r="3.5" fill="${s.color}"><title>${esc(s.name)}: ${c} clients, ${short(v)} ${esc(unit)}</title></circle>`,
      );
  }
  return out.join('\n');
}

/** Two panels side by side and a legend. */
export function chart(title: string, xs: readonly number[], throughput: readonly Series[], p99: readonly Series[]): string {
  const legend = throughput
    .map((s, i) => `<rect x="${200 + i * 200}" y="268" width="14" height="4" fill="${s.color}"/><text x="${220 + i * 200}" y="274">${esc(s.name)}</text>`)
    .join('\n');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="760" height="290" viewBox="0 0 760 290" font-family="sans-serif" font-size="11">`,
    `<title>${esc(title)}</title>`,
    `<rect width="760" height="290" fill="#fff"/>`,
    panel(0, 'delivered lines/s (higher is better)', 'lines/s', xs, throughput),
    panel(380, 'p99 latency (lower is better)', 'ms', xs, p99),
    legend,
    `</svg>`,
    '',
  ].join('\n');
}
