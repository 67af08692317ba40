import type { Logger } from '../lambda/log.ts';
import { METRIC_NAMES } from '../lambda/metric-names.ts';
import type { DescribeSummary } from './describe-batch.ts';

/** The invocation's one summary line, carrying DescribeCalls and DescribeThrottles in embedded metric format. */
export function reportDescribe(
  summary: DescribeSummary,
  metrics: { readonly namespace: string; readonly functionName: string },
  durationMs: number,
  logger: Logger,
): void {
  logger.info('describe batch', {
    ...summary,
    durationMs,
    FunctionName: metrics.functionName,
    [METRIC_NAMES.describeCalls]: summary.calls,
    [METRIC_NAMES.describeThrottles]: summary.throttles,
    _aws: {
      Timestamp: Date.now(),
      CloudWatchMetrics: [
        {
          Namespace: metrics.namespace,
          Dimensions: [['FunctionName']],
          Metrics: [
            { Name: METRIC_NAMES.describeCalls, Unit: 'Count' },
            { Name: METRIC_NAMES.describeThrottles, Unit: 'Count' },
          ],
        },
      ],
    },
  });
}
