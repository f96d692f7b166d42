// Provisional: replaced by the full module (formatDecimal, roundToStep, ...) on merge.
export function roundStopPrice(price: number, side: 'BUY' | 'SELL', tick: number): number {
  const n = price / tick;
  const k = side === 'SELL' ? Math.ceil(n - 1e-9) : Math.floor(n + 1e-9);
  return Number((k * tick).toFixed(12));
}
export function roundQuantity(quantity: number, lot: number): number {
  return Number((Math.floor(quantity / lot + 1e-9) * lot).toFixed(12));
}
export function wire(value: number): string {
  return value.toFixed(12).replace(/\.?0+$/, '');
}
