/**
 * The raw exports of `build/*.wasm`, as compiled from `assembly/`. Addresses are byte
 * offsets into the module's memory; every call takes and returns scalars only.
 * @internal
 */
export interface KernelExports {
  readonly memory: WebAssembly.Memory;
  alloc(bytes: number): number;
  release(ptr: number): void;

  atrBankBytes(n: number): number;
  atrBankInit(state: number, n: number, period: number, maxPrice: number): void;
  atrBankInput(state: number, k: number): number;
  atrBankValues(state: number): number;
  atrBankUpdate(state: number): number;
  atrBankUpdateSlots(state: number, count: number): number;
  atrBankSlots(state: number): number;
  atrBankWork(state: number): number;
  atrSeriesStateBytes(): number;
  atrSeriesInit(state: number): void;
  atrSeries(state: number, input: number, out: number, len: number, period: number, maxPrice: number): number;

  ddBankBytes(n: number, w: number): number;
  ddBankInit(state: number, n: number, w: number, maxValue: number): void;
  ddBankColumn(state: number, k: number): number;
  ddBankWork(state: number): number;
  ddBankUpdate(state: number): number;
  ddSeriesInit(state: number): void;
  ddSeries(state: number, input: number, len: number, maxValue: number): number;

  corrBankBytes(n: number, w: number): number;
  corrBankInit(state: number, n: number, w: number, every: number, maxAbs: number): void;
  corrBankInput(state: number): number;
  corrBankOut(state: number): number;
  corrBankFilled(state: number): number;
  corrBankRecompute(state: number): void;
  corrBankUpdate(state: number): number;
  corrBankMean(state: number): number;
  corrBankMeanPairs(state: number): number;
  corrBankPacked(state: number): void;
  corrBankGet(state: number, i: number, j: number): number;

  winBankBytes(n: number, w: number): number;
  winBankInit(state: number, n: number, w: number): void;
  winBankColumn(state: number, k: number): number;
  winPush(state: number, slot: number, v: number): void;
  winLowerBound(state: number, slot: number): number;
  winCheckPush(state: number, m: number, minSamples: number, z: number, floorScale: number, upOnly: number): number;
}
