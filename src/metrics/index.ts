export {
  BulwarkMetrics,
  type BulwarkMetricsOptions,
  type MetricSources,
  type PluginMetricSource,
} from './bulwark-metrics.js';
export { serveMetrics, type MetricsServer } from './metrics-server.js';
