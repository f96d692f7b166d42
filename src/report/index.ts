export { renderReport, escapeHtml } from './html-report.js';
export { ReportRecorder, type ReportRecorderOptions } from './report-recorder.js';
export { underwater, type ReportData, type EquityPoint, type RiskAction } from './report-data.js';
export { lineChart, type LineChartOptions } from './svg-chart.js';
