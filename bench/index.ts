import { loadKernels } from '../src/index.js';
import { batchAtr, streamingAtr } from './atr.bench.js';

const k = await loadKernels();
for (const run of [streamingAtr, batchAtr]) {
  const { text } = await run(k);
  console.log(`${text}\n`);
}
