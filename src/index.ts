export { BulwarkError, isBulwarkError, type ErrorCode } from './errors.js';
export { loadKernels, type Kernels, type KernelBuild, type LoadKernelsOptions } from './kernels/load.js';
export { DEFAULT_KERNEL_LIMITS, type KernelLimits } from './kernels/limits.js';
export { KernelBank, type NumericInput } from './kernels/bank.js';
export { AtrBank, type AtrBankOptions } from './kernels/atr.js';
export { DrawdownBank, type DrawdownBankOptions } from './kernels/drawdown.js';
export { CorrelationBank, packedIndex, type CorrelationBankOptions } from './kernels/correlation.js';
