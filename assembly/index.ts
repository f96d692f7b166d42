// Bulwark's WebAssembly kernels. The host lays out memory with alloc/release and crosses
// the boundary with scalars and addresses only; each bank update is one call for all series.
export { alloc, release } from "./memory";
export * from "./atr";
export * from "./drawdown";
export * from "./correlation";
export * from "./windows";
