import { readFile, stat } from 'node:fs/promises';
import { isBulwarkError } from '../errors.js';
import { resolveRiskConfig, type RiskPluginConfig } from '../plugin/config.js';
import { CliError, EXIT } from './cli-error.js';

/**
 * The risk configuration `bulwark replay` runs with unless `--config` says otherwise: stops
 * rest at the broker (BROKER mode), trail by a 4-ATR chandelier or 3 %, whichever is
 * tighter, move to breakeven after a 2 % gain; the drawdown ladder warns at 1 %, reduces at
 * 3 %, halts at 5 % and resumes below 0.8 % after 20 minutes. Entries are capped at a gross
 * exposure of 3 000 000 (3× the starting equity) and 230 a session day, and a loss of 4 % of
 * the session's starting equity (sessions start 14:30Z) halts them for the day.
 * `bulwark replay --print-config` prints it.
 */
const DEMO: RiskPluginConfig = {
  stops: {
    mode: 'BROKER',
    tickSize: 0.01,
    lotSize: 1,
    policy: {
      rules: [
        { kind: 'CHANDELIER', multiple: 4 },
        { kind: 'PERCENT', percent: 3 },
      ],
      breakeven: { afterGainPercent: 2, offsetPercent: 0.1 },
    },
  },
  drawdown: { warnAt: 0.01, reduceAt: 0.03, haltAt: 0.05, resumeBelow: 0.008, cooldownMs: 20 * 60_000 },
  preTrade: { maxGrossExposure: 3_000_000, maxOrdersPerDay: 230 },
  protections: { dailyLossLimit: { fraction: 0.04 }, sessionStart: '14:30Z' },
};
export const DEMO_RISK_CONFIG: RiskPluginConfig = DEMO;

/** A `--config` file larger than this is refused (a risk configuration is a few KiB). */
const MAX_CONFIG_BYTES = 1024 * 1024;

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** `over` merged into `base`: objects key by key, anything else (arrays included) replaced. */
function merged(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) out[key] = merged(base[key], value);
  return out;
}

/**
 * The risk configuration of a replay: the demo's ({@link DEMO_RISK_CONFIG}) with the JSON
 * file at `path` (if any) merged over it, and `shadow` set by `--shadow`. Validated by the
 * plugin's own validation: an invalid file is `BAD_CONFIG` (exit 2) listing every problem;
 * an unreadable one `NO_INPUT` (exit 3).
 */
export async function replayRiskConfig(path: string | undefined, shadow: boolean): Promise<RiskPluginConfig> {
  let fromFile: unknown = {};
  if (path !== undefined) {
    let text: string;
    try {
      if ((await stat(path)).size > MAX_CONFIG_BYTES)
        throw new CliError(
          'BAD_CONFIG',
          `${path} is over ${MAX_CONFIG_BYTES} bytes: not a risk configuration`,
          EXIT.USAGE,
        );
      text = await readFile(path, 'utf8');
    } catch (e) {
      if (e instanceof CliError) throw e;
      throw new CliError(
        'NO_INPUT',
        `cannot read the config file ${path}: check the path and its permissions`,
        EXIT.NO_INPUT,
      );
    }
    try {
      fromFile = JSON.parse(text);
    } catch (e) {
      throw new CliError(
        'BAD_CONFIG',
        `${path} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`,
        EXIT.USAGE,
      );
    }
    if (!isPlainObject(fromFile))
      throw new CliError('BAD_CONFIG', `${path} must hold a JSON object (a risk plugin configuration)`, EXIT.USAGE);
  }
  const config = merged(merged(DEMO_RISK_CONFIG, fromFile), shadow ? { shadow: true } : {});
  try {
    resolveRiskConfig(config);
  } catch (e) {
    if (!isBulwarkError(e, 'INVALID_CONFIG')) throw e;
    const listed: unknown = e.details['problems'];
    const problems = Array.isArray(listed) ? listed.map(String) : [e.message];
    throw new CliError(
      'BAD_CONFIG',
      `${path ?? 'the configuration'} is not a valid risk configuration:\n  - ${problems.join('\n  - ')}`,
      EXIT.USAGE,
    );
  }
  return config as RiskPluginConfig;
}
