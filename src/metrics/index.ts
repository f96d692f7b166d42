export { BulwarkMetrics, type BulwarkMetricsOptions, type MetricSources } from './bulwark-metrics.js';
export { serveMetrics, type MetricsServer } from './metrics-server.js';
