import type { EgressEvent } from '../egress/order-egress.js';
import type { RiskEvent } from '../plugin/risk-events.js';
import type { RiskLogger } from './logger.js';

/**
 * Logs one risk decision as one structured record: `event` (what), `code` (the
 * SCREAMING_SNAKE reason) and the inputs it used; the message is a constant (no string
 * building). Levels: stop moves `debug` (one per trailing step), stops placed and triggered
 * `info`, denials, state changes, drawdown steps and warnings-or-worse anomalies `warn`.
 * Nothing is built when the level is off.
 *
 * @example
 * ```ts
 * plugin.subscribe((e) => logRiskEvent(logger, e));
 * ```
 */
export function logRiskEvent(logger: RiskLogger, e: RiskEvent, shadow = false): void {
  const mode = shadow ? { shadow: true } : undefined;
  switch (e.kind) {
    case 'STOP': {
      const level = e.action === 'MOVED' ? 'debug' : e.action === 'SUPPRESSED' ? 'warn' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      logger[level](
        {
          event: 'STOP',
          code: `STOP_${e.action}`,
          symbol: e.symbol,
          side: e.side,
          stop: e.stop,
          previous: e.previous,
          version: e.version,
          timestamp: e.timestamp,
          inputs: e.inputs,
          ...mode,
        },
        'stop decision',
      );
      return;
    }
    case 'ORDER_DENIED':
      if (logger.isLevelEnabled('warn'))
        logger.warn(
          { event: e.kind, code: e.code, symbol: e.symbol, clientOrderId: e.clientOrderId, reason: e.message, ...mode },
          e.shadow === true ? 'order would be denied (shadow: let through)' : 'order denied',
        );
      return;
    case 'POSITION_CORRECTED':
      if (logger.isLevelEnabled('warn'))
        logger.warn(
          { event: e.kind, symbol: e.symbol, was: e.was, now: e.now, timestamp: e.timestamp, ...mode },
          'the snapshot corrected the position the fills had built',
        );
      return;
    case 'STATE_CHANGED':
      if (logger.isLevelEnabled('warn'))
        logger.warn(
          { event: e.kind, code: e.cause, from: e.from, to: e.to, timestamp: e.timestamp, ...mode },
          'trading state changed',
        );
      return;
    case 'DRAWDOWN': {
      const d = e.event;
      if (logger.isLevelEnabled('warn'))
        logger.warn(
          {
            event: e.kind,
            code: d.reason,
            from: d.from,
            to: d.to,
            drawdown: d.drawdown,
            equity: d.equity,
            timestamp: d.timestamp,
            ...(d.detail === undefined ? {} : { detail: d.detail }),
            ...mode,
          },
          'drawdown ladder',
        );
      return;
    }
    case 'PROTECTION': {
      const level = e.to === 'UNPROTECTED' ? 'error' : 'warn';
      if (logger.isLevelEnabled(level))
        logger[level](
          {
            event: e.kind,
            code: e.code ?? e.to,
            symbol: e.symbol,
            from: e.from,
            to: e.to,
            timestamp: e.timestamp,
            ...(e.message === undefined ? {} : { reason: e.message }),
            ...mode,
          },
          e.to === 'UNPROTECTED'
            ? 'position unprotected at the broker: watched locally, trading REDUCING'
            : 'protection restored',
        );
      return;
    }
    case 'ANOMALY_DETECTED': {
      const a = e.anomaly;
      const level = a.severity === 'INFO' ? 'info' : 'warn';
      if (logger.isLevelEnabled(level))
        logger[level](
          {
            event: e.kind,
            code: a.type,
            severity: a.severity,
            symbols: a.symbols,
            timestamp: a.timestamp,
            inputs: a.inputs,
            actions: a.actions,
            ...mode,
          },
          'anomaly detected',
        );
      return;
    }
  }
}

/**
 * Logs one egress outcome: SENT at `debug` (every order), ADOPTED at `info`, REFUSED at `warn`,
 * DEAD_LETTERED at `error` — each with the command and its code.
 */
export function logEgressEvent(logger: RiskLogger, e: EgressEvent): void {
  const c = e.command;
  const order = { kind: c.kind, clientOrderId: c.clientOrderId, symbol: c.symbol };
  switch (e.kind) {
    case 'SENT':
      if (logger.isLevelEnabled('debug'))
        logger.debug({ event: 'ORDER_SENT', code: 'SENT', order, attempts: e.attempts }, 'order sent');
      return;
    case 'ADOPTED':
      if (logger.isLevelEnabled('info'))
        logger.info({ event: 'ORDER_ADOPTED', code: e.reason, order }, 'order adopted');
      return;
    case 'REFUSED':
      if (logger.isLevelEnabled('warn')) logger.warn({ event: 'ORDER_REFUSED', code: e.code, order }, 'order refused');
      return;
    case 'DEAD_LETTERED':
      if (logger.isLevelEnabled('error'))
        logger.error({ event: 'ORDER_DEAD_LETTERED', code: e.code, order }, 'order dead-lettered');
      return;
  }
}
