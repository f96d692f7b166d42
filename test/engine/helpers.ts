import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EnginePlugin } from '../../src/engine/plugin.js';
import type { Bar, Fill, PortfolioSnapshot } from '../../src/vocabulary/market.js';

export const T0 = Date.parse('2026-03-02T14:30:00Z');
export const MIN = 60_000;

/** Epoch ms of minute `m` after T0. */
export const at = (m: number): number => T0 + m * MIN;

/** A raw bar record (what a source yields). */
export function bar(
  m: number,
  symbol: string,
  open: number,
  high: number,
  low: number,
  close: number,
  volume = 100,
): Bar {
  return { timestamp: at(m), symbol, open, high, low, close, volume };
}

let dir: string | undefined;

/** Writes `text` to a fresh file in a temp dir and returns its path. */
export function csvFile(text: string, name = 'bars.csv'): string {
  dir ??= mkdtempSync(join(tmpdir(), 'bulwark-engine-'));
  const path = join(mkdtempSync(join(dir, 'f-')), name);
  writeFileSync(path, text);
  return path;
}

/** A plugin that records what it is told. */
export interface Recorder extends EnginePlugin {
  readonly events: string[];
  readonly batches: (readonly Bar[])[];
  readonly fills: Fill[];
  readonly snapshots: PortfolioSnapshot[];
}

/** A recorder that logs `name:hook` to a shared `log` as well. */
export function recorder(name: string, log: string[] = [], mode: 'bars' | 'bar' = 'bars'): Recorder {
  const events: string[] = [];
  const note = (e: string): void => {
    events.push(e);
    log.push(`${name}:${e}`);
  };
  const r: Recorder = {
    name,
    events,
    batches: [],
    fills: [],
    snapshots: [],
    onInit: () => note('init'),
    onFill: (f) => {
      r.fills.push(f);
      note(`fill ${f.orderId}`);
    },
    onPortfolio: (s) => {
      r.snapshots.push(s);
      note('portfolio');
    },
    beforeOrder: (o) => {
      note(`order ${o.clientOrderId}`);
      return { allow: true };
    },
    onDispose: () => note('dispose'),
  };
  const mutable = r as { -readonly [K in keyof Recorder]: Recorder[K] };
  if (mode === 'bars') {
    mutable.onBars = (bars) => {
      r.batches.push(bars);
      note(`bars ${bars.length}`);
    };
  } else {
    mutable.onBar = (b) => note(`bar ${b.symbol}`);
  }
  return r;
}
