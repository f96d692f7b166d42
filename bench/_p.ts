import { loadKernels } from '../src/index.js';
import { pluginOnBars } from './plugin.bench.js';
const k = await loadKernels();
console.log((await pluginOnBars(k)).text);
