import type { Dimension, MetricDatum, StandardUnit } from '@aws-sdk/client-cloudwatch';
import type { LogFields } from '../lambda/log.ts';

/*
 * PutMetricData's limits (API reference; the CloudWatch agent packs its calls by the same numbers): up to 150
 * distinct values in a datum's Values/Counts, up to 1000 metrics a request, a request body of at most 1 MB.
 */
export const MAX_VALUES_PER_DATUM = 150;
export const MAX_DATUMS_PER_REQUEST = 1000;
/** The datums' JSON, measured before gzip; the envelope (namespace, brackets) fits in what is left of 1 MB. */
export const MAX_REQUEST_BYTES = 999_000;

const MINUTE_MS = 60_000;

/** One PutMetricData call's worth of data, for one region's CloudWatch. */
export interface MetricsRequest {
  readonly region: string;
  readonly namespace: string;
  readonly datums: readonly MetricDatum[];
}

/** One metric of one minute: how often each value was seen (what Values/Counts carry, so percentiles work). */
interface Series {
  readonly region: string;
  readonly namespace: string;
  readonly name: string;
  readonly unit: StandardUnit | undefined;
  readonly dimensions: readonly Dimension[];
  readonly minute: number;
  readonly counts: Map<number, number>;
}

/** The metric part of an embedded-metric-format line (`_aws`), as lambda/report.ts writes it. */
interface EmfDirective {
  readonly Timestamp: number;
  readonly CloudWatchMetrics: readonly {
    readonly Namespace: string;
    readonly Dimensions: readonly (readonly string[])[];
    readonly Metrics: readonly { readonly Name: string; readonly Unit?: StandardUnit }[];
  }[];
}

function emfDirective(fields: LogFields): EmfDirective | undefined {
  const directive = fields._aws as Partial<EmfDirective> | undefined;
  if (typeof directive?.Timestamp !== 'number' || !Array.isArray(directive.CloudWatchMetrics)) return undefined;
  return directive as EmfDirective;
}

/**
 * The metrics of summary lines, gathered per region, metric and minute until they are sent. The line's own
 * embedded-metric-format directive says which fields are metrics, their units, namespace and dimensions: the poller
 * sends exactly what the Lambda function's line gives CloudWatch, each batch one sample as there.
 */
export class MetricsBuffer {
  readonly #series = new Map<string, Series>();

  /** Adds the metrics a log line carries in embedded metric format, if any. */
  addEmf(region: string, fields: LogFields): void {
    const directive = emfDirective(fields);
    if (directive === undefined) return;
    for (const { Namespace, Dimensions, Metrics } of directive.CloudWatchMetrics) {
      for (const names of Dimensions) {
        const dimensions = names.map((Name) => ({ Name, Value: String(fields[Name]) }));
        for (const { Name, Unit } of Metrics) {
          const value = fields[Name];
          const values = Array.isArray(value) ? value : [value];
          this.add({ region, namespace: Namespace, name: Name, unit: Unit, dimensions, at: directive.Timestamp }, values);
        }
      }
    }
  }

  add(
    metric: {
      readonly region: string;
      readonly namespace: string;
      readonly name: string;
      readonly unit: StandardUnit | undefined;
      readonly dimensions: readonly Dimension[];
      readonly at: number;
    },
    values: readonly unknown[],
  ): void {
    // CloudWatch keeps a minute per data point (standard resolution): a minute's values go out under its start.
    const minute = Math.floor(metric.at / MINUTE_MS) * MINUTE_MS;
    const key = JSON.stringify([metric.region, metric.namespace, metric.name, metric.unit, metric.dimensions, minute]);
    let series = this.#series.get(key);
    for (const value of values) {
      // CloudWatch refuses NaN and infinities, and one such value would refuse the whole request.
      if (typeof value !== 'number' || !Number.isFinite(value)) continue;
      if (series === undefined) {
        const { at: _, ...rest } = metric;
        series = { ...rest, minute, counts: new Map() };
        this.#series.set(key, series);
      }
      series.counts.set(value, (series.counts.get(value) ?? 0) + 1);
    }
  }

  /** Everything gathered, as requests within PutMetricData's limits; the buffer is then empty. */
  drain(): MetricsRequest[] {
    const byDestination = new Map<string, { region: string; namespace: string; datums: MetricDatum[] }>();
    for (const series of this.#series.values()) {
      const key = `${series.region} ${series.namespace}`;
      let destination = byDestination.get(key);
      if (destination === undefined) {
        destination = { region: series.region, namespace: series.namespace, datums: [] };
        byDestination.set(key, destination);
      }
      destination.datums.push(...datumsOf(series));
    }
    this.#series.clear();
    return [...byDestination.values()].flatMap(({ region, namespace, datums }) =>
      packRequests(datums).map((part) => ({ region, namespace, datums: part })),
    );
  }
}

/** A series as datums of at most 150 distinct values each. */
function datumsOf(series: Series): MetricDatum[] {
  const entries = [...series.counts.entries()];
  const datums: MetricDatum[] = [];
  for (let start = 0; start < entries.length; start += MAX_VALUES_PER_DATUM) {
    const part = entries.slice(start, start + MAX_VALUES_PER_DATUM);
    datums.push({
      MetricName: series.name,
      Dimensions: [...series.dimensions],
      Timestamp: new Date(series.minute),
      ...(series.unit === undefined ? {} : { Unit: series.unit }),
      Values: part.map(([value]) => value),
      Counts: part.map(([, count]) => count),
    });
  }
  return datums;
}

/** Datums in requests of at most 1000 datums and under 1 MB each. */
function packRequests(datums: readonly MetricDatum[]): MetricDatum[][] {
  const requests: MetricDatum[][] = [];
  let current: MetricDatum[] = [];
  let bytes = 0;
  for (const datum of datums) {
    // The SDK writes the timestamp as epoch seconds: the ISO string measured here is longer, so this errs on the safe side.
    const size = Buffer.byteLength(JSON.stringify(datum)) + 1;
    if (current.length === MAX_DATUMS_PER_REQUEST || (current.length > 0 && bytes + size > MAX_REQUEST_BYTES)) {
      requests.push(current);
      current = [];
      bytes = 0;
    }
    current.push(datum);
    bytes += size;
  }
  if (current.length > 0) requests.push(current);
  return requests;
}
